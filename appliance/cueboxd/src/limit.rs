//! Rate limits for everything that faces the network (the API, OSC, MSC
//! over UDP): a token bucket per client or source address, and a bounded
//! set of them per source.

use std::hash::Hash;
use std::time::Instant;

use hashlink::LruCache;

/// A token bucket: `burst` requests at once, then `rate` per second.
#[derive(Debug)]
pub struct Bucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Option<Instant>,
}

impl Bucket {
    /// A full bucket.
    pub fn new(burst: f64, rate: f64) -> Self {
        Bucket {
            tokens: burst,
            burst,
            rate,
            last: None,
        }
    }

    /// The tokens it would hold at `now`.
    pub fn tokens(&self, now: Instant) -> f64 {
        let refill = self.last.map_or(0.0, |last| {
            now.saturating_duration_since(last).as_secs_f64() * self.rate
        });
        (self.tokens + refill).min(self.burst)
    }

    /// Whether it would be back to its full burst at `now`.
    pub fn full(&self, now: Instant) -> bool {
        self.tokens(now) >= self.burst
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        self.tokens = self.tokens(now);
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What a source's bucket said to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// It may pass.
    Pass,
    /// Over the rate: the first refused since it last passed (say why).
    First,
    /// Over the rate again (said already).
    Again,
}

/// One bucket per source, for at most `capacity` sources. A new source
/// beyond that takes the place of the one with the most tokens (the least
/// recently heard of those): a throttled sender keeps its empty bucket
/// however many new sources a flood brings, and a source that refilled
/// loses nothing when it is forgotten.
#[derive(Debug)]
pub struct Buckets<K: Hash + Eq> {
    sources: LruCache<K, (Bucket, bool)>,
    capacity: usize,
    burst: f64,
    rate: f64,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Room for `capacity` sources, each with a bucket of `burst` and `rate`.
    pub fn new(capacity: usize, burst: f64, rate: f64) -> Self {
        Buckets {
            sources: LruCache::new_unbounded(),
            capacity: capacity.max(1),
            burst,
            rate,
        }
    }

    /// Takes a token from `source`'s bucket.
    pub fn take(&mut self, source: &K, now: Instant) -> Take {
        if !self.sources.contains_key(source) {
            if self.sources.len() >= self.capacity {
                self.make_room(now);
            }
            self.sources
                .insert(source.clone(), (Bucket::new(self.burst, self.rate), false));
        }
        let Some((bucket, throttled)) = self.sources.get_mut(source) else {
            return Take::Pass;
        };
        if bucket.take(now) {
            *throttled = false;
            Take::Pass
        } else if std::mem::replace(throttled, true) {
            Take::Again
        } else {
            Take::First
        }
    }

    /// Forgets the source with the most tokens (the least recent of those).
    fn make_room(&mut self, now: Instant) {
        let mut fullest: Option<(&K, f64)> = None;
        // Least recently used first: a tie keeps the first seen.
        for (key, (bucket, _)) in self.sources.iter() {
            let tokens = bucket.tokens(now);
            if fullest.is_none_or(|(_, most)| tokens > most) {
                fullest = Some((key, tokens));
            }
        }
        if let Some(key) = fullest.map(|(k, _)| k.clone()) {
            self.sources.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(3.0, 10.0);
        assert!((0..3).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
        // Refill never exceeds the burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.take(later)).count(), 3);
        assert!(b.full(later + Duration::from_secs(1)));
        assert!(!b.full(later));
    }

    #[test]
    fn a_flood_of_new_sources_never_refills_a_throttled_one() {
        let t0 = Instant::now();
        let mut buckets = Buckets::new(8, 3.0, 1.0);
        for _ in 0..3 {
            assert_eq!(buckets.take(&0u32, t0), Take::Pass);
        }
        assert_eq!(buckets.take(&0, t0), Take::First);
        assert_eq!(buckets.take(&0, t0), Take::Again);
        // A thousand new sources come and go; the throttled one stays the
        // least recently heard of, and still throttled.
        for source in 1..1000 {
            assert_eq!(buckets.take(&source, t0), Take::Pass);
        }
        assert_eq!(buckets.sources.len(), 8);
        assert_eq!(buckets.take(&0, t0), Take::Again, "still empty");
        // Once it refills it passes again.
        assert_eq!(buckets.take(&0, t0 + Duration::from_secs(1)), Take::Pass);
    }
}
