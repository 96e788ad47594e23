//! Fade curves and laws.
//!
//! A fade moves a *position* `p` from 0 to 1 (fade in) or from 1 to 0 (fade
//! out) over normalised time `x` in 0..=1. The [`Curve`] gives the position
//! of a fade in, `p = shape(curve, x)`; a fade out is the same curve played
//! backwards, `p = shape(curve, 1 − x)`. The [`Law`] turns the position into
//! amplitude: equal-gain `g = p`, equal-power `g = √p` (the *power* g² follows
//! the curve). A crossfade is complementary by construction whatever the
//! curve: incoming `√p`, outgoing `√(1 − p)`, so the summed power of two
//! uncorrelated signals stays constant.
//!
//! Fades are sampled on frames: frame `i` (from 0) of an `n`-frame fade sits
//! at `x = (i + 1) / n`, so a fade in's first frame is already audible (a
//! clip's first sample is never lost) and a fade out's last frame is exactly
//! silent.

use std::f64::consts::PI;

use crate::show::Curve;

/// Steepness `k` of the exponential curve: `e^k = 1000`, so the curve
/// `(e^{kx} − 1)/(e^k − 1)` is close to a straight line in dB over the top
/// 60 dB and still reaches true silence at `x = 0`.
pub const EXP_STEEPNESS: f64 = 6.907_755_278_982_137; // 3·ln 10

/// The position `p` (0..=1) of a fade in with this curve at normalised time
/// `x` (clamped to 0..=1).
///
/// - linear: `x`
/// - exponential: `(1000^x − 1) / 999` — slow start, fast end
/// - logarithmic: `1 − (1000^(1−x) − 1) / 999` — fast start, slow end
/// - S-curve: `(1 − cos πx) / 2` — slow at both ends
pub fn shape(curve: Curve, x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    match curve {
        Curve::Linear => x,
        Curve::Exponential => exp_shape(x),
        Curve::Logarithmic => 1.0 - exp_shape(1.0 - x),
        Curve::SCurve => 0.5 - 0.5 * (PI * x).cos(),
    }
}

fn exp_shape(x: f64) -> f64 {
    // exp_m1 keeps precision near x = 0, where the curve is tiny.
    (EXP_STEEPNESS * x).exp_m1() / EXP_STEEPNESS.exp_m1()
}

/// How a fade's position becomes amplitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// Amplitude follows the curve: `g = p`. Two equal-gain fades crossing
    /// keep correlated material at constant level.
    EqualGain,
    /// Power follows the curve: `g = √p`. Two equal-power fades crossing keep
    /// uncorrelated material at constant loudness.
    EqualPower,
}

impl Law {
    /// The law the show's `power` flag names.
    pub fn from_power_flag(power: bool) -> Self {
        if power {
            Law::EqualPower
        } else {
            Law::EqualGain
        }
    }

    /// Amplitude at position `p` (0..=1).
    pub fn gain(self, p: f64) -> f64 {
        match self {
            Law::EqualGain => p,
            Law::EqualPower => p.sqrt(),
        }
    }
}

/// A fade's shape: its curve and its law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FadeShape {
    /// The curve of the position over time.
    pub curve: Curve,
    /// Equal-gain or equal-power.
    pub law: Law,
}

impl FadeShape {
    /// A shape from the show's curve and `power` flag.
    pub fn new(curve: Curve, power: bool) -> Self {
        FadeShape {
            curve,
            law: Law::from_power_flag(power),
        }
    }

    /// Amplitude of a fade in at normalised time `x`.
    pub fn fade_in(self, x: f64) -> f64 {
        self.law.gain(shape(self.curve, x))
    }

    /// Amplitude of a fade out at normalised time `x` (the fade in, backwards).
    pub fn fade_out(self, x: f64) -> f64 {
        self.law.gain(shape(self.curve, 1.0 - x))
    }
}

/// Amplitude of the incoming side of a crossfade at normalised time `x`.
pub fn crossfade_in(curve: Curve, x: f64) -> f64 {
    shape(curve, x).sqrt()
}

/// Amplitude of the outgoing side of a crossfade at normalised time `x`;
/// `crossfade_in² + crossfade_out² = 1` at every `x`.
pub fn crossfade_out(curve: Curve, x: f64) -> f64 {
    (1.0 - shape(curve, x)).sqrt()
}

