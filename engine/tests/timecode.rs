//! cuebox's timecode codecs against independent peers: LTC from PyPI's
//! python-ltc and MTC from mido at the end; LTC against libltc (Debian's libltc, through
//! `scripts/ltc/ltc-peer.c`): libltc generates every case — each rate at
//! 44.1, 48 and 96 kHz, reverse, 0.5× and 2×, varispeed, −40 dBFS,
//! inverted, noisy, DC offset. libltc decodes the clean signal (its own
//! decoder gives up below about −30 dBFS); ours decodes the impaired one,
//! with the same timing. Ours must find the same frames, each starting
//! within one bit period of libltc's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use cuebox_engine::timecode::ltc::Decoder;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

/// What `command` prints; `failing` says what its failure means.
fn stdout_of(command: &mut Command, failing: &str) -> Vec<u8> {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{failing}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn peer() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let out = stdout_of(
            &mut Command::new(root.join("scripts/ltc/build-ltc-peer.sh")),
            "building the libltc peer failed",
        );
        PathBuf::from(String::from_utf8(out).unwrap().trim())
    })
}

/// A case: what libltc generates.
#[derive(Debug, Clone, Copy)]
struct Case {
    rate: u32,
    fps: &'static str,
    df: bool,
    speed: (f64, f64),
    level_db: f64,
    invert: bool,
    noise_db: f64,
    dc: f64,
}

const BASE: Case = Case {
    rate: 48_000,
    fps: "25",
    df: false,
    speed: (1.0, 1.0),
    level_db: -18.0,
    invert: false,
    noise_db: -200.0,
    dc: 0.0,
};

/// (timecode, first sample, reverse) of each frame.
type Frames = Vec<(String, u64, bool)>;

