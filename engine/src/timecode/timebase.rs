//! The timebase: the master clock's published mapping between the audio
//! sample counter, timecode and PTP time, with their rates. One writer (the
//! clock) publishes; any number of readers (the render thread, time
//! division, performance logging) read it wait-free through a
//! [`seqlock`](crate::seqlock).

use crate::seqlock::{seqlock, SeqReader, SeqWriter};

/// Where the published time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// LTC on an audio input.
    Ltc,
    /// MIDI timecode.
    Mtc,
    /// PTP (IEEE 1588).
    Ptp,
    /// The system clock: the fallback.
    System,
    /// No source yet: the sample counter alone.
    Free,
}

impl Source {
    fn code(self) -> u64 {
        match self {
            Source::Ltc => 0,
            Source::Mtc => 1,
            Source::Ptp => 2,
            Source::System => 3,
            Source::Free => 4,
        }
    }

    fn from_code(code: u64) -> Self {
        match code {
            0 => Source::Ltc,
            1 => Source::Mtc,
            2 => Source::Ptp,
            3 => Source::System,
            _ => Source::Free,
        }
    }
}

/// One consistent snapshot of the mapping: at audio sample `sample`, the
/// timecode was `tc_frames` (frames since midnight, fractional) and PTP time
/// `ptp_ns`; from there timecode advances `tc_per_sample` frames and PTP
/// `ns_per_sample` nanoseconds per sample.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Mapping {
    /// The anchor sample.
    pub sample: u64,
    /// Timecode at the anchor, frames since 00:00:00:00.
    pub tc_frames: f64,
    /// Timecode frames per audio sample (the rate ratio: 25/48000 at 1×).
    pub tc_per_sample: f64,
    /// PTP time at the anchor, nanoseconds.
    pub ptp_ns: u64,
    /// PTP nanoseconds per audio sample (the card's rate against PTP).
    pub ns_per_sample: f64,
    /// The source it follows.
    pub source: Source,
    /// Publications so far: a reader can tell a new mapping from an old.
    pub generation: u64,
}

impl Mapping {
    /// The sample counter alone: timecode from 0 at `fps`, PTP time from
    /// 0, both at the nominal rate of a `sample_rate` card.
    pub fn free(sample_rate: u32, fps: f64) -> Self {
        Mapping {
            sample: 0,
            tc_frames: 0.0,
            tc_per_sample: fps / f64::from(sample_rate),
            ptp_ns: 0,
            ns_per_sample: 1e9 / f64::from(sample_rate),
            source: Source::Free,
            generation: 0,
        }
    }

    /// Timecode (fractional frames since midnight) at `sample`.
    pub fn tc_at(&self, sample: u64) -> f64 {
        self.tc_frames + (sample as f64 - self.sample as f64) * self.tc_per_sample
    }

    /// PTP time (ns) at `sample`.
    pub fn ptp_at(&self, sample: u64) -> f64 {
        self.ptp_ns as f64 + (sample as f64 - self.sample as f64) * self.ns_per_sample
    }

    /// The sample at which timecode reaches `tc_frames` (fractional), if it
    /// is moving forward.
    pub fn sample_at_tc(&self, tc_frames: f64) -> Option<f64> {
        (self.tc_per_sample > 0.0)
            .then(|| self.sample as f64 + (tc_frames - self.tc_frames) / self.tc_per_sample)
    }
}

/// The one writer.
#[derive(Debug)]
pub struct TimebaseWriter {
    words: SeqWriter<6>,
    generation: u64,
}

/// A reader; clone it for every subscriber.
#[derive(Debug, Clone)]
pub struct TimebaseReader {
    words: SeqReader<6>,
}

/// A timebase starting from `initial`: its writer and a reader.
pub fn timebase(initial: Mapping) -> (TimebaseWriter, TimebaseReader) {
    let (words, reader) = seqlock([0; 6]);
    let mut writer = TimebaseWriter {
        words,
        generation: 0,
    };
    writer.publish(initial);
    (writer, TimebaseReader { words: reader })
}

impl TimebaseWriter {
    /// Publishes a new mapping (its `generation` is set here).
    pub fn publish(&mut self, mapping: Mapping) {
        self.generation += 1;
        self.words.write([
            mapping.sample,
            mapping.tc_frames.to_bits(),
            mapping.tc_per_sample.to_bits(),
            mapping.ptp_ns,
            mapping.ns_per_sample.to_bits(),
            mapping.source.code() | self.generation << 8,
        ]);
    }
}

impl TimebaseReader {
    /// The latest mapping. Wait-free in practice: it retries only while a
    /// publish is overlapping this very read.
    pub fn read(&self) -> Mapping {
        let v = self.words.read();
        Mapping {
            sample: v[0],
            tc_frames: f64::from_bits(v[1]),
            tc_per_sample: f64::from_bits(v[2]),
            ptp_ns: v[3],
            ns_per_sample: f64::from_bits(v[4]),
            source: Source::from_code(v[5] & 0xff),
            generation: v[5] >> 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(k: u64) -> Mapping {
        // Every field derived from k, so a torn read is detectable.
        Mapping {
            sample: k * 48_000,
            tc_frames: k as f64 * 25.0,
            tc_per_sample: 25.0 / 48_000.0 + k as f64 * 1e-12,
            ptp_ns: k * 1_000_000_000,
            ns_per_sample: 1e9 / 48_000.0 + k as f64 * 1e-9,
            source: if k.is_multiple_of(2) {
                Source::Ltc
            } else {
                Source::Ptp
            },
            generation: 0,
        }
    }

    #[test]
    fn readers_never_see_a_torn_mapping() {
        let (mut writer, reader) = timebase(mapping(0));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let r = reader.clone();
                std::thread::spawn(move || {
                    let mut last = 0;
                    for _ in 0..200_000 {
                        let m = r.read();
                        let k = m.sample / 48_000;
                        assert_eq!(
                            m,
                            Mapping {
                                generation: m.generation,
                                ..mapping(k)
                            }
                        );
                        assert!(m.generation >= last, "generations never go back");
                        last = m.generation;
                    }
                })
            })
            .collect();
        for k in 1..100_000 {
            writer.publish(mapping(k));
        }
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(reader.read().generation, 100_000);
    }

    #[test]
    fn the_mapping_converts_between_samples_timecode_and_ptp() {
        let m = mapping(10);
        assert!(
            (m.tc_at(m.sample + 48_000) - (m.tc_frames + 25.0 + 48_000.0 * 1e-11)).abs() < 1e-6
        );
        let s = m.sample_at_tc(m.tc_frames + 25.0).unwrap();
        assert!((m.tc_at(s.round() as u64) - (m.tc_frames + 25.0)).abs() < 1e-3);
        assert!((m.ptp_at(m.sample) - m.ptp_ns as f64).abs() < 1e-3);
    }
}
