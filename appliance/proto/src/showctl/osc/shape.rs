//! The shape of an OSC packet, checked before any decoder sees it.
//!
//! rosc decodes nested bundles by recursion and builds nested arrays that
//! drop by recursion, so a 64 KiB packet of a few thousand `#bundle`
//! headers (or `[` type tags) overflows the thread's stack and aborts the
//! box. This walk follows the packet with a fixed-size stack, exactly as
//! rosc will read it, and refuses what is nested too deep or carries too
//! many messages before a single recursive call is made.

/// A bundle starts with this OSC string.
const BUNDLE: &[u8] = b"#bundle\0";
/// `#bundle\0` and its 8-byte time tag.
const BUNDLE_HEADER: usize = 16;

/// Bounds a packet must keep.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// How deep bundles may nest (a bare message is depth 0).
    pub depth: usize,
    /// How deep a message's arrays (`[` … `]` type tags) may nest.
    pub array_depth: usize,
    /// Messages in the whole packet, bundles flattened.
    pub messages: usize,
}

/// Why a packet's shape is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Bundles inside bundles, deeper than allowed.
    #[error("bundles nested deeper than {0}")]
    TooDeep(usize),
    /// Arrays inside arrays in one message's type tags, deeper than allowed.
    #[error("arrays nested deeper than {0} in one message")]
    ArraysTooDeep(usize),
    /// More messages than one packet may carry.
    #[error("more than {0} messages in one packet")]
    TooMany(usize),
    /// A bundle shorter than its header and time tag.
    #[error("a bundle at byte {0} is shorter than its 16-byte header")]
    ShortBundle(usize),
    /// A bundle element whose size field is cut off or runs past its bundle.
    #[error("a bundle element at byte {at} declares {size} bytes; its bundle has {room} left")]
    BadElement {
        /// Where the element's size field starts.
        at: usize,
        /// The size it declares.
        size: u64,
        /// The bytes left in the enclosing bundle after the size field.
        room: usize,
    },
}

/// Checks `packet` against `limits` without recursion and without allocating.
///
/// Anything this passes is no deeper and no wider than `limits` when rosc
/// decodes it; anything else rosc would refuse anyway is left to rosc.
pub(super) fn check(packet: &[u8], limits: Limits) -> Result<(), ShapeError> {
    // Ends of the open bundles, innermost last. Depth is bounded, so the
    // stack is a fixed array; `limits.depth` above it is refused.
    const MAX_STACK: usize = 16;
    let max_depth = limits.depth.min(MAX_STACK);
    let mut ends = [0usize; MAX_STACK];
    let mut depth = 0;
    let mut messages = 0;
    let mut element = 0..packet.len();
    loop {
        let bytes = &packet[element.clone()];
        let mut pos = if bytes.starts_with(BUNDLE) {
            if depth == max_depth {
                return Err(ShapeError::TooDeep(max_depth));
            }
            if bytes.len() < BUNDLE_HEADER {
                return Err(ShapeError::ShortBundle(element.start));
            }
            ends[depth] = element.end;
            depth += 1;
            element.start + BUNDLE_HEADER
        } else {
            messages += 1;
            if messages > limits.messages {
                return Err(ShapeError::TooMany(limits.messages));
            }
            check_arrays(packet, element.clone(), limits.array_depth)?;
            element.end
        };
        // Close every bundle this element finished.
        while depth > 0 && pos >= ends[depth - 1] {
            pos = ends[depth - 1];
            depth -= 1;
        }
        if depth == 0 {
            return Ok(());
        }
        let end = ends[depth - 1];
        let room = end - pos;
        let size = match packet.get(pos..pos + 4) {
            Some(field) if room >= 4 => u32::from_be_bytes(field.try_into().expect("4 bytes")),
            _ => {
                return Err(ShapeError::BadElement {
                    at: pos,
                    size: 0,
                    room: room.saturating_sub(4),
                })
            }
        };
        let start = pos + 4;
        if size as usize > end - start {
            return Err(ShapeError::BadElement {
                at: pos,
                size: u64::from(size),
                room: end - start,
            });
        }
        element = start..start + size as usize;
    }
}

