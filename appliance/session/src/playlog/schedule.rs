//! When the box exports cue sheets by itself: for each performance date of
//! the show whose day has ended (in the box's time zone), one sheet in each
//! format the reporting preferences name, once. The audit trail says what
//! was exported already, so a box that was off at midnight exports at its
//! next run, and never twice. A pure function of the show, the log and the
//! time: tested with any clock.

use cuebox_engine::show::{ExportFormat, ShowInfo};

use super::journal::Entry;
use super::record::Record;

/// Who the automatic exports are by, in the audit trail.
pub const AUTO_EXPORT: &str = "auto-export";

/// The performances of `show` (with `info`) due for automatic export at
/// `now` in time zone `tz`, each with a format: oldest first.
pub fn due(
    show: &str,
    info: &ShowInfo,
    tz: &jiff::tz::TimeZone,
    now: jiff::Timestamp,
    entries: &[Entry],
) -> Vec<(jiff::civil::Date, ExportFormat)> {
    if !info.reporting.auto_export {
        return Vec::new();
    }
    let formats = match info.reporting.formats.as_slice() {
        [] => &[ExportFormat::Csv][..],
        f => f,
    };
    let done = |date: jiff::civil::Date, format: ExportFormat| {
        let period = date.to_string();
        let extension = format!(".{}", format.extension());
        entries.iter().any(|e| match &e.record {
            Record::Export(x) => {
                x.by == AUTO_EXPORT
                    && x.report == "cuesheet"
                    && x.show.as_deref() == Some(show)
                    && x.period == period
                    && x.file.ends_with(&extension)
            }
            _ => false,
        })
    };
    let mut dates = info.performance_dates.clone();
    dates.sort_unstable();
    dates.dedup();
    dates
        .into_iter()
        .filter(|date| {
            date.tomorrow()
                .and_then(|d| d.to_zoned_datetime(tz.clone()))
                .is_ok_and(|end| now >= end.timestamp())
        })
        .flat_map(|date| formats.iter().map(move |f| (date, *f)))
        .filter(|(date, format)| !done(*date, *format))
        .collect()
}
