//! Off-box copies: the data root's `Logs/` and `Exports/` copied to a
//! remote the user configured in rclone (S3, Google Drive, Dropbox, an SFTP
//! server, a USB disk) — rclone does the talking, never a cloud client of
//! ours. Off unless `<root>/offbox.json` (or `cueboxd run --offbox FILE`)
//! exists:
//!
//! ```json
//! {"remote": "s3:theatre-logs/cuebox/box1",
//!  "rclone_config": "/data/cuebox/rclone.conf",
//!  "every_minutes": 15,
//!  "what": ["logs", "exports"]}
//! ```
//!
//! Always `rclone copy`, never `sync`: a remote never loses a file because
//! the box lost it. A run copies at its start, every `every_minutes`, and
//! when [`OffboxHandle::poke`]d — as it is after each export the box
//! reports (`report_exported`, `cuesheet_exported`) —, on a thread
//! of its own at the lowest priority, off the audio core; rclone inherits
//! both. Each copy is an `offbox_copied` event, each failure an
//! `offbox_failed` one, tried again after `retry_seconds`, doubling up to
//! `every_minutes`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::events::{BoxEvent, Publisher};
use crate::jsonconf::ConfigFile;
use crate::store::DataRoot;

mod rclone;

pub use rclone::{check, copy, Check, Copied, FolderCopy, OffboxError, Problem};

/// The off-box copy configuration (`offbox.json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffboxConfig {
    /// Where the copies go, as rclone names it: `REMOTE:PATH`, the remote
    /// one of `rclone_config`'s sections (`s3:bucket/cuebox/box1`).
    pub remote: String,
    /// The user's rclone configuration; relative to the data root, which
    /// is also where it is by default (`<root>/rclone.conf`). rclone
    /// rewrites it when a Drive or Dropbox token is refreshed, so on the
    /// image it must be on the data root (the only place cueboxd may write).
    #[serde(default)]
    pub rclone_config: Option<PathBuf>,
    /// Minutes between periodic copies.
    #[serde(default = "every_minutes")]
    pub every_minutes: u64,
    /// The folders copied.
    #[serde(default = "what")]
    pub what: Vec<Folder>,
    /// Seconds before the first try after a failure; each further failure
    /// doubles it, up to `every_minutes`.
    #[serde(default = "retry_seconds")]
    pub retry_seconds: u64,
    /// Minutes one rclone may run before it is killed (and the copy counts
    /// as failed): a stalled remote never holds the next copies up.
    #[serde(default = "limit_minutes")]
    pub limit_minutes: u64,
}

/// A folder of the data root that is copied off the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// `Logs/`: the play log and its index.
    Logs,
    /// `Exports/`: cue sheets and other exports.
    Exports,
}

impl Folder {
    /// Its name, in the data root and on the remote.
    pub fn dir_name(self) -> &'static str {
        match self {
            Folder::Logs => DataRoot::LOGS,
            Folder::Exports => DataRoot::EXPORTS,
        }
    }
}

fn every_minutes() -> u64 {
    15
}

fn what() -> Vec<Folder> {
    vec![Folder::Logs, Folder::Exports]
}

fn retry_seconds() -> u64 {
    60
}

fn limit_minutes() -> u64 {
    30
}

impl ConfigFile for OffboxConfig {
    const KIND: &'static str = "off-box copy configuration";
    const DOC: &'static str = "docs/playlog.md, \"Off-box copies\"";

    fn check(&self) -> Result<(), String> {
        let remote = self.remote.trim_end_matches('/');
        match remote.split_once(':') {
            // `:local:/x` (a backend given inline) has no remote name.
            Some(_) if remote.len() > 1 => {}
            _ => {
                return Err(format!(
                    "remote {:?} is not an rclone remote path: write REMOTE:PATH, REMOTE being a \
                     section of the rclone configuration (\"s3:bucket/cuebox/box1\")",
                    self.remote
                ))
            }
        }
        let ranges = [
            ("every_minutes", self.every_minutes, 1, 7 * 24 * 60),
            ("retry_seconds", self.retry_seconds, 1, 24 * 3600),
            ("limit_minutes", self.limit_minutes, 1, 24 * 60),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(format!("{field} {value} is not {min} to {max}"));
            }
        }
        if self.what.is_empty() {
            return Err("what is empty: give \"logs\", \"exports\" or both".into());
        }
        if self.what.len() == 2 && self.what[0] == self.what[1] {
            return Err(format!("what names {:?} twice", self.what[0]));
        }
        Ok(())
    }
}

