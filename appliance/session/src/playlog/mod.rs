//! The play log: every play a record nothing can lose, for the cue sheets
//! theatres owe the collecting societies. An append-only journal
//! ([`journal`]) in two copies, each entry checksummed and chained to the
//! one before, fsynced before it counts; [`record`] says what an entry
//! holds; [`reports`] makes cue sheets and keeps exports, recording them
//! and people's annotations in the journal as its audit trail.

#[cfg(feature = "cli")]
pub mod cli;
pub mod cuesheet;
pub mod export;
pub mod index;
pub mod journal;
pub mod reconcile;
pub mod record;
pub mod reports;
pub mod schedule;

use std::path::{Path, PathBuf};

pub use cuesheet::{CueSheet, Missing, Period, Span, Use, Work};
pub use export::Format;
pub use index::{PlayIndex, PlayRow};
pub use journal::{verify, Entry, Journal, Mended, Verified};
pub use record::{
    Annotation, End, Ending, Exported, Reconciled, Record, Review, Source, Start, Usage,
};
pub use reports::{work_of, AutoExported, Changes, Kept, Logbook, Made, ReportError};

/// The index's file under a data root's `Logs/`.
pub fn index_path(logs: &Path) -> PathBuf {
    logs.join("plays.sqlite")
}

/// The journal's two copies under a data root's `Logs/`.
pub fn paths(logs: &Path) -> [PathBuf; 2] {
    let dir = logs.join("plays");
    [dir.join("plays-a.log"), dir.join("plays-b.log")]
}

/// Why the play log cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PlaylogError {
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A copy too large to be a play log.
    #[error("{} is {size} bytes: too large to be a play log; move it aside", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The index (`Logs/plays.sqlite`) failed; the journal is untouched.
    #[error(
        "cannot {action} the play log's index {}: {source}; the journal is the record: move \
         the index aside and it is rebuilt from it",
        path.display()
    )]
    Index {
        /// What was being done.
        action: &'static str,
        /// The database.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The copies disagree.
    #[error(
        "the play log's copies {} and {} differ from entry {seq} on; nothing was changed: \
         `cueboxd log verify` shows both",
        a.display(),
        b.display()
    )]
    Diverged {
        /// One copy.
        a: PathBuf,
        /// The other.
        b: PathBuf,
        /// The first entry that differs.
        seq: u64,
    },
}

impl PlaylogError {
    /// An index error while doing `action` on `path`.
    pub fn index(action: &'static str, path: &Path) -> impl FnOnce(rusqlite::Error) -> Self {
        let path = path.to_owned();
        move |source| PlaylogError::Index {
            action,
            path,
            source,
        }
    }

    /// An I/O error while doing `action` on `path`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| PlaylogError::Io {
            action,
            path,
            source,
        }
    }
}
