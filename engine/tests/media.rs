//! `engine::media::probe`: generated WAVs in every supported shape, the
//! committed compressed fixtures (see tests/fixtures/media/README.md), and
//! each way a file can be refused.

use std::io::Cursor;

use cuebox_engine::fixtures::{wav_bytes, WavFormat};
use cuebox_engine::media::{probe, ProbeError, Probed};
use cuebox_engine::show::Trim;
use cuebox_engine::show::{Channels, Frames, UnsupportedChannels};
use symphonia::core::io::ReadOnlySource;

fn probe_bytes(bytes: Vec<u8>, ext: Option<&str>) -> Result<Probed, ProbeError> {
    probe(Box::new(Cursor::new(bytes)), ext)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/media/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Sample writer for [`wav`]: integer or float.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Float,
}

/// A WAV of `frames` frames of a ramp, written by the fixtures.
fn wav(channels: u16, rate: u32, bits: u16, kind: Kind, frames: u32) -> Vec<u8> {
    let format = WavFormat {
        channels,
        rate,
        bits,
        float: matches!(kind, Kind::Float),
    };
    wav_bytes(format, frames, |i, c| {
        ((i64::from(i) * 37 + i64::from(c) * 1000) % 2000 - 1000) as f32 / 1000.0
    })
}

fn stereo16(rate: u32, frames: u32) -> Vec<u8> {
    wav(2, rate, 16, Kind::Int, frames)
}

#[test]
fn generated_wavs_probe_with_exact_frame_counts() {
    let cases: &[(u16, u32, u16, Kind, &str)] = &[
        (1, 44_100, 16, Kind::Int, "pcm_s16le"),
        (2, 44_100, 16, Kind::Int, "pcm_s16le"),
        (2, 48_000, 16, Kind::Int, "pcm_s16le"),
        (1, 48_000, 24, Kind::Int, "pcm_s24le"),
        (2, 44_100, 24, Kind::Int, "pcm_s24le"),
        (2, 48_000, 32, Kind::Float, "pcm_f32le"),
        (1, 44_100, 32, Kind::Float, "pcm_f32le"),
        (2, 96_000, 24, Kind::Int, "pcm_s24le"),
        (2, 48_000, 8, Kind::Int, "pcm_u8"),
    ];
    for &(channels, rate, bits, kind, codec) in cases {
        // An odd count, so no packet size divides it.
        let frames = 12_347;
        let p = probe_bytes(wav(channels, rate, bits, kind, frames), Some("wav"))
            .unwrap_or_else(|e| panic!("{channels} ch {rate} Hz {bits} bit: {e}"));
        let what = format!("{channels} ch {rate} Hz {bits} bit");
        assert_eq!(p.format.frames, Frames(u64::from(frames)), "{what}");
        assert_eq!(p.format.sample_rate, rate, "{what}");
        assert_eq!(p.format.channels.count(), channels, "{what}");
        assert_eq!(p.format.bit_depth, Some(bits), "{what}");
        assert_eq!(p.format.codec, codec, "{what}");
        assert_eq!(p.container, "WAV");
        assert_eq!(p.format.trim, Trim::default());
        assert_eq!(
            p.metadata,
            Default::default(),
            "{what}: no tags in a bare WAV"
        );
    }
}

#[test]
fn a_sox_float_wav_without_bits_per_sample_is_32_bit() {
    let p = probe_bytes(fixture("tone-48k-f32-stereo-sox.wav"), Some("wav")).unwrap();
    assert_eq!(p.format.frames, Frames(480));
    assert_eq!(p.format.bit_depth, Some(32));
    assert_eq!(p.format.codec, "pcm_f32le");
}

#[test]
fn the_extension_hint_is_optional_and_dots_are_fine() {
    let bytes = stereo16(44_100, 1000);
    for ext in [None, Some(".wav"), Some("WAV"), Some("mp3")] {
        let p = probe_bytes(bytes.clone(), ext).unwrap_or_else(|e| panic!("{ext:?}: {e}"));
        assert_eq!(p.format.frames, Frames(1000));
    }
}

#[test]
fn a_non_seekable_source_probes_the_same() {
    let bytes = wav(1, 48_000, 24, Kind::Int, 4321);
    let p = probe(
        Box::new(ReadOnlySource::new(Cursor::new(bytes))),
        Some("wav"),
    )
    .expect("probe");
    assert_eq!(p.format.frames, Frames(4321));
    assert_eq!(p.format.channels, Channels::Mono);
    assert_eq!(p.format.bit_depth, Some(24));
}

