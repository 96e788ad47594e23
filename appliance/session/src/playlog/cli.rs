//! The command-line arguments `hostctl` and `cueboxd` share for the play
//! log: which period, and what an annotation sets.

use super::cuesheet::Span;
use super::record::{Review, Usage};
use super::reports::Changes;

/// Which plays: everything, one performance, or a range.
#[derive(Debug, Clone, clap::Args)]
pub struct PeriodArgs {
    /// One performance: the plays of this date (YYYY-MM-DD, in --tz).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub performance: Option<jiff::civil::Date>,
    /// Plays started at or after this instant (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    #[arg(long)]
    pub from: Option<jiff::Timestamp>,
    /// Plays started before this instant (RFC 3339).
    #[arg(long)]
    pub to: Option<jiff::Timestamp>,
    /// The time zone a --performance date is in (the box's own by default).
    #[arg(long, requires = "performance")]
    pub tz: Option<String>,
}

impl PeriodArgs {
    /// The span asked for.
    pub fn span(&self) -> Span {
        match self.performance {
            Some(date) => Span::Performance {
                date,
                tz: self.tz.clone(),
            },
            None if self.from.is_none() && self.to.is_none() => Span::All,
            None => Span::Range {
                from: self.from,
                to: self.to,
            },
        }
    }
}

/// What an annotation sets; what is not given stays as it was.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangesArgs {
    /// background, feature, theme, incidental or interval.
    #[arg(long)]
    pub usage: Option<Usage>,
    /// A note for the society or the rights administrator ("" clears it).
    #[arg(long)]
    pub note: Option<String>,
    /// pending or verified.
    #[arg(long)]
    pub review: Option<Review>,
}

impl ChangesArgs {
    /// The changes asked for.
    pub fn changes(&self) -> Changes {
        Changes {
            usage: self.usage,
            note: self.note.clone(),
            review: self.review,
        }
    }
}
