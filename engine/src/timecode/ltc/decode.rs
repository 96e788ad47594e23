//! The LTC decoder. Three stages, each sample by sample, allocation-free so
//! it can run on the capture thread:
//!
//! 1. **Edges.** A one-pole high-pass removes DC; a peak envelope sets a
//!    hysteresis of a quarter of the level, so −40 dBFS signals and noise
//!    well below them both work; an edge is the interpolated zero crossing
//!    that a hysteresis flip confirms. Polarity does not matter.
//! 2. **Bits.** The interval between edges is a full bit (a 0) or a half
//!    (two make a 1), judged against a bit-period estimate that follows
//!    every interval, so the decoder tracks 0.5×–2× speed and varispeed.
//! 3. **Frames.** The last 80 bits are searched for the sync word at their
//!    end (forward) or, reversed, at their start (reverse play); a frame
//!    comes out with the samples where its first bit starts and its last
//!    bit ends.

use super::frame::{LtcFrame, SYNC_WORD};

/// A decoded frame and where it is in the signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodedFrame {
    /// The frame (read with 30/24 fps flag positions; see `rate_25`).
    pub frame: LtcFrame,
    /// The sample where the frame starts (its earliest edge).
    pub start: u64,
    /// The sample where it ends (its last edge).
    pub end: u64,
    /// Whether it played backwards.
    pub reverse: bool,
}

impl DecodedFrame {
    /// Frames per second the frame ran at, at this sample rate (speed
    /// included).
    pub fn apparent_fps(&self, sample_rate: u32) -> f64 {
        f64::from(sample_rate) / (self.end - self.start).max(1) as f64
    }
}

/// Intervals collected before the first bit-period estimate (then decoded).
const BOOT: usize = 24;

/// One bit as received: its value and the edges that bound it.
#[derive(Debug, Clone, Copy, Default)]
struct Bit {
    one: bool,
    start: f64,
    end: f64,
}

/// Decodes LTC from mono samples. See the [module](self) documentation.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Samples consumed so far: the index of the next sample.
    n: u64,
    // Edge detection.
    x_prev: f32,
    y_prev: f32,
    hp: f32,
    envelope: f32,
    release: f32,
    state: i8,
    crossing: f64,
    last_edge: Option<f64>,
    // The bit clock.
    period: Option<f64>,
    /// Edge times kept until the bit period is known.
    boot: [f64; BOOT + 1],
    booted: usize,
    half: Option<f64>,
    // The last 80 bits, a ring.
    bits: [Bit; 80],
    head: usize,
    count: usize,
}

impl Decoder {
    /// A decoder for a signal at `sample_rate`.
    pub fn new(sample_rate: u32) -> Self {
        let rate = sample_rate as f32;
        Decoder {
            n: 0,
            x_prev: 0.0,
            y_prev: 0.0,
            // A 20 Hz high-pass: removes a DC offset within half a frame
            // and keeps the square wave's shape over a bit (a whole bit is
            // at most 1 ms even at half speed; it droops by about 12 %).
            hp: 1.0 - std::f32::consts::TAU * 20.0 / rate,
            envelope: 0.0,
            // The level estimate forgets in about 20 ms.
            release: (-1.0 / (0.02 * rate)).exp(),
            state: 0,
            crossing: 0.0,
            last_edge: None,
            period: None,
            boot: [0.0; BOOT + 1],
            booted: 0,
            half: None,
            bits: [Bit::default(); 80],
            head: 0,
            count: 0,
        }
    }

    /// Feeds samples; `emit` receives each frame completed by them.
    pub fn process(&mut self, samples: &[f32], mut emit: impl FnMut(DecodedFrame)) {
        for &x in samples {
            let y = self.hp * (self.y_prev + x - self.x_prev);
            let t = self.n as f64;
            // The zero crossing between the last sample and this one.
            if (y >= 0.0) != (self.y_prev >= 0.0) && y != self.y_prev {
                self.crossing = t - 1.0 + f64::from(self.y_prev / (self.y_prev - y));
            }
            self.envelope = y.abs().max(self.envelope * self.release);
            let threshold = 0.25 * self.envelope;
            let state = if y > threshold {
                1
            } else if y < -threshold {
                -1
            } else {
                self.state
            };
            if state != self.state && self.state != 0 {
                self.edge(self.crossing, &mut emit);
            }
            self.state = state;
            self.x_prev = x;
            self.y_prev = y;
            self.n += 1;
        }
    }

