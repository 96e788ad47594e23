//! Offline render: a show, its decoded clips and a timed event list, played
//! through the real renderer without a sound card — the print-master and
//! test tool behind `cueboxd render`.
//!
//! The driver only translates: each [`control::Command`](crate::control::Command)
//! becomes a render command stamped with its frame, and the renderer applies
//! it at that exact frame inside whatever block it falls in, so the output
//! is the same for every period size.

use std::collections::HashMap;
use std::sync::Arc;

use crate::control::{DispatchError, Dispatcher, ReaderSource, TimedCommand};
use crate::media::Pcm;
use crate::render::{BoxedReader, MemoryClip, RenderConfig, Renderer, SamplePos, Timeline};
use crate::show::{Clip, ClipId, Group, Show};

/// Which bus an offline render writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusChoice {
    /// The stereo sum of groups A–D.
    Main,
    /// The audition bus.
    Audition,
    /// One group's stereo bus.
    Group(Group),
}

/// How to render.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Engine rate, frames per second.
    pub rate: u32,
    /// Frames per period (16 to 4096).
    pub period: usize,
    /// Frames to render.
    pub frames: u64,
    /// The bus written.
    pub bus: BusChoice,
}

/// Why an offline render failed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The renderer refused the configuration (period size, routing).
    #[error("cannot set up the renderer: {0}")]
    Config(#[from] crate::render::RenderConfigError),
    /// A clip's cue or loop markers do not fit its audio.
    #[error("clip \"{clip}\": {reason}")]
    Clip {
        /// The clip.
        clip: ClipId,
        /// What does not fit.
        reason: String,
    },
    /// An event names a clip that was not decoded.
    #[error("clip \"{0}\" was not decoded")]
    NotDecoded(ClipId),
    /// The output could not take the audio.
    #[error("cannot write the output: {0}")]
    Sink(#[source] std::io::Error),
    /// The renderer failed a block.
    #[error("render failed: {0}")]
    Process(String),
}

/// A bus (or output channel) that went over full scale during a render.
#[derive(Debug, Clone, PartialEq)]
pub struct Over {
    /// `main`, `A`–`D`, `audition`, or `output N` (a logical output).
    pub bus: String,
    /// The highest absolute sample, linear (above 1.0).
    pub peak: f32,
    /// The frame of that peak.
    pub at: u64,
    /// The first frame above full scale.
    pub first: u64,
    /// Frames with a sample above full scale.
    pub frames: u64,
}

impl Over {
    /// The peak in dBFS.
    pub fn peak_dbfs(&self) -> f64 {
        20.0 * f64::from(self.peak).log10()
    }
}

/// Every bus's overs, noted block by block.
#[derive(Debug, Default)]
struct Overs(Vec<Over>);

impl Overs {
    /// Notes the frames of `bus` from frame `now` (one or two channels).
    fn note(&mut self, bus: &str, now: u64, channels: &[&[f32]]) {
        let frames = channels.iter().map(|c| c.len()).max().unwrap_or(0);
        for i in 0..frames {
            let x = channels
                .iter()
                .filter_map(|c| c.get(i))
                .fold(0.0f32, |m, x| m.max(x.abs()));
            if x <= 1.0 {
                continue;
            }
            let at = now + i as u64;
            match self.0.iter_mut().find(|o| o.bus == bus) {
                Some(o) => {
                    o.frames += 1;
                    if x > o.peak {
                        (o.peak, o.at) = (x, at);
                    }
                }
                None => self.0.push(Over {
                    bus: bus.to_string(),
                    peak: x,
                    at,
                    first: at,
                    frames: 1,
                }),
            }
        }
    }
}

/// What happened during a render.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Frames written.
    pub frames: u64,
    /// Voices started.
    pub started: u64,
    /// Starts refused (pool full), with the reasons the renderer gave.
    pub refused: Vec<String>,
    /// Underruns (none in an offline render unless a reader is short).
    pub underruns: u64,
    /// The busses and outputs that went over full scale (0 dBFS), in the
    /// order they first did: whatever bus was written, every one is checked.
    pub overs: Vec<Over>,
}

