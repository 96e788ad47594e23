//! The live show as remote inputs see it: the API (and show control) send
//! commands through here into the live box's request queue, read its
//! status, and ask it to switch sessions. Double-GO protection lives here,
//! so every remote input gets it; so does the show's live state (where the
//! playhead stands, the lock, live group levels), handed to the session's
//! auto-save at every change so a restart resumes it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use cuebox_engine::control::cues::{Cue, CueMap};
use cuebox_engine::control::revise::Cuts;
use cuebox_engine::control::{parse_command, At, Command};
use cuebox_engine::device::stats::Snapshot;
use cuebox_engine::show::{ClipId, PageNo, Runtime, Show};
pub use cuebox_engine::show::{Deck, Playhead};
use serde_json::json;

pub use crate::api::proto::Refusal;
use crate::api::proto::{Meter, MeterChannel, Playing, Queued, RefusalKind, Status};
use crate::api::service::{no_session, ShowControl, Started};
use crate::clocking::ClockStatus;
use crate::events::{BoxEvent, Publisher};
pub use crate::live::Accepted;
use crate::live::{Message, Request, Revise, StatusSource};
use crate::origin::Origin;
use crate::store::{Autosaver, Change};

/// Where the show's live state goes at every change: the session's
/// auto-save (`runtime.json` and the recovery points).
pub trait RuntimeSink: Send + Sync {
    /// The live state is now `runtime`; `change` says how much it matters.
    fn changed(&self, runtime: &Runtime, change: Change);
    /// The show was revised and saved as `show`: recovery points hold it
    /// from now on.
    fn show_saved(&self, show: &Show);
}

impl RuntimeSink for Autosaver {
    fn changed(&self, runtime: &Runtime, change: Change) {
        self.runtime_changed(runtime.clone(), change);
    }
    fn show_saved(&self, show: &Show) {
        self.saved(show);
    }
}

/// What status and show controllers need of the show: its clips' names and
/// groups, and its cue numbers.
#[derive(Debug, Clone, Default)]
pub struct ShowSummary {
    /// Every clip: id, name, group letter.
    pub clips: Vec<(ClipId, String, String)>,
    /// Its number of pages.
    pub pages: u16,
    /// Its buttons by cue number.
    pub cues: CueMap,
    /// Its pages, tabs and grids as the operator's page draws them.
    pub layout: Arc<crate::web::layout::Layout>,
}

impl ShowSummary {
    /// The name and group of `clip`.
    pub fn clip(&self, clip: &ClipId) -> Option<(&str, &str)> {
        self.clips
            .iter()
            .find(|(id, _, _)| id == clip)
            .map(|(_, name, group)| (name.as_str(), group.as_str()))
    }
}

/// The summary of `show`.
pub fn show_summary(show: &Show) -> ShowSummary {
    ShowSummary {
        clips: show
            .clips
            .iter()
            .map(|c| (c.id.clone(), c.name.clone(), c.group.to_string()))
            .collect(),
        pages: show.pages.len().min(usize::from(u16::MAX)) as u16,
        cues: CueMap::new(show),
        layout: Arc::new(crate::web::layout::Layout::of(show)),
    }
}

/// The session playing now, as the link reaches it.
pub struct Current {
    /// Its name.
    pub session: String,
    /// The live box's request queue.
    pub requests: Sender<Message>,
    /// The show as it plays (revised live, it is the revision).
    pub live: Arc<Show>,
    /// Its clips.
    pub ids: HashSet<ClipId>,
    /// The engine rate.
    pub rate: u32,
    /// Names and groups.
    pub show: Arc<ShowSummary>,
    /// Where status comes from.
    pub status: StatusSource,
    /// The live state the session resumes with.
    pub runtime: Runtime,
    /// The content hash of the show as it plays (its manifest's JSON, but
    /// the live state), hex: what a pair compares. Made when first asked
    /// for, so a box outside a pair never pays for it.
    digest: OnceLock<String>,
}

impl Current {
    /// The session `session` playing `show` through `requests` at `rate`,
    /// its status from `status`, resuming the show's live state.
    pub fn new(
        session: &str,
        show: Show,
        requests: Sender<Message>,
        rate: u32,
        status: StatusSource,
    ) -> Self {
        let runtime = show.runtime.clone();
        let mut current = Current {
            session: session.to_owned(),
            requests,
            live: Arc::new(show),
            ids: HashSet::new(),
            rate,
            show: Arc::default(),
            status,
            runtime,
            digest: OnceLock::new(),
        };
        current.revised(current.live.clone());
        current
    }

    /// The show plays as `show` now.
    fn revised(&mut self, show: Arc<Show>) {
        self.ids = show.clips.iter().map(|c| c.id.clone()).collect();
        self.show = Arc::new(show_summary(&show));
        self.digest = OnceLock::new();
        self.live = show;
    }

    /// The show's content hash (see `digest`).
    fn digest(&self) -> &str {
        self.digest.get_or_init(|| {
            // Without its live state (deck, lock, levels): a pair compares
            // that apart, as it is now, not as the session started with it.
            let compared = Show {
                runtime: Default::default(),
                ..(*self.live).clone()
            };
            let manifest = serde_json::to_vec(&compared).expect("a show always serialises");
            cuebox_engine::show::ContentHash::of_bytes(&manifest).to_string()
        })
    }
}

/// A revision the playing show took, as the link reports it.
#[derive(Debug, Clone)]
pub struct Revised {
    /// The show's edit generation now.
    pub generation: u64,
    /// What the box did with it.
    pub live: crate::live::Revised,
}

/// The protected path's and the clock's figures of the playing session,
/// as status reports them and the metrics log samples them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// The session.
    pub session: String,
    /// Show time now, seconds.
    pub show_seconds: f64,
    /// Processing time per period, p99, as a share of the period.
    pub dsp_load: f64,
    /// The longest period's processing time, as a share of the period.
    pub dsp_peak: f64,
    /// Periods played.
    pub periods: u64,
    /// Playback xruns so far (recovered).
    pub xruns: u64,
    /// Periods the card woke nobody for within 1.5 periods.
    pub poll_timeouts: u64,
    /// The card's rate against the system clock, ppm.
    pub card_ppm: f64,
    /// The clock source in use (`free`, `ltc`, `mtc`, `ptp`, `system`).
    pub clock_source: Option<String>,
    /// Whether the source in use is healthy (none while the clock runs free).
    pub clock_healthy: Option<bool>,
    /// The source in use's offset from the timebase, µs.
    pub clock_offset_us: Option<f64>,
    /// Every source's health.
    pub clock_sources: Vec<cuebox_engine::timecode::clock::Health>,
}

