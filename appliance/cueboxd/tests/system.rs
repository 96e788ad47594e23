//! The protected path's system side, checked against the kernel: settings
//! are read back from /proc by the test itself, independently of the code
//! under test; IRQ routing runs on a fake /proc tree (moving a real
//! machine's IRQs in a test would disturb it).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cueboxd::system::*;

/// (policy, rt_priority, Cpus_allowed_list) of a thread, parsed here.
fn read_thread(tid: u32) -> (u32, u32, String) {
    let dir = format!("/proc/{}/task/{tid}", std::process::id());
    let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap();
    let after_name: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let status = std::fs::read_to_string(format!("{dir}/status")).unwrap();
    let cpus = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    // stat fields 40 (rt_priority) and 41 (policy), counted from field 3.
    (
        after_name[38].parse().unwrap(),
        after_name[37].parse().unwrap(),
        cpus,
    )
}

#[test]
fn a_real_time_thread_is_what_the_kernel_says_it_is() {
    lock_memory().expect("root may lock memory");
    set_rttime_limit(Duration::from_millis(400)).unwrap();
    let core = audio_core();
    let config = RtConfig {
        priority: 80,
        core: Some(core),
        ..RtConfig::default()
    };
    let (setup, tid, flushed) = spawn_rt("rt-test", &config, |setup| {
        let tid = nix::unistd::gettid().as_raw() as u32;
        (setup, tid, denormals_flushed())
    })
    .unwrap()
    .join()
    .unwrap();
    // What the thread saw of itself in /proc…
    assert!(setup.problems.is_empty(), "{:?}", setup.problems);
    let t = setup.thread.as_ref().unwrap();
    assert_eq!(t.tid, tid);
    assert_eq!((t.policy, t.rt_priority), (Policy::Fifo, 80));
    assert_eq!(t.cpus_allowed, [core]);
    assert_eq!(setup.rttime_us, Some(400_000));
    assert!(setup.locked_kb > 0);
    assert!(
        flushed && setup.denormals_flushed,
        "FTZ/DAZ on the RT thread"
    );
    assert!(!denormals_flushed(), "and only there");

    // …and what this test's own parser sees of a live one.
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let handle = spawn_rt("rt-live", &config, move |_| {
        tx.send(nix::unistd::gettid().as_raw() as u32).unwrap();
        done_rx.recv().unwrap();
    })
    .unwrap();
    let tid = rx.recv().unwrap();
    let (policy, prio, cpus) = read_thread(tid);
    done_tx.send(()).unwrap();
    handle.join().unwrap();
    assert_eq!((policy, prio), (1, 80), "SCHED_FIFO 80 in /proc");
    assert_eq!(cpus, core.to_string());
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let rttime = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .unwrap();
    assert!(rttime.contains("400000"), "{rttime}");
}

#[test]
fn the_monitor_records_a_priority_changed_behind_its_back() {
    let config = RtConfig {
        priority: 75,
        core: Some(audio_core()),
        ..RtConfig::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let handle = spawn_rt("rt-watched", &config, move |setup| {
        tx.send(setup).unwrap();
        done_rx.recv().unwrap();
    })
    .unwrap();
    let setup = rx.recv().unwrap();
    let thread = setup.thread.clone().unwrap();
    let mut monitor = Monitor::new(Procfs::default(), thread.clone(), setup.core, Vec::new());
    assert!(monitor.sample().violations.is_empty());
    let chrt = Command::new("chrt")
        .args(["-f", "-p", "20", &thread.tid.to_string()])
        .status()
        .unwrap();
    assert!(chrt.success());
    let status = monitor.sample();
    done_tx.send(()).unwrap();
    handle.join().unwrap();
    let v = status
        .violations
        .iter()
        .find(|v| v.what == "policy")
        .expect("a policy violation");
    assert!(v.detail.contains("20"), "{}", v.detail);
    assert_eq!(status.rt_out.unwrap().rt_priority, 20);
}

/// A fake /proc with IRQs 10 (on CPUs 0-1), 11 (on 1 only), 12 (on 0)
/// and 13 (the sound card, on 1).
fn fake_proc(root: &Path) {
    std::fs::write(
        root.join("interrupts"),
        "           CPU0       CPU1\n 10:  5  6  IO-APIC  eth0\n 11:  1  2  IO-APIC  ahci\n \
         12:  3  0  IO-APIC  ttyS0\n 13:  0  9  PCI-MSI  snd_hda_intel:card0\n",
    )
    .unwrap();
    for (irq, cpus) in [("10", "0-1"), ("11", "1"), ("12", "0"), ("13", "1")] {
        let dir = root.join("irq").join(irq);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("smp_affinity_list"), format!("{cpus}\n")).unwrap();
    }
}

