//! `engine::media::ClipDecoder` and `decode_all`: every supported format
//! against a reference decoder (ffmpeg, run at test time; sox makes AIFFs),
//! sample-rate conversion quality, sample-accurate seeking, and damaged or
//! hostile input.
//!
//! ffmpeg and sox must be installed (`scripts/setup.sh` installs both); the
//! tests fail, rather than skip, without them.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use cuebox_engine::fixtures::{self, wav_bytes, WavFormat};
use cuebox_engine::media::{decode_all, ClipDecoder, DecodeError, MediaSource, Pcm, ProbeError};
use cuebox_engine::show::Channels;
use symphonia::core::io::ReadOnlySource;

// ---------------------------------------------------------------- helpers

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/media")
        .join(name)
}

fn ext_of(path: &Path) -> Option<String> {
    path.extension().map(|e| e.to_string_lossy().into_owned())
}

fn open_bytes(bytes: Vec<u8>, ext: Option<&str>, rate: u32) -> Result<ClipDecoder, DecodeError> {
    ClipDecoder::open(Box::new(Cursor::new(bytes)), ext, rate)
}

fn decode_file(path: &Path, rate: u32) -> Pcm {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode_all(Box::new(Cursor::new(bytes)), ext_of(path).as_deref(), rate)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs a tool, failing the test with its stderr if it fails.
fn run(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} is needed for this test ({e}); run scripts/setup.sh"));
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// ffmpeg's decode of `path` as interleaved f32 at the file's own rate and
/// channel count (no resampling, no remixing).
fn ffmpeg_decode(path: &Path) -> Vec<f32> {
    let path = path.to_str().expect("utf-8 temp path");
    let raw = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            path,
            "-f",
            "f32le",
            "-acodec",
            "pcm_f32le",
            "-",
        ],
    );
    raw.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// How two decodes of the same audio differ.
#[derive(Debug)]
struct Diff {
    /// Frames compared (the shorter of the two).
    frames: usize,
    max_abs: f64,
    /// Signal (ours) to difference power, in dB.
    snr_db: f64,
}

/// Compares `ours` with `reference` frame by frame from frame 0, over the
/// frames both have.
fn diff(ours: &[f32], reference: &[f32], channels: usize) -> Diff {
    let n = ours.len().min(reference.len()) / channels * channels;
    let (mut max_abs, mut signal, mut noise) = (0f64, 0f64, 0f64);
    for (a, b) in ours[..n].iter().zip(&reference[..n]) {
        let (a, d) = (f64::from(*a), f64::from(*a) - f64::from(*b));
        max_abs = max_abs.max(d.abs());
        signal += a * a;
        noise += d * d;
    }
    Diff {
        frames: n / channels,
        max_abs,
        snr_db: 10.0 * (signal / noise.max(1e-30)).log10(),
    }
}

/// The mean squared difference with `reference` shifted by `lag` frames.
fn mse_at_lag(ours: &[f32], reference: &[f32], channels: usize, lag: i64) -> f64 {
    let (fo, fr) = (ours.len() / channels, reference.len() / channels);
    let (mut sum, mut n) = (0f64, 0usize);
    for i in 0..fo {
        let j = i as i64 + lag;
        if j < 0 || j >= fr as i64 {
            continue;
        }
        for c in 0..channels {
            let d =
                f64::from(ours[i * channels + c]) - f64::from(reference[j as usize * channels + c]);
            sum += d * d;
        }
        n += 1;
    }
    if n < 256 {
        f64::INFINITY
    } else {
        sum / n as f64
    }
}

/// Asserts no shift of the reference within ±`range` frames fits better
/// than none: the alignment is found, not assumed. (Tones are periodic, so
/// another lag may tie; none may win.)
fn assert_aligned_at_zero(what: &str, ours: &[f32], reference: &[f32], channels: usize) {
    let at_zero = mse_at_lag(ours, reference, channels, 0);
    for lag in (-2112i64..=2112).filter(|&l| l != 0) {
        let other = mse_at_lag(ours, reference, channels, lag);
        assert!(
            at_zero <= other * 1.0001 + 1e-18,
            "{what}: the reference fits better shifted by {lag} frames ({other:e} < {at_zero:e})"
        );
    }
}

/// A test signal: two tones and a little deterministic noise, so every
/// frame differs from its neighbours and misalignment cannot hide.
fn music(frames: usize, channels: usize, rate: u32) -> Vec<f32> {
    let mut x: u32 = 0x1234_5678;
    let mut out = Vec::with_capacity(frames * channels);
    for n in 0..frames {
        let t = n as f64 / f64::from(rate);
        for c in 0..channels {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let noise = (f64::from(x) / f64::from(u32::MAX) - 0.5) * 0.02;
            let f = if c == 0 { 440.0 } else { 554.37 };
            let v = 0.4 * (2.0 * std::f64::consts::PI * f * t).sin()
                + 0.2 * (2.0 * std::f64::consts::PI * 3.0 * f * t + 0.3).sin()
                + noise;
            out.push(v as f32);
        }
    }
    out
}

