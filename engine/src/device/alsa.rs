//! The ALSA device: a PCM opened by name (`hw:1,0` on a box, a plugin PCM in
//! tests) and driven JACK/Ardour style — poll for the card's period
//! wake-up, transfer whole periods, timestamp each on the card clock through
//! a [`Dll`], and recover from every xrun by prepare, refill and restart.
//!
//! Nothing in a cycle allocates, locks or calls the system except the
//! device's own calls (poll, status, transfer) and the vDSO clock. Buffers
//! are sized and touched when the stream opens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use alsa::pcm::{Access as AlsaAccess, Format, HwParams, State, TstampType, PCM};
use alsa::poll::{pollfd, Descriptors};
use alsa::{Direction, ValueOr};

use super::dll::Dll;
use super::format::SampleFormat;
use super::stats::DeviceStats;
use super::{Access, Cycle, DeviceEvent, StreamDir};

/// What to ask of a PCM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcmConfig {
    /// The ALSA PCM name (`hw:1,0`, `default`, a plugin PCM).
    pub name: String,
    /// Frames per second.
    pub rate: u32,
    /// Frames per period.
    pub period: usize,
    /// Periods in the buffer.
    pub periods: u32,
    /// Sample format; `None` takes the first the device accepts of
    /// [`SampleFormat::ALL`].
    pub format: Option<SampleFormat>,
    /// How frames reach the device.
    pub access: Access,
    /// Interleaved channels.
    pub channels: u16,
}

/// What the device agreed to. Rate, period and periods are exactly those
/// asked: a device that would only approximate them is refused, because a
/// show's timing is built on them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Negotiated {
    /// The PCM name.
    pub name: String,
    /// Frames per second.
    pub rate: u32,
    /// Frames per period.
    pub period: usize,
    /// Periods in the buffer.
    pub periods: u32,
    /// Frames in the buffer.
    pub buffer: usize,
    /// The sample format.
    pub format: SampleFormat,
    /// Read/write or mmap.
    pub access: Access,
    /// Interleaved channels.
    pub channels: u16,
}

impl Negotiated {
    /// Periods rendered and discarded before the prefill: Ardour's warm-up
    /// of max(4, rate / period / 8) dry-run cycles brings code and data into
    /// cache, and its last `periods` cycles are the prefill.
    pub fn dry_run_periods(&self) -> u64 {
        let warmup = (self.rate as usize / self.period / 8).max(4);
        warmup.saturating_sub(self.periods as usize) as u64
    }

    /// The render frame the card's first frame plays: every frame before it
    /// was a dry run. Live times count from here, so `at: 0` is the first
    /// sound the card makes, as it is the first frame of an offline render.
    pub fn first_audible_frame(&self) -> u64 {
        self.dry_run_periods() * self.period as u64
    }

    /// Seconds in one period.
    pub fn period_seconds(&self) -> f64 {
        self.period as f64 / f64::from(self.rate)
    }
}

