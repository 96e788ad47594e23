//! What the play log records: a clip starting and the play ending, and —
//! the audit trail — each annotation of a work and each export made.

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
    /// A person annotated a work for the cue sheets (category, note, review).
    Annotation(Box<Annotation>),
    /// A report (cue sheet, play list, technical log) was exported.
    Export(Box<Exported>),
    /// Plays (or ends) another unit logged and this log lacked were copied
    /// in from its log.
    Reconciled(Box<Reconciled>),
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

/// How a work is used in the production, as cue sheets report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Usage {
    /// Under a scene: the audience is not meant to attend to it.
    Background,
    /// Featured: performed to or listened to as part of the action.
    Feature,
    /// The production's theme (opening, closing, recurring).
    Theme,
    /// Incidental: short transitions, stings, sound design with music.
    Incidental,
    /// Before the show, at the interval or after the curtain call.
    Interval,
}

impl std::str::FromStr for Usage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        cuebox_engine::show::from_name(s).ok_or_else(|| {
            format!("{s:?} is not a usage: background, feature, theme, incidental or interval")
        })
    }
}

/// Where a work's review stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// No one has checked it yet.
    #[default]
    Pending,
    /// A person checked its data against the production's paperwork.
    Verified,
}

impl std::str::FromStr for Review {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(Review::Pending),
            "verified" => Ok(Review::Verified),
            other => Err(format!(
                "{other:?} is not a review state: pending or verified"
            )),
        }
    }
}

/// An annotation of one work of one show: only what it sets changes; the
/// rest stays as earlier annotations left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// When it was made (UTC).
    pub at: jiff::Timestamp,
    /// Who made it (a host's key name, `console`, …).
    pub by: String,
    /// The show (its name, as the plays record it).
    pub show: String,
    /// The work: its audio's content hash.
    pub work: ContentHash,
    /// Its usage category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// A note for the society or the rights administrator (empty: cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Its review state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
}

/// A report written for someone outside the box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exported {
    /// When (UTC).
    pub at: jiff::Timestamp,
    /// Who asked for it (a host's key name, `console`, `auto-export`).
    pub by: String,
    /// What it is (`cuesheet`, `techlog-errors`, …).
    pub report: String,
    /// The show it is of, when it is of one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<String>,
    /// The file, relative to the data root (`Exports/<date>/…`), or `-`
    /// when it was only sent and not kept.
    pub file: String,
    /// Its BLAKE3, so a copy handed to a society can be checked against it.
    pub blake3: String,
    /// Its size, bytes.
    pub bytes: u64,
    /// The period it covers, as asked (`2026-12-01`, `from … to …`, `all`).
    pub period: String,
}

/// A reconciliation with another unit's log, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconciled {
    /// When (UTC).
    pub at: jiff::Timestamp,
    /// Who ran it (`console`, a host's key, the pair link).
    pub by: String,
    /// The other unit (its name, as given).
    pub unit: String,
    /// Its log's last entry and that entry's hash: which log was read.
    pub their_last: u64,
    /// The hash of their last entry.
    pub their_hash: String,
    /// Plays both logs held.
    pub matched: usize,
    /// Their plays copied in: (their start entry, this log's start entry).
    pub copied: Vec<(u64, u64)>,
    /// Ends copied for plays this log held without one: this log's start entries.
    pub ends: Vec<u64>,
}
