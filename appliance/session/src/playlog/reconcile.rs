//! Reconciling the play logs of two units that played the same show (a
//! main and its backup): each logs every play it makes; when one was down
//! or cut off, the other's log holds plays — or their ends — it lacks.
//! [`plan`] matches the two logs' plays (same show, clip and audio, started
//! within [`TOLERANCE`] of each other) and says what this log lacks; the
//! [`Logbook`](super::Logbook) appends it, with an audit entry naming the
//! other unit, so each play is counted once and a cue sheet from either
//! log is whole.

use super::journal::Entry;
use super::record::{End, Record, Start};

/// How far apart two units' starts of one play may be (their wall clocks
/// and when each logged it).
pub const TOLERANCE: jiff::SignedDuration = jiff::SignedDuration::from_secs(2);

/// A play in a log: its start entry and its end, if logged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Play<'a> {
    /// The start entry's number.
    pub seq: u64,
    /// The start.
    pub start: &'a Start,
    /// The end, once logged.
    pub end: Option<&'a End>,
}

/// The plays of a log, in order.
pub fn plays(entries: &[Entry]) -> Vec<Play<'_>> {
    let mut out: Vec<Play<'_>> = entries
        .iter()
        .filter_map(|e| match &e.record {
            Record::Start(s) => Some(Play {
                seq: e.seq,
                start: s,
                end: None,
            }),
            _ => None,
        })
        .collect();
    for e in entries {
        if let Record::End(end) = &e.record {
            if let Some(p) = out.iter_mut().find(|p| p.seq == end.play) {
                p.end = Some(end);
            }
        }
    }
    out
}

/// What this log lacks of the other's.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'a> {
    /// Plays both logs hold.
    pub matched: usize,
    /// The other's plays this log lacks, whole.
    pub missing: Vec<Play<'a>>,
    /// Ends the other logged for plays this log holds without one: this
    /// log's start entry, and the other's end.
    pub ends: Vec<(u64, &'a End)>,
    /// Plays only this log holds (the other will take them from it).
    pub only_here: usize,
}

impl Plan<'_> {
    /// Whether the logs already agree.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.ends.is_empty()
    }
}

/// Matches `theirs` against `ours`: each of their plays with the nearest
/// unmatched play of ours of the same show, clip and audio started within
/// [`TOLERANCE`].
pub fn plan<'a>(ours: &[Entry], theirs: &'a [Entry]) -> Plan<'a> {
    let ours = plays(ours);
    let mut taken = vec![false; ours.len()];
    let mut plan = Plan {
        matched: 0,
        missing: Vec::new(),
        ends: Vec::new(),
        only_here: 0,
    };
    for their in plays(theirs) {
        let s = their.start;
        let nearest = ours
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                !taken[*i]
                    && p.start.session == s.session
                    && p.start.clip == s.clip
                    && p.start.hash == s.hash
                    && p.start.at.duration_since(s.at).abs() <= TOLERANCE
            })
            .min_by_key(|(_, p)| p.start.at.duration_since(s.at).abs());
        match nearest {
            Some((i, ours)) => {
                taken[i] = true;
                plan.matched += 1;
                if let (None, Some(end)) = (ours.end, their.end) {
                    plan.ends.push((ours.seq, end));
                }
            }
            None => plan.missing.push(their),
        }
    }
    plan.only_here = taken.iter().filter(|t| !**t).count();
    plan
}