impl OffboxConfig {
    /// The rclone configuration file, resolved against the data root.
    pub fn rclone_config_path(&self, root: &Path) -> PathBuf {
        root.join(
            self.rclone_config
                .as_deref()
                .unwrap_or(Path::new("rclone.conf")),
        )
    }

    /// Where `folder` goes on the remote: `REMOTE:PATH/Logs`.
    pub fn target(&self, folder: Folder) -> String {
        let remote = self.remote.trim_end_matches('/');
        if remote.ends_with(':') {
            format!("{remote}{}", folder.dir_name())
        } else {
            format!("{remote}/{}", folder.dir_name())
        }
    }

    /// The rclone remote's name (`s3` of `s3:bucket/x`), unless the remote
    /// is given inline (`:local:/path`, with no section to look for).
    pub fn remote_name(&self) -> Option<&str> {
        let (name, _) = self.remote.split_once(':')?;
        let name = name.split(',').next().unwrap_or(name);
        (!name.is_empty()).then_some(name)
    }
}

/// Why a copy was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The run started.
    Start,
    /// `every_minutes` passed.
    Periodic,
    /// Something new was written (an export), or asked for.
    Poke,
    /// The try after a failure.
    Retry,
}

/// What the copying thread is told.
enum Message {
    Poke,
    Stop,
}

/// Asks the running copier for a copy now.
#[derive(Debug, Clone)]
pub struct OffboxHandle {
    tx: Sender<Message>,
}

impl OffboxHandle {
    /// Asks for a copy now (after an export is written to `Exports/`): the
    /// copier starts one at once, or another right after the one running.
    /// Never blocks; a stopped copier ignores it.
    pub fn poke(&self) {
        let _ = self.tx.send(Message::Poke);
    }
}

/// The copier of a run: its thread, stopped (and a running rclone killed)
/// when this is dropped.
#[derive(Debug)]
pub struct Offbox {
    handle: OffboxHandle,
    thread: Option<JoinHandle<()>>,
    /// Pokes the copier after each export the box reports.
    watcher: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Offbox {
    /// Starts copying the folders of `root` as `config` says, reporting to
    /// `events`; the thread runs at the lowest priority off `audio_core`.
    pub fn start(
        config: OffboxConfig,
        root: &Path,
        audio_core: usize,
        events: Publisher,
    ) -> std::io::Result<Offbox> {
        let (tx, rx) = mpsc::channel();
        let root = root.to_owned();
        let handle = OffboxHandle { tx };
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (handle, stop) = (handle.clone(), stop.clone());
            let exports = events.subscribe(crate::events::QUEUE);
            std::thread::Builder::new()
                .name("offbox-watch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(e) = exports.recv_timeout(Duration::from_millis(250)) {
                            if matches!(
                                *e,
                                BoxEvent::ReportExported { .. } | BoxEvent::CuesheetExported { .. }
                            ) {
                                handle.poke();
                            }
                        }
                    }
                })?
        };
        let thread = std::thread::Builder::new()
            .name("offbox".into())
            .spawn(move || {
                if let Err(detail) = crate::system::background(audio_core) {
                    events.send(BoxEvent::RtProblem {
                        detail: format!("off-box copies: {detail}"),
                    });
                }
                copier(&config, &root, &rx, &events)
            })?;
        Ok(Offbox {
            handle,
            thread: Some(thread),
            watcher: Some(watcher),
            stop,
        })
    }

    /// A handle to poke the copier with.
    pub fn handle(&self) -> OffboxHandle {
        self.handle.clone()
    }
}

