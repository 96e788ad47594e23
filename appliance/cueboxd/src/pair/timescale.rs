//! The pair's PTP timescale (docs/pair.md): a unit's show samples placed on
//! it and back, through the unit's own PTP time and its card's clock (the
//! DLL's position of the card on CLOCK_MONOTONIC). Two units on one
//! timescale place the same instant each on its own sample counter, however
//! fast each card runs.

use crate::api::proto::{PtpAnchor, PtpInstant};
use crate::clocking::ptp::monotonic_ns;
use crate::link::LiveLink;

/// The instant on the PTP timescale at which this unit plays its show
/// sample `sample`; `None` while its PTP time is not on a timescale (or it
/// runs none) or nothing plays.
pub(super) fn instant_of(link: &LiveLink, sample: f64) -> Option<PtpInstant> {
    let ptp = link.ptp()?;
    let grandmaster = ptp.timescale()?;
    let mono = link.monotonic_at_show_sample(sample)?;
    Some(PtpInstant {
        grandmaster,
        ns: ptp.time().at(mono.max(0.0).round() as u64),
    })
}

/// Where this unit's show clock is on the timescale now: the sample it
/// plays, its instant, and the length of a sample there (over a second of
/// them, from the card's rate as the DLL measures it).
pub(super) fn anchor(link: &LiveLink) -> Option<PtpAnchor> {
    let (_, rate, _) = link.render_now()?;
    let sample = link.show_sample_at(monotonic_ns())?.max(0.0).round() as u64;
    let at = instant_of(link, sample as f64)?;
    let later = instant_of(link, (sample + u64::from(rate)) as f64)?;
    Some(PtpAnchor {
        sample,
        ns_per_sample: (later.ns as i128 - at.ns as i128) as f64 / f64::from(rate),
        at,
    })
}

/// The instant the unit `anchor` describes plays its show sample `sample`.
pub(super) fn instant_by(anchor: &PtpAnchor, sample: u64) -> PtpInstant {
    let since = (sample as f64 - anchor.sample as f64) * anchor.ns_per_sample;
    PtpInstant {
        grandmaster: anchor.at.grandmaster.clone(),
        ns: (anchor.at.ns as i128 + since.round() as i128).max(0) as u64,
    }
}

/// The show sample (fractional) this unit plays at `at`; `None` when its PTP
/// time is not on `at`'s timescale, or nothing plays.
pub(super) fn sample_at(link: &LiveLink, at: &PtpInstant) -> Option<f64> {
    let ptp = link.ptp()?;
    if ptp.timescale()? != at.grandmaster {
        return None;
    }
    link.show_sample_at(ptp.time().monotonic_at(at.ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_places_any_sample_at_its_cards_rate() {
        // A card 50 ppm fast: its samples are that much shorter.
        let ns_per_sample = 1e9 / 48_000.0 / (1.0 + 50e-6);
        let anchor = PtpAnchor {
            sample: 480_000,
            at: PtpInstant {
                grandmaster: "gm".into(),
                ns: 1_000_000_000_000,
            },
            ns_per_sample,
        };
        let later = instant_by(&anchor, 480_000 + 48_000 * 60);
        assert_eq!(later.grandmaster, "gm");
        // A minute of its samples is 3 ms less than a minute.
        assert_eq!(later.ns - anchor.at.ns, 59_997_000_150);
        let earlier = instant_by(&anchor, 0);
        assert_eq!(anchor.at.ns - earlier.ns, 9_999_500_025);
    }
}
