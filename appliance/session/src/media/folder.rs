//! Choosing and validating a session's media folder.
//!
//! A media folder is checked when a session is created (and may be
//! re-checked later): that it is reachable, writable, has space for the
//! media, which filesystem holds it — with a read/write stability probe for
//! network shares — and whether it sits on removable media. Every check
//! becomes a line of a [`FolderReport`] that says what to do next.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
use serde::Serialize;

use super::mounts::{classify_fs, mount_for, parse_mountinfo, FsClass, MountEntry};
use super::removable::{removable_by_devno, removable_by_name, RemovableMedia};

/// The media folder suggested for a new session: `media` inside the
/// session's folder, so the two move and back up together.
pub fn suggest_media_folder(session_dir: &Path) -> PathBuf {
    session_dir.join("media")
}

/// When to run the read/write stability probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StabilityProbe {
    /// Only on network shares.
    Auto,
    /// On any filesystem (a flaky USB stick shows up too).
    Always,
    /// Never (a network share is then flagged without measurement).
    Never,
}

/// How [`check_media_folder`] checks. `Default` is what session creation uses.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Create the folder when it is missing but its parent exists.
    pub create_missing: bool,
    /// Free space that must remain after the media, for logs, auto-saves and
    /// later additions; less gives a warning.
    pub headroom_bytes: u64,
    /// When to run the stability probe.
    pub stability: StabilityProbe,
    /// Write/fsync/read/verify cycles in a stability probe.
    pub stability_cycles: u32,
    /// Bytes written per cycle.
    pub stability_block_bytes: usize,
    /// A single cycle slower than this makes the folder unstable.
    pub max_cycle_latency: Duration,
    /// A median cycle slower than this makes the folder unstable.
    pub max_median_latency: Duration,
    /// Where to read the mount table (tests point this at a sample).
    pub mountinfo_path: PathBuf,
    /// Where sysfs is mounted (tests point this at a fake tree).
    pub sys_root: PathBuf,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            create_missing: true,
            headroom_bytes: 1 << 30,
            stability: StabilityProbe::Auto,
            stability_cycles: 16,
            stability_block_bytes: 256 * 1024,
            // Playback buffers a few seconds ahead; a cycle stalling for half
            // a second, or a typical one taking 100 ms, leaves no margin.
            max_cycle_latency: Duration::from_millis(500),
            max_median_latency: Duration::from_millis(100),
            mountinfo_path: PathBuf::from("/proc/self/mountinfo"),
            sys_root: PathBuf::from("/sys"),
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Usable, but the operator should know (and probably act).
    Warning,
    /// Not usable as a media folder.
    Error,
}

/// Which check a [`Check`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The folder exists (or was created) and is a folder.
    Reachable,
    /// A probe file can be written, synced, read back and removed.
    Writable,
    /// Free space against what the media need.
    Space,
    /// Which filesystem holds the folder.
    Filesystem,
    /// Whether it is a network share, and how stable.
    NetworkShare,
    /// Whether it is on a removable drive.
    RemovableMedia,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub check: CheckKind,
    /// How it went.
    pub status: Status,
    /// What was found and, unless all is well, what to do next.
    pub message: String,
}

/// The filesystem holding the folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filesystem {
    /// Its type (`ext4`, `nfs4`, …).
    pub fs_type: String,
    /// What is mounted (`/dev/sdb1`, `nas:/export`).
    pub source: String,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Device number, `major:minor`.
    pub device: String,
    /// What kind of storage that is.
    pub class: FsClass,
}

/// Latencies and failures of a stability probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StabilityReport {
    /// Cycles run.
    pub cycles: u32,
    /// Cycles that failed (an I/O error or different bytes read back).
    pub failures: u32,
    /// The first failure, if any.
    pub first_failure: Option<String>,
    /// Fastest successful cycle, in milliseconds.
    pub min_ms: f64,
    /// Median successful cycle, in milliseconds.
    pub median_ms: f64,
    /// Slowest successful cycle, in milliseconds.
    pub max_ms: f64,
    /// Whether failures or latency exceed the thresholds.
    pub unstable: bool,
}

