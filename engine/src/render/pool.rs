//! The voice pool of groups A–D: a fixed table, the mono-voice budget, and
//! choke and free allocation.
//!
//! The pool is 48 mono voices ([`VoicePool::SYSTEM`]); a mono clip takes one,
//! a stereo clip two — the 24 stereo voices of the spec, with two mono clips
//! packing into one stereo voice. Counting the budget in mono voices rather
//! than in fixed stereo slots means the pool never fragments: a stereo start
//! is refused only when fewer than two mono voices are free anywhere. The
//! table has 48 entries (the most voices that can fit), allocated once.
//!
//! Choke groups are guaranteed their voices: each holds a reserve of
//! [`reserve`] mono voices that no other group may take, so a free group
//! running the pool dry can never refuse a choke group's GO.

use crate::show::{GroupMode, VoicePool};

use super::bus::{group_index, Main, MainOut};
use super::command::{Start, Target};
use super::envelope::{Fade, Ramps};
use super::event::{Event, RefuseReason, StopCause};
use super::seam::Seam;
use super::time::SamplePos;
use super::voice::{Buffers, Ctx, Voice};
use super::Shared;

/// The mono voices of groups A–D.
pub(crate) const MONO_VOICES: u16 = VoicePool::SYSTEM.mono_voices;

pub(crate) struct MainPool {
    voices: Vec<Option<Voice<Main>>>,
    /// Mono voices in use.
    used: u16,
    /// Mono voices in use per group, leaving voices included.
    held: [u16; 4],
    next_order: u64,
    /// Choke limit per group; `None` in free mode.
    limits: [Option<u8>; 4],
    /// Mono voices kept for each group whatever the others play.
    reserves: [u16; 4],
    /// Where each voice's audio lands before mixing (stereo, max block).
    scratch: Vec<f32>,
    /// Each voice's per-frame gains while it ramps (max block).
    gains: Vec<f32>,
    /// Each slot's loop seam capture, `seam_len` samples a slot.
    seams: Vec<f32>,
    seam_len: usize,
}

/// The mono voices a group keeps for itself: for a choke group of
/// `max_voices`, that many stereo voices plus one more stereo voice for the
/// one it retires, which holds its place through its 1 ms edge fade while
/// its replacement starts. A free group keeps none.
///
/// Four choke groups of 3 keep 32 of the 48, so every reserve always fits.
pub(crate) fn reserve(limit: Option<u8>) -> u16 {
    limit.map_or(0, |max| 2 * (u16::from(max) + 1))
}

impl MainPool {
    /// A pool for blocks of `max_block` and loop seams of `seam_frames`.
    pub(crate) fn new(modes: [&GroupMode; 4], max_block: usize, seam_frames: u64) -> Self {
        let limits = modes.map(|m| match m {
            GroupMode::Choke { max_voices, .. } => Some(*max_voices),
            GroupMode::Free { .. } => None,
        });
        let reserves = limits.map(reserve);
        debug_assert!(
            reserves.iter().sum::<u16>() <= MONO_VOICES,
            "the configuration check keeps choke limits within 1 to 3"
        );
        MainPool {
            voices: (0..MONO_VOICES).map(|_| None).collect(),
            used: 0,
            held: [0; 4],
            next_order: 0,
            limits,
            reserves,
            scratch: vec![0.0; 2 * max_block],
            gains: vec![0.0; max_block],
            seams: vec![0.0; usize::from(MONO_VOICES) * Seam::buffer_len(seam_frames)],
            seam_len: Seam::buffer_len(seam_frames),
        }
    }

    /// Mono voices in use.
    pub(crate) fn used(&self) -> u16 {
        self.used
    }

    /// Voices playing (including those fading or stopping).
    pub(crate) fn playing(&self) -> usize {
        self.voices.iter().flatten().count()
    }

