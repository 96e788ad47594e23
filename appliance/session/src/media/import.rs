//! Bringing audio files into a session's media folder.
//!
//! A file already inside the media folder is referenced where it is; any
//! other file is copied in, atomically (written beside, then renamed),
//! under its own name (or a numbered variant when another file holds that
//! name). Identical content already there is reused rather than copied
//! twice. The copies of one [`Importer`] reach the disk together, with one
//! `syncfs` at [`Importer::finish`] — before the manifest that names them
//! is saved — so a bulk import runs at disk speed, not at one fsync per file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cuebox_engine::show::{ContentHash, MediaPath};

use super::folder::free_bytes;
use super::verify::{hash_file, Tap};

/// Free space kept in reserve on the media volume after a copy, so a full
/// disk never stops the box writing logs and auto-saves.
pub const RESERVE_BYTES: u64 = 64 << 20;

/// Where an imported file now lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Its path relative to the media folder.
    pub path: MediaPath,
    /// Whether it was copied (false when it was already in the folder).
    pub copied: bool,
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading, copying or writing failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The path inside the media folder is not a valid media path (not UTF-8, …).
    #[error("{path} cannot be referenced from the session: {reason}")]
    BadPath {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The media volume has too little space.
    #[error("the media folder {folder} has {free} bytes free; copying needs {needed} bytes plus a {RESERVE_BYTES}-byte reserve; free space or choose another media folder")]
    NoSpace {
        /// The media folder.
        folder: PathBuf,
        /// Bytes free.
        free: u64,
        /// Bytes the file needs.
        needed: u64,
    },
    /// The source changed while it was copied.
    #[error("{path} changed while it was being copied (hash {found}, expected {expected}); try again once nothing writes to it")]
    ChangedDuringCopy {
        /// The source file.
        path: PathBuf,
        /// The hash it had when probed.
        expected: ContentHash,
        /// The hash of what was copied.
        found: ContentHash,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ImportError + 'a {
    move |source| ImportError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Brings `src`, whose content hash is `hash`, into `media_root`, on
/// disk when this returns. `progress` is called with the bytes copied.
pub fn import_file(
    src: &Path,
    media_root: &Path,
    hash: ContentHash,
    progress: &mut dyn FnMut(u64),
) -> Result<Imported, ImportError> {
    let mut importer = Importer::new(media_root)?;
    let imported = importer.import(src, hash, progress)?;
    importer.finish()?;
    Ok(imported)
}

/// Imports into one media folder; what it copied is on disk once
/// [`Importer::finish`] returns (dropping it unfinished leaves the copies
/// to the kernel's own time: save no manifest that names them).
#[derive(Debug)]
pub struct Importer {
    root: PathBuf,
    copied: bool,
}

impl Importer {
    /// An importer into `media_root`.
    pub fn new(media_root: &Path) -> Result<Importer, ImportError> {
        let root = media_root
            .canonicalize()
            .map_err(io_err("cannot open the media folder", media_root))?;
        Ok(Importer {
            root,
            copied: false,
        })
    }

    /// Brings `src`, whose content hash is `hash`, into the media folder.
    /// `progress` is called with the bytes copied.
    pub fn import(
        &mut self,
        src: &Path,
        hash: ContentHash,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Imported, ImportError> {
        let root = &self.root;
        let src_abs = src.canonicalize().map_err(io_err("cannot open", src))?;
        if let Ok(rel) = src_abs.strip_prefix(root) {
            return Ok(Imported {
                path: media_path(rel, &src_abs)?,
                copied: false,
            });
        }
        let name = src_abs
            .file_name()
            .map(Path::new)
            .ok_or_else(|| ImportError::BadPath {
                path: src_abs.clone(),
                reason: "it has no file name".into(),
            })?;
        for n in 1u32.. {
            let candidate = numbered(name, n);
            let dest = root.join(&candidate);
            match std::fs::symlink_metadata(&dest) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    copy_verified(&src_abs, &dest, root, hash, progress)?;
                    self.copied = true;
                    return Ok(Imported {
                        path: media_path(&candidate, &src_abs)?,
                        copied: true,
                    });
                }
                Err(e) => return Err(io_err("cannot inspect", &dest)(e)),
                Ok(m)
                    if m.is_file()
                        && hash_file(&dest, &mut |_| ())
                            .map_err(io_err("cannot read", &dest))?
                            == hash =>
                {
                    return Ok(Imported {
                        path: media_path(&candidate, &src_abs)?,
                        copied: false,
                    });
                }
                Ok(_) => continue,
            }
        }
        unreachable!("u32 names run out only after four billion files of the same name")
    }

    /// Puts every copy (and the folder entries naming them) on disk.
    pub fn finish(self) -> Result<(), ImportError> {
        if !self.copied {
            return Ok(());
        }
        let dir = File::open(&self.root).map_err(io_err("cannot open", &self.root))?;
        nix::unistd::syncfs(&dir)
            .map_err(|e| io_err("cannot flush the media folder", &self.root)(e.into()))
    }
}

/// `name` for n = 1, else `stem-n.ext`.
fn numbered(name: &Path, n: u32) -> PathBuf {
    if n == 1 {
        return name.to_owned();
    }
    let stem = name.file_stem().unwrap_or_default().to_string_lossy();
    match name.extension() {
        Some(ext) => PathBuf::from(format!("{stem}-{n}.{}", ext.to_string_lossy())),
        None => PathBuf::from(format!("{stem}-{n}")),
    }
}

fn media_path(rel: &Path, src: &Path) -> Result<MediaPath, ImportError> {
    let text = rel.to_str().ok_or_else(|| ImportError::BadPath {
        path: src.to_owned(),
        reason: "its path is not UTF-8; rename it".into(),
    })?;
    MediaPath::try_from(text.to_owned()).map_err(|e| ImportError::BadPath {
        path: src.to_owned(),
        reason: e.to_string(),
    })
}

/// Copies atomically (beside, then renamed), hashing on the way so the copy
/// is proven identical; a failed or changed copy leaves nothing behind. Not
/// synced: the [`Importer`] does that once for all its copies.
pub(crate) fn copy_verified(
    src: &Path,
    dest: &Path,
    root: &Path,
    expected: ContentHash,
    progress: &mut dyn FnMut(u64),
) -> Result<(), ImportError> {
    let input = File::open(src).map_err(io_err("cannot open", src))?;
    let needed = input
        .metadata()
        .map_err(io_err("cannot inspect", src))?
        .len();
    let free =
        free_bytes(root).map_err(|e| io_err("cannot measure free space of", root)(e.into()))?;
    if free < needed.saturating_add(RESERVE_BYTES) {
        return Err(ImportError::NoSpace {
            folder: root.to_owned(),
            free,
            needed,
        });
    }
    let dir = dest.parent().unwrap_or(root);
    let mut out = tempfile::Builder::new()
        .prefix(".import-")
        .tempfile_in(dir)
        .map_err(io_err("cannot create a file in", dir))?;
    let found = ContentHash::of_reader(Tap {
        inner: input,
        tap: |bytes: &[u8]| {
            out.write_all(bytes)?;
            progress(bytes.len() as u64);
            Ok(())
        },
    })
    .map_err(io_err("cannot copy", src))?;
    if found != expected {
        // Dropping the uncommitted file discards it.
        return Err(ImportError::ChangedDuringCopy {
            path: src.to_owned(),
            expected,
            found,
        });
    }
    // Never over a file that appeared meanwhile: it is someone's.
    out.persist_noclobber(dest)
        .map(drop)
        .map_err(|e| io_err("cannot save", dest)(e.error))
}
