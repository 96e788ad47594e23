//! Running rclone: bounded in time (its own connect and idle timeouts, and
//! a kill after `limit_minutes`), its JSON log read for what it copied and,
//! when it fails, for its last line.

use std::ffi::OsString;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::{Folder, OffboxConfig};
use crate::store::{DataRoot, StoreError};

/// The program, found on `PATH`.
const RCLONE: &str = "rclone";

/// What kind of failure an off-box copy met, as events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// rclone is not installed.
    NoRclone,
    /// The rclone configuration file is missing.
    NoRcloneConfig,
    /// The data root's folders cannot be made.
    DataRoot,
    /// rclone could not be started.
    CannotRun,
    /// rclone ran past the limit and was killed.
    TimedOut,
    /// rclone failed: remote unreachable, refused credentials, no space, …
    /// (its last line says which).
    RcloneFailed,
}

/// Why an off-box copy (or check) failed.
#[derive(Debug, thiserror::Error)]
pub enum OffboxError {
    /// rclone is not installed.
    #[error("rclone is not installed ({source}): install the rclone package")]
    NoRclone {
        /// What starting it said.
        source: std::io::Error,
    },
    /// The rclone configuration file is missing.
    #[error(
        "the rclone configuration {path} does not exist: make it with `rclone config --config {path}`"
    )]
    NoRcloneConfig {
        /// The file.
        path: PathBuf,
    },
    /// The data root's folders cannot be made.
    #[error("the data root: {source}")]
    DataRoot {
        /// Why.
        source: StoreError,
    },
    /// rclone could not be started.
    #[error("cannot run rclone: {source}")]
    CannotRun {
        /// Why.
        source: std::io::Error,
    },
    /// rclone ran past the limit and was killed.
    #[error(
        "rclone {action} {target} ran for more than {minutes} min and was stopped{}",
        said(stderr)
    )]
    TimedOut {
        /// `copy`, `lsd`, …
        action: &'static str,
        /// The remote path.
        target: String,
        /// The limit.
        minutes: u64,
        /// rclone's last line.
        stderr: Option<String>,
    },
    /// rclone failed.
    #[error("rclone {action} {target} failed ({status}){}", said(stderr))]
    Failed {
        /// `copy`, `lsd`, …
        action: &'static str,
        /// The remote path.
        target: String,
        /// How it exited.
        status: ExitStatus,
        /// rclone's last line.
        stderr: Option<String>,
    },
    /// The box is stopping: rclone was killed, and nothing is wrong.
    #[error("the box is stopping")]
    Stopped,
}

fn said(stderr: &Option<String>) -> String {
    stderr
        .as_ref()
        .map(|line| format!(": {line}"))
        .unwrap_or_default()
}

impl OffboxError {
    /// Its kind, as the `offbox_failed` event names it.
    pub fn problem(&self) -> Problem {
        match self {
            OffboxError::NoRclone { .. } => Problem::NoRclone,
            OffboxError::NoRcloneConfig { .. } => Problem::NoRcloneConfig,
            OffboxError::DataRoot { .. } => Problem::DataRoot,
            // A stop is never reported: the run is ending.
            OffboxError::CannotRun { .. } | OffboxError::Stopped => Problem::CannotRun,
            OffboxError::TimedOut { .. } => Problem::TimedOut,
            OffboxError::Failed { .. } => Problem::RcloneFailed,
        }
    }

    /// rclone's last line, when it ran.
    pub fn stderr(&self) -> Option<&str> {
        match self {
            OffboxError::TimedOut { stderr, .. } | OffboxError::Failed { stderr, .. } => {
                stderr.as_deref()
            }
            _ => None,
        }
    }
}

/// What one folder's copy did.
#[derive(Debug, Clone, Serialize)]
pub struct FolderCopy {
    /// The folder.
    pub folder: Folder,
    /// Where it went.
    pub target: String,
    /// The files copied (new or changed), relative to the folder.
    pub files: Vec<String>,
    /// Bytes transferred.
    pub bytes: u64,
}

/// What a copy did, folder by folder.
#[derive(Debug, Clone, Serialize)]
pub struct Copied {
    /// Each folder copied.
    pub folders: Vec<FolderCopy>,
}

