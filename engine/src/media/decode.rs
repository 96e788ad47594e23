//! Streaming a clip's audio: gapless, as `f32` at the engine rate, seekable
//! to any frame.
//!
//! Two stages. [`Stream`] yields the gapless frames at the file's own rate:
//! it opens the file as the probe does ([`super::open_track`]), takes the
//! trim from the same [`super::OpenTrack::layout`], and drops what lies
//! outside it. [`Converter`] then changes the rate where the file's differs
//! from the engine's. Seeking positions both so the frames that follow equal
//! those of a decode from the start.
//!
//! Positions: the *decoded timeline* numbers the frames a decode from the
//! first packet yields (the probe counts these); the *gapless* frame `g` is
//! decoded frame `g + trim_start`; engine frames are gapless frames at the
//! engine rate.

use std::io;
use std::sync::Arc;

use symphonia::core::codecs::audio::well_known::CODEC_ID_AAC;
use symphonia::core::codecs::audio::AudioDecoder;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{SeekMode, SeekTo};
use symphonia::core::packet::Packet;
use symphonia::core::units::Timestamp;

use super::resample::Converter;
use super::{
    check_channels, check_rate, codec, decoder_trims, format_changes, guarded, jumped, open_track,
    timecode, MediaSource, OpenTrack, ProbeError, MAX_EMPTY_PACKETS_IN_A_ROW,
};
use crate::show::{AudioFormat, Channels};

/// The largest sample magnitude passed on: 60 dB above full scale, far
/// beyond any real float file's headroom; larger values are damage.
const MAX_SAMPLE: f32 = 1000.0;

/// Why a clip cannot be decoded (or decoded further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// What is wrong with the file, as the probe says it: not audio,
    /// unsupported, damaged, truncated, corrupt at a frame (a frame of the
    /// file's own rate), or a decoder that failed on it.
    #[error(transparent)]
    Media(#[from] ProbeError),
    /// The engine rate asked for is not one cuebox runs at.
    #[error("cannot decode for an engine running at {rate} Hz: cuebox runs at 44.1, 48, 88.2, 96, 176.4 or 192 kHz")]
    EngineRate {
        /// The rate asked for, in Hz.
        rate: u32,
    },
    /// Moving to a position failed.
    #[error("cannot seek to frame {frame} ({}) of the clip: {detail}", timecode(*.frame, *.sample_rate))]
    Seek {
        /// The engine frame asked for.
        frame: u64,
        /// The engine rate, to give the position as a time.
        sample_rate: u32,
        /// What went wrong.
        detail: String,
    },
    /// Sample-rate conversion failed (a fault in cuebox, not in the file).
    #[error("converting {from} Hz to {to} Hz failed at engine frame {frame}: {detail}")]
    Resample {
        /// The file's rate.
        from: u32,
        /// The engine rate.
        to: u32,
        /// The engine frame being produced.
        frame: u64,
        /// What the converter reported.
        detail: String,
    },
}

/// A whole clip decoded into memory by [`decode_all`].
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    /// Mono or stereo, as the file is.
    pub channels: Channels,
    /// The rate of `samples`: the engine rate asked for.
    pub sample_rate: u32,
    /// Frames in `samples`.
    pub frames: u64,
    /// The audio, interleaved (`frames × channels` samples), shareable
    /// between voices without copying.
    pub samples: Arc<[f32]>,
}

/// Decodes a whole clip (gapless, at `engine_rate`) into memory; see
/// [`ClipDecoder::open`] for the arguments. Memory grows only as audio
/// actually decodes (a header's claim is never trusted for an allocation),
/// and a clip is at most [`super::MAX_CLIP_SECS`] long.
pub fn decode_all(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
    engine_rate: u32,
) -> Result<Pcm, DecodeError> {
    /// Frames read per call.
    const BLOCK: usize = 16 * 1024;
    let mut decoder = ClipDecoder::open(source, extension, engine_rate)?;
    let ch = usize::from(decoder.channels().count());
    let mut samples: Vec<f32> = Vec::new();
    loop {
        let len = samples.len();
        samples.resize(len + BLOCK * ch, 0.0);
        let n = decoder.read(&mut samples[len..])?;
        samples.truncate(len + n * ch);
        if n == 0 {
            break;
        }
    }
    Ok(Pcm {
        channels: decoder.channels(),
        sample_rate: engine_rate,
        frames: (samples.len() / ch) as u64,
        samples: samples.into(),
    })
}

