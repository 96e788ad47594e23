//! Bus meters: the render thread measures every bus channel of every block
//! (peak and RMS) into atomics; the control side reads them and applies the
//! ballistics.
//!
//! ```text
//!   render thread                          control side
//!   MeterWriter::write ──AtomicU32 (f32 bits)──▶ MeterReader::read ──▶ Meters::update (ballistics)
//! ```
//!
//! The peak cell holds the highest peak since the last read: the writer
//! raises it with `fetch_max` (non-negative f32s order like their bits) and
//! the reader takes it with `swap(0)`, so no peak between two reads is
//! lost, whatever the block size. The RMS cell holds the latest integrated
//! mean square. Relaxed atomics: each cell is its own value, nothing is
//! published through them. The cells are allocated once, with the renderer.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::dsp::meter::{self, Ballistics, Dbfs, Level, PeakMeter};
use crate::show::Group;

use super::bus::{AuditionOut, MainOut};

/// A metered bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeterBus {
    /// A group bus (post level, mute and balance).
    Group(Group),
    /// Groups A–D summed: the mains.
    Main,
    /// The audition bus.
    Audition,
}

impl MeterBus {
    /// Every metered bus, in the order status shows them.
    pub const ALL: [MeterBus; BUSSES] = [
        MeterBus::Group(Group::A),
        MeterBus::Group(Group::B),
        MeterBus::Group(Group::C),
        MeterBus::Group(Group::D),
        MeterBus::Main,
        MeterBus::Audition,
    ];
}

impl std::fmt::Display for MeterBus {
    /// `A`–`D`, `main`, `audition`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MeterBus::Group(g) => g.fmt(f),
            MeterBus::Main => f.write_str("main"),
            MeterBus::Audition => f.write_str("audition"),
        }
    }
}

/// Metered busses: groups A–D, main, audition.
const BUSSES: usize = 6;
/// Every bus is stereo: left, right.
const CHANNELS: usize = 2;

/// One bus channel's cells: f32 bits.
#[derive(Debug, Default)]
struct Cell {
    peak: AtomicU32,
    mean_square: AtomicU32,
}

type Cells = [[Cell; CHANNELS]; BUSSES];

/// The render thread's side: measures each block into the shared cells.
#[derive(Debug)]
pub(crate) struct MeterWriter {
    cells: Arc<Cells>,
    /// The RMS integrators' state, owned here; only their output is shared.
    mean_square: [[f32; CHANNELS]; BUSSES],
    rate: u32,
    /// The integrator's decay for blocks of `decay_frames` frames (blocks
    /// rarely change size, so `exp` runs once, not every block).
    decay: f32,
    decay_frames: usize,
}

impl MeterWriter {
    /// A writer and its reader, for `rate` Hz. Allocates.
    pub(crate) fn new(rate: u32) -> (MeterWriter, MeterReader) {
        let cells: Arc<Cells> = Arc::default();
        let writer = MeterWriter {
            cells: Arc::clone(&cells),
            mean_square: [[0.0; CHANNELS]; BUSSES],
            rate,
            decay: 1.0,
            decay_frames: 0,
        };
        (writer, MeterReader { cells })
    }

    /// Meters the block just rendered into `main` and `audition`. Never
    /// allocates, locks or calls the system.
    pub(crate) fn write(&mut self, main: &MainOut, audition: &AuditionOut) {
        let frames = main.frames();
        if frames != self.decay_frames {
            self.decay = meter::rms_decay(frames, self.rate);
            self.decay_frames = frames;
        }
        for (i, bus) in MeterBus::ALL.iter().enumerate() {
            let stereo = match bus {
                MeterBus::Group(g) => main.group(*g),
                MeterBus::Main => main.mix(),
                MeterBus::Audition => audition.stereo(),
            };
            self.channel(i, 0, stereo.left);
            self.channel(i, 1, stereo.right);
        }
    }

    #[inline]
    fn channel(&mut self, bus: usize, ch: usize, samples: &[f32]) {
        let (peak, energy) = meter::measure(samples);
        let ms = &mut self.mean_square[bus][ch];
        *ms = meter::integrate(*ms, energy, samples.len(), self.decay);
        let cell = &self.cells[bus][ch];
        cell.peak
            .fetch_max(peak.linear().to_bits(), Ordering::Relaxed);
        cell.mean_square.store(ms.to_bits(), Ordering::Relaxed);
    }
}

/// One bus channel as read: the highest peak since the last read and the
/// RMS now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelLevels {
    /// The highest sample magnitude since the last read.
    pub peak: Level,
    /// The RMS level, integrated over [`RMS_TIME`](meter::RMS_TIME).
    pub rms: Level,
}

/// Every bus's levels at one read, in [`MeterBus::ALL`] order, left then
/// right.
pub type BusLevels = [[ChannelLevels; CHANNELS]; BUSSES];

/// The control side's end of the meters (in
/// [`RenderControl`](super::RenderControl)): one reader, because reading
/// takes the peaks.
#[derive(Debug)]
pub(crate) struct MeterReader {
    cells: Arc<Cells>,
}

