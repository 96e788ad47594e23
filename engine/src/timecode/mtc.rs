//! MIDI timecode: quarter-frame (`F1 0nnn dddd`) and full-frame
//! (`F0 7F dev 01 01 hh mm ss ff F7`) messages, parsed from a MIDI byte
//! stream and generated. Pure: bytes in, times out.
//!
//! Eight quarter frames carry one time over two frames, so a receiver knows
//! the time only after the eighth: the time they carry is that of the frame
//! when the first was sent, and the frame playing when the last arrives is
//! two later (the "two-frame offset", applied here). Pieces arriving in
//! descending order mean reverse play.

use super::{FrameRate, Timecode};

/// MTC's rate code (bits 5–6 of the hours byte): the rate's place in
/// [`FrameRate::ALL`].
fn rate_code(rate: FrameRate) -> u8 {
    FrameRate::ALL.iter().position(|r| *r == rate).unwrap_or(0) as u8
}

fn rate_of(code: u8) -> FrameRate {
    FrameRate::ALL[usize::from(code & 3)]
}

/// The eight quarter-frame messages for `tc` at `rate`, piece 0 first.
pub fn quarter_frames(tc: Timecode, rate: FrameRate) -> [[u8; 2]; 8] {
    let hours = tc.hours | rate_code(rate) << 5;
    let values = [tc.frames, tc.seconds, tc.minutes, hours];
    std::array::from_fn(|piece| {
        let v = values[piece / 2];
        let nibble = if piece % 2 == 0 { v & 0x0f } else { v >> 4 };
        [0xf1, (piece as u8) << 4 | nibble]
    })
}

/// The full-frame message for `tc` at `rate` to `device` (0x7F: all).
pub fn full_frame(tc: Timecode, rate: FrameRate, device: u8) -> [u8; 10] {
    [
        0xf0,
        0x7f,
        device & 0x7f,
        0x01,
        0x01,
        tc.hours | rate_code(rate) << 5,
        tc.minutes,
        tc.seconds,
        tc.frames,
        0xf7,
    ]
}

/// Which way time runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Pieces 0 → 7.
    Forward,
    /// Pieces 7 → 0.
    Reverse,
}

/// A time the stream told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtcEvent {
    /// A full-frame message: the transport located (or stopped) here.
    Full {
        /// The time.
        tc: Timecode,
        /// The rate.
        rate: FrameRate,
    },
    /// A quarter frame completed a time: the frame playing now (the two-frame
    /// offset applied) and the quarter frame within it (0–3).
    Running {
        /// The frame playing.
        tc: Timecode,
        /// The rate.
        rate: FrameRate,
        /// Quarter frames into it.
        quarter: u8,
        /// Which way.
        direction: Direction,
    },
}

/// Parses MTC out of a MIDI byte stream (other messages are skipped).
#[derive(Debug, Clone, Default)]
pub struct MtcParser {
    /// Waiting for a quarter frame's data byte.
    quarter_status: bool,
    /// A SysEx in progress, and its first bytes.
    sysex: Option<([u8; 10], usize)>,
    /// Nibbles received of the current sequence.
    nibbles: [u8; 8],
    /// Pieces received in order since the sequence began.
    run: u8,
    last_piece: Option<u8>,
    direction: Option<Direction>,
    /// The time the last complete sequence gave, and its rate.
    locked: Option<(Timecode, FrameRate)>,
}

impl MtcParser {
    /// A parser with nothing received.
    pub fn new() -> Self {
        MtcParser::default()
    }

    /// Feeds one byte; returns a time when the byte completes one.
    pub fn feed(&mut self, byte: u8) -> Option<MtcEvent> {
        if byte >= 0xf8 {
            // Real-time messages may appear anywhere, even inside SysEx.
            return None;
        }
        if let Some((buf, len)) = &mut self.sysex {
            if byte == 0xf7 {
                let (buf, len) = (*buf, *len);
                self.sysex = None;
                return self.sysex_done(&buf[..len]);
            }
            if byte & 0x80 != 0 {
                self.sysex = None;
            } else {
                if *len < buf.len() {
                    buf[*len] = byte;
                }
                *len += 1;
                return None;
            }
        }
        if byte & 0x80 != 0 {
            self.quarter_status = byte == 0xf1;
            if byte == 0xf0 {
                self.sysex = Some(([0; 10], 0));
            }
            return None;
        }
        if !std::mem::take(&mut self.quarter_status) {
            return None;
        }
        self.quarter(byte >> 4 & 7, byte & 0x0f)
    }

    fn sysex_done(&mut self, body: &[u8]) -> Option<MtcEvent> {
        // 7F dev 01 01 hh mm ss ff
        if body.len() != 8 || body[0] != 0x7f || body[2] != 0x01 || body[3] != 0x01 {
            return None;
        }
        let rate = rate_of(body[4] >> 5);
        let tc = Timecode {
            hours: body[4] & 0x1f,
            minutes: body[5],
            seconds: body[6],
            frames: body[7],
        }
        .check(rate)
        .ok()?;
        // A locate: quarter frames start a new sequence.
        self.run = 0;
        self.last_piece = None;
        self.locked = Some((tc, rate));
        Some(MtcEvent::Full { tc, rate })
    }

