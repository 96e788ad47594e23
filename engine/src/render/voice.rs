//! One voice: a reader, its mixing gains and its envelope, playing into a
//! bus of its side of the firewall.

use std::marker::PhantomData;

use crate::dsp::gain::{mono_voice, stereo_voice};
use crate::show::Channels;

use super::bus::{BusBuffer, BusKind};
use super::command::{FadeSpec, Pan, VoiceParams};
use super::envelope::{Cursor, Edge, Fade, FadeStep, Ramps};
use super::event::{Event, EventSink, StopCause};
use super::reader::BoxedReader;
use super::time::{ClipTag, SamplePos, VoiceId};

/// What a voice needs from the renderer while it renders.
pub(crate) struct Ctx<'a> {
    pub(crate) ramps: Ramps,
    /// The clock position of frame 0 of the block.
    pub(crate) block_start: SamplePos,
    pub(crate) events: &'a mut EventSink,
}

impl Ctx<'_> {
    fn report<B: BusKind>(&mut self, event: Event) {
        if B::AUDITION {
            self.events.push_audition(event);
        } else {
            self.events.push(event);
        }
    }
}

/// A playing voice on the `B` side of the firewall.
pub(crate) struct Voice<B> {
    pub(crate) id: VoiceId,
    pub(crate) clip: ClipTag,
    /// Index of its group (0 for the audition voice).
    pub(crate) group: usize,
    pub(crate) channels: Channels,
    /// Start order, to find a choke group's oldest voice.
    pub(crate) order: u64,
    /// Always `Some` while the voice is in a table; taken when it ends.
    reader: Option<BoxedReader>,
    /// Level and pan: `[l, r, -, -]` mono, or the stereo matrix.
    gains: [f32; 4],
    fade_out: FadeSpec,
    edge: Edge,
    fade: Fade,
    cursor: Cursor,
    /// Why the edge is falling.
    cause: StopCause,
    underrun: bool,
    _side: PhantomData<fn() -> B>,
}

impl<B: BusKind> Voice<B> {
    #[allow(clippy::too_many_arguments)] // all of them are what a voice is
    pub(crate) fn new(
        id: VoiceId,
        clip: ClipTag,
        group: usize,
        order: u64,
        reader: BoxedReader,
        params: &VoiceParams,
        fade: Fade,
        ramps: Ramps,
    ) -> Self {
        let channels = reader.channels();
        let gains = match params.pan {
            Pan::Mono { pan } => {
                let [l, r] = mono_voice(params.level_db, pan);
                [l, r, 0.0, 0.0]
            }
            Pan::Stereo { width, balance } => stereo_voice(params.level_db, width, balance),
        };
        let cursor = Cursor::new(&reader.timeline(), ramps);
        Voice {
            id,
            clip,
            group,
            channels,
            order,
            reader: Some(reader),
            gains,
            fade_out: params.fade_out,
            edge: Edge::Rising { pos: 0 },
            fade,
            cursor,
            cause: StopCause::Stopped,
            underrun: false,
            _side: PhantomData,
        }
    }

    /// Takes the reader out, to hand it back; the voice is then dead.
    pub(crate) fn take_reader(&mut self) -> Option<BoxedReader> {
        self.reader.take()
    }

    /// Leaving: stopping, or crossfading out. Such voices no longer count
    /// against a choke limit.
    pub(crate) fn is_leaving(&self) -> bool {
        self.edge.is_falling() || self.fade.is_cross_out()
    }

    /// Starts the 1 ms edge fade to silence (no-op if already stopping).
    pub(crate) fn stop(&mut self, cause: StopCause, ramps: Ramps) {
        if !self.edge.is_falling() {
            self.cause = cause;
            self.edge.fall(ramps.edge);
        }
    }

    /// Fades out with `spec`, or the voice's own fade out.
    pub(crate) fn fade_out(&mut self, spec: Option<FadeSpec>, ramps: Ramps) {
        let spec = spec.unwrap_or(self.fade_out);
        match spec.frames.0 {
            0 => self.stop(StopCause::Stopped, ramps),
            n => self.fade.fade_out(spec.shape, n),
        }
    }

    /// Starts the outgoing side of a crossfade.
    pub(crate) fn cross_out(&mut self, curve: crate::show::Curve, frames: u64, ramps: Ramps) {
        match frames {
            0 => self.stop(StopCause::Stopped, ramps),
            n => self.fade.cross_out(curve, n),
        }
    }

