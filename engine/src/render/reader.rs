//! The seam between a voice and its audio: [`ClipReader`], the
//! [`Timeline`] that says what a reader yields, and [`MemoryClip`], the
//! in-memory reader used by tests and the offline render.
//!
//! **Loops are the reader's job.** A reader yields the clip's *playback
//! sequence*: from the cue start to the loop end, then the loop again and
//! again (forever), or from the cue start to the cue end when the clip does
//! not loop. The render thread therefore never seeks: a streaming reader's
//! butler simply decodes that sequence into its ring buffer, wrapping at the
//! loop end. The renderer learns the same sequence from
//! [`ClipReader::timeline`] and counts the frames it has been given, so it
//! knows the exact frame of every cue and loop point and puts the protection
//! fades (and the loop seam's crossfade) there.

use std::sync::Arc;

use crate::show::{Channels, Clip, Frames};

/// A voice's audio, as the render thread pulls it.
///
/// Implementations must be real-time safe in [`read`](Self::read): no
/// allocation, no lock that another thread holds for long, no blocking, no
/// system calls. A streaming implementation (butler + ring buffer) returns
/// what is buffered and nothing more.
pub trait ClipReader: Send {
    /// Mono or stereo: the frames [`read`](Self::read) writes have this many
    /// samples. Must not change.
    fn channels(&self) -> Channels;

    /// The playback sequence this reader yields, at the engine rate. Must not
    /// change.
    fn timeline(&self) -> Timeline;

    /// Writes the next frames of the playback sequence into `out`
    /// (interleaved, `out.len() / channels` frames at most) and returns how
    /// many it wrote. The renderer never asks past the end of the sequence,
    /// so fewer frames than asked means the audio is not ready: the voice
    /// plays silence for the rest and reports an underrun; the next call
    /// continues where this one stopped.
    fn read(&mut self, out: &mut [f32]) -> usize;
}

/// A boxed reader, as commands carry it and the renderer hands it back.
pub type BoxedReader = Box<dyn ClipReader>;

/// Why a [`Timeline`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    /// The audio has no frames.
    #[error("the audio has no frames")]
    Empty,
    /// The cue start is not before the cue end.
    #[error("the cue starts at {start} but ends at {end}: the start must come first")]
    CueOrder {
        /// Cue start.
        start: Frames,
        /// Cue end.
        end: Frames,
    },
    /// The cue end is past the end of the audio.
    #[error("the cue ends at {end}, past the end of the audio ({length} frames)")]
    CuePastEnd {
        /// Cue end.
        end: Frames,
        /// Audio length.
        length: Frames,
    },
    /// The loop is empty or not inside the cue range.
    #[error("the loop {start}..{end} is empty or not inside the cue range {cue_start}..{cue_end}")]
    Loop {
        /// Loop start.
        start: Frames,
        /// Loop end.
        end: Frames,
        /// Cue start.
        cue_start: Frames,
        /// Cue end.
        cue_end: Frames,
    },
    /// A sample rate of 0.
    #[error("a sample rate of 0")]
    Rate,
}

/// What a reader yields, in frames of its audio at the engine rate: the cue
/// range, the loop, and the audio's whole length (so the renderer knows
/// whether a cue marker cuts into the audio and needs an edit-point fade).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    length: u64,
    start: u64,
    end: u64,
    looped: Option<(u64, u64)>,
}

impl Timeline {
    /// A timeline over audio of `length` frames, playing `start..end`
    /// (`end` `None` = to the end of the audio), looping `loop_region`
    /// (start, end) when given. The loop must lie inside the cue range.
    pub fn new(
        length: Frames,
        start: Frames,
        end: Option<Frames>,
        loop_region: Option<(Frames, Frames)>,
    ) -> Result<Self, TimelineError> {
        if length.0 == 0 {
            return Err(TimelineError::Empty);
        }
        let end = end.unwrap_or(length);
        if end > length {
            return Err(TimelineError::CuePastEnd { end, length });
        }
        if start >= end {
            return Err(TimelineError::CueOrder { start, end });
        }
        if let Some((ls, le)) = loop_region {
            if ls < start || ls >= le || le > end {
                return Err(TimelineError::Loop {
                    start: ls,
                    end: le,
                    cue_start: start,
                    cue_end: end,
                });
            }
        }
        Ok(Timeline {
            length: length.0,
            start: start.0,
            end: end.0,
            looped: loop_region.map(|(s, e)| (s.0, e.0)),
        })
    }

