//! The real-time renderer: the voices of groups A–D and the audition bus,
//! mixed sample-accurately into their busses and outputs, on a path that
//! never allocates, locks, blocks or makes a system call.
//!
//! ```text
//!   control side                         render thread
//!   RenderControl::send ──commands (rtrb)──▶ Renderer::process(main, audition, frames)
//!   RenderControl::events ◀──events (rtrb)── │  splits the block at each command's frame,
//!   RenderControl::drop_finished ◀─readers── │  renders voices → group busses → outputs
//! ```
//!
//! - [`Renderer::new`] builds both ends from a [`RenderConfig`]; every table
//!   and buffer is allocated there, never in `process`.
//! - A [`Command`] carries the frame ([`SamplePos`]) at which it applies; the
//!   renderer splits its block at that frame. All state advances per frame,
//!   so any block size gives bit-identical output.
//! - Voices read their audio through the [`ClipReader`] seam;
//!   [`MemoryClip`] is the in-memory reader.
//! - Groups A–D and the audition bus are on two sides of a typed firewall
//!   (see [`MainOut`], [`AuditionOut`]).
//!
//! `docs/render.md` describes the behaviour in full.

mod audition;
mod bus;
mod command;
mod config;
mod control;
mod envelope;
mod event;
mod meter;
mod pool;
mod reader;
mod seam;
mod time;
mod trash;
mod varispeed;
mod voice;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rtrb::{Consumer, RingBuffer};

use crate::dsp::fade::ms_to_frames;
use crate::dsp::gain;
use crate::show::{EdgeFade, Group};

pub use bus::{AuditionOut, MainOut, Stereo};
pub use command::{
    AuditionStart, Command, CrossfadeSpec, FadeSpec, Pan, Scheduled, Start, Target, VoiceParams,
};
pub use config::{QueueSizes, RenderConfig, RenderConfigError, MAX_BLOCK};
pub use control::{RenderControl, SendError};
pub use event::{Event, FadeKind, RefuseReason, StopCause};
pub use meter::{BusLevels, ChannelLevels, ChannelReading, MeterBus, Meters};
pub use reader::{
    scale_frames, scale_length, BoxedReader, ClipReader, MemoryClip, MemoryClipError, Timeline,
    TimelineError,
};
pub use time::{ClipTag, FrameCount, SamplePos, VoiceId};
pub use varispeed::Speed;

use audition::AuditionChannel;
use bus::{group_index, BusGain};
use envelope::Ramps;
use event::EventSink;
use meter::MeterWriter;
use pool::MainPool;
use trash::Trash;

/// The sinks every part of the renderer reports into.
pub(crate) struct Shared {
    pub(crate) events: EventSink,
    pub(crate) trash: Trash,
}

/// Why a block could not be rendered. Nothing was rendered and the clock did
/// not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// More frames than the renderer was built for.
    #[error("a block of {frames} frames; this renderer was built for at most {max}")]
    BlockTooLarge {
        /// Frames asked for.
        frames: usize,
        /// The renderer's `max_block`.
        max: usize,
    },
    /// Output buffers not made by this renderer (or for a smaller block).
    #[error("the output buffers were not made by this renderer's main_out/audition_out")]
    Buffers,
}

/// How full the voice pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Mono voices of groups A–D in use (a stereo voice uses two), of 48.
    pub mono_voices: u16,
    /// Voices of groups A–D playing, stopping or fading.
    pub voices: usize,
    /// Whether the audition voice plays (or an audition waits to start).
    pub audition: bool,
}

/// The render thread's side: owns every voice and buffer. See the
/// [module](self) documentation.
pub struct Renderer {
    max_block: usize,
    now: SamplePos,
    ramps: Ramps,
    commands: Consumer<Scheduled>,
    shared: Shared,
    pool: MainPool,
    audition: AuditionChannel,
    group_gains: [BusGain; 4],
    config: RenderConfig,
    clock: Arc<AtomicU64>,
    meters: MeterWriter,
}

