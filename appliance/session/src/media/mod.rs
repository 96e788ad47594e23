//! Media folders: selection, validation, import and verification.
//!
//! [`check_media_folder`] validates a folder before a session uses it;
//! [`suggest_media_folder`] proposes one; [`import_file`] brings a file into
//! it; [`verify_media`] checks a show's files at load time; [`Fingerprint`]
//! recognises the same audio in another file and [`recover`] finds missing
//! files again. The mount-table parser and
//! filesystem classification ([`parse_mountinfo`], [`mount_for`],
//! [`classify_fs`]) and the removable-drive lookup are public so they can be
//! tested, and reused for later re-checks, on their own.

pub mod clipfile;
mod fingerprint;
mod folder;
mod import;
mod mounts;
pub mod recover;
pub mod relocate;
mod removable;
mod verify;

pub use fingerprint::{Fingerprint, FingerprintError, FINGERPRINT_SECONDS};
pub(crate) use folder::free_bytes;
pub use folder::{
    check_media_folder, suggest_media_folder, Check, CheckKind, CheckOptions, Filesystem,
    FolderError, FolderReport, StabilityProbe, StabilityReport, Status,
};
pub use import::{import_file, ImportError, Imported, Importer, RESERVE_BYTES};
pub use mounts::{
    classify_fs, mount_for, parse_mountinfo, parse_mountinfo_line, FsClass, MountEntry,
};
pub use removable::{removable_by_devno, removable_by_name, RemovableMedia};
pub(crate) use verify::Tap;
pub use verify::{hash_file, media_bytes, verify_media, MediaIssue, MediaProblem};
