//! What the box does with API requests: session sync against the store
//! (stage, media transfer, atomic activation, pull) and the show's controls
//! through a [`ShowControl`] (the live box, or nothing while idle).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cuebox_engine::control::cues::Cue;
use cuebox_engine::control::revise::Cuts;
use cuebox_engine::control::{At, Command};
use cuebox_engine::show::{ContentHash, DeviceMap, Show};

use super::proto;
use super::proto::{
    Activated, MediaEntry, MediaSize, Need, Refusal, RefusalKind, Request, Response, SessionInfo,
    Status, CHUNK,
};
use super::server::{refuse, Peer, Service};
use crate::events::Publisher;
use crate::link::{Accepted, Revised};
use crate::live_edit;
use crate::origin::{Input, Origin};
use crate::store::activate::{self, ActivateError, Staged};
use crate::store::objects::{ObjectError, ObjectStore, Reservation, Space, Upload};
use crate::store::{chain, DataRoot, SessionDir, StoreError};

/// How long a part no push is using is kept for a resume before it is
/// collected (sooner when a push needs its room).
pub const PART_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The show's side of the API: what plays, and commands to it.
pub trait ShowControl: Send + Sync + 'static {
    /// What the box is doing now (`name`, `session` and `locked` are filled
    /// in by the service).
    fn status(&self) -> Status;
    /// Runs a command, at once or at a show time: the show sample it is
    /// applied at and how far ahead that was, or why not.
    fn command(
        &self,
        origin: Origin,
        at: Option<At>,
        command: Command,
    ) -> Result<Accepted, Refusal>;
    /// A bare GO: the cue at the playhead and where it landed, or why not.
    fn go_next(&self, origin: Origin, time: Option<f64>) -> Result<(Cue, Accepted), Refusal>;
    /// Makes `page` the one grid controllers play.
    fn page(&self, page: u16) -> Result<(), Refusal>;
    /// Whether the show is locked for the performance (edits refused).
    fn locked(&self) -> bool;
    /// Locks or unlocks the show.
    fn set_locked(&self, locked: bool);
    /// Whether a session may replace the playing one now (not while clips play).
    fn may_replace(&self) -> Result<(), Refusal>;
    /// `session` was activated: play it. Says whether it plays now.
    fn activated(&self, session: &str) -> Started;
    /// The playing session, its show as it plays, and the show's edit
    /// generation.
    fn live_show(&self) -> Result<(String, Arc<Show>, u64), Refusal>;
    /// Whether the playing show could be revised into `show` now.
    fn may_revise(&self, show: &Show, cuts: Cuts) -> Result<(), Refusal>;
    /// Revises the playing show into `show`, made from generation `from`
    /// (`None`: a push of the playing session, or the main's edit on a
    /// pair's backup), its glides from show sample `at` (`None`: as soon
    /// as it can, after a pair's pre-roll on its main).
    fn revise(
        &self,
        origin: Origin,
        from: Option<u64>,
        show: Show,
        cuts: Cuts,
        at: Option<u64>,
    ) -> Result<Revised, Refusal>;
    /// The revision was saved as `show`.
    fn saved(&self, show: &Show);
    /// The show sample the playback card plays at CLOCK_MONOTONIC
    /// `mono_ns`; `None` while nothing plays.
    fn show_sample_at(&self, mono_ns: u64) -> Option<f64> {
        let _ = mono_ns;
        None
    }
    /// A live edit of `session` (`patch`, named `what`) was taken from
    /// show sample `at_sample` and saved: a pair's main sends it to its
    /// backup.
    fn revision_taken(&self, session: &str, patch: Vec<u8>, what: &str, at_sample: u64) {
        let _ = (session, patch, what, at_sample);
    }
    /// Where a pair message from `from` for the main's instant places it
    /// here (`at_ptp` through this unit's PTP time and card when it is on
    /// that timescale, else `at_sample`); refused unless `from` is the key
    /// of this backup's main.
    fn pair_place(
        &self,
        from: &super::PublicKey,
        at_sample: u64,
        at_ptp: Option<&proto::PtpInstant>,
    ) -> Result<u64, Refusal> {
        let _ = (from, at_sample, at_ptp);
        Err(not_paired())
    }
    /// A message from the main of a pair (`from` is the key it proved it
    /// holds): refused by a box in no pair, or from any other key.
    fn pair(
        &self,
        from: &super::PublicKey,
        message: proto::PairMessage,
    ) -> Result<Response, Refusal> {
        let _ = (from, message);
        Err(not_paired())
    }
}

