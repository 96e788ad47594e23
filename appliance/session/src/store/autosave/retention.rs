//! Which recovery points to keep, in the manner of restic's and borg's
//! `forget`: the newest few, one per hour and one per day for a while, and
//! every emergency save for a week. A pure function of the points and `now`.

use std::collections::HashSet;
use std::time::Duration;

use crate::store::RecoveryPoint;

/// A retention policy for recovery points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep this many of the newest points.
    pub keep_last: usize,
    /// Keep the newest point of each UTC hour for this many hours back.
    pub hourly: u32,
    /// Keep the newest point of each UTC day for this many days back.
    pub daily: u32,
    /// Keep every point whose reason [is protected](crate::store::SaveReason::is_protected)
    /// for this long.
    pub protect_for: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            keep_last: 20,
            hourly: 24,
            daily: 14,
            protect_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

impl Retention {
    /// For each of `points` (any order), whether to keep it at `now`.
    ///
    /// Points dated after `now` are kept: the clock went back, and they may
    /// be the newest state there is.
    pub fn kept(&self, points: &[RecoveryPoint], now: jiff::Timestamp) -> Vec<bool> {
        let mut order: Vec<usize> = (0..points.len()).collect();
        // Newest first; the sequence number breaks ties within a millisecond.
        order.sort_by_key(|&i| std::cmp::Reverse((points[i].at, points[i].seq)));
        let mut keep = vec![false; points.len()];
        for &i in order.iter().take(self.keep_last) {
            keep[i] = true;
        }
        let now_s = now.as_second();
        let mut hours = HashSet::new();
        let mut days = HashSet::new();
        let protect = i64::try_from(self.protect_for.as_secs()).unwrap_or(i64::MAX);
        for &i in &order {
            let p = &points[i];
            let at = p.at.as_second();
            let age = now_s - at;
            if age < 0 {
                keep[i] = true;
                continue;
            }
            // The first point seen in a bucket is its newest.
            if age < i64::from(self.hourly) * HOUR && hours.insert(at.div_euclid(HOUR)) {
                keep[i] = true;
            }
            if age < i64::from(self.daily) * DAY && days.insert(at.div_euclid(DAY)) {
                keep[i] = true;
            }
            if p.reason.is_protected() && age < protect {
                keep[i] = true;
            }
        }
        keep
    }
}
