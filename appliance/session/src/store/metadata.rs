//! The session's metadata database (`metadata.sqlite`): clip information and
//! markers indexed from the manifest for queries, and the usage history that
//! performing-rights reports are built from; audio fingerprints and the
//! audit trail of media recovery.
//!
//! The clip tables are derived data — [`MetadataDb::index_show`] rebuilds them
//! from the manifest on every save — but the usage history exists only here,
//! so schema changes are explicit, ordered migrations that keep it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::media::Fingerprint;
use cuebox_engine::show::{
    AudioFormat, ClipId, ContentHash, CueRange, Extra, Frames, Group, LoopRegion, MediaPath,
    RightsMetadata, Show, Trim, WarpMarker,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

/// Why the metadata database failed.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// SQLite reported an error.
    #[error("cannot {action} in the metadata database {}", path.display())]
    Sqlite {
        /// What was being done.
        action: &'static str,
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// A schema migration step failed; the database was left as it was.
    #[error(
        "cannot migrate the metadata database {} to schema version {version} ({what}); it \
         was left unchanged",
        path.display()
    )]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version the failed step leads to.
        version: u32,
        /// What the step does.
        what: &'static str,
        /// SQLite's reason.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// Written by a newer cuebox whose schema this version does not know.
    #[error(
        "the metadata database {} has schema version {found}, but this cuebox knows only up \
         to {known}: it was written by a newer cuebox. Update cuebox; or, to use this version, \
         move the file aside (its usage history stays in the moved file) and it is rebuilt \
         from session.json at the next save",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
    /// A row that does not hold what the schema promises (edited by hand, or damaged).
    #[error(
        "the metadata database {} holds a damaged row in {table}: {detail}; move the file \
         aside and it is rebuilt from session.json at the next save",
        path.display()
    )]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
}

type Result<T, E = MetadataError> = std::result::Result<T, E>;

/// One step of the schema's history. Released steps are never edited: a change
/// is a new step appended to [`MIGRATIONS`], so every older database can be
/// brought forward by running the steps it has not had.
struct Migration {
    /// What it does, for the reader and for error messages.
    what: &'static str,
    sql: &'static str,
}

/// The schema's history; `PRAGMA user_version` is the number of steps applied.
const MIGRATIONS: &[Migration] = &[
    Migration {
        what: "clip information and markers, indexed from the manifest",
        sql: "
            CREATE TABLE clips (
                id           TEXT PRIMARY KEY,
                name         TEXT NOT NULL,
                clip_group   TEXT NOT NULL,
                media_path   TEXT NOT NULL,
                content_hash TEXT NOT NULL,
                channels     INTEGER NOT NULL,
                sample_rate  INTEGER NOT NULL,
                bit_depth    INTEGER,
                frames       INTEGER NOT NULL,
                codec        TEXT NOT NULL,
                title        TEXT,
                artist       TEXT,
                composer     TEXT,
                publisher    TEXT,
                isrc         TEXT,
                iswc         TEXT,
                pro          TEXT
            );
            CREATE INDEX clips_by_hash ON clips(content_hash);
            CREATE TABLE markers (
                clip_id      TEXT PRIMARY KEY REFERENCES clips(id) ON DELETE CASCADE,
                cue_start    INTEGER NOT NULL,
                cue_end      INTEGER,
                loop_start   INTEGER,
                loop_end     INTEGER,
                loop_enabled INTEGER
            );
            CREATE TABLE warp_markers (
                clip_id  TEXT NOT NULL REFERENCES clips(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                frame    INTEGER NOT NULL,
                beat     REAL NOT NULL,
                PRIMARY KEY (clip_id, position)
            );
        ",
    },
    Migration {
        what: "usage history: every play, for performing-rights reports",
        // No foreign key to clips: a play stays on record after its clip is deleted.
        sql: "
            CREATE TABLE usage (
                id          INTEGER PRIMARY KEY,
                clip_id     TEXT NOT NULL,
                started_us  INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL,
                context     TEXT NOT NULL
            );
            CREATE INDEX usage_by_time ON usage(started_us);
            CREATE INDEX usage_by_clip ON usage(clip_id, started_us);
        ",
    },
    Migration {
        what: "which manifest the clip tables were built from, to detect a stale index",
        sql: "
            CREATE TABLE index_state (
                id            INTEGER PRIMARY KEY CHECK (id = 1),
                manifest_hash TEXT NOT NULL,
                indexed_us    INTEGER NOT NULL
            );
        ",
    },
    Migration {
        what: "encoder delay and padding per clip, for sample-accurate AAC and ADPCM cues",
        sql: "
            ALTER TABLE clips ADD COLUMN trim_start INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE clips ADD COLUMN trim_end INTEGER NOT NULL DEFAULT 0;
        ",
    },
    Migration {
        what: "audio fingerprints by content hash, and the audit trail of media recovery",
        // Neither is derived from the manifest: a fingerprint can only be
        // taken while the file is there, and decisions are history.
        sql: "
            CREATE TABLE fingerprints (
                content_hash TEXT PRIMARY KEY,
                blocks       BLOB NOT NULL,
                recorded_us  INTEGER NOT NULL
            );
            CREATE TABLE media_audit (
                id             INTEGER PRIMARY KEY,
                at_us          INTEGER NOT NULL,
                clip_id        TEXT NOT NULL,
                missing_path   TEXT NOT NULL,
                candidate      TEXT NOT NULL,
                candidate_hash TEXT,
                verdict        TEXT NOT NULL,
                decision       TEXT NOT NULL,
                reasons        TEXT NOT NULL
            );
            CREATE INDEX media_audit_by_clip ON media_audit(clip_id, id);
        ",
    },
];

/// What was decided about a recovery candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The operator chose it.
    Accepted,
    /// The operator turned it down.
    Refused,
    /// A batch (`--accept best`) chose it.
    Automatic,
}