    fn edge(&mut self, at: f64, emit: &mut impl FnMut(DecodedFrame)) {
        let Some(last) = self.last_edge.replace(at) else {
            self.boot[0] = at;
            return;
        };
        if self.period.is_some() {
            self.interval(last, at, false, emit);
            return;
        }
        // Until the bit period is known, edges are kept; then they are
        // decoded, so the very first frame of a signal is not lost.
        self.booted += 1;
        self.boot[self.booted] = at;
        if self.booted < BOOT {
            return;
        }
        let edges = self.boot;
        let mut intervals = [0.0; BOOT];
        for (i, d) in intervals.iter_mut().enumerate() {
            *d = edges[i + 1] - edges[i];
        }
        // The longest intervals are whole bits (every frame holds zeros);
        // the upper tail guards against a glitch.
        intervals.sort_by(f64::total_cmp);
        self.period = Some(intervals[BOOT - 3]);
        self.booted = 0;
        for pair in edges.windows(2) {
            self.interval(pair[0], pair[1], true, emit);
        }
    }

    /// Classifies the interval between two edges as half or whole bit.
    /// `replay`: the edges kept while booting, whose first interval may be
    /// the signal's onset rather than a bit.
    fn interval(&mut self, last: f64, at: f64, replay: bool, emit: &mut impl FnMut(DecodedFrame)) {
        let Some(period) = self.period else { return };
        let d = at - last;
        if d < 0.75 * period {
            // Half a bit: a 1 when its pair arrives.
            self.period = Some(period + 0.1 * (2.0 * d - period));
            match self.half.take() {
                Some(start) => self.push(
                    Bit {
                        one: true,
                        start,
                        end: at,
                    },
                    emit,
                ),
                None => self.half = Some(last),
            }
        } else if d < 1.6 * period {
            self.period = Some(period + 0.1 * (d - period));
            // A half then a whole means the halves were paired wrongly:
            // the lone half is dropped, and the pairing is right again.
            self.half = None;
            self.push(
                Bit {
                    one: false,
                    start: last,
                    end: at,
                },
                emit,
            );
        } else {
            // A dropout, a stop, or the onset: bits start over from this
            // edge; the speed is learnt again unless the estimate is new.
            self.half = None;
            self.count = 0;
            if !replay {
                self.period = None;
                self.booted = 0;
                self.boot[0] = at;
            }
        }
    }

    fn push(&mut self, bit: Bit, emit: &mut impl FnMut(DecodedFrame)) {
        self.bits[self.head] = bit;
        self.head = (self.head + 1) % 80;
        self.count = (self.count + 1).min(80);
        if self.count < 80 {
            return;
        }
        // Oldest first.
        let at = |i: usize| self.bits[(self.head + i) % 80];
        let forward = (0..16).all(|i| at(64 + i).one == SYNC_WORD[i]);
        let reverse = (0..16).all(|i| at(i).one == SYNC_WORD[15 - i]);
        if !forward && !reverse {
            return;
        }
        let mut word = [false; 80];
        for (i, w) in word.iter_mut().enumerate() {
            *w = if forward { at(i).one } else { at(79 - i).one };
        }
        let start = at(0).start.max(0.0).round() as u64;
        let end = at(79).end.max(0.0).round() as u64;
        // The 25 fps flag positions only move flags; the time reads alike.
        if let Some(frame) = LtcFrame::from_bits(&word, false) {
            emit(DecodedFrame {
                frame,
                start,
                end,
                reverse: !forward,
            });
            // A frame is never read twice.
            self.count = 0;
        }
    }
}
