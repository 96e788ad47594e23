//! Auto-save: when to write recovery points ([`AutosavePolicy`], pure, fed
//! with the time), which to keep ([`Retention`], pure), and the thread and
//! signal and panic handling that do it for a running session ([`Autosaver`]).

mod policy;
mod retention;
mod runtime;

pub use policy::{AutosaveConfig, AutosavePolicy, Change};
pub use retention::Retention;
pub use runtime::{Autosaver, Termination, TerminationReport};
