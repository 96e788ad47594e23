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

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

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
}

/// Why a transfer into the store failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The file system refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The box's disk is full; what arrived is kept for a resume.
    #[error("the box's disk is full after {received} bytes of {hash}; free space (remove unused sessions) and push again: the transfer resumes")]
    DiskFull {
        /// The file.
        hash: ContentHash,
        /// Bytes kept.
        received: u64,
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
        })
    }

    fn transfers(&self) -> MutexGuard<'_, HashMap<ContentHash, u64>> {
        self.transfers.lock().unwrap_or_else(|p| p.into_inner())
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
    /// [`ObjectStore::partial`] says (0 starts over).
    pub fn receive(
        &self,
        hash: ContentHash,
        offset: u64,
    ) -> std::result::Result<Upload, ObjectError> {
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

        let mut up = store.receive(hash, 0).unwrap();
        up.write(0, &data[..30_000]).unwrap();
        drop(up); // the link is cut
        assert_eq!(store.partial(&hash), 30_000);
        assert!(matches!(
            store.receive(hash, 10),
            Err(ObjectError::OutOfOrder {
                received: 30_000,
                ..
            })
        ));

        let mut up = store.receive(hash, 30_000).unwrap();
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
        let mut stale = store.receive(hash, 0).unwrap();
        stale.write(0, &data[..400]).unwrap();
        assert_eq!(store.claim(&hash), 400);
        let mut resumed = store.receive(hash, 400).unwrap();
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
        let mut up = store.receive(claimed, 0).unwrap();
        up.write(0, b"something else").unwrap();
        let e = up.finish().unwrap_err();
        assert!(matches!(e, ObjectError::Corrupt { expected, .. } if expected == claimed));
        assert!(!store.has(&claimed));
        assert_eq!(store.partial(&claimed), 0, "nothing half-stored is kept");
    }
}
