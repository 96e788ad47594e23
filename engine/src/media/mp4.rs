//! The encoder delay of an MPEG-4 audio track, from its edit list.
//!
//! Symphonia's MP4 reader parses but does not apply edit lists, and AAC
//! encoders put ~1024–2112 frames of priming silence before the audio, which
//! the edit list's `media_time` skips. Without it a gapless AAC clip would
//! start late and run long, so this reads just `moov/trak/{edts/elst, mdia}`
//! before Symphonia gets the stream. Anything unexpected gives `None`: the
//! clip then plays with the priming silence rather than failing.

use std::io::SeekFrom;

use symphonia::core::io::MediaSource;

/// Boxes visited at most, so a file of millions of tiny boxes costs nothing.
const MAX_BOXES: usize = 10_000;

/// The start of an audio track's media as its edit list gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EditStart {
    /// Where the presented audio starts, in `timescale` units.
    pub media_time: u64,
    /// The track's media timescale (units per second).
    pub timescale: u32,
}

impl EditStart {
    /// The start in frames at `sample_rate`.
    pub fn frames(self, sample_rate: u32) -> u64 {
        if self.timescale == sample_rate || self.timescale == 0 {
            return self.media_time;
        }
        let scaled =
            u128::from(self.media_time) * u128::from(sample_rate) / u128::from(self.timescale);
        u64::try_from(scaled).unwrap_or(u64::MAX)
    }
}

/// Finds the edit-list start of the first sound track. The source is left at
/// an arbitrary position; the caller rewinds it.
pub(crate) fn audio_edit_start(src: &mut dyn MediaSource) -> Option<EditStart> {
    let len = src.byte_len()?;
    let mut walker = Walker { src, visited: 0 };
    let (moov_start, moov_end) = walker.find(0, len, b"moov")?;
    let mut pos = moov_start;
    while let Some(b) = walker.next_box(pos, moov_end) {
        pos = b.end;
        if &b.kind != b"trak" {
            continue;
        }
        if let Some(start) = walker.trak(b.body, b.end) {
            return Some(start);
        }
    }
    None
}

/// One box: its type and where its body and the box end.
struct BoxAt {
    kind: [u8; 4],
    body: u64,
    end: u64,
}

struct Walker<'a> {
    src: &'a mut dyn MediaSource,
    visited: usize,
}

impl Walker<'_> {
    /// The box at `pos`, if it lies within `limit`.
    fn next_box(&mut self, pos: u64, limit: u64) -> Option<BoxAt> {
        self.visited += 1;
        if self.visited > MAX_BOXES || pos.checked_add(8)? > limit {
            return None;
        }
        let head: [u8; 8] = self.read_at(pos)?;
        let size = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
        let kind = [head[4], head[5], head[6], head[7]];
        let (body, end) = match size {
            0 => (pos + 8, limit),
            1 => (
                pos + 16,
                pos.checked_add(u64::from_be_bytes(self.read_at(pos + 8)?))?,
            ),
            n => (pos + 8, pos.checked_add(n)?),
        };
        (end <= limit && body <= end).then_some(BoxAt { kind, body, end })
    }

    /// The body range of the first `kind` box among the siblings in `start..end`.
    fn find(&mut self, start: u64, end: u64, kind: &[u8; 4]) -> Option<(u64, u64)> {
        let mut pos = start;
        while let Some(b) = self.next_box(pos, end) {
            if &b.kind == kind {
                return Some((b.body, b.end));
            }
            pos = b.end;
        }
        None
    }

    /// The edit start of a `trak`, if it is a sound track with a simple edit list.
    fn trak(&mut self, start: u64, end: u64) -> Option<EditStart> {
        let (mdia, mdia_end) = self.find(start, end, b"mdia")?;
        let (hdlr, _) = self.find(mdia, mdia_end, b"hdlr")?;
        // version+flags, pre_defined, then the handler type.
        let handler: [u8; 4] = self.read_at(hdlr + 8)?;
        if &handler != b"soun" {
            return None;
        }
        let (mdhd, _) = self.find(mdia, mdia_end, b"mdhd")?;
        let version: [u8; 1] = self.read_at(mdhd)?;
        // Skip creation and modification times (32- or 64-bit).
        let timescale_at = mdhd + if version[0] == 1 { 20 } else { 12 };
        let timescale = u32::from_be_bytes(self.read_at(timescale_at)?);
        let (edts, edts_end) = self.find(start, end, b"edts")?;
        let (elst, elst_end) = self.find(edts, edts_end, b"elst")?;
        let media_time = self.first_media_time(elst, elst_end)?;
        Some(EditStart {
            media_time,
            timescale,
        })
    }

    /// The media time of the one non-empty edit; `None` for a complex list.
    fn first_media_time(&mut self, start: u64, end: u64) -> Option<u64> {
        let head: [u8; 8] = self.read_at(start)?;
        let wide = head[0] == 1;
        let count = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let entry_len: u64 = if wide { 20 } else { 12 };
        let mut found = None;
        for i in 0..u64::from(count.min(16)) {
            let at = start + 8 + i * entry_len;
            if at + entry_len > end {
                return None;
            }
            let media_time = if wide {
                i64::from_be_bytes(self.read_at(at + 8)?)
            } else {
                i64::from(i32::from_be_bytes(self.read_at(at + 4)?))
            };
            // -1 marks an empty edit (a pause before the media starts).
            if media_time == -1 {
                continue;
            }
            if found.is_some() {
                return None;
            }
            found = Some(u64::try_from(media_time).ok()?);
        }
        found
    }

    fn read_at<const N: usize>(&mut self, pos: u64) -> Option<[u8; N]> {
        let mut buf = [0u8; N];
        self.src.seek(SeekFrom::Start(pos)).ok()?;
        self.src.read_exact(&mut buf).ok()?;
        Some(buf)
    }
}