/// Why a device could not be opened or driven.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The PCM could not be opened.
    #[error(
        "cannot open ALSA PCM \"{pcm}\" for {dir}: {source}{}; check the name (`aplay -L` lists \
         them) and that no other program holds the device",
        said_by_alsa(.said)
    )]
    Open {
        /// The PCM.
        pcm: String,
        /// Playback or capture.
        dir: StreamDir,
        /// alsa-lib's reason.
        source: alsa::Error,
        /// What alsa-lib (or the PCM's plugin) said about it, if anything.
        said: String,
    },
    /// A setting the device refuses.
    #[error("ALSA PCM \"{pcm}\" refuses {what} {value}: {source}")]
    Setting {
        /// The PCM.
        pcm: String,
        /// The setting (`rate`, `period size`, …).
        what: &'static str,
        /// The value asked.
        value: String,
        /// alsa-lib's reason.
        source: alsa::Error,
    },
    /// The device approximates a setting that must be exact.
    #[error(
        "ALSA PCM \"{pcm}\" offers {what} {got} instead of {asked}; choose a value the device \
         supports"
    )]
    Inexact {
        /// The PCM.
        pcm: String,
        /// The setting.
        what: &'static str,
        /// Asked.
        asked: String,
        /// Offered.
        got: String,
    },
    /// None of the sample formats is accepted.
    #[error("ALSA PCM \"{pcm}\" accepts none of S32_LE, S24_3LE, FLOAT_LE, S16_LE")]
    NoFormat {
        /// The PCM.
        pcm: String,
    },
    /// The device takes audio faster than real time: it never blocks, so
    /// the loop would spin on the audio core (a misconfigured PCM: a file
    /// plugin over `null`, a device without a clock).
    #[error(
        "ALSA PCM \"{pcm}\" does not pace playback: it took {seconds_of_audio:.1} s of audio in \
         {wall_ms:.0} ms; it is not a sound card's clock (a file or null plugin?): check the \
         device name and its ALSA configuration (`aplay -L`)"
    )]
    NotPacing {
        /// The PCM.
        pcm: String,
        /// Audio taken, seconds.
        seconds_of_audio: f64,
        /// In this much wall time, ms.
        wall_ms: f64,
    },
    /// A call failed while running, and recovery failed too.
    #[error("ALSA PCM \"{pcm}\": {op} failed: {source}")]
    Io {
        /// The PCM.
        pcm: String,
        /// The call.
        op: &'static str,
        /// alsa-lib's reason.
        source: alsa::Error,
    },
}

fn said_by_alsa(said: &str) -> String {
    match said.trim() {
        "" => String::new(),
        said => format!(
            " (alsa-lib: {})",
            said.lines().collect::<Vec<_>>().join("; ")
        ),
    }
}

/// Opens the PCM `name` for `dir`. What alsa-lib says while it opens goes
/// into the error instead of to stderr, where a box retrying every few
/// seconds would repeat it for ever.
pub(crate) fn open(name: &str, dir: StreamDir) -> Result<PCM, DeviceError> {
    let alsa_dir = match dir {
        StreamDir::Playback => Direction::Playback,
        StreamDir::Capture => Direction::Capture,
    };
    let said = alsa::Output::local_error_handler().ok();
    PCM::new(name, alsa_dir, false).map_err(|source| DeviceError::Open {
        pcm: name.to_owned(),
        dir,
        source,
        said: said.map(|s| s.borrow().to_string()).unwrap_or_default(),
    })
}

/// A watch on a device's pace: a card plays a second of audio in about a
/// second. One that takes a whole second of audio in a quarter of that (a
/// buffer's prefill included) is not pacing at all.
#[derive(Debug, Clone, Copy)]
struct Pace {
    frame: u64,
    at: f64,
    rate: u32,
}

impl Pace {
    fn new(frame: u64, at: f64, rate: u32) -> Self {
        Pace { frame, at, rate }
    }

    /// Once a second of audio has gone since the last look: the audio
    /// seconds and the wall seconds it took, if that was far too fast.
    fn check(&mut self, frame: u64, now: f64) -> Option<(f64, f64)> {
        let frames = frame.saturating_sub(self.frame);
        if frames < u64::from(self.rate) {
            return None;
        }
        let audio = frames as f64 / f64::from(self.rate);
        let wall = now - self.at;
        *self = Pace::new(frame, now, self.rate);
        (wall < audio / 4.0).then_some((audio, wall))
    }
}

/// Fills each period of playback: `out` holds `frames` interleaved frames
/// of the stream's channel count. Called on the real-time thread: it must
/// not allocate, lock or block.
pub trait Render: Send {
    /// Renders the next period.
    fn render(&mut self, out: &mut [f32], frames: usize, cycle: &Cycle);
}

/// Takes each period of capture: `input` holds `frames` interleaved frames.
/// Called on a real-time thread: it must not allocate, lock or block.
pub trait Record: Send {
    /// Takes the next period.
    fn record(&mut self, input: &[f32], frames: usize, cycle: &Cycle);
    /// `frames` frames were lost before the frame `at` (an overrun): the
    /// next period follows them.
    fn discontinuity(&mut self, at: u64, frames: u64);
}

