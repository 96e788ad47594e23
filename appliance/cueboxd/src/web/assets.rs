//! The page's files, built into the binary: the box needs no internet, no
//! CDN and no Node at run time.

/// The page.
pub const INDEX: &str = include_str!("assets/index.html");
/// Its script.
pub const JS: &str = include_str!("assets/app.js");
/// Its style.
pub const CSS: &str = include_str!("assets/app.css");
