//! Timecode cues: clips that start when incoming timecode reaches their
//! trigger time. Pure: the owner hands in the timebase and the render
//! frame it has reached, and gets back the clips due within its horizon,
//! each with the exact sample the timebase reaches the trigger at.
//!
//! A cue fires when timecode runs forward through its time. It fires once
//! per pass: a locate back before it arms it again, a jump over it skips it
//! (reported, not played late). Only timecode that comes in — LTC or MTC —
//! fires cues; while the timebase follows PTP, the system clock or nothing,
//! cues hold.

use super::timebase::{Mapping, Source};
use super::{FrameRate, Timecode};
use crate::show::{ClipId, Show};

/// Where timecode is against a cue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No timecode seen yet.
    Unknown,
    /// Timecode is before it: it fires when timecode comes within reach.
    Armed,
    /// Handed out; timecode has not passed it yet.
    Fired,
    /// Timecode is past it.
    Passed,
}

/// A cue's trigger.
#[derive(Debug, Clone)]
struct Cue {
    clip: ClipId,
    at: Timecode,
    /// The trigger in frames since midnight.
    frames: f64,
    state: State,
}

/// What became of a cue.
#[derive(Debug, Clone, PartialEq)]
pub enum CueFired {
    /// It is due: start the clip at `sample`.
    Due {
        /// The clip.
        clip: ClipId,
        /// Its trigger.
        at: Timecode,
        /// The render frame the timebase reaches the trigger at.
        sample: u64,
    },
    /// Timecode jumped over it: it did not play.
    Skipped {
        /// The clip.
        clip: ClipId,
        /// Its trigger.
        at: Timecode,
    },
}

/// The show's timecode cues.
#[derive(Debug, Clone, Default)]
pub struct TimecodeCues {
    cues: Vec<Cue>,
    /// Timecode at the last poll: a locate back re-arms the cues after it.
    last: Option<f64>,
}

impl TimecodeCues {
    /// The cues of every clip of `show` with a trigger valid at the
    /// session's frame rate that does not chase (chase starts those).
    pub fn from_show(show: &Show) -> Self {
        let triggers = show
            .clips
            .iter()
            .filter(|c| !show.chases(c))
            .filter_map(|c| Some((c.id.clone(), c.timecode_trigger?)));
        TimecodeCues::new(triggers, show.time_sources.frame_rate)
    }

    /// Cues for `triggers`: (clip, time) pairs; a time that does not exist
    /// at `rate` is left out (validation reports it).
    pub fn new(triggers: impl IntoIterator<Item = (ClipId, Timecode)>, rate: FrameRate) -> Self {
        let cues = triggers
            .into_iter()
            .filter_map(|(clip, at)| {
                let at = at.check(rate).ok()?;
                Some(Cue {
                    clip,
                    at,
                    frames: at.to_frames(rate) as f64,
                    state: State::Unknown,
                })
            })
            .collect();
        TimecodeCues { cues, last: None }
    }

    /// Whether there are any.
    pub fn is_empty(&self) -> bool {
        self.cues.is_empty()
    }

    /// Evaluates every cue at render frame `now` against the timebase `m`:
    /// those due before `now + horizon` are returned with their sample.
    pub fn poll(&mut self, m: &Mapping, now: u64, horizon: u64) -> Vec<CueFired> {
        let mut fired = Vec::new();
        if !matches!(m.source, Source::Ltc | Source::Mtc) || m.tc_per_sample <= 0.0 {
            return fired;
        }
        let tc_now = m.tc_at(now);
        let tc_ahead = m.tc_at(now + horizon);
        // Half a frame back is a locate, not jitter.
        let located_back = self.last.is_some_and(|last| tc_now < last - 0.5);
        self.last = Some(tc_now);
        for cue in &mut self.cues {
            let before = tc_now < cue.frames;
            cue.state = match cue.state {
                State::Unknown | State::Passed | State::Fired
                    if before && (cue.state == State::Unknown || located_back) =>
                {
                    State::Armed
                }
                State::Unknown => State::Passed,
                State::Fired if !before => State::Passed,
                state => state,
            };
            if cue.state != State::Armed {
                continue;
            }
            if !before {
                cue.state = State::Passed;
                fired.push(CueFired::Skipped {
                    clip: cue.clip.clone(),
                    at: cue.at,
                });
            } else if cue.frames <= tc_ahead {
                if let Some(sample) = m.sample_at_tc(cue.frames) {
                    cue.state = State::Fired;
                    fired.push(CueFired::Due {
                        clip: cue.clip.clone(),
                        at: cue.at,
                        sample: sample.round().max(0.0) as u64,
                    });
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue_at(at: &str) -> TimecodeCues {
        TimecodeCues::new(
            [("c1".parse().unwrap(), at.parse().unwrap())],
            FrameRate::Fps25,
        )
    }

    fn mapping(source: Source, tc_at_0: f64) -> Mapping {
        Mapping {
            sample: 0,
            tc_frames: tc_at_0,
            tc_per_sample: 25.0 / 48_000.0,
            ptp_ns: 0,
            ns_per_sample: 1e9 / 48_000.0,
            source,
            generation: 1,
        }
    }

    #[test]
    fn a_cue_fires_once_at_the_exact_sample_and_again_after_a_locate_back() {
        let mut cues = cue_at("10:00:02:00");
        // 10:00:00:00 at sample 0.
        let m = mapping(Source::Ltc, 900_000.0);
        let horizon = 9_600;
        let mut fired = Vec::new();
        for now in (0..200_000).step_by(256) {
            fired.extend(cues.poll(&m, now, horizon));
        }
        // Two seconds in: sample 96000, exactly.
        assert_eq!(
            fired,
            [CueFired::Due {
                clip: "c1".parse().unwrap(),
                at: "10:00:02:00".parse().unwrap(),
                sample: 96_000
            }]
        );
        // Located back to 10:00:01:00: it fires again.
        let back = Mapping {
            sample: 200_000,
            tc_frames: 900_025.0,
            ..m
        };
        let fired: Vec<_> = (200_000..300_000)
            .step_by(256)
            .flat_map(|now| cues.poll(&back, now, horizon))
            .collect();
        assert!(
            matches!(fired.as_slice(), [CueFired::Due { sample, .. }] if *sample == 248_000),
            "{fired:?}"
        );
    }

    #[test]
    fn a_jump_over_a_cue_skips_it_and_other_sources_hold_it() {
        let mut cues = cue_at("10:00:02:00");
        let before = mapping(Source::Mtc, 900_000.0);
        assert!(cues.poll(&before, 0, 9_600).is_empty());
        let after = mapping(Source::Mtc, 900_500.0);
        let fired = cues.poll(&after, 256, 9_600);
        assert!(
            matches!(fired.as_slice(), [CueFired::Skipped { .. }]),
            "{fired:?}"
        );
        // The system clock never fires a timecode cue.
        let mut cues = cue_at("10:00:02:00");
        let system = mapping(Source::System, 900_000.0);
        let fired: Vec<_> = (0..200_000)
            .step_by(256)
            .flat_map(|now| cues.poll(&system, now, 9_600))
            .collect();
        assert!(fired.is_empty());
    }
}
