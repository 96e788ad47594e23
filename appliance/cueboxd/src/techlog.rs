//! The technical logs on the box (`Logs/<kind>/`, docs/playlog.md): a
//! subscriber of the box's events on a thread of its own (`techlog`), off
//! the real-time path, with a bounded queue like every subscriber (a burst
//! it cannot keep up with is lost, counted, and never slows the box).
//!
//! - `application`: every event, but the clock's once-a-second status
//!   (the metrics sample it);
//! - `errors`: the events that report trouble ([`BoxEvent::is_trouble`]);
//! - `playback`: voices started, stopped, paused, resumed, chases, plays
//!   logged ([`BoxEvent::is_playback`]);
//! - `metrics`: every few seconds while a session plays, DSP load, xruns,
//!   poll timeouts, the clock's source, health and offset
//!   ([`Metrics`](crate::link::Metrics)), and the late commands, underruns
//!   and xruns reported since the last sample.
//!
//! Lines are buffered and flushed every second and at the end.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cuebox_engine::device::DeviceEvent;
use cuebox_session::techlog::TechLogError;
pub use cuebox_session::techlog::{export, read, scan, Kind, Policy, Scan, TechEntry, Writer};
use serde_json::{json, Value};

use crate::events::{BoxEvent, Publisher, Subscription, QUEUE};
use crate::link::LiveLink;

/// How the technical logs are kept.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Rotation and retention, for each kind.
    pub policy: Policy,
    /// How often the metrics are sampled.
    pub sample_every: Duration,
    /// How often buffered lines go to disk (at most this much is lost in
    /// a crash).
    pub flush_every: Duration,
}

impl Default for Config {
    /// [`Policy::default`], a sample every 10 s, a flush every second.
    fn default() -> Self {
        Config {
            policy: Policy::default(),
            sample_every: Duration::from_secs(10),
            flush_every: Duration::from_secs(1),
        }
    }
}

/// The technical logs' thread. Dropping it (or [`finish`](TechLog::finish))
/// writes what is queued, flushes and stops it.
#[derive(Debug)]
pub struct TechLog {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TechLog {
    /// Starts logging `events` under `logs` (a data root's `Logs/`),
    /// sampling the metrics of whatever session `link` plays.
    pub fn start(
        logs: &Path,
        events: &Publisher,
        link: Arc<LiveLink>,
        config: Config,
    ) -> std::io::Result<TechLog> {
        let subscription = events.subscribe(QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let logs = Logs::new(logs.to_owned(), config.policy, events.clone());
        let thread = std::thread::Builder::new()
            .name("techlog".into())
            .spawn(move || run(&subscription, logs, &link, &config, &flag))?;
        Ok(TechLog {
            stop,
            thread: Some(thread),
        })
    }

    /// Writes what is queued, flushes, and stops.
    pub fn finish(self) {
        drop(self);
    }
}

impl Drop for TechLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The four logs' writers, each opened at its first line (and again after
/// a failure), and what was lost while the disk refused.
struct Logs {
    dir: PathBuf,
    policy: Policy,
    writers: [Option<Writer>; 4],
    /// Lines lost since the disk last took one.
    lost: u64,
    events: Publisher,
}

impl Logs {
    fn new(dir: PathBuf, policy: Policy, events: Publisher) -> Logs {
        Logs {
            dir,
            policy,
            writers: Default::default(),
            lost: 0,
            events,
        }
    }

    /// Appends `entry` to its kind's log; a refusal is said once, and
    /// counted until a line goes in again.
    fn append(&mut self, entry: &TechEntry) {
        let slot = Kind::ALL
            .iter()
            .position(|k| *k == entry.kind)
            .expect("every kind is in ALL");
        let result = match &mut self.writers[slot] {
            Some(w) => w.append(entry),
            None => Writer::open(&self.dir, entry.kind, self.policy, entry.at)
                .and_then(|w| self.writers[slot].insert(w).append(entry)),
        };
        match result {
            Ok(()) if self.lost > 0 => {
                let lost = std::mem::take(&mut self.lost);
                let note = TechEntry::from_json(
                    entry.at,
                    Kind::Application,
                    json!({"event": "techlog_lost", "lines": lost,
                           "detail": format!("{lost} technical log line(s) lost while the disk refused them")}),
                );
                self.append(&note);
            }
            Ok(()) => {}
            Err(e) => {
                // Opened again at the next line: the file as the disk has it.
                self.writers[slot] = None;
                self.failed(&e);
            }
        }
    }

    /// Puts every log's buffered lines on disk.
    fn flush(&mut self) {
        let mut failed = None;
        for slot in &mut self.writers {
            if let Some(Err(e)) = slot.as_mut().map(Writer::flush) {
                *slot = None;
                failed = Some(e);
            }
        }
        if let Some(e) = failed {
            self.failed(&e);
        }
    }

