//! The show document as a user meets it: saving and loading, old and new
//! formats, validation messages, hostile files and grid edits.

use cuebox_engine::fixtures::described_audio;
use cuebox_engine::show::*;
use serde_json::{json, Value};

fn t(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn dims(r: u16, c: u16) -> GridDims {
    GridDims::new(r, c).unwrap()
}

fn at(page: u16, tab: usize, row: u16, col: u16) -> Placement {
    Placement {
        page: PageNo::new(page).unwrap(),
        tab: TabIndex::from_number(tab).unwrap(),
        pos: GridPos::new(row, col).unwrap(),
    }
}

/// A 24-bit file with a title and an ISRC.
fn audio(path: &str, channels: Channels, frames: u64) -> AudioRef {
    let mut audio = described_audio(path, channels, frames);
    audio.format.bit_depth = Some(24);
    audio.format.codec = "pcm_s24le".into();
    audio.metadata = RightsMetadata {
        title: Some(format!("Title of {path}")),
        isrc: Some("GB-AYE-69-00531".into()),
        ..RightsMetadata::default()
    };
    audio
}

fn clip(name: &str, group: Group, channels: Channels) -> NewClip {
    NewClip {
        name: name.into(),
        group,
        audio: audio(&format!("{name}.wav"), channels, 480_000),
    }
}

/// A show using every part of the model.
fn rich_show() -> Show {
    let mut show = Show::new("Hamlet", "media", dims(4, 8), t("2026-11-01T19:00:00Z"));
    show.pages.push(Page::new("Act 2", dims(2, 2)));
    show.page_view = PageView::Dual {
        left: PageNo::new(1).unwrap(),
        right: PageNo::new(2).unwrap(),
        focus: Side::Right,
        extra: Extra::new(),
    };
    let storm = show
        .add_clip(clip("storm", Group::A, Channels::Stereo), at(1, 1, 1, 1))
        .unwrap();
    let bell = show
        .add_clip(clip("bell", Group::B, Channels::Mono), at(2, 8, 2, 2))
        .unwrap();
    let c = show.clips.iter_mut().find(|c| c.id == storm).unwrap();
    c.processing.level_db = -6.5;
    c.processing.cue = CueRange {
        start: Frames(4_800),
        end: Some(Frames(400_000)),
        extra: Extra::new(),
    };
    c.processing.loop_region = Some(LoopRegion {
        start: Frames(48_000),
        end: Frames(96_000),
        enabled: true,
        extra: Extra::new(),
    });
    c.processing.warp_markers = vec![
        WarpMarker {
            frame: Frames(0),
            beat: 0.0,
            extra: Extra::new(),
        },
        WarpMarker {
            frame: Frames(24_000),
            beat: 1.0,
            extra: Extra::new(),
        },
    ];
    c.processing.fades.fade_out = Some(Fade::new(5_000.0, Curve::SCurve, false));
    // A mode and a setting that round-trip; a rate other than 1 would be
    // a problem until time/pitch is built.
    c.processing.time_pitch.mode = WarpMode::Basic;
    c.processing.time_pitch.preserve_pitch = false;
    c.analysis = ClipAnalysis::Done {
        tempo_bpm: 120.0,
        confidence: 0.9,
        alternatives: vec![TempoCandidate {
            bpm: 60.0,
            confidence: 0.4,
            extra: Extra::new(),
        }],
        sections: vec![Section {
            start: Frames(96_000),
            label: "chorus".into(),
            extra: Extra::new(),
        }],
        extra: Extra::new(),
    };
    show.busses.groups.d.mode = GroupMode::Free {
        extra: Extra::new(),
    };
    show.analysis.overrides.push(TempoOverride {
        clip: bell,
        bpm: 90.0,
        extra: Extra::new(),
    });
    show.analysis.tempo_map.push(TempoPoint {
        at_secs: 0.0,
        bpm: 120.0,
        beats_per_bar: 4,
        extra: Extra::new(),
    });
    show.show_info.production = "Hamlet".into();
    show.show_info.venue.name = "The Globe".into();
    show.show_info.performance_dates =
        vec!["2026-12-01".parse().unwrap(), "2026-12-02".parse().unwrap()];
    show.show_info.reporting.pros = vec!["PRS".into()];
    show
}

#[test]
fn a_clip_asking_for_time_or_pitch_is_a_problem_until_it_is_built() {
    let mut doc = json_of(&rich_show());
    doc["clips"][0]["processing"]["time_pitch"] = json!({"rate": 1.25});
    doc["clips"][1]["processing"]["time_pitch"] =
        json!({"mode": "full", "rate": 1.0, "pitch_semitones": -2.0});
    let show = load(&doc).unwrap().show;
    let problems: Vec<String> = show.validate().iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "clips[0].processing.time_pitch: clip \"c1\" asks for rate 1.25x and pitch +0 st, \
             but time/pitch is not built yet: it plays at 1.0x and its own pitch",
            "clips[1].processing.time_pitch: clip \"c2\" asks for rate 1x and pitch -2 st, \
             but time/pitch is not built yet: it plays at 1.0x and its own pitch",
        ]
    );
    // A mode with nothing to change plays as asked: no problem.
    doc["clips"][0]["processing"]["time_pitch"] = json!({"mode": "basic", "rate": 1.0});
    doc["clips"][1]["processing"]["time_pitch"] = json!({});
    assert_eq!(load(&doc).unwrap().show.validate(), vec![]);
}

