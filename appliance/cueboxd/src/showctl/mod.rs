//! Show control: OSC (a QLab-compatible subset), MIDI notes and CCs on a
//! grid controller, and MIDI Show Control over MIDI and UDP. Every input
//! only translates into an [`Action`]; [`perform`] does it through the
//! live link, so double-GO protection and the lock apply to all alike.

pub mod config;
pub mod grid;
pub mod msc;
pub mod osc;
pub mod perform;
pub mod service;

pub use cuebox_proto::showctl::{slip, Action};
