//! cuebox-session: a session on disk — the store (atomic saves, auto-save
//! and recovery points, the metadata database, the box's data root and
//! activation of pushed sessions) and its media folder (checks, import,
//! verification, recovery), show packages (export and import), the play log and the technical logs. Shared by the box (cueboxd) and the
//! host (hostctl).

pub mod media;
pub mod package;
pub mod playlog;
pub mod store;
pub mod techlog;
