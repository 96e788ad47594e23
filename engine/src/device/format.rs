//! Sample formats a device speaks, and the conversion between them and the
//! engine's `f32` frames. Pure and allocation-free, so the real-time thread
//! converts in place of a callback.

/// A PCM sample format, little-endian and interleaved as cards take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SampleFormat {
    /// 16-bit signed integer (`S16_LE`).
    S16Le,
    /// 24-bit signed integer packed in three bytes (`S24_3LE`).
    #[serde(rename = "S24_3LE")]
    S24_3Le,
    /// 32-bit signed integer (`S32_LE`).
    S32Le,
    /// 32-bit IEEE float (`FLOAT_LE`).
    #[serde(rename = "FLOAT_LE")]
    F32Le,
}

impl SampleFormat {
    /// Every format, in the order a device is asked for them when none is
    /// named: the most precise integer formats first, as cards prefer them.
    pub const ALL: [SampleFormat; 4] = [
        SampleFormat::S32Le,
        SampleFormat::S24_3Le,
        SampleFormat::F32Le,
        SampleFormat::S16Le,
    ];

    /// Bytes per sample.
    pub const fn bytes(self) -> usize {
        match self {
            SampleFormat::S16Le => 2,
            SampleFormat::S24_3Le => 3,
            SampleFormat::S32Le | SampleFormat::F32Le => 4,
        }
    }

    /// ALSA's name for it.
    pub const fn name(self) -> &'static str {
        match self {
            SampleFormat::S16Le => "S16_LE",
            SampleFormat::S24_3Le => "S24_3LE",
            SampleFormat::S32Le => "S32_LE",
            SampleFormat::F32Le => "FLOAT_LE",
        }
    }

    /// Writes `samples` into `out` (`samples.len() * self.bytes()` bytes),
    /// clipping to full scale and rounding integers to the nearest step.
    /// Returns the bytes written.
    pub fn encode(self, samples: &[f32], out: &mut [u8]) -> usize {
        let n = samples.len() * self.bytes();
        let out = &mut out[..n];
        match self {
            SampleFormat::S16Le => {
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(2)) {
                    o.copy_from_slice(&(quantise(*s, 15) as i16).to_le_bytes());
                }
            }
            SampleFormat::S24_3Le => {
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(3)) {
                    o.copy_from_slice(&quantise(*s, 23).to_le_bytes()[..3]);
                }
            }
            SampleFormat::S32Le => {
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(4)) {
                    o.copy_from_slice(&quantise(*s, 31).to_le_bytes());
                }
            }
            SampleFormat::F32Le => {
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(4)) {
                    o.copy_from_slice(&s.to_le_bytes());
                }
            }
        }
        n
    }

    /// Reads samples from `bytes` into `out` (`out.len() * self.bytes()`
    /// bytes are read); integers scale to −1.0..1.0.
    pub fn decode(self, bytes: &[u8], out: &mut [f32]) {
        let bytes = &bytes[..out.len() * self.bytes()];
        match self {
            SampleFormat::S16Le => {
                for (b, o) in bytes.chunks_exact(2).zip(out.iter_mut()) {
                    *o = f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0;
                }
            }
            SampleFormat::S24_3Le => {
                for (b, o) in bytes.chunks_exact(3).zip(out.iter_mut()) {
                    // Into the top of an i32, then an arithmetic shift signs it.
                    let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                    *o = v as f32 / 8_388_608.0;
                }
            }
            SampleFormat::S32Le => {
                for (b, o) in bytes.chunks_exact(4).zip(out.iter_mut()) {
                    let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    *o = (f64::from(v) / 2_147_483_648.0) as f32;
                }
            }
            SampleFormat::F32Le => {
                for (b, o) in bytes.chunks_exact(4).zip(out.iter_mut()) {
                    *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
        }
    }
}

impl std::fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SampleFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SampleFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "sample format {s:?} is not supported: use S16_LE, S24_3LE, S32_LE or FLOAT_LE"
                )
            })
    }
}

/// `s` as a signed integer of `bits` + 1 bits, clipped to full scale. NaN
/// becomes silence, so a broken clip can never reach a speaker as a full
/// scale square wave.
fn quantise(s: f32, bits: u32) -> i32 {
    let full = f64::from(1u32 << bits);
    let s = if s.is_nan() { 0.0 } else { f64::from(s) };
    (s * full).round().clamp(-full, full - 1.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_round_trips_its_own_steps() {
        for format in SampleFormat::ALL {
            let steps = match format {
                SampleFormat::S16Le => 15,
                SampleFormat::S24_3Le => 23,
                SampleFormat::S32Le => 31,
                SampleFormat::F32Le => 23,
            };
            let q = 1.0 / f64::from(1u32 << steps);
            let samples: Vec<f32> = [-1.0, -0.5, 0.0, q, 0.25, 1.0 - q]
                .iter()
                .map(|&v| v as f32)
                .collect();
            let mut bytes = vec![0u8; samples.len() * format.bytes()];
            assert_eq!(format.encode(&samples, &mut bytes), bytes.len());
            let mut back = vec![0.0f32; samples.len()];
            format.decode(&bytes, &mut back);
            assert_eq!(back, samples, "{format}");
        }
    }

    #[test]
    fn integers_clip_at_full_scale_and_nan_is_silence() {
        let mut bytes = [0u8; 6];
        SampleFormat::S16Le.encode(&[2.0, -2.0, f32::NAN], &mut bytes);
        assert_eq!(bytes, [0xff, 0x7f, 0x00, 0x80, 0x00, 0x00]);
        let mut b24 = [0u8; 3];
        SampleFormat::S24_3Le.encode(&[-1.0], &mut b24);
        assert_eq!(b24, [0x00, 0x00, 0x80]);
    }

    #[test]
    fn names_parse_back() {
        for f in SampleFormat::ALL {
            assert_eq!(f.name().parse::<SampleFormat>(), Ok(f));
            assert_eq!(
                serde_json::to_string(&f).unwrap(),
                format!("\"{}\"", f.name())
            );
        }
        assert!("S8"
            .parse::<SampleFormat>()
            .unwrap_err()
            .contains("S24_3LE"));
    }
}