impl Renderer {
    /// Builds a renderer and its control handle from `config`, allocating
    /// every table, buffer and queue.
    pub fn new(config: RenderConfig) -> Result<(Renderer, RenderControl), RenderConfigError> {
        config.check()?;
        let rate = config.sample_rate;
        // Each protection ramp is at least one frame, so it always ends silent.
        let frames = |ms: f64| ms_to_frames(ms, rate).max(1);
        let ramps = Ramps {
            edge: frames(EdgeFade::MS),
            edit: frames(config.protection.edit_point_fade_ms),
            looped: frames(config.protection.loop_point_fade_ms),
        };
        // Room for the longest loop ramp any voice may have of its own.
        let seam_frames = ramps.looped.max(frames(command::MAX_LOOP_RAMP_MS));
        let q = config.queues;
        let (cmd_tx, cmd_rx) = RingBuffer::new(q.commands);
        let (ev_tx, ev_rx) = RingBuffer::new(q.events);
        let (fin_tx, fin_rx) = RingBuffer::new(q.finished);
        let clock = Arc::new(AtomicU64::new(0));
        let (meters, meter_reader) = MeterWriter::new(rate);
        let group = |i: usize| config.busses.groups.get(Group::ALL[i]);
        let group_gains: [BusGain; 4] = std::array::from_fn(|i| {
            let bus = &group(i).bus;
            BusGain::new(gain::bus(bus.level_db, bus.mute, 0.0))
        });
        let aud = &config.busses.audition;
        let audition_gain = BusGain::new(gain::bus(aud.level_db, aud.mute, 0.0));
        // Readers that find the queue full wait here: room for every voice
        // plus a queue's worth of refused starts.
        let spare = usize::from(pool::MONO_VOICES) + 1 + q.commands;
        let renderer = Renderer {
            max_block: config.max_block,
            now: SamplePos(0),
            ramps,
            commands: cmd_rx,
            shared: Shared {
                events: EventSink::new(ev_tx),
                trash: Trash::new(fin_tx, spare),
            },
            pool: MainPool::new(
                std::array::from_fn(|i| &group(i).mode),
                config.max_block,
                seam_frames,
            ),
            audition: AuditionChannel::new(config.max_block, seam_frames, audition_gain),
            group_gains,
            clock: Arc::clone(&clock),
            config,
            meters,
        };
        let control = RenderControl {
            commands: cmd_tx,
            events: ev_rx,
            finished: fin_rx,
            clock,
            last: SamplePos(0),
            meters: meter_reader,
        };
        Ok((renderer, control))
    }

    /// Output buffers for groups A–D, sized for this renderer's blocks and
    /// routing. Allocates: make them before the render thread runs.
    pub fn main_out(&self) -> MainOut {
        let groups = &self.config.busses.groups;
        let routing = Group::ALL.map(|g| groups.get(g).bus.outputs.as_slice());
        MainOut::new(routing, self.max_block)
    }