/// How far ahead an activation may be scheduled: further means the
/// host's clock and the box's disagree.
const MAX_ACTIVATION_LEAD: std::time::Duration = std::time::Duration::from_secs(30);

/// What became of an activated session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// It plays.
    Playing,
    /// It cannot play, and why; the box keeps trying.
    Failed(String),
    /// Not yet, or not on this box (stored, played at the next run).
    NotYet,
}

/// Where an API host's command comes from: its address and its key.
pub(super) fn origin_of(peer: &Peer) -> Origin {
    Origin::new(
        Input::Api,
        format!("{} {}", peer.addr, peer.key.fingerprint()),
    )
}

/// The refusal of a pair message by a box that is no backup.
pub fn not_paired() -> Refusal {
    Refusal::new(
        RefusalKind::Forbidden,
        "this box is not the backup of a pair (cueboxd run --pair backup)",
    )
}

/// The refusal of a show command when no session plays.
pub fn no_session() -> Refusal {
    Refusal::new(
        RefusalKind::NotFound,
        "no session is playing on the box; push one with hostctl push",
    )
}

/// A box with no show running: status and the lock only, commands refused.
#[derive(Debug, Default)]
pub struct Idle {
    locked: std::sync::atomic::AtomicBool,
}

impl ShowControl for Idle {
    fn status(&self) -> Status {
        Status::default()
    }
    fn command(
        &self,
        _origin: Origin,
        _at: Option<At>,
        _command: Command,
    ) -> Result<Accepted, Refusal> {
        Err(no_session())
    }
    fn go_next(&self, _origin: Origin, _time: Option<f64>) -> Result<(Cue, Accepted), Refusal> {
        Err(no_session())
    }
    fn page(&self, _page: u16) -> Result<(), Refusal> {
        Err(no_session())
    }
    fn locked(&self) -> bool {
        self.locked.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn set_locked(&self, locked: bool) {
        self.locked
            .store(locked, std::sync::atomic::Ordering::Relaxed);
    }
    fn may_replace(&self) -> Result<(), Refusal> {
        Ok(())
    }
    fn activated(&self, _session: &str) -> Started {
        Started::NotYet
    }
    fn live_show(&self) -> Result<(String, Arc<Show>, u64), Refusal> {
        Err(no_session())
    }
    fn may_revise(&self, _show: &Show, _cuts: Cuts) -> Result<(), Refusal> {
        Err(no_session())
    }
    fn revise(
        &self,
        _origin: Origin,
        _from: Option<u64>,
        _show: Show,
        _cuts: Cuts,
        _at: Option<u64>,
    ) -> Result<Revised, Refusal> {
        Err(no_session())
    }
    fn saved(&self, _show: &Show) {}
}

/// The box's API service.
pub struct BoxService<C> {
    name: String,
    root: DataRoot,
    objects: ObjectStore,
    show: C,
    /// Activations are one at a time: two hosts pushing the same session
    /// must not interleave their exchanges.
    activating: Mutex<()>,
    /// Where the service reports what it did for a host (an export kept).
    events: Publisher,
    /// The leases of the pairs this box is the arbitrating witness of.
    leases: crate::pair::witness::Leases,
}

/// What one connection keeps between requests.
#[derive(Default)]
pub struct Conn {
    /// A package being uploaded, or uploaded, for an import.
    pub(super) package: Option<super::packages::Upload>,
    pub(super) staged: Option<Staged>,
    /// The staged session's media, reserved in the store.
    reservation: Option<Reservation>,
    upload: Option<Upload>,
    /// Files the last pull listed (or the package last exported), by hash.
    pub(super) pulled: HashMap<ContentHash, PathBuf>,
}

impl<C: ShowControl> BoxService<C> {
    /// A service for the box called `name` storing in `root`, reporting to
    /// `events`.
    pub fn new(
        name: String,
        root: DataRoot,
        show: C,
        events: Publisher,
    ) -> crate::store::Result<Self> {
        activate::sweep(&root)?;
        let objects = activate::objects(&root)?;
        objects.collect(PART_LIFETIME)?;
        Ok(BoxService {
            name,
            root,
            objects,
            show,
            activating: Mutex::new(()),
            events,
            leases: Default::default(),
        })
    }