impl Metrics {
    /// The figures of `c` now, with its device's and clock's in full.
    fn of(c: &Current) -> (Metrics, Snapshot, ClockStatus) {
        let stats = c.status.playback.snapshot();
        let clock = lock(&c.status.clock).clone();
        let rate = f64::from(c.rate);
        let period_us = c.status.period as f64 * 1e6 / rate;
        let in_use = clock
            .sources
            .iter()
            .find(|h| Some(h.source) == clock.source);
        let now = lock(&c.status.board).now;
        let metrics = Metrics {
            session: c.session.clone(),
            show_seconds: now as f64 / rate,
            dsp_load: stats.process.p99_us as f64 / period_us,
            dsp_peak: stats.process.max_us as f64 / period_us,
            periods: stats.cycles,
            xruns: stats.xruns,
            poll_timeouts: stats.poll_timeouts,
            card_ppm: stats.card_ppm,
            clock_source: clock.source.map(|s| format!("{s:?}").to_lowercase()),
            clock_healthy: in_use.map(|h| h.healthy),
            clock_offset_us: in_use.map(|h| h.offset_us),
            clock_sources: clock.sources.clone(),
        };
        (metrics, stats, clock)
    }
}

/// The show's clock now, as the operator's page shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClockNow {
    /// The source the timebase follows (`ltc`, `mtc:<port>`, `ptp`,
    /// `system`), or `free`.
    pub source: String,
    /// The timebase's timecode now at the session's frame rate: the
    /// followed source's time, extrapolated between its frames.
    pub timecode: String,
    /// How the timebase stands to its source.
    pub state: ClockState,
}

/// How the timebase stands to the source it follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClockState {
    /// No source was ever followed: the sample counter alone.
    Free,
    /// Following a healthy source, within a quarter frame of it.
    Locked,
    /// Following a source it has not caught yet (slewing onto it, or the
    /// source unsteady).
    Chasing,
    /// The source was lost: the timebase runs on at its last rate.
    FreeWheeling,
}

impl ClockNow {
    /// The clock of `c` at its render clock now.
    fn of(c: &Current) -> Option<ClockNow> {
        use cuebox_engine::timecode::timebase::Source;
        let mapping = c.status.timebase.as_ref()?.read();
        let now = lock(&c.status.board).now + c.status.origin;
        let frames = mapping.tc_at(now).max(0.0) as u64;
        let sources = &c.live.time_sources;
        let timecode =
            cuebox_engine::timecode::Timecode::from_frames(frames, sources.frame_rate).to_string();
        // The clock thread's status is a second old at most; the mapping
        // is this moment's.
        let clock = lock(&c.status.clock);
        let followed = clock
            .current
            .as_ref()
            .and_then(|name| clock.sources.iter().find(|h| &h.name == name));
        let (source, state) = match (mapping.source, followed) {
            (Source::Free, _) if clock.switches > 0 => ("free".into(), ClockState::FreeWheeling),
            (Source::Free, _) => ("free".into(), ClockState::Free),
            (_, Some(h)) => {
                // Within a quarter frame (MTC's resolution): the timecode
                // shown is the source's.
                let quarter_frame_us = 1e6 / sources.frame_rate.fps() / 4.0;
                let caught = h.healthy && h.offset_us.abs() < quarter_frame_us;
                let state = match caught {
                    true => ClockState::Locked,
                    false => ClockState::Chasing,
                };
                (h.name.clone(), state)
            }
            // Switched since the clock thread last said which source it follows.
            (kind, None) => (format!("{kind:?}").to_lowercase(), ClockState::Chasing),
        };
        Some(ClockNow {
            source,
            timecode,
            state,
        })
    }
}

/// The refusal of a revision that cannot be made while the show plays:
/// every reason.
fn blocked(reasons: Vec<cuebox_engine::control::revise::Blocked>) -> Refusal {
    let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    Refusal::new(
        RefusalKind::Busy,
        format!("not while the show plays: {}", reasons.join("; ")),
    )
}

/// What an accepted command for now changes in the live state.
enum Went {
    /// A GO of this clip moves the playhead past it.
    Go(ClipId),
    /// A group's level, set live.
    Level(cuebox_engine::show::Group, f64),
}

