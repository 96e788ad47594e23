//! A delay-locked loop on the card clock: from the instants at which the
//! card crossed each period boundary (noisy: scheduling, timestamps), a
//! smooth estimate of when each period starts and of the card's true rate
//! against the system clock.
//!
//! This is the second-order loop of Fons Adriaensen's "Using a DLL to filter
//! time" (the one JACK and Ardour run), with a bandwidth that starts wide so
//! it locks in a second or two and then narrows to its steady value.

use std::f64::consts::{PI, SQRT_2};

/// Bandwidth while locking, in Hz.
const LOCK_BANDWIDTH: f64 = 1.0;
/// Steady bandwidth, in Hz (Ardour's 0.1 Hz).
const STEADY_BANDWIDTH: f64 = 0.1;
/// Seconds of card time over which the bandwidth narrows.
const NARROW_AFTER: f64 = 3.0;

/// Filters period boundary times into a card clock estimate. Pure: times
/// are seconds on any monotonic clock the caller chooses.
#[derive(Debug, Clone)]
pub struct Dll {
    nominal: f64,
    /// Estimated time of the next boundary.
    t1: f64,
    /// Estimated time of the boundary before it.
    t0: f64,
    /// Estimated period length, seconds.
    e2: f64,
    /// Periods seen since the loop started.
    periods: u64,
}

impl Dll {
    /// Starts the loop at a boundary observed at `t`, for periods of
    /// `period` frames at a nominal `rate`.
    pub fn new(t: f64, period: usize, rate: u32) -> Self {
        let nominal = period as f64 / f64::from(rate);
        Dll {
            nominal,
            t0: t,
            t1: t + nominal,
            e2: nominal,
            periods: 0,
        }
    }

    /// Starts over at a boundary observed at `t` after the card restarted
    /// (an xrun): the phase is new, but the card's rate has not changed, so
    /// the period estimate and the narrowed bandwidth are kept.
    pub fn restart(&mut self, t: f64) {
        self.t0 = t;
        self.t1 = t + self.e2;
    }

    /// Feeds the observed time of the next boundary; returns the timing
    /// error (observed minus predicted), seconds.
    pub fn update(&mut self, observed: f64) -> f64 {
        let elapsed = self.periods as f64 * self.nominal;
        let narrowing = (elapsed / NARROW_AFTER).min(1.0);
        let bandwidth = LOCK_BANDWIDTH + (STEADY_BANDWIDTH - LOCK_BANDWIDTH) * narrowing;
        let omega = 2.0 * PI * bandwidth * self.nominal;
        let (b, c) = (SQRT_2 * omega, omega * omega);
        let e = observed - self.t1;
        self.t0 = self.t1;
        self.t1 += b * e + self.e2;
        self.e2 += c * e;
        self.periods += 1;
        e
    }

    /// The filtered time of the latest boundary.
    pub fn boundary(&self) -> f64 {
        self.t0
    }

    /// The predicted time of the next boundary.
    pub fn next_boundary(&self) -> f64 {
        self.t1
    }

    /// The estimated length of a period, seconds.
    pub fn period_seconds(&self) -> f64 {
        self.e2
    }

    /// How fast the card runs against the reference clock, in parts per
    /// million (+500: 500 ppm fast).
    pub fn ppm(&self) -> f64 {
        (self.nominal / self.e2 - 1.0) * 1e6
    }

    /// Boundaries fed so far.
    pub fn periods(&self) -> u64 {
        self.periods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card `ppm` fast whose boundaries are seen with ±`jitter` s of
    /// deterministic pseudo-random noise.
    fn run(ppm: f64, jitter: f64, seconds: f64) -> Dll {
        let (period, rate) = (256usize, 48_000u32);
        let true_period = period as f64 / f64::from(rate) / (1.0 + ppm * 1e-6);
        let mut dll = Dll::new(100.0, period, rate);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let n = (seconds / true_period) as u64;
        for k in 1..=n {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed as f64 / u64::MAX as f64 * 2.0 - 1.0) * jitter;
            dll.update(100.0 + k as f64 * true_period + noise);
        }
        dll
    }

    #[test]
    fn locks_to_a_fast_or_slow_card_within_a_few_ppm() {
        for ppm in [-500.0, 0.0, 500.0] {
            let dll = run(ppm, 50e-6, 15.0);
            assert!(
                (dll.ppm() - ppm).abs() < 2.0,
                "estimated {} ppm for a card at {ppm}",
                dll.ppm()
            );
        }
    }

    #[test]
    fn a_restart_keeps_the_rate_estimate() {
        let mut dll = run(500.0, 0.0, 15.0);
        let before = dll.ppm();
        dll.restart(1_000.0);
        assert_eq!(dll.ppm(), before);
        assert!((dll.next_boundary() - 1_000.0 - dll.period_seconds()).abs() < 1e-12);
    }

    #[test]
    fn smooths_wakeup_jitter_into_boundaries() {
        let dll = run(0.0, 500e-6, 10.0);
        let true_next = 100.0 + (dll.periods() + 1) as f64 * 256.0 / 48_000.0;
        assert!((dll.next_boundary() - true_next).abs() < 100e-6);
    }
}
