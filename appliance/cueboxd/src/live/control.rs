//! The control thread of a live box: takes commands from every input, holds
//! future ones in time order, hands each to the render thread shortly
//! before its frame, and turns what the render thread and the devices
//! report into events for the operator.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};

use crate::events::{BoxEvent, Publisher};
use crate::origin::{Input, Origin};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cuebox_engine::control::revise::{revise, Blocked, Cuts, Revision};
use cuebox_engine::control::{At, Command, Dispatcher};
use cuebox_engine::device::{DeviceEvent, StreamDir};
use cuebox_engine::render::{
    Command as RenderCommand, Event, FrameCount, Meters, RenderControl, SamplePos, SendError,
    StopCause, Target, VoiceId,
};
use cuebox_engine::show::{ClipId, Show};
use cuebox_engine::timecode::chase::{Chase, ChaseAction};
use cuebox_engine::timecode::cues::{CueFired, TimecodeCues};
use cuebox_engine::timecode::timebase::{Source, TimebaseReader};
use cuebox_engine::timecode::Timecode;
use serde_json::json;

use super::schedule::{Schedule, Timing};
use super::streams::Streams;
use crate::journal::Ending;
use crate::playlog::PlayEvent;

/// A command for the live box, and where its answer goes.
#[derive(Debug)]
pub struct Request {
    /// When: `None` as soon as possible, else an engine frame or second.
    pub at: Option<At>,
    /// What.
    pub command: Command,
    /// Where it came from.
    pub origin: Origin,
    /// Where the answer goes (an event is emitted either way).
    pub reply: Option<Sender<Accepted>>,
}

/// What the control thread is sent: a command, or a revision of the show.
#[derive(Debug)]
pub enum Message {
    /// A command for the show.
    Command(Request),
    /// The show revised while it plays.
    Revise(Revise),
    /// A pair's backup adopts its main's playing state (docs/pair.md).
    Adopt(Adopt),
}

/// What a pair's backup changes, at one show sample, to play what its main
/// plays: the voices it lacks joined where the main's are, the voices the
/// main does not play stopped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Adopt {
    /// The show sample it happens at.
    pub at: u64,
    /// Clips to start part way: each from this frame of its sequence, and
    /// paused there when the main's is paused.
    pub join: Vec<(ClipId, u64, bool)>,
    /// Voices to stop (the 1 ms edge).
    pub stop: Vec<u64>,
}

/// Decides, as a timecode cue comes due, whether it fires here: a pair's
/// main also sends it to its backup, a backup leaves it to its main while
/// the main lives (docs/pair.md).
pub trait CueTap: Send + Sync {
    /// The cue `command` (from timecode `trigger`) comes due at show sample
    /// `at_sample`: true to play it here.
    fn timecode_cue(&self, at_sample: u64, command: &Command, trigger: &str) -> bool;
}

impl std::fmt::Debug for dyn CueTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CueTap")
    }
}

/// A revised show for the playing box, and where the answer goes.
#[derive(Debug)]
pub struct Revise {
    /// The show as it is now to be.
    pub show: Arc<Show>,
    /// Who revised it.
    pub origin: Origin,
    /// What it does to a playing clip it removes or gives other audio.
    pub cuts: Cuts,
    /// The show sample its glides start at (`None`: as soon as they can).
    pub at: Option<u64>,
    /// The answer: what was applied, or every reason it cannot be now.
    pub reply: Sender<Result<Revised, Vec<Blocked>>>,
}

/// A revision the playing show took (or, when [`Revision::needs_restart`],
/// one it leaves for the session's next start: nothing plays).
#[derive(Debug, Clone)]
pub struct Revised {
    /// What it does.
    pub revision: Revision,
    /// The show sample its glides start at.
    pub at_sample: u64,
}

/// How long a revision's level, pan and bus changes ramp: long enough to
/// be smooth, short enough to read as "at once".
const GLIDE: Duration = Duration::from_millis(50);

/// A command the show accepted: the show sample it applies at, and how far
/// ahead of the render thread that was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Show sample.
    pub at_sample: u64,
    /// Lead, in samples.
    pub lead_samples: u64,
}

