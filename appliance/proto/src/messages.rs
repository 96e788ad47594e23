//! The API's messages and their framing. Each frame is a 4-byte big-endian
//! length and a postcard-encoded [`Request`] or [`Response`], inside TLS.
//! Frames are bounded ([`MAX_FRAME`]), so a peer can never make the other
//! side buffer more than that.

use std::io::{self, Read, Write};

use cuebox_engine::control::{At, Command};
use cuebox_engine::dsp::meter::Dbfs;
use cuebox_engine::show::{ContentHash, ExportFormat, ReportDepth, MAX_MANIFEST_BYTES};
use cuebox_session::package::{ImportReport, Policy};
use cuebox_session::playlog::{Changes, Span};
use cuebox_session::techlog;
use serde::{Deserialize, Serialize};

use crate::keys::{Fingerprint, PublicKey, Role};

/// The TCP port the box's API listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 53_100;

/// The protocol version a host and a box must share.
pub const VERSION: u32 = 7;

/// The largest media chunk a [`Request::Blob`] or [`Response::Data`] carries.
pub const CHUNK: usize = 256 * 1024;

/// The largest frame either side accepts: a [`Request::Stage`] of the
/// largest manifest the engine loads ([`MAX_MANIFEST_BYTES`]) with its media
/// sizes, or the [`Response::Manifest`] of a pull of one with its media
/// list. Each list is shorter than the manifest naming the same files (a
/// clip's JSON holds at least its path and its 71-character hash), so twice
/// the manifest limit and room for the envelope hold either.
pub const MAX_FRAME: usize = 2 * MAX_MANIFEST_BYTES + ENVELOPE;

/// Room in a frame for a message's own fields (names, sizes, lengths).
const ENVELOPE: usize = 64 << 10;

/// A frame buffer grown past this for a large frame is let go after it:
/// a connection holds a manifest's worth of memory only while it sends one.
const KEPT_BUFFER: usize = 1 << 20;

/// The largest frame the box takes from a connection before its key is
/// known to be authorized: room for a hello or any request without a
/// chunk, so a stranger can make it reserve no more than this.
pub const PENDING_FRAME: usize = 4 << 10;

