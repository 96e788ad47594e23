//! The protected path's system side: real-time threads (SCHED_FIFO, pinned,
//! locked memory, RLIMIT_RTTIME, denormals flushed), IRQ routing off the
//! audio core (and its root helper), the live reservation state, the
//! readiness check and the box's packet filter. Every
//! setting is verified by reading the kernel's view back from /proc.

pub mod check;
pub mod firewall;
mod irq;
pub mod irqctl;
mod monitor;
pub mod notify;
pub mod pmqos;
mod procfs;
mod rt;

pub use irq::{
    sound_irqs, IrqOutcome, IrqRoute, IrqRouting, JOURNAL as IRQ_JOURNAL,
    RUN_JOURNAL as IRQ_RUN_JOURNAL,
};
pub use monitor::{Monitor, ReservationStatus, Violation};
pub use procfs::{format_cpu_list, parse_cpu_list, Policy, ProcError, Procfs, ThreadState};
pub use rt::{
    audio_core, background, demote, denormals_flushed, lock_memory, set_rttime_limit, spawn_rt,
    RtConfig, RtSetup,
};