impl Decision {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accepted => "accepted",
            Decision::Refused => "refused",
            Decision::Automatic => "automatic",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Decision::Accepted, Decision::Refused, Decision::Automatic]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// One recovery decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// The clip.
    pub clip: ClipId,
    /// Its file as it was recorded (the one that went missing or changed).
    pub missing_path: String,
    /// The candidate file.
    pub candidate: String,
    /// The candidate's content hash, when read.
    pub candidate_hash: Option<ContentHash>,
    /// How sure recovery was (`exact`, `same_audio`, `unverified`, `refused`).
    pub verdict: String,
    /// What was decided.
    pub decision: Decision,
    /// The reasons, one line each.
    pub reasons: Vec<String>,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    /// Row id, increasing.
    pub id: i64,
    /// When it was decided.
    pub at: jiff::Timestamp,
    /// The decision.
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// A clip as the database records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipRecord {
    /// The clip's id.
    pub id: ClipId,
    /// Its name.
    pub name: String,
    /// Its group.
    pub group: Group,
    /// Its file, relative to the media folder.
    pub media_path: MediaPath,
    /// The hash of the file's bytes.
    pub hash: ContentHash,
    /// What the file holds (fields unknown to this version are not indexed).
    pub format: AudioFormat,
    /// Rights metadata (fields unknown to this version are not indexed).
    pub rights: RightsMetadata,
}

/// A clip's markers as the database records them.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerRecord {
    /// Cue start and end.
    pub cue: CueRange,
    /// The loop, if any.
    pub loop_region: Option<LoopRegion>,
    /// Warp markers in order.
    pub warp_markers: Vec<WarpMarker>,
}

/// One play of a clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// The clip played.
    pub clip: ClipId,
    /// When it started.
    pub started_at: jiff::Timestamp,
    /// How long it played (kept to the millisecond).
    pub duration: Duration,
    /// Where the play came from (a button, a cue list, OSC, timecode …).
    pub context: String,
}

/// A play as recorded, with its row id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// Row id, increasing with every record.
    pub id: i64,
    /// The play (its start kept to the microsecond).
    pub usage: Usage,
}

/// An open metadata database.
#[derive(Debug)]
pub struct MetadataDb {
    conn: Connection,
    path: PathBuf,
}

