//! The command line: verbs, arguments and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use cuebox_engine::show::{
    Colour, Curve, ExportFormat, GridPos, Group, GroupMode, LogicalChannel, PointSpec, ReportDepth,
    TimeSourceKind, TimeSpec,
};
use cuebox_engine::timecode::{FrameRate, Timecode};
use cuebox_session::playlog::cli::{ChangesArgs, PeriodArgs};

/// Author, validate and push cuebox sessions from a host.
///
/// A session is a folder holding `session.json` (the show), `metadata.sqlite`
/// (clip information and markers, indexed from the manifest), `autosave/`,
/// `backups/` and `history/` (undo and redo). Its media
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
    /// Add, remove, rename and reorder a session's pages; choose the page
    /// view. (`hostctl page BOX N` picks the page a box's controllers play.)
    #[command(subcommand)]
    Pages(PageCmd),
    /// Name and colour a tab.
    ///
    /// Example: `hostctl tab set show --page 1 --tab 2 --name "Act 2" --colour "#3366ff"`
    Tab {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        #[command(flatten)]
        tab: TabArg,
        /// Its name.
        #[arg(long)]
        name: Option<String>,
        /// Its colour, #rrggbb, or `none` for the default.
        #[arg(long, value_name = "#rrggbb|none")]
        colour: Option<OrNone<Colour>>,
        #[command(flatten)]
        out: Output,
    },
    /// Set a group bus: level, mute, voice mode, outputs.
    ///
    /// Example: `hostctl group show B --level -3 --mode choke:2 --outputs 3,4`
    Group {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The group: A, B, C or D.
        group: Group,
        /// Level, dB (−144 to +12).
        #[arg(long, allow_hyphen_values = true)]
        level: Option<f64>,
        /// Muted (on) or not (off).
        #[arg(long, value_name = "on|off", value_parser = on_off)]
        mute: Option<bool>,
        /// `choke:N` (at most N voices, 1 to 3: a new start retires the
        /// oldest) or `free` (limited by the voice pool).
        #[arg(long, value_name = "choke:N|free", value_parser = group_mode)]
        mode: Option<GroupMode>,
        /// The logical outputs it feeds, comma-separated (`3,4`).
        #[arg(long, value_delimiter = ',')]
        outputs: Option<Vec<LogicalChannel>>,
        #[command(flatten)]
        out: Output,
    },
    /// Print a tab-completion script for a shell.
    ///
    /// Example: `hostctl completions bash > /etc/bash_completion.d/hostctl`
    /// (zsh: into a folder of `$fpath` as `_hostctl`; fish:
    /// `~/.config/fish/completions/hostctl.fish`)
    Completions {
        /// bash, zsh or fish.
        shell: clap_complete::Shell,
    },
    /// Set the show's time sources: their priority, warning thresholds,
    /// the timecode frame rate and transport-wide chase.
    ///
    /// Example: `hostctl timing show --priority ltc,ptp,system --frame-rate 25 --chase on`
    Timing(Box<TimingArgs>),
    /// Set the session's default fades: what a clip without its own fade
    /// uses (a new session's: exponential, equal-power — falling evenly in
    /// dB).
    ///
    /// Example: `hostctl fades show --out 3 --out-curve exponential --crossfade 1.5`
    Fades {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// Default fade-in time.
        #[arg(long = "in", value_name = "TIME")]
        fade_in: Option<TimeSpec>,
        /// Default fade-in curve: linear, exponential, logarithmic or s_curve.
        #[arg(long, value_name = "CURVE")]
        in_curve: Option<Curve>,
        /// Default fade-out time.
        #[arg(long = "out", value_name = "TIME")]
        fade_out: Option<TimeSpec>,
        /// Default fade-out curve.
        #[arg(long, value_name = "CURVE")]
        out_curve: Option<Curve>,
        /// Default crossfade time.
        #[arg(long, value_name = "TIME")]
        crossfade: Option<TimeSpec>,
        /// Default crossfade curve.
        #[arg(long, value_name = "CURVE")]
        crossfade_curve: Option<Curve>,
        #[command(flatten)]
        out: Output,
    },
    /// Set the DSP load thresholds (percent of the ceiling): recovery <
    /// warning < critical.
    ///
    /// Example: `hostctl thresholds show --warning 70 --critical 85`
    Thresholds {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// Below this, degraded features come back.
        #[arg(long)]
        recovery: Option<f64>,
        /// Above this, the operator is warned.
        #[arg(long)]
        warning: Option<f64>,
        /// Above this, optional processing is shed.
        #[arg(long)]
        critical: Option<f64>,
        #[command(flatten)]
        out: Output,
    },
    /// Set the audition bus, the record inputs A and B, or the LTC input.
    ///
    /// Example: `hostctl bus show audition --level -6 --outputs 9,10`
    /// Example: `hostctl bus show record-a --enabled on --inputs 1,2`
    /// Example: `hostctl bus show ltc --enabled on --input 8`
    Bus(Box<BusArgs>),
    /// Undo the last edit of a session (every verb that changes it: clip
    /// add/set/move/swap/copy/remove, grid resize, …). The history is kept
    /// in the session, across restarts.
    ///
    /// Example: `hostctl undo shows/hamlet`
    Undo {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// Redo the edit undone last (a new edit drops what could be redone).
    Redo {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// A session's edit history: what undo and redo would do, newest first.
    History {
        /// The session folder.
        dir: PathBuf,
        #[command(flatten)]
        out: Output,
    },
    /// The show information cue sheets are headed with (production, venue,
    /// performance dates, rights context) and the reporting preferences.
    #[command(subcommand)]
    Show(ShowCmd),
    /// A box's device map: which of its interface's channels carry the
    /// show's logical outputs and inputs (kept on the box, apart from the
    /// show, so one show plays on boxes with different interfaces).
    #[command(subcommand)]
    DeviceMap(DeviceMapCmd),
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
        /// ADDRESS is a main/backup pair's control address (docs/pair.md):
        /// the other unit's fingerprint. Whichever unit is main answers
        /// there, so either key is accepted, now and at every connection.
        #[arg(long, value_name = "SHA256:…", requires = "fingerprint")]
        or_fingerprint: Option<String>,
        /// Accept whatever key the box shows (only on a network you trust).
        #[arg(long, conflicts_with = "fingerprint")]
        yes: bool,
        #[command(flatten)]
        out: Output,
    },
    /// List the paired boxes with their state (role, session, what plays,
    /// and for a unit of a main/backup pair its part and the control address).
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
        /// Activate on every box at one instant, and only once every box
        /// has the session and all its media (a main/backup pair): the
        /// boxes switch, or take a push of the playing session, when their
        /// clocks read the same time, 3 s after the last box is ready; if
        /// any box fails first, none is activated. The boxes' clocks must
        /// agree (PTP or NTP), and the host's with theirs to well within 3 s.
        #[arg(long)]
        together: bool,
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
    /// Find missing media again, relink clips, and list the recovery audit trail.
    #[command(subcommand)]
    Media(crate::media::MediaCmd),
    /// Export a session, page, tab, clip list or clip settings as one
    /// package file, and import one.
    #[command(subcommand)]
    Package(crate::package::PackageCmd),
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
    /// Import many audio files at once, each on the next free button of a
    /// tab (from --from, in reading order), with one progress bar; or the
    /// clips a manifest lists (CSV with a header row, or a JSON array) with
    /// the columns file, page, tab, row, col, group, name, level_db,
    /// fade_in, fade_out, loop, title, artist, composer, publisher, isrc,
    /// iswc, pro (only file is required). Every file is checked and every
    /// place found before anything is copied: one bad file or too few free
    /// buttons refuses the whole import. One undoable edit.
    ///
    /// Example: `hostctl clip import show sfx/*.wav --page 1 --tab 2 --from 1,1 --group B`
    /// Example: `hostctl clip import show --manifest cues.csv`
    Import {
        /// The session folder.
        dir: PathBuf,
        /// The audio files, in the order they fill the buttons.
        files: Vec<PathBuf>,
        /// A manifest of clips (.csv or .json); its file paths are relative to it.
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        #[command(flatten)]
        tab: TabArg,
        /// The first button to fill, ROW,COL (default 1,1).
        #[arg(long, value_name = "ROW,COL")]
        from: Option<GridPos>,
        /// The clips' group (a manifest row may say otherwise).
        #[arg(long, default_value = "A")]
        group: Group,
        #[command(flatten)]
        out: Output,
    },
    /// Set clips' properties: name, group, level, pan or width and balance,
    /// fades, cue and loop points, timecode trigger and chase, rights
    /// metadata. Times are seconds (12.5), timecode at the show's rate
    /// (00:01:02:10) or file frames (96000f). Only what is given changes;
    /// the result is validated before anything is written (undo: `hostctl
    /// undo DIR`).
    ///
    /// Example: `hostctl clip set show c3 c4 --level -6 --fade-out 4.5 --loop`
    /// Example: `hostctl clip set show --tab 1.3 --fade-in 0.5 --fade-in-curve s_curve`
    Set(Box<ClipSetArgs>),
    /// Remove a clip and its button. Its media stays in the media folder
    /// unless --delete-media, and then only when no other clip uses it.
    ///
    /// Example: `hostctl clip remove show c7`
    Remove {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The clip's id.
        clip: String,
        /// Also delete its media file when no other clip uses it.
        #[arg(long)]
        delete_media: bool,
        #[command(flatten)]
        out: Output,
    },
    /// Move a clip's button to a free place (another button, tab or page).
    ///
    /// Example: `hostctl clip move show c3 --page 2 --tab 1 --at 1,4`
    Move {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The clip's id.
        clip: String,
        #[command(flatten)]
        tab: TabArg,
        /// Where, as ROW,COL.
        #[arg(long, value_name = "ROW,COL")]
        at: GridPos,
        #[command(flatten)]
        out: Output,
    },
    /// Swap two clips' buttons.
    ///
    /// Example: `hostctl clip swap show c3 c9`
    Swap {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// One clip.
        a: String,
        /// The other.
        b: String,
        #[command(flatten)]
        out: Output,
    },
    /// Copy a clip — its processing, fades, loop and rights, the same media
    /// — to a new clip on a free button; prints the new clip's id.
    ///
    /// Example: `hostctl clip copy show c3 --page 1 --tab 2 --at 1,1`
    Copy {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The clip's id.
        clip: String,
        #[command(flatten)]
        tab: TabArg,
        /// Where, as ROW,COL.
        #[arg(long, value_name = "ROW,COL")]
        at: GridPos,
        #[command(flatten)]
        out: Output,
    },
}