/// How long the control thread sleeps when nothing arrives: the bound on
/// how late a scheduled command can be handed over.
const TICK: Duration = Duration::from_millis(5);

/// Commands the schedule holds before its queue first grows (a long
/// `--events` list, all queued at start, is the usual reason it does).
const PENDING: usize = 1024;

/// The parts the control thread drives.
pub(super) struct Control {
    pub show: Arc<Show>,
    pub render: RenderControl,
    pub dispatcher: Dispatcher,
    pub streams: Streams,
    pub device_events: Vec<rtrb::Consumer<DeviceEvent>>,
    pub events: Publisher,
    pub rate: u32,
    pub period: u64,
    /// The render frame the card's first frame plays (after the dry runs):
    /// show time zero. Times in and out count from it.
    pub origin: u64,
    /// Commands are handed to the render thread this many frames before
    /// their frame: enough for a decoder to open and the head to start.
    pub horizon: u64,
    /// The master clock's timebase.
    pub timebase: TimebaseReader,
    /// The show's timecode cues.
    pub cues: TimecodeCues,
    /// The show's chasing clips.
    pub chase: Chase,
    /// What plays, for status.
    pub board: Arc<Mutex<Board>>,
    /// Where the command that started each playing voice came from.
    pub started_by: HashMap<VoiceId, Origin>,
    /// Where plays go to be logged.
    pub plays: Option<Sender<PlayEvent>>,
    /// Starts accepted so far: the last queued start's key on the board.
    pub queued_keys: u64,
    /// Whether a timecode cue fires here, in a pair.
    pub cue_tap: Option<Arc<dyn CueTap>>,
    /// Voices joined part way (a pair's repair): the sequence frame each
    /// starts from, for the board.
    pub joined: HashMap<VoiceId, u64>,
}

/// A command with its origin, as the schedule holds it.
#[derive(Debug)]
struct Sourced {
    origin: Origin,
    command: Command,
    /// The board's key of the clip it starts, queued until it does.
    queued: Option<u64>,
}

/// What plays, for status: kept by the control thread from the render
/// thread's events, read by whoever reports (the API).
#[derive(Debug, Default, Clone)]
pub struct Board {
    /// The show frame (render frame minus the origin) the control thread last saw.
    pub now: u64,
    /// Playing (or paused) voices.
    pub voices: Vec<OnBoard>,
    /// Every bus's meters, read from the render thread each tick.
    pub meters: Meters,
    /// Clips in view that cannot play, and why (missing or changed files…).
    pub unplayable: Vec<(ClipId, String)>,
    /// Voices that ended lately, each with the show frame it ended: the
    /// pair compares what played at an instant just past.
    pub ended: VecDeque<(OnBoard, u64)>,
    /// Clips accepted to start that have not started yet, in the order
    /// they were accepted.
    pub queued: Vec<Queued>,
}

/// A clip accepted to start at a later sample, not started yet: waiting in
/// the schedule, then handed to the render thread as a voice until the
/// render thread says the voice started (or refused it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    /// Its clip.
    pub clip: ClipId,
    /// The show frame it is due at.
    pub at_sample: u64,
    /// Which accepted start it is.
    key: u64,
    /// The voice it was handed over as, once it was.
    voice: Option<u64>,
}

/// Ended voices the board remembers.
const ENDED: usize = 64;

/// A voice on the board.
#[derive(Debug, Clone, PartialEq)]
pub struct OnBoard {
    /// Its id.
    pub voice: u64,
    /// Its clip.
    pub clip: ClipId,
    /// The show frame it started.
    pub started: u64,
    /// The show frame it paused, while it is paused.
    pub paused_at: Option<u64>,
    /// Frames it spent paused before.
    pub held: u64,
    /// The frame of its sequence it started from (0 but for a voice that
    /// joined part way: a pair's repair).
    pub from: u64,
    /// A fade-to's level (dB) and the show frame it starts ramping.
    pub level: Option<(f64, u64)>,
    /// The show frame its fade out starts, once one is under way.
    pub fading_from: Option<u64>,
}

