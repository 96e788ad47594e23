//! Rate limits for everything that faces the network (the API, OSC, MSC
//! over UDP): a token bucket per client or source address.

use std::time::Instant;

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

    /// Whether it would be back to its full burst at `now`.
    pub fn full(&self, now: Instant) -> bool {
        let refill = self.last.map_or(0.0, |last| {
            now.saturating_duration_since(last).as_secs_f64() * self.rate
        });
        self.tokens + refill >= self.burst
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
