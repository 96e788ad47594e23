//! A clip's file inside its session's media folder, moved, copied or
//! deleted with every clip's processing kept. First what it costs
//! ([`Impact`]: disk, the voices the clips take, the memory of their
//! preloaded heads), then the file operation in the order that survives a
//! crash at any point — the new name made (and verified by its hash)
//! before the manifest names it, the old one removed only after the
//! manifest stopped naming it — so a cut leaves at worst an unused file.

use std::path::{Path, PathBuf};

use cuebox_engine::media::HEAD_SECONDS;
use cuebox_engine::show::{ClipId, ContentHash, MediaPath, Show};

use super::import::{copy_verified, ImportError};
use super::verify::hash_file;

/// The engine rate heads are reckoned at (a box's usual rate).
const HEAD_RATE: f64 = 48_000.0;

/// What a clip media operation costs (or frees), as a sound engineer
/// checks it before saying yes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Impact {
    /// The clips whose file it is (or will be).
    pub clips: Vec<ClipId>,
    /// Disk bytes it takes (positive) or frees (negative).
    pub disk_bytes: i64,
    /// Voices those clips take when all of them play (one per channel).
    pub voices: u32,
    /// Memory of their preloaded heads on a box, bytes (2 s of 32-bit float
    /// audio per channel at 48 kHz, for each clip on a page in view).
    pub heads_bytes: u64,
}

/// Why a clip media operation cannot be done; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ClipFileError {
    /// No clip has this id.
    #[error("there is no clip \"{0}\"; `hostctl session show` lists the clips")]
    NoClip(ClipId),
    /// The new name is taken by another file.
    #[error("{0} exists already: choose another name (a file the session does not name may be someone's)")]
    Exists(PathBuf),
    /// The clip's file is not where the manifest says, or not its bytes.
    #[error("{path} is not the clip's file (hash {found}, expected {expected}); hostctl media find looks for it")]
    NotTheFile {
        /// The file.
        path: PathBuf,
        /// What it hashes to (none when it cannot be read).
        found: String,
        /// The clip's hash.
        expected: ContentHash,
    },
    /// Copying failed (space, permissions, a file changed while read).
    #[error(transparent)]
    Copy(#[from] ImportError),
    /// A file system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On which file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The clips of `show` whose file is `path`.
pub fn users(show: &Show, path: &MediaPath) -> Vec<ClipId> {
    show.clips
        .iter()
        .filter(|c| &c.audio.path == path)
        .map(|c| c.id.clone())
        .collect()
}

/// What `clips` of `show` take when they play, with `disk_bytes` moved.
pub fn impact(show: &Show, clips: &[ClipId], disk_bytes: i64) -> Impact {
    let channels: u32 = clips
        .iter()
        .filter_map(|id| show.clip(id))
        .map(|c| u32::from(c.audio.format.channels.count()))
        .sum();
    Impact {
        clips: clips.to_vec(),
        disk_bytes,
        voices: channels,
        heads_bytes: (f64::from(channels) * HEAD_SECONDS * HEAD_RATE * 4.0) as u64,
    }
}

/// How [`place`] makes the new name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Make {
    /// Another name for the same file (a hard link; a copy across file
    /// systems): the move's first half.
    Link,
    /// A file of its own, copied and verified.
    Copy,
}

/// Makes `to` in the media folder `media` hold the clip file `from`
/// (content `hash`), checked by its hash before and after. Returns the
/// bytes it took on disk (0 for a link).
pub fn place(
    media: &Path,
    from: &MediaPath,
    to: &MediaPath,
    hash: ContentHash,
    make: Make,
) -> Result<u64, ClipFileError> {
    let (old, new) = (media.join(from.as_path()), media.join(to.as_path()));
    if new.exists() {
        return Err(ClipFileError::Exists(new));
    }
    check(&old, hash)?;
    if let Some(dir) = new.parent() {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    }
    let linked = make == Make::Link && std::fs::hard_link(&old, &new).is_ok();
    let taken = if linked {
        0
    } else {
        copy_verified(&old, &new, media, hash, &mut |_| ())?;
        std::fs::metadata(&new).map_err(io("inspect", &new))?.len()
    };
    check(&new, hash)?;
    durable(&new)?;
    Ok(taken)
}

/// Puts `file` and its folder entry on disk (a power cut keeps the name).
fn durable(file: &Path) -> Result<(), ClipFileError> {
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(io("sync", file))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync", dir))
}

/// Deletes the media folder's file `path` (once no clip names it); the
/// bytes freed (0 when it was already gone).
pub fn remove(media: &Path, path: &MediaPath) -> Result<u64, ClipFileError> {
    let file = media.join(path.as_path());
    let Ok(meta) = std::fs::metadata(&file) else {
        return Ok(0);
    };
    std::fs::remove_file(&file).map_err(io("delete", &file))?;
    Ok(meta.len())
}

/// Refuses a file that is not the clip's bytes.
fn check(file: &Path, expected: ContentHash) -> Result<(), ClipFileError> {
    let found = hash_file(file, &mut |_| ());
    match found {
        Ok(h) if h == expected => Ok(()),
        other => Err(ClipFileError::NotTheFile {
            path: file.to_owned(),
            found: other.map_or_else(|e| format!("unreadable: {e}"), |h| h.to_string()),
            expected,
        }),
    }
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> ClipFileError + 'a {
    move |source| ClipFileError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}
