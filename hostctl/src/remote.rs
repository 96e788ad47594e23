//! The verbs that talk to boxes: pairing, session sync and show control.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use cuebox_engine::control::Command;
use cuebox_engine::dsp::meter::Dbfs;
use cuebox_engine::show::{ChannelRoute, ClipId, ContentHash, DeviceMap, LogicalChannel, Show};
use cuebox_proto::messages::{MeterChannel, PairStatus, Request, Response, Status};
use cuebox_proto::transfer::{self, Progress};
use cuebox_proto::{Client, Expect, Identity, KnownBox, KnownBoxes};
use cuebox_session::store::{check_session_name, SessionDir};
use serde_json::{json, Value};

use crate::cli::Output;
use crate::output::{print_json, progress};
use crate::Outcome;

/// How long to wait for a box.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where the host keeps its key and known boxes: `$CUEBOX_HOST_DIR`, else
/// `$XDG_CONFIG_HOME/cuebox`, else `~/.config/cuebox`.
fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("CUEBOX_HOST_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("cuebox"));
    }
    let home = std::env::var_os("HOME")
        .context("set HOME or CUEBOX_HOST_DIR: the host key lives there")?;
    Ok(PathBuf::from(home).join(".config/cuebox"))
}

fn identity() -> anyhow::Result<Identity> {
    let path = config_dir()?.join("host.key");
    let (id, made) = Identity::load_or_create(&path)?;
    if made {
        eprintln!("made this host's key in {}", path.display());
    }
    Ok(id)
}

fn boxes_path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("boxes.json"))
}

/// The paired box called (or at) `name`.
fn known(name: &str) -> anyhow::Result<KnownBox> {
    let boxes = KnownBoxes::load(&boxes_path()?)?;
    boxes.find(name).cloned().with_context(|| {
        format!("{name:?} is not a paired box; pair it first: hostctl pair ADDRESS --name {name}")
    })
}

/// Connects to a paired box.
pub(crate) fn connect(name: &str) -> anyhow::Result<Client> {
    connect_as(&identity()?, name)
}

/// Connects to a paired box as `id` (loaded once when several boxes are
/// reached at once, so their threads never race to create the key).
fn connect_as(id: &Identity, name: &str) -> anyhow::Result<Client> {
    let b = known(name)?;
    let client = Client::connect(&b.address, id, b.expect(), TIMEOUT)?;
    if client.welcome().role.is_none() {
        bail!(
            "{} does not authorize this host yet; on the box run: cueboxd auth add {} --role edit",
            b.name,
            client.welcome().host_key
        );
    }
    Ok(client)
}

/// `hostctl key`: this host's public key, to authorize on boxes.
pub fn key(out: &Output) -> anyhow::Result<Outcome> {
    let id = identity()?;
    if out.json {
        print_json(
            &json!({"key": id.public(), "fingerprint": id.public().fingerprint().to_string()}),
        );
    } else {
        println!("{}", id.public());
        eprintln!("fingerprint {}", id.public().fingerprint());
    }
    Ok(Outcome::Ok)
}

/// `hostctl pair ADDRESS`: learns the box's key, has it confirmed, and remembers the box.
pub fn pair(
    address: &str,
    name: Option<String>,
    fingerprint: Option<String>,
    or_fingerprint: Option<String>,
    yes: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let id = identity()?;
    let client = Client::connect(address, &id, Expect::Any, TIMEOUT)?;
    let w = client.welcome().clone();
    let seen = w.box_key.fingerprint();
    let parse = |f: Option<String>| -> anyhow::Result<Option<cuebox_proto::Fingerprint>> {
        f.map(|f| f.parse().map_err(anyhow::Error::msg)).transpose()
    };
    let or_fingerprint = parse(or_fingerprint)?;
    let expected = parse(fingerprint)?;
    let confirmed = match expected {
        Some(expected) => {
            if expected != seen && or_fingerprint != Some(seen) {
                let either = or_fingerprint.map_or(String::new(), |o| format!(" or {o}"));
                bail!("the box at {address} shows fingerprint {seen}, not {expected}{either}: do not pair; check the address and the box's console (cueboxd key)");
            }
            true
        }
        None if yes => true,
        None => {
            if !std::io::stdin().is_terminal() {
                bail!("the box at {address} shows fingerprint {seen}; compare it with `cueboxd key` on the box, then run again with --fingerprint {seen}");
            }
            eprint!("The box {:?} at {address} has the key fingerprint\n  {seen}\nCompare it with `cueboxd key` on the box's console. Is it the same? [y/N] ", w.name);
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            matches!(line.trim(), "y" | "Y" | "yes")
        }
    };
    if !confirmed {
        bail!("not paired: the fingerprint was not confirmed");
    }
    let name = name.unwrap_or_else(|| w.name.clone());
    let path = boxes_path()?;
    let mut boxes = KnownBoxes::load(&path)?;
    // A pair's address: the unit that answered, and the other one.
    let or_fingerprint = match or_fingerprint {
        Some(other) if other == seen => expected,
        other => other,
    };
    boxes.set(KnownBox {
        name: name.clone(),
        address: cuebox_proto::client::with_port(address),
        fingerprint: seen,
        or_fingerprint,
    });
    boxes.save(&path)?;
    if out.json {
        print_json(
            &json!({"name": name, "address": address, "fingerprint": seen.to_string(),
            "or_fingerprint": or_fingerprint.map(|f| f.to_string()),
            "role": w.role, "host_key": w.host_key}),
        );
    } else {
        match or_fingerprint {
            Some(other) => println!(
                "paired {name} ({address}), a pair's control address: fingerprint {seen} \
                 (answering now) or {other}"
            ),
            None => println!("paired {name} ({address}), fingerprint {seen}"),
        }
        match w.role {
            Some(role) => println!("this host has the {role} role there"),
            None => println!(
                "the box does not authorize this host yet; on the box run:\n  cueboxd auth add {} --role edit",
                w.host_key
            ),
        }
    }
    Ok(Outcome::Ok)
}

