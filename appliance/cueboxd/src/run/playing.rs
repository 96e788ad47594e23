//! One session playing, as the supervisor in [`super`] drives it:
//! [`Playing::start`] (the session loaded and resumed, auto-save and the
//! play log begun, the real-time side reserved, the live box started and
//! attached to the link), [`Playing::step`] every tick (why it must stop, if
//! it must) and [`Playing::stop`] (saved in a recovery point named for why,
//! IRQs put back, the run summarized).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cuebox_engine::control::{parse_events, Command, TimedCommand};
use cuebox_engine::show::{DeviceMap, Group, Show};

use super::{live_config, Args, End, RunError, Runaway};
use crate::api::proto::Refusal;
use crate::autoexport::AutoExport;
use crate::events::{BoxEvent, Publisher};
use crate::link::{Current, LiveLink};
use crate::live::{clip_ids, Live, LiveConfig};
use crate::origin::{Input, Origin};
use crate::playlog::PlayLog;
use crate::store::autosave::Termination;
use crate::store::{chain, AutosaveConfig, Autosaver, DataRoot, Retention, SaveReason, SessionDir};
use crate::system::{lock_memory, set_rttime_limit, IrqRouting, Monitor, Procfs, RtConfig};

/// Why a playing session stops.
#[derive(Debug)]
pub(super) enum Stop {
    /// SIGTERM or SIGINT (its emergency save is already done).
    Signal,
    /// The time asked for is up.
    Deadline,
    /// A host activated another session.
    Switch(String),
    /// A real-time thread ran too long without blocking (SIGXCPU).
    Runaway(String),
    /// The playback device failed for good.
    Failed(String),
}

/// A session playing.
pub(super) struct Playing {
    autosaver: Arc<Autosaver>,
    termination: Termination,
    /// Set by SIGXCPU.
    xcpu: Arc<AtomicBool>,
    xcpu_id: signal_hook::SigId,
    rttime: Duration,
    live: Live,
    playlog: PlayLog,
    autoexport: Option<AutoExport>,
    irqs: Option<IrqRouting>,
    monitor: Option<Monitor>,
    /// When the reservation is next re-read, and how many violations it had.
    next_sample: Instant,
    violations: usize,
    events: Publisher,
}

/// How often the reservation is re-read from /proc.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

impl Playing {
    /// Starts `session_name` (a folder, or a name under `root`): it plays,
    /// attached to `link`, when this returns.
    pub(super) fn start(
        root: &Path,
        session_name: &str,
        args: &Args,
        link: &LiveLink,
        events: &Publisher,
    ) -> Result<Playing, RunError> {
        let (session, device_map) = open_session(root, session_name)?;
        let show = load(&session, events)?;
        let interval = Duration::from_secs(args.autosave_interval);
        let autosaver = Arc::new(Autosaver::start(
            session.clone(),
            &show,
            AutosaveConfig {
                interval,
                ..AutosaveConfig::default()
            },
            Retention::default(),
        )?);
        autosaver.install_panic_hook();
        let termination = autosaver.watch_termination_signals()?;
        // RLIMIT_RTTIME's soft limit: a real-time thread ran too long without
        // blocking. Caught, it is a second before the hard limit kills the box.
        let xcpu = Arc::new(AtomicBool::new(false));
        let xcpu_id = signal_hook::flag::register(signal_hook::consts::SIGXCPU, xcpu.clone())?;

        let timed = timeline(args, &show)?;
        let config = live_config(args, device_map);
        let rttime = config.rt_out.rttime;
        let (core, irqs, proc) = reserve(args, &config, events);
        // Every play goes to the box's play log (Logs/plays/).
        let playlog = PlayLog::start(
            &root.join(DataRoot::LOGS),
            &show.session.name,
            &show,
            args.rate,
            events.clone(),
        )?;
        // The show's cue sheets, exported by the box after each performance.
        let autoexport = AutoExport::start(root, &show, events.clone())?;
        let config = LiveConfig {
            rt_out: RtConfig {
                core: Some(core),
                ..config.rt_out
            },
            plays: Some(playlog.sender()),
            cue_tap: link.cue_tap(),
            ..config
        };
        let (name, clips) = (show.session.name.clone(), show.clips.len());
        let levels = levels_of(show.runtime.group_levels.clone());
        let media = session.media_folder(&show);
        let live = Live::start(show.clone(), media, config, events.clone())?;
        let monitor = live.rt_out().thread.clone().map(|t| {
            let routes = irqs.as_ref().map_or_else(Vec::new, |r| r.routes().to_vec());
            Monitor::new(proc, t, core, routes)
        });
        link.attach(
            Current::new(
                session_name,
                show,
                live.requests(),
                args.rate,
                live.status_source(),
            ),
            autosaver.clone(),
        );
        feed(link, levels, timed, events);
        let pb = live.playback();
        events.send(BoxEvent::Running {
            session: name,
            clips,
            path: session.path().to_owned(),
            device: pb.clone(),
            autosave_seconds: interval.as_secs(),
            latency_ms: pb.buffer as f64 * 1000.0 / f64::from(pb.rate),
        });
        Ok(Playing {
            autosaver,
            termination,
            xcpu,
            xcpu_id,
            rttime,
            live,
            playlog,
            autoexport,
            irqs,
            monitor,
            next_sample: Instant::now(),
            violations: 0,
            events: events.clone(),
        })
    }