/// The events a stream reports.
pub type Events = rtrb::Consumer<DeviceEvent>;

/// An open PCM with everything its loop needs, allocated up front.
pub struct Stream {
    pcm: PCM,
    config: PcmConfig,
    dir: StreamDir,
    negotiated: Negotiated,
    fds: Vec<pollfd>,
    samples: Vec<f32>,
    bytes: Vec<u8>,
    stats: Arc<DeviceStats>,
    events: rtrb::Producer<DeviceEvent>,
    /// Frames handed to (playback) or taken from (capture) the stream since
    /// the card last started.
    transferred: u64,
    /// Frames processed since the stream opened, across restarts: the
    /// frame counter [`Cycle::frame`] reports.
    frame: u64,
    clock: CardClock,
}

impl Stream {
    /// Opens `config.name` for `dir` and configures it; returns the stream
    /// and the queue its events arrive on.
    pub fn open(config: &PcmConfig, dir: StreamDir) -> Result<(Stream, Events), DeviceError> {
        let (pcm, negotiated, fds) = open_pcm(config, dir)?;
        let channels = usize::from(negotiated.channels);
        let (events, consumer) = rtrb::RingBuffer::new(256);
        let samples = vec![0.0; negotiated.period * channels];
        let bytes = vec![0; negotiated.period * channels * negotiated.format.bytes()];
        let clock = CardClock::new(&negotiated);
        Ok((
            Stream {
                pcm,
                config: config.clone(),
                dir,
                negotiated,
                fds,
                samples,
                bytes,
                stats: Arc::new(DeviceStats::default()),
                events,
                transferred: 0,
                frame: 0,
                clock,
            },
            consumer,
        ))
    }

    /// Closes the PCM and opens it again with the same settings, keeping
    /// the frame counter, figures and event queue: the way back after the
    /// device failed beyond recovery (a card that reset, a USB interface
    /// that came back). Allocates; the real-time path is already broken.
    pub fn reopen(&mut self) -> Result<(), DeviceError> {
        let _ = self.pcm.drop();
        let (pcm, negotiated, fds) = open_pcm(&self.config, self.dir)?;
        if negotiated != self.negotiated {
            return Err(DeviceError::Inexact {
                pcm: self.config.name.clone(),
                what: "settings on reopening",
                asked: format!("{:?}", self.negotiated),
                got: format!("{negotiated:?}"),
            });
        }
        self.pcm = pcm;
        self.fds = fds;
        self.transferred = 0;
        self.clock.restart(self.frame);
        Ok(())
    }

    /// What the device agreed to.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The stream's live figures.
    pub fn stats(&self) -> Arc<DeviceStats> {
        Arc::clone(&self.stats)
    }

    /// Plays until `stop` is set: warms up with
    /// [dry-run cycles](Negotiated::dry_run_periods), prefills the buffer,
    /// starts the card and renders a period per wake-up, recovering
    /// from every xrun. Returns only when stopped or when the device fails
    /// beyond recovery (it was unplugged, say).
    pub fn play(&mut self, render: &mut impl Render, stop: &AtomicBool) -> Result<(), DeviceError> {
        assert_eq!(
            self.dir,
            StreamDir::Playback,
            "play needs a playback stream"
        );
        for _ in 0..self.negotiated.dry_run_periods() {
            self.render_period(render);
        }
        self.start_playback(render)?;
        let mut pace = Pace::new(self.frame, monotonic(), self.negotiated.rate);
        while !stop.load(Ordering::Relaxed) {
            if let Some((seconds_of_audio, wall)) = pace.check(self.frame, monotonic()) {
                let _ = self.pcm.drop();
                return Err(DeviceError::NotPacing {
                    pcm: self.config.name.clone(),
                    seconds_of_audio,
                    wall_ms: wall * 1e3,
                });
            }
            let Some(avail) = self.wait()? else {
                self.recover(|s, _| s.start_playback(render))?;
                // A recovery's prefill is not a device running fast.
                pace = Pace::new(self.frame, monotonic(), self.negotiated.rate);
                continue;
            };
            let mut avail = avail;
            while avail >= self.negotiated.period {
                self.render_period(render);
                if let Err(e) = self.transfer_period() {
                    if is_xrun(&e) {
                        self.recover(|s, _| s.start_playback(render))?;
                        pace = Pace::new(self.frame, monotonic(), self.negotiated.rate);
                        break;
                    }
                    return Err(self.io("write", e));
                }
                avail -= self.negotiated.period;
            }
        }
        let _ = self.pcm.drop();
        Ok(())
    }

