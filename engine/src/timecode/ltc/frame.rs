//! The 80 bits of an LTC frame.

use super::super::{FrameRate, Timecode};

/// Bits 64–79 in transmission order: `0011 1111 1111 1101`.
pub const SYNC_WORD: [bool; 16] = [
    false, false, true, true, true, true, true, true, true, true, true, true, true, true, false,
    true,
];

/// One LTC frame's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LtcFrame {
    /// The time.
    pub tc: Timecode,
    /// The drop-frame flag (bit 10).
    pub drop_frame: bool,
    /// The colour-frame flag (bit 11).
    pub color_frame: bool,
    /// The 32 user bits, group 1 in the low nibble.
    pub user_bits: u32,
    /// The binary group flags BGF0, BGF1, BGF2.
    pub binary_group: [bool; 3],
}

/// Positions of the bits whose meaning depends on the rate: the polarity
/// correction bit and the binary group flags (25 fps moves them).
fn flag_bits(rate_25: bool) -> (usize, [usize; 3]) {
    if rate_25 {
        (59, [27, 43, 58])
    } else {
        (27, [43, 58, 59])
    }
}

const USER_NIBBLES: [usize; 8] = [4, 12, 20, 28, 36, 44, 52, 60];

impl LtcFrame {
    /// A frame for `tc` at `rate`, user bits zero.
    pub fn new(tc: Timecode, rate: FrameRate) -> Self {
        LtcFrame {
            tc,
            drop_frame: rate.drop_frame(),
            color_frame: false,
            user_bits: 0,
            binary_group: [false; 3],
        }
    }

    /// The 80 bits in transmission order, with the polarity correction bit
    /// set so every frame holds an even number of zeros (each frame then
    /// starts with the same edge direction). `rate_25` places the flags as
    /// 25 fps does.
    pub fn to_bits(&self, rate_25: bool) -> [bool; 80] {
        let mut b = [false; 80];
        let mut put = |at: usize, width: usize, value: u32| {
            for i in 0..width {
                b[at + i] = value >> i & 1 == 1;
            }
        };
        let tc = self.tc;
        put(0, 4, u32::from(tc.frames % 10));
        put(8, 2, u32::from(tc.frames / 10));
        put(16, 4, u32::from(tc.seconds % 10));
        put(24, 3, u32::from(tc.seconds / 10));
        put(32, 4, u32::from(tc.minutes % 10));
        put(40, 3, u32::from(tc.minutes / 10));
        put(48, 4, u32::from(tc.hours % 10));
        put(56, 2, u32::from(tc.hours / 10));
        for (n, &at) in USER_NIBBLES.iter().enumerate() {
            put(at, 4, self.user_bits >> (4 * n) & 0xf);
        }
        b[10] = self.drop_frame;
        b[11] = self.color_frame;
        let (parity, bgf) = flag_bits(rate_25);
        for (i, &at) in bgf.iter().enumerate() {
            b[at] = self.binary_group[i];
        }
        b[64..].copy_from_slice(&SYNC_WORD);
        b[parity] = false;
        let zeros = b.iter().filter(|x| !**x).count();
        b[parity] = zeros % 2 == 1;
        b
    }

    /// Reads a frame from its 80 bits in transmission order; `None` if a
    /// field is out of range (a misread). `rate_25` places the flags as 25
    /// fps does.
    pub fn from_bits(b: &[bool; 80], rate_25: bool) -> Option<Self> {
        let get = |at: usize, width: usize| -> u8 {
            (0..width).fold(0, |v, i| v | (u8::from(b[at + i]) << i))
        };
        let tc = Timecode {
            frames: get(8, 2) * 10 + get(0, 4),
            seconds: get(24, 3) * 10 + get(16, 4),
            minutes: get(40, 3) * 10 + get(32, 4),
            hours: get(56, 2) * 10 + get(48, 4),
        };
        if get(0, 4) > 9 || get(16, 4) > 9 || get(32, 4) > 9 || get(48, 4) > 9 {
            return None;
        }
        if tc.frames > 29 || tc.seconds > 59 || tc.minutes > 59 || tc.hours > 23 {
            return None;
        }
        let user_bits = USER_NIBBLES
            .iter()
            .enumerate()
            .fold(0u32, |v, (n, &at)| v | u32::from(get(at, 4)) << (4 * n));
        let (_, bgf) = flag_bits(rate_25);
        Some(LtcFrame {
            tc,
            drop_frame: b[10],
            color_frame: b[11],
            user_bits,
            binary_group: bgf.map(|at| b[at]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_even_zeros_and_the_sync_word() {
        let tc: Timecode = "10:23:45:17".parse().unwrap();
        for rate_25 in [false, true] {
            let f = LtcFrame {
                user_bits: 0xdead_beef,
                binary_group: [true, false, true],
                color_frame: true,
                ..LtcFrame::new(tc, FrameRate::Fps30)
            };
            let bits = f.to_bits(rate_25);
            assert_eq!(&bits[64..], &SYNC_WORD);
            assert_eq!(bits.iter().filter(|b| !**b).count() % 2, 0);
            assert_eq!(LtcFrame::from_bits(&bits, rate_25), Some(f));
        }
    }
}
