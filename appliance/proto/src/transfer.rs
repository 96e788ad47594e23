//! The host's side of session sync: push a session folder to a box (only
//! the media it lacks, resuming interrupted files, then one atomic
//! activation) and pull one back.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use cuebox_engine::show::{ContentHash, Show};
use serde::Serialize;

use crate::client::{Client, ClientError};
use crate::messages::{Activated, MediaEntry, MediaSize, Request, Response, CHUNK};
use cuebox_session::media::{verify_media, MediaProblem};
use cuebox_session::store::{chain, io, SessionDir, StoreError};

/// Media chunks in flight before the host waits for the box's first
/// acknowledgement: enough to keep a fast link busy, few enough that a
/// refusal (disk full) stops the transfer within a few MiB.
const WINDOW: usize = 16;

/// How long the box may take to answer an activation: it answers once the
/// new session plays (it gives up waiting after 20 s).
const ACTIVATION_WAIT: std::time::Duration = std::time::Duration::from_secs(25);

/// Why a push or pull failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// Talking to the box failed, or the box refused.
    #[error(transparent)]
    Box(#[from] ClientError),
    /// The session on the host cannot be read.
    #[error("{}", chain(.0))]
    Local(#[from] StoreError),
    /// Media of the session is missing or unreadable on the host.
    #[error("{} media file(s) are missing on this host, so nothing was pushed:\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    LocalMedia(Vec<MediaProblem>),
    /// A pulled file does not have the hash the box's session records.
    #[error("{} arrived with hash {found}, not {expected}; pull again", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The hash it should have.
        expected: ContentHash,
        /// The hash it has.
        found: ContentHash,
    },
}

/// What a transfer reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The bytes to move in all.
    Total(u64),
    /// So many more bytes moved.
    Moved(u64),
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushReport {
    /// The box's answer to the activation.
    pub activated: Activated,
    /// Media files the box lacked and got.
    pub files_sent: usize,
    /// Media files the box already had.
    pub files_present: usize,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes an earlier, interrupted push had already delivered.
    pub bytes_resumed: u64,
    /// Seconds from first request to activation.
    pub seconds: f64,
}

