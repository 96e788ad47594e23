//! The play log's journal: append-only, one entry per line,
//! `<json>\t<hash>\n`. The JSON holds the entry's sequence number, the hash
//! of the entry before it and the record; the hash is BLAKE3 of the JSON.
//! Each entry is thus checksummed, and chained to the one before: changing,
//! removing or reordering any entry breaks every link after it.
//!
//! The journal is two files, written alike; an entry counts once both are
//! fsynced. Opening reconciles them: a torn last line (a write the power
//! cut) is dropped — it was never acknowledged; an entry one copy has and
//! the other lacks (a crash between the two writes) is copied over; a copy
//! damaged anywhere else is set aside and rebuilt from the other.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::Record;
use super::PlaylogError;

/// The hash that links the first entry: no entry before it.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Largest journal file read whole (a show's plays are far below it).
const MAX_JOURNAL_BYTES: u64 = 1 << 30;

/// An entry as written.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    seq: u64,
    prev: String,
    record: Record,
}

/// An entry read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its sequence number, from 1.
    pub seq: u64,
    /// The record.
    pub record: Record,
    /// Its hash (the next entry's `prev`).
    pub hash: String,
    /// The line as written, newline included: copied verbatim when one
    /// copy is brought level with the other.
    line: Vec<u8>,
}

impl Entry {
    /// The line as written (`<json>\t<hash>\n`): what a host receives to
    /// check the chain itself.
    pub fn line(&self) -> &[u8] {
        &self.line
    }
}

/// What is wrong with a copy, at which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The line, from 1.
    pub line: usize,
    /// The sequence number the line claims, when it can be read.
    pub seq: Option<u64>,
    /// What is wrong.
    pub why: String,
}

/// One copy as read: its valid entries, and what follows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// Every entry before the first problem.
    pub entries: Vec<Entry>,
    /// Bytes of those entries.
    pub valid_bytes: u64,
    /// A last line without its newline: a write cut short, never counted.
    pub torn_tail: bool,
    /// Damage before the end: a changed, missing or reordered entry.
    pub damage: Option<Damage>,
}

impl Scan {
    /// Reads `bytes` as a journal.
    pub fn of(bytes: &[u8]) -> Scan {
        Scan::continuing(bytes, 0, GENESIS)
    }

    /// Reads `bytes` as the part of a journal after entry `after`, whose
    /// hash is `prev` (a page a host fetched).
    pub fn continuing(bytes: &[u8], after: u64, prev: &str) -> Scan {
        let mut scan = Scan {
            entries: Vec::new(),
            valid_bytes: 0,
            torn_tail: false,
            damage: None,
        };
        let mut prev = prev.to_owned();
        let mut rest = bytes;
        let mut line_no = 0;
        while !rest.is_empty() {
            line_no += 1;
            let Some(end) = rest.iter().position(|b| *b == b'\n') else {
                scan.torn_tail = true;
                break;
            };
            let line = &rest[..=end];
            let expected_seq = after + scan.entries.len() as u64 + 1;
            match check_line(line, &prev, expected_seq) {
                Ok(entry) => {
                    prev = entry.hash.clone();
                    scan.entries.push(entry);
                    scan.valid_bytes += end as u64 + 1;
                }
                Err((seq, why)) => {
                    scan.damage = Some(Damage {
                        line: line_no,
                        seq,
                        why,
                    });
                    break;
                }
            }
            rest = &rest[end + 1..];
        }
        scan
    }
}

