//! cuebox-engine: what a show is, what you can tell it, and how it plays.
//!
//! The engine is pure: it owns the show document ([`show`]) and media
//! probing ([`media`]), and does no file or network I/O of its own — callers
//! hand it bytes and readers. The real-time renderer and devices arrive in
//! later modules (see `docs/architecture.md`).

pub mod control;
pub mod dsp;
pub mod media;
pub mod offline;
pub mod render;
pub mod show;
