//! When a technical log's current file is closed into a dated one, what the
//! dated file is called, and which dated files the retention removes. Pure:
//! every decision takes the time it is made at, so tests drive it with any
//! clock; the [`Writer`](super::Writer) does the file operations.
//!
//! A file of its own rather than the `file-rotate` crate: that rotates by
//! size *or* by time and keeps files by count *or* by age, on the system
//! clock; these logs need both at once, and a clock tests can set.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::{Kind, TechEntry};

/// How a technical log is rotated and how much of it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The current file is closed before a line would take it past this.
    pub max_file_bytes: u64,
    /// Dated files older than this (by their last line) are removed.
    pub max_age: SignedDuration,
    /// At most this many dated files are kept, the newest.
    pub max_files: usize,
    /// The dated files and the current one together stay under this; the
    /// oldest dated files go first.
    pub max_total_bytes: u64,
}

impl Default for Policy {
    /// 8 MiB files, 30 days, at most 64 files and 256 MiB for each kind.
    fn default() -> Self {
        Policy {
            max_file_bytes: 8 << 20,
            max_age: SignedDuration::from_hours(30 * 24),
            max_files: 64,
            max_total_bytes: 256 << 20,
        }
    }
}

/// The current file, as far as rotation cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Current {
    /// Its size.
    pub bytes: u64,
    /// The UTC day of its first line (none while it has no readable line).
    pub day: Option<Date>,
    /// The time of its last readable line.
    pub last: Option<Timestamp>,
}

/// A timestamp's UTC day.
fn day(at: Timestamp) -> Date {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

impl Current {
    /// What a current file left by an earlier run holds (`bytes`, read
    /// whole): its first and last readable lines' times.
    pub fn of(bytes: &[u8]) -> Current {
        let times: Vec<Timestamp> = bytes
            .split(|b| *b == b'\n')
            .filter_map(|l| serde_json::from_slice::<TechEntry>(l).ok())
            .map(|e| e.at)
            .collect();
        Current {
            bytes: bytes.len() as u64,
            day: times.first().copied().map(day),
            last: times.last().copied(),
        }
    }

    /// A line of `len` bytes written at `at`.
    pub fn wrote(&mut self, at: Timestamp, len: u64) {
        self.bytes += len;
        self.day.get_or_insert_with(|| day(at));
        self.last = Some(at);
    }

    /// Whether the file must be closed before a line of `len` bytes at
    /// `at` is written: it would grow past the size, or `at` is another UTC
    /// day than its first line's. An empty file never is.
    pub fn must_rotate(&self, policy: &Policy, at: Timestamp, len: u64) -> bool {
        self.bytes > 0 && (self.bytes + len > policy.max_file_bytes || self.day != Some(day(at)))
    }
}

/// A dated (closed) file of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dated {
    /// The time of its last line, to the second (the name's).
    pub at: Timestamp,
    /// 0, or which of the files closed in the same second it is (from 1).
    pub seq: u32,
    /// Its size.
    pub bytes: u64,
}

/// The time format of a dated file's name.
const STAMP: &str = "%Y%m%dT%H%M%SZ";

impl Dated {
    /// Its file name: `<kind>-YYYYMMDDTHHMMSSZ.log`, or with `-<seq>`
    /// before `.log` for the second and later in the same second.
    pub fn name(&self, kind: Kind) -> String {
        let stamp = self.at.strftime(STAMP);
        match self.seq {
            0 => format!("{kind}-{stamp}.log"),
            n => format!("{kind}-{stamp}-{n}.log"),
        }
    }

    /// The dated file `name` is, if it is one of `kind` (its size unknown: 0).
    pub fn parse(kind: Kind, name: &str) -> Option<Dated> {
        let rest = name.strip_prefix(kind.as_str())?.strip_prefix('-')?;
        let rest = rest.strip_suffix(".log")?;
        let (stamp, seq) = match rest.split_once('-') {
            Some((stamp, seq)) if !seq.starts_with('0') => (stamp, seq.parse().ok()?),
            Some(_) => return None,
            None => (rest, 0),
        };
        let at = jiff::civil::DateTime::strptime(STAMP, stamp)
            .ok()?
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp();
        Some(Dated { at, seq, bytes: 0 })
    }

