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

mod packages;
mod reports;
pub mod server;
pub mod service;

pub use cuebox_proto::messages as proto;
pub use cuebox_proto::{
    authorized_hosts_path, box_key_path, client, keys, tls, transfer, AuthorizedHost,
    AuthorizedHosts, Client, ClientError, Expect, Fingerprint, Identity, KeyError, KnownBox,
    KnownBoxes, PublicKey, Role, Welcome,
};
pub use server::{Limits, Peer, Server, Service};

#[cfg(test)]
mod tests;
