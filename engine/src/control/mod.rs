//! The command vocabulary: what an operator, a remote or a script can tell a
//! show to do, and when. Every transport (hostctl, OSC, MIDI, the backup link,
//! an offline event list) only translates into these types.

pub mod cues;
mod dispatch;
mod events;
pub mod msc;
pub mod revise;

pub use dispatch::{DispatchError, Dispatcher, ReaderSource};
pub use events::{parse_command, parse_events, At, EventsError, TimedCommand};

use serde::{Deserialize, Serialize};

use crate::show::{ClipId, Group};

/// Something to do to the show.
///
/// Written (JSON lines, event lists, events) with its name in `cmd`:
/// `{"cmd": "go", "clip": "c1"}` — [`Command::to_json`] and
/// [`Command::from_json`]. Its serde form is externally tagged
/// (`{"go": {"clip": "c1", "time": null}}`, every field present, as binary
/// formats such as the API's postcard frames need), carried as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Start a clip from its cue start (with its fade in).
    Go {
        /// The clip.
        clip: ClipId,
        /// Fade-in time in seconds (MSC's TIMED_GO); the clip's own when absent.
        #[serde(default)]
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
        #[serde(default)]
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
        #[serde(default)]
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
        #[serde(default)]
        time: Option<f64>,
    },
    /// Fade a playing clip to a level (house to half, ducking an underscore
    /// under dialogue): every voice of the clip ramps, linear in gain, to
    /// `level_db` in place of the clip's own level, and plays on there. A
    /// later GO of the clip starts at its own level again.
    FadeTo {
        /// The clip.
        clip: ClipId,
        /// The level in dB, −144 (silence) to +12.
        level_db: f64,
        /// Ramp time in seconds; the 1 ms edge fade when absent (or shorter).
        #[serde(default)]
        time: Option<f64>,
    },
    /// Set a group bus's level (its mute and balance stay).
    GroupLevel {
        /// The group: `"A"` to `"D"` (lower case is taken too).
        #[serde(deserialize_with = "group_named", serialize_with = "group_letter")]
        group: Group,
        /// The level in dB, −144 (silence) to +12.
        level_db: f64,
        /// Ramp time in seconds, linear in gain; the 1 ms edge fade when
        /// absent (or shorter).
        #[serde(default)]
        time: Option<f64>,
    },
}

/// A group written as its letter, in every format (so binary formats read
/// back what [`group_named`] reads).
fn group_letter<S: serde::Serializer>(group: &Group, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(group)
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
            | Command::Audition { clip }
            | Command::FadeTo { clip, .. } => Some(clip),
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

    /// The command as it is written: its fields and its name in `cmd`.
    pub fn to_json(&self) -> serde_json::Value {
        let tagged = serde_json::to_value(self).expect("a command always serialises");
        let Some((name, fields)) = tagged.as_object().and_then(|o| o.iter().next()) else {
            return tagged;
        };
        let mut out = serde_json::Map::new();
        out.insert("cmd".into(), name.clone().into());
        if let Some(fields) = fields.as_object() {
            // What is absent is left out, as it is written.
            out.extend(
                fields
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        out.into()
    }

    /// Reads a command as it is written (`{"cmd": "go", "clip": "c1"}`);
    /// the error is the JSON path of what is wrong (`.clip`, or empty) and
    /// what is wrong with it.
    pub fn from_json(value: serde_json::Value) -> Result<Command, (String, String)> {
        let serde_json::Value::Object(mut fields) = value else {
            return Err((String::new(), "a command is a JSON object".into()));
        };
        let name = match fields.remove("cmd") {
            Some(serde_json::Value::String(name)) => name,
            Some(other) => {
                return Err((
                    ".cmd".into(),
                    format!("expected a command name, got {other}"),
                ))
            }
            None => return Err((String::new(), "missing field `cmd`".into())),
        };
        let tagged = serde_json::json!({ name: fields });
        serde_path_to_error::deserialize(tagged).map_err(|e| {
            // The path starts at the command's name; report it from the
            // command's own fields, as they are written.
            let path = e.path().to_string();
            let path = path
                .split_once('.')
                .map_or(String::new(), |(_, rest)| format!(".{rest}"));
            (path, e.into_inner().to_string())
        })
    }

    /// The ranges a command's numbers must keep: a fade, crossfade or ramp
    /// of 0 to 600 s, a group level within the bus's range. The error is
    /// the field and what is wrong with it.
    pub fn check_ranges(&self) -> Result<(), (String, String)> {
        if let Some(t) = self.fade_time() {
            if !(0.0..=crate::show::Fade::MAX_MS / 1000.0).contains(&t) {
                let what = match self {
                    Command::Crossfade { .. } => "a crossfade",
                    Command::GroupLevel { .. } | Command::FadeTo { .. } => "a ramp",
                    _ => "a fade",
                };
                return Err((
                    ".time".into(),
                    format!("{what} of {t} s is outside 0 to 600 s"),
                ));
            }
        }
        if let Command::GroupLevel { level_db, .. } | Command::FadeTo { level_db, .. } = *self {
            let (min, max) = crate::show::OutputBus::LEVEL_DB;
            if !(min..=max).contains(&level_db) {
                return Err((
                    ".level_db".into(),
                    format!("{level_db} dB is outside {min} to +{max} dB"),
                ));
            }
        }
        Ok(())
    }

    /// The time the command gives (a fade, crossfade or ramp), if any.
    pub fn fade_time(&self) -> Option<f64> {
        match self {
            Command::Go { time, .. }
            | Command::FadeOut { time, .. }
            | Command::FadeAll { time }
            | Command::Crossfade { time, .. }
            | Command::GroupLevel { time, .. }
            | Command::FadeTo { time, .. } => *time,
            _ => None,
        }
    }
}
