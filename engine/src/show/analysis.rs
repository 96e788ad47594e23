//! Musical analysis state: stored by the show, computed off the real-time path.

use serde::{Deserialize, Serialize};

use super::ids::{ClipId, Frames};
use super::Extra;

/// The analysis of one clip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ClipAnalysis {
    /// Not analysed yet (queued or never asked).
    #[default]
    Pending,
    /// Analysed.
    Done {
        /// The most likely tempo, in BPM (20 to 400).
        tempo_bpm: f64,
        /// Confidence in `tempo_bpm`, 0 to 1.
        confidence: f64,
        /// Other plausible tempi (half, double, …), most likely first.
        #[serde(default)]
        alternatives: Vec<TempoCandidate>,
        /// Section boundaries, in increasing order.
        #[serde(default)]
        sections: Vec<Section>,
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
    /// The analysis could not run on this clip.
    Failed {
        /// Why.
        reason: String,
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
}

/// A candidate tempo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TempoCandidate {
    /// Tempo in BPM (20 to 400).
    pub bpm: f64,
    /// Confidence, 0 to 1.
    pub confidence: f64,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A section boundary (verse, chorus, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Where the section starts.
    pub start: Frames,
    /// Its name, if known.
    #[serde(default)]
    pub label: String,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The session-level musical grid.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionAnalysis {
    /// The global tempo map, in increasing time.
    #[serde(default)]
    pub tempo_map: Vec<TempoPoint>,
    /// Tempi the operator set by hand, overriding analysis.
    #[serde(default)]
    pub overrides: Vec<TempoOverride>,
    /// How clips follow the grid.
    #[serde(default)]
    pub sync: SyncConfig,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tempo change in the session tempo map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TempoPoint {
    /// Session time in seconds where this tempo begins (0 or more).
    pub at_secs: f64,
    /// Tempo in BPM (20 to 400).
    pub bpm: f64,
    /// Beats per bar (1 to 32).
    #[serde(default = "four")]
    pub beats_per_bar: u8,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

fn four() -> u8 {
    4
}

/// An operator's tempo for a clip, overriding its analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TempoOverride {
    /// The clip.
    pub clip: ClipId,
    /// Its tempo in BPM (20 to 400).
    pub bpm: f64,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What clips synchronise to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncSource {
    /// Clips play free.
    #[default]
    Off,
    /// Clips follow the session tempo map.
    TempoMap,
    /// Clips follow the chased timecode.
    Timecode,
}

/// Where launches snap to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantize {
    /// Launch at once.
    #[default]
    None,
    /// Launch on the next beat.
    Beat,
    /// Launch on the next bar.
    Bar,
}

/// The session's sync configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncConfig {
    /// What clips follow.
    #[serde(default)]
    pub source: SyncSource,
    /// Launch quantisation.
    #[serde(default)]
    pub quantize: Quantize,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}
