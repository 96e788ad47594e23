//! Refusal reports that no flood can multiply: whatever a peer sends, the
//! box says what it refused (and which of its connections it closed) in a
//! bounded number of events.
//!
//! Refusals are booked by peer and reason (the key is the service's: an
//! address and a reason, or an address, a key and a reason), so a sum never
//! hides a different reason. A peer's first refusal for a reason is
//! reported at once (`count` 1); the ones after it are summed and reported
//! in one event per interval (`count` N, the last refusal's words). A peer
//! quiet for a whole interval starts afresh. What is still summed when the
//! books close (the service stops) is reported then.
//! At most [`BUDGET`] new keys are reported at once per interval and at
//! most [`PEERS`] are followed at a time; refusals from any others (a flood
//! of spoofed addresses) are summed in one event per interval too. So an
//! interval has at most `BUDGET + PEERS + 1` refusal events, and the books
//! hold at most `PEERS + 1` refusals.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::events::{BoxEvent, Publisher};

/// How often a peer's refusals are summed.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// New peers whose first refusal is reported at once, per interval.
pub const BUDGET: usize = 64;
/// Peers followed at a time.
pub const PEERS: usize = 256;
/// How often the books are checked for sums that are due.
const TICK: Duration = Duration::from_millis(200);

/// A refusal as its event says it, given how many refusals it stands for.
pub trait Refusal: Send + 'static {
    /// The event: this refusal, standing for `count` of them.
    fn event(self, count: u64) -> BoxEvent;
}

/// A refusal by show control (OSC, MSC over UDP).
#[derive(Debug)]
pub struct ShowctlRefusal {
    /// The transport.
    pub via: &'static str,
    /// The sender.
    pub from: String,
    /// What was refused: an address, an action, a packet.
    pub what: String,
    /// Why.
    pub reason: String,
}

impl Refusal for ShowctlRefusal {
    fn event(self, count: u64) -> BoxEvent {
        BoxEvent::ShowctlRefused {
            via: self.via.into(),
            from: self.from,
            what: self.what,
            reason: self.reason,
            count,
        }
    }
}

/// A refusal by the API: of a connection, or of a request.
#[derive(Debug)]
pub struct ApiRefusal {
    /// From where.
    pub peer: String,
    /// The key's fingerprint, once known.
    pub key: Option<String>,
    /// The request, once read.
    pub request: Option<String>,
    /// Why, for scripts.
    pub reason: String,
    /// Why, for people.
    pub detail: String,
}

impl Refusal for ApiRefusal {
    fn event(self, count: u64) -> BoxEvent {
        BoxEvent::ApiRefused {
            peer: self.peer,
            key: self.key,
            request: self.request,
            reason: self.reason,
            detail: self.detail,
            count,
        }
    }
}

/// An API connection that ended badly: booked like a refusal, since a
/// flood of failed connections is as many as a flood of refused requests.
#[derive(Debug)]
pub struct ApiClose {
    /// From where.
    pub peer: String,
    /// Why.
    pub reason: String,
}

impl Refusal for ApiClose {
    fn event(self, count: u64) -> BoxEvent {
        BoxEvent::ApiClosed {
            peer: self.peer,
            reason: self.reason,
            count,
        }
    }
}

/// Refusals not yet reported, since `since`.
struct Held<R> {
    since: Instant,
    count: u64,
    last: Option<R>,
}

impl<R> Held<R> {
    fn new(now: Instant) -> Self {
        Held {
            since: now,
            count: 0,
            last: None,
        }
    }

    fn add(&mut self, refusal: R) {
        self.count += 1;
        self.last = Some(refusal);
    }

    /// The sum, if there is one to report, starting a new interval.
    fn take(&mut self, now: Instant) -> Option<(R, u64)> {
        self.since = now;
        let last = self.last.take()?;
        Some((last, std::mem::take(&mut self.count)))
    }
}

struct Books<K, R> {
    peers: HashMap<K, Held<R>>,
    /// Refusals from peers beyond the budget or the followed ones.
    others: Held<R>,
    /// When the current budget interval began, and the new peers reported
    /// in it.
    window: Instant,
    reported: usize,
    next_check: Instant,
}

/// The refusal books of one service, keyed by peer (`K`: an address, or an
/// address and a key).
pub struct Refusals<K, R: Refusal> {
    events: Publisher,
    interval: Duration,
    books: Mutex<Books<K, R>>,
}