/// Writes `samples` as a WAV: 8/16/24-bit integer or 32-bit float.
/// Float samples are written as given, NaN and infinities included.
fn write_wav(path: &Path, samples: &[f32], channels: u16, rate: u32, bits: u16, float: bool) {
    let format = WavFormat {
        channels,
        rate,
        bits,
        float,
    };
    let frames = samples.len() / usize::from(channels);
    fixtures::write_wav(path, format, frames as u32, |i, c| {
        samples[i as usize * usize::from(channels) + usize::from(c)]
    });
}

/// What integer PCM of `bits` stores for `s`, as a decoder returns it.
fn quantised(s: f32, bits: u16) -> f32 {
    let s = f64::from(s).clamp(-1.0, 1.0);
    let full = f64::from(1u32 << (bits - 1));
    ((s * (full - 1.0)).round() / full) as f32
}

fn read_all(decoder: &mut ClipDecoder, block: usize) -> Vec<f32> {
    let ch = usize::from(decoder.channels().count());
    let mut out = Vec::new();
    let mut buf = vec![0.0; block * ch];
    loop {
        let n = decoder.read(&mut buf).expect("read");
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n * ch]);
    }
}

// ------------------------------------------------- against the reference

/// The committed fixtures (see fixtures/media/README.md) against ffmpeg.
#[test]
fn every_fixture_matches_ffmpeg_with_gapless_trimming() {
    struct Case {
        file: &'static str,
        frames: usize,
        lossy: bool,
    }
    let cases = [
        Case {
            file: "tone-44k-s16-stereo.flac",
            frames: 4410,
            lossy: false,
        },
        Case {
            file: "tone-48k-s24-mono.flac",
            frames: 2400,
            lossy: false,
        },
        Case {
            file: "tone-44k-s16-stereo-alac.m4a",
            frames: 4410,
            lossy: false,
        },
        // ffmpeg ignores the fact chunk and returns the padded last block
        // (4545 frames); the first 4410 must agree.
        Case {
            file: "tone-44k-mono-ima-adpcm.wav",
            frames: 4410,
            lossy: false,
        },
        Case {
            file: "tone-48k-f32-stereo-sox.wav",
            frames: 480,
            lossy: false,
        },
        // Both drop the LAME delay and padding: 4410 frames each.
        Case {
            file: "tone-44k-stereo.mp3",
            frames: 4410,
            lossy: true,
        },
        // ffmpeg 5.1 applies the edit list's 1024 frames of priming but not
        // the end (5120 frames); the first 4800 must agree.
        Case {
            file: "tone-48k-stereo-aac.m4a",
            frames: 4800,
            lossy: true,
        },
        // ffmpeg 5.1 ends 128 frames before the last page's granule
        // position (4672 frames); cuebox keeps the 4800 the stream states
        // (and the source had), checked below to be audio, not padding.
        Case {
            file: "tone-48k-mono.ogg",
            frames: 4800,
            lossy: true,
        },
    ];
    for case in cases {
        let path = fixture_path(case.file);
        let rate = if case.file.contains("44k") {
            44_100
        } else {
            48_000
        };
        let pcm = decode_file(&path, rate);
        let ch = usize::from(pcm.channels.count());
        assert_eq!(
            pcm.frames as usize, case.frames,
            "{}: gapless length",
            case.file
        );
        assert_eq!(pcm.samples.len(), case.frames * ch);
        let reference = ffmpeg_decode(&path);
        assert_aligned_at_zero(case.file, &pcm.samples, &reference, ch);
        let d = diff(&pcm.samples, &reference, ch);
        println!(
            "{:32} {} frames compared: max |error| {:.2e}, SNR {:.1} dB",
            case.file, d.frames, d.max_abs, d.snr_db
        );
        assert!(d.frames >= case.frames.min(4672), "{}: {d:?}", case.file);
        if case.lossy {
            // Independent float decoders: far below audibility, far above
            // what any misalignment (≈20 dB here) would give.
            assert!(d.max_abs < 1e-4 && d.snr_db > 90.0, "{}: {d:?}", case.file);
        } else {
            assert!(d.max_abs <= 1e-6, "{}: {d:?}", case.file);
        }
    }
    // The Ogg's last 128 frames, which ffmpeg 5.1 leaves out, continue the
    // tone rather than being padding.
    let pcm = decode_file(&fixture_path("tone-48k-mono.ogg"), 48_000);
    let rms =
        |s: &[f32]| (s.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / s.len() as f64).sqrt();
    let (body, tail) = pcm.samples.split_at(4672);
    assert!(
        rms(tail) > 0.5 * rms(body),
        "tail {} body {}",
        rms(tail),
        rms(body)
    );
}