    /// One tick of supervision: why the session must stop now, if it must
    /// (a signal, the deadline, a switch, SIGXCPU, a failed device); once a
    /// second the reservation is re-read and new violations are reported.
    pub(super) fn step(&mut self, link: &LiveLink, deadline: Option<Instant>) -> Option<Stop> {
        if self.termination.is_finished() {
            return Some(Stop::Signal);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Stop::Deadline);
        }
        if let Some(name) = link.take_switch() {
            return Some(Stop::Switch(name));
        }
        if self.xcpu.load(Ordering::Relaxed) {
            return Some(Stop::Runaway(self.demote()));
        }
        if let Some(f) = self.live.failure() {
            return Some(Stop::Failed(f));
        }
        if let Some(m) = self
            .monitor
            .as_mut()
            .filter(|_| Instant::now() >= self.next_sample)
        {
            let status = m.sample();
            for v in status.violations.iter().skip(self.violations) {
                self.events.send(BoxEvent::Violation {
                    violation: v.clone(),
                });
            }
            self.violations = status.violations.len();
            self.next_sample += SAMPLE_EVERY;
        }
        None
    }

    /// After SIGXCPU: every real-time thread back at SCHED_OTHER, and why,
    /// said.
    fn demote(&self) -> String {
        let left = self.live.demote();
        let detail = format!(
            "a real-time thread ran {} ms without blocking (SIGXCPU from RLIMIT_RTTIME): \
             every real-time thread is back at SCHED_OTHER{}; the session is saved and \
             cueboxd stops (a device that never blocks, or a bug: see the journal)",
            self.rttime.as_millis(),
            if left.is_empty() {
                String::new()
            } else {
                format!(" except: {}", left.join("; "))
            }
        );
        self.events.send(BoxEvent::RtProblem {
            detail: detail.clone(),
        });
        detail
    }

    /// Stops the session for `why`: detached from the link, the live box
    /// stopped, the plays it ended logged, IRQs put back, the session saved
    /// in a recovery point named for why, the run summarized.
    pub(super) fn stop(mut self, why: Stop, link: &LiveLink) -> Result<End, RunError> {
        let report = if self.termination.is_finished() {
            self.termination.wait()
        } else {
            self.termination.close()
        };
        // A signal ends the run, whatever else was asked or went wrong.
        let why = if report.is_some() { Stop::Signal } else { why };
        let reservation = self.monitor.as_mut().map(Monitor::sample);
        link.detach();
        let summary = self.live.stop();
        // The plays the run ended are written before the run says it stopped.
        self.playlog.finish();
        if let Some(a) = self.autoexport.take() {
            a.finish();
        }
        if let Some(r) = self.irqs.as_mut() {
            for detail in r.restore() {
                self.events.send(BoxEvent::RtProblem { detail });
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
                let (reason, said) = match &why {
                    Stop::Switch(next) => (SaveReason::BeforeRisky, format!("switching to {next}")),
                    Stop::Failed(_) => (SaveReason::Emergency, "the device failed".into()),
                    Stop::Runaway(_) => (SaveReason::Emergency, "SIGXCPU".into()),
                    Stop::Signal | Stop::Deadline => (SaveReason::EndOfRun, "end of run".into()),
                };
                self.autosaver
                    .save_latest(reason)
                    .map(|p| format!("{said}: session saved as recovery point {}", p.id))
                    .map_err(|e| chain(&e))
            }
        };
        drop(self.autosaver);
        self.events.send(BoxEvent::StoppedRun {
            summary: Box::new(summary),
            reservation: reservation.map(Box::new),
        });
        let ok = saved.is_ok();
        self.events.send(match saved {
            Ok(detail) => BoxEvent::Saved { detail },
            Err(e) => BoxEvent::SaveFailed {
                detail: format!("{e}; the last manual save and earlier recovery points are intact"),
            },
        });
        signal_hook::low_level::unregister(self.xcpu_id);
        match why {
            Stop::Runaway(detail) => Err(Box::new(Runaway(detail))),
            Stop::Failed(failure) => Err(failure.into()),
            Stop::Switch(name) => Ok(End::Switch(name)),
            Stop::Signal | Stop::Deadline => Ok(End::Done(ok)),
        }
    }
}