    /// Renders block frames `from..from + n` into `bus`. Returns why and at
    /// which block offset (the first silent frame) the voice ended, if it did.
    pub(crate) fn render(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: usize,
        n: usize,
        scratch: &mut [f32],
        bus: &mut BusBuffer<B>,
    ) -> Option<(StopCause, usize)> {
        let Some(reader) = self.reader.as_mut() else {
            return Some((self.cause, from));
        };
        let ch = usize::from(self.channels.count());
        let want = (n as u64).min(self.cursor.remaining()) as usize;
        let got = reader.read(&mut scratch[..want * ch]).min(want);
        if got < want {
            if !self.underrun {
                self.underrun = true;
                let at = ctx.block_start.offset(from + got);
                ctx.report::<B>(Event::Underrun { voice: self.id, at });
            }
        } else {
            self.underrun = false;
        }
        let (l, r) = bus.span_mut(from, n);
        let x = &scratch[..got * ch];
        let edge_len = ctx.ramps.edge;
        let mut i = 0;
        while i < got {
            let left = (got - i) as u64;
            let steady = self
                .edge
                .steady_for()
                .min(self.fade.steady_for())
                .min(self.cursor.steady_for())
                .min(left) as usize;
            if steady > 0 {
                // One gain for the whole run: computed exactly as the
                // per-frame path would, so the split never shows.
                let g = self.edge.gain(edge_len) * self.fade.gain() * self.cursor.gain();
                let c = self.coefficients(g);
                let span = i..i + steady;
                let xs = &x[i * ch..(i + steady) * ch];
                mix_run(self.channels, &c, xs, &mut l[span.clone()], &mut r[span]);
                self.cursor.skip(steady as u64);
                i += steady;
                continue;
            }
            let run = self
                .edge
                .run(edge_len)
                .min(self.fade.run())
                .min(self.cursor.run())
                .min(left) as usize;
            for k in i..i + run {
                let g = self.edge.gain(edge_len) * self.fade.gain() * self.cursor.gain();
                mix(self.channels, &self.coefficients(g), x, k, l, r);
                let ended = self.cursor.step();
                if let Some(end) = self.step_time(ctx, from + k) {
                    return Some(end);
                }
                if ended {
                    return Some((StopCause::Ended, from + k + 1));
                }
            }
            i += run;
        }
        // Missing audio: silence, but fades and edges keep time.
        for k in got..n {
            if let Some(end) = self.step_time(ctx, from + k) {
                return Some(end);
            }
        }
        None
    }

    /// Advances the time-driven factors past block frame `k`.
    #[inline]
    fn step_time(&mut self, ctx: &mut Ctx<'_>, k: usize) -> Option<(StopCause, usize)> {
        let at = ctx.block_start.offset(k + 1);
        let silent = self.edge.step(ctx.ramps.edge);
        match self.fade.step() {
            FadeStep::Going => {}
            FadeStep::Done(fade) => ctx.report::<B>(Event::FadeDone {
                voice: self.id,
                fade,
                at,
            }),
            FadeStep::Silent(fade) => {
                ctx.report::<B>(Event::FadeDone {
                    voice: self.id,
                    fade,
                    at,
                });
                if !silent {
                    return Some((StopCause::Faded, k + 1));
                }
            }
        }
        silent.then_some((self.cause, k + 1))
    }

    #[inline]
    fn coefficients(&self, g: f32) -> [f32; 4] {
        let m = &self.gains;
        [g * m[0], g * m[1], g * m[2], g * m[3]]
    }
}

/// Adds the frames of `x` into `l`/`r` with coefficients `c`: the same
/// arithmetic as [`mix`], in a loop the compiler can vectorise.
#[inline(always)]
fn mix_run(channels: Channels, c: &[f32; 4], x: &[f32], l: &mut [f32], r: &mut [f32]) {
    match channels {
        Channels::Mono => {
            for ((s, l), r) in x.iter().zip(l).zip(r) {
                *l += c[0] * s;
                *r += c[1] * s;
            }
        }
        Channels::Stereo => {
            for ((f, l), r) in x.chunks_exact(2).zip(l).zip(r) {
                *l += c[0] * f[0] + c[1] * f[1];
                *r += c[2] * f[0] + c[3] * f[1];
            }
        }
    }
}

/// Adds frame `k` of `x` into `l`/`r` with coefficients `c`.
#[inline(always)]
fn mix(channels: Channels, c: &[f32; 4], x: &[f32], k: usize, l: &mut [f32], r: &mut [f32]) {
    match channels {
        Channels::Mono => {
            let s = x[k];
            l[k] += c[0] * s;
            r[k] += c[1] * s;
        }
        Channels::Stereo => {
            let (sl, sr) = (x[2 * k], x[2 * k + 1]);
            l[k] += c[0] * sl + c[1] * sr;
            r[k] += c[2] * sl + c[3] * sr;
        }
    }
}
