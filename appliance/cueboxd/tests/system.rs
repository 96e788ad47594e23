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

/// A data root with an rclone configuration whose remote `backup` is the
/// local folder `dest` (an alias remote: what a USB disk or a mounted share
/// would be), and `offbox.json` sending copies to `backup:box1`.
fn offbox_root(tmp: &Path, dest: &Path) -> (std::path::PathBuf, cueboxd::offbox::OffboxConfig) {
    use cueboxd::jsonconf::ConfigFile;
    let root = tmp.join("root");
    std::fs::create_dir_all(root.join("Logs/plays")).unwrap();
    std::fs::create_dir_all(root.join("Exports/2026-12-01")).unwrap();
    std::fs::write(
        root.join("rclone.conf"),
        format!("[backup]\ntype = alias\nremote = {}\n", dest.display()),
    )
    .unwrap();
    std::fs::write(
        root.join("offbox.json"),
        r#"{"remote": "backup:box1", "retry_seconds": 1}"#,
    )
    .unwrap();
    let config = cueboxd::offbox::OffboxConfig::load(&root.join("offbox.json")).unwrap();
    (root, config)
}

/// Real rclone, a real local remote: new and changed files go over, a
/// second copy sends nothing, and a file the box lost stays on the remote
/// (copy, never sync).
#[test]
fn offbox_copies_what_is_new_and_the_remote_never_loses_a_file() {
    use cueboxd::offbox::{copy, Folder};
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    let (root, config) = offbox_root(tmp.path(), &dest);
    std::fs::write(root.join("Logs/plays/plays-a.log"), "entry 1\n").unwrap();
    std::fs::write(root.join("Exports/2026-12-01/sheet.csv"), "work,uses\n").unwrap();

    let first = copy(&config, &root, &mut || false).unwrap();
    assert_eq!((first.files(), first.bytes()), (2, 18), "{first:?}");
    assert_eq!(first.folders[0].folder, Folder::Logs);
    assert_eq!(first.folders[0].files, ["plays/plays-a.log"]);
    assert_eq!(first.folders[1].target, "backup:box1/Exports");
    let remote = |rel: &str| std::fs::read_to_string(dest.join("box1").join(rel));
    assert_eq!(remote("Logs/plays/plays-a.log").unwrap(), "entry 1\n");
    assert_eq!(
        remote("Exports/2026-12-01/sheet.csv").unwrap(),
        "work,uses\n"
    );

    let again = copy(&config, &root, &mut || false).unwrap();
    assert_eq!((again.files(), again.bytes()), (0, 0), "{again:?}");

    // The box loses an export and its log grows: the log goes over again,
    // the export stays on the remote.
    std::fs::remove_file(root.join("Exports/2026-12-01/sheet.csv")).unwrap();
    std::fs::write(root.join("Logs/plays/plays-a.log"), "entry 1\nentry 2\n").unwrap();
    let third = copy(&config, &root, &mut || false).unwrap();
    assert_eq!(third.files(), 1, "{third:?}");
    assert_eq!(
        remote("Logs/plays/plays-a.log").unwrap(),
        "entry 1\nentry 2\n"
    );
    assert_eq!(
        remote("Exports/2026-12-01/sheet.csv").unwrap(),
        "work,uses\n"
    );
}

