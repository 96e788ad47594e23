//! cuebox-appliance: the box around the engine — storage, media folders and
//! (in later modules) devices, network and show control.

pub mod media;
pub mod offline;
pub mod store;