/// The link between remote inputs and whatever session plays.
pub struct LiveLink {
    current: Mutex<Option<Current>>,
    switch: Mutex<Option<String>>,
    /// Why nothing plays, when a session should: the last failure to start.
    problem: Mutex<Option<String>>,
    /// Sessions attached, and starts that failed, so far: an activation
    /// waits for the next of either.
    starts: AtomicU64,
    /// The show's live state; the lock holds even while no session plays.
    runtime: Mutex<Runtime>,
    /// Where the playing session saves it (taken after `runtime`, never
    /// before).
    saver: Mutex<Option<Arc<dyn RuntimeSink>>>,
    guard: Duration,
    last_go: Mutex<HashMap<ClipId, Instant>>,
    /// The last bare GO (of the playhead's cue), from any input.
    last_bare_go: Mutex<Option<Instant>>,
    /// Where playhead moves are published.
    events: Publisher,
    /// The playing show's edit generation: a revision names the one it was
    /// made from, and one made from an older show is refused. Begun from
    /// the clock at each attach, so no generation of an earlier run is ever
    /// current again.
    generation: AtomicU64,
    /// Revisions are one at a time, so generations follow each other.
    revising: Mutex<()>,
    /// The box's pair, when it is in one: every accepted command goes to
    /// the backup, or direct commands are refused while the main lives.
    pair: OnceLock<Arc<crate::pair::Pair>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveLink {
    /// A link refusing a second GO of a clip within `guard`, publishing
    /// the playhead's moves to `events`.
    pub fn new(guard: Duration, events: Publisher) -> Self {
        LiveLink {
            current: Mutex::new(None),
            switch: Mutex::new(None),
            problem: Mutex::new(None),
            starts: AtomicU64::new(0),
            runtime: Mutex::new(Runtime::default()),
            saver: Mutex::new(None),
            guard,
            last_go: Mutex::new(HashMap::new()),
            last_bare_go: Mutex::new(None),
            events,
            generation: AtomicU64::new(0),
            revising: Mutex::new(()),
            pair: OnceLock::new(),
        }
    }

    /// Puts the box in `pair` (once, at the start of the run).
    pub fn set_pair(&self, pair: Arc<crate::pair::Pair>) {
        let _ = self.pair.set(pair);
    }

    /// The show sample the playback card plays at CLOCK_MONOTONIC `mono_ns`
    /// (fractional, from the card's published position); `None` while
    /// nothing plays.
    pub fn show_sample_at(&self, mono_ns: u64) -> Option<f64> {
        let current = lock(&self.current);
        let c = current.as_ref()?;
        let frame = c.status.card.as_ref()?.frame_at(mono_ns)?;
        Some(frame - c.status.origin as f64)
    }

    /// The CLOCK_MONOTONIC time (ns, fractional) at which the playback card
    /// plays show sample `sample`: the inverse of
    /// [`show_sample_at`](Self::show_sample_at); `None` while nothing plays.
    pub fn monotonic_at_show_sample(&self, sample: f64) -> Option<f64> {
        let current = lock(&self.current);
        let c = current.as_ref()?;
        c.status
            .card
            .as_ref()?
            .monotonic_at(sample + c.status.origin as f64)
    }

    /// The playing session's PTP port, when it runs PTP.
    pub fn ptp(&self) -> Option<crate::clocking::ptp::PtpView> {
        lock(&self.current).as_ref()?.status.ptp.clone()
    }

    /// The voices on the board now; `None` while nothing plays.
    pub fn voices(&self) -> Option<Vec<crate::live::OnBoard>> {
        let current = lock(&self.current);
        let c = current.as_ref()?;
        let voices = lock(&c.status.board).voices.clone();
        Some(voices)
    }

    /// The voices that played at show sample `at` (`None`: `lag` samples
    /// before the control thread's clock), with that sample; `None` while
    /// nothing plays.
    pub fn voices_at(&self, at: Option<u64>, lag: u64) -> Option<(u64, Vec<crate::live::OnBoard>)> {
        let current = lock(&self.current);
        let c = current.as_ref()?;
        let board = lock(&c.status.board);
        let at = at.unwrap_or(board.now.saturating_sub(lag));
        Some((at, board.at(at)))
    }

    /// The content hash of the show as it plays; `None` while nothing plays.
    pub fn show_digest(&self) -> Option<String> {
        lock(&self.current).as_ref().map(|c| c.digest().to_owned())
    }

    /// A pair's backup adopts its main's playing state as `adopt` says.
    pub fn adopt(&self, adopt: crate::live::Adopt) -> Result<(), Refusal> {
        let current = lock(&self.current);
        let c = current.as_ref().ok_or_else(|| self.no_session())?;
        c.requests
            .send(Message::Adopt(adopt))
            .map_err(|_| Refusal::new(RefusalKind::Failed, "the show is stopping"))
    }

    /// What decides where a timecode cue fires, in a pair.
    pub fn cue_tap(&self) -> Option<Arc<dyn crate::live::CueTap>> {
        let pair = self.pair.get()?.clone();
        Some(pair)
    }

    /// The render clock as the control thread last saw it (show sample),
    /// the engine rate and the period; `None` while nothing plays.
    pub fn render_now(&self) -> Option<(u64, u32, u64)> {
        let current = lock(&self.current);
        let c = current.as_ref()?;
        let now = lock(&c.status.board).now;
        Some((now, c.rate, c.status.period))
    }

    /// The show's clock now; none while nothing plays (or no clock runs).
    pub fn clock_now(&self) -> Option<ClockNow> {
        lock(&self.current).as_ref().and_then(ClockNow::of)
    }

    /// The playing session's figures now; none while nothing plays.
    pub fn metrics(&self) -> Option<Metrics> {
        lock(&self.current).as_ref().map(|c| Metrics::of(c).0)
    }

    /// A session started playing, resuming `current.runtime` (a lock set
    /// while nothing played stays on) and saving its changes to `saver`.
    pub fn attach(&self, mut current: Current, saver: Arc<dyn RuntimeSink>) {
        let mut runtime = std::mem::take(&mut current.runtime);
        let lock_kept = self.locked() && !runtime.locked;
        runtime.locked |= lock_kept;
        *lock(&self.saver) = Some(saver.clone());
        *lock(&self.current) = Some(current);
        let now = jiff::Timestamp::now().as_millisecond().max(0) as u64;
        self.generation.fetch_max(now, Ordering::AcqRel);
        self.generation.fetch_add(1, Ordering::AcqRel);
        *lock(&self.problem) = None;
        lock(&self.last_go).clear();
        self.starts.fetch_add(1, Ordering::Release);
        // What the session saved needs no saving again; a lock it did not
        // have does.
        self.change(None, |r| *r = runtime);
        if lock_kept {
            saver.changed(&lock(&self.runtime), Change::Significant);
        }
    }

    /// A session could not start: `problem` says why, for status and the
    /// host that activated it. The run retries it.
    pub fn failed(&self, problem: String) {
        *lock(&self.problem) = Some(problem);
        self.starts.fetch_add(1, Ordering::Release);
    }

    /// Why nothing plays, if a session failed to start.
    pub fn problem(&self) -> Option<String> {
        lock(&self.problem).clone()
    }

    /// The refusal of a show command while nothing plays: why, when a
    /// session failed to start.
    fn no_session(&self) -> Refusal {
        match self.problem() {
            Some(problem) => Refusal::new(
                RefusalKind::Failed,
                format!("the box plays no session: it {problem}; it tries again every few seconds (hostctl status BOX shows the problem)"),
            ),
            None => no_session(),
        }
    }

    /// The session stopped playing.
    pub fn detach(&self) {
        *lock(&self.current) = None;
        *lock(&self.saver) = None;
    }

    /// The session a host activated, once.
    pub fn take_switch(&self) -> Option<String> {
        lock(&self.switch).take()
    }

    /// The page grid controllers play.
    pub fn page_now(&self) -> u16 {
        self.deck().place.page.0.get()
    }

    /// Whether the show is locked for the performance.
    pub fn locked(&self) -> bool {
        lock(&self.runtime).locked
    }

    /// Locks or unlocks the show; saved with the session's live state.
    /// A pair's main locks its backup too.
    pub fn set_locked(&self, locked: bool) {
        self.change(Some(Change::Significant), |r| r.locked = locked);
        if let Some(pair) = self.pair.get() {
            pair.locked(locked);
        }
    }

    /// The group levels set live, in dB.
    pub fn group_levels(&self) -> std::collections::BTreeMap<cuebox_engine::show::Group, f64> {
        lock(&self.runtime).group_levels.clone()
    }

    /// The shortest time between two GOs of one clip.
    pub fn double_go_guard(&self) -> Duration {
        self.guard
    }

    /// Where show controllers are.
    pub fn deck(&self) -> Deck {
        lock(&self.runtime).deck
    }

    /// The playing show's summary (cue numbers, clip names).
    pub fn show(&self) -> Result<Arc<ShowSummary>, Refusal> {
        let current = lock(&self.current);
        Ok(current
            .as_ref()
            .ok_or_else(|| self.no_session())?
            .show
            .clone())
    }

    /// Changes where show controllers are (a page's playhead starts at its top).
    pub fn set_deck(&self, deck: Deck) {
        self.move_deck(|d| *d = deck);
    }

    /// Changes the deck through `change`.
    fn move_deck(&self, change: impl FnOnce(&mut Deck)) {
        self.change(Some(Change::Significant), |r| change(&mut r.deck));
    }

    /// Changes the live state through `edit`. A change to `save` is handed
    /// to the session's auto-save (in order: under the lock, and the
    /// hand-over does no I/O), a move of the deck is published as a
    /// `playhead` event (page, tab and the cue now at the playhead), a lock
    /// as a `lock` event.
    fn change(&self, save: Option<Change>, edit: impl FnOnce(&mut Runtime)) {
        let (before, after) = {
            let mut runtime = lock(&self.runtime);
            let before = runtime.clone();
            edit(&mut runtime);
            if let Some(change) = save.filter(|_| *runtime != before) {
                if let Some(saver) = lock(&self.saver).as_ref() {
                    saver.changed(&runtime, change);
                }
            }
            (before, runtime.clone())
        };
        if before.locked != after.locked {
            self.events.send(BoxEvent::Lock {
                locked: after.locked,
            });
        }
        if before.deck == after.deck {
            return;
        }
        let after = after.deck;
        let cue = self.playhead().ok().flatten();
        self.events.send(BoxEvent::Playhead {
            page: after.place.page.0.get(),
            tab: after.place.tab.number(),
            cue: cue.as_ref().and_then(|c| c.number).map(|n| n.to_string()),
            clip: cue.map(|c| c.clip),
        });
    }

    /// The playing session's name, its show as it plays, and the show's
    /// edit generation.
    pub fn live_show(&self) -> Result<(String, Arc<Show>, u64), Refusal> {
        let current = lock(&self.current);
        let c = current.as_ref().ok_or_else(|| self.no_session())?;
        Ok((
            c.session.clone(),
            c.live.clone(),
            self.generation.load(Ordering::Acquire),
        ))
    }

    /// Whether revising the playing show into `show` could be done now
    /// (what plays may change before it is).
    pub fn may_revise(&self, show: &Show, cuts: Cuts) -> Result<(), Refusal> {
        let current = lock(&self.current);
        let c = current.as_ref().ok_or_else(|| self.no_session())?;
        let playing = lock(&c.status.board)
            .voices
            .iter()
            .map(|v| v.clip.clone())
            .collect();
        cuebox_engine::control::revise::revise(&c.live, show, &playing, cuts)
            .map(drop)
            .map_err(blocked)
    }

    /// Revises the playing show into `show`, made from generation `from`
    /// (`None`: whatever plays, as a push of the session does): the control
    /// thread ramps what plays and arms what is new; saving is the
    /// caller's, then [`saved`](Self::saved). Refused when the show was
    /// revised since `from`, or when the revision would cut a playing clip.
    ///
    /// Its glides start at show sample `at`, or as soon as they can (after
    /// the pair's pre-roll on a main, so the backup glides at the same
    /// instant).
    pub fn revise(
        &self,
        origin: Origin,
        from: Option<u64>,
        show: Show,
        cuts: Cuts,
        at: Option<u64>,
    ) -> Result<Revised, Refusal> {
        let at = at.or_else(|| self.pair.get().and_then(|p| p.preroll(self)));
        let _one = lock(&self.revising);
        let generation = self.generation.load(Ordering::Acquire);
        if from.is_some_and(|g| g != generation) {
            return Err(Refusal::new(
                RefusalKind::Stale,
                format!("the show on the box changed since generation {} was read (it is at {generation} now)", from.unwrap_or(0)),
            ));
        }
        let show = Arc::new(show);
        let (tx, rx) = mpsc::channel();
        {
            let current = lock(&self.current);
            let c = current.as_ref().ok_or_else(|| self.no_session())?;
            c.requests
                .send(Message::Revise(Revise {
                    show: show.clone(),
                    origin,
                    cuts,
                    at,
                    reply: tx,
                }))
                .map_err(|_| Refusal::new(RefusalKind::Failed, "the show is stopping"))?;
        }
        let live = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| {
                Refusal::new(
                    RefusalKind::Failed,
                    "the show did not answer; it may be stopping",
                )
            })?
            .map_err(blocked)?;
        if !live.revision.needs_restart() {
            if let Some(c) = lock(&self.current).as_mut() {
                c.revised(show);
            }
        }
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        Ok(Revised { generation, live })
    }

