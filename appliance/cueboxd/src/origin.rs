//! Where a command came from: the input, and who or what on it. It travels
//! with the command into the live box and appears in the events it causes
//! (`accepted`, and `started` for the voice it starts), so whoever reads
//! them — the operator, the play log, the pair — knows what started what.

use std::fmt;

use cuebox_engine::control::cues::CueNumber;
use serde::Serialize;

/// The input a command came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Input {
    /// A line on cueboxd's standard input.
    Stdin,
    /// A line on the control socket.
    Socket,
    /// The `--events` timeline.
    Timeline,
    /// A host over the network API.
    Api,
    /// OSC, over UDP or TCP.
    Osc,
    /// MIDI Show Control over UDP.
    MscUdp,
    /// MIDI Show Control on a MIDI port.
    MscMidi,
    /// A grid controller's button on a MIDI port.
    Midi,
    /// A clip's timecode trigger.
    TimecodeCue,
    /// A clip chasing timecode.
    Chase,
    /// The box itself, resuming the live state saved before a restart.
    Resume,
    /// The operator's page in a browser.
    Web,
    /// The main of this box's pair: a command it accepted, applied here at
    /// the same instant (docs/pair.md).
    Pair,
}

impl Input {
    /// Its name, as events write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Input::Stdin => "stdin",
            Input::Socket => "socket",
            Input::Timeline => "timeline",
            Input::Api => "api",
            Input::Osc => "osc",
            Input::MscUdp => "msc-udp",
            Input::MscMidi => "msc-midi",
            Input::Midi => "midi",
            Input::TimecodeCue => "timecode-cue",
            Input::Chase => "chase",
            Input::Resume => "resume",
            Input::Web => "web",
            Input::Pair => "pair",
        }
    }
}

/// Where a command came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    /// The input.
    pub input: Input,
    /// Who or what on it: a peer's address (and an API host's key), a MIDI
    /// port, a timecode; empty for the box's own inputs.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// The cue (page.tab.button) it was sent for, when it named one or was
    /// a bare GO of the playhead's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cue: Option<String>,
}

impl Origin {
    /// A command from `from` on `input`.
    pub fn new(input: Input, from: impl Into<String>) -> Self {
        Origin {
            input,
            from: from.into(),
            cue: None,
        }
    }

    /// This origin, sent for `cue`.
    pub fn for_cue(self, cue: Option<CueNumber>) -> Self {
        Origin {
            cue: cue.map(|c| c.to_string()),
            ..self
        }
    }

    /// A command from an input with nobody behind it to name (stdin, the
    /// timeline, the box itself).
    pub fn local(input: Input) -> Self {
        Origin::new(input, "")
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.input.as_str())?;
        if !self.from.is_empty() {
            write!(f, " {}", self.from)?;
        }
        if let Some(cue) = &self.cue {
            write!(f, ", cue {cue}")?;
        }
        Ok(())
    }
}
