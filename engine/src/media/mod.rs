//! Media: probing and decoding audio files.
//!
//! [`probe`] answers "can cuebox play this file, and what is it?" from a
//! reader the caller opened: the engine itself never touches the file
//! system. It decodes every packet, so a file that probes cleanly is known to
//! play to its end, and its frame count is the decoded truth rather than a
//! header's claim.
//!
//! [`ClipDecoder`] streams a clip's gapless audio as `f32` frames at the
//! engine rate (converting other rates with rubato), with sample-accurate
//! seeking; [`decode_all`] decodes a whole clip into memory. Both open the
//! file exactly as the probe does and apply the same gapless trimming.

use std::any::Any;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};

use serde::{Deserialize, Serialize};
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3, CODEC_ID_OPUS, CODEC_ID_VORBIS,
};
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, CODEC_ID_NULL_AUDIO,
};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use crate::show::{
    AudioFormat, Channels, Extra, Frames, RightsMetadata, Trim, UnsupportedChannels,
};

mod codec;
mod decode;
mod mp4;
mod resample;
mod riff;
mod sniff;
mod stream;
mod tags;

pub use decode::{decode_all, ClipDecoder, DecodeError, Pcm};
pub use stream::{
    arm_heads, ArmError, Butler, ButlerConfig, FrameSource, Head, StreamError, StreamReader,
};
pub use symphonia::core::io::MediaSource;

use sniff::Sniffed;

/// Seconds of each clip a box preloads (its head): a GO never waits for a
/// disk, and the butler has this long to fill the voice's ring.
pub const HEAD_SECONDS: f64 = 2.0;

/// The longest clip cuebox accepts. Longer claims are refused before any
/// decoding, so a hostile header cannot make the box decode for days.
pub const MAX_CLIP_SECS: u64 = 24 * 60 * 60;

/// Packets with no audio tolerated in a row; real files have a handful.
const MAX_EMPTY_PACKETS_IN_A_ROW: u32 = 10_000;

/// What a probe found in an audio file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probed {
    /// The audio's format, as a clip records it; `frames` is the decoded,
    /// gapless length.
    pub format: AudioFormat,
    /// Rights metadata from the file's tags (title, artist, composer,
    /// publisher, ISRC, ISWC); fields the tags lack are `None`.
    pub metadata: RightsMetadata,
    /// The container, for display (`WAV`, `FLAC`, `MP4`, …).
    pub container: String,
}

