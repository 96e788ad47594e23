//! A session folder: its manifest, metadata database, recovery points and
//! backups, and the manual save that keeps the previous manifest.

use std::path::{Path, PathBuf};

use cuebox_engine::show::{ContentHash, Loaded, Show, MAX_MANIFEST_BYTES};

use super::error::{Result, StoreError};
use super::fs;
use super::metadata::MetadataDb;

/// A session folder: `session.json`, `metadata.sqlite`, `autosave/` and
/// `backups/`, at any path (under a box's `Sessions/`, or anywhere on a host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDir {
    path: PathBuf,
}

/// A previous manual save kept in `backups/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    /// Increases with every backup of the session, whatever the clock says.
    pub seq: u64,
    /// When the save that replaced it happened.
    pub replaced_at: jiff::Timestamp,
    /// The file.
    pub path: PathBuf,
}

impl SessionDir {
    /// The manifest's file name.
    pub const MANIFEST: &'static str = "session.json";
    /// The metadata database's file name.
    pub const METADATA: &'static str = "metadata.sqlite";
    /// The recovery points' folder.
    pub const AUTOSAVE: &'static str = "autosave";
    /// The previous manual saves' folder.
    pub const BACKUPS: &'static str = "backups";
    /// How many previous manual saves are kept.
    pub const KEEP_BACKUPS: usize = 10;

    /// Creates a session in `path` (made if missing) holding `show`; refuses
    /// a folder that already has a `session.json`.
    pub fn create(path: &Path, show: &Show) -> Result<Self> {
        let dir = SessionDir {
            path: path.to_owned(),
        };
        fs::ensure_dir(path)?;
        if dir.manifest_path().exists() {
            return Err(StoreError::AlreadyExists {
                path: path.to_owned(),
            });
        }
        fs::ensure_dir(&dir.autosave_dir())?;
        fs::ensure_dir(&dir.backups_dir())?;
        let bytes = checked_json(show)?;
        fs::write_atomic(&dir.manifest_path(), &bytes)?;
        dir.index(show, &bytes)?;
        Ok(dir)
    }

