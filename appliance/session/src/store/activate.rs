//! Staging and activating a session pushed from a host.
//!
//! A pushed session becomes the box's in one step or not at all: it is
//! built complete beside the live one (`Sessions/.staging-<name>-…`: the
//! manifest, its metadata index, and every media file hard-linked from the
//! object store), checked, and exchanged with the live folder by one
//! `renameat2(RENAME_EXCHANGE)`. The folder it replaced is kept as
//! `Sessions/.previous-<name>` (with its backups and recovery points); a
//! crash at any instant leaves the old session or the new, and at worst a
//! staging folder that the next start removes. A session is removed the
//! same way: out of the list in one rename, then deleted.

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
    /// Two clips name one media path with different contents.
    #[error("{name:?} was not staged: {}", problems.join("; "))]
    SharedMedia {
        /// The session.
        name: String,
        /// One line per clip that reuses a path, naming both clips.
        problems: Vec<String>,
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

/// The prefix of a session folder being built, under `Sessions/`.
const STAGING: &str = ".staging-";
/// The prefix of the previous version of a session, kept at activation.
pub const PREVIOUS: &str = ".previous-";
/// The prefix of a session folder being removed.
const REMOVING: &str = ".removing-";

/// Parses and checks a manifest for `name`.
pub fn stage(name: &str, manifest: &[u8]) -> std::result::Result<Staged, ActivateError> {
    super::check_session_name(name).map_err(ActivateError::Name)?;
    let loaded = Show::load(manifest).map_err(|error| ActivateError::Invalid {
        name: name.to_owned(),
        error,
    })?;
    // The box keeps one file per media path: two contents for one path
    // would play one clip with the other's audio.
    let shared = loaded.show.shared_media_paths();
    if !shared.is_empty() {
        return Err(ActivateError::SharedMedia {
            name: name.to_owned(),
            problems: shared.iter().map(ToString::to_string).collect(),
        });
    }
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
    let staging = sessions.join(format!("{STAGING}{}", unique(&staged.name)));
    let built = build(&staging, objects, staged);
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    if target.exists() {
        exchange(&staging, &target)?;
        // `staging` now holds the replaced session: keep it as the previous one.
        let previous = sessions.join(format!("{PREVIOUS}{}", staged.name));
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

impl Staged {
    /// The show as the box stores it: on the box, a session's media always
    /// live in its own folder.
    pub fn stored(&self) -> Show {
        let mut show = self.show.clone();
        show.session.media_folder = BOX_MEDIA.into();
        show
    }
}

/// Builds the complete session folder in `dir`.
fn build(
    dir: &Path,
    objects: &ObjectStore,
    staged: &Staged,
) -> std::result::Result<(), ActivateError> {
    let show = staged.stored();
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

/// Records `name` as the session the box plays: its exact bytes, no
/// newline, so [`active`] reads back exactly what was written.
pub fn set_active(root: &DataRoot, name: &str) -> Result<()> {
    super::check_session_name(name)?;
    fs::write_atomic(&root.path().join(ACTIVE), name.as_bytes())
}

/// The session the box plays, if one was activated. The file is read
/// exactly, never trimmed: a name that differs by a space would be another
/// session, so a file that does not hold a valid name is an error that
/// says so, not a guess.
pub fn active(root: &DataRoot) -> Result<Option<String>> {
    let path = root.path().join(ACTIVE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let bad = |name: String, reason: String| StoreError::BadActiveSession {
        path: path.clone(),
        name,
        reason,
    };
    let name = String::from_utf8(bytes).map_err(|e| {
        bad(
            String::from_utf8_lossy(e.as_bytes()).into_owned(),
            "it is not UTF-8".into(),
        )
    })?;
    match super::check_session_name(&name) {
        Ok(()) => Ok(Some(name)),
        Err(StoreError::BadSessionName { reason, .. }) => Err(bad(name, reason)),
        Err(other) => Err(other),
    }
}

/// Removes the staging folders and half-removed sessions a crash left behind.
pub fn sweep(root: &DataRoot) -> Result<()> {
    let dir = root.sessions_dir();
    for entry in std::fs::read_dir(&dir).map_err(io("list", &dir))?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(STAGING) || name.starts_with(REMOVING) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// Removes the session called `name`, with the previous version its last
/// activation kept. Each folder first leaves the list in one rename, so a
/// crash leaves the session whole or gone, never half of it; [`sweep`]
/// finishes the removal at the next start. Its media stay in the object
/// store until [`ObjectStore::collect`] finds no session links them.
pub fn remove(root: &DataRoot, name: &str) -> Result<()> {
    let target = root.session_path(name)?;
    if !target.is_dir() {
        return Err(StoreError::NoSuchSession {
            name: name.to_owned(),
            sessions: root.sessions_dir(),
        });
    }
    let sessions = root.sessions_dir();
    for dir in [target, sessions.join(format!("{PREVIOUS}{name}"))] {
        if !dir.exists() {
            continue;
        }
        let doomed = sessions.join(format!("{REMOVING}{}", unique(name)));
        std::fs::rename(&dir, &doomed).map_err(io("remove", &dir))?;
        fs::sync_dir(&sessions)?;
        std::fs::remove_dir_all(&doomed).map_err(io("remove", &doomed))?;
    }
    fs::sync_dir(&sessions)
}

/// `name` made unique to this process and instant, for a hidden folder.
fn unique(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    )
}

/// The object store of a data root.
pub fn objects(root: &DataRoot) -> Result<ObjectStore> {
    ObjectStore::open(&root.path().join(ObjectStore::DIR))
}
