//! The API's messages and their framing. Each frame is a 4-byte big-endian
//! length and a postcard-encoded [`Request`] or [`Response`], inside TLS.
//! Frames are bounded ([`MAX_FRAME`]), so a peer can never make the other
//! side buffer more than that.

use std::io::{self, Read, Write};

use cuebox_engine::control::{At, Command};
use cuebox_engine::dsp::meter::Dbfs;
use cuebox_engine::show::ContentHash;
use serde::{Deserialize, Serialize};

use crate::keys::{PublicKey, Role};

/// The TCP port the box's API listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 53_100;

/// The protocol version a host and a box must share.
pub const VERSION: u32 = 2;

/// The largest media chunk a [`Request::Blob`] or [`Response::Data`] carries.
pub const CHUNK: usize = 256 * 1024;

/// The largest frame either side accepts: a chunk or a session manifest
/// (the engine caps manifests well below this) plus room for the envelope.
pub const MAX_FRAME: usize = 8 << 20;

/// What a host asks the box. Media chunks borrow the frame they arrive in
/// (and the buffer they are sent from): a chunk is never copied to decode it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request<'a> {
    /// The first request: who is the box, and what may I do.
    Hello {
        /// The host's [`VERSION`].
        version: u32,
    },
    /// What the box is doing now.
    Status,
    /// The sessions on the box.
    Sessions,
    /// A show command, typed, for now or for a show time.
    Command {
        /// When (show time); `None`: at once.
        at: Option<At>,
        /// What.
        command: Command,
    },
    /// A bare GO: the cue at the playhead, which then moves past it.
    GoNext {
        /// A fade-in time instead of the clip's own, in seconds.
        time: Option<f64>,
    },
    /// Makes `page` the one the grid controllers (MIDI, OSC) play.
    Page {
        /// Page number, from 1.
        page: u16,
    },
    /// Locks (refusing every edit until unlocked) or unlocks the show.
    Lock {
        /// Locked or not.
        locked: bool,
    },
    /// Stages a session: the box answers which media it still needs.
    Stage {
        /// The session's name on the box.
        session: String,
        /// Its manifest, as on the host.
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
    },
    /// A piece of a media file the box needs, at `offset` into it.
    Blob {
        /// The file's content hash.
        hash: ContentHash,
        /// Where the bytes go in the file.
        offset: u64,
        /// The bytes (at most [`CHUNK`]).
        // As one byte string: postcard would otherwise visit every byte.
        #[serde(with = "serde_bytes", borrow)]
        data: &'a [u8],
    },
    /// Every byte of `hash` was sent: verify and store it.
    BlobEnd {
        /// The file's content hash.
        hash: ContentHash,
    },
    /// Makes the staged session the box's active one, atomically.
    Activate {
        /// The session's name.
        session: String,
        /// The hash of the manifest staged (so the activation is of what
        /// was staged, not of something staged since).
        manifest: ContentHash,
    },
    /// A session's manifest and media list.
    Pull {
        /// The session's name.
        session: String,
    },
    /// A piece of a stored media file.
    Fetch {
        /// The file's content hash.
        hash: ContentHash,
        /// Where to start.
        offset: u64,
        /// How many bytes (at most [`CHUNK`]).
        len: u32,
    },
}

impl Request<'_> {
    /// The role a request needs; `None` for what anyone may ask.
    pub fn needs(&self) -> Option<Role> {
        match self {
            Request::Hello { .. } => None,
            Request::Status | Request::Sessions | Request::Pull { .. } | Request::Fetch { .. } => {
                Some(Role::View)
            }
            Request::Command { .. } | Request::GoNext { .. } | Request::Page { .. } => {
                Some(Role::Control)
            }
            // Locking is the operator's; unlocking changes what may be edited.
            Request::Lock { locked: true } => Some(Role::Control),
            Request::Lock { locked: false }
            | Request::Stage { .. }
            | Request::Blob { .. }
            | Request::BlobEnd { .. }
            | Request::Activate { .. } => Some(Role::Edit),
        }
    }

    /// Whether the request would change the show (refused while locked).
    pub fn edits(&self) -> bool {
        matches!(
            self,
            Request::Stage { .. }
                | Request::Blob { .. }
                | Request::BlobEnd { .. }
                | Request::Activate { .. }
        )
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Status => "status",
            Request::Sessions => "sessions",
            Request::Command { .. } => "command",
            Request::GoNext { .. } => "go_next",
            Request::Page { .. } => "page",
            Request::Lock { .. } => "lock",
            Request::Stage { .. } => "stage",
            Request::Blob { .. } => "blob",
            Request::BlobEnd { .. } => "blob_end",
            Request::Activate { .. } => "activate",
            Request::Pull { .. } => "pull",
            Request::Fetch { .. } => "fetch",
        }
    }
}

