//! The playback device: which one plays — a card the box finds itself, or
//! a PCM named by hand or by the device map — and the settings it is
//! opened with, fitted to what it offers ([`cuebox_engine::device::choice`]).

use cuebox_engine::device::alsa::{DeviceError, PcmConfig};
use cuebox_engine::device::cards;
use cuebox_engine::device::choice::{self, Card, CardError, FitError, Want};
use cuebox_engine::device::{Access, SampleFormat};

/// Which device plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A card's `hw:` device: the card named (index, id or part of its
    /// name), or the first that plays.
    Card(Option<String>),
    /// An ALSA PCM by name (`hw:1,0`, a plugin), opened as named.
    Pcm(String),
}

/// What the show asks of the playback device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The show's rate: never changed.
    pub rate: u32,
    /// Frames per period asked.
    pub period: usize,
    /// Periods asked.
    pub periods: u32,
    /// The format asked, or the best the device takes.
    pub format: Option<SampleFormat>,
    /// Read/write or mmap.
    pub access: Access,
    /// Channels asked; `None` takes as many as the show's outputs use.
    pub channels: Option<u16>,
}

impl Settings {
    /// What `cueboxd run` asks without options (and `system check` checks):
    /// 48 kHz, 256 × 3 (16 ms), the best format, read/write.
    pub const DEFAULT: Settings = Settings {
        rate: 48_000,
        period: 256,
        periods: 3,
        format: None,
        access: Access::ReadWrite,
        channels: None,
    };
}

/// The device chosen and what it will be opened with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The PCM and its settings.
    pub pcm: PcmConfig,
    /// The card, when the box chose one.
    pub card: Option<Card>,
    /// Every setting that differs from what was asked, and why.
    pub notes: Vec<String>,
}

/// Why no device could play.
#[derive(Debug, thiserror::Error)]
pub enum ChoiceError {
    /// No card to play on.
    #[error(transparent)]
    Card(#[from] CardError),
    /// The device could not be opened or read.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The device cannot play the show.
    #[error("ALSA PCM \"{pcm}\" cannot play the session: {source}")]
    Fit {
        /// The PCM.
        pcm: String,
        /// Why.
        source: FitError,
    },
}

/// Chooses the device for `output` and fits `settings` to it; `needed` is
/// how many channels the show's outputs use. Opens the device for a moment
/// to read what it offers.
pub fn choose(output: &Output, settings: &Settings, needed: u16) -> Result<Chosen, ChoiceError> {
    let (name, card) = match output {
        Output::Pcm(name) => (name.clone(), None),
        Output::Card(wanted) => {
            let cards = cards::cards();
            let card = choice::choose_card(&cards, wanted.as_deref())?.clone();
            let pcm = card.pcm().ok_or(CardError::NoCard)?;
            (pcm, Some(card))
        }
    };
    let offer = cards::offer(&name, settings.access, settings.rate)?;
    let want = Want {
        rate: settings.rate,
        period: settings.period,
        periods: settings.periods,
        format: settings.format,
        channels: settings.channels.unwrap_or(needed),
    };
    let fit = choice::fit(&want, &offer).map_err(|source| ChoiceError::Fit {
        pcm: name.clone(),
        source,
    })?;
    Ok(Chosen {
        pcm: PcmConfig {
            name,
            rate: settings.rate,
            period: fit.period,
            periods: fit.periods,
            format: Some(fit.format),
            access: settings.access,
            channels: fit.channels,
        },
        card,
        notes: fit.notes,
    })
}