    /// The revised show was saved as `show`: the auto-save's recovery
    /// points hold it, and the live state is written again beside it.
    pub fn saved(&self, show: &Show) {
        let runtime = lock(&self.runtime);
        if let Some(saver) = lock(&self.saver).as_ref() {
            saver.show_saved(show);
            saver.changed(&runtime, Change::Significant);
        }
    }

    /// Makes `page` the one grid controllers play (its playhead at its
    /// top); a pair's main turns its backup's page too.
    pub fn turn_page(&self, page: u16) -> Result<(), Refusal> {
        let current = lock(&self.current);
        let c = current.as_ref().ok_or_else(|| self.no_session())?;
        if page == 0 || page > c.show.pages {
            return Err(Refusal::new(
                RefusalKind::NotFound,
                format!(
                    "page {page} is not in the session (it has pages 1 to {})",
                    c.show.pages
                ),
            ));
        }
        let page = PageNo::new(page).expect("page 0 was refused above");
        drop(current);
        self.move_deck(|deck| {
            deck.place.page = page;
            deck.playhead = Playhead::Top;
        });
        if let Some(pair) = self.pair.get() {
            pair.paged(page.0.get());
        }
        Ok(())
    }

    /// The cue at the playhead, if it stands on one.
    pub fn playhead(&self) -> Result<Option<Cue>, Refusal> {
        let show = self.show()?;
        let deck = self.deck();
        Ok(match deck.playhead {
            Playhead::Top => show.cues.next(deck.place, None),
            Playhead::At(b) => show.cues.next(deck.place, Some(b.saturating_sub(1))),
            Playhead::End => None,
        })
    }

    /// A command line as the local inputs write it (stdin, the control
    /// socket: `{"cmd": "go", "clip": "c1"}`, with `at` or `at_sample` for a
    /// show time), checked against the playing session, then as
    /// [`ShowControl::command`].
    pub fn command_line(&self, origin: Origin, line: &str) -> Result<Accepted, Refusal> {
        let (at, command) = {
            let current = lock(&self.current);
            let c = current.as_ref().ok_or_else(|| self.no_session())?;
            let ids = c.ids.iter().collect();
            parse_command(line.as_bytes(), &ids, c.rate)
                .map_err(|e| Refusal::new(RefusalKind::BadRequest, e.to_string()))?
        };
        self.submit(origin, at, command)
    }

    /// A bare GO, from any input: starts the cue at the playhead (which
    /// then moves past it, as every GO moves it). A second bare GO within
    /// the minimum GO time is refused, whatever cue it would start.
    pub fn go_next(&self, origin: Origin, time: Option<f64>) -> Result<(Cue, Accepted), Refusal> {
        let mut last = lock(&self.last_bare_go);
        let cue = self.playhead()?.ok_or_else(|| self.nothing_here())?;
        let now = Instant::now();
        if let Some(since) = last.map(|t| now.saturating_duration_since(t)) {
            if since < self.guard {
                return Err(Refusal::new(
                    RefusalKind::TooSoon,
                    format!(
                        "GO {} ms after the last GO: within the minimum GO time of {} ms a \
                         second GO is refused, whatever cue it would start",
                        since.as_millis(),
                        self.guard.as_millis()
                    ),
                ));
            }
        }
        let go = Command::Go {
            clip: cue.clip.clone(),
            time,
        };
        let accepted = self.submit(origin.for_cue(cue.number), None, go)?;
        *last = Some(now);
        Ok((cue, accepted))
    }

