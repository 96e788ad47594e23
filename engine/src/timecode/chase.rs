//! Chase: clips placed on the timecode line that follow incoming timecode.
//! Pure: the owner hands in the timebase, the render frame it has reached
//! and how far ahead its commands apply, and gets back what to tell the
//! renderer.
//!
//! A chasing clip's cue start sits at its `timecode_trigger`. While LTC or
//! MTC runs forward through the clip's span, the clip plays the sequence
//! frame the timecode points at:
//!
//! - it **starts** at the exact sample the timecode reaches its trigger, or
//!   joins mid-way (the renderer's edit-point ramp fades it in) when
//!   timecode is already inside its span;
//! - it **varispeeds** to stay locked: its speed is the timecode's rate
//!   against nominal, corrected by the remaining error over
//!   [`CORRECTION_S`] (at most ±[`MAX_CORRECTION`]), so a source that runs
//!   fast, slow or slews after a failover is followed without a jump. The
//!   renderer's speeds are fixed point, so the chaser knows exactly where
//!   the voice is without asking;
//! - it **relocates** (a stop with the edge fade and a new voice at the
//!   right frame) when the error exceeds [`RELOCATE_TC_FRAMES`]: a jump;
//! - it **stops** when timecode stops (the clock no longer follows LTC or
//!   MTC) or runs backwards, and starts again when it runs forward.
//!
//! A chasing voice stopped by anyone else (an operator's stop, panic, a
//! choke group) or one that ran to its end is **held**: chase leaves it
//! alone until timecode stops, jumps or leaves the clip's span, so a panic
//! is never undone by the next timecode frame.

use super::timebase::{Mapping, Source};
use super::Timecode;
use crate::render::{Speed, Timeline, VoiceId};
use crate::show::{ClipId, Show};

/// An error beyond this many timecode frames relocates instead of slewing.
pub const RELOCATE_TC_FRAMES: f64 = 2.0;
/// The time over which a chasing voice's speed correction removes its error.
pub const CORRECTION_S: f64 = 1.0;
/// The largest speed correction, as a fraction (2 %: about a third of a
/// semitone), so slewing stays musical.
pub const MAX_CORRECTION: f64 = 0.02;

/// What a chasing clip is doing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Not playing: it starts when timecode runs through its span.
    Idle,
    /// Playing (its voice id arrives with [`Chase::bind`]).
    Playing(Playing),
    /// Left alone until timecode stops, jumps or leaves the span. Holds
    /// where timecode pointed (sequence frame) at frame `at`.
    Held { desired: f64, at: u64 },
}

impl State {
    /// Held by someone else's doing; the next poll notes where timecode
    /// points, so that a later jump re-arms it.
    const HANDS_OFF: State = State::Held {
        desired: f64::NAN,
        at: 0,
    };
}

/// A chasing voice and where it is, exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Playing {
    voice: Option<VoiceId>,
    /// Sequence frame it started at.
    index: u64,
    /// Fixed-point advance from its start to frame `since`, the last frame
    /// its speed was set at.
    advance: u128,
    since: u64,
    speed: Speed,
    /// Its audio underran: where it is is no longer known.
    lost: bool,
}

impl Playing {
    /// Its sequence position (fractional frames) at render frame `at`.
    fn position(&self, at: u64) -> f64 {
        let fixed = self.advance + self.speed.advance(at.saturating_sub(self.since));
        self.index as f64 + Speed::position_frames(fixed)
    }
}

/// One chasing clip.
#[derive(Debug, Clone)]
struct Chased {
    clip: ClipId,
    at: Timecode,
    /// The trigger, timecode frames since midnight.
    trigger: f64,
    /// Sequence frames at the engine rate; `None` when it loops forever.
    length: Option<u64>,
    state: State,
}

