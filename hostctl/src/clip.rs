//! `hostctl clip add`.

use std::fs::File;
use std::path::Path;

use anyhow::{bail, Context};
use cuebox_engine::media::probe;
use cuebox_engine::show::{AudioRef, Extra, GridPos, Group, NewClip, Placement};
use cuebox_session::media::{hash_file, import_file};
use serde_json::json;

use crate::cli::{Output, TabArg};
use crate::output::{print_json, progress};
use crate::session::{describe, open, page_tab};
use crate::Outcome;

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
    let (store, mut show) = open(dir)?;
    let (page, tab_ix) = page_tab(tab)?;
    let meta =
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", file.display());
    }

    let source = File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let ext = file.extension().and_then(|e| e.to_str());
    let probed = probe(Box::new(source), ext)
        .with_context(|| format!("{} cannot be a clip", file.display()))?;

    let bar = progress(meta.len(), "hashing", out.json);
    let hash = hash_file(file, &mut |n| bar.inc(n))
        .with_context(|| format!("cannot read {}", file.display()))?;
    bar.finish_and_clear();

    let name = name
        .or_else(|| probed.metadata.title.clone())
        .or_else(|| file.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let placement = Placement {
        page,
        tab: tab_ix,
        pos: at,
    };
    // A refused placement must not copy media.
    show.check_placement(placement)?;
    let media_root = store.media_folder(&show);
    let bar = progress(meta.len(), "copying to media", out.json);
    let imported = import_file(file, &media_root, hash, &mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    let format = describe(&probed.format);
    let path = imported.path.clone();
    let audio = AudioRef {
        path: imported.path,
        hash,
        format: probed.format,
        metadata: probed.metadata,
        extra: Extra::new(),
    };
    let id = show.add_clip(NewClip { name, group, audio }, placement)?;
    store.save_edit(&show, &crate::edit::typed())?;

    if out.json {
        print_json(&json!({
            "id": id,
            "file": path,
            "copied": imported.copied,
            "group": group,
            "page": page.0.get(),
            "tab": tab_ix.number(),
            "row": at.row,
            "col": at.col,
        }));
    } else {
        println!("{id}");
        eprintln!(
            "added {id}: {path} ({format}) on page {page} tab {} at {at} in group {group}{}",
            tab_ix.number(),
            if imported.copied {
                ", copied into the media folder"
            } else {
                ""
            }
        );
    }
    Ok(Outcome::Ok)
}
