//! What can go wrong in the store, each error carrying the path it concerns
//! and, where there is one, what the user can do about it.

use std::path::PathBuf;

use cuebox_engine::show::LoadError;

use super::metadata::MetadataError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An undo or redo would point the session at a media folder that no
    /// longer holds its files (a `media move` deleted them); nothing changed.
    #[error(
        "nothing was {verb}: it would point the session back at the media folder {}, where \
         {missing} of its files are gone (first: {first}); its media are in {} now. To use the \
         old folder again, move them back: hostctl media move SESSION --to {} --mode move --yes",
        folder.display(), now.display(), folder.display()
    )]
    MediaGone {
        /// `undone` or `redone`.
        verb: &'static str,
        /// The folder the step names.
        folder: PathBuf,
        /// The folder the session uses now.
        now: PathBuf,
        /// Files missing there.
        missing: usize,
        /// The first missing, as the clips name it.
        first: String,
    },
    /// The newest edit cannot be undone with the manifest alone (its file
    /// operation is done); nothing changed.
    #[error("nothing was undone: the last edit ({what}) cannot be undone: {why}")]
    Sealed {
        /// The edit, as it was typed.
        what: String,
        /// Why, and what to do instead.
        why: String,
    },
    /// A file system operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done ("read", "create folder", …).
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A folder of the data root that cannot be created.
    #[error(
        "cannot create the data folder {} (pass --root DIR or set CUEBOX_ROOT to a writable \
         folder)",
        path.display()
    )]
    DataRoot {
        /// The folder.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A manifest larger than the engine accepts; it was not read.
    #[error(
        "{} is {size} bytes, over the {max}-byte limit of a session manifest: it is not a \
         cuebox manifest or it is damaged; restore a copy from the session's backups/ folder \
         or a recovery point (`cueboxd sessions recover`)",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A manifest that the engine refused.
    #[error(
        "{}: {error}; fix the file, or restore a copy from the session's backups/ folder or \
         a recovery point (`cueboxd sessions recover`)",
        path.display()
    )]
    Load {
        /// The file.
        path: PathBuf,
        /// What the engine said, with the JSON path where it applies.
        error: LoadError,
    },
    /// A show whose manifest would be over the engine's limit; nothing was written.
    #[error(
        "the show's manifest would be {size} bytes, over the {max}-byte limit, so it could \
         not be loaded again; nothing was saved — remove clips or pages and save again"
    )]
    ShowTooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The manifest was saved, but the metadata database was not updated.
    #[error(
        "{} was saved, but its metadata index could not be updated; it is rebuilt at the \
         next save or when cueboxd opens the session",
        manifest.display()
    )]
    IndexAfterSave {
        /// The manifest that was saved.
        manifest: PathBuf,
        /// Why the database failed.
        #[source]
        source: MetadataError,
    },
    /// A `runtime.json` that cannot be used for its session.
    #[error(
        "{} cannot be used ({detail}): the session resumes from its manifest's runtime \
         section (playhead at the top unless saved otherwise, unlocked)",
        path.display()
    )]
    BadRuntime {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A folder without a `session.json`.
    #[error(
        "{} is not a cuebox session: it has no session.json; create one with \
         `hostctl session new`, or name the session's own folder",
        path.display()
    )]
    NotASession {
        /// The folder.
        path: PathBuf,
    },
    /// Creating a session where one already is.
    #[error(
        "{} already holds a session (it has a session.json); open it instead, or choose \
         another folder",
        path.display()
    )]
    AlreadyExists {
        /// The folder.
        path: PathBuf,
    },
    /// A session name that cannot be a folder name.
    #[error("session name {name:?} cannot be used: {reason}")]
    BadSessionName {
        /// The name given.
        name: String,
        /// Why not.
        reason: String,
    },
    /// The file naming the active session does not hold a session name.
    #[error(
        "{} names the active session {name:?}, which cannot be a session name: {reason}; push \
         the session again (hostctl push) or write its exact name there, without a newline",
        path.display()
    )]
    BadActiveSession {
        /// The file.
        path: PathBuf,
        /// What it holds.
        name: String,
        /// Why that is not a name.
        reason: String,
    },
    /// No session of that name under the data root.
    #[error(
        "there is no session {name:?} in {}; `cueboxd sessions list` shows the sessions there",
        sessions.display()
    )]
    NoSuchSession {
        /// The name given.
        name: String,
        /// The `Sessions/` folder searched.
        sessions: PathBuf,
    },
    /// No recovery point with that id.
    #[error(
        "session {} has no recovery point {id:?}; `cueboxd sessions recover SESSION` lists \
         them",
        session.display()
    )]
    NoSuchRecoveryPoint {
        /// The session folder.
        session: PathBuf,
        /// The id given.
        id: String,
    },
    /// A sequence number that names more than one recovery point.
    #[error(
        "{id:?} names {count} recovery points of {}; give the full id from \
         `cueboxd sessions recover SESSION`",
        session.display()
    )]
    AmbiguousRecoveryPoint {
        /// The session folder.
        session: PathBuf,
        /// The id given.
        id: String,
        /// How many matched.
        count: usize,
    },
    /// The metadata database failed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
}

/// Shorthand for the store's results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Builds a [`StoreError::Io`] from an action and path, for `map_err`.
pub fn io(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

// hostctl and cueboxd pass these through anyhow and across threads.
const _: () = {
    fn send_sync<T: Send + Sync + 'static>() {}
    #[allow(dead_code)]
    fn check() {
        send_sync::<StoreError>();
    }
};

/// An error and its causes on one line (`cannot read x: permission denied`),
/// as logs and command-line messages show them.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        // An error that already says its cause is not made to say it twice.
        let said = c.to_string();
        if !out.contains(&said) {
            out.push_str(": ");
            out.push_str(&said);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::chain;

    #[derive(Debug, thiserror::Error)]
    #[error("events[0].clip: {0}")]
    struct Says(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Quiet(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("clip \"x\" is not in the session")]
    struct Inner;

    #[test]
    fn each_cause_is_said_once() {
        assert_eq!(
            chain(&Says(Inner)),
            "events[0].clip: clip \"x\" is not in the session"
        );
        assert_eq!(
            chain(&Quiet(Inner)),
            "outer: clip \"x\" is not in the session"
        );
    }
}