impl fmt::Display for StabilityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} write/fsync/read cycles, {} failed, latency min {:.1} ms, median {:.1} ms, max {:.1} ms",
            self.cycles, self.failures, self.min_ms, self.median_ms, self.max_ms
        )?;
        if let Some(first) = &self.first_failure {
            write!(f, " (first failure: {first})")?;
        }
        Ok(())
    }
}

/// Everything [`check_media_folder`] found. Serialises for `--json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FolderReport {
    /// The folder checked (made absolute).
    pub path: PathBuf,
    /// Whether the check created it.
    pub created: bool,
    /// Bytes the media need.
    pub needed_bytes: u64,
    /// Bytes free to unprivileged users on its volume, when known.
    pub free_bytes: Option<u64>,
    /// The filesystem holding it, when known.
    pub filesystem: Option<Filesystem>,
    /// The removable drive holding it, if it is on one.
    pub removable: Option<RemovableMedia>,
    /// The stability probe's figures, when one ran.
    pub stability: Option<StabilityReport>,
    /// The checks, in the order they ran. A check that cannot run because
    /// an earlier one failed (nothing to write to a missing folder) is absent.
    pub checks: Vec<Check>,
}

impl FolderReport {
    /// The worst status of any check.
    pub fn status(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
    }

    /// Whether the folder can be the media folder (no check failed;
    /// warnings allowed).
    pub fn is_usable(&self) -> bool {
        self.status() != Status::Error
    }

    /// One line per check: `warning: removable media: …`.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.checks
            .iter()
            .map(|c| format!("{}: {}: {}", c.status, c.check, c.message))
    }

    fn push(&mut self, check: CheckKind, status: Status, message: impl Into<String>) {
        self.checks.push(Check {
            check,
            status,
            message: message.into(),
        });
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Error => "error",
        })
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckKind::Reachable => "reachable",
            CheckKind::Writable => "writable",
            CheckKind::Space => "space",
            CheckKind::Filesystem => "filesystem",
            CheckKind::NetworkShare => "network share",
            CheckKind::RemovableMedia => "removable media",
        })
    }
}

/// Why no report could be made at all. Problems with the folder itself are
/// not errors: they are checks with [`Status::Error`] in the report.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The path is empty.
    #[error("no media folder given: name a folder (a new one is created if its parent exists)")]
    EmptyPath,
    /// A relative path cannot be resolved.
    #[error(
        "cannot resolve the relative path {path}: the current directory is unreadable: {source}"
    )]
    CurrentDir {
        /// The relative path given.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Checks `path` as a media folder for media of `needed_bytes` bytes (0 when
/// not yet known). Creates the folder when `options.create_missing` allows;
/// otherwise only writes (and removes) small probe files.
pub fn check_media_folder(
    path: &Path,
    needed_bytes: u64,
    options: &CheckOptions,
) -> Result<FolderReport, FolderError> {
    if path.as_os_str().is_empty() {
        return Err(FolderError::EmptyPath);
    }
    let path = if path.is_absolute() {
        path.to_owned()
    } else {
        let cwd = std::env::current_dir().map_err(|source| FolderError::CurrentDir {
            path: path.to_owned(),
            source,
        })?;
        cwd.join(path)
    };
    let mut report = FolderReport {
        path,
        created: false,
        needed_bytes,
        free_bytes: None,
        filesystem: None,
        removable: None,
        stability: None,
        checks: Vec::new(),
    };
    if !check_reachable(&mut report, options) {
        return Ok(report);
    }
    let writable = check_writable(&mut report);
    check_space(&mut report, options);
    let mount = check_filesystem(&mut report, options);
    check_network(&mut report, mount.as_ref(), writable, options);
    check_removable(&mut report, mount.as_ref(), options);
    Ok(report)
}

/// Reachable: exists (or is created) and is a listable folder.
fn check_reachable(report: &mut FolderReport, options: &CheckOptions) -> bool {
    let path = report.path.clone();
    let shown = path.display();
    let failure = match fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => match fs::read_dir(&path) {
            Ok(_) => {
                report.push(
                    CheckKind::Reachable,
                    Status::Ok,
                    format!("{shown} exists and is a folder"),
                );
                return true;
            }
            Err(e) => format!("cannot list {shown}: {e}; give the cuebox user access to it"),
        },
        Ok(_) => {
            format!("{shown} is a file, not a folder; choose a folder, or a new name to create one")
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path.parent().filter(|p| p.is_dir());
            if let Ok(target) = fs::read_link(&path) {
                format!(
                    "{shown} is a link to {}, which does not exist; connect or mount the drive it points to",
                    target.display()
                )
            } else if let Some(parent) = parent {
                if options.create_missing {
                    match fs::create_dir(&path) {
                        Ok(()) => {
                            report.created = true;
                            report.push(
                                CheckKind::Reachable,
                                Status::Ok,
                                format!("{shown} did not exist and was created in {}", parent.display()),
                            );
                            return true;
                        }
                        Err(e) => format!("{shown} does not exist and cannot be created: {e}; create it yourself or choose another folder"),
                    }
                } else {
                    format!("{shown} does not exist; create it or choose an existing folder")
                }
            } else {
                format!(
                    "neither {shown} nor its parent folder exists; check the path, or connect or mount the drive it is on"
                )
            }
        }
        Err(e) => format!(
            "cannot reach {shown}: {e}; check that the drive or share is connected and mounted"
        ),
    };
    report.push(CheckKind::Reachable, Status::Error, failure);
    false
}

