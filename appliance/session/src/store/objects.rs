//! The box's content-addressed media store: every media file a pushed
//! session uses, once, named by its BLAKE3 hash.
//!
//! ```text
//! <root>/Objects/<hex>               complete, verified, read-only
//! <root>/Objects/incoming/<hex>.part  a transfer in progress (resumable)
//! ```
//!
//! A file arrives in order into its `.part`; an interrupted transfer
//! resumes at the part's length (its prefix re-hashed). Only a file whose
//! hash matches is renamed into place, after an fsync, so a crash or a cut
//! link never leaves a wrong object, only a part to resume.
//!
//! A push first *reserves* its media ([`ObjectStore::reserve`]): the sizes
//! its host declares are checked against the free space (less a margin and
//! what other pushes in progress still have to write) before a byte
//! arrives, and no file may grow past its declared size. The reservation
//! also keeps its files from [`ObjectStore::collect`], which removes the
//! objects no session links and the parts no push is using.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use cuebox_engine::show::ContentHash;

use super::error::{io, Result, StoreError};
use super::fs;

/// The store of one data root.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    dir: PathBuf,
    /// The newest transfer of each file. A link cut mid-transfer leaves the
    /// old connection's transfer alive until its socket times out; a resume
    /// on a new connection supersedes it, and every write checks, under
    /// this lock, that it is still the newest, so two never interleave.
    transfers: Arc<Mutex<HashMap<ContentHash, u64>>>,
    /// The media each push in progress reserved, by reservation id: what
    /// they still have to write, and what collection must keep.
    reservations: Arc<Mutex<Reservations>>,
}

/// The reservations of pushes in progress.
#[derive(Debug, Default)]
struct Reservations {
    next: u64,
    held: HashMap<u64, HashMap<ContentHash, u64>>,
}

impl Reservations {
    /// Every file some reservation names.
    fn hashes(&self) -> HashSet<ContentHash> {
        self.held.values().flat_map(|m| m.keys().copied()).collect()
    }
}

/// Bytes, written for people: exact, with MiB beside them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes ({:.1} MiB)",
            self.0,
            self.0 as f64 / f64::from(1 << 20)
        )
    }
}

/// The space of the file system holding the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an unprivileged writer may still use.
    pub free: u64,
    /// The file system's size.
    pub total: u64,
}

impl Space {
    /// The most kept free for the box's own writes (logs, saves, recovery
    /// points) whatever a push needs.
    pub const MAX_MARGIN: u64 = 256 << 20;

    /// The space of the file system holding `dir`.
    pub fn of(dir: &Path) -> Result<Space> {
        let s = nix::sys::statvfs::statvfs(dir)
            .map_err(|e| io("measure the free space of", dir)(io::Error::from(e)))?;
        let block = s.fragment_size();
        Ok(Space {
            free: s.blocks_available().saturating_mul(block),
            total: s.blocks().saturating_mul(block),
        })
    }

    /// What a push may not use: a twentieth of the file system, at most
    /// [`Space::MAX_MARGIN`].
    pub fn margin(&self) -> u64 {
        (self.total / 20).min(Self::MAX_MARGIN)
    }
}

/// A media file a push declares: its hash and size.
pub type Declared = (ContentHash, u64);

/// What a reservation found the store lacks: a file and the bytes of it an
/// interrupted transfer left (where its transfer resumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    /// The file.
    pub hash: ContentHash,
    /// Bytes already held.
    pub have: u64,
}

/// A push's media, reserved in the store until dropped: the files it may
/// upload, each capped at its declared size, kept from collection.
#[derive(Debug)]
pub struct Reservation {
    store: ObjectStore,
    id: u64,
    sizes: HashMap<ContentHash, u64>,
}

impl Reservation {
    /// The declared size of `hash`, if this push declared it.
    pub fn size(&self, hash: &ContentHash) -> Option<u64> {
        self.sizes.get(hash).copied()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        lock(&self.store.reservations).held.remove(&self.id);
    }
}