/// Why a chasing voice stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The clock no longer follows LTC or MTC.
    TimecodeStopped(Source),
    /// Timecode stands still or runs backwards.
    NotForward,
    /// Timecode jumped: a relocate follows at the same frame, if the new
    /// time is inside the clip.
    Jumped,
    /// Its audio underran: it is restarted where timecode points.
    Underrun,
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::TimecodeStopped(s) => {
                write!(f, "timecode stopped (the clock follows {s:?})")
            }
            StopReason::NotForward => f.write_str("timecode stands still or runs backwards"),
            StopReason::Jumped => f.write_str("timecode jumped"),
            StopReason::Underrun => f.write_str("its audio underran"),
        }
    }
}

/// What the renderer is to be told.
#[derive(Debug, Clone, PartialEq)]
pub enum ChaseAction {
    /// Start `clip` at render frame `at` from sequence frame `index`, as a
    /// varispeed voice at `speed`; [`Chase::bind`] its voice id.
    Start {
        /// The clip.
        clip: ClipId,
        /// Render frame.
        at: u64,
        /// Sequence frame it starts from (0: its cue start).
        index: u64,
        /// Its speed.
        speed: Speed,
    },
    /// Change a chasing voice's speed at render frame `at`.
    Speed {
        /// The voice.
        voice: VoiceId,
        /// Render frame.
        at: u64,
        /// Its new speed.
        speed: Speed,
    },
    /// Stop a chasing voice (edge fade) at render frame `at`.
    Stop {
        /// The clip.
        clip: ClipId,
        /// The voice.
        voice: VoiceId,
        /// Render frame.
        at: u64,
        /// Why.
        reason: StopReason,
    },
}

/// The show's chasing clips.
#[derive(Debug, Clone)]
pub struct Chase {
    clips: Vec<Chased>,
    rate: u32,
    /// Engine frames per timecode frame.
    per_tc_frame: f64,
}

impl Chase {
    /// The chasing clips of `show` (see [`Show::chases`]) whose trigger
    /// exists at the session's frame rate and whose markers fit their
    /// audio, played at `rate`.
    pub fn from_show(show: &Show, rate: u32) -> Self {
        let fps = show.time_sources.frame_rate;
        let clips = show
            .clips
            .iter()
            .filter(|c| show.chases(c))
            .filter_map(|c| {
                let at = c.timecode_trigger?.check(fps).ok()?;
                let timeline = Timeline::from_clip(c, rate).ok()?;
                Some(Chased {
                    clip: c.id.clone(),
                    at,
                    trigger: at.to_frames(fps) as f64,
                    length: timeline.sequence_len(),
                    state: State::Idle,
                })
            })
            .collect();
        Chase {
            clips,
            rate,
            per_tc_frame: f64::from(rate) / fps.fps(),
        }
    }

