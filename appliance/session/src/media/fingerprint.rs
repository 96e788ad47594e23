//! A compact audio fingerprint: what a clip sounds like, independent of how
//! its file is encoded or wrapped (FLAC or WAV, 16 or 24 bit, 44.1 or 48 kHz).
//!
//! The first [`FINGERPRINT_SECONDS`] of the clip are decoded at one analysis
//! rate and mixed to mono; each block of [`BLOCK`] samples is split into
//! nine octave-wide bands by a cascade of one-pole low-pass filters, and
//! each block yields eight bits: whether the energy difference between two
//! neighbouring bands rose or fell since the block before (the scheme of
//! Haitsma and Kalker). Re-encoding keeps these signs; different audio
//! flips about half of them. Only the first stretch is read, so
//! fingerprinting costs the same for a 10-second sting and a 2-hour bed.

use std::fs::File;
use std::path::Path;

use cuebox_engine::media::{ClipDecoder, DecodeError, MediaSource};

/// Seconds of audio a fingerprint covers, from the clip's start.
pub const FINGERPRINT_SECONDS: u32 = 20;

/// Samples per block (43 ms at the analysis rate).
const BLOCK: usize = 2048;

/// Blocks two fingerprints must share before they can say "same audio":
/// fewer bits than this would match by chance too often.
pub const MIN_BLOCKS: usize = 24;

/// The largest fraction of differing bits still called the same audio. The
/// same samples differ in none; a lossy re-encode in a few percent; other
/// audio in about half.
pub const SAME_AUDIO_MAX_BIT_ERRORS: f64 = 0.2;

/// Blocks either way two fingerprints are also compared at, for an encoder
/// that shifted the audio a little.
const MAX_SHIFT: isize = 2;

/// Low-pass cut-offs of the band cascade, in Hz: octaves from 100 Hz.
const CUTOFFS: [f64; 8] = [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0, 12_800.0];

/// A fingerprint: one byte (eight band-difference signs) per block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(Vec<u8>);

/// Why a file could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// The file could not be opened.
    #[error("cannot open it: {0}")]
    Open(#[from] std::io::Error),
    /// The file could not be decoded.
    #[error("cannot decode it: {0}")]
    Decode(#[from] DecodeError),
}

impl Fingerprint {
    /// The rate every file is analysed at, so files of different rates compare.
    pub const ANALYSIS_RATE: u32 = 48_000;

    /// The fingerprint stored as bytes (for the metadata database).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A fingerprint from stored bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Fingerprint(bytes)
    }

    /// Blocks covered.
    pub fn blocks(&self) -> usize {
        self.0.len()
    }

    /// Fingerprints the audio `decoder` yields (it must decode at the
    /// analysis rate, [`Fingerprint::open`] makes one).
    pub fn of_decoder(decoder: &mut ClipDecoder) -> Result<Self, DecodeError> {
        let channels = decoder.channels().count() as usize;
        let limit = (FINGERPRINT_SECONDS * Self::ANALYSIS_RATE) as usize;
        let mut analyser = Analyser::new();
        let mut buf = vec![0f32; BLOCK * channels];
        let mut done = 0;
        while done < limit {
            let n = decoder.read(&mut buf)?;
            if n == 0 {
                break;
            }
            for frame in buf[..n * channels].chunks_exact(channels) {
                let mono = frame.iter().map(|&s| f64::from(s)).sum::<f64>() / channels as f64;
                analyser.push(mono);
            }
            done += n;
        }
        Ok(Fingerprint(analyser.bits))
    }

    /// A decoder of `source` at the analysis rate.
    pub fn open(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
    ) -> Result<ClipDecoder, DecodeError> {
        ClipDecoder::open(source, extension, Self::ANALYSIS_RATE)
    }

    /// Fingerprints the file at `path`.
    pub fn of_file(path: &Path) -> Result<Self, FingerprintError> {
        let ext = path.extension().and_then(|e| e.to_str());
        let mut decoder = Self::open(Box::new(File::open(path)?), ext)?;
        Ok(Self::of_decoder(&mut decoder)?)
    }

    /// The fraction of bits that differ where the two overlap, at the best
    /// of a few small shifts; `None` when they share fewer than
    /// [`MIN_BLOCKS`] blocks (too short to tell).
    pub fn bit_errors(&self, other: &Fingerprint) -> Option<f64> {
        (-MAX_SHIFT..=MAX_SHIFT)
            .filter_map(|shift| {
                let (a, b) = if shift >= 0 {
                    (self.0.get(shift as usize..)?, &other.0[..])
                } else {
                    (&self.0[..], other.0.get((-shift) as usize..)?)
                };
                // The first block has no predecessor: its bits are always 0.
                let n = a.len().min(b.len());
                (n >= MIN_BLOCKS).then(|| {
                    let differing: u32 = a[1..n]
                        .iter()
                        .zip(&b[1..n])
                        .map(|(x, y)| (x ^ y).count_ones())
                        .sum();
                    f64::from(differing) / ((n - 1) * 8) as f64
                })
            })
            .min_by(f64::total_cmp)
    }

    /// Whether the two are the same audio.
    pub fn same_audio(&self, other: &Fingerprint) -> bool {
        self.bit_errors(other)
            .is_some_and(|e| e <= SAME_AUDIO_MAX_BIT_ERRORS)
    }
}

/// The running band filters and the bits so far.
struct Analyser {
    /// Low-pass filter coefficients (`a` of `y += (1 - a)(x - y)`).
    coeffs: [f64; 8],
    /// Low-pass filter states.
    state: [f64; 8],
    /// Band energies of the block being filled.
    energy: [f64; 9],
    /// Band energies of the block before.
    previous: Option<[f64; 9]>,
    /// Samples in the block being filled.
    filled: usize,
    bits: Vec<u8>,
}

impl Analyser {
    fn new() -> Self {
        let coeffs = CUTOFFS.map(|fc| {
            (-2.0 * std::f64::consts::PI * fc / f64::from(Fingerprint::ANALYSIS_RATE)).exp()
        });
        Analyser {
            coeffs,
            state: [0.0; 8],
            energy: [0.0; 9],
            previous: None,
            filled: 0,
            bits: Vec::new(),
        }
    }

    fn push(&mut self, x: f64) {
        for (y, a) in self.state.iter_mut().zip(self.coeffs) {
            *y = a * *y + (1.0 - a) * x;
        }
        // Band k lies between low-pass k-1 and low-pass k.
        let mut below = 0.0;
        for k in 0..9 {
            let upto = if k < 8 { self.state[k] } else { x };
            let band = upto - below;
            self.energy[k] += band * band;
            below = upto;
        }
        self.filled += 1;
        if self.filled == BLOCK {
            self.end_block();
        }
    }

    fn end_block(&mut self) {
        let e = self.energy;
        let bits = match self.previous {
            None => 0,
            Some(p) => (0..8).fold(0u8, |bits, m| {
                let rise = (e[m] - e[m + 1]) - (p[m] - p[m + 1]);
                bits | (u8::from(rise > 0.0) << m)
            }),
        };
        self.bits.push(bits);
        self.previous = Some(e);
        self.energy = [0.0; 9];
        self.filled = 0;
    }
}
