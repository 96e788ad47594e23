//! Reading a manifest: size limit, JSON syntax, version check, migration, and
//! the typed model — each failure a [`LoadError`] that says where and what.

use serde_json::Value;

use super::migrate::{migrate, MigrationError};
use super::version::{BadFormatVersion, FormatVersion};
use super::Show;

/// The largest manifest accepted. A real show is well under a megabyte; the
/// cap keeps a hostile file from exhausting memory.
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;

/// A show as loaded, with what had to be done to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The show.
    pub show: Show,
    /// The version it was migrated from, if it was older than this version's format.
    pub migrated_from: Option<FormatVersion>,
}

/// Why a manifest could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Larger than [`MAX_MANIFEST_BYTES`].
    #[error("the manifest is {size} bytes; the limit is {max} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON.
    #[error("the manifest is not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but not an object.
    #[error("the manifest must be a JSON object with a \"format_version\"")]
    NotAnObject,
    /// No `format_version`.
    #[error("format_version: missing; a cuebox session manifest starts with \"format_version\"")]
    MissingVersion,
    /// A `format_version` that is not a version.
    #[error("format_version: {0}")]
    BadVersion(#[from] BadFormatVersion),
    /// Written by a newer cuebox whose format this version cannot read.
    #[error("format_version: the session is format {found}, written by a newer cuebox; this version reads format {supported}.x and older — update cuebox to open it")]
    NewerMajor {
        /// The file's version.
        found: FormatVersion,
        /// What this version reads.
        supported: u16,
    },
    /// An old format that a migration step could not convert.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// A field of the wrong type or value.
    #[error("{path}: {message}")]
    Structure {
        /// JSON path of the field.
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl Show {
    /// Reads a manifest, migrating it from an older format if needed.
    ///
    /// This checks types and the invariants the types carry (ids, media paths,
    /// hashes, channel layouts); [`Show::validate`] then checks ranges and
    /// references and reports every problem at once.
    pub fn load(bytes: &[u8]) -> Result<Loaded, LoadError> {
        check_size(bytes)?;
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| LoadError::Syntax(e.to_string()))?;
        let Value::Object(mut doc) = value else {
            return Err(LoadError::NotAnObject);
        };
        let found = match doc.get("format_version") {
            None => return Err(LoadError::MissingVersion),
            // Format 1 wrote its version as a bare integer.
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(major) => FormatVersion::new(major, 0),
                None => return Err(BadFormatVersion(n.to_string()).into()),
            },
            Some(Value::String(s)) => s.parse()?,
            Some(other) => return Err(BadFormatVersion(other.to_string()).into()),
        };
        let current = Self::FORMAT;
        if found.major > current.major {
            return Err(LoadError::NewerMajor {
                found,
                supported: current.major,
            });
        }
        let (mut show, migrated_from) = if found.major < current.major {
            migrate(&mut doc, found, current)?;
            (typed::<Show, _>(Value::Object(doc))?, Some(found))
        } else {
            // Parse the bytes again so type errors carry a line and column.
            let mut de = serde_json::Deserializer::from_slice(bytes);
            (typed(&mut de)?, None)
        };
        // A newer minor version only added fields, which `extra` kept: keep its number.
        show.format_version = show.format_version.max(current);
        Ok(Loaded {
            show,
            migrated_from,
        })
    }
}

/// Refuses a document over [`MAX_MANIFEST_BYTES`] before it is parsed.
pub fn check_size(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(LoadError::TooLarge {
            size: bytes.len(),
            max: MAX_MANIFEST_BYTES,
        });
    }
    Ok(())
}

/// Deserialises a `T`, turning a failure into [`LoadError::Structure`] with its path.
pub(crate) fn typed<'de, T, D>(de: D) -> Result<T, LoadError>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
    D::Error: std::fmt::Display,
{
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        LoadError::Structure {
            path: if path == "." {
                "(top level)".into()
            } else {
                path
            },
            message: e.into_inner().to_string(),
        }
    })
}