    /// Whether there are any.
    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }

    /// The trigger of a chasing clip.
    pub fn trigger(&self, clip: &ClipId) -> Option<Timecode> {
        self.clips.iter().find(|c| &c.clip == clip).map(|c| c.at)
    }

    /// The voice the renderer plays a started clip with.
    pub fn bind(&mut self, clip: &ClipId, voice: VoiceId) {
        for c in self.clips.iter_mut().filter(|c| &c.clip == clip) {
            if let State::Playing(p) = &mut c.state {
                p.voice = Some(voice);
            }
        }
    }

    /// A start could not be made (its audio cannot be read): the clip is
    /// held rather than retried every poll.
    pub fn failed(&mut self, clip: &ClipId) {
        for c in self.clips.iter_mut().filter(|c| &c.clip == clip) {
            c.state = State::HANDS_OFF;
        }
    }

    /// A voice stopped or was refused. If it is a chasing voice chase did
    /// not stop itself, its clip is held.
    pub fn stopped(&mut self, voice: VoiceId) {
        for c in &mut self.clips {
            if let State::Playing(p) = c.state {
                if p.voice == Some(voice) {
                    c.state = State::HANDS_OFF;
                }
            }
        }
    }

    /// A voice underran: if it is chasing, it is relocated at the next poll.
    pub fn underran(&mut self, voice: VoiceId) {
        for c in &mut self.clips {
            if let State::Playing(p) = &mut c.state {
                if p.voice == Some(voice) {
                    p.lost = true;
                }
            }
        }
    }

    /// Evaluates every chasing clip against the timebase `m`. `at` is the
    /// earliest render frame a command sent now applies at (the render
    /// frame reached plus the hand-over lead); the actions apply there, or
    /// for a start due at a trigger, at the trigger's exact sample.
    pub fn poll(&mut self, m: &Mapping, at: u64) -> Vec<ChaseAction> {
        let mut actions = Vec::new();
        let forward = m.tc_per_sample > 0.0;
        let timecode = matches!(m.source, Source::Ltc | Source::Mtc);
        // Timecode speed against nominal: what a locked voice plays at.
        let tc_speed = m.tc_per_sample * self.per_tc_frame;
        let relocate = RELOCATE_TC_FRAMES * self.per_tc_frame;
        let steer_every = u64::from(self.rate / 50);
        for c in &mut self.clips {
            if !(timecode && forward) {
                if let State::Playing(p) = c.state {
                    if let Some(voice) = p.voice {
                        let reason = match timecode {
                            false => StopReason::TimecodeStopped(m.source),
                            true => StopReason::NotForward,
                        };
                        actions.push(ChaseAction::Stop {
                            clip: c.clip.clone(),
                            voice,
                            at,
                            reason,
                        });
                    }
                }
                c.state = State::Idle;
                continue;
            }
            let desired = (m.tc_at(at) - c.trigger) * self.per_tc_frame;
            let inside = desired >= 0.0 && c.length.is_none_or(|l| desired < l as f64);
            let start = |index: f64, at: u64| ChaseAction::Start {
                clip: c.clip.clone(),
                at,
                index: index.round().max(0.0) as u64,
                speed: Speed::from_ratio(tc_speed),
            };
            match c.state {
                State::Idle if inside => actions.push(start(desired, at)),
                State::Idle => {
                    // Before its trigger: start at the trigger's exact sample
                    // once that is within reach.
                    let due = m.sample_at_tc(c.trigger).map(|s| s.round().max(0.0) as u64);
                    match due {
                        Some(s) if desired < 0.0 && s <= at + steer_every => {
                            actions.push(start(0.0, s.max(at)))
                        }
                        _ => continue,
                    }
                }
                State::Held {
                    desired: held,
                    at: then,
                } => {
                    let expected = held + (at - then.min(at)) as f64 * tc_speed;
                    let jumped = held.is_finite() && (desired - expected).abs() > relocate;
                    c.state = match !inside || jumped {
                        true => State::Idle,
                        false => State::Held { desired, at },
                    };
                    continue;
                }
                State::Playing(mut p) => {
                    let Some(voice) = p.voice else { continue };
                    let position = p.position(at);
                    let error = desired - position;
                    if c.length.is_some_and(|l| position >= l as f64) {
                        // It ran to its end by itself.
                        c.state = State::Held { desired, at };
                        continue;
                    }
                    if p.lost || error.abs() > relocate {
                        let reason = match p.lost {
                            true => StopReason::Underrun,
                            false => StopReason::Jumped,
                        };
                        actions.push(ChaseAction::Stop {
                            clip: c.clip.clone(),
                            voice,
                            at,
                            reason,
                        });
                        match inside {
                            true => actions.push(start(desired, at)),
                            false => {
                                c.state = State::Idle;
                                continue;
                            }
                        }
                    } else {
                        if at < p.since + steer_every {
                            continue;
                        }
                        let correction = (error / (CORRECTION_S * f64::from(self.rate)))
                            .clamp(-MAX_CORRECTION, MAX_CORRECTION);
                        let speed = Speed::from_ratio(tc_speed * (1.0 + correction));
                        p.advance += p.speed.advance(at - p.since);
                        p.since = at;
                        if speed != p.speed {
                            p.speed = speed;
                            actions.push(ChaseAction::Speed { voice, at, speed });
                        }
                        c.state = State::Playing(p);
                        continue;
                    }
                }
            }
            // A start was pushed: follow it from its frame.
            if let Some(ChaseAction::Start {
                at, index, speed, ..
            }) = actions.last()
            {
                c.state = State::Playing(Playing {
                    voice: None,
                    index: *index,
                    advance: 0,
                    since: *at,
                    speed: *speed,
                    lost: false,
                });
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;
    /// Engine frames per timecode frame at 25 fps.
    const PER: f64 = 1_920.0;

    fn chase(length: Option<u64>) -> Chase {
        Chase {
            clips: vec![Chased {
                clip: "c1".parse().unwrap(),
                at: "10:00:02:00".parse().unwrap(),
                trigger: 900_050.0,
                length,
                state: State::Idle,
            }],
            rate: RATE,
            per_tc_frame: PER,
        }
    }

    /// Timecode `tc` (frames) at render frame `sample`, running at `speed`.
    fn tc(source: Source, sample: u64, tc: f64, speed: f64) -> Mapping {
        Mapping {
            sample,
            tc_frames: tc,
            tc_per_sample: speed / PER,
            ptp_ns: 0,
            ns_per_sample: 1e9 / 48_000.0,
            source,
            generation: 1,
        }
    }

    /// Polls every 240 frames (5 ms) from `from` to `to` with a 1 024-frame
    /// lead, binding started voices to ids from `next`.
    fn run(c: &mut Chase, m: &Mapping, from: u64, to: u64, next: &mut u64) -> Vec<ChaseAction> {
        let mut all = Vec::new();
        for now in (from..to).step_by(240) {
            for a in c.poll(m, now + 1_024) {
                if let ChaseAction::Start { clip, .. } = &a {
                    *next += 1;
                    c.bind(clip, VoiceId(*next));
                }
                all.push(a);
            }
        }
        all
    }

    #[test]
    fn it_starts_at_the_triggers_exact_sample_and_holds_unity_when_locked() {
        let mut c = chase(Some(1_000_000));
        // 10:00:00:00 at sample 0: the trigger comes at 2 s, sample 96 000.
        let m = tc(Source::Ltc, 0, 900_000.0, 1.0);
        let mut next = 0;
        let actions = run(&mut c, &m, 0, 200_000, &mut next);
        assert_eq!(
            actions,
            [ChaseAction::Start {
                clip: "c1".parse().unwrap(),
                at: 96_000,
                index: 0,
                speed: Speed::UNITY
            }],
            "locked: no speed change is ever sent"
        );
    }

    #[test]
    fn it_joins_mid_way_and_follows_a_fast_source() {
        let mut c = chase(None);
        // Already 10 s past the trigger, running 3 % fast.
        let m = tc(Source::Mtc, 0, 900_050.0 + 250.0, 1.03);
        let mut next = 0;
        let actions = run(&mut c, &m, 0, 48_000, &mut next);
        let ChaseAction::Start {
            at, index, speed, ..
        } = &actions[0]
        else {
            panic!("{actions:?}")
        };
        assert_eq!(*at, 1_024);
        // 250 frames of 1 920, plus 1 024 samples at 1.03.
        assert_eq!(*index, (250.0 * PER + 1_024.0 * 1.03_f64).round() as u64);
        assert!((speed.ratio() - 1.03).abs() < 1e-9);
        // Locked from the start: only the half frame of rounding to correct.
        assert!(actions[1..].iter().all(|a| match a {
            ChaseAction::Speed { speed, .. } => (speed.ratio() - 1.03).abs() < 1e-4,
            _ => false,
        }));
    }

    #[test]
    fn a_small_error_is_slewed_away_and_a_jump_relocates() {
        let mut c = chase(None);
        let m = tc(Source::Ltc, 0, 900_100.0, 1.0);
        let mut next = 0;
        run(&mut c, &m, 0, 4_800, &mut next);
        // The source now says 20 ms later: under the relocate threshold.
        let ahead = tc(Source::Ltc, 0, 900_100.5, 1.0);
        let actions = run(&mut c, &ahead, 4_800, 4_800 + 5 * 48_000, &mut next);
        assert!(actions
            .iter()
            .all(|a| matches!(a, ChaseAction::Speed { .. })));
        let State::Playing(p) = c.clips[0].state else {
            panic!()
        };
        let at = 4_800 + 5 * 48_000 + 1_024;
        // The error decays with a 1 s time constant: e⁻⁵ of 960 frames.
        let error = (ahead.tc_at(at) - 900_050.0) * PER - p.position(at);
        assert!(error.abs() < 10.0, "slewed to within 10 frames: {error}");
        let fastest = actions
            .iter()
            .filter_map(|a| match a {
                ChaseAction::Speed { speed, .. } => Some(speed.ratio()),
                _ => None,
            })
            .fold(1.0, f64::max);
        assert!(fastest <= 1.0 + MAX_CORRECTION + 1e-9, "{fastest}");
        // A locate 10 s on: a stop and a start at the same frame.
        let jump = tc(Source::Ltc, 0, 900_100.5 + 250.0, 1.0);
        let actions = c.poll(&jump, at + 1_000);
        assert!(
            matches!(
                actions.as_slice(),
                [
                    ChaseAction::Stop { voice: VoiceId(1), reason: StopReason::Jumped, at: a, .. },
                    ChaseAction::Start { at: b, .. },
                ] if a == b
            ),
            "{actions:?}"
        );
    }

    #[test]
    fn it_stops_when_timecode_stops_or_reverses_and_starts_again() {
        let mut c = chase(None);
        let mut next = 0;
        run(
            &mut c,
            &tc(Source::Ltc, 0, 900_100.0, 1.0),
            0,
            4_800,
            &mut next,
        );
        for (m, reason) in [
            (
                tc(Source::System, 0, 900_100.0, 1.0),
                StopReason::TimecodeStopped(Source::System),
            ),
            (tc(Source::Ltc, 0, 900_100.0, -1.0), StopReason::NotForward),
        ] {
            let actions = c.poll(&m, 6_000);
            assert!(
                matches!(actions.as_slice(), [ChaseAction::Stop { reason: r, .. }] if *r == reason),
                "{actions:?}"
            );
            assert!(c.poll(&m, 6_240).is_empty(), "stopped once");
            let back = run(
                &mut c,
                &tc(Source::Mtc, 0, 900_100.0, 1.0),
                7_000,
                7_300,
                &mut next,
            );
            assert!(
                matches!(back.as_slice(), [ChaseAction::Start { .. }]),
                "{back:?}"
            );
        }
    }

    #[test]
    fn a_voice_stopped_by_the_operator_stays_stopped_until_timecode_moves_on() {
        let mut c = chase(None);
        let m = tc(Source::Ltc, 0, 900_100.0, 1.0);
        let mut next = 0;
        run(&mut c, &m, 0, 4_800, &mut next);
        c.stopped(VoiceId(1));
        assert!(
            run(&mut c, &m, 4_800, 96_000, &mut next).is_empty(),
            "a panic wins"
        );
        // A locate re-arms it.
        let located = tc(Source::Ltc, 0, 900_100.0 + 500.0, 1.0);
        assert!(c.poll(&located, 100_000).is_empty(), "re-armed");
        let again = c.poll(&located, 100_240);
        assert!(
            matches!(again.as_slice(), [ChaseAction::Start { .. }]),
            "{again:?}"
        );
    }

    #[test]
    fn an_underrun_relocates_and_a_finished_clip_is_left_alone() {
        let mut c = chase(Some(96_000));
        let m = tc(Source::Ltc, 0, 900_050.0, 1.0);
        let mut next = 0;
        run(&mut c, &m, 0, 4_800, &mut next);
        c.underran(VoiceId(1));
        let actions = c.poll(&m, 6_000);
        assert!(
            matches!(
                actions.as_slice(),
                [
                    ChaseAction::Stop {
                        reason: StopReason::Underrun,
                        ..
                    },
                    ChaseAction::Start { index: 6_000, .. }
                ]
            ),
            "{actions:?}"
        );
        c.bind(&"c1".parse().unwrap(), VoiceId(9));
        // Past its 2 s: it has ended by itself, and nothing restarts it.
        assert!(run(&mut c, &m, 6_000, 300_000, &mut next).is_empty());
    }
}