/// What a host asks the box. Media chunks borrow the frame they arrive in
/// (and the buffer they are sent from): a chunk is never copied to decode it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request<'a> {
    /// The first request: who is the box, and what may I do.
    Hello {
        /// The host's [`VERSION`].
        version: u32,
    },
    /// What the box is doing now.
    Status,
    /// The sessions on the box.
    Sessions,
    /// A show command, typed, for now or for a show time.
    Command {
        /// When (show time); `None`: at once.
        at: Option<At>,
        /// What.
        command: Command,
    },
    /// A bare GO: the cue at the playhead, which then moves past it.
    GoNext {
        /// A fade-in time instead of the clip's own, in seconds.
        time: Option<f64>,
    },
    /// Makes `page` the one the grid controllers (MIDI, OSC) play.
    Page {
        /// Page number, from 1.
        page: u16,
    },
    /// Locks (refusing every edit until unlocked) or unlocks the show.
    Lock {
        /// Locked or not.
        locked: bool,
    },
    /// Stages a session: the box answers which media it still needs, or
    /// refuses when they would not fit on its disk.
    Stage {
        /// The session's name on the box.
        session: String,
        /// Its manifest, as on the host.
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
        /// The size of every distinct media file the manifest names: the
        /// box checks them against its free space before any byte is
        /// sent, and takes no more than this of each file.
        media: Vec<MediaSize>,
    },
    /// A piece of a media file the box needs, at `offset` into it.
    Blob {
        /// The file's content hash.
        hash: ContentHash,
        /// Where the bytes go in the file.
        offset: u64,
        /// The bytes (at most [`CHUNK`]).
        // As one byte string: postcard would otherwise visit every byte.
        #[serde(with = "serde_bytes", borrow)]
        data: &'a [u8],
    },
    /// Every byte of `hash` was sent: verify and store it.
    BlobEnd {
        /// The file's content hash.
        hash: ContentHash,
    },
    /// Makes the staged session the box's active one, atomically.
    Activate {
        /// The session's name.
        session: String,
        /// The hash of the manifest staged (so the activation is of what
        /// was staged, not of something staged since).
        manifest: ContentHash,
    },
    /// A session's manifest and media list.
    Pull {
        /// The session's name.
        session: String,
    },
    /// A piece of a stored media file.
    Fetch {
        /// The file's content hash.
        hash: ContentHash,
        /// Where to start.
        offset: u64,
        /// How many bytes (at most [`CHUNK`]).
        len: u32,
    },
    // New variants go last, so the others keep their index.
    /// Removes a session from the box (not the active one) and frees the
    /// media no other session uses.
    Remove {
        /// The session's name.
        session: String,
    },
    /// Entries of the play log, as written (each line checksummed and
    /// chained, for the host to check): those after entry `after`, at most
    /// `max`.
    Journal {
        /// The last entry the host has (0: from the start).
        after: u64,
        /// At most this many (the box may send fewer: see [`JOURNAL_PAGE`]).
        max: u32,
    },
    /// A session's cue sheet over a period, in a format; the box keeps it
    /// in its Exports/ and records the export in its audit trail.
    CueSheet {
        /// The session; the active one when `None`.
        session: Option<String>,
        /// Which plays.
        span: Span,
        /// The format.
        format: ExportFormat,
        /// Summary or detailed; the show's reporting preference when `None`.
        depth: Option<ReportDepth>,
    },
    /// Annotates a work of a session for its cue sheets.
    Annotate {
        /// The session; the active one when `None`.
        session: Option<String>,
        /// A clip id of the session (its audio) or a content hash.
        work: String,
        /// What changes.
        changes: Changes,
    },
    /// A technical log (application, errors, playback, metrics) over a
    /// period, in a format; kept in Exports/ and recorded like a cue sheet.
    TechLog {
        /// Which log.
        kind: techlog::Kind,
        /// Which period.
        span: Span,
        /// The format.
        format: ExportFormat,
    },
    /// The show as the box plays it now, and its edit generation.
    LiveShow,
    /// An edit of the playing show (authoring verbs sent to a box): the
    /// box applies it at once where it can (levels and pans glide), saves
    /// it, and answers what it did.
    Revise {
        /// The session it was made for (the playing one).
        session: String,
        /// The generation of the show it was made from ([`Response::LiveShow`]).
        generation: u64,
        /// The edit, as a JSON Patch (RFC 6902) of the manifest.
        #[serde(with = "serde_bytes")]
        patch: Vec<u8>,
        /// What the edit was, for the session's history (`clip set c3 --level -6`).
        what: String,
    },
    /// This box's device map (how its interface's channels carry the
    /// show's logical ones).
    DeviceMap,
    /// Replaces this box's device map (JSON, as `device-map.json`): saved
    /// atomically, and the playing session starts again with it (refused
    /// while anything plays: reopening the device would cut it).
    SetDeviceMap {
        /// The map.
        #[serde(with = "serde_bytes")]
        map: Vec<u8>,
    },
    /// Packs a session of the box (a page, a tab, clips, settings or all
    /// of it) as a package the box keeps in its Exports/<date>/; the host
    /// then downloads it with [`Request::Fetch`] of its hash.
    PackageExport {
        /// The session; the active one when `None`.
        session: Option<String>,
        /// `full`, `metadata`, `tab`, `page` or `clips`.
        mode: String,
        /// What of it: `1.3` for a tab, `2` for a page, `c3,c7` for clips.
        what: Option<String>,
        /// With the media files (not for `metadata`).
        with_media: bool,
    },
    /// The host will upload a package of `size` bytes hashing to `hash`
    /// (then [`Request::Blob`]s and a [`Request::BlobEnd`] of that hash).
    PackageOffer {
        /// The package file's content hash.
        hash: ContentHash,
        /// Its size in bytes.
        size: u64,
    },
    /// Imports the package uploaded on this connection into a session of
    /// the box: a full package becomes (or replaces) the session and is
    /// activated as a push is; any other merges into it, into the playing
    /// show where it plays.
    PackageImport {
        /// The session; the active one when `None` (a full package needs a name).
        session: Option<String>,
        /// The uploaded package's hash.
        package: ContentHash,
        /// How conflicts are settled.
        policy: Policy,
        /// Where a page goes (`P`), or a tab or clip list (`P.T`).
        to: Option<String>,
        /// Report only; change nothing.
        dry_run: bool,
    },
    /// From the main of a pair to its backup (docs/pair.md): a heartbeat,
    /// or a command the main accepted, to apply at a show sample of the
    /// backup's. Only the box the backup names as its peer may send it.
    Pair(PairMessage),
    /// [`Request::Activate`] at an instant: the box activates the staged
    /// session when its clock (CLOCK_REALTIME) reads `at_realtime_ns`, and
    /// a push of the playing session takes effect at the show sample its
    /// card plays then. Several boxes (a main/backup pair) told the same
    /// instant switch together (`hostctl push --together`).
    ActivateAt {
        /// The session's name.
        session: String,
        /// The hash of the manifest staged.
        manifest: ContentHash,
        /// When, in nanoseconds since the Unix epoch.
        at_realtime_ns: u64,
    },
    /// From a unit of a pair to the pair's arbitrating witness (any box;
    /// docs/pair.md, "Split brain"): the unit asks for the main's role
    /// (`want`), renewing it while it holds it, or gives it up. The
    /// witness grants it to one unit of the pair at a time: the pair is
    /// this connection's key and `peer`.
    Lease {
        /// The other unit's key.
        peer: Fingerprint,
        /// Whether the asking unit wants the role (is main, or would be).
        want: bool,
    },
}