/// Why a file cannot be a clip. Each variant names what was wrong and, in
/// its message, what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The file has no bytes at all.
    #[error("the file is empty (0 bytes); copy it again from the original")]
    Empty,
    /// The content is not a container cuebox knows.
    #[error("not an audio file{}: the content looks like {content}", named(.extension))]
    NotAudio {
        /// The extension the caller gave, if any.
        extension: Option<String>,
        /// What the first bytes look like (`text`, `PDF document`, …).
        content: &'static str,
    },
    /// A known audio container cuebox has no reader for.
    #[error("{container} files are not supported; convert the file to WAV or FLAC")]
    UnsupportedContainer {
        /// The container's name.
        container: &'static str,
    },
    /// A container cuebox reads, in a variant or layout it cannot.
    #[error("this {container} file uses a variant cuebox cannot read ({detail}); convert it to WAV or FLAC")]
    UnsupportedVariant {
        /// The container's name.
        container: String,
        /// What the reader refused.
        detail: String,
    },
    /// The audio track's codec has no decoder in cuebox.
    #[error("the {container} file holds {codec} audio, which cuebox cannot decode; convert it to WAV or FLAC")]
    UnsupportedCodec {
        /// The container's name.
        container: String,
        /// The codec's name.
        codec: String,
    },
    /// The container holds no audio track (video only, or nothing).
    #[error("the {container} file has no audio track")]
    NoAudioTrack {
        /// The container's name.
        container: String,
    },
    /// The audio track decodes to no frames at all.
    #[error("the {container} file holds no audio (0 frames)")]
    NoFrames {
        /// The container's name.
        container: String,
    },
    /// More than two channels (or none).
    #[error(transparent)]
    Channels(#[from] UnsupportedChannels),
    /// A sample rate outside [`AudioFormat::SAMPLE_RATES`].
    #[error("sample rate {rate} Hz is not supported: cuebox plays 44.1, 48, 88.2, 96, 176.4 or 192 kHz; resample the file")]
    SampleRate {
        /// The file's rate in Hz.
        rate: u32,
    },
    /// Neither the header nor the decoded audio says what the file's rate or
    /// channel count is.
    #[error("the {container} file does not say its {what}")]
    MissingParameter {
        /// The container's name.
        container: String,
        /// `sample rate` or `channel count`.
        what: &'static str,
    },
    /// Longer than [`MAX_CLIP_SECS`].
    #[error("too long: the {} {frames} frames ({}) at {sample_rate} Hz; a clip is at most 24 h", if *.from_header { "header claims" } else { "file decodes to more than" }, timecode(*.frames, *.sample_rate))]
    TooLong {
        /// The frames claimed or decoded so far.
        frames: u64,
        /// The sample rate.
        sample_rate: u32,
        /// Whether the header claimed it (refused before decoding).
        from_header: bool,
    },
    /// Fewer frames decode than the header promises: the file was cut short.
    #[error("truncated: header says {header} frames, only {decoded} decode; the file was cut short (an interrupted copy or export?): export it again")]
    Truncated {
        /// Frames the header promises.
        header: u64,
        /// Frames that decoded.
        decoded: u64,
    },
    /// More frames decode than the header says: the header is wrong.
    #[error("length mismatch: header says {header} frames, but {decoded} decode; the file is damaged: export it again")]
    LengthMismatch {
        /// Frames the header says.
        header: u64,
        /// Frames that decoded.
        decoded: u64,
    },
    /// The audio data is damaged at a position.
    #[error("corrupt {codec} data at frame {frame} ({}): {reason}; export the file again", timecode(*.frame, *.sample_rate))]
    Corrupt {
        /// The codec's name.
        codec: String,
        /// Frames decoded before the damage.
        frame: u64,
        /// The sample rate, to give the position as a time.
        sample_rate: u32,
        /// What the demuxer or decoder reported.
        reason: String,
    },
    /// The container's header is damaged.
    #[error("damaged {container} file: {detail}; export it again")]
    Damaged {
        /// The container's name.
        container: String,
        /// What the reader reported.
        detail: String,
    },
    /// Sample rate or channels change part-way through.
    #[error("the audio format changes at frame {frame} ({what}); a clip keeps one format: export it again as one")]
    FormatChanges {
        /// Frames decoded before the change.
        frame: u64,
        /// What changed.
        what: String,
    },
    /// The demuxer or decoder failed outright (it panicked) on this data.
    #[error(
        "the decoder failed on this file ({detail}); the file is probably damaged: export it again"
    )]
    DecoderFailed {
        /// What the failure said.
        detail: String,
    },
    /// Reading the source failed.
    #[error("reading the file failed: {0}")]
    Io(#[source] io::Error),
}

/// ` (named .ext)` for messages, or nothing.
fn named(extension: &Option<String>) -> String {
    extension
        .as_deref()
        .map(|e| format!(" (named .{}, but it is not)", e.trim_start_matches('.')))
        .unwrap_or_default()
}

/// A frame position as `h:mm:ss.mmm`.
fn timecode(frames: u64, sample_rate: u32) -> String {
    let ms = u128::from(frames) * 1000 / u128::from(sample_rate.max(1));
    let (h, rem) = (ms / 3_600_000, ms % 3_600_000);
    format!(
        "{h}:{:02}:{:02}.{:03}",
        rem / 60_000,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Probes an audio file: identifies container and codec, checks cuebox can
/// play it (mono or stereo, a supported rate, at most [`MAX_CLIP_SECS`]),
/// decodes every packet to prove it plays to the end, and reads its rights
/// metadata.
///
/// `source` is read from its start; `extension` (with or without the dot)
/// only speeds up recognition and names the file in errors. Seekable sources
/// (files, cursors) allow MP4 gapless handling and trailing tags.
pub fn probe(source: Box<dyn MediaSource>, extension: Option<&str>) -> Result<Probed, ProbeError> {
    guarded(|| open_track(source, extension)?.probe())
}

/// Runs `f`, turning a panic into [`ProbeError::DecoderFailed`]. Demuxers
/// and decoders parse untrusted bytes; should one panic on a hostile file,
/// that is this file's error, not the importing process's end. Callers must
/// not use state the closure left half-updated (see [`ClipDecoder`]).
pub(crate) fn guarded<T, E: From<ProbeError>>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(ProbeError::DecoderFailed {
            detail: panic_detail(&*payload),
        }
        .into())
    })
}

