//! hostctl as a user runs it: real binary, real files, real SQLite.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cuebox_engine::fixtures::{write_wav, WavFormat};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn hostctl(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_hostctl"))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("hostctl runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// Writes a WAV of `frames` frames of a quiet ramp.
fn wav(path: &Path, channels: u16, rate: u32, bits: u16, frames: u32) {
    let format = WavFormat {
        channels,
        rate,
        bits,
        float: false,
    };
    write_wav(path, format, frames, |i, c| {
        let n = i * u32::from(channels) + u32::from(c);
        ((n % 1000) as f32 - 500.0) / 32_767.0
    });
}

/// `hostctl clip add DIR FILE --at AT --group GROUP EXTRA…`
fn add(f: &Fixture, file: &Path, at: &str, group: &str, extra: &[&str]) -> Run {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"clip", &"add", &f.dir, &file, &"--at", &at, &"--group", &group,
    ];
    args.extend(extra.iter().map(|e| e as &dyn AsRef<std::ffi::OsStr>));
    hostctl(&args)
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    media: PathBuf,
    src: PathBuf,
}

fn session() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("show");
    let media = tmp.path().join("show/media");
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    hostctl(&[
        &"session", &"new", &dir, &"--media", &media, &"--name", &"Hamlet",
    ])
    .ok();
    Fixture {
        _tmp: tmp,
        dir,
        media,
        src,
    }
}

/// Everything a refused command must leave untouched.
fn snapshot(f: &Fixture) -> (Vec<u8>, Vec<String>) {
    let manifest = fs::read(f.dir.join("session.json")).unwrap();
    let mut media: Vec<String> = fs::read_dir(&f.media)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    media.sort();
    (manifest, media)
}

#[test]
fn new_refuses_without_a_media_folder_and_suggests_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("show");
    let r = hostctl(&[&"session", &"new", &dir]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("a media folder is required"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("--media {}", dir.join("media").display())),
        "{}",
        r.stderr
    );
    assert!(!dir.exists(), "nothing is created");
}

#[test]
fn new_refuses_to_overwrite_a_session() {
    let f = session();
    let before = snapshot(&f);
    let r = hostctl(&[&"session", &"new", &f.dir, &"--media", &f.media]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("session.json"), "{}", r.stderr);
    assert_eq!(snapshot(&f), before);
}

#[test]
fn authoring_a_show_from_new_to_valid() {
    let f = session();
    wav(&f.src.join("storm.wav"), 2, 48_000, 24, 96_000);
    wav(&f.src.join("bell.wav"), 1, 44_100, 16, 44_100);

    let r = hostctl(&[
        &"clip",
        &"add",
        &f.dir,
        &f.src.join("storm.wav"),
        &"--page",
        &"1",
        &"--tab",
        &"1",
        &"--at",
        &"1,1",
        &"--group",
        &"A",
    ])
    .ok();
    assert_eq!(r.stdout.trim(), "c1", "prints the new clip's id");
    let r = hostctl(&[
        &"clip",
        &"add",
        &f.dir,
        &f.src.join("bell.wav"),
        &"--tab",
        &"3",
        &"--at",
        &"2,5",
        &"--group",
        &"d",
        &"--json",
    ])
    .ok();
    assert_eq!(r.json()["id"], "c2");
    assert_eq!(r.json()["copied"], true);
    assert!(
        f.media.join("storm.wav").is_file() && f.media.join("bell.wav").is_file(),
        "copied into the media folder"
    );

    let show = hostctl(&[&"session", &"show", &f.dir, &"--json"])
        .ok()
        .json();
    let clips = show["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 2);
    assert_eq!(clips[0]["id"], "c1");
    assert_eq!(clips[0]["file"], "storm.wav");
    assert_eq!(clips[0]["group"], "A");
    assert_eq!(clips[0]["format"]["channels"], 2);
    assert_eq!(clips[0]["format"]["sample_rate"], 48_000);
    assert_eq!(clips[0]["format"]["bit_depth"], 24);
    assert_eq!(clips[0]["format"]["frames"], 96_000);
    assert_eq!(
        clips[0]["buttons"][0],
        serde_json::json!({"page": 1, "tab": 1, "row": 1, "col": 1, "visible": true, "label": null})
    );
    assert_eq!(clips[1]["group"], "D");
    assert_eq!(clips[1]["format"]["channels"], 1);
    assert_eq!(
        clips[1]["buttons"][0],
        serde_json::json!({"page": 1, "tab": 3, "row": 2, "col": 5, "visible": true, "label": null})
    );

    let human = hostctl(&[&"session", &"show", &f.dir]).ok().stdout;
    assert!(
        human.contains("c2")
            && human.contains("bell.wav")
            && human.contains("mono 44100 Hz 16-bit 1.000 s"),
        "{human}"
    );

    let r = hostctl(&[&"session", &"validate", &f.dir, &"--hashes"]).ok();
    assert!(
        r.stdout
            .contains("valid (2 clips, every media hash verified)"),
        "{}",
        r.stdout
    );

    // Shrinking hides the button at 2,5 without losing it; undo brings it back.
    hostctl(&[
        &"grid", &"resize", &f.dir, &"--tab", &"3", &"--rows", &"2", &"--cols", &"4",
    ])
    .ok();
    let show = hostctl(&[&"session", &"show", &f.dir, &"--json"])
        .ok()
        .json();
    assert_eq!(show["clips"][1]["buttons"][0]["visible"], false);
    assert_eq!(show["pages"][0]["tabs"][2]["cols"], 4);
    hostctl(&[&"session", &"validate", &f.dir]).ok();
    let r = hostctl(&[&"grid", &"undo", &f.dir, &"--tab", &"3", &"--json"]).ok();
    assert_eq!(
        (
            r.json()["rows"].clone(),
            r.json()["cols"].clone(),
            r.json()["hidden_buttons"].clone()
        ),
        (4.into(), 8.into(), 0.into())
    );
    let show = hostctl(&[&"session", &"show", &f.dir, &"--json"])
        .ok()
        .json();
    assert_eq!(show["clips"][1]["buttons"][0]["visible"], true);
}

#[test]
fn clip_add_refuses_bad_media_and_changes_nothing() {
    let f = session();
    wav(&f.src.join("ok.wav"), 2, 48_000, 16, 4_800);
    add(&f, &f.src.join("ok.wav"), "1,1", "A", &[]).ok();

    wav(&f.src.join("surround.wav"), 6, 48_000, 16, 4_800);
    fs::write(f.src.join("notes.wav"), "this is not audio\n").unwrap();
    let full = fs::read(f.src.join("ok.wav")).unwrap();
    fs::write(f.src.join("cut.wav"), &full[..full.len() / 3]).unwrap();
    fs::write(f.src.join("empty.wav"), b"").unwrap();
    let missing = f.src.join("missing.wav");

    let cases: [(PathBuf, &str); 6] = [
        (f.src.join("surround.wav"), "6 channels"),
        (f.src.join("notes.wav"), "notes.wav cannot be a clip"),
        (f.src.join("cut.wav"), "cut.wav cannot be a clip"),
        (f.src.join("empty.wav"), "empty.wav cannot be a clip"),
        (missing, "cannot read"),
        (f.src.clone(), "is not a file"),
    ];
    let before = snapshot(&f);
    for (file, reason) in cases {
        let r = add(&f, &file, "1,2", "A", &[]);
        assert_eq!(r.code, 1, "{}: {}", file.display(), r.stderr);
        assert!(
            r.stderr.contains(reason),
            "{} should say {reason:?}: {}",
            file.display(),
            r.stderr
        );
        assert_eq!(
            snapshot(&f),
            before,
            "{} changed the session",
            file.display()
        );
    }
}

#[test]
fn clip_add_refuses_bad_places_before_copying_anything() {
    let f = session();
    wav(&f.src.join("a.wav"), 1, 48_000, 16, 480);
    wav(&f.src.join("b.wav"), 1, 48_000, 16, 480);
    add(&f, &f.src.join("a.wav"), "1,1", "B", &[]).ok();
    let before = snapshot(&f);
    let b = f.src.join("b.wav");
    let cases: [(&[&dyn AsRef<std::ffi::OsStr>], &str); 5] = [
        (
            &[&"--at", &"1,1", &"--group", &"A"],
            "already plays clip \"c1\"",
        ),
        (&[&"--at", &"5,1", &"--group", &"A"], "outside the 4x8 grid"),
        (
            &[&"--at", &"1,1", &"--group", &"A", &"--tab", &"9"],
            "tabs are numbered 1 to 8",
        ),
        (
            &[&"--at", &"1,1", &"--group", &"A", &"--page", &"2"],
            "page 2 does not exist",
        ),
        (&[&"--at", &"0,1", &"--group", &"A"], "numbered from 1"),
    ];
    for (extra, reason) in cases {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"clip", &"add", &f.dir, &b];
        args.extend_from_slice(extra);
        let r = hostctl(&args);
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains(reason), "want {reason:?}: {}", r.stderr);
        assert_eq!(snapshot(&f), before);
    }
    let r = add(&f, &b, "1,2", "E", &[]);
    assert_eq!(r.code, 2, "a bad group is a usage error");
    assert!(r.stderr.contains("use A, B, C or D"), "{}", r.stderr);
}

