//! Timecode: SMPTE times and frame rates, and the LTC codec (biphase-mark
//! audio timecode) — pure, samples in and frames out, no I/O.
//!
//! - [`Timecode`] and [`FrameRate`]: HH:MM:SS:FF at 24, 25, 29.97 drop-frame
//!   and 30 fps, with drop-frame counting done right.
//! - [`ltc::LtcFrame`]: the 80-bit frame (time, user bits, flags, sync word).
//! - [`ltc::Encoder`]: a generator; [`ltc::Decoder`]: a decoder that reports
//!   each frame with the exact samples where it starts and ends, forward or
//!   reverse, across speed changes, at any level, polarity and DC offset.

pub mod chase;
pub mod clock;
pub mod cues;
pub mod ltc;
pub mod mtc;
pub mod timebase;

use std::fmt;

/// A timecode frame rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FrameRate {
    /// 24 fps (film).
    #[serde(rename = "24")]
    Fps24,
    /// 25 fps (PAL).
    #[serde(rename = "25")]
    Fps25,
    /// 29.97 fps drop-frame (NTSC).
    #[serde(rename = "29.97df")]
    Fps2997Df,
    /// 30 fps non-drop.
    #[serde(rename = "30")]
    Fps30,
}

impl FrameRate {
    /// Every rate, in the order of MTC's rate codes 0–3.
    pub const ALL: [FrameRate; 4] = [
        FrameRate::Fps24,
        FrameRate::Fps25,
        FrameRate::Fps2997Df,
        FrameRate::Fps30,
    ];

    /// Frames per second, exactly (30000/1001 for drop-frame).
    pub fn fps(self) -> f64 {
        match self {
            FrameRate::Fps24 => 24.0,
            FrameRate::Fps25 => 25.0,
            FrameRate::Fps2997Df => 30_000.0 / 1001.0,
            FrameRate::Fps30 => 30.0,
        }
    }

    /// Frame numbers per second of the label (30 for 29.97 drop-frame).
    pub fn nominal(self) -> u8 {
        match self {
            FrameRate::Fps24 => 24,
            FrameRate::Fps25 => 25,
            FrameRate::Fps2997Df | FrameRate::Fps30 => 30,
        }
    }

    /// Whether it drops frame numbers.
    pub fn drop_frame(self) -> bool {
        self == FrameRate::Fps2997Df
    }
}

impl std::str::FromStr for FrameRate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "24" => Ok(FrameRate::Fps24),
            "25" => Ok(FrameRate::Fps25),
            "29.97" | "29.97df" | "2997" => Ok(FrameRate::Fps2997Df),
            "30" => Ok(FrameRate::Fps30),
            _ => Err(format!(
                "frame rate {s:?} is not supported: use 24, 25, 29.97 (drop-frame) or 30"
            )),
        }
    }
}

/// A SMPTE time: hours, minutes, seconds, frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timecode {
    /// 0–23.
    pub hours: u8,
    /// 0–59.
    pub minutes: u8,
    /// 0–59.
    pub seconds: u8,
    /// 0 to the rate's frame numbers − 1.
    pub frames: u8,
}

/// Why a timecode is not valid at a rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimecodeError {
    /// Not HH:MM:SS:FF.
    #[error("timecode {0:?} is not HH:MM:SS:FF")]
    Syntax(String),
    /// A field out of range, or a frame number drop-frame skips.
    #[error("timecode {tc} does not exist at {rate:?}: {why}")]
    Range {
        /// The time.
        tc: Timecode,
        /// The rate.
        rate: FrameRate,
        /// Which field.
        why: &'static str,
    },
}

impl Timecode {
    /// Checks the fields against `rate`.
    pub fn check(self, rate: FrameRate) -> Result<Self, TimecodeError> {
        let bad = |why| TimecodeError::Range {
            tc: self,
            rate,
            why,
        };
        if self.hours > 23 {
            return Err(bad("hours above 23"));
        }
        if self.minutes > 59 || self.seconds > 59 {
            return Err(bad("minutes or seconds above 59"));
        }
        if self.frames >= rate.nominal() {
            return Err(bad("frame number too high"));
        }
        if rate.drop_frame()
            && self.seconds == 0
            && self.frames < 2
            && !self.minutes.is_multiple_of(10)
        {
            return Err(bad("drop-frame skips frames 0 and 1 of this minute"));
        }
        Ok(self)
    }

