//! A voice's gain over time, as independent factors multiplied per frame:
//! the edge (1 ms ramps at start and stop), the fade (in, out, crossfade),
//! the trim (a fade to a level, while it ramps) and the protection
//! (edit-point and loop-point ramps, and the edge ramp at the natural end,
//! placed by the position in the playback sequence). Every factor is a function of integer frame counters only, so
//! a voice's gain at a frame is the same whatever the block size.
//!
//! Each factor can say for how many frames it stays constant
//! (`steady_for`, so the voice can mix a run at one gain) and for how many it
//! stays in its current mode (`run`, so the per-frame path needs no checks
//! inside its loop).

use std::f64::consts::PI;

use crate::dsp::fade::{ramp_down, ramp_up, FadeShape, Law, EXP_STEEPNESS};
use crate::show::Curve;

use super::event::FadeKind;
use super::reader::Timeline;

/// The 1 ms edge: rising after a start, falling after a stop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Edge {
    Rising { pos: u64 },
    Steady,
    Falling { pos: u64, from: f32 },
}

impl Edge {
    /// Gain of the next frame.
    #[inline]
    pub(crate) fn gain(&self, len: u64) -> f32 {
        match *self {
            Edge::Rising { pos } => ramp_up(pos, len),
            Edge::Steady => 1.0,
            Edge::Falling { pos, from } => from * ramp_down(len - pos, len),
        }
    }

    /// Gain of the frame just rendered (where a new ramp must start from).
    fn level(&self, len: u64) -> f32 {
        match *self {
            Edge::Rising { pos } => pos as f32 / len as f32,
            Edge::Steady => 1.0,
            Edge::Falling { pos, from } => from * ramp_down(len - pos + 1, len),
        }
    }

    pub(crate) fn steady_for(&self) -> u64 {
        match self {
            Edge::Steady => u64::MAX,
            _ => 0,
        }
    }

    pub(crate) fn run(&self, len: u64) -> u64 {
        match *self {
            Edge::Rising { pos } | Edge::Falling { pos, .. } => len - pos,
            Edge::Steady => u64::MAX,
        }
    }

    /// Moves one frame on; true when a falling edge has just rendered its
    /// silent last frame.
    #[inline]
    pub(crate) fn step(&mut self, len: u64) -> bool {
        match self {
            Edge::Rising { pos } => {
                *pos += 1;
                if *pos >= len {
                    *self = Edge::Steady;
                }
                false
            }
            Edge::Steady => false,
            Edge::Falling { pos, .. } => {
                *pos += 1;
                *pos >= len
            }
        }
    }

    /// Multiplies the next `g.len()` frames (at most [`run`](Self::run)) of
    /// `g` by the edge and moves past them; true when a falling edge has
    /// rendered its silent last frame.
    #[inline]
    pub(crate) fn apply(&mut self, g: &mut [f32], len: u64) -> bool {
        if *self == Edge::Steady {
            return false; // 1·x = x: nothing to do
        }
        for x in g.iter_mut() {
            *x *= self.gain(len);
            if self.step(len) {
                return true;
            }
        }
        false
    }

    /// Starts the fall (no-op when already falling: a stop never restarts).
    pub(crate) fn fall(&mut self, len: u64) {
        if !self.is_falling() {
            *self = Edge::Falling {
                pos: 0,
                from: self.level(len),
            };
        }
    }

    pub(crate) fn is_falling(&self) -> bool {
        matches!(self, Edge::Falling { .. })
    }

    /// Rises again from where a fall has got to (a resume after, or during,
    /// a pause): the gain never jumps.
    pub(crate) fn rise(&mut self, len: u64) {
        if self.is_falling() {
            let pos = (self.level(len) * len as f32) as u64;
            *self = Edge::Rising {
                pos: pos.min(len - 1),
            };
        }
    }
}

/// A fade to a level under way: a factor on the voice's gains, linear in
/// gain from the factor reached to the new one over `len` frames. At rest
/// the factor is folded into the voice's gains, so a steady voice mixes as
/// fast as ever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Trim {
    from: f32,
    to: f32,
    pos: u64,
    len: u64,
}

