//! cueboxd: the cuebox daemon.
//!
//! Exit status: 0 done, 1 problems (an error, a damaged session or recovery
//! point), 2 usage (clap's own status for a command line it cannot parse).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cueboxd::store::{chain, DataRoot, RecoveryPoint, SessionDir, SessionEntry};
use serde_json::json;

/// The cuebox daemon: plays a session and keeps it safe on disk.
#[derive(Debug, Parser)]
#[command(name = "cueboxd", version)]
struct Cli {
    /// The data root: Sessions/, Objects/, api/, device-map.json, Logs/ (the play log, the technical logs), Exports/ (cue sheets, log exports); Media/ is made empty.
    #[arg(long, global = true, env = DataRoot::ENV, default_value = DataRoot::DEFAULT_PATH)]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, inspect and recover the sessions under <root>/Sessions.
    #[command(subcommand)]
    Sessions(SessionsCmd),
    /// Play a session live through ALSA on the card the box finds (or the
    /// one named): validate it, arm it, run the real-time threads, take
    /// commands (stdin, --events, --control-socket; with --listen the
    /// network API), and on SIGTERM or SIGINT, at the end of the run or on a
    /// switch, write a recovery point and exit.
    ///
    /// Commands are JSON objects, one per line, in the EVENTS.json vocabulary
    /// with the time optional: `{"cmd": "go", "clip": "c1"}` plays now,
    /// `{"at_sample": 96000, "cmd": "stop_all"}` at engine frame 96000.
    Run(Box<cueboxd::run::Args>),
    /// Render a session's events to a stereo 32-bit float WAV file, without
    /// a sound card, through the same renderer the box plays with.
    ///
    /// EVENTS is a JSON array of timed commands, for example
    /// `[{"at": 1.5, "cmd": "go", "clip": "c1"}, {"at": 4, "cmd": "fade_out", "clip": "c1", "time": 2}]`
    /// (`at` in seconds, or `at_sample`); see docs/offline-render.md.
    Render(cueboxd::offline::Request),
    /// The box's system side: its real-time readiness, IRQ routing and
    /// packet filter.
    #[command(subcommand)]
    System(SystemCmd),
    /// Linear timecode: decode a WAV file's LTC, or generate LTC.
    #[command(subcommand)]
    Tc(cueboxd::tc::TcCmd),
    /// Run one of the box's time sources on its own and watch it.
    #[command(subcommand)]
    Clock(cueboxd::clocking::cli::ClockCmd),
    /// Show the box's key fingerprint (made on first use), which `hostctl
    /// pair` asks you to confirm; with --web, the SHA-256 fingerprint of the
    /// operator's page's certificate (made on first use), which a browser
    /// shows. Example: cueboxd key --web
    Key {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The operator's page's certificate instead (docs/web.md).
        #[arg(long)]
        web: bool,
    },
    /// Authorize hosts: the keys `hostctl key` prints, each with a role
    /// (view: status; control: also run the show; edit: also push sessions).
    #[command(subcommand)]
    Auth(AuthCmd),
    /// The play log (<root>/Logs/plays/): every play's start and end, in two
    /// checksummed, chained copies; and the technical logs (`log tech`).
    #[command(subcommand)]
    Log(LogCmd),
    /// Off-box copies of Logs/ and Exports/ through rclone, as
    /// <root>/offbox.json says (docs/playlog.md, "Off-box copies").
    #[command(subcommand)]
    Offbox(OffboxCmd),
}

#[derive(Debug, Subcommand)]
enum OffboxCmd {
    /// Check what a copy needs: the configuration, rclone, the rclone
    /// configuration naming the remote, and the remote answering (rclone
    /// mkdir and lsd on it). Exit 1 at the first that fails, saying what to do.
    ///
    /// Example: `cueboxd offbox check --json`
    Check(OffboxArgs),
    /// Copy now (rclone copy: new and changed files; nothing on the remote
    /// is ever deleted) and print what was copied.
    ///
    /// Example: `cueboxd offbox copy`
    Copy(OffboxArgs),
}

