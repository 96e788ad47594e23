//! Choosing a playback device and fitting the show's settings to what it
//! offers. Pure: the ALSA side ([`alsa::probe`](super::alsa)) reads the
//! cards and their hardware parameters; this decides.
//!
//! A box must play on the card it finds. It takes the first playback card
//! (or the one named), opens its `hw:` device — never `default`, whose dmix
//! refuses small periods and resamples — and asks for what the card offers:
//! its channel count up to what the show needs, a format it takes, a period
//! size in its range. The rate is the show's and is never changed: a card
//! that cannot run at it is refused, naming the rates it can.

use std::ops::RangeInclusive;

use super::SampleFormat;

/// A sound card with playback devices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Card {
    /// ALSA's card index (`hw:1`).
    pub index: u32,
    /// ALSA's card id (`hw:CARD=Intel`): stable across boots and slots.
    pub id: String,
    /// The card's name (`HDA Intel PCH`).
    pub name: String,
    /// Its PCM devices that play, lowest first.
    pub playback: Vec<u32>,
}

impl Card {
    /// The `hw:` PCM of its first playback device, by id so it survives a
    /// change of card order.
    pub fn pcm(&self) -> Option<String> {
        let device = self.playback.first()?;
        Some(format!("hw:CARD={},DEV={device}", self.id))
    }
}

/// Why no card was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The machine has no sound card that plays.
    #[error("no sound card with a playback device was found (the kernel lists none in /proc/asound/cards); connect or enable one")]
    NoCard,
    /// The card asked for is not there.
    #[error("no playback card matches \"{wanted}\"; the cards that play are: {}", list(.cards))]
    NotFound {
        /// What was asked (`--card`, `CARD=`).
        wanted: String,
        /// The cards there are.
        cards: Vec<Card>,
    },
}

fn list(cards: &[Card]) -> String {
    if cards.is_empty() {
        return "none".into();
    }
    cards
        .iter()
        .map(|c| format!("{} ({}, \"{}\")", c.index, c.id, c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The card to play on: the one `wanted` names (its index, its id, or part
/// of its name, case-insensitive), else the first that plays.
pub fn choose_card<'a>(cards: &'a [Card], wanted: Option<&str>) -> Result<&'a Card, CardError> {
    let playing = || cards.iter().filter(|c| !c.playback.is_empty());
    let Some(wanted) = wanted.map(str::trim).filter(|w| !w.is_empty()) else {
        return playing().next().ok_or(CardError::NoCard);
    };
    let lower = wanted.to_lowercase();
    let by = |f: &dyn Fn(&Card) -> bool| playing().find(|c| f(c));
    by(&|c| c.index.to_string() == wanted)
        .or_else(|| by(&|c| c.id.eq_ignore_ascii_case(wanted)))
        .or_else(|| by(&|c| c.name.to_lowercase().contains(&lower)))
        .ok_or_else(|| CardError::NotFound {
            wanted: wanted.to_owned(),
            cards: playing().cloned().collect(),
        })
}

/// What a device offers, from its hardware parameters.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Offer {
    /// Channel counts.
    pub channels: RangeInclusive<u16>,
    /// The formats it takes, of those the engine speaks, best first.
    pub formats: Vec<SampleFormat>,
    /// Frames per period.
    pub period: RangeInclusive<usize>,
    /// Periods per buffer.
    pub periods: RangeInclusive<u32>,
    /// The common rates it runs at (and the one asked, if it does).
    pub rates: Vec<u32>,
}

/// What the show asks of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// The show's rate: never changed.
    pub rate: u32,
    /// Frames per period asked.
    pub period: usize,
    /// Periods asked.
    pub periods: u32,
    /// The format asked, or the best the device takes.
    pub format: Option<SampleFormat>,
    /// The channels the show's outputs use.
    pub channels: u16,
}

/// What to open the device with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fit {
    /// Channels: as many as needed when the device has them, else all it has.
    pub channels: u16,
    /// The format.
    pub format: SampleFormat,
    /// Frames per period.
    pub period: usize,
    /// Periods per buffer.
    pub periods: u32,
    /// Each setting that differs from what was asked, and why.
    pub notes: Vec<String>,
}

/// Why a device cannot play the show at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    /// It does not run at the show's rate.
    #[error("it does not run at the session's {asked} Hz (it runs at {}); set the session's rate to one of those", rates(.offered))]
    Rate {
        /// The show's rate.
        asked: u32,
        /// What it runs at.
        offered: Vec<u32>,
    },
    /// It takes none of the engine's formats, or not the one asked.
    #[error("it takes {} and none of {}", formats(.offered), formats(.asked))]
    Format {
        /// What was acceptable.
        asked: Vec<SampleFormat>,
        /// What it takes of the engine's formats.
        offered: Vec<SampleFormat>,
    },
}

