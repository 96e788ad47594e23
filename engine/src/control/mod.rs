//! The command vocabulary: what an operator, a remote or a script can tell a
//! show to do, and when. Every transport (hostctl, OSC, MIDI, the backup link,
//! an offline event list) only translates into these types.

pub mod cues;
mod dispatch;
mod events;
pub mod msc;

pub use dispatch::{DispatchError, Dispatcher, ReaderSource};
pub use events::{parse_command, parse_events, At, EventsError, TimedCommand};

use serde::{Deserialize, Serialize};

use crate::show::ClipId;

/// Something to do to the show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Start a clip from its cue start (with its fade in).
    Go {
        /// The clip.
        clip: ClipId,
        /// Fade-in time in seconds (MSC's TIMED_GO); the clip's own when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<f64>,
    },
    /// Stop a clip at once (with the 1 ms edge fade).
    Stop {
        /// The clip.
        clip: ClipId,
    },
    /// Fade a clip out and stop it.
    FadeOut {
        /// The clip.
        clip: ClipId,
        /// Fade time in seconds; the clip's own (or the session's) fade out when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<f64>,
    },
    /// Pause a clip: it falls silent over the 1 ms edge and holds its place.
    Pause {
        /// The clip.
        clip: ClipId,
    },
    /// Resume a paused clip where it paused.
    Resume {
        /// The clip.
        clip: ClipId,
    },
    /// Pause every playing clip of groups A–D.
    PauseAll {},
    /// Resume every paused clip of groups A–D.
    ResumeAll {},
    /// Fade every playing clip of groups A–D out and stop it.
    FadeAll {
        /// Fade time in seconds; the session's default fade out when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<f64>,
    },
    /// Stop every clip of groups A–D (with the 1 ms edge fade).
    // Variants without data are written `{}` so unknown fields are refused for them too.
    StopAll {},
    /// Stop everything, audition included, at once.
    Panic {},
    /// Play a clip on the audition bus (replacing what auditions there).
    Audition {
        /// The clip.
        clip: ClipId,
    },
    /// Stop the audition bus.
    StopAudition {},
}

impl Command {
    /// The clip the command names, if it names one.
    pub fn clip(&self) -> Option<&ClipId> {
        match self {
            Command::Go { clip, .. }
            | Command::Stop { clip }
            | Command::FadeOut { clip, .. }
            | Command::Pause { clip }
            | Command::Resume { clip }
            | Command::Audition { clip } => Some(clip),
            Command::PauseAll {}
            | Command::ResumeAll {}
            | Command::FadeAll { .. }
            | Command::StopAll {}
            | Command::Panic {}
            | Command::StopAudition {} => None,
        }
    }

    /// The fade time the command gives, if any.
    pub fn fade_time(&self) -> Option<f64> {
        match self {
            Command::Go { time, .. }
            | Command::FadeOut { time, .. }
            | Command::FadeAll { time } => *time,
            _ => None,
        }
    }
}
