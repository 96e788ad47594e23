//! Renderer benchmark (being written).

fn main() {}