/// What a collection removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    /// Objects no session linked.
    pub objects: usize,
    /// Parts no push was using.
    pub parts: usize,
    /// Their bytes.
    pub bytes: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a transfer into the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The file system refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The box's disk is full; what arrived is kept for a resume.
    #[error("the box's disk is full after {received} bytes of {hash}; remove sessions the box no longer needs (hostctl session remove BOX NAME) and push again: the transfer resumes")]
    DiskFull {
        /// The file.
        hash: ContentHash,
        /// Bytes kept.
        received: u64,
    },
    /// A push needs more space than the box has; nothing was written.
    #[error("this push needs {} more on the box{}, but it has {} free, {} of which stay free for its logs and saves; remove sessions the box no longer needs (hostctl session remove BOX NAME) and push again", Bytes(*.needed), if *.others > 0 { format!(" (and other pushes in progress still need {})", Bytes(*.others)) } else { String::new() }, Bytes(*.free), Bytes(*.margin))]
    NoSpace {
        /// Bytes this push still has to write.
        needed: u64,
        /// Bytes other pushes in progress still have to write.
        others: u64,
        /// Bytes free.
        free: u64,
        /// Bytes kept free.
        margin: u64,
    },
    /// Bytes beyond the size the push declared for the file.
    #[error("{hash} was declared as {declared} bytes, but bytes up to {end} arrived; they were refused (the file changed on the host since the push began: push again)")]
    TooLong {
        /// The file.
        hash: ContentHash,
        /// Its declared size.
        declared: u64,
        /// Where the refused bytes would have ended.
        end: u64,
    },
    /// Bytes came for the wrong place in the file.
    #[error("{hash}: bytes for offset {offset} arrived, but {received} bytes are held; resume at {received}")]
    OutOfOrder {
        /// The file.
        hash: ContentHash,
        /// Where the bytes claimed to go.
        offset: u64,
        /// Where they should have gone.
        received: u64,
    },
    /// A newer transfer of the same file (a resume on another connection)
    /// took over.
    #[error("a newer transfer of {0} took over (a resume from another connection)")]
    Superseded(ContentHash),
    /// Bytes of a file the push did not declare.
    #[error("{0} is not media of the push staged on this connection; stage first")]
    Undeclared(ContentHash),
    /// The file arrived whole with another hash; it was discarded.
    #[error("the file sent as {expected} arrived with hash {found}: it changed on the host since it was added to the session (re-add the clip), or was damaged on the way; it was discarded, push again")]
    Corrupt {
        /// The hash it should have.
        expected: ContentHash,
        /// The hash it has.
        found: ContentHash,
    },
}

impl ObjectStore {
    /// The folder under the data root.
    pub const DIR: &'static str = "Objects";
    const INCOMING: &'static str = "incoming";