    /// Starts a voice; with `cross_from`, the matching voices crossfade out
    /// under it.
    pub(crate) fn start(
        &mut self,
        s: Start,
        cross_from: Option<Target>,
        at: SamplePos,
        sh: &mut Shared,
        ramps: Ramps,
    ) {
        let channels = s.reader.channels();
        let need = channels.count();
        let group = group_index(s.group);
        let free = MONO_VOICES - self.used;
        // What the other groups' reserves still lack is not this group's to take.
        let reserved: u16 = (0..4)
            .filter(|&g| g != group)
            .map(|g| self.reserves[g].saturating_sub(self.held[g]))
            .sum();
        let refusal = if s.params.pan.channels() != channels {
            Some(RefuseReason::PanningMismatch {
                pan: s.params.pan.channels().count(),
                audio: channels.count(),
            })
        } else if self.voices.iter().flatten().any(|v| v.id == s.voice) {
            Some(RefuseReason::DuplicateVoice)
        } else if need > free {
            Some(RefuseReason::PoolFull {
                needed: need as u8,
                free: free as u8,
            })
        } else if need > free - reserved.min(free) {
            Some(RefuseReason::Reserved {
                needed: need as u8,
                free: free as u8,
                reserved: reserved.min(free) as u8,
            })
        } else {
            None
        };
        if let Some(reason) = refusal {
            sh.events.push(Event::Refused {
                voice: s.voice,
                clip: s.clip,
                at,
                reason,
            });
            sh.trash.put(s.reader);
            return;
        }
        let fade = match cross_from {
            Some(from) => {
                let x = s.params.crossfade;
                let matched = self.apply(from, |v| v.cross_out(x.curve, x.frames.0, ramps));
                if !matched {
                    sh.events.push(Event::Unmatched { target: from, at });
                }
                Fade::cross_in(x.curve, x.frames.0)
            }
            None => Fade::fade_in(s.params.fade_in.shape, s.params.fade_in.frames.0),
        };
        if let Some(max) = self.limits[group] {
            while self.staying_in(group) >= usize::from(max) {
                let Some(oldest) = self
                    .voices
                    .iter_mut()
                    .flatten()
                    .filter(|v| v.group == group && !v.is_leaving())
                    .min_by_key(|v| v.order)
                else {
                    break;
                };
                oldest.stop(StopCause::Retired, ramps);
                sh.events.push(Event::Retired {
                    voice: oldest.id,
                    by: s.voice,
                    at,
                });
            }
        }
        // The budget check above guarantees a free entry: every voice uses at
        // least one of the 48 mono voices and the table has 48 entries.
        let Some(slot) = self.voices.iter_mut().find(|v| v.is_none()) else {
            sh.trash.put(s.reader);
            return;
        };
        let order = self.next_order;
        self.next_order += 1;
        *slot = Some(Voice::new(
            s.voice, s.clip, group, order, s.reader, &s.params, fade, ramps,
        ));
        self.used += need;
        self.held[group] += need;
        sh.events.push(Event::Started {
            voice: s.voice,
            clip: s.clip,
            at,
        });
    }

    /// Voices of `group` that count against its choke limit.
    fn staying_in(&self, group: usize) -> usize {
        self.voices
            .iter()
            .flatten()
            .filter(|v| v.group == group && !v.is_leaving())
            .count()
    }

    /// Applies `f` to the voices `target` names; false if it names none.
    pub(crate) fn apply(&mut self, target: Target, mut f: impl FnMut(&mut Voice<Main>)) -> bool {
        let mut matched = false;
        for v in self.voices.iter_mut().flatten() {
            let hit = match target {
                Target::Voice(id) => v.id == id,
                Target::Clip(clip) => v.clip == clip,
                Target::Group(g) => v.group == group_index(g),
            };
            if hit {
                f(v);
                matched = true;
            }
        }
        matched
    }

    /// Applies `f` to every voice.
    pub(crate) fn all(&mut self, f: impl FnMut(&mut Voice<Main>)) {
        self.voices.iter_mut().flatten().for_each(f);
    }

    /// Renders every voice into its group's bus for block frames
    /// `from..from + n`, and frees the voices that end.
    pub(crate) fn render(
        &mut self,
        from: usize,
        n: usize,
        block_start: SamplePos,
        out: &mut MainOut,
        sh: &mut Shared,
        ramps: Ramps,
    ) {
        let seams = self.seams.chunks_exact_mut(self.seam_len);
        for (entry, seam) in self.voices.iter_mut().zip(seams) {
            let Some(voice) = entry else { continue };
            let mut ctx = Ctx {
                ramps,
                block_start,
                events: &mut sh.events,
            };
            let bus = &mut out.groups[voice.group];
            let buf = Buffers {
                scratch: &mut self.scratch,
                gains: &mut self.gains,
                seam,
            };
            let Some((cause, end)) = voice.render(&mut ctx, from, n, buf, bus) else {
                continue;
            };
            let stopped = voice.conclude(&mut sh.trash, cause, block_start.offset(end));
            sh.events.push(stopped);
            self.used -= voice.channels.count();
            self.held[voice.group] -= voice.channels.count();
            *entry = None;
        }
    }
}