/// What the main of a pair tells its backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PairMessage {
    /// The main is alive; the backup answers [`Response::PairBeat`] with its
    /// show sample, from which the main measures the offset between them.
    Beat {
        /// The main's view of the link, for the backup's status.
        link: PairLink,
        /// Every second: the main's playing state at a named show sample
        /// of its own, for the backup to compare with its own at the same
        /// instant (and repair from).
        state: Option<PairState>,
        /// While the main runs PTP on a timescale: where its show clock is
        /// on it, so the backup finds the instant of `state` through PTP
        /// rather than the offset.
        timescale: Option<PtpAnchor>,
    },
    /// A command the main accepted: the backup applies it at `at_sample`
    /// of its own show clock and answers [`Response::Accepted`].
    Apply {
        /// The backup's show sample (the main's, moved by the offset): where
        /// it plays when the PTP instant cannot be used.
        at_sample: u64,
        /// The instant on the PTP timescale the main plays it at, while the
        /// main runs PTP on a timescale.
        at_ptp: Option<PtpInstant>,
        /// The command.
        command: Command,
        /// Whether it was a press for now on the main (it moves the
        /// playhead and keeps a group level there, so it does here too).
        press: bool,
        /// Where the main got it from (`api 10.0.0.5:4411 SHA256:…`).
        origin: String,
    },
    /// A live edit the main took (and saved): the backup applies the same
    /// JSON Patch to its playing show, its glides from the same instant
    /// (as [`PairMessage::Apply`] places a command), saves it, and answers
    /// [`Response::Revised`].
    Revise {
        /// The backup's show sample the edit's glides start at, when the PTP
        /// instant cannot be used.
        at_sample: u64,
        /// The instant on the PTP timescale its glides start at on the main.
        at_ptp: Option<PtpInstant>,
        /// The session it was made for (the playing one).
        session: String,
        /// The edit, as a JSON Patch (RFC 6902) of the manifest.
        #[serde(with = "serde_bytes")]
        patch: Vec<u8>,
        /// What the edit was, for the session's history.
        what: String,
    },
    /// The main's operator turned to a page.
    Page {
        /// The page.
        page: u16,
    },
    /// The main's show was locked or unlocked.
    Lock {
        /// Locked.
        locked: bool,
    },
}

/// The main's playing state at one of its show samples, as the pair
/// compares it (docs/pair.md, "State digests").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairState {
    /// The main's show sample the state is of.
    pub at: u64,
    /// The voices playing or paused then.
    pub voices: Vec<PairVoice>,
    /// The groups' live levels (letter, dB), as set live.
    pub group_levels: Vec<(String, f64)>,
    /// The show is locked.
    pub locked: bool,
    /// Where the operator is: page, tab and playhead (JSON, as the
    /// session's live state writes it).
    pub deck: String,
    /// The content hash of the playing show's manifest (JSON), hex.
    pub show: String,
    /// A content hash of all of the above but its samples (`at`, and the
    /// voices' starts and positions, which are compared within the stated
    /// error instead), hex: the digest status shows.
    pub digest: String,
}

/// An instant on a PTP timescale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PtpInstant {
    /// The grandmaster whose timescale it is (its clock identity, hex): a
    /// unit on another timescale cannot use it.
    pub grandmaster: String,
    /// PTP time, ns.
    pub ns: u64,
}

/// Where a unit's show clock is on a PTP timescale: its show sample
/// `sample` plays at `at`, and each sample lasts `ns_per_sample` there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PtpAnchor {
    /// The show sample.
    pub sample: u64,
    /// When it plays.
    pub at: PtpInstant,
    /// PTP nanoseconds per sample of the unit's card.
    pub ns_per_sample: f64,
}

/// A voice as the pair compares it: its clip and when it started, in the
/// sending unit's show samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairVoice {
    /// The clip.
    pub clip: String,
    /// The show sample it started at.
    pub started: u64,
    /// Samples it has spent paused.
    pub held: u64,
    /// Whether it is paused now.
    pub paused: bool,
    /// Frames of its audio played by the state's instant.
    pub position: u64,
    /// The level a fade-to set it to, dB (none: the clip's own).
    pub level_db: Option<f64>,
    /// It is fading out.
    pub fading: bool,
}

/// The link between the two units of a pair, as the main measures it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PairLink {
    /// The backup's show clock minus the main's, in samples (fractional);
    /// `None` until measured.
    pub offset_samples: Option<f64>,
    /// Half the round trip of the exchange the offset came from: the bound
    /// on its error from an asymmetric link, µs.
    pub offset_error_us: Option<f64>,
    /// The worst round trip of the recent heartbeats, µs: the link margin
    /// in the pre-roll.
    pub worst_rtt_us: Option<f64>,
}

/// The largest report a [`Response::Report`] carries: the frame less room
/// for its other fields. A larger one is refused: ask for a shorter period.
pub const MAX_REPORT: usize = MAX_FRAME - ENVELOPE;

/// The most play-log entries one [`Request::Journal`] answer carries (an
/// entry is well under a kilobyte: a page stays far below [`MAX_FRAME`]).
pub const JOURNAL_PAGE: u32 = 20_000;

