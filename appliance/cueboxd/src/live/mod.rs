//! Live playback: a session played through ALSA in real time.
//!
//! ```text
//!   inputs (stdin, socket) ─Request─▶ control thread ─render::Command (rtrb)─▶ rt-out ─▶ ALSA playback
//!                                        │  ▲ events, finished readers            ▲ ring buffers
//!                                        │  └──────────────────────────────────── butler (decode)
//!                                        └─▶ events (JSON) ◀── device events ◀── rt-in ◀─ ALSA capture
//!                                                                                  └─▶ recorder (WAV)
//! ```
//!
//! rt-out owns the renderer and the playback stream; rt-in the capture
//! stream. Neither shares a lock with anything: commands, audio and events
//! cross on wait-free queues, figures on atomics.

#[cfg(test)]
pub(crate) mod alloc_guard;
mod capture;
mod control;
mod device;
mod patch;
mod schedule;
mod streams;

use crate::events::{BoxEvent, Publisher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use cuebox_engine::control::Dispatcher;
use cuebox_engine::device::alsa::{DeviceError, Negotiated, PcmConfig, Stream};
use cuebox_engine::device::{DeviceStats, Snapshot, StreamDir};
use cuebox_engine::render::{RenderConfig, Renderer};
use cuebox_engine::show::{DeviceMap, Show};
use cuebox_engine::timecode::chase::Chase;
use cuebox_engine::timecode::cues::TimecodeCues;
use cuebox_engine::timecode::timebase::TimebaseReader;

use crate::clocking::ltc::LtcTap;
use crate::clocking::position::{position, PositionReader};
use crate::clocking::{ClockStatus, Clocking, ClockingConfig, ClockingError};
use crate::system::{spawn_rt, RtConfig, RtSetup};

pub use capture::{Discontinuity, RecordSummary};
pub use control::{
    clip_ids, Accepted, Adopt, Board, CueTap, Message, OnBoard, Queued, Request, Revise, Revised,
};
pub use device::{choose, ChoiceError, Chosen, Output, Settings};
pub use patch::{Feed, Patch, Player};
pub use streams::HEAD_SECONDS;

/// How to play a session live.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The playback device.
    pub output: Output,
    /// What the show asks of it.
    pub playback: Settings,
    /// The capture PCM and where to record it, if capture runs.
    pub capture: Option<CaptureConfig>,
    /// rt-out's scheduling.
    pub rt_out: RtConfig,
    /// rt-in's scheduling.
    pub rt_in: RtConfig,
    /// This box's channel map; `None` plays logical channel n on physical n.
    pub device_map: Option<DeviceMap>,
    /// The box's time sources beyond the session's LTC input (MTC ports,
    /// PTP); the session's priority and thresholds are taken from the show.
    pub clocking: ClockingConfig,
    /// Where plays go to be logged; `None` logs nothing.
    pub plays: Option<std::sync::mpsc::Sender<crate::playlog::PlayEvent>>,
    /// Whether a timecode cue fires here, when the box is in a pair.
    pub cue_tap: Option<Arc<dyn CueTap>>,
}

/// Capture settings.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// The capture PCM.
    pub pcm: PcmConfig,
    /// The WAV file the captured channels are recorded to, if any.
    pub record: Option<PathBuf>,
}