impl Trim {
    /// At rest at `factor`.
    pub(crate) fn at(factor: f32) -> Self {
        Trim {
            from: factor,
            to: factor,
            pos: 0,
            len: 0,
        }
    }

    /// The factor at rest (where a ramp under way goes).
    pub(crate) fn target(&self) -> f32 {
        self.to
    }

    /// Factor of the next frame.
    #[inline]
    fn gain(&self) -> f32 {
        self.from + (self.to - self.from) * ramp_up(self.pos, self.len)
    }

    /// Ramps to `factor` over `len` frames (at least 1) from the factor of
    /// the last frame rendered.
    pub(crate) fn set(&mut self, factor: f32, len: u64) {
        let now = match self.pos {
            p if p >= self.len => self.to,
            0 => self.from,
            p => self.from + (self.to - self.from) * ramp_up(p - 1, self.len),
        };
        *self = Trim {
            from: now,
            to: factor,
            pos: 0,
            len: len.max(1),
        };
    }

    pub(crate) fn steady_for(&self) -> u64 {
        ramp_steady_for(self.pos, self.len)
    }

    pub(crate) fn run(&self) -> u64 {
        ramp_run(self.pos, self.len)
    }

    /// Multiplies the next `g.len()` frames (at most [`run`](Self::run)) of
    /// `g` by a ramp under way and moves past them; true when the ramp has
    /// just ended (its factor is then to be folded into the gains).
    #[inline]
    pub(crate) fn apply(&mut self, g: &mut [f32]) -> bool {
        if self.pos >= self.len {
            return false;
        }
        for x in g.iter_mut() {
            *x *= self.gain();
            self.pos += 1;
        }
        self.pos >= self.len
    }
}

/// Frames with no change ahead of a ramp at `pos` of `len`: none while it
/// runs, all once it is done.
fn ramp_steady_for(pos: u64, len: u64) -> u64 {
    if pos < len {
        0
    } else {
        u64::MAX
    }
}

/// Frames left of a ramp at `pos` of `len` (all, once it is done).
fn ramp_run(pos: u64, len: u64) -> u64 {
    if pos < len {
        len - pos
    } else {
        u64::MAX
    }
}

/// A change of a voice's pan, width or balance under way: its mixing
/// matrix glides from `from` to the voice's own, linear per frame, so the
/// image moves instead of jumping (a jump clicks).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Morph {
    from: [f32; 4],
    pos: u64,
    len: u64,
}

impl Morph {
    /// No change under way.
    pub(crate) const NONE: Morph = Morph {
        from: [0.0; 4],
        pos: 0,
        len: 0,
    };

    /// A glide from `from` over `len` frames (at least 1).
    pub(crate) fn new(from: [f32; 4], len: u64) -> Self {
        Morph {
            from,
            pos: 0,
            len: len.max(1),
        }
    }

    /// The matrix of the next frame of a glide to `to` (`to` at rest).
    pub(crate) fn now(&self, to: &[f32; 4]) -> [f32; 4] {
        if self.pos >= self.len {
            return *to;
        }
        // The frame last rendered, as `Trim::set` picks it.
        let w = match self.pos {
            0 => 0.0,
            p => ramp_up(p - 1, self.len),
        };
        std::array::from_fn(|i| self.from[i] + (to[i] - self.from[i]) * w)
    }

    /// Where the glide starts.
    pub(crate) fn from(&self) -> [f32; 4] {
        self.from
    }

    /// The weight of the voice's own matrix `i` frames on.
    #[inline]
    pub(crate) fn weight(&self, i: u64) -> f32 {
        ramp_up(self.pos + i, self.len)
    }

    pub(crate) fn steady_for(&self) -> u64 {
        ramp_steady_for(self.pos, self.len)
    }

    pub(crate) fn run(&self) -> u64 {
        ramp_run(self.pos, self.len)
    }

    /// Moves past `n` frames.
    pub(crate) fn advance(&mut self, n: u64) {
        self.pos = (self.pos + n).min(self.len);
    }
}

/// Frames between exact re-evaluations of a fade curve: in between, the
/// curve advances by a per-frame recurrence (a multiply or a rotation instead
/// of an `exp` or a `cos`), whose drift over this many frames stays far below
/// 1e-9. Anchored to the fade's own frame count, so it is block-size blind.
const ANCHOR: u64 = 4096;

