//! What the render thread reports, and the sink that reports it without ever
//! blocking.

use rtrb::Producer;

use super::command::Target;
use super::time::{ClipTag, SamplePos, VoiceId};

/// Something that happened on the render thread, with the frame it happened
/// at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A voice started: its first frame is `at`.
    Started {
        /// The voice.
        voice: VoiceId,
        /// Its clip.
        clip: ClipTag,
        /// Its first frame.
        at: SamplePos,
    },
    /// A start was refused; the voice never played.
    Refused {
        /// The voice that was to start.
        voice: VoiceId,
        /// Its clip.
        clip: ClipTag,
        /// When the start was to apply.
        at: SamplePos,
        /// Why.
        reason: RefuseReason,
    },
    /// A choke group was full: its oldest voice began its 1 ms edge fade at
    /// `at` to make room for `by`. A `Stopped` event follows when it is silent.
    Retired {
        /// The oldest voice, now leaving.
        voice: VoiceId,
        /// The voice that replaced it.
        by: VoiceId,
        /// When the edge fade began.
        at: SamplePos,
    },
    /// A fade completed; `at` is the first frame after it.
    FadeDone {
        /// The voice.
        voice: VoiceId,
        /// Which fade.
        fade: FadeKind,
        /// First frame after the fade.
        at: SamplePos,
    },
    /// A voice ended and its place in the pool is free: `at` is the first
    /// frame it no longer sounds.
    Stopped {
        /// The voice.
        voice: VoiceId,
        /// Its clip.
        clip: ClipTag,
        /// First silent frame.
        at: SamplePos,
        /// Why it ended.
        cause: StopCause,
    },
    /// A voice paused: its edge fade reached silence, and `at` is the first
    /// frame it no longer sounds. It holds its place until resumed.
    Paused {
        /// The voice.
        voice: VoiceId,
        /// First silent frame.
        at: SamplePos,
    },
    /// A paused voice resumed: `at` is the first frame of its edge fade back in.
    Resumed {
        /// The voice.
        voice: VoiceId,
        /// First frame sounding again.
        at: SamplePos,
    },
    /// A voice's reader did not deliver in time: the voice plays silence
    /// until it does. Reported once per run of missing audio.
    Underrun {
        /// The voice.
        voice: VoiceId,
        /// The first missing frame.
        at: SamplePos,
    },
    /// A stop or fade command matched no playing voice.
    Unmatched {
        /// What it named.
        target: Target,
        /// When it applied.
        at: SamplePos,
    },
    /// A command arrived after its frame had been rendered; it was applied at
    /// `applied`, the first frame still to render.
    Late {
        /// The frame it named.
        at: SamplePos,
        /// The frame it took effect.
        applied: SamplePos,
    },
    /// The event queue was full: this many events were lost before this one.
    EventsLost {
        /// How many.
        count: u64,
    },
    /// The finished-readers queue and the renderer's spare room were both
    /// full: this many readers were leaked rather than freed on the render
    /// thread. Drain the queue.
    ReadersLeaked {
        /// How many.
        count: u64,
    },
}

/// Why a start was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefuseReason {
    /// The shared voice pool has too few free mono voices.
    #[error(
        "the voice pool is full: the clip needs {needed} mono voice(s), {free} of 48 are free"
    )]
    PoolFull {
        /// Mono voices the clip needs (1 mono, 2 stereo).
        needed: u8,
        /// Mono voices free.
        free: u8,
    },
    /// Enough mono voices are free, but not for this group: they are the
    /// choke groups' guaranteed voices (a free group never takes them).
    #[error(
        "the voice pool is full for this group: the clip needs {needed} mono voice(s); {free} of \
         48 are free but {reserved} of those are reserved for the choke groups' guaranteed voices"
    )]
    Reserved {
        /// Mono voices the clip needs (1 mono, 2 stereo).
        needed: u8,
        /// Mono voices free.
        free: u8,
        /// Of those, the ones other groups' reserves hold.
        reserved: u8,
    },
    /// Another playing voice has the same id.
    #[error("a voice with this id is already playing")]
    DuplicateVoice,
    /// Mono panning for a stereo reader or the other way round.
    #[error("the panning is for a {pan} clip but the audio is {audio}")]
    PanningMismatch {
        /// Channels the panning is for.
        pan: u16,
        /// Channels of the audio.
        audio: u16,
    },
    /// The audition bus is suspended (it yields first under load).
    #[error("the audition bus is suspended")]
    AuditionSuspended,
    /// A newer audition start replaced this one before it began.
    #[error("a newer audition replaced it before it began")]
    Superseded,
    /// A panic stopped everything before this audition began.
    #[error("cancelled by a panic before it began")]
    Cancelled,
}

/// Why a voice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// It played to the end of its cue range.
    Ended,
    /// A stop command.
    Stopped,
    /// A fade out (or crossfade) reached silence.
    Faded,
    /// Stop All.
    StopAll,
    /// Panic.
    Panic,
    /// Retired by a choke group to make room.
    Retired,
    /// A newer audition replaced it.
    Replaced,
    /// The audition bus was suspended.
    Suspended,
}

/// Which fade finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FadeKind {
    /// A fade in.
    In,
    /// A fade out (the voice stops with it).
    Out,
    /// The incoming side of a crossfade.
    CrossIn,
    /// The outgoing side of a crossfade (the voice stops with it).
    CrossOut,
}

/// The render thread's end of the event queue. Never blocks: when the queue
/// is full, events are counted and the count is reported once there is room.
pub(crate) struct EventSink {
    queue: Producer<Event>,
    lost: u64,
    /// Audition events only use the queue while more than this many slots are
    /// free, so a chatty audition can never crowd out A–D events.
    audition_reserve: usize,
}

impl EventSink {
    pub(crate) fn new(queue: Producer<Event>) -> Self {
        let audition_reserve = queue.buffer().capacity() / 4;
        EventSink {
            queue,
            lost: 0,
            audition_reserve,
        }
    }

    /// Reports an event of groups A–D (or the engine).
    pub(crate) fn push(&mut self, event: Event) {
        if self.lost > 0 {
            if self.queue.slots() < 2 {
                self.lost += 1;
                return;
            }
            let count = std::mem::take(&mut self.lost);
            let _ = self.queue.push(Event::EventsLost { count });
        }
        if self.queue.push(event).is_err() {
            self.lost += 1;
        }
    }

    /// Reports an audition event, if the queue has room to spare.
    pub(crate) fn push_audition(&mut self, event: Event) {
        if self.queue.slots() > self.audition_reserve {
            self.push(event);
        } else {
            self.lost += 1;
        }
    }
}
