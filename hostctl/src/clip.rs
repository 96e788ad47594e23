//! `hostctl clip add` and `hostctl clip import`: audio files into a
//! session as clips on buttons.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use cuebox_engine::media::{probe, Probed};
use cuebox_engine::show::{
    AudioRef, ClipChanges, ClipId, Extra, FadeChange, GridPos, Group, LoopChange, NewClip, PageNo,
    Placement, RightsChanges, Show, TabIndex, TimeSpec,
};
use cuebox_session::media::{hash_file, Importer};
use serde::Deserialize;
use serde_json::json;

use crate::cli::{Output, TabArg};
use crate::edit::edit;
use crate::output::{print_json, progress};
use crate::session::{describe, page_tab};
use crate::Outcome;

/// A file checked to be playable, before anything is copied.
struct Source {
    path: PathBuf,
    probed: Probed,
    size: u64,
}

/// Probes `file` (decoding it end to end, so a corrupt file is refused now
/// rather than at show time).
fn probe_file(file: &Path) -> anyhow::Result<Source> {
    let meta =
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", file.display());
    }
    let source = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let ext = file.extension().and_then(|e| e.to_str());
    let probed = probe(Box::new(source), ext)
        .with_context(|| format!("{} cannot be a clip", file.display()))?;
    Ok(Source {
        path: file.to_owned(),
        probed,
        size: meta.len(),
    })
}

/// Hashes `src`, copies it into the media folder (unless it lies there
/// already) and adds it as a clip at `at`; `bar` counts bytes read twice
/// (hash, copy). The copy is on disk once `importer` finishes.
fn add_source(
    importer: &mut Importer,
    show: &mut Show,
    src: &Source,
    at: Placement,
    group: Group,
    name: Option<String>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<(ClipId, bool)> {
    let file = &src.path;
    let hash = hash_file(file, &mut |n| bar.inc(n))
        .with_context(|| format!("cannot read {}", file.display()))?;
    let name = name
        .or_else(|| src.probed.metadata.title.clone())
        .or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let imported = importer.import(file, hash, &mut |n| bar.inc(n))?;
    let audio = AudioRef {
        path: imported.path,
        hash,
        format: src.probed.format.clone(),
        metadata: src.probed.metadata.clone(),
        extra: Extra::new(),
    };
    let id = show.add_clip(NewClip { name, group, audio }, at)?;
    Ok((id, imported.copied))
}

/// Adds `file` as a clip at `at` on a tab.
///
/// Everything that can refuse the clip (placement, media) runs before the
/// media folder or the session changes, so a refusal changes nothing.
pub fn add(
    dir: &Path,
    file: &Path,
    tab: &TabArg,
    at: GridPos,
    group: Group,
    name: Option<String>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (page, tab_ix) = page_tab(tab)?;
    let placement = Placement {
        page,
        tab: tab_ix,
        pos: at,
    };
    let src = probe_file(file)?;
    let (store, show, (id, copied)) = edit(dir, |store, show| {
        // A refused placement must not copy media.
        show.check_placement(placement)?;
        let mut importer = Importer::new(&store.media_folder(show))?;
        let bar = progress(src.size * 2, "adding", out.json);
        let added = add_source(&mut importer, show, &src, placement, group, name, &bar)?;
        bar.finish_and_clear();
        // The media on disk before the manifest that names it.
        importer.finish()?;
        Ok(added)
    })?;
    crate::media::fingerprint_present(&store, &show)?;
    let path = &show.clip(&id).expect("just added").audio.path;
    if out.json {
        print_json(&json!({
            "id": id,
            "file": path,
            "copied": copied,
            "group": group,
            "page": page.0.get(),
            "tab": tab_ix.number(),
            "row": at.row,
            "col": at.col,
        }));
    } else {
        println!("{id}");
        eprintln!(
            "added {id}: {path} ({}) on page {page} tab {} at {at} in group {group}{}",
            describe(&src.probed.format),
            tab_ix.number(),
            if copied {
                ", copied into the media folder"
            } else {
                ""
            }
        );
    }
    Ok(Outcome::Ok)
}

/// One clip of an import manifest (CSV with these columns, or a JSON array
/// of objects with these keys); only `file` is required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    file: PathBuf,
    page: Option<u16>,
    tab: Option<usize>,
    row: Option<u16>,
    col: Option<u16>,
    group: Option<Group>,
    name: Option<String>,
    level_db: Option<f64>,
    fade_in: Option<String>,
    fade_out: Option<String>,
    #[serde(rename = "loop")]
    looped: Option<bool>,
    title: Option<String>,
    artist: Option<String>,
    composer: Option<String>,
    publisher: Option<String>,
    isrc: Option<String>,
    iswc: Option<String>,
    pro: Option<String>,
}

/// Where and how a file of an import goes.
struct Planned {
    src: Source,
    at: Placement,
    group: Group,
    name: Option<String>,
    changes: ClipChanges,
}