    /// Opens (creating) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        fs::ensure_dir(&dir.join(Self::INCOMING))?;
        Ok(ObjectStore {
            dir: dir.to_owned(),
            transfers: Arc::default(),
            reservations: Arc::default(),
        })
    }

    fn transfers(&self) -> MutexGuard<'_, HashMap<ContentHash, u64>> {
        lock(&self.transfers)
    }

    /// Reserves a push's media, `declared` (each file's hash and size), plus
    /// `extra` bytes it writes besides (its manifest and index): says which
    /// files the store lacks, or refuses, writing nothing, when the free
    /// space less the margin cannot hold what this push and every other
    /// push in progress still have to write. Parts no push is using are
    /// collected first when that makes the room.
    pub fn reserve(
        &self,
        declared: &[Declared],
        extra: u64,
    ) -> std::result::Result<(Reservation, Vec<Missing>), ObjectError> {
        let mut reservations = lock(&self.reservations);
        let sizes: HashMap<ContentHash, u64> = declared.iter().copied().collect();
        let missing: Vec<ContentHash> = declared
            .iter()
            .map(|(h, _)| *h)
            .filter(|h| !self.has(h))
            .collect();
        let to_write = |files: &mut dyn Iterator<Item = (ContentHash, u64)>| -> u64 {
            files
                .filter(|(h, _)| !self.has(h))
                .map(|(h, size)| size.saturating_sub(self.partial(&h)))
                .sum()
        };
        let mut others: HashMap<ContentHash, u64> = HashMap::new();
        for held in reservations.held.values() {
            others.extend(held.iter().filter(|(h, _)| !sizes.contains_key(h)));
        }
        let needed = to_write(&mut sizes.iter().map(|(h, s)| (*h, *s))).saturating_add(extra);
        let others = to_write(&mut others.into_iter());
        let fits = |space: Space| {
            needed.saturating_add(others).saturating_add(space.margin()) <= space.free
        };
        let mut space = Space::of(&self.dir)?;
        if !fits(space) {
            // Abandoned parts give way to a push that needs their room.
            let mut keep = reservations.hashes();
            keep.extend(sizes.keys());
            self.collect_locked(&keep, None)?;
            space = Space::of(&self.dir)?;
        }
        if !fits(space) {
            return Err(ObjectError::NoSpace {
                needed,
                others,
                free: space.free,
                margin: space.margin(),
            });
        }
        let id = reservations.next;
        reservations.next += 1;
        reservations.held.insert(id, sizes.clone());
        // Only now: a refused push stops no transfer still running.
        let missing = missing
            .into_iter()
            .map(|hash| Missing {
                hash,
                have: self.claim(&hash),
            })
            .collect();
        Ok((
            Reservation {
                store: self.clone(),
                id,
                sizes,
            },
            missing,
        ))
    }

    /// Removes every object no session folder links (its only link is the
    /// store's) and every part older than `parts_older_than`, keeping
    /// whatever a push in progress reserved.
    pub fn collect(&self, parts_older_than: Duration) -> Result<Collected> {
        let reservations = lock(&self.reservations);
        self.collect_locked(&reservations.hashes(), Some(parts_older_than))
    }

    /// [`ObjectStore::collect`] keeping `keep`, with the reservations held
    /// (no push can reserve what is being removed); `None` takes every part.
    fn collect_locked(
        &self,
        keep: &HashSet<ContentHash>,
        parts_older_than: Option<Duration>,
    ) -> Result<Collected> {
        let mut collected = Collected::default();
        let now = SystemTime::now();
        let incoming = self.dir.join(Self::INCOMING);
        for (dir, suffix) in [(&self.dir, ""), (&incoming, ".part")] {
            for entry in std::fs::read_dir(dir).map_err(io("list", dir))? {
                let entry = entry.map_err(io("list", dir))?;
                let name = entry.file_name();
                let Some(hash) = name
                    .to_str()
                    .and_then(|n| n.strip_suffix(suffix))
                    .and_then(unhex)
                else {
                    continue; // not the store's (the incoming folder, a stray file)
                };
                if keep.contains(&hash) {
                    continue;
                }
                let path = entry.path();
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                let unused = if suffix.is_empty() {
                    // A session's media are hard links of the object.
                    meta.is_file() && meta.nlink() == 1
                } else {
                    let age = meta
                        .modified()
                        .ok()
                        .and_then(|m| now.duration_since(m).ok())
                        .unwrap_or_default();
                    parts_older_than.is_none_or(|limit| age >= limit)
                };
                if unused {
                    std::fs::remove_file(&path).map_err(io("remove", &path))?;
                    collected.bytes += meta.len();
                    if suffix.is_empty() {
                        collected.objects += 1;
                    } else {
                        collected.parts += 1;
                    }
                }
            }
        }
        if collected != Collected::default() {
            fs::sync_dir(&self.dir)?;
            fs::sync_dir(&incoming)?;
        }
        Ok(collected)
    }

    /// Where the object `hash` is (or would be).
    pub fn path(&self, hash: &ContentHash) -> PathBuf {
        self.dir.join(hex(hash))
    }

    fn part(&self, hash: &ContentHash) -> PathBuf {
        self.dir
            .join(Self::INCOMING)
            .join(format!("{}.part", hex(hash)))
    }

    /// Takes `file`, whose bytes were verified to hash to `hash` (an
    /// imported package's media, on the store's file system), into the
    /// store as a hard link; a store that has `hash` keeps its own.
    pub fn adopt(&self, hash: &ContentHash, file: &Path) -> Result<()> {
        let object = self.path(hash);
        match std::fs::hard_link(file, &object) {
            Ok(()) => fs::sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io("take into the store", &object)(e)),
        }
    }

    /// Whether the store holds `hash`.
    pub fn has(&self, hash: &ContentHash) -> bool {
        self.path(hash).is_file()
    }

    /// How many bytes of `hash` an interrupted transfer left.
    pub fn partial(&self, hash: &ContentHash) -> u64 {
        std::fs::metadata(self.part(hash)).map_or(0, |m| m.len())
    }

    /// Stops any transfer of `hash` still open (on a connection whose link
    /// died) and says how many bytes it left: where a resume starts.
    pub fn claim(&self, hash: &ContentHash) -> u64 {
        let mut transfers = self.transfers();
        if let Some(g) = transfers.get_mut(hash) {
            *g += 1;
        }
        self.partial(hash)
    }

    /// Starts or resumes receiving `hash` at `offset`, which must be what
    /// [`ObjectStore::partial`] says (0 starts over), as the file its
    /// `reservation` declared (no byte past its declared size is taken).
    pub fn receive(
        &self,
        reservation: &Reservation,
        hash: ContentHash,
        offset: u64,
    ) -> std::result::Result<Upload, ObjectError> {
        let Some(declared) = reservation.size(&hash) else {
            return Err(ObjectError::Undeclared(hash));
        };
        // Held until the new transfer is registered: no older one writes meanwhile.
        let mut transfers = self.transfers();
        let part = self.part(&hash);
        let held = self.partial(&hash);
        let mut hasher = blake3::Hasher::new();
        let file = if offset == 0 {
            File::create(&part).map_err(io("create", &part))?
        } else if offset == held {
            // Resume: the prefix is re-hashed so the final check covers it.
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .open(&part)
                .map_err(io("open", &part))?;
            let mut prefix = (&mut f).take(held);
            io::copy(&mut prefix, &mut hasher).map_err(io("read", &part))?;
            f
        } else {
            return Err(ObjectError::OutOfOrder {
                hash,
                offset,
                received: held,
            });
        };
        let generation = transfers.get(&hash).map_or(0, |g| g + 1);
        transfers.insert(hash, generation);
        Ok(Upload {
            store: self.clone(),
            generation,
            hash,
            declared,
            flusher: Flusher::start(&file),
            file,
            hasher,
            received: offset,
            part,
        })
    }
}

