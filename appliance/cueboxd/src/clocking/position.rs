//! Where the card is: rt-out publishes, each period, which render frame
//! the card will play at which CLOCK_MONOTONIC time, so the clock thread
//! can put any moment — an LTC edge on the capture card, an MTC byte, a
//! PTP reading — on the sample counter the timebase maps.

use cuebox_engine::device::Cycle;
use cuebox_engine::seqlock::{seqlock, SeqReader, SeqWriter};

/// rt-out's side. Writing is five atomic stores: no lock, no allocation.
#[derive(Debug)]
pub struct PositionWriter {
    words: SeqWriter<3>,
}

/// Any thread's side.
#[derive(Debug, Clone)]
pub struct PositionReader {
    words: SeqReader<3>,
}

/// A position channel.
pub fn position() -> (PositionWriter, PositionReader) {
    let (words, reader) = seqlock([0; 3]);
    (PositionWriter { words }, PositionReader { words: reader })
}

impl PositionWriter {
    /// Publishes where the card was at the boundary `cycle` stamps, on the
    /// clock of its `frames`-long periods.
    pub fn publish(&mut self, cycle: &Cycle, frames: usize) {
        let ns_per_frame = cycle.period_seconds * 1e9 / frames.max(1) as f64;
        self.words.write([
            cycle.boundary_frame,
            (cycle.time * 1e9) as u64,
            ns_per_frame.to_bits(),
        ]);
    }
}

impl PositionReader {
    /// The render frame (fractional) the card plays at monotonic `mono_ns`;
    /// `None` until rt-out has run.
    pub fn frame_at(&self, mono_ns: u64) -> Option<f64> {
        let [frame, at, ns_per_frame] = self.words.read();
        let ns_per_frame = f64::from_bits(ns_per_frame);
        (at > 0 && ns_per_frame > 0.0)
            .then(|| frame as f64 + (mono_ns as f64 - at as f64) / ns_per_frame)
    }

    /// The monotonic time (ns, fractional) at which the card plays render
    /// frame `frame`: the inverse of [`frame_at`](Self::frame_at).
    pub fn monotonic_at(&self, frame: f64) -> Option<f64> {
        let [at_frame, at, ns_per_frame] = self.words.read();
        let ns_per_frame = f64::from_bits(ns_per_frame);
        (at > 0 && ns_per_frame > 0.0)
            .then_some(at as f64 + (frame - at_frame as f64) * ns_per_frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_maps_to_the_frame_the_card_plays_then() {
        let (mut w, r) = position();
        assert_eq!(r.frame_at(1), None);
        // Rendering frame 10240 while the card crossed frame 9728 at 100 s.
        let cycle = Cycle {
            frame: 10_240,
            boundary_frame: 9_728,
            time: 100.0,
            period_seconds: 256.0 / 48_000.0,
        };
        w.publish(&cycle, 256);
        // Frame 10240 plays two periods after the boundary.
        let plays = 100e9 + 512.0 / 48_000.0 * 1e9;
        assert!((r.frame_at(plays as u64).unwrap() - 10_240.0).abs() < 0.01);
        let later = plays + 1e9;
        assert!((r.frame_at(later as u64).unwrap() - 58_240.0).abs() < 0.01);
        assert!((r.monotonic_at(58_240.0).unwrap() - later).abs() < 1.0);
    }
}
