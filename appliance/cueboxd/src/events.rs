//! What the box reports: one typed stream of [`BoxEvent`]s, and the
//! [`Publisher`] that hands each to every subscriber — the printer, OSC
//! `/update`s, the technical logs, and (to come) the pair link.
//!
//! Subscribers read at their own pace from bounded queues: one that falls
//! behind loses events, counted, and never slows the box or grows its
//! memory (every byte of which is locked).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cuebox_engine::control::Command;
use cuebox_engine::device::alsa::Negotiated;
use cuebox_engine::device::DeviceEvent;
use cuebox_engine::show::ClipId;
use cuebox_engine::timecode::clock::Relock;
use cuebox_engine::timecode::Timecode;
use serde::Serialize;
use serde_json::Value;

use crate::api::keys::Role;
use crate::api::proto::Device;
use crate::clocking::ClockStatus;
use crate::live::LiveSummary;
use crate::origin::Origin;
use crate::system::{IrqRoute, ReservationStatus, RtSetup, Violation};

/// Everything the box reports, as its JSON lines name it (`event`).
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BoxEvent {
    /// The API listens.
    Listening {
        /// Where.
        address: String,
        /// The box's name.
        name: String,
        /// Its key's fingerprint, to compare when pairing.
        fingerprint: String,
    },
    /// The box made its key (first start).
    BoxKeyCreated {
        /// Its fingerprint.
        fingerprint: String,
    },
    /// Show control listens.
    ShowctlListening {
        /// The configuration file.
        config: PathBuf,
        /// OSC over UDP.
        osc_udp: Option<String>,
        /// OSC over TCP.
        osc_tcp: Option<String>,
        /// The role of an OSC client that gave no passcode (none: only a
        /// passcode gives one).
        osc_open_role: Option<Role>,
        /// MSC over UDP.
        msc_udp: Option<String>,
        /// MIDI ports asked for.
        midi: Vec<String>,
    },
    /// A MIDI show-control port opened.
    ShowctlMidi {
        /// The port.
        port: String,
        /// The grid layout it plays, if any.
        grid: Option<String>,
        /// Whether it takes MSC.
        msc: bool,
    },
    /// Nothing to play.
    Idle {
        /// Why.
        detail: String,
    },
    /// A session cannot play; the box tries again.
    CannotPlay {
        /// The session.
        session: String,
        /// Why.
        detail: String,
        /// Seconds until the next try.
        retry_seconds: u64,
    },
    /// A host activated another session: it plays next.
    Switching {
        /// The session.
        session: String,
    },
    /// Part of the protected path's setup failed; the show plays on.
    RtProblem {
        /// What.
        detail: String,
    },
    /// IRQs moved off the audio core.
    IrqRouting {
        /// The audio core.
        core: usize,
        /// Each IRQ, before and after.
        routes: Vec<IrqRoute>,
    },
    /// A real-time thread started, as the kernel set it up.
    RtThread {
        /// `rt-out` or `rt-in`.
        thread: String,
        /// Its scheduling, read back from /proc.
        setup: RtSetup,
    },
    /// The playback device chosen and opened.
    DeviceChosen {
        /// It, with every compromise.
        device: Device,
    },
    /// Clip heads preloaded.
    Armed {
        /// Clips armed.
        clips: usize,
        /// Pages in view.
        pages: Vec<u16>,
        /// Seconds of each head.
        head_seconds: f64,
    },
    /// A session plays.
    Running {
        /// Its name.
        session: String,
        /// Its clips.
        clips: usize,
        /// Its folder.
        path: PathBuf,
        /// The playback device as negotiated.
        device: Negotiated,
        /// Seconds between auto-saves.
        autosave_seconds: u64,
        /// Output latency.
        latency_ms: f64,
    },
    /// The reservation of the audio core was breached.
    Violation {
        /// What was seen.
        violation: Violation,
    },
    /// The session stopped playing.
    StoppedRun {
        /// Devices, recording and clock at the end.
        summary: Box<LiveSummary>,
        /// The audio core's reservation at the end.
        reservation: Option<Box<ReservationStatus>>,
    },
    /// The session was saved at the end.
    Saved {
        /// Where.
        detail: String,
    },
    /// The final save failed.
    SaveFailed {
        /// Why, and what is intact.
        detail: String,
    },
    /// A command line could not be read.
    CommandRefused {
        /// The line.
        line: String,
        /// Why.
        reason: String,
    },
    /// The session reads LTC and cannot.
    LtcUnavailable {
        /// Why.
        reason: String,
    },
    /// Frames missing from the capture recording.
    Discontinuity {
        /// Before this frame.
        at: u64,
        /// How many.
        frames: u64,
    },
    /// A device failed beyond recovery; it is reopened every second.
    DeviceFailed {
        /// Why.
        error: String,
    },
    /// A failed device is back.
    DeviceReopened,
    /// The clock changed source.
    ClockSwitch {
        /// The show sample it happened at.
        at_sample: u64,
        /// From (`None`: the flywheel).
        from: Option<String>,
        /// To.
        to: Option<String>,
        /// Why.
        reason: String,
        /// How it re-locked.
        relock: Relock,
    },
    /// The clock, once a second.
    Clock {
        /// Its state.
        status: ClockStatus,
    },
    /// An MTC port gave its first whole time.
    MtcLocked {
        /// The port.
        port: String,
        /// From its first message.
        after_ms: f64,
        /// One frame.
        frame_ms: f64,
    },
    /// Show control did something.
    Showctl {
        /// OSC, MSC or MIDI.
        via: String,
        /// The sender.
        from: String,
        /// What.
        action: String,
        /// The answer.
        data: Value,
    },
    /// Show control refused something.
    ShowctlRefused {
        /// The transport.
        via: String,
        /// The sender.
        from: String,
        /// What was refused: an address, an action, a packet.
        what: String,
        /// Why.
        reason: String,
        /// How many refusals this stands for: 1, or the sender's since its
        /// last report, this being the last of them (see `refusals`).
        count: u64,
    },
    /// A host connected to the API.
    ApiConnected {
        /// From where.
        peer: String,
        /// Its key's fingerprint.
        key: String,
        /// Its role, if authorized.
        role: Option<Role>,
    },
    /// The API refused a connection or a request.
    ApiRefused {
        /// From where.
        peer: String,
        /// Its key's fingerprint, once known.
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        /// The request, once read.
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<String>,
        /// Why, for scripts.
        reason: String,
        /// Why, for people.
        detail: String,
        /// How many refusals this stands for: 1, or the peer's since its
        /// last report, this being the last of them (see `refusals`).
        count: u64,
    },
    /// An API connection ended badly.
    ApiClosed {
        /// From where.
        peer: String,
        /// Why.
        reason: String,
        /// How many connections this stands for: 1, or the address's closed
        /// for this reason since its last report (see `refusals`).
        count: u64,
    },
    /// The API's configuration has a problem (the authorized hosts file).
    ApiProblem {
        /// What.
        detail: String,
    },
    /// The show controllers' playhead moved (or their page or tab).
    Playhead {
        /// The page.
        page: u16,
        /// The tab, from 1.
        tab: usize,
        /// The cue number at the playhead, when it stands on a button.
        cue: Option<String>,
        /// The clip at the playhead; none past the last cue.
        clip: Option<ClipId>,
    },
    /// A play's start or end is in the play log, on disk in both copies.
    PlayLogged {
        /// The entry's number.
        entry: u64,
        /// The play (its start entry's number).
        play: u64,
        /// The clip.
        clip: ClipId,
        /// `start` or `end`.
        record: String,
    },
    /// Opening the play log mended what a crash or damage left.
    PlayLogMended {
        /// What was mended.
        detail: String,
    },
    /// The play log cannot be written (or was found in two versions).
    PlayLogProblem {
        /// What, and what the box does about it.
        detail: String,
    },
    /// A performance's cue sheet was exported by the box itself.
    CuesheetExported {
        /// The session.
        session: String,
        /// The performance (its date).
        performance: String,
        /// Where it is kept, under the data root.
        file: String,
        /// Plays, works, readiness.
        summary: String,
    },
    /// A report asked for by a host was made and kept in Exports/.
    ReportExported {
        /// Where it is kept, under the data root.
        file: String,
        /// What it says of itself.
        summary: String,
    },
    /// A cue sheet due for export could not be made or kept.
    AutoExportFailed {
        /// Why, and what the box does about it.
        detail: String,
    },
    /// A technical log (Logs/<kind>/) cannot be written: its lines are
    /// lost until the disk takes them again. The play log is apart.
    TechLogProblem {
        /// What, and what is lost.
        detail: String,
    },
    /// Off-box copies are on (docs/playlog.md, "Off-box copies").
    OffboxStarted {
        /// The configuration file.
        config: PathBuf,
        /// Where the copies go.
        remote: String,
        /// Minutes between copies.
        every_minutes: u64,
        /// The folders copied.
        what: Vec<crate::offbox::Folder>,
    },
    /// An off-box copy finished: everything new or changed is on the remote.
    OffboxCopied {
        /// Where to.
        remote: String,
        /// Why it ran.
        reason: crate::offbox::Reason,
        /// Files copied.
        files: u64,
        /// Bytes transferred.
        bytes: u64,
        /// How long it took.
        seconds: f64,
    },
    /// An off-box copy failed; it is tried again.
    OffboxFailed {
        /// What kind of failure.
        problem: crate::offbox::Problem,
        /// What, and what to do.
        detail: String,
        /// rclone's last line, when it ran.
        stderr: Option<String>,
        /// Seconds until the next try.
        retry_seconds: u64,
    },
    /// The show was locked for the performance, or unlocked.
    Lock {
        /// Whether it is locked now.
        locked: bool,
    },
    /// The live state saved for a restart could not be used; the session
    /// resumed from its manifest.
    RuntimeUnusable {
        /// Why.
        detail: String,
    },
    /// A clip in view could not be armed: it plays nothing, the rest plays.
    ClipUnplayable {
        /// The clip.
        clip: ClipId,
        /// Its file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A command was taken, for this show sample.
    Accepted {
        /// The command, as it is written.
        #[serde(serialize_with = "written")]
        command: Command,
        /// Where it came from.
        origin: Origin,
        /// The show sample it applies at.
        at_sample: u64,
        /// How far ahead of the render thread that was.
        lead_samples: u64,
    },
    /// The playing show was revised (a live edit, a push of the session
    /// that plays): its level, pan and bus changes ramp from this sample.
    ShowRevised {
        /// Who revised it.
        origin: Origin,
        /// The show sample the ramps start at.
        at_sample: u64,
        /// Changes ramped on what plays.
        glides: usize,
        /// What playing clips take at their next start (`c3: its fade in`).
        deferred: Vec<String>,
    },
    /// A command could not be handed to the render thread.
    CommandFailed {
        /// The command as written, or what the chaser was doing.
        command: Value,
        /// The show sample it was for.
        at_sample: u64,
        /// Why.
        reason: String,
    },
    /// A clip's timecode trigger came due.
    TimecodeCue {
        /// The clip.
        clip: ClipId,
        /// Its trigger.
        timecode: Timecode,
        /// The show sample it starts at.
        at_sample: u64,
    },
    /// Timecode jumped past a clip's trigger: it did not play.
    TimecodeCueSkipped {
        /// The clip.
        clip: ClipId,
        /// Its trigger.
        timecode: Timecode,
        /// Why.
        reason: String,
    },
    /// A chasing clip joined the timecode.
    ChaseStart {
        /// The clip.
        clip: ClipId,
        /// Its voice.
        voice: u64,
        /// Its trigger.
        timecode: Option<Timecode>,
        /// The show sample it joins at.
        at_sample: u64,
        /// The clip's frame it joins at.
        from_frame: u64,
        /// Its speed, as a ratio.
        speed: f64,
    },
    /// A chasing clip stopped.
    ChaseStop {
        /// The clip.
        clip: ClipId,
        /// Its voice.
        voice: u64,
        /// The show sample.
        at_sample: u64,
        /// Why.
        reason: String,
    },
    /// A voice started.
    Started {
        /// Its clip.
        clip: Option<ClipId>,
        /// The voice.
        voice: u64,
        /// The show sample.
        at_sample: u64,
        /// Where the command that started it came from.
        #[serde(skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
    },
    /// A voice stopped.
    Stopped {
        /// Its clip.
        clip: Option<ClipId>,
        /// The voice.
        voice: u64,
        /// The show sample.
        at_sample: u64,
        /// Why (ended, faded, stopped, choked, panic).
        cause: String,
        /// Where the command that started it came from.
        #[serde(skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
    },
    /// The renderer refused a start.
    Refused {
        /// The clip.
        clip: Option<ClipId>,
        /// The voice it would have been.
        voice: u64,
        /// The show sample.
        at_sample: u64,
        /// Why.
        reason: String,
        /// Where the command came from.
        #[serde(skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
    },
    /// A voice ran out of decoded audio.
    Underrun {
        /// The voice.
        voice: u64,
        /// The show sample.
        at_sample: u64,
    },
    /// A command reached the renderer after its sample.
    Late {
        /// The sample it was for.
        at_sample: u64,
        /// The sample it was applied at.
        applied_sample: u64,
    },
    /// A voice paused.
    Paused {
        /// The voice.
        voice: u64,
        /// The show sample.
        at_sample: u64,
    },
    /// A voice resumed.
    Resumed {
        /// The voice.
        voice: u64,
        /// The show sample.
        at_sample: u64,
    },
    /// A voice's fade finished.
    FadeDone {
        /// The voice.
        voice: u64,
        /// Which fade.
        fade: String,
        /// The show sample.
        at_sample: u64,
    },
    /// Anything else the renderer reported.
    Render {
        /// What.
        detail: String,
    },
    /// A clip's stream could not be read.
    StreamError {
        /// Why.
        detail: String,
    },
    /// The operator's page listens (`cueboxd run --web`).
    WebListening {
        /// Where: open `https://<address>/` in a browser.
        address: String,
        /// The SHA-256 fingerprint of its certificate, to compare with the
        /// one the browser shows.
        fingerprint: String,
        /// Whether the box made the certificate now (first start).
        created: bool,
    },
    /// The link between the units of a pair came up or went down
    /// (docs/pair.md). Kept before `Device`: an untagged variant is last.
    Pair {
        /// This unit's part: `main` or `backup`.
        role: String,
        /// The other unit's address.
        peer: String,
        /// Whether the other unit is heard now.
        healthy: bool,
        /// What it means for the show.
        detail: String,
    },
    /// A unit of a pair became main or backup, or took or lost the control
    /// address (docs/pair.md, "Takeover").
    PairRole {
        /// Its part now: `main` or `backup`.
        role: String,
        /// The part it was configured with.
        configured: String,
        /// The control address, if the pair has one.
        address: Option<String>,
        /// Whether this unit holds it.
        holds_address: Option<bool>,
        /// Why, and what it means for the show.
        detail: String,
    },
    /// The playing state of a pair's backup differs from its main's at
    /// the same instant (docs/pair.md).
    PairDiverged {
        /// How.
        detail: String,
    },
    /// A pair's backup adopted its main's state, to repair a divergence.
    PairRepaired {
        /// The backup's show sample it happened at.
        at_sample: u64,
        /// What differed.
        detail: String,
    },
    /// A device loop's report: (re)started or recovered an xrun.
    #[serde(untagged)]
    Device(DeviceEvent),
}

/// A command in the form it is written (`{"cmd": "go", …}`).
fn written<S: serde::Serializer>(command: &Command, s: S) -> Result<S::Ok, S::Error> {
    command.to_json().serialize(s)
}

impl BoxEvent {
    /// Whether it reports trouble (a warning in the journal): something
    /// refused, failed, late, lost or not as configured.
    pub fn is_trouble(&self) -> bool {
        matches!(
            self,
            BoxEvent::CannotPlay { .. }
                | BoxEvent::RtProblem { .. }
                | BoxEvent::Violation { .. }
                | BoxEvent::SaveFailed { .. }
                | BoxEvent::CommandRefused { .. }
                | BoxEvent::CommandFailed { .. }
                | BoxEvent::LtcUnavailable { .. }
                | BoxEvent::Discontinuity { .. }
                | BoxEvent::DeviceFailed { .. }
                | BoxEvent::ShowctlRefused { .. }
                | BoxEvent::ApiRefused { .. }
                | BoxEvent::ApiProblem { .. }
                | BoxEvent::ClipUnplayable { .. }
                | BoxEvent::RuntimeUnusable { .. }
                | BoxEvent::PlayLogProblem { .. }
                | BoxEvent::AutoExportFailed { .. }
                | BoxEvent::TechLogProblem { .. }
                | BoxEvent::OffboxFailed { .. }
                | BoxEvent::TimecodeCueSkipped { .. }
                | BoxEvent::Refused { .. }
                | BoxEvent::Underrun { .. }
                | BoxEvent::Late { .. }
                | BoxEvent::StreamError { .. }
                | BoxEvent::Device(DeviceEvent::Xrun { .. })
                | BoxEvent::Pair { healthy: false, .. }
                | BoxEvent::PairDiverged { .. }
                | BoxEvent::PairRole { .. }
        )
    }

    /// Whether it is playback history: a voice started, stopped, paused or
    /// resumed, a chase joined or left, a play in the play log.
    pub fn is_playback(&self) -> bool {
        matches!(
            self,
            BoxEvent::Started { .. }
                | BoxEvent::Stopped { .. }
                | BoxEvent::Paused { .. }
                | BoxEvent::Resumed { .. }
                | BoxEvent::ChaseStart { .. }
                | BoxEvent::ChaseStop { .. }
                | BoxEvent::PlayLogged { .. }
        )
    }

    /// The event as a JSON object (its `event` field names it).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(
            |e| serde_json::json!({"event": "unreportable", "detail": e.to_string()}),
        )
    }
}

