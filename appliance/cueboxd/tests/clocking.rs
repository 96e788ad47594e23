//! The box's time sources against independent peers, as a user runs them.
//!
//! PTP: linuxptp's ptp4l is a free-running grandmaster in one network
//! namespace, `cueboxd clock ptp` the slave in another, over a veth pair.
//! The namespaces share the machine's clock, so the truth is known: the
//! grandmaster's time is CLOCK_REALTIME.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "common/netns.rs"]
mod netns;

use netns::{script, Killed, Netns};

/// The PTP tests take turns: software timestamps on two cores shared by
/// two PTP pairs at once skew one side's path (an offset of 30 µs was seen
/// where alone it measures under 10).
static PTP: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ptp_turn() -> std::sync::MutexGuard<'static, ()> {
    PTP.lock().unwrap_or_else(|e| e.into_inner())
}

/// ptp4l as grandmaster, logging to `log`, returned once it has taken the
/// role.
fn grandmaster(ns: &Netns, log: &std::path::Path) -> Killed {
    let gm = Killed(
        ns.exec("gm")
            .args(["ptp4l", "-S", "-m", "-i", &format!("{}-g", ns.0), "-f"])
            .arg(script("ptp4l-gm.cfg"))
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("ptp4l runs (apt-get install linuxptp)"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(log)
        .unwrap()
        .contains("assuming the grand master role")
    {
        assert!(Instant::now() < deadline, "ptp4l never became grandmaster");
        std::thread::sleep(Duration::from_millis(200));
    }
    gm
}

/// CLOCK_REALTIME minus CLOCK_MONOTONIC, ns: it changes only if someone
/// steps (or slews) the system clock.
fn system_offset_ns() -> i128 {
    let ns = |id| {
        let t = nix::time::clock_gettime(id).unwrap();
        i128::from(t.tv_sec()) * 1_000_000_000 + i128::from(t.tv_nsec())
    };
    ns(nix::time::ClockId::CLOCK_REALTIME) - ns(nix::time::ClockId::CLOCK_MONOTONIC)
}

#[test]
fn ptp_slave_locks_to_ptp4l_without_touching_the_system_clock() {
    let _turn = ptp_turn();
    let ns = Netns::up(&format!("cbp{}", std::process::id() % 100_000));
    let tmp = tempfile::tempdir().unwrap();
    let _gm = grandmaster(&ns, &tmp.path().join("ptp4l.log"));
    let system_before = system_offset_ns();
    let trace = tmp.path().join("strace.txt");
    // Every call that could set or steer the system clock is traced.
    let out = ns
        .exec("sl")
        .args(["strace", "-f", "--seccomp-bpf", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=clock_settime,clock_adjtime,adjtimex,settimeofday,stime",
        ])
        .arg(env!("CARGO_BIN_EXE_cueboxd"))
        .args(["clock", "ptp", "--interface", &format!("{}-s", ns.0)])
        .args([
            "--seconds",
            "30",
            "--inject-offset",
            "1.5",
            "--inject-ppm",
            "40",
        ])
        .arg("--json")
        .output()
        .expect("strace runs (apt-get install strace)");
    let system_after = system_offset_ns();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first = &lines[0];
    let last = lines.last().unwrap();
    eprintln!("first: {first}\nlast: {last}");
    // The injected error was real: 1.5 s ahead at the start.
    let start_error = first["ptp_minus_system_ns"].as_f64().unwrap();
    assert!((start_error - 1.5e9).abs() < 1e6, "{start_error}");
    // 30 s later: slave, stepped once, within 10 µs of the grandmaster,
    // its oscillator's +40 ppm corrected.
    assert_eq!(last["state"], "Slave");
    assert!(last["steps"].as_u64().unwrap() >= 1);
    let error = last["ptp_minus_system_ns"].as_f64().unwrap();
    assert!(error.abs() < 10_000.0, "{error} ns from the grandmaster");
    let ppm = last["correction_ppm"].as_f64().unwrap();
    assert!((ppm + 40.0).abs() < 2.0, "correction {ppm} ppm");
    // The system clock: no call to set or steer it, and no step.
    let calls = std::fs::read_to_string(&trace).unwrap();
    let touched: Vec<&str> = calls
        .lines()
        .filter(|l| !l.contains("+++") && !l.contains("---"))
        .collect();
    assert!(
        touched.is_empty(),
        "the system clock was touched: {touched:?}"
    );
    let moved = system_after - system_before;
    assert!(moved.abs() < 1_000_000, "the system clock moved {moved} ns");
}

#[test]
fn ptp_master_is_followed_by_a_ptp4l_slave_within_10_us() {
    let _turn = ptp_turn();
    let ns = Netns::up(&format!("cbq{}", std::process::id() % 100_000));
    let tmp = tempfile::tempdir().unwrap();
    let _master = Killed(
        ns.exec("gm")
            .arg(env!("CARGO_BIN_EXE_cueboxd"))
            .args(["clock", "ptp", "--interface", &format!("{}-g", ns.0)])
            .args(["--master", "--priority1", "1", "--json"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // ptp4l as a slave that never adjusts the clock: its current data set
    // holds what it measures.
    let config = tmp.path().join("slave.cfg");
    let socket = tmp.path().join("ptp4l.sock");
    std::fs::write(
        &config,
        format!(
            "[global]\nfree_running 1\nslaveOnly 1\npriority1 255\nlogSyncInterval -3\n\
             logAnnounceInterval 1\nannounceReceiptTimeout 3\ntime_stamping software\n\
             uds_address {}\n",
            socket.display()
        ),
    )
    .unwrap();
    let _slave = Killed(
        ns.exec("sl")
            .args(["ptp4l", "-S", "-i", &format!("{}-s", ns.0), "-f"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut offsets = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while offsets.len() < 7 {
        assert!(
            Instant::now() < deadline,
            "ptp4l never synchronised to cuebox: {offsets:?}"
        );
        std::thread::sleep(Duration::from_secs(1));
        let out = ns
            .exec("sl")
            .args(["pmc", "-u", "-b", "0", "-s"])
            .arg(&socket)
            .arg("-i")
            .arg(tmp.path().join("pmc.sock"))
            .arg("GET CURRENT_DATA_SET")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let offset = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("offsetFromMaster"))
            .and_then(|v| v.trim().parse::<f64>().ok());
        // 0.0 exactly until ptp4l has measured anything.
        if let Some(o) = offset.filter(|o| *o != 0.0) {
            offsets.push(o);
        }
    }
    eprintln!("ptp4l's offset from cuebox (ns): {offsets:?}");
    // ptp4l's clock and cuebox's master are the same system clock: what it
    // measures is cuebox's error as a master, the UTC offset handled. The
    // median holds within 10 µs; with software timestamps on a loaded
    // 2-core machine one exchange now and then is delayed by a scheduling
    // stall (26 µs was seen once in CI), so single samples get 100 µs — a
    // wrong master (the UTC offset, a bad origin time) is off by seconds.
    let mut settled = offsets[1..].to_vec();
    settled.sort_by(f64::total_cmp);
    let median = settled[settled.len() / 2];
    assert!(
        median.abs() < 10_000.0,
        "ptp4l measures a median {median} ns from cuebox: {offsets:?}"
    );
    for o in &settled {
        assert!(
            o.abs() < 100_000.0,
            "ptp4l measures {o} ns from cuebox: {offsets:?}"
        );
    }
}