/// Pushes the session in `dir` to the box as `name` and activates it.
pub fn push(
    client: &mut Client,
    dir: &SessionDir,
    name: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<PushReport, TransferError> {
    let sent = send(client, dir, name, progress)?;
    activate(client, sent, None)
}

/// A session staged on a box with all its media, ready to activate on the
/// same connection.
#[derive(Debug, Clone)]
pub struct Sent {
    name: String,
    manifest: ContentHash,
    files_sent: usize,
    files_present: usize,
    bytes_sent: u64,
    bytes_resumed: u64,
    started: Instant,
}

/// Stages the session in `dir` on the box as `name` and sends the media
/// it lacks; [`activate`] then makes it the box's active session.
pub fn send(
    client: &mut Client,
    dir: &SessionDir,
    name: &str,
    progress: &mut dyn FnMut(Progress),
) -> Result<Sent, TransferError> {
    let started = Instant::now();
    let (loaded, manifest) = dir.load_with_manifest()?;
    let show = loaded.show;
    let media = dir.media_folder(&show);
    // A missing file is a pre-show error on the host, not a show-time one.
    let missing = verify_media(&show, &media, false, &mut |_| {});
    if !missing.is_empty() {
        return Err(TransferError::LocalMedia(missing));
    }
    // Every distinct file with its size: the box checks them against its
    // free space before any byte is sent.
    let mut sizes = Vec::new();
    for hash in cuebox_session::store::activate::media_hashes(&show) {
        let path = file_of(&show, &media, &hash);
        let size = std::fs::metadata(&path)
            .map(|m| m.len())
            .map_err(io("read", &path))?;
        sizes.push((path, MediaSize { hash, size }));
    }
    let needs = match client.call(&Request::Stage {
        session: name.to_owned(),
        manifest: manifest.clone(),
        media: sizes.iter().map(|(_, m)| *m).collect(),
    })? {
        Response::Needs(n) => n,
        other => return Err(unexpected(&other)),
    };
    let distinct = sizes.len();
    let files: Vec<(PathBuf, u64, u64, ContentHash)> = needs
        .iter()
        .map(|need| {
            let (path, m) = sizes
                .iter()
                .find(|(_, m)| m.hash == need.hash)
                .ok_or_else(|| unexpected(&Response::Needs(needs.clone())))?;
            // A part longer than the file means the file changed: start over.
            let have = if need.have <= m.size { need.have } else { 0 };
            Ok((path.clone(), m.size, have, need.hash))
        })
        .collect::<Result<_, TransferError>>()?;
    progress(Progress::Total(
        files.iter().map(|(_, size, have, _)| size - have).sum(),
    ));
    let mut bytes_sent = 0;
    let mut bytes_resumed = 0;
    for (path, size, have, hash) in &files {
        bytes_resumed += have;
        bytes_sent += send_file(client, path, *hash, *have, *size, progress)?;
    }
    Ok(Sent {
        name: name.to_owned(),
        manifest: ContentHash::of_bytes(&manifest),
        files_sent: files.len(),
        files_present: distinct - files.len(),
        bytes_sent,
        bytes_resumed,
        started,
    })
}

/// Activates a session [`send`] staged on this connection: at once, or
/// when the box's clock reads `at_realtime_ns` (nanoseconds since the Unix
/// epoch; several boxes told one instant switch together).
pub fn activate(
    client: &mut Client,
    sent: Sent,
    at_realtime_ns: Option<u64>,
) -> Result<PushReport, TransferError> {
    let (session, manifest) = (sent.name, sent.manifest);
    let (request, wait) = match at_realtime_ns {
        None => (Request::Activate { session, manifest }, ACTIVATION_WAIT),
        Some(at_realtime_ns) => {
            let lead = at_realtime_ns.saturating_sub(realtime_ns());
            (
                Request::ActivateAt {
                    session,
                    manifest,
                    at_realtime_ns,
                },
                ACTIVATION_WAIT + std::time::Duration::from_nanos(lead),
            )
        }
    };
    let activated = match client.call_within(&request, wait)? {
        Response::Activated(a) => a,
        other => return Err(unexpected(&other)),
    };
    Ok(PushReport {
        activated,
        files_sent: sent.files_sent,
        files_present: sent.files_present,
        bytes_sent: sent.bytes_sent,
        bytes_resumed: sent.bytes_resumed,
        seconds: sent.started.elapsed().as_secs_f64(),
    })
}

/// This host's clock (CLOCK_REALTIME), nanoseconds since the Unix epoch:
/// what [`activate`]'s instant is read against.
pub fn realtime_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The file of the first clip with `hash`, one of the show's own.
fn file_of(show: &Show, media: &Path, hash: &ContentHash) -> PathBuf {
    show.clips
        .iter()
        .find(|c| c.audio.hash == *hash)
        .map(|c| media.join(c.audio.path.as_path()))
        .expect("the hash is one of the show's media")
}

/// Sends `path` from `offset`, pipelined, and has the box verify it.
fn send_file(
    client: &mut Client,
    path: &Path,
    hash: ContentHash,
    offset: u64,
    size: u64,
    progress: &mut dyn FnMut(Progress),
) -> Result<u64, TransferError> {
    let mut file = File::open(path).map_err(io("open", path))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(io("read", path))?;
    let mut at = offset;
    let mut in_flight = 0;
    // One buffer for every chunk: the request borrows it, nothing is copied.
    let mut data = vec![0; CHUNK];
    while at < size {
        // The error (and its path) is built only on failure: this runs per chunk.
        let n = read_full(&mut file, &mut data).map_err(|e| io("read", path)(e))?;
        if n == 0 {
            break; // the file shrank: the box's hash check will say so
        }
        client.send(&Request::Blob {
            hash,
            offset: at,
            data: &data[..n],
        })?;
        at += n as u64;
        in_flight += 1;
        progress(Progress::Moved(n as u64));
        if in_flight == WINDOW {
            expect_ack(client)?;
            in_flight -= 1;
        }
    }
    for _ in 0..in_flight {
        expect_ack(client)?;
    }
    match client.call(&Request::BlobEnd { hash })? {
        Response::Stored => Ok(at - offset),
        other => Err(unexpected(&other)),
    }
}

fn expect_ack(client: &mut Client) -> Result<(), TransferError> {
    match client.receive()? {
        Response::Ack { .. } => Ok(()),
        other => Err(unexpected(&other)),
    }
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn unexpected(r: &Response) -> TransferError {
    TransferError::Box(ClientError::Unexpected(format!("{r:?}")))
}

/// What a pull did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullReport {
    /// The session folder written.
    pub dir: PathBuf,
    /// Its clips.
    pub clips: usize,
    /// Media files fetched.
    pub files: usize,
    /// Media bytes fetched.
    pub bytes: u64,
}

/// The box's manifest of `session` and its media list.
pub fn manifest(
    client: &mut Client,
    session: &str,
) -> Result<(Vec<u8>, Vec<MediaEntry>), TransferError> {
    match client.call(&Request::Pull {
        session: session.to_owned(),
    })? {
        Response::Manifest { manifest, media } => Ok((manifest, media)),
        other => Err(unexpected(&other)),
    }
}

/// Pulls `session` from the box into a new session folder `out` (its media
/// in `out/media`), every file verified against its hash.
pub fn pull(
    client: &mut Client,
    session: &str,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<PullReport, TransferError> {
    let (manifest, media) = manifest(client, session)?;
    let mut show = Show::load(&manifest)
        .map_err(|error| StoreError::Load {
            path: PathBuf::from(format!("{session} (from the box)")),
            error,
        })?
        .show;
    show.session.media_folder = cuebox_session::store::activate::BOX_MEDIA.into();
    let folder = out.join(cuebox_session::store::activate::BOX_MEDIA);
    progress(Progress::Total(media.iter().map(|m| m.size).sum()));
    let mut bytes = 0;
    for entry in &media {
        let file = folder.join(&entry.path);
        fetch_file(client, entry, &file, progress)?;
        bytes += entry.size;
    }
    // The manifest last: a pull cut short leaves no session that looks whole.
    SessionDir::create(out, &show)?;
    Ok(PullReport {
        dir: out.to_owned(),
        clips: show.clips.len(),
        files: media.len(),
        bytes,
    })
}

fn fetch_file(
    client: &mut Client,
    entry: &MediaEntry,
    file: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), TransferError> {
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).map_err(io("create folder", parent))?;
    }
    let mut out = atomic_write_file::AtomicWriteFile::open(file).map_err(io("create", file))?;
    let mut hasher = blake3::Hasher::new();
    let mut at = 0;
    while at < entry.size {
        let len = (entry.size - at).min(CHUNK as u64) as u32;
        let data = match client.call(&Request::Fetch {
            hash: entry.hash,
            offset: at,
            len,
        })? {
            Response::Data(d) if !d.is_empty() => d,
            other => return Err(unexpected(&other)),
        };
        std::io::Write::write_all(&mut out, &data).map_err(|e| io("write", file)(e))?;
        hasher.update(&data);
        at += data.len() as u64;
        progress(Progress::Moved(data.len() as u64));
    }
    let found = ContentHash::from_bytes(*hasher.finalize().as_bytes());
    if found != entry.hash {
        return Err(TransferError::Corrupt {
            path: file.to_owned(),
            expected: entry.hash,
            found,
        });
    }
    Ok(out.commit().map_err(io("finish writing", file))?)
}

