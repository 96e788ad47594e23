//! rt-in's side of capture: each period goes into a lock-free ring; a
//! housekeeping recorder thread writes it to a WAV file. rt-in never waits
//! for the disk: a full ring drops the period and records the gap as a
//! discontinuity, like an overrun on the card.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use cuebox_engine::device::alsa::Record;
use cuebox_engine::device::Cycle;

use crate::clocking::ltc::LtcTap;

/// A gap in the recording: `frames` frames missing before stream frame `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Discontinuity {
    /// Stream frame where the audio resumes.
    pub at: u64,
    /// Frames missing.
    pub frames: u64,
}

/// rt-in's handler: decodes the LTC channel, if there is one, and copies
/// each period into the ring.
pub struct Capturer {
    audio: rtrb::Producer<f32>,
    gaps: rtrb::Producer<Discontinuity>,
    /// Frames dropped because the ring was full, not yet reported.
    dropped: u64,
    channels: usize,
    ltc: Option<LtcTap>,
}

impl Record for Capturer {
    fn record(&mut self, input: &[f32], frames: usize, cycle: &Cycle) {
        if let Some(ltc) = &mut self.ltc {
            ltc.take(input, frames, self.channels, cycle);
        }
        if self.audio.slots() < input.len() {
            self.dropped += frames as u64;
            return;
        }
        if self.dropped > 0 {
            self.gap(cycle.frame, self.dropped);
            self.dropped = 0;
        }
        let _ = self.audio.push_partial_slice(input);
    }

    fn discontinuity(&mut self, at: u64, frames: u64) {
        if let Some(ltc) = &mut self.ltc {
            ltc.discontinuity(at + frames);
        }
        self.gap(at + frames, frames);
    }
}

impl Capturer {
    fn gap(&mut self, at: u64, frames: u64) {
        // The gap queue is as long as the ring can hold periods: a full one
        // means the recorder is gone, and the gap is lost with the audio.
        let _ = self.gaps.push(Discontinuity { at, frames });
    }
}

/// The housekeeping side: drains the ring into a WAV file, writing silence
/// for every gap so the file stays on the card's timeline.
pub struct Recorder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<RecordSummary, String>>>,
}

/// What a recording holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordSummary {
    /// The file.
    pub path: PathBuf,
    /// Frames written, gaps included.
    pub frames: u64,
    /// Every gap, in order.
    pub discontinuities: Vec<Discontinuity>,
}

impl Recorder {
    /// A ring of `seconds` of `channels`-channel audio at `rate` between rt-in
    /// and a recorder thread writing 32-bit float WAV to `path`; `report` is
    /// told of each gap as the recorder reaches it. `ltc` decodes LTC on
    /// rt-in as the audio arrives.
    pub fn start(
        path: PathBuf,
        channels: u16,
        rate: u32,
        seconds: f64,
        ltc: Option<LtcTap>,
        report: impl Fn(Discontinuity) + Send + 'static,
    ) -> std::io::Result<(Capturer, Recorder)> {
        let samples = (seconds * f64::from(rate)) as usize * usize::from(channels);
        let (audio, mut audio_rx) = rtrb::RingBuffer::new(samples);
        let (gaps, mut gaps_rx) = rtrb::RingBuffer::<Discontinuity>::new(1024);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || {
                let fail = |e: hound::Error| format!("cannot write {}: {e}", path.display());
                let mut wav = hound::WavWriter::create(&path, spec).map_err(fail)?;
                let ch = u64::from(channels);
                let mut written = 0u64;
                let mut discontinuities = Vec::new();
                loop {
                    let done = stopping.load(Ordering::Acquire);
                    // A gap is written where it happened: after the audio
                    // before it.
                    let limit = gaps_rx.peek().map_or(u64::MAX, |g| g.at - g.frames);
                    let ready = (audio_rx.slots() as u64 / ch).min(limit - written);
                    if let Ok(chunk) = audio_rx.read_chunk((ready * ch) as usize) {
                        for s in chunk.into_iter() {
                            wav.write_sample(s).map_err(fail)?;
                        }
                        written += ready;
                    }
                    if written >= limit {
                        if let Ok(g) = gaps_rx.pop() {
                            for _ in 0..g.frames * ch {
                                wav.write_sample(0.0f32).map_err(fail)?;
                            }
                            written += g.frames;
                            report(g);
                            discontinuities.push(g);
                        }
                        continue;
                    }
                    if done && audio_rx.is_empty() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                wav.finalize().map_err(fail)?;
                Ok(RecordSummary {
                    path,
                    frames: written,
                    discontinuities,
                })
            })?;
        Ok((
            Capturer {
                audio,
                gaps,
                dropped: 0,
                channels: usize::from(channels),
                ltc,
            },
            Recorder {
                stop,
                thread: Some(thread),
            },
        ))
    }

    /// Writes what the ring still holds, closes the file and says what it
    /// holds. Stop rt-in first.
    pub fn finish(mut self) -> Result<RecordSummary, String> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err("the recorder thread failed".into()),
        }
    }
}
