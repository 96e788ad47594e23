//! The box's own PTP clock: a virtual clock over CLOCK_MONOTONIC that
//! statime steps and steers. The machine's system clock is never touched;
//! everything that wants PTP time reads this clock through a lock-free
//! [`PtpTime`].

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

use cuebox_engine::seqlock::{seqlock, SeqReader, SeqWriter};
use statime::config::TimePropertiesDS;
use statime::time::{Duration, Time};

/// CLOCK_MONOTONIC now, nanoseconds.
pub fn monotonic_ns() -> u64 {
    clock_ns(nix::time::ClockId::CLOCK_MONOTONIC)
}

/// CLOCK_REALTIME now, nanoseconds since the Unix epoch.
pub fn realtime_ns() -> u64 {
    clock_ns(nix::time::ClockId::CLOCK_REALTIME)
}

fn clock_ns(id: nix::time::ClockId) -> u64 {
    nix::time::clock_gettime(id)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// A kernel timestamp (CLOCK_REALTIME, ns) taken a moment ago, on the
/// monotonic scale: the two clocks' offset is read now, and it cannot have
/// moved by more than the system clock's slew in that moment.
pub fn realtime_to_monotonic(realtime: u64) -> u64 {
    let offset = realtime_ns() as i128 - monotonic_ns() as i128;
    (realtime as i128 - offset).max(0) as u64
}

/// A reading of the virtual clock: at monotonic `mono_ns` it read `ptp_ns`,
/// running `rate` PTP nanoseconds per monotonic nanosecond.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Anchor {
    mono_ns: u64,
    ptp_ns: u64,
    rate: f64,
}

impl Anchor {
    fn at(&self, mono_ns: u64) -> u64 {
        let elapsed = mono_ns as i128 - self.mono_ns as i128;
        (self.ptp_ns as i128 + (elapsed as f64 * self.rate).round() as i128).max(0) as u64
    }

    fn monotonic_at(&self, ptp_ns: u64) -> u64 {
        let elapsed = ptp_ns as i128 - self.ptp_ns as i128;
        (self.mono_ns as i128 + (elapsed as f64 / self.rate).round() as i128).max(0) as u64
    }

    fn words(&self) -> [u64; 3] {
        [self.mono_ns, self.ptp_ns, self.rate.to_bits()]
    }

    fn from_words(w: [u64; 3]) -> Self {
        Anchor {
            mono_ns: w[0],
            ptp_ns: w[1],
            rate: f64::from_bits(w[2]),
        }
    }
}

/// What statime did to the virtual clock, readable from other threads.
#[derive(Debug, Default)]
pub struct ClockFigures {
    correction_ppm: AtomicU64,
    steps: AtomicU64,
    /// The UTC offset in seconds, or `i32::MIN` before one is announced.
    utc_offset: AtomicI32,
}

impl ClockFigures {
    /// The correction statime applies, ppm.
    pub fn correction_ppm(&self) -> f64 {
        f64::from_bits(self.correction_ppm.load(Ordering::Relaxed))
    }

    /// Steps so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::Relaxed)
    }

    /// The master's UTC offset, s, once announced.
    pub fn utc_offset(&self) -> Option<i16> {
        i16::try_from(self.utc_offset.load(Ordering::Relaxed)).ok()
    }
}

/// The clock statime drives. Its oscillator is CLOCK_MONOTONIC, optionally
/// with an injected error (a test's or a rehearsal's fault injection).
#[derive(Debug)]
pub struct VirtualClock {
    anchor: Anchor,
    writer: SeqWriter<3>,
    /// The oscillator's own error, ppm (injected).
    oscillator_ppm: f64,
    /// The correction statime asked for, ppm.
    correction_ppm: f64,
    figures: Arc<ClockFigures>,
}

/// A reader of the virtual clock: wait-free, for any thread.
#[derive(Debug, Clone)]
pub struct PtpTime {
    reader: SeqReader<3>,
    figures: Arc<ClockFigures>,
}

impl PtpTime {
    /// PTP time (ns) at monotonic time `mono_ns`.
    pub fn at(&self, mono_ns: u64) -> u64 {
        Anchor::from_words(self.reader.read()).at(mono_ns)
    }

    /// UTC (ns since the Unix epoch) at monotonic time `mono_ns`: PTP time
    /// less TAI − UTC when the timescale is PTP's (TAI), as is.
    pub fn utc_at(&self, mono_ns: u64) -> u64 {
        let tai_minus_utc = self.figures.utc_offset().map_or(0, i64::from);
        (self.at(mono_ns) as i64 - tai_minus_utc * 1_000_000_000).max(0) as u64
    }

    /// The monotonic time (ns) at which PTP time reads `ptp_ns`.
    pub fn monotonic_at(&self, ptp_ns: u64) -> u64 {
        Anchor::from_words(self.reader.read()).monotonic_at(ptp_ns)
    }

    /// PTP time now, ns.
    pub fn now(&self) -> u64 {
        self.at(monotonic_ns())
    }

    /// PTP nanoseconds per monotonic nanosecond.
    pub fn rate(&self) -> f64 {
        Anchor::from_words(self.reader.read()).rate
    }
}