    /// Captures until `stop` is set, handing each period to `record` and
    /// every overrun to it as a discontinuity.
    pub fn capture(
        &mut self,
        record: &mut impl Record,
        stop: &AtomicBool,
    ) -> Result<(), DeviceError> {
        assert_eq!(
            self.dir,
            StreamDir::Capture,
            "capture needs a capture stream"
        );
        self.start_capture()?;
        while !stop.load(Ordering::Relaxed) {
            let avail = match self.wait()? {
                Some(a) => a,
                None => {
                    self.recover(|s, lost| s.restart_capture(record, lost))?;
                    continue;
                }
            };
            let mut avail = avail;
            while avail >= self.negotiated.period {
                match self.transfer_period() {
                    Ok(()) => {}
                    Err(e) if is_xrun(&e) => {
                        self.recover(|s, lost| s.restart_capture(record, lost))?;
                        break;
                    }
                    Err(e) => return Err(self.io("read", e)),
                }
                let period = self.negotiated.period;
                let cycle = self.clock.cycle(self.frame);
                let t0 = monotonic();
                self.negotiated
                    .format
                    .decode(&self.bytes, &mut self.samples);
                record.record(&self.samples, period, &cycle);
                self.stats.process.record(micros(monotonic() - t0));
                self.frame += period as u64;
                self.stats.cycles.fetch_add(1, Ordering::Relaxed);
                avail -= period;
            }
        }
        let _ = self.pcm.drop();
        Ok(())
    }

    /// Renders one period into the sample buffer and encodes it.
    fn render_period(&mut self, render: &mut impl Render) {
        let period = self.negotiated.period;
        let cycle = self.clock.cycle(self.frame);
        let t0 = monotonic();
        render.render(&mut self.samples, period, &cycle);
        self.negotiated
            .format
            .encode(&self.samples, &mut self.bytes);
        self.stats.process.record(micros(monotonic() - t0));
        self.stats.cycles.fetch_add(1, Ordering::Relaxed);
        self.frame += period as u64;
    }

    /// Moves one period between the byte buffer and the device, whole:
    /// out for playback, in for capture.
    fn transfer_period(&mut self) -> Result<(), alsa::Error> {
        let frame_bytes = usize::from(self.negotiated.channels) * self.negotiated.format.bytes();
        let playback = self.dir == StreamDir::Playback;
        let mut done = 0;
        while done < self.bytes.len() {
            let rest = &mut self.bytes[done..];
            let io = self.pcm.io_bytes();
            let frames = match self.negotiated.access {
                Access::ReadWrite if playback => io.writei(rest)?,
                Access::ReadWrite => io.readi(rest)?,
                Access::Mmap => io.mmap(rest.len() / frame_bytes, |buf| {
                    let n = buf.len().min(rest.len());
                    if playback {
                        buf[..n].copy_from_slice(&rest[..n]);
                    } else {
                        rest[..n].copy_from_slice(&buf[..n]);
                    }
                    n / frame_bytes
                })?,
            };
            drop(io);
            if frames == 0 {
                // mmap offered no room: the period fits after the next wake-up.
                self.pcm.wait(Some(self.timeout_ms() as u32))?;
            }
            done += frames * frame_bytes;
            self.transferred += frames as u64;
        }
        Ok(())
    }