#[test]
fn two_clips_naming_one_file_with_different_hashes_are_a_problem() {
    let mut doc = json_of(&rich_show());
    // The same file twice (same hash) is fine: two buttons of one sound.
    let mut same = doc.clone();
    same["clips"][1]["audio"] = doc["clips"][0]["audio"].clone();
    assert_eq!(load(&same).unwrap().show.shared_media_paths(), vec![]);
    // The same path with another hash: one would play the other's audio.
    doc["clips"][1]["audio"]["path"] = doc["clips"][0]["audio"]["path"].clone();
    let show = load(&doc).unwrap().show;
    let first = &show.clips[0];
    let second = &show.clips[1];
    let expected = format!(
        "clips[1].audio.path: clips \"{}\" and \"{}\" both use media path \"{}\" but with \
         different hashes ({} and {}): one file cannot be both; re-add the clip whose audio \
         changed (hostctl clip add) so each file has one hash",
        first.id, second.id, first.audio.path, first.audio.hash, second.audio.hash
    );
    let problems: Vec<String> = show.validate().iter().map(ToString::to_string).collect();
    assert!(problems.contains(&expected), "{problems:#?}");
    assert_eq!(
        show.shared_media_paths()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [expected]
    );
}

fn load(v: &Value) -> Result<Loaded, LoadError> {
    Show::load(&serde_json::to_vec(v).unwrap())
}

fn json_of(show: &Show) -> Value {
    serde_json::from_slice(&show.to_json()).unwrap()
}

#[test]
fn a_rich_show_is_valid_and_survives_save_and_load() {
    let show = rich_show();
    assert_eq!(show.validate(), vec![]);
    let bytes = show.to_json();
    let loaded = Show::load(&bytes).unwrap();
    assert_eq!(loaded.migrated_from, None);
    assert_eq!(loaded.show, show);
    assert_eq!(
        loaded.show.to_json(),
        bytes,
        "saving again writes the same bytes"
    );
}

#[test]
fn unknown_fields_survive_a_round_trip_at_every_level() {
    let mut doc = json_of(&rich_show());
    let future = json!({"added_by": "cuebox 9", "n": [1, 2.5, null]});
    doc["future_root"] = future.clone();
    doc["session"]["future"] = future.clone();
    doc["page_view"]["future"] = future.clone();
    doc["pages"][0]["future"] = future.clone();
    doc["pages"][0]["tabs"][0]["future"] = future.clone();
    doc["pages"][0]["tabs"][0]["grid"]["future"] = future.clone();
    doc["pages"][0]["tabs"][0]["grid"]["buttons"][0]["future"] = future.clone();
    doc["clips"][0]["future"] = future.clone();
    doc["clips"][0]["audio"]["future"] = future.clone();
    doc["clips"][0]["audio"]["format"]["future"] = future.clone();
    doc["clips"][0]["audio"]["metadata"]["future"] = future.clone();
    doc["clips"][0]["processing"]["future"] = future.clone();
    doc["clips"][0]["processing"]["panning"]["future"] = future.clone();
    doc["clips"][0]["processing"]["fades"]["out"]["future"] = future.clone();
    doc["clips"][0]["analysis"]["future"] = future.clone();
    doc["busses"]["groups"]["A"]["future"] = future.clone();
    doc["busses"]["groups"]["A"]["mode"]["future"] = future.clone();
    doc["busses"]["ltc_input"]["future"] = future.clone();
    doc["resources"]["thresholds"]["future"] = future.clone();
    doc["time_sources"]["future"] = future.clone();
    doc["show_info"]["venue"]["future"] = future.clone();
    doc["show_info"]["reporting"]["future"] = future.clone();
    doc["protection"]["future"] = future.clone();
    doc["fade_defaults"]["crossfade"]["future"] = future.clone();

    let loaded = load(&doc).unwrap();
    assert_eq!(loaded.show.validate(), vec![]);
    assert_eq!(
        json_of(&loaded.show),
        doc,
        "every unknown field written back unchanged"
    );
}

