//! The main/backup pair (docs/pair.md): two boxes that play the same show
//! at the same instant. The main sends every command it accepts, from any
//! input, to the backup over the API (pinned keys, a `Pair` request), for
//! the backup's show sample that falls at the instant the main applies it;
//! heartbeats measure the offset between the two show clocks. The backup
//! refuses commands from its own inputs while its main is alive.
//!
//! Nothing here touches the real-time path: the main's link thread and the
//! backup's API threads reach the show only through `LiveLink`.

use std::collections::VecDeque;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use cuebox_engine::control::Command;

use crate::api::proto::{
    PairLink, PairMessage, PairStatus, PtpInstant, Refusal, RefusalKind, Response,
};
use crate::api::{Fingerprint, Identity, PublicKey};
use crate::clocking::ptp::{monotonic_ns, CLOSE_NS};
use crate::events::{BoxEvent, Publisher};
use crate::link::{Accepted, LiveLink};
use crate::live::CueTap;
use crate::origin::{Input, Origin};

mod compare;
mod peer;
pub mod takeover;
mod timescale;
pub mod vrrp;
pub mod witness;

/// A unit's part in its pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Takes the show's commands and sends each to the backup.
    Main,
    /// Plays what the main sends, at the same instant.
    Backup,
}

impl Role {
    /// Its name, as status shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Main => "main",
            Role::Backup => "backup",
        }
    }
}

/// How a unit is paired.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its part.
    pub role: Role,
    /// The other unit's API address (`host[:port]`).
    pub peer: String,
    /// The other unit's key: pinned by the main's connection, and the only
    /// key a backup takes pair messages from.
    pub fingerprint: Fingerprint,
    /// A backup's emergency override: it takes commands from its own inputs
    /// though its main is alive.
    pub overridden: bool,
    /// Fault injection (tests): a main does not send the Nth command it
    /// accepts (from 1).
    pub drop: Option<u64>,
    /// Promotion, the witness and the control address.
    pub takeover: takeover::Config,
}

/// How often the main beats, and measures the offset.
const BEAT: Duration = Duration::from_millis(100);
/// The other unit is silent (the link unhealthy) after this long unheard.
const SILENT: Duration = Duration::from_secs(1);
/// Heartbeats the offset and the link margin are taken over: those of
/// least round trip give the offset (the least room for asymmetry), the
/// worst round trip the margin.
const WINDOW: usize = 16;
/// The offset is the median of this many beats of least round trip: one
/// beat's bad reading of a card position cannot move it.
const BEST: usize = 5;
/// Periods of pre-roll on top of the link margin: time for the backup's
/// control thread to take the command and hand it to its render thread.
const PREROLL_PERIODS: u64 = 4;
/// And this much more: the render clock the pre-roll counts from is the
/// main's control thread's (5 ms ticks), and the backup's is as coarse.
const PREROLL_SLACK: Duration = Duration::from_millis(10);
/// Commands waiting for the link thread; more are lost (counted), never
/// waited for.
const QUEUE: usize = 256;
/// How long the main waits for the backup's answer.
const CALL: Duration = Duration::from_secs(1);
/// Every this many beats (a second) the main sends what plays on it.
const COMPARE_EVERY: u64 = 10;

/// A repair is scheduled this long ahead: time for the backup's readers
/// to fill from the middle of the files it joins.
const REPAIR_LEAD: Duration = Duration::from_millis(300);

/// How commands are placed on the backup's show clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Instants {
    /// The main's sample moved by the heartbeat-measured offset.
    #[default]
    Heartbeat,
    /// The main's PTP instant, mapped through the backup's PTP time and card.
    Ptp,
}

impl Instants {
    fn of(by_ptp: bool) -> Instants {
        if by_ptp {
            Instants::Ptp
        } else {
            Instants::Heartbeat
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Instants::Heartbeat => "heartbeat",
            Instants::Ptp => "ptp",
        }
    }
}

/// How far the DLLs' estimates of two cards' rates may be off, as a
/// fraction: 1 ppm (the paced PCM's ±500 ppm cards are measured within 0.5 ppm
/// after 4 s, docs/paced-pcm.md).
const RATE_ERROR: f64 = 1e-6;