/// What the box answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The answer to [`Request::Hello`].
    Welcome {
        /// The box's name.
        name: String,
        /// The box's software version.
        software: String,
        /// What this host may do; `None` for a host the box does not know.
        role: Option<Role>,
        /// The host's key as the box saw it (to authorize it on the box).
        key: PublicKey,
    },
    /// The box's status.
    Status(Box<Status>),
    /// The sessions on the box.
    Sessions(Vec<SessionInfo>),
    /// A command was accepted for this show sample.
    Accepted {
        /// The show sample it is applied at.
        at_sample: u64,
        /// How far ahead of the render thread's position that sample was
        /// when the box took the command.
        lead_samples: u64,
    },
    /// Done, nothing more to say.
    Done,
    /// The media a staged session still needs.
    Needs(Vec<Need>),
    /// So much of a blob has arrived.
    Ack {
        /// Bytes of the file received so far.
        received: u64,
    },
    /// A blob arrived whole and matches its hash.
    Stored,
    /// The session is active.
    Activated(Activated),
    /// A session's manifest and media.
    Manifest {
        /// The manifest bytes.
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
        /// Every media file it uses.
        media: Vec<MediaEntry>,
    },
    /// Bytes of a stored file.
    Data(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Refused, with why; nothing changed.
    Refused(Refusal),
    // New variants go last: a host of another version must still read a
    // refusal (the hello's answer) at its index.
    /// A bare GO started the playhead's cue.
    Went {
        /// The clip it started.
        clip: String,
        /// Its cue number (`PAGE.TAB.BUTTON`), when it has a button.
        cue: Option<String>,
        /// The show sample it is applied at.
        at_sample: u64,
    },
}

/// A media file a staged session lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    /// Its content hash.
    pub hash: ContentHash,
    /// How much of it the box already holds from an interrupted transfer.
    pub have: u64,
}

/// A media file of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaEntry {
    /// Its path in the session's media folder.
    pub path: String,
    /// Its content hash.
    pub hash: ContentHash,
    /// Its size, bytes.
    pub size: u64,
}

/// A session on the box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Its name.
    pub name: String,
    /// The hash of its manifest.
    pub manifest: ContentHash,
    /// Whether it is the one the box plays.
    pub active: bool,
}

/// What an activation did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activated {
    /// The session.
    pub session: String,
    /// Its clips.
    pub clips: u32,
    /// Its media, bytes.
    pub media_bytes: u64,
    /// Whether the box now plays it (false: stored, played at the next run).
    pub playing: bool,
    /// Why the box cannot play it, when it cannot (no card, a device that
    /// refuses, a session that does not load); it retries by itself.
    pub problem: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// The kind, for scripts.
    pub kind: RefusalKind,
    /// What was wrong and what to do, for people.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind` that says what to do in `message`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kinds of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The host's key is not authorized on the box.
    Unauthorized,
    /// The host's role does not allow the request.
    Forbidden,
    /// The host sends faster than the box serves.
    RateLimited,
    /// The request is malformed or out of order.
    BadRequest,
    /// The show is locked.
    Locked,
    /// What the request names is not on the box.
    NotFound,
    /// The session's manifest is unusable.
    Invalid,
    /// Media the session needs is missing or corrupt.
    Media,
    /// A second GO came sooner than the session allows.
    TooSoon,
    /// The box is busy with something that must finish first (clips playing).
    Busy,
    /// The box could not do it (disk, device).
    Failed,
}

/// The box's status, as `hostctl status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The box's name.
    pub name: String,
    /// The active session, if any.
    pub session: Option<String>,
    /// Whether the show is locked.
    pub locked: bool,
    /// The page the grid controllers play.
    pub page: u16,
    /// Show time now, seconds.
    pub show_seconds: f64,
    /// The engine rate, Hz (0 with no session playing).
    pub rate: u32,
    /// What plays.
    pub playing: Vec<Playing>,
    /// Every bus's meter: A–D, main, audition (none while no session plays).
    pub meters: Vec<Meter>,
    /// Playback device: xruns so far.
    pub xruns: u64,
    /// Playback device: processing time per period p99 as a share of the period.
    pub dsp_load: f64,
    /// The clock source in use (`free`, `ltc`, `mtc:…`, `ptp`, `system`).
    pub clock_source: Option<String>,
    /// Every source's health, one line each.
    pub clock_health: Vec<String>,
    /// The device and clock figures in full, as JSON text.
    pub detail: String,
    /// The playback device, as chosen and opened (none while nothing plays).
    pub device: Option<Device>,
    /// Why the box plays nothing, when it should: the session and device
    /// it tried and the error (it retries every few seconds).
    pub problem: Option<String>,
}

/// The playback device a session plays on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// The ALSA PCM (`hw:CARD=Intel,DEV=0`).
    pub pcm: String,
    /// The card's name, when the box chose the card.
    pub card: Option<String>,
    /// Channels open.
    pub channels: u16,
    /// Sample format (`S32_LE`).
    pub format: String,
    /// Frames per second.
    pub rate: u32,
    /// Frames per period.
    pub period: u32,
    /// Periods in the buffer.
    pub periods: u32,
    /// Each compromise: settings the device changed, groups that share
    /// outputs, an audition bus without outputs.
    pub warnings: Vec<String>,
}

/// A playing clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playing {
    /// The clip's id.
    pub clip: String,
    /// Its name.
    pub name: String,
    /// Its group (A–D, or audition).
    pub group: String,
    /// Seconds of its audio played (pauses excluded).
    pub position: f64,
    /// Paused: silent, holding its place until resumed.
    pub paused: bool,
}

