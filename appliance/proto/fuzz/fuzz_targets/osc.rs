//! OSC as a hostile client sends it, over UDP or in SLIP frames over TCP:
//! any bytes either decode to bounded messages that parse to a request (or
//! a precise refusal) or are refused, never a panic or a runaway.
#![no_main]

use cuebox_proto::showctl::osc;
use cuebox_proto::showctl::slip::{Frame, SlipReader};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The bytes as one UDP datagram…
    if let Ok(messages) = osc::decode(data) {
        assert!(messages.len() <= 64);
        for m in &messages {
            let _ = osc::parse(m).map(|r| (r.needs(), r.is_query()));
        }
    }
    // …and as a TCP stream of SLIP frames.
    let mut frames = SlipReader::new(data, osc::MAX_PACKET);
    loop {
        match frames.next_frame() {
            Ok(Frame::Packet(p)) => {
                assert!(p.len() <= osc::MAX_PACKET);
                if let Ok(messages) = osc::decode(&p) {
                    for m in &messages {
                        let _ = osc::parse(m);
                    }
                }
            }
            Ok(Frame::Malformed) => {}
            Ok(Frame::Oversized | Frame::TooSlow | Frame::End) | Err(_) => break,
        }
    }
});
