//! Wrong OSC passcodes: each address may get a few wrong, then waits twice
//! as long after each further one; and the box checks only so many wrong
//! passcodes in all, so many addresses (or spoofed ones) together cannot
//! try a short passcode's every value. A refused try checks nothing, so it
//! tells nothing about the passcode.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use hashlink::LruCache;

use crate::limit::Bucket;

/// Wrong passcodes an address may send before it must wait.
pub const FREE: u32 = 5;
/// The first wait; each wrong passcode after it doubles it…
const FIRST_WAIT: Duration = Duration::from_secs(1);
/// …up to this.
const LONGEST_WAIT: Duration = Duration::from_secs(600);
/// Wrong passcodes the box checks at once from all addresses together…
pub const BUDGET: f64 = 20.0;
/// …and then one every this many seconds.
const BUDGET_EVERY: f64 = 10.0;
/// Addresses followed at a time (the least recently wrong is forgotten).
const ADDRESSES: usize = 256;

/// One address's wrong passcodes.
#[derive(Debug)]
struct Wrong {
    count: u32,
    until: Option<Instant>,
}

/// The books of wrong passcodes.
#[derive(Debug)]
pub struct Guesses {
    addresses: LruCache<IpAddr, Wrong>,
    budget: Bucket,
}

impl Default for Guesses {
    fn default() -> Self {
        Guesses {
            addresses: LruCache::new(ADDRESSES),
            budget: Bucket::new(BUDGET, 1.0 / BUDGET_EVERY),
        }
    }
}

impl Guesses {
    /// Whether a passcode from `ip` may be checked at `now`, or why not.
    pub fn may_try(&mut self, ip: IpAddr, now: Instant) -> Result<(), String> {
        if let Some(wait) = self
            .addresses
            .get(&ip)
            .and_then(|w| Some((w.count, w.until?)))
            .filter(|(_, until)| *until > now)
        {
            let (count, until) = wait;
            return Err(format!(
                "{count} wrong passcodes from {ip}: the box checks none from it for {} s",
                seconds(until - now)
            ));
        }
        let tokens = self.budget.tokens(now);
        if tokens < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - tokens) * BUDGET_EVERY);
            return Err(format!(
                "too many wrong passcodes reached the box lately: it checks none for {} s",
                seconds(wait)
            ));
        }
        Ok(())
    }

    /// Books a wrong passcode from `ip`.
    pub fn wrong(&mut self, ip: IpAddr, now: Instant) {
        self.budget.take(now);
        if !self.addresses.contains_key(&ip) {
            self.addresses.insert(
                ip,
                Wrong {
                    count: 0,
                    until: None,
                },
            );
        }
        if let Some(w) = self.addresses.get_mut(&ip) {
            w.count += 1;
            if w.count >= FREE {
                let doublings = (w.count - FREE).min(16);
                let wait = (FIRST_WAIT * 2u32.pow(doublings)).min(LONGEST_WAIT);
                w.until = Some(now + wait);
            }
        }
    }

    /// A right passcode from `ip`: its wrong ones are forgiven.
    pub fn right(&mut self, ip: IpAddr) {
        self.addresses.remove(&ip);
    }
}

/// Whole seconds, rounded up: a wait of 0.2 s is "1 s".
fn seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_twice_as_long_after_each_wrong_passcode() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut g = Guesses::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..4 {
            g.may_try(a, t0).unwrap();
            g.wrong(a, t0);
        }
        g.may_try(a, t0).unwrap();
        g.wrong(a, t0);
        assert_eq!(
            g.may_try(a, at(500)).unwrap_err(),
            "5 wrong passcodes from 10.0.0.1: the box checks none from it for 1 s"
        );
        g.may_try(b, at(500))
            .expect("another address is not held up");
        g.may_try(a, at(1000)).unwrap();
        g.wrong(a, at(1000));
        assert!(g.may_try(a, at(2900)).is_err(), "then 2 s");
        g.may_try(a, at(3000)).unwrap();
        g.right(a);
        for _ in 0..4 {
            g.wrong(a, at(3000));
        }
        g.may_try(a, at(3000)).expect("a right passcode forgives");
    }

    #[test]
    fn many_addresses_share_one_budget_of_wrong_passcodes() {
        let t0 = Instant::now();
        let mut g = Guesses::default();
        let mut checked = 0;
        // 64 addresses, 10,000 tries in one second.
        for i in 0..10_000u32 {
            let ip = IpAddr::from([127, 0, 0, (i % 64) as u8 + 1]);
            let now = t0 + Duration::from_micros(u64::from(i) * 100);
            if g.may_try(ip, now).is_ok() {
                checked += 1;
                g.wrong(ip, now);
            }
        }
        assert_eq!(checked, BUDGET as u32);
        let e = g
            .may_try("127.0.0.200".parse().unwrap(), t0 + Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(
            e,
            "too many wrong passcodes reached the box lately: it checks none for 9 s"
        );
        // One more every 10 s.
        g.may_try("127.0.0.200".parse().unwrap(), t0 + Duration::from_secs(11))
            .unwrap();
    }
}