impl Board {
    /// The queued start `key` was handed over as `voice`, or (`None`)
    /// will never start.
    fn handed_over(&mut self, key: u64, voice: Option<VoiceId>) {
        match voice {
            Some(v) => {
                if let Some(q) = self.queued.iter_mut().find(|q| q.key == key) {
                    q.voice = Some(v.0);
                }
            }
            None => self.queued.retain(|q| q.key != key),
        }
    }

    fn voice_mut(&mut self, voice: VoiceId) -> Option<&mut OnBoard> {
        self.voices.iter_mut().find(|v| v.voice == voice.0)
    }

    /// The voices that played at show frame `at` (not long past: the
    /// board remembers the last [`ENDED`] ended), as they were then.
    pub fn at(&self, at: u64) -> Vec<OnBoard> {
        let ended = self
            .ended
            .iter()
            .filter(|(_, stopped)| *stopped > at)
            .map(|(v, _)| v);
        self.voices
            .iter()
            .chain(ended)
            .filter(|v| v.started <= at)
            .map(|v| OnBoard {
                paused_at: v.paused_at.filter(|&p| p <= at),
                level: v.level.filter(|&(_, from)| from <= at),
                fading_from: v.fading_from.filter(|&f| f <= at),
                ..v.clone()
            })
            .collect()
    }
}

impl OnBoard {
    /// Frames of it heard by show frame `now`.
    pub fn heard(&self, now: u64) -> u64 {
        self.paused_at
            .unwrap_or(now)
            .saturating_sub(self.started)
            .saturating_sub(self.held)
    }

    /// Where in its sequence it is at show frame `now`.
    pub fn position(&self, now: u64) -> u64 {
        self.heard(now) + self.from
    }
}