fn rates(r: &[u32]) -> String {
    if r.is_empty() {
        return "none of the usual rates".into();
    }
    r.iter()
        .map(|r| format!("{r} Hz"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn formats(f: &[SampleFormat]) -> String {
    if f.is_empty() {
        return "no format the engine speaks".into();
    }
    f.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
}

/// Fits `want` to `offer`: the rate must be offered; channels, period and
/// periods are taken within the device's ranges, each change noted.
pub fn fit(want: &Want, offer: &Offer) -> Result<Fit, FitError> {
    if !offer.rates.contains(&want.rate) {
        return Err(FitError::Rate {
            asked: want.rate,
            offered: offer.rates.clone(),
        });
    }
    let acceptable = match want.format {
        Some(f) => vec![f],
        None => SampleFormat::ALL.to_vec(),
    };
    let format = acceptable
        .iter()
        .copied()
        .find(|f| offer.formats.contains(f))
        .ok_or_else(|| FitError::Format {
            asked: acceptable.clone(),
            offered: offer.formats.clone(),
        })?;
    let mut notes = Vec::new();
    let channels = clamp(want.channels, &offer.channels);
    if channels < want.channels {
        notes.push(format!(
            "the session's outputs use {} channels and the device has {channels}",
            want.channels
        ));
    } else if channels > want.channels {
        notes.push(format!(
            "the device takes at least {channels} channels; those past {} are silent",
            want.channels
        ));
    }
    let period = within("period", "frames", want.period, &offer.period, &mut notes);
    let periods = within("periods", "", want.periods, &offer.periods, &mut notes);
    Ok(Fit {
        channels,
        format,
        period,
        periods,
        notes,
    })
}

fn clamp<T: Ord + Copy>(v: T, range: &RangeInclusive<T>) -> T {
    v.clamp(*range.start(), *range.end())
}

/// `asked` brought into the device's `range`; a change is noted.
fn within<T: Ord + Copy + std::fmt::Display>(
    what: &str,
    unit: &str,
    asked: T,
    range: &RangeInclusive<T>,
    notes: &mut Vec<String>,
) -> T {
    let got = clamp(asked, range);
    if got != asked {
        notes.push(format!(
            "{what} {asked} is outside the device's {}–{}{}{unit}: {got} it is",
            range.start(),
            range.end(),
            if unit.is_empty() { "" } else { " " },
        ));
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(index: u32, id: &str, name: &str, playback: &[u32]) -> Card {
        Card {
            index,
            id: id.into(),
            name: name.into(),
            playback: playback.to_vec(),
        }
    }

    fn hda() -> Offer {
        Offer {
            channels: 2..=2,
            formats: vec![SampleFormat::S32Le, SampleFormat::S16Le],
            period: 32..=16_384,
            periods: 2..=32,
            rates: vec![44_100, 48_000, 96_000, 192_000],
        }
    }

    const WANT: Want = Want {
        rate: 48_000,
        period: 256,
        periods: 3,
        format: None,
        channels: 10,
    };

    #[test]
    fn the_first_card_that_plays_or_the_one_named() {
        let cards = [
            card(0, "Capture", "USB Mic", &[]),
            card(1, "Intel", "HDA Intel PCH", &[0, 3]),
            card(2, "Device", "USB Audio Device", &[0]),
        ];
        assert_eq!(choose_card(&cards, None).unwrap().id, "Intel");
        assert_eq!(
            cards[1].pcm().as_deref(),
            Some("hw:CARD=Intel,DEV=0"),
            "by id, so card order does not matter"
        );
        assert_eq!(choose_card(&cards, Some("2")).unwrap().id, "Device");
        assert_eq!(choose_card(&cards, Some("intel")).unwrap().index, 1);
        assert_eq!(choose_card(&cards, Some("usb audio")).unwrap().index, 2);
        assert_eq!(choose_card(&cards, Some(" ")).unwrap().id, "Intel");
        let e = choose_card(&cards, Some("Capture")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no playback card matches \"Capture\"; the cards that play are: 1 (Intel, \"HDA Intel PCH\"), 2 (Device, \"USB Audio Device\")"
        );
        assert_eq!(choose_card(&cards[..1], None), Err(CardError::NoCard));
        assert_eq!(choose_card(&[], None), Err(CardError::NoCard));
    }

    #[test]
    fn a_stereo_card_gets_two_channels_and_its_best_format() {
        let fit = fit(&WANT, &hda()).unwrap();
        assert_eq!(fit.channels, 2);
        assert_eq!(fit.format, SampleFormat::S32Le);
        assert_eq!((fit.period, fit.periods), (256, 3));
        assert_eq!(
            fit.notes,
            ["the session's outputs use 10 channels and the device has 2"]
        );
    }

    #[test]
    fn settings_outside_the_device_are_brought_in_and_noted() {
        let offer = Offer {
            channels: 4..=8,
            formats: vec![SampleFormat::S24_3Le, SampleFormat::S16Le],
            period: 512..=4096,
            periods: 2..=2,
            rates: vec![48_000],
        };
        let fit = fit(
            &Want {
                channels: 2,
                ..WANT
            },
            &offer,
        )
        .unwrap();
        assert_eq!(
            (fit.channels, fit.format, fit.period, fit.periods),
            (4, SampleFormat::S24_3Le, 512, 2)
        );
        assert_eq!(fit.notes.len(), 3, "{:?}", fit.notes);
        assert!(fit.notes[0].contains("those past 2 are silent"));
        assert!(fit.notes[1].contains("512 it is"));
        assert_eq!(
            fit.notes[1],
            "period 256 is outside the device's 512–4096 frames: 512 it is"
        );
        assert_eq!(
            fit.notes[2],
            "periods 3 is outside the device's 2–2: 2 it is"
        );
    }

    #[test]
    fn a_rate_or_format_the_card_lacks_is_refused_by_name() {
        let e = fit(
            &Want {
                rate: 44_100,
                ..WANT
            },
            &Offer {
                rates: vec![48_000, 96_000],
                ..hda()
            },
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "it does not run at the session's 44100 Hz (it runs at 48000 Hz, 96000 Hz); set the session's rate to one of those"
        );
        let e = fit(
            &Want {
                format: Some(SampleFormat::F32Le),
                ..WANT
            },
            &hda(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "it takes S32_LE, S16_LE and none of FLOAT_LE"
        );
    }
}
