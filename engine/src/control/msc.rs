//! MIDI Show Control (MSC, the MMA's RP-002): the sysex messages a show
//! controller or a lighting desk sends to fire cues. Parsing is pure and
//! bounded; the box's MIDI and UDP inputs hand it bytes.
//!
//! ```text
//! F0 7F <device> 02 <format> <command> <data…> F7
//! ```
//!
//! The commands a playback box acts on: GO, STOP, RESUME, TIMED_GO, LOAD,
//! ALL_OFF and RESET. Cue data is up to three ASCII fields (number, list,
//! path) of digits and dots, separated by 00.

use std::fmt;

/// The device id that addresses every device (all-call).
pub const ALL_CALL: u8 = 0x7F;

/// An MSC message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The device id it is for: 0–0x6F a device, 0x70–0x7E a group, 0x7F all.
    pub device: u8,
    /// The command format (0x01 lighting, 0x10–0x1F sound, 0x40 projection, 0x7F all types…).
    pub format: u8,
    /// What to do.
    pub command: Command,
}

/// A cue as MSC names it; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cue {
    /// The cue number (`"12"`, `"3.5"`); none means "the next cue".
    pub number: Option<String>,
    /// The cue list.
    pub list: Option<String>,
    /// The cue path.
    pub path: Option<String>,
}

/// An MSC time: hours, minutes, seconds, frames, fractional frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    /// Hours (the rate bits of the first byte removed).
    pub hours: u8,
    /// Minutes.
    pub minutes: u8,
    /// Seconds.
    pub seconds: u8,
    /// Frames.
    pub frames: u8,
    /// Hundredths of a frame.
    pub fraction: u8,
}

impl Time {
    /// The time in seconds at `fps` frames per second.
    pub fn seconds(&self, fps: f64) -> f64 {
        f64::from(self.hours) * 3600.0
            + f64::from(self.minutes) * 60.0
            + f64::from(self.seconds)
            + (f64::from(self.frames) + f64::from(self.fraction) / 100.0) / fps
    }
}

/// The commands a playback box acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Go (the cue, or the next one).
    Go(Cue),
    /// Stop (the cue, or everything).
    Stop(Cue),
    /// Resume what was stopped.
    Resume(Cue),
    /// Go with a fade or delay time.
    TimedGo(Time, Cue),
    /// Make the cue the next one.
    Load(Cue),
    /// Silence every output.
    AllOff,
    /// Stop everything and return to the top.
    Reset,
}

/// Why bytes are not an MSC message the box acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MscError {
    /// Not `F0 7F … 02 … F7`.
    #[error("not an MSC message (expected F0 7F <device> 02 <format> <command> … F7)")]
    NotMsc,
    /// Longer than any MSC message may be.
    #[error("an MSC message is at most 128 bytes; this one has {0}")]
    TooLong(usize),
    /// A command the box does not act on.
    #[error("MSC command {0:#04x} is not one a playback box acts on (GO, STOP, RESUME, TIMED_GO, LOAD, ALL_OFF, RESET)")]
    Unsupported(u8),
    /// Cue data that is not digits and dots.
    #[error(
        "MSC cue data holds byte {0:#04x}; cue numbers, lists and paths are ASCII digits and dots"
    )]
    BadCue(u8),
    /// A TIMED_GO without its five time bytes, or with a value out of range.
    #[error(
        "MSC TIMED_GO needs five time bytes (hours, minutes, seconds, frames, fractions) in range"
    )]
    BadTime,
    /// LOAD without a cue number.
    #[error("MSC LOAD needs a cue number")]
    NoCue,
}

/// The longest message accepted (MSC's own limit).
pub const MAX_LEN: usize = 128;

/// Parses one MSC sysex message.
pub fn parse(bytes: &[u8]) -> Result<Message, MscError> {
    if bytes.len() > MAX_LEN {
        return Err(MscError::TooLong(bytes.len()));
    }
    let [0xF0, 0x7F, device, 0x02, format, command, data @ .., 0xF7] = bytes else {
        return Err(MscError::NotMsc);
    };
    if device | format | command > 0x7F {
        return Err(MscError::NotMsc);
    }
    let command = match command {
        0x01 => Command::Go(cue(data)?),
        0x02 => Command::Stop(cue(data)?),
        0x03 => Command::Resume(cue(data)?),
        0x04 => {
            let [h, m, s, f, ff, rest @ ..] = data else {
                return Err(MscError::BadTime);
            };
            let time = Time {
                hours: h & 0x1F,
                minutes: *m,
                seconds: *s,
                frames: f & 0x1F,
                fraction: *ff,
            };
            if time.hours > 23 || time.minutes > 59 || time.seconds > 59 || time.fraction > 99 {
                return Err(MscError::BadTime);
            }
            Command::TimedGo(time, cue(rest)?)
        }
        0x05 => {
            let c = cue(data)?;
            if c.number.is_none() {
                return Err(MscError::NoCue);
            }
            Command::Load(c)
        }
        0x08 => Command::AllOff,
        0x0A => Command::Reset,
        other => return Err(MscError::Unsupported(*other)),
    };
    Ok(Message {
        device: *device,
        format: *format,
        command,
    })
}

/// Cue number, list and path, 00-separated.
fn cue(data: &[u8]) -> Result<Cue, MscError> {
    if let Some(b) = data.iter().find(|b| !matches!(b, b'0'..=b'9' | b'.' | 0)) {
        return Err(MscError::BadCue(*b));
    }
    let mut fields = data
        .split(|b| *b == 0)
        .map(|f| (!f.is_empty()).then(|| String::from_utf8_lossy(f).into_owned()));
    Ok(Cue {
        number: fields.next().flatten(),
        list: fields.next().flatten(),
        path: fields.next().flatten(),
    })
}