/// `hostctl clip set` arguments.
#[derive(Debug, Args)]
pub struct ClipSetArgs {
    /// The session folder, or BOX: for the show playing on a box (edited
    /// live; BOX:CLIP names a clip too: `hostctl clip set stage:c12 --level -6`).
    pub dir: Place,
    /// The clips' ids (with --tab or --in-group, those are added).
    pub clips: Vec<String>,
    /// Every clip on this tab, as PAGE.TAB (`1.3`).
    #[arg(long, value_name = "PAGE.TAB")]
    pub tab: Option<String>,
    /// Every clip of this group.
    #[arg(long, value_name = "GROUP")]
    pub in_group: Option<Group>,
    /// The clip's name.
    #[arg(long)]
    pub name: Option<String>,
    /// The group it plays in: A, B, C or D.
    #[arg(long)]
    pub group: Option<Group>,
    /// Level, dB (−144 to +12).
    #[arg(long, allow_hyphen_values = true)]
    pub level: Option<f64>,
    /// A mono clip's pan, −1 (left) to +1 (right).
    #[arg(long, allow_hyphen_values = true)]
    pub pan: Option<f64>,
    /// A stereo clip's width, 0 (mono) to 1 (as recorded).
    #[arg(long)]
    pub width: Option<f64>,
    /// A stereo clip's balance, −1 to +1.
    #[arg(long, allow_hyphen_values = true)]
    pub balance: Option<f64>,
    /// Fade-in time.
    #[arg(long, value_name = "TIME")]
    pub fade_in: Option<TimeSpec>,
    /// Fade-in curve: linear, exponential, logarithmic or s_curve.
    #[arg(long, value_name = "CURVE")]
    pub fade_in_curve: Option<Curve>,
    /// Fade-in equal-power (on) or equal-gain (off).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub fade_in_power: Option<bool>,
    /// Fade-out time.
    #[arg(long, value_name = "TIME")]
    pub fade_out: Option<TimeSpec>,
    /// Fade-out curve.
    #[arg(long, value_name = "CURVE")]
    pub fade_out_curve: Option<Curve>,
    /// Fade-out equal-power (on) or equal-gain (off).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub fade_out_power: Option<bool>,
    /// Where playback starts (a time, or `marker:NAME`: the start of the
    /// clip's analysis section of that name).
    #[arg(long, value_name = "TIME|marker:NAME")]
    pub cue_in: Option<PointSpec>,
    /// Where playback ends (`end`: the file's end).
    #[arg(long, value_name = "TIME|marker:NAME|end")]
    pub cue_out: Option<OrNone<PointSpec>>,
    /// Loop: on its own the whole cue range; with --loop-start/--loop-end
    /// the region given.
    #[arg(long = "loop", conflicts_with = "no_loop")]
    pub looped: bool,
    /// Stop looping (the loop points are kept).
    #[arg(long)]
    pub no_loop: bool,
    /// Where the loop starts.
    #[arg(long, value_name = "TIME|marker:NAME")]
    pub loop_start: Option<PointSpec>,
    /// Where the loop jumps back.
    #[arg(long, value_name = "TIME|marker:NAME")]
    pub loop_end: Option<PointSpec>,
    /// Its own protection fade at cue and edit points, 0.25 to 10 ms
    /// (`none`: the session's, `hostctl` shows it in `session show`).
    #[arg(long, value_name = "MS|none")]
    pub edit_protection: Option<OrNone<f64>>,
    /// Its own protection fade at loop points, 0.25 to 10 ms (`none`: the
    /// session's): the shortest for a seamless loop, longer for a rough one.
    #[arg(long, value_name = "MS|none")]
    pub loop_protection: Option<OrNone<f64>>,
    /// The timecode that starts the clip (HH:MM:SS:FF), or `none`.
    #[arg(long, value_name = "TC|none")]
    pub trigger: Option<OrNone<Timecode>>,
    /// Chase timecode (on) or not (off).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub chase: Option<bool>,
    /// Rights: the work's title ("" clears).
    #[arg(long)]
    pub title: Option<String>,
    /// Rights: the performer.
    #[arg(long)]
    pub artist: Option<String>,
    /// Rights: the composer(s).
    #[arg(long)]
    pub composer: Option<String>,
    /// Rights: the publisher(s).
    #[arg(long)]
    pub publisher: Option<String>,
    /// Rights: the recording's ISRC.
    #[arg(long)]
    pub isrc: Option<String>,
    /// Rights: the work's ISWC.
    #[arg(long)]
    pub iswc: Option<String>,
    /// Rights: the performing-rights organisation (PRS, ASCAP, GEMA, …).
    #[arg(long)]
    pub pro: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

/// `on` or `off`.
fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{s:?} is neither on nor off")),
    }
}

