//! The API's side of the play log: its entries for a host to check and
//! keep, cue sheets made and kept on the box, and annotations — each export
//! and annotation recorded in the log's audit trail under the host's key.

use cuebox_engine::show::{ExportFormat, ReportDepth, Show};

use super::proto::{RefusalKind, Response, JOURNAL_PAGE, MAX_REPORT};
use super::server::{refuse, Peer};
use super::service::{BoxService, ShowControl};
use crate::events::BoxEvent;
use crate::journal::{self, Changes, Kept, Logbook, ReportError, Span};
use crate::store::{activate, chain};
use crate::techlog;

/// Who a host is in the audit trail: its key's fingerprint and address.
fn by(peer: &Peer) -> String {
    format!("{} {}", peer.key.fingerprint(), peer.addr)
}

impl<C: ShowControl> BoxService<C> {
    fn logbook(&self) -> Logbook {
        Logbook::new(self.root().path())
    }

    /// Entries after `after`, at most `max` (and [`JOURNAL_PAGE`]).
    pub(super) fn journal(&self, after: u64, max: u32) -> Response {
        let verified = match self.logbook().verify() {
            Ok(v) => v,
            Err(e) => return refuse(RefusalKind::Failed, e.to_string()),
        };
        let entries = verified.entries();
        let from = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(entries.len());
        let take = max.min(JOURNAL_PAGE) as usize;
        let lines = entries[from..]
            .iter()
            .take(take)
            .flat_map(|e| e.line().iter().copied())
            .collect();
        let prev = from
            .checked_sub(1)
            .map_or(journal::journal::GENESIS, |i| entries[i].hash.as_str())
            .to_owned();
        Response::Journal {
            lines,
            after: from as u64,
            prev,
            last: entries.len() as u64,
            problems: verified.problems(),
        }
    }

    /// `session`, or the active session's name when `None`.
    pub(super) fn session_named(&self, session: Option<String>) -> Result<String, Response> {
        match session {
            Some(name) => Ok(name),
            None => match activate::active(self.root()) {
                Ok(Some(name)) => Ok(name),
                Ok(None) => Err(refuse(
                    RefusalKind::NotFound,
                    "the box has no active session: name one (--session)",
                )),
                Err(e) => Err(refuse(RefusalKind::Failed, chain(&e))),
            },
        }
    }

    /// `session`'s show (the active session's when `None`).
    fn show_of(&self, session: Option<String>) -> Result<Show, Response> {
        let name = self.session_named(session)?;
        self.root()
            .open_session(&name)
            .and_then(|dir| dir.load())
            .map(|loaded| loaded.show)
            .map_err(|e| {
                let kind = match e {
                    crate::store::StoreError::NoSuchSession { .. } => RefusalKind::NotFound,
                    _ => RefusalKind::Failed,
                };
                refuse(kind, chain(&e))
            })
    }

    /// Makes, keeps and sends a cue sheet.
    pub(super) fn cuesheet(
        &self,
        peer: &Peer,
        session: Option<String>,
        span: &Span,
        format: ExportFormat,
        depth: Option<ReportDepth>,
    ) -> Response {
        let show = match self.show_of(session) {
            Ok(show) => show,
            Err(refusal) => return refusal,
        };
        let book = self.logbook();
        let made = match book.cuesheet(&show, span, depth) {
            Ok(made) => made,
            Err(e) => return report_refusal(&e),
        };
        let bytes = made.sheet.export(format);
        let name = &show.session.name;
        let kept = book.keep("cuesheet", Some(name), span, format, &bytes, &by(peer));
        self.report(kept, bytes, made.sheet.summary(), made.sound)
    }

    /// Exports, keeps and sends a technical log.
    pub(super) fn techlog(
        &self,
        peer: &Peer,
        kind: techlog::Kind,
        span: &Span,
        format: ExportFormat,
    ) -> Response {
        let period = match span.period(None) {
            Ok(p) => p,
            Err(e) => return report_refusal(&ReportError::Period(e.to_string())),
        };
        let found = match techlog::scan(&self.root().logs_dir(), kind, period.from, period.to) {
            Ok(found) => found,
            Err(e) => return refuse(RefusalKind::Failed, e.to_string()),
        };
        let bytes = techlog::export(&found.entries, format);
        if bytes.len() > MAX_REPORT {
            return refuse(
                RefusalKind::BadRequest,
                format!(
                    "the {kind} log over that period is {} bytes, more than one answer carries \
                     ({MAX_REPORT}); ask for a shorter period (--from/--to)",
                    bytes.len()
                ),
            );
        }
        let summary = format!(
            "{} entries of the {kind} log{}",
            found.entries.len(),
            match found.skipped {
                0 => String::new(),
                n => format!(", {n} damaged line(s) skipped"),
            }
        );
        let name = format!("techlog-{kind}");
        let kept = self
            .logbook()
            .keep(&name, None, span, format, &bytes, &by(peer));
        self.report(kept, bytes, summary, true)
    }

    /// The answer for a report kept (or not) on the box; a kept one is an
    /// event (off-box copies follow it).
    fn report(
        &self,
        kept: Result<Kept, ReportError>,
        bytes: Vec<u8>,
        summary: String,
        sound: bool,
    ) -> Response {
        match kept {
            Ok(kept) => {
                self.events().send(BoxEvent::ReportExported {
                    file: kept.file.clone(),
                    summary: summary.clone(),
                });
                Response::Report {
                    file: kept.file,
                    entry: kept.entry,
                    bytes,
                    summary,
                    sound,
                }
            }
            Err(e) => report_refusal(&e),
        }
    }

    /// Records an annotation.
    pub(super) fn annotate(
        &self,
        peer: &Peer,
        session: Option<String>,
        work: &str,
        changes: Changes,
    ) -> Response {
        let show = match self.show_of(session) {
            Ok(show) => show,
            Err(refusal) => return refusal,
        };
        let annotated = journal::work_of(&show, work).and_then(|work| {
            self.logbook()
                .annotate(&show.session.name, work, changes, &by(peer))
                .map(|entry| (work, entry))
        });
        match annotated {
            Ok((work, entry)) => Response::Annotated { work, entry },
            Err(e) => report_refusal(&e),
        }
    }
}

fn report_refusal(e: &ReportError) -> Response {
    let kind = match e {
        ReportError::Period(_) | ReportError::NothingToAnnotate => RefusalKind::BadRequest,
        ReportError::UnknownWork { .. } => RefusalKind::NotFound,
        ReportError::Log(_) | ReportError::Write(_) => RefusalKind::Failed,
    };
    refuse(kind, e.to_string())
}