impl VirtualClock {
    /// A clock that starts at the system's CLOCK_REALTIME, on TAI when
    /// `tai_minus_utc` is given (a master on the PTP timescale), plus
    /// `offset_ns`, on an oscillator `oscillator_ppm` off: both zero on a
    /// box, the error to recover from in a test.
    pub fn new(
        tai_minus_utc: Option<i16>,
        offset_ns: i64,
        oscillator_ppm: f64,
    ) -> (VirtualClock, PtpTime) {
        let mono_ns = monotonic_ns();
        let tai = i128::from(tai_minus_utc.unwrap_or(0)) * 1_000_000_000;
        let anchor = Anchor {
            mono_ns,
            ptp_ns: (realtime_ns() as i128 + tai + i128::from(offset_ns)).max(0) as u64,
            rate: 1.0 + oscillator_ppm * 1e-6,
        };
        let (writer, reader) = seqlock(anchor.words());
        let figures = Arc::new(ClockFigures {
            utc_offset: AtomicI32::new(tai_minus_utc.map_or(i32::MIN, i32::from)),
            ..ClockFigures::default()
        });
        (
            VirtualClock {
                anchor,
                writer,
                oscillator_ppm,
                correction_ppm: 0.0,
                figures: Arc::clone(&figures),
            },
            PtpTime { reader, figures },
        )
    }

    /// PTP time (ns) at monotonic time `mono_ns`.
    pub fn at(&self, mono_ns: u64) -> u64 {
        self.anchor.at(mono_ns)
    }

    /// What statime did to it, for other threads.
    pub fn figures(&self) -> Arc<ClockFigures> {
        Arc::clone(&self.figures)
    }

    /// Re-anchors at `mono_ns` with PTP time `ptp_ns` and the current rate.
    fn reanchor(&mut self, mono_ns: u64, ptp_ns: u64) {
        self.anchor = Anchor {
            mono_ns,
            ptp_ns,
            rate: (1.0 + self.oscillator_ppm * 1e-6) * (1.0 + self.correction_ppm * 1e-6),
        };
        self.writer.write(self.anchor.words());
    }
}

fn time(ns: u64) -> Time {
    Time::from_nanos(ns)
}

impl statime::Clock for VirtualClock {
    type Error = std::convert::Infallible;

    fn now(&self) -> Time {
        time(self.at(monotonic_ns()))
    }

    fn step_clock(&mut self, offset: Duration) -> Result<Time, Self::Error> {
        let mono = monotonic_ns();
        let ptp = (self.at(mono) as i128 + offset.nanos_rounded()).max(0) as u64;
        self.figures.steps.fetch_add(1, Ordering::Relaxed);
        self.reanchor(mono, ptp);
        Ok(time(ptp))
    }

    fn set_frequency(&mut self, ppm: f64) -> Result<Time, Self::Error> {
        let mono = monotonic_ns();
        let ptp = self.at(mono);
        self.correction_ppm = ppm;
        self.figures
            .correction_ppm
            .store(ppm.to_bits(), Ordering::Relaxed);
        self.reanchor(mono, ptp);
        Ok(time(ptp))
    }

    fn set_properties(&mut self, properties: &TimePropertiesDS) -> Result<(), Self::Error> {
        let offset = properties.utc_offset().map_or(i32::MIN, i32::from);
        self.figures.utc_offset.store(offset, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statime::Clock as _;

    #[test]
    fn steps_and_frequency_move_the_virtual_clock_only() {
        let (mut clock, time) = VirtualClock::new(None, 1_500_000_000, 40.0);
        let system_before = realtime_ns();
        let mono = monotonic_ns();
        let ahead = time.at(mono) as i128 - (system_before as i128);
        assert!((ahead - 1_500_000_000).abs() < 5_000_000, "{ahead}");
        // A second later on the oscillator, 40 µs more than a second passed.
        let later = time.at(mono + 1_000_000_000) - time.at(mono);
        assert_eq!(later, 1_000_040_000);
        // And back: the moment PTP time reads what it read then.
        let ptp = time.at(mono + 1_000_000_000);
        assert_eq!(time.monotonic_at(ptp), mono + 1_000_000_000);
        clock.step_clock(Duration::from_seconds(-1.5)).unwrap();
        clock.set_frequency(-40.0).unwrap();
        let mono = monotonic_ns();
        let ahead = time.at(mono) as i128 - realtime_ns() as i128;
        assert!(ahead.abs() < 5_000_000, "{ahead}");
        let later = time.at(mono + 1_000_000_000) - time.at(mono);
        assert!((later as i64 - 1_000_000_000).abs() <= 2, "{later}");
        let figures = clock.figures();
        assert_eq!(figures.steps(), 1);
        assert!((figures.correction_ppm() + 40.0).abs() < 1e-9);
        // A master counts TAI; UTC is 37 s behind it.
        let (_, tai) = VirtualClock::new(Some(37), 0, 0.0);
        let mono = monotonic_ns();
        let ahead = tai.at(mono) as i128 - realtime_ns() as i128;
        assert!((ahead - 37_000_000_000).abs() < 5_000_000, "{ahead}");
        assert!((tai.utc_at(mono) as i128 - realtime_ns() as i128).abs() < 5_000_000);
    }
}