    /// Prepares the card, prefills its buffer with rendered periods and
    /// starts it.
    fn start_playback(&mut self, render: &mut impl Render) -> Result<(), DeviceError> {
        self.pcm.prepare().map_err(|e| self.io("prepare", e))?;
        self.transferred = 0;
        let card_zero = self.frame;
        self.clock.restart(card_zero);
        for _ in 0..self.negotiated.periods {
            self.render_period(render);
            self.transfer_period().map_err(|e| self.io("prefill", e))?;
        }
        self.pcm.start().map_err(|e| self.io("start", e))?;
        let _ = self.events.push(DeviceEvent::Started {
            dir: StreamDir::Playback,
            frame: card_zero,
        });
        Ok(())
    }

    /// Restarts capture after an overrun that lost `lost` frames: the card
    /// captured them while nobody read them, so the recording goes on after
    /// a gap of that length.
    fn restart_capture(&mut self, record: &mut impl Record, lost: u64) -> Result<(), DeviceError> {
        record.discontinuity(self.frame, lost);
        self.frame += lost;
        self.start_capture()
    }

    fn start_capture(&mut self) -> Result<(), DeviceError> {
        self.pcm.prepare().map_err(|e| self.io("prepare", e))?;
        self.transferred = 0;
        self.clock.restart(self.frame);
        self.pcm.start().map_err(|e| self.io("start", e))?;
        let _ = self.events.push(DeviceEvent::Started {
            dir: StreamDir::Capture,
            frame: self.frame,
        });
        Ok(())
    }

    /// Blocks until the card has a period of room (playback) or audio
    /// (capture), and timestamps the wake-up. `None` means an xrun.
    fn wait(&mut self) -> Result<Option<usize>, DeviceError> {
        let timeout = self.timeout_ms();
        let ready = alsa::poll::poll(&mut self.fds, timeout).map_err(|e| self.io("poll", e))?;
        let woke = monotonic();
        if ready == 0 {
            // No wake-up in 1.5 periods: a lost interrupt or a stalled card.
            // Go on as if woken, so a card that only lost its interrupt
            // still gets its period in time.
            self.stats.poll_timeouts.fetch_add(1, Ordering::Relaxed);
        } else {
            match self.pcm.revents(&self.fds) {
                Ok(_) => {}
                Err(e) if is_xrun(&e) => return Ok(None),
                Err(e) => return Err(self.io("poll revents", e)),
            }
        }
        let status = self.pcm.status().map_err(|e| self.io("status", e))?;
        if matches!(status.get_state(), State::XRun) {
            return Ok(None);
        }
        let avail = match self.pcm.avail_update() {
            Ok(a) => a.max(0) as usize,
            Err(e) if is_xrun(&e) => return Ok(None),
            Err(e) => return Err(self.io("avail", e)),
        };
        let buffer = self.negotiated.buffer as u64;
        let hw = match self.dir {
            StreamDir::Playback => {
                (self.transferred + status.get_avail() as u64).saturating_sub(buffer)
            }
            StreamDir::Capture => self.transferred + status.get_avail() as u64,
        };
        let stamp = seconds(status.get_htstamp());
        // A device that keeps no timestamps reports zero: use the wake-up.
        let at = if stamp > 0.0 { stamp } else { woke };
        self.clock.observe(hw, at, woke, &self.stats);
        Ok(Some(avail))
    }

    /// Recovers from an xrun: measures it, prepares the card, restarts it
    /// through `restart` (told how many frames of card time were lost), and
    /// reports it.
    fn recover(
        &mut self,
        restart: impl FnOnce(&mut Self, u64) -> Result<(), DeviceError>,
    ) -> Result<(), DeviceError> {
        let detected = monotonic();
        let (xrun_at, lost) = self.measure_xrun(detected);
        restart(self, lost)?;
        self.report_xrun(detected, xrun_at, lost);
        Ok(())
    }

