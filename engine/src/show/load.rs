//! Reading a manifest: size limit, JSON syntax, version check, migration, and
//! the typed model — each failure a [`LoadError`] that says where and what.

use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::migrate::{migrate, MigrationError};
use super::version::{BadFormatVersion, FormatVersion};
use super::Show;

/// The largest manifest accepted. A real show is well under a megabyte; the
/// cap keeps a hostile file from exhausting memory.
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;

/// The most JSON values (numbers, strings, arrays, objects…) a manifest may
/// hold. A show's manifest has one per 15 to 30 bytes, so one at the size
/// limit holds at most half of this; a hostile one of tiny values
/// (`[0,0,0,…]`, two bytes each) is refused before it is parsed, since each
/// value it keeps as an unknown field costs about 80 bytes of memory.
pub const MAX_MANIFEST_VALUES: u64 = (MAX_MANIFEST_BYTES / 8) as u64;

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
    /// More values than [`MAX_MANIFEST_VALUES`].
    #[error("the manifest holds {count} JSON values; the limit is {max} (a show's manifest holds one per 15 to 30 bytes): it is not a session manifest, or is damaged")]
    TooManyValues {
        /// Values found.
        count: u64,
        /// The limit.
        max: u64,
    },
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
    /// Several fields of the wrong type or value (in different clips,
    /// pages or parts of the show), each with its JSON path.
    #[error("{} fields have the wrong type or value: {}", .0.len(), list(.0))]
    Structures(Vec<FieldError>),
}

/// A field of the wrong type or value, where [`LoadError::Structures`] lists several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

/// `path: message; path: message`.
fn list(errors: &[FieldError]) -> String {
    let each: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect();
    each.join("; ")
}

impl LoadError {
    /// The fields of the wrong type or value this error names, each with
    /// its path: what a validator lists as problems. Empty for an error
    /// about the whole file.
    pub fn fields(&self) -> Vec<FieldError> {
        match self {
            LoadError::Structure { path, message } => vec![FieldError {
                path: path.clone(),
                message: message.clone(),
            }],
            LoadError::Structures(errors) => errors.clone(),
            _ => Vec::new(),
        }
    }
}

impl Show {
    /// Reads a manifest, migrating it from an older format if needed.
    ///
    /// This checks types and the invariants the types carry (ids, media paths,
    /// hashes, channel layouts); [`Show::validate`] then checks ranges and
    /// references and reports every problem at once.
    ///
    /// A manifest is first scanned without keeping anything but its
    /// `format_version` and a count of its values, so the error says what a
    /// reader meets first (syntax, then size, then version) and a document
    /// of millions of tiny values is refused before it costs memory. One of
    /// the current format is then parsed once, straight into the typed
    /// show: no JSON tree of the whole document is built beside it. An
    /// older format is read as a tree, which the migration rewrites.
    pub fn load(bytes: &[u8]) -> Result<Loaded, LoadError> {
        check_size(bytes)?;
        let found = scan(bytes)?;
        let current = Self::FORMAT;
        if found.major > current.major {
            return Err(LoadError::NewerMajor {
                found,
                supported: current.major,
            });
        }
        let (mut show, migrated_from) = if found.major < current.major {
            let Value::Object(mut doc) =
                serde_json::from_slice(bytes).map_err(|e| LoadError::Syntax(e.to_string()))?
            else {
                return Err(LoadError::NotAnObject);
            };
            migrate(&mut doc, found, current)?;
            (typed::<Show, _>(Value::Object(doc))?, Some(found))
        } else {
            // Type errors carry a line and column as well as the path.
            let mut de = serde_json::Deserializer::from_slice(bytes);
            match typed(&mut de) {
                Ok(show) => (show, None),
                Err(first) => return Err(every_type_error(bytes).unwrap_or(first)),
            }
        };
        // A newer minor version only added fields, which `extra` kept: keep its number.
        show.format_version = show.format_version.max(current);
        Ok(Loaded {
            show,
            migrated_from,
        })
    }
}

/// Every field of the wrong type or value in a manifest whose typed parse
/// failed, when there is more than one: each clip and each page is read on
/// its own, then the rest of the show without them, so one bad value does
/// not hide the next. Only a failed load pays for this second pass (a JSON
/// tree of the document).
fn every_type_error(bytes: &[u8]) -> Option<LoadError> {
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(bytes) else {
        return None;
    };
    let mut errors = Vec::new();
    let mut each =
        |key: &str, errors: &mut Vec<FieldError>, read: fn(Value) -> Result<(), LoadError>| {
            let Some(Value::Array(items)) = doc.get_mut(key) else {
                return;
            };
            for (i, item) in std::mem::take(items).into_iter().enumerate() {
                if let Err(LoadError::Structure { path, message }) = read(item) {
                    let inner = if path == "(top level)" {
                        String::new()
                    } else if path.starts_with('[') {
                        path
                    } else {
                        format!(".{path}")
                    };
                    errors.push(FieldError {
                        path: format!("{key}[{i}]{inner}"),
                        message,
                    });
                }
            }
        };
    each("pages", &mut errors, |v| {
        typed::<super::Page, _>(v).map(drop)
    });
    each("clips", &mut errors, |v| {
        typed::<super::Clip, _>(v).map(drop)
    });
    if let Err(LoadError::Structure { path, message }) = typed::<Show, _>(Value::Object(doc)) {
        errors.push(FieldError { path, message });
    }
    (errors.len() > 1).then_some(LoadError::Structures(errors))
}

