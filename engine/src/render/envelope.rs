//! A voice's gain over time, as three independent factors multiplied per
//! frame: the edge (1 ms ramps at start and stop), the fade (in, out,
//! crossfade) and the protection (edit-point and loop-point ramps, and the
//! edge ramp at the natural end, placed by the position in the playback
//! sequence). Every factor is a function of integer frame counters only, so
//! a voice's gain at a frame is the same whatever the block size.
//!
//! Each factor can say for how many frames it stays constant
//! (`steady_for`, so the voice can mix a run at one gain) and for how many it
//! stays in its current mode (`run`, so the per-frame path needs no checks
//! inside its loop).

use crate::dsp::fade::{crossfade_in, crossfade_out, progress, ramp_down, ramp_up, FadeShape};
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
}

/// The fade under way, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Fade {
    Flat,
    In {
        shape: FadeShape,
        len: u64,
        pos: u64,
    },
    CrossIn {
        curve: Curve,
        len: u64,
        pos: u64,
    },
    Out {
        shape: FadeShape,
        len: u64,
        pos: u64,
        from: f64,
    },
    CrossOut {
        curve: Curve,
        len: u64,
        pos: u64,
        from: f64,
    },
}

/// What a fade step finished, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FadeStep {
    Going,
    /// A fade in finished; the voice plays on.
    Done(FadeKind),
    /// A fade out finished; the voice is silent.
    Silent(FadeKind),
}

impl Fade {
    /// Gain of the next frame.
    #[inline]
    pub(crate) fn gain(&self) -> f32 {
        match *self {
            Fade::Flat => 1.0,
            Fade::In { shape, len, pos } => shape.fade_in(progress(pos, len)) as f32,
            Fade::CrossIn { curve, len, pos } => crossfade_in(curve, progress(pos, len)) as f32,
            Fade::Out {
                shape,
                len,
                pos,
                from,
            } => (from * shape.fade_out(progress(pos, len))) as f32,
            Fade::CrossOut {
                curve,
                len,
                pos,
                from,
            } => (from * crossfade_out(curve, progress(pos, len))) as f32,
        }
    }

    /// Gain of the frame just rendered, where a fade out must start from.
    fn level(&self) -> f64 {
        let x = |pos: u64, len: u64| pos as f64 / len as f64;
        match *self {
            Fade::Flat => 1.0,
            Fade::In { shape, len, pos } => shape.fade_in(x(pos, len)),
            Fade::CrossIn { curve, len, pos } => crossfade_in(curve, x(pos, len)),
            Fade::Out {
                shape,
                len,
                pos,
                from,
            } => from * shape.fade_out(x(pos, len)),
            Fade::CrossOut {
                curve,
                len,
                pos,
                from,
            } => from * crossfade_out(curve, x(pos, len)),
        }
    }

    pub(crate) fn steady_for(&self) -> u64 {
        match self {
            Fade::Flat => u64::MAX,
            _ => 0,
        }
    }

    pub(crate) fn run(&self) -> u64 {
        match *self {
            Fade::Flat => u64::MAX,
            Fade::In { len, pos, .. }
            | Fade::CrossIn { len, pos, .. }
            | Fade::Out { len, pos, .. }
            | Fade::CrossOut { len, pos, .. } => len - pos,
        }
    }

    #[inline]
    pub(crate) fn step(&mut self) -> FadeStep {
        match self {
            Fade::Flat => FadeStep::Going,
            Fade::In { len, pos, .. } | Fade::CrossIn { len, pos, .. } => {
                *pos += 1;
                if *pos < *len {
                    return FadeStep::Going;
                }
                let kind = match self {
                    Fade::In { .. } => FadeKind::In,
                    _ => FadeKind::CrossIn,
                };
                *self = Fade::Flat;
                FadeStep::Done(kind)
            }
            Fade::Out { len, pos, .. } | Fade::CrossOut { len, pos, .. } => {
                *pos += 1;
                if *pos < *len {
                    return FadeStep::Going;
                }
                match self {
                    Fade::Out { .. } => FadeStep::Silent(FadeKind::Out),
                    _ => FadeStep::Silent(FadeKind::CrossOut),
                }
            }
        }
    }

    /// Frames until a fade out under way is silent.
    fn frames_left(&self) -> u64 {
        match *self {
            Fade::Out { len, pos, .. } | Fade::CrossOut { len, pos, .. } => len - pos,
            _ => u64::MAX,
        }
    }

    /// Starts a fade out of `len` frames from the current level, unless a
    /// fade out under way ends sooner. `len` must be at least 1.
    pub(crate) fn fade_out(&mut self, shape: FadeShape, len: u64) {
        if len < self.frames_left() {
            *self = Fade::Out {
                shape,
                len,
                pos: 0,
                from: self.level(),
            };
        }
    }

    /// Starts the outgoing side of a crossfade of `len` frames.
    pub(crate) fn cross_out(&mut self, curve: Curve, len: u64) {
        if len < self.frames_left() {
            *self = Fade::CrossOut {
                curve,
                len,
                pos: 0,
                from: self.level(),
            };
        }
    }

    pub(crate) fn is_cross_out(&self) -> bool {
        matches!(self, Fade::CrossOut { .. })
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
        let zone = self.ramp_out.max(self.final_edge);
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

    #[test]
    fn a_fade_out_never_lengthens_one_under_way() {
        let s = FadeShape::new(Curve::Linear, false);
        let mut f = Fade::Flat;
        f.fade_out(s, 10);
        f.step();
        f.fade_out(s, 20);
        assert_eq!(f.run(), 9);
        f.fade_out(s, 4);
        assert_eq!(f.run(), 4);
        assert!((f.gain() - 0.9 * 0.75).abs() < 1e-7);
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
