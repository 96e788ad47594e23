//! `hostctl media find|relink|refuse|audit`: finding a session's missing
//! media again, relinking clips through the one edit path (so `hostctl
//! undo` reverts a relink), and the audit trail of every decision.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use cuebox_engine::media::probe;
use cuebox_engine::show::{ClipId, ContentHash, GridPos, MediaPath, Show};
use cuebox_session::media::recover::{self, Candidate, FindOptions, Proximity, Wanted};
use cuebox_session::media::relocate::{self, Journal, MoveMode};
use cuebox_session::media::{clipfile, hash_file, Fingerprint, Importer};
use cuebox_session::store::metadata::{AuditEntry, Decision};
use cuebox_session::store::SessionDir;
use serde_json::json;

use crate::cli::{Output, Place, TabArg};
use crate::edit::edit;
use crate::output::{print_json, progress};
use crate::session::open;
use crate::Outcome;

/// `hostctl media …`
#[derive(Debug, Subcommand)]
pub enum MediaCmd {
    /// Find clips whose media file is missing or changed, and propose
    /// candidates scored with their reasons (content hash, audio properties,
    /// audio fingerprint, names and tags, where they were found). Only a
    /// file with the clip's bytes or its audio is a match; a file of the
    /// same name with other audio is listed as refused, never offered. Exits 1
    /// while any clip's media stays missing or changed.
    ///
    /// Example: `hostctl media find shows/hamlet --search /mnt/usb ~/Music --accept best`
    Find {
        /// The session folder.
        dir: PathBuf,
        /// Also look under these folders.
        #[arg(long, num_args = 1.., value_name = "PATH")]
        search: Vec<PathBuf>,
        /// Also look on other mounted media (/media, /mnt, /run/media).
        #[arg(long)]
        mounts: bool,
        /// Relink every clip whose best candidate is a match, in one edit
        /// (each recorded as an automatic decision).
        #[arg(long, value_enum)]
        accept: Option<Accept>,
        /// Candidates listed per clip.
        #[arg(long, default_value_t = 5)]
        keep: usize,
        #[command(flatten)]
        out: Output,
    },
    /// Relink a clip to a file (copied into the media folder if it lies
    /// outside), keeping its processing; its format is checked against the
    /// clip's and the differences reported. A file recovery refuses (other
    /// audio, damaged) is refused unless `--force`.
    ///
    /// Example: `hostctl media relink shows/hamlet c3 /mnt/usb/thunder.wav`
    Relink {
        /// The session folder.
        dir: PathBuf,
        /// The clip.
        clip: String,
        /// The file.
        file: PathBuf,
        /// Relink even to a file recovery refuses.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Record that a candidate is not the clip's file (in the audit trail).
    ///
    /// Example: `hostctl media refuse shows/hamlet c3 /mnt/usb/thunder.wav`
    Refuse {
        /// The session folder.
        dir: PathBuf,
        /// The clip.
        clip: String,
        /// The candidate file.
        file: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// Move, copy or reassign the session's media folder. First a report
    /// (files, size, estimated time, problems: space, permissions, network
    /// share stability); with `--yes` the files are copied (each verified
    /// by its hash), the session switched to the new folder, and for
    /// `move` the old copies deleted. Cut at any point, nothing is lost:
    /// run the same command again to resume.
    ///
    /// `--mode keep` copies nothing: the files are already in NEW (moved by
    /// hand); each is verified there before the session uses it.
    ///
    /// A box (`BOX:`) keeps each session's media in the session's own
    /// folder, linked from its store, so there is nothing to move there:
    /// move the folder on the host and push the session.
    ///
    /// Example: `hostctl media move shows/hamlet --to /srv/media/hamlet --mode move --yes`
    Move {
        /// The session folder.
        dir: Place,
        /// The new media folder.
        #[arg(long)]
        to: PathBuf,
        /// move (copy, then delete the old copies), copy (keep them), keep
        /// (nothing copied: the files are already there).
        #[arg(long, value_enum)]
        mode: MoveModeArg,
        /// Start (without it, only the report is printed).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Give a clip's file another name in the media folder (a subfolder
    /// too), keeping every clip that plays it exactly as it is (processing,
    /// markers, fades). First what it costs; with `--yes` it is done: the
    /// new name made and verified by its hash, the session switched to it
    /// (one undoable edit), the old name removed.
    ///
    /// Example: `hostctl media rename shows/hamlet c3 --to sfx/thunder.wav --yes`
    Rename {
        /// The session folder.
        dir: PathBuf,
        /// A clip that plays the file.
        clip: String,
        /// Its new name, inside the media folder.
        #[arg(long, value_name = "PATH")]
        to: String,
        /// Do it (without it, only what it costs is printed).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Copy a clip to a button with a file of its own (its file copied and
    /// verified under a new name): the new clip keeps every setting of the
    /// old, and either can now be replaced alone. First what it costs (disk,
    /// voices, head memory); with `--yes` it is done, as one undoable edit.
    ///
    /// Example: `hostctl media copy shows/hamlet c3 --to sfx/thunder-2.wav --page 1 --tab 2 --at 1,1 --yes`
    Copy {
        /// The session folder.
        dir: PathBuf,
        /// The clip.
        clip: String,
        /// The copy's file name, inside the media folder.
        #[arg(long, value_name = "PATH")]
        to: String,
        #[command(flatten)]
        tab: TabArg,
        /// Where, as ROW,COL.
        #[arg(long, value_name = "ROW,COL")]
        at: GridPos,
        /// Do it (without it, only what it costs is printed).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Delete a clip's file, and with it every clip that plays it (their
    /// buttons freed): the disk space comes back. First what it frees; with
    /// `--yes` the clips go (one undoable edit, though the file cannot come
    /// back with it) and the file is deleted.
    ///
    /// Example: `hostctl media delete shows/hamlet c3 --yes`
    Delete {
        /// The session folder.
        dir: PathBuf,
        /// A clip that plays the file.
        clip: String,
        /// Do it (without it, only what it frees is printed).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List every recovery decision (accepted, refused, automatic).
    ///
    /// Example: `hostctl media audit shows/hamlet --json`
    Audit {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        out: Output,
    },
}

/// Which candidates `find --accept` relinks.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Accept {
    /// Each clip's best candidate, if it is a match.
    Best,
}

/// What a media move does with the old copies.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MoveModeArg {
    /// Copy, switch, then delete the old copies.
    Move,
    /// Copy and switch; the old copies stay.
    Copy,
    /// Switch only: the files are already in the new folder.
    Keep,
}

impl From<MoveModeArg> for MoveMode {
    fn from(m: MoveModeArg) -> Self {
        match m {
            MoveModeArg::Move => MoveMode::Move,
            MoveModeArg::Copy => MoveMode::Copy,
            MoveModeArg::Keep => MoveMode::Keep,
        }
    }
}

/// Runs a `media` verb.
pub fn run(cmd: MediaCmd) -> anyhow::Result<Outcome> {
    match cmd {
        MediaCmd::Find {
            dir,
            search,
            mounts,
            accept,
            keep,
            out,
        } => find(&dir, search, mounts, accept, keep, &out),
        MediaCmd::Relink {
            dir,
            clip,
            file,
            force,
            out,
        } => relink_one(&dir, &clip, &file, force, &out),
        MediaCmd::Refuse {
            dir,
            clip,
            file,
            out,
        } => refuse(&dir, &clip, &file, &out),
        MediaCmd::Audit { dir, out } => audit(&dir, &out),
        MediaCmd::Rename {
            dir,
            clip,
            to,
            yes,
            out,
        } => clip_file(&dir, &clip, FileOp::Rename(&to), yes, &out),
        MediaCmd::Copy {
            dir,
            clip,
            to,
            tab,
            at,
            yes,
            out,
        } => clip_file(&dir, &clip, FileOp::Copy(&to, &tab, at), yes, &out),
        MediaCmd::Delete {
            dir,
            clip,
            yes,
            out,
        } => clip_file(&dir, &clip, FileOp::Delete, yes, &out),
        MediaCmd::Move {
            dir,
            to,
            mode,
            yes,
            out,
        } => match dir {
            Place::Folder(dir) => move_media(&dir, &to, mode.into(), yes, &out),
            Place::Box { name, .. } => anyhow::bail!(
                "{name}: keeps every session's media in the session's own folder on its disk (linked from its store, shared between sessions), so a box has no media folder to move; move the folder on the host (hostctl media move DIR --to NEW) and push the session (hostctl push)"
            ),
        },
    }
}

/// Records the fingerprint of every clip whose file is present and has
/// none yet, so it can be recognised should it go missing or be re-encoded.
/// A file that cannot be fingerprinted is skipped (verification reports it).
pub fn fingerprint_present(store: &SessionDir, show: &Show) -> anyhow::Result<usize> {
    let db = store.metadata()?;
    let known = db.fingerprints()?;
    let media = store.media_folder(show);
    let mut recorded = 0;
    let mut done = std::collections::HashSet::new();
    for clip in &show.clips {
        let hash = clip.audio.hash;
        if known.contains_key(&hash) || !done.insert(hash) {
            continue;
        }
        let file = media.join(clip.audio.path.as_path());
        // Only the bytes the clip names: a changed file is not its audio.
        if hash_file(&file, &mut |_| ()).ok() != Some(hash) {
            continue;
        }
        if let Ok(fp) = Fingerprint::of_file(&file) {
            db.record_fingerprint(&hash, &fp)?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

fn find(
    dir: &Path,
    search: Vec<PathBuf>,
    mounts: bool,
    accept: Option<Accept>,
    keep: usize,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (store, show) = open(dir)?;
    let fingerprinted = fingerprint_present(&store, &show)?;
    let fingerprints = store.metadata()?.fingerprints()?;
    let options = FindOptions {
        search,
        mounts,
        keep,
    };
    let report = recover::find(&show, &store.media_folder(&show), &fingerprints, &options);
    let mut relinked = Vec::new();
    if accept.is_some() {
        let choices: Vec<Choice> = report
            .missing
            .iter()
            .filter_map(|m| {
                let best = m.candidates.first().filter(|c| c.verdict.is_match())?;
                Some(Choice {
                    clip: m.clip.clone(),
                    candidate: best.clone(),
                    decision: Decision::Automatic,
                })
            })
            .collect();
        if !choices.is_empty() {
            relinked = relink(dir, &choices)?;
        }
    }
    if out.json {
        print_json(&json!({
            "missing": report.missing,
            "stats": report.stats,
            "fingerprints_recorded": fingerprinted,
            "relinked": relinked,
        }));
    } else {
        if report.missing.is_empty() {
            println!("every clip's media is in place");
        }
        for m in &report.missing {
            println!("{} \"{}\": {}", m.clip, m.name, m.problem);
            if m.candidates.is_empty() {
                println!("    no candidate found; search more places with --search PATH");
            }
            for (i, c) in m.candidates.iter().enumerate() {
                println!("  {}. {} [{}]", i + 1, c.path.display(), c.verdict.as_str());
                for r in &c.reasons {
                    println!("       {} {}", if r.agrees { "+" } else { "-" }, r.detail);
                }
            }
        }
        for r in &relinked {
            println!(
                "relinked {} to {}{}",
                r.clip,
                r.path,
                notes_suffix(&r.notes)
            );
        }
        let s = &report.stats;
        eprintln!(
            "searched {} files ({} audio) in {} folders: {} headers, {} hashed, {} fingerprinted, \
             {} decoded, {} bytes read, {} ms",
            s.files,
            s.audio_files,
            s.roots.len(),
            s.headers,
            s.hashed,
            s.fingerprinted,
            s.probed,
            s.bytes_read,
            s.elapsed_ms
        );
    }
    let unresolved = report.missing.len() > relinked.len();
    Ok(if unresolved {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn notes_suffix(notes: &[String]) -> String {
    if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    }
}

/// A candidate chosen for a clip.
struct Choice {
    clip: ClipId,
    candidate: Candidate,
    decision: Decision,
}

/// A clip relinked.
#[derive(serde::Serialize)]
struct Relinked {
    clip: ClipId,
    path: String,
    from: PathBuf,
    notes: Vec<String>,
}

fn entry(clip: &ClipId, missing: &str, c: &Candidate, decision: Decision) -> AuditEntry {
    AuditEntry {
        clip: clip.clone(),
        missing_path: missing.to_owned(),
        candidate: c.path.display().to_string(),
        candidate_hash: c.hash,
        verdict: c.verdict.as_str().to_owned(),
        decision,
        reasons: c
            .reasons
            .iter()
            .map(|r| format!("{} {}", if r.agrees { "+" } else { "-" }, r.detail))
            .collect(),
    }
}

/// Relinks each chosen clip in one edit, then records each decision and the
/// new files' fingerprints.
fn relink(dir: &Path, choices: &[Choice]) -> anyhow::Result<Vec<Relinked>> {
    let (store, show, (done, entries)) = edit(dir, |store, show| {
        let mut importer = Importer::new(&store.media_folder(show))?;
        let mut done = Vec::new();
        let mut entries = Vec::new();
        for choice in choices {
            let file = &choice.candidate.path;
            let ext = file.extension().and_then(|e| e.to_str());
            let probed = probe(
                Box::new(
                    File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
                ),
                ext,
            )
            .with_context(|| format!("{} cannot be a clip", file.display()))?;
            let hash: ContentHash = hash_file(file, &mut |_| ())
                .with_context(|| format!("cannot read {}", file.display()))?;
            let imported = importer.import(file, hash, &mut |_| ())?;
            let clip = show
                .clips
                .iter_mut()
                .find(|c| c.id == choice.clip)
                .with_context(|| format!("no clip {} in the session", choice.clip))?;
            let missing = clip.audio.path.to_string();
            let notes = recover::relink(clip, imported.path.clone(), hash, probed.format);
            entries.push(entry(
                &choice.clip,
                &missing,
                &choice.candidate,
                choice.decision,
            ));
            done.push(Relinked {
                clip: choice.clip.clone(),
                path: imported.path.to_string(),
                from: file.clone(),
                notes,
            });
        }
        // The media on disk before the manifest that names them.
        importer.finish()?;
        Ok((done, entries))
    })?;
    let db = store.metadata()?;
    for e in &entries {
        db.record_decision(e)?;
    }
    fingerprint_present(&store, &show)?;
    Ok(done)
}

/// The clip `id` of the session in `dir`, judged against `file`.
fn judge(dir: &Path, id: &str, file: &Path) -> anyhow::Result<(ClipId, String, Candidate)> {
    let (store, show) = open(dir)?;
    let id: ClipId = id.parse().map_err(|e| {
        anyhow::anyhow!("{id:?} is not a clip id ({e}); hostctl session show lists them")
    })?;
    let clip = show.clip(&id).with_context(|| {
        format!(
            "no clip {id} in {}; hostctl session show lists them",
            dir.display()
        )
    })?;
    let fingerprints = store.metadata()?.fingerprints()?;
    let wanted = Wanted {
        audio: &clip.audio,
        fingerprint: fingerprints.get(&clip.audio.hash),
    };
    let file = file
        .canonicalize()
        .with_context(|| format!("cannot open {}", file.display()))?;
    let candidate = recover::judge(wanted, &file, Proximity::Search);
    Ok((id, clip.audio.path.to_string(), candidate))
}

fn relink_one(
    dir: &Path,
    id: &str,
    file: &Path,
    force: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (id, _, candidate) = judge(dir, id, file)?;
    if candidate.verdict == recover::Verdict::Refused && !force {
        let why: Vec<&str> = candidate
            .reasons
            .iter()
            .filter(|r| !r.agrees)
            .map(|r| r.detail.as_str())
            .collect();
        bail!(
            "nothing was changed: {} is not {id}'s audio ({}); pass --force to relink anyway",
            file.display(),
            why.join("; ")
        );
    }
    let done = relink(
        dir,
        &[Choice {
            clip: id,
            candidate: candidate.clone(),
            decision: Decision::Accepted,
        }],
    )?;
    if out.json {
        print_json(&json!({"relinked": done, "candidate": candidate}));
    } else {
        for r in &done {
            println!(
                "relinked {} to {} [{}]{}",
                r.clip,
                r.path,
                candidate.verdict.as_str(),
                notes_suffix(&r.notes)
            );
        }
    }
    Ok(Outcome::Ok)
}

fn refuse(dir: &Path, id: &str, file: &Path, out: &Output) -> anyhow::Result<Outcome> {
    let (id, missing, candidate) = judge(dir, id, file)?;
    let (store, _) = open(dir)?;
    let row =
        store
            .metadata()?
            .record_decision(&entry(&id, &missing, &candidate, Decision::Refused))?;
    if out.json {
        print_json(&json!({"refused": candidate, "clip": id, "audit_id": row}));
    } else {
        println!("recorded: {} is not {id}'s file", candidate.path.display());
    }
    Ok(Outcome::Ok)
}

fn audit(dir: &Path, out: &Output) -> anyhow::Result<Outcome> {
    let (store, _) = open(dir)?;
    let rows = store.metadata()?.audit()?;
    if out.json {
        print_json(&json!({ "audit": rows }));
        return Ok(Outcome::Ok);
    }
    if rows.is_empty() {
        println!("no recovery decisions recorded");
    }
    for r in &rows {
        let e = &r.entry;
        println!(
            "{} {} {}: {} -> {} [{}]",
            r.at,
            e.decision.as_str(),
            e.clip,
            e.missing_path,
            e.candidate,
            e.verdict
        );
    }
    Ok(Outcome::Ok)
}

fn move_media(
    dir: &Path,
    to: &Path,
    mode: MoveMode,
    yes: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    if let Some(journal) = Journal::load(dir)? {
        let asked = to.canonicalize().ok();
        if asked.as_deref() != Some(journal.to.as_path()) || journal.mode != mode {
            bail!(
                "an interrupted move to {} (mode {:?}) is pending; run that move again to finish it first",
                journal.to.display(),
                journal.mode
            );
        }
        eprintln!("resuming the interrupted move to {}", journal.to.display());
        return run_move(dir, journal, out);
    }
    let (store, show) = open(dir)?;
    let from = store.media_folder(&show);
    let plan = relocate::plan_move(&show, &from, to, mode)?;
    if out.json {
        print_json(&json!({ "plan": plan, "started": yes && plan.problems.is_empty() }));
    } else {
        println!(
            "{:?} {} file(s), {} bytes, from {} to {}{}",
            mode,
            plan.files.len(),
            plan.bytes,
            plan.from.display(),
            plan.to.display(),
            plan.estimated_secs
                .map(|s| format!(", about {s:.0} s"))
                .unwrap_or_default()
        );
        for line in plan.folder.lines() {
            println!("  {line}");
        }
        for p in &plan.problems {
            println!("problem: {p}");
        }
    }
    if !plan.problems.is_empty() {
        eprintln!("nothing was changed: fix the problems above, or choose another folder");
        return Ok(Outcome::Problems);
    }
    if !yes {
        if !out.json {
            eprintln!("nothing was changed: run again with --yes to start");
        }
        return Ok(Outcome::Ok);
    }
    let journal = Journal {
        from: plan.from,
        to: plan.to,
        mode,
        files: plan.files,
        switched: false,
    };
    journal.save(dir)?;
    run_move(dir, journal, out)
}

/// Runs (or resumes) a journalled move to its end.
fn run_move(dir: &Path, mut journal: Journal, out: &Output) -> anyhow::Result<Outcome> {
    if !journal.switched {
        let total = journal.files.iter().map(|f| f.size).sum();
        let bar = progress(total, "copying", out.json);
        relocate::copy_files(&journal, &mut |n| bar.inc(n))?;
        bar.finish_and_clear();
        let recorded = crate::session::record_media_folder(dir, &journal.to)?;
        edit(dir, |_, show| {
            show.session.media_folder = recorded.to_string_lossy().into_owned();
            Ok(())
        })?;
        journal.switched = true;
        journal.save(dir)?;
    }
    let freed = match journal.mode {
        MoveMode::Move => relocate::delete_originals(&journal)?,
        _ => 0,
    };
    Journal::finish(dir)?;
    if out.json {
        print_json(
            &json!({"media_folder": journal.to, "files": journal.files.len(), "freed_bytes": freed}),
        );
    } else {
        println!(
            "the session uses {} ({} file(s)){}",
            journal.to.display(),
            journal.files.len(),
            if freed > 0 {
                format!("; {freed} bytes freed in {}", journal.from.display())
            } else {
                String::new()
            }
        );
    }
    Ok(Outcome::Ok)
}

/// What `media rename|copy|delete` does to a clip's file.
enum FileOp<'a> {
    /// Another name for it (`--to`).
    Rename(&'a str),
    /// A copy of the clip with a copy of its file, at a button.
    Copy(&'a str, &'a TabArg, GridPos),
    /// The file and every clip that plays it.
    Delete,
}

/// `hostctl media rename|copy|delete`: what it costs, then (with `yes`)
/// the file made first, the session edited, the old file removed last.
fn clip_file(
    dir: &Path,
    clip: &str,
    op: FileOp<'_>,
    yes: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (store, show) = open(dir)?;
    let id: ClipId = clip
        .parse()
        .map_err(|e| anyhow::anyhow!("{clip:?} is not a clip id ({e})"))?;
    let c = show
        .clip(&id)
        .with_context(|| {
            format!("there is no clip \"{id}\"; `hostctl session show` lists the clips")
        })?
        .clone();
    let media = store.media_folder(&show);
    let size = std::fs::metadata(media.join(c.audio.path.as_path())).map_or(0, |m| m.len()) as i64;
    let users = clipfile::users(&show, &c.audio.path);
    let to = |p: &str| -> anyhow::Result<MediaPath> {
        MediaPath::try_from(p.to_owned()).map_err(|e| anyhow::anyhow!("--to {p:?}: {e}"))
    };
    let (what, before) = match &op {
        FileOp::Rename(p) => (
            format!("rename {} to {}", c.audio.path, to(p)?),
            clipfile::impact(&show, &users, 0),
        ),
        FileOp::Copy(p, _, _) => (
            format!("copy {id} with {} as {}", c.audio.path, to(p)?),
            clipfile::impact(&show, std::slice::from_ref(&id), size),
        ),
        FileOp::Delete => (
            format!("delete {} and clip(s) {}", c.audio.path, list(&users)),
            clipfile::impact(&show, &users, -size),
        ),
    };
    let say = |done: bool, impact: &clipfile::Impact| {
        if out.json {
            print_json(&json!({"operation": what, "done": done, "impact": impact}));
        } else {
            println!(
                "{what}: {} MB of disk {}, {} voice(s) and {:.1} MB of head memory for clip(s) {}{}",
                (impact.disk_bytes.unsigned_abs() as f64 / 1e6),
                if impact.disk_bytes < 0 { "freed" } else { "taken" },
                impact.voices,
                impact.heads_bytes as f64 / 1e6,
                list(&impact.clips),
                if done { "; done and verified" } else { "" },
            );
        }
    };
    if !yes {
        say(false, &before);
        eprintln!("nothing was changed: run again with --yes to do it");
        return Ok(Outcome::Ok);
    }
    let after = match op {
        FileOp::Rename(p) => {
            let new = to(p)?;
            clipfile::place(
                &media,
                &c.audio.path,
                &new,
                c.audio.hash,
                clipfile::Make::Link,
            )?;
            edit(dir, |_, show| {
                for u in &users {
                    if let Some(i) = show.clips.iter().position(|x| &x.id == u) {
                        show.clips[i].audio.path = new.clone();
                    }
                }
                Ok(())
            })?;
            clipfile::remove(&media, &c.audio.path)?;
            store.seal_last_edit(&format!(
                "{} was renamed {new} in the media folder; rename it back: hostctl media rename {} {id} --to {} --yes",
                c.audio.path,
                dir.display(),
                c.audio.path
            ))?;
            before
        }
        FileOp::Copy(p, tab, at) => {
            let new = to(p)?;
            let taken = clipfile::place(
                &media,
                &c.audio.path,
                &new,
                c.audio.hash,
                clipfile::Make::Copy,
            )?;
            let at = crate::edit::placement(tab, at)?;
            let (_, show, copy) = edit(dir, |_, show| {
                let copy = show.copy_clip(&id, at)?;
                if let Some(i) = show.clips.iter().position(|x| x.id == copy) {
                    show.clips[i].audio.path = new.clone();
                }
                Ok(copy)
            })?;
            clipfile::impact(&show, &[copy], taken as i64)
        }
        FileOp::Delete => {
            edit(dir, |_, show| {
                for u in &users {
                    show.remove_clip(u)?;
                }
                Ok(())
            })?;
            let freed = clipfile::remove(&media, &c.audio.path)?;
            store.seal_last_edit(&format!(
                "{} was deleted from the media folder; add the file again (hostctl clip add)",
                c.audio.path
            ))?;
            clipfile::Impact {
                disk_bytes: -(freed as i64),
                ..before
            }
        }
    };
    say(true, &after);
    Ok(Outcome::Ok)
}

/// Clip ids, space-separated.
fn list(ids: &[ClipId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}