impl Control {
    /// Runs until `stop` is set; commands still waiting then are dropped
    /// (the show is over).
    pub fn run(mut self, requests: Receiver<Message>, stop: Arc<AtomicBool>) {
        let mut schedule = Schedule::with_capacity(
            Timing {
                rate: self.rate,
                period: FrameCount(self.period),
                origin: SamplePos(self.origin),
                horizon: FrameCount(self.horizon),
            },
            PENDING,
        );
        self.report_unplayable();
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            let first = requests.recv_timeout(TICK).ok();
            // Everything queued behind it at once, so a burst is one round.
            for message in first
                .into_iter()
                .chain(std::iter::from_fn(|| requests.try_recv().ok()))
            {
                match message {
                    Message::Command(request) => self.accept(request, &mut schedule),
                    Message::Revise(revise) => self.revise(revise, &mut schedule),
                    Message::Adopt(adopt) => self.adopt(adopt, &mut schedule),
                }
            }
            let now = self.render.now();
            self.timecode_cues(now, &mut schedule);
            while let Some(due) = schedule.next_due(now) {
                self.hand_over(due.frame, due.command);
            }
            self.chase(now, &mut schedule);
            self.report();
            if stopping {
                break;
            }
        }
        self.end_plays();
    }

    /// The show's timecode at render frame `at`, when a time source gives
    /// one (not while the clock runs free on the sample counter alone).
    fn timecode_at(&self, at: SamplePos) -> Option<String> {
        let mapping = self.timebase.read();
        (mapping.source != Source::Free).then(|| {
            let frames = mapping.tc_at(at.0).max(0.0) as u64;
            Timecode::from_frames(frames, self.show.time_sources.frame_rate).to_string()
        })
    }

    /// The run is over: whatever still plays ended with it.
    fn end_plays(&mut self) {
        let Some(plays) = &self.plays else { return };
        let board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        for v in &board.voices {
            if self.started_by.remove(&VoiceId(v.voice)).is_some() {
                let _ = plays.send(PlayEvent::Ended {
                    voice: VoiceId(v.voice),
                    sample: board.now,
                    heard: v.heard(board.now),
                    ending: Ending::BoxStopped,
                    wall: jiff::Timestamp::now(),
                });
            }
        }
    }

    /// Says which clips in view could not be armed, before any command is
    /// taken: each plays nothing, everything else plays.
    fn report_unplayable(&self) {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        board.unplayable = self
            .streams
            .unplayable()
            .iter()
            .map(|u| (u.clip.clone(), u.to_string()))
            .collect();
        drop(board);
        for bad in self.streams.unplayable() {
            self.events.send(BoxEvent::ClipUnplayable {
                clip: bad.clip.clone(),
                path: bad.file.clone(),
                reason: bad.reason.clone(),
            });
        }
    }

    /// Stamps a request with its frame, queues it and says so.
    fn accept(&mut self, request: Request, schedule: &mut Schedule<Sourced>) {
        let command = request.command.clone();
        let origin = request.origin.clone();
        let starts = starts(&command).map(|clip| (self.new_key(), clip.clone()));
        let sourced = Sourced {
            origin: request.origin,
            command: request.command,
            queued: starts.as_ref().map(|(key, _)| *key),
        };
        // A PANIC for now; one in a timeline leaves the timeline be.
        let panic = matches!(command, Command::Panic {}) && request.at.is_none();
        let stamp = schedule.accept(self.render.now(), request.at, sourced);
        if let Some((key, clip)) = starts {
            self.queue(key, clip, stamp.show_frame);
        }
        // A PANIC silences what plays and what was about to: every start
        // waiting for a later frame is cancelled (the render thread drops
        // those already handed to it).
        if panic {
            let cancelled = schedule.cancel(stamp.frame, |s| s.queued.is_some());
            let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
            for c in cancelled {
                board.queued.retain(|q| Some(q.key) != c.queued);
                self.failed(
                    c.command.to_json(),
                    stamp.frame.0,
                    "cancelled by PANIC".into(),
                );
            }
        }
        let accepted = Accepted {
            at_sample: stamp.show_frame,
            lead_samples: stamp.lead.0,
        };
        if let Some(reply) = &request.reply {
            let _ = reply.send(accepted);
        }
        self.events.send(BoxEvent::Accepted {
            command,
            origin,
            at_sample: accepted.at_sample,
            lead_samples: accepted.lead_samples,
        });
    }

    /// A key for the next queued start.
    fn new_key(&mut self) -> u64 {
        self.queued_keys += 1;
        self.queued_keys
    }

    /// Puts `clip` on the board as queued (under `key`) to start at show
    /// frame `at_sample`.
    fn queue(&self, key: u64, clip: ClipId, at_sample: u64) {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        board.queued.push(Queued {
            clip,
            at_sample,
            key,
            voice: None,
        });
    }

    /// Takes a revised show while it plays, when it can: its glides ramp
    /// what plays from the first frame after everything already sent, new
    /// and changed clips are armed, and every later command reads it.
    fn revise(&mut self, message: Revise, schedule: &mut Schedule<Sourced>) {
        let Revise {
            show,
            origin,
            cuts,
            at,
            reply,
        } = message;
        let playing: HashSet<ClipId> = {
            let board = self.board.lock().unwrap_or_else(|p| p.into_inner());
            board.voices.iter().map(|v| v.clip.clone()).collect()
        };
        let revision = match revise(&self.show, &show, &playing, cuts) {
            Ok(r) => r,
            Err(blocked) => {
                let _ = reply.send(Err(blocked));
                return;
            }
        };
        let soonest = schedule.chase_frame(self.render.now());
        let at = at.map_or(soonest, |at| soonest.max(SamplePos(self.origin + at)));
        let at_sample = at.0.saturating_sub(self.origin);
        if revision.needs_restart() {
            // Nothing plays (else it was blocked): the session starts again.
            let _ = reply.send(Ok(Revised {
                revision,
                at_sample,
            }));
            return;
        }
        self.dispatcher.adopt(&show);
        self.streams.rearm(&show, &revision.rearm);
        let ramp = FrameCount((GLIDE.as_secs_f64() * f64::from(self.rate)) as u64);
        for glide in &revision.glides {
            let sent = self
                .dispatcher
                .glide(glide, ramp)
                .map_err(|e| e.to_string())
                .and_then(|c| self.render.send(at, c).map_err(|e| e.to_string()));
            if let Err(reason) = sent {
                self.failed(json!({"revise": format!("{glide:?}")}), at.0, reason);
            }
        }
        schedule.sent(at);
        let triggers = |s: &Show| {
            s.clips
                .iter()
                .map(|c| c.timecode_trigger)
                .collect::<Vec<_>>()
        };
        if triggers(&self.show) != triggers(&show) {
            self.cues = TimecodeCues::from_show(&show);
        }
        if let Some(plays) = &self.plays {
            let _ = plays.send(PlayEvent::Show(show.clone()));
        }
        self.show = show;
        self.events.send(BoxEvent::ShowRevised {
            origin,
            at_sample,
            glides: revision.glides.len(),
            deferred: revision
                .deferred
                .iter()
                .map(|d| format!("{}: {}", d.clip, d.what))
                .collect(),
        });
        self.report_unplayable();
        let _ = reply.send(Ok(Revised {
            revision,
            at_sample,
        }));
    }

    /// Queues the clips whose timecode cues come due within the horizon,
    /// each at the sample the timebase reaches its trigger.
    fn timecode_cues(&mut self, now: SamplePos, schedule: &mut Schedule<Sourced>) {
        if self.cues.is_empty() {
            return;
        }
        let mapping = self.timebase.read();
        let horizon = schedule.timing().horizon.0;
        for fired in self.cues.poll(&mapping, now.0, horizon) {
            match fired {
                CueFired::Due { clip, at, sample } => {
                    let at_sample = sample.saturating_sub(self.origin);
                    let command = Command::Go {
                        clip: clip.clone(),
                        time: None,
                    };
                    let trigger = at.to_string();
                    if let Some(tap) = &self.cue_tap {
                        if !tap.timecode_cue(at_sample, &command, &trigger) {
                            continue;
                        }
                    }
                    self.events.send(BoxEvent::TimecodeCue {
                        clip: clip.clone(),
                        timecode: at,
                        at_sample,
                    });
                    let key = self.new_key();
                    let sourced = Sourced {
                        origin: Origin::new(Input::TimecodeCue, trigger),
                        command,
                        queued: Some(key),
                    };
                    schedule.insert(SamplePos(sample), sourced);
                    self.queue(key, clip, at_sample);
                }
                CueFired::Skipped { clip, at } => {
                    self.events.send(BoxEvent::TimecodeCueSkipped {
                        clip,
                        timecode: at,
                        reason: "timecode jumped past the trigger".into(),
                    });
                }
            }
        }
    }

    /// Steers the chasing clips: their starts, speeds and stops go to the
    /// render thread at once, at frames after everything already sent (the
    /// chaser is told that frame, so it knows exactly where its voices are).
    fn chase(&mut self, now: SamplePos, schedule: &mut Schedule<Sourced>) {
        if self.chase.is_empty() {
            return;
        }
        let at = schedule.chase_frame(now).0;
        let mapping = self.timebase.read();
        for action in self.chase.poll(&mapping, at) {
            let t = |frame: u64| frame.saturating_sub(self.origin);
            let (frame, command) = match action {
                ChaseAction::Start {
                    clip,
                    at,
                    index,
                    speed,
                } => {
                    let start =
                        self.dispatcher
                            .chase(&self.show, &clip, index, speed, &mut self.streams);
                    let start = match start {
                        Ok(start) => start,
                        Err(e) => {
                            self.chase.failed(&clip);
                            self.failed(json!({"chase": clip}), at, e.to_string());
                            continue;
                        }
                    };
                    self.chase.bind(&clip, start.voice);
                    let timecode = self.chase.trigger(&clip);
                    self.started_by.insert(
                        start.voice,
                        Origin::new(
                            Input::Chase,
                            timecode.map(|t| t.to_string()).unwrap_or_default(),
                        ),
                    );
                    self.events.send(BoxEvent::ChaseStart {
                        timecode: self.chase.trigger(&clip),
                        clip,
                        voice: start.voice.0,
                        at_sample: t(at),
                        from_frame: index,
                        speed: speed.ratio(),
                    });
                    (at, RenderCommand::Start(start))
                }
                ChaseAction::Speed { voice, at, speed } => {
                    (at, RenderCommand::Speed { voice, speed })
                }
                ChaseAction::Stop {
                    clip,
                    voice,
                    at,
                    reason,
                } => {
                    self.events.send(BoxEvent::ChaseStop {
                        clip,
                        voice: voice.0,
                        at_sample: t(at),
                        reason: reason.to_string(),
                    });
                    (at, RenderCommand::Stop(Target::Voice(voice)))
                }
            };
            if let Err(e) = self.render.send(SamplePos(frame), command) {
                self.failed(json!({"chase": "steering"}), frame, e.to_string());
            }
            schedule.sent(SamplePos(frame));
        }
    }

    /// Reports a command (as written, or what the chaser did) that could
    /// not be handed over.
    fn failed(&self, command: serde_json::Value, frame: u64, reason: String) {
        self.events.send(BoxEvent::CommandFailed {
            command,
            at_sample: frame.saturating_sub(self.origin),
            reason,
        });
    }

    /// Translates and sends one command; a refusal becomes an event. The
    /// voice it starts remembers the command's origin for its events.
    fn hand_over(&mut self, frame: SamplePos, sourced: Sourced) {
        let Sourced {
            origin,
            command,
            queued,
        } = sourced;
        let translated = self
            .dispatcher
            .translate(&self.show, &command, &mut self.streams);
        let mut started = None;
        let result = match translated {
            Ok(c) => {
                let voice = match &c {
                    RenderCommand::Start(s) | RenderCommand::Crossfade { start: s, .. } => {
                        Some(s.voice)
                    }
                    RenderCommand::Audition(a) => Some(a.voice),
                    _ => None,
                };
                let sent = self.render.send(frame, c).map_err(|e| match e {
                    SendError::Full(_) => "the render queue is full".to_string(),
                    other => other.to_string(),
                });
                if let (Some(voice), Ok(())) = (voice, &sent) {
                    started = Some(voice);
                    // The audition's voices are no plays: no origin kept.
                    if !matches!(command, Command::Audition { .. }) {
                        self.started_by.insert(voice, origin);
                    }
                }
                if sent.is_ok() {
                    self.mark(frame, &command);
                }
                sent
            }
            Err(e) => Err(e.to_string()),
        };
        if let Some(key) = queued {
            let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
            board.handed_over(key, started);
        }
        if let Err(reason) = result {
            self.failed(command.to_json(), frame.0, reason);
        }
    }

    /// Marks on the board the fade a command starts at `frame` on the
    /// voices it ramps: a fade-to's level, a fade out.
    fn mark(&self, frame: SamplePos, command: &Command) {
        let from = frame.0.saturating_sub(self.origin);
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        for v in &mut board.voices {
            match command {
                Command::FadeTo { clip, level_db, .. } if *clip == v.clip => {
                    v.level = Some((*level_db, from))
                }
                Command::FadeOut { clip, .. } | Command::Crossfade { from: clip, .. }
                    if *clip == v.clip =>
                {
                    v.fading_from.get_or_insert(from);
                }
                // (An audition voice is marked too: the pair compares both sides alike.)
                Command::FadeAll { .. } => {
                    v.fading_from.get_or_insert(from);
                }
                _ => {}
            }
        }
    }

    /// A pair's repair: joins the clips and stops the voices `adopt`
    /// names, at its show sample (or as soon as the render thread can).
    fn adopt(&mut self, adopt: Adopt, schedule: &mut Schedule<Sourced>) {
        let at = schedule
            .chase_frame(self.render.now())
            .max(SamplePos(self.origin + adopt.at));
        for voice in adopt.stop {
            let stop = RenderCommand::Stop(Target::Voice(VoiceId(voice)));
            if let Err(e) = self.render.send(at, stop) {
                self.failed(
                    json!({"adopt": "stop", "voice": voice}),
                    at.0,
                    e.to_string(),
                );
            }
        }
        for (clip, index, paused) in adopt.join {
            let started = self
                .dispatcher
                .join(&self.show, &clip, index, &mut self.streams)
                .map_err(|e| e.to_string());
            let sent = started.and_then(|start| {
                let voice = start.voice;
                self.render
                    .send(at, RenderCommand::Start(start))
                    .map_err(|e| e.to_string())?;
                if paused {
                    self.render
                        .send(at, RenderCommand::Pause(Target::Voice(voice)))
                        .map_err(|e| e.to_string())?;
                }
                Ok(voice)
            });
            match sent {
                Ok(voice) => {
                    self.joined.insert(voice, index);
                    self.started_by
                        .insert(voice, Origin::new(Input::Pair, "repair"));
                }
                Err(reason) => self.failed(json!({"adopt": clip}), at.0, reason),
            }
        }
        schedule.sent(at);
    }

    /// Passes on what the render thread, the devices, the butler and the
    /// recorder reported, and frees finished readers.
    fn report(&mut self) {
        let mut board = self.board.lock().unwrap_or_else(|p| p.into_inner());
        board.now = self.render.now().0.saturating_sub(self.origin);
        board.meters.update(&self.render.meters(), Instant::now());
        while let Some(event) = self.render.next_event() {
            let show_frame = |at: SamplePos| at.0.saturating_sub(self.origin);
            // Frames a stopping voice was heard, before it leaves the board.
            let heard = match &event {
                Event::Stopped { voice, at, .. } => {
                    board.voice_mut(*voice).map(|v| v.heard(show_frame(*at)))
                }
                _ => None,
            };
            match event {
                Event::Started { voice, clip, at } => {
                    board.voices.retain(|v| v.voice != voice.0);
                    board.queued.retain(|q| q.voice != Some(voice.0));
                    // Every tag the render thread has came from the dispatcher.
                    if let Some(clip) = self.dispatcher.clip(clip).cloned() {
                        board.voices.push(OnBoard {
                            voice: voice.0,
                            clip,
                            started: show_frame(at),
                            paused_at: None,
                            held: 0,
                            from: self.joined.remove(&voice).unwrap_or(0),
                            level: None,
                            fading_from: None,
                        });
                    }
                }
                Event::Stopped { voice, at, .. } => {
                    if let Some(i) = board.voices.iter().position(|v| v.voice == voice.0) {
                        let gone = board.voices.remove(i);
                        if board.ended.len() == ENDED {
                            board.ended.pop_front();
                        }
                        board.ended.push_back((gone, show_frame(at)));
                    }
                    board.queued.retain(|q| q.voice != Some(voice.0));
                    self.chase.stopped(voice)
                }
                Event::Refused { voice, .. } => {
                    board.voices.retain(|v| v.voice != voice.0);
                    board.queued.retain(|q| q.voice != Some(voice.0));
                    self.joined.remove(&voice);
                    self.chase.stopped(voice)
                }
                Event::Paused { voice, at } => {
                    if let Some(v) = board.voice_mut(voice) {
                        v.paused_at = Some(show_frame(at));
                    }
                }
                Event::Resumed { voice, at } => {
                    if let Some(v) = board.voice_mut(voice) {
                        if let Some(p) = v.paused_at.take() {
                            v.held += show_frame(at).saturating_sub(p);
                        }
                    }
                }
                Event::Underrun { voice, .. } => self.chase.underran(voice),
                _ => {}
            }
            // The origin of the voice's start: on its start, its refusal
            // and its end (when it is forgotten).
            let started_by = match &event {
                Event::Started { voice, .. } => self.started_by.get(voice).cloned(),
                Event::Stopped { voice, .. } | Event::Refused { voice, .. } => {
                    self.started_by.remove(voice)
                }
                _ => None,
            };
            // Only voices started by a command have an origin: the audience's
            // (groups A–D), never the audition's. Those are the plays.
            if let (Some(plays), Some(origin)) = (&self.plays, &started_by) {
                let play = match event {
                    Event::Started { voice, clip, at } => Some(PlayEvent::Started {
                        voice,
                        clip: self.dispatcher.clip(clip).cloned(),
                        sample: show_frame(at),
                        origin: origin.clone(),
                        wall: jiff::Timestamp::now(),
                        timecode: self.timecode_at(at),
                    }),
                    Event::Stopped {
                        voice, at, cause, ..
                    } => Some(PlayEvent::Ended {
                        voice,
                        sample: show_frame(at),
                        heard: heard.unwrap_or(0),
                        ending: ending(cause),
                        wall: jiff::Timestamp::now(),
                    }),
                    _ => None,
                };
                if let Some(play) = play {
                    // Unbounded: the log writer may stall on a slow disk;
                    // the plays wait for it in memory, in order.
                    let _ = plays.send(play);
                }
            }
            self.events.send(render_event(
                &self.dispatcher,
                event,
                self.origin,
                started_by,
            ));
        }
        for queue in &mut self.device_events {
            while let Ok(event) = queue.pop() {
                self.events
                    .send(BoxEvent::Device(in_show_time(event, self.origin)));
            }
        }
        for e in self.streams.take_errors() {
            self.events.send(BoxEvent::StreamError {
                detail: e.to_string(),
            });
        }
        drop(board);
        self.render.drop_finished();
    }
}