/// A value, or its absence typed as a word (`end` for a cue-out point,
/// `none` for a timecode trigger).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrNone<T>(pub Option<T>);

impl<T: std::str::FromStr> std::str::FromStr for OrNone<T>
where
    T::Err: std::fmt::Display,
{
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "end" | "none" => Ok(OrNone(None)),
            t => t
                .parse()
                .map(|v| OrNone(Some(v)))
                .map_err(|e: T::Err| e.to_string()),
        }
    }
}

/// `hostctl timing` arguments.
#[derive(Debug, Args)]
pub struct TimingArgs {
    /// The session folder, or BOX: for the show playing on a box (edited live).
    pub dir: Place,
    /// The sources in the order they are preferred (ltc, mtc, ptp, system).
    #[arg(long, value_delimiter = ',')]
    pub priority: Option<Vec<TimeSourceKind>>,
    /// The timecode frame rate: 24, 25, 29.97 (drop-frame) or 30.
    #[arg(long)]
    pub frame_rate: Option<FrameRate>,
    /// Every clip with a timecode trigger chases (on) or only those that say so (off).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub chase: Option<bool>,
    /// Warn when a source drifts more than this, µs.
    #[arg(long)]
    pub drift_warning_us: Option<f64>,
    /// Warn when a source jitters more than this, µs.
    #[arg(long)]
    pub jitter_warning_us: Option<f64>,
    /// The stability (0 to 1) a source needs to be used.
    #[arg(long)]
    pub min_stability: Option<f64>,
    #[command(flatten)]
    pub out: Output,
}