/// Failures are typed and carry rclone's own last line: a remote the
/// configuration lacks, a remote that cannot take a folder, no rclone
/// configuration, no rclone; `offbox check` names the first that fails.
#[test]
fn offbox_failures_say_which_with_rclones_last_line() {
    use cueboxd::offbox::{check, copy, OffboxConfig, Problem};
    let tmp = tempfile::tempdir().unwrap();
    // The remote's folder is a file: nothing can be made under it (root
    // ignores permissions, so a read-only folder would not refuse).
    let blocked = tmp.path().join("blocked");
    std::fs::write(&blocked, "").unwrap();
    let (root, config) = offbox_root(tmp.path(), &blocked);
    std::fs::write(root.join("Exports/2026-12-01/sheet.csv"), "x").unwrap();

    let e = copy(&config, &root, &mut || false).unwrap_err();
    assert_eq!(e.problem(), Problem::RcloneFailed, "{e}");
    assert!(e.stderr().unwrap().contains("not a directory"), "{e}");
    let checks = check(&config, &root);
    assert_eq!(
        checks.iter().map(|c| (c.item, c.ok)).collect::<Vec<_>>(),
        [
            ("rclone", true),
            ("rclone configuration", true),
            ("remote", false)
        ],
        "{checks:?}"
    );

    let unknown = OffboxConfig {
        remote: "nope:box1".into(),
        ..config.clone()
    };
    let e = copy(&unknown, &root, &mut || false).unwrap_err();
    assert!(
        e.stderr()
            .unwrap()
            .contains("didn't find section in config file"),
        "{e}"
    );
    assert!(check(&unknown, &root)[1]
        .detail
        .contains("no remote \"nope\""));

    // A remote whose server does not answer: rclone's own words.
    std::fs::write(
        root.join("far.conf"),
        format!(
            "[far]\ntype = sftp\nhost = 127.0.0.1\nport = 1\nuser = cuebox\npass = {SFTP_PASS}\n"
        ),
    )
    .unwrap();
    let far = OffboxConfig {
        remote: "far:box1".into(),
        rclone_config: Some("far.conf".into()),
        ..config.clone()
    };
    let e = copy(&far, &root, &mut || false).unwrap_err();
    assert_eq!(e.problem(), Problem::RcloneFailed, "{e}");
    assert!(e.stderr().unwrap().contains("connection refused"), "{e}");

    let no_conf = OffboxConfig {
        rclone_config: Some("missing.conf".into()),
        ..config.clone()
    };
    let e = copy(&no_conf, &root, &mut || false).unwrap_err();
    assert_eq!(e.problem(), Problem::NoRcloneConfig);
    assert!(e.to_string().contains("rclone config --config"), "{e}");

    // No rclone on PATH: the box's CLI says so, exit 1.
    let out = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .args(["--root"])
        .arg(&root)
        .args(["offbox", "check", "--json"])
        .env("PATH", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["checks"][0]["item"], "rclone");
    assert!(
        report["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("rclone is not installed"),
        "{report}"
    );
}

/// The copier thread: a remote that refuses is an `offbox_failed` event,
/// tried again after a delay that doubles; once the remote answers, the
/// retry copies; a poke copies a new export at once.
#[test]
fn the_offbox_thread_retries_with_backoff_and_copies_when_poked() {
    use cueboxd::events::{BoxEvent, Publisher, QUEUE};
    use cueboxd::offbox::{Offbox, Problem, Reason};
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    std::fs::write(&dest, "in the way").unwrap();
    let (root, config) = offbox_root(tmp.path(), &dest);
    std::fs::write(root.join("Exports/2026-12-01/sheet.csv"), "x").unwrap();
    let events = Publisher::new();
    let sub = events.subscribe(QUEUE);
    let offbox = Offbox::start(config, &root, audio_core(), events.clone()).unwrap();
    let next = || loop {
        let e = sub.recv_timeout(Duration::from_secs(20)).expect("an event");
        if matches!(
            *e,
            BoxEvent::OffboxCopied { .. } | BoxEvent::OffboxFailed { .. }
        ) {
            return e;
        }
        assert!(!e.is_trouble(), "{e:?}");
    };
    for retry in [1, 2] {
        let e = next();
        let BoxEvent::OffboxFailed {
            problem,
            stderr,
            retry_seconds,
            ..
        } = &*e
        else {
            panic!("{e:?}")
        };
        assert!(e.is_trouble());
        assert_eq!((*problem, *retry_seconds), (Problem::RcloneFailed, retry));
        assert!(stderr.as_deref().unwrap().contains("not a directory"));
    }
    // The remote comes back: the next retry copies.
    std::fs::remove_file(&dest).unwrap();
    std::fs::create_dir(&dest).unwrap();
    let e = next();
    assert!(
        matches!(
            *e,
            BoxEvent::OffboxCopied {
                reason: Reason::Retry,
                files: 1,
                ..
            }
        ),
        "{e:?}"
    );
    // An export written and poked: copied now, not in 15 minutes.
    std::fs::write(root.join("Exports/2026-12-01/sheet.json"), "{}").unwrap();
    offbox.handle().poke();
    let e = next();
    assert!(
        matches!(
            *e,
            BoxEvent::OffboxCopied {
                reason: Reason::Poke,
                files: 1,
                bytes: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(dest.join("box1/Exports/2026-12-01/sheet.json").exists());
    // An export the box reports (a host's cue sheet) pokes it by itself.
    std::fs::write(root.join("Exports/2026-12-01/sheet.xml"), "<a/>").unwrap();
    events.send(BoxEvent::ReportExported {
        file: "Exports/2026-12-01/sheet.xml".into(),
        summary: String::new(),
    });
    let e = next();
    assert!(
        matches!(
            *e,
            BoxEvent::OffboxCopied {
                reason: Reason::Poke,
                files: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(dest.join("box1/Exports/2026-12-01/sheet.xml").exists());
    drop(offbox);
}

/// An sftp password as rclone.conf holds it (`rclone obscure cuebox`): with
/// one, rclone dials the server instead of asking an ssh-agent.
const SFTP_PASS: &str = "btcCzS_Zt_Cbm2niGp04wC3rZ0M-xA";

/// The processes (of any parent: a killed one is reparented) whose command
/// line names `remote`.
fn rclones_for(remote: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                let cmd = String::from_utf8_lossy(&cmd);
                cmd.starts_with("rclone\0") && cmd.contains(remote)
            })
        })
        .collect()
}

/// A remote that takes the connection and never answers holds rclone; the
/// run ending (the copier dropped) kills it at once.
#[test]
fn stopping_the_copier_kills_a_hanging_rclone() {
    use cueboxd::events::Publisher;
    use cueboxd::offbox::{Offbox, OffboxConfig};
    let tmp = tempfile::tempdir().unwrap();
    let (root, config) = offbox_root(tmp.path(), &tmp.path().join("dest"));
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::fs::write(
        root.join("silent.conf"),
        format!("[silent]\ntype = sftp\nhost = 127.0.0.1\nport = {port}\nuser = cuebox\npass = {SFTP_PASS}\n"),
    )
    .unwrap();
    let config = OffboxConfig {
        remote: "silent:box1".into(),
        rclone_config: Some("silent.conf".into()),
        ..config
    };
    let offbox = Offbox::start(config, &root, audio_core(), Publisher::new()).unwrap();
    let started = std::time::Instant::now();
    while rclones_for("silent:box1").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "rclone never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Connected (the kernel takes the connection), waiting for a banner
    // that never comes: rclone's own timeouts are 30 s and 2 min.
    std::thread::sleep(Duration::from_millis(300));
    assert!(!rclones_for("silent:box1").is_empty(), "rclone waits");
    let t = std::time::Instant::now();
    drop(offbox);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert!(
        rclones_for("silent:box1").is_empty(),
        "rclone was killed and reaped"
    );
    drop(silent);
}

/// Background work (the off-box copier) runs SCHED_IDLE off the audio core,
/// and a process it starts (rclone) inherits both.
#[test]
fn background_work_is_idle_off_the_audio_core_and_so_are_its_children() {
    let core = audio_core();
    let (stat, status) = std::thread::spawn(move || {
        background(core).unwrap();
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        (stat, status)
    })
    .join()
    .unwrap();
    let after_name: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    assert_eq!(after_name[38], "5", "the child is SCHED_IDLE: {stat}");
    let cpus = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim();
    let cpus = parse_cpu_list(cpus);
    let online = std::thread::available_parallelism().unwrap().get();
    if online > 1 {
        assert!(!cpus.contains(&core), "off CPU {core}: {cpus:?}");
    }
}

/// A real `cueboxd run` starts the copier from `<root>/offbox.json`: the
/// export there is on the remote while the box runs; a mistake in the file
/// stops the run, naming it.
#[test]
fn a_run_copies_exports_off_the_box_and_refuses_a_bad_offbox_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let (root, _) = offbox_root(tmp.path(), &dest);
    std::fs::write(root.join("Exports/2026-12-01/sheet.csv"), "work\n").unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cueboxd"))
            .arg("--root")
            .arg(&root)
            .args([
                "run",
                "--listen",
                "127.0.0.1:0",
                "--seconds",
                "3",
                "--no-irq-routing",
                "--json",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(out.status.success(), "{out:?}");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let copied = events
        .iter()
        .find(|e| e["event"] == "offbox_copied")
        .unwrap_or_else(|| panic!("no offbox_copied in {events:#?}"));
    assert_eq!(
        (&copied["reason"], &copied["remote"]),
        (&"start".into(), &"backup:box1".into())
    );
    // The export, and the technical logs the run has begun by then.
    assert!(copied["files"].as_u64() >= Some(1), "{copied}");
    assert_eq!(
        std::fs::read_to_string(dest.join("box1/Exports/2026-12-01/sheet.csv")).unwrap(),
        "work\n"
    );

    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"remote\": \"backup:box1\",\n \"every_minutes\": 0}",
    )
    .unwrap();
    let out = run(&["--offbox", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("off-box copy configuration") && stderr.contains("every_minutes 0"),
        "{stderr}"
    );
}
