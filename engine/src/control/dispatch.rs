//! From show commands to render commands: the one translation every driver
//! (the offline render, the live box) shares. A driver only decides where a
//! voice's audio comes from, through [`ReaderSource`].

use std::collections::HashMap;

use super::revise::Glide;
use super::Command;
use crate::render::{
    AuditionStart, BoxedReader, ClipTag, Command as RenderCommand, FadeSpec, FrameCount, Speed,
    Start, Target, Timeline, VoiceId, VoiceParams,
};
use crate::show::{Clip, ClipId, Group, Show};

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
/// numbers the voices, tags each clip for the render thread and remembers
/// each group bus's gain settings.
#[derive(Debug)]
pub struct Dispatcher {
    rate: u32,
    /// Each clip's tag, kept for the whole run: a revised show (clips
    /// added, removed, reordered) never renames a playing voice's clip.
    tags: HashMap<ClipId, ClipTag>,
    /// The clip of each tag (by its number).
    ids: Vec<ClipId>,
    next_voice: u64,
    /// What each group bus was last set to, A–D: the render command sets
    /// level, mute and balance together, so a level change repeats the rest.
    busses: [BusSetting; 4],
}

/// A group bus's gain settings as last sent.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BusSetting {
    level_db: f64,
    mute: bool,
    balance: f64,
}

