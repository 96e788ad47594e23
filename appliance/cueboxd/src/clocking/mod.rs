//! The box's time sources and its master clock, running: PTP through
//! statime on the box's own virtual clock ([`ptp`]), MTC ports through midir
//! ([`mtc`]), LTC decoded on rt-in from the capture channel the session
//! names ([`ltc`]) and the system clock — each turned into observations for
//! the engine's [`MasterClock`], which a housekeeping thread ticks every few
//! milliseconds and publishes as the lock-free timebase.
//!
//! Every source's time is put on the render frame counter through the
//! card's published [`position`]: the moment an LTC edge reached the capture
//! card, an MTC byte arrived or PTP was read becomes the frame the playback
//! card plays at that moment.

pub mod cli;
pub mod ltc;
pub mod mtc;
pub mod position;
pub mod ptp;

use crate::events::{BoxEvent, Publisher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cuebox_engine::show::TimeSources;
use cuebox_engine::timecode::clock::{Health, MasterClock, Observation, Thresholds};
use cuebox_engine::timecode::mtc::{Direction, MtcEvent};
use cuebox_engine::timecode::timebase::{timebase, Mapping, Source, TimebaseReader};
use cuebox_engine::timecode::{FrameRate, Timecode};

use self::ltc::LtcSeen;
use self::mtc::MtcInputs;
use self::position::PositionReader;
use self::ptp::{monotonic_ns, realtime_ns, Ptp, PtpConfig, PtpError, PtpStatus, PtpTime, PtpView};
use crate::midi::MidiError;

/// Which sources the box runs besides the system clock.
#[derive(Debug, Clone, Default)]
pub struct ClockingConfig {
    /// The session's priority and thresholds.
    pub time_sources: TimeSources,
    /// MTC input ports (a part of each name).
    pub mtc_ports: Vec<String>,
    /// PTP, if the box runs it.
    pub ptp: Option<PtpConfig>,
}

/// Why the clock could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClockingError {
    /// MTC input.
    #[error(transparent)]
    Mtc(#[from] MidiError),
    /// PTP.
    #[error(transparent)]
    Ptp(#[from] PtpError),
    /// The thread.
    #[error("cannot start the clock thread: {0}")]
    Thread(std::io::Error),
}

/// The clock as the operator sees it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ClockStatus {
    /// The show time (samples) this status is of.
    pub at_sample: u64,
    /// The source the timebase follows (`free` while flywheeling).
    pub source: Option<Source>,
    /// The name of the source it follows (`ltc`, `mtc:<port>`, `ptp`,
    /// `system`); none while it runs free or flywheels.
    pub current: Option<String>,
    /// The timecode now, at the session's rate.
    pub timecode: Option<String>,
    /// The same, as fractional frames since midnight.
    pub tc_frames: f64,
    /// Every source's health; `offset_us` is from the timebase.
    pub sources: Vec<Health>,
    /// Each source's offset from the source in use, µs.
    pub offsets_from_current_us: Vec<(String, f64)>,
    /// PTP's port state, when PTP runs.
    pub ptp: Option<PtpStatus>,
    /// Switches so far.
    pub switches: u64,
}

/// The running clock. Dropping it stops it.
pub struct Clocking {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    timebase: TimebaseReader,
    status: Arc<Mutex<ClockStatus>>,
    ptp: Option<PtpView>,
}

/// How often the clock thread ticks: well inside a period of the largest
/// buffers, so a failover lands in the period that detects it.
const TICK: Duration = Duration::from_millis(2);

impl Clocking {
    /// Opens the sources and starts the clock thread. `ltc` is rt-in's
    /// queue of decoded frames, when the session reads LTC; events count
    /// show time from render frame `origin`.
    pub fn start(
        config: ClockingConfig,
        rate: u32,
        origin: u64,
        position: PositionReader,
        ltc: Option<rtrb::Consumer<LtcSeen>>,
        events: Publisher,
    ) -> Result<Clocking, ClockingError> {
        let frame_rate = config.time_sources.frame_rate;
        let fps = frame_rate.fps();
        let initial = Mapping::free(rate, fps);
        let (writer, reader) = timebase(initial);
        let priority: Vec<Source> = config
            .time_sources
            .priority
            .iter()
            .map(|&k| k.into())
            .collect();
        let mut clock = MasterClock::new(
            rate,
            fps,
            Thresholds::from_session(&config.time_sources),
            &priority,
            initial,
            writer,
        );
        let ltc = ltc.map(|queue| (clock.add_source(Source::Ltc, "ltc"), queue));
        let mtc = if config.mtc_ports.is_empty() {
            None
        } else {
            let inputs = MtcInputs::open(&config.mtc_ports)?;
            let indices: Vec<usize> = inputs
                .names()
                .iter()
                .map(|n| clock.add_source(Source::Mtc, format!("mtc:{n}")))
                .collect();
            Some((inputs, indices))
        };
        let ptp = match config.ptp {
            Some(c) => {
                let port = Ptp::start(c)?;
                let time = port.time();
                Some((clock.add_source(Source::Ptp, "ptp"), port, time))
            }
            None => None,
        };
        let ptp_view = ptp.as_ref().map(|(_, port, _)| port.view());
        let system = clock.add_source(Source::System, "system");
        let stop = Arc::new(AtomicBool::new(false));
        let status = Arc::new(Mutex::new(ClockStatus::default()));
        let mut run = Run {
            clock,
            scale: Scale {
                position,
                frame_rate,
                zone: jiff::tz::TimeZone::system(),
            },
            origin,
            ltc,
            mtc,
            mtc_locked: Vec::new(),
            ptp,
            system,
            events,
            status: Arc::clone(&status),
            switches: 0,
        };
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("clock".into())
            .spawn(move || run.run(&thread_stop))
            .map_err(ClockingError::Thread)?;
        Ok(Clocking {
            stop,
            thread: Some(thread),
            timebase: reader,
            status,
            ptp: ptp_view,
        })
    }

    /// A reader of the timebase.
    pub fn timebase(&self) -> TimebaseReader {
        self.timebase.clone()
    }

    /// The clock now.
    pub fn status(&self) -> ClockStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The PTP port's time and state, when PTP runs.
    pub fn ptp(&self) -> Option<PtpView> {
        self.ptp.clone()
    }

    /// The shared status the clock thread updates, for readers elsewhere.
    pub fn status_handle(&self) -> Arc<Mutex<ClockStatus>> {
        self.status.clone()
    }
}

impl Drop for Clocking {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Puts a source's reading on the clock's scales: its moment on the render
/// frame counter, its time in frames of the session's rate.
struct Scale {
    position: PositionReader,
    frame_rate: FrameRate,
    /// The local time zone: the system clock's and PTP's timecode is local
    /// time of day, as on a wall clock, through daylight-saving changes.
    zone: jiff::tz::TimeZone,
}

impl Scale {
    /// The render frame the card played at a monotonic moment.
    fn sample_at(&self, at_ns: u64) -> Option<u64> {
        self.position
            .frame_at(at_ns)
            .map(|f| f.max(0.0).round() as u64)
    }

    /// `frames` (fractional) at `rate` as frames of the session's rate.
    fn frames(&self, frames: f64, rate: FrameRate) -> f64 {
        if rate == self.frame_rate {
            frames
        } else {
            frames / rate.fps() * self.frame_rate.fps()
        }
    }

    /// UTC (ns since the epoch) as local time of day, in frames.
    fn time_of_day_frames(&self, utc_ns: u64) -> f64 {
        let at = jiff::Timestamp::from_nanosecond(i128::from(utc_ns))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let offset = self.zone.to_offset(at).seconds();
        let seconds = utc_ns as f64 * 1e-9 + f64::from(offset);
        seconds.rem_euclid(86_400.0) * self.frame_rate.fps()
    }
}

/// The clock thread's state.
struct Run {
    clock: MasterClock,
    scale: Scale,
    /// The render frame of show time zero.
    origin: u64,
    ltc: Option<(usize, rtrb::Consumer<LtcSeen>)>,
    mtc: Option<(MtcInputs, Vec<usize>)>,
    /// MTC ports whose lock was reported.
    mtc_locked: Vec<usize>,
    ptp: Option<(usize, Ptp, PtpTime)>,
    system: usize,
    events: Publisher,
    status: Arc<Mutex<ClockStatus>>,
    switches: u64,
}

impl Run {
    fn run(&mut self, stop: &AtomicBool) {
        let mut next_status = Instant::now();
        let mut ptp_state = None;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(TICK);
            let mono = monotonic_ns();
            // Until rt-out has played a period there is no sample counter.
            let Some(now) = self.scale.sample_at(mono) else {
                continue;
            };
            let status_due = next_status <= Instant::now();
            if status_due {
                ptp_state = self.ptp.as_ref().map(|(_, p, _)| p.status());
            }
            self.observe_ltc();
            self.observe_mtc();
            self.observe_ptp(now, mono, ptp_state.as_ref());
            let tc_frames = self.scale.time_of_day_frames(realtime_ns());
            self.clock.observe(
                self.system,
                Observation {
                    sample: now,
                    tc_frames,
                },
            );
            if let Some(switch) = self.clock.tick(now) {
                self.switches += 1;
                self.events.send(BoxEvent::ClockSwitch {
                    at_sample: switch.sample.saturating_sub(self.origin),
                    from: switch.from,
                    to: switch.to,
                    reason: switch.reason,
                    relock: switch.relock,
                });
            }
            if status_due {
                next_status += Duration::from_secs(1);
                let status = self.status(now, ptp_state.clone());
                self.events.send(BoxEvent::Clock {
                    status: status.clone(),
                });
                if let Ok(mut s) = self.status.lock() {
                    *s = status;
                }
            }
        }
    }

    fn observe_ltc(&mut self) {
        let Some((index, queue)) = &mut self.ltc else {
            return;
        };
        while let Ok(s) = queue.pop() {
            let rate = if s.drop_frame {
                FrameRate::Fps2997Df
            } else {
                self.scale.frame_rate
            };
            if let Some(sample) = self.scale.sample_at(s.at_ns) {
                let tc_frames = self.scale.frames(s.tc.to_frames(rate) as f64, rate);
                self.clock
                    .observe(*index, Observation { sample, tc_frames });
            }
        }
    }

    fn observe_mtc(&mut self) {
        let Some((inputs, indices)) = &self.mtc else {
            return;
        };
        for s in inputs.drain() {
            let (tc, rate, within) = match s.event {
                MtcEvent::Full { tc, rate } => (tc, rate, 0.0),
                MtcEvent::Running {
                    tc,
                    rate,
                    quarter,
                    direction,
                } => {
                    if !self.mtc_locked.contains(&s.port) {
                        self.mtc_locked.push(s.port);
                        self.events.send(BoxEvent::MtcLocked {
                            port: inputs.names()[s.port].to_string(),
                            after_ms: (s.at_ns - s.first_ns) as f64 / 1e6,
                            frame_ms: 1e3 / rate.fps(),
                        });
                    }
                    let q = f64::from(quarter) / 4.0;
                    let within = match direction {
                        Direction::Forward => q,
                        Direction::Reverse => -q,
                    };
                    (tc, rate, within)
                }
            };
            if let Some(sample) = self.scale.sample_at(s.at_ns) {
                let tc_frames = self.scale.frames(tc.to_frames(rate) as f64 + within, rate);
                self.clock
                    .observe(indices[s.port], Observation { sample, tc_frames });
            }
        }
    }

    fn observe_ptp(&mut self, now: u64, mono: u64, state: Option<&PtpStatus>) {
        let Some((index, _, time)) = &self.ptp else {
            return;
        };
        // Only a synchronised port's time means anything.
        if state.is_some_and(|s| s.synchronised) {
            let tc_frames = self.scale.time_of_day_frames(time.utc_at(mono));
            self.clock.observe(
                *index,
                Observation {
                    sample: now,
                    tc_frames,
                },
            );
        }
    }

    fn status(&self, now: u64, ptp: Option<PtpStatus>) -> ClockStatus {
        let sources = self.clock.health().to_vec();
        let current = self.clock.current_name();
        let base = sources
            .iter()
            .find(|h| Some(h.name.as_str()) == current)
            .map_or(0.0, |h| h.offset_us);
        let tc_frames = self.clock.mapping().tc_at(now).max(0.0);
        let tc = Timecode::from_frames(tc_frames as u64, self.scale.frame_rate);
        ClockStatus {
            at_sample: now.saturating_sub(self.origin),
            source: Some(self.clock.mapping().source),
            current: current.map(str::to_owned),
            timecode: Some(tc.to_string()),
            tc_frames,
            offsets_from_current_us: sources
                .iter()
                .map(|h| (h.name.clone(), h.offset_us - base))
                .collect(),
            sources,
            ptp,
            switches: self.switches,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_timecode_follows_daylight_saving() {
        let scale = Scale {
            position: position::position().1,
            frame_rate: FrameRate::Fps25,
            zone: jiff::tz::TimeZone::get("Europe/Berlin").unwrap(),
        };
        let at = |utc: &str| {
            let t: jiff::Timestamp = utc.parse().unwrap();
            let frames = scale.time_of_day_frames(t.as_nanosecond() as u64);
            Timecode::from_frames(frames.round() as u64, FrameRate::Fps25).to_string()
        };
        // Clocks go forward at 01:00 UTC on 29 March 2026.
        assert_eq!(at("2026-03-29T00:59:59Z"), "01:59:59:00");
        assert_eq!(at("2026-03-29T01:00:00Z"), "03:00:00:00");
        // And back at 01:00 UTC on 25 October.
        assert_eq!(at("2026-10-25T00:59:59Z"), "02:59:59:00");
        assert_eq!(at("2026-10-25T01:00:00Z"), "02:00:00:00");
    }
}