/// What a panic said, if it said it with a string.
fn panic_detail(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// Opens the container in `source` and picks its audio track, with what
/// Symphonia does not report read directly: the one way in for both the
/// probe and the decoder, so they agree on every file.
pub(crate) fn open_track(
    mut source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> Result<OpenTrack, ProbeError> {
    let seekable = source.is_seekable();
    let head = read_head(&mut source).map_err(ProbeError::Io)?;
    if head.is_empty() {
        return Err(ProbeError::Empty);
    }
    let sniffed = sniff::sniff(&head);
    let mut edit_start = None;
    let mut wav = riff::WavChunks::default();
    let source: Box<dyn MediaSource> = if seekable {
        // What Symphonia does not report, read directly (see each module).
        match sniffed {
            Sniffed::Supported("MPEG-4/QuickTime") => {
                edit_start = mp4::audio_edit_start(&mut *source)
            }
            Sniffed::Supported("WAV") => wav = riff::scan(&mut *source),
            _ => {}
        }
        source.seek(SeekFrom::Start(0)).map_err(ProbeError::Io)?;
        source
    } else {
        Box::new(Prefixed {
            head,
            pos: 0,
            inner: source,
        })
    };

    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext.trim_start_matches('.'));
    }
    let mss = MediaSourceStream::new(source, MediaSourceStreamOptions::default());
    let reader = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| open_error(e, sniffed, extension))?;
    let mut track = OpenTrack::new(reader, edit_start, seekable)?;
    for (id, value) in &wav.info {
        track.tags.add_riff_info(id, value);
    }
    if codec::is_block_padded(track.params.codec) {
        track.exact_frames = wav.fact_frames;
    }
    Ok(track)
}

/// Reads up to [`sniff::HEAD_LEN`] bytes (fewer only at end of file).
fn read_head(source: &mut Box<dyn MediaSource>) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(sniff::HEAD_LEN);
    Read::take(&mut **source, sniff::HEAD_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Turns a failure to open the container into the error that says why.
fn open_error(e: SymError, sniffed: Sniffed, extension: Option<&str>) -> ProbeError {
    let (unsupported, detail) = match e {
        SymError::IoError(e) if e.kind() != io::ErrorKind::UnexpectedEof => {
            return ProbeError::Io(e)
        }
        SymError::IoError(_) => (false, "it ends before its header does".to_owned()),
        SymError::Unsupported(what) => (true, what.to_owned()),
        other => (false, other.to_string()),
    };
    match sniffed {
        Sniffed::Supported(container) if unsupported => ProbeError::UnsupportedVariant {
            container: container.to_owned(),
            detail,
        },
        Sniffed::Supported(container) => ProbeError::Damaged {
            container: container.to_owned(),
            detail,
        },
        Sniffed::UnsupportedAudio(container) => ProbeError::UnsupportedContainer { container },
        other => ProbeError::NotAudio {
            extension: extension.map(|e| e.trim_start_matches('.').to_owned()),
            content: other.describe(),
        },
    }
}

/// A display name for a Symphonia container.
fn container_name(short_name: &str, long_name: &str) -> String {
    match short_name {
        "wave" => "WAV",
        "aiff" => "AIFF",
        "flac" => "FLAC",
        "isomp4" => "MP4",
        "ogg" => "Ogg",
        "mp3" => "MP3",
        "mp1" | "mp2" => "MPEG audio",
        "aac" => "ADTS AAC",
        "caf" => "CAF",
        "matroska" => "Matroska",
        _ => long_name,
    }
    .to_owned()
}

/// Codecs whose Symphonia decoder drops encoder delay and padding itself
/// (from the container's packet trims), so the decoded count is gapless.
fn decoder_trims(params: &AudioCodecParameters) -> bool {
    matches!(
        params.codec,
        CODEC_ID_MP1 | CODEC_ID_MP2 | CODEC_ID_MP3 | CODEC_ID_VORBIS | CODEC_ID_OPUS
    )
}

/// An opened container's audio track: the reader, what the header says, and
/// what cuebox read besides Symphonia.
pub(crate) struct OpenTrack {
    pub(crate) reader: Box<dyn FormatReader>,
    pub(crate) container: String,
    pub(crate) track_id: u32,
    pub(crate) params: AudioCodecParameters,
    pub(crate) codec: String,
    header_frames: Option<u64>,
    delay: Option<u32>,
    padding: Option<u32>,
    edit_start: Option<mp4::EditStart>,
    /// The exact length of a block-padded stream (WAV `fact`).
    exact_frames: Option<u64>,
    tags: tags::TagCollector,
    /// The track's time base is 1/sample rate (or unstated), so packet
    /// timestamps are frame positions.
    pub(crate) ts_in_frames: bool,
    /// The source can seek backwards.
    pub(crate) seekable: bool,
}

/// What one decode pass over the whole track found.
pub(crate) struct Pass {
    /// The sample rate, from the header or else the decoded audio.
    pub rate: Option<u32>,
    /// The channel count, likewise.
    pub channels: Option<usize>,
    /// Frames the decoder produced, before gapless trimming.
    pub decoded: u64,
    /// The timestamp of the track's first packet.
    pub first_pts: Option<i64>,
}

/// Where the audio lies in a straight decode of the track (the decoder's
/// output from the first packet on): the gapless trimming both the probe
/// and playback apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Decoded frames before the audio (encoder delay, MP4 priming).
    pub trim_start: u64,
    /// Frames of audio after them; `None` when only a full decode can tell.
    pub frames: Option<u64>,
    /// A length the header states and the decoded count comparable to it.
    check: Option<(u64, u64)>,
}