impl Dispatcher {
    /// A dispatcher for `show` rendered at `rate`.
    pub fn new(show: &Show, rate: u32) -> Self {
        let ids: Vec<ClipId> = show.clips.iter().map(|c| c.id.clone()).collect();
        let tags = ids
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), ClipTag(i as u32)))
            .collect();
        // As the renderer starts them: the show's level and mute, centred.
        let busses = Group::ALL.map(|g| {
            let bus = &show.busses.groups.get(g).bus;
            BusSetting {
                level_db: bus.level_db,
                mute: bus.mute,
                balance: 0.0,
            }
        });
        Dispatcher {
            rate,
            tags,
            ids,
            next_voice: 0,
            busses,
        }
    }

    /// The clip a render event's tag stands for (one a revision removed
    /// included: its voices may still play).
    pub fn clip(&self, tag: ClipTag) -> Option<&ClipId> {
        self.ids.get(tag.0 as usize)
    }

    /// Takes a revision of the show: its new clips get tags; every clip
    /// keeps the tag it had.
    pub fn adopt(&mut self, show: &Show) {
        for clip in &show.clips {
            if !self.tags.contains_key(&clip.id) {
                let tag = ClipTag(self.ids.len() as u32);
                self.tags.insert(clip.id.clone(), tag);
                self.ids.push(clip.id.clone());
            }
        }
    }

    /// A revision's change to what plays, as the render command that ramps
    /// it over `ramp`.
    pub fn glide(
        &mut self,
        glide: &Glide,
        ramp: FrameCount,
    ) -> Result<RenderCommand, DispatchError> {
        Ok(match glide {
            Glide::Level { clip, level_db } => RenderCommand::Level {
                target: Target::Clip(self.tag(clip)?),
                level_db: *level_db,
                ramp,
            },
            Glide::Pan { clip, pan } => RenderCommand::Pan {
                target: Target::Clip(self.tag(clip)?),
                pan: *pan,
                ramp,
            },
            Glide::Bus {
                group,
                level_db,
                mute,
            } => {
                let bus = &mut self.busses[*group as usize];
                bus.level_db = *level_db;
                bus.mute = *mute;
                self.bus_gain(*group, ramp)
            }
        })
    }

    /// The render command setting `group`'s bus as last sent, over `ramp`.
    fn bus_gain(&self, group: Group, ramp: FrameCount) -> RenderCommand {
        // Group's discriminants are its place in `Group::ALL`.
        let bus = &self.busses[group as usize];
        RenderCommand::GroupGain {
            group,
            level_db: bus.level_db,
            mute: bus.mute,
            balance: bus.balance,
            ramp,
        }
    }

    /// `command` as the render thread's command, its audio from `source`.
    pub fn translate(
        &mut self,
        show: &Show,
        command: &Command,
        source: &mut impl ReaderSource,
    ) -> Result<RenderCommand, DispatchError> {
        let rate = self.rate;
        let frames = |secs: f64| FrameCount((secs * f64::from(rate)).round() as u64);
        let spec = |secs: f64, d: &crate::show::Fade| FadeSpec::new(frames(secs), d.curve, d.power);
        let fade = |secs: Option<f64>| secs.map(|s| spec(s, &show.fade_defaults.fade_out));
        Ok(match command {
            Command::Go { clip, time } => {
                let mut start = self.start(show, clip, 0, source)?;
                if let Some(s) = time {
                    start.params.fade_in = spec(*s, &show.fade_defaults.fade_in);
                }
                RenderCommand::Start(start)
            }
            Command::Audition { clip } => {
                let s = self.start(show, clip, 0, source)?;
                RenderCommand::Audition(AuditionStart {
                    voice: s.voice,
                    clip: s.clip,
                    reader: s.reader,
                    params: s.params,
                })
            }
            Command::Stop { clip } => RenderCommand::Stop(Target::Clip(self.tag(clip)?)),
            Command::FadeOut { clip, time } => {
                // The clip's fade out as the show has it now: one revised
                // while the clip plays is the one its next fade takes.
                let own = show.clip(clip).map(|c| {
                    let f = c.processing.fades.fade_out.as_ref();
                    FadeSpec::from_fade(f.unwrap_or(&show.fade_defaults.fade_out), rate)
                });
                RenderCommand::FadeOut {
                    target: Target::Clip(self.tag(clip)?),
                    fade: fade(*time).or(own),
                }
            }
            Command::Pause { clip } => RenderCommand::Pause(Target::Clip(self.tag(clip)?)),
            Command::Resume { clip } => RenderCommand::Resume(Target::Clip(self.tag(clip)?)),
            Command::PauseAll {} => RenderCommand::PauseAll,
            Command::ResumeAll {} => RenderCommand::ResumeAll,
            Command::FadeAll { time } => RenderCommand::FadeAll(fade(*time)),
            Command::StopAll {} => RenderCommand::StopAll,
            Command::Panic {} => RenderCommand::Panic,
            Command::StopAudition {} => RenderCommand::StopAudition,
            Command::Crossfade { from, to, time } => {
                // The outgoing clip is checked first: a bad one costs no reader.
                let from = Target::Clip(self.tag(from)?);
                let mut start = self.start(show, to, 0, source)?;
                if let Some(s) = time {
                    start.params.crossfade.frames = frames(*s);
                }
                RenderCommand::Crossfade { start, from }
            }
            Command::FadeTo {
                clip,
                level_db,
                time,
            } => RenderCommand::Level {
                target: Target::Clip(self.tag(clip)?),
                level_db: *level_db,
                ramp: time.map_or(FrameCount(0), frames),
            },
            Command::GroupLevel {
                group,
                level_db,
                time,
            } => {
                self.busses[*group as usize].level_db = *level_db;
                self.bus_gain(*group, time.map_or(FrameCount(0), frames))
            }
        })
    }

    /// A chasing clip's voice: `clip` from sequence frame `index` on, as a
    /// varispeed voice at `speed`, its audio from `source`.
    pub fn chase(
        &mut self,
        show: &Show,
        clip: &ClipId,
        index: u64,
        speed: Speed,
        source: &mut impl ReaderSource,
    ) -> Result<Start, DispatchError> {
        let mut start = self.start(show, clip, index, source)?;
        start.params.speed = Some(speed);
        Ok(start)
    }

    /// A voice of `clip` joining part way, from sequence frame `index`
    /// (a pair's backup catching up with its main).
    pub fn join(
        &mut self,
        show: &Show,
        clip: &ClipId,
        index: u64,
        source: &mut impl ReaderSource,
    ) -> Result<Start, DispatchError> {
        self.start(show, clip, index, source)
    }

    /// A new voice of `id` playing its sequence from frame `index`.
    fn start(
        &mut self,
        show: &Show,
        id: &ClipId,
        index: u64,
        source: &mut impl ReaderSource,
    ) -> Result<Start, DispatchError> {
        let clip = show
            .clip(id)
            .ok_or_else(|| DispatchError::UnknownClip(id.clone()))?;
        let bad = |reason: String| DispatchError::Clip {
            clip: id.clone(),
            reason,
        };
        let whole = Timeline::from_clip(clip, self.rate).map_err(|e| bad(e.to_string()))?;
        let timeline = whole
            .from_index(index)
            .ok_or_else(|| bad(format!("frame {index} is past the end of its sequence")))?;
        let reader = source.reader(clip, timeline).map_err(bad)?;
        self.next_voice += 1;
        Ok(Start {
            voice: VoiceId(self.next_voice),
            clip: self.tag(id)?,
            group: clip.group,
            reader,
            params: VoiceParams::from_clip(clip, &show.fade_defaults, self.rate),
        })
    }

    fn tag(&self, clip: &ClipId) -> Result<ClipTag, DispatchError> {
        self.tags
            .get(clip)
            .copied()
            .ok_or_else(|| DispatchError::UnknownClip(clip.clone()))
    }
}