    /// Frames since 00:00:00:00 at `rate` (drop-frame counted as real frames).
    pub fn to_frames(self, rate: FrameRate) -> u64 {
        let n = u64::from(rate.nominal());
        let minutes = u64::from(self.hours) * 60 + u64::from(self.minutes);
        let mut frames = (minutes * 60 + u64::from(self.seconds)) * n + u64::from(self.frames);
        if rate.drop_frame() {
            // Two numbers dropped each minute except every tenth.
            frames -= 2 * (minutes - minutes / 10);
        }
        frames
    }

    /// The time `frames` frames after 00:00:00:00 at `rate`, wrapping at 24 h.
    pub fn from_frames(frames: u64, rate: FrameRate) -> Self {
        let n = u64::from(rate.nominal());
        let mut frames = frames;
        if rate.drop_frame() {
            // 17982 real frames per ten minutes; 1798 per dropped minute.
            let per_ten = 17_982;
            let day = per_ten * 6 * 24;
            frames %= day;
            let tens = frames / per_ten;
            let rest = frames % per_ten;
            let extra = if rest < 2 { 0 } else { 2 * ((rest - 2) / 1798) };
            frames += 18 * tens + extra;
        } else {
            frames %= n * 86_400;
        }
        Timecode {
            hours: (frames / (n * 3600)) as u8,
            minutes: (frames / (n * 60) % 60) as u8,
            seconds: (frames / n % 60) as u8,
            frames: (frames % n) as u8,
        }
    }

    /// The next frame at `rate`.
    pub fn next(self, rate: FrameRate) -> Self {
        Timecode::from_frames(self.to_frames(rate) + 1, rate)
    }

    /// The previous frame at `rate`.
    pub fn prev(self, rate: FrameRate) -> Self {
        let day = Timecode {
            hours: 23,
            minutes: 59,
            seconds: 59,
            frames: rate.nominal() - 1,
        }
        .to_frames(rate)
            + 1;
        Timecode::from_frames((self.to_frames(rate) + day - 1) % day, rate)
    }
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}:{:02}:{:02}",
            self.hours, self.minutes, self.seconds, self.frames
        )
    }
}

impl std::str::FromStr for Timecode {
    type Err = TimecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split([':', ';', '.']).collect();
        let field = |i: usize| -> Result<u8, TimecodeError> {
            parts
                .get(i)
                .filter(|p| p.len() == 2)
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| TimecodeError::Syntax(s.to_string()))
        };
        if parts.len() != 4 {
            return Err(TimecodeError::Syntax(s.to_string()));
        }
        Ok(Timecode {
            hours: field(0)?,
            minutes: field(1)?,
            seconds: field(2)?,
            frames: field(3)?,
        })
    }
}

/// Written as `"HH:MM:SS:FF"` in sessions and commands.
impl serde::Serialize for Timecode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timecode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(s: &str) -> Timecode {
        s.parse().unwrap()
    }

    #[test]
    fn drop_frame_skips_two_numbers_a_minute_except_every_tenth() {
        let df = FrameRate::Fps2997Df;
        assert_eq!(tc("00:00:59:29").next(df), tc("00:01:00:02"));
        assert_eq!(tc("00:09:59:29").next(df), tc("00:10:00:00"));
        assert_eq!(tc("00:01:00:02").prev(df), tc("00:00:59:29"));
        // An hour of 29.97 is 107892 frames.
        assert_eq!(tc("01:00:00:00").to_frames(df), 107_892);
        assert!(tc("00:01:00:01").check(df).is_err());
        assert!(tc("00:10:00:01").check(df).is_ok());
    }

    #[test]
    fn frames_round_trip_at_every_rate() {
        for rate in FrameRate::ALL {
            for n in (0..200_000u64)
                .step_by(997)
                .chain([0, 1, 1799, 1800, 17_982])
            {
                let t = Timecode::from_frames(n, rate);
                assert_eq!(t.check(rate), Ok(t));
                assert_eq!(t.to_frames(rate), n, "{rate:?} {t}");
            }
            let last = Timecode::from_frames(0, rate).prev(rate);
            assert_eq!(last.hours, 23);
            assert_eq!(last.next(rate), Timecode::from_frames(0, rate));
        }
    }

    #[test]
    fn timecodes_parse_and_print() {
        assert_eq!(tc("10:00:00:00").to_string(), "10:00:00:00");
        assert_eq!(tc("01:02:03;04").frames, 4);
        assert!("1:2:3:4".parse::<Timecode>().is_err());
        assert!("99:00:00:00"
            .parse::<Timecode>()
            .unwrap()
            .check(FrameRate::Fps25)
            .is_err());
    }
}