/// Which bus `hostctl bus` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BusName {
    /// The audition (preview) bus.
    Audition,
    /// Record input A.
    RecordA,
    /// Record input B.
    RecordB,
    /// The LTC timecode input.
    Ltc,
}

/// `hostctl bus` arguments.
#[derive(Debug, Args)]
pub struct BusArgs {
    /// The session folder, or BOX: for the show playing on a box (edited live).
    pub dir: Place,
    /// audition, record-a, record-b or ltc.
    pub bus: BusName,
    /// Level, dB (audition, record inputs).
    #[arg(long, allow_hyphen_values = true)]
    pub level: Option<f64>,
    /// Muted (audition).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub mute: Option<bool>,
    /// The logical outputs it feeds, comma-separated (audition).
    #[arg(long, value_delimiter = ',')]
    pub outputs: Option<Vec<LogicalChannel>>,
    /// On or off (record inputs, LTC).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    pub enabled: Option<bool>,
    /// The two logical inputs it records, `L,R` (record inputs).
    #[arg(long, value_delimiter = ',', num_args = 1)]
    pub inputs: Option<Vec<LogicalChannel>>,
    /// The logical input LTC arrives on (LTC), or `none`.
    #[arg(long, value_name = "N|none")]
    pub input: Option<OrNone<LogicalChannel>>,
    #[command(flatten)]
    pub out: Output,
}

