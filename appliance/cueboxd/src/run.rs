//! `cueboxd run`: the main job. Opens a session, keeps it safe (auto-save,
//! emergency save on SIGTERM/SIGINT), plays it live through ALSA and takes
//! commands from stdin, an event file and a local socket.

use crate::events::{BoxEvent, Publisher};
use crate::printer;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cuebox_engine::control::parse_events;
use cuebox_engine::device::alsa::PcmConfig;
use cuebox_engine::device::{Access, SampleFormat};
use cuebox_engine::show::Show;
use serde_json::json;

use crate::api::proto::Refusal;
use crate::api::service::BoxService;
use crate::api::{self, Identity};
use crate::clocking::ptp::PtpConfig;
use crate::clocking::ClockingConfig;
use crate::link::{show_summary, Current, LiveLink};
use crate::live::{clip_ids, CaptureConfig, Live, LiveConfig, Output, Settings};
use crate::store::{chain, AutosaveConfig, Autosaver, DataRoot, Retention, SaveReason, SessionDir};
use crate::system::{lock_memory, set_rttime_limit, IrqRouting, Monitor, Procfs, RtConfig};

/// The arguments of `cueboxd run`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The session: its name under <root>/Sessions, or a session folder.
    /// With --listen it may be left out: the box plays the session last
    /// activated by a push, or waits for one.
    #[arg(long, value_name = "NAME|DIR", required_unless_present = "listen")]
    pub session: Option<String>,
    /// Serve the network API for hostctl on this address (`0.0.0.0` for
    /// every interface; port 53100 unless given).
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub listen: Option<String>,
    /// The box's name, as hostctl shows it and OSC replies carry it
    /// (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Show control (OSC, MSC, MIDI grid controllers): a JSON file, see
    /// docs/showctl.md (default: <root>/showctl.json when it exists; every
    /// input is off without one).
    #[arg(long, value_name = "FILE.json")]
    pub showctl: Option<PathBuf>,
    /// Double-GO protection: a second GO of the same clip from the network
    /// within this many milliseconds is refused.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=5_000))]
    pub double_go_ms: u64,
    /// The playback PCM by name (`hw:1,0`, a plugin), used as named. Without
    /// it the box plays on the device map's PCM, else on a card it finds
    /// itself (see --card): never ALSA's `default`.
    #[arg(long, value_name = "PCM", conflicts_with = "card")]
    pub device: Option<String>,
    /// The card to play on, by index (`1`), id (`Intel`) or part of its
    /// name (`usb audio`); its first playback device's `hw:` PCM is opened
    /// with the channels, format and period sizes it offers. Default: the
    /// first card that plays.
    #[arg(long, value_name = "CARD")]
    pub card: Option<String>,
    /// Engine and device rate, Hz.
    #[arg(long, default_value_t = Settings::DEFAULT.rate)]
    pub rate: u32,
    /// Frames per period (256 × 3 = 16 ms at 48 kHz is the robust start).
    #[arg(long, default_value_t = Settings::DEFAULT.period as u64, value_parser = clap::value_parser!(u64).range(16..=4096))]
    pub period: u64,
    /// Periods in the device buffer.
    #[arg(long, default_value_t = Settings::DEFAULT.periods, value_parser = clap::value_parser!(u32).range(2..=32))]
    pub periods: u32,
    /// Sample format: S16_LE, S24_3LE, S32_LE or FLOAT_LE (default: the best the device takes).
    #[arg(long)]
    pub format: Option<SampleFormat>,
    /// Access: rw (read/write) or mmap.
    #[arg(long, default_value = "rw")]
    pub access: Access,
    /// Playback channels (default: as many as the session's outputs use,
    /// within what the device has; outputs past them fold onto them).
    #[arg(long)]
    pub channels: Option<u16>,
    /// The capture PCM (LTC input, Record A/B); no capture without it.
    #[arg(long, value_name = "PCM")]
    pub capture: Option<String>,
    /// Capture channels.
    #[arg(long, default_value_t = 2)]
    pub capture_channels: u16,
    /// Record the capture channels to this WAV file (32-bit float).
    #[arg(long, value_name = "FILE.wav", requires = "capture")]
    pub record: Option<PathBuf>,
    /// rt-out's SCHED_FIFO priority (the sound card's IRQ thread must be above it).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=98))]
    pub priority: u8,
    /// rt-in's SCHED_FIFO priority (below rt-out: capture yields to output).
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u8).range(1..=98))]
    pub capture_priority: u8,
    /// The audio core (default: the first isolated CPU, else the last CPU).
    #[arg(long)]
    pub core: Option<usize>,
    /// Leave the IRQs where they are (by default every IRQ that can move
    /// leaves the audio core while the show runs, and comes back when the run
    /// ends, or at the next start after a run that died).
    #[arg(long)]
    pub no_irq_routing: bool,
    /// Timed commands to schedule at start (the `cueboxd render --events` format).
    #[arg(long, value_name = "EVENTS.json")]
    pub events: Option<PathBuf>,
    /// Also take commands on this Unix socket, one JSON object per line; each
    /// gets a JSON answer line.
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Stop after this many seconds, as if SIGTERM arrived (demos, tests).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Seconds between periodic auto-saves (made only when something changed;
    /// a live run reports no changes yet, issue 14).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub autosave_interval: u64,
    /// An MTC input: the first MIDI input port whose name contains this
    /// (repeat for several; each is a peer source).
    #[arg(long, value_name = "PORT")]
    pub mtc: Vec<String>,
    /// Run PTP (AES67 defaults, slave only) on this network interface.
    #[arg(long, value_name = "IFACE")]
    pub ptp: Option<String>,
    /// With --ptp: this box may become PTP master.
    #[arg(long, requires = "ptp")]
    pub ptp_master: bool,
    /// Print events as JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// Why a run could not start or ended badly.
pub type RunError = Box<dyn std::error::Error>;

/// Runs the box until a signal (or `--seconds`): plays the session, serves
/// the API, and switches to a session a host activates. Returns whether the
/// final save succeeded.
pub fn run(root: &Path, args: &Args) -> Result<bool, RunError> {
    let events = Publisher::new();
    let format = if args.json {
        printer::Format::Json
    } else {
        printer::Format::Human
    };
    let printer = printer::start(&events, format)?;
    let result = serve(root, args, &events);
    drop(events);
    // Everything the run reported is out before its error is.
    printer.finish();
    result
}

/// The run itself, reporting to `events_tx`.
fn serve(root: &Path, args: &Args, events_tx: &Publisher) -> Result<bool, RunError> {
    // No core sleeps deeper than polling while the box runs.
    let _zero_latency =
        match crate::system::pmqos::ZeroLatency::hold(Path::new(crate::system::pmqos::DEVICE)) {
            Ok(held) => Some(held),
            Err(detail) => {
                events_tx.send(BoxEvent::RtProblem { detail });
                None
            }
        };
    // A run that died holding the IRQs left their masks: put them back.
    for outcome in IrqRouting::recover(&Procfs::default(), Path::new(IRQ_JOURNAL)) {
        events_tx.send(BoxEvent::RtProblem {
            detail: match outcome {
                Ok(done) => format!("a run that died moved IRQs: {done}"),
                Err(e) => e,
            },
        });
    }
    let deadline = args
        .seconds
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let link = Arc::new(LiveLink::new(
        Duration::from_millis(args.double_go_ms),
        events_tx.clone(),
    ));
    let server = match &args.listen {
        Some(address) => Some(serve_api(root, address, args, link.clone(), events_tx)?),
        None => None,
    };
    let showctl = start_showctl(root, args, link.clone(), events_tx)?;
    // Every local input goes through the link, for the whole run.
    spawn_stdin(link.clone(), events_tx.clone())?;
    let _socket = match &args.control_socket {
        Some(path) => Some(serve_socket(path, link.clone())?),
        None => None,
    };
    let mut session = args.session.clone().or_else(|| {
        DataRoot::open(root)
            .ok()
            .and_then(|r| crate::store::activate::active(&r))
    });
    let mut first = true;
    let mut said: Option<String> = None;
    let ok = loop {
        let end = match session.clone() {
            Some(name) => match play(root, &name, args, deadline, &link, events_tx) {
                Ok(end) => {
                    said = None;
                    end
                }
                // Without the API, the session asked for on the command line
                // must start: nothing else could fix it.
                Err(e) if first && args.listen.is_none() => return Err(e),
                // The kernel no longer trusts a real-time thread: end the run.
                Err(e) if e.is::<Runaway>() => return Err(e),
                // A box stays up, says why once, and tries again: a card
                // plugged in, a device freed or a new push fixes it.
                Err(e) => {
                    let problem = format!("cannot play session {name}: {e}");
                    link.failed(problem.clone());
                    if said.as_ref() != Some(&problem) {
                        events_tx.send(BoxEvent::CannotPlay {
                            session: name.clone(),
                            detail: e.to_string(),
                            retry_seconds: RETRY.as_secs(),
                        });
                        eprintln!(
                            "cueboxd: {problem}; trying again every {} s",
                            RETRY.as_secs()
                        );
                        said = Some(problem);
                    }
                    idle(deadline, &link, Some(RETRY))?
                }
            },
            None => {
                events_tx.send(BoxEvent::Idle {
                    detail: "no session to play; waiting for a push".into(),
                });
                idle(deadline, &link, None)?
            }
        };
        first = false;
        match end {
            End::Switch(name) => {
                events_tx.send(BoxEvent::Switching {
                    session: name.clone(),
                });
                session = Some(name);
            }
            End::Retry => {}
            End::Done(ok) => break ok,
        }
    };
    drop(showctl);
    crate::system::notify::stopping();
    drop(server);
    if let Some(path) = &args.control_socket {
        let _ = std::fs::remove_file(path);
    }
    Ok(ok)
}

/// Where the IRQ masks a run moves are kept until it puts them back, so
/// the next start restores them after any death.
const IRQ_JOURNAL: &str = "/run/cuebox/irq-map.json";

/// The kernel stopped a real-time thread that ran too long without
/// blocking (SIGXCPU): the run ends, whatever else it serves.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Runaway(String);

/// How often a session that cannot play is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// How one session's play ended.
enum End {
    /// A host activated this session: play it next.
    Switch(String),
    /// Time to try the same session again.
    Retry,
    /// The run is over; whether the final save succeeded.
    Done(bool),
}

/// Waits with no session for a signal, the deadline, an activation or
/// (with `retry`) the time to try again.
fn idle(
    deadline: Option<Instant>,
    link: &LiveLink,
    retry: Option<Duration>,
) -> Result<End, RunError> {
    let retry_at = retry.map(|r| Instant::now() + r);
    let term = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ids = [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT]
        .into_iter()
        .map(|sig| signal_hook::flag::register(sig, term.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let end = loop {
        if term.load(std::sync::atomic::Ordering::Relaxed)
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            break End::Done(true);
        }
        if let Some(name) = link.take_switch() {
            break End::Switch(name);
        }
        if retry_at.is_some_and(|t| Instant::now() >= t) {
            break End::Retry;
        }
        crate::system::notify::alive("idle: waiting for a push");
        std::thread::sleep(Duration::from_millis(20));
    };
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    Ok(end)
}

/// Starts the API server with the box's key and authorized hosts.
fn serve_api(
    root: &Path,
    address: &str,
    args: &Args,
    link: Arc<LiveLink>,
    events: &Publisher,
) -> Result<api::Server, RunError> {
    let data = DataRoot::open(root)?;
    let (identity, made) = Identity::load_or_create(&api::box_key_path(&data))?;
    let fingerprint = identity.public().fingerprint();
    if made {
        events.send(BoxEvent::BoxKeyCreated {
            fingerprint: fingerprint.to_string(),
        });
    }
    let address = api::client::with_port(address);
    let listener = std::net::TcpListener::bind(&address)
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let name = box_name(args);
    let service = Arc::new(BoxService::new(name.clone(), data.clone(), link)?);
    let server = api::Server::start(
        listener,
        &identity,
        api::authorized_hosts_path(&data),
        api::Limits::default(),
        service,
        events.clone(),
    )?;
    events.send(BoxEvent::Listening {
        address: server.local_addr().to_string(),
        name,
        fingerprint: fingerprint.to_string(),
    });
    Ok(server)
}

/// The box's name: `--name`, else the host name.
fn box_name(args: &Args) -> String {
    args.name.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "cuebox".into())
    })
}

