//! What the device loop measures, published lock-free: the real-time thread
//! only stores into atomics; any other thread reads a [`Snapshot`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Microseconds resolved one by one; above this, buckets double.
const LINEAR_US: usize = 2048;
/// Doubling buckets above the linear range: up to 2048 µs × 2¹⁴ ≈ 33 s.
const LOG_BUCKETS: usize = 14;

/// A histogram of durations in microseconds: 1 µs resolution up to 2 ms,
/// then doubling buckets. Recording is wait-free and allocation-free.
#[derive(Debug)]
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    max: AtomicU64,
    sum: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..LINEAR_US + LOG_BUCKETS)
                .map(|_| AtomicU64::new(0))
                .collect(),
            count: AtomicU64::new(0),
            max: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one duration.
    pub fn record(&self, us: u64) {
        self.buckets[bucket(us)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(us, Relaxed);
        self.max.fetch_max(us, Relaxed);
    }

    /// Durations recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    /// The longest duration recorded, µs.
    pub fn max(&self) -> u64 {
        self.max.load(Relaxed)
    }

    /// The smallest bucket bound (µs) under which a fraction `q` (0..=1) of
    /// the durations fall; 0 when nothing was recorded. Exact in the linear
    /// range, the bucket's upper bound above it, never above the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        let count = self.count();
        if count == 0 {
            return 0;
        }
        let target = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Relaxed);
            if seen >= target {
                return upper_bound(i).min(self.max());
            }
        }
        self.max()
    }

    /// The usual percentiles of it.
    pub fn summary(&self) -> Percentiles {
        let count = self.count();
        Percentiles {
            count,
            mean_us: if count == 0 {
                0.0
            } else {
                self.sum.load(Relaxed) as f64 / count as f64
            },
            p50_us: self.quantile(0.5),
            p99_us: self.quantile(0.99),
            p999_us: self.quantile(0.999),
            max_us: self.max(),
        }
    }
}

fn bucket(us: u64) -> usize {
    if (us as usize) < LINEAR_US {
        return us as usize;
    }
    let doublings = (us / LINEAR_US as u64).ilog2() as usize;
    LINEAR_US + doublings.min(LOG_BUCKETS - 1)
}

/// The largest duration bucket `i` holds, µs (the last bucket holds every
/// longer one).
fn upper_bound(i: usize) -> u64 {
    if i < LINEAR_US {
        i as u64
    } else if i == LINEAR_US + LOG_BUCKETS - 1 {
        u64::MAX
    } else {
        ((LINEAR_US as u64) << (i - LINEAR_US + 1)) - 1
    }
}

/// Percentiles of a [`Histogram`], µs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Percentiles {
    /// Durations recorded.
    pub count: u64,
    /// Their mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Longest.
    pub max_us: u64,
}

/// The live figures of one device loop, shared between its real-time thread
/// (writer) and whoever reports them.
#[derive(Debug, Default)]
pub struct DeviceStats {
    /// Periods processed.
    pub cycles: AtomicU64,
    /// Xruns (underruns on playback, overruns on capture) recovered.
    pub xruns: AtomicU64,
    /// Poll timeouts: the card raised no wake-up within 1.5 periods.
    pub poll_timeouts: AtomicU64,
    /// From the card crossing a period boundary to the thread running.
    pub wakeup: Histogram,
    /// |observed − predicted| period boundary, the timing jitter.
    pub jitter: Histogram,
    /// Time to recover from each xrun.
    pub recovery: Histogram,
    /// Time spent processing each period, µs.
    pub process: Histogram,
    /// The card's rate against the system clock, ppm, as `f64` bits.
    ppm: AtomicU64,
}

impl DeviceStats {
    /// Publishes the card rate estimate.
    pub fn set_ppm(&self, ppm: f64) {
        self.ppm.store(ppm.to_bits(), Relaxed);
    }

    /// The card's rate against the system clock, ppm.
    pub fn ppm(&self) -> f64 {
        f64::from_bits(self.ppm.load(Relaxed))
    }

    /// A copy of every figure.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            cycles: self.cycles.load(Relaxed),
            xruns: self.xruns.load(Relaxed),
            poll_timeouts: self.poll_timeouts.load(Relaxed),
            card_ppm: self.ppm(),
            wakeup: self.wakeup.summary(),
            jitter: self.jitter.summary(),
            recovery: self.recovery.summary(),
            process: self.process.summary(),
        }
    }
}

/// A copy of a [`DeviceStats`], for status and logs.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Snapshot {
    /// Periods processed.
    pub cycles: u64,
    /// Xruns recovered.
    pub xruns: u64,
    /// Poll timeouts.
    pub poll_timeouts: u64,
    /// The card's rate against the system clock, ppm.
    pub card_ppm: f64,
    /// Wake-up latency.
    pub wakeup: Percentiles,
    /// Period timing jitter.
    pub jitter: Percentiles,
    /// Xrun recovery time.
    pub recovery: Percentiles,
    /// Processing time per period.
    pub process: Percentiles,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_exact_in_the_linear_range() {
        let h = Histogram::default();
        for us in 1..=1000 {
            h.record(us);
        }
        assert_eq!(h.quantile(0.5), 500);
        assert_eq!(h.quantile(0.99), 990);
        assert_eq!(h.max(), 1000);
        assert_eq!(h.summary().count, 1000);
    }

    #[test]
    fn long_durations_land_in_doubling_buckets_bounded_by_the_max() {
        let h = Histogram::default();
        h.record(10);
        h.record(5_000);
        h.record(30_000_000_000);
        assert_eq!(h.quantile(0.3), 10);
        // 5 000 µs is in the 4 096–8 191 µs bucket.
        assert_eq!(h.quantile(0.66), 8191);
        assert_eq!(h.quantile(1.0), 30_000_000_000);
        assert_eq!(bucket(2048), LINEAR_US);
        assert_eq!(upper_bound(LINEAR_US), 4095);
    }
}
