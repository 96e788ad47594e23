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

use crate::show::{ClipId, Group};

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
    /// Crossfade from one clip to another: `to` starts while every voice
    /// of `from` fades out under it with the complementary gain, over the
    /// same frames (power-complementary, the curve of `to`'s crossfade).
    Crossfade {
        /// The clip fading out.
        from: ClipId,
        /// The clip starting.
        to: ClipId,
        /// Crossfade time in seconds; `to`'s own (or the session's)
        /// crossfade when absent. 0 is a cut with the 1 ms edge fades.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<f64>,
    },
    /// Set a group bus's level (its mute and balance stay).
    GroupLevel {
        /// The group: `"A"` to `"D"` (lower case is taken too).
        #[serde(deserialize_with = "group_named")]
        group: Group,
        /// The level in dB, −144 (silence) to +12.
        level_db: f64,
        /// Ramp time in seconds, linear in gain; the 1 ms edge fade when
        /// absent (or shorter).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<f64>,
    },
}

/// A group by its letter, refused with the groups there are (serde's own
/// message would not say the field is a group).
fn group_named<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Group, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map_err(serde::de::Error::custom)
}

impl Command {
    /// The clip the command plays or acts on, if it names one: for a
    /// crossfade, the clip it starts (`to`). [`clips`](Self::clips) gives
    /// every clip a command names.
    pub fn clip(&self) -> Option<&ClipId> {
        match self {
            Command::Go { clip, .. }
            | Command::Stop { clip }
            | Command::FadeOut { clip, .. }
            | Command::Pause { clip }
            | Command::Resume { clip }
            | Command::Audition { clip } => Some(clip),
            Command::Crossfade { to, .. } => Some(to),
            Command::PauseAll {}
            | Command::ResumeAll {}
            | Command::FadeAll { .. }
            | Command::StopAll {}
            | Command::Panic {}
            | Command::StopAudition {}
            | Command::GroupLevel { .. } => None,
        }
    }

    /// Every clip the command names, each with the field that names it
    /// (`"clip"`, `"from"`, `"to"`): what must be in the session for the
    /// command to be taken.
    pub fn clips(&self) -> impl Iterator<Item = (&'static str, &ClipId)> {
        let (first, second) = match self {
            Command::Crossfade { from, to, .. } => (Some(("from", from)), Some(("to", to))),
            other => (other.clip().map(|c| ("clip", c)), None),
        };
        first.into_iter().chain(second)
    }

    /// The time the command gives (a fade, crossfade or ramp), if any.
    pub fn fade_time(&self) -> Option<f64> {
        match self {
            Command::Go { time, .. }
            | Command::FadeOut { time, .. }
            | Command::FadeAll { time }
            | Command::Crossfade { time, .. }
            | Command::GroupLevel { time, .. } => *time,
            _ => None,
        }
    }
}
