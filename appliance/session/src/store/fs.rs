//! File primitives every save goes through: atomic replacement, bounded
//! reads, and clean-up of what a killed writer can leave behind.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use atomic_write_file::AtomicWriteFile;
use cuebox_engine::show::{Loaded, Show, MAX_MANIFEST_BYTES};

use super::error::{io, Result, StoreError};

/// Replaces `path` with `bytes` so that a crash at any instant leaves either
/// the old file or the new one, never a mixture.
///
/// atomic-write-file writes into an unnamed `O_TMPFILE` in the same folder,
/// fsyncs it, links it under a temporary name, renames it over `path` and
/// fsyncs the folder. Only between the link and the rename can a kill leave a
/// `.<name>.XXXXXX` file, which [`sweep_temporaries`] removes.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicWriteFile::open(path).map_err(io("start writing", path))?;
    file.write_all(bytes).map_err(io("write", path))?;
    file.commit().map_err(io("finish writing", path))
}

/// Reads a manifest, refusing before reading it whole a file over the
/// engine's size limit (a hostile or damaged file must not exhaust memory).
pub(crate) fn read_manifest(path: &Path) -> Result<Vec<u8>> {
    let max = MAX_MANIFEST_BYTES as u64;
    // Non-blocking, so a FIFO planted under a manifest's name cannot hang us;
    // it makes no difference to reading a regular file.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)
        .map_err(io("open", path))?;
    let meta = file.metadata().map_err(io("inspect", path))?;
    if !meta.is_file() {
        return Err(io("read", path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    let size = meta.len();
    if size > max {
        return Err(StoreError::TooLarge {
            path: path.to_owned(),
            size,
            max,
        });
    }
    // The file can grow between the check and the read: never take more than
    // one byte past the limit, which is enough to know it is too large.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io("read", path))?;
    if bytes.len() as u64 > max {
        return Err(StoreError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// Reads and parses a manifest, naming the file in any error.
pub(crate) fn load_manifest(path: &Path) -> Result<(Loaded, Vec<u8>)> {
    let bytes = read_manifest(path)?;
    let loaded = Show::load(&bytes).map_err(|error| StoreError::Load {
        path: path.to_owned(),
        error,
    })?;
    Ok((loaded, bytes))
}

/// Whether `name` is a temporary file atomic-write-file makes for `base`
/// names (`.session.json.Ab12Cd`): a dot, the base name, a dot and six
/// alphanumerics.
pub(crate) fn is_temporary(name: &str, base: impl Fn(&str) -> bool) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((stem, suffix)) = rest.rsplit_once('.') else {
        return false;
    };
    suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()) && base(stem)
}

/// Removes temporary files a killed save left in `dir`; returns what it removed.
///
/// Only names matching `base` are touched, so nothing a user put there is lost.
pub(crate) fn sweep_temporaries(dir: &Path, base: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(io("list", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io("list", dir))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| is_temporary(n, &base)) {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                // Another process finished or swept it first: nothing left to do.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("remove leftover temporary file", path)(e)),
            }
        }
    }
    Ok(removed)
}

/// Flushes a folder's entries (new or removed names) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("flush folder", dir))
}

/// Creates a folder and its parents if missing.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io("create folder", dir))
}

/// Removes a file and reports a missing one as already removed.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("remove", path)(e)),
    }
}

/// Names in `dir` that are plain UTF-8 file names ending in `.json`, without
/// the extension. Other entries are not the store's and are left alone.
pub(crate) fn json_stems(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io("list", dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io("list", dir))?;
        if let Some(stem) = entry
            .file_name()
            .to_str()
            .filter(|n| !n.starts_with('.'))
            .and_then(|n| n.strip_suffix(".json"))
        {
            out.push(stem.to_owned());
        }
    }
    Ok(out)
}

/// A timestamp as it appears in file names: `20261101T190000.123Z`, sortable
/// as text and free of characters FAT or SMB shares refuse (`:`).
pub(crate) fn stamp(at: jiff::Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%S%.3fZ").to_string()
}

/// Reads a [`stamp`] back.
pub(crate) fn parse_stamp(s: &str) -> Option<jiff::Timestamp> {
    let s = s.strip_suffix('Z')?;
    let tm = jiff::fmt::strtime::BrokenDownTime::parse("%Y%m%dT%H%M%S%.f", s).ok()?;
    tm.to_datetime()
        .ok()?
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_to_the_millisecond() {
        let t: jiff::Timestamp = "2026-11-01T19:00:05.123456Z".parse().unwrap();
        assert_eq!(stamp(t), "20261101T190005.123Z");
        assert_eq!(
            parse_stamp("20261101T190005.123Z"),
            Some("2026-11-01T19:00:05.123Z".parse().unwrap())
        );
        assert_eq!(parse_stamp("20261101T190005.123"), None);
        assert_eq!(parse_stamp("not a time"), None);
    }

    #[test]
    fn temporary_names_are_recognised_and_nothing_else() {
        let manifest = |s: &str| s == "session.json";
        assert!(is_temporary(".session.json.Ab12Cd", manifest));
        assert!(!is_temporary("session.json", manifest));
        assert!(!is_temporary(".session.json.Ab12C", manifest));
        assert!(!is_temporary(".session.json.Ab1-Cd", manifest));
        assert!(!is_temporary(".notes.txt.Ab12Cd", manifest));
    }
}
