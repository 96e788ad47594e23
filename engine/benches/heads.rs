//! Arming a show: time and resident memory to preload the heads of 200
//! clips (2 s each at 48 kHz, half of them 44.1 kHz files converted).
//!
//! `cargo bench -p cuebox-engine --bench heads` writes the clips to a
//! temporary folder, arms page 1 and prints the time taken and the resident
//! memory before and after.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cuebox_engine::fixtures::{add_clip, placement, probed_audio, write_wav, WavFormat};
use cuebox_engine::media::{arm_heads, ClipDecoder, FrameSource, StreamError};
use cuebox_engine::show::*;

const CLIPS: u16 = 200;
const RATE: u32 = 48_000;
const HEAD_SECS: f64 = 2.0;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn write_clip(path: &Path, rate: u32, seconds: u32, tone: f32) {
    write_wav(path, WavFormat::int16(2, rate), rate * seconds, |n, _| {
        f32::sin(n as f32 * tone * std::f32::consts::TAU / rate as f32) * 8000.0 / 32_767.0
    });
}

fn main() {
    let dir: PathBuf = std::env::temp_dir().join(format!("cuebox-heads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let dims = GridDims::new(32, 32).expect("valid");
    let mut show = Show::new(
        "arm",
        dir.to_string_lossy(),
        dims,
        jiff::Timestamp::UNIX_EPOCH,
    );
    for i in 0..CLIPS {
        let name = format!("clip{i}.wav");
        let path = dir.join(&name);
        write_clip(
            &path,
            if i % 2 == 0 { 48_000 } else { 44_100 },
            4,
            200.0 + f32::from(i),
        );
        let at = placement(1, usize::from(i / 32 % 8) + 1, i % 32 + 1, i / 256 + 1);
        let audio = probed_audio(&dir, &name);
        add_clip(
            &mut show,
            &format!("clip {i}"),
            Group::ALL[usize::from(i % 4)],
            audio,
            at,
        );
    }
    let before = rss_kib();
    let t = Instant::now();
    let heads = arm_heads(&show, &[PageNo::FIRST], RATE, HEAD_SECS, |clip| {
        let file = File::open(dir.join(clip.audio.path.as_path())).map_err(|e| StreamError {
            frame: 0,
            reason: e.to_string(),
        })?;
        ClipDecoder::open(Box::new(file), Some("wav"), RATE)
            .map(|d| Box::new(d) as Box<dyn FrameSource>)
            .map_err(|e| StreamError {
                frame: 0,
                reason: e.to_string(),
            })
    })
    .expect("every clip arms");
    let elapsed = t.elapsed();
    let after = rss_kib();
    let head_bytes: u64 = heads.values().map(|h| h.frames() * 2 * 4).sum();
    println!(
        "armed {} clips, {HEAD_SECS} s heads at {RATE} Hz (half converted from 44.1 kHz)",
        heads.len()
    );
    println!("time to arm:          {:8.2} s", elapsed.as_secs_f64());
    println!(
        "head audio:           {:8.1} MiB",
        head_bytes as f64 / (1 << 20) as f64
    );
    println!(
        "resident before/after:{:8.1} / {:.1} MiB",
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
