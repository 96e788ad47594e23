//! `hostctl package export|import`: a session, page, tab, clip list or clip
//! settings in one tar file, and bringing one into a session (merges go
//! through the one edit path, so `hostctl undo` reverts them).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use cuebox_engine::show::{PageNo, TabIndex};
use cuebox_proto::messages::Request;
use cuebox_proto::transfer::{self, Progress};
use cuebox_session::package::{self, ImportReport, Policy, Selection};
use cuebox_session::store::{DataRoot, SessionDir};
use serde_json::json;

use crate::cli::{Output, Place};
use crate::edit::{refuse_new_problems, typed};
use crate::output::{print_json, progress};
use crate::remote::connect;
use crate::session::open;
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
    /// On a box (`BOX:`), the box packs its session (`--session`, else the
    /// active one), keeps the package in its Exports/<date>/ and this host
    /// downloads it (to `-o`, else ./<session>-<mode>.tar).
    ///
    /// Example: `hostctl package export shows/hamlet --mode tab 1.3 -o act1-sfx.tar`
    /// or `hostctl package export stage-left: --mode page 2`
    Export {
        /// The session folder, or `BOX:`.
        dir: Place,
        /// The session on the box (`BOX:` only) [default: the active one].
        #[arg(long)]
        session: Option<String>,
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
    /// On a box (`BOX:`), the package is uploaded and imported there:
    /// into `--session` (else the active one); a full package becomes the
    /// session `--session` and is activated as a push is. A merge into the
    /// session that plays applies live where it is safe, and is refused
    /// (nothing changed) while a clip it would change plays.
    ///
    /// Example: `hostctl package import act1-sfx.tar shows/macbeth --policy rename --dry-run`
    /// or `hostctl package import act1-sfx.tar stage-left: --to 2.1`
    Import {
        /// The package file.
        file: PathBuf,
        /// The session folder (a new one for a full package), or `BOX:`.
        dir: Place,
        /// The session on the box (`BOX:` only) [default: the active one;
        /// a full package needs a name].
        #[arg(long)]
        session: Option<String>,
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
            dir: Place::Box { name, .. },
            session,
            mode,
            no_media,
            out_file,
            out,
        } => export_from_box(&name, session, &mode, !no_media, out_file, &out),
        PackageCmd::Import {
            file,
            dir: Place::Box { name, .. },
            session,
            policy,
            to,
            dry_run,
            out,
        } => import_to_box(&file, &name, session, policy.into(), to, dry_run, &out),
        PackageCmd::Export {
            dir: Place::Folder(dir),
            session,
            mode,
            no_media,
            out_file,
            out,
        } => {
            no_session(session)?;
            export(&dir, &mode, !no_media, out_file, &out)
        }
        PackageCmd::Import {
            file,
            dir: Place::Folder(dir),
            session,
            policy,
            to,
            dry_run,
            out,
        } => {
            no_session(session)?;
            import(&file, &dir, policy.into(), to.as_deref(), dry_run, &out)
        }
    }
}

/// `--session` names a session on a box; a folder is its own session.
fn no_session(session: Option<String>) -> anyhow::Result<()> {
    match session {
        Some(s) => bail!("--session {s:?} names a session on a box (BOX:); a session folder is given as the folder"),
        None => Ok(()),
    }
}

/// `hostctl package export BOX:`: packed and kept on the box, downloaded here.
fn export_from_box(
    box_name: &str,
    session: Option<String>,
    mode: &[String],
    with_media: bool,
    out_file: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    // Checked here too, so a typo never reaches the box.
    Selection::parse(&mode[0], mode.get(1).map(String::as_str))?;
    let mut client = connect(box_name)?;
    let file = out_file.unwrap_or_else(|| {
        let who = session.as_deref().unwrap_or(box_name);
        PathBuf::from(format!("{who}-{}.tar", mode.join("-")).replace([',', '.', '/'], "_"))
    });
    let request = Request::PackageExport {
        session,
        mode: mode[0].clone(),
        what: mode.get(1).cloned(),
        with_media,
    };
    let bar = progress(0, "downloading", out.json);
    let got = transfer::export_package(&mut client, &request, &file, &mut |p| match p {
        Progress::Total(n) => bar.set_length(n),
        Progress::Moved(n) => bar.inc(n),
    })?;
    bar.finish_and_clear();
    if out.json {
        print_json(
            &json!({"box": box_name, "box_file": got.box_file, "file": got.file,
            "bytes": got.bytes, "manifest": got.manifest}),
        );
    } else {
        println!("{}", got.file.display());
        eprintln!(
            "{box_name} packed {} clip(s) ({} bytes), kept as {} on the box",
            got.manifest["needs"]["clips"], got.bytes, got.box_file
        );
    }
    Ok(Outcome::Ok)
}