#[test]
fn a_newer_minor_version_loads_and_keeps_its_number() {
    let mut doc = json_of(&rich_show());
    doc["format_version"] = json!("2.7");
    doc["clips"][1]["new_in_2_7"] = json!({"x": 1});
    let show = load(&doc).unwrap().show;
    assert_eq!(show.format_version, FormatVersion::new(2, 7));
    assert_eq!(json_of(&show), doc);
}

#[test]
fn a_newer_major_version_is_refused_with_advice() {
    let mut doc = json_of(&rich_show());
    doc["format_version"] = json!("3.0");
    let err = load(&doc).unwrap_err();
    assert!(
        matches!(err, LoadError::NewerMajor { supported: 2, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("format 3.0") && msg.contains("update cuebox"),
        "{msg}"
    );
}

#[test]
fn format_1_drafts_migrate_to_the_current_format() {
    let bytes = include_bytes!("fixtures/format-1-draft.json");
    let loaded = Show::load(bytes).unwrap();
    assert_eq!(loaded.migrated_from, Some(FormatVersion::new(1, 0)));
    let show = loaded.show;
    assert_eq!(show.format_version, Show::FORMAT);
    assert_eq!(show.validate(), vec![]);

    let grid = &show.pages[0].tabs[0].grid;
    assert_eq!(grid.dims(), dims(2, 3));
    let buttons: Vec<(String, String)> = grid
        .buttons
        .iter()
        .map(|b| (b.pos().to_string(), b.clip.to_string()))
        .collect();
    assert_eq!(
        buttons,
        [("1,1".into(), "c1".into()), ("1,3".into(), "c2".into())]
    );

    let storm = &show.clips[0].processing;
    assert!(
        (storm.level_db - (-6.0206)).abs() < 1e-3,
        "gain 0.5 is -6.02 dB, got {}",
        storm.level_db
    );
    assert_eq!(storm.fades.fade_in.as_ref().unwrap().time_ms, 1500.0);
    assert_eq!(storm.fades.fade_out.as_ref().unwrap().time_ms, 3000.0);
    assert_eq!(show.clips[1].processing.level_db, 0.0);
    assert_eq!(show.page_view.focused(), PageNo::FIRST);
    assert_eq!(
        show.extra["draft_notes"],
        json!("kept: a field format 1 had that format 2 does not know")
    );

    let resaved: Value = serde_json::from_slice(&show.to_json()).unwrap();
    assert_eq!(resaved["format_version"], json!("2.0"));
    assert_eq!(Show::load(&show.to_json()).unwrap().show, show);
}

#[test]
fn a_format_1_draft_the_migration_cannot_read_names_the_spot() {
    let mut doc: Value =
        serde_json::from_slice(include_bytes!("fixtures/format-1-draft.json")).unwrap();
    doc["pages"][0]["tabs"][0]["grid"]["cells"][1] = json!("not a row");
    let err = load(&doc).unwrap_err();
    assert!(matches!(err, LoadError::Migration(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "migrating from format 1: pages[0].tabs[0].grid.cells[1]: expected an array of cells"
    );
    doc["pages"][0]["tabs"][0]["grid"]["cells"][1] = json!([null, null, null]);
    doc["clips"][0]["processing"]["gain"] = json!(-1);
    let err = load(&doc).unwrap_err().to_string();
    assert!(err.contains("clips[0].processing.gain"), "{err}");
}

/// Validation reports every problem at once, each with its path and reason.
#[test]
fn validation_reports_every_problem_with_its_path() {
    let mut doc = json_of(&rich_show());
    let ghost = json!({"row": 2, "col": 5, "clip": "c42"});
    doc["pages"][0]["tabs"][3]["grid"]["buttons"] = json!([ghost]);
    doc["pages"][0]["tabs"][0]["grid"]["buttons"]
        .as_array_mut()
        .unwrap()
        .push(json!({"row": 1, "col": 1, "clip": "c2"}));
    let storm = &mut doc["clips"][0];
    storm["processing"]["level_db"] = json!(20.0);
    storm["processing"]["panning"] = json!({"mode": "mono", "pan": 0.0});
    storm["processing"]["cue"]["end"] = json!(999_999_999);
    storm["processing"]["warp_markers"][1]["frame"] = json!(0);
    storm["audio"]["metadata"]["isrc"] = json!("not-an-isrc");
    storm["audio"]["format"]["sample_rate"] = json!(12_345);
    doc["clips"][1]["id"] = json!("c1");
    doc["busses"]["groups"]["B"]["mode"] = json!({"kind": "choke", "max_voices": 4});
    doc["busses"]["audition"]["outputs"] = json!([1, 9]);
    doc["protection"]["edit_point_fade_ms"] = json!(20.0);
    doc["protection"]["loop_point_fade_ms"] = json!(0.1);
    doc["resources"]["thresholds"]["warning_pct"] = json!(95.0);
    doc["time_sources"]["priority"] = json!(["ltc", "ptp", "ltc"]);
    doc["show_info"]["reporting"] =
        json!({"formats": ["csv", "xml", "csv"], "pros": ["PRS", " ", "prs"]});
    doc["page_view"] = json!({"mode": "dual", "left": 1, "right": 5, "focus": "left"});

    let show = load(&doc).unwrap().show;
    let problems: Vec<String> = show.validate().iter().map(ToString::to_string).collect();
    let expected = [
        "pages[0].tabs[3].grid[2,5]: clip \"c42\" is not in the session",
        "pages[0].tabs[0].grid[1,1]: a second button at 1,1, where clip \"c1\" already is",
        "page_view.right: page 5 does not exist (the show has 2)",
        "clips[0].processing.level_db: 20 dB is out of range (-144 dB to 12 dB)",
        "clips[0].processing.panning: a stereo clip takes stereo panning (width, balance), not mono pan",
        "clips[0].processing.cue.end: frame 999999999 must be at or before the end of the audio (frame 480000)",
        "clips[0].processing.warp_markers: warp marker frames must be in strictly increasing order",
        "clips[0].audio.metadata.isrc: \"not-an-isrc\" is not an ISRC",
        "clips[0].audio.format.sample_rate: sample rate 12345 Hz is not played",
        "clips[1].id: clip id \"c1\" is used by more than one clip",
        "busses.groups.B.mode.max_voices: 4 voices is out of range (1 voices to 3 voices)",
        "busses.audition.outputs[0]: output 1 is also fed by group A",
        "protection.edit_point_fade_ms: 20 ms is out of range (0.25 ms to 10 ms)",
        "protection.loop_point_fade_ms: 0.1 ms is out of range (0.25 ms to 10 ms)",
        "resources.thresholds: thresholds must be ordered recovery < warning < critical",
        "time_sources.priority[2]: ltc is listed more than once",
        "show_info.reporting.formats[2]: csv is listed more than once",
        "show_info.reporting.pros[1]: a society's name must not be empty",
        "show_info.reporting.pros[2]: PRS is listed more than once",
        // Renaming clips[1] to c1 leaves everything that played c2 dangling.
        "pages[0].tabs[0].grid[1,1]: clip \"c2\" is not in the session",
        "pages[1].tabs[7].grid[2,2]: clip \"c2\" is not in the session",
        "analysis.overrides[0].clip: clip \"c2\" is not in the session",
    ];
    for e in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(e)),
            "missing problem {e:?} in:\n{}",
            problems.join("\n")
        );
    }
    assert_eq!(
        problems.len(),
        expected.len(),
        "unexpected extra problems:\n{}",
        problems.join("\n")
    );
}

fn structure_error(doc: &Value) -> (String, String) {
    match load(doc) {
        Err(LoadError::Structure { path, message }) => (path, message),
        other => panic!("expected a structure error, got {other:?}"),
    }
}

#[test]
fn hostile_media_paths_are_refused_before_anything_touches_a_file() {
    for evil in [
        "../../etc/passwd",
        "/etc/passwd",
        "a/../../b",
        "a\\..\\b",
        "./x.wav",
        "a//b",
        "a/./b.wav",
        "a/.",
        "a/b.wav/.",
        "a/b.wav/",
        ".",
        "",
        "x\u{0}.wav",
    ] {
        let mut doc = json_of(&rich_show());
        doc["clips"][1]["audio"]["path"] = json!(evil);
        let (path, message) = structure_error(&doc);
        assert_eq!(path, "clips[1].audio.path", "for {evil:?}");
        assert!(message.contains("media path"), "for {evil:?}: {message}");
    }
}

#[test]
fn a_manifest_of_millions_of_tiny_values_is_refused_before_it_is_parsed() {
    // Kept as an unknown field, each `0` would cost about 80 bytes.
    let show = String::from_utf8(rich_show().to_json()).unwrap();
    let zeros = vec!["0"; MAX_MANIFEST_VALUES as usize].join(",");
    let doc = format!("{{\"padding\":[{zeros}],{}", &show.trim_start()[1..]);
    assert!(doc.len() < MAX_MANIFEST_BYTES);
    let e = Show::load(doc.as_bytes()).unwrap_err();
    let LoadError::TooManyValues { count, max } = e else {
        panic!("{e}")
    };
    assert!(count > MAX_MANIFEST_VALUES && max == MAX_MANIFEST_VALUES);
    assert!(e.to_string().starts_with(&format!(
        "the manifest holds {count} JSON values; the limit is {max}"
    )));
}

#[test]
fn wrong_types_and_huge_numbers_name_the_field() {
    let cases: [(&str, Value, &str); 6] = [
        (
            "/pages/0/tabs/2/grid/rows",
            json!("ten"),
            "pages[0].tabs[2].grid.rows",
        ),
        (
            "/pages/0/tabs/2/grid/rows",
            json!(0),
            "pages[0].tabs[2].grid.rows",
        ),
        (
            "/pages/0/tabs/2/grid/cols",
            json!(1e300),
            "pages[0].tabs[2].grid.cols",
        ),
        (
            "/clips/0/audio/format/frames",
            json!(-1),
            "clips[0].audio.format.frames",
        ),
        (
            "/clips/0/audio/format/channels",
            json!(6),
            "clips[0].audio.format.channels",
        ),
        ("/clips/0/group", json!("E"), "clips[0].group"),
    ];
    for (pointer, value, want) in cases {
        let mut doc = json_of(&rich_show());
        *doc.pointer_mut(pointer).unwrap() = value.clone();
        let (path, message) = structure_error(&doc);
        assert_eq!(path, want, "{pointer} = {value}: {message}");
    }
    let mut doc = json_of(&rich_show());
    doc["clips"][0]["audio"]["format"]["channels"] = json!(6);
    assert!(structure_error(&doc)
        .1
        .contains("6 channels: cuebox clips are mono (1) or stereo (2)"));

    let mut doc = json_of(&rich_show());
    doc["pages"][0]["tabs"].as_array_mut().unwrap().pop();
    let (path, message) = structure_error(&doc);
    assert_eq!(path, "pages[0].tabs");
    assert!(message.contains("length 8"), "{message}");

    let mut doc = json_of(&rich_show());
    doc["protection"]["edge_fade_ms"] = json!(2.0);
    let (path, message) = structure_error(&doc);
    assert_eq!(path, "protection.edge_fade_ms");
    assert!(
        message.starts_with("the edge fade is fixed at 1 ms, not 2 ms at line 1"),
        "{message}"
    );
}

#[test]
fn broken_json_says_where_it_breaks() {
    let good = rich_show().to_json();
    let truncated = &good[..good.len() / 2];
    let err = Show::load(truncated).unwrap_err();
    assert!(matches!(err, LoadError::Syntax(_)), "{err:?}");
    assert!(err.to_string().contains("line"), "{err}");

    let huge = br#"{"format_version": "2.0", "x": 1e999}"#;
    assert!(Show::load(huge)
        .unwrap_err()
        .to_string()
        .contains("number out of range"));

    let deep = format!(
        "{{\"format_version\":\"2.0\",\"x\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(Show::load(deep.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("recursion limit"));

    assert_eq!(Show::load(b"[1,2]").unwrap_err(), LoadError::NotAnObject);
    assert_eq!(Show::load(b"{}").unwrap_err(), LoadError::MissingVersion);
    assert!(matches!(
        Show::load(br#"{"format_version": "two"}"#),
        Err(LoadError::BadVersion(_))
    ));
    assert!(matches!(
        Show::load(br#"{"format_version": -1}"#),
        Err(LoadError::BadVersion(_))
    ));
    assert!(matches!(
        Show::load(&[b' '; MAX_MANIFEST_BYTES + 1]),
        Err(LoadError::TooLarge { .. })
    ));
    assert!(matches!(Show::load(b"\xff\xfe"), Err(LoadError::Syntax(_))));
}

#[test]
fn adding_clips_numbers_them_and_refuses_bad_positions() {
    let mut show = Show::new("s", "media", dims(2, 2), t("2026-01-01T00:00:00Z"));
    let a = show
        .add_clip(clip("a", Group::A, Channels::Mono), at(1, 1, 1, 1))
        .unwrap();
    let b = show
        .add_clip(clip("b", Group::C, Channels::Stereo), at(1, 8, 2, 2))
        .unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("c1", "c2"));
    assert!(
        matches!(show.clip(&a).unwrap().processing.panning, Panning::Mono { pan, .. } if pan == 0.0)
    );
    assert_eq!(
        show.add_clip(clip("c", Group::A, Channels::Mono), at(1, 1, 1, 1))
            .unwrap_err()
            .to_string(),
        "position 1,1 on page 1 tab 1 already plays clip \"c1\""
    );
    assert!(matches!(
        show.add_clip(clip("c", Group::A, Channels::Mono), at(1, 1, 3, 1)),
        Err(EditError::OutsideGrid { .. })
    ));
    assert!(matches!(
        show.add_clip(clip("c", Group::A, Channels::Mono), at(2, 1, 1, 1)),
        Err(EditError::NoSuchPage { pages: 1, .. })
    ));
    assert_eq!(show.clips.len(), 2, "refused adds change nothing");
    assert_eq!(show.validate(), vec![]);
}

#[test]
fn shrinking_a_grid_hides_buttons_and_undo_brings_them_back() {
    let t0 = t("2026-01-01T00:00:00Z");
    let t1 = t("2026-01-01T00:01:00Z");
    let t2 = t("2026-01-01T00:02:00Z");
    let mut show = Show::new("s", "media", dims(4, 4), t0);
    let (page, tab) = (PageNo::FIRST, TabIndex::from_number(3).unwrap());
    show.add_clip(clip("far", Group::A, Channels::Mono), at(1, 3, 4, 4))
        .unwrap();
    let v0 = show.tab(page, tab).unwrap().grid.layout_version;

    show.resize_grid(page, tab, dims(2, 2), t1).unwrap();
    let grid = &show.tab(page, tab).unwrap().grid;
    assert_eq!(
        (grid.dims(), grid.previous, grid.last_resized),
        (dims(2, 2), Some(dims(4, 4)), Some(t1))
    );
    assert_eq!(grid.layout_version, v0 + 1);
    assert_eq!(grid.buttons.len(), 1, "the assignment is kept");
    assert!(
        !grid.is_visible(&grid.buttons[0]),
        "but hidden outside the grid"
    );
    assert_eq!(show.validate(), vec![], "a hidden button is not a problem");

    assert_eq!(show.undo_resize(page, tab, t2).unwrap(), dims(4, 4));
    let grid = &show.tab(page, tab).unwrap().grid;
    assert!(grid.is_visible(&grid.buttons[0]));
    assert_eq!(grid.previous, Some(dims(2, 2)), "undoing again redoes");
    assert_eq!(show.undo_resize(page, tab, t2).unwrap(), dims(2, 2));

    let untouched = TabIndex::from_number(1).unwrap();
    assert_eq!(
        show.undo_resize(page, untouched, t2)
            .unwrap_err()
            .to_string(),
        "page 1 tab 1 has not been resized, so there is nothing to undo"
    );
}

#[test]
fn device_maps_are_per_box_and_keep_unknown_fields() {
    let map = DeviceMap::identity("hw:1,0", 8);
    assert_eq!(
        map.output(LogicalChannel::new(3).unwrap()).map(|c| c.get()),
        Some(3)
    );
    let mut doc = serde_json::to_value(&map).unwrap();
    doc["outputs"][0]["future"] = json!(true);
    doc["future"] = json!("x");
    let back = DeviceMap::load(&serde_json::to_vec(&doc).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), doc);
    assert_eq!(DeviceMap::load(&back.to_json()).unwrap(), back);
    assert_eq!(back.validate(), vec![]);

    let mut doubled = DeviceMap::identity("hw:1,0", 3);
    doubled.outputs[2].logical = LogicalChannel::new(1).unwrap();
    doubled.outputs[1].physical = std::num::NonZeroU16::new(1).unwrap();
    let problems: Vec<String> = doubled.validate().iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "outputs[1].physical: physical output 1 is listed more than once",
            "outputs[2].logical: logical channel 1 is listed more than once",
        ]
    );
    assert!(matches!(
        DeviceMap::load(br#"{"format_version": "2.0", "playback_pcm": "hw:0"}"#),
        Err(LoadError::NewerMajor { supported: 1, .. })
    ));
}

#[test]
fn text_forms_a_user_types_are_parsed_with_clear_refusals() {
    assert_eq!(
        "2,5".parse::<GridPos>().unwrap(),
        GridPos::new(2, 5).unwrap()
    );
    assert!("0,5".parse::<GridPos>().is_err());
    assert!("2;5"
        .parse::<GridPos>()
        .unwrap_err()
        .to_string()
        .contains("ROW,COL"));
    assert_eq!("b".parse::<Group>().unwrap(), Group::B);
    assert_eq!(
        "E".parse::<Group>().unwrap_err().to_string(),
        "group \"E\" does not exist: use A, B, C or D"
    );
    assert!(TabIndex::from_number(9).is_none());
    assert!(GridDims::new(33, 1).is_none());
    assert!("bad id!".parse::<ClipId>().is_err());
    let h = ContentHash::of_bytes(b"x");
    assert_eq!(ContentHash::try_from(h.to_string()).unwrap(), h);
    assert!(ContentHash::try_from("blake3:XYZ".to_string()).is_err());
}

#[test]
fn unknown_fields_that_look_like_typos_are_problems_and_others_are_notes() {
    let mut doc = json_of(&rich_show());
    doc["clips"][1]["processing"]["volume_db"] = json!(-6.0);
    doc["clips"][0]["procesing"] = json!({});
    doc["protection"]["loop_point_fade"] = json!(3.0);
    doc["clips"][0]["processing"]["reverb_send"] = json!(0.2);
    let show = load(&doc).unwrap().show;
    let problems: Vec<String> = show.validate().iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "clips[0].procesing: unknown field `procesing` in clip c1: did you mean `processing`?",
            "clips[1].processing.volume_db: unknown field `volume_db` in clip c2: did you mean `level_db`?",
            "protection.loop_point_fade: unknown field `loop_point_fade`: did you mean `loop_point_fade_ms`?",
        ]
    );
    let notes: Vec<String> = show.notes().iter().map(ToString::to_string).collect();
    assert_eq!(
        notes,
        ["clips[0].processing.reverb_send: unknown field `reverb_send` in clip c1 is kept as it is but not used (a newer cuebox's field, or another tool's)"]
    );
}