/// Bytes in the writability probe: enough to pass through the page cache
/// and the filesystem's allocation, small enough to cost nothing.
const WRITE_PROBE_BYTES: usize = 64 * 1024;

/// Writable: create, write, fsync, read back and delete a probe file.
fn check_writable(report: &mut FolderReport) -> bool {
    let probe = probe_path(&report.path, "write");
    let started = Instant::now();
    let result = probe_cycle(&probe, &pattern(WRITE_PROBE_BYTES, 1), true)
        .and_then(|()| fs::remove_file(&probe).map_err(|e| Failure::io("remove", e)));
    // A failure part-way must not leave the probe file behind.
    let _ = fs::remove_file(&probe);
    match result {
        Ok(()) => {
            report.push(
                CheckKind::Writable,
                Status::Ok,
                format!(
                    "wrote, fsynced, read back and removed a {} KiB probe file in {} ms",
                    WRITE_PROBE_BYTES / 1024,
                    started.elapsed().as_millis()
                ),
            );
            true
        }
        Err(failure) => {
            let advice = failure.advice();
            report.push(
                CheckKind::Writable,
                Status::Error,
                format!(
                    "cannot use {} for media: {failure}; {advice}",
                    report.path.display()
                ),
            );
            false
        }
    }
}

/// Bytes free to unprivileged users on the volume holding `path`.
pub(crate) fn free_bytes(path: &Path) -> nix::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(path)?;
    // The field types differ between 32- and 64-bit targets.
    #[allow(clippy::useless_conversion)]
    let free = u64::from(stat.blocks_available()).saturating_mul(u64::from(stat.fragment_size()));
    Ok(free)
}

/// Space: free bytes against the media plus headroom.
fn check_space(report: &mut FolderReport, options: &CheckOptions) {
    let free = match free_bytes(&report.path) {
        Ok(free) => free,
        Err(e) => {
            report.push(
                CheckKind::Space,
                Status::Warning,
                format!("cannot tell the free space ({e}); make sure the media fit"),
            );
            return;
        }
    };
    report.free_bytes = Some(free);
    let needed = report.needed_bytes;
    let headroom = options.headroom_bytes;
    // Session creation does not know the media's size yet (needed = 0).
    let need = if needed == 0 {
        String::new()
    } else {
        format!(" and the media need {}", human(needed))
    };
    let (status, message) = if free < needed {
        (
            Status::Error,
            format!(
                "{} free, but the media need {}; free {} on the volume or choose a bigger one",
                human(free),
                human(needed),
                human((needed - free).saturating_add(headroom))
            ),
        )
    } else if free - needed < headroom {
        (
            Status::Warning,
            format!(
                "{} free{need}: less than the {} headroom for logs, auto-saves and later media would remain; free space on the volume",
                human(free),
                human(headroom)
            ),
        )
    } else {
        (Status::Ok, format!("{} free{need}", human(free)))
    };
    report.push(CheckKind::Space, status, message);
}

