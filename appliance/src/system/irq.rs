//! IRQ routing: every interrupt that can move leaves the audio core, except
//! the sound card's own; the previous masks come back on exit.

use super::procfs::{format_cpu_list, parse_cpu_list, ProcError, Procfs};

/// What happened to one IRQ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum IrqOutcome {
    /// Moved off the audio core.
    Moved,
    /// The sound card's: left where it was.
    Kept,
    /// Not on the audio core in the first place.
    Elsewhere,
    /// The kernel refused the move (a kernel-managed IRQ): the reason.
    Immovable(String),
}

/// One IRQ in the routing map.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IrqRoute {
    /// The IRQ number (its folder under /proc/irq).
    pub irq: String,
    /// Its description in /proc/interrupts.
    pub name: String,
    /// CPUs before.
    pub before: String,
    /// CPUs after.
    pub after: String,
    /// What was done.
    pub outcome: IrqOutcome,
}

/// The routing applied, restored on [`IrqRouting::restore`] or drop.
#[derive(Debug)]
pub struct IrqRouting {
    proc: Procfs,
    routes: Vec<IrqRoute>,
    restored: bool,
}

/// Whether an IRQ description or IRQ thread name is sound hardware's
/// (HDA, USB audio controllers, anything named snd).
pub fn is_sound(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["snd", "hda", "xhci", "audio"]
        .iter()
        .any(|k| name.contains(k))
}

/// The IRQs of sound hardware, by their /proc/interrupts description.
pub fn sound_irqs(proc: &Procfs) -> Vec<String> {
    proc.interrupts()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, _, desc)| is_sound(desc))
        .map(|(irq, _, _)| irq)
        .collect()
}

impl IrqRouting {
    /// Moves every IRQ under `proc`/irq that runs on `audio_core` to the
    /// `housekeeping` CPUs, except those in `keep`.
    pub fn apply(
        proc: &Procfs,
        audio_core: usize,
        housekeeping: &[usize],
        keep: &[String],
    ) -> Result<IrqRouting, ProcError> {
        let names: std::collections::HashMap<String, String> = proc
            .interrupts()
            .unwrap_or_default()
            .into_iter()
            .map(|(irq, _, desc)| (irq, desc))
            .collect();
        let target = format_cpu_list(housekeeping);
        let mut routes = Vec::new();
        for (irq, before) in proc.irq_affinities()? {
            let cpus = parse_cpu_list(&before);
            let mut route = IrqRoute {
                name: names.get(&irq).cloned().unwrap_or_default(),
                irq: irq.clone(),
                after: before.clone(),
                before,
                outcome: IrqOutcome::Elsewhere,
            };
            if cpus.contains(&audio_core) {
                if keep.contains(&irq) {
                    route.outcome = IrqOutcome::Kept;
                } else {
                    match std::fs::write(proc.irq_mask(&irq), &target) {
                        Ok(()) => {
                            route.after = target.clone();
                            route.outcome = IrqOutcome::Moved;
                        }
                        Err(e) => route.outcome = IrqOutcome::Immovable(e.to_string()),
                    }
                }
            }
            routes.push(route);
        }
        Ok(IrqRouting {
            proc: proc.clone(),
            routes,
            restored: false,
        })
    }

    /// The routing map.
    pub fn routes(&self) -> &[IrqRoute] {
        &self.routes
    }

    /// Puts every moved IRQ back; returns the ones that would not go back.
    pub fn restore(&mut self) -> Vec<String> {
        self.restored = true;
        self.routes
            .iter()
            .filter(|r| r.outcome == IrqOutcome::Moved)
            .filter_map(|r| {
                std::fs::write(self.proc.irq_mask(&r.irq), &r.before)
                    .err()
                    .map(|e| format!("IRQ {} stays on CPUs {}: {e}", r.irq, r.after))
            })
            .collect()
    }
}

impl Drop for IrqRouting {
    fn drop(&mut self) {
        if !self.restored {
            self.restore();
        }
    }
}
