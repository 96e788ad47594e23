//! Cue sheets: the works a production used over a period, for the
//! collecting societies (PRS, ASCAP, GEMA, SACEM, …), built from the play
//! log. A work is the audio heard — its content hash — whatever the clip or
//! file was called; each has its uses, the total time heard, and flags for
//! what a society will ask for and the session does not say.

use std::collections::BTreeMap;

use cuebox_engine::show::{ContentHash, ShowInfo};
use serde::Serialize;

use super::journal::Entry;
use super::record::{Record, Start};

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

    fn covers(&self, start: &Start) -> bool {
        self.show.as_ref().is_none_or(|s| *s == start.session)
            && self.from.is_none_or(|f| start.at >= f)
            && self.to.is_none_or(|t| start.at < t)
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
    /// What is missing for a society.
    pub missing: Vec<Missing>,
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
    /// Plays counted.
    pub plays: u32,
    /// The works, in order of first use.
    pub works: Vec<Work>,
    /// Whether every work has everything a society asks for.
    pub ready: bool,
}

impl CueSheet {
    /// The cue sheet of the plays in `entries` that `period` covers, headed
    /// with `info`.
    pub fn build(entries: &[Entry], period: &Period, info: &ShowInfo) -> CueSheet {
        // Each play's start entry → heard seconds, once its end is seen.
        let mut heard: BTreeMap<u64, f64> = BTreeMap::new();
        for e in entries {
            if let Record::End(end) = &e.record {
                if let Some(Record::Start(s)) = entries
                    .get((end.play as usize).wrapping_sub(1))
                    .map(|e| &e.record)
                {
                    heard.insert(end.play, end.heard_frames as f64 / f64::from(s.rate.max(1)));
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
            let seconds = heard.get(&e.seq).copied();
            let work = match works.iter_mut().find(|w| w.hash == s.hash) {
                Some(w) => w,
                None => {
                    works.push(Work::first_use(s));
                    works.last_mut().expect("just pushed")
                }
            };
            work.uses += 1;
            work.last = work.last.max(s.at);
            match seconds {
                Some(t) => work.seconds += t,
                None => {
                    if !work.missing.contains(&Missing::Duration) {
                        work.missing.push(Missing::Duration);
                    }
                }
            }
        }
        let ready = works.iter().all(|w| w.missing.is_empty());
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
            plays,
            works,
            ready,
        }
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
            missing,
        }
    }
}
