//! IRQ routing: every interrupt that can move leaves the audio core, except
//! the sound card's own; the previous masks come back on exit — and, kept
//! in a journal under /run before anything moves, at the next start after
//! any death (SIGKILL, a panic that aborts, the power button).

use std::path::{Path, PathBuf};

use super::procfs::{format_cpu_list, parse_cpu_list, ProcError, Procfs};

/// Where the box's root helper (`cueboxd system irq route`) keeps the masks
/// it moved off the audio core for the service, until `restore` puts them
/// back after the service stops, however it stopped.
pub const JOURNAL: &str = "/run/cuebox/irq-map.json";

/// Where a `cueboxd run` that routes for itself (run by hand, as root) keeps
/// the masks it moved while it plays, so its next start puts them back after
/// any death. Not [`JOURNAL`]: its recovery must never undo the service's
/// routing (it finds the IRQs already moved, moves nothing more, and puts
/// back what it found).
pub const RUN_JOURNAL: &str = "/run/cuebox/irq-map.run.json";

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
    journal: Option<PathBuf>,
}

/// One IRQ's mask as it was, in the journal.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Saved {
    irq: String,
    mask: String,
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
    /// Puts back the masks a `journal` left by a run that died holding
    /// them, and removes it: the IRQs restored, or why one was not. Nothing
    /// when there is no journal.
    pub fn recover(proc: &Procfs, journal: &Path) -> Vec<Result<String, String>> {
        let Ok(text) = std::fs::read_to_string(journal) else {
            return Vec::new();
        };
        let saved: Vec<Saved> = match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(journal);
                return vec![Err(format!(
                    "{} is unreadable ({e}); removed",
                    journal.display()
                ))];
            }
        };
        let now: std::collections::HashMap<String, String> = proc
            .irq_affinities()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let done = saved
            .iter()
            // One the kernel never let move (a managed IRQ) is where it was.
            .filter(|s| now.get(&s.irq).map(|m| m.trim()) != Some(s.mask.trim()))
            .map(|s| {
                std::fs::write(proc.irq_mask(&s.irq), &s.mask)
                    .map(|()| format!("IRQ {} back on CPUs {}", s.irq, s.mask))
                    .map_err(|e| format!("IRQ {} stays moved: {e}", s.irq))
            })
            .collect();
        let _ = std::fs::remove_file(journal);
        done
    }

    /// Moves every IRQ under `proc`/irq that runs on `audio_core` to the
    /// `housekeeping` CPUs, except those in `keep`. With a `journal`, the
    /// masks about to move are written there first (atomically), so
    /// [`recover`](Self::recover) can put them back after any death.
    pub fn apply(
        proc: &Procfs,
        audio_core: usize,
        housekeeping: &[usize],
        keep: &[String],
        journal: Option<&Path>,
    ) -> Result<IrqRouting, ProcError> {
        let names: std::collections::HashMap<String, String> = proc
            .interrupts()
            .unwrap_or_default()
            .into_iter()
            .map(|(irq, _, desc)| (irq, desc))
            .collect();
        let target = format_cpu_list(housekeeping);
        let affinities = proc.irq_affinities()?;
        let moving: Vec<Saved> = affinities
            .iter()
            .filter(|(irq, mask)| !keep.contains(irq) && parse_cpu_list(mask).contains(&audio_core))
            .map(|(irq, mask)| Saved {
                irq: irq.clone(),
                mask: mask.clone(),
            })
            .collect();
        if let Some(path) = journal {
            write_journal(path, &moving).map_err(|e| ProcError {
                path: path.to_owned(),
                reason: format!("cannot keep the IRQ map to restore after a crash: {e}"),
            })?;
        }
        let mut routes = Vec::new();
        for (irq, before) in affinities {
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
            journal: journal.map(Path::to_owned),
        })
    }

    /// The routing map.
    pub fn routes(&self) -> &[IrqRoute] {
        &self.routes
    }

    /// Leaves the IRQs moved, the journal in place for whoever puts them
    /// back ([`recover`](Self::recover)): the root helper's route outlives it.
    pub fn keep(mut self) -> Vec<IrqRoute> {
        self.restored = true;
        std::mem::take(&mut self.routes)
    }

    /// Puts every moved IRQ back and removes the journal; returns the ones
    /// that would not go back.
    pub fn restore(&mut self) -> Vec<String> {
        self.restored = true;
        let failed = self
            .routes
            .iter()
            .filter(|r| r.outcome == IrqOutcome::Moved)
            .filter_map(|r| {
                std::fs::write(self.proc.irq_mask(&r.irq), &r.before)
                    .err()
                    .map(|e| format!("IRQ {} stays on CPUs {}: {e}", r.irq, r.after))
            })
            .collect();
        if let Some(journal) = &self.journal {
            let _ = std::fs::remove_file(journal);
        }
        failed
    }
}

/// Writes the masks about to move to `path`, atomically and durably.
fn write_journal(path: &Path, saved: &[Saved]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = atomic_write_file::AtomicWriteFile::open(path)?;
    file.write_all(&serde_json::to_vec(saved).map_err(std::io::Error::other)?)?;
    file.commit()
}

impl Drop for IrqRouting {
    fn drop(&mut self) {
        if !self.restored {
            self.restore();
        }
    }
}
