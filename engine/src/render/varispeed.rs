//! Varispeed: a voice's playback sequence read at a speed other than 1,
//! which is how a chasing clip stays locked to timecode that runs fast,
//! slow or slews after a failover.
//!
//! Four-point cubic (Catmull-Rom) interpolation, as Ardour's varispeed
//! uses: a chase speed stays within a few percent of 1, where it is
//! transparent, and it needs no look-ahead, so a speed change applies at the
//! exact frame of its command. The cue and loop protection ramps belong to
//! the sequence, so they are applied to the source frames before they are
//! resampled; the voice's edge and fades then apply at the output rate.
//!
//! Speeds and positions are fixed point (32 fractional bits), so the
//! control side can tell exactly where in its sequence a voice is at any
//! frame from its start and the speeds it was sent ([`Speed::advance`]).
//! At [`Speed::UNITY`] every output frame is a source frame, bit for bit.

use super::envelope::{Cursor, Ramps};
use super::reader::{ClipReader, Timeline};
use super::seam::Seam;

/// A voice's loop seam, if it has one, and its capture buffer.
pub(crate) type SeamIn<'a> = (&'a mut Option<Seam>, &'a mut [f32]);

/// One in 32.32 fixed point.
const ONE: u64 = 1 << 32;

/// Source frames fetched from the reader at a time.
const CHUNK: usize = 64;

/// A playback speed: source frames per output frame, 0.5 to 2, in 32.32
/// fixed point so that positions add up exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Speed(u64);

impl Speed {
    /// As recorded.
    pub const UNITY: Speed = Speed(ONE);
    /// The slowest speed: half.
    pub const MIN: Speed = Speed(ONE / 2);
    /// The fastest speed: double.
    pub const MAX: Speed = Speed(ONE * 2);

    /// `ratio` source frames per output frame, clamped to
    /// [`MIN`](Self::MIN)..=[`MAX`](Self::MAX) (a NaN is unity).
    pub fn from_ratio(ratio: f64) -> Speed {
        if ratio.is_nan() {
            return Speed::UNITY;
        }
        let raw = (ratio * ONE as f64).round();
        Speed((raw as u64).clamp(Speed::MIN.0, Speed::MAX.0))
    }

    /// Source frames per output frame.
    pub fn ratio(self) -> f64 {
        self.0 as f64 / ONE as f64
    }

    /// How far `frames` output frames carry a voice through its sequence,
    /// in source frames with 32 fractional bits: exactly what the renderer
    /// adds up.
    pub fn advance(self, frames: u64) -> u128 {
        u128::from(self.0) * u128::from(frames)
    }

    /// A fixed-point sequence position as frames.
    pub fn position_frames(fixed: u128) -> f64 {
        fixed as f64 / ONE as f64
    }

    /// Whole sequence frames in a fixed-point position.
    pub fn whole_frames(fixed: u128) -> u64 {
        u64::try_from(fixed >> 32).unwrap_or(u64::MAX)
    }
}

/// What the source gave for the next frame of the window.
enum Next {
    Frame,
    /// Not ready yet (the butler is behind): try again next block.
    Underrun,
    /// The sequence has ended and the window is past its last frame.
    Ended,
}

/// A voice's resampling state. Lives inline in the voice (fixed-size
/// arrays), so starting a varispeed voice allocates nothing.
pub(crate) struct Varispeed {
    channels: usize,
    /// The protection ramps of the sequence, applied before resampling.
    cursor: Cursor,
    step: u64,
    /// Position between `window[1]` and `window[2]`, 0 to [`ONE`].
    frac: u64,
    /// Source frames to shift into the window before the next output frame.
    owed: u64,
    /// Source frames x[i−1], x[i], x[i+1], x[i+2] around the position.
    window: [[f32; 2]; 4],
    fetched: [f32; 2 * CHUNK],
    /// Frames in `fetched`, and the next one to shift in.
    have: usize,
    next: usize,
    /// The cursor has ended the sequence.
    drained: bool,
    /// Silent frames shifted in after the sequence ended.
    padding: u8,
}

impl Varispeed {
    /// Reads `timeline` (of a reader with `channels` samples per frame) at
    /// `speed`, from its first frame.
    pub(crate) fn new(timeline: &Timeline, channels: usize, speed: Speed, ramps: Ramps) -> Self {
        Varispeed {
            channels,
            cursor: Cursor::new(timeline, ramps),
            step: speed.0,
            frac: 0,
            // x[0] lands on window[1] once three frames are in.
            owed: 3,
            window: [[0.0; 2]; 4],
            fetched: [0.0; 2 * CHUNK],
            have: 0,
            next: 0,
            drained: false,
            padding: 0,
        }
    }

