//! How a renderer is set up, and why a setup is refused.

use crate::show::{Busses, Group, GroupMode, LogicalChannel, Protection, Show, VoicePool};

/// The largest block [`Renderer::process`](super::Renderer::process) accepts.
pub const MAX_BLOCK: usize = 8192;

/// Everything a renderer is built from.
#[derive(Debug, Clone)]
pub struct RenderConfig {
    /// Frames per second of the engine (every reader delivers at this rate).
    pub sample_rate: u32,
    /// The largest block `process` will be asked for (1 to [`MAX_BLOCK`]);
    /// every buffer is allocated for it up front.
    pub max_block: usize,
    /// Group busses A–D (level, mute, outputs, choke/free) and the audition
    /// bus, as the show sets them. Record and LTC busses are not the
    /// renderer's.
    pub busses: Busses,
    /// Edit-point and loop-point fade lengths.
    pub protection: Protection,
    /// Queue capacities.
    pub queues: QueueSizes,
}

impl RenderConfig {
    /// The show's busses and protection fades at `sample_rate`, blocks of at
    /// most `max_block` frames, default queue sizes.
    pub fn from_show(show: &Show, sample_rate: u32, max_block: usize) -> Self {
        RenderConfig {
            sample_rate,
            max_block,
            busses: show.busses.clone(),
            protection: show.protection.clone(),
            queues: QueueSizes::default(),
        }
    }
}

/// Capacities of the queues between the control side and the render thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSizes {
    /// Commands waiting to apply.
    pub commands: usize,
    /// Events waiting to be read.
    pub events: usize,
    /// Finished readers waiting to be dropped.
    pub finished: usize,
}

impl Default for QueueSizes {
    fn default() -> Self {
        QueueSizes {
            commands: 1024,
            events: 4096,
            finished: 256,
        }
    }
}

/// Why a renderer cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderConfigError {
    /// The sample rate is outside 8 kHz to 384 kHz.
    #[error("a sample rate of {0} Hz: the engine runs at 8000 to 384000 Hz")]
    SampleRate(u32),
    /// The block size is 0 or too large.
    #[error("a block of {0} frames: blocks are 1 to {MAX_BLOCK} frames")]
    MaxBlock(usize),
    /// A bus has no outputs or names a channel outside 1 to 64.
    #[error(
        "the {bus} bus must feed 1 to 64 distinct logical outputs numbered 1 to {}",
        LogicalChannel::MAX
    )]
    Outputs {
        /// Which bus.
        bus: &'static str,
    },
    /// The audition bus shares an output with a group.
    #[error("output {output} is fed by both the audition bus and group {group}; the audition bus must stay isolated from groups A-D")]
    AuditionNotIsolated {
        /// The shared output.
        output: LogicalChannel,
        /// The group also feeding it.
        group: Group,
    },
    /// A choke limit outside 1 to 3.
    #[error("group {group} chokes at {max} voices: the limit is 1 to {}", VoicePool::SYSTEM.choke_max_per_group)]
    ChokeLimit {
        /// The group.
        group: Group,
        /// Its limit.
        max: u8,
    },
    /// An edit-point or loop-point fade outside 0.25 to 10 ms.
    #[error("a {which} fade of {ms} ms: protection fades are 0.25 to 10 ms")]
    Protection {
        /// `edit-point` or `loop-point`.
        which: &'static str,
        /// The value.
        ms: f64,
    },
    /// A level that is not a finite number of dB.
    #[error("the {bus} bus level is {db} dB; give a finite level")]
    Level {
        /// Which bus.
        bus: &'static str,
        /// The value.
        db: f64,
    },
    /// A queue of no capacity.
    #[error("the {0} queue needs room for at least one item")]
    Queue(&'static str),
}

fn bus_name(g: Group) -> &'static str {
    match g {
        Group::A => "A",
        Group::B => "B",
        Group::C => "C",
        Group::D => "D",
    }
}

impl RenderConfig {
    /// Checks every setting; the first problem found is the error.
    pub fn check(&self) -> Result<(), RenderConfigError> {
        use RenderConfigError as E;
        if !(8_000..=384_000).contains(&self.sample_rate) {
            return Err(E::SampleRate(self.sample_rate));
        }
        if !(1..=MAX_BLOCK).contains(&self.max_block) {
            return Err(E::MaxBlock(self.max_block));
        }
        let outputs_ok = |outs: &[LogicalChannel]| {
            let mut sorted = outs.to_vec();
            sorted.sort();
            sorted.dedup();
            !outs.is_empty()
                && sorted.len() == outs.len()
                && outs.iter().all(|c| c.0.get() <= LogicalChannel::MAX)
        };
        let audition = &self.busses.audition;
        for (group, bus) in self.busses.groups.iter() {
            let name = bus_name(group);
            if !outputs_ok(&bus.bus.outputs) {
                return Err(E::Outputs { bus: name });
            }
            if !bus.bus.level_db.is_finite() {
                return Err(E::Level {
                    bus: name,
                    db: bus.bus.level_db,
                });
            }
            if let GroupMode::Choke { max_voices, .. } = bus.mode {
                if !(1..=VoicePool::SYSTEM.choke_max_per_group).contains(&max_voices) {
                    return Err(E::ChokeLimit {
                        group,
                        max: max_voices,
                    });
                }
            }
            if let Some(&output) = audition
                .outputs
                .iter()
                .find(|o| bus.bus.outputs.contains(o))
            {
                return Err(E::AuditionNotIsolated { output, group });
            }
        }
        if !outputs_ok(&audition.outputs) {
            return Err(E::Outputs { bus: "audition" });
        }
        if !audition.level_db.is_finite() {
            return Err(E::Level {
                bus: "audition",
                db: audition.level_db,
            });
        }
        for (which, ms) in [
            ("edit-point", self.protection.edit_point_fade_ms),
            ("loop-point", self.protection.loop_point_fade_ms),
        ] {
            if !Protection::RANGE_MS.contains(&ms) {
                return Err(E::Protection { which, ms });
            }
        }
        for (name, n) in [
            ("command", self.queues.commands),
            ("event", self.queues.events),
            ("finished-reader", self.queues.finished),
        ] {
            if n == 0 {
                return Err(E::Queue(name));
            }
        }
        Ok(())
    }
}