/// Streams one clip's audio: its gapless frames, interleaved `f32` in the
/// file's channel count (1 or 2), at the engine rate.
///
/// Meant for a butler thread, not the real-time one: reads and seeks do I/O
/// and decode. Buffers are sized at open and reused, so steady-state reads
/// allocate nothing of cuebox's own (Symphonia's demuxers still allocate a
/// buffer per packet they read).
///
/// A panic inside Symphonia becomes [`ProbeError::DecoderFailed`], and the
/// decoder then refuses further work with the same error: its state is
/// unknown. Open the clip again to retry.
pub struct ClipDecoder {
    stream: Stream,
    /// Present when the file's rate differs from the engine's.
    converter: Option<Converter>,
    channels: Channels,
    engine_rate: u32,
    /// Gapless frames at the engine rate.
    frames: u64,
    /// The engine frame the next read starts at.
    pos: u64,
    /// The stream has given all its frames to the converter.
    input_done: bool,
    /// Why the decoder stopped working (a panic), if it did.
    failed: Option<String>,
}

impl std::fmt::Debug for ClipDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipDecoder")
            .field("codec", &self.stream.track.codec)
            .field("channels", &self.channels)
            .field("source_rate", &self.stream.rate)
            .field("engine_rate", &self.engine_rate)
            .field("frames", &self.frames)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl ClipDecoder {
    /// Opens a clip for streaming at `engine_rate` (one of
    /// [`AudioFormat::SAMPLE_RATES`]). `source` and `extension` are as for
    /// [`super::probe`], which refuses the same files for the same reasons.
    ///
    /// Opening reads only headers, except for a lossy file that does not
    /// state its exact length (an MP3 without a LAME header, raw AAC): that
    /// one is decoded once to count its frames, as the probe did. Such a
    /// file, or any seek before the current position, needs a seekable source.
    pub fn open(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
        engine_rate: u32,
    ) -> Result<ClipDecoder, DecodeError> {
        if !AudioFormat::SAMPLE_RATES.contains(&engine_rate) {
            return Err(DecodeError::EngineRate { rate: engine_rate });
        }
        guarded(|| {
            let track = open_track(source, extension)?;
            let stream = Stream::open(track)?;
            let channels = check_channels(stream.channels)?;
            let (converter, frames) = if stream.rate == engine_rate {
                (None, stream.frames)
            } else {
                let converter = Converter::new(stream.rate, engine_rate, stream.channels).map_err(
                    |detail| DecodeError::Resample {
                        from: stream.rate,
                        to: engine_rate,
                        frame: 0,
                        detail,
                    },
                )?;
                let frames = converter.out_frames(stream.frames);
                (Some(converter), frames)
            };
            Ok(ClipDecoder {
                stream,
                converter,
                channels,
                engine_rate,
                frames,
                pos: 0,
                input_done: false,
                failed: None,
            })
        })
    }

    /// Mono or stereo: the number of samples per frame `read` writes.
    pub fn channels(&self) -> Channels {
        self.channels
    }

    /// The rate frames come out at, in Hz.
    pub fn engine_rate(&self) -> u32 {
        self.engine_rate
    }

    /// The file's own sample rate, in Hz.
    pub fn source_rate(&self) -> u32 {
        self.stream.rate
    }

    /// The clip's gapless length in frames at the engine rate.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The engine frame the next [`read`](Self::read) starts at.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Decodes the next frames into `out` (interleaved; only whole frames
    /// are written) and returns how many frames it wrote: as many as fit,
    /// fewer only at the end of the clip, 0 once the clip is over.
    pub fn read(&mut self, out: &mut [f32]) -> Result<usize, DecodeError> {
        self.check_working()?;
        let result = guarded(|| self.read_unguarded(out));
        self.note_failure(&result);
        result
    }

    /// Moves to engine frame `frame` (at most [`frames`](Self::frames)):
    /// the frames read next equal those a decode from the start yields
    /// there. Decoders whose state spans packets are restarted a little
    /// earlier and the extra audio discarded; so is the rate converter.
    pub fn seek(&mut self, frame: u64) -> Result<(), DecodeError> {
        self.check_working()?;
        let result = guarded(|| self.seek_unguarded(frame));
        self.note_failure(&result);
        result
    }

    fn check_working(&self) -> Result<(), DecodeError> {
        match &self.failed {
            Some(detail) => Err(ProbeError::DecoderFailed {
                detail: detail.clone(),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// After a panic the decoder's state is unknown: refuse further work.
    fn note_failure<T>(&mut self, result: &Result<T, DecodeError>) {
        if let Err(DecodeError::Media(ProbeError::DecoderFailed { detail })) = result {
            self.failed = Some(detail.clone());
        }
    }

    fn read_unguarded(&mut self, out: &mut [f32]) -> Result<usize, DecodeError> {
        let ch = usize::from(self.channels.count());
        let left = usize::try_from(self.frames - self.pos).unwrap_or(usize::MAX);
        let wanted = (out.len() / ch).min(left);
        let out = &mut out[..wanted * ch];
        let mut written = 0;
        match &mut self.converter {
            None => {
                while written < wanted {
                    let n = self.stream.read(&mut out[written * ch..])?;
                    if n == 0 {
                        break;
                    }
                    written += n;
                }
            }
            Some(converter) => {
                let (from, to) = (self.stream.rate, self.engine_rate);
                let resample_error = |frame, detail| DecodeError::Resample {
                    from,
                    to,
                    frame,
                    detail,
                };
                while written < wanted {
                    let at = self.pos + written as u64;
                    let n = converter
                        .drain(at, &mut out[written * ch..])
                        .map_err(|d| resample_error(at, d))?;
                    if n > 0 {
                        written += n;
                        continue;
                    }
                    while !converter.input_full() && !self.input_done {
                        match self.stream.read(converter.input_space())? {
                            0 => self.input_done = true,
                            n => converter.commit(n),
                        }
                    }
                    converter.process().map_err(|d| resample_error(at, d))?;
                }
            }
        }
        self.pos += written as u64;
        Ok(written)
    }

    fn seek_unguarded(&mut self, frame: u64) -> Result<(), DecodeError> {
        let frame = frame.min(self.frames);
        let source_frame = match &mut self.converter {
            None => frame,
            Some(converter) => {
                self.input_done = false;
                converter.restart(frame)
            }
        };
        // Leave the position unchanged unless the seek succeeds.
        self.stream.seek(source_frame).map_err(|e| match e {
            SeekFailure::Media(e) => DecodeError::Media(e),
            SeekFailure::Seek(detail) => DecodeError::Seek {
                frame,
                sample_rate: self.engine_rate,
                detail,
            },
        })?;
        self.pos = frame;
        Ok(())
    }
}

/// Why [`Stream::seek`] failed.
enum SeekFailure {
    Media(ProbeError),
    Seek(String),
}

impl SeekFailure {
    /// As a problem with the file, for a seek made while reading: a reader
    /// that cannot find its way back is as good as damaged.
    fn into_probe(self, container: &str) -> ProbeError {
        match self {
            SeekFailure::Media(e) => e,
            SeekFailure::Seek(detail) => ProbeError::Damaged {
                container: container.to_owned(),
                detail,
            },
        }
    }
}

impl From<ProbeError> for SeekFailure {
    fn from(e: ProbeError) -> Self {
        SeekFailure::Media(e)
    }
}

/// A clip's gapless frames at the file's own rate.
struct Stream {
    track: OpenTrack,
    decoder: Box<dyn AudioDecoder>,
    channels: usize,
    rate: u32,
    /// Gapless frames.
    frames: u64,
    /// Decoded frames before gapless frame 0.
    trim_start: u64,
    /// One past the last gapless frame, on the decoded timeline.
    end: u64,
    /// How far the decode may fall short of `end` (a lossy codec's packet):
    /// the rest is silence, as the probe allowed.
    tolerance: u64,
    /// The first packet's timestamp: where a restart seeks to.
    first_ts: i64,
    /// The timestamp of decoded frame 0 (meaningful if `track.ts_in_frames`).
    origin: i64,
    /// The decoder drops the packets' `trim_start` frames itself.
    decoder_trims: bool,
    /// Packets decode on their own: no priming needed, and packets before
    /// a seek target can be skipped undecoded.
    intra: bool,
    /// Frames decoded and discarded before a seek target (see [`codec::seek_preroll`]).
    preroll: u64,
    /// Seeks build a new decoder rather than resetting it (see [`Stream::reset_decoder`]).
    rebuild_decoder: bool,
    /// Symphonia 0.6.1's WAV/AIFF seek computes the byte offset of a block
    /// codec (ADPCM) from the frame number as if each frame were one block;
    /// such files seek by reading from the start instead.
    reader_seek_broken: bool,
    /// Lossless packets' positions must follow on (see the probe).
    check_positions: bool,
    /// A packet read ahead at open.
    pending: Option<Packet>,
    /// The decoded frames of the current packet, interleaved.
    buf: Vec<f32>,
    /// Where `buf` starts on the decoded timeline, and its length in frames.
    buf_at: i64,
    buf_frames: usize,
    /// Where the next packet's audio goes when counting.
    next_at: i64,
    /// The decoded frame the next read returns.
    want: u64,
    /// Place packets by their timestamps, not by counting: after a seek,
    /// until the first frame is returned.
    resync: bool,
    /// Since the last seek, the reader was sent back to the start once.
    restarted: bool,
    /// The reader has been sought since open (so an early end may be a
    /// reader fault worth one more seek).
    sought: bool,
    /// Since the last seek, an early end was met and the seek repeated.
    retried: bool,
    /// The timestamp the next lossless packet must have.
    next_pts: Option<i64>,
    empty_in_a_row: u32,
    /// The reader has no more packets.
    eof: bool,
}

impl Stream {
    /// Takes an opened track, settles its rate, channels and gapless
    /// layout (decoding it once if the header cannot say), and reads its
    /// first packet.
    fn open(mut track: OpenTrack) -> Result<Stream, ProbeError> {
        let mut decoder = track.make_decoder(false)?;
        track.collect_tags();
        let header_rate = track.params.sample_rate;
        let header_channels = track.params.channels.as_ref().map(|c| c.count());
        let known = header_rate.map(|rate| (rate, track.layout(rate, None)));
        let (rate, channels, trim_start, frames) = match (known, header_channels) {
            (Some((rate, layout)), Some(channels)) if layout.frames.is_some() => {
                let frames = layout.frames.unwrap_or(0);
                (rate, channels, layout.trim_start, frames)
            }
            _ => {
                // Only a full decode tells: count as the probe does, then rewind.
                if !track.seekable {
                    return Err(ProbeError::UnsupportedVariant {
                        container: track.container.clone(),
                        detail:
                            "its length is known only by decoding it, which needs a seekable source"
                                .to_owned(),
                    });
                }
                let pass = track.decode_pass(&mut *decoder)?;
                let missing = |what| ProbeError::MissingParameter {
                    container: track.container.clone(),
                    what,
                };
                let rate = pass.rate.ok_or_else(|| missing("sample rate"))?;
                let channels = pass.channels.ok_or_else(|| missing("channel count"))?;
                let (frames, trim) = track.gapless(pass.decoded, rate)?;
                // A new decoder, as at open (see `Stream::reset_decoder`).
                decoder = track.make_decoder(false)?;
                if let Some(ts) = pass.first_pts {
                    let to = SeekTo::Timestamp {
                        ts: Timestamp::from(ts),
                        track_id: track.track_id,
                    };
                    track
                        .reader
                        .seek(SeekMode::Accurate, to)
                        .map_err(|e| track.read_error(e, 0, rate))?;
                }
                (rate, channels, trim.start, frames)
            }
        };
        check_rate(rate)?;
        check_channels(channels)?;
        if frames == 0 {
            return Err(ProbeError::NoFrames {
                container: track.container.clone(),
            });
        }
        let id = track.params.codec;
        let end = trim_start + frames;
        let tolerance = track.length_tolerance(end);
        let mut stream = Stream {
            decoder_trims: decoder_trims(&track.params),
            intra: codec::seek_preroll(id) == 0,
            preroll: codec::seek_preroll(id),
            reader_seek_broken: codec::is_block_padded(id),
            rebuild_decoder: id == CODEC_ID_AAC,
            check_positions: codec::is_lossless(id),
            track,
            decoder,
            channels,
            rate,
            frames,
            trim_start,
            end,
            tolerance,
            first_ts: 0,
            origin: 0,
            pending: None,
            buf: Vec::new(),
            buf_at: 0,
            buf_frames: 0,
            next_at: 0,
            want: trim_start,
            resync: false,
            restarted: false,
            sought: false,
            retried: false,
            next_pts: None,
            empty_in_a_row: 0,
            eof: false,
        };
        stream.read_first_packet()?;
        Ok(stream)
    }

    /// Reads the first packet of the track (from the start, or where the
    /// counting pass rewound to) and keeps it for the first read: its
    /// timestamp is where restarts return to and fixes the timeline's origin.
    fn read_first_packet(&mut self) -> Result<(), ProbeError> {
        let packet = loop {
            match self.track.reader.next_packet() {
                Ok(Some(packet)) if packet.track_id == self.track.track_id => break packet,
                Ok(Some(_)) => continue,
                Ok(None) => {
                    return Err(ProbeError::NoFrames {
                        container: self.track.container.clone(),
                    })
                }
                Err(e) => return Err(self.track.read_error(e, 0, self.rate)),
            }
        };
        let pts = packet.pts.get();
        self.first_ts = pts;
        // A trimming decoder drops the frames before timestamp 0 (the
        // encoder delay), so its output starts there.
        self.origin = if self.decoder_trims { pts.max(0) } else { pts };
        self.pending = Some(packet);
        Ok(())
    }

    /// The gapless frame of the decode position, for errors.
    fn frame(&self) -> u64 {
        self.want.saturating_sub(self.trim_start)
    }

    /// Copies the next gapless frames into `out` (whole frames), returning
    /// how many; 0 at the end.
    fn read(&mut self, out: &mut [f32]) -> Result<usize, ProbeError> {
        let ch = self.channels;
        let cap = out.len() / ch;
        let mut written = 0;
        while written < cap && self.want < self.end {
            let want = self.want as i64;
            let buf_end = self.buf_at + self.buf_frames as i64;
            let room = (cap - written) as u64;
            let till_end = self.end - self.want;
            if want < buf_end && self.buf_frames > 0 {
                // Before the buffer only if a packet decoded short: silence
                // keeps every later frame in its place.
                let (n, from) = if want < self.buf_at {
                    ((self.buf_at - want) as u64, None)
                } else {
                    ((buf_end - want) as u64, Some((want - self.buf_at) as usize))
                };
                let n = n.min(room).min(till_end) as usize;
                let dst = &mut out[written * ch..(written + n) * ch];
                match from {
                    Some(off) => dst.copy_from_slice(&self.buf[off * ch..(off + n) * ch]),
                    None => dst.fill(0.0),
                }
                written += n;
                self.want += n as u64;
                self.resync = false;
                continue;
            }
            if self.eof {
                let missing = self.end - self.want;
                if missing > self.tolerance && self.sought && !self.retried {
                    // Symphonia 0.6.1's FLAC reader, seeking back after it
                    // read the last frame, keeps stale parser state and
                    // reports the end after one packet. Seeking again (to
                    // where reading got to) recovers; a file that is really
                    // cut short ends early again and is reported below.
                    self.retried = true;
                    self.reposition(self.want)
                        .map_err(|e| e.into_probe(&self.track.container))?;
                    continue;
                }
                if missing > self.tolerance {
                    return Err(ProbeError::Truncated {
                        header: self.end,
                        decoded: self.want,
                    });
                }
                // A lossy stream a packet short of its header, as the probe
                // accepted: the rest is silence.
                let n = missing.min(room) as usize;
                out[written * ch..(written + n) * ch].fill(0.0);
                written += n;
                self.want += n as u64;
                continue;
            }
            self.next_packet()?;
        }
        Ok(written)
    }

    /// Decodes the next packet into `buf`, or sets `eof`.
    fn next_packet(&mut self) -> Result<(), ProbeError> {
        loop {
            let packet = match self.pending.take() {
                Some(packet) => packet,
                None => match self.track.reader.next_packet() {
                    Ok(Some(packet)) => packet,
                    Ok(None) => {
                        self.eof = true;
                        return Ok(());
                    }
                    Err(SymError::IoError(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        self.eof = true;
                        return Ok(());
                    }
                    Err(e) => return Err(self.track.read_error(e, self.frame(), self.rate)),
                },
            };
            if packet.track_id != self.track.track_id {
                continue;
            }
            let pts = packet.pts.get();
            if self.check_positions {
                if let Some(expected) = self.next_pts.filter(|&e| e != pts) {
                    return Err(jumped(&self.track.codec, expected, pts, self.rate));
                }
                let dur = i64::try_from(packet.dur.get()).unwrap_or(i64::MAX);
                self.next_pts = Some(pts.saturating_add(dur));
            }
            // Where the packet's audio lies by its timestamp.
            let applied = if self.decoder_trims {
                packet.trim_start.get()
            } else {
                0
            };
            let stamped = pts
                .saturating_add(i64::try_from(applied).unwrap_or(i64::MAX))
                .saturating_sub(self.origin);
            if self.resync {
                let want = self.want as i64;
                let block = i64::try_from(packet.block_dur().get()).unwrap_or(i64::MAX);
                if self.intra && stamped.saturating_add(block) <= want {
                    continue; // wholly before the target; decodes on its own
                }
                if stamped > want {
                    // The reader landed past the target: start over.
                    if self.restarted {
                        return Err(ProbeError::Corrupt {
                            codec: self.track.codec.clone(),
                            frame: self.frame(),
                            sample_rate: self.rate,
                            reason: format!("the audio before frame {stamped} cannot be found"),
                        });
                    }
                    self.restart()
                        .map_err(|e| e.into_probe(&self.track.container))?;
                    continue;
                }
            }
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => decoded,
                // Priming after a seek: a packet whose reservoir or overlap
                // lies before the seek point may fail; its audio is
                // discarded anyway. (One holding the target is caught when
                // the next packet lands past it, and the restart from the
                // beginning then reports the error properly.)
                Err(_) if self.resync && !self.intra => continue,
                Err(e) => {
                    let frame = self.frame();
                    return Err(self.track.decode_error(e, frame, self.rate));
                }
            };
            let frames = decoded.frames();
            if frames == 0 {
                self.empty_in_a_row += 1;
                if self.empty_in_a_row > MAX_EMPTY_PACKETS_IN_A_ROW {
                    return Err(ProbeError::Corrupt {
                        codec: self.track.codec.clone(),
                        frame: self.want.saturating_sub(self.trim_start),
                        sample_rate: self.rate,
                        reason: "thousands of empty packets".to_owned(),
                    });
                }
                continue;
            }
            self.empty_in_a_row = 0;
            let spec = decoded.spec();
            let (rate, channels) = (spec.rate(), spec.channels().count());
            if rate != self.rate || channels != self.channels {
                return Err(format_changes(
                    self.want,
                    (self.channels, self.rate),
                    (channels, rate),
                ));
            }
            decoded.copy_to_vec_interleaved(&mut self.buf);
            // A float file can hold NaN, infinities or absurd values (and a
            // hostile lossy stream decode to them). One such sample would
            // poison a whole mix bus, and near f32's limit the rate
            // converter's FFT overflows; no real audio comes near the bound.
            for s in &mut self.buf {
                *s = if s.is_finite() {
                    s.clamp(-MAX_SAMPLE, MAX_SAMPLE)
                } else {
                    0.0
                };
            }
            self.buf_at = if self.resync { stamped } else { self.next_at };
            self.buf_frames = frames;
            self.next_at = self.buf_at + frames as i64;
            return Ok(());
        }
    }

    /// Moves to gapless frame `frame` (clamped to the end).
    fn seek(&mut self, frame: u64) -> Result<(), SeekFailure> {
        self.retried = false;
        self.reposition(self.trim_start + frame.min(self.frames))
    }

    /// Moves to decoded frame `want`.
    fn reposition(&mut self, want: u64) -> Result<(), SeekFailure> {
        self.want = want;
        self.sought = true;
        self.buf_frames = 0;
        self.pending = None;
        self.eof = false;
        self.next_pts = None;
        self.restarted = false;
        self.empty_in_a_row = 0;
        if self.want >= self.end {
            return Ok(()); // reads return 0; the next seek repositions
        }
        if !self.track.ts_in_frames || self.reader_seek_broken {
            return self.restart();
        }
        let from = self.want.saturating_sub(self.preroll);
        let ts = i64::try_from(from)
            .unwrap_or(i64::MAX)
            .saturating_add(self.origin);
        let to = SeekTo::Timestamp {
            ts: Timestamp::from(ts),
            track_id: self.track.track_id,
        };
        match self.track.reader.seek(SeekMode::Accurate, to) {
            Ok(_) => {}
            Err(SymError::IoError(e)) => return Err(ProbeError::Io(e).into()),
            // The reader could not find it (say, no seek index): read from
            // the start instead.
            Err(_) => return self.restart(),
        }
        self.reset_decoder()?;
        self.resync = true;
        Ok(())
    }

    /// Returns the decoder to its state at open. Symphonia 0.6.1's AAC
    /// `reset` keeps the random generator of perceptual noise substitution
    /// running, so the noise a seek produced would depend on everything
    /// decoded before it; a new decoder makes a seek's audio depend only on
    /// the position. (Noise-substituted bands still differ from a decode from
    /// the start, as they must: that noise is random by design.)
    fn reset_decoder(&mut self) -> Result<(), ProbeError> {
        if self.rebuild_decoder {
            self.decoder = self.track.make_decoder(false)?;
        } else {
            self.decoder.reset();
        }
        Ok(())
    }

    /// Sends the reader back to the first packet. Decoding then counts from
    /// the start like a straight decode (or, for codecs whose packets stand
    /// alone, skips by timestamp to the target without decoding).
    fn restart(&mut self) -> Result<(), SeekFailure> {
        self.restarted = true;
        let to = SeekTo::Timestamp {
            ts: Timestamp::from(self.first_ts),
            track_id: self.track.track_id,
        };
        match self.track.reader.seek(SeekMode::Accurate, to) {
            Ok(_) => {}
            Err(SymError::IoError(e)) => return Err(ProbeError::Io(e).into()),
            Err(e) => {
                return Err(SeekFailure::Seek(format!(
                    "cannot return to the start of the {} file: {e}",
                    self.track.container
                )))
            }
        }
        self.reset_decoder()?;
        self.buf_frames = 0;
        self.pending = None;
        self.eof = false;
        self.next_pts = None;
        self.resync = self.intra && self.track.ts_in_frames;
        self.next_at = 0;
        Ok(())
    }
}
