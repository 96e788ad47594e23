//! The master clock: time sources in a hierarchy (LTC; MTC peers, the best
//! healthy one winning; PTP; the system clock), each monitored for drift,
//! jitter and stability, and failover that never makes the timebase jump.
//!
//! Pure, driven by fake or real time: the owner feeds each source's
//! observations ("at audio sample *s* this source said timecode *t*") and
//! calls [`MasterClock::tick`] once per audio period. When the source in
//! use fails or degrades, the same tick switches: the timebase flywheels on
//! from where it was, at the rate it had, and then re-locks to the next
//! source by slewing its rate (a varispeed the resampler plays) — or, when
//! the error is beyond the relocate threshold, by relocating. Every switch
//! is reported with its reason.

use super::timebase::{Mapping, Source, TimebaseWriter};
use crate::show::{TimeSourceKind, TimeSources};

/// When a source counts as healthy, and how the clock re-locks.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Thresholds {
    /// An offset from the timebase above this is a drift warning, µs.
    pub drift_warn_us: f64,
    /// Jitter (RMS residual of the source's own timing) above this is a
    /// warning, µs.
    pub jitter_warn_us: f64,
    /// A source less stable than this (0 to 1) is failed over.
    pub min_stability: f64,
    /// A source silent this long past its own cadence (two of its intervals
    /// between observations) is lost, seconds.
    pub timeout_s: f64,
    /// An error up to this is slewed away, frames; beyond it, relocate.
    pub relocate_frames: f64,
    /// Slewing removes the error over this long, seconds.
    pub slew_s: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::from_session(&TimeSources::default())
    }
}

impl Thresholds {
    /// The session's thresholds, with the clock's fixed timing: a source
    /// is lost after 100 ms of silence, an error of up to 2 frames is
    /// slewed away over a second, more is relocated.
    pub fn from_session(sources: &TimeSources) -> Self {
        Thresholds {
            drift_warn_us: sources.drift_warning_us,
            jitter_warn_us: sources.jitter_warning_us,
            min_stability: sources.min_stability,
            timeout_s: 0.1,
            relocate_frames: 2.0,
            slew_s: 1.0,
        }
    }
}

impl From<TimeSourceKind> for Source {
    fn from(kind: TimeSourceKind) -> Self {
        match kind {
            TimeSourceKind::Ltc => Source::Ltc,
            TimeSourceKind::Mtc => Source::Mtc,
            TimeSourceKind::Ptp => Source::Ptp,
            TimeSourceKind::System => Source::System,
        }
    }
}

/// What a source said: at audio sample `sample`, its timecode was
/// `tc_frames` (fractional frames since midnight).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// The audio sample.
    pub sample: u64,
    /// The source's time then.
    pub tc_frames: f64,
}

/// A source's health as of the last tick.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Health {
    /// Which kind.
    pub source: Source,
    /// Its name (the MTC port, "ltc", "ptp", "system").
    pub name: String,
    /// Whether it can be used.
    pub healthy: bool,
    /// Why not, or a warning.
    pub note: Option<String>,
    /// Its offset from the timebase, µs (positive: ahead).
    pub offset_us: f64,
    /// Its jitter: RMS residual of its timing around its own fit, µs.
    pub jitter_us: f64,
    /// 0 (useless) to 1 (perfect): how little of a quarter frame (MTC's
    /// resolution) its timing wanders, 1 − jitter / quarter frame.
    pub stability: f64,
}

/// A switch of the clock's source.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Switch {
    /// The sample at which it switched.
    pub sample: u64,
    /// From (its name), if any.
    pub from: Option<String>,
    /// To (its name), if any: `None` flywheels on the last rate.
    pub to: Option<String>,
    /// Why.
    pub reason: String,
    /// How the new source's error is removed.
    pub relock: Relock,
}