/// The session named (a folder, or a name under the root) and the box's
/// device map, if the root has one.
fn open_session(root: &Path, session: &str) -> Result<(SessionDir, Option<DeviceMap>), RunError> {
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

/// The session's show, resumed where the operator left it (`runtime.json`,
/// newer than the manifest), its problems reported, its index refreshed.
fn load(session: &SessionDir, events: &Publisher) -> Result<Show, RunError> {
    let loaded = session.load()?;
    if let Some(old) = loaded.migrated_from {
        eprintln!(
            "cueboxd: session is format {old}; it is read as format {} and is written so at \
             the next save",
            Show::FORMAT
        );
    }
    let mut show = loaded.show;
    report_problems(&show);
    match session.resume_runtime(&show) {
        Ok(runtime) => show.runtime = runtime,
        Err(e) => events.send(BoxEvent::RuntimeUnusable { detail: chain(&e) }),
    }
    // The index only serves queries and reports: a stale or unusable one must
    // not stop a show from running.
    match session.metadata().map(|mut db| db.index_if_stale(&show)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => eprintln!("cueboxd: warning: {}", chain(&e)),
        Err(e) => eprintln!("cueboxd: warning: {}", chain(&e)),
    }
    Ok(show)
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

/// The `--events` timeline, checked against the show.
fn timeline(args: &Args, show: &Show) -> Result<Vec<TimedCommand>, RunError> {
    let Some(path) = &args.events else {
        return Ok(Vec::new());
    };
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(parse_events(&bytes, &clip_ids(show), args.rate)
        .map_err(|e| format!("{}: {e}", path.display()))?)
}

/// The protected path's system side: locked memory, the RTTIME safety
/// valve, IRQs off the audio core. Each failure is reported; the show
/// still plays. Returns the audio core, the IRQs moved, and /proc.
fn reserve(
    args: &Args,
    config: &LiveConfig,
    events: &Publisher,
) -> (usize, Option<IrqRouting>, Procfs) {
    if let Err(detail) = lock_memory() {
        events.send(BoxEvent::RtProblem { detail });
    }
    if let Err(detail) = set_rttime_limit(config.rt_out.rttime) {
        events.send(BoxEvent::RtProblem { detail });
    }
    let core = config.rt_out.core.unwrap_or_else(crate::system::audio_core);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let housekeeping: Vec<usize> = (0..cpus).filter(|c| *c != core).collect();
    let proc = Procfs::default();
    let irqs = if args.no_irq_routing || housekeeping.is_empty() {
        None
    } else {
        match IrqRouting::apply(
            &proc,
            core,
            &housekeeping,
            &crate::system::sound_irqs(&proc),
            Some(Path::new(crate::system::IRQ_RUN_JOURNAL)),
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                events.send(BoxEvent::RtProblem {
                    detail: e.to_string(),
                });
                None
            }
        }
    };
    if let Some(r) = &irqs {
        events.send(BoxEvent::IrqRouting {
            core,
            routes: r.routes().to_vec(),
        });
    }
    (core, irqs, proc)
}

/// The resumed group levels as commands for now.
fn levels_of(levels: impl IntoIterator<Item = (Group, f64)>) -> Vec<Command> {
    levels
        .into_iter()
        .map(|(group, level_db)| Command::GroupLevel {
            group,
            level_db,
            time: None,
        })
        .collect()
}

/// Hands the show what it starts with, through the link like every input:
/// the group levels the operator set live (before anything plays), then
/// the `--events` timeline (a timeline, not presses: double-GO protection
/// is for commands "now"). A refusal is said, and the rest goes on.
fn feed(link: &LiveLink, levels: Vec<Command>, timed: Vec<TimedCommand>, events: &Publisher) {
    let resumed = levels
        .into_iter()
        .map(|c| (Origin::local(Input::Resume), None, c));
    let timeline = timed
        .into_iter()
        .map(|t| (Origin::local(Input::Timeline), Some(t.at), t.command));
    for (origin, at, command) in resumed.chain(timeline) {
        if let Err(Refusal { message, .. }) = link.submit(origin, at, command.clone()) {
            events.send(BoxEvent::CommandRefused {
                line: command.to_json().to_string(),
                reason: message,
            });
        }
    }
}
