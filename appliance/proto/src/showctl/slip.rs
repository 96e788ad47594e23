//! SLIP framing (RFC 1055), as OSC 1.1 sends packets over TCP: every packet
//! ends with END (0xC0); END and ESC inside are escaped. The codec is the
//! `slip-codec` crate's; this bounds what one frame may grow to, and how
//! long it may take to arrive.
//!
//! A partial frame is kept across read timeouts: a sender whose packet
//! arrives in pieces, with pauses longer than the socket's timeout, loses
//! nothing, and a frame dripped slowly past the size limit is refused as
//! soon as it passes it.

use std::io::{self, BufReader, Read, Write};
use std::time::{Duration, Instant};

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
    /// A packet whose bytes took longer than the reader's frame time to
    /// arrive: the stream cannot be trusted either.
    TooSlow,
    /// The stream ended.
    End,
}

/// Reads SLIP frames of at most `max` bytes from a byte stream.
pub struct SlipReader<R> {
    source: BufReader<R>,
    decoder: SlipDecoder,
    partial: Bounded,
}

impl<R: Read> SlipReader<R> {
    /// A reader of `source` whose frames are at most `max` bytes, however
    /// long they take.
    pub fn new(source: R, max: usize) -> Self {
        SlipReader {
            source: BufReader::new(source),
            decoder: SlipDecoder::new(),
            partial: Bounded {
                buf: Vec::new(),
                max,
                time: None,
                started: None,
                late: false,
            },
        }
    }

    /// The same reader, refusing a frame whose first and last bytes are
    /// more than `time` apart.
    pub fn frame_time(mut self, time: Duration) -> Self {
        self.partial.time = Some(time);
        self
    }

