//! The box's API as a hostile client drives it: a byte stream read frame by
//! frame, each frame decoded as a request (and as a response, which the host
//! decodes). Nothing may panic or allocate beyond the frame bound; a request
//! that decodes must encode back to itself.
#![no_main]

use cuebox_proto::messages::{self as proto, Request, Response};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = data;
    while let Ok(body) = proto::read_frame(&mut input) {
        if let Ok(request) = proto::decode::<Request>(&body) {
            let _ = (request.needs(), request.kind(), request.edits());
            let mut wire = Vec::new();
            proto::write_frame(&mut wire, &request).expect("a decoded request encodes");
            let mut wire = &wire[..];
            let frame = proto::read_frame(&mut wire).unwrap();
            let again: Request = proto::decode(&frame).unwrap();
            assert_eq!(again, request);
        }
        let _ = proto::decode::<Response>(&body);
    }
});