#[derive(Debug, clap::Args)]
struct OffboxArgs {
    /// The configuration (default: <root>/offbox.json).
    #[arg(long, value_name = "FILE.json")]
    offbox: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum LogCmd {
    /// Check both copies of the play log: every entry's checksum, the chain
    /// linking each to the one before, and that the copies agree. Names the
    /// file, line and entry of any damage; exit 1 when there is some.
    ///
    /// Example: `cueboxd log verify --json`
    Verify {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the entries of the play log, oldest first.
    ///
    /// Example: `cueboxd log list`
    List {
        /// Print one JSON object per entry.
        #[arg(long)]
        json: bool,
    },
    /// Write the cue sheet of a session's plays — every work used, its uses,
    /// the time heard, its usage, review and what a society will ask for
    /// that the session does not say — to <root>/Exports/<date>/ (the path
    /// is printed, and the export recorded in the play log) or to --out.
    ///
    /// Example: `cueboxd log cuesheet hamlet --performance 2026-12-01 --format csv`
    Cuesheet(CuesheetArgs),
    /// Reconcile this box's play log with another unit's (a main/backup
    /// pair's other half): the plays it logged that this log lacks — or
    /// their ends — are copied in, each play counted once, and the
    /// reconciliation is recorded in the audit trail. FILE is the other
    /// unit's log as `hostctl log OTHER --save FILE` fetched it (or its
    /// Logs/plays/plays-a.log). Running it again copies nothing.
    ///
    /// Example: `cueboxd log reconcile backup-plays.log --unit backup --dry-run`
    Reconcile {
        /// The other unit's log.
        file: PathBuf,
        /// The other unit's name, for the audit trail.
        #[arg(long)]
        unit: String,
        /// Only say what would be copied.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Annotate a work for the cue sheets: its usage category, a note, its
    /// review state. Each annotation is an entry of the play log (the audit
    /// trail), and changes only what it gives.
    ///
    /// Example: `cueboxd log annotate hamlet c12 --usage theme --review verified`
    Annotate(AnnotateArgs),
    /// The plays of a period, one line each (from the play log's SQLite
    /// index, <root>/Logs/plays.sqlite, brought up to date first): when,
    /// show, clip, work, where the GO came from, time heard, how it ended.
    ///
    /// Example: `cueboxd log plays --show Hamlet --performance 2026-12-01`
    Plays {
        /// Only this show's plays (its name, as the plays record it).
        #[arg(long)]
        show: Option<String>,
        #[command(flatten)]
        period: cueboxd::journal::cli::PeriodArgs,
        /// Print one JSON object per play.
        #[arg(long)]
        json: bool,
    },
    /// Export a technical log (<root>/Logs/<KIND>/, its rotated files and
    /// the current one) over a period, in time order, to
    /// <root>/Exports/<date>/techlog-<KIND>-<date>.<format> (the path is
    /// printed) or to --out. Damaged lines (a crash's torn last line) are
    /// skipped and counted.
    ///
    /// Example: `cueboxd log tech errors --performance 2026-12-01 --format csv`
    Tech(TechArgs),
}

#[derive(Debug, clap::Args)]
struct TechArgs {
    /// application, errors, playback or metrics.
    kind: cueboxd::techlog::Kind,
    #[command(flatten)]
    period: cueboxd::journal::cli::PeriodArgs,
    /// json, csv or xml (schemas in docs/schemas/techlog.*).
    #[arg(long, default_value = "json")]
    format: cueboxd::journal::Format,
    /// Write here instead (`-`: standard output; not kept in Exports/ nor
    /// recorded as an export).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Say what was written as one JSON object (path, entries, skipped lines).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct CuesheetArgs {
    /// The session whose show information heads the sheet and whose plays
    /// it counts: its name under the root, or its folder.
    session: String,
    #[command(flatten)]
    period: cueboxd::journal::cli::PeriodArgs,
    /// json, csv or xml (schemas in docs/schemas/).
    #[arg(long, default_value = "json")]
    format: cueboxd::journal::Format,
    /// summary (a line per work) or detailed (every use too); the show's
    /// reporting preference by default.
    #[arg(long)]
    depth: Option<cuebox_engine::show::ReportDepth>,
    /// Write here instead (`-`: standard output; not kept in Exports/ nor
    /// recorded as an export).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct AnnotateArgs {
    /// The session (its show's works): its name under the root, or its folder.
    session: String,
    /// The work: a clip id of the session (its audio) or a content hash (`blake3:…`).
    work: String,
    #[command(flatten)]
    changes: cueboxd::journal::cli::ChangesArgs,
}

#[derive(Debug, Subcommand)]
enum AuthCmd {
    /// Authorize a host's key, or change its role.
    Add {
        /// The host's key (`ed25519:…`, from `hostctl key` or a refusal message).
        key: cueboxd::api::PublicKey,
        /// view, control or edit.
        #[arg(long)]
        role: cueboxd::api::Role,
        /// A name for people ("sound desk laptop").
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Remove a host's authorization (applies from its next connection).
    Remove {
        /// The host's key.
        key: cueboxd::api::PublicKey,
    },
    /// List the authorized hosts.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SystemCmd {
    /// A readiness report in the spirit of realtimeconfigquickscan: kernel,
    /// command line, governor, limits, IRQ placement and priorities, each
    /// PASS, WARN or FAIL with the exact fix. Exit 0 when nothing fails.
    Check(cueboxd::system::check::Args),
    /// The IRQ routing off the audio core, done by root for a cueboxd that
    /// runs as its own user (`cueboxd run --no-irq-routing`).
    #[command(subcommand)]
    Irq(cueboxd::system::irqctl::IrqCmd),
    /// Print the box's nftables ruleset (for `nft -f -`): the show networks
    /// may reach the API, OSC, MSC and PTP; everything else is dropped. Exit
    /// 1 when a show network is bad (the ruleset then lets the private and
    /// link-local networks in; stderr says why).
    Firewall(cueboxd::system::firewall::Args),
}

#[derive(Debug, Subcommand)]
enum SessionsCmd {
    /// List the sessions with their clip count, last save and recovery points.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a session's recovery points, or restore one.
    Recover {
        /// The session's name.
        session: String,
        /// Restore this recovery point (its id, or its sequence number) as the
        /// session; the current session is first kept as a recovery point.
        #[arg(long, value_name = "ID")]
        restore: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// How a command ended when it did not fail outright.
enum Outcome {
    Ok,
    Problems,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sessions(SessionsCmd::List { json }) => list(&cli.root, json),
        Command::Sessions(SessionsCmd::Recover {
            session,
            restore: None,
            json,
        }) => recover_list(&cli.root, &session, json),
        Command::Sessions(SessionsCmd::Recover {
            session,
            restore: Some(id),
            json,
        }) => restore(&cli.root, &session, &id, json),
        Command::Run(args) => cueboxd::run::run(&cli.root, &args).map(|saved| {
            if saved {
                Outcome::Ok
            } else {
                Outcome::Problems
            }
        }),
        Command::Render(request) => render(request),
        Command::Tc(cmd) => cueboxd::tc::run(&cmd)
            .map(|()| Outcome::Ok)
            .map_err(|e| e.into()),
        Command::Clock(cmd) => cueboxd::clocking::cli::run(&cmd)
            .map(|()| Outcome::Ok)
            .map_err(|e| e.into()),
        Command::Key { json, web: false } => key(&cli.root, json),
        Command::Key { json, web: true } => web_key(&cli.root, json),
        Command::Auth(cmd) => auth(&cli.root, cmd),
        Command::Log(LogCmd::Verify { json }) => log_verify(&cli.root, json),
        Command::Log(LogCmd::List { json }) => log_list(&cli.root, json),
        Command::Log(LogCmd::Cuesheet(args)) => log_cuesheet(&cli.root, &args),
        Command::Log(LogCmd::Annotate(args)) => log_annotate(&cli.root, &args),
        Command::Log(LogCmd::Reconcile {
            file,
            unit,
            dry_run,
            json,
        }) => log_reconcile(&cli.root, &file, &unit, dry_run, json),
        Command::Log(LogCmd::Plays { show, period, json }) => {
            log_plays(&cli.root, show, &period, json)
        }
        Command::Log(LogCmd::Tech(args)) => log_tech(&cli.root, &args),
        Command::Offbox(OffboxCmd::Check(args)) => offbox_check(&cli.root, &args),
        Command::Offbox(OffboxCmd::Copy(args)) => offbox_copy(&cli.root, &args),
        Command::System(SystemCmd::Check(args)) => cueboxd::system::check::run(&args)
            .map(|ok| if ok { Outcome::Ok } else { Outcome::Problems })
            .map_err(|e| e.into()),
        Command::System(SystemCmd::Irq(cmd)) => cueboxd::system::irqctl::run(
            &cmd,
            &cueboxd::system::Procfs::default(),
            std::path::Path::new(cueboxd::system::IRQ_JOURNAL),
        )
        .map(|()| Outcome::Ok)
        .map_err(|e| e.into()),
        Command::System(SystemCmd::Firewall(args)) => {
            Ok(if cueboxd::system::firewall::run(&cli.root, &args) {
                Outcome::Ok
            } else {
                Outcome::Problems
            })
        }
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(e) => {
            eprintln!("cueboxd: error: {}", chain(e.as_ref()));
            ExitCode::from(1)
        }
    }
}

type CmdResult = Result<Outcome, Box<dyn std::error::Error>>;

fn key(root: &std::path::Path, as_json: bool) -> CmdResult {
    use cueboxd::api::{box_key_path, Identity};
    let root = DataRoot::open(root)?;
    let (id, made) = Identity::load_or_create(&box_key_path(&root))?;
    let fp = id.public().fingerprint();
    if as_json {
        println!(
            "{}",
            json!({"fingerprint": fp.to_string(), "key": id.public(), "created": made})
        );
    } else {
        println!("{fp}");
    }
    Ok(Outcome::Ok)
}

fn web_key(root: &std::path::Path, as_json: bool) -> CmdResult {
    use cueboxd::web::cert::{cert_path, load_or_create, names};
    let root = DataRoot::open(root)?;
    let cert = load_or_create(&cert_path(&root), names("cuebox"))?;
    if as_json {
        println!(
            "{}",
            json!({"fingerprint": cert.fingerprint, "algorithm": "sha256", "created": cert.created})
        );
    } else {
        println!("{}", cert.fingerprint);
    }
    Ok(Outcome::Ok)
}

fn auth(root: &std::path::Path, cmd: AuthCmd) -> CmdResult {
    use cueboxd::api::{authorized_hosts_path, AuthorizedHost, AuthorizedHosts};
    let root = DataRoot::open(root)?;
    let path = authorized_hosts_path(&root);
    let mut hosts = AuthorizedHosts::load(&path)?;
    match cmd {
        AuthCmd::Add { key, role, comment } => {
            hosts.set(AuthorizedHost { role, key, comment });
            hosts.save(&path)?;
            println!("authorized {} ({}) as {role}", key.fingerprint(), key);
        }
        AuthCmd::Remove { key } => {
            if !hosts.remove(&key) {
                return Err(
                    format!("{key} is not authorized on this box (cueboxd auth list)").into(),
                );
            }
            hosts.save(&path)?;
            println!("removed {}", key.fingerprint());
        }
        AuthCmd::List { json: true } => println!("{}", json!({"hosts": hosts.hosts})),
        AuthCmd::List { json: false } => {
            if hosts.hosts.is_empty() {
                println!("no hosts are authorized; add one with cueboxd auth add KEY --role edit");
            }
            for h in &hosts.hosts {
                println!(
                    "{:8} {}  {}  {}",
                    h.role,
                    h.key.fingerprint(),
                    h.key,
                    h.comment
                );
            }
        }
    }
    Ok(Outcome::Ok)
}

/// A time as the tables show it.
fn utc(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// What `sessions list` reports of one session.
struct Summary {
    name: String,
    path: PathBuf,
    /// Show name, clip count, last save — or what is wrong.
    state: Result<(String, usize, Option<jiff::Timestamp>), String>,
    recovery_points: usize,
}

fn summarise(entry: SessionEntry) -> Summary {
    let opened = SessionDir::open(&entry.path);
    let recovery_points = opened
        .as_ref()
        .ok()
        .and_then(|s| s.recovery_points().ok())
        .map_or(0, |p| p.len());
    let state = opened
        .and_then(|s| {
            let loaded = s.load()?;
            let saved = std::fs::metadata(s.manifest_path())
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| jiff::Timestamp::try_from(t).ok());
            Ok((loaded.show.session.name, loaded.show.clips.len(), saved))
        })
        .map_err(|e| chain(&e));
    Summary {
        name: entry.name,
        path: entry.path,
        state,
        recovery_points,
    }
}

fn list(root: &std::path::Path, as_json: bool) -> CmdResult {
    let root = DataRoot::open(root)?;
    let sessions: Vec<Summary> = root.sessions()?.into_iter().map(summarise).collect();
    let problems = sessions.iter().filter(|s| s.state.is_err()).count();
    if as_json {
        let items: Vec<_> = sessions
            .iter()
            .map(|s| match &s.state {
                Ok((show, clips, saved)) => json!({
                    "name": s.name, "path": s.path, "ok": true, "show": show, "clips": clips,
                    "saved": saved, "recovery_points": s.recovery_points,
                }),
                Err(e) => json!({
                    "name": s.name, "path": s.path, "ok": false, "error": e,
                    "recovery_points": s.recovery_points,
                }),
            })
            .collect();
        println!("{}", json!({ "root": root.path(), "sessions": items }));
    } else if sessions.is_empty() {
        println!(
            "no sessions in {}; a session is a folder there holding a session.json",
            root.sessions_dir().display()
        );
    } else {
        println!(
            "{:<24} {:>6}  {:<24} {:>9}  STATUS",
            "SESSION", "CLIPS", "SAVED", "RECOVERY"
        );
        for s in &sessions {
            match &s.state {
                Ok((_, clips, saved)) => println!(
                    "{:<24} {:>6}  {:<24} {:>9}  ok",
                    s.name,
                    clips,
                    saved.map_or_else(|| "-".into(), utc),
                    s.recovery_points
                ),
                Err(e) => println!(
                    "{:<24} {:>6}  {:<24} {:>9}  {e}",
                    s.name, "-", "-", s.recovery_points
                ),
            }
        }
    }
    if problems > 0 {
        eprintln!("cueboxd: {problems} session(s) cannot be opened; see STATUS");
        return Ok(Outcome::Problems);
    }
    Ok(Outcome::Ok)
}

fn recover_list(root: &std::path::Path, name: &str, as_json: bool) -> CmdResult {
    let session = DataRoot::open(root)?.open_session(name)?;
    let points: Vec<(RecoveryPoint, Result<usize, String>)> = session
        .recovery_points()?
        .into_iter()
        .map(|p| {
            let clips = p.load().map(|l| l.show.clips.len()).map_err(|e| chain(&e));
            (p, clips)
        })
        .collect();
    let problems = points.iter().filter(|(_, c)| c.is_err()).count();
    if as_json {
        let items: Vec<_> = points
            .iter()
            .map(|(p, clips)| {
                json!({
                    "id": p.id, "seq": p.seq, "time": p.at, "reason": p.reason.as_str(),
                    "clips": clips.as_ref().ok(), "error": clips.as_ref().err(), "path": p.path,
                })
            })
            .collect();
        println!(
            "{}",
            json!({ "session": name, "path": session.path(), "recovery_points": items })
        );
    } else if points.is_empty() {
        println!(
            "session {name:?} has no recovery points yet ({} is empty)",
            session.autosave_dir().display()
        );
    } else {
        println!("recovery points of session {name:?}, oldest first:");
        println!("{:<40} {:<24} {:<15} CLIPS", "ID", "TIME", "REASON");
        for (p, clips) in &points {
            let clips = match clips {
                Ok(n) => n.to_string(),
                Err(e) => format!("cannot be restored: {e}"),
            };
            println!(
                "{:<40} {:<24} {:<15} {clips}",
                p.id,
                utc(p.at),
                p.reason.as_str()
            );
        }
        println!(
            "restore one with: cueboxd sessions recover {name} --restore ID (the id, or its \
             sequence number)"
        );
    }
    Ok(if problems > 0 {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn restore(root: &std::path::Path, name: &str, id: &str, as_json: bool) -> CmdResult {
    let session = DataRoot::open(root)?.open_session(name)?;
    let restored = session.restore(id, jiff::Timestamp::now())?;
    if as_json {
        println!(
            "{}",
            json!({
                "session": name,
                "restored": restored.restored.id,
                "before_restore": restored.before.id,
            })
        );
    } else {
        println!(
            "restored recovery point {} as session {name:?}; the session as it was is kept as \
             recovery point {} (restore that to undo)",
            restored.restored.id, restored.before.id
        );
    }
    Ok(Outcome::Ok)
}

fn render(req: cueboxd::offline::Request) -> CmdResult {
    let summary = cueboxd::offline::render(&req)?;
    let secs = |frame: u64| frame as f64 / f64::from(req.rate);
    for r in &summary.refused {
        eprintln!("cueboxd: warning: refused: {r}");
    }
    for o in &summary.overs {
        eprintln!(
            "cueboxd: warning: bus {} went over full scale: peak {:+.2} dBFS at {:.3} s \
             ({} frame(s) over, the first at {:.3} s); lower its level or the clips playing on it",
            o.bus,
            o.peak_dbfs(),
            secs(o.at),
            o.frames,
            secs(o.first)
        );
    }
    if req.json {
        let overs: Vec<_> = summary
            .overs
            .iter()
            .map(|o| {
                json!({"bus": o.bus, "peak_dbfs": o.peak_dbfs(), "at_sample": o.at,
                       "at_secs": secs(o.at), "first_sample": o.first, "frames_over": o.frames})
            })
            .collect();
        println!(
            "{}",
            json!({"out": req.out, "frames": summary.frames, "rate": req.rate,
                   "seconds": secs(summary.frames), "started": summary.started,
                   "refused": summary.refused, "underruns": summary.underruns, "overs": overs})
        );
        return Ok(Outcome::Ok);
    }
    println!(
        "rendered {:.3} s ({} frames at {} Hz) to {}: {} voice(s) started, {} refused",
        summary.frames as f64 / f64::from(req.rate),
        summary.frames,
        req.rate,
        req.out.display(),
        summary.started,
        summary.refused.len()
    );
    Ok(Outcome::Ok)
}

/// The play log's two copies under the data root.
fn log_paths(root: &std::path::Path) -> [PathBuf; 2] {
    cueboxd::journal::paths(&root.join(DataRoot::LOGS))
}

fn log_verify(root: &std::path::Path, json: bool) -> CmdResult {
    let verified = cueboxd::journal::verify(&log_paths(root))?;
    let problems = verified.problems();
    if json {
        let copies: Vec<_> = verified
            .copies
            .iter()
            .map(|(path, scan)| {
                json!({"path": path, "entries": scan.entries.len(),
                       "torn_tail": scan.torn_tail, "damaged": scan.damage.is_some()})
            })
            .collect();
        println!(
            "{}",
            json!({"sound": verified.is_sound(), "copies": copies, "problems": problems})
        );
    } else {
        for (path, scan) in &verified.copies {
            println!(
                "{}: {} entries{}",
                path.display(),
                scan.entries.len(),
                if scan.torn_tail {
                    " (a torn last line, never acknowledged: dropped when the box opens the log)"
                } else {
                    ""
                }
            );
        }
        for p in &problems {
            println!("DAMAGED: {p}");
        }
        if problems.is_empty() {
            println!("the play log is whole and both copies agree");
        }
    }
    Ok(if problems.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

fn log_list(root: &std::path::Path, json: bool) -> CmdResult {
    use cueboxd::journal::Record;
    let verified = cueboxd::journal::verify(&log_paths(root))?;
    // Each play's rate, to say its end in seconds.
    let mut rates = std::collections::HashMap::new();
    let entries = verified.entries();
    for e in entries {
        if json {
            println!("{}", json!({"entry": e.seq, "record": e.record}));
            continue;
        }
        match &e.record {
            Record::Start(s) => {
                rates.insert(e.seq, s.rate);
                println!(
                    "{:>6}  {}  start  {} \"{}\" ({}) from {}{}",
                    e.seq,
                    s.at,
                    s.clip,
                    s.name,
                    s.session,
                    s.source.input,
                    if s.source.from.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", s.source.from)
                    }
                )
            }
            Record::End(end) => {
                let rate = rates.get(&end.play).copied().unwrap_or(48_000);
                println!(
                    "{:>6}  {}  end    play {} after {:.3} s heard ({:?})",
                    e.seq,
                    end.at,
                    end.play,
                    end.heard_frames as f64 / f64::from(rate),
                    end.ending
                )
            }
            Record::Annotation(a) => {
                let set = [
                    a.usage
                        .map(|u| format!("usage {}", cueboxd::journal::export::name(u))),
                    a.note.as_ref().map(|n| format!("note {n:?}")),
                    a.review
                        .map(|r| format!("review {}", cueboxd::journal::export::name(r))),
                ];
                println!(
                    "{:>6}  {}  note   {} of {} by {}: {}",
                    e.seq,
                    a.at,
                    a.work,
                    a.show,
                    a.by,
                    set.into_iter().flatten().collect::<Vec<_>>().join(", ")
                )
            }
            Record::Reconciled(r) => println!(
                "{:>6}  {}  reconciled with {} by {}: {} matched, {} copied, {} end(s)",
                e.seq,
                r.at,
                r.unit,
                r.by,
                r.matched,
                r.copied.len(),
                r.ends.len()
            ),
            Record::Export(x) => println!(
                "{:>6}  {}  export {} ({}, {} bytes, {}) by {}",
                e.seq, x.at, x.file, x.period, x.bytes, x.blake3, x.by
            ),
        }
    }
    Ok(if verified.is_sound() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

fn log_cuesheet(root: &std::path::Path, args: &CuesheetArgs) -> CmdResult {
    let show = session_show(root, &args.session)?;
    let book = cueboxd::journal::Logbook::new(root);
    let span = args.period.span();
    let made = book.cuesheet(&show, &span, args.depth)?;
    let sheet = &made.sheet;
    let bytes = sheet.export(args.format);
    let report = Report {
        name: "cuesheet",
        show: Some(&show.session.name),
        span: &span,
        format: args.format,
    };
    if let Some(path) = emit(root, args.out.as_deref(), &report, &bytes)? {
        println!("{}: {}", path.display(), sheet.summary());
    }
    Ok(sound(made.sound))
}

/// The show of `session`: a session folder, or a session's name under the root.
fn session_show(
    root: &std::path::Path,
    session: &str,
) -> Result<cuebox_engine::show::Show, Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(session);
    let session = if dir.join(SessionDir::MANIFEST).is_file() {
        SessionDir::open(dir)?
    } else {
        DataRoot::open(root)?.open_session(session)?
    };
    Ok(session.load()?.show)
}

/// Who acts from the box's own console, in the audit trail.
const CONSOLE: &str = "console";

/// The outcome of a command that read the play log: a damaged log is a
/// problem to report even when the command did its work.
fn sound(sound: bool) -> Outcome {
    if sound {
        Outcome::Ok
    } else {
        eprintln!("cueboxd: the play log is damaged: `cueboxd log verify` says where");
        Outcome::Problems
    }
}

fn log_reconcile(
    root: &std::path::Path,
    file: &std::path::Path,
    unit: &str,
    dry_run: bool,
    json: bool,
) -> CmdResult {
    let theirs = cueboxd::journal::journal::scan_file(file)?;
    if let Some(d) = &theirs.damage {
        eprintln!(
            "cueboxd: {} line {}: {}; its entries before that are used",
            file.display(),
            d.line,
            d.why
        );
    }
    let book = cueboxd::journal::Logbook::new(root);
    let done = book.reconcile(&theirs.entries, unit, CONSOLE, dry_run)?;
    if json {
        println!(
            "{}",
            json!({"unit": done.unit, "matched": done.matched,
            "copied": done.copied, "ends": done.ends, "dry_run": dry_run})
        );
    } else {
        println!(
            "{} play(s) in both logs; {} {} from {unit}{}",
            done.matched,
            done.copied.len(),
            if dry_run { "would be copied" } else { "copied" },
            match done.ends.len() {
                0 => String::new(),
                n => format!(", and {n} end(s) of plays this log held"),
            }
        );
    }
    Ok(if theirs.damage.is_some() {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn log_annotate(root: &std::path::Path, args: &AnnotateArgs) -> CmdResult {
    let show = session_show(root, &args.session)?;
    let work = cueboxd::journal::work_of(&show, &args.work)?;
    let book = cueboxd::journal::Logbook::new(root);
    let entry = book.annotate(&show.session.name, work, args.changes.changes(), CONSOLE)?;
    println!("annotated {work} of {}: entry {entry}", show.session.name);
    Ok(Outcome::Ok)
}

/// What an export is, for its name in Exports/ and its audit entry.
struct Report<'a> {
    name: &'a str,
    show: Option<&'a str>,
    span: &'a cueboxd::journal::Span,
    format: cueboxd::journal::Format,
}

/// Writes an export to standard output (`out` is `-`), to `out`, or by
/// default keeps it in `<root>/Exports/<today>/` and records it in the play
/// log's audit trail. The path written, none for standard output.
fn emit(
    root: &std::path::Path,
    out: Option<&std::path::Path>,
    report: &Report<'_>,
    bytes: &[u8],
) -> Result<Option<PathBuf>, Box<dyn std::error::Error>> {
    match out {
        Some(out) if out.as_os_str() == "-" => {
            use std::io::Write;
            std::io::stdout().write_all(bytes)?;
            Ok(None)
        }
        Some(path) => {
            cueboxd::store::write_atomic(path, bytes)?;
            Ok(Some(path.to_owned()))
        }
        None => {
            let kept = cueboxd::journal::Logbook::new(root).keep(
                report.name,
                report.show,
                report.span,
                report.format,
                bytes,
                CONSOLE,
            )?;
            Ok(Some(kept.path))
        }
    }
}

fn log_tech(root: &std::path::Path, args: &TechArgs) -> CmdResult {
    let data = DataRoot::open(root)?;
    let span = args.period.span();
    let period = span.period(None)?;
    let found = cueboxd::techlog::scan(&data.logs_dir(), args.kind, period.from, period.to)?;
    let bytes = cueboxd::techlog::export(&found.entries, args.format);
    let name = format!("techlog-{}", args.kind);
    let report = Report {
        name: &name,
        show: None,
        span: &span,
        format: args.format,
    };
    let written = emit(root, args.out.as_deref(), &report, &bytes)?;
    if found.skipped > 0 {
        eprintln!(
            "cueboxd: {} damaged line(s) of the {} log skipped (a torn last line is what a crash \
             or power cut leaves)",
            found.skipped, args.kind
        );
    }
    match (written, args.json) {
        (Some(path), true) => println!(
            "{}",
            json!({"path": path, "kind": args.kind.as_str(), "entries": found.entries.len(),
                   "skipped": found.skipped})
        ),
        (Some(path), false) => println!(
            "{}: {} entries of the {} log",
            path.display(),
            found.entries.len(),
            args.kind
        ),
        (None, _) => {}
    }
    Ok(Outcome::Ok)
}

/// The off-box configuration `args` names, or `<root>/offbox.json`.
fn offbox_config(
    root: &std::path::Path,
    args: &OffboxArgs,
) -> Result<(PathBuf, cueboxd::offbox::OffboxConfig), Box<dyn std::error::Error>> {
    use cueboxd::jsonconf::ConfigFile;
    let path = args
        .offbox
        .clone()
        .unwrap_or_else(|| root.join("offbox.json"));
    if !path.exists() {
        return Err(format!(
            "{} does not exist: off-box copies are off until it does (docs/playlog.md, \"Off-box copies\")",
            path.display()
        )
        .into());
    }
    let config = cueboxd::offbox::OffboxConfig::load(&path)?;
    Ok((path, config))
}

fn offbox_check(root: &std::path::Path, args: &OffboxArgs) -> CmdResult {
    let (path, config) = offbox_config(root, args)?;
    let checks = cueboxd::offbox::check(&config, root);
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        println!(
            "{}",
            json!({"config": path, "remote": config.remote, "ok": ok, "checks": checks})
        );
    } else {
        println!(
            "PASS configuration: {} (remote {})",
            path.display(),
            config.remote
        );
        for c in &checks {
            println!(
                "{} {}: {}",
                if c.ok { "PASS" } else { "FAIL" },
                c.item,
                c.detail
            );
        }
    }
    Ok(if ok { Outcome::Ok } else { Outcome::Problems })
}

fn offbox_copy(root: &std::path::Path, args: &OffboxArgs) -> CmdResult {
    let (_, config) = offbox_config(root, args)?;
    let copied = cueboxd::offbox::copy(&config, root, &mut || false)?;
    if args.json {
        println!(
            "{}",
            json!({"remote": config.remote, "files": copied.files(), "bytes": copied.bytes(), "folders": copied.folders})
        );
    } else {
        for f in &copied.folders {
            println!(
                "{} -> {}: {} file(s), {} bytes",
                f.folder.dir_name(),
                f.target,
                f.files.len(),
                f.bytes
            );
            for file in &f.files {
                println!("  {file}");
            }
        }
    }
    Ok(Outcome::Ok)
}

fn log_plays(
    root: &std::path::Path,
    show: Option<String>,
    period: &cueboxd::journal::cli::PeriodArgs,
    json: bool,
) -> CmdResult {
    let logs = root.join(DataRoot::LOGS);
    let verified = cueboxd::journal::verify(&log_paths(root))?;
    let entries = verified.entries();
    let mut index = cueboxd::journal::PlayIndex::open(&cueboxd::journal::index_path(&logs))?;
    index.update(entries)?;
    for row in index.plays(&period.span().period(show)?)? {
        if json {
            println!(
                "{}",
                json!({"play": row.play, "at": row.at, "show": row.show, "clip": row.clip,
                       "hash": row.hash, "title": row.title, "composer": row.composer,
                       "input": row.input, "heard_seconds": row.heard_seconds,
                       "ending": row.ending})
            );
        } else {
            println!(
                "{:>6}  {}  {}  {} {:?}  from {}  {}",
                row.play,
                row.at,
                row.show,
                row.clip,
                row.title.as_deref().unwrap_or("(no title)"),
                row.input,
                match (row.heard_seconds, &row.ending) {
                    (Some(s), Some(e)) => format!("{s:.1} s, {e}"),
                    _ => "not ended".into(),
                }
            );
        }
    }
    Ok(sound(verified.is_sound()))
}
