//! Who is main (docs/pair.md, "Takeover"): a unit's current role, which
//! changes on promotion and demotion, apart from the role it was configured
//! with; the witness that settles a split; and the control address that
//! follows the main through keepalived ([`super::vrrp`]).
//!
//! The rules, checked every [`BEAT`](super::BEAT):
//! - every unit starts as backup. It is promoted when its peer has been
//!   silent for [`SILENT`](super::SILENT) and the witness (if any) answers,
//!   and it has resynchronised with the main it followed (heard it and a
//!   comparison matched since it became backup); or, for the configured
//!   main, when no main was heard for [`REJOIN`] and the peer, asked, does
//!   not answer that it is main (a fresh start, or a main that comes back
//!   to find no one in charge). A returning main therefore stays backup.
//! - a main is demoted when neither the witness nor its backup answered for
//!   [`SILENT`](super::SILENT): it is the unit cut off, and the other one,
//!   which reaches the witness, takes over.
//! - two mains that hear each other (after a split without a witness): the
//!   configured main stays, the other becomes backup.
//! - with an arbitrating witness (its key pinned), the witness has the
//!   last word: a unit becomes main only once it holds the role's lease
//!   ([`super::witness`]), which the main renews every [`BEAT`], and a main
//!   steps down when the witness says the other unit holds it. Units cut
//!   from each other but not from the witness never make two mains.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::vrrp::{Keepalived, Vip};
use super::{Role, BEAT, CALL, SILENT};
use crate::api::proto::{PairTakeover, Request, Response};
use crate::api::{Client, ClientError, Expect, Fingerprint, Identity};
use crate::events::{BoxEvent, Publisher};

/// A configured main that has heard no main this long since it started (or
/// since its witness came back) takes the role: time for a promoted unit's
/// link thread (it retries every second) to reach it first.
const REJOIN: Duration = Duration::from_secs(4);
/// How long a witness probe may take.
const PROBE: Duration = Duration::from_millis(300);
/// The witness's port when its address names none: the API's.
const WITNESS_PORT: u16 = 53100;
/// How long a unit counts a lease it was granted, from before it asked:
/// less than the witness's [`LEASE`](super::witness::LEASE), so the holder
/// steps down before the witness could grant the role to the other unit.
pub const HOLD: Duration = Duration::from_secs(1);

/// How a unit takes over.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The witness's address (`host[:port]`): a unit is main only while it
    /// reaches it, or its backup.
    pub witness: Option<String>,
    /// The witness's key: with it, the witness arbitrates (a box that
    /// grants the role's lease to one unit at a time).
    pub witness_key: Option<Fingerprint>,
    /// The control address, moved by keepalived.
    pub vip: Option<Vip>,
    /// Where keepalived's configuration, role file and FIFO are kept.
    pub dir: PathBuf,
}

/// What the witness answered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Witness {
    /// None is configured.
    None,
    /// It answered within [`SILENT`], continuously for this long.
    Reached(Duration),
    /// It did not answer within [`SILENT`].
    Lost,
}

/// The role's lease, as an arbitrating witness last answered.
#[derive(Debug, Clone, PartialEq)]
enum Lease {
    /// This unit holds it until then (its own clock; see [`HOLD`]).
    Held(Instant),
    /// The other unit holds it.
    Peer,
    /// No one holds it.
    Free,
    /// The witness refused the question (it does not know this unit's key).
    Refused(String),
}

impl Lease {
    /// Whether this unit holds it at `now`.
    fn held(&self, now: Instant) -> bool {
        matches!(self, Lease::Held(until) if *until > now)
    }

    /// For status.
    fn describe(&self, now: Instant) -> String {
        match self {
            Lease::Held(_) if self.held(now) => "held".into(),
            Lease::Held(_) | Lease::Free => "free".into(),
            Lease::Peer => "peer".into(),
            Lease::Refused(why) => format!("refused: {why}"),
        }
    }
}

