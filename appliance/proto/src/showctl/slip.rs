//! SLIP framing (RFC 1055), as OSC 1.1 sends packets over TCP: every packet
//! ends with END (0xC0); END and ESC inside are escaped. The codec is the
//! `slip-codec` crate's; this bounds what one frame may grow to.

use std::io::{self, BufReader, Read, Write};

use slip_codec::{SlipDecoder, SlipEncoder, SlipError};

/// What reading a frame gave.
#[derive(Debug)]
pub enum Frame {
    /// A whole packet.
    Packet(Vec<u8>),
    /// A packet that broke the framing (a bad escape): it is skipped up to
    /// the next END, and reading goes on.
    Malformed,
    /// A packet longer than the limit: the stream cannot be trusted.
    Oversized,
    /// The stream ended.
    End,
}

/// Reads SLIP frames of at most `max` bytes from a byte stream.
pub struct SlipReader<R> {
    source: BufReader<R>,
    decoder: SlipDecoder,
    max: usize,
}

impl<R: Read> SlipReader<R> {
    /// A reader of `source` whose frames are at most `max` bytes.
    pub fn new(source: R, max: usize) -> Self {
        SlipReader {
            source: BufReader::new(source),
            decoder: SlipDecoder::new(),
            max,
        }
    }

    /// The next frame; an I/O error (a timeout, a reset) ends the stream.
    pub fn next_frame(&mut self) -> io::Result<Frame> {
        let mut sink = Bounded {
            buf: Vec::new(),
            max: self.max,
        };
        match self.decoder.decode(&mut self.source, &mut sink) {
            Ok(_) => Ok(Frame::Packet(sink.buf)),
            Err(SlipError::FramingError) => Ok(Frame::Malformed),
            Err(SlipError::OversizedPacket) => Ok(Frame::Oversized),
            Err(SlipError::EndOfStream) => Ok(Frame::End),
            Err(SlipError::ReadError(e)) => Err(e),
        }
    }
}

/// `packet` as a SLIP frame, with an END before it too (a receiver then
/// drops any noise the line had before it).
pub fn encode(packet: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packet.len() + 8);
    SlipEncoder::new(true)
        .encode(packet, &mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// A sink that takes at most `max` bytes, then refuses (which the decoder
/// reports as an oversized packet).
struct Bounded {
    buf: Vec<u8>,
    max: usize,
}

impl Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.max {
            return Ok(0);
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8], max: usize) -> Vec<String> {
        let mut r = SlipReader::new(bytes, max);
        let mut out = Vec::new();
        loop {
            match r.next_frame().unwrap() {
                Frame::Packet(p) => out.push(format!("{p:02x?}")),
                Frame::Malformed => out.push("malformed".into()),
                Frame::Oversized => {
                    out.push("oversized".into());
                    break;
                }
                Frame::End => break,
            }
        }
        out
    }

    #[test]
    fn frames_round_trip_with_escapes_and_a_bad_escape_skips_one_frame() {
        let packet = [0x01, 0xC0, 0x02, 0xDB, 0x03];
        let mut stream = encode(&packet);
        assert_eq!(
            stream,
            [0xC0, 0x01, 0xDB, 0xDC, 0x02, 0xDB, 0xDD, 0x03, 0xC0]
        );
        stream.extend_from_slice(&[0x05, 0xDB, 0x99, 0x06, 0xC0]);
        stream.extend(encode(&[0x07]));
        assert_eq!(
            frames(&stream, 64),
            ["[01, c0, 02, db, 03]", "malformed", "[07]"]
        );
    }

    #[test]
    fn a_frame_over_the_limit_is_refused() {
        let stream = encode(&[0x11; 100]);
        assert_eq!(frames(&stream, 64), ["oversized"]);
        assert_eq!(frames(&stream, 100).len(), 1);
    }
}
