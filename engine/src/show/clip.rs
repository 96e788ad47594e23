//! Clips and the audio they reference.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::analysis::ClipAnalysis;
use super::ids::{ClipId, Frames, Group};
use super::processing::Processing;
use super::Extra;
use crate::timecode::Timecode;

/// A clip: audio on a button, in one group, with its processing state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clip {
    /// Unique id within the session.
    pub id: ClipId,
    /// What the operator calls it.
    #[serde(default)]
    pub name: String,
    /// The group it plays in.
    pub group: Group,
    /// The audio file it plays.
    pub audio: AudioRef,
    /// Level, panning, time/pitch, markers and fades.
    #[serde(default)]
    pub processing: Processing,
    /// Tempo and structure analysis, once computed.
    #[serde(default)]
    pub analysis: ClipAnalysis,
    /// A timecode cue: the clip starts, sample-accurately, when incoming
    /// timecode (LTC or MTC) reaches this time at the session's frame rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timecode_trigger: Option<Timecode>,
    /// Chase: the clip's cue start sits at `timecode_trigger` on the
    /// timecode line and the clip follows incoming timecode — joining
    /// mid-way, varispeeding to stay locked, relocating on jumps and
    /// stopping when timecode stops or runs backwards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timecode_chase: bool,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference to an audio file in the session's media folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioRef {
    /// Path relative to the media folder.
    pub path: MediaPath,
    /// Hash of the file's bytes, to find it again and to detect a changed file.
    pub hash: ContentHash,
    /// What the file holds.
    pub format: AudioFormat,
    /// Rights metadata for cue sheets.
    #[serde(default)]
    pub metadata: RightsMetadata,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A path inside the media folder: relative, made of normal components only,
/// so it can never point outside the folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaPath(String);

/// Why a string is not a [`MediaPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadMediaPath {
    /// Empty, or longer than [`MediaPath::MAX_LEN`].
    #[error("media path {0:?} must be 1 to 4096 bytes long")]
    Length(String),
    /// Absolute, or names `..`.
    #[error("media path {0:?} leaves the media folder: give a path relative to it, without '..' or a leading '/'")]
    Escapes(String),
    /// Names `.`, or has an empty component (`a//b`, a trailing `/`): two
    /// spellings of one file would let two clips share it unnoticed.
    #[error("media path {0:?} has a '.' or empty component: write it as names joined by single '/' (for example \"drums/kick.wav\")")]
    NotPlain(String),
    /// Holds a NUL, a backslash or a control character.
    #[error("media path {0:?} holds a control character, NUL or backslash")]
    Characters(String),
}

impl MediaPath {
    /// The longest path accepted, in bytes.
    pub const MAX_LEN: usize = 4096;

    /// The path as text, with `/` separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path, to join onto the media folder.
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }
}

impl TryFrom<String> for MediaPath {
    type Error = BadMediaPath;
    fn try_from(s: String) -> Result<Self, BadMediaPath> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(BadMediaPath::Length(s));
        }
        if s.chars().any(|c| c.is_control() || c == '\\') {
            return Err(BadMediaPath::Characters(s));
        }
        // Every `/`-separated component is checked as written: `Path`'s own
        // components drop inner and trailing `.`, so `a/./b` would pass.
        if s.starts_with('/') || s.split('/').any(|c| c == "..") {
            return Err(BadMediaPath::Escapes(s));
        }
        if s.split('/').any(|c| c.is_empty() || c == ".") {
            return Err(BadMediaPath::NotPlain(s));
        }
        Ok(MediaPath(s))
    }
}

impl From<MediaPath> for String {
    fn from(p: MediaPath) -> String {
        p.0
    }
}

impl fmt::Display for MediaPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The BLAKE3 hash of a file's bytes, written `blake3:<64 hex digits>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentHash([u8; 32]);

/// Why a string is not a [`ContentHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("content hash {0:?} is not 'blake3:' followed by 64 lowercase hex digits")]
pub struct BadContentHash(pub String);