/// Refuses a message whose type tags nest arrays deeper than `max`.
///
/// rosc reads the address string, pads to a 4-byte boundary of the whole
/// packet, then the type-tag string, and skips its first character (the
/// comma); this reads the same bytes.
fn check_arrays(
    packet: &[u8],
    message: std::ops::Range<usize>,
    max: usize,
) -> Result<(), ShapeError> {
    let bytes = &packet[message.clone()];
    let Some(address_end) = bytes.iter().position(|&b| b == 0) else {
        return Ok(());
    };
    let after = message.start + address_end + 1;
    let tags_start = after.next_multiple_of(4) - message.start;
    let Some(tags) = bytes.get(tags_start..) else {
        return Ok(());
    };
    let tags = &tags[..tags.iter().position(|&b| b == 0).unwrap_or(tags.len())];
    let mut depth = 0usize;
    for &tag in tags.iter().skip(1) {
        match tag {
            b'[' => {
                depth += 1;
                if depth > max {
                    return Err(ShapeError::ArraysTooDeep(max));
                }
            }
            b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// `depth` bundles, each holding the next, around `inner`, written
/// front to back (rosc's encoder would recurse as deep as its decoder): a
/// hostile input for tests.
#[cfg(any(test, feature = "test-support"))]
pub fn nested_bundles(depth: usize, inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 20 + inner.len());
    for level in 0..depth {
        out.extend_from_slice(BUNDLE);
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        let size = (depth - level - 1) * 20 + inner.len();
        out.extend_from_slice(&(size as u32).to_be_bytes());
    }
    out.extend_from_slice(inner);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosc::{OscArray, OscBundle, OscMessage, OscPacket, OscTime, OscType};

    const LIMITS: Limits = Limits {
        depth: 4,
        array_depth: 4,
        messages: 64,
    };

    fn go() -> Vec<u8> {
        rosc::encoder::encode(&OscPacket::Message(OscMessage {
            addr: "/go".into(),
            args: vec![],
        }))
        .unwrap()
    }

    /// A message whose one argument is `depth` arrays inside each other.
    fn nested_arrays(depth: usize) -> Vec<u8> {
        let mut addr = b"/go\0,".to_vec();
        addr.extend(std::iter::repeat_n(b'[', depth));
        addr.extend(std::iter::repeat_n(b']', depth));
        addr.push(0);
        while !addr.len().is_multiple_of(4) {
            addr.push(0);
        }
        addr
    }

    #[test]
    fn what_rosc_encodes_within_the_limits_passes() {
        assert_eq!(check(&go(), LIMITS), Ok(()));
        let mut packet = OscPacket::Message(OscMessage {
            addr: "/go".into(),
            args: vec![OscType::Array(OscArray {
                content: vec![OscType::Array(OscArray {
                    content: vec![OscType::Int(1)],
                })],
            })],
        });
        for _ in 0..4 {
            packet = OscPacket::Bundle(OscBundle {
                timetag: OscTime::from((0, 1)),
                content: vec![packet.clone(), packet],
            });
        }
        let bytes = rosc::encoder::encode(&packet).unwrap();
        assert_eq!(check(&bytes, LIMITS), Ok(()));
        assert_eq!(check(&nested_bundles(4, &go()), LIMITS), Ok(()));
        // The hand-built nesting is what rosc reads.
        let (_, decoded) = rosc::decoder::decode_udp(&nested_bundles(4, &go())).unwrap();
        let mut depth = 0;
        let mut p = &decoded;
        while let OscPacket::Bundle(b) = p {
            depth += 1;
            p = &b.content[0];
        }
        assert_eq!(depth, 4);
    }

    #[test]
    fn thousands_of_nested_bundles_are_refused_without_recursion() {
        for depth in [5, 3_000, 100_000] {
            assert_eq!(
                check(&nested_bundles(depth, &go()), LIMITS),
                Err(ShapeError::TooDeep(4)),
                "depth {depth}"
            );
        }
    }

    #[test]
    fn deeply_nested_arrays_are_refused() {
        assert_eq!(check(&nested_arrays(4), LIMITS), Ok(()));
        assert!(rosc::decoder::decode_udp(&nested_arrays(4)).is_ok());
        for depth in [5, 30_000] {
            assert_eq!(
                check(&nested_arrays(depth), LIMITS),
                Err(ShapeError::ArraysTooDeep(4))
            );
            assert_eq!(
                check(&nested_bundles(2, &nested_arrays(depth)), LIMITS),
                Err(ShapeError::ArraysTooDeep(4))
            );
        }
    }

    #[test]
    fn too_many_messages_and_broken_sizes_are_refused() {
        let wide = rosc::encoder::encode(&OscPacket::Bundle(OscBundle {
            timetag: OscTime::from((0, 1)),
            content: vec![
                OscPacket::Message(OscMessage {
                    addr: "/thump".into(),
                    args: vec![],
                });
                65
            ],
        }))
        .unwrap();
        assert_eq!(check(&wide, LIMITS), Err(ShapeError::TooMany(64)));
        let mut long = nested_bundles(1, &go());
        long[16..20].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(
            check(&long, LIMITS),
            Err(ShapeError::BadElement {
                at: 16,
                size: 1000,
                room: go().len()
            })
        );
        let mut cut = nested_bundles(1, &go());
        cut.truncate(18);
        assert!(matches!(
            check(&cut, LIMITS),
            Err(ShapeError::BadElement { at: 16, .. })
        ));
        assert_eq!(check(BUNDLE, LIMITS), Err(ShapeError::ShortBundle(0)));
        // An empty bundle is a bundle of no messages.
        assert_eq!(check(&nested_bundles(1, &[])[..16], LIMITS), Ok(()));
    }
}
