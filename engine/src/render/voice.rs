//! One voice: a reader, its mixing gains and its envelope, playing into a
//! bus of its side of the firewall.

use std::marker::PhantomData;

use crate::dsp::gain::{db_to_gain, mono_voice, stereo_voice};
use crate::show::Channels;

use super::bus::{BusBuffer, BusKind};
use super::command::{FadeSpec, Pan, VoiceParams};
use super::envelope::{Cursor, Edge, Fade, FadeStep, Morph, Ramps, Trim};
use super::event::{Event, EventSink, StopCause};
use super::reader::BoxedReader;
use super::seam::Seam;
use super::time::{ClipTag, SamplePos, VoiceId};
use super::trash::Trash;
use super::varispeed::{Speed, Varispeed};

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

/// The buffers a voice renders with, owned by its table: the slot's own
/// seam capture, and scratch shared by the voices of one side.
pub(crate) struct Buffers<'a> {
    /// Where the audio lands before mixing (stereo, a block at least).
    pub(crate) scratch: &'a mut [f32],
    /// Per-frame gains while the voice ramps (a block at least).
    pub(crate) gains: &'a mut [f32],
    /// The loop seam's capture ([`Seam::buffer_len`] of the loop ramp).
    pub(crate) seam: &'a mut [f32],
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
    /// Resampling, for a voice started with a speed; its sequence ramps
    /// are then applied there and `cursor` is open.
    varispeed: Option<Varispeed>,
    /// The loop seam's crossfade, when the sequence has the audio for it
    /// (its loop ramps are then none).
    seam: Option<Seam>,
    /// Level and pan: `[l, r, -, -]` mono, or the stereo matrix.
    gains: [f32; 4],
    /// The pan alone (at 0 dB), which a fade to a level scales.
    pan: [f32; 4],
    /// A fade to a level: under way, `gains` is `pan` and the ramp scales
    /// each frame; at rest, its factor is in `gains`.
    trim: Trim,
    /// A change of pan under way (from the pan it had).
    morph: Morph,
    fade_out: FadeSpec,
    edge: Edge,
    fade: Fade,
    cursor: Cursor,
    /// Why the edge is falling.
    cause: StopCause,
    /// Playing, or on its way to (or at) a pause.
    hold: Hold,
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
        let ramps = Ramps {
            edit: params.edit_ramp.map_or(ramps.edit, |f| f.0),
            looped: params.loop_ramp.map_or(ramps.looped, |f| f.0),
            ..ramps
        };
        let gains = voice_gains(params.level_db, params.pan);
        let timeline = reader.timeline();
        let seam = Seam::new(&timeline, ramps.looped, usize::from(channels.count()));
        let ramps = match (&seam, params.loop_ramp) {
            (Some(_), _) => Ramps { looped: 0, ..ramps },
            // A loop with no audio before its start (a whole file) wraps
            // onto its own end: a seamless file needs nothing at the seam,
            // and only a clip's own loop protection asks for the dip.
            (None, None) => Ramps { looped: 0, ..ramps },
            (None, Some(_)) => ramps,
        };
        let varispeed = params
            .speed
            .map(|speed| Varispeed::new(&timeline, usize::from(channels.count()), speed, ramps));
        let cursor = match varispeed {
            Some(_) => Cursor::open(),
            None => Cursor::new(&timeline, ramps),
        };
        Voice {
            id,
            clip,
            group,
            channels,
            order,
            reader: Some(reader),
            varispeed,
            seam,
            gains,
            pan: voice_gains(0.0, params.pan),
            trim: Trim::at(db_to_gain(params.level_db) as f32),
            morph: Morph::NONE,
            fade_out: params.fade_out,
            edge: Edge::Rising { pos: 0 },
            fade,
            cursor,
            cause: StopCause::Stopped,
            hold: Hold::Playing,
            underrun: false,
            _side: PhantomData,
        }
    }

    /// Ends the voice after `render` reported it done at `at`: hands its
    /// reader to the trash (to be dropped off the render thread) and returns
    /// the `Stopped` event to report.
    pub(crate) fn conclude(&mut self, trash: &mut Trash, cause: StopCause, at: SamplePos) -> Event {
        if let Some(reader) = self.reader.take() {
            trash.put(reader);
        }
        Event::Stopped {
            voice: self.id,
            clip: self.clip,
            at,
            cause,
        }
    }

    /// Leaving: stopping, or crossfading out. Such voices no longer count
    /// against a choke limit.
    pub(crate) fn is_leaving(&self) -> bool {
        match self.hold {
            Hold::Playing => self.edge.is_falling() || self.fade.is_cross_out(),
            Hold::Pausing | Hold::Paused => self.fade.is_cross_out(),
            Hold::Ending => true,
        }
    }

    /// Starts the 1 ms edge fade to silence (no-op if already stopping). A
    /// pausing voice's fall becomes the stop's; a paused one ends at once.
    pub(crate) fn stop(&mut self, cause: StopCause, ramps: Ramps) {
        match self.hold {
            Hold::Playing if !self.edge.is_falling() => {
                self.cause = cause;
                self.edge.fall(ramps.edge);
            }
            Hold::Playing | Hold::Ending => {}
            Hold::Pausing => {
                self.cause = cause;
                self.hold = Hold::Playing;
            }
            Hold::Paused => {
                self.cause = cause;
                self.hold = Hold::Ending;
            }
        }
    }

    /// Fades out with `spec`, or the voice's own fade out. A paused (or
    /// pausing) voice is silent already: it stops.
    pub(crate) fn fade_out(&mut self, spec: Option<FadeSpec>, ramps: Ramps) {
        let spec = spec.unwrap_or(self.fade_out);
        match spec.frames.0 {
            n if n > 0 && self.hold == Hold::Playing => self.fade.fade_out(spec.shape, n),
            _ => self.stop(StopCause::Stopped, ramps),
        }
    }

    /// Starts the 1 ms edge fade to a pause (no-op unless playing).
    pub(crate) fn pause(&mut self, ramps: Ramps) {
        if self.hold == Hold::Playing && !self.edge.is_falling() {
            self.hold = Hold::Pausing;
            self.edge.fall(ramps.edge);
        }
    }

    /// Resumes a paused or pausing voice over the 1 ms edge; true if it was
    /// paused (a pausing voice just rises again, reporting nothing: it never
    /// fell silent).
    pub(crate) fn resume(&mut self, ramps: Ramps) -> bool {
        let was = self.hold;
        if matches!(was, Hold::Pausing | Hold::Paused) {
            self.hold = Hold::Playing;
            self.edge.rise(ramps.edge);
        }
        was == Hold::Paused
    }

    /// Changes the speed of a varispeed voice; false (and nothing changes)
    /// for a voice started without one.
    pub(crate) fn set_speed(&mut self, speed: Speed) -> bool {
        match &mut self.varispeed {
            Some(v) => {
                v.set_speed(speed);
                true
            }
            None => false,
        }
    }

    /// Fades to `level_db` (in place of the level it started with) over
    /// `len` frames, linear in gain, from the gain it has reached.
    pub(crate) fn level_to(&mut self, level_db: f64, len: u64) {
        self.trim.set(db_to_gain(level_db) as f32, len);
        self.gains = self.pan;
    }

    /// Moves the voice to `pan` (for its channel layout; false when it is
    /// for the other one) over `len` frames, from where it is: level and
    /// fades stay.
    pub(crate) fn pan_to(&mut self, pan: Pan, len: u64) -> bool {
        if pan.channels() != self.channels {
            return false;
        }
        let from = self.morph.now(&self.pan);
        self.pan = voice_gains(0.0, pan);
        self.morph = Morph::new(from, len);
        let k = self.trim_at_rest();
        self.gains = self.pan.map(|g| g * k);
        true
    }

    /// The fade to a level's factor when it is folded into the gains (at
    /// rest), else 1 (under way it scales each frame).
    fn trim_at_rest(&self) -> f32 {
        match self.trim.steady_for() {
            0 => 1.0,
            _ => self.trim.target(),
        }
    }

    /// Folds a finished fade to a level into the gains.
    fn trim_done(&mut self) {
        let t = self.trim.target();
        self.gains = self.pan.map(|g| g * t);
    }

    /// Starts the outgoing side of a crossfade.
    pub(crate) fn cross_out(&mut self, curve: crate::show::Curve, frames: u64, ramps: Ramps) {
        match frames {
            0 => self.stop(StopCause::Stopped, ramps),
            n => self.fade.cross_out(curve, n),
        }
    }

    /// Renders block frames `from..from + n` into `bus` with `buf`. Returns why and at which block offset (the first silent frame)
    /// the voice ended, if it did.
    pub(crate) fn render(
        &mut self,
        ctx: &mut Ctx<'_>,
        from: usize,
        n: usize,
        buf: Buffers<'_>,
        bus: &mut BusBuffer<B>,
    ) -> Option<(StopCause, usize)> {
        let Some(reader) = self.reader.as_mut() else {
            return Some((self.cause, from));
        };
        let edge_len = ctx.ramps.edge;
        let mut want = (n as u64).min(self.cursor.remaining());
        match self.hold {
            Hold::Playing => {}
            // Read no further than the pause: the voice resumes exactly there.
            Hold::Pausing => want = want.min(self.edge.run(edge_len)),
            Hold::Paused => return None,
            Hold::Ending => return Some((self.cause, from)),
        }
        let want = want as usize;
        let ch = usize::from(self.channels.count());
        let Buffers {
            scratch,
            gains,
            seam,
        } = buf;
        let (got, ended) = match &mut self.varispeed {
            Some(v) => v.read(
                reader.as_mut(),
                &mut scratch[..want * ch],
                (&mut self.seam, seam),
            ),
            None => {
                let got = reader.read(&mut scratch[..want * ch]).min(want);
                if let Some(s) = &mut self.seam {
                    s.apply(&mut scratch[..got * ch], seam);
                }
                (got, false)
            }
        };
        if got < want && !ended {
            if !self.underrun {
                self.underrun = true;
                let at = ctx.block_start.offset(from + got);
                ctx.report::<B>(Event::Underrun { voice: self.id, at });
            }
        } else {
            self.underrun = false;
        }
        let (l, r) = bus.span_mut(from, n);
        let mut i = 0;
        while i < got {
            let left = (got - i) as u64;
            let steady = self
                .edge
                .steady_for()
                .min(self.fade.steady_for())
                .min(self.trim.steady_for())
                .min(self.morph.steady_for())
                .min(self.cursor.steady_for())
                .min(left) as usize;
            let span = i..i + steady;
            let x = &scratch[i * ch..(i + steady) * ch];
            if steady > 0 {
                // Every factor is at 1: the gain is exactly 1, as the
                // per-frame path would compute it, so the split never shows.
                mix_run(
                    self.channels,
                    &self.gains,
                    x,
                    &mut l[span.clone()],
                    &mut r[span],
                );
                self.cursor.skip(steady as u64);
                i += steady;
                continue;
            }
            // A run in which no factor changes mode, so anything that ends
            // ends on its last frame.
            let run = self
                .edge
                .run(edge_len)
                .min(self.fade.run())
                .min(self.trim.run())
                .min(self.morph.run())
                .min(self.cursor.run())
                .min(left) as usize;
            // Read before the trim moves: a ramp ending in this run is in `g`.
            let rest = self.trim_at_rest();
            let g = &mut gains[..run];
            let faded = self.fade.fill(g);
            let silent = self.edge.apply(g, edge_len);
            let trimmed = self.trim.apply(g);
            let ended = self.cursor.apply(g);
            let span = i..i + run;
            let x = &scratch[i * ch..(i + run) * ch];
            if self.morph.steady_for() == 0 {
                let from = self.morph.from().map(|m| m * rest);
                let (l, r) = (&mut l[span.clone()], &mut r[span]);
                mix_morph(self.channels, [&from, &self.gains], &self.morph, g, x, l, r);
                self.morph.advance(run as u64);
            } else {
                mix_gains(
                    self.channels,
                    &self.gains,
                    g,
                    x,
                    &mut l[span.clone()],
                    &mut r[span],
                );
            }
            if trimmed {
                self.trim_done();
            }
            i += run;
            if let Some(end) = self.finish(ctx, from + i, faded, silent, ended) {
                return Some(end);
            }
            if self.hold == Hold::Paused {
                return None;
            }
        }
        if ended {
            // A varispeed sequence ran out (its final ramp is in the audio).
            return Some((StopCause::Ended, from + got));
        }
        // Missing audio: silence, but fades and edges keep time.
        while i < n {
            let run = self
                .edge
                .run(edge_len)
                .min(self.fade.run())
                .min(self.trim.run())
                .min(self.morph.run())
                .min((n - i) as u64) as usize;
            let steady = [
                self.edge.steady_for(),
                self.fade.steady_for(),
                self.trim.steady_for(),
                self.morph.steady_for(),
            ];
            if steady.iter().all(|s| *s > 0) {
                break; // nothing moves
            }
            let g = &mut gains[..run];
            let faded = self.fade.fill(g);
            let silent = self.edge.apply(g, edge_len);
            if self.trim.apply(g) {
                self.trim_done();
            }
            self.morph.advance(run as u64);
            i += run;
            if let Some(end) = self.finish(ctx, from + i, faded, silent, false) {
                return Some(end);
            }
            if self.hold == Hold::Paused {
                return None;
            }
        }
        None
    }

    /// Reports what a run finished; returns how the voice ended, if it did,
    /// with `end` (the block offset after the run) as its first silent frame.
    fn finish(
        &mut self,
        ctx: &mut Ctx<'_>,
        end: usize,
        faded: FadeStep,
        silent: bool,
        ended: bool,
    ) -> Option<(StopCause, usize)> {
        let at = ctx.block_start.offset(end);
        match faded {
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
                    return Some((StopCause::Faded, end));
                }
            }
        }
        if silent && self.hold == Hold::Pausing {
            self.hold = Hold::Paused;
            ctx.report::<B>(Event::Paused { voice: self.id, at });
            return None;
        }
        if silent {
            return Some((self.cause, end));
        }
        ended.then_some((StopCause::Ended, end))
    }
}

