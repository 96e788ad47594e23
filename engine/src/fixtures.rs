//! Fixtures for tests and benchmarks, made one way everywhere: WAV files
//! (written with hound) and clips, described or probed from a real file.
//! Built with the `fixtures` feature (and for the engine's own tests).

use std::io::{Cursor, Seek, Write};
use std::path::Path;

use crate::media::probe;
use crate::show::{
    AudioFormat, AudioRef, Channels, ClipId, ContentHash, Extra, Frames, GridPos, Group, MediaPath,
    NewClip, PageNo, Placement, RightsMetadata, Show, TabIndex, Trim,
};

/// How a fixture WAV stores its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Interleaved channels.
    pub channels: u16,
    /// Frames per second.
    pub rate: u32,
    /// Bits per sample: 8, 16, 24 or 32 (integers), 32 (float).
    pub bits: u16,
    /// IEEE float samples rather than integers.
    pub float: bool,
}

impl WavFormat {
    /// 16-bit integer samples.
    pub const fn int16(channels: u16, rate: u32) -> Self {
        WavFormat {
            channels,
            rate,
            bits: 16,
            float: false,
        }
    }

    /// 32-bit float samples.
    pub const fn float32(channels: u16, rate: u32) -> Self {
        WavFormat {
            channels,
            rate,
            bits: 32,
            float: true,
        }
    }
}

/// Writes `frames` frames of `sample(frame, channel)` (full scale ±1.0;
/// integers are rounded to the nearest step and clamped) to `out`.
fn write_to<W: Write + Seek>(
    out: W,
    format: WavFormat,
    frames: u32,
    mut sample: impl FnMut(u32, u16) -> f32,
) -> hound::Result<()> {
    let spec = hound::WavSpec {
        channels: format.channels,
        sample_rate: format.rate,
        bits_per_sample: format.bits,
        sample_format: if format.float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::new(out, spec)?;
    let max = ((1i64 << (format.bits - 1)) - 1) as f64;
    for i in 0..frames {
        for c in 0..format.channels {
            let s = sample(i, c);
            match (format.float, format.bits) {
                (true, _) => w.write_sample(s)?,
                (false, 8) => w.write_sample((f64::from(s).clamp(-1.0, 1.0) * max).round() as i8)?,
                (false, 16) => {
                    w.write_sample((f64::from(s).clamp(-1.0, 1.0) * max).round() as i16)?
                }
                (false, _) => {
                    w.write_sample((f64::from(s).clamp(-1.0, 1.0) * max).round() as i32)?
                }
            }
        }
    }
    w.finalize()
}

/// Writes a WAV file of `frames` frames of `sample(frame, channel)`.
///
/// # Panics
/// When the file cannot be written: a fixture that cannot be made fails its test.
pub fn write_wav(path: &Path, format: WavFormat, frames: u32, sample: impl FnMut(u32, u16) -> f32) {
    let file = std::fs::File::create(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    write_to(std::io::BufWriter::new(file), format, frames, sample)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The bytes of a WAV file of `frames` frames of `sample(frame, channel)`.
pub fn wav_bytes(format: WavFormat, frames: u32, sample: impl FnMut(u32, u16) -> f32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    write_to(&mut out, format, frames, sample).expect("writing to memory cannot fail");
    out.into_inner()
}

/// The audio of a file that need not exist: `path` in the media folder,
/// 16-bit at 48 kHz, `frames` long, hashed by its name (so two paths never
/// share a hash).
pub fn described_audio(path: &str, channels: Channels, frames: u64) -> AudioRef {
    AudioRef {
        path: MediaPath::try_from(path.to_owned()).expect("a fixture's path is a media path"),
        hash: ContentHash::of_bytes(path.as_bytes()),
        format: AudioFormat {
            channels,
            sample_rate: 48_000,
            bit_depth: Some(16),
            frames: Frames(frames),
            codec: "pcm_s16le".into(),
            trim: Trim::default(),
            extra: Extra::new(),
        },
        metadata: RightsMetadata::default(),
        extra: Extra::new(),
    }
}

/// The audio of the real file `file` in the folder `media`: probed and
/// hashed as an import would.
///
/// # Panics
/// When the file cannot be read or is not audio.
pub fn probed_audio(media: &Path, file: &str) -> AudioRef {
    let path = media.join(file);
    let open = || {
        std::fs::File::open(&path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
    };
    let extension = path.extension().and_then(|e| e.to_str());
    let probed = probe(Box::new(open()), extension)
        .unwrap_or_else(|e| panic!("{} is not audio: {e}", path.display()));
    AudioRef {
        path: MediaPath::try_from(file.to_owned()).expect("a fixture's path is a media path"),
        hash: ContentHash::of_reader(open()).expect("the file was just read"),
        format: probed.format,
        metadata: probed.metadata,
        extra: Extra::new(),
    }
}

/// Button (`row`, `col`) of tab `tab` of page `page`, all from 1.
pub fn placement(page: u16, tab: usize, row: u16, col: u16) -> Placement {
    Placement {
        page: PageNo::new(page).expect("pages count from 1"),
        tab: TabIndex::from_number(tab).expect("tabs are 1 to 8"),
        pos: GridPos::new(row, col).expect("rows and columns count from 1"),
    }
}

/// Adds the clip `name` of `group` playing `audio` at `at`; its id.
///
/// # Panics
/// When the show refuses it (the button is taken or off the grid).
pub fn add_clip(
    show: &mut Show,
    name: &str,
    group: Group,
    audio: AudioRef,
    at: Placement,
) -> ClipId {
    show.add_clip(
        NewClip {
            name: name.into(),
            group,
            audio,
        },
        at,
    )
    .unwrap_or_else(|e| panic!("cannot add {name}: {e}"))
}

/// A show of one second of stereo audio per file name, each a clip of
/// group A on button 1, 2, … of page 1 tab 1 (a 4×8 grid); its clip ids.
pub fn row_show(files: &[&str]) -> (Show, Vec<ClipId>) {
    let mut show = Show::new(
        "t",
        "media",
        crate::show::GridDims::new(4, 8).expect("a valid grid"),
        "2026-01-01T00:00:00Z".parse().expect("a valid time"),
    );
    let ids = files
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let audio = described_audio(name, crate::show::Channels::Stereo, 48_000);
            add_clip(
                &mut show,
                name,
                Group::A,
                audio,
                placement(1, 1, 1, i as u16 + 1),
            )
        })
        .collect();
    (show, ids)
}