#[test]
fn generated_pcm_wavs_decode_to_the_written_samples_and_match_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[(u16, u32, u16, bool)] = &[
        (1, 44_100, 16, false),
        (2, 48_000, 16, false),
        (2, 48_000, 24, false),
        (1, 96_000, 24, false),
        (2, 44_100, 8, false),
        (2, 48_000, 32, true),
        (1, 44_100, 32, true),
    ];
    for &(channels, rate, bits, float) in cases {
        let what = format!(
            "{channels} ch {rate} Hz {bits}-bit{}",
            if float { " float" } else { "" }
        );
        let frames = 12_347;
        let written = music(frames, usize::from(channels), rate);
        let path = dir
            .path()
            .join(format!("{channels}-{rate}-{bits}-{float}.wav"));
        write_wav(&path, &written, channels, rate, bits, float);
        let pcm = decode_file(&path, rate);
        assert_eq!(pcm.frames as usize, frames, "{what}");
        let expected: Vec<f32> = if float {
            written
        } else {
            written.iter().map(|&s| quantised(s, bits)).collect()
        };
        let d = diff(&pcm.samples, &expected, usize::from(channels));
        assert!(
            d.max_abs <= 1e-6,
            "{what}: against the written samples: {d:?}"
        );
        let d = diff(&pcm.samples, &ffmpeg_decode(&path), usize::from(channels));
        assert_eq!(d.frames, frames, "{what}");
        assert!(d.max_abs <= 1e-6, "{what}: against ffmpeg: {d:?}");
    }
}

#[test]
fn aiff_made_by_sox_matches_its_source_and_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (channels, bits) in [(2u16, 16u16), (1, 24)] {
        let frames = 9_001;
        let written = music(frames, usize::from(channels), 44_100);
        let wav = dir.path().join(format!("src-{channels}-{bits}.wav"));
        write_wav(&wav, &written, channels, 44_100, bits, false);
        let aiff = dir.path().join(format!("out-{channels}-{bits}.aiff"));
        run(
            "sox",
            &["-D", wav.to_str().unwrap(), aiff.to_str().unwrap()],
        );
        let pcm = decode_file(&aiff, 44_100);
        assert_eq!(pcm.frames as usize, frames);
        let expected: Vec<f32> = written.iter().map(|&s| quantised(s, bits)).collect();
        let d = diff(&pcm.samples, &expected, usize::from(channels));
        assert!(
            d.max_abs <= 1e-6,
            "AIFF {bits}-bit against its source: {d:?}"
        );
        let d = diff(&pcm.samples, &ffmpeg_decode(&aiff), usize::from(channels));
        assert!(
            d.frames == frames && d.max_abs <= 1e-6,
            "AIFF {bits}-bit against ffmpeg: {d:?}"
        );
    }
}

/// Encodes `wav` with ffmpeg into each lossy and lossless format cuebox
/// reads, returning the paths.
fn encode_all(dir: &Path, wav: &Path) -> Vec<PathBuf> {
    let encodings: &[(&str, &[&str])] = &[
        ("flac", &["-c:a", "flac"]),
        ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"]),
        ("m4a", &["-c:a", "aac", "-b:a", "192k"]),
        // No perceptual noise substitution: without its random noise a
        // seek must reproduce AAC exactly.
        (
            "nopns.m4a",
            &["-c:a", "aac", "-aac_pns", "0", "-b:a", "128k"],
        ),
        ("ogg", &["-c:a", "libvorbis", "-q:a", "6"]),
        ("alac.m4a", &["-c:a", "alac"]),
    ];
    encodings
        .iter()
        .map(|(ext, codec)| {
            let out = dir.join(format!("enc.{ext}"));
            let mut args = vec!["-v", "error", "-y", "-i", wav.to_str().unwrap()];
            args.extend_from_slice(codec);
            args.push(out.to_str().unwrap());
            run("ffmpeg", &args);
            out
        })
        .collect()
}

#[test]
fn longer_files_encoded_at_test_time_match_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("src.wav");
    let frames = 3 * 44_100 + 123;
    write_wav(&wav, &music(frames, 2, 44_100), 2, 44_100, 16, false);
    for path in encode_all(dir.path(), &wav) {
        let pcm = decode_file(&path, 44_100);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let reference = ffmpeg_decode(&path);
        let d = diff(&pcm.samples, &reference, 2);
        println!(
            "{name:12} ours {} frames, ffmpeg {}: max |error| {:.2e}, SNR {:.1} dB",
            pcm.frames,
            reference.len() / 2,
            d.max_abs,
            d.snr_db
        );
        assert_eq!(pcm.frames as usize, frames, "{name}: gapless length");
        assert!(d.frames >= frames - 2048, "{name}: {d:?}");
        assert!(d.max_abs < 1e-4 && d.snr_db > 90.0, "{name}: {d:?}");
    }
}