/// A file arriving into the store.
#[derive(Debug)]
pub struct Upload {
    store: ObjectStore,
    generation: u64,
    hash: ContentHash,
    declared: u64,
    file: File,
    hasher: blake3::Hasher,
    received: u64,
    part: PathBuf,
    flusher: Flusher,
}

/// Flushes a file arriving over the network to disk while more of it
/// arrives, so the fsync that makes it durable at the end has little left
/// to do: without it the page cache holds the whole file (the kernel's
/// background writeback starts only at a tenth of RAM) and the transfer
/// stalls on one long fsync per file.
#[derive(Debug)]
struct Flusher {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    unflushed: u64,
}

impl Flusher {
    /// Bytes written between flushes.
    const EVERY: u64 = 16 << 20;

    fn start(file: &File) -> Self {
        let (wake, flushes) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = file.try_clone().ok().and_then(|f| {
            std::thread::Builder::new()
                .name("flush".into())
                .spawn(move || {
                    for () in flushes {
                        // An error here shows again in the final sync.
                        let _ = f.sync_data();
                    }
                })
                .ok()
        });
        Flusher {
            wake: Some(wake),
            thread,
            unflushed: 0,
        }
    }

    fn wrote(&mut self, bytes: u64) {
        self.unflushed += bytes;
        if self.unflushed >= Self::EVERY {
            self.unflushed = 0;
            // A flush still running covers these bytes or the next one will.
            if let Some(w) = &self.wake {
                let _ = w.try_send(());
            }
        }
    }