/// A bus's meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meter {
    /// The bus: `A`–`D` (each group after its level, mute and balance),
    /// `main` (A–D summed) or `audition`.
    pub bus: String,
    /// Its channels, left then right.
    pub channels: Vec<MeterChannel>,
}

/// One channel of a bus meter, in dBFS; silence reads −144 (the floor).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeterChannel {
    /// The peak bar: rises at once to every sample peak, falls 20 dB/s.
    pub peak_dbfs: Dbfs,
    /// The peak hold: the highest peak, held 1.5 s.
    pub hold_dbfs: Dbfs,
    /// The RMS level over 300 ms (a sine reads 3 dB under its peak).
    pub rms_dbfs: Dbfs,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The connection failed or closed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The peer announced a frame over [`MAX_FRAME`].
    #[error("a frame of {0} bytes is over the {MAX_FRAME}-byte limit")]
    TooLarge(u32),
    /// The frame's bytes are not a message.
    #[error("a frame is not a valid message: {0}")]
    Malformed(#[from] postcard::Error),
}

/// Writes one message as a frame.
pub fn write_frame<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    // Encoded behind room for the length, so a media chunk is copied once.
    let mut frame = postcard::to_extend(message, vec![0; 4]).map_err(io::Error::other)?;
    let len = frame.len() - 4;
    debug_assert!(len <= MAX_FRAME);
    frame[..4].copy_from_slice(&(len as u32).to_be_bytes());
    out.write_all(&frame)?;
    out.flush()
}

/// Reads one frame's bytes, refusing an oversized one before reading it.
pub fn read_frame(input: &mut impl Read) -> Result<Vec<u8>, FrameError> {
    let mut body = Vec::new();
    read_frame_into(input, &mut body)?;
    Ok(body)
}

/// [`read_frame`] into `body`, whose room is reused from frame to frame
/// (a stream of media chunks then allocates and zeroes nothing).
pub fn read_frame_into(input: &mut impl Read, body: &mut Vec<u8>) -> Result<(), FrameError> {
    let mut len = [0; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    if len as usize > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    body.resize(len as usize, 0);
    input.read_exact(body)?;
    Ok(())
}

/// Decodes a message from a frame's bytes; trailing bytes are an error.
pub fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, FrameError> {
    let (message, rest) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(FrameError::Malformed(
            postcard::Error::DeserializeBadEncoding,
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_frames() {
        let hash = ContentHash::of_bytes(b"x");
        let requests = [
            Request::Hello { version: VERSION },
            Request::Command {
                at: None,
                command: Command::Go {
                    clip: "a".parse().unwrap(),
                    time: Some(0.5),
                },
            },
            Request::Command {
                at: Some(At::Sample(96_000)),
                command: Command::GroupLevel {
                    group: cuebox_engine::show::Group::C,
                    level_db: -6.0,
                    time: None,
                },
            },
            Request::Command {
                at: Some(At::Seconds(1.5)),
                command: Command::StopAll {},
            },
            Request::GoNext { time: None },
            Request::Blob {
                hash,
                offset: 7,
                data: &[1, 2, 3],
            },
            Request::Activate {
                session: "Show".into(),
                manifest: hash,
            },
        ];
        let mut wire = Vec::new();
        for r in &requests {
            write_frame(&mut wire, r).unwrap();
        }
        let mut input = &wire[..];
        for r in &requests {
            let body = read_frame(&mut input).unwrap();
            assert_eq!(&decode::<Request<'_>>(&body).unwrap(), r);
        }
        assert!(matches!(read_frame(&mut input), Err(FrameError::Io(_))));
    }

    #[test]
    fn oversized_and_malformed_frames_are_refused() {
        let mut huge = &(u32::MAX).to_be_bytes()[..];
        assert!(matches!(
            read_frame(&mut huge),
            Err(FrameError::TooLarge(u32::MAX))
        ));
        assert!(decode::<Request<'_>>(&[200, 1, 2]).is_err());
        let mut body = postcard::to_stdvec(&Request::Status).unwrap();
        body.push(0);
        assert!(decode::<Request<'_>>(&body).is_err(), "trailing bytes");
    }

    #[test]
    fn roles_order_what_requests_need() {
        assert_eq!(Request::Hello { version: 1 }.needs(), None);
        assert_eq!(Request::Status.needs(), Some(Role::View));
        let stop = || Request::Command {
            at: None,
            command: Command::StopAll {},
        };
        assert_eq!(stop().needs(), Some(Role::Control));
        assert_eq!(Request::GoNext { time: None }.needs(), Some(Role::Control));
        assert_eq!(Request::Lock { locked: true }.needs(), Some(Role::Control));
        assert_eq!(Request::Lock { locked: false }.needs(), Some(Role::Edit));
        let hash = ContentHash::of_bytes(b"");
        assert_eq!(Request::BlobEnd { hash }.needs(), Some(Role::Edit));
        assert!(Request::BlobEnd { hash }.edits());
        assert!(!stop().edits());
    }
}