/// The role as it changes.
#[derive(Debug)]
struct Roles {
    configured: Role,
    current: Role,
    /// When it last changed (the start counts).
    since: Instant,
    /// (backup) A main was heard since `since`.
    heard_main: bool,
    /// (backup) And a comparison matched since then.
    synced: bool,
    /// (backup) The rules would promote it: it asks an arbitrating witness
    /// for the role.
    wants: bool,
    promotions: u64,
    why: String,
}

impl Roles {
    fn new(configured: Role) -> Roles {
        Roles {
            configured,
            current: Role::Backup,
            since: Instant::now(),
            heard_main: false,
            synced: false,
            wants: false,
            promotions: 0,
            why: "started as backup: a unit joins a pair as backup".into(),
        }
    }

    /// The role the rules call for at `now`, if it is a change: the peer
    /// was last heard at `heard`, the witness answered as `witness`.
    fn decide(&self, heard: Option<Instant>, witness: Witness, now: Instant) -> Option<Role> {
        let quiet = now.saturating_duration_since(heard.map_or(self.since, |h| h.max(self.since)));
        let peer_silent = quiet >= SILENT;
        match self.current {
            Role::Backup => {
                let witness_for = match witness {
                    Witness::Lost => return None,
                    Witness::None => Duration::MAX,
                    Witness::Reached(d) => d,
                };
                let follower = self.synced && peer_silent;
                let rejoin =
                    self.configured == Role::Main && quiet >= REJOIN && witness_for >= REJOIN;
                (follower || rejoin).then_some(Role::Main)
            }
            Role::Main => (witness == Witness::Lost && peer_silent).then_some(Role::Backup),
        }
    }

    /// Why it would change to `to` (the event's and the status's words).
    fn reason(&self, to: Role, witness: Option<&str>) -> String {
        let witness = witness.map_or(String::new(), |w| format!(" and the witness {w} answers"));
        match to {
            Role::Main if self.synced => format!(
                "promoted: the main fell silent{witness}; this unit takes the show's commands"
            ),
            Role::Main => format!(
                "no main was heard for {} s{witness}: this unit takes the show's commands",
                REJOIN.as_secs()
            ),
            Role::Backup => "demoted: neither the witness nor the backup answers, so this unit \
                             is the one cut off; it joins as backup"
                .into(),
        }
    }

    /// Whether a unit that holds the lease as `lease` says may take the
    /// role `to` the rules call for; `to` Main waits for the lease, which
    /// it asks for. Also a main the witness took the role from steps down.
    fn arbitrated(&mut self, to: Option<Role>, lease: &Lease, now: Instant) -> Option<Role> {
        self.wants = to == Some(Role::Main);
        match to {
            Some(Role::Main) => lease.held(now).then_some(Role::Main),
            None if self.current == Role::Main && *lease == Lease::Peer => Some(Role::Backup),
            other => other,
        }
    }

    fn change(&mut self, to: Role, why: String) {
        self.current = to;
        self.since = Instant::now();
        self.heard_main = false;
        self.synced = false;
        self.wants = false;
        if to == Role::Main {
            self.promotions += 1;
        }
        self.why = why;
    }
}

/// How a unit asks its peer whether it is main.
pub(super) struct Peer {
    /// Its API address.
    pub(super) address: String,
    /// Its key, pinned.
    pub(super) fingerprint: Fingerprint,
    /// This unit's key.
    pub(super) identity: Arc<Identity>,
}

/// A unit's takeover: its roles, its witness and its control address.
pub(super) struct Takeover {
    roles: Mutex<Roles>,
    peer: Peer,
    /// When the peer was last asked whether it is main, and its answer.
    asked: Mutex<Option<(Instant, bool)>>,
    witness: Option<(String, Mutex<Probed>)>,
    /// An arbitrating witness's key.
    arbiter: Option<Fingerprint>,
    keepalived: Option<(Vip, Mutex<Keepalived>)>,
    /// What the last `pair_role` event said: (role, holds the address,
    /// keepalived in trouble).
    told: Mutex<Option<(Role, Option<bool>, bool)>>,
}