    /// When the xrun happened and how many frames of card time it has cost
    /// until `now`. A kernel driver stamps the xrun itself (the trigger
    /// timestamp moves to it); otherwise it is when the card ran out of
    /// what it was given (playback) or of room (capture), from the last
    /// position seen.
    fn measure_xrun(&mut self, now: f64) -> (f64, u64) {
        let trigger = self
            .pcm
            .status()
            .ok()
            .map(|s| seconds(s.get_trigger_htstamp()));
        let limit = match self.dir {
            StreamDir::Playback => self.transferred,
            StreamDir::Capture => self.transferred + self.negotiated.buffer as u64,
        };
        let xrun_at = match (trigger, self.clock.last_seen) {
            (Some(t), Some((_, seen))) if t > seen && t <= now => t,
            (_, Some((hw, seen))) => seen + (limit as f64 - hw as f64) / self.clock.rate,
            (Some(t), None) if t > 0.0 && t <= now => t,
            _ => now,
        }
        .min(now);
        let lost = ((now - xrun_at) * f64::from(self.negotiated.rate)).round() as u64;
        (xrun_at, lost)
    }

    fn report_xrun(&mut self, detected: f64, xrun_at: f64, lost: u64) {
        let recovered = monotonic();
        let recovery_us = micros(recovered - detected);
        self.stats.xruns.fetch_add(1, Ordering::Relaxed);
        self.stats.recovery.record(recovery_us);
        let _ = self.events.push(DeviceEvent::Xrun {
            dir: self.dir,
            frame: self.frame,
            late_us: micros(detected - xrun_at),
            lost_frames: lost,
            recovery_us,
        });
    }

    /// The poll timeout: 1.5 periods, as JACK and Ardour use.
    fn timeout_ms(&self) -> i32 {
        ((self.negotiated.period_seconds() * 1500.0).ceil() as i32).max(1)
    }

    fn io(&self, op: &'static str, source: alsa::Error) -> DeviceError {
        DeviceError::Io {
            pcm: self.negotiated.name.clone(),
            op,
            source,
        }
    }
}

/// Opens and configures a PCM, with its poll descriptors.
fn open_pcm(
    config: &PcmConfig,
    dir: StreamDir,
) -> Result<(PCM, Negotiated, Vec<pollfd>), DeviceError> {
    let pcm = open(&config.name, dir)?;
    let negotiated = configure(&pcm, config)?;
    let mut fds = vec![
        pollfd {
            fd: -1,
            events: 0,
            revents: 0,
        };
        pcm.count()
    ];
    pcm.fill(&mut fds).map_err(|source| DeviceError::Io {
        pcm: config.name.clone(),
        op: "poll descriptors",
        source,
    })?;
    Ok((pcm, negotiated, fds))
}

/// `pcm`'s hardware parameters with what every stream here asks first: no
/// resampling (the engine's rate is the show's; the card must run at it,
/// not convert) and interleaved `access`. `name` names the PCM in errors.
pub(crate) fn hw_params<'a>(
    pcm: &'a PCM,
    name: &str,
    access: Access,
) -> Result<HwParams<'a>, DeviceError> {
    let setting = |what: &'static str, value: String| {
        move |source| DeviceError::Setting {
            pcm: name.to_owned(),
            what,
            value,
            source,
        }
    };
    let hw = HwParams::any(pcm).map_err(setting("hardware parameters", String::new()))?;
    hw.set_rate_resample(false)
        .map_err(setting("disabling resampling", String::new()))?;
    let alsa_access = match access {
        Access::ReadWrite => AlsaAccess::RWInterleaved,
        Access::Mmap => AlsaAccess::MMapInterleaved,
    };
    hw.set_access(alsa_access)
        .map_err(setting("access", access.to_string()))?;
    Ok(hw)
}