impl Copied {
    /// Files copied, in every folder.
    pub fn files(&self) -> u64 {
        self.folders.iter().map(|f| f.files.len() as u64).sum()
    }

    /// Bytes transferred, in every folder.
    pub fn bytes(&self) -> u64 {
        self.folders.iter().map(|f| f.bytes).sum()
    }
}

/// Copies the configured folders of the data root `root` to the remote,
/// with `rclone copy` (never `sync`: nothing on the remote is deleted).
/// `stop` is asked every 100 ms while rclone runs; when it says so, rclone
/// is killed and the copy ends [`OffboxError::Stopped`].
pub fn copy(
    config: &OffboxConfig,
    root: &Path,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Copied, OffboxError> {
    let data = DataRoot::open(root).map_err(|source| OffboxError::DataRoot { source })?;
    let rclone_config = existing_config(config, root)?;
    let mut folders = Vec::new();
    for &folder in &config.what {
        let target = config.target(folder);
        let mut args: Vec<OsString> = vec![
            "copy".into(),
            data.path().join(folder.dir_name()).into(),
            (&target).into(),
        ];
        // Not --local-no-check-updated: rclone 1.60 then also trusts the
        // stale size of a local destination and fails the copy. A file
        // that grows while it is read (the play log) fails this copy, and
        // the retry brings it.
        args.extend(common(&rclone_config));
        let log = run(&args, config, "copy", &target, stop)?;
        folders.push(FolderCopy {
            folder,
            target,
            files: log.copied,
            bytes: log.bytes,
        });
    }
    Ok(Copied { folders })
}

/// One item of `cueboxd offbox check`.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub item: &'static str,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, or what is wrong and what to do.
    pub detail: String,
}

/// Checks what a copy needs, in order, stopping at the first failure:
/// rclone itself, the rclone configuration and its remote, and the remote
/// answering (`rclone mkdir` and `rclone lsd` on it: reachable, credentials
/// taken, writable).
pub fn check(config: &OffboxConfig, root: &Path) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut item = |item, result: Result<String, String>| {
        let ok = result.is_ok();
        checks.push(Check {
            item,
            ok,
            detail: result.unwrap_or_else(|e| e),
        });
        ok
    };
    let version = output(&["version".into()]).map(|out| {
        let first = out.lines().next().unwrap_or("").to_owned();
        format!("{first} ({RCLONE} on PATH)")
    });
    if !item("rclone", version.map_err(|e| e.to_string())) {
        return checks;
    }
    let remotes = existing_config(config, root).and_then(|path| {
        let mut args: Vec<OsString> = vec!["listremotes".into()];
        args.extend(common(&path));
        let out = output(&args)?;
        Ok((path, out))
    });
    let remotes = remotes.map_err(|e| e.to_string()).and_then(|(path, out)| {
        let names: Vec<&str> = out.lines().map(|l| l.trim_end_matches(':')).collect();
        match config.remote_name() {
            None => Ok(format!("{} (the remote is given inline)", path.display())),
            Some(name) if names.contains(&name) => {
                Ok(format!("{} has the remote {name:?}", path.display()))
            }
            Some(name) => Err(format!(
                "{} has no remote {name:?} (it has {names:?}): add it with `rclone config \
                     --config {}`",
                path.display(),
                path.display()
            )),
        }
    });
    if !item("rclone configuration", remotes) {
        return checks;
    }
    let conf = config.rclone_config_path(root);
    let answers = ["mkdir", "lsd"].into_iter().try_for_each(|action| {
        let mut args: Vec<OsString> = vec![action.into(), (&config.remote).into()];
        args.extend(common(&conf));
        run(&args, config, action, &config.remote, &mut || false).map(drop)
    });
    item(
        "remote",
        answers
            .map(|()| format!("{} answers and takes a folder", config.remote))
            .map_err(|e| e.to_string()),
    );
    checks
}

/// The rclone configuration, when it exists.
fn existing_config(config: &OffboxConfig, root: &Path) -> Result<PathBuf, OffboxError> {
    let path = config.rclone_config_path(root);
    if path.is_file() {
        Ok(path)
    } else {
        Err(OffboxError::NoRcloneConfig { path })
    }
}