    /// The next frame. An I/O error (a timeout, a reset) is returned as it
    /// is and keeps the partial frame: calling again after a timeout goes on
    /// where the frame had got to.
    pub fn next_frame(&mut self) -> io::Result<Frame> {
        let decoded = self.decoder.decode(&mut self.source, &mut self.partial);
        let frame = match decoded {
            Ok(_) => Frame::Packet(std::mem::take(&mut self.partial.buf)),
            Err(SlipError::FramingError) => Frame::Malformed,
            Err(SlipError::OversizedPacket) if self.partial.late => Frame::TooSlow,
            Err(SlipError::OversizedPacket) => Frame::Oversized,
            Err(SlipError::EndOfStream) => Frame::End,
            Err(SlipError::ReadError(e)) => {
                if self.partial.overdue(Instant::now()) {
                    Frame::TooSlow
                } else {
                    return Err(e);
                }
            }
        };
        self.partial.buf.clear();
        self.partial.started = None;
        self.partial.late = false;
        Ok(frame)
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

/// The frame being read: a sink that takes at most `max` bytes, within
/// `time` of the first, then refuses (which the decoder reports as an
/// oversized packet; `late` says which it was).
struct Bounded {
    buf: Vec<u8>,
    max: usize,
    time: Option<Duration>,
    started: Option<Instant>,
    late: bool,
}

impl Bounded {
    /// Whether the frame begun has been arriving for longer than allowed.
    fn overdue(&self, now: Instant) -> bool {
        match (self.started, self.time) {
            (Some(started), Some(time)) => now.saturating_duration_since(started) > time,
            _ => false,
        }
    }
}

impl Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let now = Instant::now();
        self.started.get_or_insert(now);
        if self.overdue(now) {
            self.late = true;
            return Ok(0);
        }
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
            let frame = r.next_frame().unwrap();
            match frame {
                Frame::Packet(p) => out.push(format!("{p:02x?}")),
                Frame::Malformed => out.push("malformed".into()),
                Frame::Oversized | Frame::TooSlow => {
                    out.push(format!("{frame:?}"));
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
        assert_eq!(frames(&stream, 64), ["Oversized"]);
        assert_eq!(frames(&stream, 100).len(), 1);
    }

    /// A stream that gives its pieces one read at a time, with a read
    /// timeout between each, as a TCP socket with a read timeout does when
    /// the sender pauses; it counts the pieces read.
    struct Pieces {
        pieces: std::collections::VecDeque<Vec<u8>>,
        pause: bool,
        read: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.pause = !self.pause;
            if self.pause {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let Some(mut piece) = self.pieces.pop_front() else {
                return Ok(0);
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            if n < piece.len() {
                self.pieces.push_front(piece.split_off(n));
            } else {
                self.read += 1;
            }
            Ok(n)
        }
    }

    fn pieces(bytes: &[u8], size: usize) -> Pieces {
        Pieces {
            pieces: bytes.chunks(size).map(<[u8]>::to_vec).collect(),
            pause: false,
            read: 0,
        }
    }

    #[test]
    fn a_frame_in_pieces_with_timeouts_between_them_is_read_whole() {
        let packet: Vec<u8> = (0..200u8).collect();
        let mut r = SlipReader::new(pieces(&encode(&packet), 7), 1024);
        let mut timeouts = 0;
        let frame = loop {
            match r.next_frame() {
                Ok(frame) => break frame,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => timeouts += 1,
                Err(e) => panic!("{e}"),
            }
        };
        assert!(timeouts >= 28, "{timeouts} timeouts");
        assert!(
            matches!(&frame, Frame::Packet(p) if *p == packet),
            "{frame:?}"
        );
        assert!(r.next_frame().is_err(), "then only the pause");
        assert!(matches!(r.next_frame(), Ok(Frame::End)));
    }

    #[test]
    fn a_slow_oversized_frame_is_refused_as_soon_as_it_passes_the_limit() {
        // 300 KB in 20 KB pieces, a timeout between each.
        let big = encode(&vec![0x11; 300_000]);
        let mut r = SlipReader::new(pieces(&big, 20_000), 65_536);
        let frame = loop {
            match r.next_frame() {
                Ok(frame) => break frame,
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
        };
        assert!(matches!(frame, Frame::Oversized), "{frame:?}");
        let read = r.source.get_ref().read;
        assert_eq!(read, 3, "refused within the piece that passed 64 KiB");
    }

    /// A connected pair of loopback TCP sockets: the writer, and the reader
    /// with a read timeout.
    fn tcp(timeout: Duration) -> (std::net::TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let writer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        reader.set_read_timeout(Some(timeout)).unwrap();
        (writer, reader)
    }

    /// The next frame, read through any number of read timeouts (failing
    /// if none comes within five frame times of `started`).
    fn next_past_timeouts(
        r: &mut SlipReader<std::net::TcpStream>,
        started: Instant,
        time: Duration,
    ) -> Frame {
        loop {
            match r.next_frame() {
                Ok(frame) => return frame,
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
                    assert!(started.elapsed() < time * 5, "never refused");
                }
            }
        }
    }

    #[test]
    fn a_frame_that_takes_too_long_is_refused_however_it_drips() {
        let time = Duration::from_millis(400);
        // One byte every 100 ms: never a read timeout, but the frame is late.
        let (mut writer, reader) = tcp(Duration::from_millis(250));
        let mut r = SlipReader::new(reader, 1024).frame_time(time);
        let dripper = std::thread::spawn(move || {
            for _ in 0..30 {
                if writer.write_all(&[0x41]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let started = Instant::now();
        let frame = next_past_timeouts(&mut r, started, time);
        assert!(matches!(frame, Frame::TooSlow), "{frame:?}");
        let took = started.elapsed();
        assert!(took >= time && took < time * 2, "{took:?}");
        drop(r);
        dripper.join().unwrap();
        // A frame begun and then silent is refused at the first timeout past
        // its time.
        let (mut writer, reader) = tcp(Duration::from_millis(150));
        let mut r = SlipReader::new(reader, 1024).frame_time(time);
        writer.write_all(&[0xC0, 0x41, 0x42]).unwrap();
        let started = Instant::now();
        let frame = next_past_timeouts(&mut r, started, time);
        assert!(matches!(frame, Frame::TooSlow), "{frame:?}");
        assert!(started.elapsed() < time * 2);
        // A whole frame within its time is read.
        let (mut writer, reader) = tcp(Duration::from_millis(150));
        let mut r = SlipReader::new(reader, 1024).frame_time(time);
        writer.write_all(&encode(b"ok")).unwrap();
        assert!(matches!(r.next_frame(), Ok(Frame::Packet(p)) if p == b"ok"));
    }
}
