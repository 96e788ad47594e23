//! The machine's sound cards and what a PCM offers, read through alsa-lib:
//! the I/O side of [`choice`](super::choice).

use alsa::ctl::{Ctl, DeviceIter};
use alsa::Direction;

use super::alsa::{alsa_format, DeviceError};
use super::choice::{Card, Offer};
use super::{Access, SampleFormat, StreamDir};

/// Rates a card is asked about, besides the show's.
const COMMON_RATES: [u32; 6] = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

/// The sound cards, with their playback devices; a card that cannot be
/// read is left out.
pub fn cards() -> Vec<Card> {
    // An error ends the walk: alsa-lib's iterator would repeat it for ever.
    alsa::card::Iter::new()
        .map_while(Result::ok)
        .filter_map(|card| {
            let ctl = Ctl::from_card(&card, false).ok()?;
            let info = ctl.card_info().ok()?;
            let playback = DeviceIter::new(&ctl)
                .filter_map(|d| u32::try_from(d).ok())
                .filter(|&d| ctl.pcm_info(d, 0, Direction::Playback).is_ok())
                .collect();
            Some(Card {
                index: u32::try_from(card.get_index()).ok()?,
                id: info.get_id().ok()?.to_owned(),
                name: info.get_name().ok()?.to_owned(),
                playback,
            })
        })
        .collect()
}

/// What the PCM `name` offers for playback with `access`, and whether it
/// runs at `rate`. Opens the device for a moment and closes it.
pub fn offer(name: &str, access: Access, rate: u32) -> Result<Offer, DeviceError> {
    let pcm = super::alsa::open(name, StreamDir::Playback)?;
    let read = |what: &'static str| {
        move |source| DeviceError::Setting {
            pcm: name.to_owned(),
            what,
            value: String::new(),
            source,
        }
    };
    let hw = super::alsa::hw_params(&pcm, name, access)?;
    let small = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    let channels = small(hw.get_channels_min().map_err(read("channels"))?)
        ..=small(hw.get_channels_max().map_err(read("channels"))?);
    let formats = SampleFormat::ALL
        .into_iter()
        .filter(|f| hw.test_format(alsa_format(*f)).is_ok())
        .collect();
    let frames = |f: alsa::pcm::Frames| usize::try_from(f).unwrap_or(0);
    let period = frames(hw.get_period_size_min().map_err(read("period size"))?)
        ..=frames(hw.get_period_size_max().map_err(read("period size"))?);
    let periods = hw.get_periods_min().map_err(read("periods"))?
        ..=hw.get_periods_max().map_err(read("periods"))?;
    let mut rates: Vec<u32> = COMMON_RATES
        .into_iter()
        .chain(std::iter::once(rate))
        .filter(|r| hw.test_rate(*r).is_ok())
        .collect();
    rates.sort_unstable();
    rates.dedup();
    Ok(Offer {
        channels,
        formats,
        period,
        periods,
        rates,
    })
}