    fn stop(&mut self) {
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Upload {
    /// The file's hash.
    pub fn hash(&self) -> ContentHash {
        self.hash
    }

    /// Appends `data`, which must be for `offset`; returns the bytes held.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> std::result::Result<u64, ObjectError> {
        let _newest = newest(&self.store, self.hash, self.generation)?;
        if offset != self.received {
            return Err(ObjectError::OutOfOrder {
                hash: self.hash,
                offset,
                received: self.received,
            });
        }
        let end = offset + data.len() as u64;
        if end > self.declared {
            return Err(ObjectError::TooLong {
                hash: self.hash,
                declared: self.declared,
                end,
            });
        }
        if let Err(e) = self.file.write_all(data) {
            // A short write leaves the part longer than what we count;
            // cut it back so a resume starts at a whole chunk.
            let _ = self.file.set_len(self.received);
            return Err(if e.raw_os_error() == Some(nix::libc::ENOSPC) {
                ObjectError::DiskFull {
                    hash: self.hash,
                    received: self.received,
                }
            } else {
                io("write", &self.part)(e).into()
            });
        }
        self.hasher.update(data);
        self.received += data.len() as u64;
        self.flusher.wrote(data.len() as u64);
        Ok(self.received)
    }

    /// Verifies the whole file and puts it in the store. A file with the
    /// wrong hash is discarded.
    pub fn finish(mut self) -> std::result::Result<(), ObjectError> {
        self.flusher.stop();
        let mut transfers = newest(&self.store, self.hash, self.generation)?;
        transfers.remove(&self.hash);
        let found = ContentHash::from_bytes(*self.hasher.finalize().as_bytes());
        if found != self.hash {
            drop(self.file);
            let _ = std::fs::remove_file(&self.part);
            return Err(ObjectError::Corrupt {
                expected: self.hash,
                found,
            });
        }
        self.file.sync_all().map_err(io("sync", &self.part))?;
        // Objects are shared by every session that links them: read-only.
        let _ = std::fs::set_permissions(&self.part, std::fs::Permissions::from_mode(0o444));
        let object = self.store.path(&self.hash);
        std::fs::rename(&self.part, &object).map_err(io("store", &object))?;
        fs::sync_dir(&self.store.dir)?;
        Ok(())
    }
}

/// The transfer registry, if `generation` is still the newest transfer of
/// `hash`; holding it keeps it so.
fn newest(
    store: &ObjectStore,
    hash: ContentHash,
    generation: u64,
) -> std::result::Result<MutexGuard<'_, HashMap<ContentHash, u64>>, ObjectError> {
    let transfers = store.transfers();
    if transfers.get(&hash) != Some(&generation) {
        return Err(ObjectError::Superseded(hash));
    }
    Ok(transfers)
}

fn hex(hash: &ContentHash) -> String {
    blake3::Hash::from_bytes(*hash.as_bytes())
        .to_hex()
        .to_string()
}

