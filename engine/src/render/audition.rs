//! The audition bus's one dedicated stereo voice.
//!
//! It plays a mono or a stereo clip. A new audition replaces the one playing:
//! the old voice gets its 1 ms edge fade and the new one starts on the frame
//! after its last (one voice, so they never overlap). Under load the bus can
//! be suspended ([`Renderer::set_audition_suspended`](super::Renderer::set_audition_suspended)),
//! the seam the load governor uses so the audition yields first.

use super::bus::{Audition, AuditionOut, BusGain};
use super::command::AuditionStart;
use super::envelope::{Fade, Ramps};
use super::event::{Event, RefuseReason, StopCause};
use super::seam::Seam;
use super::time::SamplePos;
use super::voice::{Buffers, Ctx, Voice};
use super::Shared;

pub(crate) struct AuditionChannel {
    voice: Option<Voice<Audition>>,
    /// The start waiting for the old voice's edge fade.
    pending: Option<AuditionStart>,
    suspended: bool,
    next_order: u64,
    /// Its own scratch: nothing is shared with groups A–D.
    scratch: Vec<f32>,
    gains: Vec<f32>,
    /// The voice's loop seam capture.
    seam: Vec<f32>,
    pub(crate) gain: BusGain,
}

impl AuditionChannel {
    /// The channel for blocks of `max_block` and loop seams of `seam_frames`.
    pub(crate) fn new(max_block: usize, seam_frames: u64, gain: BusGain) -> Self {
        AuditionChannel {
            voice: None,
            pending: None,
            suspended: false,
            next_order: 0,
            scratch: vec![0.0; 2 * max_block],
            gains: vec![0.0; max_block],
            seam: vec![0.0; Seam::buffer_len(seam_frames)],
            gain,
        }
    }

    pub(crate) fn is_playing(&self) -> bool {
        self.voice.is_some() || self.pending.is_some()
    }

    fn refuse(a: AuditionStart, reason: RefuseReason, at: SamplePos, sh: &mut Shared) {
        sh.events.push_audition(Event::Refused {
            voice: a.voice,
            clip: a.clip,
            at,
            reason,
        });
        sh.trash.put(a.reader);
    }

    pub(crate) fn start(&mut self, a: AuditionStart, at: SamplePos, sh: &mut Shared, r: Ramps) {
        let channels = a.reader.channels();
        if self.suspended {
            return Self::refuse(a, RefuseReason::AuditionSuspended, at, sh);
        }
        if a.params.pan.channels() != channels {
            let reason = RefuseReason::PanningMismatch {
                pan: a.params.pan.channels().count(),
                audio: channels.count(),
            };
            return Self::refuse(a, reason, at, sh);
        }
        if let Some(old) = self.pending.replace(a) {
            Self::refuse(old, RefuseReason::Superseded, at, sh);
        }
        match &mut self.voice {
            Some(v) => v.stop(StopCause::Replaced, r),
            None => self.install(at, sh, r),
        }
    }

    fn install(&mut self, at: SamplePos, sh: &mut Shared, ramps: Ramps) {
        let Some(a) = self.pending.take() else { return };
        let fade = Fade::fade_in(a.params.fade_in.shape, a.params.fade_in.frames.0);
        let order = self.next_order;
        self.next_order += 1;
        self.voice = Some(Voice::new(
            a.voice, a.clip, 0, order, a.reader, &a.params, fade, ramps,
        ));
        sh.events.push_audition(Event::Started {
            voice: a.voice,
            clip: a.clip,
            at,
        });
    }

    /// Stops the audition voice and drops a waiting start.
    pub(crate) fn stop(&mut self, cause: StopCause, at: SamplePos, sh: &mut Shared, r: Ramps) {
        if let Some(v) = &mut self.voice {
            v.stop(cause, r);
        }
        if let Some(p) = self.pending.take() {
            let reason = match cause {
                StopCause::Suspended => RefuseReason::AuditionSuspended,
                _ => RefuseReason::Cancelled,
            };
            Self::refuse(p, reason, at, sh);
        }
    }

    pub(crate) fn set_suspended(&mut self, on: bool, at: SamplePos, sh: &mut Shared, r: Ramps) {
        if on && !self.suspended {
            self.stop(StopCause::Suspended, at, sh, r);
        }
        self.suspended = on;
    }

    /// Renders block frames `from..from + n` into the audition bus.
    pub(crate) fn render(
        &mut self,
        from: usize,
        n: usize,
        block_start: SamplePos,
        out: &mut AuditionOut,
        sh: &mut Shared,
        ramps: Ramps,
    ) {
        let end = from + n;
        let mut at = from;
        while at < end {
            let Some(voice) = &mut self.voice else { break };
            let mut ctx = Ctx {
                ramps,
                block_start,
                events: &mut sh.events,
            };
            let bus = &mut out.bus[0];
            let buf = Buffers {
                scratch: &mut self.scratch,
                gains: &mut self.gains,
                seam: &mut self.seam,
            };
            let Some((cause, stop)) = voice.render(&mut ctx, at, end - at, buf, bus) else {
                break;
            };
            let stopped = voice.conclude(&mut sh.trash, cause, block_start.offset(stop));
            sh.events.push_audition(stopped);
            self.voice = None;
            // The waiting audition starts on the first silent frame.
            self.install(block_start.offset(stop), sh, ramps);
            at = stop;
        }
        self.gain.apply(&mut out.bus[0], from, n);
    }
}
