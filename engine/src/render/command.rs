//! What the control side tells the render thread, and when.
//!
//! This is the render thread's own vocabulary, lower than
//! [`control::Command`](crate::control::Command): clips are already readers,
//! fades are already frame counts, and every voice has an id chosen by the
//! sender. Whoever translates a show's commands (the appliance, the offline
//! render) builds these with [`VoiceParams::from_clip`] and
//! [`Timeline::from_clip`](super::Timeline::from_clip).

use std::fmt;

use crate::dsp::fade::FadeShape;
use crate::show::{Channels, Clip, Crossfade, Curve, Fade, FadeDefaults, Group, Panning};

use super::reader::BoxedReader;
use super::time::{ClipTag, FrameCount, SamplePos, VoiceId};
use super::varispeed::Speed;

/// A command and the frame at which it applies.
#[derive(Debug)]
pub struct Scheduled {
    /// The frame on the renderer's clock at which the command takes effect;
    /// the renderer splits its block there.
    pub at: SamplePos,
    /// What to do.
    pub command: Command,
}

/// What the render thread can be told.
pub enum Command {
    /// Start a voice in a group (A–D), subject to the group's choke limit
    /// and the voice pool.
    Start(Start),
    /// Start a voice with the crossfade of its params while the voices
    /// `from` fade out over the same frames with the complementary gain. If
    /// the start is refused, nothing fades.
    Crossfade {
        /// The incoming voice.
        start: Start,
        /// The outgoing voices (group voices only).
        from: Target,
    },
    /// Stop voices with the 1 ms edge fade.
    Stop(Target),
    /// Fade voices out, then stop them. `fade` `None` uses each voice's own
    /// fade out. A fade never makes a voice last longer than a fade (or stop)
    /// already under way would.
    FadeOut {
        /// Which voices.
        target: Target,
        /// The fade, or the voices' own.
        fade: Option<FadeSpec>,
    },
    /// Pause voices: each falls silent over the 1 ms edge and holds its
    /// place (its audio, fades and position wait) until resumed.
    Pause(Target),
    /// Resume paused voices where they paused, over the 1 ms edge.
    Resume(Target),
    /// Pause every voice of groups A–D.
    PauseAll,
    /// Resume every paused voice of groups A–D.
    ResumeAll,
    /// Fade every voice of groups A–D out (`None`: each voice's own fade out).
    FadeAll(Option<FadeSpec>),
    /// Stop every voice of groups A–D with the 1 ms edge fade.
    StopAll,
    /// Stop everything, audition included, with only the 1 ms edge fade
    /// (longer fades under way are cut short).
    Panic,
    /// Play on the audition bus, replacing what plays there (the old voice
    /// gets its 1 ms edge fade, then the new one starts).
    Audition(AuditionStart),
    /// Stop the audition voice with the 1 ms edge fade.
    StopAudition,
    /// Change the speed of a varispeed voice (one started with a speed)
    /// from this frame on; any other voice reports it unmatched.
    Speed {
        /// The voice.
        voice: VoiceId,
        /// Its new speed.
        speed: Speed,
    },
    /// Fade voices to a level: each one's level becomes `level_db` (in
    /// place of the level it started with; pan and fades stay), ramped
    /// linearly in gain over `ramp` frames and never fewer than the 1 ms
    /// edge length. A change during a ramp starts from the gain reached.
    Level {
        /// Which voices.
        target: Target,
        /// The level in dB (−144 and below is silence).
        level_db: f64,
        /// The ramp's length; shorter than the edge fade (0 included) is
        /// the edge fade.
        ramp: FrameCount,
    },
    /// Move voices to a pan (mono) or width and balance (stereo): each
    /// one's mixing matrix glides there, linear per frame, over `ramp`
    /// frames and never fewer than the 1 ms edge length; level and fades
    /// stay. A voice of the other channel layout reports it unmatched.
    Pan {
        /// Which voices.
        target: Target,
        /// Where to.
        pan: Pan,
        /// The glide's length; shorter than the edge fade is the edge fade.
        ramp: FrameCount,
    },
    /// Change a group bus's level, mute and balance, ramped linearly in
    /// gain over `ramp` frames and never fewer than the 1 ms edge length, so
    /// it never clicks. A change during a ramp starts from the gain reached.
    GroupGain {
        /// The group.
        group: Group,
        /// Level in dB.
        level_db: f64,
        /// Muted.
        mute: bool,
        /// Balance, −1 (left only) to +1 (right only).
        balance: f64,
        /// The ramp's length; shorter than the edge fade (0 included) is
        /// the edge fade.
        ramp: FrameCount,
    },
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Start(s) => f.debug_tuple("Start").field(s).finish(),
            Command::Crossfade { start, from } => f
                .debug_struct("Crossfade")
                .field("start", start)
                .field("from", from)
                .finish(),
            Command::Stop(t) => f.debug_tuple("Stop").field(t).finish(),
            Command::FadeOut { target, fade } => f
                .debug_struct("FadeOut")
                .field("target", target)
                .field("fade", fade)
                .finish(),
            Command::Pause(t) => f.debug_tuple("Pause").field(t).finish(),
            Command::Resume(t) => f.debug_tuple("Resume").field(t).finish(),
            Command::PauseAll => f.write_str("PauseAll"),
            Command::ResumeAll => f.write_str("ResumeAll"),
            Command::FadeAll(fade) => f.debug_tuple("FadeAll").field(fade).finish(),
            Command::StopAll => f.write_str("StopAll"),
            Command::Panic => f.write_str("Panic"),
            Command::Audition(a) => f.debug_tuple("Audition").field(a).finish(),
            Command::StopAudition => f.write_str("StopAudition"),
            Command::Speed { voice, speed } => f
                .debug_struct("Speed")
                .field("voice", voice)
                .field("speed", &speed.ratio())
                .finish(),
            Command::Level {
                target,
                level_db,
                ramp,
            } => f
                .debug_struct("Level")
                .field("target", target)
                .field("level_db", level_db)
                .field("ramp", ramp)
                .finish(),
            Command::Pan { target, pan, ramp } => f
                .debug_struct("Pan")
                .field("target", target)
                .field("pan", pan)
                .field("ramp", ramp)
                .finish(),
            Command::GroupGain {
                group,
                level_db,
                mute,
                balance,
                ramp,
            } => f
                .debug_struct("GroupGain")
                .field("group", group)
                .field("level_db", level_db)
                .field("mute", mute)
                .field("balance", balance)
                .field("ramp", ramp)
                .finish(),
        }
    }
}

