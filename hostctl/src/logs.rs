//! The verbs that read a box's play log and make its reports: `hostctl
//! log` (the plays or the audit trail, every entry's checksum and link
//! checked on the host), `hostctl cuesheet` and `hostctl annotate`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use cuebox_engine::show::{ExportFormat, ReportDepth};
use cuebox_proto::messages::{Request, Response, JOURNAL_PAGE};
use cuebox_proto::Client;
use cuebox_session::playlog::cli::{ChangesArgs, PeriodArgs};
use cuebox_session::playlog::journal::{Entry, Scan};
use cuebox_session::playlog::{export, Record, Start};
use cuebox_session::techlog::Kind;
use serde_json::json;

use crate::cli::Output;
use crate::output::print_json;
use crate::remote::connect;
use crate::Outcome;

/// The box's whole play log, fetched page by page, each page checked
/// (checksums, chain, and that it goes on from the page before).
struct Fetched {
    entries: Vec<Entry>,
    lines: Vec<u8>,
    /// What the box reports of its own copies.
    problems: Vec<String>,
}

fn fetch(client: &mut Client) -> anyhow::Result<Fetched> {
    let mut fetched = Fetched {
        entries: Vec::new(),
        lines: Vec::new(),
        problems: Vec::new(),
    };
    let mut prev = cuebox_session::playlog::journal::GENESIS.to_owned();
    loop {
        let after = fetched.entries.len() as u64;
        let Response::Journal {
            lines,
            after: from,
            prev: linked,
            last,
            problems,
        } = client.call(&Request::Journal {
            after,
            max: JOURNAL_PAGE,
        })?
        else {
            bail!("the box answered a play-log request with something else");
        };
        fetched.problems = problems;
        if from != after || linked != prev {
            bail!(
                "the box's play log changed under the fetch (a new log began after entry \
                 {after}); fetch it again"
            );
        }
        let scan = Scan::continuing(&lines, after, &prev);
        if let Some(d) = &scan.damage {
            bail!(
                "the play log as received is damaged at entry {}: {}; run `cueboxd log verify` \
                 on the box",
                after + d.line as u64,
                d.why
            );
        }
        if scan.entries.is_empty() && after < last {
            bail!("the box sent no entries where {} remain", last - after);
        }
        prev = scan.entries.last().map_or(prev, |e| e.hash.clone());
        fetched.lines.extend_from_slice(&lines);
        fetched.entries.extend(scan.entries);
        if fetched.entries.len() as u64 >= last {
            return Ok(fetched);
        }
    }
}