/// Applies `config` to `pcm`, refusing approximations of rate and period.
fn configure(pcm: &PCM, config: &PcmConfig) -> Result<Negotiated, DeviceError> {
    let name = &config.name;
    let setting = |what: &'static str, value: String| {
        let name = name.clone();
        move |source| DeviceError::Setting {
            pcm: name,
            what,
            value,
            source,
        }
    };
    let hw = hw_params(pcm, name, config.access)?;
    hw.set_channels(u32::from(config.channels))
        .map_err(setting("channels", config.channels.to_string()))?;
    let formats: &[SampleFormat] = match &config.format {
        Some(f) => std::slice::from_ref(f),
        None => &SampleFormat::ALL,
    };
    let format = formats
        .iter()
        .copied()
        .find(|f| hw.test_format(alsa_format(*f)).is_ok())
        .ok_or_else(|| match config.format {
            Some(f) => DeviceError::Setting {
                pcm: name.clone(),
                what: "sample format",
                value: f.to_string(),
                source: alsa::Error::unsupported("snd_pcm_hw_params_set_format"),
            },
            None => DeviceError::NoFormat { pcm: name.clone() },
        })?;
    hw.set_format(alsa_format(format))
        .map_err(setting("sample format", format.to_string()))?;
    hw.set_rate(config.rate, ValueOr::Nearest)
        .map_err(setting("rate", config.rate.to_string()))?;
    hw.set_period_size(config.period as alsa::pcm::Frames, ValueOr::Nearest)
        .map_err(setting("period size", config.period.to_string()))?;
    hw.set_periods(config.periods, ValueOr::Nearest)
        .map_err(setting("periods", config.periods.to_string()))?;
    pcm.hw_params(&hw)
        .map_err(setting("these parameters", format!("{config:?}")))?;

    let current = pcm
        .hw_params_current()
        .map_err(setting("reading back parameters", String::new()))?;
    let exact = |what: &'static str, asked: u64, got: u64| {
        if asked == got {
            Ok(())
        } else {
            Err(DeviceError::Inexact {
                pcm: name.clone(),
                what,
                asked: asked.to_string(),
                got: got.to_string(),
            })
        }
    };
    let read = |r: alsa::Result<u64>, what: &'static str| r.map_err(setting(what, String::new()));
    let rate = read(current.get_rate().map(u64::from), "rate")?;
    exact("rate", u64::from(config.rate), rate)?;
    let period = read(current.get_period_size().map(|p| p as u64), "period size")?;
    exact("period size", config.period as u64, period)?;
    let periods = read(current.get_periods().map(u64::from), "periods")?;
    exact("periods", u64::from(config.periods), periods)?;
    let buffer = read(current.get_buffer_size().map(|b| b as u64), "buffer size")?;

    let sw = pcm
        .sw_params_current()
        .map_err(setting("software parameters", String::new()))?;
    let frames = |f: u64| f as alsa::pcm::Frames;
    // Wake once per period; start only when told (after the prefill); never
    // stop on our own except for a real xrun; timestamp on CLOCK_MONOTONIC,
    // the clock the loop reads.
    sw.set_avail_min(frames(period))
        .map_err(setting("avail_min", period.to_string()))?;
    sw.set_start_threshold(frames(buffer * 2))
        .map_err(setting("start threshold", String::new()))?;
    sw.set_stop_threshold(frames(buffer))
        .map_err(setting("stop threshold", buffer.to_string()))?;
    sw.set_tstamp_mode(true)
        .map_err(setting("timestamp mode", String::new()))?;
    sw.set_tstamp_type(TstampType::Monotonic)
        .map_err(setting("timestamp type", "monotonic".into()))?;
    pcm.sw_params(&sw)
        .map_err(setting("software parameters", String::new()))?;

    Ok(Negotiated {
        name: name.clone(),
        rate: config.rate,
        period: config.period,
        periods: config.periods,
        buffer: buffer as usize,
        format,
        access: config.access,
        channels: config.channels,
    })
}

/// ALSA's format for `f`.
pub(crate) fn alsa_format(f: SampleFormat) -> Format {
    match f {
        SampleFormat::S16Le => Format::S16LE,
        SampleFormat::S24_3Le => Format::S243LE,
        SampleFormat::S32Le => Format::S32LE,
        SampleFormat::F32Le => Format::FloatLE,
    }
}

/// The card's clock as the loop sees it: period boundaries timestamped,
/// filtered through the DLL, measured against wake-ups.
struct CardClock {
    period: u64,
    rate: f64,
    dll: Option<Dll>,
    /// Card frame of the next boundary to feed.
    next_boundary: u64,
    /// The stream frame of the card's frame 0 since it last started.
    zero: u64,
    /// The last position seen and when, since the card started.
    last_seen: Option<(u64, f64)>,
    /// The card restarted since the DLL last saw a boundary.
    restarted: bool,
}