    /// Output buffers for the audition bus. Allocates.
    pub fn audition_out(&self) -> AuditionOut {
        AuditionOut::new(&self.config.busses.audition.outputs, self.max_block)
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// The first frame not yet rendered.
    pub fn now(&self) -> SamplePos {
        self.now
    }

    /// Frames of the 1 ms edge fade at this rate.
    pub fn edge_frames(&self) -> FrameCount {
        FrameCount(self.ramps.edge)
    }

    /// How full the voice pool is.
    pub fn usage(&self) -> PoolUsage {
        PoolUsage {
            mono_voices: self.pool.used(),
            voices: self.pool.playing(),
            audition: self.audition.is_playing(),
        }
    }

    /// Suspends (or resumes) the audition bus: the seam by which a load
    /// governor makes the audition yield first. Suspending stops the
    /// audition voice with its edge fade and refuses auditions until
    /// resumed; groups A–D are untouched. Call it on the render thread,
    /// between blocks; it takes effect at [`now`](Self::now).
    pub fn set_audition_suspended(&mut self, suspended: bool) {
        self.audition
            .set_suspended(suspended, self.now, &mut self.shared, self.ramps);
    }

    /// Renders the next `frames` frames into `main` and `audition`, applying
    /// every queued command at its frame. Never allocates, locks, blocks or
    /// calls the system.
    pub fn process(
        &mut self,
        main: &mut MainOut,
        audition: &mut AuditionOut,
        frames: usize,
    ) -> Result<(), ProcessError> {
        if frames > self.max_block {
            return Err(ProcessError::BlockTooLarge {
                frames,
                max: self.max_block,
            });
        }
        if !main.fits(frames) || !audition.fits(frames) {
            return Err(ProcessError::Buffers);
        }
        self.shared.trash.flush(&mut self.shared.events);
        main.clear(frames);
        audition.clear(frames);
        let start = self.now;
        let end = start.offset(frames);
        let mut s = 0;
        while s < frames {
            let here = start.offset(s);
            while let Ok(head) = self.commands.peek() {
                if head.at > here {
                    break;
                }
                let Ok(Scheduled { at, command }) = self.commands.pop() else {
                    break;
                };
                if at < here {
                    self.shared.events.push(Event::Late { at, applied: here });
                }
                self.apply(command, here);
            }
            let t = match self.commands.peek() {
                Ok(head) if head.at < end => (head.at.0 - start.0) as usize,
                _ => frames,
            };
            self.render_span(s, t - s, start, main, audition);
            s = t;
        }
        main.finish(frames);
        audition.finish(frames);
        self.meters.write(main, audition);
        self.now = end;
        self.clock.store(end.0, Ordering::Release);
        Ok(())
    }

    fn render_span(
        &mut self,
        from: usize,
        n: usize,
        block_start: SamplePos,
        main: &mut MainOut,
        audition: &mut AuditionOut,
    ) {
        // Groups A–D first and completely: nothing the audition does below
        // can reach their buffers.
        self.pool
            .render(from, n, block_start, main, &mut self.shared, self.ramps);
        for (gain, bus) in self.group_gains.iter_mut().zip(main.groups.iter_mut()) {
            gain.apply(bus, from, n);
        }
        self.audition
            .render(from, n, block_start, audition, &mut self.shared, self.ramps);
    }

    fn apply(&mut self, command: Command, at: SamplePos) {
        let r = self.ramps;
        let sh = &mut self.shared;
        match command {
            Command::Start(s) => self.pool.start(s, None, at, sh, r),
            Command::Crossfade { start, from } => self.pool.start(start, Some(from), at, sh, r),
            Command::Stop(target) => {
                if !self.pool.apply(target, |v| v.stop(StopCause::Stopped, r)) {
                    sh.events.push(Event::Unmatched { target, at });
                }
            }
            Command::FadeOut { target, fade } => {
                if !self.pool.apply(target, |v| v.fade_out(fade, r)) {
                    sh.events.push(Event::Unmatched { target, at });
                }
            }
            Command::Pause(target) => {
                if !self.pool.apply(target, |v| v.pause(r)) {
                    sh.events.push(Event::Unmatched { target, at });
                }
            }
            Command::Resume(target) => {
                let resumed = |v: &mut voice::Voice<_>| {
                    if v.resume(r) {
                        sh.events.push(Event::Resumed { voice: v.id, at });
                    }
                };
                if !self.pool.apply(target, resumed) {
                    sh.events.push(Event::Unmatched { target, at });
                }
            }
            Command::PauseAll => self.pool.all(|v| v.pause(r)),
            Command::ResumeAll => self.pool.all(|v| {
                if v.resume(r) {
                    sh.events.push(Event::Resumed { voice: v.id, at });
                }
            }),
            Command::FadeAll(fade) => self.pool.all(|v| v.fade_out(fade, r)),
            Command::StopAll => self.pool.all(|v| v.stop(StopCause::StopAll, r)),
            Command::Panic => {
                self.pool.all(|v| v.stop(StopCause::Panic, r));
                self.audition.stop(StopCause::Panic, at, sh, r);
            }
            Command::Speed { voice, speed } => {
                let target = Target::Voice(voice);
                let mut varispeed = false;
                let found = self.pool.apply(target, |v| varispeed = v.set_speed(speed));
                if !(found && varispeed) {
                    sh.events.push(Event::Unmatched { target, at });
                }
            }
            Command::Level {
                target,
                level_db,
                ramp,
            } => {
                // Never shorter than the edge fade: a jump in gain clicks.
                let len = ramp.0.max(r.edge);
                if !self.pool.apply(target, |v| v.level_to(level_db, len)) {
                    sh.events.push(Event::Unmatched { target, at });
                }
            }
            Command::Pan { target, pan, ramp } => {
                let len = ramp.0.max(r.edge);
                let mut moved = false;
                let matched = self.pool.apply(target, |v| moved |= v.pan_to(pan, len));
                if !(matched && moved) {
                    sh.events.push(Event::Unmatched { target, at });
                }
            }
            Command::Audition(a) => self.audition.start(a, at, sh, r),
            Command::StopAudition => self.audition.stop(StopCause::Stopped, at, sh, r),
            Command::GroupGain {
                group,
                level_db,
                mute,
                balance,
                ramp,
            } => {
                // Never shorter than the edge fade: a jump in gain clicks.
                let len = ramp.0.max(r.edge);
                self.group_gains[group_index(group)].set(gain::bus(level_db, mute, balance), len);
            }
        }
    }
}