/// How the clock re-locks after a switch.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "how")]
pub enum Relock {
    /// No source: the timebase runs on at its last rate.
    Flywheel,
    /// The error (frames) is removed by varispeed over the slew time.
    Slew {
        /// Frames to remove.
        error_frames: f64,
    },
    /// The error was beyond the threshold: the timebase jumped.
    Relocate {
        /// Frames jumped.
        error_frames: f64,
    },
}

/// Observations kept per source for its fit.
const WINDOW: usize = 32;
/// Observations before a source may be used.
const MIN_POINTS: usize = 8;
/// How much more stable a source of the same kind must be to take over.
const STABILITY_MARGIN: f64 = 0.1;

#[derive(Debug, Clone)]
struct SourceState {
    source: Source,
    name: String,
    window: [Observation; WINDOW],
    len: usize,
    next: usize,
}

impl SourceState {
    fn last(&self) -> Option<Observation> {
        (self.len > 0).then(|| self.window[(self.next + WINDOW - 1) % WINDOW])
    }

    /// The mean samples between its observations: a source that speaks
    /// once a frame, and is heard a capture period late, is not silent
    /// until well past that.
    fn cadence(&self) -> f64 {
        let pts = &self.window[..self.len];
        let (Some(first), Some(last)) = (
            pts.iter().map(|o| o.sample).min(),
            pts.iter().map(|o| o.sample).max(),
        ) else {
            return 0.0;
        };
        (last - first) as f64 / (self.len.max(2) - 1) as f64
    }

    /// Least-squares line through the window: (tc at `at`, frames per
    /// sample, RMS residual in frames).
    fn fit(&self, at: u64) -> Option<(f64, f64, f64)> {
        if self.len < 2 {
            return None;
        }
        let pts = &self.window[..self.len];
        let origin = pts.iter().map(|o| o.sample).min()?;
        let n = self.len as f64;
        let xs = pts.iter().map(|o| (o.sample - origin) as f64);
        let mx = xs.clone().sum::<f64>() / n;
        let my = pts.iter().map(|o| o.tc_frames).sum::<f64>() / n;
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for o in pts {
            let dx = (o.sample - origin) as f64 - mx;
            sxx += dx * dx;
            sxy += dx * (o.tc_frames - my);
        }
        if sxx == 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let rms = (pts
            .iter()
            .map(|o| {
                let predicted = my + ((o.sample - origin) as f64 - mx) * slope;
                (o.tc_frames - predicted).powi(2)
            })
            .sum::<f64>()
            / n)
            .sqrt();
        let tc = my + (at as f64 - origin as f64 - mx) * slope;
        Some((tc, slope, rms))
    }
}

/// The master clock. See the [module](self) documentation.
pub struct MasterClock {
    sample_rate: f64,
    fps: f64,
    thresholds: Thresholds,
    /// Kinds in order of preference; a kind not here is never used.
    priority: Vec<Source>,
    sources: Vec<SourceState>,
    current: Option<usize>,
    mapping: Mapping,
    writer: TimebaseWriter,
    /// A slew in progress runs until this sample.
    slew_until: Option<u64>,
    /// The followed source's own rate (frames a sample), without the slew:
    /// what a flywheel runs at.
    source_rate: f64,
    health: Vec<Health>,
}

impl MasterClock {
    /// A clock at `sample_rate` for timecode at `fps`, preferring source
    /// kinds in the order of `priority`, publishing through `writer`,
    /// starting free-running from `initial`.
    pub fn new(
        sample_rate: u32,
        fps: f64,
        thresholds: Thresholds,
        priority: &[Source],
        initial: Mapping,
        writer: TimebaseWriter,
    ) -> Self {
        MasterClock {
            sample_rate: f64::from(sample_rate),
            fps,
            thresholds,
            priority: priority.to_vec(),
            sources: Vec::new(),
            current: None,
            mapping: initial,
            writer,
            slew_until: None,
            source_rate: initial.tc_per_sample,
            health: Vec::new(),
        }
    }

