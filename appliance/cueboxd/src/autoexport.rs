//! The box exports each performance's cue sheet by itself once the
//! performance's day has ended, when the show's reporting preferences ask
//! for it (`show_info.reporting.auto_export`), in each preferred format —
//! checked when a session starts playing and every minute after, on a
//! housekeeping thread of its own. What is due comes from
//! [`crate::journal::schedule`]; each export is kept in Exports/ and
//! recorded in the play log's audit trail.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use cuebox_engine::show::Show;

use crate::events::{BoxEvent, Publisher};
use crate::journal::Logbook;

/// How often the schedule is looked at.
const EVERY: Duration = Duration::from_secs(60);

/// The auto-export of one session's run.
#[derive(Debug)]
pub struct AutoExport {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl AutoExport {
    /// Starts exporting `show`'s performances from the data root at `root`;
    /// `None` when its reporting preferences do not ask for it.
    pub fn start(root: &Path, show: &Show, events: Publisher) -> std::io::Result<Option<Self>> {
        if !show.show_info.reporting.auto_export {
            return Ok(None);
        }
        let (stop, rx) = mpsc::channel();
        let book = Logbook::new(root);
        let show = show.clone();
        let thread = std::thread::Builder::new()
            .name("autoexport".into())
            .spawn(move || {
                let tz = jiff::tz::TimeZone::system();
                let mut failing = false;
                loop {
                    match book.auto_export(&show, &tz, jiff::Timestamp::now()) {
                        Ok(done) => {
                            failing = false;
                            for d in done {
                                events.send(BoxEvent::CuesheetExported {
                                    session: show.session.name.clone(),
                                    performance: d.performance.to_string(),
                                    file: d.kept.file,
                                    summary: d.summary,
                                });
                            }
                        }
                        // Said once until it works again: it is retried every minute.
                        Err(e) if !failing => {
                            failing = true;
                            events.send(BoxEvent::AutoExportFailed {
                                detail: format!("{e}; tried again every minute"),
                            });
                        }
                        Err(_) => {}
                    }
                    match rx.recv_timeout(EVERY) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        _ => return,
                    }
                }
            })?;
        Ok(Some(AutoExport { stop, thread }))
    }

    /// Stops it (an export under way finishes first).
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}