/// `hostctl boxes`: the paired boxes and what each is doing.
pub fn boxes(out: &Output) -> anyhow::Result<Outcome> {
    let list = KnownBoxes::load(&boxes_path()?)?;
    let id = identity()?;
    let rows: Vec<Value> = list
        .boxes
        .iter()
        .map(|b| {
            let state = Client::connect(&b.address, &id, b.expect(), Duration::from_secs(2))
                .map_err(|e| e.to_string())
                .map(|mut c| {
                    let role = c.welcome().role;
                    let status = match role {
                        Some(_) => match c.call(&Request::Status) {
                            Ok(Response::Status(s)) => Some(*s),
                            _ => None,
                        },
                        None => None,
                    };
                    (role, status)
                });
            match state {
                Ok((role, status)) => json!({"name": b.name, "address": b.address,
                    "fingerprint": b.fingerprint.to_string(), "reachable": true, "role": role,
                    "session": status.as_ref().and_then(|s| s.session.clone()),
                    "pair": status.as_ref().and_then(|s| s.pair.as_ref()).map(|p| json!({
                        "role": p.role, "configured": p.takeover.configured,
                        "holds_address": p.takeover.holds_address})),
                    "playing": status.as_ref().map(|s| s.playing.len()),
                    "locked": status.as_ref().map(|s| s.locked)}),
                Err(e) => json!({"name": b.name, "address": b.address,
                    "fingerprint": b.fingerprint.to_string(), "reachable": false, "error": e}),
            }
        })
        .collect();
    if out.json {
        print_json(&json!({"boxes": rows}));
    } else if rows.is_empty() {
        println!("no paired boxes; pair one with hostctl pair ADDRESS --name NAME");
    } else {
        for r in &rows {
            let state = if r["reachable"] == true {
                format!(
                    "{} session {} playing {}{}{}",
                    r["role"].as_str().unwrap_or("unauthorized"),
                    r["session"].as_str().unwrap_or("-"),
                    r["playing"].as_u64().unwrap_or(0),
                    if r["locked"] == true { " LOCKED" } else { "" },
                    pair_role(&r["pair"])
                )
            } else {
                format!("unreachable: {}", r["error"].as_str().unwrap_or(""))
            };
            println!(
                "{:16} {:24} {}",
                r["name"].as_str().unwrap_or(""),
                r["address"].as_str().unwrap_or(""),
                state
            );
        }
    }
    Ok(Outcome::Ok)
}

/// The name a session gets on the box: given, else its folder's.
fn session_name(dir: &Path, name: Option<String>) -> anyhow::Result<String> {
    let name = match name {
        Some(n) => n,
        None => std::fs::canonicalize(dir)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("give the session a --name on the box")?,
    };
    check_session_name(&name)?;
    Ok(name)
}

/// `hostctl session remove BOX NAME`.
pub fn remove_session(box_name: &str, name: &str, out: &Output) -> anyhow::Result<Outcome> {
    check_session_name(name)?;
    let mut client = connect(box_name)?;
    let free = match client.call(&Request::Remove {
        session: name.to_owned(),
    })? {
        Response::Removed { free, .. } => free,
        other => bail!("unexpected answer {other:?}"),
    };
    if out.json {
        print_json(&json!({"box": box_name, "removed": name, "free_bytes": free}));
    } else {
        println!(
            "{box_name}: removed session {name:?}; {} free on the box",
            cuebox_session::store::objects::Bytes(free)
        );
    }
    Ok(Outcome::Ok)
}

