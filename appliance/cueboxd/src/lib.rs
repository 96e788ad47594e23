//! cueboxd: the box around the engine — the real-time system setup, live
//! playback, clocking, the box's events, the network API server and show
//! control. Sessions on disk are cuebox-session's; the protocols hosts and
//! controllers speak are cuebox-proto's.

pub mod api;
pub mod autoexport;
pub mod clocking;
pub mod events;
pub mod jsonconf;
pub mod limit;
pub mod link;
pub mod live;
pub mod live_edit;
pub mod midi;
pub mod offbox;
pub mod offline;
pub mod origin;
pub mod pair;
pub mod playlog;
pub mod printer;
pub mod refusals;
pub mod run;
pub mod showctl;
pub mod system;
pub mod tc;
pub mod techlog;
pub mod web;

pub use cuebox_session::{media, playlog as journal, store};