/// Checks one line against the chain: its checksum, its link, its number.
fn check_line(line: &[u8], prev: &str, seq: u64) -> Result<Entry, (Option<u64>, String)> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let text = std::str::from_utf8(body).map_err(|_| (None, "not UTF-8".to_owned()))?;
    let (json, hash) = text
        .rsplit_once('\t')
        .ok_or((None, "no checksum after the entry".to_owned()))?;
    let parsed: Result<Line, _> = serde_json::from_str(json);
    let claimed = parsed.as_ref().ok().map(|l| l.seq);
    if blake3::hash(json.as_bytes()).to_hex().as_str() != hash {
        return Err((
            claimed,
            "its checksum does not match: the entry was changed".into(),
        ));
    }
    let parsed = parsed.map_err(|e| (None, format!("unreadable entry: {e}")))?;
    if parsed.seq != seq {
        return Err((
            Some(parsed.seq),
            format!(
                "entry {} where entry {seq} belongs: entries were removed or reordered",
                parsed.seq
            ),
        ));
    }
    if parsed.prev != prev {
        return Err((
            Some(parsed.seq),
            "it does not link to the entry before: an entry before it was changed or removed"
                .into(),
        ));
    }
    Ok(Entry {
        seq,
        record: parsed.record,
        hash: hash.to_owned(),
        line: line.to_vec(),
    })
}

/// The line for `record` as entry `seq` after `prev`, and its hash.
fn make_line(seq: u64, prev: &str, record: &Record) -> (Vec<u8>, String) {
    let json = serde_json::to_string(&Line {
        seq,
        prev: prev.to_owned(),
        record: record.clone(),
    })
    .expect("a record has only string map keys, so it always serialises");
    let hash = blake3::hash(json.as_bytes()).to_hex().to_string();
    let mut line = json.into_bytes();
    line.push(b'\t');
    line.extend_from_slice(hash.as_bytes());
    line.push(b'\n');
    (line, hash)
}

/// Reads a copy; a missing file is an empty journal.
fn read(path: &Path) -> Result<Vec<u8>, PlaylogError> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_JOURNAL_BYTES => {
            return Err(PlaylogError::TooLarge {
                path: path.to_owned(),
                size: m.len(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        _ => {}
    }
    std::fs::read(path).map_err(PlaylogError::io("read", path))
}

/// Reads and checks one file as a journal copy (another unit's log, a
/// saved copy): its whole entries, and what follows them.
pub fn scan_file(path: &Path) -> Result<Scan, PlaylogError> {
    Ok(Scan::of(&read(path)?))
}

/// What verification found in both copies.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// Each copy: its path and what was read.
    pub copies: [(PathBuf, Scan); 2],
    /// Where the copies' entries differ (the first differing sequence number).
    pub diverge_at: Option<u64>,
}

impl Verified {
    /// Whether both copies are whole (a torn last line is allowed: it was
    /// never counted) and agree.
    pub fn is_sound(&self) -> bool {
        self.diverge_at.is_none() && self.copies.iter().all(|(_, s)| s.damage.is_none())
    }

    /// The entries of the copy with more whole entries: the journal as
    /// the box will read it.
    pub fn entries(&self) -> &[Entry] {
        let [(_, a), (_, b)] = &self.copies;
        if b.entries.len() > a.entries.len() {
            &b.entries
        } else {
            &a.entries
        }
    }

    /// Every problem, one line each, naming the file, line and entry.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (path, scan) in &self.copies {
            if let Some(d) = &scan.damage {
                let seq = d.seq.map(|s| format!(" (entry {s})")).unwrap_or_default();
                out.push(format!(
                    "{} line {}{seq}: {}",
                    path.display(),
                    d.line,
                    d.why
                ));
            }
        }
        if let Some(seq) = self.diverge_at {
            out.push(format!(
                "{} and {} differ from entry {seq} on",
                self.copies[0].0.display(),
                self.copies[1].0.display()
            ));
        }
        out
    }
}

/// Reads and checks both copies without changing them.
pub fn verify(paths: &[PathBuf; 2]) -> Result<Verified, PlaylogError> {
    let a = Scan::of(&read(&paths[0])?);
    let b = Scan::of(&read(&paths[1])?);
    let diverge_at = a
        .entries
        .iter()
        .zip(&b.entries)
        .find(|(x, y)| x.hash != y.hash)
        .map(|(x, _)| x.seq);
    Ok(Verified {
        copies: [(paths[0].clone(), a), (paths[1].clone(), b)],
        diverge_at,
    })
}

