//! Cue sheets: the works a production used over a period, for the
//! collecting societies (PRS, ASCAP, GEMA, SACEM, …), built from the play
//! log. A work is the audio heard — its content hash — whatever the clip or
//! file was called; each has its uses, the total time heard, and flags for
//! what a society will ask for and the session does not say. People's
//! annotations (usage category, note, review), kept in the journal as its
//! audit trail, are folded in.

use std::collections::BTreeMap;

use cuebox_engine::show::{ContentHash, ReportDepth, ShowInfo};
use serde::Serialize;

use super::journal::Entry;
use super::record::{Annotation, Ending, Record, Review, Start, Usage};

/// Which plays a cue sheet covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Period {
    /// The show's name (as the plays record it); every show when `None`.
    pub show: Option<String>,
    /// Plays started at or after this instant.
    pub from: Option<jiff::Timestamp>,
    /// Plays started before this instant.
    pub to: Option<jiff::Timestamp>,
}

impl Period {
    /// The plays of one performance: the calendar day `date` in time zone `tz`.
    pub fn performance(
        show: Option<String>,
        date: jiff::civil::Date,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Period, jiff::Error> {
        let from = date.to_zoned_datetime(tz.clone())?.timestamp();
        let to = date.tomorrow()?.to_zoned_datetime(tz.clone())?.timestamp();
        Ok(Period {
            show,
            from: Some(from),
            to: Some(to),
        })
    }

    /// Whether something of `show` at `at` falls in the period.
    pub fn includes(&self, show: &str, at: jiff::Timestamp) -> bool {
        self.show.as_ref().is_none_or(|s| s == show) && self.spans(at)
    }

    /// Whether the instant `at` falls in the period, whatever the show.
    pub fn spans(&self, at: jiff::Timestamp) -> bool {
        self.from.is_none_or(|f| at >= f) && self.to.is_none_or(|t| at < t)
    }

    /// Whether the play that began with `start` falls in the period.
    pub fn covers(&self, start: &Start) -> bool {
        self.includes(&start.session, start.at)
    }
}

/// A period as a person asks for it: everything, one performance (a
/// calendar day in a time zone), or a range of instants. It travels over
/// the API as it was typed, and is resolved where the log is.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
pub enum Span {
    /// Every play.
    #[default]
    All,
    /// One performance: the plays of a calendar day.
    Performance {
        /// The day.
        date: jiff::civil::Date,
        /// Its time zone (IANA name); the box's own when `None`.
        tz: Option<String>,
    },
    /// The plays started in `[from, to)`; either end open.
    Range {
        /// Start, included.
        from: Option<jiff::Timestamp>,
        /// End, excluded.
        to: Option<jiff::Timestamp>,
    },
}

impl Span {
    /// The period of `show`'s plays (every show's when `None`) this span means.
    pub fn period(&self, show: Option<String>) -> Result<Period, jiff::Error> {
        match self {
            Span::All => Ok(Period {
                show,
                ..Period::default()
            }),
            Span::Performance { date, tz } => {
                let tz = match tz {
                    Some(tz) => jiff::tz::TimeZone::get(tz)?,
                    None => jiff::tz::TimeZone::system(),
                };
                Period::performance(show, *date, &tz)
            }
            Span::Range { from, to } => Ok(Period {
                show,
                from: *from,
                to: *to,
            }),
        }
    }

    /// A short name for file names and the audit trail: `2026-12-01`,
    /// `20261201T000000Z-20261208T000000Z`, `all`.
    pub fn label(&self) -> String {
        let stamp = |t: &Option<jiff::Timestamp>| {
            t.map_or_else(
                || "open".to_owned(),
                |t| t.strftime("%Y%m%dT%H%M%SZ").to_string(),
            )
        };
        match self {
            Span::All => "all".into(),
            Span::Performance { date, .. } => date.to_string(),
            Span::Range { from, to } => format!("{}-{}", stamp(from), stamp(to)),
        }
    }
}

/// What a society needs that the session does not give for a work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    /// No title.
    Title,
    /// No composer.
    Composer,
    /// No publisher.
    Publisher,
    /// No ISWC (the work's code).
    Iswc,
    /// No ISRC (the recording's code).
    Isrc,
    /// No usage category (background, feature, …): an annotation gives it.
    Usage,
    /// Some use was cut short by the box stopping without a record of its
    /// end (a crash, a power cut): its duration is not known.
    Duration,
}