/// Which group voices a stop or fade applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// One voice.
    Voice(VoiceId),
    /// Every voice playing this clip.
    Clip(ClipTag),
    /// Every voice of a group.
    Group(Group),
}

/// A voice to start in a group.
pub struct Start {
    /// Its id, unique among playing voices.
    pub voice: VoiceId,
    /// The clip it plays (for [`Target::Clip`] and events).
    pub clip: ClipTag,
    /// The group whose bus it feeds.
    pub group: Group,
    /// Its audio; handed back through the finished-readers queue once the
    /// voice ends (or at once if the start is refused).
    pub reader: BoxedReader,
    /// Level, panning and fades.
    pub params: VoiceParams,
}

/// A voice to start on the audition bus. A distinct type from [`Start`]: it
/// names no group, so it cannot be routed to one.
pub struct AuditionStart {
    /// Its id.
    pub voice: VoiceId,
    /// The clip it plays.
    pub clip: ClipTag,
    /// Its audio.
    pub reader: BoxedReader,
    /// Level, panning and fades.
    pub params: VoiceParams,
}

fn reader_summary(r: &BoxedReader) -> String {
    format!("{:?} {:?}", r.channels(), r.timeline())
}

impl fmt::Debug for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Start")
            .field("voice", &self.voice)
            .field("clip", &self.clip)
            .field("group", &self.group)
            .field("reader", &reader_summary(&self.reader))
            .field("params", &self.params)
            .finish()
    }
}

impl fmt::Debug for AuditionStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditionStart")
            .field("voice", &self.voice)
            .field("clip", &self.clip)
            .field("reader", &reader_summary(&self.reader))
            .field("params", &self.params)
            .finish()
    }
}

/// A voice's static processing: level, panning and its fades.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceParams {
    /// Level in dB (−144 and below is silence).
    pub level_db: f64,
    /// Pan (mono) or width and balance (stereo); must match the reader.
    pub pan: Pan,
    /// Fade in at start (`FadeSpec::NONE` for none; the 1 ms edge fade
    /// always applies).
    pub fade_in: FadeSpec,
    /// Fade out used by a fade command that gives none.
    pub fade_out: FadeSpec,
    /// Crossfade used when this voice is started by [`Command::Crossfade`].
    pub crossfade: CrossfadeSpec,
    /// `None`: the sequence plays frame for frame. A speed makes it a
    /// varispeed voice (a chasing clip), resampled, whose speed
    /// [`Command::Speed`] can change.
    pub speed: Option<Speed>,
    /// Its own protection ramp at cue and edit points (`None`: the
    /// renderer's).
    pub edit_ramp: Option<FrameCount>,
    /// Its own protection ramp at loop points (`None`: the renderer's);
    /// never longer than [`MAX_LOOP_RAMP_MS`] allows.
    pub loop_ramp: Option<FrameCount>,
}