impl OpenTrack {
    /// Picks the audio track and checks what its header says.
    fn new(
        reader: Box<dyn FormatReader>,
        edit_start: Option<mp4::EditStart>,
        seekable: bool,
    ) -> Result<Self, ProbeError> {
        let info = reader.format_info();
        let container = container_name(info.short_name, info.long_name);
        let track = reader
            .default_track(TrackType::Audio)
            .or_else(|| reader.first_track(TrackType::Audio));
        let Some(track) = track else {
            return Err(ProbeError::NoAudioTrack { container });
        };
        let Some(params) = track.codec_params.as_ref().and_then(|p| p.audio()).cloned() else {
            return Err(ProbeError::NoAudioTrack { container });
        };
        let codec = if params.codec == CODEC_ID_NULL_AUDIO {
            "an unidentified codec".to_owned()
        } else {
            codec::short_name(params.codec)
        };
        let ts_in_frames = match (track.time_base, params.sample_rate) {
            (None, _) => true,
            (Some(tb), Some(rate)) => tb.numer.get() == 1 && tb.denom.get() == rate,
            (Some(_), None) => false,
        };
        let open = OpenTrack {
            track_id: track.id,
            header_frames: track.num_frames,
            delay: track.delay,
            padding: track.padding,
            reader,
            container,
            params,
            codec,
            edit_start,
            exact_frames: None,
            tags: tags::TagCollector::default(),
            ts_in_frames,
            seekable,
        };
        // Refuse what the header already rules out, before decoding anything.
        if let Some(channels) = &open.params.channels {
            check_channels(channels.count())?;
        }
        if let Some(rate) = open.params.sample_rate {
            check_rate(rate)?;
            if let Some(frames) = open.header_frames {
                if frames > max_frames(rate) {
                    return Err(ProbeError::TooLong {
                        frames,
                        sample_rate: rate,
                        from_header: true,
                    });
                }
            }
        }
        Ok(open)
    }

    /// A decoder for the track; `verify` checks FLAC's MD5 of the decoded
    /// audio (which only a full decode from the start can).
    pub(crate) fn make_decoder(&self, verify: bool) -> Result<Box<dyn AudioDecoder>, ProbeError> {
        let registry = symphonia::default::get_codecs();
        if registry.get_audio_decoder(self.params.codec).is_none() {
            return Err(ProbeError::UnsupportedCodec {
                container: self.container.clone(),
                codec: self.codec.clone(),
            });
        }
        registry
            .make_audio_decoder(&self.params, &AudioDecoderOptions::default().verify(verify))
            .map_err(|e| match e {
                SymError::Unsupported(what) => ProbeError::UnsupportedCodec {
                    container: self.container.clone(),
                    codec: format!("{} ({what})", self.codec),
                },
                other => ProbeError::Damaged {
                    container: self.container.clone(),
                    detail: format!("{} decoder setup: {other}", self.codec),
                },
            })
    }

