//! Session-wide configuration: busses and groups, resources, time sources and
//! show information.

use serde::{Deserialize, Serialize};

use super::ids::{Group, LogicalChannel};
use super::Extra;
use crate::timecode::FrameRate;

/// The output and input busses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Busses {
    /// Clip groups A–D: the protected outputs.
    pub groups: GroupBusses,
    /// The audition (preview) bus, isolated from A–D.
    pub audition: OutputBus,
    /// Record input A (stereo).
    pub record_a: RecordBus,
    /// Record input B (stereo).
    pub record_b: RecordBus,
    /// The LTC timecode input.
    pub ltc_input: LtcInput,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Busses {
    fn default() -> Self {
        let ch = |n| LogicalChannel::new(n).expect("literal channel numbers are non-zero");
        let group = |l, r| GroupBus {
            bus: OutputBus::new(vec![ch(l), ch(r)]),
            mode: GroupMode::default(),
        };
        Busses {
            groups: GroupBusses {
                a: group(1, 2),
                b: group(3, 4),
                c: group(5, 6),
                d: group(7, 8),
            },
            audition: OutputBus::new(vec![ch(9), ch(10)]),
            record_a: RecordBus::new([ch(1), ch(2)]),
            record_b: RecordBus::new([ch(3), ch(4)]),
            ltc_input: LtcInput {
                input: Some(ch(5)),
                enabled: false,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }
}

/// The four group busses, one field each so none can be missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupBusses {
    /// Group A.
    #[serde(rename = "A")]
    pub a: GroupBus,
    /// Group B.
    #[serde(rename = "B")]
    pub b: GroupBus,
    /// Group C.
    #[serde(rename = "C")]
    pub c: GroupBus,
    /// Group D.
    #[serde(rename = "D")]
    pub d: GroupBus,
}

impl GroupBusses {
    /// The bus of `group`.
    pub fn get(&self, group: Group) -> &GroupBus {
        match group {
            Group::A => &self.a,
            Group::B => &self.b,
            Group::C => &self.c,
            Group::D => &self.d,
        }
    }

    /// The bus of `group`, to change.
    pub fn get_mut(&mut self, group: Group) -> &mut GroupBus {
        match group {
            Group::A => &mut self.a,
            Group::B => &mut self.b,
            Group::C => &mut self.c,
            Group::D => &mut self.d,
        }
    }

    /// Each group with its bus, in order.
    pub fn iter(&self) -> impl Iterator<Item = (Group, &GroupBus)> {
        Group::ALL.into_iter().map(|g| (g, self.get(g)))
    }
}

/// An output bus: level and routing to logical outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputBus {
    /// Level in dB (−144 to +12).
    #[serde(default)]
    pub level_db: f64,
    /// Muted.
    #[serde(default)]
    pub mute: bool,
    /// Logical outputs it feeds (one for mono, two for a stereo pair, …).
    pub outputs: Vec<LogicalChannel>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OutputBus {
    /// A bus at unity feeding `outputs`.
    pub fn new(outputs: Vec<LogicalChannel>) -> Self {
        OutputBus {
            level_db: 0.0,
            mute: false,
            outputs,
            extra: Extra::new(),
        }
    }
}

/// A clip group's bus and voice mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupBus {
    /// Level, mute and routing.
    #[serde(flatten)]
    pub bus: OutputBus,
    /// Choke or free voice allocation.
    #[serde(default)]
    pub mode: GroupMode,
}

/// How a group allocates voices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GroupMode {
    /// At most `max_voices` (1 to 3) at once; a new start retires the oldest.
    Choke {
        /// Voice limit of the group.
        max_voices: u8,
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
    /// Limited only by the voice pool; a start is refused when it is full.
    Free {
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
}

impl Default for GroupMode {
    fn default() -> Self {
        GroupMode::Choke {
            max_voices: VoicePool::SYSTEM.choke_max_per_group,
            extra: Extra::new(),
        }
    }
}

/// A stereo record input bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordBus {
    /// Whether it records.
    #[serde(default)]
    pub enabled: bool,
    /// Input level in dB (−144 to +12).
    #[serde(default)]
    pub level_db: f64,
    /// The two logical inputs, left then right.
    pub inputs: [LogicalChannel; 2],
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RecordBus {
    /// A disabled record bus on `inputs`.
    pub fn new(inputs: [LogicalChannel; 2]) -> Self {
        RecordBus {
            enabled: false,
            level_db: 0.0,
            inputs,
            extra: Extra::new(),
        }
    }
}

/// The LTC input bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LtcInput {
    /// The logical input carrying LTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<LogicalChannel>,
    /// Whether LTC is read.
    #[serde(default)]
    pub enabled: bool,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The fixed voice pool of the playback engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoicePool {
    /// Stereo voices shared by groups A–D.
    pub stereo_voices: u16,
    /// The same pool counted in mono voices.
    pub mono_voices: u16,
    /// Stereo voices dedicated to the audition bus.
    pub audition_stereo_voices: u16,
    /// Voices a group may hold in choke mode.
    pub choke_max_per_group: u8,
}

impl VoicePool {
    /// The pool every cuebox has.
    pub const SYSTEM: VoicePool = VoicePool {
        stereo_voices: 24,
        mono_voices: 48,
        audition_stereo_voices: 1,
        choke_max_per_group: 3,
    };
}

/// Resource configuration of the session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// DSP load thresholds.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// DSP load thresholds as percentages of the app ceiling: recovery < warning < critical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Below this, degraded features come back.
    pub recovery_pct: f64,
    /// Above this, the operator is warned.
    pub warning_pct: f64,
    /// Above this, optional processing is shed.
    pub critical_pct: f64,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            recovery_pct: 70.0,
            warning_pct: 80.0,
            critical_pct: 90.0,
            extra: Extra::new(),
        }
    }
}

