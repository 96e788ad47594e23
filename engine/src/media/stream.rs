//! Streaming clip audio to the real-time thread: preloaded heads and one
//! butler thread that keeps every playing voice's ring buffer full.
//!
//! A voice's audio is its *playback sequence*: from the cue start, through
//! the loop as many times as it loops, to the cue end. The first seconds of
//! that sequence are preloaded once per clip as a [`Head`], so a GO never
//! waits for a disk. When a voice starts, [`Butler::stream`] returns a
//! [`StreamReader`] for the real-time thread (it reads the head, then a
//! lock-free ring buffer) and gives the butler a job that decodes the rest
//! of the sequence into that ring. A slow or stalled disk stalls only the
//! butler: the reader then returns fewer frames than asked (an underrun the
//! renderer turns into silence and an event), never a blocked render.
//! Dropping a reader (anywhere but the real-time thread) ends its job.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::render::{ClipReader, Timeline};
use crate::show::{Channels, Frames};

/// Where a voice's audio comes from: a clip's audio at the engine rate,
/// readable in blocks and seekable (a decoder, or memory in tests).
pub trait FrameSource: Send + 'static {
    /// Mono or stereo.
    fn channels(&self) -> Channels;
    /// Reads up to `out.len() / channels` frames; returns how many (0 at the end).
    fn read(&mut self, out: &mut [f32]) -> Result<usize, StreamError>;
    /// Moves to `frame` (engine-rate frames from the clip's start).
    fn seek(&mut self, frame: u64) -> Result<(), StreamError>;
}

/// A source that failed while streaming; the voice underruns and the butler
/// keeps the error for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("streaming failed at frame {frame}: {reason}")]
pub struct StreamError {
    /// Where it failed.
    pub frame: u64,
    /// Why.
    pub reason: String,
}

/// Frames from sequence `index` until the source jumps back to the loop
/// start or the sequence ends.
fn run_length(timeline: &Timeline, index: u64) -> u64 {
    match timeline.source_frame(index) {
        None => 0,
        Some(Frames(f)) => {
            timeline
                .loop_region()
                .map_or(timeline.end(), |(_, le)| le)
                .0
                - f
        }
    }
}

impl FrameSource for super::ClipDecoder {
    fn channels(&self) -> Channels {
        super::ClipDecoder::channels(self)
    }

    fn read(&mut self, out: &mut [f32]) -> Result<usize, StreamError> {
        let frame = self.position();
        super::ClipDecoder::read(self, out).map_err(|e| StreamError {
            frame,
            reason: e.to_string(),
        })
    }

    fn seek(&mut self, frame: u64) -> Result<(), StreamError> {
        super::ClipDecoder::seek(self, frame).map_err(|e| StreamError {
            frame,
            reason: e.to_string(),
        })
    }
}

/// The first frames of a clip's playback sequence, preloaded.
#[derive(Debug, Clone)]
pub struct Head {
    samples: Arc<[f32]>,
    channels: Channels,
    timeline: Timeline,
}

impl Head {
    /// Preloads up to `frames` frames of `timeline`'s sequence from `source`.
    pub fn load(
        source: Box<dyn FrameSource>,
        timeline: &Timeline,
        frames: u64,
    ) -> Result<Self, StreamError> {
        let channels = source.channels();
        let mut samples = Vec::with_capacity(frames as usize * usize::from(channels.count()));
        Cursor::new(source).fill(timeline, 0, frames, &mut samples)?;
        Ok(Head {
            samples: samples.into(),
            channels,
            timeline: *timeline,
        })
    }

    /// The playback sequence it is the head of.
    pub fn timeline(&self) -> Timeline {
        self.timeline
    }

    /// Frames held.
    pub fn frames(&self) -> u64 {
        (self.samples.len() / usize::from(self.channels.count())) as u64
    }
}

/// A clip whose head could not be preloaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("clip \"{clip}\": {reason}")]
pub struct ArmError {
    /// The clip.
    pub clip: crate::show::ClipId,
    /// Why (its markers do not fit, or its audio could not be read).
    pub reason: String,
}