/// What the main sends its backup, as it took it: its samples (`Apply`'s
/// and `Revise`'s `at_sample`) still the main's, moved onto the backup's
/// show clock by the link thread as it sends them.
struct Forward(PairMessage);

/// What the unit knows of the link.
#[derive(Debug, Default)]
struct State {
    last_heard: Option<Instant>,
    link: PairLink,
    /// Recent heartbeats: (round trip ns, offset samples).
    beats: VecDeque<(u64, f64)>,
    in_flight: u64,
    applied: u64,
    late: u64,
    lost: u64,
    main_late: u64,
    /// (main) Beats sent.
    beats_sent: u64,
    /// (main) Commands accepted, for the fault injection.
    accepted: u64,
    divergences: u64,
    diverged: Option<String>,
    /// The digest of the main's last compared state.
    digest: Option<String>,
    /// (backup) When a comparison last found both units the same.
    matched: Option<Instant>,
    repairs: u64,
    /// (backup) The show sample the last repair took effect at: a
    /// comparison of an earlier instant does not repair again.
    repairing: Option<u64>,
    /// (main) Edits, page turns and locks the backup took.
    forwarded: u64,
    /// How the last command (or beat) was placed on the backup.
    instants: Instants,
}

impl State {
    fn healthy(&self) -> bool {
        self.last_heard.is_some_and(|t| t.elapsed() < SILENT)
    }

    /// Forgets the beats measured so far (a new connection).
    fn measure_afresh(&mut self) {
        self.beats.clear();
        self.link = PairLink::default();
    }

    /// A heartbeat of round trip `rtt_ns` measured `offset` samples.
    fn beat(&mut self, rtt_ns: u64, offset: f64) {
        if self.beats.len() == WINDOW {
            self.beats.pop_front();
        }
        self.beats.push_back((rtt_ns, offset));
        let mut best: Vec<(u64, f64)> = self.beats.iter().copied().collect();
        best.sort_by_key(|b| b.0);
        best.truncate(BEST);
        // Their slowest round trip bounds the asymmetry of all of them.
        let slowest = best.last().map(|b| b.0);
        best.sort_by(|a, b| a.1.total_cmp(&b.1));
        let median = best.get(best.len() / 2).map(|b| b.1);
        let worst = self.beats.iter().map(|b| b.0).max();
        self.link = PairLink {
            offset_samples: median,
            offset_error_us: slowest.map(|r| r as f64 / 2e3),
            worst_rtt_us: worst.map(|w| w as f64 / 1e3),
        };
    }

    /// The backup answered a forwarded command, or it was lost.
    fn answered(&mut self, answer: Option<&Response>) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match answer {
            Some(Response::Accepted {
                lead_samples: 0, ..
            }) => self.late += 1,
            Some(Response::Accepted { .. }) => self.applied += 1,
            _ => self.lost += 1,
        }
    }
}

