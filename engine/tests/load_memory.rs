//! What loading a large manifest costs in memory, counted by the allocator:
//! a manifest is parsed once, straight to the typed show, never first into
//! a JSON tree of the whole document (which took 2 GB for 60 MiB).
//!
//! One test in its own binary: the counting allocator sees every thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use cuebox_engine::show::*;
use serde_json::{json, Value};

/// The system allocator, counting the bytes held and their peak.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: every call goes to the system allocator unchanged; only counts are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let held = HELD.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(held, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most bytes held at once while `f` runs, above what was held before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = HELD.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed) - before)
}

/// A valid manifest of at least `bytes`, of clips like a long show's.
fn large_manifest(bytes: usize) -> Vec<u8> {
    let show = Show::new(
        "Big",
        "media",
        GridDims::new(32, 32).unwrap(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    let mut doc: Value = serde_json::from_slice(&show.to_json()).unwrap();
    let mut clips = Vec::new();
    let mut size = 0;
    while size < bytes {
        let i = clips.len();
        let clip = json!({
            "id": format!("c{i}"),
            "name": format!("Cue {i}: a clip with a name as long as a show's"),
            "group": "A",
            "audio": {
                "path": format!("music/clip-{i:07}.wav"),
                "hash": ContentHash::of_bytes(&i.to_le_bytes()).to_string(),
                "format": {"channels": 2, "sample_rate": 48000, "bit_depth": 24, "frames": 480000, "codec": "pcm_s24le"},
                "metadata": {"title": format!("Title {i}"), "artist": "The Ensemble", "isrc": "GB-AYE-69-00531"}
            },
            "processing": {"level_db": -3.0, "warp_markers": [
                {"frame": 0, "beat": 0.0}, {"frame": 24000, "beat": 1.0}, {"frame": 48000, "beat": 2.0}
            ]}
        });
        size += clip.to_string().len();
        clips.push(clip);
    }
    doc["clips"] = Value::Array(clips);
    serde_json::to_vec(&doc).unwrap()
}

#[test]
fn a_large_manifest_is_loaded_without_a_tree_of_the_whole_document() {
    let manifest = large_manifest(8 << 20);
    let before = HELD.load(Ordering::Relaxed);
    let (loaded, peak) = peak_during(|| Show::load(&manifest).unwrap());
    let kept = HELD.load(Ordering::Relaxed) - before;
    assert!(loaded.show.clips.len() > 10_000);
    // The peak is the typed show being built and what the parser holds
    // meanwhile; a JSON tree of the whole document (as before) held more
    // than twice the show's size beside it.
    assert!(
        peak < 2 * kept,
        "loading {} bytes into a show of {kept} bytes held {peak} bytes at the peak",
        manifest.len()
    );
    drop(loaded);

    // Unknown fields are kept for a round trip, so their values are held;
    // a hostile one of small numbers must not be held again in a tree of
    // the whole document.
    let mut doc: Value = serde_json::from_slice(&large_manifest(0)).unwrap();
    doc["unknown"] = Value::Array(vec![json!(0); 2 << 20]);
    let hostile = serde_json::to_vec(&doc).unwrap();
    drop(doc);
    let (loaded, peak) = peak_during(|| Show::load(&hostile).unwrap());
    assert_eq!(
        loaded.show.extra["unknown"].as_array().unwrap().len(),
        2 << 20
    );
    let per_value = peak / (2 << 20);
    assert!(
        per_value < 96,
        "{per_value} bytes held per unknown value at the peak"
    );
}