#[test]
fn six_channels_are_refused_with_the_show_models_error() {
    let err = probe_bytes(wav(6, 48_000, 16, Kind::Int, 100), Some("wav")).unwrap_err();
    assert!(
        matches!(err, ProbeError::Channels(UnsupportedChannels(6))),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("6 channels: cuebox clips are mono (1) or stereo (2)"),
        "{err}"
    );
}

#[test]
fn an_unsupported_sample_rate_is_named() {
    let err = probe_bytes(stereo16(22_050, 100), Some("wav")).unwrap_err();
    assert!(
        matches!(err, ProbeError::SampleRate { rate: 22_050 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("22050 Hz"), "{err}");
}

#[test]
fn a_truncated_wav_says_how_much_is_missing() {
    let mut bytes = stereo16(48_000, 10_000);
    let header = bytes.len() - 10_000 * 4;
    // 4000 whole frames and half of the next.
    bytes.truncate(header + 4000 * 4 + 2);
    let err = probe_bytes(bytes, Some("wav")).unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::Truncated {
                header: 10_000,
                decoded: 4000
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("truncated: header says 10000 frames, only 4000 decode"),
        "{err}"
    );
}

#[test]
fn random_bytes_are_not_audio() {
    // xorshift: deterministic noise without a rand dependency.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let err = probe_bytes(bytes, Some("wav")).unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::NotAudio {
                content: "unrecognised binary data",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn an_empty_file_is_empty() {
    let err = probe_bytes(Vec::new(), Some("wav")).unwrap_err();
    assert!(matches!(err, ProbeError::Empty), "{err:?}");
    let err = probe(Box::new(ReadOnlySource::new(std::io::empty())), None).unwrap_err();
    assert!(matches!(err, ProbeError::Empty), "non-seekable: {err:?}");
}

#[test]
fn a_text_file_named_wav_is_text() {
    let text = b"Act 1, scene 2: thunder. GO on the stage manager's call.\n".repeat(20);
    let err = probe_bytes(text, Some("wav")).unwrap_err();
    assert!(
        matches!(&err, ProbeError::NotAudio { extension: Some(e), content: "text" } if e == "wav"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "not an audio file (named .wav, but it is not): the content looks like text"
    );
}

#[test]
fn a_known_but_unsupported_container_is_named() {
    let mut mkv = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm".to_vec();
    mkv.resize(4096, 0);
    let err = probe_bytes(mkv, Some("mka")).unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::UnsupportedContainer {
                container: "Matroska/WebM"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_wav_with_only_a_header_has_no_frames() {
    let err = probe_bytes(stereo16(48_000, 0), Some("wav")).unwrap_err();
    assert!(matches!(err, ProbeError::NoFrames { .. }), "{err:?}");
}

/// A WAV header whose data chunk claims `data_len` bytes, followed by only
/// `actual` bytes of audio.
fn wav_claiming(channels: u16, rate: u32, bits: u16, data_len: u32, actual: usize) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36u32.wrapping_add(data_len)).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    b.extend_from_slice(&block.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.resize(b.len() + actual, 0x80);
    b
}

#[test]
fn a_header_claiming_more_than_a_day_is_refused_before_decoding() {
    // 8-bit mono at 44.1 kHz: 4 GB of data is 27 hours.
    let err = probe_bytes(wav_claiming(1, 44_100, 8, 0xFFFF_0000, 1000), Some("wav")).unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::TooLong {
                from_header: true,
                sample_rate: 44_100,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("27:03:"), "{err}");
}

#[test]
fn a_header_promising_far_more_than_the_file_holds_is_truncated() {
    let err = probe_bytes(wav_claiming(2, 48_000, 16, 4_000_000, 4000), Some("wav")).unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::Truncated {
                header: 1_000_000,
                decoded: 1000
            }
        ),
        "{err:?}"
    );
}

/// Appends a RIFF `LIST/INFO` chunk with the given entries and fixes the
/// RIFF size.
fn with_info(mut wav: Vec<u8>, entries: &[(&[u8; 4], &str)]) -> Vec<u8> {
    let mut info = b"INFO".to_vec();
    for (id, value) in entries {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        info.extend_from_slice(*id);
        info.extend_from_slice(&(v.len() as u32).to_le_bytes());
        if v.len() % 2 == 1 {
            v.push(0);
        }
        info.extend_from_slice(&v);
    }
    wav.extend_from_slice(b"LIST");
    wav.extend_from_slice(&(info.len() as u32).to_le_bytes());
    wav.extend_from_slice(&info);
    let riff_len = (wav.len() - 8) as u32;
    wav[4..8].copy_from_slice(&riff_len.to_le_bytes());
    wav
}

#[test]
fn wav_info_tags_become_rights_metadata() {
    let bytes = with_info(
        stereo16(48_000, 480),
        &[
            (b"INAM", "Storm Cue"),
            (b"IART", "The Pit Band"),
            (b"IMUS", "J. Composer"),
            (b"IPUB", "Stage Music Ltd"),
            // RIFF's ISRC is "source", not a recording code: never an ISRC.
            (b"ISRC", "tape 3"),
        ],
    );
    let p = probe_bytes(bytes, Some("wav")).expect("probe");
    assert_eq!(p.format.frames, Frames(480));
    let m = &p.metadata;
    assert_eq!(m.title.as_deref(), Some("Storm Cue"));
    assert_eq!(m.artist.as_deref(), Some("The Pit Band"));
    assert_eq!(m.composer.as_deref(), Some("J. Composer"));
    assert_eq!(m.publisher.as_deref(), Some("Stage Music Ltd"));
    assert_eq!(m.isrc, None);
}

/// The tags the fixture script writes.
fn assert_fixture_tags(p: &Probed, isrc: Option<&str>, publisher: bool) {
    let m = &p.metadata;
    assert_eq!(m.title.as_deref(), Some("Overture Tone"));
    assert_eq!(m.artist.as_deref(), Some("Cuebox Test Ensemble"));
    assert_eq!(m.composer.as_deref(), Some("A. Composer"));
    assert_eq!(
        m.publisher.as_deref(),
        publisher.then_some("Test Music Publishing")
    );
    assert_eq!(m.isrc.as_deref(), isrc);
}

#[test]
fn flac_fixtures_probe_exactly_with_tags() {
    let p = probe_bytes(fixture("tone-44k-s16-stereo.flac"), Some("flac")).expect("probe");
    assert_eq!(
        (
            p.format.frames,
            p.format.sample_rate,
            p.format.channels,
            p.format.bit_depth
        ),
        (Frames(4410), 44_100, Channels::Stereo, Some(16))
    );
    assert_eq!(
        (p.format.codec.as_str(), p.container.as_str()),
        ("flac", "FLAC")
    );
    assert_fixture_tags(&p, Some("GBAYE0000001"), true);

    let p = probe_bytes(fixture("tone-48k-s24-mono.flac"), Some("flac")).expect("probe");
    assert_eq!(
        (
            p.format.frames,
            p.format.sample_rate,
            p.format.channels,
            p.format.bit_depth
        ),
        (Frames(2400), 48_000, Channels::Mono, Some(24))
    );
}

#[test]
fn mp3_is_gapless_from_its_lame_header() {
    let p = probe_bytes(fixture("tone-44k-stereo.mp3"), Some("mp3")).expect("probe");
    assert_eq!(
        (
            p.format.frames,
            p.format.sample_rate,
            p.format.channels,
            p.format.bit_depth
        ),
        (Frames(4410), 44_100, Channels::Stereo, None)
    );
    assert_eq!(p.format.codec, "mp3");
    assert_eq!(
        p.format.trim,
        Trim::default(),
        "the MP3 decoder trims itself"
    );
    assert_fixture_tags(&p, Some("GBAYE0000002"), true);
}

#[test]
fn aac_in_mp4_drops_encoder_priming_and_padding() {
    let p = probe_bytes(fixture("tone-48k-stereo-aac.m4a"), Some("m4a")).expect("probe");
    assert_eq!(
        (
            p.format.frames,
            p.format.sample_rate,
            p.format.channels,
            p.format.bit_depth
        ),
        (Frames(4800), 48_000, Channels::Stereo, None)
    );
    assert_eq!(
        (p.format.codec.as_str(), p.container.as_str()),
        ("aac", "MP4")
    );
    // 6 packets of 1024 decode: 1024 of priming, 4800 of audio, 320 of padding.
    assert_eq!(
        p.format.trim,
        Trim {
            start: 1024,
            end: 320
        }
    );
    // ffmpeg's MP4 muxer writes no publisher or ISRC atoms.
    assert_fixture_tags(&p, None, false);
}

#[test]
fn alac_in_mp4_probes_exactly() {
    let p = probe_bytes(fixture("tone-44k-s16-stereo-alac.m4a"), Some("m4a")).expect("probe");
    assert_eq!(
        (
            p.format.frames,
            p.format.sample_rate,
            p.format.channels,
            p.format.bit_depth
        ),
        (Frames(4410), 44_100, Channels::Stereo, Some(16))
    );
    assert_eq!(p.format.codec, "alac");
    assert_eq!(p.format.trim, Trim::default());
}

#[test]
fn ogg_vorbis_probes_gaplessly_with_tags() {
    let p = probe_bytes(fixture("tone-48k-mono.ogg"), Some("ogg")).expect("probe");
    assert_eq!(
        (
            p.format.frames,
            p.format.sample_rate,
            p.format.channels,
            p.format.bit_depth
        ),
        (Frames(4800), 48_000, Channels::Mono, None)
    );
    assert_eq!(
        (p.format.codec.as_str(), p.container.as_str()),
        ("vorbis", "Ogg")
    );
    assert_fixture_tags(&p, Some("GBAYE0000003"), true);
}

#[test]
fn opus_is_an_unsupported_codec_by_name() {
    let err = probe_bytes(fixture("tone-48k-stereo.opus"), Some("opus")).unwrap_err();
    assert!(
        matches!(&err, ProbeError::UnsupportedCodec { codec, container } if codec == "opus" && container == "Ogg"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the Ogg file holds opus audio, which cuebox cannot decode; convert it to WAV or FLAC"
    );
}

#[test]
fn a_truncated_flac_is_truncated() {
    // The fixture has four FLAC frames of 1152; cut into the third.
    let mut bytes = fixture("tone-44k-s16-stereo.flac");
    bytes.truncate(bytes.len() - 1500);
    let err = probe_bytes(bytes, Some("flac")).unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::Truncated {
                header: 4410,
                decoded: 2304
            }
        ),
        "{err:?}"
    );
}

#[test]
fn damaged_flac_audio_is_corrupt_at_a_frame_position() {
    let mut bytes = fixture("tone-44k-s16-stereo.flac");
    // Damage the third of the four 1152-frame FLAC frames. The reader skips
    // the frame whose checksum fails; the jump in positions gives it away.
    let at = bytes.len() * 3 / 4;
    for b in &mut bytes[at..at + 16] {
        *b ^= 0x5a;
    }
    let err = probe_bytes(bytes, Some("flac")).unwrap_err();
    assert!(
        matches!(&err, ProbeError::Corrupt { codec, frame: 2304, sample_rate: 44_100, .. } if codec == "flac"),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(
            "corrupt flac data at frame 2304 (0:00:00.052): the file jumps to frame 3456"
        ),
        "{err}"
    );
}

/// A source whose reads fail once `fail_at` bytes have been read, like a
/// disk that goes away mid-probe.
struct FailingSource {
    inner: Cursor<Vec<u8>>,
    fail_at: u64,
}

impl std::io::Read for FailingSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.inner.position() >= self.fail_at {
            return Err(std::io::Error::other("device went away"));
        }
        let room = (self.fail_at - self.inner.position()) as usize;
        let n = buf.len().min(room);
        self.inner.read(&mut buf[..n])
    }
}

