//! Writing one technical log: lines appended through a buffer to the
//! kind's current file, the file closed into a dated one and the retention
//! applied as [`rotate`](super::rotate) decides. Nothing is fsynced: the
//! caller flushes at least every second and at the end, so a crash loses
//! at most that second.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::rotate::{expired, Current, Dated, Policy};
use super::{Kind, TechEntry, TechLogError};

/// The writer of one kind's log.
#[derive(Debug)]
pub struct Writer {
    kind: Kind,
    dir: PathBuf,
    path: PathBuf,
    policy: Policy,
    /// Open while there is a current file to write (opened again at the
    /// next line after a rotation or a failure).
    file: Option<BufWriter<File>>,
    current: Current,
}

impl Writer {
    /// Opens `kind`'s log under `logs` (a data root's `Logs/`), making its
    /// folder, taking up the current file an earlier run left and applying
    /// the retention as of `now`.
    pub fn open(
        logs: &Path,
        kind: Kind,
        policy: Policy,
        now: Timestamp,
    ) -> Result<Writer, TechLogError> {
        let dir = kind.dir(logs);
        std::fs::create_dir_all(&dir).map_err(TechLogError::io("make", &dir))?;
        let path = kind.current(logs);
        let current = match std::fs::read(&path) {
            Ok(bytes) => Current::of(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Current::default(),
            Err(e) => return Err(TechLogError::io("read", &path)(e)),
        };
        let mut writer = Writer {
            kind,
            dir,
            path,
            policy,
            file: None,
            current,
        };
        writer.prune(now)?;
        Ok(writer)
    }

    /// Appends `entry` (its kind is this log's, whatever it says),
    /// closing the current file first if the entry's time or size calls
    /// for it. The line is buffered: [`flush`](Writer::flush) puts it on
    /// disk.
    pub fn append(&mut self, entry: &TechEntry) -> Result<(), TechLogError> {
        let line = if entry.kind == self.kind {
            entry.line()
        } else {
            TechEntry {
                kind: self.kind,
                ..entry.clone()
            }
            .line()
        };
        let len = line.len() as u64;
        if self.current.must_rotate(&self.policy, entry.at, len) {
            self.rotate(entry.at)?;
        }
        let file = self.file()?;
        file.write_all(&line)
            .map_err(TechLogError::io("write", &self.path))?;
        self.current.wrote(entry.at, len);
        Ok(())
    }

    /// Puts every buffered line on disk (written, not fsynced).
    pub fn flush(&mut self) -> Result<(), TechLogError> {
        match &mut self.file {
            Some(file) => file.flush().map_err(TechLogError::io("write", &self.path)),
            None => Ok(()),
        }
    }

    /// The current file, opened for appending when it is not. A file an
    /// earlier run left with a torn last line gets a newline first, so
    /// the next line is whole.
    fn file(&mut self) -> Result<&mut BufWriter<File>, TechLogError> {
        if self.file.is_none() {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(TechLogError::io("open", &self.path))?;
            if self.current.bytes > 0 && !ends_with_newline(&self.path)? {
                file.write_all(b"\n")
                    .map_err(TechLogError::io("write", &self.path))?;
                self.current.bytes += 1;
            }
            self.file = Some(BufWriter::new(file));
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// Closes the current file into a dated one named for its last line,
    /// and applies the retention as of `now`.
    fn rotate(&mut self, now: Timestamp) -> Result<(), TechLogError> {
        self.flush()?;
        self.file = None;
        let dated = Dated::next(self.current.last.unwrap_or(now), &self.dated()?);
        let to = self.dir.join(dated.name(self.kind));
        std::fs::rename(&self.path, &to).map_err(TechLogError::io("rotate", &self.path))?;
        self.current = Current::default();
        self.prune(now)
    }

    /// Removes the dated files the retention no longer keeps as of `now`.
    fn prune(&mut self, now: Timestamp) -> Result<(), TechLogError> {
        for d in expired(&self.policy, &self.dated()?, self.current.bytes, now) {
            let path = self.dir.join(d.name(self.kind));
            std::fs::remove_file(&path).map_err(TechLogError::io("remove", &path))?;
        }
        Ok(())
    }

    /// The kind's dated files, with their sizes.
    fn dated(&self) -> Result<Vec<Dated>, TechLogError> {
        dated(&self.dir, self.kind)
    }
}

/// The dated files of `kind` in `dir`, with their sizes, in any order.
pub(super) fn dated(dir: &Path, kind: Kind) -> Result<Vec<Dated>, TechLogError> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TechLogError::io("list", dir)(e)),
    };
    let mut found = Vec::new();
    for entry in read {
        let entry = entry.map_err(TechLogError::io("list", dir))?;
        let Some(mut d) = entry
            .file_name()
            .to_str()
            .and_then(|n| Dated::parse(kind, n))
        else {
            continue;
        };
        d.bytes = entry
            .metadata()
            .map_err(TechLogError::io("read", &entry.path()))?
            .len();
        found.push(d);
    }
    Ok(found)
}

/// Whether the file at `path` ends with a newline (an empty one does).
fn ends_with_newline(path: &Path) -> Result<bool, TechLogError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path).map_err(TechLogError::io("read", path))?;
    if file
        .seek(SeekFrom::End(0))
        .map_err(TechLogError::io("read", path))?
        == 0
    {
        return Ok(true);
    }
    let mut last = [0u8];
    file.seek(SeekFrom::End(-1))
        .and_then(|_| file.read_exact(&mut last))
        .map_err(TechLogError::io("read", path))?;
    Ok(last[0] == b'\n')
}