#[test]
fn media_inside_the_folder_is_used_in_place_and_duplicates_are_not_copied_twice() {
    let f = session();
    fs::create_dir_all(f.media.join("sfx")).unwrap();
    wav(&f.media.join("sfx/door.wav"), 1, 48_000, 16, 480);
    let r = add(&f, &f.media.join("sfx/door.wav"), "1,1", "A", &["--json"]).ok();
    assert_eq!(
        (r.json()["file"].clone(), r.json()["copied"].clone()),
        ("sfx/door.wav".into(), false.into())
    );

    wav(&f.src.join("hit.wav"), 2, 48_000, 16, 480);
    add(&f, &f.src.join("hit.wav"), "1,2", "A", &[]).ok();
    let r = add(&f, &f.src.join("hit.wav"), "1,3", "B", &["--json"]).ok();
    assert_eq!(
        (r.json()["file"].clone(), r.json()["copied"].clone()),
        ("hit.wav".into(), false.into())
    );

    // A different file of the same name gets a numbered name.
    fs::create_dir_all(f.src.join("other")).unwrap();
    wav(&f.src.join("other/hit.wav"), 2, 48_000, 16, 960);
    let r = add(&f, &f.src.join("other/hit.wav"), "1,4", "B", &["--json"]).ok();
    assert_eq!(
        (r.json()["file"].clone(), r.json()["copied"].clone()),
        ("hit-2.wav".into(), true.into())
    );
    hostctl(&[&"session", &"validate", &f.dir, &"--hashes"]).ok();
}

#[test]
fn validate_lists_every_problem_and_exits_1() {
    let f = session();
    wav(&f.src.join("a.wav"), 2, 48_000, 16, 4_800);
    add(&f, &f.src.join("a.wav"), "1,1", "A", &[]).ok();
    let path = f.dir.join("session.json");
    let mut doc: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    doc["pages"][0]["tabs"][3]["grid"]["buttons"] =
        serde_json::json!([{"row": 2, "col": 5, "clip": "c42"}]);
    doc["clips"][0]["processing"]["level_db"] = 30.into();
    doc["protection"]["loop_point_fade_ms"] = 11.into();
    fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    fs::remove_file(f.media.join("a.wav")).unwrap();

    let r = hostctl(&[&"session", &"validate", &f.dir]);
    assert_eq!(r.code, 1);
    for line in [
        "pages[0].tabs[3].grid[2,5]: clip \"c42\" is not in the session",
        "clips[0].processing.level_db: 30 dB is out of range (-144 dB to 12 dB)",
        "protection.loop_point_fade_ms: 11 ms is out of range (0.25 ms to 10 ms)",
        "clips[0].audio.path: ",
    ] {
        assert!(
            r.stdout.contains(line),
            "missing {line:?} in:\n{}",
            r.stdout
        );
    }
    assert!(r.stdout.contains("a.wav is missing"), "{}", r.stdout);
    let r = hostctl(&[&"session", &"validate", &f.dir, &"--json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["valid"], false);
    assert_eq!(r.json()["problems"].as_array().unwrap().len(), 4);
}

#[test]
fn validate_with_hashes_finds_changed_media() {
    let f = session();
    wav(&f.src.join("a.wav"), 2, 48_000, 16, 4_800);
    add(&f, &f.src.join("a.wav"), "1,1", "A", &[]).ok();
    wav(&f.media.join("a.wav"), 2, 48_000, 16, 4_801);
    hostctl(&[&"session", &"validate", &f.dir]).ok();
    let r = hostctl(&[&"session", &"validate", &f.dir, &"--hashes"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("clips[0].audio.path:")
            && r.stdout.contains("changed since it was added"),
        "{}",
        r.stdout
    );
}

#[test]
fn hostile_session_files_get_precise_errors_and_stay_untouched() {
    let f = session();
    let path = f.dir.join("session.json");
    let good = fs::read(&path).unwrap();
    let mut traversal: Value = serde_json::from_slice(&good).unwrap();
    traversal["clips"] = serde_json::json!([{
        "id": "c1", "group": "A",
        "audio": {"path": "../../../etc/passwd", "hash": format!("blake3:{}", "0".repeat(64)),
                  "format": {"channels": 2, "sample_rate": 48000, "bit_depth": 16, "frames": 10, "codec": "pcm_s16le"}}
    }]);
    let mut huge: Value = serde_json::from_slice(&good).unwrap();
    huge["pages"][0]["tabs"][0]["grid"]["rows"] = serde_json::json!(1e300);
    let mut wrong: Value = serde_json::from_slice(&good).unwrap();
    wrong["page_view"] = serde_json::json!("dual");
    let cases: [(Vec<u8>, &str); 5] = [
        (good[..good.len() / 2].to_vec(), "not valid JSON"),
        (
            serde_json::to_vec(&traversal).unwrap(),
            "clips[0].audio.path: media path \"../../../etc/passwd\" leaves the media folder",
        ),
        (
            serde_json::to_vec(&huge).unwrap(),
            "pages[0].tabs[0].grid.rows: invalid type: floating point",
        ),
        (
            serde_json::to_vec(&wrong).unwrap(),
            "page_view: invalid type: string",
        ),
        (
            br#"{"format_version": "9.0"}"#.to_vec(),
            "written by a newer cuebox",
        ),
    ];
    for (bytes, reason) in cases {
        fs::write(&path, &bytes).unwrap();
        for verb in ["validate", "show"] {
            let r = hostctl(&[&"session", &verb, &f.dir]);
            assert_eq!(r.code, 1);
            // validate lists a field of the wrong type as a problem, on stdout.
            assert!(
                r.stderr.contains(reason) || (verb == "validate" && r.stdout.contains(reason)),
                "{verb}: want {reason:?}: {}",
                r.stderr
            );
            assert!(
                r.stderr.contains("session.json"),
                "names the file: {}",
                r.stderr
            );
        }
        let r = hostctl(&[&"grid", &"resize", &f.dir, &"--rows", &"2", &"--cols", &"2"]);
        assert_eq!(r.code, 1);
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "a refused file is never rewritten"
        );
    }
}

#[test]
fn a_format_1_session_opens_and_is_saved_as_format_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("old");
    fs::create_dir_all(dir.join("media")).unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/format-1-draft.json");
    fs::copy(&fixture, dir.join("session.json")).unwrap();
    let r = hostctl(&[&"session", &"show", &dir, &"--json"]).ok();
    assert!(
        r.stderr.contains("is format 1.0; it is read as format 2.0"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["clips"][0]["buttons"][0]["col"], 1);
    assert_eq!(
        fs::read(dir.join("session.json")).unwrap(),
        fs::read(&fixture).unwrap(),
        "reading does not rewrite"
    );
    hostctl(&[&"grid", &"resize", &dir, &"--rows", &"3", &"--cols", &"3"]).ok();
    let saved: Value =
        serde_json::from_slice(&fs::read(dir.join("session.json")).unwrap()).unwrap();
    assert_eq!(saved["format_version"], "2.0");
    assert_eq!(
        saved["draft_notes"],
        "kept: a field format 1 had that format 2 does not know"
    );
}

#[test]
fn help_explains_every_verb() {
    let r = hostctl(&[&"--help"]).ok();
    for verb in ["session", "clip", "grid", "show"] {
        assert!(r.stdout.contains(verb), "{}", r.stdout);
    }
    let r = hostctl(&[&"clip", &"add", &"--help"]).ok();
    assert!(
        r.stdout.contains("ROW,COL") && r.stdout.contains("A, B, C or D"),
        "{}",
        r.stdout
    );
}

/// The session's manifest, parsed.
fn manifest(f: &Fixture) -> Value {
    serde_json::from_slice(&fs::read(f.dir.join("session.json")).unwrap()).unwrap()
}

/// The clip `id` of the manifest.
fn clip_json(f: &Fixture, id: &str) -> Value {
    manifest(f)["clips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no clip {id}"))
}

/// Where clip `id`'s button is: (page index, tab index, row, col).
fn button_of(f: &Fixture, id: &str) -> Option<(usize, usize, u64, u64)> {
    let m = manifest(f);
    for (p, page) in m["pages"].as_array().unwrap().iter().enumerate() {
        for (t, tab) in page["tabs"].as_array().unwrap().iter().enumerate() {
            for b in tab["grid"]["buttons"].as_array().unwrap() {
                if b["clip"] == id {
                    return Some((p, t, b["row"].as_u64().unwrap(), b["col"].as_u64().unwrap()));
                }
            }
        }
    }
    None
}

#[test]
fn clip_set_changes_what_it_is_given_in_seconds_timecode_or_frames_and_nothing_else() {
    let f = session();
    let stereo = f.src.join("stereo.wav");
    let mono = f.src.join("mono.wav");
    wav(&stereo, 2, 48_000, 16, 48_000 * 4);
    wav(&mono, 1, 44_100, 16, 44_100 * 3);
    add(&f, &stereo, "1,1", "A", &[]).ok();
    add(&f, &mono, "1,2", "B", &[]).ok();
    let before = clip_json(&f, "c1");

    let r = hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"c1",
        &"--level",
        &"-6",
        &"--fade-out",
        &"4.5",
        &"--fade-out-curve",
        &"s_curve",
        &"--cue-in",
        &"0.5",
        &"--cue-out",
        &"00:00:03:00",
        &"--loop",
        &"--title",
        &"Storm",
        &"--composer",
        &"J. Composer",
        &"--json",
    ])
    .ok();
    assert_eq!(r.json()["set"], serde_json::json!(["c1"]));
    let c1 = clip_json(&f, "c1");
    let p = &c1["processing"];
    assert_eq!(p["level_db"], -6.0);
    assert_eq!(p["fades"]["out"]["time_ms"], 4500.0);
    assert_eq!(p["fades"]["out"]["curve"], "s_curve");
    assert_eq!(p["cue"]["start"], 24_000, "0.5 s at the file's 48 kHz");
    assert_eq!(
        p["cue"]["end"], 144_000,
        "3 s of timecode at the file's rate"
    );
    assert_eq!(
        p["loop"]["start"], 24_000,
        "--loop alone loops the cue range"
    );
    assert_eq!(p["loop"]["end"], 144_000);
    assert_eq!(p["loop"]["enabled"], true);
    assert_eq!(c1["audio"]["metadata"]["title"], "Storm");
    assert_eq!(c1["name"], before["name"], "what is not given is kept");
    assert_eq!(p["panning"], before["processing"]["panning"]);

    // The mono clip at 44.1 kHz: frames are its own; a pan, not a width.
    hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"c2",
        &"--cue-in",
        &"22050f",
        &"--pan",
        &"-0.5",
    ])
    .ok();
    let c2 = clip_json(&f, "c2");
    assert_eq!(c2["processing"]["cue"]["start"], 22_050);
    assert_eq!(c2["processing"]["panning"]["pan"], -0.5);

    // Refused edits change nothing and say why.
    let untouched = snapshot(&f);
    for (args, why) in [
        (vec!["c2", "--width", "0.5"], "a mono clip has a pan"),
        (vec!["c1", "--level", "20"], "level_db"),
        (vec!["c9", "--level", "-3"], "there is no clip \"c9\""),
        (vec!["c1", "--cue-in", "soon"], "is not a time"),
        (vec!["c1"], "nothing to set"),
        (
            vec!["c1", "--loop-protection", "20"],
            "processing.protection.loop_point_fade_ms",
        ),
    ] {
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"clip", &"set", &f.dir];
        all.extend(args.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        let r = hostctl(&all);
        assert_ne!(r.code, 0, "{args:?} was accepted");
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert_eq!(snapshot(&f), untouched, "{args:?} changed the session");
    }

    // A selection: every clip of a tab.
    hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"--tab",
        &"1.1",
        &"--fade-in",
        &"0.25",
    ])
    .ok();
    for id in ["c1", "c2"] {
        assert_eq!(
            clip_json(&f, id)["processing"]["fades"]["in"]["time_ms"],
            250.0
        );
    }

    // Loop points at named markers (the clip's analysis sections).
    edit_manifest(&f, |m| {
        m["clips"][0]["analysis"] = serde_json::json!({
            "status": "done", "tempo_bpm": 120, "confidence": 0.9,
            "sections": [{"start": 48_000, "label": "verse"}, {"start": 96_000, "label": "chorus"}],
        });
    });
    hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"c1",
        &"--loop-start",
        &"marker:verse",
        &"--loop-end",
        &"marker:chorus",
    ])
    .ok();
    let lp = &clip_json(&f, "c1")["processing"]["loop"];
    assert_eq!(
        (lp["start"].clone(), lp["end"].clone()),
        (48_000.into(), 96_000.into())
    );
    let untouched = snapshot(&f);
    let r = hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"c1",
        &"--loop-end",
        &"marker:coda",
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("has no marker \"coda\"; its markers: verse, chorus"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&f), untouched);

    // A clip's own protection fades, and back to the session's.
    hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"c1",
        &"--loop-protection",
        &"0.25",
        &"--edit-protection",
        &"5",
    ])
    .ok();
    let p = &clip_json(&f, "c1")["processing"]["protection"];
    assert_eq!(
        (
            p["loop_point_fade_ms"].clone(),
            p["edit_point_fade_ms"].clone()
        ),
        (0.25.into(), 5.0.into())
    );
    hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"c1",
        &"--loop-protection",
        &"none",
        &"--edit-protection",
        &"none",
    ])
    .ok();
    assert_eq!(
        clip_json(&f, "c1")["processing"].get("protection"),
        None,
        "the session's again"
    );
}

