//! Recovery points: snapshots of a session in its `autosave/` folder, named
//! `<UTC time>-<seq>-<reason>.json`, and restoring one as the session.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use cuebox_engine::show::Loaded;

use super::autosave::Retention;
use super::error::{Result, StoreError};
use super::fs;
use super::session::SessionDir;

/// Why a recovery point was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SaveReason {
    /// The periodic save found unsaved changes.
    Periodic,
    /// A significant change settled (or waited too long).
    Change,
    /// Just before a risky operation.
    BeforeRisky,
    /// On a termination signal or a panic.
    Emergency,
    /// The session as it was before a recovery point was restored over it.
    BeforeRestore,
    /// The run ended as asked (its time was up): nothing went wrong.
    EndOfRun,
}

impl SaveReason {
    /// Every reason.
    pub const ALL: [SaveReason; 6] = [
        SaveReason::Periodic,
        SaveReason::Change,
        SaveReason::BeforeRisky,
        SaveReason::Emergency,
        SaveReason::BeforeRestore,
        SaveReason::EndOfRun,
    ];

    /// The reason as it appears in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            SaveReason::Periodic => "periodic",
            SaveReason::Change => "change",
            SaveReason::BeforeRisky => "before-risky",
            SaveReason::Emergency => "emergency",
            SaveReason::BeforeRestore => "before-restore",
            SaveReason::EndOfRun => "end-of-run",
        }
    }

    /// Whether retention keeps these for [`Retention::protect_for`] whatever
    /// else it keeps: they record the state at a crash, or the only way back
    /// from a restore that went wrong.
    pub fn is_protected(self) -> bool {
        matches!(self, SaveReason::Emergency | SaveReason::BeforeRestore)
    }
}

impl fmt::Display for SaveReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SaveReason {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        SaveReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(())
    }
}

/// A recovery point in a session's `autosave/` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryPoint {
    /// Its id: the file name without `.json`.
    pub id: String,
    /// When it was written.
    pub at: jiff::Timestamp,
    /// Its sequence number, increasing within the session.
    pub seq: u64,
    /// Why it was written.
    pub reason: SaveReason,
    /// The file.
    pub path: PathBuf,
}

impl RecoveryPoint {
    /// The id of a point written at `at` with sequence `seq` for `reason`.
    pub fn make_id(at: jiff::Timestamp, seq: u64, reason: SaveReason) -> String {
        format!("{}-{seq:06}-{reason}", fs::stamp(at))
    }

    /// Parses an id; `None` for names the store did not write.
    pub fn parse_id(id: &str) -> Option<(jiff::Timestamp, u64, SaveReason)> {
        let (stamp, rest) = id.split_once('-')?;
        let (seq, reason) = rest.split_once('-')?;
        Some((
            fs::parse_stamp(stamp)?,
            seq.parse().ok()?,
            reason.parse().ok()?,
        ))
    }

    /// Reads the snapshot, refusing files over the engine's limit.
    pub fn load(&self) -> Result<Loaded> {
        fs::load_manifest(&self.path).map(|(loaded, _)| loaded)
    }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The point now in `session.json`.
    pub restored: RecoveryPoint,
    /// The point holding the session as it was before.
    pub before: RecoveryPoint,
}

impl SessionDir {
    /// The recovery points, oldest first; files whose names the store did not
    /// write are ignored.
    pub fn recovery_points(&self) -> Result<Vec<RecoveryPoint>> {
        let dir = self.autosave_dir();
        let mut out: Vec<RecoveryPoint> = fs::json_stems(&dir)?
            .into_iter()
            .filter_map(|id| {
                let (at, seq, reason) = RecoveryPoint::parse_id(&id)?;
                Some(RecoveryPoint {
                    path: dir.join(format!("{id}.json")),
                    id,
                    at,
                    seq,
                    reason,
                })
            })
            .collect();
        out.sort_by_key(|p| (p.at, p.seq));
        Ok(out)
    }

    /// The sequence number the next recovery point should have.
    pub fn next_recovery_seq(&self) -> Result<u64> {
        Ok(self
            .recovery_points()?
            .iter()
            .map(|p| p.seq + 1)
            .max()
            .unwrap_or(1))
    }

    /// Writes `manifest` (a serialized show) as a recovery point, atomically.
    pub fn write_recovery_point(
        &self,
        manifest: &[u8],
        reason: SaveReason,
        at: jiff::Timestamp,
        seq: u64,
    ) -> Result<RecoveryPoint> {
        let dir = self.autosave_dir();
        fs::ensure_dir(&dir)?;
        let id = RecoveryPoint::make_id(at, seq, reason);
        let path = dir.join(format!("{id}.json"));
        fs::write_atomic(&path, manifest)?;
        Ok(RecoveryPoint {
            id,
            at: fs::parse_stamp(&fs::stamp(at)).unwrap_or(at),
            seq,
            reason,
            path,
        })
    }

    /// The recovery point named by its full id, or by its sequence number
    /// when only one point has it.
    pub fn find_recovery_point(&self, id: &str) -> Result<RecoveryPoint> {
        let points = self.recovery_points()?;
        if let Some(p) = points.iter().find(|p| p.id == id) {
            return Ok(p.clone());
        }
        let matches: Vec<_> = match id.parse::<u64>() {
            Ok(seq) => points.into_iter().filter(|p| p.seq == seq).collect(),
            Err(_) => Vec::new(),
        };
        match matches.len() {
            1 => Ok(matches.into_iter().next().expect("one match")),
            0 => Err(StoreError::NoSuchRecoveryPoint {
                session: self.path().to_owned(),
                id: id.to_owned(),
            }),
            count => Err(StoreError::AmbiguousRecoveryPoint {
                session: self.path().to_owned(),
                id: id.to_owned(),
                count,
            }),
        }
    }

    /// Makes the recovery point `id` the session: first keeps the current
    /// manifest as a `before-restore` point (its raw bytes, so even a damaged
    /// manifest is kept), then writes the point as `session.json` atomically
    /// (with the usual backup) and re-indexes the metadata; the live state
    /// (`runtime.json`) gives way to the point's.
    ///
    /// A point that does not load is refused and nothing changes.
    pub fn restore(&self, id: &str, now: jiff::Timestamp) -> Result<Restored> {
        let point = self.find_recovery_point(id)?;
        let (loaded, bytes) = fs::load_manifest(&point.path)?;
        let current = self.read_manifest()?;
        let before = self.write_recovery_point(
            &current,
            SaveReason::BeforeRestore,
            now,
            self.next_recovery_seq()?,
        )?;
        self.replace_manifest(&loaded.show, &bytes)?;
        // The point's live state is the one restored, not the latest.
        self.forget_runtime()?;
        Ok(Restored {
            restored: point,
            before,
        })
    }

    /// Deletes the recovery points `retention` does not keep at `now`;
    /// returns those deleted.
    pub fn prune_recovery_points(
        &self,
        retention: &Retention,
        now: jiff::Timestamp,
    ) -> Result<Vec<RecoveryPoint>> {
        let points = self.recovery_points()?;
        let keep = retention.kept(&points, now);
        let mut removed = Vec::new();
        for (point, keep) in points.into_iter().zip(keep) {
            if !keep {
                fs::remove_file(&point.path)?;
                removed.push(point);
            }
        }
        if !removed.is_empty() {
            fs::sync_dir(&self.autosave_dir())?;
        }
        Ok(removed)
    }
}
