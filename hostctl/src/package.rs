//! `hostctl package export|import`: a session, page, tab, clip list or clip
//! settings in one tar file, and bringing one into a session (merges go
//! through the one edit path, so `hostctl undo` reverts them).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use cuebox_engine::show::{ClipId, PageNo, TabIndex};
use cuebox_session::package::{self, ImportReport, Policy, Selection};
use cuebox_session::store::{DataRoot, SessionDir};
use serde_json::json;

use crate::cli::{Output, TabArg};
use crate::edit::edit;
use crate::output::{print_json, progress};
use crate::session::{open, page_tab};
use crate::Outcome;

/// `hostctl package …`
#[derive(Debug, Subcommand)]
pub enum PackageCmd {
    /// Write a package: one tar file holding a versioned JSON manifest
    /// (pages, tabs and grids, clips, media references with their hashes,
    /// what the clips need) and the media. Modes: `full`, `metadata
    /// [IDS]` (clip settings, no media), `tab P.T`, `page P`, `clips IDS`
    /// (comma-separated, in order).
    ///
    /// Example: `hostctl package export shows/hamlet --mode tab 1.3 -o act1-sfx.tar`
    Export {
        /// The session folder.
        dir: PathBuf,
        /// What to pack: MODE [WHAT].
        #[arg(long, num_args = 1..=2, value_names = ["MODE", "WHAT"], default_values = ["full"])]
        mode: Vec<String>,
        /// Leave the media out (the clips keep their references).
        #[arg(long)]
        no_media: bool,
        /// The package file [default: Exports/<date>/<session>-<mode>.tar
        /// beside the session folder].
        #[arg(short = 'o', long = "out-file")]
        out_file: Option<PathBuf>,
        #[command(flatten)]
        out: Output,
    },
    /// Import a package. A full package becomes a new session in DIR; a
    /// page, tab, clip-list or metadata package merges into the session in
    /// DIR, conflicts settled by `--policy`. Run with `--dry-run` first: it
    /// reports what is added, replaced and in conflict, and what the clips
    /// need, and writes nothing. A damaged or hostile package is refused
    /// with nothing written.
    ///
    /// Example: `hostctl package import act1-sfx.tar shows/macbeth --policy rename --dry-run`
    Import {
        /// The package file.
        file: PathBuf,
        /// The session folder (a new one for a full package).
        dir: PathBuf,
        /// How conflicts are settled.
        #[arg(long, value_enum, default_value_t = PolicyArg::Keep)]
        policy: PolicyArg,
        /// Where a page goes (`P`), or a tab or clip list (`P.T`).
        #[arg(long, value_name = "P|P.T")]
        to: Option<String>,
        /// Report what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        out: Output,
    },
}

/// How conflicts are settled on import.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// The session's item stays; the package's is skipped.
    Keep,
    /// The package's item takes the session's place.
    Replace,
    /// Both stay: the package's goes to the next free button.
    Rename,
}

impl From<PolicyArg> for Policy {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::Keep => Policy::Keep,
            PolicyArg::Replace => Policy::Replace,
            PolicyArg::Rename => Policy::Rename,
        }
    }
}

/// Runs a `package` verb.
pub fn run(cmd: PackageCmd) -> anyhow::Result<Outcome> {
    match cmd {
        PackageCmd::Export {
            dir,
            mode,
            no_media,
            out_file,
            out,
        } => export(&dir, &mode, !no_media, out_file, &out),
        PackageCmd::Import {
            file,
            dir,
            policy,
            to,
            dry_run,
            out,
        } => import(&file, &dir, policy.into(), to.as_deref(), dry_run, &out),
    }
}

fn ids(list: &str) -> anyhow::Result<Vec<ClipId>> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|id| {
            id.trim().parse().map_err(|e| {
                anyhow::anyhow!("{id:?} is not a clip id ({e}); hostctl session show lists them")
            })
        })
        .collect()
}

/// `P` or `P.T`, checked.
fn place(text: &str) -> anyhow::Result<(PageNo, Option<TabIndex>)> {
    let (page, tab) = match text.split_once('.') {
        Some((p, t)) => (p, Some(t)),
        None => (text, None),
    };
    let page: u16 = page
        .parse()
        .with_context(|| format!("{text:?}: a page number (P) or page and tab (P.T), like 1.3"))?;
    let tab_n: usize = match tab {
        Some(t) => t
            .parse()
            .with_context(|| format!("{text:?}: a tab number 1 to 8 after the dot"))?,
        None => 1,
    };
    let (p, t) = page_tab(&TabArg { page, tab: tab_n })?;
    Ok((p, tab.map(|_| t)))
}

fn selection(mode: &[String]) -> anyhow::Result<Selection> {
    let what = mode.get(1).map(String::as_str);
    Ok(match (mode[0].as_str(), what) {
        ("full", None) => Selection::Full,
        ("metadata", what) => Selection::Metadata(ids(what.unwrap_or(""))?),
        ("tab", Some(w)) => match place(w)? {
            (p, Some(t)) => Selection::Tab(p, t),
            (_, None) => bail!("--mode tab P.T names a page and a tab, like 1.3"),
        },
        ("page", Some(w)) => Selection::Page(place(w)?.0),
        ("clips", Some(w)) => Selection::Clips(ids(w)?),
        ("full", Some(_)) => bail!("--mode full takes nothing after it"),
        ("tab" | "page" | "clips", None) => {
            bail!(
                "--mode {} needs what to pack: tab P.T, page P, clips IDS",
                mode[0]
            )
        }
        (other, _) => bail!("unknown mode {other:?}: full, metadata, tab P.T, page P or clips IDS"),
    })
}