impl Message {
    /// Whether a box with device id `id` (and group `group`, if any) acts
    /// on it: its own id, its group, or all-call; and a sound or all-types
    /// command format.
    pub fn is_for(&self, id: u8, group: Option<u8>) -> bool {
        let device = self.device == id || self.device == ALL_CALL || Some(self.device) == group;
        let format = matches!(self.format, 0x10..=0x1F | 0x7F);
        device && format
    }

    /// The message as bytes (for tests and peers).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0xF0, 0x7F, self.device, 0x02, self.format];
        let push_cue = |out: &mut Vec<u8>, c: &Cue| {
            let fields = [&c.number, &c.list, &c.path];
            let last = fields.iter().rposition(|f| f.is_some());
            for (i, f) in fields.iter().enumerate().take(last.map_or(0, |l| l + 1)) {
                if i > 0 {
                    out.push(0);
                }
                out.extend(f.as_deref().unwrap_or("").bytes());
            }
        };
        match &self.command {
            Command::Go(c) => {
                out.push(0x01);
                push_cue(&mut out, c);
            }
            Command::Stop(c) => {
                out.push(0x02);
                push_cue(&mut out, c);
            }
            Command::Resume(c) => {
                out.push(0x03);
                push_cue(&mut out, c);
            }
            Command::TimedGo(t, c) => {
                out.extend([0x04, t.hours, t.minutes, t.seconds, t.frames, t.fraction]);
                push_cue(&mut out, c);
            }
            Command::Load(c) => {
                out.push(0x05);
                push_cue(&mut out, c);
            }
            Command::AllOff => out.push(0x08),
            Command::Reset => out.push(0x0A),
        }
        out.push(0xF7);
        out
    }
}

impl fmt::Display for Cue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.number.as_deref().unwrap_or("(next)"))?;
        if let Some(l) = &self.list {
            write!(f, " in list {l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cue(n: &str) -> Cue {
        Cue {
            number: Some(n.into()),
            ..Cue::default()
        }
    }

    #[test]
    fn parses_the_commands_a_playback_box_acts_on() {
        // GO cue 12.5 in list 3, to device 1, sound format.
        let go = [
            0xF0, 0x7F, 0x01, 0x02, 0x10, 0x01, b'1', b'2', b'.', b'5', 0, b'3', 0xF7,
        ];
        let m = parse(&go).unwrap();
        assert_eq!(m.device, 1);
        assert_eq!(
            m.command,
            Command::Go(Cue {
                number: Some("12.5".into()),
                list: Some("3".into()),
                path: None
            })
        );
        assert_eq!(m.encode(), go);
        // GO with no cue: the next one.
        let m = parse(&[0xF0, 0x7F, 0x7F, 0x02, 0x7F, 0x01, 0xF7]).unwrap();
        assert_eq!(m.command, Command::Go(Cue::default()));
        for (byte, command) in [(0x08, Command::AllOff), (0x0A, Command::Reset)] {
            let m = parse(&[0xF0, 0x7F, 0, 0x02, 0x11, byte, 0xF7]).unwrap();
            assert_eq!(m.command, command);
        }
        let timed = Message {
            device: 2,
            format: 0x10,
            command: Command::TimedGo(
                Time {
                    hours: 0,
                    minutes: 0,
                    seconds: 2,
                    frames: 12,
                    fraction: 50,
                },
                cue("7"),
            ),
        };
        let back = parse(&timed.encode()).unwrap();
        assert_eq!(back, timed);
        let Command::TimedGo(t, _) = back.command else {
            unreachable!()
        };
        assert!((t.seconds(25.0) - 2.5).abs() < 1e-9);
        let load = Message {
            device: 2,
            format: 0x10,
            command: Command::Load(cue("4")),
        };
        assert_eq!(parse(&load.encode()).unwrap(), load);
    }

    #[test]
    fn device_ids_and_formats_filter() {
        let m = |device, format| Message {
            device,
            format,
            command: Command::AllOff,
        };
        assert!(m(5, 0x10).is_for(5, None));
        assert!(!m(6, 0x10).is_for(5, None));
        assert!(m(ALL_CALL, 0x11).is_for(5, None));
        assert!(m(0x70, 0x10).is_for(5, Some(0x70)));
        assert!(
            !m(5, 0x01).is_for(5, None),
            "lighting commands are not for a sound box"
        );
        assert!(m(5, 0x7F).is_for(5, None));
    }

    #[test]
    fn malformed_messages_are_refused_precisely() {
        assert_eq!(
            parse(&[0xF0, 0x7E, 1, 2, 0x10, 1, 0xF7]),
            Err(MscError::NotMsc)
        );
        assert_eq!(parse(&[0xF0, 0x7F, 1, 2, 0x10, 1]), Err(MscError::NotMsc));
        assert_eq!(
            parse(&[0xF0, 0x7F, 1, 2, 0x10, 0x07, 0xF7]),
            Err(MscError::Unsupported(7))
        );
        assert_eq!(
            parse(&[0xF0, 0x7F, 1, 2, 0x10, 1, b'x', 0xF7]),
            Err(MscError::BadCue(b'x'))
        );
        assert_eq!(
            parse(&[0xF0, 0x7F, 1, 2, 0x10, 4, 0, 0, 0xF7]),
            Err(MscError::BadTime)
        );
        assert_eq!(
            parse(&[0xF0, 0x7F, 1, 2, 0x10, 5, 0xF7]),
            Err(MscError::NoCue)
        );
        assert_eq!(parse(&[0; 200]), Err(MscError::TooLong(200)));
        assert_eq!(
            parse(&[0xF0, 0x7F, 0x80, 2, 0x10, 1, 0xF7]),
            Err(MscError::NotMsc)
        );
    }
}