/// One work on the sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Work {
    /// The audio's content hash: the work's identity on this box.
    pub hash: ContentHash,
    /// Title (the clip's name when the metadata has none).
    pub title: String,
    /// Composer.
    pub composer: Option<String>,
    /// Publisher.
    pub publisher: Option<String>,
    /// Performer or artist.
    pub artist: Option<String>,
    /// ISWC.
    pub iswc: Option<String>,
    /// ISRC.
    pub isrc: Option<String>,
    /// The society the work is registered with.
    pub pro: Option<String>,
    /// How many times it was started.
    pub uses: u32,
    /// Seconds heard, over every use whose end is known.
    pub seconds: f64,
    /// First use.
    pub first: jiff::Timestamp,
    /// Last use.
    pub last: jiff::Timestamp,
    /// Its usage category, once annotated.
    pub usage: Option<Usage>,
    /// The latest note on it.
    pub note: Option<String>,
    /// Whether a person has checked it.
    pub review: Review,
    /// What is missing for a society.
    pub missing: Vec<Missing>,
    /// Nothing missing and verified: ready to send.
    pub ready: bool,
    /// Every use, on a detailed sheet (empty on a summary).
    pub detail: Vec<Use>,
}

/// One use of a work, on a detailed sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Use {
    /// When it started.
    pub at: jiff::Timestamp,
    /// Seconds heard; `None` when its end was never logged.
    pub seconds: Option<f64>,
    /// How it ended, when logged.
    pub ending: Option<Ending>,
    /// The input its GO came on.
    pub input: String,
}

/// A cue sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CueSheet {
    /// Production.
    pub production: String,
    /// Venue, as written in the show information.
    pub venue: String,
    /// Rights context (grand rights, small rights, …).
    pub rights_context: String,
    /// The show the plays are of, when one was asked for.
    pub show: Option<String>,
    /// Period start, when bounded.
    pub from: Option<jiff::Timestamp>,
    /// Period end, when bounded.
    pub to: Option<jiff::Timestamp>,
    /// One line per work, or every use too.
    pub depth: ReportDepth,
    /// Plays counted.
    pub plays: u32,
    /// The works, in order of first use.
    pub works: Vec<Work>,
    /// Works with nothing missing.
    pub complete: u32,
    /// Works a person has verified.
    pub verified: u32,
    /// Whether every work is ready: nothing missing, and verified.
    pub ready: bool,
}