/// A curve's position, frame by frame: `p = shape(curve, y)` with `y`
/// moving by `±1/len` per frame.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Walk {
    curve: Curve,
    /// `y` falls instead of rising (a fade out runs its curve backwards).
    reverse: bool,
    len: u64,
    /// Curve state at the current frame: `y` (linear), `e^{ky}`
    /// (exponential), `e^{k(1−y)}` (logarithmic), `cos πy` (S-curve).
    a: f64,
    /// `sin πy` (S-curve).
    b: f64,
    /// Per-frame step: the multiplier, or the rotation's cosine.
    step: f64,
    /// The rotation's sine (S-curve).
    step_sin: f64,
    /// `1/(e^k − 1)`, so the exponential curves need no division per frame.
    inv_span: f64,
}

impl Walk {
    fn new(curve: Curve, reverse: bool, len: u64) -> Self {
        let d = if reverse { -1.0 } else { 1.0 } / len as f64;
        let (step, step_sin) = match curve {
            Curve::Linear => (0.0, 0.0),
            Curve::Exponential => ((EXP_STEEPNESS * d).exp(), 0.0),
            Curve::Logarithmic => ((-EXP_STEEPNESS * d).exp(), 0.0),
            Curve::SCurve => ((PI * d).cos(), (PI * d).sin()),
        };
        let mut w = Walk {
            curve,
            reverse,
            len,
            a: 0.0,
            b: 0.0,
            step,
            step_sin,
            inv_span: 1.0 / EXP_STEEPNESS.exp_m1(),
        };
        w.anchor(0);
        w
    }

    /// `y` at frame `pos` of the fade.
    fn y(&self, pos: u64) -> f64 {
        let j = if self.reverse {
            self.len - 1 - pos
        } else {
            pos + 1
        };
        j as f64 / self.len as f64
    }

    /// Sets the state exactly for frame `pos`.
    fn anchor(&mut self, pos: u64) {
        let y = self.y(pos);
        match self.curve {
            Curve::Linear => self.a = y,
            Curve::Exponential => self.a = (EXP_STEEPNESS * y).exp(),
            Curve::Logarithmic => self.a = (EXP_STEEPNESS * (1.0 - y)).exp(),
            Curve::SCurve => (self.a, self.b) = ((PI * y).cos(), (PI * y).sin()),
        }
    }

    /// The position at the current frame.
    #[inline]
    fn position(&self) -> f64 {
        match self.curve {
            Curve::Linear => self.a,
            Curve::Exponential => (self.a - 1.0) * self.inv_span,
            Curve::Logarithmic => 1.0 - (self.a - 1.0) * self.inv_span,
            Curve::SCurve => 0.5 - 0.5 * self.a,
        }
    }

    /// Moves on to frame `pos`.
    #[inline]
    fn advance(&mut self, pos: u64) {
        if pos.is_multiple_of(ANCHOR) || self.curve == Curve::Linear {
            return self.anchor(pos.min(self.len - 1));
        }
        match self.curve {
            Curve::Exponential | Curve::Logarithmic => self.a *= self.step,
            _ => {
                let (c, s) = (self.a, self.b);
                self.a = c * self.step - s * self.step_sin;
                self.b = s * self.step + c * self.step_sin;
            }
        }
    }
}

/// A fade under way: its curve walk, its law and where it started from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ramp {
    kind: FadeKind,
    len: u64,
    pos: u64,
    walk: Walk,
    /// Gain is the square root of the position (equal power).
    power: bool,
    /// Position is `1 − p` (the outgoing side of a crossfade).
    complement: bool,
    /// Level the fade scales (where a fade out began).
    from: f64,
    /// Gain of the frame just rendered.
    last: f64,
}

/// The fade under way, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fade {
    Flat,
    Ramp(Ramp),
}

/// What a fade finished, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FadeStep {
    Going,
    /// A fade in finished; the voice plays on.
    Done(FadeKind),
    /// A fade out finished; the voice is silent.
    Silent(FadeKind),
}

