//! Streaming voices: heads, the butler, ring buffers, stalls and loops,
//! with every real-time read under an allocation guard.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use cuebox_engine::media::{Butler, ButlerConfig, FrameSource, Head, StreamError, StreamReader};
use cuebox_engine::render::{ClipReader, Timeline};
use cuebox_engine::show::{Channels, Frames};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

/// A mono clip whose sample at frame n is n, so any frame tells where it came from.
struct Ramp {
    len: u64,
    at: u64,
    /// When set, every read first waits for a message: a stalled disk.
    gate: Option<mpsc::Receiver<()>>,
    fail_at: Option<u64>,
}

impl Ramp {
    fn new(len: u64) -> Self {
        Ramp {
            len,
            at: 0,
            gate: None,
            fail_at: None,
        }
    }
}

impl FrameSource for Ramp {
    fn channels(&self) -> Channels {
        Channels::Mono
    }
    fn read(&mut self, out: &mut [f32]) -> Result<usize, StreamError> {
        if let Some(gate) = &self.gate {
            let _ = gate.recv();
        }
        if self.fail_at.is_some_and(|f| self.at >= f) {
            return Err(StreamError {
                frame: self.at,
                reason: "the disk went away".into(),
            });
        }
        let n = (self.len - self.at.min(self.len)).min(out.len() as u64) as usize;
        for (i, s) in out[..n].iter_mut().enumerate() {
            *s = (self.at + i as u64) as f32;
        }
        self.at += n as u64;
        Ok(n)
    }
    fn seek(&mut self, frame: u64) -> Result<(), StreamError> {
        self.at = frame;
        Ok(())
    }
}

/// Runs `f` as the real-time thread would, failing the test if it touches
/// the allocator (the guard runs in warn mode and counts violations).
fn no_alloc<T>(f: impl FnOnce() -> T) -> T {
    let before = violation_count();
    let out = assert_no_alloc(f);
    assert_eq!(violation_count(), before, "the real-time read allocated");
    out
}

fn timeline(length: u64, start: u64, end: Option<u64>, looped: Option<(u64, u64)>) -> Timeline {
    Timeline::new(
        Frames(length),
        Frames(start),
        end.map(Frames),
        looped.map(|(s, e)| (Frames(s), Frames(e))),
    )
    .unwrap()
}

fn small_butler() -> Butler {
    Butler::spawn(ButlerConfig {
        ring_frames: 8_192,
        chunk_frames: 1_024,
        idle: Duration::from_millis(1),
    })
    .unwrap()
}