    /// Adds a source; sources of a kind earlier in the priority win over
    /// later ones, and among one kind the most stable. Returns its index
    /// for [`observe`](Self::observe).
    pub fn add_source(&mut self, source: Source, name: impl Into<String>) -> usize {
        self.sources.push(SourceState {
            source,
            name: name.into(),
            window: [Observation {
                sample: 0,
                tc_frames: 0.0,
            }; WINDOW],
            len: 0,
            next: 0,
        });
        self.sources.len() - 1
    }

    /// Records what source `index` said.
    pub fn observe(&mut self, index: usize, observation: Observation) {
        let s = &mut self.sources[index];
        // A jump in the source (a locate) starts its fit afresh.
        if let Some(last) = s.last() {
            let expected = last.tc_frames
                + (observation.sample as f64 - last.sample as f64) * self.fps / self.sample_rate;
            if (observation.tc_frames - expected).abs() > self.thresholds.relocate_frames {
                s.len = 0;
                s.next = 0;
            }
        }
        s.window[s.next] = observation;
        s.next = (s.next + 1) % WINDOW;
        s.len = (s.len + 1).min(WINDOW);
    }

    /// Every source's health as of the last tick.
    pub fn health(&self) -> &[Health] {
        &self.health
    }

    /// The source in use.
    pub fn current(&self) -> Option<Source> {
        self.current.map(|i| self.sources[i].source)
    }

    /// The name of the source in use.
    pub fn current_name(&self) -> Option<&str> {
        self.current.map(|i| self.sources[i].name.as_str())
    }

    /// The timebase as last published.
    pub fn mapping(&self) -> Mapping {
        self.mapping
    }

    /// Evaluates every source at `now` (the first sample of this period),
    /// switches if the source in use failed or a better one is healthy,
    /// steers the timebase and publishes it. Returns the switch, if any.
    pub fn tick(&mut self, now: u64) -> Option<Switch> {
        let timeout = (self.thresholds.timeout_s * self.sample_rate) as u64;
        let us_per_frame = 1e6 / self.fps;
        let quarter_frame_us = us_per_frame / 4.0;
        let timebase_now = self.mapping.tc_at(now);
        self.health = self
            .sources
            .iter()
            .map(|s| {
                let fit = s.fit(now);
                // Silent: nothing for the timeout beyond when the next
                // observation was due (two of its own intervals late).
                let silent = s.last().is_none_or(|o| {
                    now.saturating_sub(o.sample) as f64 > timeout as f64 + 2.0 * s.cadence()
                });
                let (offset_us, jitter_us) = fit.map_or((0.0, 0.0), |(tc, _, rms)| {
                    ((tc - timebase_now) * us_per_frame, rms * us_per_frame)
                });
                let stability = (1.0 - jitter_us / quarter_frame_us).clamp(0.0, 1.0);
                let wanted = self.priority.contains(&s.source);
                let note = if !wanted {
                    Some("not in the session's time source priority".to_string())
                } else if silent {
                    Some("lost: no time within the timeout".to_string())
                } else if fit.is_none() || s.len < MIN_POINTS {
                    Some("locking".to_string())
                } else if stability < self.thresholds.min_stability {
                    Some(format!(
                        "degraded: stability {stability:.2} below {:.2} (jitter {jitter_us:.0} µs)",
                        self.thresholds.min_stability
                    ))
                } else if jitter_us > self.thresholds.jitter_warn_us {
                    Some(format!("jitter warning: {jitter_us:.0} µs"))
                } else if offset_us.abs() > self.thresholds.drift_warn_us {
                    Some(format!(
                        "drift warning: {offset_us:.0} µs from the timebase"
                    ))
                } else {
                    None
                };
                // A fit through a few points is no evidence of stability.
                let healthy = wanted
                    && !silent
                    && fit.is_some()
                    && s.len >= MIN_POINTS
                    && stability >= self.thresholds.min_stability;
                Health {
                    source: s.source,
                    name: s.name.clone(),
                    healthy,
                    note,
                    offset_us,
                    jitter_us,
                    stability,
                }
            })
            .collect();
        let best = self.best();
        let switch = if best != self.current {
            Some(self.switch_to(best, now))
        } else {
            None
        };
        self.steer(now);
        self.writer.publish(self.mapping);
        switch
    }