impl Fade {
    fn ramp(kind: FadeKind, curve: Curve, power: bool, len: u64, from: f64) -> Fade {
        if len == 0 {
            return Fade::Flat;
        }
        let (reverse, complement, last) = match kind {
            FadeKind::In | FadeKind::CrossIn => (false, false, 0.0),
            FadeKind::Out => (true, false, from),
            FadeKind::CrossOut => (false, true, from),
        };
        Fade::Ramp(Ramp {
            kind,
            len,
            pos: 0,
            walk: Walk::new(curve, reverse, len),
            power,
            complement,
            from,
            last,
        })
    }

    /// A fade in of `len` frames (none for 0).
    pub(crate) fn fade_in(shape: FadeShape, len: u64) -> Fade {
        Fade::ramp(
            FadeKind::In,
            shape.curve,
            shape.law == Law::EqualPower,
            len,
            1.0,
        )
    }

    /// The incoming side of a crossfade of `len` frames (none for 0).
    pub(crate) fn cross_in(curve: Curve, len: u64) -> Fade {
        Fade::ramp(FadeKind::CrossIn, curve, true, len, 1.0)
    }

    /// Gain of the frame just rendered, where a fade out must start from.
    fn level(&self) -> f64 {
        match self {
            Fade::Flat => 1.0,
            Fade::Ramp(r) => r.last,
        }
    }

    pub(crate) fn steady_for(&self) -> u64 {
        match self {
            Fade::Flat => u64::MAX,
            Fade::Ramp(_) => 0,
        }
    }

    pub(crate) fn run(&self) -> u64 {
        match self {
            Fade::Flat => u64::MAX,
            Fade::Ramp(r) => r.len - r.pos,
        }
    }

    /// Writes the gains of the next `g.len()` frames (at most
    /// [`run`](Self::run)) into `g` and moves past them; says what finished
    /// on the last of them.
    #[inline]
    pub(crate) fn fill(&mut self, g: &mut [f32]) -> FadeStep {
        let Fade::Ramp(r) = self else {
            g.fill(1.0);
            return FadeStep::Going;
        };
        for out in g.iter_mut() {
            // The last frame sits exactly on the curve's end (1, or 0 when
            // running backwards), so a fade out ends exactly silent.
            let mut p = match (r.pos + 1 == r.len, r.walk.reverse) {
                (true, true) => 0.0,
                (true, false) => 1.0,
                (false, _) => r.walk.position(),
            };
            if r.complement {
                p = 1.0 - p;
            }
            // Rounding may leave p a hair outside 0..=1 near the ends.
            let p = p.clamp(0.0, 1.0);
            let gain = r.from * if r.power { p.sqrt() } else { p };
            *out = gain as f32;
            r.last = gain;
            r.pos += 1;
            r.walk.advance(r.pos);
        }
        if r.pos < r.len {
            return FadeStep::Going;
        }
        match r.kind {
            kind @ (FadeKind::In | FadeKind::CrossIn) => {
                *self = Fade::Flat;
                FadeStep::Done(kind)
            }
            kind => FadeStep::Silent(kind),
        }
    }

    /// Frames until a fade out under way is silent.
    fn frames_left(&self) -> u64 {
        match self {
            Fade::Ramp(r) if matches!(r.kind, FadeKind::Out | FadeKind::CrossOut) => r.len - r.pos,
            _ => u64::MAX,
        }
    }

    /// Starts a fade out of `len` frames (at least 1) from the current level,
    /// unless a fade out under way ends sooner.
    pub(crate) fn fade_out(&mut self, shape: FadeShape, len: u64) {
        if len < self.frames_left() {
            let power = shape.law == Law::EqualPower;
            *self = Fade::ramp(FadeKind::Out, shape.curve, power, len, self.level());
        }
    }

    /// Starts the outgoing side of a crossfade of `len` frames (at least 1).
    pub(crate) fn cross_out(&mut self, curve: Curve, len: u64) {
        if len < self.frames_left() {
            *self = Fade::ramp(FadeKind::CrossOut, curve, true, len, self.level());
        }
    }

    pub(crate) fn is_cross_out(&self) -> bool {
        matches!(self, Fade::Ramp(r) if r.kind == FadeKind::CrossOut)
    }
}

/// Lengths of the protection ramps, in frames (each at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ramps {
    pub(crate) edge: u64,
    pub(crate) edit: u64,
    pub(crate) looped: u64,
}

