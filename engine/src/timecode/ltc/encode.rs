//! The LTC generator: frames placed at exact (fractional) sample positions,
//! each sample the average of the ideal square wave over its duration, so
//! edges are band-limited to about a sample (SMPTE asks for 25 ± 5 µs).

use super::super::{FrameRate, Timecode};
use super::frame::LtcFrame;

/// Generates LTC for consecutive frames from a start time.
#[derive(Debug, Clone)]
pub struct Encoder {
    rate: FrameRate,
    samples_per_frame: f64,
    level: f32,
    next: Timecode,
    user_bits: u32,
    /// Frames generated so far.
    frame_index: u64,
    /// Samples generated so far.
    written: u64,
    /// The wave's sign just before the next transition.
    high: bool,
}

impl Encoder {
    /// An encoder at `sample_rate` for `rate`, starting at `start`, with a
    /// peak level of `level_dbfs`.
    pub fn new(sample_rate: u32, rate: FrameRate, start: Timecode, level_dbfs: f64) -> Self {
        Encoder {
            rate,
            samples_per_frame: f64::from(sample_rate) / rate.fps(),
            level: 10f64.powf(level_dbfs / 20.0) as f32,
            next: start,
            user_bits: 0,
            frame_index: 0,
            written: 0,
            high: false,
        }
    }

    /// Sets the user bits of the frames from now on.
    pub fn set_user_bits(&mut self, bits: u32) {
        self.user_bits = bits;
    }

    /// The time of the next frame.
    pub fn next_timecode(&self) -> Timecode {
        self.next
    }

    /// Appends the next frame's samples to `out`.
    pub fn encode_frame(&mut self, out: &mut Vec<f32>) {
        let frame = LtcFrame {
            user_bits: self.user_bits,
            ..LtcFrame::new(self.next, self.rate)
        };
        let bits = frame.to_bits(self.rate == FrameRate::Fps25);
        let start = self.frame_index as f64 * self.samples_per_frame;
        let bit = self.samples_per_frame / 80.0;
        // Every bit starts with a transition; a 1 has one in its middle too.
        let mut transitions = [0.0f64; 160];
        let mut count = 0;
        for (i, one) in bits.iter().enumerate() {
            let t = start + i as f64 * bit;
            transitions[count] = t;
            count += 1;
            if *one {
                transitions[count] = t + bit / 2.0;
                count += 1;
            }
        }
        let end = start + self.samples_per_frame;
        let mut k = 0;
        while (self.written as f64) + 1.0 <= end + 1e-9 {
            let (a, b) = (self.written as f64, self.written as f64 + 1.0);
            // The share of [a, b) the wave spends high.
            let mut t = a;
            let mut high_time = 0.0;
            while k < count && transitions[k] < b {
                if transitions[k] >= t {
                    if self.high {
                        high_time += transitions[k] - t;
                    }
                    t = transitions[k];
                }
                self.high = !self.high;
                k += 1;
            }
            if self.high {
                high_time += b - t;
            }
            out.push(self.level * (2.0 * high_time as f32 - 1.0));
            self.written += 1;
        }
        self.frame_index += 1;
        self.next = self.next.next(self.rate);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Decoder;
    use super::*;

    fn generate(rate: FrameRate, sample_rate: u32, frames: usize, level: f64) -> Vec<f32> {
        let start: Timecode = "10:00:00:00".parse().unwrap();
        let mut e = Encoder::new(sample_rate, rate, start, level);
        e.set_user_bits(0x1234_5678);
        let mut out = Vec::new();
        for _ in 0..frames {
            e.encode_frame(&mut out);
        }
        out
    }

    fn decode(samples: &[f32], sample_rate: u32) -> Vec<super::super::DecodedFrame> {
        let mut d = Decoder::new(sample_rate);
        let mut frames = Vec::new();
        d.process(samples, |f| frames.push(f));
        frames
    }

    #[test]
    fn our_decoder_reads_our_encoder_at_every_rate_forward_and_reverse() {
        for rate in FrameRate::ALL {
            for sample_rate in [44_100, 48_000, 96_000] {
                let signal = generate(rate, sample_rate, 50, -18.0);
                let frames = decode(&signal, sample_rate);
                assert!(
                    frames.len() >= 48,
                    "{rate:?} {sample_rate}: {}",
                    frames.len()
                );
                let spf = f64::from(sample_rate) / rate.fps();
                for pair in frames.windows(2) {
                    assert_eq!(pair[0].frame.tc.next(rate), pair[1].frame.tc);
                }
                for f in &frames {
                    let n = f.frame.tc.to_frames(rate)
                        - "10:00:00:00".parse::<Timecode>().unwrap().to_frames(rate);
                    let expected = (n as f64 * spf).round() as i64;
                    assert!(
                        (f.start as i64 - expected).abs() <= 1,
                        "{rate:?} {sample_rate} {f:?}"
                    );
                    assert_eq!(f.frame.user_bits, 0x1234_5678);
                    assert_eq!(f.frame.drop_frame, rate.drop_frame());
                    assert!(!f.reverse);
                }
                let reversed: Vec<f32> = signal.iter().rev().map(|s| -s).collect();
                let back = decode(&reversed, sample_rate);
                assert!(
                    back.len() >= 48,
                    "reverse {rate:?} {sample_rate}: {}",
                    back.len()
                );
                assert!(back.iter().all(|f| f.reverse));
                for pair in back.windows(2) {
                    assert_eq!(pair[1].frame.tc.next(rate), pair[0].frame.tc);
                }
            }
        }
    }

    #[test]
    fn quiet_noisy_offset_signals_still_decode() {
        let mut signal = generate(FrameRate::Fps25, 48_000, 50, -40.0);
        let mut seed = 1u32;
        for s in &mut signal {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
            *s = -*s + 0.2 + noise * 0.002;
        }
        let frames = decode(&signal, 48_000);
        assert!(frames.len() >= 45, "{}", frames.len());
    }
}