    /// The healthy source of the best kind, the most stable of its kind.
    fn best(&self) -> Option<usize> {
        let rank = |s: Source| self.priority.iter().position(|&p| p == s);
        let best = (0..self.sources.len())
            .filter(|&i| self.health[i].healthy)
            .min_by(|&a, &b| {
                rank(self.sources[a].source)
                    .cmp(&rank(self.sources[b].source))
                    .then(
                        self.health[b]
                            .stability
                            .total_cmp(&self.health[a].stability),
                    )
            });
        // Among peers of one kind, only a clearly steadier one takes over:
        // no flapping between two that are about as good.
        match (self.current, best) {
            (Some(c), Some(b))
                if self.health[c].healthy
                    && self.sources[c].source == self.sources[b].source
                    && self.health[b].stability - self.health[c].stability < STABILITY_MARGIN =>
            {
                Some(c)
            }
            _ => best,
        }
    }

    /// Switches to `to` at `now`: the timebase is re-anchored where it is,
    /// so nothing jumps unless the error calls for a relocate.
    fn switch_to(&mut self, to: Option<usize>, now: u64) -> Switch {
        let from = self.current.map(|i| self.sources[i].name.clone());
        let reason = match self.current {
            Some(i) => self.health[i]
                .note
                .clone()
                .unwrap_or_else(|| "a better source is healthy".into()),
            None => "a source became healthy".into(),
        };
        self.current = to;
        let relock = match to.and_then(|i| Some((i, self.sources[i].fit(now)?))) {
            None => {
                // Flywheel: the same time, at the lost source's own rate
                // (a slew in progress ends where it is), anchored now.
                self.anchor(now);
                self.mapping.tc_per_sample = self.source_rate;
                self.slew_until = None;
                self.mapping.source = Source::Free;
                Relock::Flywheel
            }
            Some((i, (tc, rate, _))) => {
                self.mapping.source = self.sources[i].source;
                self.relock(now, tc, rate)
            }
        };
        Switch {
            sample: now,
            from,
            to: to.map(|i| self.sources[i].name.clone()),
            reason,
            relock,
        }
    }

    /// Re-anchors the timebase at `now`, where and as fast as it runs, so
    /// what follows changes its course, never its position.
    fn anchor(&mut self, now: u64) {
        self.mapping = Mapping {
            sample: now,
            tc_frames: self.mapping.tc_at(now),
            ptp_ns: self.mapping.ptp_at(now).max(0.0) as u64,
            ..self.mapping
        };
    }

    /// Steers the timebase onto a source that says `tc` at `now` and runs
    /// `rate` frames a sample: a small error is slewed away over the slew
    /// time, a large one relocated.
    fn relock(&mut self, now: u64, tc: f64, rate: f64) -> Relock {
        self.anchor(now);
        self.source_rate = rate;
        let error_frames = tc - self.mapping.tc_frames;
        if error_frames.abs() > self.thresholds.relocate_frames {
            self.mapping.tc_frames = tc;
            self.mapping.tc_per_sample = rate;
            self.slew_until = None;
            Relock::Relocate { error_frames }
        } else {
            let samples = self.thresholds.slew_s * self.sample_rate;
            self.mapping.tc_per_sample = rate + error_frames / samples;
            self.slew_until = Some(now + samples as u64);
            Relock::Slew { error_frames }
        }
    }

    /// Keeps the timebase on the source in use: once a slew has run its
    /// course, the remaining error is slewed (or relocated) again.
    fn steer(&mut self, now: u64) {
        let Some(i) = self.current else { return };
        let Some((tc, rate, _)) = self.sources[i].fit(now) else {
            return;
        };
        if self.slew_until.is_some_and(|until| now < until) {
            return;
        }
        self.relock(now, tc, rate);
    }
}

