//! `hostctl session new|validate|show`, and opening a session for the other verbs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use cuebox_engine::show::{Clip, Fade, FadeDefaults, GridDims, PageNo, Show, TabIndex};
use cuebox_session::media::{self as media, FolderReport};
use cuebox_session::store::{SessionDir, StoreError};
use serde_json::json;

use crate::cli::{Output, TabArg};
use crate::output::{print_json, progress};
use crate::Outcome;

/// Opens the session in `dir` and loads its show, saying so when it was
/// migrated from an older format.
pub fn open(dir: &Path) -> anyhow::Result<(SessionDir, Show)> {
    let store = SessionDir::open(dir)?;
    let loaded = store.load()?;
    if let Some(old) = loaded.migrated_from {
        eprintln!(
            "note: {} is format {old}; it is read as format {} and will be saved so",
            dir.display(),
            Show::FORMAT
        );
    }
    Ok((store, loaded.show))
}

/// The page and tab a user named, checked.
pub fn page_tab(tab: &TabArg) -> anyhow::Result<(PageNo, TabIndex)> {
    let page =
        PageNo::new(tab.page).context("pages are numbered from 1; --page 0 does not exist")?;
    let tab_ix = TabIndex::from_number(tab.tab).with_context(|| {
        format!(
            "tabs are numbered 1 to {}; --tab {} does not exist",
            TabIndex::COUNT,
            tab.tab
        )
    })?;
    Ok((page, tab_ix))
}

/// Creates a new session.
pub fn new(
    dir: &Path,
    media_dir: Option<&Path>,
    name: Option<String>,
    rows: u16,
    cols: u16,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let Some(media_dir) = media_dir else {
        bail!(
            "a media folder is required: pass --media MEDIA_DIR (suggested: --media {})",
            media::suggest_media_folder(dir).display()
        );
    };
    let dims = GridDims::new(rows, cols).with_context(|| {
        format!(
            "a grid is 1 to {max} rows by 1 to {max} columns, not {rows}x{cols}",
            max = GridDims::MAX
        )
    })?;
    if dir.join(SessionDir::MANIFEST).exists() {
        bail!(
            "{} already holds a session ({}); choose another folder",
            dir.display(),
            SessionDir::MANIFEST
        );
    }
    let name = match name {
        Some(n) => n,
        None => dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("give the session a --name (the folder has none)")?,
    };
    // The suggested media folder lies inside the session folder, so that must
    // exist first; a refusal below removes what this command created.
    let created_dir = !dir.exists();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let undo = |report: Option<&FolderReport>| {
        if let Some(r) = report.filter(|r| r.created) {
            let _ = std::fs::remove_dir(&r.path);
        }
        if created_dir {
            let _ = std::fs::remove_dir(dir);
        }
    };
    let report = match media::check_media_folder(media_dir, 0, &media::CheckOptions::default()) {
        Ok(report) => report,
        Err(e) => {
            undo(None);
            return Err(e).with_context(|| format!("media folder {}", media_dir.display()));
        }
    };
    if !report.is_usable() {
        print_folder_report(&report, out);
        undo(Some(&report));
        bail!(
            "{} cannot be the media folder; fix the errors above or choose another with --media",
            media_dir.display()
        );
    }
    let recorded = record_media_folder(dir, media_dir)?;
    let show = Show::new(
        name,
        recorded.to_string_lossy(),
        dims,
        jiff::Timestamp::now(),
    );
    SessionDir::create(dir, &show)?;
    if out.json {
        print_json(&json!({
            "session": dir,
            "id": show.session.id,
            "name": show.session.name,
            "media_folder": recorded,
            "media_checks": report,
        }));
    } else {
        println!(
            "created session \"{}\" in {} ({} page, {} tabs of {dims})",
            show.session.name,
            dir.display(),
            show.pages.len(),
            TabIndex::COUNT
        );
        print_folder_report(&report, out);
    }
    Ok(Outcome::Ok)
}

/// The media folder as the manifest records it: relative when it lies inside
/// the session folder (so the pair moves together), else absolute.
pub(crate) fn record_media_folder(dir: &Path, media_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let media = media_dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", media_dir.display()))?;
    Ok(match media.strip_prefix(&dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_owned(),
        _ => media,
    })
}

fn print_folder_report(report: &FolderReport, out: &Output) {
    if out.json {
        return;
    }
    for line in report.lines() {
        eprintln!("media folder: {line}");
    }
}