impl MetadataDb {
    /// The schema version this build writes.
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// How long a write waits for another process's write to finish (cueboxd
    /// and hostctl, or the player and a save, may write at the same moment).
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// Opens or creates the database at `path` and brings its schema up to date.
    ///
    /// A database whose schema is newer than this build's is refused untouched.
    pub fn open(path: &Path) -> Result<Self> {
        let sql = |action| {
            let path = path.to_owned();
            move |source| MetadataError::Sqlite {
                action,
                path,
                source: Box::new(source),
            }
        };
        let conn = Connection::open(path).map_err(sql("open the database"))?;
        conn.busy_timeout(Self::BUSY_TIMEOUT)
            .map_err(sql("set the busy timeout"))?;
        let mut db = MetadataDb {
            conn,
            path: path.to_owned(),
        };
        // Refuse a newer schema before changing anything about the file.
        let found = db.schema_version()?;
        db.check_not_newer(found)?;
        // WAL: readers (reports, hostctl) never block the writer, and a commit
        // is one append to the log.
        let mode: String = db
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sql("switch to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(MetadataError::Sqlite {
                action: "switch to WAL mode",
                path: path.to_owned(),
                source: Box::new(rusqlite::Error::InvalidQuery),
            });
        }
        // FULL rather than NORMAL: in WAL mode NORMAL can lose the last commits
        // on power loss. The clip index would be rebuilt from the manifest, but
        // a lost play is a lost line on a royalty report, and commits are rare
        // (one per play, one per save), so an fsync each costs nothing audible.
        db.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sql("set synchronous mode"))?;
        db.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(sql("enable foreign keys"))?;
        db.migrate()?;
        Ok(db)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.sql("read the schema version"))
    }

    fn check_not_newer(&self, found: u32) -> Result<()> {
        if found > Self::SCHEMA_VERSION {
            return Err(MetadataError::NewerSchema {
                path: self.path.clone(),
                found,
                known: Self::SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Runs the steps the file has not had, all in one transaction: a failure
    /// or a crash leaves the old schema intact.
    fn migrate(&mut self) -> Result<()> {
        let path = self.path.clone();
        // `self.sql` would borrow self, which the transaction holds.
        let sql = |action| sql_error(path.clone(), action);
        // IMMEDIATE takes the write lock first, so two processes opening an old
        // database cannot both migrate it.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("start the schema migration"))?;
        let found: u32 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql("read the schema version"))?;
        if found > Self::SCHEMA_VERSION {
            return Err(MetadataError::NewerSchema {
                path,
                found,
                known: Self::SCHEMA_VERSION,
            });
        }
        if found == Self::SCHEMA_VERSION {
            return Ok(());
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(step.sql)
                .map_err(|source| MetadataError::Migration {
                    path: path.clone(),
                    version: i as u32 + 1,
                    what: step.what,
                    source: Box::new(source),
                })?;
        }
        // user_version lives in the file header and commits with the transaction.
        tx.pragma_update(None, "user_version", Self::SCHEMA_VERSION)
            .map_err(sql("record the schema version"))?;
        tx.commit().map_err(sql("commit the schema migration"))
    }

    fn sql(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> MetadataError {
        sql_error(self.path.clone(), action)
    }

    fn damaged(&self, table: &'static str, detail: impl ToString) -> MetadataError {
        MetadataError::Damaged {
            path: self.path.clone(),
            table,
            detail: detail.to_string(),
        }
    }

    /// Replaces the clip information and markers with those of `show`, in one
    /// transaction, and records which manifest they came from.
    pub fn index_show(&mut self, show: &Show) -> Result<()> {
        let hash = ContentHash::of_bytes(&show.to_json());
        self.index_show_as(show, &hash)
    }

    /// [`MetadataDb::index_show`] for a show whose manifest bytes hash to `hash`.
    pub(crate) fn index_show_as(&mut self, show: &Show, hash: &ContentHash) -> Result<()> {
        let path = self.path.clone();
        let sql = |action| sql_error(path.clone(), action);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("start indexing"))?;
        write_index(&tx, show, hash).map_err(sql("index the show"))?;
        tx.commit().map_err(sql("commit the index"))
    }

    /// The hash of the manifest the clip tables were last built from.
    pub fn indexed_manifest(&self) -> Result<Option<ContentHash>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT manifest_hash FROM index_state WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql("read the index state"))?;
        text.map(|t| ContentHash::try_from(t).map_err(|e| self.damaged("index_state", e)))
            .transpose()
    }

    /// Re-indexes `show` if the tables were built from a different manifest
    /// (a save interrupted between the manifest and the index); returns whether
    /// it did.
    pub fn index_if_stale(&mut self, show: &Show) -> Result<bool> {
        let hash = ContentHash::of_bytes(&show.to_json());
        if self.indexed_manifest()? == Some(hash) {
            return Ok(false);
        }
        self.index_show_as(show, &hash)?;
        Ok(true)
    }

    /// Every indexed clip, by id.
    pub fn clips(&self) -> Result<Vec<ClipRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, name, clip_group, media_path, content_hash, channels, sample_rate,
                        bit_depth, frames, codec, title, artist, composer, publisher, isrc,
                        iswc, pro, trim_start, trim_end
                 FROM clips ORDER BY id",
            )
            .map_err(self.sql("read clips"))?;
        type Row = (
            String,
            String,
            String,
            String,
            String,
            u16,
            u32,
            Option<u16>,
            i64,
            String,
            [Option<String>; 7],
            [i64; 2],
        );
        let rows = stmt
            .query_map([], |r| {
                Ok::<Row, _>((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    [
                        r.get(10)?,
                        r.get(11)?,
                        r.get(12)?,
                        r.get(13)?,
                        r.get(14)?,
                        r.get(15)?,
                        r.get(16)?,
                    ],
                    [r.get(17)?, r.get(18)?],
                ))
            })
            .map_err(self.sql("read clips"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, group, media, hash, channels, rate, bits, frames, codec, rights, trim) =
                row.map_err(self.sql("read clips"))?;
            let [title, artist, composer, publisher, isrc, iswc, pro] = rights;
            out.push(ClipRecord {
                id: id.parse().map_err(|e| self.damaged("clips", e))?,
                name,
                group: group.parse().map_err(|e| self.damaged("clips", e))?,
                media_path: MediaPath::try_from(media).map_err(|e| self.damaged("clips", e))?,
                hash: ContentHash::try_from(hash).map_err(|e| self.damaged("clips", e))?,
                format: AudioFormat {
                    channels: channels.try_into().map_err(|e| self.damaged("clips", e))?,
                    sample_rate: rate,
                    bit_depth: bits,
                    frames: frames_from_sql(frames),
                    codec,
                    trim: Trim {
                        start: frames_from_sql(trim[0]).0,
                        end: frames_from_sql(trim[1]).0,
                    },
                    extra: Extra::new(),
                },
                rights: RightsMetadata {
                    title,
                    artist,
                    composer,
                    publisher,
                    isrc,
                    iswc,
                    pro,
                    extra: Extra::new(),
                },
            });
        }
        Ok(out)
    }

    /// The markers of a clip, if it is indexed.
    pub fn markers(&self, clip: &ClipId) -> Result<Option<MarkerRecord>> {
        type Row = (i64, Option<i64>, Option<i64>, Option<i64>, Option<bool>);
        let row: Option<Row> = self
            .conn
            .query_row(
                "SELECT cue_start, cue_end, loop_start, loop_end, loop_enabled
                 FROM markers WHERE clip_id = ?1",
                [clip.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(self.sql("read markers"))?;
        let Some((cue_start, cue_end, loop_start, loop_end, loop_enabled)) = row else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare("SELECT frame, beat FROM warp_markers WHERE clip_id = ?1 ORDER BY position")
            .map_err(self.sql("read warp markers"))?;
        let warp_markers = stmt
            .query_map([clip.as_str()], |r| {
                Ok(WarpMarker {
                    frame: frames_from_sql(r.get(0)?),
                    beat: r.get(1)?,
                    extra: Extra::new(),
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sql("read warp markers"))?;
        let loop_region = match (loop_start, loop_end) {
            (Some(start), Some(end)) => Some(LoopRegion {
                start: frames_from_sql(start),
                end: frames_from_sql(end),
                enabled: loop_enabled.unwrap_or(true),
                extra: Extra::new(),
            }),
            _ => None,
        };
        Ok(Some(MarkerRecord {
            cue: CueRange {
                start: frames_from_sql(cue_start),
                end: cue_end.map(frames_from_sql),
                extra: Extra::new(),
            },
            loop_region,
            warp_markers,
        }))
    }

    /// Appends a play to the usage history; returns its row id.
    pub fn record_usage(&self, usage: &Usage) -> Result<i64> {
        let duration_ms = i64::try_from(usage.duration.as_millis()).unwrap_or(i64::MAX);
        self.conn
            .execute(
                "INSERT INTO usage (clip_id, started_us, duration_ms, context)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    usage.clip.as_str(),
                    usage.started_at.as_microsecond(),
                    duration_ms,
                    usage.context
                ],
            )
            .map_err(self.sql("record a play"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The usage history in the order it was recorded, of one clip or of all.
    pub fn usage_history(&self, clip: Option<&ClipId>) -> Result<Vec<UsageRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, clip_id, started_us, duration_ms, context FROM usage
                 WHERE ?1 IS NULL OR clip_id = ?1 ORDER BY id",
            )
            .map_err(self.sql("read the usage history"))?;
        let rows = stmt
            .query_map([clip.map(ClipId::as_str)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sql("read the usage history"))?;
        rows.into_iter()
            .map(|(id, clip, started, ms, context)| {
                Ok(UsageRecord {
                    id,
                    usage: Usage {
                        clip: clip.parse().map_err(|e| self.damaged("usage", e))?,
                        started_at: jiff::Timestamp::from_microsecond(started)
                            .map_err(|e| self.damaged("usage", e))?,
                        duration: Duration::from_millis(ms.max(0) as u64),
                        context,
                    },
                })
            })
            .collect()
    }
}

impl MetadataDb {
    /// Records the fingerprint of the audio whose bytes hash to `hash`
    /// (taken while the file is there, so it can be recognised if it moves).
    pub fn record_fingerprint(&self, hash: &ContentHash, fp: &Fingerprint) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO fingerprints (content_hash, blocks, recorded_us) VALUES (?1, ?2, ?3)
                 ON CONFLICT (content_hash) DO UPDATE SET blocks = ?2, recorded_us = ?3",
                params![
                    hash.to_string(),
                    fp.as_bytes(),
                    jiff::Timestamp::now().as_microsecond()
                ],
            )
            .map_err(self.sql("record a fingerprint"))?;
        Ok(())
    }

    /// Every recorded fingerprint, by content hash.
    pub fn fingerprints(&self) -> Result<HashMap<ContentHash, Fingerprint>> {
        let mut stmt = self
            .conn
            .prepare("SELECT content_hash, blocks FROM fingerprints")
            .map_err(self.sql("read fingerprints"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sql("read fingerprints"))?;
        rows.into_iter()
            .map(|(hash, blocks)| {
                let hash =
                    ContentHash::try_from(hash).map_err(|e| self.damaged("fingerprints", e))?;
                Ok((hash, Fingerprint::from_bytes(blocks)))
            })
            .collect()
    }

    /// Appends a recovery decision to the audit trail; returns its row id.
    pub fn record_decision(&self, entry: &AuditEntry) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO media_audit (at_us, clip_id, missing_path, candidate, candidate_hash,
                                          verdict, decision, reasons)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    jiff::Timestamp::now().as_microsecond(),
                    entry.clip.as_str(),
                    entry.missing_path,
                    entry.candidate,
                    entry.candidate_hash.map(|h| h.to_string()),
                    entry.verdict,
                    entry.decision.as_str(),
                    entry.reasons.join("\n"),
                ],
            )
            .map_err(self.sql("record a recovery decision"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The recovery audit trail in the order it was recorded.
    pub fn audit(&self) -> Result<Vec<AuditRecord>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, at_us, clip_id, missing_path, candidate, candidate_hash, verdict,
                        decision, reasons
                 FROM media_audit ORDER BY id",
            )
            .map_err(self.sql("read the recovery audit trail"))?;
        type Row = (
            i64,
            i64,
            String,
            String,
            String,
            Option<String>,
            String,
            String,
            String,
        );
        let rows = stmt
            .query_map([], |r| {
                Ok::<Row, _>((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sql("read the recovery audit trail"))?;
        rows.into_iter()
            .map(
                |(id, at, clip, missing_path, candidate, hash, verdict, decision, reasons)| {
                    let bad = |e: String| self.damaged("media_audit", e);
                    Ok(AuditRecord {
                        id,
                        at: jiff::Timestamp::from_microsecond(at)
                            .map_err(|e| bad(e.to_string()))?,
                        entry: AuditEntry {
                            clip: clip
                                .parse()
                                .map_err(|e: cuebox_engine::show::BadClipId| bad(e.to_string()))?,
                            missing_path,
                            candidate,
                            candidate_hash: hash
                                .map(ContentHash::try_from)
                                .transpose()
                                .map_err(|e| bad(e.to_string()))?,
                            verdict,
                            decision: Decision::parse(&decision)
                                .ok_or_else(|| bad(format!("unknown decision {decision:?}")))?,
                            reasons: reasons.lines().map(str::to_owned).collect(),
                        },
                    })
                },
            )
            .collect()
    }
}

/// Frames go into SQLite's signed 64-bit integers bit for bit, so every
/// value round-trips (only impossible lengths of 2^63 frames and up read as
/// negative in raw SQL).
/// The error for a failed SQL `action` on the database at `path`.
fn sql_error(path: PathBuf, action: &'static str) -> impl FnOnce(rusqlite::Error) -> MetadataError {
    move |source| MetadataError::Sqlite {
        action,
        path,
        source: Box::new(source),
    }
}

fn frames_to_sql(f: Frames) -> i64 {
    f.0 as i64
}

fn frames_from_sql(v: i64) -> Frames {
    Frames(v as u64)
}

fn write_index(tx: &Transaction<'_>, show: &Show, hash: &ContentHash) -> rusqlite::Result<()> {
    // Cascades to markers and warp markers.
    tx.execute("DELETE FROM clips", [])?;
    let mut clip_stmt = tx.prepare(
        "INSERT INTO clips (id, name, clip_group, media_path, content_hash, channels,
                            sample_rate, bit_depth, frames, codec, title, artist, composer,
                            publisher, isrc, iswc, pro, trim_start, trim_end)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19)",
    )?;
    let mut marker_stmt = tx.prepare(
        "INSERT INTO markers (clip_id, cue_start, cue_end, loop_start, loop_end, loop_enabled)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut warp_stmt = tx.prepare(
        "INSERT INTO warp_markers (clip_id, position, frame, beat) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for clip in &show.clips {
        let a = &clip.audio;
        let f = &a.format;
        let m = &a.metadata;
        // A manifest that loads may still repeat an id (validation reports
        // it); index the first, as the player resolves buttons to the first.
        let inserted = clip_stmt.execute(params![
            clip.id.as_str(),
            clip.name,
            clip.group.to_string(),
            a.path.as_str(),
            a.hash.to_string(),
            f.channels.count(),
            f.sample_rate,
            f.bit_depth,
            frames_to_sql(f.frames),
            f.codec,
            m.title,
            m.artist,
            m.composer,
            m.publisher,
            m.isrc,
            m.iswc,
            m.pro,
            frames_to_sql(Frames(f.trim.start)),
            frames_to_sql(Frames(f.trim.end)),
        ]);
        match inserted {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                continue
            }
            Err(e) => return Err(e),
        }
        let p = &clip.processing;
        let lp = p.loop_region.as_ref();
        marker_stmt.execute(params![
            clip.id.as_str(),
            frames_to_sql(p.cue.start),
            p.cue.end.map(frames_to_sql),
            lp.map(|l| frames_to_sql(l.start)),
            lp.map(|l| frames_to_sql(l.end)),
            lp.map(|l| l.enabled),
        ])?;
        for (i, w) in p.warp_markers.iter().enumerate() {
            warp_stmt.execute(params![
                clip.id.as_str(),
                i as i64,
                frames_to_sql(w.frame),
                w.beat
            ])?;
        }
    }
    tx.execute(
        "INSERT INTO index_state (id, manifest_hash, indexed_us) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET manifest_hash = ?1, indexed_us = ?2",
        params![hash.to_string(), jiff::Timestamp::now().as_microsecond()],
    )?;
    Ok(())
}
