//! LTC decode speed: `cargo bench -p cuebox-engine --bench ltc -- FILE.f32 RATE ROUNDS`
//! decodes a raw mono float32 file ROUNDS times and prints "frames seconds"
//! (the format of `ltc-peer time`, so scripts/compare-libltc.sh can set the
//! two side by side). Without arguments it decodes 60 s of its own LTC.

use std::time::Instant;

use cuebox_engine::timecode::ltc::{Decoder, Encoder};
use cuebox_engine::timecode::FrameRate;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (samples, rate, rounds) = match args.as_slice() {
        [file, rate, rounds] => {
            let bytes = std::fs::read(file).expect("the signal file");
            let samples: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (samples, rate.parse().unwrap(), rounds.parse().unwrap())
        }
        _ => {
            let mut e = Encoder::new(
                48_000,
                FrameRate::Fps25,
                "10:00:00:00".parse().unwrap(),
                -18.0,
            );
            let mut samples = Vec::new();
            for _ in 0..25 * 60 {
                e.encode_frame(&mut samples);
            }
            (samples, 48_000, 20)
        }
    };
    let started = Instant::now();
    let mut frames = 0u64;
    for _ in 0..rounds {
        // Capture-sized blocks, as the capture thread feeds it.
        let mut d = Decoder::new(rate);
        for block in samples.chunks(1024) {
            d.process(block, |_| frames += 1);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if args.len() == 3 {
        println!("{frames} {seconds:.6}");
    } else {
        let audio = samples.len() as f64 / f64::from(rate) * f64::from(rounds);
        println!(
            "ltc decode: {frames} frames from {audio:.0} s of audio in {seconds:.3} s: {:.0}x real time, {:.1} µs of CPU per second of audio",
            audio / seconds,
            seconds / audio * 1e6
        );
    }
}
