//! How fast a large show serialises, loads and validates.
//!
//! `cargo bench -p cuebox-engine --bench show_io` prints the median of several
//! runs for a show of 99 pages with 4 000 clips on buttons — far beyond any
//! real production — so load and validation never stand between an operator
//! and an open session.

use std::time::{Duration, Instant};

use cuebox_engine::fixtures::{add_clip, described_audio, placement};
use cuebox_engine::show::*;

fn big_show() -> Show {
    let dims = GridDims::new(8, 8).expect("8x8 is a valid grid");
    let mut show = Show::new("bench", "media", dims, jiff::Timestamp::UNIX_EPOCH);
    show.pages = (1..=99)
        .map(|p| Page::new(format!("Page {p}"), dims))
        .collect();
    let mut n = 0u32;
    'fill: for page in 1..=99u16 {
        for tab in 1..=8 {
            for row in 1..=8u16 {
                for col in 1..=8u16 {
                    if n == 4_000 {
                        break 'fill;
                    }
                    n += 1;
                    let path = format!("clips/{n}.wav");
                    let mut audio = described_audio(&path, Channels::Stereo, 48_000 * 180);
                    audio.format.bit_depth = Some(24);
                    audio.format.codec = "pcm_s24le".into();
                    let at = placement(page, tab, row, col);
                    let group = Group::ALL[n as usize % 4];
                    add_clip(&mut show, &format!("clip {n}"), group, audio, at);
                }
            }
        }
    }
    show
}

fn median(mut f: impl FnMut()) -> Duration {
    let mut runs: Vec<Duration> = (0..9)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let show = big_show();
    let bytes = show.to_json();
    println!(
        "show: {} clips, {} pages, manifest {} KiB",
        show.clips.len(),
        show.pages.len(),
        bytes.len() / 1024
    );
    let ser = median(|| {
        std::hint::black_box(show.to_json());
    });
    let load = median(|| {
        std::hint::black_box(Show::load(&bytes).expect("own output loads"));
    });
    let validate = median(|| {
        assert!(std::hint::black_box(show.validate()).is_empty());
    });
    let mib = bytes.len() as f64 / (1 << 20) as f64;
    println!(
        "serialise  {:>8.2} ms  ({:.0} MiB/s)",
        ser.as_secs_f64() * 1e3,
        mib / ser.as_secs_f64()
    );
    println!(
        "load       {:>8.2} ms  ({:.0} MiB/s)",
        load.as_secs_f64() * 1e3,
        mib / load.as_secs_f64()
    );
    println!("validate   {:>8.2} ms", validate.as_secs_f64() * 1e3);
}