/// The hash a store file is named after, if it is one.
fn unhex(name: &str) -> Option<ContentHash> {
    ContentHash::try_from(format!("blake3:{name}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_arrives_resumes_and_is_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
        let hash = ContentHash::of_bytes(&data);
        assert!(!store.has(&hash));
        let (r, missing) = store.reserve(&[(hash, 100_000)], 0).unwrap();
        assert_eq!(missing, [Missing { hash, have: 0 }]);

        let mut up = store.receive(&r, hash, 0).unwrap();
        up.write(0, &data[..30_000]).unwrap();
        drop(up); // the link is cut
        assert_eq!(store.partial(&hash), 30_000);
        assert!(matches!(
            store.receive(&r, hash, 10),
            Err(ObjectError::OutOfOrder {
                received: 30_000,
                ..
            })
        ));

        let mut up = store.receive(&r, hash, 30_000).unwrap();
        assert!(matches!(
            up.write(0, &data[..10]),
            Err(ObjectError::OutOfOrder { .. })
        ));
        assert_eq!(up.write(30_000, &data[30_000..]).unwrap(), 100_000);
        up.finish().unwrap();
        assert!(store.has(&hash));
        assert_eq!(std::fs::read(store.path(&hash)).unwrap(), data);
        assert_eq!(store.partial(&hash), 0);
    }

    #[test]
    fn a_resume_supersedes_a_transfer_left_open_by_a_dead_link() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let data = vec![9u8; 1000];
        let hash = ContentHash::of_bytes(&data);
        let (old, _) = store.reserve(&[(hash, 1000)], 0).unwrap();
        let mut stale = store.receive(&old, hash, 0).unwrap();
        stale.write(0, &data[..400]).unwrap();
        let (new, missing) = store.reserve(&[(hash, 1000)], 0).unwrap();
        assert_eq!(missing, [Missing { hash, have: 400 }]);
        let mut resumed = store.receive(&new, hash, 400).unwrap();
        // The old connection's buffered bytes arrive late: refused, not appended.
        assert!(matches!(
            stale.write(400, &data[400..600]),
            Err(ObjectError::Superseded(_))
        ));
        resumed.write(400, &data[400..]).unwrap();
        assert!(matches!(stale.finish(), Err(ObjectError::Superseded(_))));
        resumed.finish().unwrap();
        assert_eq!(std::fs::read(store.path(&hash)).unwrap(), data);
    }

    #[test]
    fn a_file_with_the_wrong_hash_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let claimed = ContentHash::of_bytes(b"the real file");
        let (r, _) = store.reserve(&[(claimed, 14)], 0).unwrap();
        let mut up = store.receive(&r, claimed, 0).unwrap();
        up.write(0, b"something else").unwrap();
        let e = up.finish().unwrap_err();
        assert!(matches!(e, ObjectError::Corrupt { expected, .. } if expected == claimed));
        assert!(!store.has(&claimed));
        assert_eq!(store.partial(&claimed), 0, "nothing half-stored is kept");
    }

    #[test]
    fn no_byte_past_the_declared_size_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(dir.path()).unwrap();
        let data = vec![3u8; 1000];
        let hash = ContentHash::of_bytes(&data);
        let (r, _) = store.reserve(&[(hash, 600)], 0).unwrap();
        let mut up = store.receive(&r, hash, 0).unwrap();
        up.write(0, &data[..600]).unwrap();
        let e = up.write(600, &data[600..]).unwrap_err();
        assert!(
            matches!(
                e,
                ObjectError::TooLong {
                    declared: 600,
                    end: 1000,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            format!("{hash} was declared as 600 bytes, but bytes up to 1000 arrived; they were refused (the file changed on the host since the push began: push again)")
        );
        assert_eq!(
            store.partial(&hash),
            600,
            "nothing past the declared size was written"
        );
        // A file the push did not declare is refused outright.
        let other = ContentHash::of_bytes(b"other");
        assert!(matches!(
            store.receive(&r, other, 0),
            Err(ObjectError::Undeclared(h)) if h == other
        ));
        assert_eq!(store.partial(&other), 0);
    }

    /// Stores `data` as a complete object through a reservation.
    fn store_object(store: &ObjectStore, data: &[u8]) -> ContentHash {
        let hash = ContentHash::of_bytes(data);
        let (r, _) = store.reserve(&[(hash, data.len() as u64)], 0).unwrap();
        let mut up = store.receive(&r, hash, 0).unwrap();
        up.write(0, data).unwrap();
        up.finish().unwrap();
        hash
    }

    /// Leaves `data[..n]` as a part of `data`, as a cut transfer does.
    fn leave_part(store: &ObjectStore, data: &[u8], n: usize) -> ContentHash {
        let hash = ContentHash::of_bytes(data);
        let (r, _) = store.reserve(&[(hash, data.len() as u64)], 0).unwrap();
        let mut up = store.receive(&r, hash, 0).unwrap();
        up.write(0, &data[..n]).unwrap();
        hash
    }

    #[test]
    fn collection_removes_unlinked_objects_and_stale_parts_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::open(&dir.path().join("Objects")).unwrap();
        let linked = store_object(&store, b"a session's media");
        let session_file = dir.path().join("session-media.wav");
        std::fs::hard_link(store.path(&linked), &session_file).unwrap();
        let orphan = store_object(&store, b"media no session uses any more");
        let reserved = store_object(&store, b"media a push in progress relies on");
        let (push, missing) = store
            .reserve(&[(reserved, 34), (ContentHash::of_bytes(b"coming"), 6)], 0)
            .unwrap();
        assert_eq!(missing.len(), 1, "the stored one is not asked for again");
        let stale = leave_part(&store, &[7u8; 5000], 3000);
        let reserved_part = leave_part(&store, b"coming", 2);
        let stray = dir.path().join("Objects/notes.txt");
        std::fs::write(&stray, b"not the store's").unwrap();

        // Young parts are kept for a resume.
        let c = store.collect(Duration::from_secs(3600)).unwrap();
        assert_eq!((c.objects, c.parts, c.bytes), (1, 0, 30));
        assert!(!store.has(&orphan));
        assert!(store.has(&linked) && store.has(&reserved));
        assert_eq!(store.partial(&stale), 3000);

        // Old enough: the abandoned part goes, the reserved one stays.
        let c = store.collect(Duration::ZERO).unwrap();
        assert_eq!((c.objects, c.parts, c.bytes), (0, 1, 3000));
        assert_eq!(store.partial(&stale), 0);
        assert_eq!(store.partial(&reserved_part), 2);
        assert!(store.has(&reserved) && stray.exists());
        assert_eq!(std::fs::read(&session_file).unwrap(), b"a session's media");

        // The push ends: what it reserved is no longer kept, unless linked.
        drop(push);
        let c = store.collect(Duration::ZERO).unwrap();
        assert_eq!((c.objects, c.parts), (1, 1));
        assert!(!store.has(&reserved) && store.has(&linked));
        std::fs::remove_file(&session_file).unwrap();
        assert_eq!(store.collect(Duration::ZERO).unwrap().objects, 1);
        assert!(!store.has(&linked));
    }
}
