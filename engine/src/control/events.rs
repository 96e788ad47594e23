//! Timed event lists: a JSON array of commands, each with the moment it
//! applies, as `cueboxd render --events` reads them.
//!
//! ```json
//! [{"at": 1.5, "cmd": "go", "clip": "c1"},
//!  {"at_sample": 144000, "cmd": "fade_out", "clip": "c1", "time": 2.0},
//!  {"at": 5.0, "cmd": "stop_all"}]
//! ```

use std::collections::HashSet;

use serde_json::Value;

use super::Command;
use crate::show::{check_size, ClipId};

/// When a command applies.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum At {
    /// Seconds from the start of the render.
    Seconds(f64),
    /// Frames from the start of the render.
    Sample(u64),
}

impl At {
    /// The frame at which it applies at `rate` frames per second (seconds round to the nearest frame).
    pub fn frame(self, rate: u32) -> u64 {
        match self {
            At::Seconds(s) => (s * f64::from(rate)).round() as u64,
            At::Sample(n) => n,
        }
    }
}

/// A command and when it applies.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedCommand {
    /// When.
    pub at: At,
    /// What.
    pub command: Command,
}

/// Why an event list cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventsError {
    /// Not JSON, too large, or not an array.
    #[error("the event list is not a JSON array of events: {0}")]
    NotAList(String),
    /// A single command is not a JSON object, or too large.
    #[error("the command is not a JSON object: {0}")]
    NotACommand(String),
    /// A single command is wrong.
    #[error("command{path}: {message}")]
    Command {
        /// JSON path inside the command (`.clip`), or empty.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// One event is wrong.
    #[error("events[{index}]{path}: {message}")]
    Event {
        /// Its position in the list.
        index: usize,
        /// JSON path inside the event (`.clip`), or empty.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The longest time an event may name: a day, far beyond any show, so a
/// typo like `1e12` is caught rather than rendered for centuries.
const MAX_SECONDS: f64 = 86_400.0;

/// Reads one command as a live box takes it (a line on its control input):
/// an event whose time is optional — `None` means "as soon as possible".
pub fn parse_command(
    bytes: &[u8],
    clips: &HashSet<&ClipId>,
    rate: u32,
) -> Result<(Option<At>, Command), EventsError> {
    check_size(bytes).map_err(|e| EventsError::NotACommand(e.to_string()))?;
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| EventsError::NotACommand(e.to_string()))?;
    check_event(value, clips, rate)
        .map_err(|(path, message)| EventsError::Command { path, message })
}

/// Checks one event: its fields, its time (if any), that its clip is in
/// `clips` and its fade is in range. The error is (JSON path, message).
fn check_event(
    value: Value,
    clips: &HashSet<&ClipId>,
    rate: u32,
) -> Result<(Option<At>, Command), (String, String)> {
    let bad = |path: &str, message: String| (path.to_owned(), message);
    let Value::Object(mut fields) = value else {
        return Err(bad("", "an event is a JSON object".into()));
    };
    /// Takes the time field `key` out of the event, read as a `T`.
    fn take<T: serde::de::DeserializeOwned>(
        fields: &mut serde_json::Map<String, Value>,
        key: &str,
    ) -> Result<Option<T>, (String, String)> {
        fields
            .remove(key)
            .map(|v| serde_json::from_value(v).map_err(|e| (format!(".{key}"), e.to_string())))
            .transpose()
    }
    let at_seconds: Option<f64> = take(&mut fields, "at")?;
    let at_sample: Option<u64> = take(&mut fields, "at_sample")?;
    let command = Command::from_json(fields.into())?;
    let at = match (at_seconds, at_sample) {
        (Some(s), None) if (0.0..=MAX_SECONDS).contains(&s) => Some(At::Seconds(s)),
        (Some(s), None) => {
            return Err(bad(".at", format!("{s} s is outside 0 to {MAX_SECONDS} s")))
        }
        (None, Some(n)) if n <= (MAX_SECONDS as u64) * u64::from(rate) => Some(At::Sample(n)),
        (None, Some(n)) => {
            return Err(bad(
                ".at_sample",
                format!("sample {n} is more than a day away"),
            ))
        }
        (None, None) => None,
        (Some(_), Some(_)) => return Err(bad("", "give \"at\" or \"at_sample\", not both".into())),
    };
    for (field, clip) in command.clips() {
        if !clips.contains(clip) {
            return Err(bad(
                &format!(".{field}"),
                format!("clip \"{clip}\" is not in the session"),
            ));
        }
    }
    command.check_ranges()?;
    Ok((at, command))
}

/// Reads an event list, checking every event and that every clip it names
/// is in `clips`. Events come back in time order (ties keep the file's order).
pub fn parse_events(
    bytes: &[u8],
    clips: &HashSet<&ClipId>,
    rate: u32,
) -> Result<Vec<TimedCommand>, EventsError> {
    check_size(bytes).map_err(|e| EventsError::NotAList(e.to_string()))?;
    let list: Vec<Value> =
        serde_json::from_slice(bytes).map_err(|e| EventsError::NotAList(e.to_string()))?;
    let mut events = Vec::with_capacity(list.len());
    for (index, value) in list.into_iter().enumerate() {
        let bad = |(path, message)| EventsError::Event {
            index,
            path,
            message,
        };
        let (at, command) = check_event(value, clips, rate).map_err(bad)?;
        let at = at.ok_or_else(|| {
            bad((
                String::new(),
                "give the time as \"at\" (seconds) or \"at_sample\"".into(),
            ))
        })?;
        events.push(TimedCommand { at, command });
    }
    events.sort_by_key(|e| e.at.frame(rate));
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<ClipId> {
        vec!["c1".parse().unwrap(), "c2".parse().unwrap()]
    }

    fn parse(json: &str) -> Result<Vec<TimedCommand>, EventsError> {
        let ids = ids();
        parse_events(json.as_bytes(), &ids.iter().collect(), 48_000)
    }

    #[test]
    fn every_command_reads_and_events_come_back_in_time_order() {
        let events = parse(
            r#"[
            {"at": 5.0, "cmd": "stop_all"},
            {"at": 1.5, "cmd": "go", "clip": "c1"},
            {"at_sample": 144000, "cmd": "fade_out", "clip": "c1", "time": 2.0},
            {"at": 3.0, "cmd": "stop", "clip": "c2"},
            {"at": 4.0, "cmd": "fade_out", "clip": "c2"},
            {"at": 4.5, "cmd": "fade_all", "time": 1},
            {"at": 6.0, "cmd": "audition", "clip": "c2"},
            {"at": 6.5, "cmd": "stop_audition"},
            {"at": 7.0, "cmd": "panic"},
            {"at": 8.0, "cmd": "crossfade", "from": "c1", "to": "c2", "time": 1.5},
            {"at": 8.5, "cmd": "crossfade", "from": "c2", "to": "c2"},
            {"at": 9.0, "cmd": "group_level", "group": "B", "level_db": -6.5, "time": 2},
            {"at": 9.5, "cmd": "group_level", "group": "D", "level_db": -144}
        ]"#,
        )
        .unwrap();
        let frames: Vec<u64> = events.iter().map(|e| e.at.frame(48_000)).collect();
        assert_eq!(
            frames,
            [
                72_000, 144_000, 144_000, 192_000, 216_000, 240_000, 288_000, 312_000, 336_000,
                384_000, 408_000, 432_000, 456_000
            ]
        );
        let c = |s: &str| s.parse::<ClipId>().unwrap();
        assert_eq!(
            events[9].command,
            Command::Crossfade {
                from: c("c1"),
                to: c("c2"),
                time: Some(1.5)
            }
        );
        assert_eq!(
            events[10].command,
            Command::Crossfade {
                from: c("c2"),
                to: c("c2"),
                time: None
            }
        );
        assert_eq!(
            events[11].command,
            Command::GroupLevel {
                group: crate::show::Group::B,
                level_db: -6.5,
                time: Some(2.0)
            }
        );
        assert_eq!(
            events[12].command,
            Command::GroupLevel {
                group: crate::show::Group::D,
                level_db: -144.0,
                time: None
            }
        );
        // What goes in comes out: the commands write back as they were read.
        assert_eq!(
            events[9].command.to_json(),
            serde_json::json!({"cmd": "crossfade", "from": "c1", "to": "c2", "time": 1.5})
        );
        assert_eq!(
            events[12].command.to_json(),
            serde_json::json!({"cmd": "group_level", "group": "D", "level_db": -144.0})
        );
        assert_eq!(
            events[1].command,
            Command::FadeOut {
                clip: "c1".parse().unwrap(),
                time: Some(2.0)
            }
        );
        assert_eq!(
            events[2].command,
            Command::Stop {
                clip: "c2".parse().unwrap()
            }
        );
        assert_eq!(events[8].command, Command::Panic {});
    }

    #[test]
    fn a_bad_event_is_named_by_its_index_and_field() {
        let cases = [
            (r#"{"at": 1}"#, "the event list is not a JSON array"),
            (
                r#"[{"at": 1, "cmd": "go", "clip": "c9"}]"#,
                "events[0].clip: clip \"c9\" is not in the session",
            ),
            (
                r#"[{"at": 1, "cmd": "go", "clip": "c1"}, {"cmd": "stop_all"}]"#,
                "events[1]: give the time as \"at\" (seconds) or \"at_sample\"",
            ),
            (
                r#"[{"at": 1, "at_sample": 5, "cmd": "stop_all"}]"#,
                "not both",
            ),
            (
                r#"[{"at": -1, "cmd": "stop_all"}]"#,
                "events[0].at: -1 s is outside",
            ),
            (
                r#"[{"at": 1e12, "cmd": "stop_all"}]"#,
                "events[0].at: 1000000000000 s is outside",
            ),
            (
                r#"[{"at": 1, "cmd": "explode"}]"#,
                "unknown variant `explode`",
            ),
            (r#"[{"at": 1, "cmd": "go"}]"#, "missing field `clip`"),
            (
                r#"[{"at": 1, "cmd": "fade_out", "clip": "c1", "time": 9999}]"#,
                "events[0].time: a fade of 9999 s",
            ),
            (r#"[{"at": "soon", "cmd": "stop_all"}]"#, "events[0]"),
            (
                r#"[{"at": 1, "cmd": "stop_all", "volume": 3}]"#,
                "unknown field `volume`",
            ),
            (
                r#"[{"at": 1, "cmd": "crossfade", "from": "c9", "to": "c1"}]"#,
                "events[0].from: clip \"c9\" is not in the session",
            ),
            (
                r#"[{"at": 1, "cmd": "crossfade", "from": "c1", "to": "c9"}]"#,
                "events[0].to: clip \"c9\" is not in the session",
            ),
            (
                r#"[{"at": 1, "cmd": "crossfade", "from": "c1"}]"#,
                "missing field `to`",
            ),
            (
                r#"[{"at": 1, "cmd": "crossfade", "from": "c1", "to": "c2", "time": 601}]"#,
                "events[0].time: a crossfade of 601 s is outside 0 to 600 s",
            ),
            (
                r#"[{"at": 1, "cmd": "crossfade", "clip": "c1", "to": "c2"}]"#,
                "unknown field `clip`",
            ),
            (
                r#"[{"at": 1, "cmd": "group_level", "group": "E", "level_db": 0}]"#,
                "events[0].group: group \"E\" does not exist: use A, B, C or D",
            ),
            (
                r#"[{"at": 1, "cmd": "group_level", "group": "A"}]"#,
                "missing field `level_db`",
            ),
            (
                r#"[{"at": 1, "cmd": "group_level", "group": "A", "level_db": 20}]"#,
                "events[0].level_db: 20 dB is outside -144 to +12 dB",
            ),
            (
                r#"[{"at": 1, "cmd": "group_level", "group": "A", "level_db": -6, "time": -1}]"#,
                "events[0].time: a ramp of -1 s is outside 0 to 600 s",
            ),
            (
                r#"[{"at": 1, "cmd": "group_level", "group": "A", "level_db": "loud"}]"#,
                "events[0].level_db: invalid type: string \"loud\", expected f64",
            ),
            (
                r#"[{"at": 1, "cmd": "fade_to", "clip": "c1", "level_db": 13}]"#,
                "events[0].level_db: 13 dB is outside -144 to +12 dB",
            ),
            (
                r#"[{"at": 1, "cmd": "fade_to", "clip": "c1", "level_db": -6, "time": 700}]"#,
                "events[0].time: a ramp of 700 s is outside 0 to 600 s",
            ),
            (
                r#"[{"at": 1, "cmd": "fade_to", "clip": "c9", "level_db": -6}]"#,
                "clip \"c9\" is not in the session",
            ),
        ];
        for (json, want) in cases {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains(want), "{json}: want {want:?}, got {err:?}");
        }
    }

    #[test]
    fn a_live_command_may_omit_its_time_and_is_checked_like_an_event() {
        let ids = ids();
        let ids: HashSet<&ClipId> = ids.iter().collect();
        let now = parse_command(br#"{"cmd": "go", "clip": "c1"}"#, &ids, 48_000).unwrap();
        assert_eq!(
            now,
            (
                None,
                Command::Go {
                    clip: "c1".parse().unwrap(),
                    time: None,
                }
            )
        );
        let later = parse_command(br#"{"at_sample": 96000, "cmd": "panic"}"#, &ids, 48_000);
        assert_eq!(
            later.unwrap(),
            (Some(At::Sample(96_000)), Command::Panic {})
        );
        let level = br#"{"cmd": "group_level", "group": "b", "level_db": -3}"#;
        assert_eq!(
            parse_command(level, &ids, 48_000).unwrap(),
            (
                None,
                Command::GroupLevel {
                    group: crate::show::Group::B,
                    level_db: -3.0,
                    time: None
                }
            ),
            "a group's letter in lower case is taken"
        );
        let duck = br#"{"cmd": "fade_to", "clip": "c1", "level_db": -10, "time": 2}"#;
        let (_, duck) = parse_command(duck, &ids, 48_000).unwrap();
        assert_eq!(
            duck,
            Command::FadeTo {
                clip: "c1".parse().unwrap(),
                level_db: -10.0,
                time: Some(2.0)
            }
        );
        assert_eq!(
            duck.to_json(),
            serde_json::json!({"cmd": "fade_to", "clip": "c1", "level_db": -10.0, "time": 2.0}),
            "a fade to writes back as it was read"
        );
        let unknown = parse_command(br#"{"cmd": "go", "clip": "c9"}"#, &ids, 48_000).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "command.clip: clip \"c9\" is not in the session"
        );
        let junk = parse_command(b"go c1", &ids, 48_000).unwrap_err();
        assert!(
            junk.to_string()
                .starts_with("the command is not a JSON object"),
            "{junk}"
        );
    }
}
