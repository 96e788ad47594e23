//! The box's technical logs: what happened on it (`application`), what went
//! wrong (`errors`), what played (`playback`) and how the protected path
//! and the clock fared (`metrics`), each a folder of JSON lines under
//! `<root>/Logs/<kind>/`.
//!
//! They are not the play log ([`crate::playlog`]): a line is buffered and
//! reaches the disk within a second, not fsynced, and old lines are thrown
//! away. Each kind's current file is `<kind>.log`; it is closed into a dated
//! file (`<kind>-YYYYMMDDTHHMMSSZ.log`, the time of its last line) when it
//! would grow past a size or when a line of another UTC day comes
//! ([`rotate`]), and the dated files past the retention's days, count or
//! bytes are removed. [`read`] brings one kind's lines of a period back in
//! time order; [`export()`] writes them as CSV, JSON or XML.

pub mod export;
pub mod read;
pub mod rotate;
pub mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use export::{export, CSV_COLUMNS};
pub use read::{read, scan, Scan};
pub use rotate::Policy;
pub use writer::Writer;

/// Which technical log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Everything the box reports.
    Application,
    /// What went wrong: refusals, failures, xruns, late commands.
    Errors,
    /// What played: voices started, stopped, paused, resumed; plays logged.
    Playback,
    /// Samples of the protected path's and the clock's figures.
    Metrics,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [
        Kind::Application,
        Kind::Errors,
        Kind::Playback,
        Kind::Metrics,
    ];

    /// Its name: the folder, the file and the `kind` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::Errors => "errors",
            Kind::Playback => "playback",
            Kind::Metrics => "metrics",
        }
    }

    /// Its folder under a data root's `Logs/`.
    pub fn dir(self, logs: &Path) -> PathBuf {
        logs.join(self.as_str())
    }

    /// Its current file (the one written to) under `Logs/`.
    pub fn current(self, logs: &Path) -> PathBuf {
        self.dir(logs).join(format!("{}.log", self.as_str()))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("{s:?} is not a technical log: application, errors, playback or metrics")
            })
    }
}

/// One line of a technical log: `{"at": …, "kind": …, "event": …, …fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechEntry {
    /// When (UTC).
    pub at: jiff::Timestamp,
    /// The log it is in.
    pub kind: Kind,
    /// What happened (`started`, `xrun`, `sample`, …).
    pub event: String,
    /// What the event says, beside the line's own keys.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// The keys every line has; an event's own field of the same name is kept
/// as `event_<name>` (a `discontinuity`'s `at` frame: `event_at`).
const RESERVED: [&str; 3] = ["at", "kind", "event"];

/// The fields whose text says, in words, what an entry is about (the first
/// found is its [`TechEntry::message`]).
const MESSAGE_FIELDS: [&str; 4] = ["message", "detail", "reason", "error"];

impl TechEntry {
    /// An entry from a JSON object whose `event` names it (the form of the
    /// box's events); anything that is not an object is kept as `value`.
    pub fn from_json(at: jiff::Timestamp, kind: Kind, value: Value) -> TechEntry {
        let mut object = match value {
            Value::Object(o) => o,
            other => Map::from_iter([("value".to_owned(), other)]),
        };
        let event = match object.remove("event") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => "unnamed".to_owned(),
        };
        let fields = object
            .into_iter()
            .map(|(k, v)| match RESERVED.contains(&k.as_str()) {
                true => (format!("event_{k}"), v),
                false => (k, v),
            })
            .collect();
        TechEntry {
            at,
            kind,
            event,
            fields,
        }
    }

    /// What the entry says in words: its first string field among
    /// `message`, `detail`, `reason` and `error`, else nothing.
    pub fn message(&self) -> Option<&str> {
        MESSAGE_FIELDS
            .iter()
            .find_map(|k| self.fields.get(*k).and_then(Value::as_str))
    }

    /// The line as written, newline included.
    pub fn line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self)
            .expect("an entry has only string keys, so it always serialises");
        line.push(b'\n');
        line
    }
}

/// Why a technical log cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TechLogError {
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
}

impl TechLogError {
    /// An I/O error while doing `action` on `path`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| TechLogError::Io {
            action,
            path,
            source,
        }
    }
}