/// `hostctl package import FILE BOX:`: uploaded and imported on the box.
fn import_to_box(
    file: &Path,
    box_name: &str,
    session: Option<String>,
    policy: Policy,
    to: Option<String>,
    dry_run: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    if let Some(t) = &to {
        place(t)?;
    }
    let mut client = connect(box_name)?;
    let bar = progress(0, "uploading", out.json);
    let done = transfer::import_package(
        &mut client,
        file,
        |package| Request::PackageImport {
            session,
            package,
            policy,
            to,
            dry_run,
        },
        &mut |p| match p {
            Progress::Total(n) => bar.set_length(n),
            Progress::Moved(n) => bar.inc(n),
        },
    )?;
    bar.finish_and_clear();
    if out.json {
        print_json(
            &json!({"box": box_name, "session": done.session, "dry_run": dry_run,
            "mode": done.mode, "report": done.report, "device_map": done.device_map,
            "activated": done.activated, "revised": done.revised}),
        );
    } else {
        print_report(&done.report, dry_run);
        for line in &done.device_map {
            println!("device map: {line}");
        }
        if let Some(r) = &done.revised {
            println!(
                "{box_name}: the playing show took it (generation {}){}",
                r.generation,
                if r.restarted {
                    "; the session started again"
                } else {
                    ""
                }
            );
        } else if !dry_run {
            println!("{box_name}: imported into session {:?}", done.session);
        }
    }
    Ok(Outcome::Ok)
}

/// `P` or `P.T`, checked; a tab defaults to 1.
fn place(text: &str) -> anyhow::Result<(PageNo, TabIndex)> {
    let (p, t) = package::parse_place(text)?;
    Ok((p, t.unwrap_or(TabIndex::from_number(1).expect("tab 1"))))
}

/// `Exports/<date>/<session>-<mode>.tar` beside the session folder,
/// numbered if taken.
fn default_out(dir: &Path, name: &str, mode: &[String]) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", dir.display()))?;
    let base = dir.parent().unwrap_or(&dir);
    Ok(package::export_path(
        &base.join(DataRoot::EXPORTS),
        name,
        &mode.join("-"),
    ))
}

fn export(
    dir: &Path,
    mode: &[String],
    with_media: bool,
    out_file: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let selection = Selection::parse(&mode[0], mode.get(1).map(String::as_str))?;
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
    let exported = package::export(
        &show,
        &media,
        &selection,
        with_media,
        None,
        &file,
        &mut |n| bar.inc(n),
    )?;
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
    let to = to.map(place).transpose()?;
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
        merge_into(file, dir, policy, to)?
    };
    if out.json {
        print_json(&json!({"dry_run": dry_run, "mode": mode, "report": report}));
    } else {
        print_report(&report, dry_run);
    }
    Ok(Outcome::Ok)
}

/// Merges the package into the session in `dir` as one undoable edit:
/// checked whole first, then the media placed, then the manifest naming
/// them saved; media placed for a save that fails are removed again.
fn merge_into(
    file: &Path,
    dir: &Path,
    policy: Policy,
    to: Option<(PageNo, TabIndex)>,
) -> anyhow::Result<(ImportReport, package::Mode)> {
    let (store, show) = open(dir)?;
    let media = store.media_folder(&show);
    let unpacked = package::open(file, Some(&media))?;
    let plan = package::plan_media(&unpacked, &media)?;
    let mut merged = show.clone();
    let report = package::merge(&mut merged, &unpacked, &plan, policy, to)?;
    refuse_new_problems(&show, &merged)?;
    let placed = unpacked
        .place(&plan, &media)
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(store.save_edit(&merged, &typed())?));
    if let Err(e) = placed {
        unpacked.unplace(&plan, &media);
        return Err(e);
    }
    Ok((report, unpacked.manifest.mode))
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
    let report = package::full_report(&unpacked, &plan, &show);
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