/// How many events a subscriber may have waiting before it loses some.
pub const QUEUE: usize = 4096;

struct Subscriber {
    tx: SyncSender<Arc<BoxEvent>>,
    dropped: Arc<AtomicU64>,
}

/// Hands every event to every subscriber; cheap to clone.
#[derive(Clone, Default)]
pub struct Publisher {
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Publisher {
    /// A publisher with no subscribers.
    pub fn new() -> Self {
        Publisher::default()
    }

    /// Publishes `event`: queued for every subscriber with room, counted
    /// as lost for the others. Never blocks.
    pub fn send(&self, event: impl Into<BoxEvent>) {
        let event = Arc::new(event.into());
        lock(&self.subscribers).retain(|s| match s.tx.try_send(event.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                s.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
    }

    /// A new subscriber, with room for `capacity` events.
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::sync_channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        lock(&self.subscribers).push(Subscriber {
            tx,
            dropped: dropped.clone(),
        });
        Subscription { rx, dropped }
    }
}

/// One subscriber's queue. Dropping it unsubscribes.
#[derive(Debug)]
pub struct Subscription {
    rx: Receiver<Arc<BoxEvent>>,
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// The next event within `timeout`; an error when none came, or
    /// every publisher is gone.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Arc<BoxEvent>, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// The events waiting now.
    pub fn try_iter(&self) -> impl Iterator<Item = Arc<BoxEvent>> + '_ {
        self.rx.try_iter()
    }

    /// The events waiting now, as their JSON objects.
    pub fn json(&self) -> impl Iterator<Item = Value> + '_ {
        self.try_iter().map(|e| e.to_json())
    }

