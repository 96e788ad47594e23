//! hostctl: author, validate and push cuebox sessions from a host.

mod cli;
mod clip;
mod grid;
mod output;
mod session;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, ClipCmd, Command, GridCmd, SessionCmd};

/// How a command ended, when it did not fail outright.
pub enum Outcome {
    /// Done.
    Ok,
    /// Ran, but found problems (an invalid session).
    Problems,
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
