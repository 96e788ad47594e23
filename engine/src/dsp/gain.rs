//! Levels and panning.
//!
//! - Levels are in dB; −144 dB (the show's silence) and below is exactly 0.
//! - A mono source is placed with the constant-power (sin/cos, −3 dB centre)
//!   pan law, so it sounds equally loud anywhere across the pair.
//! - A stereo source has a width (mid/side: 1 as recorded, 0 folded to mono)
//!   and a balance. Balance is the constant-power law normalised to unity at
//!   the centre and capped at unity: the side panned away from fades on the
//!   cosine law, the other side never rises above its own level (no +3 dB
//!   surprise at the extremes). Group busses use the same balance.

use std::f64::consts::{FRAC_PI_4, SQRT_2};

/// The show's silence: levels at or below this are exactly 0.
pub const SILENCE_DB: f64 = -144.0;

/// Linear gain of a level in dB; 0 at or below [`SILENCE_DB`] and for NaN.
pub fn db_to_gain(db: f64) -> f64 {
    if db > SILENCE_DB {
        10f64.powf(db / 20.0)
    } else {
        0.0
    }
}

/// Rounding leaves cos(π/2) ≈ 6e-17; an extreme pan must be exactly silent.
fn snap(g: f64) -> f64 {
    if g.abs() < 1e-12 {
        0.0
    } else {
        g
    }
}

/// Left and right gains of a mono source at `pan` (−1 left … +1 right,
/// clamped): `cos θ`, `sin θ` with `θ = (pan + 1)·π/4`; −3 dB each at the
/// centre, `l² + r² = 1` everywhere.
pub fn pan(pan: f64) -> [f64; 2] {
    let theta = (pan.clamp(-1.0, 1.0) + 1.0) * FRAC_PI_4;
    [snap(theta.cos()), snap(theta.sin())]
}

/// Left and right gains of a balance control (−1 left only … +1 right only,
/// clamped): `min(1, √2·cos θ)`, `min(1, √2·sin θ)`; unity at the centre.
pub fn balance(balance: f64) -> [f64; 2] {
    let [l, r] = pan(balance);
    [(SQRT_2 * l).min(1.0), (SQRT_2 * r).min(1.0)]
}

/// A 2×2 stereo mixing matrix: `out_l = m[0]·l + m[1]·r`,
/// `out_r = m[2]·l + m[3]·r`.
pub type StereoMatrix = [f64; 4];

/// The width matrix (mid/side): `w = 1` passes the image, `w = 0` sends
/// `(l + r)/2` to both sides. `w` is clamped to 0..=1.
pub fn width(w: f64) -> StereoMatrix {
    let w = w.clamp(0.0, 1.0);
    let (same, cross) = ((1.0 + w) / 2.0, (1.0 - w) / 2.0);
    [same, cross, cross, same]
}

/// The mixing gains of a mono voice: level and pan, as `[left, right]`.
pub fn mono_voice(level_db: f64, pan_pos: f64) -> [f32; 2] {
    let g = db_to_gain(level_db);
    let [l, r] = pan(pan_pos);
    [(g * l) as f32, (g * r) as f32]
}

/// The mixing matrix of a stereo voice: width, then balance, then level.
pub fn stereo_voice(level_db: f64, w: f64, bal: f64) -> [f32; 4] {
    let g = db_to_gain(level_db);
    let m = width(w);
    let [bl, br] = balance(bal);
    [
        (g * bl * m[0]) as f32,
        (g * bl * m[1]) as f32,
        (g * br * m[2]) as f32,
        (g * br * m[3]) as f32,
    ]
}

/// The left and right gains of a bus: level, mute and balance.
pub fn bus(level_db: f64, mute: bool, bal: f64) -> [f32; 2] {
    if mute {
        return [0.0, 0.0];
    }
    let g = db_to_gain(level_db);
    let [l, r] = balance(bal);
    [(g * l) as f32, (g * r) as f32]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(db_to_gain(0.0), 1.0);
        assert!((db_to_gain(-6.0) - 0.501_187_233_627_272_2).abs() < 1e-15);
        assert!((db_to_gain(12.0) - 3.981_071_705_534_973).abs() < 1e-12);
        assert_eq!(db_to_gain(-144.0), 0.0);
        assert_eq!(db_to_gain(f64::NAN), 0.0);
    }

    #[test]
    fn pan_is_constant_power_and_exact_at_the_extremes() {
        for i in -10..=10 {
            let [l, r] = pan(f64::from(i) / 10.0);
            assert!((l * l + r * r - 1.0).abs() < 1e-12);
        }
        assert_eq!(pan(-1.0), [1.0, 0.0]);
        assert_eq!(pan(1.0), [0.0, 1.0]);
        let [l, r] = pan(0.0);
        assert!((l - 0.5f64.sqrt()).abs() < 1e-15 && (r - l).abs() < 1e-15);
    }

    #[test]
    fn balance_is_unity_in_the_middle_and_never_boosts() {
        assert_eq!(balance(0.0), [1.0, 1.0]);
        assert_eq!(balance(-1.0), [1.0, 0.0]);
        assert_eq!(balance(1.0), [0.0, 1.0]);
        let [l, r] = balance(0.5);
        assert!(l < 1.0 && l > 0.0 && r == 1.0);
    }

    #[test]
    fn width_folds_to_mono() {
        assert_eq!(width(1.0), [1.0, 0.0, 0.0, 1.0]);
        assert_eq!(width(0.0), [0.5, 0.5, 0.5, 0.5]);
        assert_eq!(stereo_voice(0.0, 1.0, 0.0), [1.0, 0.0, 0.0, 1.0]);
        assert_eq!(bus(0.0, true, 0.0), [0.0, 0.0]);
    }
}