    /// Why a bare GO has nothing to start.
    fn nothing_here(&self) -> Refusal {
        let deck = self.deck();
        let (page, tab) = (deck.place.page, deck.place.tab.number());
        let message = match deck.playhead {
            Playhead::End => format!(
                "the playhead is past the last cue of page {page} tab {tab}: a GO never wraps to \
                 the top; move it (/playhead/previous, /reset, MSC LOAD) first"
            ),
            _ => format!(
                "page {page} tab {tab} has no cue to GO: choose another page (hostctl page) or \
                 assign buttons"
            ),
        };
        Refusal::new(RefusalKind::NotFound, message)
    }

    /// After a GO of `clip`, from any input: the playhead stands on the cue
    /// after its button, when its button is on the controllers' page and tab
    /// (past the last cue: at the end).
    fn advance_past(&self, clip: &ClipId) {
        let Ok(show) = self.show() else { return };
        let Some(number) = show.cues.number_of(clip) else {
            return;
        };
        self.move_deck(|deck| {
            if number.place() == deck.place {
                deck.playhead = show
                    .cues
                    .next(deck.place, Some(number.button))
                    .and_then(|c| c.number)
                    .map_or(Playhead::End, |n| Playhead::At(n.button));
            }
        });
    }

    /// The one way a command reaches the show, from every input: checked
    /// (clips, ranges), protected against a double GO when it is for now
    /// (`at` `None`; a timeline's entries are not presses), sent with its
    /// origin and stamped by the control thread with the show sample it
    /// applies at. A GO or a group level for now changes the live state.
    ///
    /// In a pair, the backup refuses it while its main lives (unless
    /// overridden), and the main applies a command for now after the
    /// pair's pre-roll and sends every command it accepts to the backup
    /// (docs/pair.md).
    pub fn submit(
        &self,
        origin: Origin,
        at: Option<At>,
        command: Command,
    ) -> Result<Accepted, Refusal> {
        let Some(pair) = self.pair.get() else {
            return self.enter(origin, at, command, at.is_none(), at.is_none());
        };
        pair.admit(&origin)?;
        let press = at.is_none();
        let at = at.or_else(|| pair.preroll(self).map(At::Sample));
        let forward = pair.forwards().then(|| command.clone());
        let accepted = self.enter(origin.clone(), at, command, press, press)?;
        if let Some(command) = forward {
            pair.accepted(&origin, accepted, command, press);
        }
        Ok(accepted)
    }

    /// A command the main of this box's pair accepted, applied here at
    /// show sample `at_sample`; `press` as it was on the main (the main
    /// already guarded it against a double GO).
    pub fn submit_forwarded(
        &self,
        origin: Origin,
        at_sample: u64,
        command: Command,
        press: bool,
    ) -> Result<Accepted, Refusal> {
        self.enter(origin, Some(At::Sample(at_sample)), command, press, false)
    }

    /// [`submit`](Self::submit) past the pair: `press` says whether it
    /// changes the live state as a press for now does, `guard` whether it
    /// is protected against a double GO.
    fn enter(
        &self,
        origin: Origin,
        at: Option<At>,
        command: Command,
        press: bool,
        guard: bool,
    ) -> Result<Accepted, Refusal> {
        let went;
        let answer = {
            let current = lock(&self.current);
            let c = current.as_ref().ok_or_else(|| self.no_session())?;
            command.check_ranges().map_err(|(field, why)| {
                Refusal::new(RefusalKind::BadRequest, format!("{field}: {why}"))
            })?;
            // A clip a push removed while it played can still be stopped.
            let known = |clip: &ClipId| {
                c.ids.contains(clip) || lock(&c.status.board).voices.iter().any(|v| &v.clip == clip)
            };
            if let Some((field, clip)) = command.clips().find(|(_, clip)| !known(clip)) {
                return Err(Refusal::new(
                    RefusalKind::NotFound,
                    format!("{field}: clip \"{clip}\" is not in the session"),
                ));
            }
            if guard {
                self.double_go(&command)?;
            }
            // A GO for now moves the playhead, a level for now is kept
            // with the live state; a timeline's (`at`) is not a press, and
            // changes nothing when it is scheduled.
            went = match (&command, press) {
                (Command::Go { clip, .. }, true) => Some(Went::Go(clip.clone())),
                (
                    Command::GroupLevel {
                        group, level_db, ..
                    },
                    true,
                ) => Some(Went::Level(*group, *level_db)),
                _ => None,
            };
            let (tx, rx) = mpsc::channel();
            let request = Message::Command(Request {
                origin,
                at,
                command,
                reply: Some(tx),
            });
            c.requests
                .send(request)
                .map_err(|_| Refusal::new(RefusalKind::Failed, "the show is stopping"))?;
            rx
        };
        let accepted = answer.recv_timeout(Duration::from_secs(2)).map_err(|_| {
            Refusal::new(
                RefusalKind::Failed,
                "the show did not answer; it may be stopping",
            )
        })?;
        match went {
            Some(Went::Go(clip)) => self.advance_past(&clip),
            Some(Went::Level(group, level)) => self.change(Some(Change::Minor), |r| {
                r.group_levels.insert(group, level);
            }),
            None => {}
        }
        Ok(accepted)
    }

    /// Refuses a GO that comes too soon after the last GO of the same clip.
    fn double_go(&self, command: &Command) -> Result<(), Refusal> {
        let Command::Go { clip, .. } = command else {
            return Ok(());
        };
        let now = Instant::now();
        let mut last = lock(&self.last_go);
        if let Some(t) = last.get(clip) {
            let since = now.saturating_duration_since(*t);
            if since < self.guard {
                return Err(Refusal::new(
                    RefusalKind::TooSoon,
                    format!(
                        "GO of {clip} {} ms after the last one: double-GO protection ignores GOs within {} ms",
                        since.as_millis(),
                        self.guard.as_millis()
                    ),
                ));
            }
        }
        last.insert(clip.clone(), now);
        Ok(())
    }
}

