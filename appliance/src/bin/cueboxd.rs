//! cueboxd: the cuebox daemon.
fn main() {}