/// `Exports/<date>/<session>-<mode>.tar` beside the session folder (on a
/// box, the data root's `Exports/`), numbered if taken.
fn default_out(dir: &Path, name: &str, mode: &[String]) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let base = dir.parent().unwrap_or(&dir);
    let date = jiff::Timestamp::now().strftime("%Y-%m-%d");
    let exports = base.join(DataRoot::EXPORTS).join(date.to_string());
    let tag: String = mode.join("-").replace([',', '.', '/'], "_");
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    for n in 1u32.. {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let file = exports.join(format!("{safe}-{tag}{suffix}.tar"));
        if !file.exists() {
            return Ok(file);
        }
    }
    unreachable!("names run out only after four billion exports in a day")
}

fn export(
    dir: &Path,
    mode: &[String],
    with_media: bool,
    out_file: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let selection = selection(mode)?;
    let (store, show) = open(dir)?;
    let file = match out_file {
        Some(f) => f,
        None => default_out(dir, &show.session.name, mode)?,
    };
    let media = store.media_folder(&show);
    let bar = progress(
        if with_media {
            cuebox_session::media::media_bytes(&show, &media)
        } else {
            0
        },
        "packing",
        out.json,
    );
    let exported = package::export(&show, &media, &selection, with_media, &file, &mut |n| {
        bar.inc(n)
    })?;
    bar.finish_and_clear();
    let m = &exported.manifest;
    if out.json {
        print_json(&json!({"file": exported.file, "bytes": exported.bytes, "manifest": m}));
    } else {
        println!("{}", exported.file.display());
        eprintln!(
            "packed {} clip(s), {} media file(s) ({} included), {} bytes",
            m.needs.clips,
            m.media.len(),
            m.media.iter().filter(|x| x.included).count(),
            exported.bytes
        );
    }
    Ok(Outcome::Ok)
}

fn import(
    file: &Path,
    dir: &Path,
    policy: Policy,
    to: Option<&str>,
    dry_run: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let to = to
        .map(place)
        .transpose()?
        .map(|(p, t)| (p, t.unwrap_or(TabIndex::from_number(1).expect("tab 1"))));
    let (report, mode) = if !dir.join(SessionDir::MANIFEST).exists() {
        import_new(file, dir, dry_run)?
    } else if dry_run {
        let (store, mut show) = open(dir)?;
        let media = store.media_folder(&show);
        let unpacked = package::open(file, None)?;
        let plan = package::plan_media(&unpacked, &media)?;
        let report = package::merge(&mut show, &unpacked, &plan, policy, to)?;
        (report, unpacked.manifest.mode)
    } else {
        let (_, _, done) = edit(dir, |store, show| {
            let media = store.media_folder(show);
            let unpacked = package::open(file, Some(&media))?;
            let plan = package::plan_media(&unpacked, &media)?;
            let report = package::merge(show, &unpacked, &plan, policy, to)?;
            // The media on disk before the manifest that names them.
            unpacked.place(&plan, &media)?;
            Ok((report, unpacked.manifest.mode))
        })?;
        done
    };
    if out.json {
        print_json(&json!({"dry_run": dry_run, "mode": mode, "report": report}));
    } else {
        print_report(&report, dry_run);
    }
    Ok(Outcome::Ok)
}

/// A full package into a new session folder `dir`.
fn import_new(
    file: &Path,
    dir: &Path,
    dry_run: bool,
) -> anyhow::Result<(ImportReport, package::Mode)> {
    let media = dir.join("media");
    let unpacked = if dry_run {
        package::open(file, None)?
    } else {
        let (fresh_dir, fresh_media) = (!dir.exists(), !media.exists());
        std::fs::create_dir_all(&media)
            .with_context(|| format!("cannot create {}", media.display()))?;
        let opened = package::open(file, Some(&media));
        if opened.is_err() {
            // Refused: leave nothing behind.
            if fresh_media {
                let _ = std::fs::remove_dir(&media);
            }
            if fresh_dir {
                let _ = std::fs::remove_dir(dir);
            }
        }
        opened?
    };
    // In a dry run the media folder does not exist: every file is new.
    let plan = package::plan_media(&unpacked, &media)?;
    let show = package::full_show(&unpacked, &plan)?;
    let report = ImportReport {
        added: show
            .clips
            .iter()
            .map(|c| format!("{} \"{}\"", c.id, c.name))
            .collect(),
        media_new: plan.files.iter().filter(|f| !f.2).count(),
        media_present: plan.files.iter().filter(|f| f.2).count(),
        media_bytes: plan.new_bytes,
        needs: unpacked.manifest.needs.clone(),
        ..ImportReport::default()
    };
    if !dry_run {
        unpacked.place(&plan, &media)?;
        SessionDir::create(dir, &show)?;
    }
    Ok((report, unpacked.manifest.mode))
}

fn print_report(r: &ImportReport, dry_run: bool) {
    let verb = if dry_run { "would be" } else { "" };
    for (what, list) in [
        ("added", &r.added),
        ("replaced", &r.replaced),
        ("conflict", &r.conflicts),
    ] {
        for item in list {
            println!("{what}: {item}");
        }
    }
    println!(
        "{} added, {} replaced, {} conflict(s){}; media: {} new file(s) ({} bytes), {} already present; \
         needs {} voice(s), groups {}",
        r.added.len(),
        r.replaced.len(),
        r.conflicts.len(),
        if dry_run { format!(" ({verb} — dry run, nothing written)") } else { String::new() },
        r.media_new,
        r.media_bytes,
        r.media_present,
        r.needs.voices,
        r.needs
            .groups
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
}