impl CueSheet {
    /// The cue sheet of the plays in `entries` that `period` covers, headed
    /// with `info`, at `depth`.
    pub fn build(
        entries: &[Entry],
        period: &Period,
        info: &ShowInfo,
        depth: ReportDepth,
    ) -> CueSheet {
        // Each play's start entry → heard seconds and ending, once its end is seen.
        let mut heard: BTreeMap<u64, (f64, Ending)> = BTreeMap::new();
        for e in entries {
            if let Record::End(end) = &e.record {
                if let Some(Record::Start(s)) = entries
                    .get((end.play as usize).wrapping_sub(1))
                    .map(|e| &e.record)
                {
                    let seconds = end.heard_frames as f64 / f64::from(s.rate.max(1));
                    heard.insert(end.play, (seconds, end.ending));
                }
            }
        }
        let mut works: Vec<Work> = Vec::new();
        let mut plays = 0;
        for e in entries {
            let Record::Start(s) = &e.record else {
                continue;
            };
            if !period.covers(s) {
                continue;
            }
            plays += 1;
            let ended = heard.get(&e.seq).copied();
            let work = match works.iter_mut().find(|w| w.hash == s.hash) {
                Some(w) => w,
                None => {
                    works.push(Work::first_use(s));
                    works.last_mut().expect("just pushed")
                }
            };
            work.uses += 1;
            work.last = work.last.max(s.at);
            if depth == ReportDepth::Detailed {
                work.detail.push(Use {
                    at: s.at,
                    seconds: ended.map(|(t, _)| t),
                    ending: ended.map(|(_, e)| e),
                    input: s.source.input.clone(),
                });
            }
            match ended {
                Some((t, _)) => work.seconds += t,
                None => {
                    if !work.missing.contains(&Missing::Duration) {
                        work.missing.push(Missing::Duration);
                    }
                }
            }
        }
        let notes = Annotations::of(entries, period.show.as_deref());
        for work in &mut works {
            if let Some(a) = notes.0.get(&work.hash) {
                work.usage = a.usage;
                work.note = a.note.clone().filter(|n| !n.is_empty());
                work.review = a.review.unwrap_or_default();
            }
            if work.usage.is_some() {
                work.missing.retain(|m| *m != Missing::Usage);
            }
            work.ready = work.missing.is_empty() && work.review == Review::Verified;
        }
        let count = |f: fn(&Work) -> bool| works.iter().filter(|w| f(w)).count() as u32;
        let complete = count(|w| w.missing.is_empty());
        let verified = count(|w| w.review == Review::Verified);
        let ready = works.iter().all(|w| w.ready);
        CueSheet {
            production: info.production.clone(),
            venue: [&info.venue.name, &info.venue.city, &info.venue.country]
                .into_iter()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            rights_context: info.rights_context.clone(),
            show: period.show.clone(),
            from: period.from,
            to: period.to,
            depth,
            plays,
            works,
            complete,
            verified,
            ready,
        }
    }
}

impl CueSheet {
    /// What the sheet says of itself, for people: plays, works, readiness.
    pub fn summary(&self) -> String {
        format!(
            "{} plays, {} works, {} complete, {} verified{}",
            self.plays,
            self.works.len(),
            self.complete,
            self.verified,
            if self.ready {
                ": ready to send"
            } else {
                " (see each work's \"missing\" and \"review\")"
            }
        )
    }
}

impl Work {
    fn first_use(s: &Start) -> Work {
        let r = &s.rights;
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        let mut missing = Vec::new();
        for (value, what) in [
            (&r.title, Missing::Title),
            (&r.composer, Missing::Composer),
            (&r.publisher, Missing::Publisher),
            (&r.iswc, Missing::Iswc),
            (&r.isrc, Missing::Isrc),
            (&None, Missing::Usage),
        ] {
            if given(value).is_none() {
                missing.push(what);
            }
        }
        Work {
            hash: s.hash,
            title: given(&r.title).unwrap_or_else(|| s.name.clone()),
            composer: given(&r.composer),
            publisher: given(&r.publisher),
            artist: given(&r.artist),
            iswc: given(&r.iswc),
            isrc: given(&r.isrc),
            pro: given(&r.pro),
            uses: 0,
            seconds: 0.0,
            first: s.at,
            last: s.at,
            usage: None,
            note: None,
            review: Review::Pending,
            missing,
            ready: false,
            detail: Vec::new(),
        }
    }
}

/// The annotations of a show's works as the journal leaves them: each
/// annotation changes only what it sets.
#[derive(Debug, Default)]
struct Annotations(std::collections::HashMap<ContentHash, Annotated>);

/// One work's annotations, folded.
#[derive(Debug, Clone, Default, PartialEq)]
struct Annotated {
    usage: Option<Usage>,
    note: Option<String>,
    review: Option<Review>,
}

impl Annotations {
    /// The annotations of `show`'s works (every show's when `None`) in `entries`.
    fn of(entries: &[Entry], show: Option<&str>) -> Annotations {
        let mut out = Annotations::default();
        for e in entries {
            if let Record::Annotation(a) = &e.record {
                if show.is_none_or(|s| s == a.show) {
                    out.apply(a);
                }
            }
        }
        out
    }

    fn apply(&mut self, a: &Annotation) {
        let w = self.0.entry(a.work).or_default();
        if a.usage.is_some() {
            w.usage = a.usage;
        }
        if a.note.is_some() {
            w.note.clone_from(&a.note);
        }
        if a.review.is_some() {
            w.review = a.review;
        }
    }
}
