//! What the play log records: a clip starting, and the play ending.

use cuebox_engine::show::{ClipId, ContentHash, Group, RightsMetadata};
use serde::{Deserialize, Serialize};

/// One entry of the play log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A clip started playing: the play's id is this entry's sequence number.
    Start(Box<Start>),
    /// A play ended.
    End(End),
}

/// Who or what sent the command that started a play.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The input (`api`, `osc`, `msc-udp`, `midi`, `timecode-cue`, …).
    pub input: String,
    /// Who on it (a peer's address, a MIDI port); empty for the box's own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// The cue it named (page.tab.button), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cue: Option<String>,
}

/// A clip started playing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// Wall-clock time of the start (UTC).
    pub at: jiff::Timestamp,
    /// The name of the show playing.
    pub session: String,
    /// The clip.
    pub clip: ClipId,
    /// Its name.
    pub name: String,
    /// Its audio's content hash: the work heard, whatever the file is called.
    pub hash: ContentHash,
    /// Its group.
    pub group: Group,
    /// Its button (page.tab.button), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button: Option<String>,
    /// The rights metadata for cue sheets, as the session had it.
    pub rights: RightsMetadata,
    /// Where the command came from.
    pub source: Source,
    /// The show sample it started at.
    pub sample: u64,
    /// Samples per second.
    pub rate: u32,
    /// The show's timecode at the start, when a clock gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timecode: Option<String>,
}

/// How a play ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It played to its end.
    Ended,
    /// It was faded out.
    Faded,
    /// It was stopped.
    Stopped,
    /// Its group's choke limit retired it.
    Choked,
    /// Panic stopped everything.
    Panic,
    /// The box stopped (end of run, a session switch) while it played.
    BoxStopped,
}

/// A play ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct End {
    /// Wall-clock time of the end (UTC).
    pub at: jiff::Timestamp,
    /// The play: its start entry's sequence number.
    pub play: u64,
    /// The show sample it ended at.
    pub sample: u64,
    /// Frames of it the audience heard (pauses excluded).
    pub heard_frames: u64,
    /// How it ended.
    pub ending: Ending,
}
