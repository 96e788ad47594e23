//! A clip's processing state: level, panning, time/pitch, markers and fades,
//! and the session-wide fade defaults and protection fades.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::Frames;
use super::Extra;

/// Level, panning, time/pitch, markers and fades of one clip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Processing {
    /// Clip level in dB (−144 to +12).
    #[serde(default)]
    pub level_db: f64,
    /// Pan (mono clips) or width and balance (stereo clips).
    #[serde(default)]
    pub panning: Panning,
    /// Time-stretch and pitch settings.
    #[serde(default)]
    pub time_pitch: TimePitch,
    /// Where playback starts and ends.
    #[serde(default)]
    pub cue: CueRange,
    /// The loop, if the clip loops.
    #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
    pub loop_region: Option<LoopRegion>,
    /// Warp markers pinning source frames to beats, strictly increasing in both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warp_markers: Vec<WarpMarker>,
    /// Per-clip fades; a missing fade uses the session default.
    #[serde(default)]
    pub fades: ClipFades,
    /// This clip's protection fades at edit and loop points; each one
    /// missing is the session's.
    #[serde(default, skip_serializing_if = "ClipProtection::is_default")]
    pub protection: ClipProtection,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A clip's own protection fade lengths (0.25 to 10 ms), in place of the
/// session's: a seamless loop may want the shortest, a hard edit a longer one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClipProtection {
    /// Fade at its cue and edit points, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_point_fade_ms: Option<f64>,
    /// Fade at its loop points, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_point_fade_ms: Option<f64>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ClipProtection {
    /// Whether it sets nothing (the session's fades apply).
    pub fn is_default(&self) -> bool {
        *self == ClipProtection::default()
    }
}

/// Panning, by the clip's channel layout: a mono clip has a pan position, a
/// stereo clip a width and a balance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Panning {
    /// A mono clip's position.
    Mono {
        /// −1 (left) to +1 (right).
        pan: f64,
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
    /// A stereo clip's image.
    Stereo {
        /// 0 (folded to mono) to 1 (as recorded).
        width: f64,
        /// −1 (left only) to +1 (right only).
        balance: f64,
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
}

impl Default for Panning {
    fn default() -> Self {
        Panning::Stereo {
            width: 1.0,
            balance: 0.0,
            extra: Extra::new(),
        }
    }
}

impl Panning {
    /// Neutral panning for a clip with these channels.
    pub fn centred(channels: super::Channels) -> Self {
        match channels {
            super::Channels::Mono => Panning::Mono {
                pan: 0.0,
                extra: Extra::new(),
            },
            super::Channels::Stereo => Panning::default(),
        }
    }
}

/// Which time-stretch algorithm a clip uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarpMode {
    /// Plays at its native speed and pitch.
    #[default]
    Off,
    /// The simple, guaranteed algorithm on the protected path.
    Basic,
    /// The full algorithm; degrades to basic under load.
    Full,
}

/// Time-stretch and pitch settings of a clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimePitch {
    /// Which algorithm.
    #[serde(default)]
    pub mode: WarpMode,
    /// Playback speed (0.5 to 2.0; 1.0 is native).
    #[serde(default = "one")]
    pub rate: f64,
    /// Pitch shift in semitones (−24 to +24).
    #[serde(default)]
    pub pitch_semitones: f64,
    /// Keep pitch when the rate changes.
    #[serde(default = "yes")]
    pub preserve_pitch: bool,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

impl Default for TimePitch {
    fn default() -> Self {
        TimePitch {
            mode: WarpMode::Off,
            rate: 1.0,
            pitch_semitones: 0.0,
            preserve_pitch: true,
            extra: Extra::new(),
        }
    }
}

/// The cue markers: where playback starts and where it ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CueRange {
    /// First frame played.
    #[serde(default)]
    pub start: Frames,
    /// Frame at which playback ends; `None` for the end of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Frames>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A loop inside the cue range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopRegion {
    /// First frame of the loop.
    pub start: Frames,
    /// Frame at which the loop jumps back to `start`.
    pub end: Frames,
    /// Whether the loop is active.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A warp marker: this source frame falls on this beat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarpMarker {
    /// Source position.
    pub frame: Frames,
    /// Musical position in beats from the clip start.
    pub beat: f64,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The shape of a fade.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Curve {
    /// Straight line in amplitude.
    Linear,
    /// Slow start, fast end (in amplitude).
    Exponential,
    /// Fast start, slow end (in amplitude).
    #[default]
    Logarithmic,
    /// Slow at both ends.
    SCurve,
}

