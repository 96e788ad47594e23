//! The session store: the data root's layout, session folders with atomic
//! saves and backups, recovery points and auto-save, and the metadata
//! database.
//!
//! Used by cueboxd on the box and by hostctl on a host: a session folder is
//! the same thing in both places ([`SessionDir`] works on any folder;
//! [`DataRoot`] finds sessions under a box's `Sessions/`).
//!
//! Every file the store writes replaces the previous one atomically (see
//! [`SessionDir::save`]), so a crash or power loss at any instant leaves the
//! old or the new file, never a torn one.

pub mod activate;
pub mod autosave;
mod error;
mod fs;
mod history;
pub mod metadata;
pub mod objects;
mod recovery;
mod root;
mod runtime;
mod session;

pub use autosave::{AutosaveConfig, Autosaver, Change, Retention};
pub use error::io;
pub use error::{chain, Result, StoreError};
pub use fs::write_atomic;
pub use history::{History, Step, KEEP_STEPS};
pub use metadata::{MetadataDb, MetadataError, Usage};
pub use recovery::{RecoveryPoint, Restored, SaveReason};
pub use root::{check_session_name, DataRoot, SessionEntry};
pub use session::{Backup, SessionDir};
