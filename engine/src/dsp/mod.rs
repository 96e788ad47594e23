//! Digital signal processing the renderer is built from: fade curves and
//! gain laws, as plain functions of numbers so they can be tested against
//! their formulas and reused by anything that draws or checks a fade.
//!
//! - [`fade`]: the four fade curves of the show ([`Curve`](crate::show::Curve)),
//!   the equal-gain/equal-power law, complementary crossfade gains and the
//!   linear protection ramps.
//! - [`gain`]: dB to linear gain, the constant-power pan law, stereo width and
//!   balance, and the per-voice mixing matrices built from them.
//! - [`meter`]: dBFS, a block's peak and energy, the RMS integrator and peak
//!   ballistics (fall, hold).

pub mod fade;
pub mod gain;
pub mod meter;
