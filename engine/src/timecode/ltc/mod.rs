//! LTC (SMPTE 12M linear timecode): the 80-bit frame, a generator and a
//! decoder. Biphase-mark: every bit starts with a transition, a 1 has a
//! second one in its middle; the polarity carries nothing, so inverted
//! signals decode alike.

mod decode;
mod encode;
mod frame;

pub use decode::{DecodedFrame, Decoder};
pub use encode::Encoder;
pub use frame::{LtcFrame, SYNC_WORD};
