//! `cueboxd system check`: is this machine ready to be a show box? Each
//! item is PASS, WARN or FAIL with what was seen and the exact fix, in the
//! spirit of realtimeconfigquickscan.
//!
//! Severity: FAIL only for what causes dropouts even on a well-configured
//! box (no real-time priority allowed, memory that cannot be locked, the
//! sound card's IRQ thread below rt-out). What a development machine or VM
//! legitimately lacks (PREEMPT_RT, isolated cores, a card) is WARN.

use nix::sys::resource::{getrlimit, Resource};

use super::procfs::{Policy, Procfs};
use super::rt::{audio_core, RtConfig};

/// The arguments of `cueboxd system check`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Print JSON: `{"items": [{"name", "status", "observed", "fix"}], "fails": N, "warns": N}`.
    #[arg(long)]
    pub json: bool,
    /// The card `cueboxd run --card` would play on (default: the first that plays).
    #[arg(long, value_name = "CARD")]
    pub card: Option<String>,
}

/// An item's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ready.
    Pass,
    /// Works, but latency or robustness suffers.
    Warn,
    /// Will cause dropouts.
    Fail,
}

/// One checked item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    /// What was checked.
    pub name: &'static str,
    /// The verdict.
    pub status: Status,
    /// What was seen.
    pub observed: String,
    /// How to fix it (empty when it passes).
    pub fix: String,
}

fn item(
    name: &'static str,
    status: Status,
    observed: impl Into<String>,
    fix: impl Into<String>,
) -> Item {
    let fix = if status == Status::Pass {
        String::new()
    } else {
        fix.into()
    };
    Item {
        name,
        status,
        observed: observed.into(),
        fix,
    }
}

/// Every item, checked on this machine for an rt-out at `rt_priority`.
pub fn items(proc: &Procfs, rt_priority: u8) -> Vec<Item> {
    let core = audio_core();
    let cmdline = proc.read("cmdline").unwrap_or_default();
    let param = |key: &str| {
        cmdline
            .split_whitespace()
            .find(|w| *w == key || w.starts_with(&format!("{key}=")))
            .map(str::to_string)
    };
    let mut out = Vec::new();

    let realtime = std::fs::read_to_string("/sys/kernel/realtime").is_ok_and(|s| s.trim() == "1")
        || proc
            .read("sys/kernel/version")
            .is_ok_and(|v| v.contains("PREEMPT_RT"));
    let version = proc.read("sys/kernel/version").unwrap_or_default();
    out.push(item(
        "kernel preemption",
        if realtime { Status::Pass } else { Status::Warn },
        if realtime {
            "PREEMPT_RT".to_string()
        } else {
            format!("not PREEMPT_RT ({})", version.trim())
        },
        "install the real-time kernel: apt-get install linux-image-rt-amd64, and boot it",
    ));
    let isolated = std::fs::read_to_string("/sys/devices/system/cpu/isolated").unwrap_or_default();
    for (key, why) in [
        (
            "isolcpus",
            "keeps the scheduler's other work off the audio core",
        ),
        ("nohz_full", "stops the timer tick on the audio core"),
        ("rcu_nocbs", "moves RCU callbacks off the audio core"),
        (
            "threadirqs",
            "runs IRQ handlers as threads whose priority can be set",
        ),
        ("irqaffinity", "keeps new IRQs on the housekeeping cores"),
    ] {
        let found = param(key);
        let observed = match (&found, key) {
            (Some(f), "isolcpus") => format!("{f} (isolated: {})", isolated.trim()),
            (Some(f), _) => f.clone(),
            (None, _) => "absent".into(),
        };
        out.push(item(
            key,
            if found.is_some() {
                Status::Pass
            } else {
                Status::Warn
            },
            observed,
            format!(
                "add to the kernel command line ({why}), e.g. \
                 isolcpus=managed_irq,domain,{core} nohz_full={core} rcu_nocbs={core} \
                 threadirqs irqaffinity=0"
            ),
        ));
    }

    let governors: Vec<String> = std::fs::read_dir("/sys/devices/system/cpu")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("cpufreq/scaling_governor")).ok())
        .map(|g| g.trim().to_string())
        .collect();
    out.push(if governors.is_empty() {
        item(
            "cpu governor",
            Status::Warn,
            "no cpufreq (a VM or a fixed clock)",
            "on a box, set the performance governor: cpupower frequency-set -g performance",
        )
    } else {
        let all_perf = governors.iter().all(|g| g == "performance");
        item(
            "cpu governor",
            if all_perf { Status::Pass } else { Status::Warn },
            governors.join(","),
            "cpupower frequency-set -g performance (frequency changes stall the audio core)",
        )
    });

    let root = nix::unistd::geteuid().is_root();
    let limit = |r: Resource| getrlimit(r).map(|(soft, _)| soft).unwrap_or(0);
    let rtprio = limit(Resource::RLIMIT_RTPRIO);
    out.push(item(
        "rtprio limit",
        if root || rtprio >= u64::from(rt_priority) { Status::Pass } else { Status::Fail },
        if root { "root".to_string() } else { rtprio.to_string() },
        format!("allow SCHED_FIFO {rt_priority}: LimitRTPRIO=95 in the cueboxd unit, or rtprio 95 in limits.conf"),
    ));
    let memlock = limit(Resource::RLIMIT_MEMLOCK);
    let enough = memlock == u64::MAX || memlock >= 512 << 20;
    out.push(item(
        "memlock limit",
        if root || enough {
            Status::Pass
        } else {
            Status::Fail
        },
        if memlock == u64::MAX {
            "unlimited".to_string()
        } else {
            format!("{} KiB", memlock / 1024)
        },
        "allow locking all memory: LimitMEMLOCK=infinity in the cueboxd unit",
    ));

    let sound = super::irq::sound_irqs(proc);
    let on_core: Vec<String> = proc
        .irq_affinities()
        .unwrap_or_default()
        .into_iter()
        .filter(|(irq, cpus)| {
            super::procfs::parse_cpu_list(cpus).contains(&core) && !sound.contains(irq)
        })
        .map(|(irq, _)| irq)
        .collect();
    out.push(item(
        "irq placement",
        if on_core.is_empty() { Status::Pass } else { Status::Warn },
        if on_core.is_empty() {
            format!("no IRQ but the sound card's on audio core {core}")
        } else {
            format!("{} IRQ(s) may run on audio core {core}: {}", on_core.len(), on_core.join(","))
        },
        "cueboxd run moves them off at start; to keep them off from boot, add irqaffinity=<housekeeping cores>",
    ));

    let irq_threads: Vec<_> = proc
        .threads_named("irq/")
        .into_iter()
        .filter(|t| super::irq::is_sound(&t.name))
        .collect();
    out.push(if irq_threads.is_empty() {
        item(
            "sound irq thread",
            Status::Warn,
            "no sound card IRQ thread (no card, or no threadirqs)",
            "boot with threadirqs; then rtirq (or chrt -f -p 90 <irq thread>) puts it above rt-out",
        )
    } else {
        let low: Vec<String> = irq_threads
            .iter()
            .filter(|t| t.policy != Policy::Fifo || t.rt_priority <= u32::from(rt_priority))
            .map(|t| format!("{} at {:?} {}", t.name, t.policy, t.rt_priority))
            .collect();
        item(
            "sound irq thread",
            if low.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            },
            if low.is_empty() {
                format!(
                    "{} thread(s) above rt-out ({rt_priority})",
                    irq_threads.len()
                )
            } else {
                low.join("; ")
            },
            format!("raise it above rt-out's {rt_priority}: chrt -f -p 90 <pid>, or install rtirq"),
        )
    });

    let dma = std::path::Path::new("/dev/cpu_dma_latency").exists();
    out.push(item(
        "cpu_dma_latency",
        if dma { Status::Pass } else { Status::Warn },
        if dma { "present" } else { "absent" },
        "a kernel with PM QoS: cueboxd holds /dev/cpu_dma_latency at 0 to keep the CPU out of deep sleep",
    ));
    out
}

