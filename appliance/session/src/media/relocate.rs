//! Moving a session's media to another folder, safely.
//!
//! [`plan_move`] reports before anything is written: how many files, how
//! many bytes, an estimate of the time (from a measured read of the source
//! and a synced write to the destination), and the problems found (space,
//! permissions, network share stability — [`check_media_folder`]'s checks).
//! [`copy_files`] then copies each file (beside its final name, synced,
//! renamed; hashed on the way and compared with the clip's hash), skipping
//! the files a previous, interrupted run already placed; the caller then
//! points the session at the new folder, and only after that does
//! [`delete_originals`] remove the old copies (for a move). A [`Journal`]
//! in the session folder says which step a run reached, so a run cut at
//! any point is resumed by running it again, and at every instant the
//! session's recorded folder holds every file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cuebox_engine::show::{ContentHash, MediaPath, Show};
use serde::{Deserialize, Serialize};

use super::folder::{check_media_folder, CheckOptions, FolderReport};
use super::verify::{hash_file, Tap};

/// What happens to the files in the old folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MoveMode {
    /// Copied to the new folder, then deleted from the old once the
    /// session uses the new one.
    Move,
    /// Copied to the new folder; the old copies stay.
    Copy,
    /// Nothing is copied: the files are already in the new folder (moved
    /// by hand or by another tool); each is verified there.
    Keep,
}

/// One file to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveFile {
    /// Its path in the media folder.
    pub path: MediaPath,
    /// The hash the clips recorded.
    pub hash: ContentHash,
    /// Its size (0 when missing from the old folder).
    pub size: u64,
}

/// What a move would do.
#[derive(Debug, Clone, Serialize)]
pub struct MovePlan {
    /// The folder the media are in.
    pub from: PathBuf,
    /// The folder they go to.
    pub to: PathBuf,
    /// What happens to the old copies.
    pub mode: MoveMode,
    /// The files the clips use, each once.
    pub files: Vec<MoveFile>,
    /// Their total size.
    pub bytes: u64,
    /// Estimated seconds for the copy, when it could be measured.
    pub estimated_secs: Option<f64>,
    /// Problems that stop the move (a missing file, no space, no access).
    pub problems: Vec<String>,
    /// The new folder's checks.
    pub folder: FolderReport,
}

/// Why a move failed. The session still uses whichever folder it recorded,
/// and that folder holds every file.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// Reading or writing failed.
    #[error("cannot {action} {path}: {source}; the session still uses its media folder; run the move again to resume")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file's bytes are not the clips'.
    #[error("{path} does not hold the bytes its clips recorded (hash {found}, expected {expected}); run `hostctl media find` first")]
    Changed {
        /// The file.
        path: PathBuf,
        /// Its hash.
        found: ContentHash,
        /// The clips' hash.
        expected: ContentHash,
    },
    /// The folder check could not run.
    #[error(transparent)]
    Folder(#[from] super::folder::FolderError),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> MoveError + 'a {
    move |source| MoveError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Bytes read, and written, to estimate the copy's speed.
const SAMPLE_BYTES: usize = 16 << 20;

/// Plans moving the media of `show` from `from` to `to`: the report shown
/// before confirming. Writes only a short speed probe in `to` (removed).
pub fn plan_move(
    show: &Show,
    from: &Path,
    to: &Path,
    mode: MoveMode,
) -> Result<MovePlan, MoveError> {
    let mut unique: BTreeMap<&str, ContentHash> = BTreeMap::new();
    for clip in &show.clips {
        unique
            .entry(clip.audio.path.as_str())
            .or_insert(clip.audio.hash);
    }
    let mut problems = Vec::new();
    let files: Vec<MoveFile> = show
        .clips
        .iter()
        .filter(|c| unique.remove(c.audio.path.as_str()).is_some())
        .map(|c| {
            let at = match mode {
                MoveMode::Keep => to,
                _ => from,
            };
            let file = at.join(c.audio.path.as_path());
            let size = match std::fs::metadata(&file) {
                Ok(m) => m.len(),
                Err(e) => {
                    problems.push(format!("{} cannot be read: {e}", file.display()));
                    0
                }
            };
            MoveFile {
                path: c.audio.path.clone(),
                hash: c.audio.hash,
                size,
            }
        })
        .collect();
    let bytes = files.iter().map(|f| f.size).sum();
    let copying = mode != MoveMode::Keep;
    let options = CheckOptions {
        create_missing: copying,
        ..CheckOptions::default()
    };
    let folder = check_media_folder(to, if copying { bytes } else { 0 }, &options)?;
    problems.extend(
        folder
            .checks
            .iter()
            .filter(|c| c.status == super::Status::Error)
            .map(|c| c.message.clone()),
    );
    let same = from
        .canonicalize()
        .ok()
        .zip(to.canonicalize().ok())
        .is_some_and(|(a, b)| a == b);
    if same {
        problems.push("the new folder is the media folder already".into());
    }
    let estimated_secs = if copying && folder.is_usable() && !same {
        estimate(from, &folder.path, &files, bytes)
    } else {
        None
    };
    Ok(MovePlan {
        from: from.to_owned(),
        to: folder.path.clone(),
        mode,
        files,
        bytes,
        estimated_secs,
        problems,
        folder,
    })
}

/// Seconds to copy `bytes`, from a timed read of the largest source file's
/// start and a timed, synced write of as much to `to`.
fn estimate(from: &Path, to: &Path, files: &[MoveFile], bytes: u64) -> Option<f64> {
    let largest = files.iter().max_by_key(|f| f.size)?;
    let mut buf = vec![0u8; SAMPLE_BYTES.min(largest.size as usize).max(1)];
    let started = Instant::now();
    let n = File::open(from.join(largest.path.as_path()))
        .ok()?
        .read(&mut buf)
        .ok()?;
    let read = started.elapsed().as_secs_f64();
    let probe = to.join(format!(".cuebox-move-probe-{}", std::process::id()));
    let started = Instant::now();
    let wrote = File::create(&probe)
        .and_then(|mut f| {
            f.write_all(&buf[..n])?;
            f.sync_all()
        })
        .is_ok();
    let write = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&probe);
    (wrote && n > 0).then(|| bytes as f64 * (read + write) / n as f64)
}