/// What opening had to mend, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mended {
    /// Copies whose torn last line was dropped.
    pub torn: Vec<PathBuf>,
    /// Entries copied from one copy to the other after a crash between writes.
    pub copied: u64,
    /// Copies found damaged, set aside under this name and rebuilt from the other.
    pub set_aside: Vec<PathBuf>,
}

/// The journal, open for appending. More than one may be open at once (the
/// box's play log thread, an export asked over the API, `cueboxd log` on
/// the console): each append takes the journal's lock and first catches up
/// with what the others wrote.
#[derive(Debug)]
pub struct Journal {
    paths: [PathBuf; 2],
    files: [File; 2],
    next_seq: u64,
    last_hash: String,
    /// Each copy as this writer last left it: another writer's append, or
    /// a copy set aside and rebuilt, shows as a difference.
    seen: [Option<FileState>; 2],
    /// The journal's lock file, kept open: an append only takes its turn.
    lock: File,
}

/// Which file a path names and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileState {
    dev: u64,
    ino: u64,
    len: u64,
}

impl FileState {
    fn of(meta: &std::fs::Metadata) -> FileState {
        use std::os::unix::fs::MetadataExt;
        FileState {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
        }
    }
}

impl Journal {
    /// Opens (creating) the journal kept in `paths`, reconciling the copies.
    ///
    /// Refused, with both copies left as they are, when they disagree (two
    /// different histories): `cueboxd log verify` says where.
    pub fn open(paths: [PathBuf; 2]) -> Result<(Journal, Vec<Entry>, Mended), PlaylogError> {
        for p in &paths {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir).map_err(PlaylogError::io("create folder", dir))?;
            }
        }
        let lock = open_lock(&paths)?;
        let _turn = take_turn(&lock, &paths)?;
        let (entries, mended) = mend(&paths)?;
        let journal = Journal::after(paths, &entries, lock)?;
        Ok((journal, entries, mended))
    }

    /// The journal open for appending after `entries`, its copies level.
    fn after(paths: [PathBuf; 2], entries: &[Entry], lock: File) -> Result<Journal, PlaylogError> {
        let files = [open_append(&paths[0])?, open_append(&paths[1])?];
        let seen = [state(&files[0]), state(&files[1])];
        Ok(Journal {
            next_seq: entries.len() as u64 + 1,
            last_hash: entries.last().map_or(GENESIS, |e| &e.hash).to_owned(),
            paths,
            files,
            seen,
            lock,
        })
    }

    /// Appends `record` to both copies and fsyncs them: when this returns
    /// its sequence number, the entry counts. A failed append leaves both
    /// copies as they were.
    pub fn append(&mut self, record: &Record) -> Result<u64, PlaylogError> {
        let _turn = take_turn(&self.lock, &self.paths)?;
        let now = [path_state(&self.paths[0]), path_state(&self.paths[1])];
        if now != self.seen {
            // Another writer was here: read what it left (mending a copy
            // it left half-written) and go on after it.
            let (entries, _) = mend(&self.paths)?;
            let lock = self
                .lock
                .try_clone()
                .map_err(PlaylogError::io("open", &self.paths[0]))?;
            *self = Journal::after(self.paths.clone(), &entries, lock)?;
        }
        let seq = self.next_seq;
        let (line, hash) = make_line(seq, &self.last_hash, record);
        let lengths = [len(&self.files[0]), len(&self.files[1])];
        let written = self.write_both(&line);
        if let Err(e) = written {
            // Put both back as they were, so no half entry is left to damage the next.
            for (file, len) in self.files.iter().zip(lengths) {
                if let Some(len) = len {
                    let _ = file.set_len(len);
                }
            }
            return Err(e);
        }
        self.seen = [state(&self.files[0]), state(&self.files[1])];
        self.next_seq += 1;
        self.last_hash = hash;
        Ok(seq)
    }

    fn write_both(&mut self, line: &[u8]) -> Result<(), PlaylogError> {
        for (file, path) in self.files.iter_mut().zip(&self.paths) {
            file.write_all(line)
                .map_err(PlaylogError::io("write", path))?;
        }
        for (file, path) in self.files.iter().zip(&self.paths) {
            file.sync_data().map_err(PlaylogError::io("flush", path))?;
        }
        Ok(())
    }

    /// The two copies.
    pub fn paths(&self) -> &[PathBuf; 2] {
        &self.paths
    }

    /// The sequence number the next entry gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }
}

