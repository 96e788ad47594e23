//! cuebox-proto: how hosts and show controllers talk to a box — the API's
//! messages and frames ([`messages`]), Ed25519 keys and pinned TLS 1.3
//! ([`keys`], [`tls`]), the host's [`Client`] and session [`transfer`],
//! and (feature `showctl`) the OSC and SLIP decoders. See docs/api.md.
//!
//! Everything here is pure protocol or the host's side; the box's server
//! lives in cueboxd.

pub mod client;
pub mod keys;
pub mod messages;
pub mod revise;
#[cfg(feature = "showctl")]
pub mod showctl;
pub mod tls;
pub mod transfer;

pub use client::{Client, ClientError, Welcome};
pub use keys::{
    AuthorizedHost, AuthorizedHosts, Fingerprint, Identity, KeyError, KnownBox, KnownBoxes,
    PublicKey, Role,
};
pub use tls::Expect;

use std::path::PathBuf;

use cuebox_session::store::DataRoot;

/// The box's private key, under the data root.
pub fn box_key_path(root: &DataRoot) -> PathBuf {
    root.path().join("api/box.key")
}

/// The box's authorized hosts, under the data root.
pub fn authorized_hosts_path(root: &DataRoot) -> PathBuf {
    root.path().join("api/authorized_hosts")
}
