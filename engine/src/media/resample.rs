//! Sample-rate conversion of a decoded clip to the engine rate.
//!
//! rubato's synchronous FFT resampler: for a fixed ratio between two of
//! cuebox's rates it is both the most accurate of rubato's converters and the
//! fastest (its anti-aliasing filter is a long Blackman-Harris² windowed
//! sinc, applied in the frequency domain). It works in blocks: input block
//! `k` (`chunk_in` frames) becomes output block `k` (`chunk_out` frames),
//! overlap-added with the tail of block `k - 1` and nothing older. So a
//! converter restarted one block before a seek target computes every output
//! frame from the target on exactly as a conversion from the start does, bit
//! for bit; [`Converter::restart`] relies on that.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

/// Output frames per block aimed at (on the lower-rate side): long enough
/// that the filter's transition band lies above 20 kHz (cutoff ≈ 0.99 of
/// the lower Nyquist), short enough that a seek decodes little extra.
const TARGET_BLOCK: usize = 1024;

/// The greatest common divisor.
fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Converts interleaved `f32` frames from one rate to another, block by
/// block, into an internal output buffer the caller drains.
pub(crate) struct Converter {
    fft: Fft<f32>,
    channels: usize,
    from: u32,
    to: u32,
    chunk_in: usize,
    chunk_out: usize,
    /// Output frames before input frame 0 appears (half an FFT block).
    delay: u64,
    /// One input block, filled by the caller.
    input: Vec<f32>,
    filled: usize,
    /// The last output block and how much of it is read.
    output: Vec<f32>,
    out_read: usize,
    out_len: usize,
    /// The converter's output index of `output[out_read]` (engine frame
    /// `out_index - delay`).
    out_index: u64,
}

impl Converter {
    /// A converter from `from` Hz to `to` Hz for `channels` channels.
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Self, String> {
        let (from_us, to_us) = (from as usize, to as usize);
        // Blocks are a whole number of the smallest exact ratio, `unit` input
        // frames; sized by the lower rate, so downsampling keeps a long filter.
        let unit = from_us / gcd(from_us, to_us);
        let target = TARGET_BLOCK * from.div_ceil(to).max(1) as usize;
        // An even count of units: rubato centres its filter on frame
        // `len / 2` (rounded down) of the block but reports a delay of half
        // the output block, which agree only when the input block is even —
        // otherwise every output frame would lag by half an input frame.
        let units = target.div_ceil(unit).next_multiple_of(2);
        let fft = Fft::<f32>::new(from_us, to_us, units * unit, channels, FixedSync::Both)
            .map_err(|e| e.to_string())?;
        let (chunk_in, chunk_out) = (fft.input_frames_max(), fft.output_frames_max());
        let delay = fft.output_delay() as u64;
        Ok(Converter {
            fft,
            channels,
            from,
            to,
            chunk_in,
            chunk_out,
            delay,
            input: vec![0.0; chunk_in * channels],
            filled: 0,
            output: vec![0.0; chunk_out * channels],
            out_read: 0,
            out_len: 0,
            out_index: 0,
        })
    }

    /// Output frames for `frames` input frames: the converted length,
    /// rounded up so the last input frame's time is covered.
    pub fn out_frames(&self, frames: u64) -> u64 {
        let (from, to) = (u128::from(self.from), u128::from(self.to));
        let out = (u128::from(frames) * to).div_ceil(from);
        u64::try_from(out).unwrap_or(u64::MAX)
    }

    /// Prepares to produce output from engine frame `frame` on, and returns
    /// the input frame the caller must feed from. That is the start of the
    /// block before the one holding `frame` (or 0): its output is discarded,
    /// but it fills the overlap exactly as a run from the start would.
    pub fn restart(&mut self, frame: u64) -> u64 {
        let block = (frame + self.delay) / self.chunk_out as u64;
        let first = block.saturating_sub(1);
        self.fft.reset();
        self.filled = 0;
        self.out_read = 0;
        self.out_len = 0;
        self.out_index = first * self.chunk_out as u64;
        first * self.chunk_in as u64
    }

    /// Whether the input block is complete.
    pub fn input_full(&self) -> bool {
        self.filled == self.chunk_in
    }

    /// The unfilled rest of the input block, for the caller to write into.
    pub fn input_space(&mut self) -> &mut [f32] {
        &mut self.input[self.filled * self.channels..]
    }

    /// Marks `frames` more input frames as written.
    pub fn commit(&mut self, frames: usize) {
        self.filled = (self.filled + frames).min(self.chunk_in);
    }

    /// Converts the input block (silence after what was filled: past the
    /// clip's end the input is zero) into a new output block.
    pub fn process(&mut self) -> Result<(), String> {
        self.input[self.filled * self.channels..].fill(0.0);
        let ch = self.channels;
        let input =
            InterleavedSlice::new(&self.input[..], ch, self.chunk_in).map_err(|e| e.to_string())?;
        let mut output = InterleavedSlice::new_mut(&mut self.output[..], ch, self.chunk_out)
            .map_err(|e| e.to_string())?;
        let (_, written) = self
            .fft
            .process_into_buffer(&input, &mut output, None)
            .map_err(|e| e.to_string())?;
        self.filled = 0;
        self.out_read = 0;
        self.out_len = written;
        Ok(())
    }

    /// Copies output frames from engine frame `at` on into `dst`, dropping
    /// earlier ones, and returns how many it copied (0: process a block).
    pub fn drain(&mut self, at: u64, dst: &mut [f32]) -> Result<usize, String> {
        let first = at + self.delay;
        if self.out_index < first {
            let skip = (first - self.out_index).min((self.out_len - self.out_read) as u64);
            self.out_read += skip as usize;
            self.out_index += skip;
        }
        if self.out_read == self.out_len {
            return Ok(0);
        }
        if self.out_index != first {
            // Restart and drain keep these in step; never return wrong audio.
            return Err(format!(
                "converter output is at {} but frame {at} was asked for",
                self.out_index.saturating_sub(self.delay)
            ));
        }
        let ch = self.channels;
        let n = (self.out_len - self.out_read).min(dst.len() / ch);
        dst[..n * ch].copy_from_slice(&self.output[self.out_read * ch..(self.out_read + n) * ch]);
        self.out_read += n;
        self.out_index += n as u64;
        Ok(n)
    }
}
