//! The arbitrating witness (docs/pair.md, "Split brain"): any box answers
//! the [`Request::Lease`](crate::api::proto::Request::Lease) of a pair's
//! units, granting the main's role to one unit of each pair at a time, for
//! [`LEASE`] unless it renews it. A unit cut off from the other but still
//! reaching the witness cannot take the role while the other renews it, so
//! a fault that separates the units alone never makes two mains.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::api::Fingerprint;

/// How long a grant lasts at the witness. The holder counts its own for
/// less ([`HOLD`](super::takeover::HOLD)), from before it asked, so it
/// steps down before the witness would grant the role to the other unit.
pub const LEASE: Duration = Duration::from_millis(1500);

/// The most pairs a box arbitrates at once: the map stays bounded whatever
/// an authorized host asks.
pub const PAIRS: usize = 256;

/// The leases a box holds as witness, one per pair (its two keys).
#[derive(Debug, Default)]
pub struct Leases {
    held: Mutex<HashMap<(Fingerprint, Fingerprint), Held>>,
}

/// Who holds a pair's lease, until when.
#[derive(Debug, Clone, Copy)]
struct Held {
    holder: Fingerprint,
    until: Instant,
}

/// What the witness answers a unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer {
    /// The asking unit holds the role.
    pub granted: bool,
    /// The unit that holds it, when not the asking one.
    pub holder: Option<Fingerprint>,
    /// How long the holder's grant lasts from now.
    pub remaining: Duration,
}

impl Leases {
    /// The unit `from`, whose peer is `peer`, asks at `now` for the role
    /// (`want`: granted or renewed unless the peer holds it) or gives it up.
    /// `None` when it would be a new pair beyond [`PAIRS`].
    pub fn ask(
        &self,
        from: Fingerprint,
        peer: Fingerprint,
        want: bool,
        now: Instant,
    ) -> Option<Answer> {
        let pair = (from.min(peer), from.max(peer));
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        // Lapsed grants go: the map holds live pairs only.
        held.retain(|_, h| h.until > now);
        let current = held.get(&pair).copied();
        if current.is_none() && want && held.len() >= PAIRS {
            return None;
        }
        let taken = match current {
            Some(h) if h.holder != from => Some(h),
            _ if want => {
                let h = Held {
                    holder: from,
                    until: now + LEASE,
                };
                held.insert(pair, h);
                Some(h)
            }
            // Given up (or never held).
            _ => {
                held.remove(&pair);
                None
            }
        };
        Some(Answer {
            granted: taken.is_some_and(|h| h.holder == from),
            holder: taken.map(|h| h.holder).filter(|&h| h != from),
            remaining: taken.map_or(Duration::ZERO, |h| h.until - now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Fingerprint {
        crate::api::Identity::generate()
            .unwrap()
            .public()
            .fingerprint()
    }

    #[test]
    fn one_unit_of_a_pair_holds_the_role_until_it_stops_renewing_or_gives_it_up() {
        let leases = Leases::default();
        let (a, b) = (key(), key());
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let ask = |from, peer, want, ms| leases.ask(from, peer, want, at(ms)).unwrap();
        let first = ask(a, b, true, 0);
        assert!(first.granted && first.holder.is_none());
        assert_eq!(first.remaining, LEASE);
        // The other unit asks while it is renewed: refused, told who holds it.
        let refused = ask(b, a, true, 1000);
        assert_eq!((refused.granted, refused.holder), (false, Some(a)));
        assert!(ask(a, b, true, 1100).granted);
        assert!(!ask(b, a, true, 2500).granted, "renewed at 1.1 s");
        // Unrenewed, it lapses after LEASE: the other unit gets it.
        let taken = ask(b, a, true, 2601);
        assert!(taken.granted, "{taken:?}");
        assert_eq!(ask(a, b, true, 2700).holder, Some(b));
        // Given up, it is free at once.
        let given = ask(b, a, false, 2800);
        assert_eq!((given.granted, given.holder), (false, None));
        assert!(ask(a, b, true, 2801).granted);
        // Another pair is apart.
        assert!(ask(key(), b, true, 2802).granted);
    }

    #[test]
    fn a_witness_arbitrates_a_bounded_number_of_pairs() {
        let leases = Leases::default();
        let now = Instant::now();
        let (a, first) = (key(), key());
        assert!(leases.ask(a, first, true, now).is_some());
        for _ in 1..PAIRS {
            assert!(leases.ask(a, key(), true, now).is_some());
        }
        assert_eq!(leases.ask(a, key(), true, now), None, "one pair too many");
        // The pairs it has are still answered; a give-up takes no room;
        // lapsed pairs make room.
        assert!(leases.ask(first, a, true, now).is_some());
        assert!(leases.ask(a, key(), false, now).is_some());
        assert!(leases.ask(a, key(), true, now + LEASE).is_some());
    }
}