// ------------------------------------------------ sample-rate conversion

/// THD+N of `x` as a sine of `freq` Hz at `rate`: the sine is fitted by
/// least squares (amplitude, phase, offset) and removed; the residual's
/// power relative to the sine's, in dB.
fn thd_n_db(x: &[f32], freq: f64, rate: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    // Normal equations for x ≈ a·sin + b·cos + c.
    let mut m = [[0f64; 3]; 3];
    let mut v = [0f64; 3];
    for (n, &s) in x.iter().enumerate() {
        let basis = [(w * n as f64).sin(), (w * n as f64).cos(), 1.0];
        for i in 0..3 {
            v[i] += basis[i] * f64::from(s);
            for j in 0..3 {
                m[i][j] += basis[i] * basis[j];
            }
        }
    }
    let [a, b, c] = solve3(m, v);
    let (mut signal, mut residual) = (0f64, 0f64);
    for (n, &s) in x.iter().enumerate() {
        let fit = a * (w * n as f64).sin() + b * (w * n as f64).cos();
        signal += fit * fit;
        residual += (f64::from(s) - fit - c).powi(2);
    }
    10.0 * (residual / signal).log10()
}

/// Solves a 3×3 system by Cramer's rule.
fn solve3(m: [[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(m);
    let mut out = [0.0; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let mut mk = m;
        for i in 0..3 {
            mk[i][k] = v[i];
        }
        *o = det(mk) / d;
    }
    out
}

/// A float WAV of a `freq` Hz sine at `rate`, amplitude 0.5.
fn sine_wav(freq: f64, rate: u32, frames: usize) -> Vec<u8> {
    wav_bytes(WavFormat::float32(1, rate), frames as u32, |n, _| {
        let t = f64::from(n) / f64::from(rate);
        (0.5 * (2.0 * std::f64::consts::PI * freq * t).sin()) as f32
    })
}

#[test]
fn src_of_a_1_khz_sine_44k1_to_48k_keeps_thd_n_below_minus_90_db() {
    let input_frames = 2 * 44_100;
    let mut d =
        open_bytes(sine_wav(1000.0, 44_100, input_frames), Some("wav"), 48_000).expect("open");
    assert_eq!(d.source_rate(), 44_100);
    assert_eq!(d.frames(), 2 * 48_000, "length converts exactly");
    let out = read_all(&mut d, 1000);
    assert_eq!(out.len(), 2 * 48_000);
    // Away from the clip's edges, where the sine starts and stops abruptly.
    let middle = &out[4_800..out.len() - 4_800];
    let thd_n = thd_n_db(middle, 1000.0, 48_000.0);
    println!("SRC 44.1 kHz → 48 kHz, 1 kHz sine: THD+N {thd_n:.1} dB");
    assert!(thd_n < -90.0, "THD+N {thd_n:.1} dB");

    // No delay and no gain: the output is the same sine at 48 kHz.
    let expected: Vec<f32> = (0..out.len())
        .map(|n| (0.5 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / 48_000.0).sin()) as f32)
        .collect();
    let err = diff(middle, &expected[4_800..out.len() - 4_800], 1);
    println!(
        "SRC against the ideal 48 kHz sine: max |error| {:.2e}, SNR {:.1} dB",
        err.max_abs, err.snr_db
    );
    assert!(err.snr_db > 80.0, "{err:?}");
}

#[test]
fn src_quality_holds_for_other_rate_pairs() {
    for (from, to, freq) in [
        (48_000, 44_100, 1000.0),
        (96_000, 48_000, 1000.0),
        (44_100, 96_000, 1000.0),
        (48_000, 44_100, 15_000.0),
    ] {
        let mut d = open_bytes(sine_wav(freq, from, from as usize), Some("wav"), to).expect("open");
        let out = read_all(&mut d, 4096);
        assert_eq!(out.len() as u64, d.frames());
        let margin = to as usize / 10;
        let thd_n = thd_n_db(&out[margin..out.len() - margin], freq, f64::from(to));
        println!("SRC {from} → {to} Hz, {freq} Hz sine: THD+N {thd_n:.1} dB");
        assert!(thd_n < -90.0, "{from} → {to}: THD+N {thd_n:.1} dB");
    }
}

// ---------------------------------------------------------------- seeking

/// How closely audio after a seek must equal a full decode's.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Within float rounding (in practice bit-identical).
    Exact,
    /// AAC with perceptual noise substitution: the substituted bands are
    /// random noise, whose realisation after a seek differs from a decode
    /// from the start (ffmpeg's too). The rest must agree, and the same
    /// seek must always give the same audio.
    NoiseBands,
}