impl ShowControl for Arc<LiveLink> {
    fn status(&self) -> Status {
        let current = lock(&self.current);
        let Some(c) = current.as_ref() else {
            return Status {
                problem: self.problem(),
                pair: self.pair.get().map(|p| p.status()),
                ..Status::default()
            };
        };
        let board = lock(&c.status.board).clone();
        let rate = f64::from(c.rate);
        let playing = board
            .voices
            .iter()
            .filter_map(|v| {
                let (name, group) = c.show.clip(&v.clip)?;
                Some(Playing {
                    clip: v.clip.to_string(),
                    name: name.to_owned(),
                    group: group.to_owned(),
                    position: v.position(board.now) as f64 / rate,
                    paused: v.paused_at.is_some(),
                })
            })
            .collect();
        let mut queued: Vec<Queued> = board
            .queued
            .iter()
            .filter_map(|q| {
                let (name, group) = c.show.clip(&q.clip)?;
                Some(Queued {
                    clip: q.clip.to_string(),
                    name: name.to_owned(),
                    group: group.to_owned(),
                    at_sample: q.at_sample,
                    due_in: q.at_sample.saturating_sub(board.now) as f64 / rate,
                })
            })
            .collect();
        queued.sort_by_key(|q| q.at_sample);
        let meters = board
            .meters
            .readings()
            .map(|(bus, channels)| Meter {
                bus: bus.to_string(),
                channels: channels
                    .iter()
                    .map(|r| MeterChannel {
                        peak_dbfs: r.peak,
                        hold_dbfs: r.hold,
                        rms_dbfs: r.rms,
                    })
                    .collect(),
            })
            .collect();
        let (metrics, stats, clock) = Metrics::of(c);
        Status {
            session: Some(c.session.clone()),
            page: self.page_now(),
            show_seconds: board.now as f64 / rate,
            rate: c.rate,
            playing,
            queued,
            meters,
            xruns: metrics.xruns,
            dsp_load: metrics.dsp_load,
            clock_source: metrics.clock_source,
            clock_health: clock
                .sources
                .iter()
                .map(|h| {
                    format!(
                        "{}: {} offset {:+.1} µs jitter {:.1} µs{}",
                        h.name,
                        if h.healthy { "healthy" } else { "unhealthy" },
                        h.offset_us,
                        h.jitter_us,
                        h.note
                            .as_deref()
                            .map(|n| format!(" ({n})"))
                            .unwrap_or_default()
                    )
                })
                .collect(),
            detail: json!({"playback": stats, "clock": clock}).to_string(),
            device: Some(c.status.device.clone()),
            pair: self.pair.get().map(|p| p.status()),
            unplayable: board
                .unplayable
                .iter()
                .map(|(clip, why)| format!("{clip}: {why}"))
                .collect(),
            ..Status::default()
        }
    }

    fn command(
        &self,
        origin: Origin,
        at: Option<At>,
        command: Command,
    ) -> Result<Accepted, Refusal> {
        self.submit(origin, at, command)
    }

    fn go_next(&self, origin: Origin, time: Option<f64>) -> Result<(Cue, Accepted), Refusal> {
        LiveLink::go_next(self, origin, time)
    }

    fn locked(&self) -> bool {
        LiveLink::locked(self)
    }

    fn set_locked(&self, locked: bool) {
        LiveLink::set_locked(self, locked)
    }

    fn page(&self, page: u16) -> Result<(), Refusal> {
        self.turn_page(page)
    }

    fn live_show(&self) -> Result<(String, Arc<Show>, u64), Refusal> {
        LiveLink::live_show(self)
    }
    fn may_revise(&self, show: &Show, cuts: Cuts) -> Result<(), Refusal> {
        LiveLink::may_revise(self, show, cuts)
    }
    fn revise(
        &self,
        origin: Origin,
        from: Option<u64>,
        show: Show,
        cuts: Cuts,
        at: Option<u64>,
    ) -> Result<Revised, Refusal> {
        LiveLink::revise(self, origin, from, show, cuts, at)
    }
    fn saved(&self, show: &Show) {
        LiveLink::saved(self, show);
    }
    fn show_sample_at(&self, mono_ns: u64) -> Option<f64> {
        LiveLink::show_sample_at(self, mono_ns)
    }
    fn revision_taken(&self, session: &str, patch: Vec<u8>, what: &str, at_sample: u64) {
        if let Some(pair) = self.pair.get() {
            pair.revision_taken(session, patch, what, at_sample);
        }
    }
    fn pair_place(
        &self,
        from: &crate::api::PublicKey,
        at_sample: u64,
        at_ptp: Option<&crate::api::proto::PtpInstant>,
    ) -> Result<u64, Refusal> {
        let pair = self
            .pair
            .get()
            .ok_or_else(crate::api::service::not_paired)?;
        pair.follow_main(from)?;
        Ok(pair.place(self, at_sample, at_ptp))
    }
    fn pair(
        &self,
        from: &crate::api::PublicKey,
        message: crate::api::proto::PairMessage,
    ) -> Result<crate::api::proto::Response, Refusal> {
        match self.pair.get() {
            Some(pair) => pair.from_main(self, from, message),
            None => Err(crate::api::service::not_paired()),
        }
    }
    fn may_replace(&self) -> Result<(), Refusal> {
        let current = lock(&self.current);
        let playing = current
            .as_ref()
            .map_or(0, |c| lock(&c.status.board).voices.len());
        if playing > 0 {
            return Err(Refusal::new(
                RefusalKind::Busy,
                format!("{playing} clip(s) are playing; the box switches sessions only when nothing plays: stop them (hostctl stop-all BOX) and push again"),
            ));
        }
        Ok(())
    }