/// Normalised time of frame `pos` (from 0) of an `len`-frame fade:
/// `(pos + 1) / len`.
pub fn progress(pos: u64, len: u64) -> f64 {
    debug_assert!(len > 0, "a fade of no frames has no progress");
    (pos + 1) as f64 / len as f64
}

/// Gain of frame `pos` of a linear `len`-frame ramp up: `(pos + 1) / len`,
/// 1 from `len − 1` on. The edge, edit-point and loop-point fades are these.
pub fn ramp_up(pos: u64, len: u64) -> f32 {
    if pos + 1 >= len {
        1.0
    } else {
        (pos + 1) as f32 / len as f32
    }
}

/// Gain of a linear ramp down `frames_left` frames before its end (1 on its
/// last frame): `(frames_left − 1) / len`, 1 when `frames_left > len`. The
/// last frame of the ramp is exactly silent.
pub fn ramp_down(frames_left: u64, len: u64) -> f32 {
    if frames_left > len {
        1.0
    } else {
        frames_left.saturating_sub(1) as f32 / len as f32
    }
}

/// Frames of a duration in milliseconds at `rate` frames per second, rounded
/// to the nearest frame. Negative or non-finite durations give 0.
pub fn ms_to_frames(ms: f64, rate: u32) -> u64 {
    let frames = (ms * f64::from(rate) / 1000.0).round();
    if frames.is_finite() && frames > 0.0 {
        frames as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_curve_runs_from_silence_to_unity_and_never_goes_back() {
        for curve in Curve::ALL {
            assert_eq!(shape(curve, 0.0), 0.0, "{curve:?}");
            assert!((shape(curve, 1.0) - 1.0).abs() < 1e-15, "{curve:?}");
            let mut last = 0.0;
            for i in 1..=1000 {
                let p = shape(curve, f64::from(i) / 1000.0);
                assert!(p >= last, "{curve:?} goes back at {i}");
                last = p;
            }
        }
    }

    #[test]
    fn curves_have_the_promised_character() {
        // Exponential is slow then fast, logarithmic fast then slow.
        assert!(shape(Curve::Exponential, 0.5) < 0.05);
        assert!(shape(Curve::Logarithmic, 0.5) > 0.95);
        assert!((shape(Curve::SCurve, 0.5) - 0.5).abs() < 1e-15);
        assert!(shape(Curve::SCurve, 0.1) < 0.1 && shape(Curve::SCurve, 0.9) > 0.9);
        // Exponential is about 6 dB per tenth near the top: 60 dB over the fade.
        let db = |x: f64| 20.0 * shape(Curve::Exponential, x).log10();
        assert!((db(0.9) - db(1.0) + 6.0).abs() < 0.1, "{}", db(0.9));
    }

    #[test]
    fn equal_power_crossfades_keep_power_and_equal_gain_fades_keep_amplitude() {
        for curve in Curve::ALL {
            for i in 0..=100 {
                let x = f64::from(i) / 100.0;
                let (o, n) = (crossfade_out(curve, x), crossfade_in(curve, x));
                assert!((o * o + n * n - 1.0).abs() < 1e-12, "{curve:?} at {x}");
            }
        }
        for curve in [Curve::Linear, Curve::SCurve] {
            let s = FadeShape::new(curve, false);
            for i in 0..=100 {
                let x = f64::from(i) / 100.0;
                assert!((s.fade_in(x) + s.fade_out(x) - 1.0).abs() < 1e-12);
            }
        }
        // Equal-power S-curve is the classic sine fade.
        let s = FadeShape::new(Curve::SCurve, true);
        assert!((s.fade_in(0.25) - (PI / 8.0).sin()).abs() < 1e-12);
    }

    #[test]
    fn ramps_start_audible_and_end_silent() {
        assert_eq!(ramp_up(0, 48), 1.0 / 48.0);
        assert_eq!(ramp_up(47, 48), 1.0);
        assert_eq!(ramp_down(1, 48), 0.0);
        assert_eq!(ramp_down(48, 48), 47.0 / 48.0);
        assert_eq!(ramp_down(49, 48), 1.0);
        assert_eq!(ms_to_frames(1.0, 48_000), 48);
        assert_eq!(ms_to_frames(1.0, 44_100), 44);
        assert_eq!(ms_to_frames(0.25, 44_100), 11);
        assert_eq!(ms_to_frames(-1.0, 48_000), 0);
        assert_eq!(ms_to_frames(f64::NAN, 48_000), 0);
    }
}
