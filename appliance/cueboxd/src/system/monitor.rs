//! The live reservation state of the protected path: which core rt-out
//! holds and with what, re-verified from /proc at every sample, how busy the
//! core is, what interferes with it, and every violation seen.

use std::collections::VecDeque;

use super::irq::IrqRoute;
use super::procfs::{Policy, Procfs, ThreadState};

/// Violations kept.
const HISTORY: usize = 256;

/// Something that broke the reservation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// When (UTC).
    pub at: jiff::Timestamp,
    /// What: `policy`, `affinity`, `memory`, `thread`.
    pub what: &'static str,
    /// The detail, with the values seen.
    pub detail: String,
}

/// The reservation state and its metrics, as of one sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReservationStatus {
    /// The audio core.
    pub core: usize,
    /// rt-out as the kernel reports it now.
    pub rt_out: Option<ThreadState>,
    /// Memory locked, kB (VmLck), and whether that is all of it.
    pub locked_kb: u64,
    /// Whether every resident page is locked.
    pub memory_locked: bool,
    /// The IRQ routing map.
    pub irq_routing: Vec<IrqRoute>,
    /// Busy share of the audio core since the last sample, percent.
    pub core_load_percent: f64,
    /// rt-out preempted (involuntary context switches) since it started.
    pub preemptions: u64,
    /// Interrupts served on the audio core since monitoring started.
    pub core_interrupts: u64,
    /// Violations, oldest first (the last 256).
    pub violations: Vec<Violation>,
}

/// Samples the reservation of one rt-out thread.
#[derive(Debug)]
pub struct Monitor {
    proc: Procfs,
    pid: u32,
    expected: ThreadState,
    core: usize,
    irq_routing: Vec<IrqRoute>,
    last_cpu: Option<(u64, u64)>,
    first_interrupts: Option<u64>,
    /// Whether all memory was locked at the last sample.
    memory_was_locked: bool,
    violations: VecDeque<Violation>,
}

impl Monitor {
    /// Watches `rt_out` (as verified at its start) of this process on
    /// `core`, with the IRQ routing applied for it.
    pub fn new(proc: Procfs, rt_out: ThreadState, core: usize, irq_routing: Vec<IrqRoute>) -> Self {
        Monitor {
            proc,
            pid: std::process::id(),
            expected: rt_out,
            core,
            irq_routing,
            last_cpu: None,
            first_interrupts: None,
            memory_was_locked: true,
            violations: VecDeque::new(),
        }
    }

    /// Reads everything again; new violations are recorded (and returned
    /// in the status's history).
    pub fn sample(&mut self) -> ReservationStatus {
        let now = self.proc.thread(self.pid, self.expected.tid).ok();
        match &now {
            None => self.violate("thread", "rt-out is gone from /proc".into()),
            Some(t) => {
                if t.policy != self.expected.policy || t.rt_priority != self.expected.rt_priority {
                    self.violate(
                        "policy",
                        format!(
                            "rt-out is {:?} {} (was {:?} {})",
                            t.policy,
                            t.rt_priority,
                            self.expected.policy,
                            self.expected.rt_priority
                        ),
                    );
                    self.expected.policy = t.policy;
                    self.expected.rt_priority = t.rt_priority;
                }
                if t.cpus_allowed != self.expected.cpus_allowed {
                    self.violate(
                        "affinity",
                        format!(
                            "rt-out may run on CPUs {:?} (was {:?})",
                            t.cpus_allowed, self.expected.cpus_allowed
                        ),
                    );
                    self.expected.cpus_allowed = t.cpus_allowed.clone();
                }
            }
        }
        let locked_kb = self.proc.locked_kb(self.pid).unwrap_or(0);
        let resident = self.proc.resident_kb(self.pid).unwrap_or(0);
        // VmLck counts locked mappings, which can exceed what is resident.
        let memory_locked = locked_kb > 0 && locked_kb + 64 >= resident;
        if !memory_locked && self.memory_was_locked && self.expected.policy == Policy::Fifo {
            self.violate(
                "memory",
                format!("{locked_kb} kB locked of {resident} kB resident"),
            );
        }
        self.memory_was_locked = memory_locked;
        let cpu = self.proc.cpu_times(self.core).ok();
        let core_load_percent = match (self.last_cpu, cpu) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                (b1 - b0) as f64 * 100.0 / (t1 - t0) as f64
            }
            _ => 0.0,
        };
        self.last_cpu = cpu.or(self.last_cpu);
        let interrupts: u64 = self
            .proc
            .interrupts()
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, counts, _)| counts.get(self.core))
            .sum();
        let first = *self.first_interrupts.get_or_insert(interrupts);
        ReservationStatus {
            core: self.core,
            preemptions: now.as_ref().map_or(0, |t| t.involuntary_switches),
            rt_out: now,
            locked_kb,
            memory_locked,
            irq_routing: self.irq_routing.clone(),
            core_load_percent,
            core_interrupts: interrupts.saturating_sub(first),
            violations: self.violations.iter().cloned().collect(),
        }
    }

    /// Violations recorded so far.
    pub fn violations(&self) -> usize {
        self.violations.len()
    }

    fn violate(&mut self, what: &'static str, detail: String) {
        if self.violations.len() == HISTORY {
            self.violations.pop_front();
        }
        self.violations.push_back(Violation {
            at: jiff::Timestamp::now(),
            what,
            detail,
        });
    }
}
