//! Media: probing audio files.
//!
//! [`probe`] answers "can cuebox play this file, and what is it?" from a
//! reader the caller opened: the engine itself never touches the file
//! system. It decodes every packet, so a file that probes cleanly is known to
//! play to its end, and its frame count is the decoded truth rather than a
//! header's claim.

use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};

use serde::{Deserialize, Serialize};
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3, CODEC_ID_OPUS, CODEC_ID_VORBIS,
};
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoderOptions, CODEC_ID_NULL_AUDIO,
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
mod mp4;
mod riff;
mod sniff;
mod tags;

pub use symphonia::core::io::MediaSource;

use sniff::Sniffed;

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
    // Demuxers and decoders parse untrusted bytes; should one panic on a
    // hostile file, that is this file's error, not the importing process's
    // end. (Nothing escapes the closure, so no broken state is observed.)
    panic::catch_unwind(AssertUnwindSafe(|| probe_unguarded(source, extension))).unwrap_or_else(
        |payload| {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_owned());
            Err(ProbeError::DecoderFailed { detail })
        },
    )
}

fn probe_unguarded(
    mut source: Box<dyn MediaSource>,
    extension: Option<&str>,
) -> Result<Probed, ProbeError> {
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
    let mut decode = Decode::new(reader, edit_start)?;
    for (id, value) in &wav.info {
        decode.tags.add_riff_info(id, value);
    }
    if codec::is_block_padded(decode.params.codec) {
        decode.exact_frames = wav.fact_frames;
    }
    decode.run()
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

/// The state of one probe's decode pass.
struct Decode {
    reader: Box<dyn FormatReader>,
    container: String,
    track_id: u32,
    params: AudioCodecParameters,
    codec: String,
    header_frames: Option<u64>,
    delay: Option<u32>,
    padding: Option<u32>,
    edit_start: Option<mp4::EditStart>,
    /// The exact length of a block-padded stream (WAV `fact`).
    exact_frames: Option<u64>,
    tags: tags::TagCollector,
}

impl Decode {
    /// Picks the audio track and checks what its header says.
    fn new(
        reader: Box<dyn FormatReader>,
        edit_start: Option<mp4::EditStart>,
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
        let decode = Decode {
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
        };
        // Refuse what the header already rules out, before decoding anything.
        if let Some(channels) = &decode.params.channels {
            check_channels(channels.count())?;
        }
        if let Some(rate) = decode.params.sample_rate {
            check_rate(rate)?;
            if let Some(frames) = decode.header_frames {
                if frames > max_frames(rate) {
                    return Err(ProbeError::TooLong {
                        frames,
                        sample_rate: rate,
                        from_header: true,
                    });
                }
            }
        }
        Ok(decode)
    }

    /// Decodes every packet of the track and assembles the result.
    fn run(mut self) -> Result<Probed, ProbeError> {
        let registry = symphonia::default::get_codecs();
        if registry.get_audio_decoder(self.params.codec).is_none() {
            return Err(ProbeError::UnsupportedCodec {
                container: self.container,
                codec: self.codec,
            });
        }
        let mut decoder = registry
            // Verification checks FLAC's MD5 of the decoded audio (others ignore it).
            .make_audio_decoder(&self.params, &AudioDecoderOptions::default().verify(true))
            .map_err(|e| match e {
                SymError::Unsupported(what) => ProbeError::UnsupportedCodec {
                    container: self.container.clone(),
                    codec: format!("{} ({what})", self.codec),
                },
                other => ProbeError::Damaged {
                    container: self.container.clone(),
                    detail: format!("{} decoder setup: {other}", self.codec),
                },
            })?;
        self.collect_tags();

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
                // the header comparison below then says how much is missing.
                Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(SymError::IoError(e)) => return Err(ProbeError::Io(e)),
                Err(SymError::ResetRequired) => {
                    return Err(ProbeError::UnsupportedVariant {
                        container: self.container,
                        detail: "several chained streams in one file".to_owned(),
                    })
                }
                Err(e) => return Err(corrupt(decoded, e.to_string(), &self.codec)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let pts = packet.pts.get();
            if check_positions {
                if let Some(expected) = next_pts.filter(|&e| e != pts) {
                    return Err(corrupt(
                        u64::try_from(expected).unwrap_or(0),
                        format!("the file jumps to frame {pts}: damaged data was skipped"),
                        &self.codec,
                    ));
                }
                let dur = i64::try_from(packet.dur.get()).unwrap_or(i64::MAX);
                next_pts = Some(pts.saturating_add(dur));
            }
            let buf = match decoder.decode(&packet) {
                Ok(buf) => buf,
                Err(SymError::ResetRequired) => {
                    return Err(ProbeError::FormatChanges {
                        frame: decoded,
                        what: "the decoder had to restart".to_owned(),
                    })
                }
                Err(e) => return Err(corrupt(decoded, e.to_string(), &self.codec)),
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
                return Err(ProbeError::FormatChanges {
                    frame: decoded,
                    what: format!(
                        "{} ch at {} Hz becomes {spec_channels} ch at {spec_rate} Hz",
                        channels.unwrap_or(0),
                        rate.unwrap_or(0)
                    ),
                });
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
        self.collect_tags();

        let missing = |what| ProbeError::MissingParameter {
            container: self.container.clone(),
            what,
        };
        let rate = rate.ok_or_else(|| missing("sample rate"))?;
        let channels = channels.ok_or_else(|| missing("channel count"))?;
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

    /// Reads the tags of every metadata revision the reader has queued.
    fn collect_tags(&mut self) {
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

    /// The gapless length and the trim playback must apply, after checking
    /// the decode against the header's length.
    fn gapless(&self, decoded: u64, rate: u32) -> Result<(u64, Trim), ProbeError> {
        let header = self.header_frames;
        let itunes = self.tags.itunes_gapless;
        // (audio frames, trim, (header count, decoded count comparable to it))
        let (frames, trim, check) = if decoder_trims(&self.params) {
            (decoded, Trim::default(), header.map(|h| (h, decoded)))
        } else if self.delay.is_some() || self.padding.is_some() {
            // Symphonia's own figures: its header count excludes both.
            let start = u64::from(self.delay.unwrap_or(0)).min(decoded);
            let end = u64::from(self.padding.unwrap_or(0)).min(decoded - start);
            let frames = decoded - start - end;
            (frames, Trim { start, end }, header.map(|h| (h, frames)))
        } else if let Some(g) = itunes {
            let start = g.delay.min(decoded);
            let frames = g.frames.min(decoded - start);
            let trim = Trim {
                start,
                end: decoded - start - frames,
            };
            (frames, trim, Some((g.frames, decoded - start)))
        } else if let (Some(edit), Some(h)) = (self.edit_start, header) {
            // The MP4 timeline (`h`) includes the priming the edit skips.
            let start = edit.frames(rate).min(h).min(decoded);
            let audio_end = h.min(decoded);
            let trim = Trim {
                start,
                end: decoded - audio_end,
            };
            (audio_end - start, trim, Some((h, decoded)))
        } else if let Some(exact) = self.exact_frames {
            // Block codecs decode whole blocks; the last is padded.
            let frames = exact.min(decoded);
            let trim = Trim {
                start: 0,
                end: decoded - frames,
            };
            (frames, trim, Some((exact, decoded)))
        } else {
            (decoded, Trim::default(), header.map(|h| (h, decoded)))
        };
        if let Some((header, decoded)) = check {
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
            if decoded.saturating_add(tolerance) < header {
                return Err(ProbeError::Truncated { header, decoded });
            }
            if decoded > header.saturating_add(tolerance) {
                return Err(ProbeError::LengthMismatch { header, decoded });
            }
        }
        Ok((frames, trim))
    }
}

/// The longest clip at `rate`, in frames.
fn max_frames(rate: u32) -> u64 {
    MAX_CLIP_SECS * u64::from(rate)
}

fn check_channels(count: usize) -> Result<Channels, ProbeError> {
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