/// A voice's mixing gains at `level_db` with `pan`: `[l, r, -, -]` mono, or
/// the stereo matrix.
fn voice_gains(level_db: f64, pan: Pan) -> [f32; 4] {
    match pan {
        Pan::Mono { pan } => {
            let [l, r] = mono_voice(level_db, pan);
            [l, r, 0.0, 0.0]
        }
        Pan::Stereo { width, balance } => stereo_voice(level_db, width, balance),
    }
}

/// Where a voice is between playing and a pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Playing (or stopping: the edge says).
    Playing,
    /// The edge falls to a pause.
    Pausing,
    /// Silent, holding its place: nothing is read, nothing moves.
    Paused,
    /// Stopped while paused: ends on the next render, at its first frame.
    Ending,
}
/// Adds the frames of `x` into `l`/`r` with coefficients `c` (a voice's
/// gains at gain 1), in a loop the compiler can vectorise.
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

/// Adds the frames of `x` into `l`/`r`, frame `k` scaled by `g[k]`: per
/// frame the same arithmetic as [`mix_run`] with `g[k]·gains`.
#[inline(always)]
/// [`mix_gains`] while the matrix glides from `m[0]` to `m[1]` as `morph`
/// weighs them, frame by frame.
fn mix_morph(
    channels: Channels,
    m: [&[f32; 4]; 2],
    morph: &Morph,
    g: &[f32],
    x: &[f32],
    l: &mut [f32],
    r: &mut [f32],
) {
    let [from, to] = m;
    let at = |i: usize, g: f32| {
        let w = morph.weight(i as u64);
        let k: [f32; 4] = std::array::from_fn(|j| g * (from[j] + (to[j] - from[j]) * w));
        k
    };
    match channels {
        Channels::Mono => {
            for (i, (((g, s), l), r)) in g.iter().zip(x).zip(l).zip(r).enumerate() {
                let c = at(i, *g);
                *l += c[0] * s;
                *r += c[1] * s;
            }
        }
        Channels::Stereo => {
            for (i, (((g, f), l), r)) in g.iter().zip(x.chunks_exact(2)).zip(l).zip(r).enumerate() {
                let c = at(i, *g);
                *l += c[0] * f[0] + c[1] * f[1];
                *r += c[2] * f[0] + c[3] * f[1];
            }
        }
    }
}

fn mix_gains(channels: Channels, m: &[f32; 4], g: &[f32], x: &[f32], l: &mut [f32], r: &mut [f32]) {
    match channels {
        Channels::Mono => {
            for (((g, s), l), r) in g.iter().zip(x).zip(l).zip(r) {
                let c = [g * m[0], g * m[1]];
                *l += c[0] * s;
                *r += c[1] * s;
            }
        }
        Channels::Stereo => {
            for (((g, f), l), r) in g.iter().zip(x.chunks_exact(2)).zip(l).zip(r) {
                let c = [g * m[0], g * m[1], g * m[2], g * m[3]];
                *l += c[0] * f[0] + c[1] * f[1];
                *r += c[2] * f[0] + c[3] * f[1];
            }
        }
    }
}
