//! Reading one technical log back: its dated files oldest first, then the
//! current one, each line an entry; a line that is not one (torn by a
//! crash, damaged) is skipped and counted.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};

use super::writer::dated;
use super::{Kind, TechEntry, TechLogError};

/// What [`scan`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scan {
    /// The entries of the period, in time order (lines of the same time in
    /// the order they were written).
    pub entries: Vec<TechEntry>,
    /// Lines skipped because they are not whole entries.
    pub skipped: usize,
}

/// The entries of `kind`'s log under `logs` (a data root's `Logs/`) at or
/// after `from` and before `to`, in time order; lines that are not whole
/// entries are skipped (see [`scan`] for how many).
pub fn read(
    logs: &Path,
    kind: Kind,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<Vec<TechEntry>, TechLogError> {
    scan(logs, kind, from, to).map(|s| s.entries)
}

/// Like [`read`], also counting the lines skipped. A kind never written
/// has no entries.
pub fn scan(
    logs: &Path,
    kind: Kind,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Result<Scan, TechLogError> {
    let dir = kind.dir(logs);
    let mut files = dated(&dir, kind)?;
    files.sort();
    // A dated file's lines are all before its name's second ends.
    let files = files
        .into_iter()
        .filter(|d| from.is_none_or(|f| d.at + SignedDuration::from_secs(1) > f))
        .map(|d| dir.join(d.name(kind)))
        .chain([kind.current(logs)]);
    let mut found = Scan::default();
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            // Rotated or removed by the box while this read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(TechLogError::io("read", &path)(e)),
        };
        for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<TechEntry>(line) {
                Ok(e) if e.kind == kind => {
                    if from.is_none_or(|f| e.at >= f) && to.is_none_or(|t| e.at < t) {
                        found.entries.push(e);
                    }
                }
                _ => found.skipped += 1,
            }
        }
    }
    // Files hold lines in the order written; a clock set back mid-run is
    // put in time order here (stable: ties keep their order).
    found.entries.sort_by_key(|e| e.at);
    Ok(found)
}
