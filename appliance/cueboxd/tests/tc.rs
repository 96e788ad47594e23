//! `cueboxd tc generate` and `cueboxd tc decode` as a user runs them.

use std::process::Command;

use serde_json::Value;

fn cueboxd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn generated_drop_frame_ltc_decodes_across_the_minute() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("ltc.wav");
    let wav = wav.to_str().unwrap();
    let (ok, _, err) = cueboxd(&[
        "tc",
        "generate",
        "--fps",
        "29.97",
        "--df",
        "--start",
        "00:00:59:20",
        "--seconds",
        "1",
        "--rate",
        "44100",
        "--level",
        "-30",
        "--out",
        wav,
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = cueboxd(&["tc", "decode", wav, "--json"]);
    assert!(ok, "{err}");
    let frames: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tcs: Vec<&str> = frames.iter().map(|f| f["tc"].as_str().unwrap()).collect();
    // The first frame starts at sample 0, before any edge can mark it.
    assert_eq!(
        &tcs[..4],
        ["00:00:59:21", "00:00:59:22", "00:00:59:23", "00:00:59:24"]
    );
    let at = tcs.iter().position(|t| *t == "00:00:59:29").unwrap();
    assert_eq!(tcs[at + 1], "00:01:00:02", "frames 00 and 01 are dropped");
    for f in &frames {
        assert_eq!(f["fps"], 29.97);
        assert_eq!(f["df"], true);
        assert_eq!(f["reverse"], false);
        let len = f["end"].as_u64().unwrap() - f["start"].as_u64().unwrap();
        assert!(
            (1470..=1473).contains(&len),
            "44100/29.97 samples a frame: {len}"
        );
    }
}

#[test]
fn bad_arguments_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.wav");
    let out = out.to_str().unwrap();
    let cases = [
        (
            vec!["--fps", "30", "--df", "--start", "00:00:00:00"],
            "drop-frame is 29.97",
        ),
        (
            vec!["--fps", "23.976", "--start", "00:00:00:00"],
            "not supported",
        ),
        (
            vec!["--fps", "25", "--start", "00:00:00:25"],
            "frame number too high",
        ),
        (
            vec!["--fps", "29.97", "--df", "--start", "00:01:00:00"],
            "drop-frame skips",
        ),
    ];
    for (args, why) in cases {
        let mut all = vec!["tc", "generate", "--seconds", "1", "--out", out];
        all.extend(args);
        let (ok, _, err) = cueboxd(&all);
        assert!(!ok && err.contains(why), "{all:?}: {err}");
        assert!(!std::path::Path::new(out).exists(), "nothing is written");
    }
    let (ok, _, err) = cueboxd(&["tc", "decode", "/nonexistent.wav"]);
    assert!(!ok && err.contains("cannot read /nonexistent.wav"), "{err}");
}