/// `hostctl pages …`
#[derive(Debug, Subcommand)]
pub enum PageCmd {
    /// Add a page (eight tabs of the default grid), last or before another.
    ///
    /// Example: `hostctl pages add show --name "Act 2"`
    Add {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// Its name.
        #[arg(long, default_value = "")]
        name: String,
        /// Insert it before this page (default: after the last).
        #[arg(long)]
        before: Option<u16>,
        #[command(flatten)]
        out: Output,
    },
    /// Remove a page with its buttons and their clips (their media stays).
    ///
    /// Example: `hostctl pages remove show 3`
    Remove {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The page.
        page: u16,
        #[command(flatten)]
        out: Output,
    },
    /// Rename a page.
    Rename {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The page.
        page: u16,
        /// Its new name.
        name: String,
        #[command(flatten)]
        out: Output,
    },
    /// Move a page to another position (the pages between shift).
    ///
    /// Example: `hostctl pages move show 3 --to 1`
    Move {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The page.
        page: u16,
        /// Its new position.
        #[arg(long)]
        to: u16,
        #[command(flatten)]
        out: Output,
    },
    /// Show one page, or two side by side (the focused one takes keys and
    /// controllers).
    ///
    /// Example: `hostctl pages view show 1 2 --focus right`
    View {
        /// The session folder, or BOX: for the show playing on a box (edited live).
        dir: Place,
        /// The page, or the left page.
        page: u16,
        /// The right page (a dual view).
        right: Option<u16>,
        /// Which side has focus in a dual view.
        #[arg(long, default_value = "left", value_parser = ["left", "right"])]
        focus: String,
        #[command(flatten)]
        out: Output,
    },
}

