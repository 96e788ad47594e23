//! hostctl: author, validate and push cuebox sessions from a host.

mod cli;
mod clip;
mod edit;
mod grid;
mod logs;
mod media;
mod output;
mod package;
mod remote;
mod session;
mod show;

use std::process::ExitCode;

use clap::Parser;
use cuebox_engine::control::Command as EngineCommand;
use cuebox_engine::show::ClipId;
use cuebox_proto::messages::Request;

use cli::{Cli, ClipCmd, Command, DeviceMapCmd, GridCmd, SessionCmd, ShowCmd};

/// How a command ended, when it did not fail outright.
pub enum Outcome {
    /// Done.
    Ok,
    /// Ran, but found problems (an invalid session).
    Problems,
}

/// `{"cmd": CMD, "clip": CLIP}`, or `{"cmd": "CMD_all"}` without a clip.
/// A clip id from the command line, or why it is not one.
fn clip(id: &str) -> anyhow::Result<ClipId> {
    id.parse().map_err(|e| {
        anyhow::anyhow!("{id:?} is not a clip id ({e}); hostctl session show lists them")
    })
}

/// Sends `one` of the clip named, or `all` without one.
fn clip_or_all(
    t: &cli::MaybeClipOnBox,
    one: impl FnOnce(ClipId) -> EngineCommand,
    all: EngineCommand,
) -> anyhow::Result<Outcome> {
    let command = match &t.clip {
        Some(id) => one(clip(id)?),
        None => all,
    };
    remote::command(&t.box_name, command, &t.out)
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
        Command::Session(SessionCmd::Remove {
            box_name,
            name,
            out,
        }) => remote::remove_session(&box_name, &name, &out),
        Command::Clip(ClipCmd::Add {
            dir,
            file,
            tab,
            at,
            group,
            name,
            out,
        }) => clip::add(&dir, &file, &tab, at, group, name, &out),
        Command::Clip(ClipCmd::Import {
            dir,
            files,
            manifest,
            tab,
            from,
            group,
            out,
        }) => clip::import(&dir, &files, manifest.as_deref(), &tab, from, group, &out),
        Command::Clip(ClipCmd::Set(args)) => edit::clip_set(&args),
        Command::Clip(ClipCmd::Remove {
            dir,
            clip,
            delete_media,
            out,
        }) => edit::clip_remove(&dir, &clip, delete_media, &out),
        Command::Clip(ClipCmd::Move {
            dir,
            clip,
            tab,
            at,
            out,
        }) => edit::clip_move(&dir, &clip, &tab, at, &out),
        Command::Clip(ClipCmd::Swap { dir, a, b, out }) => edit::clip_swap(&dir, &a, &b, &out),
        Command::Clip(ClipCmd::Copy {
            dir,
            clip,
            tab,
            at,
            out,
        }) => edit::clip_copy(&dir, &clip, &tab, at, &out),
        Command::Pages(cmd) => edit::page(cmd),
        Command::Tab {
            dir,
            tab,
            name,
            colour,
            out,
        } => edit::tab(&dir, &tab, name.as_deref(), colour, &out),
        Command::Group {
            dir,
            group,
            level,
            mute,
            mode,
            outputs,
            out,
        } => edit::group(
            &dir,
            group,
            cuebox_engine::show::GroupChanges {
                level_db: level,
                mute,
                mode,
                outputs,
            },
            &out,
        ),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "hostctl",
                &mut std::io::stdout(),
            );
            Ok(Outcome::Ok)
        }
        Command::Timing(args) => edit::timing(&args),
        Command::Fades {
            dir,
            fade_in,
            in_curve,
            fade_out,
            out_curve,
            crossfade,
            crossfade_curve,
            out,
        } => edit::fades(
            &dir,
            [
                (fade_in, in_curve),
                (fade_out, out_curve),
                (crossfade, crossfade_curve),
            ],
            &out,
        ),
        Command::Thresholds {
            dir,
            recovery,
            warning,
            critical,
            out,
        } => edit::thresholds(&dir, recovery, warning, critical, &out),
        Command::Bus(args) => edit::bus(&args),
        Command::Undo { dir, out } => edit::undo_redo(&dir, false, &out),
        Command::Redo { dir, out } => edit::undo_redo(&dir, true, &out),
        Command::History { dir, out } => edit::history(&dir, &out),
        Command::Grid(GridCmd::Resize {
            dir,
            tab,
            rows,
            cols,
            out,
        }) => grid::resize(&dir, &tab, rows, cols, &out),
        Command::Grid(GridCmd::Undo { dir, tab, out }) => grid::undo(&dir, &tab, &out),
        Command::Show(ShowCmd::Set(args)) => show::set(&args),
        Command::Show(ShowCmd::Info { dir, out }) => show::info(&dir, &out),
        Command::DeviceMap(DeviceMapCmd::Show(b)) => remote::device_map(&b.box_name, None, &b.out),
        Command::DeviceMap(DeviceMapCmd::Set {
            box_name,
            pcm,
            capture_pcm,
            outputs,
            inputs,
            identity,
            out,
        }) => remote::device_map_of(pcm, capture_pcm, identity, &outputs, &inputs)
            .and_then(|map| remote::device_map(&box_name, Some(map), &out)),
        Command::Key { out } => remote::key(&out),
        Command::Pair {
            address,
            name,
            fingerprint,
            or_fingerprint,
            yes,
            out,
        } => remote::pair(&address, name, fingerprint, or_fingerprint, yes, &out),
        Command::Boxes { out } => remote::boxes(&out),
        Command::Push {
            dir,
            to,
            name,
            together,
            out,
        } => remote::push(&dir, &to, name, together, &out),
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
        Command::Go(t) => match &t.clip {
            Some(id) => clip(id).and_then(|clip| {
                remote::command(&t.box_name, EngineCommand::Go { clip, time: None }, &t.out)
            }),
            None => remote::go_next(&t.box_name, &t.out),
        },
        Command::Stop(t) => clip(&t.clip)
            .and_then(|clip| remote::command(&t.box_name, EngineCommand::Stop { clip }, &t.out)),
        Command::Fade { target: t, time } => clip(&t.clip).and_then(|clip| {
            remote::command(&t.box_name, EngineCommand::FadeOut { clip, time }, &t.out)
        }),
        Command::FadeTo {
            target: t,
            level,
            time,
        } => clip(&t.clip).and_then(|clip| {
            let command = EngineCommand::FadeTo {
                clip,
                level_db: level,
                time,
            };
            remote::command(&t.box_name, command, &t.out)
        }),
        Command::Crossfade {
            box_name,
            from,
            to,
            time,
            out,
        } => clip(&from).and_then(|from| {
            let to = clip(&to)?;
            remote::command(&box_name, EngineCommand::Crossfade { from, to, time }, &out)
        }),
        Command::GroupLevel {
            box_name,
            group,
            level_db,
            time,
            out,
        } => group
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .and_then(|group| {
                let command = EngineCommand::GroupLevel {
                    group,
                    level_db,
                    time,
                };
                remote::command(&box_name, command, &out)
            }),
        Command::Pause(t) => clip_or_all(
            &t,
            |clip| EngineCommand::Pause { clip },
            EngineCommand::PauseAll {},
        ),
        Command::Resume(t) => clip_or_all(
            &t,
            |clip| EngineCommand::Resume { clip },
            EngineCommand::ResumeAll {},
        ),
        Command::StopAll(b) => remote::command(&b.box_name, EngineCommand::StopAll {}, &b.out),
        Command::Panic(b) => remote::command(&b.box_name, EngineCommand::Panic {}, &b.out),
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
        Command::Log {
            target: b,
            show,
            period,
            audit,
            save,
        } => logs::log(&b.box_name, show, &period, audit, save.as_deref(), &b.out),
        Command::Cuesheet {
            target: b,
            session,
            period,
            format,
            depth,
            out_file,
        } => logs::cuesheet(
            &b.box_name,
            session,
            &period,
            format,
            depth,
            out_file,
            &b.out,
        ),
        Command::Techlog {
            target: b,
            kind,
            period,
            format,
            out_file,
        } => logs::techlog(&b.box_name, kind, &period, format, out_file, &b.out),
        Command::Annotate {
            target: b,
            work,
            session,
            changes,
        } => logs::annotate(&b.box_name, session, &work, &changes, &b.out),
        Command::Media(cmd) => media::run(cmd),
        Command::Package(cmd) => package::run(cmd),
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