/// Checks a session and its media.
pub fn validate(dir: &Path, hashes: bool, out: &Output) -> anyhow::Result<Outcome> {
    let (store, show) = match open(dir) {
        Err(e) => return unreadable(e, out),
        Ok(opened) => opened,
    };
    let mut problems: Vec<(String, String)> = show
        .validate()
        .into_iter()
        .map(|p| (p.path, p.issue.to_string()))
        .collect();
    let notes: Vec<(String, String)> = show
        .notes()
        .into_iter()
        .map(|p| (p.path, p.issue.to_string()))
        .collect();
    let media_root = store.media_folder(&show);
    if !media_root.is_dir() {
        problems.push((
            "session.media_folder".into(),
            format!(
                "{} is not reachable; mount it or reassign the media folder",
                media_root.display()
            ),
        ));
    } else {
        let bar = progress(
            media::media_bytes(&show, &media_root),
            "hashing media",
            out.json || !hashes,
        );
        let media_problems = media::verify_media(&show, &media_root, hashes, &mut |n| bar.inc(n));
        bar.finish_and_clear();
        problems.extend(media_problems.into_iter().map(|p| {
            let message = p.message();
            (p.path, message)
        }));
    }
    if out.json {
        print_json(&json!({
            "valid": problems.is_empty(),
            "clips": show.clips.len(),
            "hashes_checked": hashes,
            "problems": listed(&problems),
            "notes": listed(&notes),
        }));
        return Ok(outcome(&problems));
    }
    for (path, message) in &notes {
        println!("note: {path}: {message}");
    }
    if problems.is_empty() {
        println!(
            "{}: valid ({} clips{})",
            dir.display(),
            show.clips.len(),
            if hashes {
                ", every media hash verified"
            } else {
                ""
            }
        );
    } else {
        eprintln!("{}: {} problem(s)", dir.display(), problems.len());
        for (path, message) in &problems {
            println!("{path}: {message}");
        }
    }
    Ok(outcome(&problems))
}

/// Problems as `--json` lists them.
fn listed(problems: &[(String, String)]) -> Vec<serde_json::Value> {
    problems
        .iter()
        .map(|(path, message)| json!({"path": path, "message": message}))
        .collect()
}

/// Valid when nothing is wrong.
fn outcome(problems: &[(String, String)]) -> Outcome {
    if problems.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    }
}

/// A manifest that does not load: its fields of the wrong type are listed
/// as problems, every one of them (exit 1); any other failure is an error.
fn unreadable(e: anyhow::Error, out: &Output) -> anyhow::Result<Outcome> {
    let Some(StoreError::Load { error, path }) = e.downcast_ref::<StoreError>() else {
        return Err(e);
    };
    let fields = error.fields();
    if fields.is_empty() {
        return Err(e);
    }
    let problems: Vec<(String, String)> = fields.into_iter().map(|f| (f.path, f.message)).collect();
    if out.json {
        print_json(&json!({"valid": false, "problems": listed(&problems), "notes": []}));
    } else {
        eprintln!(
            "{}: {} problem(s): the manifest does not load; fix these fields, or restore a copy \
             from the session's backups/ folder",
            path.display(),
            problems.len()
        );
        for (path, message) in &problems {
            println!("{path}: {message}");
        }
    }
    Ok(Outcome::Problems)
}