impl Request<'_> {
    /// The role a request needs; `None` for what anyone may ask.
    pub fn needs(&self) -> Option<Role> {
        match self {
            Request::Hello { .. } => None,
            Request::Status
            | Request::Sessions
            | Request::Pull { .. }
            | Request::Fetch { .. }
            | Request::Journal { .. }
            | Request::LiveShow
            | Request::DeviceMap => Some(Role::View),
            // A report is kept on the box's disk: not for anyone who may only watch.
            Request::Command { .. }
            | Request::GoNext { .. }
            | Request::Page { .. }
            | Request::CueSheet { .. }
            | Request::TechLog { .. }
            | Request::PackageExport { .. } => Some(Role::Control),
            // A peer's: the backup also checks it is from its main.
            | Request::Pair(_)
            // A unit's of a pair this box is the witness of.
            | Request::Lease { .. } => Some(Role::Control),
            // Locking is the operator's; unlocking changes what may be edited.
            Request::Lock { locked: true } => Some(Role::Control),
            Request::Lock { locked: false }
            | Request::Stage { .. }
            | Request::Blob { .. }
            | Request::BlobEnd { .. }
            | Request::Activate { .. }
            | Request::ActivateAt { .. }
            | Request::Remove { .. }
            | Request::Revise { .. }
            | Request::SetDeviceMap { .. }
            | Request::PackageOffer { .. }
            | Request::PackageImport { .. }
            // Annotations change what is reported, not the show: allowed while locked.
            | Request::Annotate { .. } => Some(Role::Edit),
        }
    }

    /// Whether the request would change the show (refused while locked).
    pub fn edits(&self) -> bool {
        matches!(
            self,
            Request::Stage { .. }
                | Request::Blob { .. }
                | Request::BlobEnd { .. }
                | Request::Activate { .. }
                | Request::ActivateAt { .. }
                | Request::Remove { .. }
                | Request::Revise { .. }
                | Request::SetDeviceMap { .. }
                // An upload changes nothing (its chunks neither, see the box's
                // service); a dry run may look while the show is locked.
                | Request::PackageImport { dry_run: false, .. }
        )
    }

    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Status => "status",
            Request::Sessions => "sessions",
            Request::Command { .. } => "command",
            Request::GoNext { .. } => "go_next",
            Request::Page { .. } => "page",
            Request::Lock { .. } => "lock",
            Request::Stage { .. } => "stage",
            Request::Blob { .. } => "blob",
            Request::BlobEnd { .. } => "blob_end",
            Request::Activate { .. } => "activate",
            Request::Pull { .. } => "pull",
            Request::Fetch { .. } => "fetch",
            Request::Remove { .. } => "remove",
            Request::Journal { .. } => "journal",
            Request::CueSheet { .. } => "cuesheet",
            Request::Annotate { .. } => "annotate",
            Request::TechLog { .. } => "techlog",
            Request::LiveShow => "live_show",
            Request::Revise { .. } => "revise",
            Request::DeviceMap => "device_map",
            Request::SetDeviceMap { .. } => "set_device_map",
            Request::PackageExport { .. } => "package_export",
            Request::PackageOffer { .. } => "package_offer",
            Request::PackageImport { .. } => "package_import",
            Request::Pair(_) => "pair",
            Request::ActivateAt { .. } => "activate_at",
            Request::Lease { .. } => "lease",
        }
    }
}

/// What the box answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The answer to [`Request::Hello`].
    Welcome {
        /// The box's name.
        name: String,
        /// The box's software version.
        software: String,
        /// What this host may do; `None` for a host the box does not know.
        role: Option<Role>,
        /// The host's key as the box saw it (to authorize it on the box).
        key: PublicKey,
    },
    /// The box's status.
    Status(Box<Status>),
    /// The sessions on the box.
    Sessions(Vec<SessionInfo>),
    /// A command was accepted for this show sample.
    Accepted {
        /// The show sample it is applied at.
        at_sample: u64,
        /// How far ahead of the render thread's position that sample was
        /// when the box took the command.
        lead_samples: u64,
    },
    /// Done, nothing more to say.
    Done,
    /// The media a staged session still needs.
    Needs(Vec<Need>),
    /// So much of a blob has arrived.
    Ack {
        /// Bytes of the file received so far.
        received: u64,
    },
    /// A blob arrived whole and matches its hash.
    Stored,
    /// The session is active.
    Activated(Activated),
    /// A session's manifest and media.
    Manifest {
        /// The manifest bytes.
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
        /// Every media file it uses.
        media: Vec<MediaEntry>,
    },
    /// Bytes of a stored file.
    Data(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Refused, with why; nothing changed.
    Refused(Refusal),
    // New variants go last: a host of another version must still read a
    // refusal (the hello's answer) at its index.
    /// A bare GO started the playhead's cue.
    Went {
        /// The clip it started.
        clip: String,
        /// Its cue number (`PAGE.TAB.BUTTON`), when it has a button.
        cue: Option<String>,
        /// The show sample it is applied at.
        at_sample: u64,
    },
    /// A session was removed.
    Removed {
        /// The session.
        session: String,
        /// Bytes free on the box's disk afterwards.
        free: u64,
    },
    /// Play-log entries, as written.
    Journal {
        /// The lines (`<json>\t<hash>\n` each), oldest first.
        #[serde(with = "serde_bytes")]
        lines: Vec<u8>,
        /// The number of the entry before the first line (the request's `after`).
        after: u64,
        /// The hash the first line links to (the entry `after`'s; zeros at the start).
        prev: String,
        /// The journal's last entry: more follow when it is past the last line.
        last: u64,
        /// What `cueboxd log verify` would report, when the log is damaged.
        problems: Vec<String>,
    },
    /// A report the box made and kept.
    Report {
        /// Where the box keeps it, under its data root (`Exports/<date>/…`).
        file: String,
        /// Its audit-trail entry.
        entry: u64,
        /// The report.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        /// What it says of itself for people: plays, works, readiness.
        summary: String,
        /// Whether the play log it came from was whole.
        sound: bool,
    },
    /// The show as the box plays it.
    LiveShow {
        /// The playing session.
        session: String,
        /// The show's edit generation: a [`Request::Revise`] names it.
        generation: u64,
        /// The show's manifest (JSON).
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
    },
    /// An edit the playing show took.
    Revised(Revised),
    /// This box's device map (JSON), or none: logical channel n plays on
    /// physical channel n of the chosen card.
    DeviceMap {
        /// The map, as `device-map.json`.
        #[serde(with = "serde_bytes")]
        map: Option<Vec<u8>>,
        /// Whether a session plays with it now (a new one started again).
        playing: bool,
    },
    /// An annotation was recorded.
    Annotated {
        /// The work.
        work: ContentHash,
        /// Its audit-trail entry.
        entry: u64,
    },
    /// A package the box made and kept; fetch it by its hash.
    Exported {
        /// Where the box keeps it, under its data root (`Exports/<date>/…`).
        file: String,
        /// Its size in bytes.
        bytes: u64,
        /// Its content hash.
        hash: ContentHash,
        /// Its manifest (JSON).
        #[serde(with = "serde_bytes")]
        manifest: Vec<u8>,
    },
    /// What a package import did (or would do, in a dry run).
    Imported(Box<Imported>),
    /// The backup's answer to a pair heartbeat.
    PairBeat {
        /// The show sample its card played when it answered (fractional);
        /// `None` while it plays no session.
        show_sample: Option<f64>,
        /// Whether it is on the timescale of the beat's anchor: it places
        /// the main's PTP instants.
        on_timescale: bool,
    },
    /// The witness's answer to [`Request::Lease`].
    Lease {
        /// Whether the asking unit holds the role now, for `for_ms` from
        /// when the witness answered unless it renews.
        granted: bool,
        /// The unit that holds it, when not the asking one.
        holder: Option<Fingerprint>,
        /// How long the holder's grant lasts from now, ms.
        for_ms: u64,
    },
}