impl std::io::Seek for FailingSource {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

impl cuebox_engine::media::MediaSource for FailingSource {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.inner.get_ref().len() as u64)
    }
}

#[test]
fn a_read_error_is_an_io_error() {
    let source = FailingSource {
        inner: Cursor::new(stereo16(48_000, 100_000)),
        fail_at: 200_000,
    };
    let err = probe(Box::new(source), Some("wav")).unwrap_err();
    assert!(
        matches!(&err, ProbeError::Io(e) if e.to_string() == "device went away"),
        "{err:?}"
    );
}

/// A source that panics on its first read, standing in for a decoder bug.
struct PanickingSource;

impl std::io::Read for PanickingSource {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        panic!("boom in the reader");
    }
}

impl std::io::Seek for PanickingSource {
    fn seek(&mut self, _: std::io::SeekFrom) -> std::io::Result<u64> {
        Ok(0)
    }
}

impl cuebox_engine::media::MediaSource for PanickingSource {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(1000)
    }
}

#[test]
fn a_panic_while_probing_is_this_files_error() {
    let err = probe(Box::new(PanickingSource), Some("wav")).unwrap_err();
    assert!(
        matches!(&err, ProbeError::DecoderFailed { detail } if detail == "boom in the reader"),
        "{err:?}"
    );
}

#[test]
fn adpcm_wav_is_cut_to_its_fact_length() {
    let p = probe_bytes(fixture("tone-44k-mono-ima-adpcm.wav"), Some("wav")).expect("probe");
    assert_eq!(
        (
            p.format.frames,
            p.format.channels,
            p.format.bit_depth,
            p.format.codec.as_str()
        ),
        (Frames(4410), Channels::Mono, None, "adpcm_ima_wav")
    );
    // Five blocks of 1017 frames decode; the last 135 are padding.
    assert_eq!(p.format.trim, Trim { start: 0, end: 135 });
}
