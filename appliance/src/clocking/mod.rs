//! The box's time sources: PTP through statime on the box's own virtual
//! clock, MTC through midir, LTC from a capture channel, and the system
//! clock — each turned into observations for the engine's master clock.

pub mod cli;
pub mod ptp;