/// `hostctl session show`: every button and clip with what a designer
/// checks — name, group, level, fades (the clip's own or the session's),
/// cue range, loop and button label — as a table, or all of it as JSON.
pub fn show(dir: &Path, out: &Output) -> anyhow::Result<Outcome> {
    let (store, show) = open(dir)?;
    let buttons: Vec<_> = show.buttons().collect();
    if out.json {
        let clips: Vec<_> = show
            .clips
            .iter()
            .map(|c| {
                let places: Vec<_> = buttons
                    .iter()
                    .filter(|(_, _, _, b)| b.clip == c.id)
                    .map(|(page, tab, t, b)| {
                        json!({
                            "page": page.0.get(), "tab": tab.number(),
                            "row": b.row, "col": b.col, "visible": t.grid.is_visible(b),
                            "label": b.label,
                        })
                    })
                    .collect();
                let p = &c.processing;
                let fade = |own: Option<&Fade>, default: &Fade| {
                    let f = own.unwrap_or(default);
                    json!({
                        "time_ms": f.time_ms, "curve": f.curve, "power": f.power,
                        "from": if own.is_some() { "clip" } else { "session" },
                    })
                };
                let d = &show.fade_defaults;
                let cross = p.fades.crossfade.as_ref();
                let cross_from = if cross.is_some() { "clip" } else { "session" };
                let cross = cross.unwrap_or(&d.crossfade);
                json!({
                    "id": c.id, "name": c.name, "group": c.group,
                    "file": c.audio.path, "hash": c.audio.hash,
                    "format": c.audio.format, "buttons": places,
                    "level_db": p.level_db, "panning": p.panning,
                    "cue": p.cue, "loop": p.loop_region,
                    "fades": {
                        "in": fade(p.fades.fade_in.as_ref(), &d.fade_in),
                        "out": fade(p.fades.fade_out.as_ref(), &d.fade_out),
                        "crossfade": {"time_ms": cross.time_ms, "curve": cross.curve, "from": cross_from},
                    },
                    "protection": {
                        "edit_point_fade_ms": p.protection.edit_point_fade_ms
                            .unwrap_or(show.protection.edit_point_fade_ms),
                        "loop_point_fade_ms": p.protection.loop_point_fade_ms
                            .unwrap_or(show.protection.loop_point_fade_ms),
                        "from": if p.protection.is_default() { "session" } else { "clip" },
                    },
                })
            })
            .collect();
        print_json(&json!({
            "format_version": show.format_version,
            "session": show.session,
            "media_folder_resolved": store.media_folder(&show),
            "page_view": show.page_view,
            "pages": show.pages.iter().map(|p| json!({
                "name": p.name,
                "tabs": p.tabs.iter().map(|t| json!({"name": t.name, "rows": t.grid.rows, "cols": t.grid.cols})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "clips": clips,
        }));
        return Ok(Outcome::Ok);
    }
    println!(
        "session \"{}\" (format {}, {} page(s), {} clip(s)); media in {}",
        show.session.name,
        show.format_version,
        show.pages.len(),
        show.clips.len(),
        store.media_folder(&show).display()
    );
    println!(
        "{:<5} {:<4} {:<6} {:<6} {:<20} {:<5} {:>9}  {:<15} {:<21} {:<16} {:<28} FORMAT",
        "PAGE",
        "TAB",
        "POS",
        "CLIP",
        "NAME",
        "GROUP",
        "LEVEL",
        "FADE IN/OUT",
        "LOOP",
        "LABEL",
        "FILE"
    );
    let row = |page: &str, tab: &str, pos: &str, c: &Clip, label: Option<&str>, note: &str| {
        println!(
            "{page:<5} {tab:<4} {pos:<6} {:<6} {:<20} {:<5} {:>9}  {:<15} {:<21} {:<16} {:<28} {}{note}",
            c.id.as_str(),
            c.name,
            c.group.to_string(),
            format!("{:+.1} dB", c.processing.level_db),
            fades(c, &show.fade_defaults),
            looped(c),
            label.map_or("-".into(), |l| format!("\"{l}\"")),
            c.audio.path.as_str(),
            describe(&c.audio.format),
        );
    };
    for (page, tab, t, b) in &buttons {
        let hidden = if t.grid.is_visible(b) {
            ""
        } else {
            " (hidden)"
        };
        let (page, tab, pos) = (
            page.to_string(),
            tab.number().to_string(),
            b.pos().to_string(),
        );
        match show.clip(&b.clip) {
            Some(c) => row(&page, &tab, &pos, c, b.label.as_deref(), hidden),
            None => println!(
                "{page:<5} {tab:<4} {pos:<6} {:<6} (missing clip){hidden}",
                b.clip.as_str()
            ),
        }
    }
    for c in show
        .clips
        .iter()
        .filter(|c| !buttons.iter().any(|(_, _, _, b)| b.clip == c.id))
    {
        row("-", "-", "-", c, None, "");
    }
    Ok(Outcome::Ok)
}

/// A clip's fades in and out in seconds, its own or the session's:
/// `0.00/2.00 s`.
fn fades(c: &Clip, d: &FadeDefaults) -> String {
    let f = &c.processing.fades;
    let fade_in = f.fade_in.as_ref().unwrap_or(&d.fade_in);
    let fade_out = f.fade_out.as_ref().unwrap_or(&d.fade_out);
    format!(
        "{:.2}/{:.2} s",
        fade_in.time_ms / 1000.0,
        fade_out.time_ms / 1000.0
    )
}

/// A clip's enabled loop in seconds of its file, `1.000-2.000 s`, or `-`.
fn looped(c: &Clip) -> String {
    let rate = f64::from(c.audio.format.sample_rate.max(1));
    match &c.processing.loop_region {
        Some(l) if l.enabled => format!(
            "{:.3}-{:.3} s",
            l.start.0 as f64 / rate,
            l.end.0 as f64 / rate
        ),
        Some(_) => "off".into(),
        None => "-".into(),
    }
}

/// `stereo 48000 Hz 24-bit 10.000 s pcm_s24le`
pub fn describe(f: &cuebox_engine::show::AudioFormat) -> String {
    let layout = match f.channels {
        cuebox_engine::show::Channels::Mono => "mono",
        cuebox_engine::show::Channels::Stereo => "stereo",
    };
    let bits = f.bit_depth.map(|b| format!(" {b}-bit")).unwrap_or_default();
    format!(
        "{layout} {} Hz{bits} {:.3} s {}",
        f.sample_rate,
        f.duration_secs(),
        f.codec
    )
}
