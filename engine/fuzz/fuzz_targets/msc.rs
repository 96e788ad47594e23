//! MIDI Show Control as a hostile controller sends it (over MIDI or UDP):
//! any bytes parse or are refused without a panic, and a message that
//! parses encodes back to one that parses the same.
#![no_main]

use cuebox_engine::control::msc;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(message) = msc::parse(data) {
        let _ = message.is_for(1, Some(0x70));
        assert_eq!(msc::parse(&message.encode()), Ok(message));
    }
});