impl<K, R: Refusal> std::fmt::Debug for Refusals<K, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refusals").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<K: Hash + Eq, R: Refusal> Refusals<K, R> {
    /// Books reporting to `events`, summing every [`INTERVAL`].
    pub fn new(events: Publisher) -> Self {
        Self::every(events, INTERVAL, Instant::now())
    }

    fn every(events: Publisher, interval: Duration, now: Instant) -> Self {
        Refusals {
            events,
            interval,
            books: Mutex::new(Books {
                peers: HashMap::new(),
                others: Held::new(now),
                window: now,
                reported: 0,
                next_check: now + TICK,
            }),
        }
    }

    /// Books `refusal` from `peer`: reported now if it is the peer's first,
    /// else summed.
    pub fn refused(&self, peer: K, refusal: R) {
        self.refused_at(peer, refusal, Instant::now());
    }

    fn refused_at(&self, peer: K, refusal: R, now: Instant) {
        let mut due = self.due(now);
        let mut books = lock(&self.books);
        if let Some(held) = books.peers.get_mut(&peer) {
            held.add(refusal);
            drop(books);
        } else {
            if now.saturating_duration_since(books.window) >= self.interval {
                books.window = now;
                books.reported = 0;
            }
            if books.reported < BUDGET && books.peers.len() < PEERS {
                books.reported += 1;
                books.peers.insert(peer, Held::new(now));
                drop(books);
                due.push((refusal, 1));
            } else {
                books.others.add(refusal);
                drop(books);
            }
        }
        self.publish(due);
    }

    /// Reports the sums that are due; services call it now and then, so a
    /// flood's sum is said even when nothing more is refused.
    pub fn flush(&self) {
        let due = self.due(Instant::now());
        self.publish(due);
    }

    /// The sums due at `now`, taken off the books; peers quiet for a whole
    /// interval are forgotten.
    fn due(&self, now: Instant) -> Vec<(R, u64)> {
        let mut books = lock(&self.books);
        if now < books.next_check {
            return Vec::new();
        }
        books.next_check = now + TICK;
        let interval = self.interval;
        let elapsed = |h: &Held<R>| now.saturating_duration_since(h.since) >= interval;
        let mut due = Vec::new();
        books.peers.retain(|_, held| {
            if !elapsed(held) {
                return true;
            }
            match held.take(now) {
                Some(sum) => {
                    due.push(sum);
                    true
                }
                None => false,
            }
        });
        if elapsed(&books.others) {
            due.extend(books.others.take(now));
        }
        due
    }

    fn publish(&self, due: Vec<(R, u64)>) {
        for (refusal, count) in due {
            self.events.send(refusal.event(count));
        }
    }
}

impl<K, R: Refusal> Drop for Refusals<K, R> {
    /// Reports every sum not yet reported: no refusal goes unsaid.
    fn drop(&mut self) {
        let books = self.books.get_mut().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut due: Vec<(R, u64)> = books
            .peers
            .values_mut()
            .filter_map(|held| held.take(now))
            .collect();
        due.extend(books.others.take(now));
        for (refusal, count) in due {
            self.events.send(refusal.event(count));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Subscription;

    /// A refusal that says which it was.
    fn refusal(n: u32) -> ShowctlRefusal {
        ShowctlRefusal {
            via: "test",
            from: "peer".into(),
            what: n.to_string(),
            reason: "test".into(),
        }
    }

    fn said(events: &Subscription) -> Vec<(String, u64)> {
        events
            .json()
            .map(|e| {
                (
                    e["what"].as_str().unwrap().to_owned(),
                    e["count"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_peer_s_flood_is_one_event_then_one_sum_per_interval() {
        let publisher = Publisher::new();
        let events = publisher.subscribe(1024);
        let t0 = Instant::now();
        let books = Refusals::every(publisher, Duration::from_secs(10), t0);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        for i in 0..10_000 {
            books.refused_at("a", refusal(i), at(u64::from(i) / 2));
        }
        assert_eq!(said(&events), [("0".into(), 1)], "the first at once");
        books.refused_at("a", refusal(10_000), at(10_000));
        assert_eq!(said(&events), [("9999".into(), 9_999)], "the rest, summed");
        // Quiet for an interval: the sum is said without another refusal,
        // then the peer is forgotten and its next refusal is a first again.
        books.publish(books.due(at(20_000)));
        assert_eq!(said(&events), [("10000".into(), 1)]);
        books.publish(books.due(at(30_000)));
        assert_eq!(said(&events), []);
        books.refused_at("a", refusal(7), at(30_001));
        assert_eq!(said(&events), [("7".into(), 1)]);
    }

    #[test]
    fn what_is_still_summed_is_reported_when_the_books_close() {
        let publisher = Publisher::new();
        let events = publisher.subscribe(16);
        let books = Refusals::new(publisher);
        for i in 0..5 {
            books.refused("a", refusal(i));
        }
        assert_eq!(said(&events), [("0".into(), 1)]);
        drop(books);
        assert_eq!(said(&events), [("4".into(), 4)]);
    }

    #[test]
    fn a_flood_of_new_peers_is_bounded_by_the_budget_and_summed() {
        let publisher = Publisher::new();
        let events = publisher.subscribe(4096);
        let t0 = Instant::now();
        let books = Refusals::every(publisher, Duration::from_secs(10), t0);
        for peer in 0..100_000u32 {
            books.refused_at(peer, refusal(peer), t0);
        }
        assert_eq!(said(&events).len(), BUDGET);
        books.publish(books.due(t0 + Duration::from_secs(10)));
        assert_eq!(
            said(&events),
            [("99999".into(), 100_000 - BUDGET as u64)],
            "the others in one sum"
        );
        let books = lock(&books.books);
        assert_eq!(books.peers.len(), 0, "the first ones were quiet since");
    }
}