/// Why live playback could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The renderer refused the settings.
    #[error("cannot set up the renderer: {0}")]
    Render(#[from] cuebox_engine::render::RenderConfigError),
    /// A device could not be opened or configured.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// No playback device could be chosen, or it cannot play the show.
    #[error(transparent)]
    Choice(#[from] ChoiceError),
    /// A clip's head could not be preloaded.
    #[error("cannot arm the show: {0}")]
    Arm(String),
    /// A time source could not start.
    #[error("cannot start the clock: {0}")]
    Clock(#[from] ClockingError),
    /// A thread or file could not be created.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A session playing live. Dropping it without [`Live::stop`] stops it too.
pub struct Live {
    requests: Sender<Message>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    recorder: Option<capture::Recorder>,
    playback: Negotiated,
    device: crate::api::proto::Device,
    out_stats: Arc<DeviceStats>,
    in_stats: Option<Arc<DeviceStats>>,
    rt_out: RtSetup,
    /// Every real-time thread, as the kernel set it up.
    rt: Vec<(String, RtSetup)>,
    clocking: Clocking,
    board: Arc<Mutex<Board>>,
    /// A device's failure the show cannot survive.
    fatal: Arc<Mutex<Option<String>>>,
    /// Where the playback card is (for the pair's clock exchange).
    card: PositionReader,
    /// The render frame of show sample 0.
    origin: u64,
}

/// What a status reader needs of a live show.
#[derive(Debug, Clone)]
pub struct StatusSource {
    /// What plays.
    pub board: Arc<Mutex<Board>>,
    /// Playback figures.
    pub playback: Arc<DeviceStats>,
    /// The clock's last status.
    pub clock: Arc<Mutex<ClockStatus>>,
    /// The engine rate.
    pub rate: u32,
    /// Frames per period.
    pub period: u64,
    /// The playback device, as chosen and opened.
    pub device: crate::api::proto::Device,
    /// Where the playback card is; `None` where nothing plays (tests).
    pub card: Option<PositionReader>,
    /// The PTP port's time and state, when PTP runs.
    pub ptp: Option<crate::clocking::ptp::PtpView>,
    /// The render frame of show sample 0.
    pub origin: u64,
    /// The master clock's timebase; `None` where no clock runs (tests).
    pub timebase: Option<TimebaseReader>,
}

/// What a live run reports at its end.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LiveSummary {
    /// Playback figures.
    pub playback: Snapshot,
    /// Capture figures.
    pub capture: Option<Snapshot>,
    /// The recording, if one was made.
    pub recording: Option<RecordSummary>,
    /// The clock at the end.
    pub clock: ClockStatus,
}

impl Live {
    /// Opens the devices, arms the show and starts rt-out, rt-in (with
    /// capture), the butler and the control thread. Events (JSON objects
    /// with an `"event"` field) go to `events`.
    pub fn start(
        show: Show,
        media: PathBuf,
        config: LiveConfig,
        events: Publisher,
    ) -> Result<Live, LiveError> {
        let patch = Patch::new(&show, config.device_map.as_ref());
        let chosen = device::choose(&config.output, &config.playback, patch.channels())?;
        let pb = &chosen.pcm;
        let (patch, folds) = patch.fit(pb.channels, &pb.name);
        let (renderer, render) = Renderer::new(RenderConfig::from_show(&show, pb.rate, pb.period))?;
        let (mut out_stream, out_events) = Stream::open(pb, StreamDir::Playback)?;
        let playback = out_stream.negotiated().clone();
        let device = crate::api::proto::Device {
            pcm: playback.name.clone(),
            card: chosen.card.as_ref().map(|c| c.name.clone()),
            channels: playback.channels,
            format: playback.format.name().into(),
            rate: playback.rate,
            period: playback.period as u32,
            periods: playback.periods,
            warnings: chosen.notes.iter().chain(&folds).cloned().collect(),
        };
        events.send(BoxEvent::DeviceChosen {
            device: device.clone(),
        });
        let out_stats = out_stream.stats();
        let rate = playback.rate;
        let pages = show.page_view.pages();
        let streams = streams::Streams::arm(&show, media, &pages, rate).map_err(LiveError::Arm)?;
        events.send(BoxEvent::Armed {
            clips: streams.armed(),
            pages: pages.iter().map(|p| p.0.get()).collect(),
            head_seconds: HEAD_SECONDS,
        });

        let stop = Arc::new(AtomicBool::new(false));
        let fatal = Arc::new(Mutex::new(None));
        let mut threads = Vec::new();
        let (position, card) = position();
        let card_now = card.clone();
        let origin = playback.first_audible_frame();
        let mut player = Player::new(renderer, patch, position);
        let out_stop = Arc::clone(&stop);
        let out_fatal = Arc::clone(&fatal);
        let out_report = events.clone();
        let (setup_tx, setups) = mpsc::channel();
        threads.push(spawn(
            &config.rt_out,
            "rt-out",
            setup_tx.clone(),
            move || {
                run_device(
                    &out_report,
                    &out_stop,
                    &out_fatal,
                    &mut out_stream,
                    |s, stop| s.play(&mut player, stop),
                );
            },
        )?);

        let mut device_events = vec![out_events];
        let mut recorder = None;
        let mut in_stats = None;
        let mut ltc = None;
        let ltc_input = &show.busses.ltc_input;
        let ltc_channel = ltc_input.input.filter(|_| ltc_input.enabled);
        if ltc_channel.is_some() && config.capture.is_none() {
            events.send(BoxEvent::LtcUnavailable {
                reason: "the session reads LTC but no capture device is open (--capture)".into(),
            });
        }
        if let Some(capture) = &config.capture {
            let (mut in_stream, in_events) = Stream::open(&capture.pcm, StreamDir::Capture)?;
            device_events.push(in_events);
            in_stats = Some(in_stream.stats());
            let n = in_stream.negotiated().clone();
            let tap = match ltc_channel {
                Some(ch) if ch.0.get() <= n.channels => {
                    let (tap, queue) = LtcTap::new(usize::from(ch.0.get() - 1), n.rate, n.period);
                    ltc = Some(queue);
                    Some(tap)
                }
                Some(ch) => {
                    events.send(BoxEvent::LtcUnavailable {
                        reason: format!(
                            "the LTC input is {ch} but the capture device has {} channels",
                            n.channels
                        ),
                    });
                    None
                }
                None => None,
            };
            let path = capture
                .record
                .clone()
                .unwrap_or_else(|| PathBuf::from("/dev/null"));
            let gap_events = events.clone();
            let (mut capturer, rec) =
                capture::Recorder::start(path.clone(), n.channels, n.rate, 2.0, tap, move |gap| {
                    gap_events.send(BoxEvent::Discontinuity {
                        at: gap.at,
                        frames: gap.frames,
                    });
                })
                .map_err(|source| LiveError::Io {
                    what: format!("cannot record to {}", path.display()),
                    source,
                })?;
            recorder = Some(rec);
            let in_stop = Arc::clone(&stop);
            let in_fatal = Arc::clone(&fatal);
            let in_report = events.clone();
            threads.push(spawn(
                &config.rt_in,
                "rt-in",
                setup_tx.clone(),
                move || {
                    run_device(
                        &in_report,
                        &in_stop,
                        &in_fatal,
                        &mut in_stream,
                        |s, stop| s.capture(&mut capturer, stop),
                    );
                },
            )?);
        }

        // Each thread reports what the kernel gave it before it plays.
        drop(setup_tx);
        let rt: Vec<(String, RtSetup)> = setups.iter().take(threads.len()).collect();
        for (name, setup) in &rt {
            events.send(BoxEvent::RtThread {
                thread: name.clone(),
                setup: setup.clone(),
            });
        }
        let rt_out = rt
            .iter()
            .find(|(name, _)| name == "rt-out")
            .map(|(_, s)| s.clone());
        let rt_out = rt_out.ok_or_else(|| LiveError::Io {
            what: "rt-out ended before it started".into(),
            source: std::io::Error::other("no setup report"),
        })?;
        let clocking = Clocking::start(
            ClockingConfig {
                time_sources: show.time_sources.clone(),
                ..config.clocking
            },
            rate,
            playback.first_audible_frame(),
            card,
            ltc,
            events.clone(),
        )?;
        let (requests, requests_rx) = mpsc::channel();
        let period = playback.period as u64;
        let board = Arc::new(Mutex::new(Board::default()));
        let control = control::Control {
            timebase: clocking.timebase(),
            cues: TimecodeCues::from_show(&show),
            chase: Chase::from_show(&show, rate),
            dispatcher: Dispatcher::new(&show, rate),
            show: Arc::new(show),
            render,
            streams,
            device_events,
            events,
            rate,
            period,
            origin: playback.first_audible_frame(),
            // A fifth of a second, and never less than two buffers.
            horizon: (u64::from(rate) / 5).max(2 * playback.buffer as u64),
            board: board.clone(),
            started_by: Default::default(),
            plays: config.plays.clone(),
            cue_tap: config.cue_tap.clone(),
            joined: Default::default(),
            queued_keys: 0,
        };
        let control_stop = Arc::clone(&stop);
        threads.push(
            std::thread::Builder::new()
                .name("control".into())
                .spawn(move || control.run(requests_rx, control_stop))
                .map_err(|source| LiveError::Io {
                    what: "cannot start the control thread".into(),
                    source,
                })?,
        );
        Ok(Live {
            requests,
            stop,
            threads,
            recorder,
            playback,
            device,
            out_stats,
            in_stats,
            rt_out,
            rt,
            clocking,
            board,
            fatal,
            card: card_now,
            origin,
        })
    }

    /// Handles to what plays and how the devices and clock fare, for a
    /// status reader on another thread.
    pub fn status_source(&self) -> StatusSource {
        StatusSource {
            board: self.board.clone(),
            playback: self.out_stats.clone(),
            clock: self.clocking.status_handle(),
            rate: self.playback.rate,
            period: self.playback.period as u64,
            device: self.device.clone(),
            card: Some(self.card.clone()),
            ptp: self.clocking.ptp(),
            origin: self.origin,
            timebase: Some(self.clocking.timebase()),
        }
    }

    /// The clock now: its source, every source's health and their offsets.
    pub fn clock(&self) -> ClockStatus {
        self.clocking.status()
    }

    /// What the kernel gave rt-out, read back from /proc at its start.
    pub fn rt_out(&self) -> &RtSetup {
        &self.rt_out
    }

    /// Where commands go.
    pub fn requests(&self) -> Sender<Message> {
        self.requests.clone()
    }

    /// What the playback device agreed to.
    pub fn playback(&self) -> &Negotiated {
        &self.playback
    }

    /// Playback figures now.
    pub fn playback_stats(&self) -> Snapshot {
        self.out_stats.snapshot()
    }

    /// Puts every real-time thread back to SCHED_OTHER; what could not be.
    pub fn demote(&self) -> Vec<String> {
        self.rt
            .iter()
            .filter_map(|(name, setup)| {
                crate::system::demote(setup)
                    .err()
                    .map(|e| format!("{name}: {e}"))
            })
            .collect()
    }

    /// Why the show cannot go on, if a device failed for good.
    pub fn failure(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops every thread, closes the recording and reports the figures.
    pub fn stop(mut self) -> LiveSummary {
        self.halt();
        LiveSummary {
            playback: self.out_stats.snapshot(),
            capture: self.in_stats.as_ref().map(|s| s.snapshot()),
            recording: self.recorder.take().and_then(|r| r.finish().ok()),
            clock: self.clocking.status(),
        }
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Runs a device loop until stopped; a device that fails beyond recovery
/// is reopened every second until it comes back, so the outputs never stop
/// for good. A device that cannot play at all (it does not pace) is not
/// reopened: its error goes to `fatal`, for the run to act on.
fn run_device(
    report: &Publisher,
    stop: &AtomicBool,
    fatal: &Mutex<Option<String>>,
    stream: &mut Stream,
    mut run: impl FnMut(&mut Stream, &AtomicBool) -> Result<(), DeviceError>,
) {
    let mut result = run(stream, stop);
    while let Err(e) = result {
        if matches!(e, DeviceError::NotPacing { .. }) {
            *fatal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            return;
        }
        report.send(BoxEvent::DeviceFailed {
            error: e.to_string(),
        });
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
            match stream.reopen() {
                Ok(()) => break,
                Err(e) => report.send(BoxEvent::DeviceFailed {
                    error: e.to_string(),
                }),
            }
        }
        report.send(BoxEvent::DeviceReopened);
        result = run(stream, stop);
    }
}

/// Starts a real-time thread with `config`; it reports its verified setup
/// to `report` before running `body`.
fn spawn(
    config: &RtConfig,
    name: &str,
    report: Sender<(String, RtSetup)>,
    body: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, LiveError> {
    let thread_name = name.to_string();
    spawn_rt(name, config, move |setup: RtSetup| {
        let _ = report.send((thread_name, setup));
        drop(report);
        body();
    })
    .map_err(|source| LiveError::Io {
        what: format!("cannot start {name}"),
        source,
    })
}