#[cfg(test)]
mod tests {
    use super::super::timebase::timebase;
    use super::*;

    const RATE: u32 = 48_000;
    const FPS: f64 = 25.0;
    const PERIOD: u64 = 256;

    fn clock() -> (MasterClock, super::super::timebase::TimebaseReader) {
        let initial = Mapping::free(RATE, FPS);
        let (writer, reader) = timebase(initial);
        (
            MasterClock::new(
                RATE,
                FPS,
                Thresholds::default(),
                &[Source::Ltc, Source::Mtc, Source::Ptp, Source::System],
                initial,
                writer,
            ),
            reader,
        )
    }

    /// A source at `speed` × nominal whose time at sample 0 is `at0`.
    fn said(sample: u64, at0: f64, speed: f64) -> Observation {
        Observation {
            sample,
            tc_frames: at0 + sample as f64 * FPS / f64::from(RATE) * speed,
        }
    }

    #[test]
    fn a_cut_source_fails_over_in_the_same_period_without_a_jump() {
        let (mut clock, reader) = clock();
        let ltc = clock.add_source(Source::Ltc, "ltc");
        let mtc = clock.add_source(Source::Mtc, "mtc:port1");
        let offset = 90_000.0; // 01:00:00:00 at 25 fps
        let mut switches = Vec::new();
        let mut now = 0;
        // LTC and MTC both run for 2 s (MTC 0.5 frame behind); a frame of
        // LTC every 1920 samples, MTC every quarter frame.
        while now < 2 * u64::from(RATE) {
            if now % 1920 < PERIOD {
                clock.observe(ltc, said(now - now % 1920, offset, 1.0));
            }
            if now % 480 < PERIOD {
                clock.observe(mtc, said(now - now % 480, offset - 0.5, 1.0));
            }
            switches.extend(clock.tick(now));
            now += PERIOD;
        }
        assert_eq!(clock.current(), Some(Source::Ltc));
        let m = reader.read();
        assert!((m.tc_at(now) - (offset + now as f64 * FPS / f64::from(RATE))).abs() < 0.01);
        // LTC is cut; MTC goes on.
        let mut before = reader.read().tc_at(now);
        let cut = now;
        let mut switched_at = None;
        while now < cut + 3 * u64::from(RATE) / 2 {
            if now % 480 < PERIOD {
                clock.observe(mtc, said(now - now % 480, offset - 0.5, 1.0));
            }
            if let Some(s) = clock.tick(now) {
                switched_at = Some(now);
                switches.push(s);
            }
            let after = reader.read().tc_at(now);
            // Never a jump: at most a period's worth plus the slew.
            let step = after - before;
            assert!(step.abs() < 0.2, "a jump of {step} frames at {now}");
            before = reader.read().tc_at(now + PERIOD);
            now += PERIOD;
        }
        let at = switched_at.expect("it switched");
        let timeout = (0.1 * f64::from(RATE)) as u64;
        // Lost once silent for the timeout beyond two of its frames.
        assert!(
            at - cut <= timeout + 2 * 1920 + 2 * PERIOD + 1920,
            "switched {} samples after the cut",
            at - cut
        );
        let s = switches.last().unwrap();
        assert_eq!(s.to.as_deref(), Some("mtc:port1"));
        assert!(s.reason.starts_with("lost"), "{}", s.reason);
        assert!(
            matches!(s.relock, Relock::Slew { error_frames } if (error_frames + 0.5).abs() < 0.05)
        );
        // A second after the switch, the slew has brought it onto MTC.
        let m = reader.read();
        let mtc_now = offset - 0.5 + now as f64 * FPS / f64::from(RATE);
        assert!(
            (m.tc_at(now) - mtc_now).abs() < 0.05,
            "{} vs {mtc_now}",
            m.tc_at(now)
        );
        assert_eq!(m.source, Source::Mtc);
    }