/// A unit of a pair.
pub struct Pair {
    config: Config,
    events: Publisher,
    state: Mutex<State>,
    /// The queue to the link thread, which runs while this unit is main.
    forward: SyncSender<Forward>,
    /// Who is main now.
    takeover: Arc<takeover::Takeover>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pair {
    /// Puts `link`'s box in the pair `config` describes: it starts as
    /// backup (docs/pair.md, "Takeover"). The link thread (`pair`) serves
    /// whichever unit is main, connecting as `identity` (the box's key);
    /// `pair-watch` reports the link's coming and going to `events` and
    /// applies the takeover's rules; `pair-witness` probes the witness.
    pub fn start(
        config: Config,
        identity: Identity,
        link: &Arc<LiveLink>,
        events: Publisher,
    ) -> Result<Arc<Pair>, String> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let identity = Arc::new(identity);
        let peer = takeover::Peer {
            address: config.peer.clone(),
            fingerprint: config.fingerprint,
            identity: identity.clone(),
        };
        let takeover = Arc::new(takeover::Takeover::new(
            config.role,
            peer,
            &config.takeover,
        )?);
        let pair = Arc::new(Pair {
            config,
            events: events.clone(),
            state: Mutex::default(),
            forward: tx,
            takeover: takeover.clone(),
        });
        link.set_pair(pair.clone());
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map(drop)
                .map_err(|e| format!("cannot start the {name} thread: {e}"))
        };
        let (p, l) = (Arc::downgrade(&pair), Arc::downgrade(link));
        spawn(
            "pair",
            Box::new(move || peer::main_link(&p, &l, &identity, &rx)),
        )?;
        if pair.config.takeover.witness.is_some() {
            let t = Arc::downgrade(&takeover);
            spawn(
                "pair-witness",
                Box::new(move || takeover::Takeover::probe(&t)),
            )?;
        }
        let watched = Arc::downgrade(&pair);
        spawn("pair-watch", Box::new(move || watch(&watched, &events)))?;
        Ok(pair)
    }

    /// A comparison of the state here with the main's (of this unit's
    /// show sample `here_at`) found `found`: a new divergence is an event
    /// at once, and is repaired by adopting the main's state (`repair`) at
    /// a show sample [`REPAIR_LEAD`] from now.
    fn compared(
        &self,
        link: &LiveLink,
        state: &mut State,
        found: Vec<String>,
        repair: compare::Repair,
        here_at: u64,
    ) {
        if found.is_empty() {
            state.matched = Some(Instant::now());
            state.diverged = None;
            return;
        }
        let detail = found.join("; ");
        // A new divergence counts; one that changes is said again.
        if state.diverged.is_none() {
            state.divergences += 1;
        }
        if state.diverged.as_ref() != Some(&detail) {
            self.events.send(BoxEvent::PairDiverged {
                detail: detail.clone(),
            });
        }
        state.diverged = Some(detail);
        // One repair at a time: a comparison of an instant before the last
        // repair took effect still sees what it repaired. An overridden
        // backup plays what its own operator tells it: never repaired.
        if repair.is_empty()
            || self.config.overridden
            || state.repairing.is_some_and(|at| here_at < at)
        {
            return;
        }
        let Some((now, rate, _)) = link.render_now() else {
            return;
        };
        let at = now + (REPAIR_LEAD.as_secs_f64() * f64::from(rate)) as u64;
        state.repairing = Some(at);
        // The main's voices had played their positions by its instant,
        // which is this unit's `here_at`; by `at` they are further on.
        let ahead = at.saturating_sub(here_at);
        let adopt = crate::live::Adopt {
            at,
            join: repair
                .join
                .into_iter()
                .map(|(clip, played, paused)| {
                    (clip, if paused { played } else { played + ahead }, paused)
                })
                .collect(),
            stop: repair.stop,
        };
        let origin = Origin::new(Input::Pair, "repair");
        let mut done = link.adopt(adopt).is_ok();
        for command in repair.commands {
            done &= link
                .submit_forwarded(origin.clone(), at, command, true)
                .is_ok();
        }
        if let Some(deck) = repair.deck {
            link.set_deck(deck);
        }
        if let Some(locked) = repair.locked {
            link.set_locked(locked);
        }
        if done {
            state.repairs += 1;
            self.events.send(BoxEvent::PairRepaired {
                at_sample: at,
                detail: state.diverged.clone().unwrap_or_default(),
            });
        }
    }

    /// What the link's state means for the show, as its event says.
    fn meaning(&self, healthy: bool) -> &'static str {
        match (self.takeover.current(), healthy, self.config.overridden) {
            (Role::Main, true, _) => "the backup answers; every command plays there too",
            (Role::Main, false, _) => {
                "the backup does not answer: commands play here only (counted lost)"
            }
            (Role::Backup, true, false) => {
                "the main is alive: this unit plays what it sends and refuses its own inputs"
            }
            (Role::Backup, true, true) => {
                "the main is alive, and this unit also takes its own inputs (--pair-override)"
            }
            (Role::Backup, false, _) => {
                "the main is silent: this unit takes its own inputs; point the controllers at it"
            }
        }
    }

    /// Whether a command from `origin` may play here: a backup refuses its
    /// own inputs while its main is alive, unless overridden.
    pub fn admit(&self, origin: &Origin) -> Result<(), Refusal> {
        let refused = self.takeover.current() == Role::Backup
            && origin.input != Input::Pair
            && !self.config.overridden
            && lock(&self.state).healthy();
        if refused {
            return Err(Refusal::new(
                RefusalKind::Forbidden,
                format!(
                    "this box is the backup of a pair and its main ({}) is alive: send commands to \
                     the main; in an emergency restart the backup with --pair-override",
                    self.config.peer
                ),
            ));
        }
        Ok(())
    }

    /// Whether the commands this unit accepts go to the other one: it is
    /// main now.
    pub fn forwards(&self) -> bool {
        self.takeover.current() == Role::Main
    }

    /// The main's show sample for a command for now: the render clock, a
    /// few periods, the link's worst recent round trip and some slack
    /// later, so the backup has it in time. `None` on a backup, or while
    /// nothing plays.
    pub fn preroll(&self, link: &LiveLink) -> Option<u64> {
        if !self.forwards() {
            return None;
        }
        let (now, rate, period) = link.render_now()?;
        let worst_rtt_s = lock(&self.state).link.worst_rtt_us.unwrap_or(0.0) / 1e6;
        let margin = (worst_rtt_s + PREROLL_SLACK.as_secs_f64()) * f64::from(rate);
        Some(now + PREROLL_PERIODS * period + margin.ceil() as u64)
    }

    /// The main accepted `command` from `origin` as `accepted` says:
    /// queued for the backup, never waited for.
    pub fn accepted(&self, origin: &Origin, accepted: Accepted, command: Command, press: bool) {
        if !self.forwards() {
            return;
        }
        {
            let mut state = lock(&self.state);
            // Stamped for a sample already rendered: the main plays it late.
            if accepted.lead_samples == 0 {
                state.main_late += 1;
            }
            state.accepted += 1;
            if self.config.drop == Some(state.accepted) {
                state.lost += 1;
                return;
            }
        }
        self.send(PairMessage::Apply {
            at_sample: accepted.at_sample,
            at_ptp: None,
            command,
            press,
            origin: format!("{} {}", origin.input.as_str(), origin.from),
        });
    }

    /// The main took (and saved) a live edit of `session`, its glides from
    /// show sample `at_sample`: the backup takes it too.
    pub fn revision_taken(&self, session: &str, patch: Vec<u8>, what: &str, at_sample: u64) {
        self.send(PairMessage::Revise {
            at_sample,
            at_ptp: None,
            session: session.into(),
            patch,
            what: what.into(),
        });
    }

    /// The main's operator turned to `page`: the backup turns too.
    pub fn paged(&self, page: u16) {
        self.send(PairMessage::Page { page });
    }

    /// The main's show was locked or unlocked: the backup's is too.
    pub fn locked(&self, locked: bool) {
        self.send(PairMessage::Lock { locked });
    }

    /// Queues `message` for the link thread (a main's), never waiting.
    fn send(&self, message: PairMessage) {
        if !self.forwards() {
            return;
        }
        let mut state = lock(&self.state);
        match self.forward.try_send(Forward(message)) {
            Ok(()) => state.in_flight += 1,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => state.lost += 1,
        }
    }

    /// Where the main's instant of a command or edit falls here: where this
    /// unit's card plays its PTP instant `at_ptp` when it is on that
    /// timescale, else `at_sample` (the main's sample moved by the offset).
    pub fn place(&self, link: &LiveLink, at_sample: u64, at_ptp: Option<&PtpInstant>) -> u64 {
        let by_ptp = at_ptp
            .and_then(|at| timescale::sample_at(link, at))
            .filter(|&s| s >= 0.0)
            .map(|s| s.round() as u64);
        lock(&self.state).instants = Instants::of(by_ptp.is_some());
        by_ptp.unwrap_or(at_sample)
    }

    /// Takes `from` as this unit's main, or refuses it: pair messages come
    /// from the peer's key alone, and a unit that is main itself yields to
    /// it (or not) by the takeover's rule, which this call applies.
    pub fn follow_main(&self, from: &PublicKey) -> Result<(), Refusal> {
        if from.fingerprint() != self.config.fingerprint {
            return Err(Refusal::new(
                RefusalKind::Forbidden,
                format!(
                    "pair messages are taken only from this unit's peer ({}, key {})",
                    self.config.peer, self.config.fingerprint
                ),
            ));
        }
        if !self.takeover.heard_main(&self.events) {
            return Err(Refusal::new(
                RefusalKind::Forbidden,
                "this unit is main: the other unit follows it (a configured main keeps the role; a \
                 promoted unit yields only to a peer that says it is main)",
            ));
        }
        Ok(())
    }

    /// The unit's view of the pair, for status.
    pub fn status(&self) -> PairStatus {
        let state = lock(&self.state);
        PairStatus {
            role: self.takeover.current().as_str().into(),
            peer: self.config.peer.clone(),
            healthy: state.healthy(),
            last_heard_ms: state.last_heard.map(|t| t.elapsed().as_millis() as u64),
            link: state.link,
            in_flight: state.in_flight,
            applied: state.applied,
            late: state.late,
            lost: state.lost,
            main_late: state.main_late,
            divergences: state.divergences,
            diverged: state.diverged.clone(),
            digest: state.digest.clone(),
            matched_ms: state.matched.map(|t| t.elapsed().as_millis() as u64),
            repairs: state.repairs,
            forwarded: state.forwarded,
            overridden: self.config.overridden,
            takeover: self.takeover.status(),
            instants: state.instants.as_str().into(),
        }
    }

    /// A message from the main (a backup's API thread): a heartbeat is
    /// answered with the show sample the card plays now, a command applied
    /// at its sample through `link`.
    pub fn from_main(
        &self,
        link: &LiveLink,
        from: &PublicKey,
        message: PairMessage,
    ) -> Result<Response, Refusal> {
        self.follow_main(from)?;
        lock(&self.state).last_heard = Some(Instant::now());
        match message {
            PairMessage::Beat {
                link: measured,
                state: main,
                timescale: main_at,
            } => {
                // Read before the state is locked: status locks the link,
                // then the state.
                let show_sample = link.show_sample_at(monotonic_ns());
                let rate = link.render_now().map_or(48_000, |(_, rate, _)| rate);
                let on_timescale = main_at
                    .as_ref()
                    .is_some_and(|a| timescale::sample_at(link, &a.at).is_some());
                // The main's instant here, found as commands are: through
                // PTP when both are on its timescale (within its closeness,
                // the cards' rates known), else by the offset (within its
                // stated error; the rates not known).
                let here_at = main.as_ref().and_then(|m| match &main_at {
                    Some(anchor) if on_timescale => {
                        let at = timescale::instant_by(anchor, m.at);
                        let drift = timescale::anchor(link).map_or(0.0, |own| {
                            (anchor.ns_per_sample / own.ns_per_sample - 1.0).abs()
                        });
                        let here_at = timescale::sample_at(link, &at)?;
                        Some((here_at, CLOSE_NS / 1e3, drift + RATE_ERROR))
                    }
                    _ => Some((
                        m.at as f64 + measured.offset_samples?,
                        measured.offset_error_us.unwrap_or(0.0),
                        0.0,
                    )),
                });
                let here = here_at.filter(|(at, _, _)| at.round() >= 0.0).and_then(
                    |(at, error_us, drift)| {
                        let at = at.round() as u64;
                        let (here, voices) = compare::snapshot(link, Some(at))?;
                        let tolerance = compare::Tolerance {
                            samples: error_us * f64::from(rate) / 1e6 + 2.0,
                            drift,
                        };
                        Some((here, voices, at, tolerance))
                    },
                );
                let mut state = lock(&self.state);
                state.link = measured;
                state.instants = Instants::of(on_timescale);
                if let (Some(main), Some((here, voices, here_at, tolerance))) = (main, here) {
                    let (found, repair) = compare::compare(&main, &here, &voices, tolerance);
                    let matched = found.is_empty();
                    state.digest = Some(main.digest.clone());
                    self.compared(link, &mut state, found, repair, here_at);
                    self.takeover.compared(matched, state.diverged.is_some());
                }
                Ok(Response::PairBeat {
                    show_sample,
                    on_timescale,
                })
            }
            PairMessage::Apply {
                at_sample,
                at_ptp,
                command,
                press,
                origin,
            } => {
                let at = self.place(link, at_sample, at_ptp.as_ref());
                let origin = Origin::new(Input::Pair, origin);
                let accepted = link.submit_forwarded(origin, at, command, press);
                let answer = accepted.map(|a| Response::Accepted {
                    at_sample: a.at_sample,
                    lead_samples: a.lead_samples,
                });
                let mut state = lock(&self.state);
                state.in_flight += 1;
                state.answered(answer.as_ref().ok());
                answer
            }
            PairMessage::Page { page } => {
                link.turn_page(page)?;
                Ok(Response::Done)
            }
            PairMessage::Lock { locked } => {
                link.set_locked(locked);
                Ok(Response::Done)
            }
            // The API service takes it (it saves the edit).
            PairMessage::Revise { .. } => Err(Refusal::new(
                RefusalKind::BadRequest,
                "a pair's live edit goes through the box's API service",
            )),
        }
    }
}