/// What a package import on the box did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    /// The session it went into.
    pub session: String,
    /// The package's mode (`full`, `tab`, …).
    pub mode: String,
    /// Nothing was changed.
    pub dry_run: bool,
    /// What was (or would be) added, replaced and in conflict.
    pub report: ImportReport,
    /// How a device map was translated for this box: each line a channel
    /// moved, folded or missing (empty when the maps agree or none came).
    pub device_map: Vec<String>,
    /// A full package's activation.
    pub activated: Option<Activated>,
    /// A merge into the playing show: what it did there.
    pub revised: Option<Revised>,
}

/// A media file a host declares when it stages a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaSize {
    /// Its content hash.
    pub hash: ContentHash,
    /// Its size, bytes.
    pub size: u64,
}

/// A media file a staged session lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    /// Its content hash.
    pub hash: ContentHash,
    /// How much of it the box already holds from an interrupted transfer.
    pub have: u64,
}

/// A media file of a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaEntry {
    /// Its path in the session's media folder.
    pub path: String,
    /// Its content hash.
    pub hash: ContentHash,
    /// Its size, bytes.
    pub size: u64,
}

/// A session on the box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Its name.
    pub name: String,
    /// The hash of its manifest.
    pub manifest: ContentHash,
    /// Whether it is the one the box plays.
    pub active: bool,
}

/// What an activation did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activated {
    /// The session.
    pub session: String,
    /// Its clips.
    pub clips: u32,
    /// Its media, bytes.
    pub media_bytes: u64,
    /// Whether the box now plays it (false: stored, played at the next run).
    pub playing: bool,
    /// Why the box cannot play it, when it cannot (no card, a device that
    /// refuses, a session that does not load); it retries by itself.
    pub problem: Option<String>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    /// The kind, for scripts.
    pub kind: RefusalKind,
    /// What was wrong and what to do, for people.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind` that says what to do in `message`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kinds of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    /// The host's key is not authorized on the box.
    Unauthorized,
    /// The host's role does not allow the request.
    Forbidden,
    /// The host sends faster than the box serves.
    RateLimited,
    /// The request is malformed or out of order.
    BadRequest,
    /// The show is locked.
    Locked,
    /// What the request names is not on the box.
    NotFound,
    /// The session's manifest is unusable.
    Invalid,
    /// Media the session needs is missing or corrupt.
    Media,
    /// A second GO came sooner than the session allows.
    TooSoon,
    /// The box is busy with something that must finish first (clips playing).
    Busy,
    /// The box could not do it (disk, device).
    Failed,
    /// The box's disk has no room for what a push needs; nothing was
    /// written.
    NoSpace,
    /// An edit was made from a show the box has revised since: read it
    /// again (the refusal says what the edit's fields are now).
    Stale,
}

/// What the box did with an edit of the playing show.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Revised {
    /// The show's edit generation now.
    pub generation: u64,
    /// The show sample its level, pan and bus changes ramp from.
    pub at_sample: u64,
    /// Changes ramped on what plays.
    pub glides: u32,
    /// What playing clips take at their next start (`c3: its fade in`).
    pub deferred: Vec<String>,
    /// It changed what the session sets up at its start: the box started
    /// the session again (nothing played).
    pub restarted: bool,
}