/// Where a voice is in its playback sequence, and the protection ramps that
/// position implies: a segment runs from the cue start (or the loop start)
/// to the loop end (or the cue end); ramps sit at its ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Cursor {
    /// Frames of the current segment already played.
    pos: u64,
    /// Frames of the current segment.
    len: u64,
    /// Ramp up at the segment's start (0: none).
    ramp_in: u64,
    /// Ramp down at the segment's end (0: none).
    ramp_out: u64,
    /// The edge ramp at the segment's end: the sequence ends there.
    final_edge: u64,
    /// Frames of one loop pass (0: no loop).
    loop_len: u64,
    loop_ramp: u64,
}

impl Cursor {
    pub(crate) fn new(t: &Timeline, r: Ramps) -> Self {
        let loop_len = t.loop_len().unwrap_or(0);
        let ends = loop_len == 0;
        Cursor {
            pos: 0,
            len: t.first_segment(),
            ramp_in: if t.cuts_in() { r.edit } else { 0 },
            ramp_out: match (ends, t.cuts_out()) {
                (false, _) => r.looped,
                (true, true) => r.edit,
                (true, false) => 0,
            },
            final_edge: if ends { r.edge } else { 0 },
            loop_len,
            loop_ramp: r.looped,
        }
    }

    /// A cursor with no ramps that never ends: for a voice whose sequence
    /// ramps are applied before resampling (varispeed).
    pub(crate) fn open() -> Self {
        Cursor {
            pos: 0,
            len: u64::MAX,
            ramp_in: 0,
            ramp_out: 0,
            final_edge: 0,
            loop_len: 0,
            loop_ramp: 0,
        }
    }

    /// Gain of the next frame.
    #[inline]
    pub(crate) fn gain(&self) -> f32 {
        let left = self.len - self.pos;
        let mut g = 1.0;
        if self.pos < self.ramp_in {
            g *= ramp_up(self.pos, self.ramp_in);
        }
        if left <= self.ramp_out {
            g *= ramp_down(left, self.ramp_out);
        }
        if left <= self.final_edge {
            g *= ramp_down(left, self.final_edge);
        }
        g
    }

    pub(crate) fn steady_for(&self) -> u64 {
        if self.pos < self.ramp_in {
            return 0;
        }
        // The segment's last frame is never in a steady run, even with no
        // ramp there (a loop with a seam crossfade): stepping past it wraps.
        let zone = self.ramp_out.max(self.final_edge).max(1);
        (self.len - self.pos).saturating_sub(zone)
    }

    pub(crate) fn run(&self) -> u64 {
        let left = self.len - self.pos;
        if self.pos < self.ramp_in {
            (self.ramp_in - self.pos).min(left)
        } else {
            left
        }
    }

    /// Frames left in the sequence; `u64::MAX` when it loops forever.
    pub(crate) fn remaining(&self) -> u64 {
        if self.loop_len > 0 {
            u64::MAX
        } else {
            self.len - self.pos
        }
    }

    /// Multiplies the next `g.len()` frames (at most [`run`](Self::run)) of
    /// `g` by the protection ramps and moves past them; true when the
    /// sequence has ended on the last of them.
    #[inline]
    pub(crate) fn apply(&mut self, g: &mut [f32]) -> bool {
        if self.steady_for() >= g.len() as u64 {
            self.skip(g.len() as u64);
            return false; // x·1 = x
        }
        let mut ended = false;
        for x in g.iter_mut() {
            *x *= self.gain();
            ended = self.step();
        }
        ended
    }

    /// Moves `n` frames on within a steady run (no segment end inside).
    pub(crate) fn skip(&mut self, n: u64) {
        debug_assert!(
            self.pos + n < self.len,
            "a steady run never reaches a segment's end"
        );
        self.pos += n;
    }

