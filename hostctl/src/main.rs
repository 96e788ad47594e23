//! hostctl: author, validate and push cuebox sessions from a host.

mod cli;
mod clip;
mod grid;
mod output;
mod remote;
mod session;

use std::process::ExitCode;

use clap::Parser;
use cuebox_appliance::api::proto::Request;
use serde_json::json;

use cli::{Cli, ClipCmd, Command, GridCmd, SessionCmd};

/// How a command ended, when it did not fail outright.
pub enum Outcome {
    /// Done.
    Ok,
    /// Ran, but found problems (an invalid session).
    Problems,
}

/// `{"cmd": CMD, "clip": CLIP}`, or `{"cmd": "CMD_all"}` without a clip.
fn clip_or_all(cmd: &str, clip: &Option<String>) -> serde_json::Value {
    match clip {
        Some(clip) => json!({"cmd": cmd, "clip": clip}),
        None => json!({"cmd": format!("{cmd}_all")}),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Session(SessionCmd::New {
            dir,
            media,
            name,
            rows,
            cols,
            out,
        }) => session::new(&dir, media.as_deref(), name, rows, cols, &out),
        Command::Session(SessionCmd::Validate { dir, hashes, out }) => {
            session::validate(&dir, hashes, &out)
        }
        Command::Session(SessionCmd::Show { dir, out }) => session::show(&dir, &out),
        Command::Clip(ClipCmd::Add {
            dir,
            file,
            tab,
            at,
            group,
            name,
            out,
        }) => clip::add(&dir, &file, &tab, at, group, name, &out),
        Command::Grid(GridCmd::Resize {
            dir,
            tab,
            rows,
            cols,
            out,
        }) => grid::resize(&dir, &tab, rows, cols, &out),
        Command::Grid(GridCmd::Undo { dir, tab, out }) => grid::undo(&dir, &tab, &out),
        Command::Key { out } => remote::key(&out),
        Command::Pair {
            address,
            name,
            fingerprint,
            yes,
            out,
        } => remote::pair(&address, name, fingerprint, yes, &out),
        Command::Boxes { out } => remote::boxes(&out),
        Command::Push { dir, to, name, out } => remote::push(&dir, &to, name, &out),
        Command::Pull {
            box_name,
            session,
            out_dir,
            out,
        } => remote::pull(&box_name, session, &out_dir, &out),
        Command::Diff {
            dir,
            box_name,
            name,
            out,
        } => remote::diff(&dir, &box_name, name, &out),
        Command::Sync {
            dir,
            to,
            name,
            watch,
            out,
        } => remote::sync(&dir, &to, name, watch, &out),
        Command::Go(t) => {
            remote::command(&t.box_name, json!({"cmd": "go", "clip": t.clip}), &t.out)
        }
        Command::Stop(t) => {
            remote::command(&t.box_name, json!({"cmd": "stop", "clip": t.clip}), &t.out)
        }
        Command::Fade { target: t, time } => remote::command(
            &t.box_name,
            json!({"cmd": "fade_out", "clip": t.clip, "time": time}),
            &t.out,
        ),
        Command::Pause(t) => remote::command(&t.box_name, clip_or_all("pause", &t.clip), &t.out),
        Command::Resume(t) => remote::command(&t.box_name, clip_or_all("resume", &t.clip), &t.out),
        Command::StopAll(b) => remote::command(&b.box_name, json!({"cmd": "stop_all"}), &b.out),
        Command::Panic(b) => remote::command(&b.box_name, json!({"cmd": "panic"}), &b.out),
        Command::Page { target: b, page } => remote::simple(
            &b.box_name,
            Request::Page { page },
            &format!("page {page}"),
            &b.out,
        ),
        Command::Lock(b) => remote::simple(
            &b.box_name,
            Request::Lock { locked: true },
            "locked",
            &b.out,
        ),
        Command::Unlock(b) => remote::simple(
            &b.box_name,
            Request::Lock { locked: false },
            "unlocked",
            &b.out,
        ),
        Command::Latency {
            target: t,
            count,
            interval,
        } => remote::latency(&t.box_name, &t.clip, count, interval, &t.out),
        Command::Status { target: b, watch } => remote::status(&b.box_name, watch, &b.out),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