/// The clip a command starts, if it starts one.
fn starts(command: &Command) -> Option<&ClipId> {
    match command {
        Command::Go { clip, .. } | Command::Audition { clip } => Some(clip),
        Command::Crossfade { to, .. } => Some(to),
        _ => None,
    }
}

/// How a voice's stop reads in the play log.
fn ending(cause: StopCause) -> Ending {
    match cause {
        StopCause::Ended => Ending::Ended,
        StopCause::Faded => Ending::Faded,
        StopCause::Panic => Ending::Panic,
        StopCause::Retired => Ending::Choked,
        StopCause::Stopped | StopCause::StopAll | StopCause::Replaced | StopCause::Suspended => {
            Ending::Stopped
        }
    }
}

/// A device event with playback frames (render frames) in show time.
fn in_show_time(event: DeviceEvent, origin: u64) -> DeviceEvent {
    let show = |dir: StreamDir, frame: u64| match dir {
        StreamDir::Playback => frame.saturating_sub(origin),
        StreamDir::Capture => frame,
    };
    match event {
        DeviceEvent::Started { dir, frame } => DeviceEvent::Started {
            dir,
            frame: show(dir, frame),
        },
        DeviceEvent::Xrun {
            dir,
            frame,
            late_us,
            lost_frames,
            recovery_us,
        } => DeviceEvent::Xrun {
            dir,
            frame: show(dir, frame),
            late_us,
            lost_frames,
            recovery_us,
        },
    }
}