    /// The data root it stores in.
    pub(super) fn root(&self) -> &DataRoot {
        &self.root
    }

    /// Where it reports.
    pub(super) fn events(&self) -> &Publisher {
        &self.events
    }

    /// Its object store.
    pub(super) fn objects(&self) -> &ObjectStore {
        &self.objects
    }

    /// The show's side.
    pub(super) fn show(&self) -> &C {
        &self.show
    }

    fn status(&self) -> Response {
        let mut status = self.show.status();
        status.name = self.name.clone();
        status.locked = self.show.locked();
        if status.session.is_none() {
            // A bad active-session file shows as none here; the run says why.
            status.session = activate::active(&self.root).ok().flatten();
        }
        Response::Status(Box::new(status))
    }

    fn sessions(&self) -> Response {
        let active = activate::active(&self.root).ok().flatten();
        match self.root.sessions() {
            Ok(list) => Response::Sessions(
                list.into_iter()
                    .filter_map(|e| {
                        let dir = SessionDir::open(&e.path).ok()?;
                        let manifest = ContentHash::of_bytes(&dir.read_manifest().ok()?);
                        Some(SessionInfo {
                            active: active.as_deref() == Some(e.name.as_str()),
                            name: e.name,
                            manifest,
                        })
                    })
                    .collect(),
            ),
            Err(e) => refuse(RefusalKind::Failed, chain(&e)),
        }
    }

    fn stage(
        &self,
        conn: &mut Conn,
        session: &str,
        manifest: &[u8],
        media: &[MediaSize],
    ) -> Response {
        // A new stage ends this connection's last one, its reservation and
        // any transfer it had open.
        conn.staged = None;
        conn.reservation = None;
        conn.upload = None;
        let staged = match activate::stage(session, manifest) {
            Ok(s) => s,
            Err(e) => return refuse(RefusalKind::Invalid, e.to_string()),
        };
        let hashes = activate::media_hashes(&staged.show);
        let undeclared: Vec<String> = hashes
            .iter()
            .filter(|h| !media.iter().any(|m| m.hash == **h))
            .map(ToString::to_string)
            .collect();
        let foreign: Vec<String> = media
            .iter()
            .filter(|m| !hashes.contains(&m.hash))
            .map(|m| m.hash.to_string())
            .collect();
        if !undeclared.is_empty() || !foreign.is_empty() || media.len() != hashes.len() {
            return refuse(
                RefusalKind::BadRequest,
                format!(
                    "a stage declares the size of each media file of its manifest once: sizes missing for [{}], declared for files the manifest does not use [{}], {} declared for {} files",
                    undeclared.join(", "),
                    foreign.join(", "),
                    media.len(),
                    hashes.len()
                ),
            );
        }
        let declared: Vec<_> = media.iter().map(|m| (m.hash, m.size)).collect();
        // The staged copy writes the manifest and its index beside the media.
        let extra = 2 * manifest.len() as u64;
        match self.objects.reserve(&declared, extra) {
            Ok((reservation, missing)) => {
                conn.staged = Some(staged);
                conn.reservation = Some(reservation);
                Response::Needs(
                    missing
                        .into_iter()
                        .map(|m| Need {
                            hash: m.hash,
                            have: m.have,
                        })
                        .collect(),
                )
            }
            Err(e) => self.object_refusal(e),
        }
    }