impl Drop for Offbox {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.tx.send(Message::Stop);
        for thread in [self.watcher.take(), self.thread.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

/// The copier's loop: a copy when due or poked; a failure is tried again
/// after a delay that doubles up to the period.
fn copier(config: &OffboxConfig, root: &Path, rx: &Receiver<Message>, events: &Publisher) {
    let every = Duration::from_secs(config.every_minutes * 60);
    let first_retry = Duration::from_secs(config.retry_seconds).min(every);
    let mut retry = first_retry;
    let mut reason = Reason::Start;
    let mut due = Instant::now();
    loop {
        // Wait for the time, or a poke (several are one copy).
        let wait = due.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Message::Poke) => reason = Reason::Poke,
            Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        loop {
            match rx.try_recv() {
                Ok(Message::Poke) => reason = Reason::Poke,
                Err(TryRecvError::Empty) => break,
                Ok(Message::Stop) | Err(TryRecvError::Disconnected) => return,
            }
        }
        // Pokes while rclone runs ask for one more copy after it; a stop
        // kills rclone.
        let mut poked = false;
        let mut stopped = false;
        let started = Instant::now();
        let result = copy(config, root, &mut || {
            loop {
                match rx.try_recv() {
                    Ok(Message::Poke) => poked = true,
                    Ok(Message::Stop) | Err(TryRecvError::Disconnected) => stopped = true,
                    Err(TryRecvError::Empty) => break,
                }
            }
            stopped
        });
        match result {
            Ok(copied) => {
                events.send(BoxEvent::OffboxCopied {
                    remote: config.remote.clone(),
                    reason,
                    files: copied.files(),
                    bytes: copied.bytes(),
                    seconds: started.elapsed().as_secs_f64(),
                });
                retry = first_retry;
                due = Instant::now() + every;
                reason = Reason::Periodic;
            }
            Err(OffboxError::Stopped) => return,
            Err(e) => {
                events.send(BoxEvent::OffboxFailed {
                    problem: e.problem(),
                    detail: e.to_string(),
                    stderr: e.stderr().map(str::to_owned),
                    retry_seconds: retry.as_secs(),
                });
                due = Instant::now() + retry;
                retry = (retry * 2).min(every);
                reason = Reason::Retry;
            }
        }
        if stopped {
            return;
        }
        if poked {
            due = Instant::now();
            reason = Reason::Poke;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<OffboxConfig, String> {
        OffboxConfig::parse(json.as_bytes()).map_err(|e| match e {
            Ok(what) => what,
            Err(json) => json.to_string(),
        })
    }

    #[test]
    fn the_documented_example_parses_and_defaults_are_safe() {
        let c = parse(
            r#"{"remote": "s3:theatre-logs/cuebox/box1",
                "rclone_config": "/data/cuebox/rclone.conf",
                "every_minutes": 15, "what": ["logs", "exports"]}"#,
        )
        .unwrap();
        assert_eq!(c.target(Folder::Logs), "s3:theatre-logs/cuebox/box1/Logs");
        assert_eq!(c.remote_name(), Some("s3"));
        let d = parse(r#"{"remote": "backup:"}"#).unwrap();
        assert_eq!(
            (d.every_minutes, d.retry_seconds, d.limit_minutes),
            (15, 60, 30)
        );
        assert_eq!(d.what, [Folder::Logs, Folder::Exports]);
        assert_eq!(d.target(Folder::Exports), "backup:Exports");
        assert_eq!(
            d.rclone_config_path(Path::new("/data/cuebox")),
            Path::new("/data/cuebox/rclone.conf")
        );
        let inline = parse(r#"{"remote": ":local:/mnt/usb/"}"#).unwrap();
        assert_eq!(inline.remote_name(), None);
        assert_eq!(inline.target(Folder::Logs), ":local:/mnt/usb/Logs");
    }

    #[test]
    fn mistakes_are_named_with_their_value_or_line() {
        let e = parse(r#"{"remote": "/mnt/usb"}"#).unwrap_err();
        assert!(
            e.contains("\"/mnt/usb\" is not an rclone remote path"),
            "{e}"
        );
        let e = parse(r#"{"remote": "b:", "every_minutes": 0}"#).unwrap_err();
        assert!(e.contains("every_minutes 0 is not 1 to 10080"), "{e}");
        let e = parse(r#"{"remote": "b:", "what": []}"#).unwrap_err();
        assert!(e.contains("what is empty"), "{e}");
        let e = parse(r#"{"remote": "b:", "what": ["logs", "logs"]}"#).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = parse("{\"remote\": \"b:\",\n \"what\": [\"media\"]}").unwrap_err();
        assert!(
            e.contains("unknown variant `media`") && e.contains("line 2"),
            "{e}"
        );
        let e = parse(r#"{"remote": "b:", "every": 5}"#).unwrap_err();
        assert!(e.contains("unknown field `every`"), "{e}");
        let e = parse(r#"{"every_minutes": 5}"#).unwrap_err();
        assert!(e.contains("missing field `remote`"), "{e}");
    }
}
