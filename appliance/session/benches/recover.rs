//! What finding a missing file costs: `cargo bench -p cuebox-session
//! --bench recover` builds a tree of 10,000 files (100 folders of 100:
//! 8,000 short WAVs of other lengths, 2,000 other files, ten decoys of the
//! clip's exact length with other audio — one with its name — and the
//! clip's file renamed and re-encoded to 24-bit deep inside), deletes the
//! clip's own file, and times `recover::find` with the tree as a search
//! path, printing files seen, headers read, files hashed, fingerprinted
//! and decoded, and bytes read against the tree's size. The goal: the
//! right file first, in under 10 s, reading a small part of the tree.

use std::collections::HashMap;
use std::path::Path;

use cuebox_engine::fixtures::{add_clip, placement, probed_audio, wav_bytes, WavFormat};
use cuebox_engine::show::{GridDims, Group, Show};
use cuebox_session::media::recover::{find, FindOptions, Verdict};
use cuebox_session::media::Fingerprint;

const RATE: u32 = 48_000;

/// A tune picked by `seed` (a new pitch every 60 ms), full scale 0.5.
fn tune(seed: u32) -> impl FnMut(u32, u16) -> f32 {
    move |i, _| {
        let mut x = (i / 2_880 + 1).wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503);
        x ^= x >> 13;
        let freq = 110.0 * 2f32.powf((x % 48) as f32 / 12.0);
        let env = (-((i % 2_880) as f32) / 1_000.0).exp();
        0.5 * env * (std::f32::consts::TAU * freq * i as f32 / RATE as f32).sin()
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn main() {
    let tmp = tempfile::tempdir().expect("a temporary folder");
    let media = tmp.path().join("show/media");
    let tree = tmp.path().join("archive");
    std::fs::create_dir_all(&media).unwrap();
    let frames = 5 * RATE;
    let stereo = WavFormat::int16(2, RATE);
    write(
        &media.join("thunder.wav"),
        &wav_bytes(stereo, frames, tune(1)),
    );
    let mut show = Show::new(
        "bench",
        "media",
        GridDims::new(4, 4).unwrap(),
        jiff::Timestamp::now(),
    );
    add_clip(
        &mut show,
        "thunder",
        Group::A,
        probed_audio(&media, "thunder.wav"),
        placement(1, 1, 1, 1),
    );
    let fp = Fingerprint::of_file(&media.join("thunder.wav")).unwrap();
    let fingerprints = HashMap::from([(show.clips[0].audio.hash, fp)]);

    let mut tree_bytes = 0u64;
    for d in 0..100u32 {
        let dir = tree.join(format!("d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for n in 0..100u32 {
            let i = d * 100 + n;
            let bytes = match i % 5 {
                0 => vec![b'x'; 4_096 + (i as usize % 7) * 1_000],
                _ => wav_bytes(
                    WavFormat::int16(1, RATE),
                    2_400 + (i % 13) * 1_200,
                    tune(i + 10),
                ),
            };
            let name = if i % 5 == 0 {
                format!("note{i}.txt")
            } else {
                format!("take{i}.wav")
            };
            tree_bytes += bytes.len() as u64;
            write(&dir.join(name), &bytes);
        }
    }
    // Decoys of the clip's length; one shares its name.
    for k in 0..10u32 {
        let bytes = wav_bytes(stereo, frames, tune(100 + k));
        let name = if k == 0 {
            "thunder.wav".into()
        } else {
            format!("storm{k}.wav")
        };
        tree_bytes += bytes.len() as u64;
        write(&tree.join(format!("d{:02}", k * 7)).join(name), &bytes);
    }
    // The clip's audio, renamed and re-encoded to 24 bits.
    let real = wav_bytes(WavFormat { bits: 24, ..stereo }, frames, tune(1));
    tree_bytes += real.len() as u64;
    write(&tree.join("d99/final mix v2.wav"), &real);
    std::fs::remove_file(media.join("thunder.wav")).unwrap();

    let options = FindOptions {
        search: vec![tree.clone()],
        mounts: false,
        keep: 5,
    };
    for run in ["first", "second"] {
        let report = find(&show, &media, &fingerprints, &options);
        let best = &report.missing[0].candidates[0];
        assert!(best.path.ends_with("d99/final mix v2.wav"), "{best:?}");
        assert_eq!(best.verdict, Verdict::SameAudio);
        assert!(report.missing[0].candidates[1..]
            .iter()
            .all(|c| !c.verdict.is_match()));
        let s = &report.stats;
        println!(
            "recover::find ({run} run): {} files ({} audio), {} headers, {} hashed, {} \
             fingerprinted, {} decoded; {:.1} MB read of {:.1} MB ({:.1} %) in {} ms",
            s.files,
            s.audio_files,
            s.headers,
            s.hashed,
            s.fingerprinted,
            s.probed,
            s.bytes_read as f64 / 1e6,
            tree_bytes as f64 / 1e6,
            100.0 * s.bytes_read as f64 / tree_bytes as f64,
            s.elapsed_ms
        );
    }
}