#[test]
fn irq_routing_moves_what_can_move_keeps_the_card_and_restores_every_mask() {
    let tmp = tempfile::tempdir().unwrap();
    fake_proc(tmp.path());
    let proc = Procfs::at(tmp.path());
    assert_eq!(sound_irqs(&proc), ["13"]);
    let read = |irq: &str| {
        std::fs::read_to_string(tmp.path().join(format!("irq/{irq}/smp_affinity_list"))).unwrap()
    };
    {
        let routing = IrqRouting::apply(&proc, 1, &[0], &sound_irqs(&proc), None).unwrap();
        let outcome = |irq: &str| {
            routing
                .routes()
                .iter()
                .find(|r| r.irq == irq)
                .map(|r| r.outcome.clone())
        };
        assert_eq!(outcome("10"), Some(IrqOutcome::Moved));
        assert_eq!(outcome("11"), Some(IrqOutcome::Moved));
        assert_eq!(outcome("12"), Some(IrqOutcome::Elsewhere));
        assert_eq!(outcome("13"), Some(IrqOutcome::Kept));
        assert_eq!(read("10"), "0");
        assert_eq!(read("11"), "0");
        assert_eq!(read("13"), "1\n");
        assert_eq!(
            routing
                .routes()
                .iter()
                .find(|r| r.irq == "13")
                .unwrap()
                .name,
            "PCI-MSI snd_hda_intel:card0"
        );
    }
    // Dropped: every mask is back, byte for byte (the newline aside, which
    // the kernel adds itself).
    assert_eq!(read("10"), "0-1");
    assert_eq!(read("11"), "1");
    assert_eq!(read("12"), "0\n");
}

/// A run that dies holding the IRQs (SIGKILL: no destructor runs) leaves
/// its journal; the next start puts every mask back from it.
#[test]
fn irq_masks_moved_by_a_run_that_died_come_back_at_the_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    fake_proc(tmp.path());
    let proc = Procfs::at(tmp.path());
    let journal = tmp.path().join("run/cuebox/irq-map.json");
    let read = |irq: &str| {
        std::fs::read_to_string(tmp.path().join(format!("irq/{irq}/smp_affinity_list"))).unwrap()
    };
    let routing = IrqRouting::apply(&proc, 1, &[0], &sound_irqs(&proc), Some(&journal)).unwrap();
    assert_eq!((read("10"), read("11")), ("0".into(), "0".into()));
    std::mem::forget(routing); // died: nothing restored
    assert!(journal.exists());
    let restored = IrqRouting::recover(&proc, &journal);
    assert_eq!(
        restored,
        [
            Ok("IRQ 10 back on CPUs 0-1".to_string()),
            Ok("IRQ 11 back on CPUs 1".to_string())
        ]
    );
    assert_eq!((read("10"), read("11")), ("0-1".into(), "1".into()));
    assert!(!journal.exists());
    assert!(IrqRouting::recover(&proc, &journal).is_empty(), "once only");
    // A clean end removes the journal itself.
    IrqRouting::apply(&proc, 1, &[0], &sound_irqs(&proc), Some(&journal))
        .unwrap()
        .restore();
    assert!(!journal.exists());
}

#[test]
fn irq_routing_reports_an_irq_the_kernel_will_not_move() {
    let tmp = tempfile::tempdir().unwrap();
    fake_proc(tmp.path());
    // A mask that refuses writes even from root, like a kernel-managed IRQ.
    let mask = tmp.path().join("irq/15/smp_affinity_list");
    std::fs::create_dir_all(mask.parent().unwrap()).unwrap();
    std::fs::write(&mask, "1\n").unwrap();
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&mask)
            .status()
            .unwrap()
    };
    assert!(
        chattr("+i").success(),
        "chattr +i needs ext4 or similar under the temp dir"
    );
    let proc = Procfs::at(tmp.path());
    let routing = IrqRouting::apply(&proc, 1, &[0], &[], None);
    chattr("-i");
    let routing = routing.unwrap();
    let r15 = routing.routes().iter().find(|r| r.irq == "15").unwrap();
    assert!(
        matches!(&r15.outcome, IrqOutcome::Immovable(reason) if !reason.is_empty()),
        "{r15:?}"
    );
    assert_eq!(r15.after, "1", "an immovable IRQ stays where it was");
}

#[test]
fn the_readiness_check_reports_every_item_with_a_fix() {
    let out = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .args(["system", "check", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = report["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    for expected in [
        "kernel preemption",
        "isolcpus",
        "nohz_full",
        "rcu_nocbs",
        "threadirqs",
        "cpu governor",
        "rtprio limit",
        "memlock limit",
        "irq placement",
        "sound irq thread",
        "playback device",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} is checked: {names:?}"
        );
    }
    for i in items {
        if i["status"] != "pass" {
            assert!(!i["fix"].as_str().unwrap().is_empty(), "{i} has a fix");
        }
    }
    let fails = report["fails"].as_u64().unwrap();
    assert_eq!(
        out.status.success(),
        fails == 0,
        "exit 0 exactly when nothing fails"
    );
    // With no sound card (this machine has no /dev/snd), the box cannot play
    // and says so, with what to do.
    if !std::path::Path::new("/dev/snd").exists() {
        let device = items
            .iter()
            .find(|i| i["name"] == "playback device")
            .unwrap();
        assert_eq!(device["status"], "fail", "{device}");
        assert!(
            device["observed"]
                .as_str()
                .unwrap()
                .starts_with("no sound card with a playback device was found"),
            "{device}"
        );
        assert!(!out.status.success());
    }
    // As root, the limits pass.
    let limit = items.iter().find(|i| i["name"] == "rtprio limit").unwrap();
    assert_eq!(limit["status"], "pass");
}