    /// All of `length` frames, once.
    pub fn whole(length: Frames) -> Result<Self, TimelineError> {
        Timeline::new(length, Frames(0), None, None)
    }

    /// A clip's cue range and (enabled) loop, converted from the file's rate
    /// to `engine_rate`: the length with [`scale_length`] (as the media
    /// decoder counts its output), markers with [`scale_frames`].
    pub fn from_clip(clip: &Clip, engine_rate: u32) -> Result<Self, TimelineError> {
        let file_rate = clip.audio.format.sample_rate;
        if file_rate == 0 || engine_rate == 0 {
            return Err(TimelineError::Rate);
        }
        let s = |f: Frames| Frames(scale_frames(f.0, file_rate, engine_rate));
        let p = &clip.processing;
        let loop_region = p
            .loop_region
            .as_ref()
            .filter(|l| l.enabled)
            .map(|l| (s(l.start), s(l.end)));
        let length = scale_length(clip.audio.format.frames.0, file_rate, engine_rate);
        Timeline::new(
            Frames(length),
            s(p.cue.start),
            p.cue.end.map(s),
            loop_region,
        )
    }

    /// The sequence from its `index`-th frame on (loops included): what a
    /// voice joining mid-way, such as a chasing clip, plays. `None` past the
    /// end of a sequence that does not loop.
    pub fn from_index(&self, index: u64) -> Option<Timeline> {
        let Frames(start) = self.source_frame(index)?;
        // The loop may now begin before the start: the first pass runs from
        // the start to the loop end, then the loop repeats as before.
        Some(Timeline { start, ..*self })
    }

    /// Frames of the whole audio.
    pub fn length(&self) -> Frames {
        Frames(self.length)
    }

    /// First frame played.
    pub fn start(&self) -> Frames {
        Frames(self.start)
    }

    /// Frame at which playback ends (never reached when it loops).
    pub fn end(&self) -> Frames {
        Frames(self.end)
    }

    /// The loop (start, end), if the clip loops.
    pub fn loop_region(&self) -> Option<(Frames, Frames)> {
        self.looped.map(|(s, e)| (Frames(s), Frames(e)))
    }

    /// Frames in the whole playback sequence; `None` when it loops forever.
    pub fn sequence_len(&self) -> Option<u64> {
        match self.looped {
            Some(_) => None,
            None => Some(self.end - self.start),
        }
    }

    /// Frames from the cue start to the first jump (the loop end) or the end.
    pub(crate) fn first_segment(&self) -> u64 {
        self.looped.map_or(self.end, |(_, le)| le) - self.start
    }

    /// Frames of one loop pass, if the clip loops.
    pub(crate) fn loop_len(&self) -> Option<u64> {
        self.looped.map(|(ls, le)| le - ls)
    }

    /// Whether the cue start cuts into the audio (an edit point).
    pub fn cuts_in(&self) -> bool {
        self.start > 0
    }

    /// Whether the cue end cuts the audio short (an edit point).
    pub fn cuts_out(&self) -> bool {
        self.end < self.length
    }

    /// The audio frame the `n`-th frame (from 0) of the playback sequence
    /// comes from; `None` past the end of a sequence that does not loop.
    pub fn source_frame(&self, n: u64) -> Option<Frames> {
        let first = self.first_segment();
        if n < first {
            return Some(Frames(self.start + n));
        }
        let (ls, le) = self.looped?;
        Some(Frames(ls + (n - first) % (le - ls)))
    }
}

