//! Media folders: selection, validation, reassignment and recovery.
