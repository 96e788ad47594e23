//! Reports for people outside the box, made from its logs: each is kept in
//! the data root's `Exports/<date>/`, and recorded — with the annotations
//! people make for the cue sheets — in the play log, whose chained entries
//! are thus the audit trail of what was sent to whom and what was changed.

use std::path::{Path, PathBuf};

use cuebox_engine::show::{ContentHash, ReportDepth, Show};

use super::cuesheet::{CueSheet, Span};
use super::export::Format;
use super::journal::Entry;
use super::journal::{Journal, Verified};
use super::record::{Annotation, End, Exported, Reconciled, Record, Review, Usage};
use super::PlaylogError;
use super::{journal, paths, reconcile, schedule};
use crate::store::write_atomic;

/// The play log, its exports and its annotations under a data root.
#[derive(Debug, Clone)]
pub struct Logbook {
    root: PathBuf,
}

/// A report kept in `Exports/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Its path.
    pub path: PathBuf,
    /// Its path under the data root, as the audit entry names it.
    pub file: String,
    /// The audit entry that records it.
    pub entry: u64,
}

/// A performance's cue sheet the box exported by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoExported {
    /// The performance.
    pub performance: jiff::civil::Date,
    /// What the sheet says of itself.
    pub summary: String,
    /// Where it is kept.
    pub kept: Kept,
}

/// A cue sheet made for a session, with the state of the log it came from.
#[derive(Debug, Clone)]
pub struct Made {
    /// The sheet.
    pub sheet: CueSheet,
    /// Whether the play log was whole (a damaged one still gives a sheet of
    /// what could be read; `cueboxd log verify` says what was not).
    pub sound: bool,
}

/// What an annotation changes; `None` leaves a field as it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Changes {
    /// The usage category.
    pub usage: Option<Usage>,
    /// The note (empty: cleared).
    pub note: Option<String>,
    /// The review state.
    pub review: Option<Review>,
}

impl Changes {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

impl Logbook {
    /// The logbook of the data root at `root` (its `Logs/` and `Exports/`).
    pub fn new(root: &Path) -> Logbook {
        Logbook {
            root: root.to_owned(),
        }
    }

    fn logs(&self) -> PathBuf {
        self.root.join(crate::store::DataRoot::LOGS)
    }

    /// Reads and checks both copies of the play log.
    pub fn verify(&self) -> Result<Verified, PlaylogError> {
        journal::verify(&paths(&self.logs()))
    }

    /// The cue sheet of `show`'s plays over `span`, at the depth its
    /// reporting preferences ask for unless `depth` says otherwise.
    pub fn cuesheet(
        &self,
        show: &Show,
        span: &Span,
        depth: Option<ReportDepth>,
    ) -> Result<Made, ReportError> {
        let period = span
            .period(Some(show.session.name.clone()))
            .map_err(|e| ReportError::Period(e.to_string()))?;
        let verified = self.verify()?;
        let depth = depth.unwrap_or(show.show_info.reporting.default_depth);
        Ok(Made {
            sheet: CueSheet::build(verified.entries(), &period, &show.show_info, depth),
            sound: verified.is_sound(),
        })
    }

    /// Keeps `bytes`, the report `report` (`cuesheet`, `techlog-errors`, …)
    /// of `show` over `span` in `format`, as
    /// `Exports/<today>/<report>[-<show>]-<span>-<time>.<ext>`, and records
    /// it in the audit trail as made by `by`.
    pub fn keep(
        &self,
        report: &str,
        show: Option<&str>,
        span: &Span,
        format: Format,
        bytes: &[u8],
        by: &str,
    ) -> Result<Kept, ReportError> {
        let now = jiff::ZonedDateTime::now();
        let day = now.date().to_string();
        let name = [Some(report), show, Some(&span.label())]
            .into_iter()
            .flatten()
            .map(file_safe)
            .collect::<Vec<_>>()
            .join("-");
        let stem = format!(
            "{}/{day}/{name}-{}",
            crate::store::DataRoot::EXPORTS,
            now.strftime("%H%M%S")
        );
        // An export sent is never replaced: a second one in the same second
        // is numbered.
        let (file, path) = (1..)
            .map(|n| match n {
                1 => format!("{stem}.{}", format.extension()),
                n => format!("{stem}-{n}.{}", format.extension()),
            })
            .map(|file| {
                let path = self.root.join(&file);
                (file, path)
            })
            .find(|(_, path)| !path.exists())
            .expect("some number is free");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(PlaylogError::io("create folder", dir))?;
        }
        write_atomic(&path, bytes).map_err(|e| ReportError::Write(e.to_string()))?;
        let entry = self.append(&Record::Export(Box::new(Exported {
            at: now.timestamp(),
            by: by.to_owned(),
            report: report.to_owned(),
            show: show.map(str::to_owned),
            file: file.clone(),
            blake3: blake3::hash(bytes).to_hex().to_string(),
            bytes: bytes.len() as u64,
            period: span.label(),
        })))?;
        Ok(Kept { path, file, entry })
    }

