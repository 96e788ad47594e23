//! The IRQ routing's root helper: the box's service runs `cueboxd run
//! --no-irq-routing` as its own user, which may not write
//! /proc/irq/*/smp_affinity_list, so root moves the IRQs off the audio core
//! before it starts (`cueboxd system irq route`) and puts them back after it
//! stops, however it stopped (`cueboxd system irq restore`), through the
//! same journal a run that routes for itself keeps.

use std::path::Path;

use super::irq::{sound_irqs, IrqOutcome, IrqRouting};
use super::procfs::Procfs;

/// `cueboxd system irq`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum IrqCmd {
    /// Move every IRQ that can move off the audio core (the sound card's
    /// stay), keeping the old masks in the journal until `restore`; IRQs a
    /// run that died left moved are put back first.
    Route {
        /// The audio core (default: the first isolated CPU, else the last CPU).
        #[arg(long)]
        core: Option<usize>,
    },
    /// Put back every IRQ the journal holds, and remove it.
    Restore,
}

/// Runs `cmd` on `proc` with the `journal`, one line per IRQ acted on (an
/// IRQ that will not move or go back is said, not an error: the kernel
/// manages some). An error when the routing cannot start at all.
pub fn run(cmd: &IrqCmd, proc: &Procfs, journal: &Path) -> Result<(), String> {
    for line in IrqRouting::recover(proc, journal) {
        match line {
            Ok(done) => println!("cueboxd: {done}"),
            Err(e) => println!("cueboxd: {e}"),
        }
    }
    let IrqCmd::Route { core } = cmd else {
        return Ok(());
    };
    let core = core.unwrap_or_else(super::audio_core);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let housekeeping: Vec<usize> = (0..cpus).filter(|c| *c != core).collect();
    if housekeeping.is_empty() {
        println!("cueboxd: one CPU only: no IRQ moves off CPU {core}");
        return Ok(());
    }
    let routing = IrqRouting::apply(proc, core, &housekeeping, &sound_irqs(proc), Some(journal))
        .map_err(|e| e.to_string())?;
    for route in routing.keep() {
        match &route.outcome {
            IrqOutcome::Moved => println!(
                "cueboxd: IRQ {} ({}) moved off audio CPU {core}: CPUs {} -> {}",
                route.irq, route.name, route.before, route.after
            ),
            IrqOutcome::Kept => println!(
                "cueboxd: IRQ {} ({}) stays on CPUs {}: the sound card's",
                route.irq, route.name, route.before
            ),
            IrqOutcome::Immovable(why) => println!(
                "cueboxd: IRQ {} ({}) stays on CPUs {}: {why}",
                route.irq, route.name, route.before
            ),
            IrqOutcome::Elsewhere => {}
        }
    }
    Ok(())
}
