//! Reading rights metadata (and the iTunes gapless tag) from a file's tags.

use symphonia::core::meta::{MetadataRevision, RawValue, StandardTag, Tag};

use crate::show::RightsMetadata;

/// The longest tag value kept, in bytes; a hostile file's megabyte-long
/// "title" should not end up in the show file.
const MAX_TAG_BYTES: usize = 1024;

/// Encoder delay and padding from an iTunes `iTunSMPB` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItunesGapless {
    /// Frames of encoder delay at the start.
    pub delay: u64,
    /// Frames of padding at the end.
    pub padding: u64,
    /// Frames of real audio.
    pub frames: u64,
}

/// Collects rights metadata and gapless information across metadata
/// revisions; the first non-empty value of each field wins, as revisions
/// arrive in file order (leading ID3 before the container's own tags).
#[derive(Debug, Default)]
pub(crate) struct TagCollector {
    rights: RightsMetadata,
    /// A "writer" credit: MP4's ©wrt (iTunes' composer field) and RIFF IWRI.
    /// Used as the composer when no explicit composer tag exists.
    writer: Option<String>,
    /// Gapless figures from an iTunes `iTunSMPB` tag.
    pub itunes_gapless: Option<ItunesGapless>,
}

impl TagCollector {
    /// Takes the tags of a revision: its media-wide tags and those of `track_id`.
    pub fn add_revision(&mut self, revision: &MetadataRevision, track_id: u32) {
        let per_track = revision
            .per_track
            .iter()
            .filter(|t| t.track_id == u64::from(track_id))
            .flat_map(|t| t.metadata.tags.iter());
        for tag in revision.media.tags.iter().chain(per_track) {
            self.add_tag(tag);
        }
    }

    /// Takes one RIFF `LIST/INFO` entry.
    pub fn add_riff_info(&mut self, id: &[u8; 4], value: &str) {
        let r = &mut self.rights;
        match id {
            b"INAM" => set(&mut r.title, value),
            b"IART" => set(&mut r.artist, value),
            b"IMUS" => set(&mut r.composer, value),
            b"IWRI" => set(&mut self.writer, value),
            b"IPUB" | b"TORG" => set(&mut r.publisher, value),
            // INFO's ISRC is "source" (where the material came from), not
            // an International Standard Recording Code: never map it.
            _ => {}
        }
    }

    /// The rights metadata gathered.
    pub fn finish(mut self) -> RightsMetadata {
        if self.rights.composer.is_none() {
            self.rights.composer = self.writer.take();
        }
        self.rights
    }

    fn add_tag(&mut self, tag: &Tag) {
        let r = &mut self.rights;
        match &tag.std {
            Some(StandardTag::TrackTitle(v)) => set(&mut r.title, v),
            Some(StandardTag::Artist(v)) => set(&mut r.artist, v),
            Some(StandardTag::Composer(v)) => set(&mut r.composer, v),
            Some(StandardTag::Writer(v)) => set(&mut self.writer, v),
            // Symphonia maps ID3 TPUB, Vorbis PUBLISHER/LABEL and RIFF TORG here.
            Some(StandardTag::Label(v)) => set(&mut r.publisher, v),
            Some(StandardTag::IdentIsrc(v)) => set(&mut r.isrc, v),
            _ => {
                let key = tag.raw.key.to_ascii_lowercase();
                let RawValue::String(value) = &tag.raw.value else {
                    return;
                };
                // No standard tag exists for ISWC; Vorbis comments and ID3
                // TXXX frames carry it under its name.
                if key == "iswc" || key.ends_with(":iswc") {
                    set(&mut r.iswc, value);
                } else if key.ends_with("itunsmpb") && self.itunes_gapless.is_none() {
                    self.itunes_gapless = parse_itunsmpb(value);
                }
            }
        }
    }
}

/// Stores a trimmed, length-capped value if the field is still empty.
fn set(field: &mut Option<String>, value: &str) {
    let value = value.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    if field.is_some() || value.is_empty() {
        return;
    }
    let mut end = value.len().min(MAX_TAG_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    *field = Some(value[..end].to_owned());
}

/// Parses `iTunSMPB`: " 00000000 00000840 000001CC 0000000000046F74 …",
/// hex words: reserved, delay, padding, real frame count.
pub(crate) fn parse_itunsmpb(value: &str) -> Option<ItunesGapless> {
    let mut words = value.split_whitespace().skip(1);
    let mut next = || words.next().and_then(|w| u64::from_str_radix(w, 16).ok());
    let (delay, padding, frames) = (next()?, next()?, next()?);
    // Real encoders use a few thousand frames of delay and padding.
    (delay <= 1 << 16 && padding <= 1 << 16 && frames > 0).then_some(ItunesGapless {
        delay,
        padding,
        frames,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itunsmpb_parses_and_refuses_nonsense() {
        assert_eq!(
            parse_itunsmpb(" 00000000 00000840 000001CC 0000000000046F74 00000000 00000000"),
            Some(ItunesGapless {
                delay: 0x840,
                padding: 0x1cc,
                frames: 0x46f74
            })
        );
        assert_eq!(parse_itunsmpb("00000000 zz 1 2"), None);
        assert_eq!(parse_itunsmpb(" 0 FFFFFFFF 0 10"), None);
    }

    #[test]
    fn set_trims_caps_and_keeps_first() {
        let mut f = None;
        set(&mut f, "  \0 ");
        assert_eq!(f, None);
        set(&mut f, &"é".repeat(1000));
        assert_eq!(f.as_deref().map(str::len), Some(1024));
        set(&mut f, "second");
        assert!(f.as_deref().is_some_and(|v| v.starts_with('é')));
    }
}
