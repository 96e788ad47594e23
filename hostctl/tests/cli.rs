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
    for verb in ["session", "clip", "grid"] {
        assert!(r.stdout.contains(verb), "{}", r.stdout);
    }
    let r = hostctl(&[&"clip", &"add", &"--help"]).ok();
    assert!(
        r.stdout.contains("ROW,COL") && r.stdout.contains("A, B, C or D"),
        "{}",
        r.stdout
    );
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