/// The box's status, as `hostctl status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The box's name.
    pub name: String,
    /// The active session, if any.
    pub session: Option<String>,
    /// Whether the show is locked.
    pub locked: bool,
    /// The page the grid controllers play.
    pub page: u16,
    /// Show time now, seconds.
    pub show_seconds: f64,
    /// The engine rate, Hz (0 with no session playing).
    pub rate: u32,
    /// What plays.
    pub playing: Vec<Playing>,
    /// Clips accepted to start at a later show sample that have not
    /// started yet (a GO for a show time, a pair's pre-roll, a timecode cue
    /// within the horizon), earliest first.
    pub queued: Vec<Queued>,
    /// Every bus's meter: A–D, main, audition (none while no session plays).
    pub meters: Vec<Meter>,
    /// Playback device: xruns so far.
    pub xruns: u64,
    /// Playback device: processing time per period p99 as a share of the period.
    pub dsp_load: f64,
    /// The clock source in use (`free`, `ltc`, `mtc:…`, `ptp`, `system`).
    pub clock_source: Option<String>,
    /// Every source's health, one line each.
    pub clock_health: Vec<String>,
    /// The device and clock figures in full, as JSON text.
    pub detail: String,
    /// The playback device, as chosen and opened (none while nothing plays).
    pub device: Option<Device>,
    /// Why the box plays nothing, when it should: the session and device
    /// it tried and the error (it retries every few seconds).
    pub problem: Option<String>,
    /// The box's pair, when it is in one (docs/pair.md).
    pub pair: Option<PairStatus>,
    /// Clips of the playing session that cannot play, each with why (a
    /// missing or changed file: `hostctl media find` looks for it); the
    /// rest play.
    pub unplayable: Vec<String>,
}

/// A unit's view of its pair, as status shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairStatus {
    /// `main` or `backup`.
    pub role: String,
    /// The other unit's address (the backup's; the main's as it connects).
    pub peer: String,
    /// Whether the link is up: the main reached the backup, or the backup
    /// heard the main, within the last second.
    pub healthy: bool,
    /// Milliseconds since the other unit was last heard; `None`: never.
    pub last_heard_ms: Option<u64>,
    /// The link as the main measures it (the backup shows the main's).
    pub link: PairLink,
    /// Commands sent to the backup and not answered yet (main).
    pub in_flight: u64,
    /// Commands forwarded and applied by the backup in time (main), or
    /// applied from the main (backup).
    pub applied: u64,
    /// Commands the backup applied late, past their sample (it reports them
    /// late and applies them at once).
    pub late: u64,
    /// Commands that did not reach the backup (link down, queue full, or
    /// refused there).
    pub lost: u64,
    /// Whether the backup takes commands from its own inputs though the
    /// main is alive (`--pair-override`).
    pub overridden: bool,
    /// Commands the main itself applied past their sample (its control
    /// thread took them after the pre-roll ran out): the backup, on time,
    /// plays them earlier than the main.
    pub main_late: u64,
    /// (backup) Times the playing state here differed from the main's at
    /// the same instant (a new divergence each).
    pub divergences: u64,
    /// (backup) How they differ now, when they do.
    pub diverged: Option<String>,
    /// The digest of the main's last compared state (hex, short).
    pub digest: Option<String>,
    /// (backup) Milliseconds since a comparison last found both units the
    /// same; `None`: never.
    pub matched_ms: Option<u64>,
    /// (backup) Times the backup adopted the main's state to repair a
    /// divergence.
    pub repairs: u64,
    /// (main) Live edits, page turns and locks sent to the backup and
    /// taken there.
    pub forwarded: u64,
    /// How commands are placed on the backup's show clock now: `ptp` (the
    /// main's PTP instant, mapped through the backup's own PTP time and
    /// card) or `heartbeat` (the main's sample moved by the offset).
    pub instants: String,
    /// Who is main now, and who holds the control address.
    pub takeover: PairTakeover,
}

/// A unit's part as it changes (docs/pair.md, "Takeover").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairTakeover {
    /// The role it was configured with (`--pair`); `role` is the current one.
    pub configured: String,
    /// The control address (the VRRP address, `--pair-vip`), if any.
    pub address: Option<String>,
    /// Whether this unit holds the control address now (keepalived is
    /// MASTER here); `None` without one.
    pub holds_address: Option<bool>,
    /// The witness (`--pair-witness`), if any.
    pub witness: Option<String>,
    /// Whether the witness answered within the last second.
    pub witness_reached: Option<bool>,
    /// With an arbitrating witness (`--pair-witness-fingerprint`): the
    /// role's lease as its last answer gave it: `held` (by this unit),
    /// `peer` (the other unit holds it), `free`, or `refused: …` (what the
    /// witness said); `None` with a witness that only answers, or none.
    pub lease: Option<String>,
    /// (backup) Whether it has resynchronised with the current main since
    /// it became backup: heard it and a comparison matched. Only then may it
    /// be promoted on the main's silence.
    pub synced: bool,
    /// Times this unit became main (its start as main counts).
    pub promotions: u64,
    /// Why the role is what it is: the last change's reason.
    pub why: String,
}