    /// Decodes every packet, checks the result and reads the tags.
    fn probe(mut self) -> Result<Probed, ProbeError> {
        let mut decoder = self.make_decoder(true)?;
        self.collect_tags();
        let pass = self.decode_pass(&mut *decoder)?;
        self.collect_tags();

        let missing = |what| ProbeError::MissingParameter {
            container: self.container.clone(),
            what,
        };
        let rate = pass.rate.ok_or_else(|| missing("sample rate"))?;
        let channels = pass.channels.ok_or_else(|| missing("channel count"))?;
        let decoded = pass.decoded;
        if decoded == 0 {
            return Err(ProbeError::NoFrames {
                container: self.container,
            });
        }
        let (frames, trim) = self.gapless(decoded, rate)?;
        // After the length check: a cut-short file is better called truncated.
        if decoder.finalize().verify_ok == Some(false) {
            return Err(ProbeError::Corrupt {
                codec: self.codec,
                frame: decoded,
                sample_rate: rate,
                reason: "the decoded audio does not match the checksum the encoder stored"
                    .to_owned(),
            });
        }
        if frames == 0 {
            return Err(ProbeError::NoFrames {
                container: self.container,
            });
        }
        let bit_depth =
            codec::bit_depth(decoder.codec_params()).or_else(|| codec::bit_depth(&self.params));
        Ok(Probed {
            format: AudioFormat {
                channels: check_channels(channels)?,
                sample_rate: rate,
                bit_depth,
                frames: Frames(frames),
                codec: self.codec,
                trim,
                extra: Extra::new(),
            },
            metadata: self.tags.finish(),
            container: self.container,
        })
    }

    /// Decodes every packet of the track from the reader's position,
    /// checking that the audio keeps one format, positions do not jump and
    /// the length stays within [`MAX_CLIP_SECS`].
    pub(crate) fn decode_pass(
        &mut self,
        decoder: &mut dyn AudioDecoder,
    ) -> Result<Pass, ProbeError> {
        let mut rate = self.params.sample_rate;
        let mut channels = self.params.channels.as_ref().map(|c| c.count());
        let mut spec_seen = false;
        let mut decoded: u64 = 0;
        let mut empty_in_a_row = 0u32;
        // Lossless packets carry exact positions (FLAC frames number their
        // first sample); a jump means the reader skipped damaged data, which
        // would otherwise pass as a shorter file.
        let check_positions = codec::is_lossless(self.params.codec);
        let mut next_pts: Option<i64> = None;
        let mut first_pts = None;
        loop {
            let corrupt = |frame: u64, reason: String, codec: &str| ProbeError::Corrupt {
                codec: codec.to_owned(),
                frame,
                sample_rate: rate.unwrap_or(1),
                reason,
            };
            let packet = match self.reader.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                // Some readers report the end of a cut-short file this way;
                // the header comparison then says how much is missing.
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(self.read_error(e, decoded, rate.unwrap_or(1))),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let pts = packet.pts.get();
            first_pts.get_or_insert(pts);
            if check_positions {
                if let Some(expected) = next_pts.filter(|&e| e != pts) {
                    return Err(jumped(&self.codec, expected, pts, rate.unwrap_or(1)));
                }
                let dur = i64::try_from(packet.dur.get()).unwrap_or(i64::MAX);
                next_pts = Some(pts.saturating_add(dur));
            }
            let buf = match decoder.decode(&packet) {
                Ok(buf) => buf,
                Err(e) => return Err(self.decode_error(e, decoded, rate.unwrap_or(1))),
            };
            let frames = buf.frames() as u64;
            if frames == 0 {
                empty_in_a_row += 1;
                if empty_in_a_row > MAX_EMPTY_PACKETS_IN_A_ROW {
                    return Err(corrupt(
                        decoded,
                        "thousands of empty packets".to_owned(),
                        &self.codec,
                    ));
                }
                continue;
            }
            empty_in_a_row = 0;
            let spec = buf.spec();
            let (spec_rate, spec_channels) = (spec.rate(), spec.channels().count());
            if !spec_seen {
                spec_seen = true;
                // The decoded audio is the truth where the header was silent.
                let rate_now = *rate.get_or_insert(spec_rate);
                let channels_now = *channels.get_or_insert(spec_channels);
                check_channels(channels_now)?;
                check_rate(rate_now)?;
            }
            if Some(spec_rate) != rate || Some(spec_channels) != channels {
                return Err(format_changes(
                    decoded,
                    (channels.unwrap_or(0), rate.unwrap_or(0)),
                    (spec_channels, spec_rate),
                ));
            }
            decoded += frames;
            if let Some(r) = rate {
                if decoded > max_frames(r) + codec::length_tolerance(&self.params) {
                    return Err(ProbeError::TooLong {
                        frames: decoded,
                        sample_rate: r,
                        from_header: false,
                    });
                }
            }
        }
        Ok(Pass {
            rate,
            channels,
            decoded,
            first_pts,
        })
    }