    /// Events lost since the last call, because the queue was full.
    pub fn take_dropped(&self) -> u64 {
        self.dropped.swap(0, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subscriber_gets_every_event_in_the_same_json() {
        let publisher = Publisher::new();
        let a = publisher.subscribe(8);
        let b = publisher.subscribe(8);
        publisher.send(BoxEvent::Switching {
            session: "Hamlet".into(),
        });
        for s in [&a, &b] {
            let e = s.try_iter().next().unwrap();
            assert_eq!(
                e.to_json(),
                serde_json::json!({"event": "switching", "session": "Hamlet"})
            );
        }
        let device = BoxEvent::Device(DeviceEvent::Started {
            dir: cuebox_engine::device::StreamDir::Playback,
            frame: 7,
        });
        assert_eq!(
            device.to_json(),
            serde_json::json!({"event": "device_started", "dir": "playback", "frame": 7})
        );
    }

    #[test]
    fn a_slow_subscriber_loses_events_counted_and_never_blocks() {
        let publisher = Publisher::new();
        let slow = publisher.subscribe(4);
        let fast = publisher.subscribe(QUEUE);
        for _ in 0..100 {
            publisher.send(BoxEvent::DeviceReopened);
        }
        assert_eq!(slow.try_iter().count(), 4);
        assert_eq!(slow.take_dropped(), 96);
        assert_eq!(slow.take_dropped(), 0);
        assert_eq!(fast.try_iter().count(), 100);
        drop(slow);
        publisher.send(BoxEvent::DeviceReopened);
        assert_eq!(
            lock(&publisher.subscribers).len(),
            1,
            "the dropped one left"
        );
    }
}