/// Writes libltc's signal for `case` to `file`.
fn generate(case: Case, file: &Path) {
    let start = if case.speed.0 < 0.0 {
        "10:00:05:00"
    } else {
        "10:00:00:00"
    };
    let status = Command::new(peer())
        .arg("generate")
        .arg(file)
        .args([
            case.rate.to_string(),
            case.fps.to_string(),
            u8::from(case.df).to_string(),
            start.to_string(),
            "4".to_string(),
            case.speed.0.to_string(),
            case.speed.1.to_string(),
            case.level_db.to_string(),
            u8::from(case.invert).to_string(),
            case.noise_db.to_string(),
            case.dc.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Ours on the impaired signal, libltc on the clean one; and our mean bit
/// period, samples.
fn run(case: Case, dir: &Path) -> (Frames, Frames, f64) {
    let clean = Case {
        level_db: BASE.level_db,
        invert: false,
        noise_db: BASE.noise_db,
        dc: 0.0,
        ..case
    };
    let (impaired_file, clean_file) = (dir.join("impaired.f32"), dir.join("clean.f32"));
    generate(case, &impaired_file);
    generate(clean, &clean_file);
    let fps: f64 = case.fps.parse().unwrap();
    let apv = (f64::from(case.rate) / fps / case.speed.0.abs()).round();
    let out = stdout_of(
        Command::new(peer())
            .arg("decode")
            .arg(&clean_file)
            .args([case.rate.to_string(), apv.to_string()]),
        "libltc could not decode",
    );
    let theirs: Frames = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let (a, b): (i64, i64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
            (f[0].to_string(), a.min(b).max(0) as u64, f[3] != "0")
        })
        .collect();
    let samples: Vec<f32> = std::fs::read(&impaired_file)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let mut ours: Frames = Vec::new();
    let mut bit_sum = 0.0;
    Decoder::new(case.rate).process(&samples, |f| {
        bit_sum += (f.end - f.start) as f64 / 80.0;
        ours.push((f.frame.tc.to_string(), f.start, f.reverse));
    });
    let bit = bit_sum / ours.len().max(1) as f64;
    (ours, theirs, bit)
}

fn check(case: Case) {
    let tmp = tempfile::tempdir().unwrap();
    let (ours, theirs, bit) = run(case, tmp.path());
    assert!(
        theirs.len() >= 20,
        "{case:?}: libltc found only {} frames",
        theirs.len()
    );
    let ours_by_tc: HashMap<&str, (u64, bool)> = ours
        .iter()
        .map(|(tc, s, r)| (tc.as_str(), (*s, *r)))
        .collect();
    // libltc may catch a frame at either end that we need one more edge
    // for, and the reverse. The signal also starts with a step (to its DC
    // offset, if any), which our high-pass takes up to 50 ms to settle;
    // a live input has no such step. In between, frame for frame the same.
    let settled = u64::from(case.rate) / 20;
    let compared: Vec<&(String, u64, bool)> = theirs[1..theirs.len() - 1]
        .iter()
        .filter(|(_, start, _)| *start >= settled)
        .collect();
    let missing: Vec<&String> = compared
        .iter()
        .map(|(tc, _, _)| tc)
        .filter(|tc| !ours_by_tc.contains_key(tc.as_str()))
        .collect();
    assert!(missing.is_empty(), "{case:?}: we missed {missing:?}");
    let theirs_tcs: Vec<&str> = theirs.iter().map(|(tc, _, _)| tc.as_str()).collect();
    let extra: Vec<&String> = ours
        .iter()
        .map(|(tc, _, _)| tc)
        .filter(|tc| !theirs_tcs.contains(&tc.as_str()))
        .collect();
    assert!(
        extra.len() <= 1,
        "{case:?}: frames libltc did not see: {extra:?}"
    );
    for (tc, start, reverse) in compared {
        let (ours_start, ours_reverse) = ours_by_tc[tc.as_str()];
        assert_eq!(ours_reverse, *reverse, "{case:?} {tc}: direction");
        let off = (ours_start as f64 - *start as f64).abs();
        assert!(
            off <= bit,
            "{case:?} {tc}: starts at {ours_start}, libltc says {start} (bit period {bit:.1})"
        );
    }
}

#[test]
fn every_rate_at_every_sample_rate() {
    for rate in [44_100, 48_000, 96_000] {
        for (fps, df) in [("24", false), ("25", false), ("29.97", true), ("30", false)] {
            check(Case {
                rate,
                fps,
                df,
                ..BASE
            });
        }
    }
}

#[test]
fn reverse_and_speeds_from_half_to_double_and_varispeed() {
    for speed in [
        (-1.0, -1.0),
        (0.5, 0.5),
        (2.0, 2.0),
        (0.7, 1.8),
        (-0.6, -1.5),
    ] {
        check(Case { speed, ..BASE });
    }
}

#[test]
fn quiet_inverted_noisy_and_offset_signals() {
    check(Case {
        level_db: -40.0,
        ..BASE
    });
    check(Case {
        invert: true,
        ..BASE
    });
    check(Case {
        noise_db: -40.0,
        ..BASE
    });
    check(Case {
        dc: 0.25,
        level_db: -24.0,
        ..BASE
    });
    check(Case {
        level_db: -40.0,
        invert: true,
        noise_db: -60.0,
        dc: 0.05,
        fps: "29.97",
        df: true,
        ..BASE
    });
}

#[test]
fn libltc_reads_our_generator_frame_for_frame() {
    use cuebox_engine::timecode::ltc::Encoder;
    use cuebox_engine::timecode::{FrameRate, Timecode};
    let tmp = tempfile::tempdir().unwrap();
    for rate in FrameRate::ALL {
        for sample_rate in [44_100u32, 48_000] {
            let start: Timecode = "09:59:58:00".parse().unwrap();
            let mut encoder = Encoder::new(sample_rate, rate, start, -18.0);
            let mut samples = Vec::new();
            for _ in 0..60 {
                encoder.encode_frame(&mut samples);
            }
            let file = tmp.path().join("ours.f32");
            let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
            std::fs::write(&file, bytes).unwrap();
            let spf = f64::from(sample_rate) / rate.fps();
            let out = stdout_of(
                Command::new(peer())
                    .arg("decode")
                    .arg(&file)
                    .args([sample_rate.to_string(), spf.round().to_string()]),
                "libltc could not decode",
            );
            let lines: Vec<String> = String::from_utf8(out)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect();
            assert!(
                lines.len() >= 59,
                "{rate:?} {sample_rate}: libltc read {}",
                lines.len()
            );
            for line in &lines {
                let f: Vec<&str> = line.split(' ').collect();
                let tc: Timecode = f[0].parse().unwrap();
                let n = tc.to_frames(rate) - start.to_frames(rate);
                let expected = n as f64 * spf;
                let at: f64 = f[1].parse().unwrap();
                assert!(
                    (at - expected).abs() <= spf / 80.0,
                    "{rate:?} {sample_rate} {tc}: libltc puts it at {at}, we wrote it at {expected:.1}"
                );
            }
        }
    }
}

/// Every rate, as the Python peers' scripts name it.
const PEER_RATES: [(&str, cuebox_engine::timecode::FrameRate); 4] = {
    use cuebox_engine::timecode::FrameRate;
    [
        ("24", FrameRate::Fps24),
        ("25", FrameRate::Fps25),
        ("29.97", FrameRate::Fps2997Df),
        ("30", FrameRate::Fps30),
    ]
};

/// What a peer `script` (Python, using the PyPI `package`) writes to
/// stdout when run with `arg`.
fn python(script: &str, arg: &str, package: &str) -> Vec<u8> {
    stdout_of(
        Command::new("python3").args(["-c", script, arg]),
        &format!("{package} is missing? (pip install {package})"),
    )
}

/// LTC from PyPI's python-ltc, a third generator: 60 frames from
/// 10:00:59:00 at each rate (across the minute, so 29.97 drops frames 00 and
/// 01), 48 kHz. Ours must read every frame but the first and the last (a
/// frame is bounded by the edges around it) with the time python-ltc wrote, starting
/// within one bit period of where python-ltc put it.
#[test]
fn python_ltc_frames_read_as_written() {
    use cuebox_engine::timecode::Timecode;
    // python-ltc 0.0.3 leaves a NaN at the end of some frames (its
    // resampler's padding): the script holds the previous sample there.
    let script = r#"
import sys, numpy as np
from pyltc.tcgen import AudioGenerator
rate, df = {"24": (24, False), "25": (25, False), "29.97": (29.97, True), "30": (30, False)}[sys.argv[1]]
g = AudioGenerator(frame_format={"rate": rate, "drop_frame": df}, use_current_time=False,
                   sample_rate=48000, use_float_samples=True, bit_depth=32, dtype="float32")
g.set_hmsf(hours=10, minutes=0, seconds=59, frames=0)
a = g.generate_frames(60)
for i in np.flatnonzero(np.isnan(a)):
    a[i] = a[i - 1] if i else 0.0
sys.stdout.buffer.write((a * 0.25).astype("<f4").tobytes())
"#;
    for (name, rate) in PEER_RATES {
        let samples: Vec<f32> = python(script, name, "python-ltc")
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut frames = Vec::new();
        let mut decoder = Decoder::new(48_000);
        decoder.process(&samples, |f| frames.push(f));
        // The first is known by no edge before it, the last by none after.
        assert_eq!(frames.len(), 58, "{name}: frames read");
        let start: Timecode = "10:00:59:00".parse().unwrap();
        let per_frame = 48_000.0 / rate.fps();
        let bit = per_frame / 80.0;
        for (k, f) in frames.iter().enumerate() {
            let n = k as u64 + 1;
            let expected = Timecode::from_frames(start.to_frames(rate) + n, rate);
            assert_eq!(f.frame.tc, expected, "{name}: frame {n}");
            assert_eq!(f.frame.drop_frame, rate.drop_frame(), "{name}: frame {n}");
            let at = n as f64 * per_frame;
            assert!(
                (f.start as f64 - at).abs() <= bit,
                "{name}: frame {n} starts at {} for python-ltc's {at:.1}",
                f.start
            );
        }
    }
}

/// MTC from mido: a script of its own builds quarter-frame streams (and a
/// full frame) for every rate with mido's message classes; our parser must
/// report the times the script meant, two-frame offset applied.
#[test]
fn mtc_streams_from_mido_read_as_the_times_they_carry() {
    use cuebox_engine::timecode::mtc::{MtcEvent, MtcParser};
    use cuebox_engine::timecode::Timecode;
    let script = r#"
import sys, mido
rate_code = {"24": 0, "25": 1, "29.97": 2, "30": 3}[sys.argv[1]]
nominal = {"24": 24, "25": 25, "29.97": 30, "30": 30}[sys.argv[1]]
h, m, s, f = 1, 2, 3, 4
out = bytearray(mido.Message("sysex", data=[0x7f, 0x7f, 1, 1, rate_code << 5 | h, m, s, f]).bytes())
def advance(h, m, s, f, n):
    # Non-drop arithmetic is enough here: the stream stays inside a minute's
    # first seconds, away from any dropped frame number.
    total = ((h * 60 + m) * 60 + s) * nominal + f + n
    return total // (3600 * nominal), total // (60 * nominal) % 60, total // nominal % 60, total % nominal
for seq in range(6):
    hh, mm, ss, ff = advance(h, m, s, f, 2 * seq)
    hours = rate_code << 5 | hh
    values = [ff & 15, ff >> 4, ss & 15, ss >> 4, mm & 15, mm >> 4, hours & 15, hours >> 4]
    for piece, value in enumerate(values):
        out += bytes(mido.Message("quarter_frame", frame_type=piece, frame_value=value).bytes())
sys.stdout.buffer.write(bytes(out))
"#;
    for (name, rate) in PEER_RATES {
        let stream = python(script, name, "mido");
        let start: Timecode = "01:02:03:04".parse().unwrap();
        let mut parser = MtcParser::new();
        let mut quarter_frames = 0u64;
        let mut running = 0;
        for &byte in &stream {
            if byte == 0xf1 {
                quarter_frames += 1;
            }
            match parser.feed(byte) {
                Some(MtcEvent::Full { tc, rate: r }) => assert_eq!((tc, r), (start, rate)),
                Some(MtcEvent::Running {
                    tc,
                    rate: r,
                    quarter,
                    ..
                }) => {
                    // n quarter frames after the locate, the time is start
                    // plus n/4 frames: the two-frame offset, applied.
                    let frames = start.to_frames(rate) + quarter_frames / 4;
                    assert_eq!(
                        (tc, r, u64::from(quarter)),
                        (
                            Timecode::from_frames(frames, rate),
                            rate,
                            quarter_frames % 4
                        ),
                        "{name}, after {quarter_frames} quarter frames"
                    );
                    running += 1;
                }
                None => {}
            }
        }
        assert!(
            running >= 40,
            "{name}: {running} times from 48 quarter frames"
        );
    }
}

/// What the capture and render threads will run never allocates: the LTC
/// decoder, the MTC parser and reading the timebase.
#[test]
fn decoding_and_reading_time_never_allocate() {
    use cuebox_engine::timecode::ltc::Encoder;
    use cuebox_engine::timecode::mtc::{quarter_frames, MtcParser};
    use cuebox_engine::timecode::timebase::{timebase, Mapping, Source};
    use cuebox_engine::timecode::FrameRate;
    let start = "10:00:00:00".parse().unwrap();
    let mut encoder = Encoder::new(48_000, FrameRate::Fps25, start, -18.0);
    let mut signal = Vec::new();
    for _ in 0..50 {
        encoder.encode_frame(&mut signal);
    }
    let mtc: Vec<u8> = quarter_frames(start, FrameRate::Fps25).concat();
    let (_, reader) = timebase(Mapping {
        sample: 0,
        tc_frames: 0.0,
        tc_per_sample: 25.0 / 48_000.0,
        ptp_ns: 0,
        ns_per_sample: 1e9 / 48_000.0,
        source: Source::Free,
        generation: 0,
    });
    let mut decoder = Decoder::new(48_000);
    let mut parser = MtcParser::new();
    let before = violation_count();
    let (frames, times, generation) = assert_no_alloc(|| {
        let mut frames = 0;
        for block in signal.chunks(256) {
            decoder.process(block, |_| frames += 1);
        }
        let times = mtc.iter().filter_map(|b| parser.feed(*b)).count();
        (frames, times, reader.read().generation)
    });
    assert_eq!(violation_count(), before, "the timecode path allocated");
    assert!(frames >= 48, "{frames}");
    assert_eq!(times, 1);
    assert_eq!(generation, 1);
}