/// Preloads the head (the first `seconds` of its playback sequence at
/// `rate`) of every clip on a button of `pages`, so a GO on an armed page
/// never waits for a disk. `open` gives a fresh source for a clip (a
/// decoder on its file). Each clip is loaded once, however many buttons
/// play it.
pub fn arm_heads(
    show: &crate::show::Show,
    pages: &[crate::show::PageNo],
    rate: u32,
    seconds: f64,
    mut open: impl FnMut(&crate::show::Clip) -> Result<Box<dyn FrameSource>, StreamError>,
) -> Result<std::collections::HashMap<crate::show::ClipId, Head>, ArmError> {
    let frames = (seconds.max(0.0) * f64::from(rate)).round() as u64;
    let mut heads = std::collections::HashMap::new();
    for (page, _, _, button) in show.buttons() {
        if !pages.contains(&page) || heads.contains_key(&button.clip) {
            continue;
        }
        let Some(clip) = show.clip(&button.clip) else {
            continue;
        };
        let fail = |reason: String| ArmError {
            clip: clip.id.clone(),
            reason,
        };
        let timeline = Timeline::from_clip(clip, rate).map_err(|e| fail(e.to_string()))?;
        let source = open(clip).map_err(|e| fail(e.to_string()))?;
        let head = Head::load(source, &timeline, frames).map_err(|e| fail(e.to_string()))?;
        heads.insert(clip.id.clone(), head);
    }
    Ok(heads)
}

/// A source and where it stands, so consecutive reads need no seek.
struct Cursor {
    source: Box<dyn FrameSource>,
    /// The source frame the next read returns, once known.
    at: Option<u64>,
    scratch: Vec<f32>,
}

impl Cursor {
    fn new(source: Box<dyn FrameSource>) -> Self {
        Cursor {
            source,
            at: None,
            scratch: Vec::new(),
        }
    }

    /// Appends frames `from..to` of `timeline`'s sequence to `out`, seeking
    /// only at loop jumps (or first use). Returns the frames appended: fewer
    /// when the sequence or the source ends.
    fn fill(
        &mut self,
        timeline: &Timeline,
        from: u64,
        to: u64,
        out: &mut Vec<f32>,
    ) -> Result<u64, StreamError> {
        const STEP: usize = 4096;
        let channels = usize::from(self.source.channels().count());
        self.scratch.resize(STEP * channels, 0.0);
        let mut index = from;
        while index < to {
            let Some(Frames(frame)) = timeline.source_frame(index) else {
                break;
            };
            if self.at != Some(frame) {
                self.source.seek(frame)?;
                self.at = Some(frame);
            }
            let want = (run_length(timeline, index).min(to - index) as usize).min(STEP);
            let got = self.source.read(&mut self.scratch[..want * channels])?;
            if got == 0 {
                break;
            }
            out.extend_from_slice(&self.scratch[..got * channels]);
            index += got as u64;
            self.at = Some(frame + got as u64);
        }
        Ok(index - from)
    }
}

/// What the real-time thread holds for a streaming voice: the shared head,
/// then the ring buffer the butler fills.
pub struct StreamReader {
    head: Arc<[f32]>,
    head_pos: usize,
    ring: rtrb::Consumer<f32>,
    channels: Channels,
    timeline: Timeline,
}

impl ClipReader for StreamReader {
    fn channels(&self) -> Channels {
        self.channels
    }

    fn timeline(&self) -> Timeline {
        self.timeline
    }

    /// Copies up to `out.len() / channels` frames of the playback sequence
    /// into `out`; returns the frames copied. Fewer than asked means the
    /// butler has not caught up (or the sequence ended). Never blocks,
    /// allocates or locks.
    fn read(&mut self, out: &mut [f32]) -> usize {
        let channels = usize::from(self.channels.count());
        let want = out.len() - out.len() % channels;
        let from_head = (self.head.len() - self.head_pos).min(want);
        out[..from_head].copy_from_slice(&self.head[self.head_pos..self.head_pos + from_head]);
        self.head_pos += from_head;
        let rest = &mut out[from_head..want];
        // Only whole frames leave the ring: the butler pushes whole frames.
        let ready = self.ring.slots().min(rest.len());
        let ready = ready - ready % channels;
        let (popped, _) = self.ring.pop_partial_slice(&mut rest[..ready]);
        (from_head + popped.len()) / channels
    }
}

/// One voice's stream, as the butler sees it.
struct Job {
    ring: rtrb::Producer<f32>,
    cursor: Cursor,
    timeline: Timeline,
    /// Sequence index of the next frame to decode.
    next: u64,
    done: bool,
}