/// A render event for the operator, with clip ids for clip tags and
/// frames in show time (from `origin`).
fn render_event(
    dispatcher: &Dispatcher,
    event: Event,
    origin: u64,
    started_by: Option<Origin>,
) -> BoxEvent {
    let clip =
        |tag: cuebox_engine::render::ClipTag| -> Option<ClipId> { dispatcher.clip(tag).cloned() };
    let t = |at: SamplePos| at.0.saturating_sub(origin);
    match event {
        Event::Started {
            voice,
            clip: tag,
            at,
        } => BoxEvent::Started {
            clip: clip(tag),
            voice: voice.0,
            at_sample: t(at),
            origin: started_by,
        },
        Event::Stopped {
            voice,
            clip: tag,
            at,
            cause,
        } => BoxEvent::Stopped {
            clip: clip(tag),
            voice: voice.0,
            at_sample: t(at),
            cause: format!("{cause:?}"),
            origin: started_by,
        },
        Event::Refused {
            voice,
            clip: tag,
            at,
            reason,
        } => BoxEvent::Refused {
            clip: clip(tag),
            voice: voice.0,
            at_sample: t(at),
            reason: reason.to_string(),
            origin: started_by,
        },
        Event::Underrun { voice, at } => BoxEvent::Underrun {
            voice: voice.0,
            at_sample: t(at),
        },
        Event::Late { at, applied } => BoxEvent::Late {
            at_sample: t(at),
            applied_sample: t(applied),
        },
        Event::Paused { voice, at } => BoxEvent::Paused {
            voice: voice.0,
            at_sample: t(at),
        },
        Event::Resumed { voice, at } => BoxEvent::Resumed {
            voice: voice.0,
            at_sample: t(at),
        },
        Event::FadeDone { voice, fade, at } => BoxEvent::FadeDone {
            voice: voice.0,
            fade: format!("{fade:?}"),
            at_sample: t(at),
        },
        other => BoxEvent::Render {
            detail: format!("{other:?}"),
        },
    }
}

/// The clips an event list may name: every clip of the show.
pub fn clip_ids(show: &Show) -> HashSet<&ClipId> {
    show.clips.iter().map(|c| &c.id).collect()
}