    /// Changes the speed from the next output frame on.
    pub(crate) fn set_speed(&mut self, speed: Speed) {
        self.step = speed.0;
    }

    /// Writes up to `out.len() / channels` output frames, crossfading the
    /// source at its loop `seam`; returns how many, and whether the
    /// sequence ended after them (fewer frames and not ended means the
    /// reader has underrun).
    pub(crate) fn read(
        &mut self,
        reader: &mut dyn ClipReader,
        out: &mut [f32],
        mut seam: SeamIn<'_>,
    ) -> (usize, bool) {
        let ch = self.channels;
        let frames = out.len() / ch;
        for k in 0..frames {
            while self.owed > 0 {
                match self.shift(reader, &mut seam) {
                    Next::Frame => self.owed -= 1,
                    Next::Underrun => return (k, false),
                    Next::Ended => return (k, true),
                }
            }
            let t = (self.frac as f64 / ONE as f64) as f32;
            let [a, b, c, d] = self.window;
            for (i, y) in out[k * ch..(k + 1) * ch].iter_mut().enumerate() {
                *y = catmull_rom(a[i], b[i], c[i], d[i], t);
            }
            self.frac += self.step;
            self.owed = self.frac >> 32;
            self.frac &= ONE - 1;
        }
        (frames, false)
    }

    /// Shifts the next source frame into the window.
    fn shift(&mut self, reader: &mut dyn ClipReader, seam: &mut SeamIn<'_>) -> Next {
        if self.next == self.have && !self.drained && !self.fetch(reader, seam) {
            return Next::Underrun;
        }
        let frame = if self.next < self.have {
            let ch = self.channels;
            let mut f = [0.0; 2];
            f[..ch].copy_from_slice(&self.fetched[self.next * ch..(self.next + 1) * ch]);
            self.next += 1;
            f
        } else {
            // Past the end: silence, until the last frame has left x[i].
            if self.padding == 2 {
                return Next::Ended;
            }
            self.padding += 1;
            [0.0; 2]
        };
        if self.owed == 3 {
            // The very first frame (only then are 3 owed: a speed of at most
            // 2 owes at most 2) also stands for x[−1]: the edge is extended,
            // not pulled towards silence.
            self.window = [frame; 4];
        } else {
            self.window.rotate_left(1);
            self.window[3] = frame;
        }
        Next::Frame
    }

    /// Refills `fetched` from the reader with the loop seam and the
    /// protection ramps applied; false when the reader has nothing yet.
    fn fetch(&mut self, reader: &mut dyn ClipReader, seam: &mut SeamIn<'_>) -> bool {
        let ch = self.channels;
        let want = (CHUNK as u64).min(self.cursor.remaining()) as usize;
        let got = reader.read(&mut self.fetched[..want * ch]).min(want);
        if got == 0 {
            return false;
        }
        if let (Some(s), buf) = (&mut *seam.0, &mut *seam.1) {
            s.apply(&mut self.fetched[..got * ch], buf);
        }
        let mut i = 0;
        while i < got {
            let steady = self.cursor.steady_for().min((got - i) as u64) as usize;
            if steady > 0 {
                self.cursor.skip(steady as u64);
                i += steady;
                continue;
            }
            let g = self.cursor.gain();
            for x in &mut self.fetched[i * ch..(i + 1) * ch] {
                *x *= g;
            }
            i += 1;
            if self.cursor.step() {
                self.drained = true;
                break;
            }
        }
        self.have = i;
        self.next = 0;
        true
    }
}

