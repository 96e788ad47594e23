//! The command line: verbs, arguments and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use cuebox_engine::show::{ExportFormat, GridPos, Group, ReportDepth};
use cuebox_session::playlog::cli::{ChangesArgs, PeriodArgs};

/// Author, validate and push cuebox sessions from a host.
///
/// A session is a folder holding `session.json` (the show), `metadata.sqlite`
/// (clip information and markers, indexed from the manifest), `autosave/` and `backups/`. Its media
/// live in the media folder chosen when it was created. Pages, tabs, rows and
/// columns are numbered from 1, as the box shows them.
#[derive(Debug, Parser)]
#[command(name = "hostctl", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, check and list sessions.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Add clips to a session.
    #[command(subcommand)]
    Clip(ClipCmd),
    /// Resize tab grids and undo resizes.
    #[command(subcommand)]
    Grid(GridCmd),
    /// Print this host's public key, to authorize on a box
    /// (`cueboxd auth add KEY --role edit` on the box).
    Key {
        #[command(flatten)]
        out: Output,
    },
    /// Pair with a box: connect, show its key fingerprint to compare with
    /// `cueboxd key` on its console, and remember it. Every later connection
    /// refuses a box whose key differs.
    Pair {
        /// The box's address, HOST[:PORT] (port 53100 by default).
        address: String,
        /// The name to call it by (default: the name it gives).
        #[arg(long)]
        name: Option<String>,
        /// The fingerprint you expect (from `cueboxd key`); pairs without asking when it matches.
        #[arg(long, value_name = "SHA256:…")]
        fingerprint: Option<String>,
        /// Accept whatever key the box shows (only on a network you trust).
        #[arg(long, conflicts_with = "fingerprint")]
        yes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List the paired boxes with their state (role, session, what plays).
    Boxes {
        #[command(flatten)]
        out: Output,
    },
    /// Push a session to one or more boxes and activate it there. Only media
    /// a box lacks is sent; an interrupted push resumes where it stopped;
    /// every file is verified on arrival, and the box activates the session
    /// atomically only when all of its media is there.
    Push {
        /// The session folder.
        dir: PathBuf,
        /// The boxes, by name or address, comma-separated; each is pushed on its own.
        #[arg(long, value_delimiter = ',', required = true)]
        to: Vec<String>,
        /// The session's name on the box (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Pull a session from a box into a new folder, every file verified.
    Pull {
        /// The box.
        #[arg(value_name = "BOX")]
        box_name: String,
        /// The session (default: the box's active one).
        #[arg(long)]
        session: Option<String>,
        /// The folder to create.
        #[arg(long = "out", value_name = "DIR")]
        out_dir: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// Compare a session folder with the box's copy; exits 1 when they differ.
    Diff {
        /// The session folder.
        dir: PathBuf,
        /// The box.
        #[arg(value_name = "BOX")]
        box_name: String,
        /// The session's name on the box (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        out: Output,
    },
    /// Push a session, and with --watch push it again whenever it changes.
    Sync {
        /// The session folder.
        dir: PathBuf,
        /// The boxes, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        to: Vec<String>,
        /// The session's name on the box (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// Keep watching the folder and re-push on every change (Ctrl-C ends).
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        out: Output,
    },
    /// GO on a box: the clip named, or without one the cue at the box's
    /// playhead (a bare GO, as OSC /go and MSC GO); either moves the
    /// playhead past the clip's button. Double-GO protection applies.
    Go(MaybeClipOnBox),
    /// Stop a clip on a box (1 ms edge fade).
    Stop(ClipOnBox),
    /// Fade a clip out on a box.
    Fade {
        #[command(flatten)]
        target: ClipOnBox,
        /// Fade time, seconds (default: the clip's own fade out).
        #[arg(long)]
        time: Option<f64>,
    },
    /// Fade a playing clip to a level on a box, live (house to half, an
    /// underscore ducked under dialogue): it ramps, linear in gain, and
    /// plays on there. For a whole group, `group-level` ramps the bus.
    ///
    /// Example: `hostctl fade-to box1 c3 --level -10 --time 2`
    FadeTo {
        #[command(flatten)]
        target: ClipOnBox,
        /// The level, dB (−144 is silence, +12 the most), in place of the
        /// clip's own.
        #[arg(long, allow_hyphen_values = true)]
        level: f64,
        /// Ramp time, seconds (default: the 1 ms edge).
        #[arg(long)]
        time: Option<f64>,
    },
    /// Crossfade on a box: TO starts while every voice of FROM fades out
    /// under it with the complementary gain.
    Crossfade {
        /// The box, by name or address.
        #[arg(value_name = "BOX")]
        box_name: String,
        /// The clip fading out.
        from: String,
        /// The clip starting.
        to: String,
        /// Crossfade time, seconds (default: TO's own crossfade; 0 is a cut).
        #[arg(long)]
        time: Option<f64>,
        #[command(flatten)]
        out: Output,
    },
    /// Set a group bus's level on a box (live; the session keeps its own).
    GroupLevel {
        /// The box, by name or address.
        #[arg(value_name = "BOX")]
        box_name: String,
        /// The group: A, B, C or D.
        group: String,
        /// The level, dB (−144 is silence, +12 the most).
        #[arg(allow_hyphen_values = true)]
        level_db: f64,
        /// Ramp time, seconds (default: the 1 ms edge).
        #[arg(long)]
        time: Option<f64>,
        #[command(flatten)]
        out: Output,
    },
    /// Pause a clip on a box (every playing clip when none is named): it
    /// falls silent over 1 ms and holds its place.
    Pause(MaybeClipOnBox),
    /// Resume a paused clip where it paused (every paused clip when none is named).
    Resume(MaybeClipOnBox),
    /// Stop every clip of groups A–D on a box.
    StopAll(OnBox),
    /// Stop everything on a box at once, audition included.
    Panic(OnBox),
    /// Make PAGE the one the box's grid controllers play.
    Page {
        #[command(flatten)]
        target: OnBox,
        /// Page number, from 1.
        page: u16,
    },
    /// Lock the show for the performance: the box refuses pushes and edits.
    Lock(OnBox),
    /// Unlock the show (needs the edit role).
    Unlock(OnBox),
    /// Measure how fast a box takes a GO over the network: sends GO and
    /// STOP of CLIP COUNT times on one connection and prints the round trip
    /// and the time from sending to the sample the GO is applied at
    /// (p50/p99/max). Mind the box's double-GO protection (--interval).
    Latency {
        #[command(flatten)]
        target: ClipOnBox,
        /// How many GOs.
        #[arg(long, default_value_t = 200)]
        count: u32,
        /// Milliseconds between GOs.
        #[arg(long, default_value_t = 350)]
        interval: u64,
    },
    /// The box's status: session, playing clips with positions, meters, DSP
    /// load, xruns, clock source and health.
    Status {
        #[command(flatten)]
        target: OnBox,
        /// Refresh every second (Ctrl-C ends); with --json one line each.
        #[arg(long)]
        watch: bool,
    },
    /// A box's play log: the plays of a period (when, what, from which
    /// input, how long heard, how it ended), or with --audit the exports
    /// and annotations made. Every entry's checksum and chain link is
    /// checked on this host; exit 1 when the box reports damage.
    ///
    /// Example: `hostctl log box1 --show Hamlet --performance 2026-12-01`
    Log {
        #[command(flatten)]
        target: OnBox,
        /// Only this show's (its name, as the plays record it).
        #[arg(long)]
        show: Option<String>,
        #[command(flatten)]
        period: PeriodArgs,
        /// The audit trail (exports and annotations) instead of the plays.
        #[arg(long)]
        audit: bool,
        /// Also save the whole log, as checked, to this file (an off-box copy
        /// `cueboxd log verify` can read as one of its copies).
        #[arg(long, value_name = "FILE")]
        save: Option<PathBuf>,
    },
    /// A cue sheet from a box: every work a session's show used over a
    /// period, its uses, time heard, usage, review and what a society will
    /// ask for that the session does not say. The box keeps each export in
    /// its Exports/ and records it in its audit trail (control role).
    ///
    /// Example: `hostctl cuesheet box1 --performance 2026-12-01 --format csv --out hamlet.csv`
    Cuesheet {
        #[command(flatten)]
        target: OnBox,
        /// The session (default: the box's active one).
        #[arg(long)]
        session: Option<String>,
        #[command(flatten)]
        period: PeriodArgs,
        /// json, csv or xml (schemas in docs/schemas/).
        #[arg(long, default_value = "json")]
        format: ExportFormat,
        /// summary (one line per work) or detailed (every use); the show's
        /// reporting preference by default.
        #[arg(long)]
        depth: Option<ReportDepth>,
        /// Write it here (`-`: standard output); default: the name the box
        /// gave it, in the current folder.
        #[arg(long = "out", value_name = "FILE")]
        out_file: Option<PathBuf>,
    },
    /// A technical log from a box: application (every event), errors,
    /// playback or metrics (DSP load, xruns, clock health), over a period,
    /// as CSV, JSON or XML (schemas in docs/schemas/techlog.*). The box
    /// keeps each export and records it in its audit trail (control role).
    ///
    /// Example: `hostctl techlog box1 errors --performance 2026-12-01 --format csv`
    Techlog {
        #[command(flatten)]
        target: OnBox,
        /// application, errors, playback or metrics.
        kind: cuebox_session::techlog::Kind,
        #[command(flatten)]
        period: PeriodArgs,
        /// json, csv or xml.
        #[arg(long, default_value = "json")]
        format: ExportFormat,
        /// Write it here (`-`: standard output); default: the name the box
        /// gave it, in the current folder.
        #[arg(long = "out", value_name = "FILE")]
        out_file: Option<PathBuf>,
    },
    /// Annotate a work on a box for its cue sheets: usage category, a note,
    /// review state (edit role; allowed while the show is locked: it changes
    /// the report, not the show). Only what is given changes.
    ///
    /// Example: `hostctl annotate box1 c12 --usage theme --review verified`
    Annotate {
        #[command(flatten)]
        target: OnBox,
        /// The work: a clip id of the session (its audio) or a content hash.
        work: String,
        /// The session (default: the box's active one).
        #[arg(long)]
        session: Option<String>,
        #[command(flatten)]
        changes: ChangesArgs,
    },
}

/// A box.
#[derive(Debug, Args)]
pub struct OnBox {
    /// The box, by name or address.
    #[arg(value_name = "BOX")]
    pub box_name: String,
    #[command(flatten)]
    pub out: Output,
}

/// A clip on a box.
#[derive(Debug, Args)]
pub struct ClipOnBox {
    /// The box, by name or address.
    #[arg(value_name = "BOX")]
    pub box_name: String,
    /// The clip's id (hostctl session show lists them).
    pub clip: String,
    #[command(flatten)]
    pub out: Output,
}

/// A box, and perhaps one of its clips.
#[derive(Debug, Args)]
pub struct MaybeClipOnBox {
    /// The box, by name or address.
    #[arg(value_name = "BOX")]
    pub box_name: String,
    /// The clip's id; every clip of groups A–D when absent.
    pub clip: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

/// `hostctl session …`
#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// Create a new, empty session in DIR with its media in MEDIA_DIR.
    ///
    /// The media folder is required: it is checked for access, write
    /// permission and free space, and flagged when it is on a network share
    /// (which then gets a read/write stability probe) or on removable media.
    New {
        /// The session folder to create (must not hold a session yet).
        dir: PathBuf,
        /// The media folder (created if its parent exists). Suggested: DIR/media.
        #[arg(long, value_name = "MEDIA_DIR")]
        media: Option<PathBuf>,
        /// The session's name (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// Rows of every tab's grid.
        #[arg(long, default_value_t = 4)]
        rows: u16,
        /// Columns of every tab's grid.
        #[arg(long, default_value_t = 8)]
        cols: u16,
        #[command(flatten)]
        out: Output,
    },
    /// Check a session: every range and reference of the show, its media
    /// files, every field of the wrong type, and unknown fields spelt like
    /// known ones (`volume_db`: did you mean `level_db`?). Exits 1 and lists
    /// every problem when it is not valid; other unknown fields are notes.
    ///
    /// Example: `hostctl session validate shows/hamlet --hashes`
    Validate {
        /// The session folder.
        dir: PathBuf,
        /// Also re-hash every media file to prove it is unchanged (reads all media).
        #[arg(long)]
        hashes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List every button and clip: id, name, group, level, fades in/out
    /// (the clip's own or the session's), loop, label, file and format.
    ///
    /// Example: `hostctl session show shows/hamlet --json`
    Show {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// Remove a session from a box, with the previous version its last push
    /// kept, and free the media no other session there uses. The box
    /// refuses to remove its active session: push another one first.
    Remove {
        /// The box, by name or address.
        #[arg(value_name = "BOX")]
        box_name: String,
        /// The session's name on the box.
        name: String,
        #[command(flatten)]
        out: Output,
    },
}

/// `hostctl clip …`
#[derive(Debug, Subcommand)]
pub enum ClipCmd {
    /// Add an audio file as a clip on a button; prints the new clip's id.
    ///
    /// The file is probed (and decoded end to end, so a corrupt file is
    /// refused now rather than at show time), hashed, and copied into the
    /// media folder unless it already lies inside it.
    Add {
        /// The session folder.
        dir: PathBuf,
        /// The audio file (WAV, AIFF, FLAC, MP3, M4A/AAC/ALAC, Ogg Vorbis; mono or stereo).
        file: PathBuf,
        #[command(flatten)]
        tab: TabArg,
        /// Button position as ROW,COL (from 1,1 at the top left).
        #[arg(long, value_name = "ROW,COL")]
        at: GridPos,
        /// The clip group: A, B, C or D.
        #[arg(long)]
        group: Group,
        /// The clip's name (default: the file's title tag, else its name).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        out: Output,
    },
}

/// `hostctl grid …`
#[derive(Debug, Subcommand)]
pub enum GridCmd {
    /// Resize a tab's grid. Buttons outside the new size are kept, hidden,
    /// and return when the grid grows again or the resize is undone.
    Resize {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        tab: TabArg,
        /// New number of rows (1 to 32).
        #[arg(long)]
        rows: u16,
        /// New number of columns (1 to 32).
        #[arg(long)]
        cols: u16,
        #[command(flatten)]
        out: Output,
    },
    /// Undo a tab's last resize (run it again to redo).
    Undo {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        tab: TabArg,
        #[command(flatten)]
        out: Output,
    },
}

/// Which tab of which page.
#[derive(Debug, Args)]
pub struct TabArg {
    /// Page number, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u16,
    /// Tab number, 1 to 8.
    #[arg(long, default_value_t = 1)]
    pub tab: usize,
}

/// Output format.
#[derive(Debug, Args)]
pub struct Output {
    /// Print machine-readable JSON on stdout.
    #[arg(long)]
    pub json: bool,
}