    fn blob(&self, conn: &mut Conn, hash: ContentHash, offset: u64, data: &[u8]) -> Response {
        let Some(reservation) = conn
            .reservation
            .as_ref()
            .filter(|r| r.size(&hash).is_some())
        else {
            return self.object_refusal(ObjectError::Undeclared(hash));
        };
        if data.len() > CHUNK {
            return refuse(
                RefusalKind::BadRequest,
                format!("a chunk is at most {CHUNK} bytes"),
            );
        }
        let same = conn.upload.as_ref().is_some_and(|u| u.hash() == hash);
        if !same {
            match self.objects.receive(reservation, hash, offset) {
                Ok(u) => conn.upload = Some(u),
                Err(e) => return self.object_refusal(e),
            }
        }
        let upload = conn.upload.as_mut().expect("an upload was just opened");
        match upload.write(offset, data) {
            Ok(received) => Response::Ack { received },
            Err(e) => {
                conn.upload = None;
                self.object_refusal(e)
            }
        }
    }

    fn blob_end(&self, conn: &mut Conn, hash: ContentHash) -> Response {
        if self.objects.has(&hash) && conn.upload.as_ref().is_none_or(|u| u.hash() != hash) {
            return Response::Stored;
        }
        match conn.upload.take() {
            Some(u) if u.hash() == hash => match u.finish() {
                Ok(()) => Response::Stored,
                Err(e) => self.object_refusal(e),
            },
            other => {
                conn.upload = other;
                refuse(
                    RefusalKind::BadRequest,
                    format!("no transfer of {hash} is open"),
                )
            }
        }
    }

    /// Activates the session staged on `conn`, at once or when the box's
    /// clock reads `at_realtime_ns` (then a push of the playing session
    /// takes effect at the show sample the card plays at that instant).
    pub(super) fn activate(
        &self,
        conn: &mut Conn,
        session: &str,
        manifest: ContentHash,
        origin: Origin,
        at_realtime_ns: Option<u64>,
    ) -> Response {
        if let Some(at) = at_realtime_ns {
            let now = crate::clocking::ptp::realtime_ns();
            if at <= now {
                return refuse(RefusalKind::BadRequest, format!("the activation instant passed {:.0} ms ago by this box's clock: nothing was activated. The boxes' clocks must agree with the host's within the lead (synchronise them with PTP or NTP), or push again", (now - at) as f64 / 1e6));
            }
            if at - now > MAX_ACTIVATION_LEAD.as_nanos() as u64 {
                return refuse(RefusalKind::BadRequest, format!("the activation instant is {:.1} s away by this box's clock, more than {} s: nothing was activated. The boxes' clocks must agree with the host's (synchronise them with PTP or NTP)", (at - now) as f64 / 1e9, MAX_ACTIVATION_LEAD.as_secs()));
            }
        }
        let Some(staged) = conn
            .staged
            .as_ref()
            .filter(|s| s.name == session && s.manifest == manifest)
        else {
            return refuse(RefusalKind::BadRequest, format!("session {session:?} with manifest {manifest} was not staged on this connection"));
        };
        let _one = self.activating.lock().unwrap_or_else(|p| p.into_inner());
        // A push of the session that plays revises it where it plays (the
        // playhead and the show clock go on); any other activation switches
        // what the box plays: never under a playing clip.
        let live = self
            .show
            .live_show()
            .is_ok_and(|(playing, _, _)| playing == session);
        let may = match live {
            true => self.show.may_revise(&staged.stored(), Cuts::PlayOut),
            false => self.show.may_replace(),
        };
        if let Err(Refusal { kind, message }) = may {
            return refuse(kind, message);
        }
        match activate::activate(&self.root, &self.objects, staged) {
            Ok(dir) => {
                let show = &staged.show;
                let media_bytes =
                    crate::media::media_bytes(show, &dir.path().join(activate::BOX_MEDIA));
                // Its media are linked now; the session it replaced may have
                // left some unused. A failed collection loses nothing and is
                // retried after the next activation and at start.
                conn.reservation = None;
                let _ = self.objects.collect(PART_LIFETIME);
                let started = match (live, at_realtime_ns) {
                    (true, at) => {
                        // The show sample the card plays at the instant.
                        let at = at.and_then(|at| {
                            let mono = crate::clocking::ptp::realtime_to_monotonic(at);
                            self.show
                                .show_sample_at(mono)
                                .map(|s| s.round().max(0.0) as u64)
                        });
                        self.revised_by_push(session, staged.stored(), origin, at)
                    }
                    (false, at) => {
                        if let Some(at) = at {
                            let now = crate::clocking::ptp::realtime_ns();
                            std::thread::sleep(std::time::Duration::from_nanos(
                                at.saturating_sub(now),
                            ));
                        }
                        self.show.activated(session)
                    }
                };
                Response::Activated(Activated {
                    session: session.to_owned(),
                    clips: show.clips.len() as u32,
                    media_bytes,
                    playing: started == Started::Playing,
                    problem: match started {
                        Started::Failed(problem) => Some(problem),
                        Started::Playing | Started::NotYet => None,
                    },
                })
            }
            Err(e @ ActivateError::MissingMedia { .. }) => {
                refuse(RefusalKind::Media, e.to_string())
            }
            Err(
                e @ (ActivateError::Name(_)
                | ActivateError::Invalid { .. }
                | ActivateError::SharedMedia { .. }),
            ) => refuse(RefusalKind::Invalid, e.to_string()),
            Err(ActivateError::Store(e)) => refuse(RefusalKind::Failed, chain(&e)),
        }
    }