/// The playback device a session plays on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// The ALSA PCM (`hw:CARD=Intel,DEV=0`).
    pub pcm: String,
    /// The card's name, when the box chose the card.
    pub card: Option<String>,
    /// Channels open.
    pub channels: u16,
    /// Sample format (`S32_LE`).
    pub format: String,
    /// Frames per second.
    pub rate: u32,
    /// Frames per period.
    pub period: u32,
    /// Periods in the buffer.
    pub periods: u32,
    /// Each compromise: settings the device changed, groups that share
    /// outputs, an audition bus without outputs.
    pub warnings: Vec<String>,
}

/// A playing clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Playing {
    /// The clip's id.
    pub clip: String,
    /// Its name.
    pub name: String,
    /// Its group (A–D, or audition).
    pub group: String,
    /// Seconds of its audio played (pauses excluded).
    pub position: f64,
    /// Paused: silent, holding its place until resumed.
    pub paused: bool,
}

/// A clip accepted to start at a later show sample, not started yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    /// The clip's id.
    pub clip: String,
    /// Its name.
    pub name: String,
    /// Its group (A–D, or audition).
    pub group: String,
    /// The show sample it starts at.
    pub at_sample: u64,
    /// Seconds until then (0 when it is due).
    pub due_in: f64,
}

/// A bus's meter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meter {
    /// The bus: `A`–`D` (each group after its level, mute and balance),
    /// `main` (A–D summed) or `audition`.
    pub bus: String,
    /// Its channels, left then right.
    pub channels: Vec<MeterChannel>,
}

/// One channel of a bus meter, in dBFS; silence reads −144 (the floor).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeterChannel {
    /// The peak bar: rises at once to every sample peak, falls 20 dB/s.
    pub peak_dbfs: Dbfs,
    /// The peak hold: the highest peak, held 1.5 s.
    pub hold_dbfs: Dbfs,
    /// The RMS level over 300 ms (a sine reads 3 dB under its peak).
    pub rms_dbfs: Dbfs,
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The connection failed or closed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The peer announced a frame over the limit ([`MAX_FRAME`], or
    /// [`PENDING_FRAME`] for a host not authorized).
    #[error("a frame of {len} bytes is over the {max}-byte limit{for_whom}", for_whom = if *.max < MAX_FRAME { " for a host the box has not authorized" } else { "" })]
    TooLarge {
        /// The length it announced.
        len: u32,
        /// The limit.
        max: usize,
    },
    /// The frame's bytes are not a message.
    #[error("a frame is not a valid message: {0}")]
    Malformed(#[from] postcard::Error),
}

/// Writes one message as a frame; a message over [`MAX_FRAME`], which the
/// peer would refuse, is not sent.
pub fn write_frame<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    // Encoded behind room for the length, so a media chunk is copied once.
    let mut frame = postcard::to_extend(message, vec![0; 4]).map_err(io::Error::other)?;
    let len = frame.len() - 4;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a message of {len} bytes is over the {MAX_FRAME}-byte frame limit"),
        ));
    }
    frame[..4].copy_from_slice(&(len as u32).to_be_bytes());
    out.write_all(&frame)?;
    out.flush()
}

/// Reads one frame's bytes, refusing an oversized one before reading it.
pub fn read_frame(input: &mut impl Read) -> Result<Vec<u8>, FrameError> {
    let mut body = Vec::new();
    read_frame_into(input, &mut body, MAX_FRAME)?;
    Ok(body)
}

/// [`read_frame`] into `body`, whose room is reused from frame to frame
/// (a stream of media chunks then allocates and zeroes nothing); a frame
/// over `max` bytes is refused before any room is made for it.
pub fn read_frame_into(
    input: &mut impl Read,
    body: &mut Vec<u8>,
    max: usize,
) -> Result<(), FrameError> {
    let mut len = [0; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len);
    let max = max.min(MAX_FRAME);
    if len as usize > max {
        return Err(FrameError::TooLarge { len, max });
    }
    if body.capacity() > KEPT_BUFFER && len as usize <= KEPT_BUFFER {
        *body = Vec::new();
    }
    body.resize(len as usize, 0);
    input.read_exact(body)?;
    Ok(())
}