/// Checks that seeking to each of `positions` and reading `len` frames
/// gives the frames a full decode has there.
fn assert_seeks_match(
    what: &str,
    decoder: &mut ClipDecoder,
    full: &[f32],
    positions: &[u64],
    len: usize,
    expect: Expect,
) {
    let ch = usize::from(decoder.channels().count());
    let frames = decoder.frames();
    assert_eq!(full.len() as u64, frames * ch as u64, "{what}");
    let mut first_reads = std::collections::HashMap::new();
    for &pos in positions {
        decoder
            .seek(pos)
            .unwrap_or_else(|e| panic!("{what}: seek {pos}: {e}"));
        assert_eq!(decoder.position(), pos.min(frames));
        let mut buf = vec![0.0; len * ch];
        let mut got = 0;
        while got < len {
            let n = decoder
                .read(&mut buf[got * ch..])
                .unwrap_or_else(|e| panic!("{what}: read at {pos}: {e}"));
            if n == 0 {
                break;
            }
            got += n;
        }
        buf.truncate(got * ch);
        let expect_len = (frames.saturating_sub(pos) as usize).min(len);
        assert_eq!(got, expect_len, "{what}: frames after seeking to {pos}");
        let start = pos as usize * ch;
        let d = diff(&buf, &full[start..start + got * ch], ch);
        let ok = match expect {
            Expect::Exact => d.max_abs <= 1e-6,
            Expect::NoiseBands => got == 0 || d.snr_db > 25.0,
        };
        assert!(
            ok,
            "{what}: after seeking to {pos} the audio differs from a full decode: {d:?}"
        );
        if let Some(earlier) = first_reads.insert(pos, buf.clone()) {
            assert_eq!(
                earlier, buf,
                "{what}: seeking to {pos} again gave other audio"
            );
        }
    }
}

/// Positions that matter: the start, just after it, converter block
/// boundaries (1029/1120 frames), a loop start revisited, the middle and
/// the last frames, and the end itself.
fn seek_positions(frames: u64) -> Vec<u64> {
    let mut p = vec![
        0,
        1,
        57,
        1028,
        1029,
        1120,
        2048,
        frames / 3,
        frames / 2 + 17,
        frames / 3, // back to a loop start after reading on
        frames - 300,
        frames - 1,
        frames,
        3,
    ];
    p.retain(|&x| x <= frames);
    p
}

#[test]
fn seeking_equals_a_full_decode_in_every_format_with_and_without_src() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("src.wav");
    write_wav(
        &wav,
        &music(2 * 44_100 + 77, 2, 44_100),
        2,
        44_100,
        16,
        false,
    );
    let mut files = encode_all(dir.path(), &wav);
    files.push(wav);
    for name in [
        "tone-44k-mono-ima-adpcm.wav",
        "tone-48k-s24-mono.flac",
        "tone-48k-mono.ogg",
        "tone-48k-stereo-aac.m4a",
        "tone-44k-stereo.mp3",
    ] {
        files.push(fixture_path(name));
    }
    for path in &files {
        let bytes = std::fs::read(path).expect("read");
        let ext = ext_of(path);
        for rate in [44_100, 48_000] {
            let what = format!(
                "{} at {rate} Hz",
                path.file_name().unwrap().to_string_lossy()
            );
            let full = decode_all(Box::new(Cursor::new(bytes.clone())), ext.as_deref(), rate)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut d = open_bytes(bytes.clone(), ext.as_deref(), rate).expect("open");
            let positions = seek_positions(d.frames());
            // ffmpeg's AAC encoder uses noise substitution unless told not to.
            let aac = what.contains(".m4a") && !what.contains("alac");
            let expect = if aac && !what.contains("nopns") {
                Expect::NoiseBands
            } else {
                Expect::Exact
            };
            assert_seeks_match(&what, &mut d, &full.samples, &positions, 3000, expect);
        }
    }
}

/// An MP3 without a Xing/LAME header states no exact length: the decoder
/// counts it once at open (as the probe does) and still seeks exactly.
#[test]
fn an_mp3_without_a_lame_header_is_counted_and_seeks_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("src.wav");
    write_wav(&wav, &music(44_100, 2, 44_100), 2, 44_100, 16, false);
    let mp3 = dir.path().join("plain.mp3");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-i",
            wav.to_str().unwrap(),
            "-c:a",
            "libmp3lame",
            "-write_xing",
            "0",
            mp3.to_str().unwrap(),
        ],
    );
    let bytes = std::fs::read(&mp3).expect("read");
    let probed = cuebox_engine::media::probe(Box::new(Cursor::new(bytes.clone())), Some("mp3"))
        .expect("probe");
    let full =
        decode_all(Box::new(Cursor::new(bytes.clone())), Some("mp3"), 44_100).expect("decode");
    assert_eq!(full.frames, probed.format.frames.0, "the probe's count");
    let reference = ffmpeg_decode(&mp3);
    assert_aligned_at_zero("plain.mp3", &full.samples, &reference, 2);
    let d = diff(&full.samples, &reference, 2);
    assert!(d.max_abs < 1e-4 && d.snr_db > 90.0, "{d:?}");
    let mut dec = open_bytes(bytes, Some("mp3"), 44_100).expect("open");
    let positions = seek_positions(dec.frames());
    assert_seeks_match(
        "plain.mp3",
        &mut dec,
        &full.samples,
        &positions,
        2000,
        Expect::Exact,
    );
}

