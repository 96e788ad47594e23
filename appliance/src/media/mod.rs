//! Media folders: selection, validation, reassignment and recovery.
//!
//! [`check_media_folder`] validates a folder before a session uses it;
//! [`suggest_media_folder`] proposes one. The mount-table parser and
//! filesystem classification ([`parse_mountinfo`], [`mount_for`],
//! [`classify_fs`]) and the removable-drive lookup are public so they can be
//! tested, and reused for later re-checks, on their own.

mod folder;
mod mounts;
mod removable;

pub use folder::{
    check_media_folder, suggest_media_folder, Check, CheckKind, CheckOptions, Filesystem,
    FolderError, FolderReport, StabilityProbe, StabilityReport, Status,
};
pub use mounts::{
    classify_fs, mount_for, parse_mountinfo, parse_mountinfo_line, FsClass, MountEntry,
};
pub use removable::{removable_by_devno, removable_by_name, RemovableMedia};