/// Filesystem: find the mount, record and classify it.
fn check_filesystem(report: &mut FolderReport, options: &CheckOptions) -> Option<MountEntry> {
    let found = fs::read_to_string(&options.mountinfo_path)
        .map_err(|e| format!("reading {}: {e}", options.mountinfo_path.display()))
        .and_then(|text| {
            let real = fs::canonicalize(&report.path)
                .map_err(|e| format!("resolving {}: {e}", report.path.display()))?;
            mount_for(&parse_mountinfo(&text), &real)
                .cloned()
                .ok_or_else(|| "no mount holds it".to_owned())
        });
    let mount = match found {
        Ok(mount) => mount,
        Err(why) => {
            report.push(
                CheckKind::Filesystem,
                Status::Warning,
                format!("cannot tell which filesystem holds it ({why}); network and removable-media checks are skipped"),
            );
            return None;
        }
    };
    let class = classify_fs(&mount.fs_type);
    let on = format!(
        "{} ({}, mounted at {})",
        mount.fs_type,
        mount.source,
        mount.mount_point.display()
    );
    let (status, message) = match class {
        FsClass::Volatile => (
            Status::Warning,
            format!("on {on}, which lives in memory: everything in it is lost at power-off; choose a folder on a disk"),
        ),
        FsClass::Network => (Status::Ok, format!("on {on}, a network share (see the network share check)")),
        FsClass::Local => (Status::Ok, format!("on {on}")),
    };
    report.filesystem = Some(Filesystem {
        fs_type: mount.fs_type.clone(),
        source: mount.source.clone(),
        mount_point: mount.mount_point.clone(),
        device: format!("{}:{}", mount.major, mount.minor),
        class,
    });
    report.push(CheckKind::Filesystem, status, message);
    Some(mount)
}

/// Network share: flag it and measure its stability.
fn check_network(
    report: &mut FolderReport,
    mount: Option<&MountEntry>,
    writable: bool,
    options: &CheckOptions,
) {
    let network = mount.filter(|m| classify_fs(&m.fs_type) == FsClass::Network);
    let wanted = match options.stability {
        StabilityProbe::Always => true,
        StabilityProbe::Auto => network.is_some(),
        StabilityProbe::Never => false,
    };
    let stability = (wanted && writable).then(|| stability_probe(&report.path, options));
    let share = network.map(|m| format!("{} {}", m.fs_type, m.source));
    let (status, message) = match (&share, &stability) {
        (Some(share), Some(s)) if s.unstable => (
            Status::Error,
            format!("the media folder is on a network share ({share}) that is unstable: {s}; fix the network or storage, or copy the media to local storage"),
        ),
        (Some(share), Some(s)) => (
            Status::Warning,
            format!("the media folder is on a network share ({share}); the stability probe passed ({s}), but a network outage stops the show; copy the media to local storage if you can"),
        ),
        (Some(share), None) => (
            Status::Warning,
            format!("the media folder is on a network share ({share}) whose stability was not measured (the folder is not writable, or the probe is off); a network outage stops the show; copy the media to local storage if you can"),
        ),
        (None, Some(s)) if s.unstable => (
            Status::Error,
            format!("not a network share, but the storage is unstable: {s}; check the drive or choose another"),
        ),
        (None, Some(s)) => (Status::Ok, format!("not a network share; stability probe: {s}")),
        (None, None) if mount.is_none() => (Status::Warning, "unknown: the filesystem could not be identified".to_owned()),
        (None, None) => (Status::Ok, "not a network share".to_owned()),
    };
    report.stability = stability;
    report.push(CheckKind::NetworkShare, status, message);
}

/// Removable media: look the device up in sysfs.
fn check_removable(report: &mut FolderReport, mount: Option<&MountEntry>, options: &CheckOptions) {
    let Some(mount) = mount else {
        return;
    };
    let sys = &options.sys_root;
    let found = removable_by_devno(sys, mount.major, mount.minor).or_else(|| {
        // Btrfs and some others show an anonymous device number; the mount
        // source then names the device.
        let dev = mount.source.strip_prefix("/dev/")?;
        let name = fs::canonicalize(&mount.source)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dev.to_owned());
        removable_by_name(sys, &name)
    });
    match found {
        Some(media) => {
            report.push(
                CheckKind::RemovableMedia,
                Status::Warning,
                format!(
                    "the media folder is on removable media ({}, {}): a pulled cable stops the show; copy the media to internal storage",
                    media.device, media.bus
                ),
            );
            report.removable = Some(media);
        }
        None => report.push(
            CheckKind::RemovableMedia,
            Status::Ok,
            "not on removable media",
        ),
    }
}