#[test]
fn a_loop_refilled_many_times_repeats_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("src.wav");
    write_wav(&wav, &music(44_100, 2, 44_100), 2, 44_100, 16, false);
    let mp3 = encode_all(dir.path(), &wav).remove(1);
    assert_eq!(mp3.extension().unwrap(), "mp3");
    let bytes = std::fs::read(&mp3).expect("read");
    let full =
        decode_all(Box::new(Cursor::new(bytes.clone())), Some("mp3"), 48_000).expect("decode");
    let mut d = open_bytes(bytes, Some("mp3"), 48_000).expect("open");
    // A loop from 0.25 s to 0.5 s, refilled as a butler would.
    let (start, end) = (12_000u64, 24_000u64);
    let mut buf = vec![0.0; 512 * 2];
    d.seek(start).expect("seek");
    for pass in 0..4 {
        let mut at = start;
        while at < end {
            let want = ((end - at) as usize).min(512);
            let n = d.read(&mut buf[..want * 2]).expect("read");
            assert!(n > 0);
            let expected = &full.samples[at as usize * 2..(at as usize + n) * 2];
            assert!(
                diff(&buf[..n * 2], expected, 2).max_abs <= 1e-6,
                "pass {pass} at {at}"
            );
            at += n as u64;
        }
        d.seek(start).expect("seek back");
    }
}

#[test]
fn block_size_does_not_change_the_audio() {
    let path = fixture_path("tone-44k-stereo.mp3");
    let bytes = std::fs::read(&path).expect("read");
    let full =
        decode_all(Box::new(Cursor::new(bytes.clone())), Some("mp3"), 48_000).expect("decode");
    for block in [1, 7, 160, 1000, 100_000] {
        let mut d = open_bytes(bytes.clone(), Some("mp3"), 48_000).expect("open");
        let out = read_all(&mut d, block);
        assert_eq!(&out[..], &full.samples[..], "block {block}");
    }
}

// --------------------------------------------------------- bad input

fn xorshift_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn unsupported_engine_rates_are_refused() {
    let err = open_bytes(sine_wav(1000.0, 48_000, 100), Some("wav"), 22_050).unwrap_err();
    assert!(
        matches!(err, DecodeError::EngineRate { rate: 22_050 }),
        "{err:?}"
    );
}

#[test]
fn random_bytes_and_empty_files_are_refused_clearly() {
    let err = open_bytes(xorshift_bytes(64 * 1024, 7), Some("wav"), 48_000).unwrap_err();
    assert!(
        matches!(err, DecodeError::Media(ProbeError::NotAudio { .. })),
        "{err:?}"
    );
    let err = open_bytes(Vec::new(), Some("flac"), 48_000).unwrap_err();
    assert!(
        matches!(err, DecodeError::Media(ProbeError::Empty)),
        "{err:?}"
    );
    let err = open_bytes(
        std::fs::read(fixture_path("tone-48k-stereo.opus")).unwrap(),
        Some("opus"),
        48_000,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("opus audio, which cuebox cannot decode"),
        "{err}"
    );
}

#[test]
fn a_truncated_file_fails_at_the_frame_where_it_ends() {
    let mut bytes = std::fs::read(fixture_path("tone-44k-s16-stereo.flac")).unwrap();
    bytes.truncate(bytes.len() - 1500);
    let mut d = open_bytes(bytes, Some("flac"), 48_000).expect("the header is intact");
    let mut buf = vec![0.0; 8192 * 2];
    let err = loop {
        match d.read(&mut buf) {
            Ok(0) => panic!("a truncated file read to its end"),
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            err,
            DecodeError::Media(ProbeError::Truncated {
                header: 4410,
                decoded: 2304
            })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("truncated: header says 4410 frames, only 2304 decode"),
        "{err}"
    );
}

#[test]
fn damaged_audio_is_corrupt_at_a_frame() {
    let mut bytes = std::fs::read(fixture_path("tone-44k-s16-stereo.flac")).unwrap();
    let at = bytes.len() * 3 / 4;
    for b in &mut bytes[at..at + 16] {
        *b ^= 0x5a;
    }
    let err = decode_all(Box::new(Cursor::new(bytes)), Some("flac"), 44_100).unwrap_err();
    assert!(
        matches!(
            &err,
            DecodeError::Media(ProbeError::Corrupt { frame: 2304, .. })
        ),
        "{err:?}"
    );
}

#[test]
fn a_header_claiming_a_day_of_audio_costs_only_what_decodes() {
    // A WAV whose data chunk claims 3.5 hours of 24-bit stereo at 48 kHz
    // but holds a few frames: the decode ends in an error, not an
    // allocation of the claimed 12 GB.
    let mut b = Vec::new();
    let data_len: u32 = 0xF000_0000;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36u32.wrapping_add(data_len)).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&48_000u32.to_le_bytes());
    b.extend_from_slice(&(48_000u32 * 6).to_le_bytes());
    b.extend_from_slice(&6u16.to_le_bytes());
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.resize(b.len() + 6 * 1000, 0x11);
    let err = decode_all(Box::new(Cursor::new(b)), Some("wav"), 44_100).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Media(ProbeError::Truncated { decoded: 1000, .. })
        ),
        "{err:?}"
    );
}