    /// The error for a failed `next_packet`, `frame` frames into the decode.
    pub(crate) fn read_error(&self, e: SymError, frame: u64, sample_rate: u32) -> ProbeError {
        match e {
            SymError::IoError(e) => ProbeError::Io(e),
            SymError::ResetRequired => ProbeError::UnsupportedVariant {
                container: self.container.clone(),
                detail: "several chained streams in one file".to_owned(),
            },
            e => ProbeError::Corrupt {
                codec: self.codec.clone(),
                frame,
                sample_rate,
                reason: e.to_string(),
            },
        }
    }

    /// The error for a failed `decode`, `frame` frames into the decode.
    pub(crate) fn decode_error(&self, e: SymError, frame: u64, sample_rate: u32) -> ProbeError {
        match e {
            SymError::ResetRequired => ProbeError::FormatChanges {
                frame,
                what: "the decoder had to restart".to_owned(),
            },
            e => ProbeError::Corrupt {
                codec: self.codec.clone(),
                frame,
                sample_rate,
                reason: e.to_string(),
            },
        }
    }

    /// Reads the tags of every metadata revision the reader has queued.
    pub(crate) fn collect_tags(&mut self) {
        let mut log = self.reader.metadata();
        loop {
            if let Some(revision) = log.current() {
                self.tags.add_revision(revision, self.track_id);
            }
            // `pop` keeps the last revision, which `current` then repeats;
            // first-value-wins makes the repeat harmless.
            if log.pop().is_none() {
                break;
            }
        }
    }

    /// Where the audio lies in a straight decode of `decoded` frames, or,
    /// with `decoded` unknown, as far as the header tells: `frames` is then
    /// `None` unless the header's length is exact (a lossless codec, a LAME
    /// or Ogg length, an MP4 or `fact` length), since for a lossy stream
    /// without one only a full decode gives the count the probe recorded.
    pub(crate) fn layout(&self, rate: u32, decoded: Option<u64>) -> Layout {
        let header = self.header_frames;
        // Without a decode, nothing caps the header's figures.
        let cap = decoded.unwrap_or(u64::MAX);
        let at = |trim_start, frames, check| Layout {
            trim_start,
            frames,
            check,
        };
        if decoder_trims(&self.params) {
            // MP3's length is exact only from a LAME header (otherwise
            // Symphonia estimates it); an Ogg's comes from its last page.
            let exact = self.delay.is_some() || self.params.codec == CODEC_ID_VORBIS;
            let frames = decoded.or(header.filter(|_| exact));
            at(0, frames, header.zip(decoded))
        } else if self.delay.is_some() || self.padding.is_some() {
            // Symphonia's own figures: its header count excludes both.
            let start = u64::from(self.delay.unwrap_or(0)).min(cap);
            let frames = match decoded {
                Some(d) => Some(d - start - u64::from(self.padding.unwrap_or(0)).min(d - start)),
                None => header,
            };
            at(
                start,
                frames,
                header.zip(frames.filter(|_| decoded.is_some())),
            )
        } else if let Some(g) = self.tags.itunes_gapless {
            let start = g.delay.min(cap);
            let frames = g.frames.min(cap - start);
            at(start, Some(frames), decoded.map(|d| (g.frames, d - start)))
        } else if let (Some(edit), Some(h)) = (self.edit_start, header) {
            // The MP4 timeline (`h`) includes the priming the edit skips.
            let start = edit.frames(rate).min(h).min(cap);
            let audio_end = h.min(cap);
            at(start, Some(audio_end - start), decoded.map(|d| (h, d)))
        } else if let Some(exact) = self.exact_frames {
            // Block codecs decode whole blocks; the last is padded.
            at(0, Some(exact.min(cap)), decoded.map(|d| (exact, d)))
        } else {
            let exact = codec::is_lossless(self.params.codec);
            let frames = decoded.or(header.filter(|_| exact));
            at(0, frames, header.zip(decoded))
        }
    }

