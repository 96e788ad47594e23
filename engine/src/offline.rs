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

use crate::control::{Command, TimedCommand};
use crate::media::Pcm;
use crate::render::{
    AuditionStart, ClipTag, Command as RenderCommand, FadeSpec, FrameCount, MemoryClip,
    RenderConfig, Renderer, SamplePos, Start, Target, Timeline, VoiceId, VoiceParams,
};
use crate::show::{ClipId, Group, Show};

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

/// What happened during a render.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Frames written.
    pub frames: u64,
    /// Voices started.
    pub started: u64,
    /// Starts refused (pool full), with the reasons the renderer gave.
    pub refused: Vec<String>,
    /// Underruns (none in an offline render unless a reader is short).
    pub underruns: u64,
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
    let tags: HashMap<&ClipId, ClipTag> = show
        .clips
        .iter()
        .enumerate()
        .map(|(i, c)| (&c.id, ClipTag(i as u32)))
        .collect();
    let mut summary = Summary::default();
    let mut next_event = 0;
    let mut next_voice = 0u64;
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
            let command = translate(
                show,
                clips,
                &tags,
                &event.command,
                options.rate,
                &mut next_voice,
            )?;
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
    Ok(summary)
}

/// A show command as the render thread's command.
fn translate(
    show: &Show,
    clips: &HashMap<ClipId, Pcm>,
    tags: &HashMap<&ClipId, ClipTag>,
    command: &Command,
    rate: u32,
    next_voice: &mut u64,
) -> Result<RenderCommand, OfflineError> {
    let fade = |secs: Option<f64>| {
        secs.map(|s| {
            let d = &show.fade_defaults.fade_out;
            FadeSpec::new(
                FrameCount((s * f64::from(rate)).round() as u64),
                d.curve,
                d.power,
            )
        })
    };
    let tag = |clip: &ClipId| {
        tags.get(clip)
            .copied()
            .ok_or_else(|| OfflineError::NotDecoded(clip.clone()))
    };
    Ok(match command {
        Command::Go { clip } | Command::Audition { clip } => {
            let c = show
                .clip(clip)
                .ok_or_else(|| OfflineError::NotDecoded(clip.clone()))?;
            let pcm = clips
                .get(clip)
                .ok_or_else(|| OfflineError::NotDecoded(clip.clone()))?;
            let bad = |reason: String| OfflineError::Clip {
                clip: clip.clone(),
                reason,
            };
            let timeline = Timeline::from_clip(c, rate).map_err(|e| bad(e.to_string()))?;
            let reader = MemoryClip::new(Arc::clone(&pcm.samples), pcm.channels, timeline)
                .map_err(|e| bad(e.to_string()))?;
            let params = VoiceParams::from_clip(c, &show.fade_defaults, rate);
            *next_voice += 1;
            let voice = VoiceId(*next_voice);
            if matches!(command, Command::Go { .. }) {
                RenderCommand::Start(Start {
                    voice,
                    clip: tag(clip)?,
                    group: c.group,
                    reader: Box::new(reader),
                    params,
                })
            } else {
                RenderCommand::Audition(AuditionStart {
                    voice,
                    clip: tag(clip)?,
                    reader: Box::new(reader),
                    params,
                })
            }
        }
        Command::Stop { clip } => RenderCommand::Stop(Target::Clip(tag(clip)?)),
        Command::FadeOut { clip, time } => RenderCommand::FadeOut {
            target: Target::Clip(tag(clip)?),
            fade: fade(*time),
        },
        Command::FadeAll { time } => RenderCommand::FadeAll(fade(*time)),
        Command::StopAll {} => RenderCommand::StopAll,
        Command::Panic {} => RenderCommand::Panic,
        Command::StopAudition {} => RenderCommand::StopAudition,
    })
}
