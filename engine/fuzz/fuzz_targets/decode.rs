//! Arbitrary bytes through the whole media path: `probe`, then
//! `ClipDecoder` opening, reading to the end and seeking about, at one of
//! a small set of engine rates (so rate conversion is exercised too).
//!
//! The library turns panics into errors (`DecoderFailed`), as the box runs
//! it. libFuzzer's panic hook would abort on any panic first; this target's
//! hook lets a panic inside Symphonia unwind to that handling, as in
//! production (its FLAC seek overflow is a known upstream bug, see
//! README.md), and aborts on every other panic: one in cuebox's code, or in
//! any other crate, is a crash.

#![no_main]

use std::io::Cursor;
use std::sync::Once;

use cuebox_engine::media::{probe, ClipDecoder};
use libfuzzer_sys::fuzz_target;

/// Engine rates tried: the same rate as most inputs (no conversion), and two
/// that need up- and downsampling.
const RATES: [u32; 3] = [48_000, 44_100, 96_000];

/// Frames read from one input at most, so a tiny file that legitimately
/// decodes to hours (FLAC's constant subframes) cannot stall the run.
const MAX_FRAMES: u64 = 20 * 48_000;

/// Aborts on a panic unless it happened inside Symphonia.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let upstream = info
                .location()
                .is_some_and(|l| l.file().contains("symphonia"));
            if !upstream {
                default(info);
                std::process::abort();
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    install_panic_hook();
    // The extension hint stays off: Symphonia recognises content anyway,
    // and seeds are then plain media files.
    let _ = probe(Box::new(Cursor::new(data.to_vec())), None);
    let rate = RATES[data.len() % RATES.len()];
    let Ok(mut decoder) = ClipDecoder::open(Box::new(Cursor::new(data.to_vec())), None, rate)
    else {
        return;
    };
    let channels = usize::from(decoder.channels().count());
    let mut buf = vec![0.0f32; 4096 * channels];
    let frames = decoder.frames();
    let mut read = 0u64;
    for seek in [
        None,
        Some(frames / 2),
        Some(1),
        Some(frames.saturating_sub(100)),
        Some(frames),
    ] {
        if let Some(at) = seek {
            if decoder.seek(at).is_err() {
                return;
            }
        }
        loop {
            match decoder.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    assert!(n <= 4096, "read more frames than fit");
                    assert!(
                        buf[..n * channels].iter().all(|s| s.is_finite()),
                        "non-finite sample"
                    );
                    read += n as u64;
                    if read > MAX_FRAMES {
                        return;
                    }
                }
            }
        }
    }
});
