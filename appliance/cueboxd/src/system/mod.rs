//! The protected path's system side: real-time threads (SCHED_FIFO, pinned,
//! locked memory, RLIMIT_RTTIME, denormals flushed), IRQ routing off the
//! audio core, the live reservation state, and the readiness check. Every
//! setting is verified by reading the kernel's view back from /proc.

pub mod check;
mod irq;
mod monitor;
pub mod notify;
pub mod pmqos;
mod procfs;
mod rt;

pub use irq::{sound_irqs, IrqOutcome, IrqRoute, IrqRouting};
pub use monitor::{Monitor, ReservationStatus, Violation};
pub use procfs::{format_cpu_list, parse_cpu_list, Policy, ProcError, Procfs, ThreadState};
pub use rt::{
    audio_core, demote, denormals_flushed, lock_memory, set_rttime_limit, spawn_rt, RtConfig,
    RtSetup,
};