/// Runs `options.stability_cycles` write/fsync/read/verify cycles on one
/// probe file, each with different bytes so a stale read is caught.
fn stability_probe(dir: &Path, options: &CheckOptions) -> StabilityReport {
    let probe = probe_path(dir, "stability");
    let cycles = options.stability_cycles.max(1);
    let mut times = Vec::with_capacity(cycles as usize);
    let mut failures = 0;
    let mut first_failure = None;
    for cycle in 0..cycles {
        let data = pattern(options.stability_block_bytes.max(1), u64::from(cycle) + 2);
        let started = Instant::now();
        match probe_cycle(&probe, &data, false) {
            Ok(()) => times.push(started.elapsed()),
            Err(failure) => {
                failures += 1;
                first_failure.get_or_insert_with(|| format!("cycle {}: {failure}", cycle + 1));
            }
        }
    }
    let _ = fs::remove_file(&probe);
    times.sort();
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let median = times.get(times.len() / 2);
    let max = times.last();
    let unstable = failures > 0
        || max.is_some_and(|&m| m > options.max_cycle_latency)
        || median.is_some_and(|&m| m > options.max_median_latency);
    StabilityReport {
        cycles,
        failures,
        first_failure,
        min_ms: ms(times.first()),
        median_ms: ms(median),
        max_ms: ms(max),
        unstable,
    }
}

/// A probe cycle's failure: which step, and why.
#[derive(Debug)]
struct Failure {
    step: &'static str,
    error: Option<io::Error>,
}

impl Failure {
    fn io(step: &'static str, error: io::Error) -> Self {
        Failure {
            step,
            error: Some(error),
        }
    }

    /// What to do about it.
    fn advice(&self) -> &'static str {
        match self.error.as_ref().map(io::Error::kind) {
            Some(io::ErrorKind::PermissionDenied) => {
                "give the cuebox user write access to the folder, or choose another"
            }
            Some(io::ErrorKind::ReadOnlyFilesystem) => {
                "the volume is mounted read-only: remount it read-write, or choose another folder"
            }
            Some(io::ErrorKind::StorageFull) | Some(io::ErrorKind::QuotaExceeded) => {
                "the volume is full: free space, or choose another folder"
            }
            Some(_) => "check the drive or share, or choose another folder",
            None => "the storage returns wrong data: do not use it for a show",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error {
            Some(e) => write!(f, "{} a probe file failed: {e}", self.step),
            None => write!(
                f,
                "{} a probe file returned different bytes than were written",
                self.step
            ),
        }
    }
}

/// Writes `data` to `path` (creating it, or replacing it when `!create_new`),
/// fsyncs, drops it from the page cache and reads it back to compare.
fn probe_cycle(path: &Path, data: &[u8], create_new: bool) -> Result<(), Failure> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(create_new)
        .create(!create_new)
        .truncate(!create_new)
        .open(path)
        .map_err(|e| Failure::io("creating", e))?;
    file.write_all(data)
        .map_err(|e| Failure::io("writing", e))?;
    file.sync_all().map_err(|e| Failure::io("fsyncing", e))?;
    // Ask the kernel to forget the cached pages so the read goes to the
    // storage (on NFS it drops the client cache). Advisory: errors ignored.
    let _ = posix_fadvise(&file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED);
    drop(file);
    let mut back = Vec::with_capacity(data.len());
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut back))
        .map_err(|e| Failure::io("reading back", e))?;
    if back != data {
        return Err(Failure {
            step: "reading back",
            error: None,
        });
    }
    Ok(())
}

/// A hidden, unique probe file name in `dir`.
fn probe_path(dir: &Path, what: &str) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    dir.join(format!(
        ".cuebox-{what}-probe-{}-{nanos}",
        std::process::id()
    ))
}

/// `len` bytes of a pattern that differs for each `seed` (xorshift).
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// Bytes for people: `1.5 GiB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(5 << 30), "5.0 GiB");
    }

    #[test]
    fn patterns_differ_by_seed() {
        assert_ne!(pattern(64, 1), pattern(64, 2));
        assert_eq!(pattern(64, 3), pattern(64, 3));
    }
}
