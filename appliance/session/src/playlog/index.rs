//! The play log's index (`Logs/plays.sqlite`): one row per play, for
//! queries by show, period and work. It is derived data, never the record:
//! brought up to date from the journal (only the entries after the last one
//! it holds), and rebuilt whole when it no longer matches the journal (a
//! journal restored from a backup, or a new one begun).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::cuesheet::Period;
use super::journal::Entry;
use super::record::Record;
use super::PlaylogError;

/// One play, as the index holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayRow {
    /// The play: its start entry's number.
    pub play: u64,
    /// When it started (RFC 3339, UTC; periods compare its milliseconds).
    pub at: String,
    /// The show's name.
    pub show: String,
    /// The clip.
    pub clip: String,
    /// The audio's content hash.
    pub hash: String,
    /// The work's title, when the session gave one.
    pub title: Option<String>,
    /// Its composer, when the session gave one.
    pub composer: Option<String>,
    /// The input the GO came on (`osc`, `api`, …).
    pub input: String,
    /// Seconds heard, once its end is logged.
    pub heard_seconds: Option<f64>,
    /// How it ended (`faded`, `stopped`, …), once logged.
    pub ending: Option<String>,
}

/// The index, open.
#[derive(Debug)]
pub struct PlayIndex {
    conn: Connection,
    path: PathBuf,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS plays (
    play INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    show TEXT NOT NULL,
    clip TEXT NOT NULL,
    hash TEXT NOT NULL,
    title TEXT,
    composer TEXT,
    input TEXT NOT NULL,
    rate INTEGER NOT NULL,
    heard_frames INTEGER,
    ending TEXT
);
CREATE INDEX IF NOT EXISTS plays_by_show_and_time ON plays (show, at_ms);
CREATE INDEX IF NOT EXISTS plays_by_work ON plays (hash);
CREATE TABLE IF NOT EXISTS indexed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
";

impl PlayIndex {
    /// Opens (creating) the index at `path`.
    pub fn open(path: &Path) -> Result<PlayIndex, PlaylogError> {
        let sql = PlaylogError::index("open", path);
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(PlaylogError::index("configure", path))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(PlaylogError::index("configure", path))?;
        conn.execute_batch(SCHEMA)
            .map_err(PlaylogError::index("create the tables of", path))?;
        Ok(PlayIndex {
            conn,
            path: path.to_owned(),
        })
    }

    /// Brings the index up to date with the journal's `entries` (all of
    /// them, from entry 1): adds what follows the last entry it holds, or
    /// rebuilds it whole when that entry is not the journal's. Returns the
    /// entries read.
    pub fn update(&mut self, entries: &[Entry]) -> Result<usize, PlaylogError> {
        let path = self.path.clone();
        let err = |action| PlaylogError::index(action, &path);
        let tx = self.conn.transaction().map_err(err("begin a change in"))?;
        let held: Option<(i64, String)> = tx
            .query_row("SELECT seq, hash FROM indexed WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(err("read"))?;
        // Where the journal goes on from what the index holds.
        let from = match held {
            Some((seq, hash))
                if entries
                    .get((seq as usize).wrapping_sub(1))
                    .is_some_and(|e| e.hash == hash) =>
            {
                seq as usize
            }
            Some(_) => {
                tx.execute("DELETE FROM plays", []).map_err(err("clear"))?;
                0
            }
            None => 0,
        };
        for e in &entries[from..] {
            match &e.record {
                Record::Start(s) => {
                    tx.execute(
                        "INSERT OR REPLACE INTO plays \
                         (play, at, at_ms, show, clip, hash, title, composer, input, rate) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        params![
                            sql_int(e.seq),
                            s.at.to_string(),
                            s.at.as_millisecond(),
                            s.session,
                            s.clip.to_string(),
                            s.hash.to_string(),
                            s.rights.title,
                            s.rights.composer,
                            s.source.input,
                            s.rate,
                        ],
                    )
                    .map_err(err("write"))?;
                }
                Record::End(end) => {
                    let ending = super::export::name(end.ending);
                    tx.execute(
                        "UPDATE plays SET heard_frames = ?2, ending = ?3 WHERE play = ?1",
                        params![sql_int(end.play), sql_int(end.heard_frames), ending],
                    )
                    .map_err(err("write"))?;
                }
                // The audit trail is not a play.
                Record::Annotation(_) | Record::Export(_) | Record::Reconciled(_) => {}
            }
        }
        if let Some(last) = entries.last() {
            tx.execute(
                "INSERT OR REPLACE INTO indexed (id, seq, hash) VALUES (1, ?1, ?2)",
                params![sql_int(last.seq), last.hash],
            )
            .map_err(err("write"))?;
        }
        tx.commit().map_err(err("commit a change to"))?;
        Ok(entries.len() - from)
    }

    /// The plays `period` covers, oldest first.
    pub fn plays(&self, period: &Period) -> Result<Vec<PlayRow>, PlaylogError> {
        let err = |action| PlaylogError::index(action, &self.path);
        let mut q = self
            .conn
            .prepare(
                "SELECT play, at, show, clip, hash, title, composer, input, rate, \
                 heard_frames, ending FROM plays \
                 WHERE (?1 IS NULL OR show = ?1) AND (?2 IS NULL OR at_ms >= ?2) \
                 AND (?3 IS NULL OR at_ms < ?3) ORDER BY play",
            )
            .map_err(err("query"))?;
        let rows = q
            .query_map(
                params![
                    period.show,
                    period.from.map(|t| t.as_millisecond()),
                    period.to.map(|t| t.as_millisecond())
                ],
                |r| {
                    let rate: u32 = r.get(8)?;
                    let heard: Option<i64> = r.get(9)?;
                    let play: i64 = r.get(0)?;
                    Ok(PlayRow {
                        play: play.unsigned_abs(),
                        at: r.get(1)?,
                        show: r.get(2)?,
                        clip: r.get(3)?,
                        hash: r.get(4)?,
                        title: r.get(5)?,
                        composer: r.get(6)?,
                        input: r.get(7)?,
                        heard_seconds: heard.map(|f| f as f64 / f64::from(rate.max(1))),
                        ending: r.get(10)?,
                    })
                },
            )
            .map_err(err("query"))?;
        rows.collect::<Result<_, _>>().map_err(err("read"))
    }
}

/// A count as SQLite stores it (counts of plays and frames never reach 2^63).
fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
