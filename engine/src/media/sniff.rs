//! Recognising what a file is from its first bytes, so an error can say
//! "this is a Matroska file" or "this is text" instead of "unsupported".

/// How many leading bytes [`sniff`] looks at.
pub(crate) const HEAD_LEN: usize = 512;

/// What the first bytes of a file look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A container cuebox reads (it may still hold a codec cuebox does not).
    Supported(&'static str),
    /// A known audio container cuebox has no reader for.
    UnsupportedAudio(&'static str),
    /// A known file type that is not audio at all.
    Other(&'static str),
    /// Printable text.
    Text,
    /// Nothing recognisable.
    Unknown,
}

/// Classifies the first bytes of a file.
pub(crate) fn sniff(head: &[u8]) -> Sniffed {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let riff_form = head.get(8..12);
    if at(0, b"RIFF") || at(0, b"RIFX") {
        return match riff_form {
            Some(b"WAVE") => Sniffed::Supported("WAV"),
            Some(b"AVI ") => Sniffed::Other("AVI video"),
            Some(b"WEBP") => Sniffed::Other("WebP image"),
            _ => Sniffed::Other("RIFF file of an unknown kind"),
        };
    }
    if at(0, b"FORM") {
        return match riff_form {
            Some(b"AIFF") | Some(b"AIFC") => Sniffed::Supported("AIFF"),
            _ => Sniffed::Other("IFF file of an unknown kind"),
        };
    }
    let table: &[(usize, &[u8], Sniffed)] = &[
        (0, b"fLaC", Sniffed::Supported("FLAC")),
        (0, b"OggS", Sniffed::Supported("Ogg")),
        (0, b"ID3", Sniffed::Supported("MP3 (ID3-tagged)")),
        (4, b"ftyp", Sniffed::Supported("MPEG-4/QuickTime")),
        (0, b"RF64", Sniffed::UnsupportedAudio("RF64 (64-bit WAV)")),
        (
            0,
            b"BW64",
            Sniffed::UnsupportedAudio("BW64 (64-bit broadcast WAV)"),
        ),
        (
            0,
            b"caff",
            Sniffed::UnsupportedAudio("Core Audio Format (CAF)"),
        ),
        (
            0,
            b"\x1a\x45\xdf\xa3",
            Sniffed::UnsupportedAudio("Matroska/WebM"),
        ),
        (0, b"wvpk", Sniffed::UnsupportedAudio("WavPack")),
        (
            0,
            b"MAC ",
            Sniffed::UnsupportedAudio("Monkey's Audio (APE)"),
        ),
        (0, b"#!AMR", Sniffed::UnsupportedAudio("AMR")),
        (
            0,
            b".snd",
            Sniffed::UnsupportedAudio("Sun/NeXT audio (.au)"),
        ),
        (
            0,
            b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
            Sniffed::UnsupportedAudio("ASF/WMA"),
        ),
        (0, b"MThd", Sniffed::Other("MIDI file (notes, not audio)")),
        (0, b"%PDF", Sniffed::Other("PDF document")),
        (
            0,
            b"PK\x03\x04",
            Sniffed::Other("ZIP archive (or an office document)"),
        ),
        (0, b"\x89PNG", Sniffed::Other("PNG image")),
        (0, b"\xff\xd8\xff", Sniffed::Other("JPEG image")),
        (0, b"GIF8", Sniffed::Other("GIF image")),
        (0, b"\x7fELF", Sniffed::Other("program (ELF executable)")),
        (0, b"SQLite format 3\0", Sniffed::Other("SQLite database")),
        (0, b"\x1f\x8b", Sniffed::Other("gzip archive")),
    ];
    if let Some((_, _, what)) = table.iter().find(|(offset, magic, _)| at(*offset, magic)) {
        return *what;
    }
    if looks_like_text(head) {
        return Sniffed::Text;
    }
    Sniffed::Unknown
}

/// Whether `head` reads as UTF-8 text: no NULs or control bytes other than
/// whitespace. An MP3 without tags starts with 0xFF, never text.
fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    // A multi-byte character may be cut at the end of the head.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => match std::str::from_utf8(&head[..e.valid_up_to()]) {
            Ok(t) => t,
            Err(_) => return false,
        },
        Err(_) => return false,
    };
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\x0c'))
}

impl Sniffed {
    /// A phrase for an error message: "the content looks like {…}".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Sniffed::Supported(what) | Sniffed::UnsupportedAudio(what) | Sniffed::Other(what) => {
                what
            }
            Sniffed::Text => "text",
            Sniffed::Unknown => "unrecognised binary data",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_containers_and_text() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Sniffed::Supported("WAV"));
        assert_eq!(
            sniff(b"\x1a\x45\xdf\xa3\x01"),
            Sniffed::UnsupportedAudio("Matroska/WebM")
        );
        assert_eq!(
            sniff(b"\0\0\0\x20ftypM4A "),
            Sniffed::Supported("MPEG-4/QuickTime")
        );
        assert_eq!(sniff("Cue 1: fade in — «go»\n".as_bytes()), Sniffed::Text);
        assert_eq!(sniff(b"\xff\xfb\x90\x00"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
        // A head cut inside a multi-byte character is still text.
        assert_eq!(sniff(&"é".repeat(10).as_bytes()[..19]), Sniffed::Text);
    }
}
