//! What one period costs the render thread.
//!
//! `cargo bench -p cuebox-engine --bench render` renders 10 000 periods of
//! 128 frames at 48 kHz with the full A–D load — 24 stereo voices, every one
//! of them fading (all four curves, both laws) and looping with loop-point
//! fades — and prints the median and the worst period. The budget is 5 % of
//! one core: 0.13 ms per 2.67 ms period. A second run with the same voices
//! playing steadily shows the cost without fades. Both include the bus
//! meters (`Renderer::process` meters every block); a last line times the
//! meters' measurement alone: peak and energy of the six stereo busses.
//!
//! Audio comes from in-memory readers: decoding and sample-rate conversion
//! happen on the butler thread, not here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cuebox_engine::dsp::meter;
use cuebox_engine::render::*;
use cuebox_engine::show::{Busses, Channels, Curve, Extra, Frames, Group, GroupMode};

const RATE: u32 = 48_000;
const PERIOD: usize = 128;
const PERIODS: usize = 10_000;
const WARM_UP: usize = 500;
const VOICES: u64 = 24;

fn noise(seed: u64, samples: usize) -> Arc<[f32]> {
    let mut x = seed.wrapping_mul(2_862_933_555_777_941_757) | 1;
    (0..samples)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

struct Stats {
    median: Duration,
    p99: Duration,
    worst: Duration,
    mean: Duration,
}

fn run(fading: bool) -> Stats {
    let mut busses = Busses::default();
    for g in [
        &mut busses.groups.a,
        &mut busses.groups.b,
        &mut busses.groups.c,
        &mut busses.groups.d,
    ] {
        // Free mode: the whole pool, 24 stereo voices, may play at once.
        g.mode = GroupMode::Free {
            extra: Extra::new(),
        };
    }
    let config = RenderConfig {
        sample_rate: RATE,
        max_block: PERIOD,
        busses,
        protection: Default::default(),
        queues: QueueSizes::default(),
    };
    let (mut renderer, mut control) = Renderer::new(config).expect("a valid configuration");
    let mut main = renderer.main_out();
    let mut audition = renderer.audition_out();
    let total = ((WARM_UP + PERIODS) * PERIOD) as u64;
    let curves = [
        Curve::Linear,
        Curve::Exponential,
        Curve::Logarithmic,
        Curve::SCurve,
    ];
    for v in 0..VOICES {
        // 4 s of stereo noise each, looping a ~1 s region, so loop-point
        // fades come round every second.
        let frames = 4 * RATE as u64;
        let ls = RATE as u64 + v * 1_000;
        let timeline = Timeline::new(
            Frames(frames),
            Frames(v * 100),
            None,
            Some((Frames(ls), Frames(ls + RATE as u64 + v * 37))),
        )
        .expect("a valid timeline");
        let audio = noise(v + 1, frames as usize * 2);
        let reader = MemoryClip::new(audio, Channels::Stereo, timeline).expect("matching length");
        let mut params = VoiceParams::plain(Channels::Stereo);
        params.level_db = -12.0;
        params.pan = Pan::Stereo {
            width: 0.8,
            balance: (v as f64 / 12.0) - 1.0,
        };
        if fading {
            // A fade in longer than the run: every voice fades in every frame.
            params.fade_in =
                FadeSpec::new(FrameCount(total + 1), curves[v as usize % 4], v % 8 < 4);
        }
        let start = Start {
            voice: VoiceId(v),
            clip: ClipTag(v as u32),
            group: Group::ALL[v as usize % 4],
            reader: Box::new(reader),
            params,
        };
        control
            .send(SamplePos(0), Command::Start(start))
            .expect("room in the queue");
    }
    let mut times = Vec::with_capacity(PERIODS);
    for i in 0..WARM_UP + PERIODS {
        let t = Instant::now();
        renderer
            .process(&mut main, &mut audition, PERIOD)
            .expect("a block the renderer accepts");
        let dt = t.elapsed();
        std::hint::black_box(main.mix().left[0]);
        if i >= WARM_UP {
            times.push(dt);
        }
    }
    let usage = renderer.usage();
    assert_eq!(usage.mono_voices, 48, "the full pool played throughout");
    let refused = control
        .events()
        .filter(|e| matches!(e, Event::Refused { .. } | Event::Underrun { .. }))
        .count();
    assert_eq!(refused, 0);
    times.sort();
    Stats {
        median: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        worst: times[times.len() - 1],
        mean: times.iter().sum::<Duration>() / times.len() as u32,
    }
}

/// The median time to measure one block of the six metered stereo busses
/// (12 channels of `PERIOD` frames): the samples' part of metering, the
/// rest being 24 relaxed atomic operations.
fn metering() -> Duration {
    let busses: Vec<Arc<[f32]>> = (0..12).map(|c| noise(c + 100, PERIOD)).collect();
    let mut times = Vec::with_capacity(PERIODS);
    let mut ms = [0f32; 12];
    let decay = meter::rms_decay(PERIOD, RATE);
    for i in 0..WARM_UP + PERIODS {
        let t = Instant::now();
        for (c, samples) in busses.iter().enumerate() {
            let (peak, energy) = meter::measure(std::hint::black_box(samples));
            ms[c] = meter::integrate(ms[c], energy, PERIOD, decay);
            std::hint::black_box(peak);
        }
        let dt = t.elapsed();
        if i >= WARM_UP {
            times.push(dt);
        }
    }
    std::hint::black_box(ms);
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let budget = Duration::from_micros(130);
    println!(
        "render: {PERIODS} periods of {PERIOD} frames at {RATE} Hz ({:.2} ms each), {VOICES} stereo voices",
        PERIOD as f64 * 1000.0 / f64::from(RATE)
    );
    for (what, fading) in [("fading + looping", true), ("steady + looping", false)] {
        let s = run(fading);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  {what:17} median {:.4} ms  mean {:.4} ms  p99 {:.4} ms  worst {:.4} ms  (budget {:.2} ms: median {})",
            ms(s.median),
            ms(s.mean),
            ms(s.p99),
            ms(s.worst),
            ms(budget),
            if s.median < budget { "within" } else { "OVER" },
        );
    }
    println!(
        "  metering (6 stereo busses) median {:.2} µs a period",
        metering().as_secs_f64() * 1e6
    );
}