    /// Asks the run to switch, and waits (up to 20 s) until the new session
    /// plays or fails to start: when a push returns, commands reach the new
    /// show, never the old one on its way out or a box between the two, and
    /// a session that cannot play says why.
    fn activated(&self, session: &str) -> Started {
        let before = self.starts.load(Ordering::Acquire);
        *lock(&self.switch) = Some(session.to_owned());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.starts.load(Ordering::Acquire) > before {
                let playing = lock(&self.current)
                    .as_ref()
                    .is_some_and(|c| c.session == session);
                return match (playing, self.problem()) {
                    (true, _) => Started::Playing,
                    (false, Some(problem)) => Started::Failed(problem),
                    (false, None) => Started::NotYet,
                };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Started::NotYet
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuebox_engine::fixtures::{add_clip, described_audio, placement};
    use cuebox_engine::show::{Channels, GridDims, Group};

    /// A link to a show of three clips on buttons 1–3 of page 1 tab 1, with
    /// a control thread that stamps each request and counts the GOs.
    fn linked(guard_ms: u64) -> (LiveLink, Gone, Arc<Saved>) {
        let mut show = Show::new(
            "link",
            "media",
            GridDims::new(2, 4).unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        for n in 1..=3u16 {
            let file = format!("c{n}.wav");
            let audio = described_audio(&file, Channels::Stereo, 48_000);
            add_clip(&mut show, &file, Group::A, audio, placement(1, 1, 1, n));
        }
        let (requests, taken) = mpsc::channel::<Message>();
        let gone = Arc::new(Mutex::new(Vec::new()));
        let log = gone.clone();
        std::thread::spawn(move || {
            for (n, message) in taken.iter().enumerate() {
                let r = match message {
                    Message::Command(r) => r,
                    // Nothing plays: every revision is taken, changing nothing.
                    Message::Revise(r) => {
                        let _ = r.reply.send(Ok(crate::live::Revised {
                            revision: Default::default(),
                            at_sample: n as u64,
                        }));
                        continue;
                    }
                    Message::Adopt(_) => continue,
                };
                if let Command::Go { clip, .. } = &r.command {
                    lock(&log).push((clip.clone(), r.origin.clone()));
                }
                if let Some(reply) = r.reply {
                    let _ = reply.send(Accepted {
                        at_sample: n as u64,
                        lead_samples: 256,
                    });
                }
            }
        });
        let link = LiveLink::new(Duration::from_millis(guard_ms), Publisher::new());
        let saved = Arc::new(Saved::default());
        link.attach(
            Current::new("link", show, requests, 48_000, status_source()),
            saved.clone(),
        );
        (link, gone, saved)
    }

    /// Status of a show that plays nothing, at 48 kHz in 256-frame periods.
    fn status_source() -> crate::live::StatusSource {
        crate::live::StatusSource {
            board: Default::default(),
            playback: Default::default(),
            clock: Default::default(),
            rate: 48_000,
            period: 256,
            device: Default::default(),
            card: None,
            ptp: None,
            origin: 0,
            timebase: None,
        }
    }

    /// The clock line's source, timecode and state, from the timebase and
    /// the clock thread's status: free, locked, chasing, free-wheeling.
    #[test]
    fn the_clock_line_names_the_chased_source_its_timecode_and_how_close_it_is() {
        use cuebox_engine::timecode::clock::Health;
        use cuebox_engine::timecode::timebase::{timebase, Mapping, Source};
        let (mut writer, reader) = timebase(Mapping::free(48_000, 25.0));
        let status = crate::live::StatusSource {
            timebase: Some(reader),
            ..status_source()
        };
        let (clock, board) = (status.clock.clone(), status.board.clone());
        let show = Show::new(
            "clock",
            "media",
            GridDims::new(1, 1).unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        let link = LiveLink::new(Duration::ZERO, Publisher::new());
        let requests = mpsc::channel().0;
        link.attach(
            Current::new("clock", show, requests, 48_000, status),
            Arc::new(Saved::default()),
        );
        let now = || link.clock_now().unwrap();
        assert_eq!(
            (now().source.as_str(), now().timecode.as_str(), now().state),
            ("free", "00:00:00:00", ClockState::Free)
        );
        // LTC said 10:00:00:00 at sample 0; the render clock is a second on.
        writer.publish(Mapping {
            tc_frames: 10.0 * 3600.0 * 25.0,
            source: Source::Ltc,
            ..Mapping::free(48_000, 25.0)
        });
        lock(&board).now = 48_000;
        let ltc = |offset_us: f64, healthy: bool| crate::clocking::ClockStatus {
            source: Some(Source::Ltc),
            current: Some("ltc".into()),
            sources: vec![Health {
                source: Source::Ltc,
                name: "ltc".into(),
                healthy,
                note: None,
                offset_us,
                jitter_us: 50.0,
                stability: 0.99,
            }],
            switches: 1,
            ..Default::default()
        };
        *lock(&clock) = ltc(300.0, true);
        assert_eq!(
            (now().source.as_str(), now().timecode.as_str(), now().state),
            ("ltc", "10:00:01:00", ClockState::Locked)
        );
        // More than a quarter frame (10 ms at 25 fps) off: still catching it.
        *lock(&clock) = ltc(-12_000.0, true);
        assert_eq!(now().state, ClockState::Chasing);
        *lock(&clock) = ltc(0.0, false);
        assert_eq!(now().state, ClockState::Chasing);
        // The LTC lost: the timebase runs on from where it was.
        writer.publish(Mapping {
            tc_frames: 10.0 * 3600.0 * 25.0,
            source: Source::Free,
            ..Mapping::free(48_000, 25.0)
        });
        *lock(&clock) = crate::clocking::ClockStatus {
            switches: 2,
            ..Default::default()
        };
        lock(&board).now = 96_000;
        assert_eq!(
            (now().source.as_str(), now().timecode.as_str(), now().state),
            ("free", "10:00:02:00", ClockState::FreeWheeling)
        );
        let json = serde_json::to_value(now()).unwrap();
        assert_eq!(json["state"], "free-wheeling");
    }

    /// The GOs the control thread took, with their origins.
    type Gone = Arc<Mutex<Vec<(ClipId, Origin)>>>;

    /// The clips of the GOs taken, in order.
    fn clips(gone: &Gone) -> Vec<ClipId> {
        lock(gone).iter().map(|(c, _)| c.clone()).collect()
    }

    /// An OSC sender's origin.
    fn osc() -> Origin {
        Origin::new(crate::origin::Input::Osc, "10.0.0.5:53000")
    }

    /// The live states handed to auto-save, in order.
    #[derive(Default)]
    struct Saved(Mutex<Vec<(Runtime, Change)>>, Mutex<Vec<Show>>);

    impl RuntimeSink for Saved {
        fn changed(&self, runtime: &Runtime, change: Change) {
            lock(&self.0).push((runtime.clone(), change));
        }
        fn show_saved(&self, show: &Show) {
            lock(&self.1).push(show.clone());
        }
    }

    impl Saved {
        fn last(&self) -> Option<(Runtime, Change)> {
            lock(&self.0).last().cloned()
        }
        fn count(&self) -> usize {
            lock(&self.0).len()
        }
    }

    fn clip(n: u16) -> ClipId {
        format!("c{n}").parse().unwrap()
    }

    #[test]
    fn a_second_bare_go_within_the_minimum_go_time_is_refused_whatever_it_would_start() {
        let (link, gone, _) = linked(300);
        let (cue, _) = link.go_next(osc(), None).unwrap();
        assert_eq!(cue.clip, clip(1));
        // 176 ms later, as an operator's double tap: the next cue is c2, a
        // different clip, and still nothing starts.
        std::thread::sleep(Duration::from_millis(176));
        let Refusal { kind, message: why } = link.go_next(osc(), None).unwrap_err();
        assert_eq!(kind, RefusalKind::TooSoon);
        assert!(why.contains("minimum GO time of 300 ms"), "{why}");
        assert_eq!(clips(&gone), [clip(1)]);
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(link.go_next(osc(), None).unwrap().0.clip, clip(2));
        assert_eq!(clips(&gone), [clip(1), clip(2)]);
    }

    #[test]
    fn every_inputs_origin_travels_with_its_command_to_the_control_thread() {
        let (link, gone, _) = linked(0);
        link.go_next(osc(), None).unwrap();
        let stdin = Origin::local(crate::origin::Input::Stdin);
        link.command_line(stdin.clone(), r#"{"cmd": "go", "clip": "c3"}"#)
            .unwrap();
        assert_eq!(
            *lock(&gone),
            [
                (
                    clip(1),
                    Origin {
                        cue: Some("1.1.1".into()),
                        ..osc()
                    }
                ),
                (clip(3), stdin)
            ],
            "each GO reached the show with where it came from (a bare GO with its cue)"
        );
    }

    #[test]
    fn every_change_of_the_live_state_reaches_auto_save_and_nothing_else_does() {
        let (link, _, saved) = linked(0);
        // The state a session resumes with was saved already.
        assert_eq!(saved.count(), 0);
        link.go_next(osc(), None).unwrap();
        let (runtime, change) = saved.last().unwrap();
        assert_eq!(runtime.deck.playhead, Playhead::At(2));
        assert_eq!(change, Change::Significant);
        link.set_locked(true);
        assert!(saved.last().unwrap().0.locked);
        let level = |group, level_db| Command::GroupLevel {
            group,
            level_db,
            time: None,
        };
        link.submit(osc(), None, level(Group::B, -6.0)).unwrap();
        let (runtime, change) = saved.last().unwrap();
        assert_eq!(runtime.group_levels.get(&Group::B), Some(&-6.0));
        assert!(runtime.locked, "a level change keeps the lock");
        assert_eq!(change, Change::Minor);
        // Refused, repeated or scheduled: nothing new to save.
        let before = saved.count();
        assert!(link.submit(osc(), None, level(Group::B, 40.0)).is_err());
        link.set_locked(true);
        link.submit(osc(), Some(At::Sample(480_000)), level(Group::C, -3.0))
            .unwrap();
        assert_eq!(saved.count(), before);
    }

    #[test]
    fn status_names_the_clips_that_cannot_play() {
        let (link, _, _) = linked(0);
        let board = lock(&link.current).as_ref().unwrap().status.board.clone();
        lock(&board).unplayable = vec![(clip(2), "not playable: c2.wav: cannot open it".into())];
        let status = ShowControl::status(&Arc::new(link));
        assert_eq!(
            status.unplayable,
            ["c2: not playable: c2.wav: cannot open it"]
        );
    }

    #[test]
    fn a_revision_names_the_generation_it_was_made_from_and_a_stale_one_is_refused() {
        let (link, _, saved) = linked(0);
        let (session, show, generation) = link.live_show().unwrap();
        assert_eq!(session, "link");
        let mut edited = (*show).clone();
        edited.clips[0].name = "renamed".into();
        let done = link
            .revise(osc(), Some(generation), edited.clone(), Cuts::Refuse, None)
            .unwrap();
        assert_eq!(done.generation, generation + 1);
        assert_eq!(link.show().unwrap().clip(&clip(1)).unwrap().0, "renamed");
        // A second host, still on the generation it read, is refused.
        let stale = link.revise(osc(), Some(generation), (*show).clone(), Cuts::Refuse, None);
        let refusal = stale.unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Stale);
        assert!(refusal
            .message
            .contains(&format!("it is at {} now", generation + 1)));
        assert_eq!(link.show().unwrap().clip(&clip(1)).unwrap().0, "renamed");
        link.saved(&edited);
        assert_eq!(
            lock(&saved.1).last(),
            Some(&edited),
            "recovery points hold it"
        );
        // A push (no generation) is taken whatever was read.
        assert!(link
            .revise(osc(), None, (*show).clone(), Cuts::PlayOut, None)
            .is_ok());
    }

    #[test]
    fn a_lock_set_while_nothing_plays_holds_when_a_session_attaches() {
        let link = LiveLink::new(Duration::ZERO, Publisher::new());
        link.set_locked(true);
        let (fresh, _, _) = linked(0);
        // The fixture's link was unlocked; this one was locked before any
        // session: attaching one keeps it locked.
        assert!(!fresh.locked());
        let saved = Arc::new(Saved::default());
        let (requests, _taken) = mpsc::channel::<Message>();
        let show = Show::new(
            "s",
            "media",
            GridDims::new(2, 4).unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        link.attach(
            Current::new("s", show, requests, 48_000, status_source()),
            saved.clone(),
        );
        assert!(link.locked());
        assert!(saved.last().unwrap().0.locked, "and saves it so");
    }

    #[test]
    fn a_go_of_a_clip_from_any_input_moves_the_playhead_past_it() {
        let (link, _, _) = linked(0);
        assert_eq!(link.playhead().unwrap().unwrap().clip, clip(1));
        link.submit(
            osc(),
            None,
            Command::Go {
                clip: clip(2),
                time: None,
            },
        )
        .unwrap();
        assert_eq!(link.playhead().unwrap().unwrap().clip, clip(3));
        link.submit(
            osc(),
            None,
            Command::Go {
                clip: clip(3),
                time: None,
            },
        )
        .unwrap();
        assert_eq!(link.deck().playhead, Playhead::End);
        let Refusal { message: why, .. } = link.go_next(osc(), None).unwrap_err();
        assert!(why.contains("never wraps"), "{why}");
        // Stops do not move it.
        link.set_deck(Deck::default());
        link.submit(osc(), None, Command::Stop { clip: clip(1) })
            .unwrap();
        assert_eq!(link.playhead().unwrap().unwrap().clip, clip(1));
    }

    #[test]
    fn every_clip_a_command_names_and_every_range_is_checked_on_every_path() {
        let (link, gone, _) = linked(0);
        let refused = link
            .submit(
                osc(),
                None,
                Command::Crossfade {
                    from: clip(9),
                    to: clip(1),
                    time: None,
                },
            )
            .unwrap_err();
        assert_eq!(refused.kind, RefusalKind::NotFound);
        assert_eq!(refused.message, "from: clip \"c9\" is not in the session");
        let refused = link
            .submit(
                osc(),
                None,
                Command::GroupLevel {
                    group: Group::B,
                    level_db: 40.0,
                    time: None,
                },
            )
            .unwrap_err();
        assert_eq!(refused.kind, RefusalKind::BadRequest);
        assert!(
            refused.message.starts_with(".level_db: 40 dB is outside"),
            "{refused}"
        );
        let line = link
            .command_line(osc(), r#"{"cmd": "fade_out", "clip": "c1", "time": 9999}"#)
            .unwrap_err();
        assert!(line.message.contains("a fade of 9999 s"), "{line}");
        let duck = |level_db, time| Command::FadeTo {
            clip: clip(1),
            level_db,
            time,
        };
        let refused = link.submit(osc(), None, duck(13.0, None)).unwrap_err();
        assert_eq!(refused.kind, RefusalKind::BadRequest);
        assert_eq!(
            refused.message,
            ".level_db: 13 dB is outside -144 to +12 dB"
        );
        let refused = link
            .submit(osc(), None, duck(-6.0, Some(-1.0)))
            .unwrap_err();
        assert_eq!(
            refused.message,
            ".time: a ramp of -1 s is outside 0 to 600 s"
        );
        let line = link
            .command_line(osc(), r#"{"cmd": "fade_to", "clip": "c7", "level_db": -6}"#)
            .unwrap_err();
        assert_eq!(
            line.message,
            "command.clip: clip \"c7\" is not in the session"
        );
        assert!(lock(&gone).is_empty(), "nothing reached the show");
    }
}
