//! `cueboxd render`: a session and an event list rendered to a WAV file
//! without a sound card, through the same renderer the box plays with.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;

use atomic_write_file::AtomicWriteFile;
use cuebox_engine::control::{parse_events, EventsError};
use cuebox_engine::media::{decode_all, DecodeError, Pcm};
use cuebox_engine::offline::{self, BusChoice, OfflineError, Summary};
use cuebox_engine::show::ClipId;

use crate::store::{SessionDir, StoreError};

/// What to render (also the arguments of `cueboxd render`).
#[derive(Debug, Clone, clap::Args)]
pub struct Request {
    /// The session folder.
    #[arg(long, value_name = "DIR")]
    pub session: PathBuf,
    /// The event list.
    #[arg(long, value_name = "EVENTS.json")]
    pub events: PathBuf,
    /// The WAV file to write (stereo, 32-bit float).
    #[arg(long, value_name = "OUT.wav")]
    pub out: PathBuf,
    /// Seconds to render (default: to the last event plus the longest clip it plays).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Engine rate in Hz; clips at other rates are converted.
    #[arg(long, default_value_t = 48_000)]
    pub rate: u32,
    /// Frames per period, 16 to 4096 (the output is the same for every period).
    #[arg(long, default_value_t = 128)]
    pub period: usize,
    /// The bus to write: main (the A-D mix), audition, A, B, C or D.
    #[arg(long, default_value = "main", value_parser = parse_bus)]
    pub bus: BusChoice,
    /// Print what was rendered as JSON (with `overs`: every bus that went
    /// over 0 dBFS, its peak and when).
    #[arg(long)]
    pub json: bool,
}

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The session could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The event list could not be read or is wrong.
    #[error("{}: {source}", path.display())]
    Events {
        /// The event file.
        path: PathBuf,
        /// What is wrong.
        source: EventsError,
    },
    /// The event file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadEvents {
        /// The event file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A clip's media could not be decoded.
    #[error("clip \"{clip}\" ({}): {source}", file.display())]
    Media {
        /// The clip.
        clip: ClipId,
        /// Its file.
        file: PathBuf,
        /// What went wrong.
        source: DecodeError,
    },
    /// A clip's media file could not be opened.
    #[error("clip \"{clip}\": cannot open {}: {source}; run `hostctl session validate` to find missing media", file.display())]
    OpenMedia {
        /// The clip.
        clip: ClipId,
        /// Its file.
        file: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The renderer failed.
    #[error(transparent)]
    Render(#[from] OfflineError),
    /// The WAV file could not be written.
    #[error("cannot write {}: {reason}", path.display())]
    Output {
        /// The output file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A bad option.
    #[error("{0}")]
    Option(String),
}

/// The longest render: a day.
const MAX_SECONDS: f64 = 86_400.0;

/// Renders a session's events to a WAV file, atomically (a failed render
/// leaves no partial file).
pub fn render(req: &Request) -> Result<Summary, RenderError> {
    if !(16..=4096).contains(&req.period) {
        return Err(RenderError::Option(format!(
            "--period {} is outside 16 to 4096 frames",
            req.period
        )));
    }
    if !(8_000..=384_000).contains(&req.rate) {
        return Err(RenderError::Option(format!(
            "--rate {} is outside 8000 to 384000 Hz",
            req.rate
        )));
    }
    let session = SessionDir::open(&req.session)?;
    let show = session.load()?.show;
    let bytes = std::fs::read(&req.events).map_err(|source| RenderError::ReadEvents {
        path: req.events.clone(),
        source,
    })?;
    let ids: HashSet<&ClipId> = show.clips.iter().map(|c| &c.id).collect();
    let events = parse_events(&bytes, &ids, req.rate).map_err(|source| RenderError::Events {
        path: req.events.clone(),
        source,
    })?;

    // Decode each clip the events play, once.
    let media = session.media_folder(&show);
    let mut clips: HashMap<ClipId, Pcm> = HashMap::new();
    for id in events.iter().filter_map(|e| e.command.clip()) {
        if clips.contains_key(id) {
            continue;
        }
        let clip = show
            .clip(id)
            .expect("parse_events checked every clip exists");
        let file = media.join(clip.audio.path.as_path());
        let source = File::open(&file).map_err(|source| RenderError::OpenMedia {
            clip: id.clone(),
            file: file.clone(),
            source,
        })?;
        let ext = file.extension().and_then(|e| e.to_str());
        let pcm =
            decode_all(Box::new(source), ext, req.rate).map_err(|source| RenderError::Media {
                clip: id.clone(),
                file: file.clone(),
                source,
            })?;
        clips.insert(id.clone(), pcm);
    }

    let seconds = match req.seconds {
        Some(s) if (0.0..=MAX_SECONDS).contains(&s) => s,
        Some(s) => {
            return Err(RenderError::Option(format!(
                "--seconds {s} is outside 0 to {MAX_SECONDS}"
            )))
        }
        None => {
            let last = events
                .last()
                .map_or(0.0, |e| e.at.frame(req.rate) as f64 / f64::from(req.rate));
            let longest = clips
                .values()
                .map(|p| p.frames as f64 / f64::from(req.rate))
                .fold(0.0, f64::max);
            (last + longest + 0.5).min(MAX_SECONDS)
        }
    };
    let options = offline::Options {
        rate: req.rate,
        period: req.period,
        frames: (seconds * f64::from(req.rate)).round() as u64,
        bus: req.bus,
    };

    let out_err = |reason: String| RenderError::Output {
        path: req.out.clone(),
        reason,
    };
    let file = AtomicWriteFile::open(&req.out).map_err(|e| out_err(e.to_string()))?;
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: req.rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut buffered = std::io::BufWriter::new(file);
    let mut wav = hound::WavWriter::new(&mut buffered, spec).map_err(|e| out_err(e.to_string()))?;
    let summary = offline::render(&show, &clips, &events, &options, |samples| {
        samples
            .iter()
            .try_for_each(|s| wav.write_sample(*s))
            .map_err(|e| std::io::Error::other(e.to_string()))
    })?;
    wav.finalize().map_err(|e| out_err(e.to_string()))?;
    let file = buffered
        .into_inner()
        .map_err(|e| out_err(e.error().to_string()))?;
    // Only a finished file appears under the output name.
    file.commit().map_err(|e| out_err(e.to_string()))?;
    Ok(summary)
}

/// The bus a `--bus` argument names.
pub fn parse_bus(s: &str) -> Result<BusChoice, String> {
    match s {
        "main" => Ok(BusChoice::Main),
        "audition" => Ok(BusChoice::Audition),
        g => g
            .parse()
            .map(BusChoice::Group)
            .map_err(|_| format!("bus {s:?} does not exist: use main, audition, A, B, C or D")),
    }
}