#[test]
fn every_field_of_a_full_show_is_known_and_every_known_field_is_written() {
    // Every optional part set: the show's JSON then holds every field there is.
    let mut show = rich_show();
    let c = &mut show.clips[0];
    c.processing.fades.fade_in = Some(Fade::new(10.0, Curve::Linear, true));
    c.processing.fades.crossfade = Some(Crossfade {
        time_ms: 500.0,
        curve: Curve::SCurve,
        extra: Extra::new(),
    });
    c.timecode_trigger = Some("01:00:00:00".parse().unwrap());
    c.timecode_chase = true;
    c.processing.protection.edit_point_fade_ms = Some(5.0);
    c.processing.protection.loop_point_fade_ms = Some(0.25);
    c.audio.format.trim = Trim { start: 1, end: 2 };
    for m in [
        &mut c.audio.metadata.title,
        &mut c.audio.metadata.artist,
        &mut c.audio.metadata.composer,
        &mut c.audio.metadata.publisher,
        &mut c.audio.metadata.pro,
    ] {
        *m = Some("x".into());
    }
    c.audio.metadata.isrc = Some("GB-AYE-69-00531".parse().unwrap());
    c.audio.metadata.iswc = Some("T-034.524.680-1".parse().unwrap());
    show.clips[1].analysis = ClipAnalysis::Failed {
        reason: "too short".into(),
        extra: Extra::new(),
    };
    show.busses.ltc_input.input = Some(LogicalChannel::new(5).unwrap());
    show.pages[0].tabs[0].grid.buttons[0].label = Some("Storm".into());
    show.pages[0].tabs[0].colour = Some("#3366ff".parse().unwrap());
    show.runtime.group_levels.insert(Group::A, -6.0);
    show.runtime.locked = true;
    show.time_sources.chase = true;
    let mut doc = json_of(&show);
    doc["pages"][0]["tabs"][0]["grid"]["last_resized"] = json!("2026-11-01T19:05:00Z");
    doc["pages"][0]["tabs"][0]["grid"]["previous"] = json!({"rows": 4, "cols": 6});
    // The other form of the page view, whose fields the show does not use.
    let mut other = doc.clone();
    other["page_view"] = json!({"mode": "single", "page": 1});
    other["busses"]["groups"]["D"]["mode"] = json!({"kind": "choke", "max_voices": 3});
    let show = load(&doc).unwrap().show;
    assert_eq!(show.validate(), vec![], "every field written is known");
    assert_eq!(show.notes(), vec![], "every field written is known");
    let written = json_of(&show);
    let known = cuebox_engine::show::known_field_paths();
    for path in &known {
        assert!(
            present(&written, path) || present(&other, path),
            "{path} is listed as a field but the show never writes it"
        );
    }
}