    /// Records an annotation of `work` in `show` by `by`; returns its entry.
    pub fn annotate(
        &self,
        show: &str,
        work: ContentHash,
        changes: Changes,
        by: &str,
    ) -> Result<u64, ReportError> {
        if changes.is_empty() {
            return Err(ReportError::NothingToAnnotate);
        }
        Ok(self.append(&Record::Annotation(Box::new(Annotation {
            at: jiff::Timestamp::now(),
            by: by.to_owned(),
            show: show.to_owned(),
            work,
            usage: changes.usage,
            note: changes.note,
            review: changes.review,
        })))?)
    }

    /// Exports the cue sheets [`schedule::due`] says are due for `show` at
    /// `now` in `tz`: each kept and recorded as by
    /// [`schedule::AUTO_EXPORT`]. Returns each performance's sheet as kept.
    pub fn auto_export(
        &self,
        show: &Show,
        tz: &jiff::tz::TimeZone,
        now: jiff::Timestamp,
    ) -> Result<Vec<AutoExported>, ReportError> {
        let verified = self.verify()?;
        let name = &show.session.name;
        let due = schedule::due(name, &show.show_info, tz, now, verified.entries());
        let mut done = Vec::new();
        for (date, format) in due {
            let span = Span::Performance {
                date,
                tz: tz.iana_name().map(str::to_owned),
            };
            let made = self.cuesheet(show, &span, None)?;
            let bytes = made.sheet.export(format);
            let kept = self.keep(
                "cuesheet",
                Some(name),
                &span,
                format,
                &bytes,
                schedule::AUTO_EXPORT,
            )?;
            done.push(AutoExported {
                performance: date,
                summary: made.sheet.summary(),
                kept,
            });
        }
        Ok(done)
    }

    /// Reconciles this box's play log with `theirs`, the log of the unit
    /// called `unit` (its entries, checked): appends the plays it holds and
    /// this log lacks, and the ends it logged for plays this log holds
    /// without one, then an audit entry by `by`. With `dry_run`, only says.
    pub fn reconcile(
        &self,
        theirs: &[Entry],
        unit: &str,
        by: &str,
        dry_run: bool,
    ) -> Result<Reconciled, ReportError> {
        let verified = self.verify()?;
        let plan = reconcile::plan(verified.entries(), theirs);
        let last = theirs.last();
        let mut done = Reconciled {
            at: jiff::Timestamp::now(),
            by: by.to_owned(),
            unit: unit.to_owned(),
            their_last: last.map_or(0, |e| e.seq),
            their_hash: last.map_or_else(String::new, |e| e.hash.clone()),
            matched: plan.matched,
            copied: Vec::new(),
            ends: plan.ends.iter().map(|(ours, _)| *ours).collect(),
        };
        if dry_run {
            done.copied = plan.missing.iter().map(|p| (p.seq, 0)).collect();
            return Ok(done);
        }
        if plan.is_empty() {
            return Ok(done);
        }
        let (mut journal, ..) = Journal::open(paths(&self.logs()))?;
        for play in &plan.missing {
            let ours = journal.append(&Record::Start(Box::new(play.start.clone())))?;
            if let Some(end) = play.end {
                journal.append(&Record::End(End {
                    play: ours,
                    ..end.clone()
                }))?;
            }
            done.copied.push((play.seq, ours));
        }
        for (ours, end) in &plan.ends {
            journal.append(&Record::End(End {
                play: *ours,
                ..(*end).clone()
            }))?;
        }
        journal.append(&Record::Reconciled(Box::new(done.clone())))?;
        Ok(done)
    }

    fn append(&self, record: &Record) -> Result<u64, PlaylogError> {
        let (mut journal, _, _) = Journal::open(paths(&self.logs()))?;
        journal.append(record)
    }
}

/// The work `text` names in `show`: a clip id (its audio) or a content hash.
pub fn work_of(show: &Show, text: &str) -> Result<ContentHash, ReportError> {
    if let Ok(hash) = ContentHash::try_from(text.to_owned()) {
        return Ok(hash);
    }
    show.clips
        .iter()
        .find(|c| c.id.as_str() == text)
        .map(|c| c.audio.hash)
        .ok_or_else(|| ReportError::UnknownWork {
            work: text.to_owned(),
            show: show.session.name.clone(),
        })
}

/// A name safe in a file name: letters, digits, `.`, `_` and `-` kept,
/// anything else made `_`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The play log could not be read or written.
    #[error(transparent)]
    Log(#[from] PlaylogError),
    /// The period asked for cannot be resolved (an unknown time zone).
    #[error("the period asked for: {0}")]
    Period(String),
    /// The export could not be written.
    #[error("cannot keep the export: {0}")]
    Write(String),
    /// A work named by neither a clip id of the show nor a content hash.
    #[error(
        "{work:?} is neither a clip of {show:?} nor a content hash (blake3:…): \
         `hostctl session show` lists the clips"
    )]
    UnknownWork {
        /// As typed.
        work: String,
        /// The show.
        show: String,
    },
    /// An annotation that changes nothing.
    #[error("the annotation changes nothing: give a usage, a note or a review state")]
    NothingToAnnotate,
}