    fn quarter(&mut self, piece: u8, nibble: u8) -> Option<MtcEvent> {
        let direction = match self.last_piece {
            Some(last) if piece == (last + 1) % 8 => Some(Direction::Forward),
            Some(last) if piece == (last + 7) % 8 => Some(Direction::Reverse),
            _ => None,
        };
        match direction {
            Some(d) if self.direction == Some(d) || self.run <= 1 => {
                self.run = self.run.saturating_add(1)
            }
            _ => self.run = 1,
        }
        self.direction = direction.or(self.direction);
        self.last_piece = Some(piece);
        self.nibbles[usize::from(piece)] = nibble;
        let direction = self.direction.unwrap_or(Direction::Forward);
        let last_of_sequence = match direction {
            Direction::Forward => 7,
            Direction::Reverse => 0,
        };
        if piece == last_of_sequence && self.run >= 8 {
            let n = &self.nibbles;
            let byte = |i: usize| n[2 * i] | n[2 * i + 1] << 4;
            let rate = rate_of(byte(3) >> 5);
            let sent = Timecode {
                frames: byte(0),
                seconds: byte(1),
                minutes: byte(2),
                hours: byte(3) & 0x1f,
            }
            .check(rate)
            .ok()?;
            // Eight quarter frames took two frames.
            let now = match direction {
                Direction::Forward => sent.next(rate).next(rate),
                Direction::Reverse => sent.prev(rate).prev(rate),
            };
            self.locked = Some((now, rate));
            return Some(MtcEvent::Running {
                tc: now,
                rate,
                quarter: 0,
                direction,
            });
        }
        // Between complete sequences, each quarter frame moves a locked time on.
        let (tc, rate) = self.locked?;
        if self.run < 2 {
            return None;
        }
        let quarter = match direction {
            Direction::Forward => (piece + 1) % 4,
            Direction::Reverse => (8 - piece) % 4,
        };
        let tc = if quarter == 0 {
            let next = match direction {
                Direction::Forward => tc.next(rate),
                Direction::Reverse => tc.prev(rate),
            };
            self.locked = Some((next, rate));
            next
        } else {
            tc
        };
        Some(MtcEvent::Running {
            tc,
            rate,
            quarter,
            direction,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(start: Timecode, rate: FrameRate, frames: usize) -> Vec<u8> {
        // Quarter frames go out four per frame; a sequence spans two frames
        // and carries the time of its first.
        let mut out = Vec::new();
        let mut tc = start;
        for _ in 0..frames / 2 {
            for q in quarter_frames(tc, rate) {
                out.extend(q);
            }
            tc = tc.next(rate).next(rate);
        }
        out
    }

    #[test]
    fn an_hour_long_stream_runs_on_without_overflow() {
        // 90,000 frames: far more quarter frames than any counter of 255.
        let start = Timecode::from_frames(0, FrameRate::Fps25);
        let mut parser = MtcParser::new();
        let mut last = None;
        for b in stream(start, FrameRate::Fps25, 90_000) {
            if let Some(MtcEvent::Running { tc, .. }) = parser.feed(b) {
                last = Some(tc);
            }
        }
        // The last sequence carries 00:59:59:23; its end is two frames on.
        assert_eq!(last, Some("01:00:00:00".parse().unwrap()));
    }

    #[test]
    fn a_running_stream_locks_after_eight_quarter_frames_with_the_two_frame_offset() {
        for rate in FrameRate::ALL {
            let start = Timecode::from_frames(1000, rate);
            let mut parser = MtcParser::new();
            let events: Vec<MtcEvent> = stream(start, rate, 20)
                .into_iter()
                .filter_map(|b| parser.feed(b))
                .collect();
            let MtcEvent::Running {
                tc,
                quarter,
                direction,
                ..
            } = events[0]
            else {
                panic!("{events:?}")
            };
            // Complete after 8 quarter frames (2 frames): the frame now
            // playing is start + 2.
            assert_eq!(tc, start.next(rate).next(rate));
            assert_eq!((quarter, direction), (0, Direction::Forward));
            // From then on every quarter frame updates the time.
            let last = events.last().unwrap();
            let MtcEvent::Running { tc, rate: r, .. } = *last else {
                panic!()
            };
            assert_eq!(r, rate);
            assert_eq!(tc.to_frames(rate), start.to_frames(rate) + 20);
            assert_eq!(events.len(), 80 - 8 + 1);
        }
    }

    #[test]
    fn full_frames_locate_and_other_midi_is_ignored() {
        let tc: Timecode = "01:02:03:04".parse().unwrap();
        let mut parser = MtcParser::new();
        let mut bytes = vec![0x90, 0x40, 0x7f, 0xf8];
        bytes.extend(full_frame(tc, FrameRate::Fps25, 0x7f));
        let events: Vec<MtcEvent> = bytes.into_iter().filter_map(|b| parser.feed(b)).collect();
        assert_eq!(
            events,
            [MtcEvent::Full {
                tc,
                rate: FrameRate::Fps25
            }]
        );
    }

    #[test]
    fn descending_pieces_are_reverse_play() {
        let rate = FrameRate::Fps30;
        let start: Timecode = "00:10:00:10".parse().unwrap();
        let mut parser = MtcParser::new();
        let mut events = Vec::new();
        let mut tc = start;
        for _ in 0..4 {
            for q in quarter_frames(tc, rate).iter().rev() {
                events.extend(q.iter().filter_map(|b| parser.feed(*b)));
            }
            tc = tc.prev(rate).prev(rate);
        }
        let MtcEvent::Running { tc, direction, .. } = events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(direction, Direction::Reverse);
        assert_eq!(tc, start.prev(rate).prev(rate));
    }
}
