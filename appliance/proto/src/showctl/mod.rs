//! Show control's protocols, pure: what a controller asks ([`Action`]),
//! OSC decoding and parsing (bounded, checked before decoding), and SLIP
//! framing for OSC over TCP. The box's services live in cueboxd.

pub mod osc;
pub mod slip;

/// A show controller's request.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Start a cue (`None`: the playhead's, which then moves to the next),
    /// with a fade-in time instead of the clip's own, if given.
    Start {
        /// The cue number or clip id.
        cue: Option<String>,
        /// Fade-in seconds.
        time: Option<f64>,
    },
    /// Stop a cue (`None`: every clip of groups A–D).
    Stop(Option<String>),
    /// Pause a cue (`None`: every playing clip).
    Pause(Option<String>),
    /// Resume a cue (`None`: every paused clip).
    Resume(Option<String>),
    /// Put the playhead on a cue (MSC LOAD, `/cue/N/load`, `/playhead/N`).
    Load(String),
    /// Play a cue on the audition bus.
    Audition(String),
    /// Move the playhead to the next cue.
    Next,
    /// Move the playhead to the previous cue.
    Previous,
    /// Fade every clip of groups A–D out over this many seconds.
    FadeAll(f64),
    /// Stop everything at once, audition included.
    Panic,
    /// Stop every clip and put the playhead back at the top (MSC RESET).
    Reset,
    /// Crossfade from one cue's clip to another's, over a time (or the
    /// starting clip's own crossfade).
    Crossfade {
        /// The cue fading out.
        from: String,
        /// The cue starting.
        to: String,
        /// Seconds.
        time: Option<f64>,
    },
    /// Fade a playing cue's clip to a level, in dB, over a ramp time.
    FadeTo {
        /// The cue number or clip id.
        cue: String,
        /// dB.
        level_db: f64,
        /// Ramp seconds.
        time: Option<f64>,
    },
    /// Set a group bus's level, in dB, over a ramp time.
    GroupLevel {
        /// The group.
        group: cuebox_engine::show::Group,
        /// dB.
        level_db: f64,
        /// Ramp seconds.
        time: Option<f64>,
    },
}