/// The `format_version` of a document, read by a scan that keeps nothing
/// else and counts its values; or the first thing wrong on the way to it.
fn scan(bytes: &[u8]) -> Result<FormatVersion, LoadError> {
    let count = Cell::new(0);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let scanned = de
        .deserialize_any(ScanVisitor(&count))
        // Trailing characters are a syntax error too.
        .and_then(|s| de.end().map(|()| s))
        .map_err(|e| LoadError::Syntax(e.to_string()))?;
    if count.get() > MAX_MANIFEST_VALUES {
        return Err(LoadError::TooManyValues {
            count: count.get(),
            max: MAX_MANIFEST_VALUES,
        });
    }
    match scanned {
        VersionScan::NotAnObject => Err(LoadError::NotAnObject),
        VersionScan::Object(None) => Err(LoadError::MissingVersion),
        // Format 1 wrote its version as a bare integer.
        VersionScan::Object(Some(VersionField::Major(n))) => u16::try_from(n)
            .map(|major| FormatVersion::new(major, 0))
            .map_err(|_| BadFormatVersion(n.to_string()).into()),
        VersionScan::Object(Some(VersionField::Text(s))) => Ok(s.parse()?),
        VersionScan::Object(Some(VersionField::Other(what))) => Err(BadFormatVersion(what).into()),
    }
}

/// A document as [`scan`] sees it.
enum VersionScan {
    /// An object, with its `format_version` if it has one.
    Object(Option<VersionField>),
    /// Anything else.
    NotAnObject,
}

/// A `format_version` value, of whatever type.
enum VersionField {
    /// A non-negative integer.
    Major(u64),
    /// A string.
    Text(String),
    /// Anything else, as it reads.
    Other(String),
}

/// Skips a value, counting it and every value inside it.
struct Skip<'a>(&'a Cell<u64>);

impl Skip<'_> {
    fn one(&self) {
        self.0.set(self.0.get() + 1);
    }
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

/// Visits of scalars, each answered by `$answer` (given the visitor).
macro_rules! scalars {
    ($answer:expr; $($visit:ident: $t:ty),*) => {$(
        fn $visit<E: de::Error>(self, _: $t) -> Result<Self::Value, E> {
            Ok($answer(self))
        }
    )*};
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    scalars!(|s: Self| s.one(); visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.one();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.one();
        while seq.next_element_seed(Skip(self.0))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.one();
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip(self.0))?;
        }
        Ok(())
    }
}

/// The document: its `format_version`, counting every value.
struct ScanVisitor<'a>(&'a Cell<u64>);

impl<'de> Visitor<'de> for ScanVisitor<'_> {
    type Value = VersionScan;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON document")
    }

    scalars!(|_| VersionScan::NotAnObject; visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<VersionScan, E> {
        Ok(VersionScan::NotAnObject)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<VersionScan, A::Error> {
        Skip(self.0).visit_seq(seq)?;
        Ok(VersionScan::NotAnObject)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VersionScan, A::Error> {
        Skip(self.0).one();
        let mut version = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "format_version" && version.is_none() {
                Skip(self.0).one();
                version = Some(map.next_value::<VersionField>()?);
            } else {
                map.next_value_seed(Skip(self.0))?;
            }
        }
        Ok(VersionScan::Object(version))
    }
}

impl<'de> serde::Deserialize<'de> for VersionField {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(FieldVisitor)
    }
}

/// A `format_version` value of any type.
struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = VersionField;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a format version")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<VersionField, E> {
        Ok(VersionField::Major(n))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<VersionField, E> {
        Ok(VersionField::Text(s.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<VersionField, E> {
        Ok(VersionField::Other(n.to_string()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<VersionField, E> {
        Ok(VersionField::Other(n.to_string()))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<VersionField, E> {
        Ok(VersionField::Other(b.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<VersionField, E> {
        Ok(VersionField::Other("null".into()))
    }

    // Not a version: refused as one before anything is parsed, uncounted.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<VersionField, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(VersionField::Other("an array".into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<VersionField, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(VersionField::Other("an object".into()))
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
