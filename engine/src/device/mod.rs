//! Sound devices: the sample formats they speak, the card clock filter, the
//! live figures of a device loop, the choice of a playback device and its
//! settings ([`choice`]), and (feature `alsa`) the ALSA device that drives
//! the renderer in real time and the cards it reads ([`cards`]).
//!
//! ```text
//!   rt-out:  poll ─▶ status (card position, timestamp) ─▶ DLL ─▶ Render::render ─▶ encode ─▶ write
//!   rt-in:   poll ─▶ status ─▶ read ─▶ decode ─▶ Record::record           (overrun ─▶ discontinuity)
//!   both:    xrun ─▶ measure ─▶ prepare ─▶ refill / restart ─▶ DeviceEvent::Xrun
//! ```

#[cfg(feature = "alsa")]
pub mod alsa;
#[cfg(feature = "alsa")]
pub mod cards;
pub mod choice;
pub mod dll;
pub mod format;
pub mod stats;

pub use dll::Dll;
pub use format::SampleFormat;
pub use stats::{DeviceStats, Histogram, Percentiles, Snapshot};

/// Which way audio flows through a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamDir {
    /// Out to the speakers.
    Playback,
    /// In from the inputs.
    Capture,
}

impl std::fmt::Display for StreamDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StreamDir::Playback => "playback",
            StreamDir::Capture => "capture",
        })
    }
}

/// How frames reach the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// `snd_pcm_writei` / `readi`: alsa-lib copies each period.
    #[default]
    ReadWrite,
    /// `snd_pcm_mmap_begin` / `commit`: frames go straight into the card's buffer.
    Mmap,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::ReadWrite => "rw",
            Access::Mmap => "mmap",
        })
    }
}

impl std::str::FromStr for Access {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rw" => Ok(Access::ReadWrite),
            "mmap" => Ok(Access::Mmap),
            _ => Err(format!("access {s:?} is not known: use rw or mmap")),
        }
    }
}

/// The timing of one period, as the device loop hands it to the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cycle {
    /// Stream frame of the period's first frame: frames processed since the
    /// stream opened, continuous across xruns.
    pub frame: u64,
    /// The stream frame at the latest period boundary the card crossed: the
    /// frame it was playing or capturing at `time`.
    pub boundary_frame: u64,
    /// The filtered time (CLOCK_MONOTONIC seconds) at which the card crossed
    /// the latest period boundary.
    pub time: f64,
    /// The filtered length of a period on the card clock, seconds.
    pub period_seconds: f64,
}

/// What a device loop reports, in order.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DeviceEvent {
    /// The card (re)started; its first frame is stream frame `frame`.
    #[serde(rename = "device_started")]
    Started {
        /// Playback or capture.
        dir: StreamDir,
        /// Stream frame at the card's frame 0.
        frame: u64,
    },
    /// An xrun, recovered.
    Xrun {
        /// Playback (underrun) or capture (overrun).
        dir: StreamDir,
        /// Stream frame at which the stream resumed.
        frame: u64,
        /// From the xrun to its detection, µs.
        late_us: u64,
        /// Card frames that passed without audio (playback: the silence
        /// heard; capture: the audio lost).
        lost_frames: u64,
        /// From detection to the card running again, µs.
        recovery_us: u64,
    },
}