    /// A pushed session that plays now took effect where it plays: the
    /// box restarts it only for what it sets up at its start (nothing plays
    /// then).
    fn revised_by_push(
        &self,
        session: &str,
        show: Show,
        origin: Origin,
        at: Option<u64>,
    ) -> Started {
        match self
            .show
            .revise(origin, None, show.clone(), Cuts::PlayOut, at)
        {
            Ok(r) if r.live.revision.needs_restart() => self.show.activated(session),
            Ok(_) => {
                self.show.saved(&show);
                Started::Playing
            }
            // A clip started since the check: the push is stored, and the
            // box plays it from its next start.
            Err(refusal) => Started::Failed(format!(
                "the push is stored but the playing show did not take it: {}",
                refusal.message
            )),
        }
    }

    /// An edit of the playing show from a host or a pair's main (the one
    /// edit path, [`live_edit::revise_by_patch`]).
    fn revise(
        &self,
        origin: Origin,
        session: &str,
        made: live_edit::Made,
        patch: &[u8],
        what: &str,
    ) -> Response {
        match live_edit::revise_by_patch(&self.show, &self.root, origin, session, made, patch, what)
        {
            Ok(revised) => Response::Revised(revised),
            Err(not) => {
                let Refusal { kind, message } = not.refusal();
                refuse(kind, message)
            }
        }
    }

    fn device_map(&self) -> Response {
        match self.root.device_map() {
            Ok(map) => Response::DeviceMap {
                map: map.map(|m| m.to_json()),
                playing: self.show.live_show().is_ok(),
            },
            Err(e) => refuse(RefusalKind::Invalid, chain(&e)),
        }
    }