impl CardClock {
    fn new(n: &Negotiated) -> Self {
        CardClock {
            period: n.period as u64,
            rate: f64::from(n.rate),
            dll: None,
            next_boundary: 0,
            zero: 0,
            last_seen: None,
            restarted: false,
        }
    }

    /// The card restarted, its frame 0 being stream frame `zero`. The DLL
    /// keeps its rate estimate and takes the next boundary as its new phase.
    fn restart(&mut self, zero: u64) {
        self.restarted = true;
        self.zero = zero;
        self.next_boundary = 0;
        self.last_seen = None;
    }

    /// The card was at frame `hw` at time `at`; the thread woke at `woke`.
    /// Feeds every boundary crossed since the last call to the DLL.
    fn observe(&mut self, hw: u64, at: f64, woke: f64, stats: &DeviceStats) {
        self.last_seen = Some((hw, at));
        let boundary_time = |k: u64| at - (hw as f64 - (k * self.period) as f64) / self.rate;
        let mut latest = None;
        while self.next_boundary * self.period <= hw {
            let k = self.next_boundary;
            let t = boundary_time(k);
            match &mut self.dll {
                None => {
                    self.dll = Some(Dll::new(t, self.period as usize, self.rate as u32));
                }
                Some(dll) if self.restarted => {
                    dll.restart(t);
                    self.restarted = false;
                }
                Some(dll) => {
                    let error = dll.update(t);
                    stats.jitter.record(micros(error.abs()));
                }
            }
            latest = Some(t);
            self.next_boundary += 1;
        }
        if let Some(t) = latest {
            stats.wakeup.record(micros(woke - t));
        }
        if let Some(dll) = &self.dll {
            stats.set_ppm(dll.ppm());
        }
    }

    /// The timing of the period starting at stream frame `frame`.
    fn cycle(&self, frame: u64) -> Cycle {
        match &self.dll {
            // Between a (re)start and the first boundary after it the DLL's
            // time is the old run's: the card is at its frame 0 about now.
            Some(dll) if !self.restarted => Cycle {
                frame,
                boundary_frame: self.zero + self.next_boundary.saturating_sub(1) * self.period,
                time: dll.boundary(),
                period_seconds: dll.period_seconds(),
            },
            _ => Cycle {
                frame,
                boundary_frame: self.zero + self.last_seen.map_or(0, |(hw, _)| hw),
                time: self.last_seen.map_or_else(monotonic, |(_, at)| at),
                period_seconds: self.period as f64 / self.rate,
            },
        }
    }
}

fn is_xrun(e: &alsa::Error) -> bool {
    let code = e.errno().abs();
    code == nix::errno::Errno::EPIPE as i32 || code == nix::errno::Errno::ESTRPIPE as i32
}

/// CLOCK_MONOTONIC in seconds (through the vDSO: no system call).
pub fn monotonic() -> f64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9)
        .unwrap_or(0.0)
}

fn seconds(t: alsa::timespec) -> f64 {
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn micros(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1e6).round() as u64
}

#[cfg(test)]
mod tests {
    use super::Pace;

    #[test]
    fn a_card_paces_and_a_null_device_does_not() {
        // A card: a second of audio per second, with a buffer's prefill.
        let mut card = Pace::new(0, 10.0, 48_000);
        assert_eq!(card.check(47_999, 10.9), None, "less than a second yet");
        assert_eq!(card.check(48_000 + 768, 10.99), None);
        assert_eq!(card.check(2 * 48_000 + 768, 11.99), None);
        // A device that never blocks: a second of audio in 3 ms.
        let mut null = Pace::new(0, 10.0, 48_000);
        let (audio, wall) = null.check(48_128, 10.003).unwrap();
        assert!((audio - 1.0027).abs() < 1e-3 && (wall - 0.003).abs() < 1e-9);
    }
}
