//! The renderer's units: positions on its clock, durations, and the names of
//! voices and clips.

use std::fmt;

use crate::dsp::fade::ms_to_frames;

/// A position on the renderer's clock: frames since it started (the first
/// frame `process` ever renders is `SamplePos(0)`). Every command carries the
/// one at which it applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SamplePos(pub u64);

impl SamplePos {
    /// This position moved `frames` later.
    pub fn after(self, frames: FrameCount) -> SamplePos {
        SamplePos(self.0.saturating_add(frames.0))
    }

    /// The position `frames` (a block offset) later.
    pub(crate) fn offset(self, frames: usize) -> SamplePos {
        SamplePos(self.0 + frames as u64)
    }
}

impl fmt::Display for SamplePos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {}", self.0)
    }
}

/// A duration in frames at the engine rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameCount(pub u64);

impl FrameCount {
    /// `ms` milliseconds at `rate` frames per second, to the nearest frame.
    pub fn from_ms(ms: f64, rate: u32) -> FrameCount {
        FrameCount(ms_to_frames(ms, rate))
    }

    /// `secs` seconds at `rate` frames per second, to the nearest frame.
    pub fn from_secs(secs: f64, rate: u32) -> FrameCount {
        FrameCount(ms_to_frames(secs * 1000.0, rate))
    }
}

/// One playback of a clip, named by whoever starts it. Events name voices by
/// it, and stop and fade commands can address it. Ids must be unique among
/// the voices playing at once; a start reusing a playing id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoiceId(pub u64);

impl fmt::Display for VoiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "voice {}", self.0)
    }
}

/// The clip a voice plays, as the caller numbers its clips (for example the
/// clip's index in the show). Lets a command address every voice of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClipTag(pub u32);

impl fmt::Display for ClipTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "clip #{}", self.0)
    }
}