    /// A new device map: checked, saved atomically, and the playing
    /// session started again with it; never while a clip plays.
    fn set_device_map(&self, bytes: &[u8]) -> Response {
        let map = match DeviceMap::load(bytes) {
            Ok(m) => m,
            Err(e) => {
                return refuse(
                    RefusalKind::Invalid,
                    format!("the device map cannot be read: {e}"),
                )
            }
        };
        let problems: Vec<String> = map.validate().iter().map(ToString::to_string).collect();
        if !problems.is_empty() {
            return refuse(
                RefusalKind::Invalid,
                format!(
                    "the device map would misroute audio; nothing was changed: {}",
                    problems.join("; ")
                ),
            );
        }
        let _one = self.activating.lock().unwrap_or_else(|p| p.into_inner());
        let session = self.show.live_show().ok().map(|(s, _, _)| s);
        if session.is_some() {
            if let Err(Refusal { kind, message }) = self.show.may_replace() {
                return refuse(
                    kind,
                    format!("{message} (a new device map reopens the device)"),
                );
            }
        }
        if let Err(e) = self.root.save_device_map(&map) {
            return refuse(RefusalKind::Failed, chain(&e));
        }
        let playing = match session {
            Some(s) => match self.show.activated(&s) {
                Started::Playing => true,
                Started::Failed(problem) => {
                    return refuse(
                        RefusalKind::Failed,
                        format!(
                        "the device map is saved, but the session cannot play with it: {problem}"
                    ),
                    )
                }
                Started::NotYet => false,
            },
            None => false,
        };
        Response::DeviceMap {
            map: Some(map.to_json()),
            playing,
        }
    }

    fn pull(&self, conn: &mut Conn, session: &str) -> Response {
        let dir = match self.root.open_session(session) {
            Ok(d) => d,
            Err(e) => return refuse(RefusalKind::NotFound, chain(&e)),
        };
        let (show, manifest) = match dir.load_with_manifest() {
            Ok((loaded, bytes)) => (loaded.show, bytes),
            Err(e) => return refuse(RefusalKind::Invalid, chain(&e)),
        };
        let media = dir.media_folder(&show);
        conn.pulled.clear();
        let mut entries = Vec::new();
        for clip in &show.clips {
            let file = media.join(clip.audio.path.as_path());
            let Ok(meta) = std::fs::metadata(&file) else {
                return refuse(
                    RefusalKind::Media,
                    format!(
                        "{} of clip {:?} is missing on the box",
                        file.display(),
                        clip.name
                    ),
                );
            };
            if conn.pulled.insert(clip.audio.hash, file).is_none() {
                entries.push(MediaEntry {
                    path: clip.audio.path.as_str().to_owned(),
                    hash: clip.audio.hash,
                    size: meta.len(),
                });
            }
        }
        Response::Manifest {
            manifest,
            media: entries,
        }
    }

    fn fetch(&self, conn: &Conn, hash: ContentHash, offset: u64, len: u32) -> Response {
        let Some(path) = conn.pulled.get(&hash) else {
            return refuse(
                RefusalKind::BadRequest,
                format!("{hash} is not media of the session pulled on this connection"),
            );
        };
        let read = || -> std::io::Result<Vec<u8>> {
            let mut f = std::fs::File::open(path)?;
            f.seek(SeekFrom::Start(offset))?;
            let mut buf = Vec::with_capacity((len as usize).min(CHUNK));
            f.take(u64::from(len).min(CHUNK as u64))
                .read_to_end(&mut buf)?;
            Ok(buf)
        };
        match read() {
            Ok(bytes) => Response::Data(bytes),
            Err(e) => refuse(
                RefusalKind::Failed,
                format!("cannot read {}: {e}", path.display()),
            ),
        }
    }
}

impl<C: ShowControl> BoxService<C> {
    /// Removes `session`, never the active or playing one, and collects
    /// the media only it used.
    fn remove(&self, session: &str) -> Response {
        // Not while a push activates: it may be activating this very name.
        let _one = self.activating.lock().unwrap_or_else(|p| p.into_inner());
        let active = match activate::active(&self.root) {
            Ok(a) => a,
            Err(e) => {
                return refuse(
                    RefusalKind::Failed,
                    format!(
                        "{}; while the box cannot tell its active session it removes none",
                        chain(&e)
                    ),
                )
            }
        };
        let playing = self.show.status().session;
        if [active, playing].iter().flatten().any(|s| s == session) {
            return refuse(
                RefusalKind::Busy,
                format!(
                    "{session:?} is the box's active session; push or activate another session first, then remove this one"
                ),
            );
        }
        if let Err(e) = activate::remove(&self.root, session) {
            let kind = match &e {
                StoreError::NoSuchSession { .. } => RefusalKind::NotFound,
                StoreError::BadSessionName { .. } => RefusalKind::Invalid,
                _ => RefusalKind::Failed,
            };
            return refuse(kind, chain(&e));
        }
        if let Err(e) = self.objects.collect(PART_LIFETIME) {
            return refuse(
                RefusalKind::Failed,
                format!(
                    "{session:?} was removed, but its media could not be collected: {}; the box tries again at its next start",
                    chain(&e)
                ),
            );
        }
        match Space::of(self.root.path()) {
            Ok(space) => Response::Removed {
                session: session.to_owned(),
                free: space.free,
            },
            Err(e) => refuse(
                RefusalKind::Failed,
                format!("{session:?} was removed; {}", chain(&e)),
            ),
        }
    }