/// A source that panics when a read starts at `panic_at` (reads before it
/// stop there): a decoder bug stand-in that strikes mid-stream, not while
/// the reader looks for chunks after the audio at open.
struct PanicsLater {
    inner: Cursor<Vec<u8>>,
    panic_at: u64,
}

impl std::io::Read for PanicsLater {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let pos = self.inner.position();
        if (self.panic_at..self.panic_at + 4096).contains(&pos) {
            panic!("boom while decoding");
        }
        let room = self.panic_at.checked_sub(pos).filter(|&r| r > 0);
        let n = room.map_or(buf.len(), |r| buf.len().min(r as usize));
        std::io::Read::read(&mut self.inner, &mut buf[..n])
    }
}

impl std::io::Seek for PanicsLater {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

impl MediaSource for PanicsLater {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.inner.get_ref().len() as u64)
    }
}

#[test]
fn a_panic_while_decoding_is_an_error_and_the_decoder_stays_failed() {
    let bytes = sine_wav(1000.0, 48_000, 100_000);
    let source = PanicsLater {
        inner: Cursor::new(bytes),
        panic_at: 200_000,
    };
    let mut d = ClipDecoder::open(Box::new(source), Some("wav"), 48_000).expect("the header reads");
    let mut buf = vec![0.0; 4096];
    let err = loop {
        match d.read(&mut buf) {
            Ok(n) => assert!(n > 0),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(&err, DecodeError::Media(ProbeError::DecoderFailed { detail }) if detail == "boom while decoding"),
        "{err:?}"
    );
    assert!(matches!(
        d.read(&mut buf),
        Err(DecodeError::Media(ProbeError::DecoderFailed { .. }))
    ));
    assert!(matches!(
        d.seek(0),
        Err(DecodeError::Media(ProbeError::DecoderFailed { .. }))
    ));
}

#[test]
fn a_non_seekable_source_streams_but_cannot_seek_back() {
    let bytes = sine_wav(1000.0, 44_100, 20_000);
    let seekable =
        decode_all(Box::new(Cursor::new(bytes.clone())), Some("wav"), 48_000).expect("decode");
    let source = ReadOnlySource::new(Cursor::new(bytes));
    let mut d = ClipDecoder::open(Box::new(source), Some("wav"), 48_000).expect("open");
    let out = read_all(&mut d, 999);
    assert_eq!(&out[..], &seekable.samples[..]);
    let err = d.seek(100).unwrap_err();
    assert!(
        matches!(err, DecodeError::Seek { frame: 100, .. }),
        "{err:?}"
    );
}

/// Cut and damaged versions of every fixture: open, decode and seek must
/// give audio or an error, never a panic, and a damaged file is reported
/// as what it is rather than as a decoder failure.
#[test]
fn cut_and_damaged_fixtures_never_panic() {
    let names = [
        "tone-44k-s16-stereo.flac",
        "tone-48k-s24-mono.flac",
        "tone-44k-stereo.mp3",
        "tone-44k-s16-stereo-alac.m4a",
        "tone-48k-stereo-aac.m4a",
        "tone-48k-mono.ogg",
        "tone-44k-mono-ima-adpcm.wav",
        "tone-48k-f32-stereo-sox.wav",
    ];
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for name in names {
        let original = std::fs::read(fixture_path(name)).unwrap();
        let ext = ext_of(Path::new(name));
        let mut variants = Vec::new();
        for cut in (1..original.len()).step_by(original.len() / 23 + 1) {
            variants.push(original[..cut].to_vec());
        }
        for seed in 1..=24u64 {
            let mut v = original.clone();
            let noise = xorshift_bytes(8, seed);
            let at = (seed as usize * 7919) % v.len();
            for (i, n) in noise.iter().enumerate() {
                if let Some(b) = v.get_mut(at + i) {
                    *b ^= n | 1;
                }
            }
            variants.push(v);
        }
        for bytes in variants {
            let outcome = exercise(bytes, ext.as_deref());
            *outcomes.entry(outcome).or_default() += 1;
        }
    }
    println!("{outcomes:#?}");
    assert!(
        !outcomes.keys().any(|k| k.starts_with("DecoderFailed")),
        "a decoder panicked: {outcomes:#?}"
    );
}

/// Inputs the fuzz target found on which Symphonia 0.6.1's FLAC reader
/// panics while seeking (arithmetic overflow on a damaged SEEKTABLE; only
/// with overflow checks on, as in tests and fuzzing — release builds wrap).
/// The panic must stay inside the decoder: an error, never an unwind.
#[test]
fn a_reader_panicking_while_seeking_is_contained() {
    for name in [
        "fuzz-flac-seektable-add-overflow.flac",
        "fuzz-flac-seektable-sub-overflow.flac",
    ] {
        let bytes = std::fs::read(fixture_path(name)).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let mut d = open_bytes(bytes, Some("flac"), 48_000).expect("the header reads");
            let half = d.frames() / 2;
            (d.seek(half), d.seek(0))
        });
        let (first, second) =
            outcome.unwrap_or_else(|_| panic!("{name}: a panic escaped the decoder"));
        println!("{name}: {first:?}, then {second:?}");
        if cfg!(debug_assertions) {
            assert!(
                matches!(
                    first,
                    Err(DecodeError::Media(ProbeError::DecoderFailed { .. }))
                ),
                "{name}: {first:?}"
            );
            // Its state unknown, the decoder refuses further work.
            assert!(matches!(
                second,
                Err(DecodeError::Media(ProbeError::DecoderFailed { .. }))
            ));
        }
    }
}