/// Starts the show-control inputs `--showctl` (or `<root>/showctl.json`)
/// turns on; none without a file.
fn start_showctl(
    root: &Path,
    args: &Args,
    link: Arc<LiveLink>,
    events: &Publisher,
) -> Result<Option<crate::showctl::service::Showctl>, RunError> {
    let path = match &args.showctl {
        Some(p) => p.clone(),
        None => {
            let p = root.join("showctl.json");
            if !p.exists() {
                return Ok(None);
            }
            p
        }
    };
    let config = crate::showctl::config::ShowctlConfig::load(&path)?;
    let running = crate::showctl::service::start(&config, box_name(args), link, events.clone())?;
    events.send(BoxEvent::ShowctlListening {
        config: path,
        osc_udp: running.osc().map(|o| o.udp_addr().to_string()),
        osc_tcp: running.osc().map(|o| o.tcp_addr().to_string()),
        msc_udp: running.msc_addr().map(|a| a.to_string()),
        midi: config.midi.iter().map(|m| m.port.clone()).collect(),
    });
    Ok(Some(running))
}

/// Plays one session until a signal, the deadline or a switch.
fn play(
    root: &Path,
    session_name: &str,
    args: &Args,
    deadline: Option<Instant>,
    link: &LiveLink,
    events_tx: &Publisher,
) -> Result<End, RunError> {
    let (session, device_map) = open_session(root, session_name)?;
    let loaded = session.load()?;
    if let Some(old) = loaded.migrated_from {
        eprintln!(
            "cueboxd: session is format {old}; it is read as format {} and is written so at \
             the next save",
            Show::FORMAT
        );
    }
    let show = loaded.show;
    report_problems(&show);
    // The index only serves queries and reports: a stale or unusable one must
    // not stop a show from running.
    match session.metadata().map(|mut db| db.index_if_stale(&show)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => eprintln!("cueboxd: warning: {}", chain(&e)),
        Err(e) => eprintln!("cueboxd: warning: {}", chain(&e)),
    }
    let interval = Duration::from_secs(args.autosave_interval);
    let autosaver = Autosaver::start(
        session.clone(),
        &show,
        AutosaveConfig {
            interval,
            ..AutosaveConfig::default()
        },
        Retention::default(),
    )?;
    autosaver.install_panic_hook();
    let termination = autosaver.watch_termination_signals()?;
    // RLIMIT_RTTIME's soft limit: a real-time thread ran too long without
    // blocking. Caught, it is a second before the hard limit kills the box.
    let xcpu = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let xcpu_id = signal_hook::flag::register(signal_hook::consts::SIGXCPU, xcpu.clone())?;
    let events_tx = events_tx.clone();

    let timed = match &args.events {
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            parse_events(&bytes, &clip_ids(&show), args.rate)
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    let ids: std::collections::HashSet<_> = clip_ids(&show).into_iter().cloned().collect();
    let media = session.media_folder(&show);
    let config = live_config(args, device_map);
    let name = show.session.name.clone();
    let clips = show.clips.len();
    // The protected path's system side: locked memory, the RTTIME safety
    // valve, IRQs off the audio core. Each failure is reported; the show
    // still plays.
    if let Err(detail) = lock_memory() {
        events_tx.send(BoxEvent::RtProblem { detail });
    }
    let config_rttime_ms = config.rt_out.rttime.as_millis();
    if let Err(detail) = set_rttime_limit(config.rt_out.rttime) {
        events_tx.send(BoxEvent::RtProblem { detail });
    }
    let core = config.rt_out.core.unwrap_or_else(crate::system::audio_core);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let housekeeping: Vec<usize> = (0..cpus).filter(|c| *c != core).collect();
    let proc = Procfs::default();
    let mut irqs = if args.no_irq_routing || housekeeping.is_empty() {
        None
    } else {
        match IrqRouting::apply(
            &proc,
            core,
            &housekeeping,
            &crate::system::sound_irqs(&proc),
            Some(Path::new(IRQ_JOURNAL)),
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                events_tx.send(BoxEvent::RtProblem {
                    detail: e.to_string(),
                });
                None
            }
        }
    };
    if let Some(r) = &irqs {
        events_tx.send(BoxEvent::IrqRouting {
            core,
            routes: r.routes().to_vec(),
        });
    }
    let config = LiveConfig {
        rt_out: RtConfig {
            core: Some(core),
            ..config.rt_out
        },
        ..config
    };
    let summary = Arc::new(show_summary(&show));
    let live = Live::start(show, media, config, events_tx.clone())?;
    let mut monitor = live.rt_out().thread.clone().map(|t| {
        let routes = irqs.as_ref().map_or_else(Vec::new, |r| r.routes().to_vec());
        Monitor::new(proc.clone(), t, core, routes)
    });
    link.attach(Current {
        session: session_name.to_owned(),
        requests: live.requests(),
        ids,
        rate: args.rate,
        show: summary,
        status: live.status_source(),
    });
    // The timeline of --events, through the link like every input (as a
    // timeline, not presses: double-GO protection is for commands "now").
    for t in timed {
        if let Err(Refusal {
            message: reason, ..
        }) = link.submit_at(t.at, t.command.clone())
        {
            events_tx.send(BoxEvent::CommandRefused {
                line: t.command.to_json().to_string(),
                reason,
            });
        }
    }
    let pb = live.playback();
    events_tx.send(BoxEvent::Running {
        session: name,
        clips,
        path: session.path().to_owned(),
        device: pb.clone(),
        autosave_seconds: interval.as_secs(),
        latency_ms: pb.buffer as f64 * 1000.0 / f64::from(pb.rate),
    });

    // Until a signal, the time asked for, a switch, or a device that cannot
    // go on.
    let mut switch = None;
    let mut failure = None;
    let mut runaway = None;
    let mut next_sample = Instant::now();
    let mut violations = 0;
    loop {
        if termination.is_finished() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if let Some(name) = link.take_switch() {
            switch = Some(name);
            break;
        }
        if xcpu.load(std::sync::atomic::Ordering::Relaxed) {
            let left = live.demote();
            let detail = format!(
                "a real-time thread ran {} ms without blocking (SIGXCPU from RLIMIT_RTTIME): \
                 every real-time thread is back at SCHED_OTHER{}; the session is saved and \
                 cueboxd stops (a device that never blocks, or a bug: see the journal)",
                config_rttime_ms,
                if left.is_empty() {
                    String::new()
                } else {
                    format!(" except: {}", left.join("; "))
                }
            );
            events_tx.send(BoxEvent::RtProblem {
                detail: detail.clone(),
            });
            runaway = Some(detail);
            break;
        }
        if let Some(f) = live.failure() {
            failure = Some(f);
            break;
        }
        if let Some(m) = monitor.as_mut().filter(|_| Instant::now() >= next_sample) {
            // Once a second, re-verify the reservation from /proc.
            let status = m.sample();
            for v in status.violations.iter().skip(violations) {
                events_tx.send(BoxEvent::Violation {
                    violation: v.clone(),
                });
            }
            violations = status.violations.len();
            next_sample += Duration::from_secs(1);
        }
        crate::system::notify::alive("playing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let report = if termination.is_finished() {
        termination.wait()
    } else {
        termination.close()
    };
    if report.is_some() {
        // A signal ends the run, whatever else was asked or went wrong.
        switch = None;
        failure = None;
    }
    let reservation = monitor.as_mut().map(Monitor::sample);
    link.detach();
    let summary = live.stop();
    if let Some(r) = irqs.as_mut() {
        for detail in r.restore() {
            events_tx.send(BoxEvent::RtProblem { detail });
        }
    }
    let saved = match report {
        Some(report) => {
            let signal = match report.signal {
                15 => "SIGTERM",
                2 => "SIGINT",
                _ => "a termination signal",
            };
            report
                .saved
                .map(|p| format!("{signal}: session saved as recovery point {}", p.id))
        }
        None => {
            // Named for why: a switch by push is a risky step, not an emergency.
            let (reason, why) = match (&switch, &failure, &runaway) {
                (Some(next), _, _) => (SaveReason::BeforeRisky, format!("switching to {next}")),
                (None, Some(_), _) => (SaveReason::Emergency, "the device failed".into()),
                (None, None, Some(_)) => (SaveReason::Emergency, "SIGXCPU".into()),
                (None, None, None) => (SaveReason::EndOfRun, "end of run".into()),
            };
            autosaver
                .save_latest(reason)
                .map(|p| format!("{why}: session saved as recovery point {}", p.id))
                .map_err(|e| chain(&e))
        }
    };
    autosaver.stop();
    events_tx.send(BoxEvent::StoppedRun {
        summary: Box::new(summary),
        reservation: reservation.map(Box::new),
    });
    let ok = saved.is_ok();
    events_tx.send(match saved {
        Ok(detail) => BoxEvent::Saved { detail },
        Err(e) => BoxEvent::SaveFailed {
            detail: format!("{e}; the last manual save and earlier recovery points are intact"),
        },
    });
    signal_hook::low_level::unregister(xcpu_id);
    if let Some(runaway) = runaway {
        return Err(Box::new(Runaway(runaway)));
    }
    if let Some(failure) = failure {
        return Err(failure.into());
    }
    Ok(match switch {
        Some(name) => End::Switch(name),
        None => End::Done(ok),
    })
}

/// The session named (a folder, or a name under the root) and the box's
/// device map, if the root has one.
fn open_session(
    root: &Path,
    session: &str,
) -> Result<(SessionDir, Option<cuebox_engine::show::DeviceMap>), RunError> {
    let dir = Path::new(session);
    let as_dir = dir.join(SessionDir::MANIFEST).is_file();
    let data_root = if as_dir && !root.is_dir() {
        None
    } else {
        Some(DataRoot::open(root)?)
    };
    let session = match (&data_root, as_dir) {
        (_, true) => SessionDir::open(dir)?,
        (Some(r), false) => r.open_session(session)?,
        (None, false) => unreachable!("a root is opened whenever the session is a name"),
    };
    let map = match &data_root {
        Some(r) => r.device_map()?,
        None => None,
    };
    Ok((session, map))
}

fn report_problems(show: &Show) {
    let problems = show.validate();
    for p in &problems {
        eprintln!("cueboxd: problem: {p}");
    }
    if !problems.is_empty() {
        eprintln!(
            "cueboxd: the session has {} problem(s); it runs, but fix them with hostctl before \
             the show",
            problems.len()
        );
    }
}

fn live_config(args: &Args, map: Option<cuebox_engine::show::DeviceMap>) -> LiveConfig {
    let output = match (&args.device, &map) {
        (Some(pcm), _) => Output::Pcm(pcm.clone()),
        (None, Some(m)) if args.card.is_none() => Output::Pcm(m.playback_pcm.clone()),
        _ => Output::Card(args.card.clone()),
    };
    let core = args.core;
    LiveConfig {
        output,
        playback: Settings {
            rate: args.rate,
            period: args.period as usize,
            periods: args.periods,
            format: args.format,
            access: args.access,
            channels: args.channels,
        },
        capture: args.capture.clone().map(|name| CaptureConfig {
            pcm: PcmConfig {
                name,
                rate: args.rate,
                period: args.period as usize,
                periods: args.periods,
                format: args.format,
                access: args.access,
                channels: args.capture_channels,
            },
            record: args.record.clone(),
        }),
        rt_out: RtConfig {
            priority: args.priority,
            core,
            ..RtConfig::default()
        },
        rt_in: RtConfig {
            priority: args.capture_priority,
            core,
            ..RtConfig::default()
        },
        device_map: map,
        clocking: ClockingConfig {
            mtc_ports: args.mtc.clone(),
            ptp: args.ptp.as_ref().map(|iface| PtpConfig {
                master: args.ptp_master,
                ..PtpConfig::aes67(iface)
            }),
            ..ClockingConfig::default()
        },
    }
}

/// Reads commands from stdin, one JSON object per line, until it closes;
/// each goes through the link like every other input's.
fn spawn_stdin(link: Arc<LiveLink>, events: Publisher) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                if let Err(Refusal {
                    message: reason, ..
                }) = link.command_line(&line)
                {
                    events.send(BoxEvent::CommandRefused { line, reason });
                }
            }
        })?;
    Ok(())
}