    /// The name for the current file closed now, its last line at `last`,
    /// beside the dated files `existing`: the first of that second free.
    pub fn next(last: Timestamp, existing: &[Dated]) -> Dated {
        let at = Timestamp::from_second(last.as_second()).unwrap_or(last);
        let seq = (0..)
            .find(|s| !existing.iter().any(|d| d.at == at && d.seq == *s))
            .unwrap_or(0);
        Dated { at, seq, bytes: 0 }
    }
}

/// The dated files the retention removes at `now`: every one whose last
/// line is older than the maximum age, then the oldest until at most the
/// maximum count are left and they and the current file (`current_bytes`)
/// fit the maximum total. `dated` in any order; the answer oldest first.
pub fn expired(policy: &Policy, dated: &[Dated], current_bytes: u64, now: Timestamp) -> Vec<Dated> {
    let mut sorted = dated.to_vec();
    sorted.sort();
    let oldest_kept = now - policy.max_age;
    let mut total: u64 = current_bytes + sorted.iter().map(|d| d.bytes).sum::<u64>();
    let mut left = sorted.len();
    let mut gone = Vec::new();
    for d in sorted {
        // The name is to the second: its last line is before `at` + 1 s.
        let too_old = d.at + SignedDuration::from_secs(1) <= oldest_kept;
        if !(too_old || left > policy.max_files || total > policy.max_total_bytes) {
            break;
        }
        total -= d.bytes;
        left -= 1;
        gone.push(d);
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_file_rotates_past_its_size_and_at_a_new_utc_day() {
        let policy = Policy {
            max_file_bytes: 100,
            ..Policy::default()
        };
        let mut current = Current::default();
        assert!(
            !current.must_rotate(&policy, t("2026-12-01T23:59:59Z"), 500),
            "empty"
        );
        current.wrote(t("2026-12-01T23:59:00Z"), 60);
        assert!(!current.must_rotate(&policy, t("2026-12-01T23:59:59Z"), 40));
        assert!(current.must_rotate(&policy, t("2026-12-01T23:59:59Z"), 41));
        assert!(current.must_rotate(&policy, t("2026-12-02T00:00:00Z"), 1));
        // A day is UTC's, whatever the box's zone.
        assert!(!current.must_rotate(&policy, t("2026-12-02T00:30:00+01:00"), 1));
    }

    #[test]
    fn dated_names_read_back_and_never_collide() {
        let at = t("2026-12-01T19:30:05.75Z");
        let first = Dated::next(at, &[]);
        assert_eq!(first.name(Kind::Errors), "errors-20261201T193005Z.log");
        let second = Dated::next(at, &[first]);
        assert_eq!(second.name(Kind::Errors), "errors-20261201T193005Z-1.log");
        for d in [first, second] {
            assert_eq!(Dated::parse(Kind::Errors, &d.name(Kind::Errors)), Some(d));
        }
        assert!(first < second);
        for other in [
            "errors.log",
            "metrics-20261201T193005Z.log",
            "errors-20261201T193005Z.log.tmp",
            "errors-20261201T193005Z-01.log",
            "errors-2026.log",
        ] {
            assert_eq!(Dated::parse(Kind::Errors, other), None, "{other}");
        }
    }

    #[test]
    fn retention_removes_by_age_then_count_then_bytes_oldest_first() {
        let policy = Policy {
            max_file_bytes: 100,
            max_age: SignedDuration::from_hours(48),
            max_files: 3,
            max_total_bytes: 1000,
        };
        let file = |s: &str, bytes| Dated {
            at: t(s),
            seq: 0,
            bytes,
        };
        let now = t("2026-12-10T12:00:00Z");
        let old = file("2026-12-08T11:59:59Z", 10);
        let a = file("2026-12-08T12:00:00Z", 100);
        let b = file("2026-12-09T00:00:00Z", 100);
        let c = file("2026-12-10T00:00:00Z", 100);
        let d = file("2026-12-10T11:00:00Z", 100);
        assert_eq!(expired(&policy, &[d, c, old, b, a], 0, now), [old, a]);
        assert_eq!(expired(&policy, &[b, c, d], 700, now), []);
        assert_eq!(expired(&policy, &[b, c, d], 701, now), [b]);
        assert_eq!(expired(&policy, &[], 5000, now), []);
    }
}
