//! How fast clips decode, in multiples of real time.
//!
//! `cargo bench -p cuebox-engine --bench decode` makes 60 s of stereo test
//! audio at 48 kHz and at 44.1 kHz, encodes it to FLAC and MP3 with ffmpeg
//! (skipped, with a note, where ffmpeg is missing), and streams each file
//! through `ClipDecoder` for a 48 kHz engine in 4096-frame reads: the
//! 48 kHz files without rate conversion, the 44.1 kHz ones with it. Each
//! figure is the median of five runs; one butler thread needs the sum of
//! its playing voices' 1/speed to stay below 1.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cuebox_engine::fixtures::{self, WavFormat};
use cuebox_engine::media::ClipDecoder;

const SECONDS: u32 = 60;
const ENGINE_RATE: u32 = 48_000;

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    println!("decode speed for a {ENGINE_RATE} Hz engine, {SECONDS} s stereo clips (× real time, median of 5)");
    for rate in [48_000, 44_100] {
        let src = if rate == ENGINE_RATE {
            "no SRC"
        } else {
            "SRC to 48 kHz"
        };
        let wav = dir.path().join(format!("music-{rate}.wav"));
        write_wav(&wav, rate);
        report(&format!("WAV 16-bit {rate} Hz ({src})"), &wav, "wav");
        for (codec, ext, args) in [
            ("FLAC", "flac", &["-c:a", "flac"][..]),
            (
                "MP3 192k",
                "mp3",
                &["-c:a", "libmp3lame", "-b:a", "192k"][..],
            ),
        ] {
            let out = dir.path().join(format!("music-{rate}.{ext}"));
            if encode(&wav, &out, args) {
                report(&format!("{codec} {rate} Hz ({src})"), &out, ext);
            } else {
                println!("{codec:>30}: skipped (needs ffmpeg; scripts/setup.sh installs it)");
            }
        }
    }
}

/// Times decoding `path` and prints the median speed.
fn report(what: &str, path: &Path, ext: &str) {
    let bytes = std::fs::read(path).expect("encoded file");
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let mut decoder =
                ClipDecoder::open(Box::new(Cursor::new(bytes.clone())), Some(ext), ENGINE_RATE)
                    .expect("open");
            let mut buf = vec![0.0f32; 4096 * 2];
            let mut frames = 0u64;
            loop {
                let n = decoder.read(&mut buf).expect("read");
                if n == 0 {
                    break;
                }
                frames += n as u64;
            }
            assert_eq!(frames, u64::from(SECONDS * ENGINE_RATE));
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[2].as_secs_f64();
    println!(
        "{what:>30}: {:7.0}× real time ({:.1} ms for {SECONDS} s)",
        f64::from(SECONDS) / median,
        median * 1000.0
    );
}

/// Two tones and noise, so encoders have real work.
fn write_wav(path: &Path, rate: u32) {
    let mut x: u32 = 0x2545_f491;
    fixtures::write_wav(path, WavFormat::int16(2, rate), SECONDS * rate, |n, c| {
        let f = [440.0, 659.25][usize::from(c)];
        let t = f64::from(n) / f64::from(rate);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let noise = (f64::from(x) / f64::from(u32::MAX) - 0.5) * 0.05;
        (0.3 * (2.0 * std::f64::consts::PI * f * t).sin() + noise) as f32
    });
}

fn encode(wav: &Path, out: &Path, codec: &[&str]) -> bool {
    let (Some(wav), Some(out)) = (wav.to_str(), out.to_str()) else {
        return false;
    };
    let mut args = vec!["-v", "error", "-y", "-i", wav];
    args.extend_from_slice(codec);
    args.push(out);
    Command::new("ffmpeg")
        .args(&args)
        .status()
        .is_ok_and(|s| s.success())
}