/// Connections the control socket serves at once.
const MAX_SOCKET_CLIENTS: usize = 16;

/// Listens on a Unix socket (mode 0600: root's, or cueboxd's user's, only);
/// each connection sends command lines and gets one JSON answer line per
/// command, through the link like every other input.
fn serve_socket(path: &Path, link: Arc<LiveLink>) -> Result<std::thread::JoinHandle<()>, RunError> {
    use std::os::unix::fs::PermissionsExt;
    // A socket left by a killed run would make bind fail.
    if std::fs::symlink_metadata(path).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_socket()
    }) {
        std::fs::remove_file(path)?;
    }
    // Bound under a temporary name, closed to others, then renamed into
    // place: the socket is never reachable with the umask's mode.
    let staging = path.with_extension(format!("{}.tmp", std::process::id()));
    let listener = UnixListener::bind(&staging)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&staging, path)?;
    let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Ok(std::thread::Builder::new()
        .name("socket".into())
        .spawn(move || {
            for mut conn in listener.incoming().flatten() {
                if open.load(std::sync::atomic::Ordering::Relaxed) >= MAX_SOCKET_CLIENTS {
                    let refusal = json!({"ok": false, "reason": format!(
                        "{MAX_SOCKET_CLIENTS} control socket connections are open; close one")});
                    let _ = writeln!(conn, "{refusal}");
                    continue;
                }
                open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (link, served) = (link.clone(), open.clone());
                let spawned = std::thread::Builder::new()
                    .name("socket-client".into())
                    .spawn(move || {
                        serve_client(conn, &link);
                        served.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    });
                if spawned.is_err() {
                    open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        })?)
}

fn serve_client(conn: UnixStream, link: &Arc<LiveLink>) {
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        // A line is a command: bounded, so a client cannot make us buffer forever.
        let mut line = Vec::new();
        match (&mut reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.len() as u64 > MAX_LINE {
            let refusal = json!({"ok": false, "reason": "a command line is at most 64 KiB"});
            if writeln!(out, "{refusal}").is_err() {
                break;
            }
            // Discard the rest of the line, unless it ended right at the bound.
            if !line.ends_with(b"\n") && !matches!(reader.skip_until(b'\n'), Ok(n) if n > 0) {
                break;
            }
            continue;
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let answer = match link.command_line(line) {
            Ok(a) => json!({"ok": true,
                "accepted": {"at_sample": a.at_sample, "lead_samples": a.lead_samples}}),
            Err(Refusal {
                message: reason, ..
            }) => json!({"ok": false, "reason": reason}),
        };
        if writeln!(out, "{answer}").is_err() {
            break;
        }
    }
}

/// The longest command line a socket client may send.
const MAX_LINE: u64 = 64 * 1024;
