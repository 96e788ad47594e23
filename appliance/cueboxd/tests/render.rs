//! `cueboxd render` as a user runs it: a real session folder, real WAV media,
//! the real binary, and the WAV it writes read back.

use std::path::{Path, PathBuf};
use std::process::Command;

use cuebox_engine::fixtures::{add_clip, placement, probed_audio, write_wav, WavFormat};
use cuebox_engine::show::*;
use cueboxd::store::SessionDir;

/// Writes a mono 16-bit WAV at `rate`: silence with one full-scale impulse at `impulse`.
fn impulse_wav(path: &Path, rate: u32, frames: u32, impulse: u32) {
    write_wav(path, WavFormat::int16(1, rate), frames, |i, _| {
        if i == impulse {
            1.0
        } else {
            0.0
        }
    });
}

/// A session whose clip c1 is a mono impulse at frame 0 in group A.
fn session(tmp: &Path) -> PathBuf {
    session_with_impulse(tmp, 0)
}

/// A session whose clip c1 is a mono impulse at frame `at` in group A.
fn session_with_impulse(tmp: &Path, at: u32) -> PathBuf {
    let dir = tmp.join("show");
    std::fs::create_dir_all(dir.join("media")).unwrap();
    let file = dir.join("media/click.wav");
    impulse_wav(&file, 48_000, 4_800, at);
    let mut show = Show::new(
        "render",
        "media",
        GridDims::new(4, 4).unwrap(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    show.fade_defaults.fade_in.time_ms = 0.0;
    let audio = probed_audio(&dir.join("media"), "click.wav");
    add_clip(&mut show, "click", Group::A, audio, placement(1, 1, 1, 1));
    SessionDir::create(&dir, &show).unwrap();
    dir
}

fn cueboxd(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `cueboxd render --session DIR --events EVENTS --out OUT EXTRA…`
fn render(
    dir: &Path,
    events: &Path,
    out: &Path,
    extra: &[&dyn AsRef<std::ffi::OsStr>],
) -> (i32, String) {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"render",
        &"--session",
        &dir,
        &"--events",
        &events,
        &"--out",
        &out,
    ];
    args.extend_from_slice(extra);
    cueboxd(&args)
}

fn left_channel(wav: &Path) -> Vec<f32> {
    let mut r = hound::WavReader::open(wav).unwrap();
    assert_eq!(r.spec().channels, 2);
    assert_eq!(r.spec().sample_format, hound::SampleFormat::Float);
    r.samples::<f32>().step_by(2).map(Result::unwrap).collect()
}

#[test]
fn a_go_at_1_5_s_sounds_at_frame_72000_for_every_period() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = session(tmp.path());
    let events = tmp.path().join("events.json");
    std::fs::write(&events, r#"[{"at": 1.5, "cmd": "go", "clip": "c1"}]"#).unwrap();
    let mut renders = Vec::new();
    for period in ["16", "128", "1000", "4096"] {
        let out = tmp.path().join(format!("out-{period}.wav"));
        let (code, text) = render(
            &dir,
            &events,
            &out,
            &[&"--seconds", &"2", &"--period", &period],
        );
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("1 voice(s) started"), "{text}");
        renders.push(std::fs::read(&out).unwrap());
        let left = left_channel(&out);
        assert_eq!(left.len(), 96_000);
        let loudest = left
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap();
        assert_eq!(
            loudest.0, 72_000,
            "period {period}: the impulse lands on its frame"
        );
        assert!(
            left[..72_000].iter().all(|s| *s == 0.0),
            "period {period}: nothing before the GO"
        );
    }
    assert!(
        renders.windows(2).all(|w| w[0] == w[1]),
        "every period writes the same bytes"
    );
}

#[test]
fn bad_events_and_missing_media_are_named_and_leave_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = session(tmp.path());
    let out = tmp.path().join("out.wav");
    let events = tmp.path().join("events.json");
    let cases = [
        (
            r#"[{"at": 1, "cmd": "go", "clip": "c9"}]"#,
            "events[0].clip: clip \"c9\" is not in the session",
        ),
        (r#"[{"at": 1, "cmd": "jump"}]"#, "unknown variant `jump`"),
        ("not json", "not a JSON array"),
    ];
    for (json, want) in cases {
        std::fs::write(&events, json).unwrap();
        let (code, text) = render(&dir, &events, &out, &[]);
        assert_eq!(code, 1, "{text}");
        assert!(
            text.contains(want) && text.contains("events.json"),
            "want {want:?}: {text}"
        );
        assert!(!out.exists(), "no output for a refused render");
    }
    std::fs::write(&events, r#"[{"at": 0, "cmd": "go", "clip": "c1"}]"#).unwrap();
    std::fs::remove_file(dir.join("media/click.wav")).unwrap();
    let (code, text) = render(&dir, &events, &out, &[]);
    assert_eq!(code, 1);
    assert!(
        text.contains("clip \"c1\"") && text.contains("click.wav"),
        "{text}"
    );
    assert!(!out.exists());
    let (code, text) = render(&dir, &events, &out, &[&"--bus", &"E"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("use main, audition, A, B, C or D"), "{text}");
}

#[test]
fn a_render_that_goes_over_full_scale_says_which_bus_by_how_much_and_when() {
    let tmp = tempfile::tempdir().unwrap();
    // The impulse after the 1 ms edge fade: −3 dB on each side of the mix.
    let dir = session_with_impulse(tmp.path(), 100);
    let out = tmp.path().join("out.wav");
    // One impulse is under full scale; two at once are over it.
    let once = tmp.path().join("once.json");
    std::fs::write(&once, r#"[{"at": 1, "cmd": "go", "clip": "c1"}]"#).unwrap();
    let (code, text) = render(&dir, &once, &out, &[&"--seconds", &"2", &"--json"]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("over full scale"), "{text}");
    let summary: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(summary["overs"], serde_json::json!([]), "{summary}");

    let twice = tmp.path().join("twice.json");
    std::fs::write(
        &twice,
        r#"[{"at": 1, "cmd": "go", "clip": "c1"}, {"at": 1, "cmd": "go", "clip": "c1"}]"#,
    )
    .unwrap();
    let (code, text) = render(&dir, &twice, &out, &[&"--seconds", &"2"]);
    assert_eq!(code, 0, "an over is a warning, not a failure: {text}");
    let peak = left_channel(&out)
        .iter()
        .fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(peak > 1.0, "the mix really is over: {peak}");
    let db = 20.0 * f64::from(peak).log10();
    let line = format!("bus main went over full scale: peak {db:+.2} dBFS at 1.002 s");
    assert!(text.contains(&line), "{line:?} in {text}");
    assert!(text.contains("bus A went over full scale"), "{text}");

    let (code, text) = render(&dir, &twice, &out, &[&"--seconds", &"2", &"--json"]);
    assert_eq!(code, 0, "{text}");
    let json_line = text.lines().find(|l| l.starts_with('{')).unwrap();
    let summary: serde_json::Value = serde_json::from_str(json_line).unwrap();
    let main = &summary["overs"][0];
    assert_eq!(main["bus"], "main", "{summary}");
    assert_eq!(main["at_sample"], 48_100, "{summary}");
    assert_eq!(main["frames_over"], 1, "{summary}");
    assert!(
        (main["peak_dbfs"].as_f64().unwrap() - db).abs() < 1e-3,
        "{summary}"
    );
}
