//! From show commands to render commands: the one translation every driver
//! (the offline render, the live box) shares. A driver only decides where a
//! voice's audio comes from, through [`ReaderSource`].

use std::collections::HashMap;

use super::Command;
use crate::render::{
    AuditionStart, BoxedReader, ClipTag, Command as RenderCommand, FadeSpec, FrameCount, Start,
    Target, Timeline, VoiceId, VoiceParams,
};
use crate::show::{Clip, ClipId, Show};

/// Where a starting voice's audio comes from: decoded memory offline, a
/// preloaded head and the butler's stream live.
pub trait ReaderSource {
    /// A reader of `clip`'s playback sequence `timeline`, or why there is none.
    fn reader(&mut self, clip: &Clip, timeline: Timeline) -> Result<BoxedReader, String>;
}

/// Why a command cannot become a render command; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The command names a clip the session does not have.
    #[error("clip \"{0}\" is not in the session")]
    UnknownClip(ClipId),
    /// The clip cannot play: its markers do not fit its audio, or its audio
    /// cannot be read.
    #[error("clip \"{clip}\": {reason}")]
    Clip {
        /// The clip.
        clip: ClipId,
        /// Why.
        reason: String,
    },
}

/// Turns show commands into render commands for one show at one rate:
/// numbers the voices and tags each clip for the render thread.
#[derive(Debug)]
pub struct Dispatcher {
    rate: u32,
    tags: HashMap<ClipId, ClipTag>,
    next_voice: u64,
}

impl Dispatcher {
    /// A dispatcher for `show` rendered at `rate`.
    pub fn new(show: &Show, rate: u32) -> Self {
        let tags = show
            .clips
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), ClipTag(i as u32)))
            .collect();
        Dispatcher {
            rate,
            tags,
            next_voice: 0,
        }
    }

    /// The clip a render event's tag stands for.
    pub fn clip<'s>(&self, show: &'s Show, tag: ClipTag) -> Option<&'s ClipId> {
        show.clips.get(tag.0 as usize).map(|c| &c.id)
    }

    /// `command` as the render thread's command, its audio from `source`.
    pub fn translate(
        &mut self,
        show: &Show,
        command: &Command,
        source: &mut impl ReaderSource,
    ) -> Result<RenderCommand, DispatchError> {
        let rate = self.rate;
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
        Ok(match command {
            Command::Go { clip: id } | Command::Audition { clip: id } => {
                let clip = show
                    .clip(id)
                    .ok_or_else(|| DispatchError::UnknownClip(id.clone()))?;
                let bad = |reason: String| DispatchError::Clip {
                    clip: id.clone(),
                    reason,
                };
                let timeline = Timeline::from_clip(clip, rate).map_err(|e| bad(e.to_string()))?;
                let reader = source.reader(clip, timeline).map_err(bad)?;
                let params = VoiceParams::from_clip(clip, &show.fade_defaults, rate);
                self.next_voice += 1;
                let voice = VoiceId(self.next_voice);
                let tag = self.tag(id)?;
                if matches!(command, Command::Go { .. }) {
                    RenderCommand::Start(Start {
                        voice,
                        clip: tag,
                        group: clip.group,
                        reader,
                        params,
                    })
                } else {
                    RenderCommand::Audition(AuditionStart {
                        voice,
                        clip: tag,
                        reader,
                        params,
                    })
                }
            }
            Command::Stop { clip } => RenderCommand::Stop(Target::Clip(self.tag(clip)?)),
            Command::FadeOut { clip, time } => RenderCommand::FadeOut {
                target: Target::Clip(self.tag(clip)?),
                fade: fade(*time),
            },
            Command::FadeAll { time } => RenderCommand::FadeAll(fade(*time)),
            Command::StopAll {} => RenderCommand::StopAll,
            Command::Panic {} => RenderCommand::Panic,
            Command::StopAudition {} => RenderCommand::StopAudition,
        })
    }

    fn tag(&self, clip: &ClipId) -> Result<ClipTag, DispatchError> {
        self.tags
            .get(clip)
            .copied()
            .ok_or_else(|| DispatchError::UnknownClip(clip.clone()))
    }
}