/// Renders `events` on `show` with the decoded `clips`, handing each block's
/// interleaved stereo frames of the chosen bus to `sink`.
pub fn render(
    show: &Show,
    clips: &HashMap<ClipId, Pcm>,
    events: &[TimedCommand],
    options: &Options,
    mut sink: impl FnMut(&[f32]) -> std::io::Result<()>,
) -> Result<Summary, OfflineError> {
    let config = RenderConfig::from_show(show, options.rate, options.period);
    let (mut renderer, mut control) = Renderer::new(config)?;
    let mut main = renderer.main_out();
    let mut audition = renderer.audition_out();
    let mut interleaved = vec![0.0f32; options.period * 2];
    let mut dispatcher = Dispatcher::new(show, options.rate);
    let mut source = Decoded(clips);
    let mut summary = Summary::default();
    let mut overs = Overs::default();
    let outputs: Vec<String> = main
        .outputs()
        .chain(audition.outputs())
        .map(|(ch, _)| format!("output {}", ch.0.get()))
        .collect();
    let mut next_event = 0;
    let mut now = 0u64;
    while now < options.frames {
        let frames = (options.frames - now).min(options.period as u64) as usize;
        let block_end = now + frames as u64;
        // Hand over every command due in this block, stamped with its frame.
        while let Some(event) = events.get(next_event) {
            let at = event.at.frame(options.rate);
            if at >= block_end {
                break;
            }
            let command = dispatcher
                .translate(show, &event.command, &mut source)
                .map_err(|e| match e {
                    DispatchError::UnknownClip(clip) => OfflineError::NotDecoded(clip),
                    DispatchError::Clip { clip, reason } => OfflineError::Clip { clip, reason },
                })?;
            control
                .send(SamplePos(at.max(now)), command)
                .map_err(|e| OfflineError::Process(e.to_string()))?;
            next_event += 1;
        }
        renderer
            .process(&mut main, &mut audition, frames)
            .map_err(|e| OfflineError::Process(e.to_string()))?;
        let stereo = match options.bus {
            BusChoice::Main => main.mix(),
            BusChoice::Audition => audition.stereo(),
            BusChoice::Group(g) => main.group(g),
        };
        let n = stereo.interleave_into(&mut interleaved);
        sink(&interleaved[..n]).map_err(OfflineError::Sink)?;
        let mix = main.mix();
        overs.note("main", now, &[mix.left, mix.right]);
        for g in Group::ALL {
            let s = main.group(g);
            overs.note(&g.to_string(), now, &[s.left, s.right]);
        }
        let s = audition.stereo();
        overs.note("audition", now, &[s.left, s.right]);
        for (name, (_, x)) in outputs.iter().zip(main.outputs().chain(audition.outputs())) {
            overs.note(name, now, &[x]);
        }
        for event in control.events() {
            use crate::render::Event;
            match event {
                Event::Started { .. } => summary.started += 1,
                Event::Refused { .. } => summary.refused.push(format!("{event:?}")),
                Event::Underrun { .. } => summary.underruns += 1,
                _ => {}
            }
        }
        control.drop_finished();
        now = block_end;
    }
    summary.frames = now;
    summary.overs = overs.0;
    Ok(summary)
}

/// Voices read the clips decoded before the render.
struct Decoded<'a>(&'a HashMap<ClipId, Pcm>);

impl ReaderSource for Decoded<'_> {
    fn reader(&mut self, clip: &Clip, timeline: Timeline) -> Result<BoxedReader, String> {
        let pcm = self
            .0
            .get(&clip.id)
            .ok_or_else(|| "was not decoded".to_string())?;
        let reader = MemoryClip::new(Arc::clone(&pcm.samples), pcm.channels, timeline)
            .map_err(|e| e.to_string())?;
        Ok(Box::new(reader))
    }
}
