//! cuebox-appliance: the box around the engine — storage, media folders,
//! the real-time system setup, live playback, the network API and show
//! control.

pub mod api;
#[cfg(feature = "alsa")]
pub mod clocking;
#[cfg(feature = "alsa")]
pub mod events;
pub mod limit;
#[cfg(feature = "alsa")]
pub mod link;
#[cfg(feature = "alsa")]
pub mod live;
pub mod media;
#[cfg(feature = "alsa")]
pub mod midi;
pub mod offline;
#[cfg(feature = "alsa")]
pub mod printer;
#[cfg(feature = "alsa")]
pub mod run;
pub mod showctl;
pub mod store;
pub mod system;
pub mod tc;