#[test]
fn buttons_move_swap_copy_and_go_and_every_edit_undoes_and_redoes() {
    let f = session();
    let a = f.src.join("a.wav");
    let b = f.src.join("b.wav");
    wav(&a, 2, 48_000, 16, 4_800);
    wav(&b, 2, 48_000, 16, 9_600);
    add(&f, &a, "1,1", "A", &[]).ok();
    add(&f, &b, "1,2", "A", &[]).ok();
    let start = manifest(&f);

    hostctl(&[
        &"clip", &"move", &f.dir, &"c1", &"--page", &"1", &"--tab", &"2", &"--at", &"2,3",
    ])
    .ok();
    assert_eq!(button_of(&f, "c1"), Some((0, 1, 2, 3)));
    let r = hostctl(&[
        &"clip", &"move", &f.dir, &"c2", &"--tab", &"2", &"--at", &"2,3",
    ]);
    assert!(
        r.stderr.contains("already plays clip \"c1\""),
        "{}",
        r.stderr
    );
    hostctl(&[&"clip", &"swap", &f.dir, &"c1", &"c2"]).ok();
    assert_eq!(button_of(&f, "c2"), Some((0, 1, 2, 3)));
    assert_eq!(button_of(&f, "c1"), Some((0, 0, 1, 2)));
    hostctl(&[&"clip", &"set", &f.dir, &"c1", &"--level", &"-3"]).ok();
    let copy = hostctl(&[&"clip", &"copy", &f.dir, &"c1", &"--at", &"4,4"]).ok();
    assert_eq!(copy.stdout.trim(), "c3");
    let c3 = clip_json(&f, "c3");
    assert_eq!(
        c3["processing"]["level_db"], -3.0,
        "the copy keeps the processing"
    );
    assert_eq!(
        c3["audio"],
        clip_json(&f, "c1")["audio"],
        "and the same media"
    );
    let r = hostctl(&[&"clip", &"remove", &f.dir, &"c1", &"--delete-media"]).ok();
    assert!(
        r.stdout.contains("stays: another clip uses it"),
        "{}",
        r.stdout
    );
    assert!(f.media.join("a.wav").exists());
    assert_eq!(button_of(&f, "c1"), None);

    // The history, newest first, as typed.
    let h = hostctl(&[&"history", &f.dir, &"--json"]).ok().json();
    let undo: Vec<&str> = h["undo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["what"].as_str().unwrap())
        .collect();
    assert_eq!(undo.len(), 7, "{undo:?}");
    assert!(undo[0].starts_with("clip remove"), "{undo:?}");
    assert!(undo[6].starts_with("clip add"), "{undo:?}");

    // Undo the remove and the copy: c1 is back, c3 gone.
    hostctl(&[&"undo", &f.dir]).ok();
    hostctl(&[&"undo", &f.dir]).ok();
    assert!(button_of(&f, "c1").is_some());
    assert!(manifest(&f)["clips"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != "c3"));
    // Redo the copy; a new edit then drops the remove's redo.
    let r = hostctl(&[&"redo", &f.dir]).ok();
    assert!(r.stdout.contains("redid: clip copy"), "{}", r.stdout);
    hostctl(&[&"clip", &"set", &f.dir, &"c2", &"--name", &"Thunder"]).ok();
    let r = hostctl(&[&"redo", &f.dir]);
    assert!(r.stderr.contains("nothing to redo"), "{}", r.stderr);
    // Undo everything: the session as it was after the two adds.
    while hostctl(&[&"history", &f.dir, &"--json"]).ok().json()["undo"]
        .as_array()
        .unwrap()
        .len()
        > 2
    {
        hostctl(&[&"undo", &f.dir]).ok();
    }
    assert_eq!(manifest(&f)["clips"], start["clips"]);
    assert_eq!(manifest(&f)["pages"], start["pages"]);
}

#[test]
fn pages_tabs_and_groups_are_authored_and_refused_when_wrong() {
    let f = session();
    let a = f.src.join("a.wav");
    wav(&a, 2, 48_000, 16, 4_800);
    add(&f, &a, "1,1", "A", &[]).ok();
    hostctl(&[&"pages", &"add", &f.dir, &"--name", &"Act 2"]).ok();
    hostctl(&[
        &"pages",
        &"add",
        &f.dir,
        &"--name",
        &"Prologue",
        &"--before",
        &"1",
    ])
    .ok();
    let names = |f: &Fixture| -> Vec<String> {
        manifest(f)["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&f), ["Prologue", "Page 1", "Act 2"]);
    assert_eq!(
        button_of(&f, "c1"),
        Some((1, 0, 1, 1)),
        "c1 moved with its page"
    );
    hostctl(&[&"pages", &"rename", &f.dir, &"2", &"Act 1"]).ok();
    hostctl(&[&"pages", &"move", &f.dir, &"1", &"--to", &"3"]).ok();
    assert_eq!(names(&f), ["Act 1", "Act 2", "Prologue"]);
    hostctl(&[&"pages", &"view", &f.dir, &"1", &"2", &"--focus", &"right"]).ok();
    let view = &manifest(&f)["page_view"];
    assert_eq!(
        (view["mode"].as_str(), view["right"].as_u64()),
        (Some("dual"), Some(2))
    );

    hostctl(&[
        &"tab",
        &f.dir,
        &"--page",
        &"1",
        &"--tab",
        &"2",
        &"--name",
        &"Storms",
        &"--colour",
        &"#3366FF",
    ])
    .ok();
    let tab = &manifest(&f)["pages"][0]["tabs"][1];
    assert_eq!(
        (tab["name"].as_str(), tab["colour"].as_str()),
        (Some("Storms"), Some("#3366ff"))
    );
    hostctl(&[
        &"group",
        &f.dir,
        &"B",
        &"--level",
        &"-3",
        &"--mode",
        &"choke:2",
        &"--outputs",
        &"3,4",
    ])
    .ok();
    let b = &manifest(&f)["busses"]["groups"]["B"];
    assert_eq!(b["level_db"], -3.0);
    assert_eq!(b["mode"]["max_voices"], 2);
    assert_eq!(b["outputs"], serde_json::json!([3, 4]));

    let untouched = snapshot(&f);
    for (args, why) in [
        (
            vec!["tab", "--tab", "2", "--colour", "blue"],
            "not a colour",
        ),
        (vec!["group", "B", "--mode", "choke:5"], "max_voices"),
        (vec!["group", "B", "--outputs", "0"], "not an output"),
        (
            vec!["pages", "move", "1", "--to", "9"],
            "page 9 does not exist",
        ),
    ] {
        let (verb, rest) = args.split_first().unwrap();
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![verb];
        let (sub, rest) = if *verb == "pages" {
            (Some(&rest[0]), &rest[1..])
        } else {
            (None, rest)
        };
        if let Some(sub) = sub {
            all.push(sub);
        }
        all.push(&f.dir);
        all.extend(rest.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        let r = hostctl(&all);
        assert_ne!(r.code, 0, "{args:?} was accepted");
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert_eq!(snapshot(&f), untouched, "{args:?} changed the session");
    }
    // Removing a page takes its clips (undoable); the last page stays.
    let r = hostctl(&[&"pages", &"remove", &f.dir, &"1"]).ok();
    assert!(r.stdout.contains("1 clip(s) c1"), "{}", r.stdout);
    hostctl(&[&"pages", &"remove", &f.dir, &"1"]).ok();
    let r = hostctl(&[&"pages", &"remove", &f.dir, &"1"]);
    assert!(r.stderr.contains("at least one page"), "{}", r.stderr);
    hostctl(&[&"undo", &f.dir]).ok();
    hostctl(&[&"undo", &f.dir]).ok();
    assert_eq!(button_of(&f, "c1"), Some((0, 0, 1, 1)));
}

/// Tab completion scripts, generated by clap, know the verbs.
#[test]
fn completion_scripts_know_every_verb() {
    let bash = hostctl(&[&"completions", &"bash"]).ok().stdout;
    for verb in [
        "clip__subcmd__set",
        "pages__subcmd__add",
        "cuesheet",
        "undo",
    ] {
        assert!(bash.contains(verb), "bash completion lacks {verb}");
    }
    let zsh = hostctl(&[&"completions", &"zsh"]).ok().stdout;
    assert!(zsh.starts_with("#compdef hostctl"), "{}", &zsh[..80]);
    let fish = hostctl(&[&"completions", &"fish"]).ok().stdout;
    assert!(fish.contains("complete -c hostctl") && fish.contains("-l fade-out"));
    // bash itself reads the script without complaint.
    let script = std::env::temp_dir().join(format!("hostctl-{}.bash", std::process::id()));
    fs::write(&script, &bash).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    fs::remove_file(&script).ok();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn show_set_changes_only_what_is_given_and_info_prints_it() {
    let f = session();
    let r = hostctl(&[
        &"show",
        &"set",
        &f.dir,
        &"--production",
        &"Hamlet",
        &"--venue",
        &"The Globe",
        &"--city",
        &"London",
        &"--country",
        &"GB",
        &"--date",
        &"2026-12-02",
        &"--date",
        &"2026-12-01",
        &"--rights-context",
        &"grand rights",
        &"--depth",
        &"detailed",
        &"--formats",
        &"csv,xml",
        &"--societies",
        &"PRS, GEMA",
        &"--auto-export",
        &"on",
        &"--json",
    ])
    .ok();
    let set = r.json();
    assert_eq!(set["saved"], true);
    assert_eq!(set["changed"].as_array().unwrap().len(), 10, "{set}");
    // What the manifest holds, read here: dates in order, societies trimmed.
    let saved: Value =
        serde_json::from_slice(&fs::read(f.dir.join("session.json")).unwrap()).unwrap();
    let info = &saved["show_info"];
    assert_eq!(info["production"], "Hamlet");
    assert_eq!(
        info["venue"],
        serde_json::json!({"name": "The Globe", "city": "London", "country": "GB"})
    );
    assert_eq!(
        info["performance_dates"],
        serde_json::json!(["2026-12-01", "2026-12-02"])
    );
    assert_eq!(info["rights_context"], "grand rights");
    assert_eq!(
        info["reporting"],
        serde_json::json!({"default_depth": "detailed", "formats": ["csv", "xml"],
                           "auto_export": true, "pros": ["PRS", "GEMA"]})
    );
    let h = hostctl(&[&"history", &f.dir, &"--json"]).ok().json();
    assert_eq!(
        h["undo"].as_array().unwrap().len(),
        1,
        "the manifest before is kept, as an undo step"
    );

    // One field: the rest stays; a date added keeps the order.
    hostctl(&[
        &"show",
        &"set",
        &f.dir,
        &"--city",
        &"Stratford",
        &"--date",
        &"2026-11-30",
    ])
    .ok();
    let r = hostctl(&[&"show", &"info", &f.dir, &"--json"]).ok();
    let info = &r.json()["show_info"];
    assert_eq!(info["venue"]["name"], "The Globe");
    assert_eq!(info["venue"]["city"], "Stratford");
    assert_eq!(
        info["performance_dates"],
        serde_json::json!(["2026-11-30", "2026-12-01", "2026-12-02"])
    );
    hostctl(&[
        &"show",
        &"set",
        &f.dir,
        &"--remove-date",
        &"2026-12-01",
        &"--auto-export",
        &"off",
    ])
    .ok();
    let r = hostctl(&[&"show", &"info", &f.dir]).ok();
    assert!(
        r.stdout
            .contains("performance dates: 2026-11-30, 2026-12-02"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "cue sheets:        detailed; formats csv, xml; societies PRS, GEMA; auto-export off"
        ),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("venue:             The Globe, Stratford, GB"));

    // The same again changes nothing and writes nothing.
    let before = fs::read(f.dir.join("session.json")).unwrap();
    let r = hostctl(&[&"show", &"set", &f.dir, &"--city", &"Stratford", &"--json"]).ok();
    assert_eq!(r.json()["saved"], false);
    assert_eq!(fs::read(f.dir.join("session.json")).unwrap(), before);

    // --clear-dates, then --date adds.
    hostctl(&[
        &"show",
        &"set",
        &f.dir,
        &"--clear-dates",
        &"--date",
        &"2027-01-05",
    ])
    .ok();
    let r = hostctl(&[&"show", &"info", &f.dir, &"--json"]).ok();
    assert_eq!(
        r.json()["show_info"]["performance_dates"],
        serde_json::json!(["2027-01-05"])
    );
}

#[test]
fn show_set_refuses_precisely_and_changes_nothing() {
    let f = session();
    hostctl(&[
        &"show",
        &"set",
        &f.dir,
        &"--date",
        &"2026-12-01",
        &"--societies",
        &"PRS",
    ])
    .ok();
    let before = snapshot(&f);
    let steps = |f: &Fixture| {
        hostctl(&[&"history", &f.dir, &"--json"]).ok().json()["undo"]
            .as_array()
            .unwrap()
            .len()
    };
    let saves = steps(&f);
    let cases: [(&[&str], i32, &str); 9] = [
        (
            &["--date", "2026-12-01"],
            1,
            "2026-12-01 is already a performance date",
        ),
        (
            &["--production", "X", "--remove-date", "2026-12-05"],
            1,
            "2026-12-05 is not a performance date of",
        ),
        (
            &["--formats", "csv,json,csv"],
            1,
            "show_info.reporting.formats[2]: csv is listed more than once",
        ),
        (
            &["--societies", "PRS,gema,prs"],
            1,
            "show_info.reporting.pros[2]: PRS is listed more than once",
        ),
        (
            &["--societies", "PRS,,GEMA"],
            1,
            "show_info.reporting.pros[1]: a society's name must not be empty",
        ),
        (&["--formats", "pdf"], 2, "\"pdf\" is not an export format"),
        (&["--depth", "deep"], 2, "\"deep\" is not a report depth"),
        (
            &["--auto-export", "yes"],
            2,
            "\"yes\" is neither on nor off",
        ),
        (&[], 1, "nothing to set"),
    ];
    for (extra, code, message) in cases {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"show", &"set", &f.dir];
        args.extend(extra.iter().map(|e| e as &dyn AsRef<std::ffi::OsStr>));
        let r = hostctl(&args);
        assert_eq!(r.code, code, "{extra:?}: {}", r.stderr);
        assert!(r.stderr.contains(message), "{extra:?}: {}", r.stderr);
        assert_eq!(snapshot(&f), before, "{extra:?} changed the session");
    }
    assert_eq!(steps(&f), saves, "no save was made");
    let r = hostctl(&[&"show", &"set", &"--help"]).ok();
    assert!(
        r.stdout.contains("Example: `hostctl show set") && r.stdout.contains("--societies"),
        "{}",
        r.stdout
    );
}

/// Many files in one command, on the next free buttons, and a manifest;
/// a bad file or too few buttons refuse the whole import.
#[test]
fn clip_import_fills_free_buttons_in_order_or_follows_a_manifest() {
    let f = session();
    let mut files = Vec::new();
    for n in 0..5 {
        let p = f.src.join(format!("sfx{n}.wav"));
        wav(&p, 1, 48_000, 16, 4_800 + n);
        files.push(p);
    }
    add(&f, &files[0], "1,2", "A", &[]).ok();
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"clip", &"import", &f.dir];
    for p in &files[1..] {
        args.push(p);
    }
    args.extend([
        &"--tab" as &dyn AsRef<std::ffi::OsStr>,
        &"2",
        &"--from",
        &"1,7",
        &"--group",
        &"C",
        &"--json",
    ]);
    let r = hostctl(&args).ok().json();
    let placed: Vec<(String, u64, String)> = r["imported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["tab"].as_u64().unwrap(),
                c["at"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            ("c2".to_owned(), 2, "1,7".to_owned()),
            ("c3".to_owned(), 2, "1,8".to_owned()),
            ("c4".to_owned(), 2, "2,1".to_owned()),
            ("c5".to_owned(), 2, "2,2".to_owned())
        ],
        "reading order from 1,7 on the 4x8 grid"
    );
    assert!(["c2", "c3", "c4", "c5"]
        .iter()
        .all(|id| clip_json(&f, id)["group"] == "C"));
    let h = hostctl(&[&"history", &f.dir, &"--json"]).ok().json();
    assert!(
        h["undo"][0]["what"]
            .as_str()
            .unwrap()
            .starts_with("clip import"),
        "one edit: {h}"
    );

    // A corrupt file among good ones refuses all of them.
    let bad = f.src.join("bad.wav");
    fs::write(&bad, b"RIFF\0\0\0\0WAVEjunk").unwrap();
    let untouched = snapshot(&f);
    let r = hostctl(&[&"clip", &"import", &f.dir, &files[1], &bad, &"--tab", &"3"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("bad.wav cannot be a clip"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&f), untouched);
    // More files than free buttons after --from: refused, naming the tab.
    let r = hostctl(&[
        &"clip", &"import", &f.dir, &files[1], &files[2], &"--tab", &"4", &"--from", &"4,8",
    ]);
    assert!(
        r.stderr.contains("no free button left on page 1 tab 4"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&f), untouched);

    // A manifest: places, names, levels, fades, rights.
    let csv = f.src.join("cues.csv");
    fs::write(
        &csv,
        "file,tab,row,col,group,name,level_db,fade_out,loop,title,composer\n\
         sfx3.wav,5,2,2,D,Rain,-9,2.5,true,Rain Study,A. Composer\n\
         sfx4.wav,5,,,B,Wind,,,,,\n",
    )
    .unwrap();
    hostctl(&[&"clip", &"import", &f.dir, &"--manifest", &csv]).ok();
    let rain = clip_json(&f, "c6");
    assert_eq!(
        (rain["name"].as_str(), rain["group"].as_str()),
        (Some("Rain"), Some("D"))
    );
    assert_eq!(rain["processing"]["level_db"], -9.0);
    assert_eq!(rain["processing"]["fades"]["out"]["time_ms"], 2500.0);
    assert_eq!(rain["processing"]["loop"]["enabled"], true);
    assert_eq!(rain["audio"]["metadata"]["composer"], "A. Composer");
    assert_eq!(button_of(&f, "c6"), Some((0, 4, 2, 2)));
    assert_eq!(
        button_of(&f, "c7"),
        Some((0, 4, 1, 1)),
        "the first free button"
    );
    // A manifest with an unknown column is refused, naming it.
    let typo = f.src.join("typo.csv");
    fs::write(&typo, "file,volume_db\nsfx3.wav,-3\n").unwrap();
    let r = hostctl(&[&"clip", &"import", &f.dir, &"--manifest", &typo]);
    assert!(r.stderr.contains("volume_db"), "{}", r.stderr);
}

#[test]
fn time_sources_thresholds_and_busses_are_set_and_refused_when_wrong() {
    let f = session();
    hostctl(&[
        &"timing",
        &f.dir,
        &"--priority",
        &"ptp,ltc,system",
        &"--frame-rate",
        &"29.97",
        &"--chase",
        &"on",
    ])
    .ok();
    let t = &manifest(&f)["time_sources"];
    assert_eq!(t["priority"], serde_json::json!(["ptp", "ltc", "system"]));
    assert_eq!(
        (t["frame_rate"].as_str(), t["chase"].as_bool()),
        (Some("29.97df"), Some(true))
    );
    hostctl(&[
        &"thresholds",
        &f.dir,
        &"--recovery",
        &"60",
        &"--warning",
        &"70",
        &"--critical",
        &"85",
    ])
    .ok();
    assert_eq!(manifest(&f)["resources"]["thresholds"]["warning_pct"], 70.0);
    hostctl(&[
        &"bus",
        &f.dir,
        &"ltc",
        &"--enabled",
        &"on",
        &"--input",
        &"8",
    ])
    .ok();
    assert_eq!(manifest(&f)["busses"]["ltc_input"]["input"], 8);
    hostctl(&[
        &"bus",
        &f.dir,
        &"record-a",
        &"--enabled",
        &"on",
        &"--inputs",
        &"3,4",
    ])
    .ok();
    assert_eq!(
        manifest(&f)["busses"]["record_a"]["inputs"],
        serde_json::json!([3, 4])
    );

    let untouched = snapshot(&f);
    for (args, why) in [
        (vec!["timing", "--frame-rate", "23.976"], "is not supported"),
        (vec!["timing", "--priority", "gps"], "is not a time source"),
        (vec!["thresholds", "--recovery", "90"], "recovery"),
        (
            vec!["bus", "audition", "--inputs", "1,2"],
            "--inputs is not a setting of this bus",
        ),
        (vec!["bus", "record-b", "--inputs", "1"], "two inputs"),
        (vec!["fades", "--out", "700"], "fade_defaults.out"),
    ] {
        let (verb, rest) = args.split_first().unwrap();
        let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![verb, &f.dir];
        all.extend(rest.iter().map(|a| a as &dyn AsRef<std::ffi::OsStr>));
        let r = hostctl(&all);
        assert_ne!(r.code, 0, "{args:?} was accepted");
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert_eq!(snapshot(&f), untouched, "{args:?} changed the session");
    }
}

/// Edits the manifest by hand, as a designer does today.
fn edit_manifest(f: &Fixture, edit: impl FnOnce(&mut Value)) {
    let path = f.dir.join("session.json");
    let mut doc: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut doc);
    fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
}

#[test]
fn session_show_lists_names_levels_fades_loops_and_labels() {
    let f = session();
    wav(&f.src.join("storm.wav"), 2, 48_000, 24, 96_000);
    add(&f, &f.src.join("storm.wav"), "1,1", "A", &[]).ok();
    edit_manifest(&f, |doc| {
        let c = &mut doc["clips"][0];
        c["name"] = "Thunder roll".into();
        c["processing"]["level_db"] = (-6.0).into();
        c["processing"]["loop"] = serde_json::json!({"start": 48_000, "end": 72_000});
        c["processing"]["fades"]["out"] =
            serde_json::json!({"time_ms": 5000, "curve": "s_curve", "power": false});
        doc["pages"][0]["tabs"][0]["grid"]["buttons"][0]["label"] = "Storm 1".into();
    });
    let human = hostctl(&[&"session", &"show", &f.dir]).ok().stdout;
    for want in [
        "NAME",
        "Thunder roll",
        "-6.0 dB",
        "0.00/5.00 s",
        "1.000-1.500 s",
        "\"Storm 1\"",
    ] {
        assert!(human.contains(want), "{want:?} in\n{human}");
    }
    let show = hostctl(&[&"session", &"show", &f.dir, &"--json"])
        .ok()
        .json();
    let c = &show["clips"][0];
    assert_eq!(c["name"], "Thunder roll");
    assert_eq!(c["level_db"], -6.0);
    assert_eq!(c["loop"]["start"], 48_000);
    assert_eq!(c["loop"]["enabled"], true);
    assert_eq!(c["buttons"][0]["label"], "Storm 1");
    assert_eq!(
        c["fades"]["out"],
        serde_json::json!({"time_ms": 5000.0, "curve": "s_curve", "power": false, "from": "clip"})
    );
    assert_eq!(c["fades"]["in"]["from"], "session");
    assert_eq!(c["fades"]["crossfade"]["time_ms"], 1000.0);
}

#[test]
fn validate_names_typos_notes_strangers_and_lists_every_type_error() {
    let f = session();
    for (name, at) in [("a", "1,1"), ("b", "1,2"), ("c", "1,3")] {
        wav(&f.src.join(format!("{name}.wav")), 2, 48_000, 16, 4_800);
        add(&f, &f.src.join(format!("{name}.wav")), at, "A", &[]).ok();
    }
    // A typo is a problem (exit 1); a field like no other is a note.
    edit_manifest(&f, |doc| {
        doc["clips"][2]["processing"]["volume_db"] = (-6.0).into();
        doc["clips"][0]["processing"]["reverb_send"] = 0.2.into();
    });
    let r = hostctl(&[&"session", &"validate", &f.dir]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "clips[2].processing.volume_db: unknown field `volume_db` in clip c3: did you mean `level_db`?"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(
            "note: clips[0].processing.reverb_send: unknown field `reverb_send` in clip c1 is kept"
        ),
        "{}",
        r.stdout
    );
    let r = hostctl(&[&"session", &"validate", &f.dir, &"--json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["problems"].as_array().unwrap().len(), 1);
    assert_eq!(
        r.json()["notes"][0]["path"],
        "clips[0].processing.reverb_send"
    );

    // The stranger alone: valid, with its note.
    edit_manifest(&f, |doc| {
        let p = doc["clips"][2]["processing"].as_object_mut().unwrap();
        p.remove("volume_db");
    });
    let r = hostctl(&[&"session", &"validate", &f.dir]).ok();
    assert!(r.stdout.contains("valid (3 clips)"), "{}", r.stdout);
    assert!(
        r.stdout.contains("note: clips[0].processing.reverb_send"),
        "{}",
        r.stdout
    );

    // Two clips with a level of the wrong type: both, with their paths.
    edit_manifest(&f, |doc| {
        doc["clips"][0]["processing"]["level_db"] = "loud".into();
        doc["clips"][2]["processing"]["level_db"] = "very loud".into();
    });
    let r = hostctl(&[&"session", &"validate", &f.dir]);
    assert_eq!(r.code, 1);
    for line in [
        "clips[0].processing.level_db: invalid type: string \"loud\", expected f64",
        "clips[2].processing.level_db: invalid type: string \"very loud\", expected f64",
    ] {
        assert!(r.stdout.contains(line), "{line:?} in {}", r.stdout);
    }
    assert!(
        r.stderr.contains("session.json: 2 problem(s)"),
        "{}",
        r.stderr
    );
    let r = hostctl(&[&"session", &"validate", &f.dir, &"--json"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["valid"], false);
    assert_eq!(
        r.json()["problems"][1]["path"],
        "clips[2].processing.level_db"
    );
}

/// Writes a WAV of `frames` frames of a tune picked by `seed`: a new pitch
/// every 60 ms with a decaying envelope, so different seeds sound different
/// and a fingerprint has something to hold on to.
fn tune(path: &Path, seed: u32, channels: u16, frames: u32) {
    let format = WavFormat::int16(channels, 48_000);
    write_wav(path, format, frames, |i, _| {
        let note = i / 2_880;
        let mut x = (note + 1).wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503);
        x ^= x >> 13;
        let freq = 110.0 * 2f32.powf((x % 48) as f32 / 12.0);
        let t = i as f32 / 48_000.0;
        let env = (-((i % 2_880) as f32) / 1_000.0).exp();
        0.5 * env * (std::f32::consts::TAU * freq * t).sin()
    });
}

fn missing_entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["missing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not reported missing: {report:#}"))
}

#[test]
fn recovery_finds_renamed_moved_and_re_encoded_media_and_never_offers_an_impostor() {
    let f = session();
    let frames = 3 * 48_000;
    let names = ["renamed", "moved", "encoded", "truncated", "impostor"];
    for (seed, name) in names.iter().enumerate() {
        tune(
            &f.src.join(format!("{name}.wav")),
            seed as u32 + 1,
            2,
            frames,
        );
    }
    // The clip "encoded" is a FLAC file; the WAV it came from stays aside.
    let flac = f.src.join("encoded.flac");
    let sox = Command::new("sox")
        .arg(f.src.join("encoded.wav"))
        .arg(&flac)
        .status()
        .expect("sox is installed (scripts/setup.sh)");
    assert!(sox.success());
    for (i, name) in names.iter().enumerate() {
        let file = if *name == "encoded" {
            flac.clone()
        } else {
            f.src.join(format!("{name}.wav"))
        };
        add(&f, &file, &format!("1,{}", i + 1), "A", &[]).ok();
    }
    let search = f._tmp.path().join("backup");
    fs::create_dir_all(&search).unwrap();

    // Renamed inside the media folder; moved to a sibling folder; re-encoded
    // to WAV elsewhere; cut short in place with a good copy elsewhere;
    // replaced in place by other audio of the same name and length.
    fs::rename(
        f.media.join("renamed.wav"),
        f.media.join("renamed-final.wav"),
    )
    .unwrap();
    let sibling = f.dir.join("media-old");
    fs::create_dir_all(&sibling).unwrap();
    fs::rename(f.media.join("moved.wav"), sibling.join("moved.wav")).unwrap();
    fs::remove_file(f.media.join("encoded.flac")).unwrap();
    fs::copy(f.src.join("encoded.wav"), search.join("encoded.wav")).unwrap();
    fs::copy(f.media.join("truncated.wav"), search.join("truncated.wav")).unwrap();
    let cut = fs::OpenOptions::new()
        .write(true)
        .open(f.media.join("truncated.wav"))
        .unwrap();
    cut.set_len(u64::from(frames) * 2).unwrap();
    tune(&f.media.join("impostor.wav"), 99, 2, frames);

    let r = hostctl(&[&"media", &"find", &f.dir, &"--search", &search, &"--json"]);
    assert_eq!(r.code, 1, "unresolved clips exit 1: {}", r.stderr);
    let report = r.json();
    assert_eq!(report["missing"].as_array().unwrap().len(), 5, "{report:#}");
    let best = |name: &str| missing_entry(&report, name)["candidates"][0].clone();
    let expect = [
        ("renamed", f.media.join("renamed-final.wav"), "exact"),
        ("moved", sibling.join("moved.wav"), "exact"),
        ("encoded", search.join("encoded.wav"), "same_audio"),
        ("truncated", search.join("truncated.wav"), "exact"),
    ];
    for (name, path, verdict) in &expect {
        let c = best(name);
        let found = PathBuf::from(c["path"].as_str().unwrap());
        assert_eq!(&found, &path.canonicalize().unwrap(), "{name}: {c:#}");
        assert_eq!(c["verdict"], *verdict, "{name}: {c:#}");
    }
    // The cut copy in place decodes short of the clip: refused, with why.
    let truncated = &missing_entry(&report, "truncated")["candidates"];
    let in_place = truncated
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"].as_str().unwrap().ends_with("media/truncated.wav"))
        .expect("the cut file is judged");
    assert_eq!(in_place["verdict"], "refused", "{in_place:#}");
    // The impostor is listed, refused for its audio, and nothing is a match.
    let impostor = &missing_entry(&report, "impostor")["candidates"];
    assert!(
        impostor
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"] != "exact" && c["verdict"] != "same_audio"),
        "{impostor:#}"
    );
    let refused = &impostor[0];
    assert_eq!(refused["verdict"], "refused");
    assert!(
        refused.to_string().contains("different audio"),
        "{refused:#}"
    );
    let impostor_id = missing_entry(&report, "impostor")["clip"]
        .as_str()
        .unwrap()
        .to_owned();
    // A manual relink to it is refused; the operator records the refusal.
    let r = hostctl(&[
        &"media",
        &"relink",
        &f.dir,
        &impostor_id,
        &f.media.join("impostor.wav"),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("is not") && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    hostctl(&[
        &"media",
        &"refuse",
        &f.dir,
        &impostor_id,
        &f.media.join("impostor.wav"),
    ])
    .ok();

    // The batch relinks the four, keeping each clip's processing.
    let before = manifest(&f);
    let r = hostctl(&[
        &"media",
        &"find",
        &f.dir,
        &"--search",
        &search,
        &"--accept",
        &"best",
        &"--json",
    ]);
    assert_eq!(r.code, 1, "the impostor is still unresolved");
    assert_eq!(
        r.json()["relinked"].as_array().unwrap().len(),
        4,
        "{}",
        r.stdout
    );
    let after = manifest(&f);
    for (b, a) in before["clips"]
        .as_array()
        .unwrap()
        .iter()
        .zip(after["clips"].as_array().unwrap())
    {
        assert_eq!(b["processing"], a["processing"], "processing kept");
    }
    let r = hostctl(&[&"session", &"validate", &f.dir, &"--hashes", &"--json"]);
    let problems = r.json()["problems"].as_array().unwrap().clone();
    assert_eq!(
        problems.len(),
        1,
        "only the impostor is left: {problems:#?}"
    );
    assert!(
        f.media.join("encoded.wav").is_file(),
        "copied into the media folder"
    );

    let audit = hostctl(&[&"media", &"audit", &f.dir, &"--json"])
        .ok()
        .json();
    let rows = audit["audit"].as_array().unwrap();
    let decisions: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["decision"].as_str().unwrap(),
                r["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("refused", "refused"),
            ("automatic", "exact"),
            ("automatic", "exact"),
            ("automatic", "same_audio"),
            ("automatic", "exact"),
        ]
    );
    // One edit: one undo puts every clip back on its old file.
    hostctl(&[&"undo", &f.dir]).ok();
    assert_eq!(manifest(&f)["clips"], before["clips"]);
}

/// A session "name" in `root` with a clip on page 1 tab 1 at each of
/// `places` (row, col), each its own tune; its folder.
fn show_with(root: &Path, name: &str, seed: u32, places: &[(u16, u16)]) -> PathBuf {
    let dir = root.join(name);
    hostctl(&[&"session", &"new", &dir, &"--media", &dir.join("media")]).ok();
    for (i, (r, c)) in places.iter().enumerate() {
        let file = root.join(format!("{name}-{i}.wav"));
        tune(&file, seed + i as u32, 2, 48_000);
        add_to(&dir, &file, &format!("{r},{c}"));
    }
    dir
}

fn add_to(dir: &Path, file: &Path, at: &str) {
    hostctl(&[&"clip", &"add", &dir, &file, &"--at", &at, &"--group", &"B"]).ok();
}

/// `session show --json` without what differs between two folders.
fn shown(dir: &Path) -> Value {
    let mut v = hostctl(&[&"session", &"show", &dir, &"--json"]).ok().json();
    v.as_object_mut().unwrap().remove("media_folder_resolved");
    v
}

#[test]
fn a_full_package_round_trips_to_an_identical_show() {
    let tmp = tempfile::tempdir().unwrap();
    let src = show_with(tmp.path(), "src", 1, &[(1, 1), (2, 3)]);
    hostctl(&[
        &"clip",
        &"set",
        &src,
        &"c1",
        &"--level",
        &"-6",
        &"--fade-in",
        &"0.5",
    ])
    .ok();
    hostctl(&[&"pages", &"add", &src, &"--name", &"Act 2"]).ok();
    let file = tmp.path().join("src.tar");
    let r = hostctl(&[&"package", &"export", &src, &"-o", &file, &"--json"]).ok();
    assert_eq!(r.json()["manifest"]["package_version"], 1);
    assert_eq!(r.json()["manifest"]["media"].as_array().unwrap().len(), 2);

    // A dry run reports and writes nothing.
    let fresh = tmp.path().join("fresh");
    let r = hostctl(&[
        &"package",
        &"import",
        &file,
        &fresh,
        &"--dry-run",
        &"--json",
    ])
    .ok();
    assert_eq!(r.json()["report"]["added"].as_array().unwrap().len(), 2);
    assert_eq!(
        r.json()["report"]["needs"]["groups"],
        serde_json::json!(["B"])
    );
    assert!(!fresh.exists(), "a dry run writes nothing");

    hostctl(&[&"package", &"import", &file, &fresh]).ok();
    hostctl(&[&"session", &"validate", &fresh, &"--hashes"]).ok();
    assert_eq!(shown(&src), shown(&fresh), "the same show");
    // Exported again, the manifest lists the same media.
    let again = tmp.path().join("again.tar");
    let a = hostctl(&[&"package", &"export", &fresh, &"-o", &again, &"--json"]).ok();
    let b = hostctl(&[&"package", &"export", &src, &"-o", &file, &"--json"]).ok();
    assert_eq!(a.json()["manifest"]["media"], b.json()["manifest"]["media"]);

    // Without -o the package goes to Exports/<date>/ beside the session.
    let r = hostctl(&[&"package", &"export", &src, &"--mode", &"page", &"1"]).ok();
    let written = PathBuf::from(r.stdout.trim());
    assert!(written.starts_with(tmp.path().canonicalize().unwrap().join("Exports")));
    assert!(
        written.ends_with("src-page-1.tar") && written.is_file(),
        "{written:?}"
    );
}

#[test]
fn page_and_tab_packages_merge_under_each_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let src = show_with(tmp.path(), "src", 1, &[(1, 1), (1, 2)]);
    let page = tmp.path().join("page.tar");
    hostctl(&[
        &"package", &"export", &src, &"--mode", &"page", &"1", &"-o", &page,
    ])
    .ok();
    let tab = tmp.path().join("tab.tar");
    hostctl(&[
        &"package", &"export", &src, &"--mode", &"tab", &"1.1", &"-o", &tab,
    ])
    .ok();
    let clip_names = |dir: &Path| -> Vec<(String, String)> {
        let v = shown(dir);
        v["clips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let b = &c["buttons"][0];
                (
                    c["name"].as_str().unwrap().to_owned(),
                    format!("{}.{} r{}c{}", b["page"], b["tab"], b["row"], b["col"]),
                )
            })
            .collect()
    };
    for (policy, package, expect) in [
        (
            "keep",
            &page,
            vec![("dst-0", "1.1 r1c1"), ("src-1", "1.1 r1c2")],
        ),
        (
            "replace",
            &page,
            vec![("src-0", "1.1 r1c1"), ("src-1", "1.1 r1c2")],
        ),
        (
            "rename",
            &tab,
            vec![
                ("dst-0", "1.1 r1c1"),
                ("src-0", "1.1 r1c3"),
                ("src-1", "1.1 r1c2"),
            ],
        ),
    ] {
        let dst = show_with(&tmp.path().join(policy), "dst", 50, &[(1, 1)]);
        let before = shown(&dst);
        let dry = hostctl(&[
            &"package",
            &"import",
            package,
            &dst,
            &"--policy",
            &policy,
            &"--dry-run",
            &"--json",
        ])
        .ok();
        assert_eq!(shown(&dst), before, "{policy}: a dry run changes nothing");
        hostctl(&[&"package", &"import", package, &dst, &"--policy", &policy]).ok();
        hostctl(&[&"session", &"validate", &dst, &"--hashes"]).ok();
        let mut got = clip_names(&dst);
        got.sort();
        let expect: Vec<(String, String)> = expect
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, expect, "{policy}: {}", dry.stdout);
        let conflicts = dry.json()["report"]["conflicts"].as_array().unwrap().len()
            + dry.json()["report"]["replaced"].as_array().unwrap().len();
        assert_eq!(
            conflicts, 1,
            "{policy}: one conflict reported: {}",
            dry.stdout
        );
        // One edit: undo leaves the session as it was.
        hostctl(&[&"undo", &dst]).ok();
        assert_eq!(shown(&dst)["clips"], before["clips"], "{policy}: undone");
    }
}

/// The entries of a package: (name, bytes).
fn entries(file: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = tar::Archive::new(fs::File::open(file).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// A tar entry as written: raw name, kind, bytes.
type RawEntry = (String, tar::EntryType, Vec<u8>);

/// Writes a tar of `entries`, names as given (no checks: hostile names too).
fn write_tar(file: &Path, entries: &[RawEntry]) {
    let mut b = tar::Builder::new(fs::File::create(file).unwrap());
    for (name, kind, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        let raw = &mut h.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(*kind);
        h.set_size(bytes.len() as u64);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, &bytes[..]).unwrap();
    }
    b.finish().unwrap();
}

#[test]
fn hostile_packages_are_refused_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let src = show_with(tmp.path(), "src", 1, &[(1, 1)]);
    let good = tmp.path().join("good.tar");
    hostctl(&[&"package", &"export", &src, &"-o", &good]).ok();
    let reg = tar::EntryType::Regular;
    let base: Vec<RawEntry> = entries(&good)
        .into_iter()
        .map(|(n, b)| (n, reg, b))
        .collect();
    let media_name = base[2].0.clone();
    let manifest: Value = serde_json::from_slice(&base[0].2).unwrap();
    let with_manifest = |edit: &dyn Fn(&mut Value)| {
        let mut m = manifest.clone();
        edit(&mut m);
        let mut e = base.clone();
        e[0].2 = serde_json::to_vec(&m).unwrap();
        e
    };
    let mut cases: Vec<(&str, Vec<RawEntry>, &str)> = Vec::new();
    let mut traversal = base.clone();
    traversal.push(("media/../../evil.sh".into(), reg, b"#!/bin/sh\n".to_vec()));
    cases.push(("traversal", traversal, "does not list"));
    let mut symlink = base.clone();
    symlink.insert(2, (media_name.clone(), tar::EntryType::Symlink, Vec::new()));
    cases.push(("symlink", symlink, "regular files only"));
    let mut hardlink = base.clone();
    hardlink.insert(2, (media_name.clone(), tar::EntryType::Link, Vec::new()));
    cases.push(("hardlink", hardlink, "regular files only"));
    let mut huge = base.clone();
    huge[0].2 = vec![b' '; 17 << 20];
    cases.push(("oversized manifest", huge, "at most"));
    let mut tampered = base.clone();
    let last = tampered[2].2.len() - 1;
    tampered[2].2[last] ^= 0x55;
    cases.push(("mismatched media", tampered, "does not hold the bytes"));
    let mut missing = base.clone();
    missing.truncate(2);
    cases.push(("missing media", missing, "is missing from it"));
    cases.push((
        "newer version",
        with_manifest(&|m| m["package_version"] = 2.into()),
        "update cuebox",
    ));
    cases.push((
        "bomb claim",
        with_manifest(&|m| m["media"][0]["size"] = (1u64 << 40).into()),
        "declares",
    ));
    for (what, entries, says) in cases {
        let file = tmp.path().join(format!("{what}.tar"));
        write_tar(&file, &entries);
        // Zero blocks after the end (as a tar is often padded) make every
        // case as long as the good package, so each meets its own check.
        let f = fs::OpenOptions::new().write(true).open(&file).unwrap();
        let len = f
            .metadata()
            .unwrap()
            .len()
            .max(fs::metadata(&good).unwrap().len());
        f.set_len(len).unwrap();
        // Into a new folder: nothing is created.
        let fresh = tmp.path().join("fresh");
        let r = hostctl(&[&"package", &"import", &file, &fresh]);
        assert_eq!(r.code, 1, "{what}: {}", r.stdout);
        assert!(r.stderr.contains(says), "{what}: {}", r.stderr);
        assert!(!fresh.exists(), "{what}: nothing written");
        // Into a session: it and its media folder are unchanged.
        let before = (manifest_bytes(&src), listing(&src.join("media")));
        let r = hostctl(&[&"package", &"import", &file, &src, &"--policy", &"rename"]);
        assert_eq!(r.code, 1, "{what}");
        assert_eq!(
            (manifest_bytes(&src), listing(&src.join("media"))),
            before,
            "{what}"
        );
    }
    assert!(!tmp.path().join("evil.sh").exists());
}

fn manifest_bytes(dir: &Path) -> Vec<u8> {
    fs::read(dir.join("session.json")).unwrap()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_media_move_killed_at_any_point_loses_nothing_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let places: Vec<(u16, u16)> = (1..=12)
        .map(|c| (1 + (c - 1) / 8, 1 + (c - 1) % 8))
        .collect();
    let dir = show_with(tmp.path(), "show", 1, &[]);
    for (i, (r, c)) in places.iter().enumerate() {
        let file = tmp.path().join(format!("take{i}.wav"));
        tune(&file, 10 + i as u32, 2, 20 * 48_000);
        add_to(&dir, &file, &format!("{r},{c}"));
    }
    let old = dir.join("media");
    let new = tmp.path().join("elsewhere/media");
    fs::create_dir(tmp.path().join("elsewhere")).unwrap();

    // The report first: nothing changes without --yes.
    let before = manifest_bytes(&dir);
    let r = hostctl(&[
        &"media", &"move", &dir, &"--to", &new, &"--mode", &"move", &"--json",
    ])
    .ok();
    let plan = &r.json()["plan"];
    assert_eq!(plan["files"].as_array().unwrap().len(), 12);
    assert_eq!(plan["problems"].as_array().unwrap().len(), 0, "{plan:#}");
    assert!(plan["bytes"].as_u64().unwrap() > 12 * 3_000_000);
    assert!(plan["estimated_secs"].as_f64().is_some(), "{plan:#}");
    assert_eq!(manifest_bytes(&dir), before);
    // A folder that cannot be made is a problem, and nothing changes.
    fs::write(tmp.path().join("a-file"), "x").unwrap();
    let r = hostctl(&[
        &"media",
        &"move",
        &dir,
        &"--to",
        &tmp.path().join("a-file/media"),
        &"--mode",
        &"copy",
        &"--yes",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("problem:"), "{}", r.stdout);
    assert_eq!(manifest_bytes(&dir), before);

    // Killed again and again, a little later each time, until it finishes:
    // after every kill the session's recorded folder holds every file.
    let mut wait = std::time::Duration::from_millis(20);
    let mut kills_mid_way = 0;
    let said = dir.with_extension("move.err");
    for attempt in 0.. {
        assert!(attempt < 60, "the move never finished");
        let mut child = Command::new(env!("CARGO_BIN_EXE_hostctl"))
            .args(["media", "move"])
            .arg(&dir)
            .arg("--to")
            .arg(&new)
            .args(["--mode", "move", "--yes"])
            .stdout(std::process::Stdio::null())
            .stderr(fs::File::create(&said).unwrap())
            .spawn()
            .unwrap();
        std::thread::sleep(wait);
        let finished = child.try_wait().unwrap();
        if finished.is_none() {
            child.kill().unwrap();
        }
        let status = child.wait().unwrap();
        hostctl(&[&"session", &"validate", &dir, &"--hashes"]).ok();
        if finished.is_some() {
            let said = fs::read_to_string(&said).unwrap_or_default();
            assert!(status.success(), "the last run succeeds: {said}");
            break;
        }
        if dir.join(".media-move.json").exists() {
            kills_mid_way += 1;
        }
        wait = wait.mul_f64(1.4);
    }
    assert!(kills_mid_way >= 2, "killed mid-way {kills_mid_way} times");
    assert!(
        !dir.join(".media-move.json").exists(),
        "the journal is gone"
    );
    let resolved = shown(&dir);
    let recorded: Value = serde_json::from_slice(&manifest_bytes(&dir)).unwrap();
    assert_eq!(
        recorded["session"]["media_folder"],
        new.canonicalize().unwrap().to_str().unwrap()
    );
    assert_eq!(
        listing(&new).iter().filter(|n| n.ends_with(".wav")).count(),
        12
    );
    assert!(
        listing(&old).iter().all(|n| !n.ends_with(".wav")),
        "old copies deleted: {:?}",
        listing(&old)
    );
    assert_eq!(resolved["clips"].as_array().unwrap().len(), 12);

    // Undoing the switch would point the session at the old folder, whose
    // copies are gone: refused, with how to move them back.
    let before = manifest_bytes(&dir);
    let r = hostctl(&[&"undo", &dir]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("12 of its files are gone") && r.stderr.contains("--mode move --yes"),
        "{}",
        r.stderr
    );
    assert_eq!(manifest_bytes(&dir), before, "nothing undone");
    // After a copy the old folder still holds them: that undo goes through.
    let third = tmp.path().join("third");
    hostctl(&[
        &"media", &"move", &dir, &"--to", &third, &"--mode", &"copy", &"--yes",
    ])
    .ok();
    hostctl(&[&"undo", &dir]).ok();
    let recorded: Value = serde_json::from_slice(&manifest_bytes(&dir)).unwrap();
    assert_eq!(
        recorded["session"]["media_folder"],
        new.canonicalize().unwrap().to_str().unwrap()
    );
}

/// A merge the final validation refuses (a timecode trigger at 30 fps
/// that does not exist at the target's 25) writes nothing: no manifest
/// change, and none of the package's media left in the media folder.
#[test]
fn a_merge_refused_by_validation_leaves_no_media() {
    let tmp = tempfile::tempdir().unwrap();
    let src = show_with(tmp.path(), "src", 3, &[(1, 1)]);
    hostctl(&[&"timing", &src, &"--frame-rate", &"30"]).ok();
    hostctl(&[&"clip", &"set", &src, &"c1", &"--trigger", &"00:00:01:29"]).ok();
    let tab = tmp.path().join("tab.tar");
    hostctl(&[
        &"package", &"export", &src, &"--mode", &"tab", &"1.1", &"-o", &tab,
    ])
    .ok();
    // At the default 25 fps.
    let dst = show_with(tmp.path(), "dst", 9, &[]);
    let before = (manifest_bytes(&dst), listing(&dst.join("media")));
    let r = hostctl(&[&"package", &"import", &tab, &dst]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("timecode"), "{}", r.stderr);
    assert_eq!((manifest_bytes(&dst), listing(&dst.join("media"))), before);
}

#[test]
fn clip_list_and_metadata_packages_add_in_order_and_update_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let src = show_with(tmp.path(), "src", 1, &[(1, 1), (1, 2), (1, 3)]);
    hostctl(&[&"clip", &"set", &src, &"c1", &"--level", &"-6"]).ok();
    let full = tmp.path().join("full.tar");
    hostctl(&[&"package", &"export", &src, &"-o", &full]).ok();
    let dst = tmp.path().join("dst");
    hostctl(&[&"package", &"import", &full, &dst]).ok();

    // A clip list, in the order given, onto the free buttons of tab 2.
    let picks = tmp.path().join("picks.tar");
    hostctl(&[
        &"package", &"export", &src, &"--mode", &"clips", &"c3,c1", &"-o", &picks,
    ])
    .ok();
    let r = hostctl(&[
        &"package",
        &"import",
        &picks,
        &dst,
        &"--to",
        &"1.2",
        &"--policy",
        &"rename",
        &"--json",
    ])
    .ok();
    let report = r.json();
    let added: Vec<&str> = report["report"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        added,
        ["c4 \"src-2\" at 1.2 1,1", "c5 \"src-0\" at 1.2 1,2"],
        "{}",
        r.stdout
    );
    // Their media are the ones already there: nothing copied twice.
    assert_eq!(r.json()["report"]["media_present"], 2);
    assert_eq!(listing(&dst.join("media")).len(), 3);
    let after = shown(&dst);
    assert_eq!(
        after["clips"][4]["level_db"], -6.0,
        "processing travels with the clip"
    );
    // Under keep, the same clips are conflicts and nothing is added.
    let r = hostctl(&[
        &"package",
        &"import",
        &picks,
        &dst,
        &"--policy",
        &"keep",
        &"--json",
    ])
    .ok();
    assert_eq!(r.json()["report"]["added"].as_array().unwrap().len(), 0);
    assert_eq!(r.json()["report"]["conflicts"].as_array().unwrap().len(), 2);

    // Settings only: applied to the clips of the same media under replace,
    // reported under keep, refused under rename.
    hostctl(&[&"clip", &"set", &dst, &"c1", &"--level", &"0"]).ok();
    let levels = tmp.path().join("levels.tar");
    let r = hostctl(&[
        &"package",
        &"export",
        &src,
        &"--mode",
        &"metadata",
        &"c1",
        &"-o",
        &levels,
        &"--json",
    ])
    .ok();
    assert!(r.json()["manifest"]["media"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["included"] == false));
    let level = |dir: &Path| shown(dir)["clips"][0]["level_db"].clone();
    hostctl(&[&"package", &"import", &levels, &dst, &"--policy", &"keep"]).ok();
    assert_eq!(level(&dst), 0.0);
    let r = hostctl(&[&"package", &"import", &levels, &dst, &"--policy", &"rename"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("keep or replace"), "{}", r.stderr);
    hostctl(&[
        &"package",
        &"import",
        &levels,
        &dst,
        &"--policy",
        &"replace",
    ])
    .ok();
    assert_eq!(level(&dst), -6.0);
    assert_eq!(
        shown(&dst)["clips"][4]["level_db"],
        -6.0,
        "every clip of that media"
    );
}

#[test]
fn a_clips_file_is_renamed_copied_and_deleted_with_its_processing_kept_and_its_cost_said() {
    let f = session();
    let a = f.src.join("thunder.wav");
    wav(&a, 2, 48_000, 16, 48_000);
    add(&f, &a, "1,1", "A", &[]).ok();
    hostctl(&[
        &"clip",
        &"set",
        &f.dir,
        &"c1",
        &"--level",
        &"-6",
        &"--fade-out",
        &"2",
    ])
    .ok();
    hostctl(&[&"clip", &"copy", &f.dir, &"c1", &"--at", &"1,2"]).ok(); // c2 shares the file
    let processing = clip_json(&f, "c1")["processing"].clone();
    let size = fs::metadata(f.media.join("thunder.wav")).unwrap().len();

    // Without --yes: what it costs, nothing changed.
    let untouched = snapshot(&f);
    let r = hostctl(&[
        &"media",
        &"rename",
        &f.dir,
        &"c1",
        &"--to",
        &"sfx/storm.wav",
        &"--json",
    ])
    .ok();
    let said: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(said["done"], false);
    assert_eq!(said["impact"]["clips"], serde_json::json!(["c1", "c2"]));
    assert_eq!(said["impact"]["voices"], 4, "two stereo clips");
    assert_eq!(said["impact"]["heads_bytes"], 4 * 2 * 48_000 * 4);
    assert_eq!(snapshot(&f), untouched);

    // Rename: both clips follow, processing as it was, the old name gone.
    hostctl(&[
        &"media",
        &"rename",
        &f.dir,
        &"c1",
        &"--to",
        &"sfx/storm.wav",
        &"--yes",
    ])
    .ok();
    for id in ["c1", "c2"] {
        assert_eq!(clip_json(&f, id)["audio"]["path"], "sfx/storm.wav");
    }
    assert_eq!(clip_json(&f, "c1")["processing"], processing);
    assert!(!f.media.join("thunder.wav").exists());
    hostctl(&[&"session", &"validate", &f.dir, &"--hashes"]).ok();
    // Undo would point the clips at a name that is gone: refused, saying so.
    let r = hostctl(&[&"undo", &f.dir]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("cannot be undone: thunder.wav was renamed sfx/storm.wav")
            && r.stderr.contains("hostctl media rename"),
        "{}",
        r.stderr
    );
    hostctl(&[&"session", &"validate", &f.dir, &"--hashes"]).ok();

    // Copy: a new clip with a file of its own and the same processing.
    let r = hostctl(&[
        &"media",
        &"copy",
        &f.dir,
        &"c1",
        &"--to",
        &"sfx/storm-2.wav",
        &"--tab",
        &"2",
        &"--at",
        &"1,1",
        &"--yes",
        &"--json",
    ])
    .ok();
    let said: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(said["impact"]["disk_bytes"], size);
    assert_eq!(said["impact"]["clips"], serde_json::json!(["c3"]));
    assert_eq!(clip_json(&f, "c3")["audio"]["path"], "sfx/storm-2.wav");
    assert_eq!(clip_json(&f, "c3")["processing"], processing);
    assert_eq!(button_of(&f, "c3"), Some((0, 1, 1, 1)));
    // A name already taken is refused, nothing changed.
    let untouched = snapshot(&f);
    let r = hostctl(&[
        &"media",
        &"rename",
        &f.dir,
        &"c3",
        &"--to",
        &"sfx/storm.wav",
        &"--yes",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("exists already"), "{}", r.stderr);
    assert_eq!(snapshot(&f), untouched);

    // Delete: the file and every clip that plays it; its space comes back.
    let r = hostctl(&[&"media", &"delete", &f.dir, &"c1", &"--yes", &"--json"]).ok();
    let said: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(said["impact"]["disk_bytes"], -(size as i64));
    assert!(manifest(&f)["clips"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] == "c3"));
    assert!(!f.media.join("sfx/storm.wav").exists());
    hostctl(&[&"session", &"validate", &f.dir, &"--hashes"]).ok();
}