    /// The refusal of a failed store operation; one for lack of room names
    /// the sessions that could make it.
    fn object_refusal(&self, e: ObjectError) -> Response {
        let kind = match &e {
            ObjectError::Corrupt { .. } => RefusalKind::Media,
            ObjectError::OutOfOrder { .. }
            | ObjectError::Superseded(_)
            | ObjectError::Undeclared(_)
            | ObjectError::TooLong { .. } => RefusalKind::BadRequest,
            ObjectError::DiskFull { .. } | ObjectError::NoSpace { .. } => RefusalKind::NoSpace,
            ObjectError::Store(_) => RefusalKind::Failed,
        };
        let mut message = match &e {
            ObjectError::Store(s) => chain(s),
            other => other.to_string(),
        };
        if kind == RefusalKind::NoSpace {
            message.push_str(&self.sessions_on_the_box());
        }
        refuse(kind, message)
    }

    /// "; sessions on the box: A (active), B" for advice, or nothing.
    fn sessions_on_the_box(&self) -> String {
        let active = activate::active(&self.root).ok().flatten();
        let names: Vec<String> = self
            .root
            .sessions()
            .unwrap_or_default()
            .into_iter()
            .map(|e| match active.as_deref() == Some(e.name.as_str()) {
                true => format!("{} (active)", e.name),
                false => e.name,
            })
            .collect();
        if names.is_empty() {
            String::new()
        } else {
            format!("; sessions on the box: {}", names.join(", "))
        }
    }
}

impl<C: ShowControl> Service for BoxService<C> {
    type Conn = Conn;

    fn name(&self) -> String {
        self.name.clone()
    }

