//! Authoring a big show, end to end through the `hostctl` binary: a
//! 4,000-clip session (8 tabs of 16×32), then the time of each verb on it
//! and of undo; and a bulk import of 200 files against copying them with
//! `cp` (disk speed). Prints the figures; `cargo bench -p hostctl --bench
//! authoring`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cuebox_engine::fixtures::{write_wav, WavFormat};

fn hostctl(args: &[&str]) -> Duration {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_hostctl"))
        .args(args)
        .output()
        .expect("hostctl runs");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "hostctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// The median of `runs` runs of `args`, ms.
fn median_ms(runs: usize, mut each: impl FnMut() -> Duration) -> f64 {
    let mut t: Vec<f64> = (0..runs).map(|_| each().as_secs_f64() * 1e3).collect();
    t.sort_by(f64::total_cmp);
    t[runs / 2]
}

fn files(dir: &Path, n: usize, frames: u32) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("f{i:03}.wav"));
            write_wav(&p, WavFormat::int16(2, 48_000), frames, |s, c| {
                ((s.wrapping_mul(i as u32 + 7) + u32::from(c)) % 2000) as f32 / 40_000.0
            });
            p.to_str().unwrap().to_owned()
        })
        .collect()
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let show = tmp.path().join("big");
    let s = show.to_str().unwrap();
    hostctl(&["session", "new", s, "--media", &format!("{s}/media")]);
    for tab in 1..=8 {
        let t = tab.to_string();
        hostctl(&[
            "grid", "resize", s, "--tab", &t, "--rows", "16", "--cols", "32",
        ]);
    }
    // 4,000 clips over 200 distinct short files (the media copied once each).
    let src = tmp.path().join("src");
    let sources = files(&src, 200, 4_800);
    let mut csv = String::from("file,tab,row,col,name\n");
    for n in 0..4_000 {
        let (tab, slot) = (n / 512 + 1, n % 512);
        csv += &format!(
            "{},{tab},{},{},cue {n}\n",
            sources[n % 200],
            slot / 32 + 1,
            slot % 32 + 1
        );
    }
    let manifest = tmp.path().join("big.csv");
    std::fs::write(&manifest, csv).unwrap();
    let built = hostctl(&[
        "clip",
        "import",
        s,
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    let size = std::fs::metadata(show.join("session.json")).unwrap().len();
    println!(
        "4000-clip show built by one manifest import in {:.0} ms ({} KiB manifest)",
        built.as_secs_f64() * 1e3,
        size / 1024
    );

    let runs = 7;
    let verbs: [(&str, Vec<&str>); 5] = [
        (
            "clip set (level)",
            vec!["clip", "set", s, "c2000", "--level", "-3"],
        ),
        (
            "clip set (fades, loop)",
            vec!["clip", "set", s, "c3999", "--fade-out", "2.5", "--loop"],
        ),
        ("clip move", vec!["clip", "swap", s, "c1", "c4000"]),
        ("tab name", vec!["tab", s, "--tab", "3", "--name", "Act 3"]),
        ("show info", vec!["show", "info", s]),
    ];
    for (what, args) in &verbs {
        let ms = median_ms(runs, || hostctl(args));
        println!("{what:<24} {ms:7.1} ms median of {runs}, end to end (process start to exit)");
    }
    let ms = median_ms(runs, || {
        hostctl(&["clip", "set", s, "c10", "--level", "-1"]);
        hostctl(&["undo", s])
    });
    println!("{:<24} {ms:7.1} ms median of {runs}", "undo");
    let ms = median_ms(runs, || hostctl(&["redo", s]).max(hostctl(&["undo", s])));
    println!(
        "{:<24} {ms:7.1} ms median of {runs} (the slower of redo and undo)",
        "redo"
    );

    // Bulk import at disk speed: 200 files of 1 s (192 KB), against cp.
    let bulk = files(&tmp.path().join("bulk"), 200, 48_000);
    let bytes: u64 = bulk
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let fresh = tmp.path().join("fresh");
    let f = fresh.to_str().unwrap();
    hostctl(&["session", "new", f, "--media", &format!("{f}/media")]);
    hostctl(&["grid", "resize", f, "--rows", "16", "--cols", "32"]);
    let mut args = vec!["clip", "import", f];
    args.extend(bulk.iter().map(String::as_str));
    let import = hostctl(&args);
    let dest = tmp.path().join("cp");
    std::fs::create_dir(&dest).unwrap();
    let t = Instant::now();
    let ok = Command::new("cp")
        .args(&bulk)
        .arg(&dest)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let cp = t.elapsed();
    // The import makes its files durable (one syncfs) before the manifest
    // names them; cp leaves them in the page cache.
    let t = Instant::now();
    let synced = Command::new("sync")
        .arg("-f")
        .arg(&dest)
        .status()
        .unwrap()
        .success();
    assert!(synced);
    let cp_sync = cp + t.elapsed();
    println!(
        "import of 200 files ({:.1} MB): {:.0} ms ({:.0} MB/s: decoded to check, hashed, copied, \
         synced); cp {:.0} ms, cp and one sync {:.0} ms; ratio to cp+sync {:.2}",
        bytes as f64 / 1e6,
        import.as_secs_f64() * 1e3,
        bytes as f64 / 1e6 / import.as_secs_f64(),
        cp.as_secs_f64() * 1e3,
        cp_sync.as_secs_f64() * 1e3,
        import.as_secs_f64() / cp_sync.as_secs_f64()
    );
}