/// The playback device `cueboxd run` would choose with its defaults (48
/// kHz, 256 x 3, the ten outputs of the default routing) on `card`: FAIL
/// when none can play, WARN for each compromise.
pub fn playback(card: Option<&str>) -> Item {
    use crate::live::{choose, Output, Settings};
    match choose(&Output::Card(card.map(Into::into)), &Settings::DEFAULT, 10) {
        Ok(chosen) => {
            let pcm = &chosen.pcm;
            let mut observed = format!(
                "{}{}: {} ch, {}, period {} x {} at {} Hz",
                pcm.name,
                chosen.card.map(|c| format!(" ({})", c.name)).unwrap_or_default(),
                pcm.channels,
                pcm.format.map_or("?", |f| f.name()),
                pcm.period,
                pcm.periods,
                pcm.rate
            );
            for note in &chosen.notes {
                observed.push_str("; ");
                observed.push_str(note);
            }
            item(
                "playback device",
                if chosen.notes.is_empty() { Status::Pass } else { Status::Warn },
                observed,
                "fewer channels than the session's outputs fold them together: route the session to the channels the card has (device map), or use a card with more outputs",
            )
        }
        Err(e) => item(
            "playback device",
            Status::Fail,
            e.to_string(),
            "connect a sound card or USB audio interface (aplay -l lists what the kernel sees); name it with CARD= in cuebox.conf (cueboxd run --card), or stop the program that holds it",
        ),
    }
}

/// Prints the report; `Ok(true)` when nothing fails.
pub fn run(args: &Args) -> anyhow::Result<bool> {
    let mut items = items(&Procfs::default(), RtConfig::default().priority);
    items.push(playback(args.card.as_deref()));
    let fails = items.iter().filter(|i| i.status == Status::Fail).count();
    let warns = items.iter().filter(|i| i.status == Status::Warn).count();
    if args.json {
        println!(
            "{}",
            serde_json::json!({"items": items, "fails": fails, "warns": warns})
        );
    } else {
        for i in &items {
            let status = match i.status {
                Status::Pass => "PASS",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            println!("{status}  {:<18} {}", i.name, i.observed);
            if !i.fix.is_empty() {
                println!("      {:<18} fix: {}", "", i.fix);
            }
        }
        println!("{fails} fail(s), {warns} warning(s)");
    }
    Ok(fails == 0)
}