/// Where a move stands, kept in the session folder while one runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The old folder.
    pub from: PathBuf,
    /// The new folder.
    pub to: PathBuf,
    /// What happens to the old copies.
    pub mode: MoveMode,
    /// The files.
    pub files: Vec<MoveFile>,
    /// Whether the session already uses the new folder (only deleting the
    /// old copies may remain).
    pub switched: bool,
}

impl Journal {
    /// The journal's file in a session folder.
    pub fn path(session: &Path) -> PathBuf {
        session.join(".media-move.json")
    }

    /// The journal of an interrupted move, if there is one.
    pub fn load(session: &Path) -> Result<Option<Journal>, MoveError> {
        let path = Self::path(session);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| io_err("read", &path)(io::Error::new(io::ErrorKind::InvalidData, e))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", &path)(e)),
        }
    }

    /// Saves it atomically.
    pub fn save(&self, session: &Path) -> Result<(), MoveError> {
        let path = Self::path(session);
        let bytes = serde_json::to_vec_pretty(self).expect("a journal always serialises");
        crate::store::write_atomic(&path, &bytes)
            .map_err(|e| io_err("save", &path)(io::Error::other(e.to_string())))
    }

    /// Removes it: the move is over.
    pub fn finish(session: &Path) -> Result<(), MoveError> {
        let path = Self::path(session);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", &path)(e)),
            _ => Ok(()),
        }
    }
}

/// Copies (or, for [`MoveMode::Keep`], verifies) every file into `to`,
/// each proven by its hash; a file already there with the right bytes (a
/// resumed run) is kept. `progress` is called with bytes done. The files
/// are on disk when this returns.
pub fn copy_files(journal: &Journal, progress: &mut dyn FnMut(u64)) -> Result<(), MoveError> {
    for f in &journal.files {
        let dest = journal.to.join(f.path.as_path());
        let verify = |path: &Path, progress: &mut dyn FnMut(u64)| -> Result<bool, MoveError> {
            match std::fs::metadata(path) {
                Ok(m) if m.len() == f.size || journal.mode == MoveMode::Keep => {}
                _ => return Ok(false),
            }
            let found = hash_file(path, progress).map_err(io_err("read", path))?;
            Ok(found == f.hash)
        };
        if journal.mode == MoveMode::Keep {
            if !verify(&dest, progress)? {
                let found = hash_file(&dest, &mut |_| ()).map_err(io_err("read", &dest))?;
                return Err(MoveError::Changed {
                    path: dest,
                    found,
                    expected: f.hash,
                });
            }
            continue;
        }
        if verify(&dest, &mut |_| ())? {
            progress(f.size);
            continue;
        }
        let src = journal.from.join(f.path.as_path());
        let dir = dest.parent().unwrap_or(&journal.to);
        std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let mut out = tempfile::Builder::new()
            .prefix(".move-")
            .tempfile_in(dir)
            .map_err(io_err("create a file in", dir))?;
        let input = File::open(&src).map_err(io_err("open", &src))?;
        let found = ContentHash::of_reader(Tap {
            inner: input,
            tap: |bytes: &[u8]| {
                out.write_all(bytes)?;
                progress(bytes.len() as u64);
                Ok(())
            },
        })
        .map_err(io_err("copy", &src))?;
        if found != f.hash {
            return Err(MoveError::Changed {
                path: src,
                found,
                expected: f.hash,
            });
        }
        out.as_file().sync_all().map_err(io_err("sync", &dest))?;
        // A file of other bytes at the name (a copy cut short by a crash is
        // never there: copies are renamed whole) is replaced.
        out.persist(&dest)
            .map_err(|e| io_err("save", &dest)(e.error))?;
    }
    let dir = File::open(&journal.to).map_err(io_err("open", &journal.to))?;
    nix::unistd::syncfs(&dir).map_err(|e| io_err("flush", &journal.to)(e.into()))
}

/// Deletes the old copies of a move whose session already uses the new
/// folder, each only while its new copy is in place. Returns bytes freed.
pub fn delete_originals(journal: &Journal) -> Result<u64, MoveError> {
    let mut freed = 0;
    for f in &journal.files {
        let old = journal.from.join(f.path.as_path());
        let new = journal.to.join(f.path.as_path());
        let Ok(meta) = std::fs::metadata(&old) else {
            continue;
        };
        if std::fs::metadata(&new).map(|m| m.len()).ok() != Some(f.size) {
            continue;
        }
        std::fs::remove_file(&old).map_err(io_err("delete", &old))?;
        freed += meta.len();
    }
    Ok(freed)
}