/// A position of `frames` at `from_rate` expressed at `to_rate`, rounded to
/// the nearest frame (halves up): how cue and loop markers convert.
pub fn scale_frames(frames: u64, from_rate: u32, to_rate: u32) -> u64 {
    if from_rate == to_rate || from_rate == 0 {
        return frames;
    }
    let (f, to, from) = (
        u128::from(frames),
        u128::from(to_rate),
        u128::from(from_rate),
    );
    let scaled = (f * to + from / 2) / from;
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// The length of `frames` of audio at `from_rate` once converted to
/// `to_rate`: `⌈frames · to / from⌉`, the frame count the media decoder
/// (`media::ClipDecoder::frames`) yields, so a cue running to the end of a
/// resampled file ends on its last frame.
pub fn scale_length(frames: u64, from_rate: u32, to_rate: u32) -> u64 {
    if from_rate == to_rate || from_rate == 0 {
        return frames;
    }
    let scaled = (u128::from(frames) * u128::from(to_rate)).div_ceil(u128::from(from_rate));
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// Why a [`MemoryClip`] cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryClipError {
    /// The sample count is not the timeline's length times the channels.
    #[error("{samples} samples do not make {frames} frames of {channels} channel(s)")]
    Length {
        /// Samples given.
        samples: usize,
        /// Frames the timeline expects.
        frames: u64,
        /// Channels.
        channels: u16,
    },
    /// The timeline is invalid.
    #[error(transparent)]
    Timeline(#[from] TimelineError),
}

/// A clip held entirely in memory: interleaved samples at the engine rate,
/// shared (`Arc`) so many voices can play one clip without copying it.
/// Yields the playback sequence of its [`Timeline`], loops included.
#[derive(Debug, Clone)]
pub struct MemoryClip {
    audio: Arc<[f32]>,
    channels: Channels,
    timeline: Timeline,
    /// The audio frame the next read starts at.
    pos: u64,
    /// Frames of a non-looping sequence still to yield.
    left: Option<u64>,
}

impl MemoryClip {
    /// A reader of `audio` (interleaved, `timeline.length()` frames) playing
    /// `timeline`.
    pub fn new(
        audio: Arc<[f32]>,
        channels: Channels,
        timeline: Timeline,
    ) -> Result<Self, MemoryClipError> {
        let ch = channels.count();
        if audio.len() as u64 != timeline.length * u64::from(ch) {
            return Err(MemoryClipError::Length {
                samples: audio.len(),
                frames: timeline.length,
                channels: ch,
            });
        }
        Ok(MemoryClip {
            audio,
            channels,
            pos: timeline.start,
            left: timeline.sequence_len(),
            timeline,
        })
    }

    /// A reader playing all of `audio` once.
    pub fn whole(audio: Arc<[f32]>, channels: Channels) -> Result<Self, MemoryClipError> {
        let frames = audio.len() as u64 / u64::from(channels.count());
        MemoryClip::new(audio, channels, Timeline::whole(Frames(frames))?)
    }
}

impl ClipReader for MemoryClip {
    fn channels(&self) -> Channels {
        self.channels
    }

    fn timeline(&self) -> Timeline {
        self.timeline
    }

    fn read(&mut self, out: &mut [f32]) -> usize {
        let ch = usize::from(self.channels.count());
        let mut want = (out.len() / ch) as u64;
        if let Some(left) = self.left {
            want = want.min(left);
        }
        let mut done = 0u64;
        while done < want {
            let seg_end = self.timeline.looped.map_or(self.timeline.end, |(_, e)| e);
            let n = (want - done).min(seg_end - self.pos);
            let (from, to) = (self.pos as usize * ch, (done * ch as u64) as usize);
            let len = n as usize * ch;
            out[to..to + len].copy_from_slice(&self.audio[from..from + len]);
            self.pos += n;
            done += n;
            if let (Some((ls, le)), true) = (self.timeline.looped, self.pos == seg_end) {
                debug_assert_eq!(le, seg_end);
                self.pos = ls;
            }
        }
        if let Some(left) = &mut self.left {
            *left -= done;
        }
        done as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(n: usize) -> Arc<[f32]> {
        (0..n).map(|i| i as f32).collect()
    }

    /// Ten frames played from 1, looping 3..6 inside a cue ending at 9.
    fn cue_and_loop() -> Timeline {
        Timeline::new(
            Frames(10),
            Frames(1),
            Some(Frames(9)),
            Some((Frames(3), Frames(6))),
        )
        .unwrap()
    }

    #[test]
    fn a_memory_clip_yields_cue_then_loop_forever_in_any_chunking() {
        let t = cue_and_loop();
        let expected: Vec<f32> = (0..40)
            .map(|n| t.source_frame(n).unwrap().0 as f32)
            .collect();
        assert_eq!(&expected[..9], &[1., 2., 3., 4., 5., 3., 4., 5., 3.]);
        for chunk in [1, 2, 3, 7, 40] {
            let mut clip = MemoryClip::new(ramp(10), Channels::Mono, t).unwrap();
            let mut got = Vec::new();
            while got.len() < 40 {
                let mut buf = vec![0.0; chunk.min(40 - got.len())];
                let n = clip.read(&mut buf);
                assert_eq!(n, buf.len());
                got.extend_from_slice(&buf);
            }
            assert_eq!(got, expected, "chunk {chunk}");
        }
    }

    #[test]
    fn a_sequence_joined_mid_way_continues_as_the_whole_one_does() {
        let t = cue_and_loop();
        for index in [0, 1, 3, 4, 7, 30] {
            let joined = t.from_index(index).unwrap();
            let mut clip = MemoryClip::new(ramp(10), Channels::Mono, joined).unwrap();
            let mut got = [0.0; 12];
            assert_eq!(clip.read(&mut got), 12);
            let want: Vec<f32> = (index..index + 12)
                .map(|n| t.source_frame(n).unwrap().0 as f32)
                .collect();
            assert_eq!(got.as_slice(), want.as_slice(), "joined at {index}");
        }
        let once = Timeline::new(Frames(10), Frames(2), None, None).unwrap();
        assert_eq!(once.from_index(7).map(|t| t.sequence_len()), Some(Some(1)));
        assert_eq!(once.from_index(8), None);
    }

    #[test]
    fn a_memory_clip_stops_at_the_cue_end() {
        let t = Timeline::new(Frames(5), Frames(1), Some(Frames(4)), None).unwrap();
        let mut clip = MemoryClip::new(ramp(10), Channels::Stereo, t).unwrap();
        let mut buf = [0.0; 10];
        assert_eq!(clip.read(&mut buf), 3);
        assert_eq!(&buf[..6], &[2., 3., 4., 5., 6., 7.]);
        assert_eq!(clip.read(&mut buf), 0);
    }

    #[test]
    fn bad_timelines_and_lengths_are_refused() {
        let f = Frames;
        assert_eq!(Timeline::whole(f(0)), Err(TimelineError::Empty));
        assert!(matches!(
            Timeline::new(f(10), f(5), Some(f(5)), None),
            Err(TimelineError::CueOrder { .. })
        ));
        assert!(matches!(
            Timeline::new(f(10), f(0), Some(f(11)), None),
            Err(TimelineError::CuePastEnd { .. })
        ));
        assert!(matches!(
            Timeline::new(f(10), f(2), None, Some((f(1), f(5)))),
            Err(TimelineError::Loop { .. })
        ));
        assert!(matches!(
            MemoryClip::new(ramp(9), Channels::Stereo, Timeline::whole(f(5)).unwrap()),
            Err(MemoryClipError::Length { .. })
        ));
    }

    #[test]
    fn markers_scale_to_the_engine_rate() {
        assert_eq!(scale_frames(44_100, 44_100, 48_000), 48_000);
        assert_eq!(scale_frames(1, 44_100, 48_000), 1);
        assert_eq!(scale_frames(96_000, 96_000, 48_000), 48_000);
        assert_eq!(scale_frames(3, 96_000, 48_000), 2);
        assert_eq!(scale_length(3, 96_000, 48_000), 2);
        assert_eq!(scale_length(1, 48_000, 44_100), 1);
        assert_eq!(scale_length(44_101, 44_100, 48_000), 48_002);
        assert_eq!(scale_frames(44_101, 44_100, 48_000), 48_001);
    }
}
