//! hostctl and cueboxd on separate network stacks: the box in one network
//! namespace, the host in another, joined by a veth pair. A push is killed
//! mid-transfer and then cut by pulling the link; each time nothing is
//! activated and nothing corrupt is stored, and the next push resumes.

#[path = "../../appliance/cueboxd/tests/common/netns.rs"]
mod netns;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cuebox_engine::fixtures::{write_wav, WavFormat};
use netns::{script, Killed, Netns};
use serde_json::Value;

/// One test at a time: each runs boxes on paced cards, and a 2-core machine
/// running several at once stalls them (xruns that are no test's doing).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|p| p.into_inner())
}

fn hostctl() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hostctl"))
}

/// cueboxd, built beside hostctl by `cargo test --workspace`.
fn cueboxd() -> PathBuf {
    let path = hostctl().with_file_name("cueboxd");
    assert!(
        path.is_file(),
        "build cueboxd first: cargo build -p cueboxd"
    );
    path
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A stereo 16-bit WAV of `seconds` of a tone unlike any other file's.
fn wav(path: &Path, seconds: u32, seed: u32) {
    write_wav(
        path,
        WavFormat::int16(2, 48_000),
        48_000 * seconds,
        |i, c| {
            let v = ((i.wrapping_mul(seed) >> 3) % 16_000) as f32 - 8_000.0;
            v / (32_767.0 * f32::from(c + 1))
        },
    );
}

/// The total size of the files in a folder.
fn part_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Waits until `f` holds or `secs` pass.
fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_push_cut_by_kill_and_by_link_down_resumes_and_never_half_activates() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let ns = Netns::up(&format!("cbh{}", std::process::id() % 100_000));
    let box_ip = ns.address("gm");
    let root = tmp.path().join("box");
    let host_dir = tmp.path().join("host");

    // The box: idle, listening on its veth, with a paced PCM to play into.
    let so = ok(Command::new(script("../alsa/build-paced-pcm.sh"))
        .output()
        .unwrap());
    let so = so.lines().last().unwrap();
    let conf = tmp.path().join("asound.conf");
    std::fs::write(
        &conf,
        format!(
            "pcm_type.cuebox_paced {{ lib \"{so}\" }}\npcm.net {{ type cuebox_paced outfile \"/dev/null\" }}\n"
        ),
    )
    .unwrap();
    let _box = Killed(
        ns.exec("gm")
            .arg(cueboxd())
            .args(["--root"])
            .arg(&root)
            .args([
                "run", "--listen", &box_ip, "--name", "main", "--device", "net",
            ])
            .args([
                "--format",
                "FLOAT_LE",
                "--channels",
                "2",
                "--no-irq-routing",
                "--seconds",
                "300",
            ])
            .env(
                "ALSA_CONFIG_PATH",
                format!("/usr/share/alsa/alsa.conf:{}", conf.display()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let host = |args: &[&str]| {
        let mut c = ns.exec("sl");
        c.arg(hostctl())
            .args(args)
            .env("CUEBOX_HOST_DIR", &host_dir);
        c
    };
    assert!(
        wait_for(10, || root.join("api/box.key").exists()),
        "cueboxd starts"
    );
    let fingerprint = ok(Command::new(cueboxd())
        .arg("--root")
        .arg(&root)
        .arg("key")
        .output()
        .unwrap());
    // Pairing refuses a wrong fingerprint, and accepts the box's.
    let wrong = host(&[
        "pair",
        &box_ip,
        "--name",
        "main",
        "--fingerprint",
        "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ])
    .output()
    .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("do not pair"));
    ok(host(&[
        "pair",
        &box_ip,
        "--name",
        "main",
        "--fingerprint",
        fingerprint.trim(),
    ])
    .output()
    .unwrap());
    let key = ok(host(&["key"]).output().unwrap());
    ok(Command::new(cueboxd())
        .arg("--root")
        .arg(&root)
        .args([
            "auth",
            "add",
            key.trim(),
            "--role",
            "edit",
            "--comment",
            "test host",
        ])
        .output()
        .unwrap());

    // A session of two 40 s files (15 MB in all).
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let show = tmp.path().join("Tour");
    ok(Command::new(hostctl())
        .arg("session")
        .arg("new")
        .arg(&show)
        .args(["--media"])
        .arg(show.join("media"))
        .output()
        .unwrap());
    for (n, (file, group)) in [("one.wav", "A"), ("two.wav", "B")].into_iter().enumerate() {
        wav(&src.join(file), 40, 7 + n as u32 * 6);
        ok(Command::new(hostctl())
            .arg("clip")
            .arg("add")
            .arg(&show)
            .arg(src.join(file))
            .args(["--at", &format!("1,{}", n + 1), "--group", group])
            .env("CUEBOX_HOST_DIR", &host_dir)
            .output()
            .unwrap());
    }
    let show_arg = show.to_str().unwrap();
    let incoming = root.join("Objects/incoming");
    let activated = || root.join("Sessions/Tour").exists() || root.join("active-session").exists();

    // A slow link (24 Mbit/s) so the push can be cut mid-way.
    let veth = format!("{}-s", ns.0);
    ok(ns
        .exec("sl")
        .args([
            "tc", "qdisc", "add", "dev", &veth, "root", "tbf", "rate", "24mbit", "burst", "32kb",
            "latency", "400ms",
        ])
        .output()
        .unwrap());

    // 1. hostctl killed mid-transfer.
    let mut push = Killed(
        host(&["push", show_arg, "--to", "main"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(
        wait_for(30, || part_bytes(&incoming) > 2_000_000),
        "the transfer starts"
    );
    push.0.kill().unwrap();
    let _ = push.0.wait();
    std::thread::sleep(Duration::from_millis(300));
    let after_kill = part_bytes(&incoming);
    assert!(
        after_kill > 2_000_000 && after_kill < 15_000_000,
        "{after_kill}"
    );
    assert!(!activated(), "nothing is activated by a killed push");
    // What arrived is exactly the start of the file: whole chunks, nothing torn.
    let part = std::fs::read_dir(&incoming)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let held = std::fs::read(&part).unwrap();
    let one = std::fs::read(show.join("media/one.wav")).unwrap();
    assert_eq!(held.len() % (256 * 1024), 0);
    assert!(
        one[..held.len()] == held[..],
        "the part is the file's start"
    );

    // 2. The link pulled mid-transfer.
    let push = host(&["push", show_arg, "--to", "main"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(30, || part_bytes(&incoming) > after_kill + 1_000_000),
        "the second push resumes"
    );
    ok(ns
        .exec("sl")
        .args(["ip", "link", "set", &veth, "down"])
        .output()
        .unwrap());
    let out = push.wait_with_output().unwrap();
    assert!(!out.status.success(), "a push over a dead link fails");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("main: FAILED"), "{err}");
    assert!(!activated(), "nothing is activated by a cut push");

    // 3. The link back, full speed: the push resumes and activates.
    ok(ns
        .exec("sl")
        .args(["ip", "link", "set", &veth, "up"])
        .output()
        .unwrap());
    ok(ns
        .exec("sl")
        .args(["tc", "qdisc", "del", "dev", &veth, "root"])
        .output()
        .unwrap());
    let report: Value =
        serde_json::from_str(&ok(host(&["push", show_arg, "--to", "main", "--json"])
            .output()
            .unwrap()))
        .unwrap();
    let r = &report["boxes"][0]["report"];
    assert_eq!(report["boxes"][0]["ok"], true, "{report}");
    assert!(
        r["bytes_resumed"].as_u64().unwrap() > after_kill,
        "{report}"
    );
    for file in ["one.wav", "two.wav"] {
        let on_box = std::fs::read(root.join("Sessions/Tour/media").join(file)).unwrap();
        let on_host = std::fs::read(show.join("media").join(file)).unwrap();
        assert!(
            on_box == on_host,
            "{file} arrived intact ({} bytes on the box, {} on the host)",
            on_box.len(),
            on_host.len()
        );
    }
    assert_eq!(
        std::fs::read_to_string(root.join("active-session")).unwrap(),
        "Tour"
    );
    assert_eq!(part_bytes(&incoming), 0, "no parts are left");

    // 4. Unchanged: nothing sent, well under a second.
    let again: Value =
        serde_json::from_str(&ok(host(&["push", show_arg, "--to", "main", "--json"])
            .output()
            .unwrap()))
        .unwrap();
    let r = &again["boxes"][0]["report"];
    assert_eq!(r["bytes_sent"], 0, "{again}");
    assert!(r["seconds"].as_f64().unwrap() < 1.0, "{again}");

    // The box plays it: status over the network, and a GO lands.
    assert!(wait_for(10, || {
        let s = host(&["status", "main", "--json"]).output().unwrap();
        serde_json::from_slice::<Value>(&s.stdout)
            .is_ok_and(|v| v["session"] == "Tour" && v["rate"] == 48_000)
    }));
    let go: Value =
        serde_json::from_str(&ok(host(&["go", "main", "c1", "--json"]).output().unwrap())).unwrap();
    assert!(go["at_sample"].as_u64().unwrap() > 0, "{go}");
    // Paused, status says so and its position holds; resumed, it plays on.
    let playing = |want_paused: bool| {
        let mut position = 0.0;
        let seen = wait_for(5, || {
            let s = host(&["status", "main", "--json"]).output().unwrap();
            let v: Value = serde_json::from_slice(&s.stdout).unwrap_or_default();
            let p = &v["playing"][0];
            position = p["position"].as_f64().unwrap_or(-1.0);
            p["clip"] == "c1" && p["paused"] == want_paused
        });
        assert!(
            seen,
            "c1 {} in status",
            if want_paused { "paused" } else { "playing" }
        );
        position
    };
    ok(host(&["pause", "main", "c1"]).output().unwrap());
    let held = playing(true);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(playing(true), held, "a paused clip's position holds");
    ok(host(&["resume", "main"]).output().unwrap());
    playing(false);
    // Ducked live: the box takes a fade to a level and refuses one out of range.
    let duck = host(&[
        "fade-to", "main", "c1", "--level", "-10", "--time", "0.5", "--json",
    ])
    .output()
    .unwrap();
    let duck: Value = serde_json::from_str(&ok(duck)).unwrap();
    assert!(duck["at_sample"].as_u64().unwrap() > 0, "{duck}");
    let loud = host(&["fade-to", "main", "c1", "--level", "20"])
        .output()
        .unwrap();
    assert!(!loud.status.success());
    let why = String::from_utf8_lossy(&loud.stderr);
    assert!(why.contains("20 dB is outside -144 to +12 dB"), "{why}");
    let diff = host(&["diff", show_arg, "main"]).output().unwrap();
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );

    // Sessions are removed by name; the active one is refused.
    ok(host(&["stop-all", "main"]).output().unwrap());
    assert!(wait_for(10, || {
        let s = host(&["status", "main", "--json"]).output().unwrap();
        serde_json::from_slice::<Value>(&s.stdout)
            .is_ok_and(|v| v["playing"].as_array().is_some_and(Vec::is_empty))
    }));
    ok(host(&["push", show_arg, "--to", "main", "--name", "Copy"])
        .output()
        .unwrap());
    let refused = host(&["session", "remove", "main", "Copy"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(
            "\"Copy\" is the box's active session; push or activate another session first"
        ),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let removed = ok(host(&["session", "remove", "main", "Tour"])
        .output()
        .unwrap());
    assert!(
        removed.starts_with("main: removed session \"Tour\"; ")
            && removed.contains(" free on the box"),
        "{removed}"
    );
    assert!(!root.join("Sessions/Tour").exists() && !root.join("Sessions/.previous-Tour").exists());
    for file in ["one.wav", "two.wav"] {
        let on_box = std::fs::read(root.join("Sessions/Copy/media").join(file)).unwrap();
        assert!(
            on_box == std::fs::read(show.join("media").join(file)).unwrap(),
            "Copy keeps {file}"
        );
    }
}

/// A box whose device cannot play: the push says why and fails, status
/// names the device and the ALSA error, commands are refused with the
/// reason, the API stays up, and the box plays by itself once the device
/// exists (it tries again every few seconds).
/// A box on loopback playing through the paced test PCM (FLOAT_LE, two
/// channels) into `card/out.raw`, with this test as its edit host.
struct LoopBox {
    run: Killed,
    root: PathBuf,
    host_dir: PathBuf,
    card: PathBuf,
    log: PathBuf,
    /// Its card's clock against CLOCK_MONOTONIC, ppm.
    ppm: f64,
    /// The network namespace its hostctl runs in; the test's own when
    /// `None`.
    host_netns: Option<String>,
}

/// Where a [`LoopBox`] runs and how its card's clock runs.
#[derive(Debug, Clone, Default)]
struct Place {
    /// The network namespace the box runs in (its hostctl too, unless
    /// `host_netns` says otherwise).
    netns: Option<String>,
    /// The network namespace its hostctl runs in, when not the box's.
    host_netns: Option<String>,
    /// It listens on every address of its namespace (a pair's control
    /// address too), not only the one it is given.
    listen_all: bool,
    /// The card's clock runs this fast against CLOCK_MONOTONIC, ppm.
    ppm: f64,
    /// Seconds the box runs (`--seconds`); 180 when 0.
    seconds: u64,
}

/// `program`, run in network namespace `netns` when there is one.
fn in_netns(netns: Option<&str>, program: &Path) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// A free port on loopback, as `127.0.0.1:PORT`.
fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

impl LoopBox {
    /// Starts box `name` under `tmp`; its card's folder is made now when
    /// `plugged` (else the device cannot open until a test makes it).
    fn start(tmp: &Path, name: &str, plugged: bool) -> LoopBox {
        LoopBox::start_with(tmp, name, plugged, &free_address(), &[])
    }

    /// The box's data root under `tmp`.
    fn root(tmp: &Path, name: &str) -> PathBuf {
        tmp.join(format!("{name}-root"))
    }

    /// `cueboxd --root ROOT ARGS` for box `name`'s data root, its output.
    fn cueboxd_cmd(tmp: &Path, name: &str, args: &[&str]) -> String {
        ok(Command::new(cueboxd())
            .arg("--root")
            .arg(LoopBox::root(tmp, name))
            .args(args)
            .output()
            .unwrap())
    }

    /// As [`start`](Self::start), listening on `address`, with `extra`
    /// arguments to `cueboxd run`.
    fn start_with(tmp: &Path, name: &str, plugged: bool, address: &str, extra: &[&str]) -> LoopBox {
        LoopBox::start_in(tmp, name, plugged, address, extra, &Place::default())
    }

    /// As [`start_with`](Self::start_with), at `place`.
    fn start_in(
        tmp: &Path,
        name: &str,
        plugged: bool,
        address: &str,
        extra: &[&str],
        place: &Place,
    ) -> LoopBox {
        let root = LoopBox::root(tmp, name);
        let so = ok(Command::new(script("../alsa/build-paced-pcm.sh"))
            .output()
            .unwrap());
        let card = tmp.join(format!("{name}-card"));
        if plugged {
            std::fs::create_dir(&card).unwrap();
        }
        let conf = tmp.join(format!("{name}-asound.conf"));
        std::fs::write(
            &conf,
            format!(
                "pcm_type.cuebox_paced {{ lib \"{}\" }}\npcm.later {{ type cuebox_paced outfile \"{1}/out.raw\" startfile \"{1}/start\" ppm {2} }}\npcm.later_in {{ type cuebox_paced infile \"{1}-in.raw\" }}\n",
                so.lines().last().unwrap(),
                card.display(),
                place.ppm
            ),
        )
        .unwrap();
        let log = tmp.join(format!("{name}-cueboxd.err"));
        let seconds = if place.seconds == 0 {
            180
        } else {
            place.seconds
        };
        let listen = if place.listen_all { "0.0.0.0" } else { address };
        let run = Killed(
            in_netns(place.netns.as_deref(), &cueboxd())
                .arg("--root")
                .arg(&root)
                .args([
                    "run", "--listen", listen, "--name", name, "--device", "later",
                ])
                .args(extra)
                .args([
                    "--format",
                    "FLOAT_LE",
                    "--channels",
                    "2",
                    "--no-irq-routing",
                ])
                .args(["--seconds", &seconds.to_string()])
                .env(
                    "ALSA_CONFIG_PATH",
                    format!("/usr/share/alsa/alsa.conf:{}", conf.display()),
                )
                .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap(),
        );
        let b = LoopBox {
            run,
            root,
            host_dir: tmp.join(format!("{name}-host")),
            card,
            log,
            ppm: place.ppm,
            host_netns: place.host_netns.clone().or_else(|| place.netns.clone()),
        };
        assert!(wait_for(10, || b.root.join("api/box.key").exists()));
        let cueboxd_cmd = |args: &[&str]| LoopBox::cueboxd_cmd(tmp, name, args);
        let fingerprint = cueboxd_cmd(&["key"]);
        assert!(wait_for(10, || b
            .host(&[
                "pair",
                address,
                "--name",
                name,
                "--fingerprint",
                fingerprint.trim()
            ])
            .status
            .success()));
        let key = ok(b.host(&["key"]));
        cueboxd_cmd(&["auth", "add", key.trim(), "--role", "edit"]);
        b
    }

    /// hostctl, as this box's host.
    fn host(&self, args: &[&str]) -> Output {
        in_netns(self.host_netns.as_deref(), &hostctl())
            .args(args)
            .env("CUEBOX_HOST_DIR", &self.host_dir)
            .output()
            .unwrap()
    }

    /// What the box said on stderr so far.
    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The events the box printed so far, one line each.
    fn events(&self) -> String {
        std::fs::read_to_string(self.log.with_extension("out")).unwrap_or_default()
    }

    /// The CLOCK_MONOTONIC time (ns) the card played its output's first
    /// frame at.
    fn started_ns(&self) -> f64 {
        std::fs::read_to_string(self.card.join("start"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Where clips start in the card's output so far ([`clip_starts`]), read
    /// a piece at a time (a long run's output is hundreds of MB).
    fn clip_starts(&self) -> Vec<usize> {
        use std::io::Read;
        let mut file = std::fs::File::open(self.card.join("out.raw")).unwrap();
        let mut starts = Vec::new();
        let mut buf = vec![0u8; 8 << 16];
        let (mut at, mut silent) = (0, usize::MAX);
        loop {
            let n = file.read(&mut buf).unwrap();
            let whole = n - n % 8;
            if whole == 0 {
                return starts;
            }
            let frames: Vec<[f32; 2]> = buf[..whole]
                .chunks_exact(8)
                .map(|f| {
                    let s = |i: usize| f32::from_le_bytes(f[i..i + 4].try_into().unwrap());
                    [s(0), s(4)]
                })
                .collect();
            starts.extend(clip_starts_from(&frames, &mut silent).map(|i| at + i));
            at += frames.len();
        }
    }

    /// The card's output so far: stereo frames.
    fn output(&self) -> Vec<[f32; 2]> {
        std::fs::read(self.card.join("out.raw"))
            .unwrap_or_default()
            .chunks_exact(8)
            .map(|f| {
                let s = |i: usize| f32::from_le_bytes(f[i..i + 4].try_into().unwrap());
                [s(0), s(4)]
            })
            .collect()
    }
}

#[test]
fn a_box_that_cannot_play_says_why_stays_up_and_plays_when_the_device_comes() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let b = LoopBox::start(tmp.path(), "late", false);
    let (root, card) = (&b.root, &b.card);
    let host = |args: &[&str]| b.host(args);
    let said_by_box = || b.said();
    let show = tmp.path().join("Late");
    ok(Command::new(hostctl())
        .args(["session", "new"])
        .arg(&show)
        .arg("--media")
        .arg(show.join("media"))
        .output()
        .unwrap());
    wav(&tmp.path().join("one.wav"), 2, 5);
    ok(Command::new(hostctl())
        .args(["clip", "add"])
        .arg(&show)
        .arg(tmp.path().join("one.wav"))
        .args(["--page", "1", "--tab", "1", "--at", "1,1", "--group", "A"])
        .output()
        .unwrap());

    let push = host(&["push", show.to_str().unwrap(), "--to", "late"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&push.stdout),
        String::from_utf8_lossy(&push.stderr)
    );
    assert!(!push.status.success(), "{said}");
    assert!(
        said.contains("the box cannot play session Late: cannot open ALSA PCM \"later\""),
        "{said}"
    );
    let status: Value = serde_json::from_str(&ok(host(&["status", "late", "--json"]))).unwrap();
    let problem = status["problem"].as_str().unwrap();
    // The PCM's own words come with alsa-lib's error code.
    assert!(problem.contains("\"later\""), "{status}");
    assert!(
        problem.contains("(alsa-lib: _snd_pcm_cuebox_paced_open: cuebox_paced: outfile")
            && problem.contains("No such file or directory"),
        "{status}"
    );
    assert_eq!(status["device"], Value::Null);
    let go = host(&["go", "late", "c1"]);
    assert!(!go.status.success());
    assert!(
        String::from_utf8_lossy(&go.stderr).contains("the box plays no session: it cannot play"),
        "{}",
        String::from_utf8_lossy(&go.stderr)
    );

    // The device appears: within a retry the box plays, with no push.
    std::fs::create_dir(card).unwrap();
    let mut status = Value::Null;
    assert!(
        wait_for(15, || {
            std::thread::sleep(Duration::from_millis(200));
            status = serde_json::from_str(&ok(host(&["status", "late", "--json"]))).unwrap();
            status["device"]["pcm"] == "later"
        }),
        "{status}\n{}",
        said_by_box()
    );
    assert_eq!(status["problem"], Value::Null);
    assert_eq!(status["device"]["channels"], 2);
    ok(host(&["go", "late", "c1"]));
    assert!(
        wait_for(5, || std::fs::metadata(card.join("out.raw"))
            .is_ok_and(|m| m.len() > 48_000)),
        "the device plays"
    );
    // The problem was said once on stderr, not at every retry.
    let stderr = said_by_box();
    assert_eq!(
        stderr.matches("cueboxd: cannot play session Late").count(),
        1,
        "{stderr}"
    );
    // The play log over the API: the play, once its end is logged, from the
    // host's GO; annotated and reported, both recorded in the audit trail.
    let mut plays = Vec::new();
    assert!(
        wait_for(15, || {
            std::thread::sleep(Duration::from_millis(200));
            plays = ok(host(&["log", "late", "--json"]))
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect();
            plays.len() == 1 && plays[0]["ending"] == "ended"
        }),
        "{plays:?}"
    );
    assert_eq!(plays[0]["clip"], "c1");
    assert_eq!(plays[0]["input"], "api");
    assert!((plays[0]["heard_seconds"].as_f64().unwrap() - 2.0).abs() < 0.01);
    ok(host(&[
        "annotate", "late", "c1", "--usage", "feature", "--review", "verified",
    ]));
    let sheet_path = tmp.path().join("late.xml");
    let made: Value = serde_json::from_str(&ok(host(&[
        "cuesheet",
        "late",
        "--format",
        "xml",
        "--out",
        sheet_path.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let kept = root.join(made["kept_on_box"].as_str().unwrap());
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        std::fs::read(&sheet_path).unwrap(),
        "the box keeps what it sent"
    );
    let xml = std::fs::read_to_string(&sheet_path).unwrap();
    assert!(xml.contains("<usage>feature</usage>"), "{xml}");
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/cuesheet.xsd");
    ok(Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(&sheet_path)
        .output()
        .unwrap());
    let audit: Vec<Value> = ok(host(&["log", "late", "--audit", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["annotation"]["usage"], "feature");
    assert_eq!(audit[1]["export"]["file"], made["kept_on_box"]);
    let me: Value = serde_json::from_str(&ok(host(&["key", "--json"]))).unwrap();
    for entry in [&audit[0]["annotation"], &audit[1]["export"]] {
        assert!(
            entry["by"]
                .as_str()
                .unwrap()
                .starts_with(me["fingerprint"].as_str().unwrap()),
            "the host that did it is named by its key: {audit:?}"
        );
    }
    // The technical logs too: the playback history has the GO.
    let history = tmp.path().join("playback.csv");
    let said = ok(host(&[
        "techlog",
        "late",
        "playback",
        "--format",
        "csv",
        "--out",
        history.to_str().unwrap(),
    ]));
    assert!(said.contains("entries of the playback log"), "{said}");
    let csv = std::fs::read_to_string(&history).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains(",started,") && l.contains("c1")),
        "{csv}"
    );
    // A saved copy is the box's log, byte for byte.
    let saved = tmp.path().join("plays.log");
    ok(host(&["log", "late", "--save", saved.to_str().unwrap()]));
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        std::fs::read(root.join("Logs/plays/plays-a.log")).unwrap()
    );
}

/// The show sample a live edit's ramps start at, as hostctl says it.
fn ramped_from(out: &Output) -> usize {
    let said = String::from_utf8_lossy(&out.stderr);
    let at = said
        .split("ramped on what plays from show sample ")
        .nth(1)
        .unwrap_or_else(|| panic!("no ramp sample in: {said}"));
    at.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The largest step between neighbouring frames of channel `ch`.
fn worst_step(frames: &[[f32; 2]], ch: usize) -> f32 {
    frames
        .windows(2)
        .map(|w| (w[1][ch] - w[0][ch]).abs())
        .fold(0.0, f32::max)
}

#[test]
fn live_edits_glide_on_a_playing_box_at_their_sample_and_a_push_of_its_session_keeps_the_show_going(
) {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let b = LoopBox::start(tmp.path(), "stage", true);
    let host = |args: &[&str]| b.host(args);
    let show = tmp.path().join("Stage");
    let s = show.to_str().unwrap();
    ok(host(&[
        "session",
        "new",
        s,
        "--media",
        show.join("media").to_str().unwrap(),
    ]));
    let dc = tmp.path().join("dc.wav");
    write_wav(&dc, WavFormat::int16(2, 48_000), 48_000 * 60, |_, _| 0.25);
    ok(host(&[
        "clip",
        "add",
        s,
        dc.to_str().unwrap(),
        "--page",
        "1",
        "--tab",
        "1",
        "--at",
        "1,1",
        "--group",
        "A",
    ]));
    ok(host(&["push", s, "--to", "stage"]));
    let went: Value = serde_json::from_str(&ok(host(&["go", "stage", "c1", "--json"]))).unwrap();
    let go_at = went["at_sample"].as_u64().unwrap() as usize;
    // Where show sample 0 is in the card's output: the GO's first frame.
    let mut start = None;
    assert!(wait_for(10, || {
        start = b.output().iter().position(|f| f[0] != 0.0);
        start.is_some()
    }));
    let offset = start.unwrap() - go_at;
    std::thread::sleep(Duration::from_millis(300));
    let full = b.output()[start.unwrap() + 4_800][0];

    // A level edit: linear in gain over 50 ms (2,400 frames) from its sample, no step.
    let edit = host(&["clip", "set", "stage:c1", "--level", "-6"]);
    let level_at = ramped_from(&edit) + offset;
    assert!(wait_for(5, || b.output().len() > level_at + 9_600));
    let out = b.output();
    let six = full * 10f32.powf(-6.0 / 20.0);
    assert_eq!(out[level_at - 1][0], full, "untouched before its sample");
    assert!(out[level_at][0] < full, "ramping from its sample");
    assert!(
        (out[level_at + 2_399][0] - six).abs() < 1e-6,
        "at -6 dB after 50 ms"
    );
    let slope = (full - six) / 2_400.0;
    assert!(worst_step(&out[level_at - 10..level_at + 3_000], 0) <= slope + 1e-6);

    // A balance edit: the left side glides out, no step.
    let edit = host(&["clip", "set", "stage:c1", "--balance", "1"]);
    let pan_at = ramped_from(&edit) + offset;
    assert!(wait_for(5, || b.output().len() > pan_at + 9_600));
    let out = b.output();
    assert!((out[pan_at - 1][0] - six).abs() < 1e-6);
    assert!(out[pan_at + 2_400][0].abs() < 1e-6, "left gone after 50 ms");
    assert!(worst_step(&out[pan_at - 10..pan_at + 3_000], 0) <= 2.0 * six / 2_400.0);

    // What would cut the playing clip, and anything while locked, is refused.
    let remove = host(&["clip", "remove", "stage:", "c1"]);
    assert!(!remove.status.success());
    let said = String::from_utf8_lossy(&remove.stderr);
    assert!(
        said.contains("it removes clip c1, which is playing"),
        "{said}"
    );
    ok(host(&["lock", "stage"]));
    let locked = host(&["clip", "set", "stage:c1", "--level", "-3"]);
    assert!(!locked.status.success());
    assert!(String::from_utf8_lossy(&locked.stderr).contains("locked"));
    ok(host(&["unlock", "stage"]));

    // The box saved them: the host sees them, and pull brings them home.
    let diff = host(&["diff", s, "stage"]);
    assert!(!diff.status.success(), "the box's copy differs now");
    let said = String::from_utf8_lossy(&diff.stdout);
    assert!(
        said.contains("level_db") && said.contains("balance"),
        "{said}"
    );
    let home = tmp.path().join("Pulled");
    ok(host(&["pull", "stage", "--out", home.to_str().unwrap()]));
    let pulled: Value =
        serde_json::from_slice(&std::fs::read(home.join("session.json")).unwrap()).unwrap();
    assert_eq!(pulled["clips"][0]["processing"]["level_db"], -6.0);

    // A push of the playing session takes effect where it plays: the clip
    // plays on, the show clock goes on, the playhead stays past c1.
    let before: Value = serde_json::from_str(&ok(host(&["status", "stage", "--json"]))).unwrap();
    ok(host(&["clip", "set", s, "c1", "--level", "-12"]));
    ok(host(&["push", s, "--to", "stage"]));
    let after: Value = serde_json::from_str(&ok(host(&["status", "stage", "--json"]))).unwrap();
    assert!(
        after["show_seconds"].as_f64() > before["show_seconds"].as_f64(),
        "{before}\n{after}"
    );
    assert_eq!(after["playing"][0]["clip"], "c1", "{after}");
    let bare = host(&["go", "stage"]);
    assert!(!bare.status.success());
    assert!(String::from_utf8_lossy(&bare.stderr).contains("past the last cue"));
    let twelve = full * 10f32.powf(-12.0 / 20.0);
    let n = b.output().len();
    assert!(wait_for(5, || b.output().len() > n + 9_600));
    let last = *b.output().last().unwrap();
    assert!(
        (last[0] - twelve).abs() < 1e-6,
        "centred again at -12 dB: {last:?}"
    );

    // A push that removes the playing clip lets it play out: the rest of
    // the push applies at once, and the clip can still be stopped.
    let other = tmp.path().join("other.wav");
    write_wav(&other, WavFormat::int16(2, 48_000), 48_000 * 60, |_, _| {
        0.125
    });
    ok(host(&[
        "clip",
        "add",
        s,
        other.to_str().unwrap(),
        "--page",
        "1",
        "--tab",
        "1",
        "--at",
        "1,2",
        "--group",
        "A",
    ]));
    ok(host(&["clip", "remove", s, "c1"]));
    ok(host(&["push", s, "--to", "stage"]));
    let n = b.output().len();
    assert!(wait_for(5, || b.output().len() > n + 9_600));
    let last = *b.output().last().unwrap();
    assert!((last[0] - twelve).abs() < 1e-6, "c1 plays on: {last:?}");
    ok(host(&["stop", "stage", "c1"]));
    ok(host(&["go", "stage", "c2"]));

    // The box's device map: not while a clip plays (the device reopens);
    // then saved, and the session plays with it (the pair swapped here).
    let swap = [
        "device-map",
        "set",
        "stage",
        "--pcm",
        "later",
        "--output",
        "1=2",
        "--output",
        "2=1",
    ];
    let busy = host(&swap);
    assert!(!busy.status.success());
    assert!(String::from_utf8_lossy(&busy.stderr).contains("reopens the device"));
    ok(host(&["stop-all", "stage"]));
    assert!(wait_for(5, || {
        let s: Value = serde_json::from_str(&ok(host(&["status", "stage", "--json"]))).unwrap();
        s["playing"].as_array().is_some_and(Vec::is_empty)
    }));
    assert!(ok(host(&swap)).contains("the session plays with it now"));
    let map: Value =
        serde_json::from_str(&ok(host(&["device-map", "show", "stage", "--json"]))).unwrap();
    assert_eq!(map["device_map"]["outputs"][0]["physical"], 2, "{map}");
    ok(host(&["go", "stage", "c2"]));
    ok(host(&["clip", "set", "stage:c2", "--balance", "1"]));
    let n = b.output().len();
    assert!(wait_for(5, || b.output().len() > n + 24_000));
    let last = *b.output().last().unwrap();
    assert!(
        (last[0] - 0.125).abs() < 1e-4 && last[1].abs() < 1e-6,
        "the right side plays on the left output: {last:?}"
    );
}

/// Packages through a box's API: a session of the box exported (kept in
/// its Exports/<date>/, downloaded byte-exact) and imported on a fresh
/// host folder as the same show; a tab package merged into the playing
/// show live (the clip plays on), a merge that would replace the playing
/// clip refused with nothing written, a full import refused while clips
/// play and activated once they stop; a media move on a box refused with
/// what to do instead.
#[test]
fn packages_export_from_and_import_into_a_playing_box() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let b = LoopBox::start(tmp.path(), "tour", true);
    let host = |args: &[&str]| b.host(args);
    let show = tmp.path().join("Tour");
    let s = show.to_str().unwrap();
    ok(host(&[
        "session",
        "new",
        s,
        "--media",
        show.join("media").to_str().unwrap(),
    ]));
    let dc = tmp.path().join("dc.wav");
    write_wav(&dc, WavFormat::int16(2, 48_000), 48_000 * 60, |_, _| 0.25);
    ok(host(&[
        "clip",
        "add",
        s,
        dc.to_str().unwrap(),
        "--page",
        "1",
        "--tab",
        "1",
        "--at",
        "1,1",
        "--group",
        "A",
    ]));
    ok(host(&["push", s, "--to", "tour"]));
    // The box's interface: two outputs (read when a session next starts).
    let device_map = |routes: &str| {
        std::fs::write(
            b.root.join("device-map.json"),
            format!(r#"{{"format_version":"1.0","playback_pcm":"later","outputs":[{routes}]}}"#),
        )
        .unwrap()
    };
    device_map(r#"{"logical":1,"physical":1},{"logical":2,"physical":2}"#);

    // Export on the box: kept there, downloaded whole, with the box's map.
    let full = tmp.path().join("tour-full.tar");
    let exported: Value = serde_json::from_str(&ok(host(&[
        "package",
        "export",
        "tour:",
        "-o",
        full.to_str().unwrap(),
        "--json",
    ])))
    .unwrap();
    let kept = b.root.join(exported["box_file"].as_str().unwrap());
    assert!(
        exported["box_file"]
            .as_str()
            .unwrap()
            .starts_with("Exports/"),
        "{exported}"
    );
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&full).unwrap());
    assert_eq!(
        exported["manifest"]["device_map"]["outputs"][1]["physical"], 2,
        "{exported}"
    );
    let home = tmp.path().join("Home");
    ok(host(&[
        "package",
        "import",
        full.to_str().unwrap(),
        home.to_str().unwrap(),
    ]));
    ok(host(&[
        "session",
        "validate",
        home.to_str().unwrap(),
        "--hashes",
    ]));
    let clips = |dir: &Path| -> Value {
        let v: Value =
            serde_json::from_slice(&std::fs::read(dir.join("session.json")).unwrap()).unwrap();
        v["clips"].clone()
    };
    assert_eq!(clips(&home), clips(&show));

    // A tab package of another show, with a file the box does not have.
    let extra = tmp.path().join("Extra");
    let e = extra.to_str().unwrap();
    ok(host(&[
        "session",
        "new",
        e,
        "--media",
        extra.join("media").to_str().unwrap(),
    ]));
    let thunder = tmp.path().join("thunder.wav");
    wav(&thunder, 2, 7);
    ok(host(&[
        "clip",
        "add",
        e,
        thunder.to_str().unwrap(),
        "--page",
        "1",
        "--tab",
        "1",
        "--at",
        "1,1",
        "--group",
        "B",
    ]));
    let tab = tmp.path().join("extra-tab.tar");
    ok(host(&[
        "package",
        "export",
        e,
        "--mode",
        "tab",
        "1.1",
        "-o",
        tab.to_str().unwrap(),
    ]));
    let tab = tab.to_str().unwrap();

    ok(host(&["go", "tour", "c1"]));
    let box_media = b.root.join("Sessions/Tour/media");
    let media_now = || {
        let mut names: Vec<String> = std::fs::read_dir(&box_media)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = media_now();
    // Replacing the playing clip is refused; nothing is written.
    let replace = host(&["package", "import", tab, "tour:", "--policy", "replace"]);
    assert!(!replace.status.success());
    let said = String::from_utf8_lossy(&replace.stderr);
    assert!(
        said.contains("c1") && said.contains("playing") && said.contains("nothing was imported"),
        "{said}"
    );
    assert_eq!(media_now(), before, "no media placed");
    // A dry run of a rename says what it would add and changes nothing;
    // it may look while the show is locked, the import itself may not.
    ok(host(&["lock", "tour"]));
    let dry: Value = serde_json::from_str(&ok(host(&[
        "package",
        "import",
        tab,
        "tour:",
        "--policy",
        "rename",
        "--dry-run",
        "--json",
    ])))
    .unwrap();
    let locked = host(&["package", "import", tab, "tour:", "--policy", "rename"]);
    assert!(!locked.status.success());
    assert!(String::from_utf8_lossy(&locked.stderr).contains("locked"));
    ok(host(&["unlock", "tour"]));
    assert_eq!(dry["report"]["added"].as_array().unwrap().len(), 1, "{dry}");
    assert!(
        dry["report"]["conflicts"][0]
            .as_str()
            .unwrap()
            .contains("taken by c1"),
        "{dry}"
    );
    assert_eq!(media_now(), before);
    // The rename merges into the playing show: c1 plays on.
    let merged: Value = serde_json::from_str(&ok(host(&[
        "package", "import", tab, "tour:", "--policy", "rename", "--json",
    ])))
    .unwrap();
    assert!(
        merged["revised"]["generation"].as_u64().is_some(),
        "{merged}"
    );
    assert_eq!(merged["revised"]["restarted"], false, "{merged}");
    let status: Value = serde_json::from_str(&ok(host(&["status", "tour", "--json"]))).unwrap();
    assert_eq!(status["playing"][0]["clip"], "c1", "{status}");
    assert!(
        media_now().contains(&"thunder.wav".to_owned()),
        "{:?}",
        media_now()
    );
    let live: Value =
        serde_json::from_slice(&std::fs::read(b.root.join("Sessions/Tour/session.json")).unwrap())
            .unwrap();
    assert_eq!(
        live["clips"].as_array().unwrap().len(),
        2,
        "saved on the box"
    );
    ok(host(&[
        "go",
        "tour",
        live["clips"][1]["id"].as_str().unwrap(),
    ]));

    // A full package replaces what plays: not under playing clips.
    let full_in = host(&[
        "package",
        "import",
        full.to_str().unwrap(),
        "tour:",
        "--session",
        "Copy",
    ]);
    assert!(!full_in.status.success());
    assert!(!b.root.join("Sessions/Copy").exists());
    ok(host(&["stop-all", "tour"]));
    // Onto another interface: its two outputs wired the other way round.
    device_map(r#"{"logical":1,"physical":2},{"logical":2,"physical":1}"#);
    let copied: Value = serde_json::from_str(&ok(host(&[
        "package",
        "import",
        full.to_str().unwrap(),
        "tour:",
        "--session",
        "Copy",
        "--json",
    ])))
    .unwrap();
    assert_eq!(copied["activated"]["session"], "Copy", "{copied}");
    assert_eq!(copied["activated"]["playing"], true, "{copied}");
    let lines: Vec<&str> = copied["device_map"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    for line in [
        "group A: logical 1 played on output 1 of the exporting box, on output 2 here",
        "group B: logical 3 folded onto 1 (this box maps logical 1–2)",
        "group D: logical 8 folded onto 2 (this box maps logical 1–2)",
    ] {
        assert!(lines.contains(&line), "{line:?} in {lines:#?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("audition:") && l.contains("plays nowhere")),
        "{lines:#?}"
    );
    let stored: Value =
        serde_json::from_slice(&std::fs::read(b.root.join("Sessions/Copy/session.json")).unwrap())
            .unwrap();
    assert_eq!(
        stored["busses"]["groups"]["C"]["outputs"],
        serde_json::json!([1, 2]),
        "{stored}"
    );
    assert_eq!(
        std::fs::read(b.root.join("Sessions/Copy/media/dc.wav")).unwrap(),
        std::fs::read(show.join("media/dc.wav")).unwrap()
    );

    let moved = host(&["media", "move", "tour:", "--to", "/tmp/x", "--mode", "keep"]);
    assert!(!moved.status.success());
    assert!(String::from_utf8_lossy(&moved.stderr).contains("push the session"));
}

/// Where clips start in a card's output: each frame that sounds after at
/// least 0.1 s of silence (or at the start).
fn clip_starts(frames: &[[f32; 2]]) -> Vec<usize> {
    let mut silent = usize::MAX;
    clip_starts_from(frames, &mut silent).collect()
}

/// [`clip_starts`] of a piece of output after `silent` silent frames
/// (updated for the next piece).
fn clip_starts_from<'a>(
    frames: &'a [[f32; 2]],
    silent: &'a mut usize,
) -> impl Iterator<Item = usize> + 'a {
    frames.iter().enumerate().filter_map(move |(i, f)| {
        if *f == [0.0, 0.0] {
            *silent = silent.saturating_add(1);
            return None;
        }
        let start = *silent >= 4_800;
        *silent = 0;
        start.then_some(i)
    })
}

/// The fingerprints of a pair's two units (`main`, `backup` under `t`),
/// each letting the other's key in with the `control` role, as
/// docs/pair.md sets a pair up: either may be main.
struct PairKeys {
    main: String,
    backup: String,
}

impl PairKeys {
    fn exchange(t: &Path) -> PairKeys {
        let key = |name: &str| -> Value {
            serde_json::from_str(&LoopBox::cueboxd_cmd(t, name, &["key", "--json"])).unwrap()
        };
        let (main, backup) = (key("main"), key("backup"));
        for (name, other) in [("main", &backup), ("backup", &main)] {
            let other = other["key"].as_str().unwrap();
            LoopBox::cueboxd_cmd(t, name, &["auth", "add", other, "--role", "control"]);
        }
        let fingerprint = |k: &Value| k["fingerprint"].as_str().unwrap().to_owned();
        PairKeys {
            main: fingerprint(&main),
            backup: fingerprint(&backup),
        }
    }
}

/// A main/backup pair on loopback, each unit on its own paced card, the
/// main's host knowing both (docs/pair.md).
struct PairOnLoopback {
    main: LoopBox,
    backup: LoopBox,
    backup_addr: String,
    /// The backup's pair arguments, to start it again.
    backup_args: Vec<String>,
}

impl PairOnLoopback {
    /// Starts the backup, then the main with `main_extra` too.
    fn start(t: &Path, main_extra: &[&str]) -> PairOnLoopback {
        let (main_addr, backup_addr) = (free_address(), free_address());
        let keys = PairKeys::exchange(t);
        let backup_args: Vec<String> = ["--pair", "backup", "--peer", &main_addr]
            .into_iter()
            .map(String::from)
            .chain(["--peer-fingerprint".into(), keys.main.clone()])
            .collect();
        let args: Vec<&str> = backup_args.iter().map(String::as_str).collect();
        let backup = LoopBox::start_with(t, "backup", true, &backup_addr, &args);
        let main_args = [
            "--pair",
            "main",
            "--peer",
            &backup_addr,
            "--peer-fingerprint",
            &keys.backup,
        ];
        let main = LoopBox::start_with(
            t,
            "main",
            true,
            &main_addr,
            &[&main_args[..], main_extra].concat(),
        );
        ok(main.host(&[
            "pair",
            &backup_addr,
            "--name",
            "backup",
            "--fingerprint",
            &keys.backup,
        ]));
        let host_key = ok(main.host(&["key"]));
        LoopBox::cueboxd_cmd(
            t,
            "backup",
            &["auth", "add", host_key.trim(), "--role", "edit"],
        );
        PairOnLoopback {
            main,
            backup,
            backup_addr,
            backup_args,
        }
    }
}

/// A new session `t/name`, through `b`'s host, with a clip of each file
/// at its place on page 1, tab 1, group A.
fn session_of(b: &LoopBox, t: &Path, name: &str, clips: &[(&Path, &str)]) -> PathBuf {
    let show = t.join(name);
    let s = show.to_str().unwrap();
    let media = show.join("media");
    ok(b.host(&["session", "new", s, "--media", media.to_str().unwrap()]));
    for (file, at) in clips {
        let file = file.to_str().unwrap();
        ok(b.host(&[
            "clip", "add", s, file, "--page", "1", "--tab", "1", "--at", at, "--group", "A",
        ]));
    }
    show
}

/// The CLOCK_MONOTONIC instant (ns) `b`'s card played its output frame
/// `frame` (the card's clock runs `ppm` fast).
fn instant(b: &LoopBox, frame: usize) -> f64 {
    b.started_ns() + frame as f64 * 1e9 / (48_000.0 * (1.0 + b.ppm * 1e-6))
}

/// The backup plays what the main plays now, sample for sample: a quarter
/// second of the main's latest output (which must not be silent) is found
/// in the backup's at the same instant, within `reach` samples; the shift.
fn same_audio_now(main: &LoopBox, backup: &LoopBox, reach: i64) -> Option<i64> {
    let m = main.output();
    let i0 = m.len() - 24_000;
    assert!(
        m[i0..i0 + 4_800].iter().any(|f| *f != [0.0, 0.0]),
        "the main plays"
    );
    let at = ((instant(main, i0) - backup.started_ns()) * 48_000.0 / 1e9).round() as i64;
    let n = 12_000;
    let end = at + n as i64 + reach;
    assert!(wait_for(5, || backup.output().len() as i64 > end));
    let bk = backup.output();
    (-reach..=reach).find(|d| {
        let j = (at + d) as usize;
        m[i0..i0 + n] == bk[j..j + n]
    })
}

/// A main/backup pair on loopback, each unit on its own paced card
/// (docs/pair.md): a GO on the main through the API, and one over OSC,
/// play on both at the same instant (the cards' outputs placed on CLOCK_MONOTONIC by their
/// start times) and sample for sample the same; a GO sent to the backup
/// is refused while the main lives; killing the backup leaves the main
/// playing, taking GOs, without an xrun.
#[test]
fn a_pair_plays_the_mains_go_on_both_units_at_one_instant_and_the_backup_refuses_its_own() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // OSC on the main, on loopback (control for anyone there), replies to `osc`.
    let osc = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let osc_port = free_address().rsplit_once(':').unwrap().1.to_owned();
    let showctl = t.join("showctl.json");
    std::fs::write(
        &showctl,
        serde_json::json!({"osc": {"bind": "127.0.0.1", "port": osc_port.parse::<u16>().unwrap(),
                                   "reply_port": osc.local_addr().unwrap().port()}})
        .to_string(),
    )
    .unwrap();
    let PairOnLoopback {
        main,
        backup,
        backup_addr,
        backup_args,
    } = PairOnLoopback::start(t, &["--showctl", showctl.to_str().unwrap()]);
    let backup_args: Vec<&str> = backup_args.iter().map(String::as_str).collect();
    let tone = t.join("tone.wav");
    wav(&tone, 1, 7);
    let long = t.join("long.wav");
    wav(&long, 10, 3);
    let show = session_of(
        &main,
        t,
        "Tour",
        &[(&tone, "1,1"), (&tone, "1,2"), (&long, "1,3")],
    );
    let s = show.to_str().unwrap();
    // One host (the main's) pushes to both units and activates them
    // together: their sessions start (their cards open) at one instant.
    let pushed: Value = serde_json::from_str(&ok(main.host(&[
        "push",
        s,
        "--to",
        "main,backup",
        "--together",
        "--json",
    ])))
    .unwrap();
    assert!(pushed["together_at"].is_number(), "{pushed}");
    assert!(wait_for(10, || backup.card.join("start").exists()
        && main.card.join("start").exists()));
    let apart_ms = (main.started_ns() - backup.started_ns()).abs() / 1e6;
    eprintln!("pair: push --together started the two units' sessions {apart_ms:.1} ms apart");
    assert!(apart_ms < 100.0, "activated together: {apart_ms} ms apart");
    let pair = |b: &LoopBox, name: &str| -> Value {
        let status: Value = serde_json::from_str(&ok(b.host(&["status", name, "--json"]))).unwrap();
        status["pair"].clone()
    };
    assert!(
        wait_for(10, || {
            let p = pair(&main, "main");
            p["healthy"] == true && p["link"]["offset_samples"].is_number()
        }),
        "the main measures the offset: {}",
        pair(&main, "main")
    );
    // Time for both cards' DLLs to settle (their position is what the
    // offset is read from), and for many beats.
    let show_seconds = |b: &LoopBox, name: &str| -> f64 {
        let status: Value = serde_json::from_str(&ok(b.host(&["status", name, "--json"]))).unwrap();
        status["show_seconds"].as_f64().unwrap()
    };
    assert!(wait_for(20, || show_seconds(&main, "main") > 4.0
        && show_seconds(&backup, "backup") > 4.0));

    // A GO through the API, then (once that clip ended) a bare GO over OSC.
    let went: Value =
        serde_json::from_str(&ok(main.host(&["go", "main", "c1", "--json"]))).unwrap();
    assert!(went["at_sample"].is_u64(), "{went}");
    let starts = |b: &LoopBox| clip_starts(&b.output());
    assert!(wait_for(10, || !starts(&main).is_empty()
        && !starts(&backup).is_empty()));
    let first = starts(&main)[0];
    assert!(wait_for(10, || main.output().len() > first + 72_000));
    // A GO taken over UDP is not answered; a refused one would be.
    osc.send_to(b"/go\0,\0\0\0", format!("127.0.0.1:{osc_port}"))
        .unwrap();
    assert!(wait_for(10, || starts(&main).len() == 2
        && starts(&backup).len() == 2));
    let (sm, sb) = (starts(&main), starts(&backup));
    let p = pair(&main, "main");
    let error_us = p["link"]["offset_error_us"].as_f64().unwrap();
    for (input, (fm, fb)) in ["api", "osc"].into_iter().zip(sm.into_iter().zip(sb)) {
        let apart_samples = (instant(&backup, fb) - instant(&main, fm)) * 48_000.0 / 1e9;
        eprintln!(
            "pair: the {input} GO played {apart_samples:+.2} samples apart (offset {} ± \
             {error_us:.0} µs, worst round trip {} µs; main {p}; backup {}; xruns {} {})",
            p["link"]["offset_samples"],
            p["link"]["worst_rtt_us"],
            pair(&backup, "backup"),
            xruns(&main, "main"),
            xruns(&backup, "backup"),
        );
        // Within the error the exchange states, and one sample of rounding —
        // unless a unit took the command after its sample had gone (the
        // machine stalled a thread past the pre-roll), which both report.
        let late =
            p["main_late"].as_u64().unwrap() + pair(&backup, "backup")["late"].as_u64().unwrap();
        if late > 0 {
            eprintln!("pair: {late} late under load; not aligned, and said so");
            continue;
        }
        assert!(
            apart_samples.abs() <= error_us * 48_000.0 / 1e6 + 1.0,
            "{input}: {apart_samples} samples apart, stated error {error_us} µs"
        );
        let n = 24_000;
        assert!(wait_for(5, || main.output().len() > fm + n
            && backup.output().len() > fb + n));
        assert!(
            main.output()[fm..fm + n] == backup.output()[fb..fb + n],
            "{input}: the same audio, sample for sample"
        );
    }
    let p = pair(&main, "main");
    let b = pair(&backup, "backup");
    assert_eq!(b["role"], "backup");
    assert_eq!(b["healthy"], true);
    assert_eq!(b["divergences"], 0, "the same voices on both: {b}");
    assert_eq!(
        b["applied"].as_u64().unwrap() + b["late"].as_u64().unwrap(),
        2,
        "{b}"
    );
    assert_eq!(
        p["applied"].as_u64().unwrap() + p["late"].as_u64().unwrap(),
        2,
        "{p}"
    );

    // The backup's own inputs are refused while the main lives.
    let direct = backup.host(&["go", "backup", "c2"]);
    assert!(!direct.status.success());
    let said = String::from_utf8_lossy(&direct.stderr);
    assert!(said.contains("the backup of a pair and its main"), "{said}");

    // The lock, a live edit and a page turn on the main reach the backup:
    // it plays the same show (its digest matches the main's), and every
    // comparison still matches.
    let locked = |b: &LoopBox, name: &str| -> Value {
        serde_json::from_str::<Value>(&ok(b.host(&["status", name, "--json"]))).unwrap()["locked"]
            .clone()
    };
    ok(main.host(&["lock", "main"]));
    assert!(wait_for(5, || locked(&backup, "backup") == true));
    ok(main.host(&["unlock", "main"]));
    assert!(wait_for(5, || locked(&backup, "backup") == false));
    ok(main.host(&["clip", "set", "main:c2", "--level", "-6"]));
    ok(main.host(&["page", "main", "1"]));
    assert!(
        wait_for(5, || pair(&main, "main")["forwarded"].as_u64() >= Some(4)),
        "{}",
        pair(&main, "main")
    );
    std::thread::sleep(Duration::from_millis(2_500));
    let b = pair(&backup, "backup");
    assert!(
        b["diverged"].is_null(),
        "the same show and state on both: {b}"
    );
    assert_eq!(b["divergences"], 0, "{b}");
    assert_eq!(b["digest"], pair(&main, "main")["digest"], "{b}");
    // A push of the playing session to both, together: each takes it where
    // it plays, at the show sample its card plays at the one instant.
    ok(main.host(&["clip", "set", s, "c1", "--level", "-3"]));
    ok(main.host(&["push", s, "--to", "main,backup", "--together"]));
    std::thread::sleep(Duration::from_millis(2_500));
    let b = pair(&backup, "backup");
    assert!(b["diverged"].is_null(), "the same show on both again: {b}");
    assert_eq!(b["digest"], pair(&main, "main")["digest"], "{b}");

    // Killing the backup leaves the main playing and taking GOs, with no
    // xrun it did not have before.
    let before = xruns(&main, "main");
    drop(backup);
    let went = main.host(&["go", "main", "c3", "--json"]);
    ok(went);
    assert!(wait_for(5, || pair(&main, "main")["healthy"] == false));
    let status: Value =
        serde_json::from_str(&ok(main.host(&["status", "main", "--json"]))).unwrap();
    assert_eq!(status["xruns"], before, "{status}");
    let playing = status["playing"].as_array().unwrap();
    assert!(playing.iter().any(|v| v["clip"] == "c3"), "{status}");
    assert!(
        wait_for(5, || pair(&main, "main")["lost"].as_u64() >= Some(1)),
        "the GO did not reach the backup: {}",
        pair(&main, "main")
    );

    // The backup comes back and the main reaches it again; what the backup
    // missed meanwhile (c3 plays on the main only) is a divergence within
    // two comparisons (a second each). Then the main dies, and a second
    // later the backup takes its own inputs.
    let backup = LoopBox::start_with(t, "backup", false, &backup_addr, &backup_args);
    assert!(wait_for(20, || pair(&main, "main")["healthy"] == true));
    let back = Instant::now();
    assert!(
        wait_for(5, || backup
            .events()
            .contains("DIVERGED from the main: c3 plays on the main")),
        "{}",
        backup.events()
    );
    eprintln!(
        "pair: the missed GO found {:?} after the link came back",
        back.elapsed()
    );
    let b = pair(&backup, "backup");
    assert_eq!(b["divergences"], 1, "{b}");
    // Repaired: the backup joins c3 where the main's has got to, at a
    // sample it schedules, and from there plays what the main plays,
    // sample for sample.
    assert!(
        wait_for(5, || backup.events().contains("pair: repaired at sample")),
        "{}",
        backup.events()
    );
    assert!(
        wait_for(5, || pair(&backup, "backup")["diverged"].is_null()),
        "the next comparison matches: {}",
        pair(&backup, "backup")
    );
    let b = pair(&backup, "backup");
    assert_eq!(b["repairs"], 1, "{b}");
    assert_eq!(b["divergences"], 1, "{b}");
    assert!(b["matched_ms"].as_u64().unwrap() < 2_000, "{b}");
    assert_eq!(
        b["digest"],
        pair(&main, "main")["digest"],
        "both show the main's digest"
    );
    // Within the stated error of the offset, as for the GOs above.
    let error = pair(&main, "main")["link"]["offset_error_us"]
        .as_f64()
        .unwrap();
    let shift = same_audio_now(&main, &backup, (error * 48_000.0 / 1e6).ceil() as i64 + 2);
    eprintln!("pair: after the repair the backup plays the main's c3 {shift:?} samples from the same instant (stated error {error:.0} µs)");
    assert!(
        shift.is_some(),
        "after the repair the backup plays what the main plays, sample for sample"
    );
    assert!(!backup.host(&["go", "backup", "c1"]).status.success());
    drop(main);
    let killed = Instant::now();
    assert!(wait_for(10, || backup
        .host(&["go", "backup", "c1"])
        .status
        .success()));
    eprintln!(
        "pair: the backup took its own GO {:?} after the main died",
        killed.elapsed()
    );
    assert_eq!(pair(&backup, "backup")["healthy"], false);
    // It said so: its main silent, then promoted (docs/pair.md, "Takeover").
    assert!(
        wait_for(5, || backup.events().contains(
            "now MAIN (configured backup): promoted: the main fell silent"
        )),
        "{}",
        backup.events()
    );
    assert!(
        backup.events().contains("up: the main is alive"),
        "{}",
        backup.events()
    );
}

/// A timecode cue on a pair's main (LTC on its capture input) plays on
/// both units at one instant: the main sends it to the backup, which
/// leaves its own timecode cues to a living main.
#[test]
fn a_timecode_cue_on_the_main_plays_on_both_units_and_a_dropped_go_is_found_and_repaired() {
    use cuebox_engine::timecode::{ltc::Encoder, FrameRate};
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    // The main's second command is dropped on purpose (a fault injected):
    // the backup must find that it diverged, and repair it.
    let capture = [
        "--capture",
        "later_in",
        "--capture-channels",
        "2",
        "--pair-drop",
        "2",
    ];
    // Ten seconds of LTC from 10:00:00:00 on the main's capture channel 1,
    // there before its card opens.
    let mut encoder = Encoder::new(
        48_000,
        FrameRate::Fps25,
        "10:00:00:00".parse().unwrap(),
        -12.0,
    );
    let mut ltc = Vec::new();
    for _ in 0..10 * 25 {
        encoder.encode_frame(&mut ltc);
    }
    let raw: Vec<u8> = ltc
        .iter()
        .flat_map(|&x| [x, 0.0])
        .flat_map(f32::to_le_bytes)
        .collect();
    std::fs::write(t.join("main-card-in.raw"), raw).unwrap();
    let PairOnLoopback { main, backup, .. } = PairOnLoopback::start(t, &capture);
    let tone = t.join("tone.wav");
    wav(&tone, 2, 7);
    let long = t.join("long.wav");
    wav(&long, 8, 3);
    let show = session_of(&main, t, "Cued", &[(&tone, "1,1"), (&long, "1,2")]);
    let s = show.to_str().unwrap();
    ok(main.host(&["clip", "set", s, "c1", "--trigger", "10:00:06:00"]));
    ok(main.host(&["bus", s, "ltc", "--enabled", "on", "--input", "1"]));
    ok(main.host(&[
        "timing",
        s,
        "--priority",
        "ltc,system",
        "--frame-rate",
        "25",
    ]));
    ok(main.host(&["push", s, "--to", "main,backup", "--together"]));
    assert!(
        wait_for(20, || main.events().contains("timecode 10:00:06:00")),
        "the cue fires on the main: {}",
        main.events()
    );
    let starts = |b: &LoopBox| clip_starts(&b.output());
    assert!(wait_for(10, || !starts(&main).is_empty()
        && !starts(&backup).is_empty()));
    let (fm, fb) = (starts(&main)[0], starts(&backup)[0]);
    let apart = (instant(&backup, fb) - instant(&main, fm)) * 48_000.0 / 1e9;
    let status: Value =
        serde_json::from_str(&ok(main.host(&["status", "main", "--json"]))).unwrap();
    let p = &status["pair"];
    let error_us = p["link"]["offset_error_us"].as_f64().unwrap();
    eprintln!("pair: the timecode cue played {apart:+.2} samples apart (stated error {error_us:.0} µs; main {p})");
    let late = p["main_late"].as_u64().unwrap() + p["late"].as_u64().unwrap();
    if late == 0 {
        assert!(
            apart.abs() <= error_us * 48_000.0 / 1e6 + 1.0,
            "{apart} samples apart"
        );
        let n = 24_000;
        assert!(wait_for(5, || main.output().len() > fm + n
            && backup.output().len() > fb + n));
        assert!(
            main.output()[fm..fm + n] == backup.output()[fb..fb + n],
            "the same audio"
        );
    }
    assert_eq!(
        p["applied"].as_u64().unwrap() + p["late"].as_u64().unwrap(),
        1,
        "{p}"
    );
    // The backup played it because the main sent it, not from a cue of its
    // own (the line a cue prints: `timecode 10:00:06:00: c1 at …`).
    assert!(
        main.events().contains("timecode 10:00:06:00: c1"),
        "{}",
        main.events()
    );
    let events = backup.events();
    assert!(!events.contains("timecode 10:00:06:00"), "{events}");
    // The GO the main does not send: found by the backup's next comparison,
    // within a digest period (a second) and the snapshot's tenth of a
    // second, then repaired: from there both play c2 sample for sample.
    let went = Instant::now();
    ok(main.host(&["go", "main", "c2"]));
    // The first difference seen may be the playhead the GO moved on the
    // main (c2 starts after the pre-roll, maybe after the compared
    // instant); c2 itself follows in the next comparison.
    assert!(
        wait_for(5, || backup.events().contains("DIVERGED from the main")),
        "{}",
        backup.events()
    );
    let found = went.elapsed();
    eprintln!("pair: the dropped GO was found {found:?} after it was sent");
    assert!(
        found < Duration::from_millis(1_500),
        "found {found:?} after the GO"
    );
    assert!(
        wait_for(5, || backup.events().lines().any(|l| l
            .contains("pair: repaired at sample")
            && l.contains("c2 plays on the main"))),
        "{}",
        backup.events()
    );
    let b = || -> Value {
        serde_json::from_str::<Value>(&ok(backup.host(&["status", "backup", "--json"]))).unwrap()
            ["pair"]
            .clone()
    };
    assert!(wait_for(5, || b()["diverged"].is_null()), "{}", b());
    assert_eq!(b()["divergences"], 1, "{}", b());
    std::thread::sleep(Duration::from_millis(600));
    let shift = same_audio_now(
        &main,
        &backup,
        (error_us * 48_000.0 / 1e6).ceil() as i64 + 2,
    );
    eprintln!("pair: after the repair the backup plays c2 {shift:?} samples from the main");
    assert!(shift.is_some(), "after the repair, the same audio");
}

/// A show network for a pair (scripts/lib/pair-netns.sh): the main's,
/// the backup's and the host's namespaces on a bridge, removed when
/// dropped.
struct PairNet {
    tag: String,
    /// `10.78.N`: the main is .1, the backup .2, the host .3, the control
    /// address .10.
    net: String,
}

impl PairNet {
    fn up(tag: &str) -> PairNet {
        let pair_netns = |action: &str| {
            Command::new(script("pair-netns.sh"))
                .args([action, tag])
                .output()
                .unwrap()
        };
        pair_netns("down");
        let n = ok(pair_netns("up"));
        PairNet {
            tag: tag.to_owned(),
            net: format!("10.78.{}", n.trim()),
        }
    }

    fn ns(&self, side: &str) -> String {
        format!("{}-{side}", self.tag)
    }

    fn ip(&self, host: u8) -> String {
        format!("{}.{host}", self.net)
    }

    fn vip(&self) -> String {
        self.ip(10)
    }

    /// Whether the namespace of `side` holds the control address.
    fn holds_vip(&self, side: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns(side), "-4", "-o", "addr", "show"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains(&format!("inet {}/", self.vip()))
    }

    /// `sh -c script` in the namespace of `side`; its output.
    fn sh(&self, side: &str, script: &str) -> String {
        ok(Command::new("ip")
            .args(["netns", "exec", &self.ns(side), "sh", "-c", script])
            .output()
            .unwrap())
    }

    /// Sends one OSC packet from the host's namespace to the control
    /// address's OSC port.
    fn osc_to_vip(&self, packet: &[u8]) {
        let bytes: Vec<String> = packet.iter().map(u8::to_string).collect();
        self.sh(
            "h",
            &format!(
                "python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\
                 .sendto(bytes([{}]), (\"{}\", {PAIR_OSC}))'",
                bytes.join(","),
                self.vip()
            ),
        );
    }

    /// Whether a TCP connection from the host's namespace to the control
    /// address's API port is accepted.
    fn vip_answers(&self) -> bool {
        Command::new("ip")
            .args(["netns", "exec", &self.ns("h"), "python3", "-c"])
            .arg(format!(
                "import socket; socket.create_connection((\"{}\", 53100), 1)",
                self.vip()
            ))
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }
}

impl Drop for PairNet {
    fn drop(&mut self) {
        let _ = Command::new(script("pair-netns.sh"))
            .args(["down", &self.tag])
            .status();
    }
}

/// The OSC port both units of the networked pair listen on.
const PAIR_OSC: u16 = 53000;

/// A pair on a [`PairNet`]: each unit lets the other's key in, both take
/// OSC from anyone on the network, the control address is the network's
/// .10, the witness is on the host's address: the host itself (which runs
/// no server: it refuses, so it answers), or, given its key `arbiter`, a
/// box there that arbitrates. Returns the arguments each unit runs with, to
/// start it again.
fn pair_on(t: &Path, net: &PairNet, arbiter: Option<&str>) -> (LoopBox, LoopBox, Vec<String>) {
    let keys = PairKeys::exchange(t);
    let showctl = t.join("showctl.json");
    std::fs::write(
        &showctl,
        serde_json::json!({"osc": {"bind": "0.0.0.0", "port": PAIR_OSC, "open_role": "control"}})
            .to_string(),
    )
    .unwrap();
    let args = |role: &str, peer: u8, other: &str, side: &str| -> Vec<String> {
        let arbitrates = arbiter.map(|key| ["--pair-witness-fingerprint", key]);
        [
            "--pair",
            role,
            "--peer",
            &format!("{}:53100", net.ip(peer)),
            "--peer-fingerprint",
            other,
            "--pair-vip",
            &format!("{}/24", net.vip()),
            "--pair-interface",
            &net.ns(side),
            "--pair-witness",
            &net.ip(3),
            "--showctl",
            showctl.to_str().unwrap(),
            // 43 ms of buffer: the machine's stalls (other builds) are not
            // what these tests look for.
            "--period",
            "512",
            "--periods",
            "4",
        ]
        .into_iter()
        .chain(arbitrates.into_iter().flatten())
        .map(str::to_owned)
        .collect()
    };
    let start = |name: &str, host: u8, args: &[String], side: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        LoopBox::start_in(
            t,
            name,
            !t.join(format!("{name}-card")).exists(),
            &format!("{}:53100", net.ip(host)),
            &args,
            &Place {
                netns: Some(net.ns(side)),
                host_netns: Some(net.ns("h")),
                listen_all: true,
                ..Place::default()
            },
        )
    };
    let backup = start("backup", 2, &args("backup", 1, &keys.main, "b"), "b");
    let main_args = args("main", 2, &keys.backup, "m");
    let main = start("main", 1, &main_args, "m");
    let tone = t.join("tone.wav");
    wav(&tone, 1, 7);
    let long = t.join("long.wav");
    wav(&long, 20, 3);
    // c1 the long clip, then two short ones.
    let show = session_of(
        &main,
        t,
        "Tour",
        &[(&long, "1,1"), (&tone, "1,2"), (&tone, "1,3")],
    );
    let s = show.to_str().unwrap();
    ok(main.host(&["push", s, "--to", "main"]));
    ok(backup.host(&["push", s, "--to", "backup"]));
    // The configured main takes the role (no main answered it), the backup
    // follows it and matches it.
    assert!(
        wait_for(30, || {
            let (m, b) = (unit(&main, "main"), unit(&backup, "backup"));
            m["role"] == "main"
                && m["takeover"]["holds_address"] == true
                && b["takeover"]["synced"] == true
        }),
        "the pair settles: main {} backup {}",
        unit(&main, "main"),
        unit(&backup, "backup")
    );
    assert!(net.holds_vip("m") && !net.holds_vip("b"));
    (main, backup, main_args)
}

/// A unit's `pair` status (`null` when it does not answer).
fn unit(b: &LoopBox, name: &str) -> Value {
    let out = b.host(&["status", name, "--json"]);
    if !out.status.success() {
        return Value::Null;
    }
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["pair"].clone()
}

/// A unit's xrun count (its status's `xruns`).
fn xruns(b: &LoopBox, name: &str) -> Value {
    serde_json::from_str::<Value>(&ok(b.host(&["status", name, "--json"]))).unwrap()["xruns"]
        .clone()
}

/// What a unit plays now (its status's `playing` clips).
fn playing(b: &LoopBox, name: &str) -> Vec<String> {
    let status: Value = serde_json::from_str(&ok(b.host(&["status", name, "--json"]))).unwrap();
    status["playing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["clip"].as_str().unwrap().to_owned())
        .collect()
}

/// A 16-bit WAV's frames as the box decodes them (sample / 32768).
fn wav_frames(path: &Path) -> Vec<[f32; 2]> {
    let bytes = std::fs::read(path).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;
    bytes[data..]
        .chunks_exact(4)
        .map(|f| {
            let s = |i: usize| f32::from(i16::from_le_bytes([f[i], f[i + 1]])) / 32_768.0;
            [s(0), s(2)]
        })
        .collect()
}

/// A main/backup pair in network namespaces with a real floating control
/// address (keepalived's VRRP) and the host as witness (docs/pair.md,
/// "Takeover"): the main is SIGKILLed mid-clip; the backup's card plays
/// that clip on, sample for sample as the file says, without an xrun; the
/// backup holds the control address within the stated bound and an OSC GO
/// sent to it plays there; the main, started again, joins as backup,
/// leaves the address where it is, and resynchronises.
#[test]
fn the_backup_takes_over_when_the_main_dies_and_the_main_comes_back_as_backup() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let net = PairNet::up(&format!("cbk{}", std::process::id() % 100_000));
    let (mut main, backup, main_args) = pair_on(t, &net, None);
    // A host that knows the pair by its control address, as either unit.
    let host_key = ok(backup.host(&["key"]));
    LoopBox::cueboxd_cmd(
        t,
        "main",
        &["auth", "add", host_key.trim(), "--role", "control"],
    );
    let key_of = |name: &str| LoopBox::cueboxd_cmd(t, name, &["key"]).trim().to_owned();
    ok(backup.host(&[
        "pair",
        &net.vip(),
        "--name",
        "show",
        "--fingerprint",
        &key_of("main"),
        "--or-fingerprint",
        &key_of("backup"),
    ]));
    assert_eq!(unit(&backup, "show")["takeover"]["configured"], "main");

    // The long clip plays on both; the main dies 2 s into it.
    ok(main.host(&["go", "main", "c1"]));
    assert!(wait_for(10, || playing(&backup, "backup") == ["c1"]));
    std::thread::sleep(Duration::from_secs(2));
    let xruns_before = xruns(&backup, "backup");
    let before_kill = backup.output().len();
    main.run.0.kill().unwrap();
    let killed = Instant::now();
    main.run.0.wait().unwrap();
    assert!(
        wait_for(5, || net.holds_vip("b")),
        "the backup takes the address: {}",
        unit(&backup, "backup")
    );
    let took = killed.elapsed();
    assert!(net.vip_answers(), "the address answers on the backup");
    assert!(!net.holds_vip("m"), "the dead main's address went with it");
    eprintln!("pair: the backup held the control address {took:?} after the main's SIGKILL");
    // The bound: the 1 s silence rule, a 100 ms beat, keepalived's
    // transition (at most 3.6 adverts of 100 ms), and a loaded machine.
    assert!(took < Duration::from_millis(2_500), "{took:?}");
    let b = unit(&backup, "backup");
    assert_eq!(b["role"], "main", "{b}");
    assert_eq!(b["takeover"]["configured"], "backup", "{b}");
    assert_eq!(b["takeover"]["holds_address"], true, "{b}");
    assert_eq!(b["takeover"]["promotions"], 1, "{b}");
    assert!(
        wait_for(5, || backup
            .events()
            .contains("pair: now MAIN (configured backup), holds")),
        "{}",
        backup.events()
    );

    // The backup's card never stopped: the clip plays on, every frame what
    // the file holds at one constant gain per channel, across the kill.
    assert!(wait_for(5, || backup.output().len() > before_kill + 72_000));
    let start = plays_on_unchanged(&backup, 0, &t.join("long.wav"), before_kill);
    assert!(backup.output().len() - start > (before_kill - start) + 72_000);
    assert_eq!(xruns(&backup, "backup"), xruns_before);
    assert_eq!(playing(&backup, "backup"), ["c1"]);

    // A GO sent to the control address plays on the backup: the next cue.
    net.osc_to_vip(b"/go\0,\0\0\0");
    assert!(
        wait_for(5, || backup.events().contains("started c2")),
        "{}",
        backup.events()
    );
    let osc_go = backup
        .events()
        .lines()
        .any(|l| l.contains("go clip c2 at") && l.contains("(from osc"));
    assert!(osc_go, "{}", backup.events());
    // hostctl, by the pair's name, reaches the unit that is main now.
    assert_eq!(unit(&backup, "show")["takeover"]["configured"], "backup");
    ok(backup.host(&["go", "show", "c3"]));
    assert!(
        wait_for(5, || backup.events().contains("started c3")),
        "{}",
        backup.events()
    );

    // The main comes back: it joins as backup, follows the promoted unit
    // and matches it, and never bids for the address.
    let args: Vec<&str> = main_args.iter().map(String::as_str).collect();
    drop(main);
    let main = LoopBox::start_in(
        t,
        "main",
        false,
        &format!("{}:53100", net.ip(1)),
        &args,
        &Place {
            netns: Some(net.ns("m")),
            host_netns: Some(net.ns("h")),
            listen_all: true,
            ..Place::default()
        },
    );
    assert!(
        wait_for(30, || {
            let m = unit(&main, "main");
            m["role"] == "backup" && m["healthy"] == true && m["takeover"]["synced"] == true
        }),
        "the returning main follows: {}",
        unit(&main, "main")
    );
    let m = unit(&main, "main");
    assert_eq!(m["takeover"]["promotions"], 0, "{m}");
    assert_eq!(m["takeover"]["holds_address"], false, "{m}");
    assert!(net.holds_vip("b") && !net.holds_vip("m"));
    assert_eq!(unit(&backup, "backup")["role"], "main");
    assert!(!main.events().contains("now MAIN"), "{}", main.events());
    // Its own inputs are refused while the promoted unit lives.
    let direct = main.host(&["go", "main", "c2"]);
    assert!(!direct.status.success());
    // And the promoted unit's commands play there too.
    let before = m["applied"].as_u64().unwrap() + m["late"].as_u64().unwrap();
    ok(backup.host(&["go", "backup", "c3"]));
    assert!(
        wait_for(5, || {
            let m = unit(&main, "main");
            m["applied"].as_u64().unwrap() + m["late"].as_u64().unwrap() == before + 1
        }),
        "{}",
        unit(&main, "main")
    );
}

/// The card output of `b` from the start of its clip number `nth` (counted
/// in the output, from 0) plays `file` unchanged: every frame what the file
/// holds at one constant gain per channel, through the fault at output
/// frame `fault`. Returns the clip's start.
fn plays_on_unchanged(b: &LoopBox, nth: usize, file: &Path, fault: usize) -> usize {
    let out = b.output();
    let start = clip_starts(&out)[nth];
    let file = wav_frames(file);
    let edge = 480; // past the clip's 1 ms edge fade
    let gain: Vec<f32> = (0..2)
        .map(|c| out[start + edge][c] / file[edge][c])
        .collect();
    let error = |i: usize| {
        (0..2)
            .map(|c| (out[i][c] - gain[c] * file[i - start][c]).abs())
            .fold(0.0f32, f32::max)
    };
    let wrong = (start + edge..out.len().min(start + file.len())).find(|&i| error(i) > 1e-5);
    assert_eq!(
        wrong,
        None,
        "the clip played on unchanged (it started at frame {start}, the fault came at about \
         {fault}, {} frames recorded; gain {gain:?})",
        out.len()
    );
    start
}

/// The same pair: 5 % of the packets into each unit dropped at random
/// (nftables `numgen random`) for 15 s leaves the roles alone while every
/// command still lands on both; then the main's cable is pulled: the
/// backup, which reaches the witness, becomes main and takes the address,
/// the main, cut off from both, steps down; the cable back, it follows.
#[test]
fn random_loss_moves_no_role_and_a_cut_leaves_exactly_one_main_the_one_reaching_the_witness() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let net = PairNet::up(&format!("cbl{}", std::process::id() % 100_000));
    let (main, backup, _) = pair_on(t, &net, None);

    let lossy = "nft add table inet loss && \
                 nft add chain inet loss input '{ type filter hook input priority 0; }' && \
                 nft add rule inet loss input numgen random mod 100 '<' 5 drop";
    for side in ["m", "b"] {
        net.sh(side, lossy);
    }
    let applied = |b: &LoopBox, name: &str| {
        let p = unit(b, name);
        p["applied"].as_u64().unwrap() + p["late"].as_u64().unwrap()
    };
    let before = applied(&backup, "backup");
    let xruns_before = xruns(&backup, "backup");
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(15) {
        let clip = if sent % 2 == 0 { "c2" } else { "c3" };
        ok(main.host(&["go", "main", clip]));
        sent += 1;
        std::thread::sleep(Duration::from_millis(700));
    }
    for side in ["m", "b"] {
        net.sh(side, "nft delete table inet loss");
    }
    let (m, b) = (unit(&main, "main"), unit(&backup, "backup"));
    eprintln!("pair: after 15 s of 5 % loss: main {m}; backup {b}");
    assert_eq!(m["role"], "main", "{m}");
    assert_eq!(m["takeover"]["promotions"], 1, "{m}");
    assert_eq!(b["role"], "backup", "{b}");
    assert_eq!(b["takeover"]["promotions"], 0, "{b}");
    assert!(!backup.events().contains("now MAIN"), "{}", backup.events());
    assert_eq!(applied(&backup, "backup") - before, sent, "{b}");
    assert!(net.holds_vip("m") && !net.holds_vip("b"));

    // The long clip through the cut: the backup's card plays it on.
    std::thread::sleep(Duration::from_millis(1500));
    let clips_before = clip_starts(&backup.output()).len();
    ok(main.host(&["go", "main", "c1"]));
    assert!(wait_for(10, || playing(&backup, "backup") == ["c1"]));
    std::thread::sleep(Duration::from_secs(1));
    let before_cut = backup.output().len();

    // The main's cable out.
    let cut = Instant::now();
    ok(Command::new("ip")
        .args([
            "-n",
            &net.ns("sw"),
            "link",
            "set",
            &format!("{}-mp", net.tag),
            "down",
        ])
        .output()
        .unwrap());
    assert!(
        wait_for(10, || unit(&backup, "backup")["role"] == "main"
            && net.holds_vip("b")),
        "{}",
        unit(&backup, "backup")
    );
    assert!(
        wait_for(10, || main
            .events()
            .contains("demoted: neither the witness nor the backup")),
        "{}",
        main.events()
    );
    eprintln!("pair: one main again {:?} after the cut", cut.elapsed());
    assert!(!net.holds_vip("m"), "the cut-off main gave the address up");
    assert!(
        backup.events().contains("and the witness"),
        "{}",
        backup.events()
    );
    // The cable back after a while: the old main follows the new one;
    // still one main.
    std::thread::sleep(Duration::from_secs(3));
    ok(Command::new("ip")
        .args([
            "-n",
            &net.ns("sw"),
            "link",
            "set",
            &format!("{}-mp", net.tag),
            "up",
        ])
        .output()
        .unwrap());
    assert!(
        wait_for(20, || {
            let m = unit(&main, "main");
            m["role"] == "backup" && m["healthy"] == true
        }),
        "{}\nmain: {}\nbackup: {}",
        unit(&main, "main"),
        main.events(),
        backup.events()
    );
    assert_eq!(
        unit(&backup, "backup")["role"],
        "main",
        "main: {}\nbackup: {}",
        main.events(),
        backup.events()
    );
    assert!(net.holds_vip("b") && !net.holds_vip("m"));
    // Through 15 s of loss, the cut and the cable's return, the backup's
    // card never stopped: c1 came out of it as the file holds it.
    let c1 = plays_on_unchanged(&backup, clips_before, &t.join("long.wav"), before_cut);
    assert!(
        backup.output().len() > c1 + 5 * 48_000,
        "c1 played past the cut"
    );
    assert_eq!(xruns(&backup, "backup"), xruns_before);
}

/// The units cut from each other, not from an arbitrating witness (a third
/// box on the host's address, letting both units' keys in): the backup,
/// hearing no main, asks the witness for the role and is refused while the
/// main renews it, so one main stays (with a witness that only answers,
/// both would be main). Then the main dies, the cut still on: its lease
/// lapses and the backup takes the role and the control address.
#[test]
fn units_cut_from_each_other_but_not_from_an_arbitrating_witness_leave_exactly_one_main() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let net = PairNet::up(&format!("cbw{}", std::process::id() % 100_000));
    let witness = LoopBox::start_in(
        t,
        "witness",
        true,
        &format!("{}:53100", net.ip(3)),
        &[],
        &Place {
            netns: Some(net.ns("h")),
            listen_all: true,
            ..Place::default()
        },
    );
    for name in ["main", "backup"] {
        let key: Value =
            serde_json::from_str(&LoopBox::cueboxd_cmd(t, name, &["key", "--json"])).unwrap();
        let key = key["key"].as_str().unwrap();
        LoopBox::cueboxd_cmd(t, "witness", &["auth", "add", key, "--role", "control"]);
    }
    let arbiter = LoopBox::cueboxd_cmd(t, "witness", &["key"]);
    let (mut main, backup, _) = pair_on(t, &net, Some(arbiter.trim()));
    let (m, b) = (unit(&main, "main"), unit(&backup, "backup"));
    assert_eq!(m["takeover"]["lease"], "held", "{m}");
    assert_eq!(b["takeover"]["lease"], "peer", "{b}");

    let cut_from = |side: &str, other: u8| {
        net.sh(
            side,
            &format!(
                "nft add table inet cut && \
                 nft add chain inet cut input '{{ type filter hook input priority 0; }}' && \
                 nft add rule inet cut input ip saddr {} drop",
                net.ip(other)
            ),
        );
    };
    cut_from("m", 2);
    cut_from("b", 1);
    let cut = Instant::now();
    while cut.elapsed() < Duration::from_secs(6) {
        let (m, b) = (unit(&main, "main"), unit(&backup, "backup"));
        assert_eq!(m["role"], "main", "{m}\n{}", main.events());
        assert_eq!(b["role"], "backup", "{b}\n{}", backup.events());
        std::thread::sleep(Duration::from_millis(250));
    }
    let (m, b) = (unit(&main, "main"), unit(&backup, "backup"));
    eprintln!("pair: 6 s cut from each other: main {m}; backup {b}");
    assert_eq!(b["healthy"], false, "the backup hears no main: {b}");
    assert_eq!(b["takeover"]["lease"], "peer", "{b}");
    assert_eq!(b["takeover"]["promotions"], 0, "{b}");
    assert!(net.holds_vip("m") && !net.holds_vip("b"));

    main.run.0.kill().unwrap();
    let killed = Instant::now();
    main.run.0.wait().unwrap();
    assert!(
        wait_for(10, || unit(&backup, "backup")["role"] == "main"
            && net.holds_vip("b")),
        "{}\n{}",
        unit(&backup, "backup"),
        backup.events()
    );
    let took = killed.elapsed();
    eprintln!("pair: the backup took over {took:?} after the main's death, cut off from it");
    assert!(took < Duration::from_secs(4), "{took:?}");
    let b = unit(&backup, "backup");
    assert_eq!(b["takeover"]["lease"], "held", "{b}");
    assert!(
        backup.events().contains("and the witness"),
        "{}",
        backup.events()
    );
    drop(witness);
}

/// A TCP relay on loopback that holds every chunk `delay` before passing
/// it on, each way: a slow link between the units (this kernel has no
/// netem). Runs until the test ends.
fn delay_relay(to: String, delay: Duration) -> String {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    // One direction: read, stamp, and write each chunk once its time came.
    fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        std::thread::spawn(move || {
            for (at, chunk) in rx {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                if to.write_all(&chunk).is_err() {
                    return;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
        let mut buf = vec![0u8; 65_536];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
            {
                return;
            }
        }
    }
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(upstream) = TcpStream::connect(&to) else {
                continue;
            };
            let (c2, u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            std::thread::spawn(move || pipe(client, upstream, delay));
            std::thread::spawn(move || pipe(u2, c2, delay));
        }
    });
    address
}

/// A pair on loopback whose link passes through a relay adding 25 ms each
/// way: the backup is never promoted (the beats come, late), the main's
/// pre-roll grows with the measured round trip, and every GO still plays
/// on both units at one instant.
#[test]
fn a_slow_link_moves_no_role_and_every_go_plays_on_both_at_one_instant() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (main_addr, backup_addr) = (free_address(), free_address());
    let keys = PairKeys::exchange(t);
    let to_backup = delay_relay(backup_addr.clone(), Duration::from_millis(25));
    let to_main = delay_relay(main_addr.clone(), Duration::from_millis(25));
    let backup = LoopBox::start_with(
        t,
        "backup",
        true,
        &backup_addr,
        &[
            "--pair",
            "backup",
            "--peer",
            &to_main,
            "--peer-fingerprint",
            &keys.main,
        ],
    );
    let main = LoopBox::start_with(
        t,
        "main",
        true,
        &main_addr,
        &[
            "--pair",
            "main",
            "--peer",
            &to_backup,
            "--peer-fingerprint",
            &keys.backup,
        ],
    );
    let tone = t.join("tone.wav");
    wav(&tone, 1, 7);
    let show = session_of(&main, t, "Tour", &[(&tone, "1,1"), (&tone, "1,2")]);
    let s = show.to_str().unwrap();
    ok(main.host(&["push", s, "--to", "main"]));
    ok(backup.host(&["push", s, "--to", "backup"]));
    assert!(
        wait_for(30, || {
            let (m, b) = (unit(&main, "main"), unit(&backup, "backup"));
            m["role"] == "main"
                && m["link"]["offset_samples"].is_number()
                && b["takeover"]["synced"] == true
        }),
        "main {} backup {}",
        unit(&main, "main"),
        unit(&backup, "backup")
    );
    // GOs 2 s apart (each 1 s clip ends before the next).
    for i in 0..4 {
        ok(main.host(&["go", "main", if i % 2 == 0 { "c1" } else { "c2" }]));
        std::thread::sleep(Duration::from_secs(2));
    }
    let (m, b) = (unit(&main, "main"), unit(&backup, "backup"));
    eprintln!("pair over a 25 ms relay: main {m}; backup {b}");
    assert!(
        m["link"]["worst_rtt_us"].as_f64().unwrap() > 50_000.0,
        "{m}"
    );
    assert_eq!(b["role"], "backup", "{b}");
    assert_eq!(b["takeover"]["promotions"], 0, "{b}");
    assert_eq!(
        b["applied"].as_u64().unwrap() + b["late"].as_u64().unwrap(),
        4,
        "{b}"
    );
    let (sm, sb) = (clip_starts(&main.output()), clip_starts(&backup.output()));
    assert_eq!((sm.len(), sb.len()), (4, 4), "{sm:?} {sb:?}");
    let instant = |b: &LoopBox, frame: usize| b.started_ns() + frame as f64 * 1e9 / 48_000.0;
    let error_us = m["link"]["offset_error_us"].as_f64().unwrap();
    let late = m["main_late"].as_u64().unwrap() + b["late"].as_u64().unwrap();
    for (fm, fb) in sm.into_iter().zip(sb) {
        let apart = (instant(&backup, fb) - instant(&main, fm)) * 48_000.0 / 1e9;
        eprintln!(
            "pair over a 25 ms relay: a GO played {apart:+.2} samples apart (± {error_us:.0} µs)"
        );
        // The relay delays both ways alike, so the midpoint rule holds to
        // the few samples it does on plain loopback (the stated bound, half
        // the round trip, is 25 ms here); a loaded machine adds its cards'
        // position error (16 samples seen): within a millisecond.
        if late == 0 {
            assert!(apart.abs() <= 48.0, "{apart} samples apart");
        }
    }
    assert_eq!(late, 0, "the pre-roll covers the slow link: {m} {b}");
}

/// A main/backup pair in two network namespaces joined by a veth pair
/// (the main in `-gm`, the backup in `-sl`), each unit on its own paced
/// card, the backup's `ppm` fast; with `ptp` both run PTP on their veth
/// (the main as the pair's master). The main takes OSC on its loopback.
/// Session: six 1 s clips c1–c6 and a 12 s c7, pushed to both.
struct NetPair {
    main: LoopBox,
    backup: LoopBox,
    osc_port: u16,
}

impl NetPair {
    fn start(tmp: &Path, ns: &Netns, ptp: bool, ppm: f64, seconds: u64) -> NetPair {
        let port = |ip: &str| {
            let port = free_address().rsplit_once(':').unwrap().1.to_owned();
            format!("{ip}:{port}")
        };
        let (main_addr, backup_addr) = (port(&ns.address("gm")), port(&ns.address("sl")));
        let keys = PairKeys::exchange(tmp);
        let (main_veth, backup_veth) = (format!("{}-g", ns.0), format!("{}-s", ns.0));
        let mut backup_args = vec![
            "--pair",
            "backup",
            "--peer",
            &main_addr,
            "--peer-fingerprint",
            &keys.main,
        ];
        if ptp {
            backup_args.extend(["--ptp", &backup_veth]);
        }
        let place = |side: &str, ppm: f64| Place {
            netns: Some(format!("{}-{side}", ns.0)),
            ppm,
            seconds,
            ..Place::default()
        };
        let backup = LoopBox::start_in(
            tmp,
            "backup",
            true,
            &backup_addr,
            &backup_args,
            &place("sl", ppm),
        );
        let osc_port: u16 = free_address().rsplit_once(':').unwrap().1.parse().unwrap();
        let showctl = tmp.join("showctl.json");
        std::fs::write(
            &showctl,
            serde_json::json!({"osc": {"bind": "127.0.0.1", "port": osc_port}}).to_string(),
        )
        .unwrap();
        let mut main_args = vec![
            "--pair",
            "main",
            "--peer",
            &backup_addr,
            "--peer-fingerprint",
            &keys.backup,
            "--showctl",
            showctl.to_str().unwrap(),
        ];
        if ptp {
            main_args.extend(["--ptp", &main_veth]);
        }
        let main = LoopBox::start_in(tmp, "main", true, &main_addr, &main_args, &place("gm", 0.0));
        let tone = tmp.join("tone.wav");
        wav(&tone, 1, 7);
        let long = tmp.join("long.wav");
        wav(&long, 12, 3);
        let places: Vec<String> = (1..=7).map(|n| format!("1,{n}")).collect();
        let files = [&tone, &tone, &tone, &tone, &tone, &tone, &long];
        let clips: Vec<(&Path, &str)> = files
            .iter()
            .zip(&places)
            .map(|(f, at)| (f.as_path(), at.as_str()))
            .collect();
        let show = session_of(&main, tmp, "Tour", &clips);
        let s = show.to_str().unwrap();
        ok(main.host(&["push", s, "--to", "main"]));
        ok(backup.host(&["push", s, "--to", "backup"]));
        NetPair {
            main,
            backup,
            osc_port,
        }
    }

    /// A unit's status (`main` or `backup`).
    fn status(&self, name: &str) -> Value {
        let b = if name == "main" {
            &self.main
        } else {
            &self.backup
        };
        serde_json::from_str(&ok(b.host(&["status", name, "--json"]))).unwrap()
    }

    /// Waits until both units have played 4 s (their DLLs settled) and the
    /// commands are placed by `instants` (`ptp` or `heartbeat`) on both.
    fn settle(&self, instants: &str) {
        assert!(
            wait_for(60, || {
                let (m, b) = (self.status("main"), self.status("backup"));
                m["show_seconds"].as_f64() > Some(4.0)
                    && b["show_seconds"].as_f64() > Some(4.0)
                    && m["pair"]["link"]["offset_samples"].is_number()
                    && m["pair"]["instants"] == instants
                    && b["pair"]["instants"] == instants
            }),
            "the pair places commands by {instants}: main {}, backup {}",
            self.status("main"),
            self.status("backup")
        );
    }

    /// GO number `i` on the main: through the API for even `i` (clip c1–c6
    /// in turn), a bare GO over OSC for odd.
    fn go(&self, i: usize) {
        if i.is_multiple_of(2) {
            ok(self.main.host(&["go", "main", &format!("c{}", i % 6 + 1)]));
        } else {
            let send = format!(
                "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'/go\\0,\\0\\0\\0', ('127.0.0.1', {}))",
                self.osc_port
            );
            ok(
                in_netns(self.main.host_netns.as_deref(), Path::new("python3"))
                    .args(["-c", &send])
                    .output()
                    .unwrap(),
            );
        }
    }

    /// Each clip onset both units played (the main's frame, the backup's
    /// frame) and how far apart they played on CLOCK_MONOTONIC, in
    /// samples (backup − main): each of the main's onsets with the
    /// backup's nearest, when that is within 50 ms (an xrun's silence can
    /// split a clip in two on one unit).
    fn onsets(&self) -> Vec<(usize, usize, f64)> {
        let (m, b) = (self.main.clip_starts(), self.backup.clip_starts());
        m.into_iter()
            .filter_map(|fm| {
                let at = instant(&self.main, fm);
                let fb = *b.iter().min_by(|x, y| {
                    let d = |f: usize| (instant(&self.backup, f) - at).abs();
                    d(**x).total_cmp(&d(**y))
                })?;
                let apart = (instant(&self.backup, fb) - at) * 48_000.0 / 1e9;
                (apart.abs() < 2_400.0).then_some((fm, fb, apart))
            })
            .collect()
    }
}

/// The pair on PTP (the main its master, over a veth pair between two
/// network namespaces), the backup's card 50 ppm fast: ten GOs over 40 s,
/// through the API and over OSC, then a 12 s clip, play at the same
/// instant on both (their outputs placed on CLOCK_MONOTONIC, the backup's
/// at its card's rate): at least half within one sample and none beyond
/// two (a GO less than 8 s after an xrun is reported instead), sample for
/// sample the same audio from there; the 12 s clip, over which the cards
/// drift 29 samples apart, is compared every second without a divergence
/// (unless an xrun moved it).
#[test]
fn a_pair_on_ptp_plays_every_go_within_a_sample_on_both_with_the_backups_card_50_ppm_fast() {
    let _one = serial();
    let tmp = tempfile::tempdir().unwrap();
    let ns = Netns::up(&format!("cbq{}", std::process::id() % 100_000));
    let pair = NetPair::start(tmp.path(), &ns, true, 50.0, 120);
    pair.settle("ptp");
    let backup_ptp = |p: &NetPair| p.status("backup")["detail"]["clock"]["ptp"].clone();
    eprintln!("pair on ptp: the backup's PTP {}", backup_ptp(&pair));
    // An xrun restarts a card: its DLL takes its phase from one reading
    // and settles again over seconds (0.1 Hz). A GO with an xrun on either
    // unit in the 8 s before it is reported, not held to the sample.
    let xruns = |p: &NetPair| {
        let count = |name| p.status(name)["xruns"].as_u64().unwrap();
        count("main") + count("backup")
    };
    let gos = 10;
    let mut settled = Vec::new();
    let mut counts = vec![xruns(&pair); 2];
    let mut diverged_before = Value::Null;
    for i in 0..=gos {
        let now = xruns(&pair);
        settled.push(now == counts[counts.len() - 2]);
        counts.push(now);
        if i < gos {
            pair.go(i);
            std::thread::sleep(Duration::from_secs(4));
        } else {
            diverged_before = pair.status("backup")["pair"]["divergences"].clone();
            ok(pair.main.host(&["go", "main", "c7"]));
            std::thread::sleep(Duration::from_secs(13));
        }
    }
    // An xrun while c7 plays moves its audio on that unit (what the card
    // lost): a true divergence, which the backup repairs.
    let c7_clean = xruns(&pair) == counts[counts.len() - 1];
    let (m, b) = (pair.status("main"), pair.status("backup"));
    eprintln!("pair on ptp: main {}, backup {}", m["pair"], b["pair"]);
    let late = m["pair"]["main_late"].as_u64().unwrap() + b["pair"]["late"].as_u64().unwrap();
    assert_eq!(late, 0, "no unit took a GO after its sample: {m} {b}");
    assert_eq!(b["pair"]["applied"], gos as u64 + 1, "{b}");
    assert_eq!(b["pair"]["instants"], "ptp");
    let onsets = pair.onsets();
    assert_eq!(onsets.len(), gos + 1, "{onsets:?}");
    let (main_out, backup_out) = (pair.main.output(), pair.backup.output());
    for (i, &(fm, fb, apart)) in onsets.iter().enumerate() {
        let n = 24_000;
        assert!(
            main_out[fm..fm + n] == backup_out[fb..fb + n],
            "GO {i}: the same audio, sample for sample"
        );
        if !settled[i] {
            eprintln!("pair on ptp: GO {i} played {apart:+.3} samples apart, after an xrun");
            continue;
        }
        eprintln!("pair on ptp: GO {i} played {apart:+.3} samples apart");
    }
    let diverged: Vec<String> = pair
        .backup
        .events()
        .lines()
        .filter(|l| l.contains("DIVERGED"))
        .map(str::to_owned)
        .collect();
    if c7_clean {
        assert_eq!(
            b["pair"]["divergences"], diverged_before,
            "c7 diverged: {diverged:#?}"
        );
    } else {
        eprintln!("pair on ptp: an xrun while c7 played: {diverged:#?}");
    }
    eprintln!("pair on ptp: divergences {diverged:#?}");
    // Within a sample on a quiet machine; a loaded one (other builds on
    // its 2 cores) moves a unit's card position by a sample or so at times.
    let held: Vec<f64> = onsets
        .iter()
        .zip(&settled)
        .filter(|(_, &s)| s)
        .map(|(o, _)| o.2.abs())
        .collect();
    assert!(
        held.len() >= 4,
        "only {} GOs without an xrun before them (the machine is too loaded): {settled:?}",
        held.len()
    );
    let within_one = held.iter().filter(|&&a| a <= 1.0).count();
    assert!(
        held.iter().all(|&a| a <= 2.0) && within_one * 2 >= held.len(),
        "GOs held to the sample: {held:?}"
    );
}

/// The figure of scripts/bench-pair-offset.sh: a pair in two namespaces,
/// the backup's card 50 ppm fast, a GO every 3 s (API and OSC in turn) for
/// `PAIR_MINUTES` (10), commands placed by `PAIR_INSTANTS` (`ptp`, else the
/// heartbeat offset); prints `BENCH` and the offsets between the units'
/// onsets on CLOCK_MONOTONIC (samples): p50, p99 and max of their size, and
/// the mean (backup − main).
#[test]
#[ignore = "a benchmark: scripts/bench-pair-offset.sh"]
fn bench_pair_offset() {
    let _one = serial();
    let minutes: f64 = std::env::var("PAIR_MINUTES").map_or(10.0, |m| m.parse().unwrap());
    let instants = std::env::var("PAIR_INSTANTS").unwrap_or_else(|_| "ptp".into());
    let tmp = tempfile::tempdir().unwrap();
    let ns = Netns::up(&format!("cbb{}", std::process::id() % 100_000));
    let seconds = (minutes * 60.0) as u64;
    let pair = NetPair::start(tmp.path(), &ns, instants == "ptp", 50.0, seconds + 120);
    pair.settle(if instants == "ptp" {
        "ptp"
    } else {
        "heartbeat"
    });
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut gos = 0;
    // How the backup places commands 3 s after each GO (its beats update
    // it too): `ptp` or `heartbeat`.
    let mut placed = Vec::new();
    while Instant::now() < until {
        pair.go(gos);
        gos += 1;
        std::thread::sleep(Duration::from_secs(3));
        placed.push(pair.status("backup")["pair"]["instants"].clone());
    }
    let (m, b) = (pair.status("main"), pair.status("backup"));
    let onsets = pair.onsets();
    for (i, o) in onsets.iter().enumerate() {
        let by = placed.get(i).unwrap_or(&Value::Null);
        eprintln!(
            "bench: GO {i} played {:+.3} samples apart (placed by {by})",
            o.2
        );
    }
    let mut sizes: Vec<f64> = onsets.iter().map(|o| o.2.abs()).collect();
    sizes.sort_by(f64::total_cmp);
    let at = |q: f64| sizes[((sizes.len() - 1) as f64 * q).round() as usize];
    let mean = onsets.iter().map(|o| o.2).sum::<f64>() / onsets.len() as f64;
    let figures = serde_json::json!({
        "instants": instants,
        "minutes": minutes,
        "gos": gos,
        "onsets": onsets.len(),
        "placed_by_ptp": placed.iter().filter(|p| *p == "ptp").count(),
        "p50_samples": at(0.5),
        "p99_samples": at(0.99),
        "max_samples": at(1.0),
        "mean_samples": mean,
        "late": m["pair"]["main_late"].as_u64().unwrap() + b["pair"]["late"].as_u64().unwrap(),
        "lost": m["pair"]["lost"],
        "divergences": b["pair"]["divergences"],
        "xruns": [m["xruns"], b["xruns"]],
        "offset_error_us": m["pair"]["link"]["offset_error_us"],
        "backup_ptp": b["detail"]["clock"]["ptp"],
    });
    println!("BENCH {figures}");
}
