//! LTC from the capture channel the session names: rt-in decodes it as
//! the audio arrives (the decoder is allocation-free) and passes each frame,
//! stamped with the CLOCK_MONOTONIC time its edge reached the card, to the
//! clock thread over a wait-free queue.

use cuebox_engine::device::Cycle;
use cuebox_engine::timecode::ltc::{DecodedFrame, Decoder};
use cuebox_engine::timecode::Timecode;

/// A frame heard on the LTC input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LtcSeen {
    /// Its time.
    pub tc: Timecode,
    /// Its drop-frame flag.
    pub drop_frame: bool,
    /// When the card captured the moment `tc` names (CLOCK_MONOTONIC ns):
    /// the frame's first edge forward, its last in reverse.
    pub at_ns: u64,
    /// Whether it played backwards.
    pub reverse: bool,
}

/// rt-in's LTC decoder on one channel of the capture stream.
pub struct LtcTap {
    channel: usize,
    rate: u32,
    decoder: Decoder,
    /// The stream frame the decoder's sample 0 was.
    base: u64,
    scratch: Vec<f32>,
    out: rtrb::Producer<LtcSeen>,
}

/// Frames held between rt-in and the clock thread: a second of 30 fps.
const QUEUE: usize = 32;

impl LtcTap {
    /// A tap on `channel` (from 0) of a `rate` Hz stream whose periods are
    /// at most `max_frames` long, and the clock thread's end of its queue.
    pub fn new(channel: usize, rate: u32, max_frames: usize) -> (LtcTap, rtrb::Consumer<LtcSeen>) {
        let (out, rx) = rtrb::RingBuffer::new(QUEUE);
        (
            LtcTap {
                channel,
                rate,
                decoder: Decoder::new(rate),
                base: 0,
                scratch: vec![0.0; max_frames],
                out,
            },
            rx,
        )
    }

    /// Decodes the LTC channel of an interleaved period of `channels`
    /// channels.
    pub fn take(&mut self, input: &[f32], frames: usize, channels: usize, cycle: &Cycle) {
        let frames = frames.min(self.scratch.len());
        let lane = input.iter().skip(self.channel).step_by(channels.max(1));
        for (s, x) in self.scratch[..frames].iter_mut().zip(lane) {
            *s = *x;
        }
        // The period ends at the boundary the cycle stamps.
        let end = cycle.frame + frames as u64;
        let ns_per_frame = cycle.period_seconds * 1e9 / frames.max(1) as f64;
        let (base, out) = (self.base, &mut self.out);
        self.decoder
            .process(&self.scratch[..frames], |f: DecodedFrame| {
                let edge = base + if f.reverse { f.end } else { f.start };
                let ago = (end.saturating_sub(edge)) as f64 * ns_per_frame;
                // A full queue means the clock thread is gone: drop the frame.
                let _ = out.push(LtcSeen {
                    tc: f.frame.tc,
                    drop_frame: f.frame.drop_frame,
                    at_ns: (cycle.time * 1e9 - ago).max(0.0) as u64,
                    reverse: f.reverse,
                });
            });
    }

    /// Frames were lost before stream frame `resume`: the decoder starts
    /// afresh there (a frame cut by the gap is not trusted).
    pub fn discontinuity(&mut self, resume: u64) {
        self.decoder = Decoder::new(self.rate);
        self.base = resume;
    }
}