    #[test]
    fn a_large_error_relocates_and_the_best_healthy_mtc_peer_wins() {
        let (mut clock, reader) = clock();
        let noisy = clock.add_source(Source::Mtc, "mtc:noisy");
        let clean = clock.add_source(Source::Mtc, "mtc:clean");
        let mut seed = 7u32;
        let mut switches = Vec::new();
        for k in 0..200u64 {
            let now = k * 480;
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let jitter = (f64::from(seed >> 8) / f64::from(1u32 << 24) - 0.5) * 0.1;
            let mut o = said(now, 5_000.0, 1.0);
            o.tc_frames += jitter;
            clock.observe(noisy, o);
            clock.observe(clean, said(now, 5_000.0, 1.0));
            switches.extend(clock.tick(now));
        }
        // Both become usable after the same eight quarter frames; the clean
        // one is the steadier, and the 5000-frame error is a relocate.
        assert_eq!(switches.len(), 1, "{switches:?}");
        assert_eq!(switches[0].to.as_deref(), Some("mtc:clean"));
        assert!(
            matches!(switches[0].relock, Relock::Relocate { .. }),
            "{:?}",
            switches[0]
        );
        let h = clock.health();
        assert!(h[clean].stability > h[noisy].stability + 0.1, "{h:?}");
        let m = reader.read();
        assert!((m.tc_at(199 * 480) - said(199 * 480, 5_000.0, 1.0).tc_frames).abs() < 0.01);
    }

    #[test]
    fn the_session_priority_orders_kinds_and_excludes_the_unlisted() {
        let initial = Mapping::free(RATE, FPS);
        let (writer, _reader) = timebase(initial);
        // PTP before MTC; LTC not wanted at all.
        let mut clock = MasterClock::new(
            RATE,
            FPS,
            Thresholds::default(),
            &[Source::Ptp, Source::Mtc],
            initial,
            writer,
        );
        let ltc = clock.add_source(Source::Ltc, "ltc");
        let mtc = clock.add_source(Source::Mtc, "mtc:a");
        let ptp = clock.add_source(Source::Ptp, "ptp");
        for k in 0..40u64 {
            let now = k * 480;
            for s in [ltc, mtc, ptp] {
                clock.observe(s, said(now, 100.0, 1.0));
            }
            clock.tick(now);
        }
        assert_eq!(clock.current(), Some(Source::Ptp));
        let h = clock.health();
        assert!(!h[ltc].healthy);
        assert_eq!(
            h[ltc].note.as_deref(),
            Some("not in the session's time source priority")
        );
        assert!(h[mtc].healthy && h[ptp].healthy, "{h:?}");
        assert!((h[ptp].stability - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_flywheel_runs_at_the_lost_source_rate_not_its_slew() {
        let (mut clock, reader) = clock();
        let mtc = clock.add_source(Source::Mtc, "mtc:a");
        let mut now = 0;
        // Locked, then the source moves by a frame: a slew starts.
        while now < u64::from(RATE) {
            clock.observe(mtc, said(now, 1000.0, 1.0));
            clock.tick(now);
            now += 480;
        }
        let shifted = now;
        while now < shifted + u64::from(RATE) / 2 {
            clock.observe(mtc, said(now, 1001.0, 1.0));
            clock.tick(now);
            now += 480;
        }
        assert!(reader.read().tc_per_sample > FPS / f64::from(RATE) * 1.0001);
        // Lost mid-slew: the flywheel runs at the source's own speed.
        let mut switch = None;
        while switch.is_none() {
            switch = clock.tick(now);
            now += 480;
        }
        assert_eq!(switch.unwrap().relock, Relock::Flywheel);
        let rate = reader.read().tc_per_sample;
        assert!(
            (rate / (FPS / f64::from(RATE)) - 1.0).abs() < 1e-6,
            "{rate}"
        );
    }
}