/// Under systemd the box's events reach a real journald natively: each with
/// its fields (`CUEBOX_EVENT`, `CUEBOX_ADDRESS`, …) and trouble at warning
/// priority, so `journalctl CUEBOX_EVENT=…` finds them. journald runs in a
/// private mount namespace (its own /run/systemd and /var/log/journal), and
/// `systemd-cat` connects cueboxd to it as a unit's output is.
#[test]
fn under_systemd_events_reach_the_journal_with_their_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    // A damaged active session: `cannot_play`, which is trouble.
    std::fs::create_dir_all(root.join("Sessions/Broken")).unwrap();
    std::fs::write(root.join("Sessions/Broken/session.json"), "{").unwrap();
    std::fs::write(root.join("active-session"), "Broken").unwrap();
    let out = tmp.path().join("journal.json");
    let script = format!(
        r#"set -e
mount -t tmpfs tmpfs /run/systemd 2>/dev/null || {{ mkdir -p /run/systemd; mount -t tmpfs tmpfs /run/systemd; }}
mkdir -p /run/systemd/journal /var/log/journal
mount -t tmpfs tmpfs /var/log/journal
/lib/systemd/systemd-journald >/dev/null 2>&1 &
journald=$!
i=0; until [ -S /run/systemd/journal/stdout ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done
systemd-cat -t cueboxd sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" --root "$1" run --listen 127.0.0.1:0 --seconds 1 --no-irq-routing' '{exe}' '{root}'
i=0; until journalctl -o json --no-pager CUEBOX_EVENT=cannot_play | grep -q cannot_play || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done
journalctl -o json --no-pager -t cueboxd > '{out}'
kill $journald
"#,
        exe = env!("CARGO_BIN_EXE_cueboxd"),
        root = root.display(),
        out = out.display(),
    );
    let status = Command::new("timeout")
        .args([
            "-s",
            "KILL",
            "60",
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
        ])
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success(), "the journal run failed: {status}");
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |event: &str| {
        entries
            .iter()
            .find(|e| e["CUEBOX_EVENT"] == event)
            .unwrap_or_else(|| panic!("no {event} entry in {entries:#?}"))
    };
    let listening = find("listening");
    assert_eq!(listening["PRIORITY"], "5", "notice: {listening}");
    assert!(
        listening["CUEBOX_ADDRESS"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.0.0.1:")),
        "{listening}"
    );
    assert!(
        listening["MESSAGE"]
            .as_str()
            .unwrap()
            .contains("listens on 127.0.0.1:"),
        "the message is the line a person reads: {listening}"
    );
    let problem = find("cannot_play");
    assert_eq!(problem["PRIORITY"], "4", "trouble is a warning: {problem}");
    assert!(
        problem["CUEBOX_DETAIL"]
            .as_str()
            .is_some_and(|d| d.contains("session.json")),
        "{problem}"
    );
}

/// The root helper of a service that runs as its own user: `route` leaves
/// the IRQs moved and the journal in place when it exits (the service plays
/// meanwhile), `restore` puts every mask back, and a second `route` after a
/// stop that never restored first puts back what the last one moved.
#[test]
fn the_root_helper_routes_until_restore_and_recovers_a_missed_restore() {
    use cueboxd::system::irqctl::{run, IrqCmd};
    let tmp = tempfile::tempdir().unwrap();
    fake_proc(tmp.path());
    let proc = Procfs::at(tmp.path());
    let journal = tmp.path().join("run/cuebox/irq-map.json");
    let read = |irq: &str| {
        std::fs::read_to_string(tmp.path().join(format!("irq/{irq}/smp_affinity_list")))
            .unwrap()
            .trim()
            .to_string()
    };
    let route = IrqCmd::Route { core: Some(1) };
    run(&route, &proc, &journal).unwrap();
    assert_eq!(
        (read("10"), read("11"), read("13")),
        ("0".into(), "0".into(), "1".into())
    );
    assert!(journal.exists(), "the journal outlives the helper");
    // Routed again without a restore between: the masks of before the first
    // route are the ones that come back in the end.
    run(&route, &proc, &journal).unwrap();
    run(&IrqCmd::Restore, &proc, &journal).unwrap();
    assert_eq!(
        (read("10"), read("11"), read("12")),
        ("0-1".into(), "1".into(), "0".into())
    );
    assert!(!journal.exists());
    run(&IrqCmd::Restore, &proc, &journal).unwrap();
}