/// Opens, reads to the end, seeks about and reads again; names the outcome.
fn exercise(bytes: Vec<u8>, ext: Option<&str>) -> String {
    let name = |e: &DecodeError| match e {
        DecodeError::Media(ProbeError::DecoderFailed { detail }) => {
            format!("DecoderFailed: {detail}")
        }
        other => format!("{other:?}")
            .split([' ', '(', '{'])
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
    };
    let mut d = match open_bytes(bytes, ext, 48_000) {
        Ok(d) => d,
        Err(e) => return format!("open: {}", name(&e)),
    };
    let ch = usize::from(d.channels().count());
    let mut buf = vec![0.0; 1000 * ch];
    for seek in [
        None,
        Some(d.frames() / 2),
        Some(0),
        Some(d.frames().saturating_sub(10)),
    ] {
        if let Some(at) = seek {
            if let Err(e) = d.seek(at) {
                return format!("seek: {}", name(&e));
            }
        }
        loop {
            match d.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return format!("read: {}", name(&e)),
            }
        }
    }
    "ok".to_owned()
}

#[test]
fn non_finite_samples_in_a_float_file_become_silence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nan.wav");
    let mut samples = music(1000, 2, 48_000);
    samples[10] = f32::NAN;
    samples[11] = f32::INFINITY;
    samples[500] = f32::NEG_INFINITY;
    write_wav(&path, &samples, 2, 48_000, 32, true);
    let pcm = decode_file(&path, 48_000);
    assert!(pcm.samples.iter().all(|s| s.is_finite()));
    assert_eq!(
        (pcm.samples[10], pcm.samples[11], pcm.samples[500]),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(pcm.samples[12], samples[12]);
}

/// Found by the fuzz target: values near f32's limit overflowed the rate
/// converter's FFT (a panic inside rubato). They are clamped to ±1000 now.
#[test]
fn absurd_float_samples_are_clamped_and_convert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.wav");
    let mut samples = music(5000, 1, 44_100);
    for s in &mut samples[100..3000] {
        *s = 3.0e38;
    }
    write_wav(&path, &samples, 1, 44_100, 32, true);
    let pcm = decode_file(&path, 48_000);
    assert!(pcm
        .samples
        .iter()
        .all(|s| s.is_finite() && s.abs() < 1100.0));
    assert_eq!(decode_file(&path, 44_100).samples[200], 1000.0);
}

#[test]
fn mono_and_stereo_keep_their_channel_count() {
    let mono = decode_file(&fixture_path("tone-48k-mono.ogg"), 44_100);
    assert_eq!(mono.channels, Channels::Mono);
    assert_eq!(mono.samples.len() as u64, mono.frames);
    assert_eq!(
        mono.frames, 4410,
        "4800 frames at 48 kHz are 4410 at 44.1 kHz"
    );
    let stereo = decode_file(&fixture_path("tone-44k-s16-stereo-alac.m4a"), 96_000);
    assert_eq!(stereo.channels, Channels::Stereo);
    assert_eq!(stereo.frames, 9600);
    assert_eq!(stereo.sample_rate, 96_000);
}