    /// Moves one frame on; true when the sequence has ended.
    #[inline]
    pub(crate) fn step(&mut self) -> bool {
        self.pos += 1;
        if self.pos < self.len {
            return false;
        }
        if self.loop_len == 0 {
            return true;
        }
        self.pos = 0;
        self.len = self.loop_len;
        self.ramp_in = self.loop_ramp;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::Frames;

    #[test]
    fn a_stop_during_the_rising_edge_falls_from_where_it_was() {
        let mut e = Edge::Rising { pos: 0 };
        let mut g = Vec::new();
        for _ in 0..2 {
            g.push(e.gain(4));
            assert!(!e.step(4));
        }
        e.fall(4);
        loop {
            g.push(e.gain(4));
            if e.step(4) {
                break;
            }
        }
        assert_eq!(g, [0.25, 0.5, 0.375, 0.25, 0.125, 0.0]);
    }

    fn fill(f: &mut Fade, n: usize) -> (Vec<f32>, FadeStep) {
        let mut g = vec![0.0; n];
        let step = f.fill(&mut g);
        (g, step)
    }

    #[test]
    fn a_fade_out_never_lengthens_one_under_way() {
        let s = FadeShape::new(Curve::Linear, false);
        let mut f = Fade::Flat;
        f.fade_out(s, 10);
        fill(&mut f, 1);
        f.fade_out(s, 20);
        assert_eq!(f.run(), 9);
        f.fade_out(s, 4);
        assert_eq!(f.run(), 4);
        let (g, step) = fill(&mut f, 4);
        assert!((g[0] - 0.9 * 0.75).abs() < 1e-7);
        assert_eq!(g[3], 0.0);
        assert_eq!(step, FadeStep::Silent(FadeKind::Out));
    }

    #[test]
    fn the_fast_curve_walk_matches_the_formulas_over_long_fades() {
        use crate::dsp::fade::{crossfade_in, crossfade_out};
        let len = 100_003; // crosses many anchors, not a multiple of one
        for curve in [
            Curve::Linear,
            Curve::Exponential,
            Curve::Logarithmic,
            Curve::SCurve,
        ] {
            for power in [false, true] {
                let shape = FadeShape::new(curve, power);
                let x = |i: usize| (i + 1) as f64 / len as f64;
                let check = |g: &[f32], want: &dyn Fn(usize) -> f64, what: &str| {
                    for (i, v) in g.iter().enumerate() {
                        let e = want(i);
                        assert!(
                            (f64::from(*v) - e).abs() < 2e-7,
                            "{what} {curve:?} {power}: {i}: {v} vs {e}"
                        );
                    }
                };
                let mut f = Fade::fade_in(shape, len as u64);
                let (g, step) = fill(&mut f, len);
                check(&g, &|i| shape.fade_in(x(i)), "in");
                assert_eq!((step, f), (FadeStep::Done(FadeKind::In), Fade::Flat));
                f.fade_out(shape, len as u64);
                let (g, step) = fill(&mut f, len);
                check(&g, &|i| shape.fade_out(x(i)), "out");
                assert_eq!(step, FadeStep::Silent(FadeKind::Out));
                let mut f = Fade::cross_in(curve, len as u64);
                let (g, _) = fill(&mut f, len);
                check(&g, &|i| crossfade_in(curve, x(i)), "cross in");
                let mut f = Fade::Flat;
                f.cross_out(curve, len as u64);
                let (g, _) = fill(&mut f, len);
                check(&g, &|i| crossfade_out(curve, x(i)), "cross out");
            }
        }
    }

    #[test]
    fn protection_ramps_sit_at_cue_and_loop_points() {
        let t = Timeline::new(
            Frames(100),
            Frames(10),
            Some(Frames(90)),
            Some((Frames(20), Frames(30))),
        )
        .unwrap();
        let r = Ramps {
            edge: 2,
            edit: 3,
            looped: 4,
        };
        let mut c = Cursor::new(&t, r);
        let mut g = Vec::new();
        for _ in 0..30 {
            g.push(c.gain());
            assert!(!c.step());
        }
        // Edit-point ramp in over 3, loop ramp out over 4 before frame 30,
        // loop ramp in over 4 after the jump, and again at the next end.
        let third = |n: f32| n / 3.0;
        assert_eq!(&g[..4], &[third(1.0), third(2.0), 1.0, 1.0]);
        assert_eq!(&g[16..24], &[0.75, 0.5, 0.25, 0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(&g[26..30], &[0.75, 0.5, 0.25, 0.0]);
        assert_eq!(c.remaining(), u64::MAX);
    }
}