fn group_mode(s: &str) -> Result<GroupMode, String> {
    use cuebox_engine::show::Extra;
    match s.split_once(':') {
        None if s == "free" => Ok(GroupMode::Free {
            extra: Extra::new(),
        }),
        Some(("choke", n)) => n
            .parse()
            .map(|max_voices| GroupMode::Choke {
                max_voices,
                extra: Extra::new(),
            })
            .map_err(|_| format!("{s:?}: choke:N with N a number of voices, 1 to 3")),
        _ => Err(format!("{s:?} is not a group mode: choke:N or free")),
    }
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

/// `hostctl device-map …`
#[derive(Debug, Subcommand)]
pub enum DeviceMapCmd {
    /// Print a box's device map (none: logical channel n on physical n).
    Show(OnBox),
    /// Replace a box's device map. Checked first (no logical channel twice,
    /// no two outputs on one physical channel), saved atomically on the
    /// box, and the session it plays starts again with it; refused while a
    /// clip plays (reopening the device would cut it).
    ///
    /// Example: `hostctl device-map set stage --pcm hw:1,0 --output 1=3 --output 2=4`
    Set {
        /// The box, by name or address.
        #[arg(value_name = "BOX")]
        box_name: String,
        /// The ALSA PCM the outputs play through (`hw:1,0`, a card's name …).
        #[arg(long, value_name = "PCM")]
        pcm: String,
        /// The ALSA PCM the inputs capture from.
        #[arg(long, value_name = "PCM")]
        capture_pcm: Option<String>,
        /// Logical output L on physical channel P (repeat it).
        #[arg(long = "output", value_name = "L=P", value_parser = route)]
        outputs: Vec<(u16, u16)>,
        /// Logical input L from physical channel P (repeat it).
        #[arg(long = "input", value_name = "L=P", value_parser = route)]
        inputs: Vec<(u16, u16)>,
        /// Logical 1..N on physical 1..N first (then --output changes some).
        #[arg(long, value_name = "N")]
        identity: Option<u16>,
        #[command(flatten)]
        out: Output,
    },
}

/// `L=P`: a logical channel on a physical one, both from 1.
fn route(s: &str) -> Result<(u16, u16), String> {
    let (l, p) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: LOGICAL=PHYSICAL, like 1=3"))?;
    let n = |v: &str| {
        v.trim()
            .parse::<u16>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("{v:?} in {s:?} is not a channel number from 1"))
    };
    Ok((n(l)?, n(p)?))
}

/// `hostctl show …`
#[derive(Debug, Subcommand)]
pub enum ShowCmd {
    /// Set a session's show information and reporting preferences. Only
    /// what is given changes; everything is checked (the session's own
    /// validation included) before anything is written, and a refusal
    /// changes nothing. The manifest is saved atomically, the previous one
    /// kept as an undo step (`hostctl undo`).
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
    /// The session folder, or BOX: for the show playing on a box (edited live).
    pub dir: Place,
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
    #[arg(long)]
    pub depth: Option<ReportDepth>,
    /// Export formats, comma-separated: csv, json, xml.
    #[arg(long, value_delimiter = ',')]
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

/// Where an edit goes: a session folder, or the show playing on a box
/// (`BOX:`, its name or address and a colon; `BOX:CLIP` names a clip too,
/// for `clip set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A session folder on this host.
    Folder(PathBuf),
    /// The session playing on a box.
    Box {
        /// The box, by name or address.
        name: String,
        /// A clip named after the colon.
        clip: Option<String>,
    },
}

impl std::str::FromStr for Place {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // A folder that exists is a folder, colon or not.
        if std::path::Path::new(s).exists() {
            return Ok(Place::Folder(s.into()));
        }
        match s.rsplit_once(':') {
            Some((name, _)) if name.is_empty() || name.contains('/') => Ok(Place::Folder(s.into())),
            Some((name, clip)) => Ok(Place::Box {
                name: name.to_owned(),
                clip: (!clip.is_empty()).then(|| clip.to_owned()),
            }),
            None => Ok(Place::Folder(s.into())),
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Folder(dir) => write!(f, "{}", dir.display()),
            Place::Box { name, .. } => write!(f, "{name}:"),
        }
    }
}

impl serde::Serialize for Place {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Place {
    /// The folder, for what only a folder can do (`what` names it).
    pub fn folder(&self, what: &str) -> anyhow::Result<&std::path::Path> {
        match self {
            Place::Folder(dir) => Ok(dir),
            Place::Box { name, .. } => anyhow::bail!(
                "{what} works on a session folder, not on {name}: (a box's playing show): do it in the folder and push it (hostctl push)"
            ),
        }
    }
}
