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
    let dir = tmp.join("show");
    std::fs::create_dir_all(dir.join("media")).unwrap();
    let file = dir.join("media/click.wav");
    impulse_wav(&file, 48_000, 4_800, 0);
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