/// The arguments every rclone call takes: the user's configuration,
/// bounded waits (connect 30 s, no data for 2 min), one try of its own
/// (the copier retries, with backoff), and its log as JSON lines with the
/// totals at the end.
fn common(rclone_config: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--config".into(), rclone_config.into()];
    args.extend(
        [
            "--contimeout",
            "30s",
            "--timeout",
            "2m",
            "--retries",
            "1",
            "--low-level-retries",
            "3",
            "--use-json-log",
            "-v",
            "--stats",
            "1h",
        ]
        .map(OsString::from),
    );
    args
}

/// Runs `rclone args` for its standard output (quick, local calls only:
/// `version`, `listremotes`).
fn output(args: &[OsString]) -> Result<String, OffboxError> {
    let out = Command::new(RCLONE)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(spawn_error)?;
    if !out.status.success() {
        return Err(OffboxError::Failed {
            action: "run",
            target: args
                .first()
                .map(|a| a.to_string_lossy().into_owned())
                .unwrap_or_default(),
            status: out.status,
            stderr: last_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn spawn_error(source: std::io::Error) -> OffboxError {
    if source.kind() == std::io::ErrorKind::NotFound {
        OffboxError::NoRclone { source }
    } else {
        OffboxError::CannotRun { source }
    }
}

/// What rclone's JSON log said.
#[derive(Debug, Default)]
struct Log {
    /// Files copied.
    copied: Vec<String>,
    /// Bytes transferred (its final totals).
    bytes: u64,
    /// Its last message other than the totals.
    last: Option<String>,
}

impl Log {
    fn take(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(line) else {
            // A plain line: rclone's fatal message, after its date and time.
            self.last = Some(strip_time(line).to_owned());
            return;
        };
        if let Some(stats) = entry.get("stats") {
            self.bytes = stats["bytes"].as_u64().unwrap_or(0);
            return;
        }
        let msg = entry.get("msg").and_then(Value::as_str).unwrap_or("");
        if let (true, Some(object)) = (
            msg.starts_with("Copied"),
            entry.get("object").and_then(Value::as_str),
        ) {
            self.copied.push(object.to_owned());
        }
        self.last = Some(match entry.get("object").and_then(Value::as_str) {
            Some(object) if !object.is_empty() => format!("{object}: {msg}"),
            _ => msg.to_owned(),
        });
    }
}

/// `2026/12/05 21:57:19 Failed to copy…` → `Failed to copy…`
fn strip_time(line: &str) -> &str {
    let stamped = line.len() > 20
        && line.as_bytes()[4] == b'/'
        && line.as_bytes()[13] == b':'
        && line.as_bytes()[19] == b' ';
    if stamped {
        &line[20..]
    } else {
        line
    }
}

fn last_line(text: &str) -> Option<String> {
    let mut log = Log::default();
    text.lines().for_each(|l| log.take(l));
    log.last
}

/// Runs `rclone args`, reading its log as it comes; killed past the limit
/// or when `stop` says so.
fn run(
    args: &[OsString],
    config: &OffboxConfig,
    action: &'static str,
    target: &str,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Log, OffboxError> {
    let mut child = Command::new(RCLONE)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::Builder::new()
        .name("offbox-log".into())
        .spawn(move || {
            let mut log = Log::default();
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                log.take(&line);
            }
            log
        })
        .map_err(|source| {
            kill(&mut child);
            OffboxError::CannotRun { source }
        })?;
    let deadline = Instant::now() + Duration::from_secs(config.limit_minutes * 60);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if stop() => break Err(OffboxError::Stopped),
            Ok(None) if Instant::now() >= deadline => {
                break Err(OffboxError::TimedOut {
                    action,
                    target: target.to_owned(),
                    minutes: config.limit_minutes,
                    stderr: None,
                })
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(source) => break Err(OffboxError::CannotRun { source }),
        }
    };
    if status.is_err() {
        kill(&mut child);
    }
    let log = reader.join().unwrap_or_default();
    match status {
        Ok(status) if status.success() => Ok(log),
        Ok(status) => Err(OffboxError::Failed {
            action,
            target: target.to_owned(),
            status,
            stderr: log.last,
        }),
        Err(OffboxError::TimedOut {
            action,
            target,
            minutes,
            ..
        }) => Err(OffboxError::TimedOut {
            action,
            target,
            minutes,
            stderr: log.last,
        }),
        Err(e) => Err(e),
    }
}

/// Kills rclone and reaps it.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