impl std::str::FromStr for Curve {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        super::from_name(s).ok_or_else(|| {
            format!("{s:?} is not a fade curve: linear, exponential, logarithmic or s_curve")
        })
    }
}

impl Curve {
    /// Every curve, in order.
    pub const ALL: [Curve; 4] = [
        Curve::Linear,
        Curve::Exponential,
        Curve::Logarithmic,
        Curve::SCurve,
    ];
}

/// A fade in or out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fade {
    /// Duration in milliseconds (0 to 600 000).
    pub time_ms: f64,
    /// Shape.
    pub curve: Curve,
    /// Equal-power (true) or equal-gain (false).
    pub power: bool,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Fade {
    /// The longest fade, in milliseconds (10 minutes).
    pub const MAX_MS: f64 = 600_000.0;

    /// A fade of `time_ms` with this curve and power setting.
    pub fn new(time_ms: f64, curve: Curve, power: bool) -> Self {
        Fade {
            time_ms,
            curve,
            power,
            extra: Extra::new(),
        }
    }
}

/// A crossfade between clips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crossfade {
    /// Duration in milliseconds (0 to 600 000).
    pub time_ms: f64,
    /// Shape.
    pub curve: Curve,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A clip's own fades; each missing one uses the session's [`FadeDefaults`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClipFades {
    /// Fade in.
    #[serde(default, rename = "in", skip_serializing_if = "Option::is_none")]
    pub fade_in: Option<Fade>,
    /// Fade out.
    #[serde(default, rename = "out", skip_serializing_if = "Option::is_none")]
    pub fade_out: Option<Fade>,
    /// Crossfade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crossfade: Option<Crossfade>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The session's global fade defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FadeDefaults {
    /// Default fade in.
    #[serde(rename = "in")]
    pub fade_in: Fade,
    /// Default fade out.
    #[serde(rename = "out")]
    pub fade_out: Fade,
    /// Default crossfade.
    pub crossfade: Crossfade,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Default for FadeDefaults {
    /// Fades in and out are exponential and equal-power: the gain moves
    /// evenly in dB (30 dB over the fade, then to silence), which is how a
    /// fade sounds even to a listener — as QLab's default curve does. A
    /// session keeps whatever curves it names; only new sessions get these.
    fn default() -> Self {
        FadeDefaults {
            fade_in: Fade::new(0.0, Curve::Exponential, true),
            fade_out: Fade::new(2_000.0, Curve::Exponential, true),
            crossfade: Crossfade {
                time_ms: 1_000.0,
                curve: Curve::SCurve,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }
}

/// The edge fade every voice gets at start and stop: fixed at 1 ms, so it is
/// a type with one value. It is written to the file for the reader's benefit
/// and any other value is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeFade;

impl EdgeFade {
    /// The edge fade in milliseconds.
    pub const MS: f64 = 1.0;
}

impl Serialize for EdgeFade {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(Self::MS)
    }
}

impl<'de> Deserialize<'de> for EdgeFade {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ms = f64::deserialize(d)?;
        if ms == Self::MS {
            Ok(EdgeFade)
        } else {
            Err(serde::de::Error::custom(format_args!(
                "the edge fade is fixed at 1 ms, not {ms} ms"
            )))
        }
    }
}

/// Protection fades: short fades that stop clicks at edges, edit points and loop points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protection {
    /// Start/stop edge fade (always 1 ms).
    #[serde(default)]
    pub edge_fade_ms: EdgeFade,
    /// Fade at cue and edit points (0.25 to 10 ms).
    pub edit_point_fade_ms: f64,
    /// Fade at loop points (0.25 to 10 ms).
    pub loop_point_fade_ms: f64,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Protection {
    /// Allowed range of the edit-point and loop-point fades, in milliseconds.
    pub const RANGE_MS: std::ops::RangeInclusive<f64> = 0.25..=10.0;
}

impl Default for Protection {
    fn default() -> Self {
        Protection {
            edge_fade_ms: EdgeFade,
            edit_point_fade_ms: 2.0,
            loop_point_fade_ms: 2.0,
            extra: Extra::new(),
        }
    }
}