/// The journal's lock file, beside the copies.
fn lock_path(paths: &[PathBuf; 2]) -> PathBuf {
    paths[0].with_file_name("journal.lock")
}

fn open_lock(paths: &[PathBuf; 2]) -> Result<File, PlaylogError> {
    let path = lock_path(paths);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(PlaylogError::io("open", &path))
}

/// The journal's lock, held while a writer mends or appends: writers take
/// turns, and a reader never sees a half-mended copy set aside. Released
/// when the guard drops.
fn take_turn(lock: &File, paths: &[PathBuf; 2]) -> Result<Turn, PlaylogError> {
    let fd = lock
        .try_clone()
        .map_err(PlaylogError::io("open", &lock_path(paths)))?;
    nix::fcntl::Flock::lock(fd, nix::fcntl::FlockArg::LockExclusive)
        .map(Turn)
        .map_err(|(_, errno)| PlaylogError::io("lock", &lock_path(paths))(errno.into()))
}

/// A writer's turn at the journal.
struct Turn(#[allow(dead_code)] nix::fcntl::Flock<File>);

/// Reconciles the two copies (see [`Journal::open`]) and returns the
/// journal's entries; both copies hold exactly them afterwards.
fn mend(paths: &[PathBuf; 2]) -> Result<(Vec<Entry>, Mended), PlaylogError> {
    let verified = verify(paths)?;
    if let Some(seq) = verified.diverge_at {
        return Err(PlaylogError::Diverged {
            a: paths[0].clone(),
            b: paths[1].clone(),
            seq,
        });
    }
    let [(_, a), (_, b)] = &verified.copies;
    let mut mended = Mended::default();
    // The copy with more whole entries is the journal; the other is
    // brought level, and a damaged one is rebuilt after it is set aside.
    let longest = usize::from(b.entries.len() > a.entries.len());
    let scans = [a, b];
    let full = scans[longest];
    for (i, scan) in scans.iter().enumerate() {
        let path = &paths[i];
        if scan.damage.is_some() {
            let aside = aside_name(path);
            std::fs::rename(path, &aside).map_err(PlaylogError::io("set aside", path))?;
            mended.set_aside.push(aside);
        } else if scan.torn_tail {
            mended.torn.push(path.clone());
        }
        let (have, keep) = match scan.damage {
            Some(_) => (0, 0),
            None => (scan.entries.len(), scan.valid_bytes),
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(path)
            .map_err(PlaylogError::io("open", path))?;
        file.set_len(keep).map_err(PlaylogError::io("trim", path))?;
        if have < full.entries.len() {
            let missing = &full.entries[have..];
            let bytes: Vec<u8> = missing
                .iter()
                .flat_map(|e| e.line.iter().copied())
                .collect();
            mended.copied += missing.len() as u64;
            use std::io::Seek;
            file.seek(std::io::SeekFrom::End(0))
                .map_err(PlaylogError::io("seek", path))?;
            file.write_all(&bytes)
                .map_err(PlaylogError::io("write", path))?;
        }
        file.sync_all().map_err(PlaylogError::io("flush", path))?;
        if let Some(dir) = path.parent() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(PlaylogError::io("flush folder", dir))?;
        }
    }
    Ok((full.entries.clone(), mended))
}

fn state(file: &File) -> Option<FileState> {
    file.metadata().ok().map(|m| FileState::of(&m))
}

fn path_state(path: &Path) -> Option<FileState> {
    std::fs::metadata(path).ok().map(|m| FileState::of(&m))
}

fn len(file: &File) -> Option<u64> {
    file.metadata().ok().map(|m| m.len())
}

fn open_append(path: &Path) -> Result<File, PlaylogError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(PlaylogError::io("open", path))
}

/// Where a damaged copy is kept: beside it, named for when it was found.
fn aside_name(path: &Path) -> PathBuf {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{name}.damaged-{stamp}"))
}