impl MeterReader {
    /// The levels now; the peaks start again from silence.
    pub(crate) fn read(&self) -> BusLevels {
        std::array::from_fn(|b| {
            std::array::from_fn(|c| {
                let cell = &self.cells[b][c];
                let bits = |a: &AtomicU32, v: u32| f32::from_bits(a.swap(v, Ordering::Relaxed));
                ChannelLevels {
                    peak: Level::new(bits(&cell.peak, 0)),
                    rms: meter::rms(f32::from_bits(cell.mean_square.load(Ordering::Relaxed))),
                }
            })
        })
    }
}

/// One bus channel's meter as shown.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelReading {
    /// The peak bar (instant attack, falling at the ballistics' rate).
    pub peak: Dbfs,
    /// The peak hold.
    pub hold: Dbfs,
    /// The RMS level.
    pub rms: Dbfs,
}

/// Every bus's meters with the default ballistics (1.5 s hold, 20 dB/s
/// fall): fed by reads of the render
/// thread's levels, read by whoever shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meters {
    peaks: [[PeakMeter; CHANNELS]; BUSSES],
    rms: [[Dbfs; CHANNELS]; BUSSES],
}

impl Meters {
    /// Takes the levels read at `now`.
    pub fn update(&mut self, levels: &BusLevels, now: Instant) {
        let ballistics = Ballistics::default();
        for (b, bus) in levels.iter().enumerate() {
            for (c, l) in bus.iter().enumerate() {
                self.peaks[b][c].update(l.peak, now, &ballistics);
                self.rms[b][c] = l.rms.dbfs();
            }
        }
    }

    /// Every bus's reading, left then right.
    pub fn readings(&self) -> impl Iterator<Item = (MeterBus, [ChannelReading; CHANNELS])> + '_ {
        MeterBus::ALL.into_iter().enumerate().map(|(b, bus)| {
            let ch = |c: usize| ChannelReading {
                peak: self.peaks[b][c].peak(),
                hold: self.peaks[b][c].hold(),
                rms: self.rms[b][c],
            };
            (bus, [ch(0), ch(1)])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::show::LogicalChannel;

    fn outs(frames: usize) -> (MainOut, AuditionOut) {
        let ch = |n| LogicalChannel::new(n).unwrap();
        let pair = [ch(1), ch(2)];
        let main = MainOut::new([&pair[..], &[], &[], &[]], frames);
        (main, AuditionOut::new(&[ch(3)], frames))
    }

    /// Renders one block with group B's left at `b_left` and the audition's
    /// right at `aud_right`, constant.
    fn block(
        main: &mut MainOut,
        aud: &mut AuditionOut,
        frames: usize,
        b_left: f32,
        aud_right: f32,
    ) {
        main.clear(frames);
        aud.clear(frames);
        main.groups[1].span_mut(0, frames).0.fill(b_left);
        aud.bus[0].span_mut(0, frames).1.fill(aud_right);
        main.finish(frames);
        aud.finish(frames);
    }

    #[test]
    fn a_read_takes_the_highest_peak_since_the_last_one() {
        let (mut main, mut aud) = outs(64);
        let (mut w, r) = MeterWriter::new(48_000);
        block(&mut main, &mut aud, 64, -0.25, 0.0);
        w.write(&main, &aud);
        block(&mut main, &mut aud, 32, 0.5, 0.125);
        w.write(&main, &aud);
        block(&mut main, &mut aud, 64, 0.1, 0.0);
        w.write(&main, &aud);
        let levels = r.read();
        let b = MeterBus::ALL
            .iter()
            .position(|b| *b == MeterBus::Group(Group::B))
            .unwrap();
        assert_eq!(
            levels[b][0].peak,
            Level::new(0.5),
            "the loudest block, not the last"
        );
        assert_eq!(levels[b][1].peak, Level::SILENCE);
        assert_eq!(levels[4][0].peak, Level::new(0.5), "the mains carry B");
        assert_eq!(levels[5][1].peak, Level::new(0.125), "the audition bus");
        assert_eq!(levels[0][0], ChannelLevels::default(), "A is silent");
        assert!(levels[b][0].rms > Level::SILENCE);
        // The read took the peaks: the next one sees only what came since.
        block(&mut main, &mut aud, 64, 0.0, 0.0);
        w.write(&main, &aud);
        assert_eq!(r.read()[b][0].peak, Level::SILENCE);
    }

    #[test]
    fn meters_apply_the_ballistics_per_channel() {
        let mut levels = BusLevels::default();
        levels[4][1].peak = Level::new(1.0);
        levels[4][1].rms = Level::new(0.5);
        let mut m = Meters::default();
        let t0 = Instant::now();
        m.update(&levels, t0);
        m.update(
            &BusLevels::default(),
            t0 + std::time::Duration::from_millis(100),
        );
        let (bus, [l, r]) = m.readings().nth(4).unwrap();
        assert_eq!(bus, MeterBus::Main);
        assert_eq!(bus.to_string(), "main");
        assert_eq!(l, ChannelReading::default());
        assert!(
            (r.peak.db() + 2.0).abs() < 1e-3,
            "fell 2 dB in 0.1 s: {}",
            r.peak
        );
        assert_eq!(r.hold, Dbfs::new(0.0));
        assert_eq!(r.rms, Dbfs::SILENCE, "RMS is the render thread's, as read");
    }
}
