//! What Symphonia 0.6.1 misses in a WAV file's chunks.
//!
//! Its WAV reader parses a `LIST/INFO` chunk before the data chunk but drops
//! it (the reader is built with an empty metadata log), and never sees one
//! after the data chunk, where many editors put it. It also lets the data
//! length override the `fact` chunk's frame count, which for block codecs
//! (ADPCM) is the exact length while the data holds whole, padded blocks.
//! So cuebox walks the chunk list itself; if a later Symphonia reports the
//! same tags, the first-value-wins collector makes the duplicates harmless.

use std::io::SeekFrom;

use symphonia::core::io::MediaSource;

/// Chunks visited at most.
const MAX_CHUNKS: usize = 1000;
/// The largest INFO list read; real ones are a few hundred bytes.
const MAX_INFO_BYTES: u32 = 256 * 1024;

/// What the chunk walk found.
#[derive(Debug, Default)]
pub(crate) struct WavChunks {
    /// The `(id, value)` entries of the first `LIST/INFO` chunk, in order.
    pub info: Vec<([u8; 4], String)>,
    /// The `fact` chunk's frame count.
    pub fact_frames: Option<u64>,
}

/// Walks a WAV file's chunks. Any damage ends the walk quietly: tags are a
/// courtesy, and the decode itself judges the audio.
pub(crate) fn scan(src: &mut dyn MediaSource) -> WavChunks {
    let mut found = WavChunks::default();
    let Some(len) = src.byte_len() else {
        return found;
    };
    let mut pos = 12; // "RIFF", size, "WAVE"
    for _ in 0..MAX_CHUNKS {
        let Some(head) = read_at::<8>(src, pos) else {
            break;
        };
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let body = pos + 8;
        match &head[..4] {
            b"LIST" if found.info.is_empty() && (4..=MAX_INFO_BYTES).contains(&size) => {
                if let Some(list) = read_vec(src, body, size).filter(|l| l.starts_with(b"INFO")) {
                    found.info = parse_info(&list[4..]);
                }
            }
            b"fact" if size >= 4 => {
                found.fact_frames =
                    read_at::<4>(src, body).map(|n| u64::from(u32::from_le_bytes(n)));
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        pos = body + u64::from(size) + u64::from(size % 2);
        if pos >= len {
            break;
        }
    }
    found
}

/// Splits an INFO list body into entries; values are NUL-terminated text.
fn parse_info(mut rest: &[u8]) -> Vec<([u8; 4], String)> {
    let mut entries = Vec::new();
    while rest.len() >= 8 {
        let id = [rest[0], rest[1], rest[2], rest[3]];
        let size = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let Some(value) = rest.get(8..8 + size) else {
            break;
        };
        let value = value.split(|&b| b == 0).next().unwrap_or_default();
        entries.push((id, String::from_utf8_lossy(value).into_owned()));
        rest = rest.get(8 + size + size % 2..).unwrap_or_default();
    }
    entries
}

fn read_at<const N: usize>(src: &mut dyn MediaSource, pos: u64) -> Option<[u8; N]> {
    let mut buf = [0u8; N];
    src.seek(SeekFrom::Start(pos)).ok()?;
    src.read_exact(&mut buf).ok()?;
    Some(buf)
}

fn read_vec(src: &mut dyn MediaSource, pos: u64, len: u32) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    src.seek(SeekFrom::Start(pos)).ok()?;
    src.read_exact(&mut buf).ok()?;
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_entries_split_and_stop_at_damage() {
        let mut list = Vec::new();
        list.extend_from_slice(b"INAM\x05\0\0\0Cue1\0\0");
        list.extend_from_slice(b"IART\x02\0\0\0AB");
        list.extend_from_slice(b"ICMT\xff\0\0\0short");
        let entries = parse_info(&list);
        assert_eq!(
            entries,
            vec![(*b"INAM", "Cue1".to_owned()), (*b"IART", "AB".to_owned())]
        );
    }
}