    fn handle(&self, peer: &Peer, conn: &mut Conn, request: Request<'_>) -> Response {
        // A package's chunks change nothing until it is imported.
        let package = match &request {
            Request::Blob { hash, .. } | Request::BlobEnd { hash } => {
                conn.package.as_ref().is_some_and(|p| p.hash() == *hash)
            }
            _ => false,
        };
        if package {
            return match request {
                Request::Blob { offset, data, .. } => self.package_chunk(conn, offset, data),
                _ => self.package_end(conn),
            };
        }
        if request.edits() && self.show.locked() {
            return refuse(RefusalKind::Locked, "the show is locked for the performance; an edit host can unlock it (hostctl unlock BOX)");
        }
        match request {
            // The server answers hello itself.
            Request::Hello { .. } => Response::Done,
            Request::Status => self.status(),
            Request::Sessions => self.sessions(),
            Request::Command { at, command } => {
                match self.show.command(origin_of(peer), at, command) {
                    Ok(a) => Response::Accepted {
                        at_sample: a.at_sample,
                        lead_samples: a.lead_samples,
                    },
                    Err(Refusal { kind, message }) => refuse(kind, message),
                }
            }
            Request::GoNext { time } => match self.show.go_next(origin_of(peer), time) {
                Ok((cue, a)) => Response::Went {
                    clip: cue.clip.to_string(),
                    cue: cue.number.map(|n| n.to_string()),
                    at_sample: a.at_sample,
                },
                Err(Refusal { kind, message }) => refuse(kind, message),
            },
            Request::Page { page } => match self.show.page(page) {
                Ok(()) => Response::Done,
                Err(Refusal { kind, message }) => refuse(kind, message),
            },
            Request::Lock { locked } => {
                self.show.set_locked(locked);
                Response::Done
            }
            Request::Stage {
                session,
                manifest,
                media,
            } => self.stage(conn, &session, &manifest, &media),
            Request::Blob { hash, offset, data } => self.blob(conn, hash, offset, data),
            Request::BlobEnd { hash } => self.blob_end(conn, hash),
            Request::Activate { session, manifest } => {
                self.activate(conn, &session, manifest, origin_of(peer), None)
            }
            Request::ActivateAt {
                session,
                manifest,
                at_realtime_ns,
            } => self.activate(
                conn,
                &session,
                manifest,
                origin_of(peer),
                Some(at_realtime_ns),
            ),
            Request::Pull { session } => self.pull(conn, &session),
            Request::Fetch { hash, offset, len } => self.fetch(conn, hash, offset, len),
            Request::Remove { session } => self.remove(&session),
            Request::Journal { after, max } => self.journal(after, max),
            Request::CueSheet {
                session,
                span,
                format,
                depth,
            } => self.cuesheet(peer, session, &span, format, depth),
            Request::Annotate {
                session,
                work,
                changes,
            } => self.annotate(peer, session, &work, changes),
            Request::TechLog { kind, span, format } => self.techlog(peer, kind, &span, format),
            Request::LiveShow => match self.show.live_show() {
                Ok((session, show, generation)) => Response::LiveShow {
                    session,
                    generation,
                    manifest: serde_json::to_vec(&*show).expect("a show always serialises"),
                },
                Err(Refusal { kind, message }) => refuse(kind, message),
            },
            Request::Revise {
                session,
                generation,
                patch,
                what,
            } => self.revise(
                origin_of(peer),
                &session,
                (Some(generation), None),
                &patch,
                &what,
            ),
            Request::DeviceMap => self.device_map(),
            Request::SetDeviceMap { map } => self.set_device_map(&map),
            Request::PackageExport {
                session,
                mode,
                what,
                with_media,
            } => self.package_export(conn, session, &mode, what.as_deref(), with_media),
            Request::PackageOffer { hash, size } => self.package_offer(conn, hash, size),
            Request::PackageImport {
                session,
                package,
                policy,
                to,
                dry_run,
            } => self.package_import(peer, conn, session, package, policy, to.as_deref(), dry_run),
            // A live edit from a pair's main takes the path a host's does,
            // and is saved here too.
            Request::Pair(proto::PairMessage::Revise {
                at_sample,
                at_ptp,
                session,
                patch,
                what,
            }) => match self.show.pair_place(&peer.key, at_sample, at_ptp.as_ref()) {
                Ok(at) => self.revise(
                    Origin::new(Input::Pair, format!("{} (the main)", peer.addr)),
                    &session,
                    (None, Some(at)),
                    &patch,
                    &what,
                ),
                Err(Refusal { kind, message }) => refuse(kind, message),
            },
            Request::Pair(message) => self
                .show
                .pair(&peer.key, message)
                .unwrap_or_else(|Refusal { kind, message }| refuse(kind, message)),
            Request::Lease { peer: other, want } => {
                let me = peer.key.fingerprint();
                if other == me {
                    return refuse(
                        RefusalKind::BadRequest,
                        "a lease names the other unit of the pair, not the asking one",
                    );
                }
                match self.leases.ask(me, other, want, std::time::Instant::now()) {
                    Some(answer) => Response::Lease {
                        granted: answer.granted,
                        holder: answer.holder,
                        for_ms: answer.remaining.as_millis() as u64,
                    },
                    None => refuse(
                        RefusalKind::Busy,
                        format!(
                            "this box already arbitrates {} pairs as their witness",
                            crate::pair::witness::PAIRS
                        ),
                    ),
                }
            }
        }
    }
}
