//! The box's network API for hostctl: TLS 1.3 with pinned Ed25519 keys on
//! both sides, roles (view, control, edit) from the box's authorized hosts,
//! bounded frames, rate limits, and a log of everything refused.
//!
//! ```text
//! hostctl ──TLS (raw public keys)──▶ server (api threads, housekeeping cores)
//!                                      │ role check, rate limit, refusal log
//!                                      ▼
//!                                    Service ──▶ store (staging, objects)
//!                                      └──────▶ live requests (engine::control commands)
//! ```
//!
//! Nothing here reaches the protected path except as `engine::control`
//! commands through the live box's request queue. See docs/api.md.

pub mod client;
pub mod keys;
pub mod proto;
#[cfg(feature = "alsa")]
pub mod server;
#[cfg(feature = "alsa")]
pub mod service;
pub mod tls;
pub mod transfer;

pub use client::{Client, ClientError, Welcome};
pub use keys::{
    AuthorizedHost, AuthorizedHosts, Fingerprint, Identity, KeyError, KnownBox, KnownBoxes,
    PublicKey, Role,
};
#[cfg(feature = "alsa")]
pub use server::{Limits, Peer, Server, Service};
pub use tls::Expect;

use std::path::PathBuf;

use crate::store::DataRoot;

/// The box's private key, under the data root.
pub fn box_key_path(root: &DataRoot) -> PathBuf {
    root.path().join("api/box.key")
}

/// The box's authorized hosts, under the data root.
pub fn authorized_hosts_path(root: &DataRoot) -> PathBuf {
    root.path().join("api/authorized_hosts")
}

#[cfg(all(test, feature = "alsa"))]
mod tests;