/// Catmull-Rom interpolation between `b` (t = 0, exactly) and `c` (t = 1).
#[inline(always)]
fn catmull_rom(a: f32, b: f32, c: f32, d: f32, t: f32) -> f32 {
    b + 0.5 * t * (c - a + t * (2.0 * a - 5.0 * b + 4.0 * c - d + t * (3.0 * (b - c) + d - a)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::MemoryClip;
    use crate::show::{Channels, Frames};
    use std::sync::Arc;

    const RAMPS: Ramps = Ramps {
        edge: 1,
        edit: 1,
        looped: 1,
    };

    fn play(clip: &mut MemoryClip, v: &mut Varispeed, block: usize) -> Vec<f32> {
        let mut out = Vec::new();
        let mut buf = vec![0.0; block];
        loop {
            let (n, ended) = v.read(clip, &mut buf, (&mut None, &mut []));
            out.extend_from_slice(&buf[..n]);
            if ended {
                return out;
            }
            assert_eq!(n, block, "a memory clip never underruns");
        }
    }

    #[test]
    fn unity_speed_yields_the_source_frame_for_frame() {
        let audio: Arc<[f32]> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
        let t = Timeline::whole(Frames(1000)).unwrap();
        let mut clip = MemoryClip::new(audio.clone(), Channels::Mono, t).unwrap();
        let mut v = Varispeed::new(&t, 1, Speed::UNITY, RAMPS);
        let got = play(&mut clip, &mut v, 37);
        assert_eq!(got.len(), 1000);
        // The last frame carries the one-frame final edge ramp.
        assert_eq!(&got[..999], &audio[..999]);
        assert_eq!(got[999], 0.0);
    }

    #[test]
    fn a_faster_voice_ends_sooner_and_tracks_a_ramp_in_any_blocking() {
        // A ramp is reproduced exactly by cubic interpolation: output frame
        // k is source position k·speed.
        let audio: Arc<[f32]> = (0..10_000).map(|i| i as f32).collect();
        let t = Timeline::whole(Frames(10_000)).unwrap();
        let speed = Speed::from_ratio(1.25);
        let mut outs = Vec::new();
        for block in [1, 64, 333] {
            let mut clip = MemoryClip::new(audio.clone(), Channels::Mono, t).unwrap();
            let mut v = Varispeed::new(&t, 1, speed, RAMPS);
            outs.push(play(&mut clip, &mut v, block));
        }
        assert!(
            outs.windows(2).all(|w| w[0] == w[1]),
            "blocking changes nothing"
        );
        let out = &outs[0];
        // 10 000 source frames at 1.25 are 8 000 output frames.
        assert_eq!(out.len(), 8_000);
        for (k, y) in out.iter().enumerate().take(7_990).skip(1) {
            let want = k as f32 * 1.25;
            assert!((y - want).abs() < 1e-2, "frame {k}: {y} vs {want}");
        }
    }

    #[test]
    fn a_speed_change_applies_from_the_next_frame_and_positions_add_up() {
        let audio: Arc<[f32]> = (0..20_000).map(|i| i as f32).collect();
        let t = Timeline::whole(Frames(20_000)).unwrap();
        let mut clip = MemoryClip::new(audio, Channels::Mono, t).unwrap();
        let (slow, fast) = (Speed::from_ratio(0.97), Speed::from_ratio(1.031));
        let mut v = Varispeed::new(&t, 1, slow, RAMPS);
        let mut first = vec![0.0; 1_000];
        assert_eq!(
            v.read(&mut clip, &mut first, (&mut None, &mut [])),
            (1_000, false)
        );
        v.set_speed(fast);
        let mut then = vec![0.0; 1_000];
        assert_eq!(
            v.read(&mut clip, &mut then, (&mut None, &mut [])),
            (1_000, false)
        );
        // Output frame 1 500 sits at 1 000 frames of `slow` then 500 of `fast`.
        let pos = Speed::position_frames(slow.advance(1_000) + fast.advance(500));
        assert!(
            (then[500] as f64 - pos).abs() < 1e-2,
            "{} vs {pos}",
            then[500]
        );
    }

    #[test]
    fn stereo_channels_stay_apart() {
        let audio: Arc<[f32]> = (0..2_000)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let t = Timeline::whole(Frames(1_000)).unwrap();
        let mut clip = MemoryClip::new(audio, Channels::Stereo, t).unwrap();
        let mut v = Varispeed::new(&t, 2, Speed::from_ratio(0.9), RAMPS);
        let mut out = vec![0.0; 200];
        assert_eq!(
            v.read(&mut clip, &mut out, (&mut None, &mut [])),
            (100, false)
        );
        assert!(out
            .chunks(2)
            .all(|f| (f[0] - 1.0).abs() < 1e-6 && (f[1] + 1.0).abs() < 1e-6));
    }

    #[test]
    fn speeds_clamp_to_half_and_double() {
        assert_eq!(Speed::from_ratio(0.1), Speed::MIN);
        assert_eq!(Speed::from_ratio(9.0), Speed::MAX);
        assert_eq!(Speed::from_ratio(f64::NAN), Speed::UNITY);
        assert_eq!(Speed::from_ratio(1.0).ratio(), 1.0);
    }
}