/// Decodes a message from a frame's bytes; trailing bytes are an error.
pub fn decode<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, FrameError> {
    let (message, rest) = postcard::take_from_bytes(body)?;
    if !rest.is_empty() {
        return Err(FrameError::Malformed(
            postcard::Error::DeserializeBadEncoding,
        ));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_frames() {
        let hash = ContentHash::of_bytes(b"x");
        let requests = [
            Request::Hello { version: VERSION },
            Request::Command {
                at: None,
                command: Command::Go {
                    clip: "a".parse().unwrap(),
                    time: Some(0.5),
                },
            },
            Request::Command {
                at: Some(At::Sample(96_000)),
                command: Command::GroupLevel {
                    group: cuebox_engine::show::Group::C,
                    level_db: -6.0,
                    time: None,
                },
            },
            Request::Command {
                at: Some(At::Seconds(1.5)),
                command: Command::StopAll {},
            },
            Request::GoNext { time: None },
            Request::Blob {
                hash,
                offset: 7,
                data: &[1, 2, 3],
            },
            Request::Activate {
                session: "Show".into(),
                manifest: hash,
            },
        ];
        let mut wire = Vec::new();
        for r in &requests {
            write_frame(&mut wire, r).unwrap();
        }
        let mut input = &wire[..];
        for r in &requests {
            let body = read_frame(&mut input).unwrap();
            assert_eq!(&decode::<Request<'_>>(&body).unwrap(), r);
        }
        assert!(matches!(read_frame(&mut input), Err(FrameError::Io(_))));
    }

    #[test]
    fn a_stage_and_a_pull_of_the_largest_manifest_fit_a_frame() {
        // The smallest clip a manifest may hold, a file of its own each: the
        // most files a manifest of the largest size could name.
        let hash = ContentHash::of_bytes(b"x");
        let clip = format!(
            r#"{{"id":"c","group":"A","audio":{{"path":"a","hash":"{hash}","format":{{"channels":1,"sample_rate":48000,"frames":1,"codec":""}}}}}}"#
        );
        let show = cuebox_engine::show::Show::new(
            "x",
            "media",
            cuebox_engine::show::GridDims::new(1, 1).unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        let mut doc: serde_json::Value = serde_json::from_slice(&show.to_json()).unwrap();
        doc["clips"] =
            serde_json::json!([serde_json::from_str::<serde_json::Value>(&clip).unwrap()]);
        cuebox_engine::show::Show::load(&serde_json::to_vec(&doc).unwrap()).unwrap();
        let files = MAX_MANIFEST_BYTES / clip.len();
        let stage = Request::Stage {
            session: "x".repeat(255),
            manifest: vec![b' '; MAX_MANIFEST_BYTES],
            media: vec![
                MediaSize {
                    hash,
                    size: u64::MAX
                };
                files
            ],
        };
        let pull = Response::Manifest {
            manifest: vec![b' '; MAX_MANIFEST_BYTES],
            media: vec![
                MediaEntry {
                    path: "a".into(),
                    hash,
                    size: u64::MAX,
                };
                files
            ],
        };
        let mut wire = Vec::new();
        write_frame(&mut wire, &stage).unwrap();
        write_frame(&mut wire, &pull).unwrap();
        write_frame(&mut wire, &Request::Status).unwrap();
        let mut input = &wire[..];
        let mut body = Vec::new();
        read_frame_into(&mut input, &mut body, MAX_FRAME).unwrap();
        assert_eq!(decode::<Request<'_>>(&body).unwrap(), stage);
        read_frame_into(&mut input, &mut body, MAX_FRAME).unwrap();
        assert_eq!(decode::<Response>(&body).unwrap(), pull);
        // The buffer a large frame needed is let go at the next small one.
        read_frame_into(&mut input, &mut body, MAX_FRAME).unwrap();
        assert!(body.capacity() <= KEPT_BUFFER);
        // Over the limit: not sent at all.
        let over = Request::Stage {
            session: String::new(),
            manifest: vec![0; MAX_FRAME],
            media: Vec::new(),
        };
        let e = write_frame(&mut Vec::new(), &over).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn oversized_and_malformed_frames_are_refused() {
        let mut huge = &(u32::MAX).to_be_bytes()[..];
        assert!(matches!(
            read_frame(&mut huge),
            Err(FrameError::TooLarge {
                len: u32::MAX,
                max: MAX_FRAME
            })
        ));
        // Before a host is authorized, 4 KiB: refused without the room.
        let mut wire = &[0, 0, 0x10, 0x01, 1, 2, 3][..];
        let mut body = Vec::new();
        let e = read_frame_into(&mut wire, &mut body, PENDING_FRAME).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a frame of 4097 bytes is over the 4096-byte limit for a host the box has not authorized"
        );
        assert_eq!(body.capacity(), 0);
        assert!(decode::<Request<'_>>(&[200, 1, 2]).is_err());
        let mut body = postcard::to_stdvec(&Request::Status).unwrap();
        body.push(0);
        assert!(decode::<Request<'_>>(&body).is_err(), "trailing bytes");
    }

    #[test]
    fn roles_order_what_requests_need() {
        assert_eq!(Request::Hello { version: 1 }.needs(), None);
        assert_eq!(Request::Status.needs(), Some(Role::View));
        let stop = || Request::Command {
            at: None,
            command: Command::StopAll {},
        };
        assert_eq!(stop().needs(), Some(Role::Control));
        assert_eq!(Request::GoNext { time: None }.needs(), Some(Role::Control));
        let beat = PairMessage::Beat {
            link: PairLink::default(),
            state: None,
            timescale: None,
        };
        assert_eq!(Request::Pair(beat).needs(), Some(Role::Control));
        assert_eq!(Request::Lock { locked: true }.needs(), Some(Role::Control));
        assert_eq!(Request::Lock { locked: false }.needs(), Some(Role::Edit));
        let hash = ContentHash::of_bytes(b"");
        assert_eq!(Request::BlobEnd { hash }.needs(), Some(Role::Edit));
        assert!(Request::BlobEnd { hash }.edits());
        assert!(!stop().edits());
        assert_eq!(Request::LiveShow.needs(), Some(Role::View));
        let revise = Request::Revise {
            session: "s".into(),
            generation: 1,
            patch: b"[]".to_vec(),
            what: "edit".into(),
        };
        assert_eq!(revise.needs(), Some(Role::Edit));
        assert!(revise.edits(), "a locked show refuses edits sent to it");
    }
}
