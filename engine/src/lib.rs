//! cuebox-engine: what a show is, what you can tell it, and how it plays.
//!
//! The engine is pure: it owns the show document ([`show`]), the command
//! vocabulary ([`control`]), media decoding and streaming ([`media`]), the
//! real-time renderer ([`render`], [`dsp`]) and the offline driver
//! ([`offline`]), the device loop ([`device`], ALSA behind the `alsa`
//! feature), timecode codecs and the master clock ([`timecode`]) with the
//! lock-free [`seqlock`] they publish through. It does no file or network
//! I/O of its own: callers hand it bytes and readers (see
//! `docs/architecture.md`).

pub mod control;
pub mod device;
pub mod dsp;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod media;
pub mod offline;
pub mod render;
pub mod seqlock;
pub mod show;
pub mod timecode;