    /// A line or a flush failed: said at the first loss since the disk
    /// last took a line.
    fn failed(&mut self, e: &TechLogError) {
        if self.lost == 0 {
            self.events.send(BoxEvent::TechLogProblem {
                detail: format!(
                    "{e}; technical log lines are lost until the disk takes them again (the \
                     play log is apart and keeps every play)"
                ),
            });
        }
        self.lost += 1;
    }
}

/// What the metrics count between two samples from the events.
#[derive(Debug, Default)]
struct Counts {
    late: u64,
    underruns: u64,
    xruns: u64,
    dropped: u64,
}

impl Counts {
    fn saw(&mut self, event: &BoxEvent) {
        match event {
            BoxEvent::Late { .. } => self.late += 1,
            BoxEvent::Underrun { .. } => self.underruns += 1,
            BoxEvent::Device(DeviceEvent::Xrun { .. }) => self.xruns += 1,
            _ => {}
        }
    }
}

fn run(events: &Subscription, mut logs: Logs, link: &LiveLink, config: &Config, stop: &AtomicBool) {
    let mut counts = Counts::default();
    let mut next_sample = Instant::now() + config.sample_every;
    let mut next_flush = Instant::now() + config.flush_every;
    loop {
        // Short waits: a stop is seen within 100 ms.
        let wait = next_sample
            .min(next_flush)
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        match events.recv_timeout(wait) {
            Ok(event) => log(&mut logs, &mut counts, &event),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        note_dropped(&mut logs, &mut counts, events);
        let now = Instant::now();
        if now >= next_sample {
            sample(&mut logs, &mut counts, link);
            next_sample = (next_sample + config.sample_every).max(now);
        }
        if now >= next_flush {
            logs.flush();
            next_flush = now + config.flush_every;
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    for event in events.try_iter() {
        log(&mut logs, &mut counts, &event);
    }
    note_dropped(&mut logs, &mut counts, events);
    logs.flush();
}

/// Writes `event` to each log it belongs in.
fn log(logs: &mut Logs, counts: &mut Counts, event: &BoxEvent) {
    counts.saw(event);
    let at = jiff::Timestamp::now();
    let value = event.to_json();
    let kinds = [
        (Kind::Application, !matches!(event, BoxEvent::Clock { .. })),
        (Kind::Errors, event.is_trouble()),
        (Kind::Playback, event.is_playback()),
    ];
    for (kind, _) in kinds.iter().filter(|(_, yes)| *yes) {
        logs.append(&TechEntry::from_json(at, *kind, value.clone()));
    }
}

/// Says in the application log how many events the queue lost.
fn note_dropped(logs: &mut Logs, counts: &mut Counts, events: &Subscription) {
    let dropped = events.take_dropped();
    if dropped > 0 {
        counts.dropped += dropped;
        logs.append(&TechEntry::from_json(
            jiff::Timestamp::now(),
            Kind::Application,
            json!({"event": "techlog_dropped", "events": dropped,
                   "detail": format!("{dropped} event(s) not logged: the technical logs fell behind")}),
        ));
    }
}

/// One metrics line, while a session plays; the counts start again.
fn sample(logs: &mut Logs, counts: &mut Counts, link: &LiveLink) {
    let Some(metrics) = link.metrics() else {
        return;
    };
    let mut value =
        serde_json::to_value(metrics).unwrap_or_else(|e| json!({"error": e.to_string()}));
    let counts = std::mem::take(counts);
    if let Value::Object(o) = &mut value {
        o.insert("event".into(), "sample".into());
        o.insert("late_commands".into(), counts.late.into());
        o.insert("underruns".into(), counts.underruns.into());
        o.insert("xrun_events".into(), counts.xruns.into());
        o.insert("events_dropped".into(), counts.dropped.into());
    }
    logs.append(&TechEntry::from_json(
        jiff::Timestamp::now(),
        Kind::Metrics,
        value,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_of(logs: &Path, kind: Kind) -> Vec<String> {
        read(logs, kind, None, None)
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect()
    }

    #[test]
    fn each_event_goes_to_the_logs_it_belongs_in_and_the_end_flushes_them() {
        let tmp = tempfile::tempdir().unwrap();
        let publisher = Publisher::new();
        let link = Arc::new(LiveLink::new(Duration::ZERO, publisher.clone()));
        let log = TechLog::start(tmp.path(), &publisher, link, Config::default()).unwrap();
        publisher.send(BoxEvent::Idle {
            detail: "nothing to play".into(),
        });
        publisher.send(BoxEvent::Clock {
            status: Default::default(),
        });
        publisher.send(BoxEvent::Started {
            clip: None,
            voice: 1,
            at_sample: 48_000,
            origin: None,
        });
        publisher.send(BoxEvent::Underrun {
            voice: 1,
            at_sample: 96_000,
        });
        publisher.send(BoxEvent::PlayLogged {
            entry: 1,
            play: 1,
            clip: "c1".parse().unwrap(),
            record: "start".into(),
        });
        log.finish();
        assert_eq!(
            events_of(tmp.path(), Kind::Application),
            ["idle", "started", "underrun", "play_logged"],
            "all but the clock's status"
        );
        assert_eq!(events_of(tmp.path(), Kind::Errors), ["underrun"]);
        assert_eq!(
            events_of(tmp.path(), Kind::Playback),
            ["started", "play_logged"]
        );
        assert_eq!(
            events_of(tmp.path(), Kind::Metrics),
            Vec::<String>::new(),
            "no session plays: nothing to sample"
        );
    }

    #[test]
    fn a_disk_that_refuses_is_said_once() {
        let tmp = tempfile::tempdir().unwrap();
        // Logs/ is a file: no folder can be made in it.
        let logs = tmp.path().join("Logs");
        std::fs::write(&logs, b"").unwrap();
        let publisher = Publisher::new();
        let watcher = publisher.subscribe(QUEUE);
        let link = Arc::new(LiveLink::new(Duration::ZERO, publisher.clone()));
        let log = TechLog::start(&logs, &publisher, link, Config::default()).unwrap();
        for _ in 0..3 {
            publisher.send(BoxEvent::DeviceReopened);
        }
        // Let the thread try them before it is stopped.
        std::thread::sleep(Duration::from_millis(300));
        log.finish();
        let problems: Vec<String> = watcher
            .try_iter()
            .filter_map(|e| match &*e {
                BoxEvent::TechLogProblem { detail } => Some(detail.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("Logs"), "{}", problems[0]);
    }
}
