//! Format versions of cuebox files: `MAJOR.MINOR`.
//!
//! A minor version only adds fields, so any reader of the same major version
//! loads it (keeping what it does not know); a new major version changes
//! meaning and is refused by older readers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A `MAJOR.MINOR` format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FormatVersion {
    /// Changes meaning; older readers refuse it.
    pub major: u16,
    /// Only adds fields; older readers of the same major keep them.
    pub minor: u16,
}

impl FormatVersion {
    /// Version `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        FormatVersion { major, minor }
    }
}

/// Why a string is not a [`FormatVersion`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("format version {0:?} is not MAJOR.MINOR (for example \"2.0\")")]
pub struct BadFormatVersion(pub String);

impl FromStr for FormatVersion {
    type Err = BadFormatVersion;
    fn from_str(s: &str) -> Result<Self, BadFormatVersion> {
        let bad = || BadFormatVersion(s.to_owned());
        let (major, minor) = s.split_once('.').ok_or_else(bad)?;
        let num = |p: &str| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                p.parse().ok()
            }
        };
        Ok(FormatVersion {
            major: num(major).ok_or_else(bad)?,
            minor: num(minor).ok_or_else(bad)?,
        })
    }
}

impl TryFrom<String> for FormatVersion {
    type Error = BadFormatVersion;
    fn try_from(s: String) -> Result<Self, BadFormatVersion> {
        s.parse()
    }
}

impl From<FormatVersion> for String {
    fn from(v: FormatVersion) -> String {
        v.to_string()
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}
