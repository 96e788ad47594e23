//! The box's JSON configuration files (`showctl.json`, `offbox.json`): read
//! whole, parsed into their type (a JSON mistake is named by line and
//! column), then checked; any mistake names the file and what is wrong, and
//! the run that asked for the file does not start.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the {kind} {path}: {source}")]
    Read {
        /// Which configuration.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not valid JSON of the right shape.
    #[error("{kind} {path}: {source} (see {doc})")]
    Parse {
        /// Which configuration.
        kind: &'static str,
        /// Where it is documented.
        doc: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        source: serde_json::Error,
    },
    /// A value is out of range.
    #[error("{kind} {path}: {what}")]
    Invalid {
        /// Which configuration.
        kind: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field and its value.
        what: String,
    },
}

/// A configuration the box reads from a JSON file.
pub trait ConfigFile: DeserializeOwned {
    /// What people call it in messages ("show-control configuration").
    const KIND: &'static str;
    /// Where it is documented.
    const DOC: &'static str;

    /// What is out of range in a configuration that parsed, naming the
    /// field and its value.
    fn check(&self) -> Result<(), String>;

    /// The configuration in `path`.
    fn load(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            kind: Self::KIND,
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&bytes).map_err(|e| match e {
            Err(source) => ConfigError::Parse {
                kind: Self::KIND,
                doc: Self::DOC,
                path: path.to_owned(),
                source,
            },
            Ok(what) => ConfigError::Invalid {
                kind: Self::KIND,
                path: path.to_owned(),
                what,
            },
        })
    }

    /// The configuration in `bytes`: a JSON error, or what is out of range.
    fn parse(bytes: &[u8]) -> Result<Self, Result<String, serde_json::Error>> {
        let config: Self = serde_json::from_slice(bytes).map_err(Err)?;
        config.check().map_err(Ok)?;
        Ok(config)
    }
}