/// What the box answered a package export, once the package is downloaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Downloaded {
    /// Where the box keeps it, under its data root.
    pub box_file: String,
    /// Where it was written here.
    pub file: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its manifest.
    pub manifest: serde_json::Value,
}

/// Has the box pack `session` (`mode` and `what` as `hostctl package
/// export` takes them), keep the package, and downloads it to `out`,
/// verified against its hash and written atomically.
pub fn export_package(
    client: &mut Client,
    request: &Request<'_>,
    out: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<Downloaded, TransferError> {
    let (box_file, bytes, hash, manifest) = match client.call_within(request, ACTIVATION_WAIT)? {
        Response::Exported {
            file,
            bytes,
            hash,
            manifest,
        } => (file, bytes, hash, manifest),
        other => return Err(unexpected(&other)),
    };
    progress(Progress::Total(bytes));
    let entry = MediaEntry {
        path: box_file.clone(),
        hash,
        size: bytes,
    };
    fetch_file(client, &entry, out, progress)?;
    Ok(Downloaded {
        box_file,
        file: out.to_owned(),
        bytes,
        manifest: serde_json::from_slice(&manifest).unwrap_or_default(),
    })
}

/// Uploads the package `file` to the box (verified there against its
/// hash), then sends `import` (a [`Request::PackageImport`] naming it) and
/// returns what the box did.
pub fn import_package(
    client: &mut Client,
    file: &Path,
    import: impl FnOnce(ContentHash) -> Request<'static>,
    progress: &mut dyn FnMut(Progress),
) -> Result<crate::messages::Imported, TransferError> {
    let size = std::fs::metadata(file).map_err(io("read", file))?.len();
    let hash = cuebox_session::media::hash_file(file, &mut |_| ()).map_err(io("read", file))?;
    match client.call(&Request::PackageOffer { hash, size })? {
        Response::Ack { .. } => {}
        other => return Err(unexpected(&other)),
    }
    progress(Progress::Total(size));
    let mut f = File::open(file).map_err(io("open", file))?;
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0;
    while offset < size {
        let n = f.read(&mut buf).map_err(io("read", file))?;
        if n == 0 {
            break;
        }
        match client.call(&Request::Blob {
            hash,
            offset,
            data: &buf[..n],
        })? {
            Response::Ack { .. } => {}
            other => return Err(unexpected(&other)),
        }
        offset += n as u64;
        progress(Progress::Moved(n as u64));
    }
    match client.call(&Request::BlobEnd { hash })? {
        Response::Stored => {}
        other => return Err(unexpected(&other)),
    }
    match client.call_within(&import(hash), ACTIVATION_WAIT)? {
        Response::Imported(done) => Ok(*done),
        other => Err(unexpected(&other)),
    }
}