impl CueTap for Pair {
    /// A main plays its timecode cues and sends each to its backup; a
    /// backup leaves them to its main while the main lives (unless
    /// overridden), and plays them itself once the main is silent.
    fn timecode_cue(&self, at_sample: u64, command: &Command, trigger: &str) -> bool {
        if self.forwards() {
            let at = Accepted {
                at_sample,
                lead_samples: 1,
            };
            let origin = Origin::new(Input::TimecodeCue, trigger);
            self.accepted(&origin, at, command.clone(), false);
            return true;
        }
        self.admit(&Origin::new(Input::TimecodeCue, trigger))
            .is_ok()
    }
}

/// Reports each change of the link's health as a `pair` event (checked
/// every [`BEAT`]); the first once the other unit is first heard, or has
/// been silent for [`SILENT`] from the start. Ends with the pair.
fn watch(pair: &Weak<Pair>, events: &Publisher) {
    let started = Instant::now();
    let mut was = None;
    loop {
        std::thread::sleep(BEAT);
        let Some(p) = pair.upgrade() else { return };
        let (healthy, heard) = {
            let state = lock(&p.state);
            (state.healthy(), state.last_heard)
        };
        if p.takeover.tick(heard, events) {
            // The last role's measurements are another era's.
            let mut state = lock(&p.state);
            state.beats.clear();
            state.link = PairLink::default();
        }
        let known = healthy || started.elapsed() >= SILENT;
        if known && was != Some(healthy) {
            was = Some(healthy);
            events.send(BoxEvent::Pair {
                role: p.takeover.current().as_str().into(),
                peer: p.config.peer.clone(),
                healthy,
                detail: p.meaning(healthy).into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_the_median_of_the_least_round_trips_and_the_margin_the_worst() {
        let mut s = State::default();
        s.beat(400_000, 10.0);
        assert_eq!(s.link.offset_samples, Some(10.0));
        assert_eq!(s.link.offset_error_us, Some(200.0));
        // Five quick beats, one of them a period off: the median ignores it.
        for (rtt, offset) in [
            (100_000, 12.0),
            (110_000, 268.0),
            (120_000, 12.5),
            (90_000, 11.5),
        ] {
            s.beat(rtt, offset);
        }
        s.beat(900_000, 30.0);
        s.beat(130_000, 12.2);
        assert_eq!(s.link.offset_samples, Some(12.2));
        assert_eq!(
            s.link.offset_error_us,
            Some(65.0),
            "the slowest of the five"
        );
        assert_eq!(s.link.worst_rtt_us, Some(900.0));
        for _ in 0..WINDOW {
            s.beat(200_000, 5.0);
        }
        assert_eq!(
            s.link.offset_samples,
            Some(5.0),
            "old beats leave the window"
        );
        assert_eq!(s.link.worst_rtt_us, Some(200.0));
    }
}