impl ContentHash {
    /// Hashes everything `reader` yields.
    pub fn of_reader(mut reader: impl std::io::Read) -> std::io::Result<Self> {
        let mut hasher = blake3::Hasher::new();
        std::io::copy(&mut reader, &mut hasher)?;
        Ok(ContentHash(*hasher.finalize().as_bytes()))
    }

    /// Hashes a byte slice.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    /// The hash whose raw bytes are `bytes` (a hash computed elsewhere, such
    /// as by an incremental hasher over a transfer).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ContentHash(bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl TryFrom<String> for ContentHash {
    type Error = BadContentHash;
    fn try_from(s: String) -> Result<Self, BadContentHash> {
        let hex = s
            .strip_prefix("blake3:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        match hex.map(blake3::Hash::from_hex) {
            Some(Ok(h)) => Ok(ContentHash(*h.as_bytes())),
            _ => Err(BadContentHash(s)),
        }
    }
}

impl From<ContentHash> for String {
    fn from(h: ContentHash) -> String {
        h.to_string()
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", blake3::Hash::from_bytes(self.0).to_hex())
    }
}

/// Mono or stereo: the only channel layouts a cuebox voice plays, natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub enum Channels {
    /// One channel.
    Mono,
    /// Two channels.
    Stereo,
}

/// Why a channel count is not a [`Channels`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} channels: cuebox clips are mono (1) or stereo (2); split or fold the file down first")]
pub struct UnsupportedChannels(pub u16);

impl Channels {
    /// The number of channels.
    pub fn count(self) -> u16 {
        match self {
            Channels::Mono => 1,
            Channels::Stereo => 2,
        }
    }
}

impl TryFrom<u16> for Channels {
    type Error = UnsupportedChannels;
    fn try_from(n: u16) -> Result<Self, UnsupportedChannels> {
        match n {
            1 => Ok(Channels::Mono),
            2 => Ok(Channels::Stereo),
            n => Err(UnsupportedChannels(n)),
        }
    }
}

impl From<Channels> for u16 {
    fn from(c: Channels) -> u16 {
        c.count()
    }
}

/// What an audio file holds, as probed when it was added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    /// Mono or stereo.
    pub channels: Channels,
    /// Frames per second.
    pub sample_rate: u32,
    /// Bits per sample of the stored PCM; `None` for lossy codecs.
    pub bit_depth: Option<u16>,
    /// Length in sample frames.
    pub frames: Frames,
    /// The codec's short name (`pcm_s16le`, `flac`, `mp3`, …).
    pub codec: String,
    /// Frames a decode yields beyond `frames` that playback must drop
    /// (encoder delay and padding); absent when there are none.
    #[serde(default, skip_serializing_if = "Trim::is_none")]
    pub trim: Trim,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Encoder delay and padding a decoder leaves in its output. Non-zero only
/// for codecs whose decoder does not trim itself (AAC in MP4, block-padded
/// ADPCM), so sample-accurate cues line up with the audio.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trim {
    /// Frames to drop at the start (encoder delay, "priming").
    pub start: u64,
    /// Frames to drop at the end (encoder padding).
    pub end: u64,
}

impl Trim {
    /// Whether there is nothing to drop.
    pub fn is_none(&self) -> bool {
        *self == Trim::default()
    }
}

impl AudioFormat {
    /// Sample rates a clip may have.
    pub const SAMPLE_RATES: [u32; 6] = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

    /// The clip's length in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.frames.0 as f64 / f64::from(self.sample_rate.max(1))
    }
}

/// Rights metadata of a recording, for performing-rights cue sheets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RightsMetadata {
    /// Title of the work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Performing artist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// Composer(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composer: Option<String>,
    /// Publisher(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// International Standard Recording Code, `CC-XXX-YY-NNNNN` (hyphens optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isrc: Option<String>,
    /// International Standard Musical Work Code, `T-123.456.789-C` (punctuation optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iswc: Option<String>,
    /// The performing-rights organisation that administers the work (PRS, ASCAP, GEMA, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pro: Option<String>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}
