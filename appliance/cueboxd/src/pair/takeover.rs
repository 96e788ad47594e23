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

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::vrrp::{Keepalived, Vip};
use super::{Role, BEAT, CALL, SILENT};
use crate::api::proto::{PairTakeover, Request, Response};
use crate::api::{Client, Expect, Fingerprint, Identity};
use crate::events::{BoxEvent, Publisher};

/// A configured main that has heard no main this long since it started (or
/// since its witness came back) takes the role: time for a promoted unit's
/// link thread (it retries every second) to reach it first.
const REJOIN: Duration = Duration::from_secs(4);
/// How long a witness probe may take.
const PROBE: Duration = Duration::from_millis(300);
/// The witness's port when its address names none: the API's.
const WITNESS_PORT: u16 = 53100;

/// How a unit takes over.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The witness's address (`host[:port]`): a unit is main only while it
    /// reaches it, or its backup.
    pub witness: Option<String>,
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

    fn change(&mut self, to: Role, why: String) {
        self.current = to;
        self.since = Instant::now();
        self.heard_main = false;
        self.synced = false;
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
    keepalived: Option<(Vip, Mutex<Keepalived>)>,
    /// What the last `pair_role` event said: (role, holds the address,
    /// keepalived in trouble).
    told: Mutex<Option<(Role, Option<bool>, bool)>>,
}

/// The witness's answers: the last, and since when it answers.
#[derive(Debug, Default)]
struct Probed {
    last: Option<Instant>,
    since: Option<Instant>,
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
            keepalived,
            told: Mutex::new(None),
        })
    }

    /// The witness prober (`pair-witness`), when there is a witness: a TCP
    /// connection to it every [`BEAT`]; an answer, even a refusal, means
    /// the network between this unit and the witness works.
    pub(super) fn probe(takeover: &Weak<Takeover>) {
        loop {
            let Some(t) = takeover.upgrade() else { return };
            let Some((address, probed)) = &t.witness else {
                return;
            };
            let answered = reach(address);
            let mut p = lock(probed);
            let now = Instant::now();
            if answered {
                let fresh = p.last.is_none_or(|l| now - l >= SILENT);
                if fresh {
                    p.since = Some(now);
                }
                p.last = Some(now);
            }
            drop(p);
            drop(t);
            std::thread::sleep(BEAT);
        }
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
        let (to, synced) = {
            let roles = lock(&self.roles);
            (roles.decide(heard, witness, Instant::now()), roles.synced)
        };
        // Taking the role without having followed a main: only if the peer
        // does not say it is main (its link may not have reached us yet).
        let to = to.filter(|&to| to != Role::Main || synced || !self.peer_says_main());
        if let Some(to) = to {
            let mut roles = lock(&self.roles);
            let why = roles.reason(to, self.witness.as_ref().map(|w| w.0.as_str()));
            roles.change(to, why);
        }
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
            synced: r.synced,
            promotions: r.promotions,
            why: r.why.clone(),
        }
    }
}

/// Whether `address` (`host[:port]`) answers a TCP connection: accepted
/// or refused, within [`PROBE`].
fn reach(address: &str) -> bool {
    let with_port = if address.contains(':') && !address.starts_with('[') {
        address.to_owned()
    } else {
        format!("{address}:{WITNESS_PORT}")
    };
    let Ok(mut addrs) = with_port.to_socket_addrs() else {
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
