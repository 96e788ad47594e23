//! The command line: verbs, arguments and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use cuebox_engine::show::{ExportFormat, GridPos, Group, ReportDepth};

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
    /// The show information cue sheets are headed with (production, venue,
    /// performance dates, rights context) and the reporting preferences.
    #[command(subcommand)]
    Show(ShowCmd),
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
    /// Check a session: every range and reference of the show, and its media
    /// files. Exits 1 and lists every problem when it is not valid.
    Validate {
        /// The session folder.
        dir: PathBuf,
        /// Also re-hash every media file to prove it is unchanged (reads all media).
        #[arg(long)]
        hashes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List every clip with its id, file, format, group and grid position.
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

/// `hostctl show …`
#[derive(Debug, Subcommand)]
pub enum ShowCmd {
    /// Set a session's show information and reporting preferences. Only
    /// what is given changes; everything is checked (the session's own
    /// validation included) before anything is written, and a refusal
    /// changes nothing. The manifest is saved atomically, the previous one
    /// kept in backups/.
    ///
    /// Example: `hostctl show set shows/hamlet --production Hamlet --venue "The Globe"
    /// --city London --country GB --date 2026-12-01 --date 2026-12-02
    /// --rights-context "grand rights" --depth detailed --formats csv,xml
    /// --societies PRS --auto-export on`
    Set(Box<ShowSetArgs>),
    /// Print a session's show information and reporting preferences.
    ///
    /// Example: `hostctl show info shows/hamlet --json`
    Info {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        out: Output,
    },
}

/// What `hostctl show set` changes.
#[derive(Debug, Args)]
pub struct ShowSetArgs {
    /// The session folder.
    pub dir: PathBuf,
    /// The production's name.
    #[arg(long)]
    pub production: Option<String>,
    /// The venue's name.
    #[arg(long)]
    pub venue: Option<String>,
    /// The venue's city.
    #[arg(long)]
    pub city: Option<String>,
    /// The venue's country (ISO 3166 code or name).
    #[arg(long)]
    pub country: Option<String>,
    /// Add a performance date (repeat for several; kept in order).
    #[arg(long = "date", value_name = "YYYY-MM-DD")]
    pub dates: Vec<jiff::civil::Date>,
    /// Remove a performance date (repeatable).
    #[arg(long = "remove-date", value_name = "YYYY-MM-DD")]
    pub remove_dates: Vec<jiff::civil::Date>,
    /// Remove every performance date first (then --date adds).
    #[arg(long, conflicts_with = "remove_dates")]
    pub clear_dates: bool,
    /// The rights context (grand rights, small rights, blanket licence, …).
    #[arg(long)]
    pub rights_context: Option<String>,
    /// Cue sheet depth: summary (one line per work) or detailed (every play).
    #[arg(long, value_parser = serde_name::<ReportDepth>)]
    pub depth: Option<ReportDepth>,
    /// Export formats, comma-separated: csv, json, xml.
    #[arg(long, value_delimiter = ',', value_parser = serde_name::<ExportFormat>)]
    pub formats: Option<Vec<ExportFormat>>,
    /// The collecting societies reported to, comma-separated (PRS,GEMA).
    #[arg(long, value_delimiter = ',')]
    pub societies: Option<Vec<String>>,
    /// Export a cue sheet after each performance: on or off.
    #[arg(long, value_parser = on_off)]
    pub auto_export: Option<bool>,
    #[command(flatten)]
    pub out: Output,
}

/// A value of one of the session format's enums, by its name in the format
/// (`detailed`, `csv`).
fn serde_name<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| e.to_string())
}

/// `on` or `off`.
fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{s:?} is neither on nor off")),
    }
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