/// Whether `path` (`clips[].processing.level_db`, `[]` for any element)
/// names a value in `doc`.
fn present(doc: &Value, path: &str) -> bool {
    fn go(v: &Value, parts: &[&str]) -> bool {
        let Some((first, rest)) = parts.split_first() else {
            return true;
        };
        let (key, list) = match first.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (*first, false),
        };
        let Some(v) = v.get(key) else { return false };
        if list {
            v.as_array()
                .is_some_and(|items| items.iter().any(|i| go(i, rest)))
        } else {
            go(v, rest)
        }
    }
    go(doc, &path.split('.').collect::<Vec<_>>())
}

#[test]
fn every_type_error_is_reported_at_once_with_its_path() {
    let mut doc = json_of(&rich_show());
    doc["clips"][0]["processing"]["level_db"] = json!("loud");
    doc["clips"][1]["processing"]["level_db"] = json!("louder");
    doc["pages"][1]["tabs"][0]["grid"]["rows"] = json!("ten");
    doc["protection"]["edge_fade_ms"] = json!(2.0);
    let err = load(&doc).unwrap_err();
    let fields: Vec<(String, String)> = err
        .fields()
        .into_iter()
        .map(|f| (f.path, f.message))
        .collect();
    let paths: Vec<&str> = fields.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "pages[1].tabs[0].grid.rows",
            "clips[0].processing.level_db",
            "clips[1].processing.level_db",
            "protection.edge_fade_ms",
        ],
        "{err}"
    );
    assert!(
        fields[2].1.contains("invalid type: string \"louder\""),
        "{fields:?}"
    );
    assert!(err
        .to_string()
        .starts_with("4 fields have the wrong type or value: pages[1]"));

    // One error alone is reported as before, with its line and column.
    let mut doc = json_of(&rich_show());
    doc["clips"][1]["processing"]["level_db"] = json!("loud");
    let (path, message) = structure_error(&doc);
    assert_eq!(path, "clips[1].processing.level_db");
    assert!(message.contains("at line 1"), "{message}");
}