/// `hostctl clip import`: many files in one edit, each on the next free
/// button (or where a manifest row says), with one progress bar. Every
/// file is probed and every place found before any is copied: a bad file
/// or too few free buttons refuses the whole import, changing nothing.
pub fn import(
    dir: &Path,
    files: &[PathBuf],
    manifest: Option<&Path>,
    tab: &TabArg,
    from: Option<GridPos>,
    group: Group,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (page, tab_ix) = page_tab(tab)?;
    let rows = match manifest {
        Some(m) => read_manifest(m)?,
        None => Vec::new(),
    };
    if files.is_empty() && rows.is_empty() {
        bail!("nothing to import: name audio files, or --manifest FILE");
    }
    let (store, show, added) = edit(dir, |store, show| {
        let mut taken = Vec::new();
        let mut plan = Vec::new();
        for file in files {
            let at = next_free(show, page, tab_ix, from, &taken)?;
            taken.push(at);
            plan.push(Planned {
                src: probe_file(file)?,
                at,
                group,
                name: None,
                changes: ClipChanges::default(),
            });
        }
        let base = manifest.and_then(Path::parent).unwrap_or(Path::new("."));
        for (n, row) in rows.into_iter().enumerate() {
            let line = n + 1;
            let here = || format!("manifest row {line} ({})", row.file.display());
            let page = row.page.map_or(Ok(page), |p| {
                PageNo::new(p).with_context(|| format!("{}: page 0 does not exist", here()))
            })?;
            let t = row.tab.map_or(Ok(tab_ix), |t| {
                TabIndex::from_number(t)
                    .with_context(|| format!("{}: tab {t} does not exist", here()))
            })?;
            let at = match (row.row, row.col) {
                (Some(r), Some(c)) => {
                    let pos = GridPos::new(r, c)
                        .with_context(|| format!("{}: rows and columns count from 1", here()))?;
                    let at = Placement { page, tab: t, pos };
                    show.check_placement(at).with_context(here)?;
                    if taken.contains(&at) {
                        bail!("{}: {pos} is taken by an earlier row", here());
                    }
                    at
                }
                (None, None) => next_free(show, page, t, None, &taken).with_context(here)?,
                _ => bail!("{}: give both row and col, or neither", here()),
            };
            taken.push(at);
            let file = base.join(&row.file);
            let time = |v: &Option<String>| -> anyhow::Result<Option<TimeSpec>> {
                v.as_deref()
                    .map(|t| {
                        t.parse()
                            .map_err(|e: String| anyhow::anyhow!("{}: {e}", here()))
                    })
                    .transpose()
            };
            let changes = ClipChanges {
                level_db: row.level_db,
                fade_in: FadeChange {
                    time: time(&row.fade_in)?,
                    ..FadeChange::default()
                },
                fade_out: FadeChange {
                    time: time(&row.fade_out)?,
                    ..FadeChange::default()
                },
                looping: LoopChange {
                    enabled: row.looped.filter(|l| *l),
                    ..LoopChange::default()
                },
                rights: RightsChanges::typed([
                    &row.title,
                    &row.artist,
                    &row.composer,
                    &row.publisher,
                    &row.isrc,
                    &row.iswc,
                    &row.pro,
                ]),
                ..ClipChanges::default()
            };
            plan.push(Planned {
                src: probe_file(&file).with_context(here)?,
                at,
                group: row.group.unwrap_or(group),
                name: row.name,
                changes,
            });
        }
        let total: u64 = plan.iter().map(|p| p.src.size * 2).sum();
        let bar = progress(total, "importing", out.json);
        let mut importer = Importer::new(&store.media_folder(show))?;
        let mut added = Vec::new();
        for p in plan {
            let (id, _) = add_source(&mut importer, show, &p.src, p.at, p.group, p.name, &bar)?;
            if !p.changes.is_empty() {
                show.set_clip(&id, &p.changes)?;
            }
            added.push((id, p.at));
        }
        bar.finish_and_clear();
        // Every copy on disk, with one sync, before the manifest names them.
        importer.finish()?;
        Ok(added)
    })?;
    crate::media::fingerprint_present(&store, &show)?;
    if out.json {
        let list: Vec<_> = added
            .iter()
            .map(|(id, at)| {
                json!({"id": id, "file": show.clip(id).map(|c| &c.audio.path),
                       "page": at.page.0.get(), "tab": at.tab.number(), "at": at.pos.to_string()})
            })
            .collect();
        print_json(&json!({"imported": list}));
    } else {
        for (id, at) in &added {
            println!(
                "{id}\tpage {} tab {} at {}",
                at.page,
                at.tab.number(),
                at.pos
            );
        }
        eprintln!("imported {} clip(s)", added.len());
    }
    Ok(Outcome::Ok)
}

/// The first free button of a tab in reading order (from `from`), not among `taken`.
fn next_free(
    show: &Show,
    page: PageNo,
    tab: TabIndex,
    from: Option<GridPos>,
    taken: &[Placement],
) -> anyhow::Result<Placement> {
    let grid = &show.tab(page, tab)?.grid;
    let dims = grid.dims();
    let start = from.map_or((1, 1), |p| (p.row.get(), p.col.get()));
    for row in start.0..=dims.rows.get() {
        let first = if row == start.0 { start.1 } else { 1 };
        for col in first..=dims.cols.get() {
            let pos = GridPos::new(row, col).expect("rows and columns count from 1");
            let at = Placement { page, tab, pos };
            if grid.button_at(pos).is_none() && !taken.contains(&at) {
                return Ok(at);
            }
        }
    }
    bail!(
        "no free button left on page {page} tab {} ({} grid){}: resize it (hostctl grid resize) or import to another tab",
        tab.number(),
        dims,
        from.map(|f| format!(" from {f}")).unwrap_or_default()
    )
}

/// Reads an import manifest: CSV (a header row naming the columns) or JSON
/// (an array of objects), by its extension.
fn read_manifest(path: &Path) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the manifest {}", path.display()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not a clip manifest", path.display()));
    }
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(n, row)| row.with_context(|| format!("{} row {}", path.display(), n + 1)))
        .collect()
}
