//! OSC, the QLab-compatible subset: decoding and parsing are
//! [`cuebox_proto::showctl::osc`]'s; the service (sockets, passcodes, rate
//! limits, `/update`s) is here.

pub mod guesses;
mod server;

pub use cuebox_proto::showctl::osc::*;
pub use server::{start, Osc, MAX_UDP_CLIENTS};