/// A kind of time source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSourceKind {
    /// Linear timecode on an audio input.
    Ltc,
    /// MIDI timecode (every MIDI source is a peer).
    Mtc,
    /// PTP / IEEE 1588.
    Ptp,
    /// The box's own clock.
    System,
}

impl std::str::FromStr for TimeSourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        super::from_name(s)
            .ok_or_else(|| format!("{s:?} is not a time source: ltc, mtc, ptp or system"))
    }
}

fn default_frame_rate() -> FrameRate {
    FrameRate::Fps25
}

/// Time-source priority and quality thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeSources {
    /// Sources in order of preference, each at most once.
    pub priority: Vec<TimeSourceKind>,
    /// Drift that raises a warning, in microseconds (more than 0).
    pub drift_warning_us: f64,
    /// Jitter that raises a warning, in microseconds (more than 0).
    pub jitter_warning_us: f64,
    /// Stability score below which a source is failed over, 0 to 1.
    pub min_stability: f64,
    /// The timecode rate the show runs at: timecode cues are in it, and
    /// every source's time is counted in its frames.
    #[serde(default = "default_frame_rate")]
    pub frame_rate: FrameRate,
    /// The whole transport chases: every clip with a timecode trigger
    /// follows timecode, as if each had `timecode_chase`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chase: bool,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for TimeSources {
    fn default() -> Self {
        TimeSources {
            priority: vec![
                TimeSourceKind::Ltc,
                TimeSourceKind::Mtc,
                TimeSourceKind::Ptp,
                TimeSourceKind::System,
            ],
            drift_warning_us: 100.0,
            jitter_warning_us: 250.0,
            min_stability: 0.8,
            frame_rate: default_frame_rate(),
            chase: false,
            extra: Extra::new(),
        }
    }
}

/// The production this session plays, for cue sheets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShowInfo {
    /// Production name.
    #[serde(default)]
    pub production: String,
    /// Venue.
    #[serde(default)]
    pub venue: Venue,
    /// Performance dates (`YYYY-MM-DD`).
    #[serde(default)]
    pub performance_dates: Vec<jiff::civil::Date>,
    /// Rights context (grand rights, small rights, blanket licence, …).
    #[serde(default)]
    pub rights_context: String,
    /// Reporting preferences.
    #[serde(default)]
    pub reporting: Reporting,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Venue details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Venue {
    /// Venue name.
    #[serde(default)]
    pub name: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// Country (ISO 3166 code or name).
    #[serde(default)]
    pub country: String,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// How much a cue sheet reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportDepth {
    /// One line per work.
    #[default]
    Summary,
    /// Every play with its times.
    Detailed,
}

impl std::str::FromStr for ReportDepth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "summary" => Ok(ReportDepth::Summary),
            "detailed" => Ok(ReportDepth::Detailed),
            other => Err(format!(
                "{other:?} is not a report depth: summary or detailed"
            )),
        }
    }
}

/// A report export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Comma-separated values.
    Csv,
    /// JSON.
    Json,
    /// XML.
    Xml,
}

impl ExportFormat {
    /// The file extension (and the name a user types).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Xml => "xml",
        }
    }
}

impl std::fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(ExportFormat::Json),
            "csv" => Ok(ExportFormat::Csv),
            "xml" => Ok(ExportFormat::Xml),
            other => Err(format!(
                "{other:?} is not an export format: json, csv or xml"
            )),
        }
    }
}

/// Reporting preferences for performing-rights cue sheets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reporting {
    /// Default report depth.
    #[serde(default)]
    pub default_depth: ReportDepth,
    /// Preferred export formats.
    #[serde(default)]
    pub formats: Vec<ExportFormat>,
    /// Export a cue sheet automatically after each performance.
    #[serde(default)]
    pub auto_export: bool,
    /// Performing-rights organisations to report to.
    #[serde(default)]
    pub pros: Vec<String>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for Reporting {
    fn default() -> Self {
        Reporting {
            default_depth: ReportDepth::Summary,
            formats: vec![ExportFormat::Csv],
            auto_export: false,
            pros: Vec::new(),
            extra: Extra::new(),
        }
    }
}
