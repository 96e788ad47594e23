//! cuebox-appliance: the box around the engine — storage, media folders,
//! the real-time system setup, live playback and (in later modules) network
//! and show control.

pub mod api;
#[cfg(feature = "alsa")]
pub mod clocking;
#[cfg(feature = "alsa")]
pub mod link;
#[cfg(feature = "alsa")]
pub mod live;
pub mod media;
pub mod offline;
#[cfg(feature = "alsa")]
pub mod run;
pub mod store;
pub mod system;
pub mod tc;