/// Settings of the butler.
#[derive(Debug, Clone, Copy)]
pub struct ButlerConfig {
    /// Ring buffer per voice, in frames (Ardour's default is 5 s).
    pub ring_frames: usize,
    /// Frames decoded per step; a voice is topped up when this much room is free.
    pub chunk_frames: usize,
    /// How long the butler sleeps when every ring is full.
    pub idle: Duration,
}

impl Default for ButlerConfig {
    fn default() -> Self {
        ButlerConfig {
            ring_frames: 5 * 48_000,
            chunk_frames: 16_384,
            idle: Duration::from_millis(5),
        }
    }
}

struct Shared {
    /// New jobs, taken by the butler on its next round: the control thread
    /// never waits for a decode.
    incoming: Mutex<Vec<Job>>,
    wake: Condvar,
    active: std::sync::atomic::AtomicUsize,
    stop: std::sync::atomic::AtomicBool,
    errors: Mutex<Vec<StreamError>>,
}

/// The one thread that keeps every streaming voice's ring buffer full.
pub struct Butler {
    shared: Arc<Shared>,
    config: ButlerConfig,
    thread: Option<JoinHandle<()>>,
}

impl Butler {
    /// Starts the butler thread.
    pub fn spawn(config: ButlerConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            incoming: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            active: 0.into(),
            stop: false.into(),
            errors: Mutex::new(Vec::new()),
        });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("butler".into())
            .spawn(move || run(&worker, config))?;
        Ok(Butler {
            shared,
            config,
            thread: Some(thread),
        })
    }

    /// Starts streaming `timeline` of a clip whose `head` is preloaded:
    /// returns the reader for the real-time thread and hands `source` to the
    /// butler, which decodes from where the head ends.
    pub fn stream(
        &self,
        head: &Head,
        source: Box<dyn FrameSource>,
        timeline: Timeline,
    ) -> StreamReader {
        let channels = source.channels();
        let samples = self.config.ring_frames * usize::from(channels.count());
        let (ring, consumer) = rtrb::RingBuffer::new(samples);
        let job = Job {
            ring,
            cursor: Cursor::new(source),
            timeline,
            next: head.frames(),
            done: false,
        };
        lock(&self.shared.incoming).push(job);
        self.shared.wake.notify_one();
        StreamReader {
            head: Arc::clone(&head.samples),
            head_pos: 0,
            ring: consumer,
            channels,
            timeline,
        }
    }

    /// Streaming errors since the last call (a damaged file, a lost disk).
    pub fn take_errors(&self) -> Vec<StreamError> {
        std::mem::take(&mut *lock(&self.shared.errors))
    }

    /// Voices the butler still serves, counting those not yet picked up.
    pub fn active(&self) -> usize {
        let incoming = lock(&self.shared.incoming);
        incoming.len()
            + self
                .shared
                .active
                .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Drop for Butler {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The butler's loop: take new jobs, top up every ring with room for a
/// chunk, drop jobs whose reader is gone, sleep when there is nothing to do.
fn run(shared: &Shared, config: ButlerConfig) {
    use std::sync::atomic::Ordering::Relaxed;
    let mut jobs: Vec<Job> = Vec::new();
    let mut chunk = Vec::new();
    while !shared.stop.load(Relaxed) {
        {
            // Under the lock, so `active` never misses a job in transit.
            let mut incoming = lock(&shared.incoming);
            jobs.append(&mut incoming);
            // Readers dropped (voice ended) or streams finished: their
            // sources are dropped here, off the real-time thread.
            jobs.retain(|j| !j.ring.is_abandoned() && !j.done);
            shared.active.store(jobs.len(), Relaxed);
        }
        let mut worked = false;
        for job in &mut jobs {
            let channels = usize::from(job.cursor.source.channels().count());
            if job.ring.slots() < config.chunk_frames * channels {
                continue;
            }
            chunk.clear();
            let to = job.next + config.chunk_frames as u64;
            match job.cursor.fill(&job.timeline, job.next, to, &mut chunk) {
                Ok(n) => {
                    // The room was checked above, so all of the chunk fits.
                    let _ = job.ring.push_partial_slice(&chunk);
                    job.next += n;
                    job.done = n < config.chunk_frames as u64;
                    worked = true;
                }
                Err(e) => {
                    lock(&shared.errors).push(e);
                    job.done = true;
                }
            }
        }
        if !worked {
            let incoming = lock(&shared.incoming);
            if incoming.is_empty() {
                let _ = shared
                    .wake
                    .wait_timeout(incoming, config.idle)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}