/// The witness's answers: the last, since when it answers, and (an
/// arbitrating witness) the lease.
#[derive(Debug, Default)]
struct Probed {
    last: Option<Instant>,
    since: Option<Instant>,
    lease: Option<Lease>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Takeover {
    /// A unit configured as `configured`, with keepalived started when
    /// `config` names a control address.
    pub(super) fn new(configured: Role, peer: Peer, config: &Config) -> Result<Takeover, String> {
        let keepalived = match &config.vip {
            Some(vip) => Some((
                vip.clone(),
                Mutex::new(Keepalived::start(vip, configured, &config.dir)?),
            )),
            None => None,
        };
        Ok(Takeover {
            roles: Mutex::new(Roles::new(configured)),
            peer,
            asked: Mutex::new(None),
            witness: config
                .witness
                .clone()
                .map(|w| (w, Mutex::new(Probed::default()))),
            arbiter: config.witness_key,
            keepalived,
            told: Mutex::new(None),
        })
    }

    /// The witness prober (`pair-witness`), when there is a witness, every
    /// [`BEAT`]. An arbitrating witness is asked for the role's lease (a
    /// main renews it, a backup the rules would promote asks for it, any
    /// other unit gives it up), on one connection kept open. Any other
    /// witness gets a TCP connection: an answer, even a refusal, means the
    /// network between this unit and the witness works.
    pub(super) fn probe(takeover: &Weak<Takeover>) {
        let mut arbiter: Option<Client> = None;
        loop {
            let Some(t) = takeover.upgrade() else { return };
            let Some((address, probed)) = &t.witness else {
                return;
            };
            let (answered, lease) = match t.arbiter {
                Some(key) => match t.ask_lease(&mut arbiter, address, key) {
                    Ok(lease) => (true, Some(lease)),
                    Err(LeaseError::Refused(why)) => (false, Some(Lease::Refused(why))),
                    Err(LeaseError::Unreached) => (false, None),
                },
                None => (reach(address), None),
            };
            let mut p = lock(probed);
            let now = Instant::now();
            if answered {
                let fresh = p.last.is_none_or(|l| now - l >= SILENT);
                if fresh {
                    p.since = Some(now);
                }
                p.last = Some(now);
            }
            if lease.is_some() {
                p.lease = lease;
            }
            drop(p);
            drop(t);
            std::thread::sleep(BEAT);
        }
    }

    /// Asks the arbitrating witness at `address` (key `key`) for the lease,
    /// or gives it up, on `client` (connected again when needed).
    fn ask_lease(
        &self,
        client: &mut Option<Client>,
        address: &str,
        key: Fingerprint,
    ) -> Result<Lease, LeaseError> {
        // A grant counts from before the question left.
        let asked = Instant::now();
        let want = {
            let r = lock(&self.roles);
            r.current == Role::Main || r.wants
        };
        if client.is_none() {
            let c = Client::connect(
                &with_port(address),
                &self.peer.identity,
                Expect::Pinned(key),
                PROBE,
            )
            .map_err(LeaseError::from)?;
            *client = Some(c);
        }
        let c = client.as_mut().expect("connected above");
        let request = Request::Lease {
            peer: self.peer.fingerprint,
            want,
        };
        let answer = c.call_within(&request, PROBE).map_err(|e| {
            *client = None;
            LeaseError::from(e)
        })?;
        match answer {
            Response::Lease { granted: true, .. } => Ok(Lease::Held(asked + HOLD)),
            Response::Lease {
                holder: Some(_), ..
            } => Ok(Lease::Peer),
            Response::Lease { .. } => Ok(Lease::Free),
            _ => Err(LeaseError::Refused(
                "the witness answered a lease with something else: is it cueboxd of the same \
                 version?"
                    .into(),
            )),
        }
    }

    /// The lease as the arbitrating witness last answered; `None` without one.
    fn lease(&self) -> Option<Lease> {
        self.arbiter?;
        let (_, probed) = self.witness.as_ref()?;
        Some(lock(probed).lease.clone().unwrap_or(Lease::Free))
    }

    fn witness(&self) -> Witness {
        match &self.witness {
            None => Witness::None,
            Some((_, probed)) => {
                let p = lock(probed);
                match (p.last, p.since) {
                    (Some(last), Some(since)) if last.elapsed() < SILENT => {
                        Witness::Reached(since.elapsed())
                    }
                    _ => Witness::Lost,
                }
            }
        }
    }

    /// The current role.
    pub(super) fn current(&self) -> Role {
        lock(&self.roles).current
    }

    /// Applies the rules (every [`BEAT`]): the peer was last heard at
    /// `heard`. Reports each change of role, and of who holds the address,
    /// as a `pair_role` event. Whether the role changed.
    pub(super) fn tick(&self, heard: Option<Instant>, events: &Publisher) -> bool {
        let witness = self.witness();
        let now = Instant::now();
        let (to, synced) = {
            let roles = lock(&self.roles);
            (roles.decide(heard, witness, now), roles.synced)
        };
        // Taking the role without having followed a main: only if the peer
        // does not say it is main (its link may not have reached us yet).
        let to = to.filter(|&to| to != Role::Main || synced || !self.peer_says_main());
        let lease = self.lease();
        let mut roles = lock(&self.roles);
        let to = match &lease {
            Some(lease) => roles.arbitrated(to, lease, now),
            None => to,
        };
        if let Some(to) = to {
            let address = self.witness.as_ref().map(|w| w.0.as_str());
            let why = match (to, roles.current) {
                (Role::Backup, Role::Main) if lease == Some(Lease::Peer) => format!(
                    "demoted: the witness {} gave the role to the other unit; this unit \
                     follows it",
                    address.unwrap_or_default()
                ),
                _ => roles.reason(to, address),
            };
            roles.change(to, why);
        }
        drop(roles);
        self.report(events);
        to.is_some()
    }

    /// Whether the peer answers, over the API, that it is main: asked at
    /// most once a [`SILENT`]; no answer is no.
    fn peer_says_main(&self) -> bool {
        let mut asked = lock(&self.asked);
        if let Some((when, answer)) = *asked {
            if when.elapsed() < SILENT {
                return answer;
            }
        }
        let answer = Client::connect(
            &self.peer.address,
            &self.peer.identity,
            Expect::Pinned(self.peer.fingerprint),
            CALL,
        )
        .and_then(|mut c| c.call_within(&Request::Status, CALL))
        .is_ok_and(|r| match r {
            Response::Status(s) => s.pair.is_some_and(|p| p.role == Role::Main.as_str()),
            _ => false,
        });
        *asked = Some((Instant::now(), answer));
        answer
    }

    /// A message came from the peer as main. A backup follows it. A main
    /// that was configured backup yields to it if the peer, asked, says it
    /// is main (two mains met after a split; a message the peer sent before
    /// it stepped down, held in the cut network, is no such thing). A
    /// configured main refuses it: the other one yields. Whether to take it.
    pub(super) fn heard_main(&self, events: &Publisher) -> bool {
        let (current, configured) = {
            let r = lock(&self.roles);
            (r.current, r.configured)
        };
        let take = match (current, configured) {
            (Role::Backup, _) => true,
            (Role::Main, Role::Backup) => self.peer_says_main(),
            (Role::Main, Role::Main) => false,
        };
        if take {
            let mut roles = lock(&self.roles);
            if roles.current == Role::Main {
                roles.change(
                    Role::Backup,
                    "demoted: the configured main is main too (the units met after a split); \
                     it keeps the role and this unit follows it"
                        .into(),
                );
            }
            roles.heard_main = true;
        }
        self.report(events);
        take
    }

    /// A comparison with the main's voices `matched`, or the units have
    /// `diverged`: a backup that heard its main and matched it is
    /// resynchronised until a divergence (a difference in one comparison
    /// alone is a voice starting or ending between the two looks).
    pub(super) fn compared(&self, matched: bool, diverged: bool) {
        let mut roles = lock(&self.roles);
        if diverged {
            roles.synced = false;
        } else if matched && roles.heard_main && roles.current == Role::Backup {
            roles.synced = true;
        }
    }

    /// Tells keepalived the role and reports a change of role or address.
    fn report(&self, events: &Publisher) {
        let (role, configured, why) = {
            let r = lock(&self.roles);
            (r.current, r.configured, r.why.clone())
        };
        let mut holds = None;
        let mut trouble = None;
        if let Some((_, k)) = &self.keepalived {
            let mut k = lock(k);
            if let Err(e) = k.set_role(role) {
                trouble = Some(e);
            }
            trouble = trouble.or_else(|| k.exited());
            holds = Some(k.holds());
        }
        let now = (role, holds, trouble.is_some());
        let mut told = lock(&self.told);
        if *told == Some(now) {
            return;
        }
        *told = Some(now);
        drop(told);
        let detail = trouble.unwrap_or(why);
        events.send(BoxEvent::PairRole {
            role: role.as_str().into(),
            configured: configured.as_str().into(),
            address: self.keepalived.as_ref().map(|(v, _)| v.address.to_string()),
            holds_address: holds,
            detail,
        });
    }

    /// The takeover's part of the pair's status.
    pub(super) fn status(&self) -> PairTakeover {
        let r = lock(&self.roles);
        let witness = self.witness();
        PairTakeover {
            configured: r.configured.as_str().into(),
            address: self.keepalived.as_ref().map(|(v, _)| v.address.to_string()),
            holds_address: self.keepalived.as_ref().map(|(_, k)| lock(k).holds()),
            witness: self.witness.as_ref().map(|w| w.0.clone()),
            witness_reached: (witness != Witness::None).then_some(witness != Witness::Lost),
            lease: self.lease().map(|l| l.describe(Instant::now())),
            synced: r.synced,
            promotions: r.promotions,
            why: r.why.clone(),
        }
    }
}

/// Why an arbitrating witness gave no lease.
enum LeaseError {
    /// It did not answer.
    Unreached,
    /// It refused the question, or is not the box pinned: what it said.
    Refused(String),
}

impl From<ClientError> for LeaseError {
    fn from(e: ClientError) -> LeaseError {
        match e {
            ClientError::Refused(_) | ClientError::WrongBox { .. } => {
                LeaseError::Refused(e.to_string())
            }
            _ => LeaseError::Unreached,
        }
    }
}

/// `address` (`host[:port]`) with the port: [`WITNESS_PORT`] unless named.
fn with_port(address: &str) -> String {
    if address.contains(':') && !address.starts_with('[') {
        address.to_owned()
    } else {
        format!("{address}:{WITNESS_PORT}")
    }
}

/// Whether `address` (`host[:port]`) answers a TCP connection: accepted
/// or refused, within [`PROBE`].
fn reach(address: &str) -> bool {
    let Ok(mut addrs) = with_port(address).to_socket_addrs() else {
        return false;
    };
    addrs
        .next()
        .is_some_and(|a| match TcpStream::connect_timeout(&a, PROBE) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(r: &Roles, secs: f64) -> Instant {
        r.since + Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_configured_main_takes_the_role_only_when_no_main_is_heard() {
        let r = Roles::new(Role::Main);
        assert_eq!(r.current, Role::Backup, "every unit starts as backup");
        assert_eq!(r.decide(None, Witness::None, at(&r, 3.0)), None);
        assert_eq!(r.decide(None, Witness::None, at(&r, 4.1)), Some(Role::Main));
        // A promoted unit's beats reached it: it stays backup.
        let heard = Some(at(&r, 3.9));
        assert_eq!(r.decide(heard, Witness::None, at(&r, 4.1)), None);
        // The witness must have answered for as long.
        let w = Witness::Reached(Duration::from_secs(2));
        assert_eq!(r.decide(None, w, at(&r, 5.0)), None);
        assert_eq!(r.decide(None, Witness::Lost, at(&r, 9.0)), None);
        // A configured backup never takes it on its own.
        let b = Roles::new(Role::Backup);
        assert_eq!(b.decide(None, Witness::None, at(&b, 60.0)), None);
    }

    #[test]
    fn a_resynchronised_backup_is_promoted_when_its_main_falls_silent_and_the_witness_answers() {
        let mut r = Roles::new(Role::Backup);
        r.heard_main = true;
        let heard = Some(at(&r, 10.0));
        assert_eq!(r.decide(heard, Witness::None, at(&r, 10.5)), None);
        // Not resynchronised: it waits.
        assert_eq!(r.decide(heard, Witness::None, at(&r, 11.1)), None);
        r.synced = true;
        assert_eq!(r.decide(heard, Witness::None, at(&r, 10.9)), None);
        assert_eq!(
            r.decide(heard, Witness::None, at(&r, 11.1)),
            Some(Role::Main)
        );
        let w = Witness::Reached(Duration::from_millis(200));
        assert_eq!(r.decide(heard, w, at(&r, 11.1)), Some(Role::Main));
        assert_eq!(r.decide(heard, Witness::Lost, at(&r, 11.1)), None);
        r.change(Role::Main, "test".into());
        assert_eq!((r.promotions, r.synced, r.heard_main), (1, false, false));
    }

    #[test]
    fn with_an_arbitrating_witness_a_unit_is_main_only_while_it_holds_the_lease() {
        let mut r = Roles::new(Role::Backup);
        r.heard_main = true;
        r.synced = true;
        let (heard, now) = (Some(at(&r, 10.0)), at(&r, 11.1));
        let w = Witness::Reached(Duration::from_secs(9));
        let to = r.decide(heard, w, now);
        assert_eq!(to, Some(Role::Main), "the rules would promote it");
        // The other unit still renews the lease (the units are cut from
        // each other, not from the witness): it stays backup, asking.
        assert_eq!(r.arbitrated(to, &Lease::Peer, now), None);
        assert!(r.wants);
        assert_eq!(r.arbitrated(to, &Lease::Free, now), None);
        let lapsed = Lease::Held(now - Duration::from_millis(1));
        assert_eq!(r.arbitrated(to, &lapsed, now), None);
        let held = Lease::Held(now + HOLD);
        assert_eq!(r.arbitrated(to, &held, now), Some(Role::Main));
        // Heard again: it no longer asks.
        assert_eq!(r.arbitrated(None, &Lease::Peer, now), None);
        assert!(!r.wants);
        // A main the witness took the role from steps down; one whose
        // lease lapsed (the witness unreached) keeps the rule without one.
        r.change(Role::Main, "test".into());
        assert_eq!(r.arbitrated(None, &Lease::Free, now), None);
        assert_eq!(r.arbitrated(None, &held, now), None);
        assert_eq!(r.arbitrated(None, &Lease::Peer, now), Some(Role::Backup));
    }

    #[test]
    fn a_main_cut_off_from_the_witness_and_its_backup_is_demoted() {
        let mut r = Roles::new(Role::Main);
        r.change(Role::Main, "test".into());
        let heard = Some(at(&r, 5.0));
        let w = Witness::Reached(Duration::from_secs(9));
        assert_eq!(r.decide(heard, w, at(&r, 8.0)), None, "the witness answers");
        assert_eq!(
            r.decide(heard, Witness::Lost, at(&r, 5.5)),
            None,
            "the backup answers"
        );
        assert_eq!(
            r.decide(heard, Witness::Lost, at(&r, 6.1)),
            Some(Role::Backup)
        );
        assert_eq!(
            r.decide(heard, Witness::None, at(&r, 60.0)),
            None,
            "without a witness a main stays main"
        );
    }
}