/// `hostctl push DIR --to BOX,…`: one result per box.
pub fn push(
    dir: &Path,
    to: &[String],
    name: Option<String>,
    together: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let session = SessionDir::open(dir)?;
    let name = session_name(dir, name)?;
    let id = identity()?;
    let bars = indicatif::MultiProgress::new();
    // Each box is sent the session on its own connection; alone, each then
    // activates it at once, together only once all have it.
    let sent: Vec<(String, anyhow::Result<(Client, transfer::Sent)>)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = to
                .iter()
                .map(|b| {
                    let bar = bars.add(progress(0, b, out.json));
                    let (session, name, id) = (&session, &name, &id);
                    scope.spawn(move || {
                        let result = connect_as(id, b).and_then(|mut c| {
                            let sent = transfer::send(&mut c, session, name, &mut |p| match p {
                                Progress::Total(n) => bar.set_length(n),
                                Progress::Moved(n) => bar.inc(n),
                            })?;
                            Ok((c, sent))
                        });
                        bar.finish_and_clear();
                        (b.clone(), result)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a push thread does not panic"))
                .collect()
        });
    let ready = sent.iter().all(|(_, r)| r.is_ok());
    let at = together.then(|| transfer::realtime_ns() + TOGETHER_LEAD.as_nanos() as u64);
    let results: Vec<(String, anyhow::Result<transfer::PushReport>)> = std::thread::scope(
        |scope| {
            let handles: Vec<_> = sent
                .into_iter()
                .map(|(b, r)| {
                    scope.spawn(move || {
                        let report = match r {
                            Err(e) => Err(e),
                            Ok(_) if together && !ready => Err(anyhow::anyhow!(
                                "not activated: another box did not take the session (--together activates all or none)"
                            )),
                            Ok((mut c, sent)) => transfer::activate(&mut c, sent, at).map_err(Into::into),
                        };
                        (b, report)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("an activation thread does not panic"))
                .collect()
        },
    );
    let failed = results
        .iter()
        .filter(|(_, r)| {
            r.as_ref()
                .map_or(true, |rep| rep.activated.problem.is_some())
        })
        .count();
    if out.json {
        let rows: Vec<Value> = results
            .iter()
            .map(|(b, r)| match r {
                Ok(rep) => json!({"box": b, "ok": true, "report": rep}),
                Err(e) => json!({"box": b, "ok": false, "error": format!("{e:#}")}),
            })
            .collect();
        let at = at.map(|ns| ns as f64 / 1e9);
        print_json(&json!({"session": name, "together_at": at, "boxes": rows}));
    } else {
        for (b, r) in &results {
            match r {
                Ok(rep) => println!(
                    "{b}: {name} active ({} clips, {} media files: {} sent, {} already there; {:.1} MB sent{}) in {:.2} s{}",
                    rep.activated.clips,
                    rep.files_sent + rep.files_present,
                    rep.files_sent,
                    rep.files_present,
                    rep.bytes_sent as f64 / 1e6,
                    if rep.bytes_resumed > 0 { format!(", {:.1} MB resumed", rep.bytes_resumed as f64 / 1e6) } else { String::new() },
                    rep.seconds,
                    match (&rep.activated.problem, rep.activated.playing) {
                        (Some(problem), _) => format!("; but the box {problem}"),
                        (None, true) => "; the box plays it now".into(),
                        (None, false) => String::new(),
                    },
                ),
                Err(e) => eprintln!("{b}: FAILED: {e:#}"),
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} box(es) did not take the session or cannot play it (hostctl status BOX says why)",
            results.len()
        );
    }
    Ok(Outcome::Ok)
}

/// How long after the last box is ready `push --together` activates: time
/// for the activation to reach every box.
const TOGETHER_LEAD: Duration = Duration::from_secs(3);

/// The session a verb is about: given, else the box's active one.
fn box_session(client: &mut Client, session: Option<String>) -> anyhow::Result<String> {
    if let Some(s) = session {
        return Ok(s);
    }
    match client.call(&Request::Status)? {
        Response::Status(s) => s
            .session
            .context("the box has no active session; name one with --session"),
        other => bail!("unexpected answer {other:?}"),
    }
}

/// `hostctl pull BOX --out DIR`.
pub fn pull(
    box_name: &str,
    session: Option<String>,
    out_dir: &Path,
    out: &Output,
) -> anyhow::Result<Outcome> {
    if out_dir.join(SessionDir::MANIFEST).exists() {
        bail!(
            "{} already holds a session; pull into a new folder",
            out_dir.display()
        );
    }
    let mut client = connect(box_name)?;
    let session = box_session(&mut client, session)?;
    let bar = progress(0, &session, out.json);
    let report = transfer::pull(&mut client, &session, out_dir, &mut |p| match p {
        Progress::Total(n) => bar.set_length(n),
        Progress::Moved(n) => bar.inc(n),
    })?;
    bar.finish_and_clear();
    if out.json {
        print_json(&json!({"session": session, "report": report}));
    } else {
        println!(
            "pulled {session} into {} ({} clips, {} media files, {:.1} MB)",
            report.dir.display(),
            report.clips,
            report.files,
            report.bytes as f64 / 1e6
        );
    }
    Ok(Outcome::Ok)
}

/// The show as JSON for comparing: the media folder is where each side
/// keeps files, not part of the show.
fn comparable(show: &Show) -> Value {
    let mut v = serde_json::to_value(show).expect("a show serializes");
    v["session"]["media_folder"] = Value::Null;
    v
}

/// Every path where `a` and `b` differ; arrays of objects with ids are
/// matched by id, so a moved clip is one difference, not many.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<Value>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => differences(&p, u, v, out),
                    (Some(u), None) => out.push(json!({"path": p, "host": u, "box": null})),
                    (None, Some(v)) => out.push(json!({"path": p, "host": null, "box": v})),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.iter().chain(y).all(|e| e.get("id").is_some()) => {
            let id = |e: &Value| e["id"].to_string();
            for u in x {
                let p = format!("{path}[id={}]", id(u));
                match y.iter().find(|v| id(v) == id(u)) {
                    Some(v) => differences(&p, u, v, out),
                    None => out.push(json!({"path": p, "host": u, "box": null})),
                }
            }
            for v in y.iter().filter(|v| !x.iter().any(|u| id(u) == id(v))) {
                out.push(json!({"path": format!("{path}[id={}]", id(v)), "host": null, "box": v}));
            }
        }
        _ if a != b => out.push(json!({"path": path, "host": a, "box": b})),
        _ => {}
    }
}

/// `hostctl diff DIR BOX`: what the box's copy of the session differs in.
pub fn diff(
    dir: &Path,
    box_name: &str,
    name: Option<String>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (_, host_show) = crate::session::open(dir)?;
    let name = session_name(dir, name)?;
    let mut client = connect(box_name)?;
    let (manifest, _) = match transfer::manifest(&mut client, &name) {
        Ok(m) => m,
        Err(transfer::TransferError::Box(cuebox_proto::ClientError::Refused(r)))
            if r.kind == cuebox_proto::messages::RefusalKind::NotFound =>
        {
            if out.json {
                print_json(&json!({"session": name, "on_box": false}));
            } else {
                println!("{name} is not on {box_name}: everything differs (hostctl push sends it)");
            }
            return Ok(Outcome::Problems);
        }
        Err(e) => return Err(e.into()),
    };
    let box_show = Show::load(&manifest).context("the box's manifest")?.show;
    let mut diffs = Vec::new();
    differences(
        "",
        &comparable(&host_show),
        &comparable(&box_show),
        &mut diffs,
    );
    if out.json {
        print_json(
            &json!({"session": name, "on_box": true, "same": diffs.is_empty(), "differences": diffs}),
        );
    } else if diffs.is_empty() {
        println!("{name}: the host and {box_name} have the same show");
    } else {
        for d in &diffs {
            println!(
                "{}\n  host: {}\n  box:  {}",
                d["path"].as_str().unwrap_or(""),
                d["host"],
                d["box"]
            );
        }
        println!(
            "{} difference(s); hostctl push sends the host's version",
            diffs.len()
        );
    }
    Ok(if diffs.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

/// What a session folder holds now: its manifest's hash and each media
/// file's size and modification time. A change means "push again".
/// The state [`fingerprint`] takes of a session folder.
type Snapshot = (ContentHash, Vec<(u64, Option<std::time::SystemTime>)>);

fn fingerprint(dir: &Path) -> Option<Snapshot> {
    let session = SessionDir::open(dir).ok()?;
    let (loaded, manifest) = session.load_with_manifest().ok()?;
    let show = loaded.show;
    let media = session.media_folder(&show);
    let files = show
        .clips
        .iter()
        .map(|c| {
            let m = std::fs::metadata(media.join(c.audio.path.as_path())).ok();
            (
                m.as_ref().map_or(0, |m| m.len()),
                m.and_then(|m| m.modified().ok()),
            )
        })
        .collect();
    Some((ContentHash::of_bytes(&manifest), files))
}

/// `hostctl sync DIR --to BOX [--watch]`: push, and with --watch push
/// again whenever the session changes, until interrupted.
pub fn sync(
    dir: &Path,
    to: &[String],
    name: Option<String>,
    watch: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let mut last = None;
    loop {
        let now = fingerprint(dir);
        if now.is_some() && now != last {
            // A failed push (a box off, a file half-written) is reported
            // and retried at the next change or tick.
            match push(dir, to, name.clone(), false, out) {
                Ok(_) => last = now,
                Err(e) if watch => eprintln!("sync: {e:#}; retrying"),
                Err(e) => return Err(e),
            }
        }
        if !watch {
            return Ok(Outcome::Ok);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Sends one command to a box, for now; prints the show sample it lands on.
pub fn command(box_name: &str, command: Command, out: &Output) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    let sent = Instant::now();
    let written = command.to_json();
    let at = match client.call(&Request::Command { at: None, command })? {
        Response::Accepted { at_sample, .. } => at_sample,
        other => bail!("unexpected answer {other:?}"),
    };
    if out.json {
        print_json(
            &json!({"box": box_name, "command": written, "at_sample": at,
            "round_trip_ms": sent.elapsed().as_secs_f64() * 1e3}),
        );
    } else {
        println!(
            "{box_name}: {} at show sample {at}",
            written["cmd"].as_str().unwrap_or("command")
        );
    }
    Ok(Outcome::Ok)
}

/// A bare GO on a box: the cue at its playhead, which moves past it.
pub fn go_next(box_name: &str, out: &Output) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    let (clip, cue, at) = match client.call(&Request::GoNext { time: None })? {
        Response::Went {
            clip,
            cue,
            at_sample,
        } => (clip, cue, at_sample),
        other => bail!("unexpected answer {other:?}"),
    };
    if out.json {
        print_json(&json!({"box": box_name, "clip": clip, "cue": cue, "at_sample": at}));
    } else {
        println!(
            "{box_name}: GO {clip}{} at show sample {at}",
            cue.map(|c| format!(" (cue {c})")).unwrap_or_default()
        );
    }
    Ok(Outcome::Ok)
}

/// Sends a request answered by Done.
pub fn simple(
    box_name: &str,
    request: Request<'_>,
    what: &str,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    match client.call(&request)? {
        Response::Done => {}
        other => bail!("unexpected answer {other:?}"),
    }
    if out.json {
        print_json(&json!({"box": box_name, "done": what}));
    } else {
        println!("{box_name}: {what}");
    }
    Ok(Outcome::Ok)
}

/// Cells of a meter bar.
const METER_WIDTH: usize = 24;
/// The bottom of a meter bar, dBFS: a console meter's usual range.
const METER_FLOOR: f32 = -60.0;

/// One meter channel as text: peak, hold and RMS in dBFS, a bar of the
/// peak with the hold marked, and `CLIP` when the hold reached full scale.
fn meter_line(c: &MeterChannel) -> String {
    let clip = if c.hold_dbfs.db() >= 0.0 { " CLIP" } else { "" };
    format!(
        "{:>6} {:>6} {:>6}  {}{clip}",
        c.peak_dbfs,
        c.hold_dbfs,
        c.rms_dbfs,
        meter_bar(c.peak_dbfs, c.hold_dbfs)
    )
}

/// A bar from −60 to 0 dBFS in eighths of a cell, the hold as `|`.
fn meter_bar(peak: Dbfs, hold: Dbfs) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let cells =
        |db: Dbfs| ((db.db() - METER_FLOOR) / -METER_FLOOR).clamp(0.0, 1.0) * METER_WIDTH as f32;
    let eighths = (cells(peak) * 8.0).round() as usize;
    let mut bar: Vec<char> = (0..METER_WIDTH)
        .map(|i| match eighths.saturating_sub(i * 8) {
            0 => ' ',
            n if n >= 8 => '█',
            n => EIGHTHS[n],
        })
        .collect();
    let h = cells(hold).ceil() as usize;
    if hold > peak && h > 0 && h * 8 > eighths {
        bar[h - 1] = '|';
    }
    bar.into_iter().collect()
}

fn print_status(s: &Status) {
    println!(
        "{}: session {}{}, page {}, show time {:.1} s",
        s.name,
        s.session.as_deref().unwrap_or("(none)"),
        if s.locked { " LOCKED" } else { "" },
        s.page,
        s.show_seconds
    );
    for clip in &s.unplayable {
        println!("  CLIP CANNOT PLAY {clip} (hostctl media find looks for its file)");
    }
    if let Some(problem) = &s.problem {
        println!("  CANNOT PLAY: the box {problem}");
    }
    if let Some(d) = &s.device {
        println!(
            "  device {}{}: {} ch {} {} Hz, period {} x {}",
            d.pcm,
            d.card
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default(),
            d.channels,
            d.format,
            d.rate,
            d.period,
            d.periods
        );
        for w in &d.warnings {
            println!("    warning: {w}");
        }
    }
    if s.playing.is_empty() {
        println!("  nothing playing");
    }
    for p in &s.playing {
        println!(
            "  {} {:24} {} {:7.2} s{}",
            p.group,
            p.name,
            p.clip,
            p.position,
            if p.paused { "  PAUSED" } else { "" }
        );
    }
    for q in &s.queued {
        println!(
            "  {} {:24} {} QUEUED for show sample {} (in {:.2} s)",
            q.group, q.name, q.clip, q.at_sample, q.due_in
        );
    }
    if !s.meters.is_empty() {
        println!(
            "  meters, dBFS     peak   hold    rms  {}|0",
            " ".repeat(METER_WIDTH - 1)
        );
    }
    for m in &s.meters {
        for (n, c) in m.channels.iter().enumerate() {
            let bus = if n == 0 { m.bus.as_str() } else { "" };
            let side = ["L", "R"].get(n).copied().unwrap_or("");
            println!("    {bus:9} {side} {}", meter_line(c));
        }
    }
    println!(
        "  xruns {}  DSP load p99 {:.1} %",
        s.xruns,
        s.dsp_load * 100.0
    );
    println!("  clock {}", s.clock_source.as_deref().unwrap_or("(none)"));
    for h in &s.clock_health {
        println!("    {h}");
    }
    if let Some(p) = &s.pair {
        print_pair(p);
    }
}

/// A box's part in its pair as `hostctl boxes` shows it (`, pair main
/// (configured backup), holds the address`); empty for a lone box.
fn pair_role(p: &Value) -> String {
    let Some(role) = p["role"].as_str() else {
        return String::new();
    };
    let configured = p["configured"].as_str().unwrap_or("?");
    let configured = if configured == role {
        String::new()
    } else {
        format!(" (configured {configured})")
    };
    let holds = match p["holds_address"].as_bool() {
        Some(true) => ", holds the address",
        _ => "",
    };
    format!(", pair {role}{configured}{holds}")
}

/// The pair's lines of `hostctl status`.
fn print_pair(p: &PairStatus) {
    let heard = p
        .last_heard_ms
        .map_or("never heard".to_owned(), |ms| format!("heard {ms} ms ago"));
    println!(
        "  pair: {} of {} (configured {}), link {} ({heard}){}",
        p.role,
        p.peer,
        p.takeover.configured,
        if p.healthy { "healthy" } else { "DOWN" },
        if p.overridden { ", OVERRIDDEN" } else { "" }
    );
    let t = &p.takeover;
    if let Some(address) = &t.address {
        let holds = if t.holds_address == Some(true) {
            "held here"
        } else {
            "not held here"
        };
        println!("    control address {address}: {holds}");
    }
    if let Some(witness) = &t.witness {
        let reached = if t.witness_reached == Some(true) {
            "answers"
        } else {
            "DOES NOT ANSWER"
        };
        let lease = match t.lease.as_deref() {
            None => String::new(),
            Some("held") => "; it grants the main's role to this unit".into(),
            Some("peer") => "; it grants the main's role to the other unit".into(),
            Some("free") => "; it arbitrates, and no unit holds the role".into(),
            Some(other) => format!("; it arbitrates, but {other}"),
        };
        println!("    witness {witness}: {reached}{lease}");
    }
    println!(
        "    {} ({}main {} time(s) since it started)",
        t.why,
        if t.synced { "resynchronised; " } else { "" },
        t.promotions
    );
    if let Some(offset) = p.link.offset_samples {
        println!(
            "    clock offset {offset:+.1} samples (± {:.0} µs), worst round trip {:.0} µs",
            p.link.offset_error_us.unwrap_or(0.0),
            p.link.worst_rtt_us.unwrap_or(0.0)
        );
    }
    println!(
        "    instants: {}",
        match p.instants.as_str() {
            "ptp" => "PTP (each unit maps the main's PTP instant through its own card)",
            _ => "heartbeat offset (the main's sample moved by the measured offset)",
        }
    );
    println!(
        "    commands: {} in flight, {} applied, {} late, {} lost, {} late on the main; {} edits, page turns and locks forwarded",
        p.in_flight, p.applied, p.late, p.lost, p.main_late, p.forwarded
    );
    match (&p.digest, p.role.as_str()) {
        (Some(digest), "main") => {
            println!("    state: digest {digest}, sent to the backup each second");
        }
        (Some(digest), _) => {
            let matched = p.matched_ms.map_or("never matched".to_owned(), |ms| {
                format!("matched {ms} ms ago")
            });
            println!(
                "    state: main's digest {digest}, {matched}; {} divergences, {} repairs",
                p.divergences, p.repairs
            );
        }
        (None, _) => {}
    }
    if let Some(how) = &p.diverged {
        println!("    DIVERGED: {how}");
    }
}

/// `hostctl status BOX [--watch]`.
pub fn status(box_name: &str, watch: bool, out: &Output) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    loop {
        let s = match client.call(&Request::Status)? {
            Response::Status(s) => *s,
            other => bail!("unexpected answer {other:?}"),
        };
        if out.json {
            let mut v = serde_json::to_value(&s)?;
            v["detail"] = serde_json::from_str(&s.detail).unwrap_or(Value::Null);
            println!("{v}");
        } else {
            print_status(&s);
        }
        if !watch {
            return Ok(Outcome::Ok);
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// p50, p99 and max of `v` (sorted in place).
fn percentiles(v: &mut [f64]) -> Value {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    json!({"p50": at(0.5), "p99": at(0.99), "max": at(1.0)})
}

/// `hostctl latency BOX CLIP`.
pub fn latency(
    box_name: &str,
    clip: &str,
    count: u32,
    interval: u64,
    out: &Output,
) -> anyhow::Result<Outcome> {
    if count == 0 {
        bail!("--count must be at least 1");
    }
    let mut client = connect(box_name)?;
    let rate = match client.call(&Request::Status)? {
        Response::Status(s) if s.rate > 0 => f64::from(s.rate),
        _ => bail!("{box_name} plays no session; push one first"),
    };
    let clip: ClipId = clip
        .parse()
        .with_context(|| format!("{clip:?} is not a clip id"))?;
    let go = Request::Command {
        at: None,
        command: Command::Go {
            clip: clip.clone(),
            time: None,
        },
    };
    let stop = Request::Command {
        at: None,
        command: Command::Stop { clip },
    };
    let (mut rtt, mut to_sample) = (Vec::new(), Vec::new());
    for _ in 0..count {
        let sent = Instant::now();
        let lead = match client.call(&go)? {
            Response::Accepted { lead_samples, .. } => lead_samples,
            other => bail!("unexpected answer {other:?}"),
        };
        let round = sent.elapsed().as_secs_f64() * 1e3;
        rtt.push(round);
        // The command reaches the box in about half the round trip, then
        // waits `lead` samples for its frame.
        to_sample.push(round / 2.0 + lead as f64 * 1e3 / rate);
        client.call(&stop)?;
        std::thread::sleep(Duration::from_millis(interval));
    }
    let report = json!({"box": box_name, "count": count,
        "round_trip_ms": percentiles(&mut rtt), "go_to_sample_ms": percentiles(&mut to_sample)});
    if out.json {
        print_json(&report);
    } else {
        for (what, key) in [
            ("round trip", "round_trip_ms"),
            ("GO to its sample", "go_to_sample_ms"),
        ] {
            let r = &report[key];
            println!(
                "{what:18} p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
                r["p50"].as_f64().unwrap_or(0.0),
                r["p99"].as_f64().unwrap_or(0.0),
                r["max"].as_f64().unwrap_or(0.0)
            );
        }
    }
    Ok(Outcome::Ok)
}

/// Applies `change` to the show playing on box `box_name`: reads it and
/// its edit generation, edits it here, and sends the difference, which the
/// box takes at once where it can (levels and pans glide on what plays)
/// and saves. What the box did is said on stderr (one JSON line with
/// `--json` scripts can read there too). An edit that changes nothing is
/// not sent.
pub fn revise<T>(
    box_name: &str,
    change: impl FnOnce(&mut Show) -> anyhow::Result<T>,
) -> anyhow::Result<(Show, T)> {
    let mut client = connect(box_name)?;
    let (session, generation, manifest) = match client.call(&Request::LiveShow)? {
        Response::LiveShow {
            session,
            generation,
            manifest,
        } => (session, generation, manifest),
        other => bail!("unexpected answer {other:?}"),
    };
    let live = Show::load(&manifest)
        .with_context(|| format!("{box_name} sent a show this hostctl cannot read"))?
        .show;
    let mut edited = live.clone();
    let result = change(&mut edited)?;
    if edited == live {
        eprintln!("{box_name}: nothing to change in {session}");
        return Ok((edited, result));
    }
    let patch = cuebox_proto::revise::patch(&live, &edited);
    let request = Request::Revise {
        session: session.clone(),
        generation,
        patch,
        what: crate::edit::typed(),
    };
    let done = match client.call(&request)? {
        Response::Revised(r) => r,
        other => bail!("unexpected answer {other:?}"),
    };
    let later = match done.deferred.is_empty() {
        true => String::new(),
        false => format!("; at their next start: {}", done.deferred.join(", ")),
    };
    let how = match done.restarted {
        true => "the session started again with it (nothing played)".to_owned(),
        false => format!(
            "{} change(s) ramped on what plays from show sample {}{later}",
            done.glides, done.at_sample
        ),
    };
    eprintln!(
        "{box_name}: {session} edited live (generation {}): {how}; saved on the box (hostctl diff shows it, pull brings it home)",
        done.generation
    );
    Ok((edited, result))
}

/// The device map `set` describes: `identity` first (logical n on
/// physical n), then each route given (replacing one of the same logical
/// channel).
pub fn device_map_of(
    pcm: String,
    capture_pcm: Option<String>,
    identity: Option<u16>,
    outputs: &[(u16, u16)],
    inputs: &[(u16, u16)],
) -> anyhow::Result<DeviceMap> {
    let mut map = DeviceMap::identity(pcm, identity.unwrap_or(0));
    map.capture_pcm = capture_pcm;
    let routes = |list: &mut Vec<ChannelRoute>, given: &[(u16, u16)]| -> anyhow::Result<()> {
        for &(l, p) in given {
            let logical = LogicalChannel::new(l).context("logical channels count from 1")?;
            let physical =
                std::num::NonZeroU16::new(p).context("physical channels count from 1")?;
            list.retain(|r| r.logical != logical);
            list.push(ChannelRoute {
                logical,
                physical,
                extra: Default::default(),
            });
        }
        list.sort_by_key(|r| r.logical);
        Ok(())
    };
    routes(&mut map.outputs, outputs)?;
    routes(&mut map.inputs, inputs)?;
    let problems: Vec<String> = map.validate().iter().map(ToString::to_string).collect();
    if !problems.is_empty() {
        bail!(
            "the device map would misroute audio: {}",
            problems.join("; ")
        );
    }
    Ok(map)
}

/// Prints a box's device map; with `set`, replaces it first.
pub fn device_map(box_name: &str, set: Option<DeviceMap>, out: &Output) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    let request = match &set {
        Some(map) => Request::SetDeviceMap { map: map.to_json() },
        None => Request::DeviceMap,
    };
    let (map, playing) = match client.call(&request)? {
        Response::DeviceMap { map, playing } => (map, playing),
        other => bail!("unexpected answer {other:?}"),
    };
    let map = map
        .map(|m| DeviceMap::load(&m))
        .transpose()
        .with_context(|| format!("{box_name} sent a device map this hostctl cannot read"))?;
    if out.json {
        print_json(&json!({"box": box_name, "device_map": map, "playing": playing}));
        return Ok(Outcome::Ok);
    }
    let Some(map) = map else {
        println!("{box_name}: no device map: logical channel n plays on physical channel n of the card it chose");
        return Ok(Outcome::Ok);
    };
    println!("{box_name}: outputs through {}", map.playback_pcm);
    for r in &map.outputs {
        println!("  output {} -> channel {}", r.logical, r.physical);
    }
    if let Some(pcm) = &map.capture_pcm {
        println!("{box_name}: inputs from {pcm}");
    }
    for r in &map.inputs {
        println!("  input {} <- channel {}", r.logical, r.physical);
    }
    if set.is_some() {
        println!(
            "{box_name}: saved; {}",
            if playing {
                "the session plays with it now"
            } else {
                "no session plays: the next one uses it"
            }
        );
    }
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(peak: f32, hold: f32, rms: f32) -> MeterChannel {
        MeterChannel {
            peak_dbfs: Dbfs::new(peak),
            hold_dbfs: Dbfs::new(hold),
            rms_dbfs: Dbfs::new(rms),
        }
    }

    #[test]
    fn a_meter_shows_levels_a_bar_and_the_hold() {
        let line = meter_line(&channel(-6.02, -3.0, -9.03));
        assert!(line.starts_with("  -6.0   -3.0   -9.0  "), "{line:?}");
        // −6 dBFS is 90 % of the −60…0 bar: 21.6 cells (21 and 5/8); the
        // hold at −3 dBFS (22.8 cells) marks the 23rd.
        let bar = meter_bar(Dbfs::new(-6.0), Dbfs::new(-3.0));
        assert_eq!(bar.chars().count(), METER_WIDTH);
        assert_eq!(bar, format!("{}▋| ", "█".repeat(21)));
        assert_eq!(
            meter_bar(Dbfs::new(0.0), Dbfs::new(0.0)),
            "█".repeat(METER_WIDTH)
        );
        assert!(meter_line(&channel(0.0, 0.0, -3.0)).ends_with("CLIP"));
    }

    #[test]
    fn silence_reads_minus_infinity_with_an_empty_bar() {
        let silent = channel(-144.0, -144.0, -144.0);
        assert_eq!(
            meter_line(&silent),
            format!("  -inf   -inf   -inf  {}", " ".repeat(METER_WIDTH))
        );
    }
}