/// The longest loop-point protection a voice may have, ms: the renderer
/// sizes each voice's seam capture for it.
pub const MAX_LOOP_RAMP_MS: f64 = 10.0;

impl VoiceParams {
    /// Unity level, centred, no fades (1 ms edge fade only), for a reader of
    /// `channels`.
    pub fn plain(channels: Channels) -> Self {
        VoiceParams {
            level_db: 0.0,
            pan: Pan::centred(channels),
            fade_in: FadeSpec::NONE,
            fade_out: FadeSpec::NONE,
            crossfade: CrossfadeSpec {
                frames: FrameCount(0),
                curve: Curve::SCurve,
            },
            speed: None,
            edit_ramp: None,
            loop_ramp: None,
        }
    }

    /// A clip's level, panning and fades (each missing fade from the
    /// session's `defaults`), at `rate` frames per second.
    pub fn from_clip(clip: &Clip, defaults: &FadeDefaults, rate: u32) -> Self {
        let p = &clip.processing;
        let fades = &p.fades;
        // Each protection ramp is at least one frame, as the renderer's are.
        let ramp = |ms: Option<f64>| {
            ms.map(|ms| {
                FrameCount(crate::dsp::fade::ms_to_frames(ms.min(MAX_LOOP_RAMP_MS), rate).max(1))
            })
        };
        VoiceParams {
            level_db: p.level_db,
            pan: Pan::of(&p.panning),
            fade_in: FadeSpec::from_fade(fades.fade_in.as_ref().unwrap_or(&defaults.fade_in), rate),
            fade_out: FadeSpec::from_fade(
                fades.fade_out.as_ref().unwrap_or(&defaults.fade_out),
                rate,
            ),
            crossfade: CrossfadeSpec::from_crossfade(
                fades.crossfade.as_ref().unwrap_or(&defaults.crossfade),
                rate,
            ),
            speed: None,
            edit_ramp: ramp(p.protection.edit_point_fade_ms),
            loop_ramp: ramp(p.protection.loop_point_fade_ms),
        }
    }
}

/// Where a voice sits in its bus's stereo image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pan {
    /// A mono voice: −1 (left) to +1 (right), constant-power law.
    Mono {
        /// Position.
        pan: f64,
    },
    /// A stereo voice.
    Stereo {
        /// 0 (folded to mono) to 1 (as recorded).
        width: f64,
        /// −1 (left only) to +1 (right only).
        balance: f64,
    },
}

impl Pan {
    /// A clip's panning as the render thread takes it.
    pub fn of(panning: &Panning) -> Self {
        match panning {
            Panning::Mono { pan, .. } => Pan::Mono { pan: *pan },
            Panning::Stereo { width, balance, .. } => Pan::Stereo {
                width: *width,
                balance: *balance,
            },
        }
    }

    /// Neutral panning for `channels`.
    pub fn centred(channels: Channels) -> Self {
        match channels {
            Channels::Mono => Pan::Mono { pan: 0.0 },
            Channels::Stereo => Pan::Stereo {
                width: 1.0,
                balance: 0.0,
            },
        }
    }

    /// The channel layout this panning is for.
    pub fn channels(&self) -> Channels {
        match self {
            Pan::Mono { .. } => Channels::Mono,
            Pan::Stereo { .. } => Channels::Stereo,
        }
    }
}

/// A fade in or out: its length in frames and its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FadeSpec {
    /// Length; 0 for no fade.
    pub frames: FrameCount,
    /// Curve and law.
    pub shape: FadeShape,
}

impl FadeSpec {
    /// No fade.
    pub const NONE: FadeSpec = FadeSpec {
        frames: FrameCount(0),
        shape: FadeShape {
            curve: Curve::Linear,
            law: crate::dsp::fade::Law::EqualGain,
        },
    };

    /// A fade of `frames` with `curve`, equal-power when `power`.
    pub fn new(frames: FrameCount, curve: Curve, power: bool) -> Self {
        FadeSpec {
            frames,
            shape: FadeShape::new(curve, power),
        }
    }

    /// The show's fade at `rate` frames per second.
    pub fn from_fade(fade: &Fade, rate: u32) -> Self {
        FadeSpec::new(
            FrameCount::from_ms(fade.time_ms, rate),
            fade.curve,
            fade.power,
        )
    }
}

/// A crossfade: length and curve; always power-complementary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossfadeSpec {
    /// Length; 0 behaves as a cut (edge fades only).
    pub frames: FrameCount,
    /// Curve of the crossfade position.
    pub curve: Curve,
}

impl CrossfadeSpec {
    /// The show's crossfade at `rate` frames per second.
    pub fn from_crossfade(x: &Crossfade, rate: u32) -> Self {
        CrossfadeSpec {
            frames: FrameCount::from_ms(x.time_ms, rate),
            curve: x.curve,
        }
    }
}
