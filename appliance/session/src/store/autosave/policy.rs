//! When to write a recovery point: a pure state machine fed with the time,
//! so every trigger is testable with fake time.

use std::time::{Duration, Instant};

use crate::store::SaveReason;

/// The auto-save timings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutosaveConfig {
    /// A periodic save happens every `interval` (on a fixed grid from the
    /// start), when there are unsaved changes.
    pub interval: Duration,
    /// A significant change is saved this long after the last one, so a burst
    /// of edits makes one recovery point.
    pub debounce: Duration,
    /// …but never later than this after the first unsaved significant change,
    /// so a steady stream of edits is still saved.
    pub max_delay: Duration,
}

impl Default for AutosaveConfig {
    fn default() -> Self {
        AutosaveConfig {
            interval: Duration::from_secs(60),
            debounce: Duration::from_secs(2),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// How much a change matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Saved by the next periodic save (a level nudge, a fader move).
    Minor,
    /// Saved soon after it settles (a clip added, markers set, a grid resized).
    Significant,
}

/// The auto-save decision state. It never reads a clock: every call takes
/// `now`, so the runtime feeds it real time and tests feed it fake time.
#[derive(Debug, Clone)]
pub struct AutosavePolicy {
    config: AutosaveConfig,
    /// The next point of the periodic grid.
    next_tick: Instant,
    /// Whether anything changed since the last save.
    dirty: bool,
    /// First and last unsaved significant change.
    significant: Option<(Instant, Instant)>,
}

impl AutosavePolicy {
    /// A policy with nothing unsaved at `now`.
    pub fn new(config: AutosaveConfig, now: Instant) -> Self {
        AutosavePolicy {
            config,
            next_tick: now + config.interval,
            dirty: false,
            significant: None,
        }
    }

    /// Its timings.
    pub fn config(&self) -> &AutosaveConfig {
        &self.config
    }

    /// Whether there are changes no save has captured.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Records a change made at `now`.
    pub fn changed(&mut self, change: Change, now: Instant) {
        // Ticks that passed while nothing was unsaved are gone: a change after
        // a quiet spell waits for the next tick, not one long past.
        self.advance_tick(now);
        self.dirty = true;
        if change == Change::Significant {
            let first = self.significant.map_or(now, |(first, _)| first);
            self.significant = Some((first, now));
        }
    }

    /// Moves the periodic grid past `now`; returns whether a tick passed.
    fn advance_tick(&mut self, now: Instant) -> bool {
        if now < self.next_tick {
            return false;
        }
        // Skip the ticks missed while asleep: no burst of catch-up saves.
        let interval = self.config.interval.max(Duration::from_millis(1));
        let behind = now.duration_since(self.next_tick);
        let skip = behind.as_nanos() / interval.as_nanos() + 1;
        self.next_tick += interval * u32::try_from(skip).unwrap_or(u32::MAX);
        true
    }

    /// When a significant change is due: debounced after the last, capped
    /// after the first.
    fn significant_due(&self) -> Option<Instant> {
        self.significant
            .map(|(first, last)| (last + self.config.debounce).min(first + self.config.max_delay))
    }

    /// Whether a save is due at `now`, and why. When it returns a reason the
    /// caller must save the show as it is now: the policy counts it saved
    /// (call [`AutosavePolicy::failed`] if the write fails).
    pub fn poll(&mut self, now: Instant) -> Option<SaveReason> {
        let tick_passed = self.advance_tick(now);
        let reason = if self.significant_due().is_some_and(|due| now >= due) {
            SaveReason::Change
        } else if tick_passed && self.dirty {
            SaveReason::Periodic
        } else {
            return None;
        };
        self.captured();
        Some(reason)
    }

    /// The next instant [`AutosavePolicy::poll`] could return a reason;
    /// `None` while there is nothing unsaved (wait for a change).
    pub fn next_due(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(match self.significant_due() {
            Some(due) => due.min(self.next_tick),
            None => self.next_tick,
        })
    }

    /// A risky operation is about to run: save now, whatever is unsaved.
    pub fn before_risky(&mut self) -> SaveReason {
        self.captured();
        SaveReason::BeforeRisky
    }

    /// The process is going down: save now.
    pub fn emergency(&mut self) -> SaveReason {
        self.captured();
        SaveReason::Emergency
    }

    /// The show was saved by other means (a manual save) as it is now.
    pub fn saved(&mut self) {
        self.captured();
    }

    /// The save the last reason asked for failed: the changes are unsaved
    /// again and are retried at the next periodic tick, not at once, so a
    /// full or failing disk is not hammered.
    pub fn failed(&mut self) {
        self.dirty = true;
    }

    fn captured(&mut self) {
        self.dirty = false;
        self.significant = None;
    }
}