    /// Opens the session in `path`, which must have a `session.json`.
    ///
    /// Removes temporary files a save killed mid-way left behind.
    pub fn open(path: &Path) -> Result<Self> {
        let dir = SessionDir {
            path: path.to_owned(),
        };
        if !dir.manifest_path().is_file() {
            return Err(StoreError::NotASession {
                path: path.to_owned(),
            });
        }
        fs::sweep_temporaries(path, |n| n == Self::MANIFEST || n == Self::RUNTIME)?;
        fs::sweep_temporaries(&dir.backups_dir(), |n| n.ends_with(".json"))?;
        fs::sweep_temporaries(&dir.autosave_dir(), |n| n.ends_with(".json"))?;
        Ok(dir)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `session.json`.
    pub fn manifest_path(&self) -> PathBuf {
        self.path.join(Self::MANIFEST)
    }

    /// `metadata.sqlite`.
    pub fn metadata_path(&self) -> PathBuf {
        self.path.join(Self::METADATA)
    }

    /// `autosave/`.
    pub fn autosave_dir(&self) -> PathBuf {
        self.path.join(Self::AUTOSAVE)
    }

    /// `backups/`.
    pub fn backups_dir(&self) -> PathBuf {
        self.path.join(Self::BACKUPS)
    }

    /// The media folder `show` names: absolute as written, or relative to the
    /// session folder.
    pub fn media_folder(&self, show: &Show) -> PathBuf {
        // Joining an absolute path replaces the base, which is what we want.
        self.path.join(&show.session.media_folder)
    }

    /// Reads the manifest, refusing files over the engine's limit before
    /// reading them whole; errors name the file.
    pub fn load(&self) -> Result<Loaded> {
        fs::load_manifest(&self.manifest_path()).map(|(loaded, _)| loaded)
    }

    /// Reads the manifest once and returns its parse with its bytes: for
    /// whoever needs both (a push sends the bytes and checks the show's
    /// media), so the two can never come from different versions.
    pub fn load_with_manifest(&self) -> Result<(Loaded, Vec<u8>)> {
        fs::load_manifest(&self.manifest_path())
    }

    /// The raw bytes of the manifest, bounded by the engine's limit.
    pub fn read_manifest(&self) -> Result<Vec<u8>> {
        fs::read_manifest(&self.manifest_path())
    }

    /// Opens the metadata database (creating or migrating it).
    pub fn metadata(&self) -> Result<MetadataDb> {
        Ok(MetadataDb::open(&self.metadata_path())?)
    }

    /// A manual save: keeps the current manifest in `backups/` (the newest
    /// [`SessionDir::KEEP_BACKUPS`]), replaces it atomically with `show`, then
    /// re-indexes the metadata database.
    ///
    /// A crash at any instant leaves the old or the new manifest in place,
    /// never a torn one; backups are written the same way.
    pub fn save(&self, show: &Show) -> Result<()> {
        let bytes = checked_json(show)?;
        self.replace_manifest(show, &bytes)
    }

    /// Writes `bytes` as the manifest and indexes `show` (their parse), with
    /// the current manifest backed up first.
    pub(crate) fn replace_manifest(&self, show: &Show, bytes: &[u8]) -> Result<()> {
        self.back_up_current()?;
        self.write_manifest(show, bytes)
    }

    /// Writes `bytes` as the manifest and indexes `show`, with no backup:
    /// for the edit history, whose steps keep what is replaced.
    pub(crate) fn write_manifest(&self, show: &Show, bytes: &[u8]) -> Result<()> {
        fs::write_atomic(&self.manifest_path(), bytes)?;
        self.index(show, bytes)
    }

    /// [`SessionDir::save`] with no backup (the edit history keeps the
    /// manifest replaced).
    pub(crate) fn save_unbacked(&self, show: &Show) -> Result<()> {
        let bytes = checked_json(show)?;
        self.write_manifest(show, &bytes)
    }

    fn index(&self, show: &Show, bytes: &[u8]) -> Result<()> {
        let hash = ContentHash::of_bytes(bytes);
        MetadataDb::open(&self.metadata_path())
            .and_then(|mut db| db.index_show_as(show, &hash))
            .map_err(|source| StoreError::IndexAfterSave {
                manifest: self.manifest_path(),
                source,
            })
    }

    /// The previous manual saves, oldest first.
    pub fn backups(&self) -> Result<Vec<Backup>> {
        let dir = self.backups_dir();
        let mut out: Vec<Backup> = fs::json_stems(&dir)?
            .into_iter()
            .filter_map(|stem| {
                let (stamp, seq) = stem.rsplit_once('-')?;
                Some(Backup {
                    seq: seq.parse().ok()?,
                    replaced_at: fs::parse_stamp(stamp)?,
                    path: dir.join(format!("{stem}.json")),
                })
            })
            .collect();
        out.sort_by_key(|b| b.seq);
        Ok(out)
    }

    /// Copies the current manifest into `backups/`, unless the newest backup
    /// already holds the same bytes, then drops all but the newest
    /// [`SessionDir::KEEP_BACKUPS`].
    fn back_up_current(&self) -> Result<()> {
        let current = match self.read_manifest() {
            Ok(bytes) => bytes,
            // Nothing to keep; a save must still be able to replace a damaged file.
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(())
            }
            Err(StoreError::TooLarge { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let dir = self.backups_dir();
        fs::ensure_dir(&dir)?;
        let backups = self.backups()?;
        let newest = backups.last();
        let unchanged = match newest {
            Some(b) => fs::read_manifest(&b.path).is_ok_and(|prev| prev == current),
            None => false,
        };
        if !unchanged {
            let seq = newest.map_or(1, |b| b.seq + 1);
            let name = format!("{}-{seq:06}.json", fs::stamp(jiff::Timestamp::now()));
            fs::write_atomic(&dir.join(name), &current)?;
        }
        let backups = self.backups()?;
        let excess = backups.len().saturating_sub(Self::KEEP_BACKUPS);
        if excess > 0 {
            for old in &backups[..excess] {
                fs::remove_file(&old.path)?;
            }
            fs::sync_dir(&dir)?;
        }
        Ok(())
    }
}

/// The manifest of `show`, refused if the engine could not load it back.
fn checked_json(show: &Show) -> Result<Vec<u8>> {
    let bytes = show.to_json();
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(StoreError::ShowTooLarge {
            size: bytes.len() as u64,
            max: MAX_MANIFEST_BYTES as u64,
        });
    }
    Ok(bytes)
}