/// `hostctl log BOX`: the plays of a period, or the audit trail.
pub fn log(
    box_name: &str,
    show: Option<String>,
    period: &PeriodArgs,
    audit: bool,
    save: Option<&Path>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    let fetched = fetch(&mut client)?;
    if let Some(path) = save {
        cuebox_session::store::write_atomic(path, &fetched.lines)
            .with_context(|| format!("cannot save the play log to {}", path.display()))?;
        eprintln!(
            "saved {} entries, each checked, to {}",
            fetched.entries.len(),
            path.display()
        );
    }
    let period = period.span().period(show)?;
    let entries = &fetched.entries;
    for e in entries {
        let line = match (&e.record, audit) {
            (Record::Start(s), false) if period.covers(s) => {
                let end = entries.iter().find_map(|x| match &x.record {
                    Record::End(end) if end.play == e.seq => Some(end),
                    _ => None,
                });
                play_line(e.seq, s, end, out.json)
            }
            (Record::Annotation(a), true) if period.includes(&a.show, a.at) => {
                if out.json {
                    serde_json::to_string(&json!({"entry": e.seq, "annotation": a}))?
                } else {
                    format!(
                        "{:>6}  {}  annotation of {} ({}) by {}: {}",
                        e.seq,
                        a.at,
                        a.work,
                        a.show,
                        a.by,
                        [
                            a.usage.map(|u| format!("usage {}", export::name(u))),
                            a.note.as_ref().map(|n| format!("note {n:?}")),
                            a.review.map(|r| format!("review {}", export::name(r))),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(", ")
                    )
                }
            }
            (Record::Reconciled(r), true)
                if period.includes(period.show.as_deref().unwrap_or_default(), r.at) =>
            {
                if out.json {
                    serde_json::to_string(&json!({"entry": e.seq, "reconciled": r}))?
                } else {
                    format!(
                        "{:>6}  {}  reconciled with {} by {}: {} matched, {} copied",
                        e.seq,
                        r.at,
                        r.unit,
                        r.by,
                        r.matched,
                        r.copied.len()
                    )
                }
            }
            (Record::Export(x), true)
                if period.includes(x.show.as_deref().unwrap_or_default(), x.at) =>
            {
                if out.json {
                    serde_json::to_string(&json!({"entry": e.seq, "export": x}))?
                } else {
                    format!(
                        "{:>6}  {}  export {} ({}, {} bytes, {}) by {}",
                        e.seq, x.at, x.file, x.period, x.bytes, x.blake3, x.by
                    )
                }
            }
            _ => continue,
        };
        println!("{line}");
    }
    for p in &fetched.problems {
        eprintln!("hostctl: {box_name}'s play log: {p}");
    }
    Ok(if fetched.problems.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

fn play_line(
    play: u64,
    s: &Start,
    end: Option<&cuebox_session::playlog::End>,
    as_json: bool,
) -> String {
    let heard = end.map(|e| e.heard_frames as f64 / f64::from(s.rate.max(1)));
    let ending = end.map(|e| export::name(e.ending));
    if as_json {
        return json!({
            "play": play, "at": s.at, "show": s.session, "clip": s.clip, "name": s.name,
            "work": s.hash, "title": s.rights.title, "composer": s.rights.composer,
            "group": s.group, "button": s.button, "input": s.source.input,
            "from": s.source.from, "cue": s.source.cue, "timecode": s.timecode,
            "heard_seconds": heard, "ending": ending,
        })
        .to_string();
    }
    format!(
        "{play:>6}  {}  {}  {} {:?}  from {}{}  {}",
        s.at,
        s.session,
        s.clip,
        s.rights.title.as_deref().unwrap_or(&s.name),
        s.source.input,
        s.timecode
            .as_ref()
            .map(|t| format!(" at {t}"))
            .unwrap_or_default(),
        match (heard, ending) {
            (Some(h), Some(e)) => format!("{h:.1} s, {e}"),
            _ => "not ended".into(),
        }
    )
}

/// `hostctl cuesheet BOX`: the box makes the sheet and keeps it; the host
/// writes it to `out_file` (or a file named as the box named it).
#[allow(clippy::too_many_arguments)]
pub fn cuesheet(
    box_name: &str,
    session: Option<String>,
    period: &PeriodArgs,
    format: ExportFormat,
    depth: Option<ReportDepth>,
    out_file: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let request = Request::CueSheet {
        session,
        span: period.span(),
        format,
        depth,
    };
    fetch_report(box_name, &request, out_file, out)
}

/// `hostctl techlog BOX KIND`: a technical log, exported on the box.
pub fn techlog(
    box_name: &str,
    kind: Kind,
    period: &PeriodArgs,
    format: ExportFormat,
    out_file: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let request = Request::TechLog {
        kind,
        span: period.span(),
        format,
    };
    fetch_report(box_name, &request, out_file, out)
}

/// Asks the box for a report (it keeps it and records the export) and
/// writes it to `out_file`, standard output (`-`) or a file named as the
/// box named it.
fn fetch_report(
    box_name: &str,
    request: &Request<'_>,
    out_file: Option<PathBuf>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    let Response::Report {
        file,
        entry,
        bytes,
        summary,
        sound,
    } = client.call(request)?
    else {
        bail!("the box answered a report request with something else");
    };
    let path = match out_file {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(p),
        None => Some(PathBuf::from(
            Path::new(&file)
                .file_name()
                .context("the box named its export without a file name")?,
        )),
    };
    match &path {
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
        Some(p) => cuebox_session::store::write_atomic(p, &bytes)
            .with_context(|| format!("cannot write the report to {}", p.display()))?,
    }
    if out.json {
        print_json(&json!({
            "box": box_name, "kept_on_box": file, "audit_entry": entry, "file": path,
            "bytes": bytes.len(), "hash": cuebox_engine::show::ContentHash::of_bytes(&bytes),
            "summary": summary, "sound": sound,
        }));
    } else if let Some(p) = &path {
        println!(
            "{}: {summary}; kept on {box_name} as {file} (audit entry {entry})",
            p.display()
        );
    }
    Ok(if sound {
        Outcome::Ok
    } else {
        eprintln!(
            "hostctl: {box_name}'s play log is damaged: the report holds what could be read; \
             run `cueboxd log verify` on the box"
        );
        Outcome::Problems
    })
}

/// `hostctl annotate BOX WORK`.
pub fn annotate(
    box_name: &str,
    session: Option<String>,
    work: &str,
    changes: &ChangesArgs,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let mut client = connect(box_name)?;
    let Response::Annotated { work, entry } = client.call(&Request::Annotate {
        session,
        work: work.to_owned(),
        changes: changes.changes(),
    })?
    else {
        bail!("the box answered an annotation with something else");
    };
    if out.json {
        print_json(&json!({"box": box_name, "work": work, "audit_entry": entry}));
    } else {
        println!("{box_name}: annotated {work} (audit entry {entry})");
    }
    Ok(Outcome::Ok)
}