    /// The gapless length and the trim playback must apply, after checking
    /// the decode against the header's length.
    fn gapless(&self, decoded: u64, rate: u32) -> Result<(u64, Trim), ProbeError> {
        let layout = self.layout(rate, Some(decoded));
        let start = layout.trim_start.min(decoded);
        let frames = layout
            .frames
            .unwrap_or(decoded - start)
            .min(decoded - start);
        let trim = Trim {
            start,
            end: decoded - start - frames,
        };
        if let Some((header, decoded)) = layout.check {
            let tolerance = self.length_tolerance(header);
            if decoded.saturating_add(tolerance) < header {
                return Err(ProbeError::Truncated { header, decoded });
            }
            if decoded > header.saturating_add(tolerance) {
                return Err(ProbeError::LengthMismatch { header, decoded });
            }
        }
        Ok((frames, trim))
    }

    /// How far a decode may fall short of (or run past) a header's
    /// `header` frames without the file being damaged.
    pub(crate) fn length_tolerance(&self, header: u64) -> u64 {
        let mut tolerance = codec::length_tolerance(&self.params);
        if matches!(
            self.params.codec,
            CODEC_ID_MP1 | CODEC_ID_MP2 | CODEC_ID_MP3
        ) && self.delay.is_none()
        {
            // Without a Xing/LAME header Symphonia estimates the length
            // from the bitrate.
            tolerance += header / 100;
        }
        tolerance
    }
}

/// The error for a lossless stream whose positions jump from `expected` to `pts`.
pub(crate) fn jumped(codec: &str, expected: i64, pts: i64, sample_rate: u32) -> ProbeError {
    ProbeError::Corrupt {
        codec: codec.to_owned(),
        frame: u64::try_from(expected).unwrap_or(0),
        sample_rate,
        reason: format!("the file jumps to frame {pts}: damaged data was skipped"),
    }
}

/// The error for decoded audio whose channels or rate differ from before.
pub(crate) fn format_changes(
    frame: u64,
    (channels, rate): (usize, u32),
    (now_channels, now_rate): (usize, u32),
) -> ProbeError {
    ProbeError::FormatChanges {
        frame,
        what: format!("{channels} ch at {rate} Hz becomes {now_channels} ch at {now_rate} Hz"),
    }
}

/// The longest clip at `rate`, in frames.
pub(crate) fn max_frames(rate: u32) -> u64 {
    MAX_CLIP_SECS * u64::from(rate)
}

pub(crate) fn check_channels(count: usize) -> Result<Channels, ProbeError> {
    let count = u16::try_from(count).unwrap_or(u16::MAX);
    Ok(Channels::try_from(count)?)
}

fn check_rate(rate: u32) -> Result<(), ProbeError> {
    if AudioFormat::SAMPLE_RATES.contains(&rate) {
        Ok(())
    } else {
        Err(ProbeError::SampleRate { rate })
    }
}

/// A non-seekable source with its already-read head put back in front.
struct Prefixed {
    head: Vec<u8>,
    pos: usize,
    inner: Box<dyn MediaSource>,
}

impl Read for Prefixed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.head.len() {
            let n = (self.head.len() - self.pos).min(buf.len());
            buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

impl Seek for Prefixed {
    fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "source is not seekable",
        ))
    }
}

impl MediaSource for Prefixed {
    fn is_seekable(&self) -> bool {
        false
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecodes() {
        assert_eq!(timecode(0, 48_000), "0:00:00.000");
        assert_eq!(timecode(48_000 * 3_725 + 24_000, 48_000), "1:02:05.500");
    }
}