/// Reads `frames` frames in 128-frame blocks as a render thread would,
/// waiting (outside the guard) while the butler catches up.
fn play(reader: &mut StreamReader, frames: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; frames];
    let mut done = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while done < frames {
        let end = (done + 128).min(frames);
        let block = &mut out[done..end];
        let got = no_alloc(|| reader.read(block));
        done += got;
        if got < block.len() {
            assert!(
                Instant::now() < deadline,
                "the butler never caught up at frame {done}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    out
}

#[test]
fn a_voice_plays_its_head_then_the_butlers_ring_without_a_gap() {
    let butler = small_butler();
    let plan = timeline(50_000, 100, Some(40_100), None);
    let head = Head::load(Box::new(Ramp::new(50_000)), &plan, 2_000).unwrap();
    assert_eq!(head.frames(), 2_000);
    let mut reader = butler.stream(&head, Box::new(Ramp::new(50_000)), plan);
    let got = play(&mut reader, 40_000);
    let want: Vec<f32> = (100..40_100).map(|n| n as f32).collect();
    assert_eq!(got, want);
    let mut more = [0.0f32; 64];
    assert_eq!(reader.read(&mut more), 0, "nothing after the cue end");
}

#[test]
fn loops_repeat_inside_the_sequence() {
    let butler = small_butler();
    let plan = timeline(10_000, 0, None, Some((3_000, 4_500)));
    assert_eq!(plan.source_frame(2_999).map(|f| f.0), Some(2_999));
    assert_eq!(plan.source_frame(4_500).map(|f| f.0), Some(3_000));
    assert_eq!(
        plan.source_frame(4_500 + 1_500 * 7 + 12).map(|f| f.0),
        Some(3_012)
    );
    let head = Head::load(Box::new(Ramp::new(10_000)), &plan, 4_000).unwrap();
    let mut reader = butler.stream(&head, Box::new(Ramp::new(10_000)), plan);
    let got = play(&mut reader, 20_000);
    let want: Vec<f32> = (0..20_000)
        .map(|i| plan.source_frame(i).map(|f| f.0).unwrap() as f32)
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_stalled_disk_underruns_the_voice_and_never_blocks_it() {
    let butler = small_butler();
    let plan = timeline(100_000, 0, None, None);
    let head = Head::load(Box::new(Ramp::new(100_000)), &plan, 1_000).unwrap();
    let (open, gate) = mpsc::channel();
    let stalled = Ramp {
        gate: Some(gate),
        ..Ramp::new(100_000)
    };
    let mut reader = butler.stream(&head, Box::new(stalled), plan);

    let mut block = vec![0.0f32; 1_500];
    let got = no_alloc(|| reader.read(&mut block));
    assert_eq!(
        got, 1_000,
        "the head plays; the stalled rest is missing, not waited for"
    );
    assert_eq!(no_alloc(|| reader.read(&mut block)), 0);

    // The disk comes back: the stream resumes where it stopped.
    for _ in 0..1_000 {
        let _ = open.send(());
    }
    let rest = play(&mut reader, 5_000);
    let want: Vec<f32> = (1_000..6_000).map(|n| n as f32).collect();
    assert_eq!(rest, want);
    drop(open);
}

#[test]
fn a_dropped_reader_ends_its_job_and_a_failing_source_is_reported() {
    let butler = small_butler();
    let plan = timeline(1_000_000, 0, None, None);
    let head = Head::load(Box::new(Ramp::new(1_000_000)), &plan, 100).unwrap();
    let reader = butler.stream(&head, Box::new(Ramp::new(1_000_000)), plan);
    let failing = Ramp {
        fail_at: Some(5_000),
        ..Ramp::new(1_000_000)
    };
    let mut broken = butler.stream(&head, Box::new(failing), plan);
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(5);
    while butler.active() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(butler.active(), 0, "both jobs are gone");
    let errors = butler.take_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "streaming failed at frame 5220: the disk went away"
    );
    // The source fails at its first read at or past frame 5000: the butler's
    // 1024-frame chunks from the 100-frame head end there at 5220, and
    // everything before the failure plays.
    let got = play(&mut broken, 5_220);
    assert_eq!(got[5_219], 5_219.0);
    let mut after = [0.0f32; 16];
    assert_eq!(broken.read(&mut after), 0);
}

#[test]
fn arming_a_page_preloads_each_of_its_clips_once() {
    use cuebox_engine::fixtures::{add_clip, described_audio, placement};
    use cuebox_engine::media::arm_heads;
    use cuebox_engine::show::*;
    let dims = GridDims::new(4, 4).unwrap();
    let mut show = Show::new("arm", "media", dims, jiff::Timestamp::UNIX_EPOCH);
    show.pages.push(Page::new("two", dims));
    let mut add = |page: u16, row: u16| {
        let audio = described_audio(&format!("p{page}r{row}.wav"), Channels::Mono, 96_000);
        add_clip(&mut show, "", Group::A, audio, placement(page, 1, row, 1))
    };
    let a = add(1, 1);
    let b = add(1, 2);
    let c = add(2, 1);
    // A second button on page 1 playing clip a.
    show.pages[0].tabs[1]
        .grid
        .buttons
        .push(Button::new(GridPos::new(1, 1).unwrap(), a.clone()));
    show.clips[1].processing.cue.start = Frames(500);

    let mut opened = Vec::new();
    let heads = arm_heads(&show, &[PageNo::FIRST], 48_000, 0.5, |clip| {
        opened.push(clip.id.clone());
        Ok(Box::new(Ramp::new(96_000)) as Box<dyn FrameSource>)
    })
    .unwrap();
    assert_eq!(
        opened,
        [a.clone(), b.clone()],
        "each clip of page 1 once, page 2 untouched"
    );
    assert!(!heads.contains_key(&c));
    assert_eq!(heads[&a].frames(), 24_000);

    // The head starts at the cue start: the reader's first frame proves it.
    let butler = small_butler();
    let timeline = Timeline::from_clip(&show.clips[1], 48_000).unwrap();
    let mut reader = butler.stream(&heads[&b], Box::new(Ramp::new(96_000)), timeline);
    let mut first = [0.0f32; 1];
    assert_eq!(reader.read(&mut first), 1);
    assert_eq!(first[0], 500.0);
}
