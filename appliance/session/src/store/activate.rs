//! Staging and activating a session pushed from a host.
//!
//! A pushed session becomes the box's in one step or not at all: it is
//! built complete beside the live one (`Sessions/.staging-<name>-…`: the
//! manifest, its metadata index, and every media file hard-linked from the
//! object store), checked, and exchanged with the live folder by one
//! `renameat2(RENAME_EXCHANGE)`. The folder it replaced is kept as
//! `Sessions/.previous-<name>` (with its backups and recovery points); a
//! crash at any instant leaves the old session or the new, and at worst a
//! staging folder that the next start removes.

use std::path::Path;

use cuebox_engine::show::{ContentHash, LoadError, Show};

use super::error::{io, Result, StoreError};
use super::fs;
use super::objects::ObjectStore;
use super::root::DataRoot;
use super::session::SessionDir;

/// A manifest a host staged, parsed and checked.
#[derive(Debug, Clone)]
pub struct Staged {
    /// The session's name on the box.
    pub name: String,
    /// The show.
    pub show: Show,
    /// The hash of the manifest bytes as sent.
    pub manifest: ContentHash,
}

/// Why a session cannot be staged or activated. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// The name cannot be a session folder.
    #[error(transparent)]
    Name(StoreError),
    /// The manifest is not a session the engine accepts.
    #[error("the manifest of {name:?} is unusable: {error}")]
    Invalid {
        /// The session.
        name: String,
        /// Why.
        error: LoadError,
    },
    /// Media the session uses is not on the box (or was corrupt and discarded).
    #[error("{} media file(s) of {name:?} are missing on the box, so it was not activated: {}", missing.len(), missing.join("; "))]
    MissingMedia {
        /// The session.
        name: String,
        /// One line per file: clip, path, hash.
        missing: Vec<String>,
    },
    /// The file system refused.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The folder names a session's media get on the box, relative to its folder.
pub const BOX_MEDIA: &str = "media";

/// The file naming the box's active session, under the data root.
pub const ACTIVE: &str = "active-session";

/// Parses and checks a manifest for `name`.
pub fn stage(name: &str, manifest: &[u8]) -> std::result::Result<Staged, ActivateError> {
    super::check_session_name(name).map_err(ActivateError::Name)?;
    let loaded = Show::load(manifest).map_err(|error| ActivateError::Invalid {
        name: name.to_owned(),
        error,
    })?;
    Ok(Staged {
        name: name.to_owned(),
        show: loaded.show,
        manifest: ContentHash::of_bytes(manifest),
    })
}

/// The distinct media hashes `show` uses, in clip order.
pub fn media_hashes(show: &Show) -> Vec<ContentHash> {
    let mut seen = std::collections::HashSet::new();
    show.clips
        .iter()
        .map(|c| c.audio.hash)
        .filter(|h| seen.insert(*h))
        .collect()
}

/// Makes `staged` the session called its name, with media from `objects`,
/// and the box's active session. Refuses, changing nothing, while any of its
/// media is missing.
pub fn activate(
    root: &DataRoot,
    objects: &ObjectStore,
    staged: &Staged,
) -> std::result::Result<SessionDir, ActivateError> {
    let missing: Vec<String> = staged
        .show
        .clips
        .iter()
        .filter(|c| !objects.has(&c.audio.hash))
        .map(|c| {
            format!(
                "clip {:?} ({}) {}",
                c.name,
                c.audio.path.as_str(),
                c.audio.hash
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(ActivateError::MissingMedia {
            name: staged.name.clone(),
            missing,
        });
    }
    let target = root.session_path(&staged.name)?;
    let sessions = root.sessions_dir();
    let staging = sessions.join(format!(
        ".staging-{}-{}-{}",
        staged.name,
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    let built = build(&staging, objects, staged);
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if target.exists() {
        exchange(&staging, &target)?;
        // `staging` now holds the replaced session: keep it as the previous one.
        let previous = sessions.join(format!(".previous-{}", staged.name));
        let _ = std::fs::remove_dir_all(&previous);
        std::fs::rename(&staging, &previous)
            .map_err(io("keep the previous session as", &previous))?;
    } else {
        std::fs::rename(&staging, &target).map_err(io("activate", &target))?;
    }
    fs::sync_dir(&sessions)?;
    set_active(root, &staged.name)?;
    SessionDir::open(&target).map_err(Into::into)
}

/// Builds the complete session folder in `dir`.
fn build(
    dir: &Path,
    objects: &ObjectStore,
    staged: &Staged,
) -> std::result::Result<(), ActivateError> {
    let mut show = staged.show.clone();
    // On the box, a session's media always live in its own folder.
    show.session.media_folder = BOX_MEDIA.into();
    let session = SessionDir::create(dir, &show)?;
    let media = session.media_folder(&show);
    let mut folders = vec![media.clone()];
    for clip in &show.clips {
        let file = media.join(clip.audio.path.as_path());
        if file.exists() {
            continue; // two clips of one file
        }
        if let Some(parent) = file.parent() {
            fs::ensure_dir(parent)?;
            folders.push(parent.to_owned());
        }
        let object = objects.path(&clip.audio.hash);
        std::fs::hard_link(&object, &file).map_err(io("link media into", &file))?;
    }
    folders.sort();
    folders.dedup();
    for f in folders.iter().chain([&dir.to_path_buf()]) {
        fs::sync_dir(f)?;
    }
    Ok(())
}

/// Swaps two folders in one step.
fn exchange(a: &Path, b: &Path) -> Result<()> {
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE)
        .map_err(|e| io("exchange the staged session with", b)(std::io::Error::from(e)))
}

/// Records `name` as the session the box plays.
pub fn set_active(root: &DataRoot, name: &str) -> Result<()> {
    fs::write_atomic(&root.path().join(ACTIVE), name.as_bytes())
}

/// The session the box plays, if one was activated.
pub fn active(root: &DataRoot) -> Option<String> {
    std::fs::read_to_string(root.path().join(ACTIVE))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| super::check_session_name(s).is_ok())
}

/// Removes staging folders a crash left behind.
pub fn sweep_staging(root: &DataRoot) -> Result<()> {
    let dir = root.sessions_dir();
    for entry in std::fs::read_dir(&dir).map_err(io("list", &dir))?.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".staging-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// The object store of a data root.
pub fn objects(root: &DataRoot) -> Result<ObjectStore> {
    ObjectStore::open(&root.path().join(ObjectStore::DIR))
}
