//! `cueboxd run` playing live, in real time, through the project's paced
//! ALSA test PCM (`scripts/alsa/pcm_cuebox_paced.c`, a plugin whose clock
//! follows CLOCK_MONOTONIC, can drift by N ppm and can be stalled): what it
//! plays equals `cueboxd render` of the same commands, xruns are recovered,
//! capture trouble never reaches the output, the card clock is tracked, the
//! real-time setup is read back from /proc, and LTC on the capture input
//! drives the master clock and fires timecode cues.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use assert_no_alloc::{assert_no_alloc, violation_count, AllocDisabler};
use cuebox_engine::device::alsa::{PcmConfig, Record, Render, Stream};
use cuebox_engine::device::{Access, Cycle, SampleFormat, StreamDir};
use cuebox_engine::dsp::meter::Dbfs;
use cuebox_engine::fixtures::{add_clip, placement, probed_audio, write_wav, WavFormat};
use cuebox_engine::show::*;
use cueboxd::api::proto::{MeterChannel, Request, Response, Status};
use cueboxd::api::{AuthorizedHost, AuthorizedHosts, Client, Expect, Identity, Role};
use cueboxd::clocking::ltc::LtcTap;
use cueboxd::store::SessionDir;
use serde_json::{json, Value};

#[path = "common/browser.rs"]
mod browser;

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const RATE: u32 = 48_000;

/// Builds the paced PCM plugin once; its path.
fn plugin() -> &'static Path {
    static SO: OnceLock<PathBuf> = OnceLock::new();
    SO.get_or_init(|| {
        // The workspace: appliance/cueboxd is two levels down.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = Command::new(root.join("scripts/alsa/build-paced-pcm.sh"))
            .output()
            .expect("scripts/alsa/build-paced-pcm.sh runs");
        assert!(
            out.status.success(),
            "building the paced PCM failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        PathBuf::from(
            stdout
                .lines()
                .last()
                .expect("the script prints the .so path")
                .trim(),
        )
    })
}

/// A paced test card in `dir`: `paced_out` plays into `out.raw`,
/// `paced_in` captures from `in.raw`; each has a control file for faults.
struct Card {
    dir: PathBuf,
    conf: PathBuf,
}

impl Card {
    fn new(dir: &Path, ppm: f64) -> Card {
        let conf = dir.join("asound.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "pcm_type.cuebox_paced {{ lib \"{so}\" }}\n\
                 pcm.paced_out {{ type cuebox_paced outfile \"{d}/out.raw\" ppm {ppm} control \"{d}/out.ctl\" }}\n\
                 pcm.paced_in {{ type cuebox_paced infile \"{d}/in.raw\" ppm {ppm} control \"{d}/in.ctl\" }}\n\
                 pcm.spin {{ type file slave.pcm \"null\" file \"/dev/null\" format \"raw\" }}\n",
                so = plugin().display()
            ),
        )
        .unwrap();
        Card {
            dir: dir.to_owned(),
            conf,
        }
    }

    fn alsa_config_path(&self) -> String {
        format!("/usr/share/alsa/alsa.conf:{}", self.conf.display())
    }

    /// Tells the card to misbehave (`block 300`, `stall 200`, `ppm 10`).
    fn fault(&self, stream: &str, command: &str) {
        let tmp = self.dir.join(format!("{stream}.ctl.tmp"));
        std::fs::write(&tmp, format!("{command}\n")).unwrap();
        std::fs::rename(tmp, self.dir.join(format!("{stream}.ctl"))).unwrap();
    }

    /// What the card played: `channels` interleaved f32 channels.
    fn played_f32(&self, channels: usize) -> Vec<Vec<f32>> {
        let bytes = std::fs::read(self.dir.join("out.raw")).unwrap();
        let samples: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        deinterleave(&samples, channels)
    }
}

fn deinterleave(samples: &[f32], channels: usize) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| samples.iter().skip(c).step_by(channels).copied().collect())
        .collect()
}

/// A session of two stereo clips: c1 (a 440/660 Hz tone, group A) and c2
/// (a 5 s noise burst, group B), with real fades.
fn session(tmp: &Path) -> PathBuf {
    session_with(tmp, |_| {})
}

/// [`session`], changed by `edit` before it is saved.
fn session_with(tmp: &Path, edit: impl FnOnce(&mut Show)) -> PathBuf {
    let dir = tmp.join("show");
    std::fs::create_dir_all(dir.join("media")).unwrap();
    let tau = std::f32::consts::TAU;
    let stereo = WavFormat::float32(2, RATE);
    write_wav(&dir.join("media/tone.wav"), stereo, RATE * 6, |i, c| {
        let f = if c == 0 { 440.0 } else { 660.0 };
        0.5 * (tau * f * i as f32 / RATE as f32).sin()
    });
    write_wav(&dir.join("media/noise.wav"), stereo, RATE * 5, |i, c| {
        // A deterministic hash noise, so both clips are unlike each other.
        let x = (i.wrapping_mul(2_654_435_761) ^ u32::from(c).wrapping_mul(40_503)) >> 8;
        (x as f32 / (1u32 << 24) as f32 - 0.5) * 0.4
    });
    let mut show = Show::new(
        "live",
        "media",
        GridDims::new(4, 4).unwrap(),
        jiff::Timestamp::UNIX_EPOCH,
    );
    for (n, (file, group)) in [("tone.wav", Group::A), ("noise.wav", Group::B)]
        .into_iter()
        .enumerate()
    {
        let audio = probed_audio(&dir.join("media"), file);
        add_clip(
            &mut show,
            file,
            group,
            audio,
            placement(1, 1, 1, n as u16 + 1),
        );
    }
    edit(&mut show);
    SessionDir::create(&dir, &show).unwrap();
    dir
}

/// The commands both runs play over 10 s: tone at 0.5 s, noise at 1.25 s,
/// tone faded out over 1.5 s from 3 s, noise stopped at 5 s, both again
/// from 6.5 s and 7.25 s, everything faded out at 9 s.
fn events(tmp: &Path) -> PathBuf {
    let path = tmp.join("events.json");
    std::fs::write(
        &path,
        r#"[{"at": 0.5, "cmd": "go", "clip": "c1"},
            {"at": 1.25, "cmd": "go", "clip": "c2"},
            {"at": 3.0, "cmd": "fade_out", "clip": "c1", "time": 1.5},
            {"at": 5.0, "cmd": "stop", "clip": "c2"},
            {"at": 6.5, "cmd": "go", "clip": "c2"},
            {"at": 7.25, "cmd": "go", "clip": "c1"},
            {"at": 9.0, "cmd": "fade_all", "time": 0.5}]"#,
    )
    .unwrap();
    path
}

/// A running `cueboxd run --json`, its events collected as they arrive.
struct Box_ {
    child: Child,
    events: Arc<std::sync::Mutex<Vec<Value>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Box_ {
    /// `cueboxd run` of `session` on the card's `paced_out`, with `args`.
    /// `CUEBOXD_BIN` runs another build (the benchmarks' release build).
    fn start(card: &Card, session: &Path, args: &[&str]) -> Box_ {
        let bin = std::env::var_os("CUEBOXD_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_cueboxd")),
            PathBuf::from,
        );
        let mut child = Command::new(bin)
            .arg("--root")
            .arg(card.dir.join("root"))
            .args(["run", "--json", "--device", "paced_out", "--session"])
            .arg(session)
            .args(args)
            .env("ALSA_CONFIG_PATH", card.alsa_config_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON event line ({e}): {line}"));
                sink.lock().unwrap().push(v);
            }
        });
        Box_ {
            child,
            events,
            reader: Some(reader),
        }
    }

    /// A host of `role` connected to the box's API (it was started with
    /// `--listen`).
    fn client(&self, card: &Card, role: Role) -> Client {
        let address = self.wait_for("listening", Duration::from_secs(20))["address"]
            .as_str()
            .unwrap()
            .to_owned();
        let host = Identity::generate().unwrap();
        let file = card.dir.join("root/api/authorized_hosts");
        let mut hosts = AuthorizedHosts::load(&file).unwrap_or_default();
        hosts.set(AuthorizedHost {
            role,
            key: host.public(),
            comment: "live test".into(),
        });
        hosts.save(&file).unwrap();
        Client::connect(&address, &host, Expect::Any, Duration::from_secs(5)).unwrap()
    }

    /// Waits (up to `within`) for an event named `name`.
    fn wait_for(&self, name: &str, within: Duration) -> Value {
        let end = Instant::now() + within;
        loop {
            if let Some(e) = self.find(name) {
                return e;
            }
            assert!(
                Instant::now() < end,
                "no {name:?} event within {within:?}; events: {:?}",
                self.events.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to `within`) for the `n`th (from 0) event named `name`.
    fn wait_for_nth(&self, name: &str, n: usize, within: Duration) -> Value {
        let end = Instant::now() + within;
        loop {
            if let Some(e) = self.all(name).into_iter().nth(n) {
                return e;
            }
            assert!(
                Instant::now() < end,
                "no {name:?} event number {n} within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn find(&self, name: &str) -> Option<Value> {
        self.all(name).into_iter().next()
    }

    fn all(&self, name: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == name)
            .cloned()
            .collect()
    }

    /// Kills the process outright (SIGKILL: no save, no goodbye); every
    /// event it printed before.
    fn kill(mut self) -> Vec<Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.events.lock().unwrap().clone()
    }

    /// Waits for the process to end by itself; every event it printed.
    fn finish(mut self) -> Vec<Value> {
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        assert!(status.success(), "cueboxd run failed: {status}");
        self.events.lock().unwrap().clone()
    }
}

impl Drop for Box_ {
    /// A failed test must not leave a real-time process behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What played, from the card's first frame, equals `cueboxd render` of
/// the same session and events, bit for bit, on groups A and B (outputs
/// 1–4), and the other outputs are silent: show time zero is the card's
/// first frame, as it is the render's.
fn plays_the_render(
    tmp: &Path,
    card: &Card,
    session: &Path,
    events: &Path,
    seconds: f64,
    all: &[Value],
) {
    let start = all
        .iter()
        .find(|e| e["event"] == "device_started" && e["dir"] == "playback")
        .expect("the playback card started")["frame"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(start, 0, "the card's first frame is show time 0");
    let played = card.played_f32(10);
    let group_a = render(session, events, &tmp.join("a.wav"), "A", seconds);
    let group_b = render(session, events, &tmp.join("b.wav"), "B", seconds);
    let heard = played[0].len();
    let frames = (f64::from(RATE) * seconds) as usize;
    assert!(
        heard > frames,
        "{seconds} s of play reached the card ({heard} frames)"
    );
    for (ch, reference) in [
        (0, &group_a[0]),
        (1, &group_a[1]),
        (2, &group_b[0]),
        (3, &group_b[1]),
    ] {
        let live = &played[ch][..frames];
        let offline = &reference[start..start + frames];
        let first_diff = live.iter().zip(offline).position(|(a, b)| a != b);
        assert_eq!(
            first_diff,
            None,
            "output {} differs from the render",
            ch + 1
        );
    }
    assert!(
        group_a[0][start..start + frames]
            .iter()
            .any(|s| s.abs() > 0.4),
        "the tone played"
    );
    for (ch, out) in played.iter().enumerate().skip(4) {
        assert!(out.iter().all(|s| *s == 0.0), "output {} is silent", ch + 1);
    }
}

/// `cueboxd render` of the same session and events, one bus, deinterleaved.
fn render(session: &Path, events: &Path, out: &Path, bus: &str, seconds: f64) -> Vec<Vec<f32>> {
    let status = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .args(["render", "--session"])
        .arg(session)
        .arg("--events")
        .arg(events)
        .arg("--out")
        .arg(out)
        .args(["--bus", bus, "--seconds", &seconds.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let samples: Vec<f32> = hound::WavReader::open(out)
        .unwrap()
        .into_samples::<f32>()
        .map(Result::unwrap)
        .collect();
    deinterleave(&samples, 2)
}

/// The fields of a thread of `pid` named `name`, read from /proc.
fn proc_thread(pid: u32, name: &str) -> Option<(u32, i64, i64, String)> {
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let task = task.ok()?.path();
        let comm = std::fs::read_to_string(task.join("comm")).ok()?;
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.join("stat")).ok()?;
        // Fields after the ")" that closes the name: field 3 is state, so
        // rt_priority (40) and policy (41) are at 37 and 38 from there.
        let rest: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
        let tid = task.file_name()?.to_str()?.parse().ok()?;
        let status = std::fs::read_to_string(task.join("status")).ok()?;
        let cpus = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
            .trim()
            .to_string();
        return Some((tid, rest[37].parse().ok()?, rest[38].parse().ok()?, cpus));
    }
    None
}

#[test]
fn a_live_run_plays_what_the_offline_render_prints_and_capture_trouble_never_reaches_it() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    let events = events(tmp.path());
    // 2 s of a capture signal; past it the card captures silence.
    std::fs::write(
        tmp.path().join("in.raw"),
        vec![0x40u8; RATE as usize * 2 * 4 * 2],
    )
    .unwrap();
    let record = tmp.path().join("rec.wav");
    let record_arg = record.to_str().unwrap();
    let live = Box_::start(
        &card,
        &session,
        &[
            "--format",
            "FLOAT_LE",
            "--period",
            "2048",
            "--periods",
            "3",
            "--events",
            events.to_str().unwrap(),
            "--capture",
            "paced_in",
            "--capture-channels",
            "2",
            "--record",
            record_arg,
            "--metrics-interval",
            "2",
            "--seconds",
            "11",
        ],
    );
    let running = live.wait_for("running", Duration::from_secs(20));
    assert_eq!(
        running["device"]["channels"], 10,
        "the default routing uses outputs 1-10"
    );

    // The real-time setup, read back from /proc while it plays.
    let pid = live.child.id();
    let (_, prio, policy, cpus) =
        proc_thread(pid, "rt-out").expect("cueboxd has a thread named rt-out");
    assert_eq!((policy, prio), (1, 80), "rt-out is SCHED_FIFO 80");
    assert!(
        !cpus.contains(',') && !cpus.contains('-'),
        "rt-out is pinned to one core: {cpus}"
    );
    let (_, in_prio, in_policy, _) = proc_thread(pid, "rt-in").expect("a thread named rt-in");
    assert_eq!(
        (in_policy, in_prio),
        (1, 70),
        "rt-in is SCHED_FIFO 70, below rt-out"
    );
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let rttime = limits
        .lines()
        .find(|l| l.starts_with("Max realtime timeout"))
        .unwrap();
    assert!(
        !rttime.contains("unlimited"),
        "RLIMIT_RTTIME is set: {rttime}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let locked: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(
        locked > 10_000,
        "the process memory is locked: VmLck {locked} kB"
    );

    // Capture stalls for 400 ms (more than its 128 ms buffer): it overruns.
    std::thread::sleep(Duration::from_secs(2));
    card.fault("in", "block 400");
    let all = live.finish();

    let xruns: Vec<&Value> = all.iter().filter(|e| e["event"] == "xrun").collect();
    assert!(
        xruns.iter().all(|x| x["dir"] == "capture"),
        "only capture may xrun here: {xruns:?}"
    );
    assert!(!xruns.is_empty(), "the blocked capture overran");
    assert!(
        all.iter().any(|e| e["event"] == "discontinuity"),
        "the overrun is logged as a discontinuity"
    );

    plays_the_render(tmp.path(), &card, &session, &events, 10.0, &all);
    // The recording kept going across the overrun, gap included.
    let rec = hound::WavReader::open(&record).unwrap();
    assert!(rec.duration() > RATE * 10, "the recording covers the run");

    // With the play log on: every play is in it, each acknowledged once both
    // copies were on disk, with where it came from and how it ended.
    let logged = all.iter().filter(|e| e["event"] == "play_logged").count();
    assert_eq!(logged, 8, "four starts and four ends acknowledged");
    let root = card.dir.join("root");
    let entries = json_lines(&cueboxd_log(&root, &["list", "--json"]));
    let starts: Vec<&Value> = entries
        .iter()
        .map(|e| &e["record"])
        .filter(|r| r["kind"] == "start")
        .collect();
    let clips: Vec<&str> = starts.iter().map(|r| r["clip"].as_str().unwrap()).collect();
    assert_eq!(clips, ["c1", "c2", "c2", "c1"]);
    assert!(starts.iter().all(|r| r["source"]["input"] == "timeline"));
    assert_eq!(starts[0]["session"], "live", "the show's name");
    assert_eq!(starts[0]["sample"], RATE / 2, "the first GO at 0.5 s");
    // By 6.5 s the system clock gives the show its timecode: the start
    // records it.
    let tc = starts[2]["timecode"].as_str().unwrap_or_default();
    assert!(
        tc.len() == 11 && tc.as_bytes()[2] == b':',
        "timecode of the third play: {:?}",
        starts[2]
    );
    let ends: Vec<(u64, &str, f64)> = entries
        .iter()
        .filter(|e| e["record"]["kind"] == "end")
        .map(|e| {
            let r = &e["record"];
            let heard = r["heard_frames"].as_u64().unwrap() as f64 / f64::from(RATE);
            (
                r["play"].as_u64().unwrap(),
                r["ending"].as_str().unwrap(),
                heard,
            )
        })
        .collect();
    // c1 faded out over 1.5 s from 3 s; c2 stopped at 5 s; the last two
    // faded with everything from 9 s.
    let heard = |play: u64| ends.iter().find(|(p, ..)| *p == play).unwrap();
    assert_eq!(heard(1).1, "faded");
    assert!((heard(1).2 - 4.0).abs() < 0.01, "{ends:?}");
    assert_eq!(heard(2).1, "stopped");
    assert!((heard(2).2 - 3.75).abs() < 0.01, "{ends:?}");
    let said = cueboxd_log(&root, &["verify"]);
    assert!(
        said.contains("the play log is whole and both copies agree"),
        "{said}"
    );
    // The index answers by show: the same four plays.
    let rows = json_lines(&cueboxd_log(&root, &["plays", "--show", "live", "--json"]));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0]["clip"], "c1");
    assert_eq!(rows[0]["ending"], "faded");
    assert!((rows[0]["heard_seconds"].as_f64().unwrap() - 4.0).abs() < 0.01);

    // The cue sheet of the run, after a person annotated c1's work: kept in
    // Exports/, and both the annotation and the export are in the audit trail.
    let dir = session.to_str().unwrap();
    cueboxd_log(
        &root,
        &[
            "annotate", dir, "c1", "--usage", "theme", "--review", "verified",
        ],
    );
    let said = cueboxd_log(&root, &["cuesheet", dir, "--format", "json"]);
    let path = said.split(": ").next().unwrap();
    let sheet: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(path.contains("/Exports/"), "{said}");
    assert_eq!(sheet["plays"], 4);
    let works = sheet["works"].as_array().unwrap();
    assert_eq!(works.len(), 2, "c1 and c2 are two works: {sheet}");
    assert_eq!(works[0]["usage"], "theme");
    assert_eq!(works[0]["review"], "verified");
    assert_eq!(works[1]["review"], "pending");
    let trail: Vec<String> = json_lines(&cueboxd_log(&root, &["list", "--json"]))
        .iter()
        .map(|e| e["record"]["kind"].as_str().unwrap().to_owned())
        .skip(8)
        .collect();
    assert_eq!(trail, ["annotation", "export"]);

    technical_logs_of_the_run(&root, &all);
}

/// Runs `cueboxd --root ROOT log ARGS…`, which must succeed; its standard output.
fn cueboxd_log(root: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .arg("--root")
        .arg(root)
        .arg("log")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cueboxd log {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One JSON value per line.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A show that asks for auto-export: each performance whose day is over
/// gets its cue sheet in each preferred format when the box runs, once.
#[test]
fn the_box_exports_each_ended_performance_s_cue_sheet_once() {
    use cuebox_engine::show::ExportFormat;
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let today = jiff::ZonedDateTime::now().date();
    let yesterday = today.yesterday().unwrap();
    let session = session_with(tmp.path(), |show| {
        let info = &mut show.show_info;
        info.performance_dates = vec![yesterday, today, today.tomorrow().unwrap()];
        info.reporting.auto_export = true;
        info.reporting.formats = vec![ExportFormat::Json, ExportFormat::Xml];
    });
    let run = || Box_::start(&card, &session, &["--channels", "2", "--seconds", "2"]).finish();
    let exported: Vec<Value> = run()
        .into_iter()
        .filter(|e| e["event"] == "cuesheet_exported")
        .collect();
    assert_eq!(
        exported.len(),
        2,
        "yesterday's, in JSON and XML: {exported:?}"
    );
    for e in &exported {
        assert_eq!(e["performance"], yesterday.to_string());
        let file = card.dir.join("root").join(e["file"].as_str().unwrap());
        assert!(file.exists(), "{e}");
    }
    let again = run();
    assert!(
        !again.iter().any(|e| e["event"] == "cuesheet_exported"),
        "not twice: {again:?}"
    );
    let audit = json_lines(&cueboxd_log(&card.dir.join("root"), &["list", "--json"]));
    let by: Vec<&str> = audit
        .iter()
        .filter(|e| e["record"]["kind"] == "export")
        .map(|e| e["record"]["by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["auto-export", "auto-export"]);
}

/// One technical log of the run under `root`, through `cueboxd log tech`.
fn tech_log(root: &Path, kind: &str) -> Vec<Value> {
    let out = cueboxd_log(root, &["tech", kind, "--format", "json", "--out", "-"]);
    serde_json::from_str(&out).unwrap()
}

/// The technical logs the live run left (with `--metrics-interval 2`):
/// what it printed (`printed`) is in the application log, its plays in the
/// playback log, the capture overrun in the errors log, and the device and
/// clock sampled in the metrics log.
fn technical_logs_of_the_run(root: &Path, printed: &[Value]) {
    let names = |entries: &[Value]| -> Vec<String> {
        entries
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    };
    let application = tech_log(root, "application");
    let logged = names(&application);
    for name in [
        "running",
        "device_chosen",
        "started",
        "stopped",
        "stopped_run",
        "saved",
    ] {
        assert!(logged.iter().any(|n| n == name), "no {name} in {logged:?}");
    }
    let printed_but_clock = printed.iter().filter(|e| e["event"] != "clock").count();
    assert_eq!(
        logged.iter().filter(|n| !n.starts_with("techlog_")).count(),
        printed_but_clock,
        "every event printed but the clock's status is in the application log"
    );

    let playback = tech_log(root, "playback");
    let starts: Vec<&str> = playback
        .iter()
        .filter(|e| e["event"] == "started")
        .map(|e| e["clip"].as_str().unwrap())
        .collect();
    assert_eq!(starts, ["c1", "c2", "c2", "c1"]);
    assert_eq!(
        playback
            .iter()
            .filter(|e| e["event"] == "play_logged")
            .count(),
        8
    );
    assert!(playback.iter().all(|e| e["kind"] == "playback"));
    assert!(
        playback
            .windows(2)
            .all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str()),
        "in time order"
    );

    let errors = tech_log(root, "errors");
    assert!(
        errors
            .iter()
            .any(|e| e["event"] == "xrun" && e["dir"] == "capture"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["event"] == "discontinuity" && e["event_at"].is_u64()),
        "{errors:?}"
    );
    assert!(!errors.iter().any(|e| e["event"] == "started"));

    let metrics = tech_log(root, "metrics");
    assert!(metrics.len() >= 3, "a sample every 2 s: {metrics:?}");
    eprintln!("a metrics sample: {}", metrics[metrics.len() - 1]);
    for m in &metrics {
        assert_eq!(m["event"], "sample");
        // The session as the run was given it: here its folder.
        assert!(m["session"].as_str().unwrap().ends_with("show"), "{m}");
        assert_eq!(m["xruns"], 0, "playback never underran: {m}");
        let load = m["dsp_load"].as_f64().unwrap();
        assert!(load > 0.0 && load < 1.0, "DSP load {load}");
        assert!(m["periods"].as_u64().unwrap() > 0);
        assert!(m["clock_source"].is_string(), "{m}");
        assert!(m["clock_sources"].is_array(), "{m}");
    }
    assert!(
        metrics.iter().any(|m| m["xrun_events"].as_u64() > Some(0)),
        "the capture overrun is counted between two samples: {metrics:?}"
    );

    // Without --out, into Exports/<today>/, the path said.
    let said: Value = serde_json::from_str(&cueboxd_log(
        root,
        &["tech", "metrics", "--format", "xml", "--json"],
    ))
    .unwrap();
    let path = PathBuf::from(said["path"].as_str().unwrap());
    assert!(path.starts_with(root.join("Exports")), "{path:?}");
    assert!(path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("techlog-metrics-"));
    assert_eq!(said["entries"], metrics.len());
    let xml = std::fs::read_to_string(&path).unwrap();
    assert!(xml.starts_with("<?xml") && xml.contains("<techLog entries="));
}

#[test]
fn a_blocked_device_underruns_recovers_and_plays_on() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    let events = tmp.path().join("events.json");
    std::fs::write(&events, r#"[{"at": 0.2, "cmd": "go", "clip": "c1"}]"#).unwrap();
    let live = Box_::start(
        &card,
        &session,
        &[
            "--format",
            "S32_LE",
            "--access",
            "mmap",
            "--period",
            "512",
            "--periods",
            "3",
            "--channels",
            "2",
            "--events",
            events.to_str().unwrap(),
            "--seconds",
            "4",
        ],
    );
    live.wait_for("running", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(1500));
    card.fault("out", "block 300");
    let all = live.finish();
    let xrun = all
        .iter()
        .find(|e| e["event"] == "xrun")
        .unwrap_or_else(|| panic!("the blocked write underran: {all:?}"));
    assert_eq!(xrun["dir"], "playback");
    assert!(xrun["lost_frames"].as_u64().unwrap() > 0);
    let summary = &all.iter().find(|e| e["event"] == "stopped_run").unwrap()["summary"];
    assert!(
        summary["playback"]["xruns"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    assert!(summary["playback"]["recovery"]["count"].as_u64().unwrap() >= 1);
    // The output continued: the tone is on the card after the gap.
    let bytes = std::fs::read(tmp.path().join("out.raw")).unwrap();
    let samples: Vec<i32> = bytes
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let last_second = &samples[samples.len() - RATE as usize * 2..];
    assert!(
        last_second.iter().any(|s| s.unsigned_abs() > 1 << 29),
        "the tone plays on after the xrun"
    );
}

#[test]
fn the_card_clock_is_tracked_within_ten_ppm_at_plus_and_minus_500() {
    let tmp = tempfile::tempdir().unwrap();
    let session = session(tmp.path());
    let runs: Vec<(f64, Box_)> = [500.0, -500.0]
        .into_iter()
        .map(|ppm| {
            let dir = tmp.path().join(format!("card{ppm}"));
            std::fs::create_dir_all(&dir).unwrap();
            let card = Card::new(&dir, ppm);
            let b = Box_::start(
                &card,
                &session,
                &[
                    "--period",
                    "1024",
                    "--periods",
                    "3",
                    "--channels",
                    "2",
                    "--seconds",
                    "15",
                ],
            );
            (ppm, b)
        })
        .collect();
    for (ppm, b) in runs {
        let all = b.finish();
        let summary = &all.iter().find(|e| e["event"] == "stopped_run").unwrap()["summary"];
        let estimate = summary["playback"]["card_ppm"].as_f64().unwrap();
        eprintln!("card at {ppm:+} ppm: estimated {estimate:+.2} ppm");
        assert!(
            (estimate - ppm).abs() < 10.0,
            "card at {ppm} ppm, DLL estimate {estimate} ppm"
        );
    }
}

/// Plays a quiet sine; counts periods.
struct Sine {
    phase: f32,
    periods: u64,
}

impl Render for Sine {
    fn render(&mut self, out: &mut [f32], frames: usize, _cycle: &Cycle) {
        for f in out.chunks_exact_mut(2).take(frames) {
            self.phase = (self.phase + 0.05) % std::f32::consts::TAU;
            f[0] = 0.1 * self.phase.sin();
            f[1] = f[0];
        }
        self.periods += 1;
    }
}

/// Sums what it captures and decodes its LTC, as rt-in does.
struct Sum(f64, u64, LtcTap);

impl Record for Sum {
    fn record(&mut self, input: &[f32], frames: usize, cycle: &Cycle) {
        self.0 += input.iter().map(|s| f64::from(*s)).sum::<f64>();
        self.2.take(input, frames, 2, cycle);
    }
    fn discontinuity(&mut self, at: u64, frames: u64) {
        self.1 += frames;
        self.2.discontinuity(at + frames);
    }
}

#[test]
fn the_device_loops_never_allocate() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    // LTC on the left channel, as S24_3LE.
    let ltc: Vec<u8> = ltc_capture(3, 0)
        .chunks(4)
        .flat_map(|b| {
            let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let i = (f64::from(x) * 8_388_607.0).round() as i32;
            let [b0, b1, b2, _] = i.to_le_bytes();
            [b0, b1, b2]
        })
        .collect();
    std::fs::write(tmp.path().join("in.raw"), ltc).unwrap();
    // This process opens the card itself: point alsa-lib at its config.
    std::env::set_var("ALSA_CONFIG_PATH", card.alsa_config_path());
    let config = |name: &str| PcmConfig {
        name: name.into(),
        rate: RATE,
        period: 256,
        periods: 3,
        format: Some(SampleFormat::S16Le),
        access: Access::ReadWrite,
        channels: 2,
    };
    // The other tests play FLOAT_LE (rw) and S32_LE (mmap); these two cover
    // S16_LE (rw) and S24_3LE (mmap).
    let (mut out, _out_events) = Stream::open(&config("paced_out"), StreamDir::Playback).unwrap();
    let capture = PcmConfig {
        format: Some(SampleFormat::S24_3Le),
        access: Access::Mmap,
        ..config("paced_in")
    };
    let (mut inp, _in_events) = Stream::open(&capture, StreamDir::Capture).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let before = violation_count();
    let (s1, s2) = (Arc::clone(&stop), Arc::clone(&stop));
    let player = std::thread::spawn(move || {
        let mut sine = Sine {
            phase: 0.0,
            periods: 0,
        };
        assert_no_alloc(|| out.play(&mut sine, &s1)).unwrap();
        sine.periods
    });
    let (tap, mut heard) = LtcTap::new(0, RATE, 256);
    let recorder = std::thread::spawn(move || {
        let mut sum = Sum(0.0, 0, tap);
        assert_no_alloc(|| inp.capture(&mut sum, &s2)).unwrap();
        inp.stats().snapshot().cycles
    });
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let played = player.join().unwrap();
    let captured = recorder.join().unwrap();
    assert!(
        played > 300,
        "two seconds of 256-frame periods played ({played})"
    );
    assert!(captured > 300, "and captured ({captured})");
    let mut frames = 0;
    while heard.pop().is_ok() {
        frames += 1;
    }
    assert!(frames >= 25, "and decoded its LTC ({frames} frames)");
    assert_eq!(
        violation_count(),
        before,
        "the playback and capture loops allocated"
    );
}

/// The box's status over its API, as `hostctl status` gets it.
fn api_status(client: &mut Client) -> Status {
    match client.call(&Request::Status).unwrap() {
        Response::Status(s) => *s,
        other => panic!("not a status: {other:?}"),
    }
}

/// Sends `command` for now over the API; it must be taken.
fn command(client: &mut Client, command: cuebox_engine::control::Command) {
    let answer = client
        .call(&Request::Command { at: None, command })
        .unwrap();
    assert!(matches!(answer, Response::Accepted { .. }), "{answer:?}");
}

/// A PANIC silences what was about to play too: a GO waiting for its show
/// time is cancelled (said as such), never starts, and leaves the queue.
#[test]
fn a_panic_cancels_a_go_waiting_for_its_show_time() {
    use cuebox_engine::control::{At, Command};
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    let live = Box_::start(
        &card,
        &session,
        &[
            "--channels",
            "2",
            "--listen",
            "127.0.0.1:0",
            "--seconds",
            "12",
        ],
    );
    live.wait_for("running", Duration::from_secs(20));
    let mut client = live.client(&card, Role::Control);
    let at = api_status(&mut client).show_seconds + 1.5;
    let go = Request::Command {
        at: Some(At::Seconds(at)),
        command: Command::Go {
            clip: "c1".parse().unwrap(),
            time: None,
        },
    };
    assert!(matches!(
        client.call(&go).unwrap(),
        Response::Accepted { .. }
    ));
    let queued = api_status(&mut client).queued;
    assert_eq!(queued.len(), 1, "c1 waits for its time: {queued:?}");
    command(&mut client, Command::Panic {});
    let cancelled = live.wait_for("command_failed", Duration::from_secs(2));
    assert_eq!(cancelled["reason"], "cancelled by PANIC", "{cancelled}");
    assert_eq!(cancelled["command"]["clip"], "c1", "{cancelled}");
    assert!(api_status(&mut client).queued.is_empty());
    // Past its time, and then some: it never started.
    std::thread::sleep(Duration::from_secs(3));
    assert!(live.find("started").is_none(), "c1 started after the PANIC");
    assert!(card.played_f32(2)[0].iter().all(|&x| x == 0.0), "silence");
}

#[test]
fn status_meters_show_a_playing_clip_at_its_level_and_silence_at_the_floor() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    let live = Box_::start(
        &card,
        &session,
        &[
            "--channels",
            "2",
            "--listen",
            "127.0.0.1:0",
            "--seconds",
            "60",
        ],
    );
    live.wait_for("running", Duration::from_secs(20));
    let mut client = live.client(&card, Role::Control);
    let reading = |s: &Status, bus: &str| -> Vec<MeterChannel> {
        let m = s.meters.iter().find(|m| m.bus == bus);
        m.unwrap_or_else(|| panic!("no meter for {bus}: {:?}", s.meters))
            .channels
            .clone()
    };

    // Nothing has played: every bus reads the floor.
    let quiet = api_status(&mut client);
    let busses: Vec<&str> = quiet.meters.iter().map(|m| m.bus.as_str()).collect();
    assert_eq!(busses, ["A", "B", "C", "D", "main", "audition"]);
    for m in &quiet.meters {
        assert_eq!(m.channels.len(), 2, "{m:?}");
        for c in &m.channels {
            assert!(
                c.peak_dbfs.is_silent() && c.hold_dbfs.is_silent() && c.rms_dbfs.is_silent(),
                "{m:?}"
            );
        }
    }

    // c1 is a 0.5 sine (−6.02 dBFS peak, −9.03 dBFS RMS) on both sides of
    // group A. After two seconds (the RMS has settled) status shows it on A
    // and the mains, and the floor everywhere else.
    command(
        &mut client,
        cuebox_engine::control::Command::Go {
            clip: "c1".parse().unwrap(),
            time: None,
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    let playing = api_status(&mut client);
    assert_eq!(playing.playing.len(), 1, "{playing:?}");
    let near = |got: Dbfs, want: f32, within: f32, what: &str| {
        assert!(
            (got.db() - want).abs() < within,
            "{what}: {got} dBFS, expected {want}"
        );
    };
    for bus in ["A", "main"] {
        for c in reading(&playing, bus) {
            // The bar falls 20 dB/s between the control thread's reads (every 5 ms).
            near(c.peak_dbfs, -6.02, 0.5, bus);
            near(c.hold_dbfs, -6.02, 0.05, bus);
            near(c.rms_dbfs, -9.03, 0.1, bus);
        }
    }
    for bus in ["B", "C", "D", "audition"] {
        for c in reading(&playing, bus) {
            assert!(
                c.peak_dbfs.is_silent() && c.rms_dbfs.is_silent(),
                "{bus}: {c:?}"
            );
        }
    }
    // `hostctl status --json` prints this; the meters are plain numbers.
    let json = serde_json::to_value(&playing).unwrap();
    let a_left = json["meters"][0]["channels"][0]["peak_dbfs"]
        .as_f64()
        .unwrap();
    assert!((a_left + 6.02).abs() < 0.5, "{json}");

    // Faded to −12 dB live, over 0.2 s: it plays on 12 dB down.
    command(
        &mut client,
        cuebox_engine::control::Command::FadeTo {
            clip: "c1".parse().unwrap(),
            level_db: -12.0,
            time: Some(0.2),
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    let ducked = api_status(&mut client);
    assert_eq!(ducked.playing.len(), 1, "{ducked:?}");
    for c in reading(&ducked, "A") {
        near(c.peak_dbfs, -18.02, 0.5, "A ducked");
        near(c.rms_dbfs, -21.03, 0.2, "A ducked");
    }

    // Stopped: the bar falls at 20 dB/s, under the hold.
    command(&mut client, cuebox_engine::control::Command::StopAll {});
    std::thread::sleep(Duration::from_millis(600));
    let stopped = api_status(&mut client);
    for c in reading(&stopped, "A") {
        assert!(c.peak_dbfs.db() < -12.0, "{c:?}");
        assert!(c.rms_dbfs.db() < -12.0, "{c:?}");
    }
}

/// What an operator set up during a show — the playhead, the lock, a group
/// level ridden live — is where they left it after the box is killed
/// outright (SIGKILL: no save at exit) and starts again; and auto-save's
/// on-change recovery point carries it too.
#[test]
fn the_playhead_lock_and_live_levels_survive_a_kill_and_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    let args = [
        "--channels",
        "2",
        "--listen",
        "127.0.0.1:0",
        "--seconds",
        "60",
    ];
    let group_a = |client: &mut Client| -> f32 {
        let status = api_status(client);
        let a = status.meters.iter().find(|m| m.bus == "A").unwrap();
        // The peak now, not the hold: the level's 1 ms ramp may overlap
        // the tone's first millisecond.
        a.channels[0].peak_dbfs.db()
    };
    let go = |client: &mut Client| -> String {
        match client.call(&Request::GoNext { time: None }).unwrap() {
            Response::Went { clip, .. } => clip,
            other => panic!("not a GO: {other:?}"),
        }
    };
    let first = Box_::start(&card, &session, &args);
    first.wait_for("running", Duration::from_secs(20));
    let mut client = first.client(&card, Role::Control);
    command(
        &mut client,
        cuebox_engine::control::Command::GroupLevel {
            group: Group::A,
            level_db: -12.0,
            time: None,
        },
    );
    assert_eq!(go(&mut client), "c1", "the first GO starts cue 1");
    // The voice's start says which host started it.
    let started = first.wait_for("started", Duration::from_secs(5));
    assert_eq!(started["origin"]["input"], "api", "{started}");
    assert!(
        started["origin"]["from"]
            .as_str()
            .is_some_and(|f| f.starts_with("127.0.0.1:") && f.contains(" SHA256:")),
        "{started}"
    );
    client.call(&Request::Lock { locked: true }).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // The tone (−6.02 dBFS) plays 12 dB down.
    let heard = group_a(&mut client);
    assert!((heard + 18.02).abs() < 0.5, "{heard} dBFS");
    first.wait_for("lock", Duration::from_secs(1));
    // The on-change recovery point (2 s after the last change) holds it.
    let folder = SessionDir::open(&session).unwrap();
    let end = Instant::now() + Duration::from_secs(15);
    let point = loop {
        let points = folder.recovery_points().unwrap();
        if let Some(p) = points.iter().find(|p| p.reason.as_str() == "change") {
            break p.clone();
        }
        assert!(
            Instant::now() < end,
            "no on-change recovery point: {points:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let saved = point.load().unwrap().show.runtime;
    assert!(saved.locked);
    assert_eq!(saved.deck.playhead, Playhead::At(2));
    assert_eq!(saved.group_levels.get(&Group::A), Some(&-12.0));
    drop(first); // SIGKILL

    let second = Box_::start(&card, &session, &args);
    second.wait_for("running", Duration::from_secs(20));
    let playhead = second.wait_for("playhead", Duration::from_secs(5));
    assert_eq!(playhead["clip"], "c2", "{playhead}");
    let mut client = second.client(&card, Role::Control);
    assert!(api_status(&mut client).locked, "still locked");
    assert_eq!(go(&mut client), "c2", "the next GO starts cue 2");
    command(
        &mut client,
        cuebox_engine::control::Command::Go {
            clip: "c1".parse().unwrap(),
            time: None,
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    let heard = group_a(&mut client);
    assert!(
        (heard + 18.02).abs() < 0.5,
        "group A is still 12 dB down: {heard} dBFS"
    );
}

#[test]
fn commands_come_over_the_socket_with_answers_and_sigint_saves_and_stops() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    let socket = tmp.path().join("control.sock");
    let live = Box_::start(
        &card,
        &session,
        &[
            "--channels",
            "4",
            "--control-socket",
            socket.to_str().unwrap(),
        ],
    );
    live.wait_for("running", Duration::from_secs(20));
    let mut conn = UnixStream::connect(&socket).unwrap();
    let mut answers = BufReader::new(conn.try_clone().unwrap()).lines();
    let mut ask = |line: &str| -> Value {
        writeln!(conn, "{line}").unwrap();
        serde_json::from_str(&answers.next().unwrap().unwrap()).unwrap()
    };
    let go = ask(r#"{"cmd": "go", "clip": "c2"}"#);
    assert_eq!(go["ok"], true, "{go}");
    let at = go["accepted"]["at_sample"].as_u64().unwrap();
    let unknown = ask(r#"{"cmd": "go", "clip": "c9"}"#);
    assert_eq!(unknown["ok"], false);
    assert!(
        unknown["reason"].as_str().unwrap().contains("c9"),
        "{unknown}"
    );
    let junk = ask("go c1");
    assert!(
        junk["reason"]
            .as_str()
            .unwrap()
            .contains("not a JSON object"),
        "{junk}"
    );
    let started = live.wait_for("started", Duration::from_secs(5));
    assert_eq!(started["clip"], "c2");
    // It started at the frame answered, or — on a machine too loaded to
    // hand it over in time — later, saying so with a `late` event.
    let began = started["at_sample"].as_u64().unwrap();
    if began != at {
        let late = live.wait_for("late", Duration::from_secs(1));
        assert_eq!(late["at_sample"], at, "{late}");
        assert_eq!(late["applied_sample"], began, "{late}");
    }
    // A line longer than any command is refused, and the client served on.
    let huge = "x".repeat(70_000);
    let refused = ask(&huge);
    assert_eq!(refused["ok"], false);
    assert!(
        refused["reason"].as_str().unwrap().contains("64 KiB"),
        "{refused}"
    );
    assert_eq!(ask(r#"{"cmd": "stop_all"}"#)["ok"], true);
    // One byte over the bound, its newline included: the next line is intact.
    let just_over = "x".repeat(64 * 1024);
    assert_eq!(ask(&just_over)["ok"], false);
    assert_eq!(ask(r#"{"cmd": "stop_all"}"#)["ok"], true);

    // Double-GO protection, as on every input.
    assert_eq!(ask(r#"{"cmd": "go", "clip": "c1"}"#)["ok"], true);
    let again = ask(r#"{"cmd": "go", "clip": "c1"}"#);
    assert_eq!(again["ok"], false, "{again}");
    assert!(
        again["reason"].as_str().unwrap().contains("double-GO"),
        "{again}"
    );
    // Only its owner may connect, whatever the umask (0022 here would have
    // left it 0755), and at most 16 at once: the 17th is told why.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let held: Vec<UnixStream> = (0..15)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();
    let extra = UnixStream::connect(&socket).unwrap();
    let mut told = String::new();
    BufReader::new(extra).read_line(&mut told).unwrap();
    assert!(
        told.contains("16 control socket connections are open; close one"),
        "{told}"
    );
    drop(held);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(live.child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let all = live.finish();
    let saved = all
        .iter()
        .find(|e| e["event"] == "saved")
        .expect("a final save");
    assert!(
        saved["detail"].as_str().unwrap().starts_with("SIGINT"),
        "{saved}"
    );
    assert!(all.iter().any(|e| e["event"] == "stopped_run"));
    assert!(!socket.exists(), "the socket is removed at exit");
}

#[test]
fn sigterm_saves_an_emergency_point_of_the_running_session_and_problems_are_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let dir = session(tmp.path());
    // A problem validation reports: the box still plays, and says so.
    let folder = SessionDir::open(&dir).unwrap();
    let mut show = folder.load().unwrap().show;
    show.clips[0].processing.level_db = 40.0;
    folder.save(&show).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .arg("--root")
        .arg(tmp.path().join("root"))
        .args([
            "run",
            "--device",
            "paced_out",
            "--channels",
            "2",
            "--session",
        ])
        .arg(&dir)
        .env("ALSA_CONFIG_PATH", card.alsa_config_path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let running = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("cueboxd: playing"))
        .expect("cueboxd says it plays");
    assert!(running.contains("(2 clips)"), "{running}");
    // While it runs, no CPU may sleep deeper than polling: the PM QoS
    // request it holds reads back as 0 µs.
    if let Ok(latency) = std::fs::read("/dev/cpu_dma_latency") {
        assert_eq!(
            latency,
            0i32.to_ne_bytes(),
            "cueboxd holds cpu_dma_latency at 0"
        );
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("clips[0].processing.level_db"),
        "validation problems are shown: {stderr}"
    );
    assert!(
        rest.iter()
            .any(|l| l.starts_with("cueboxd: SIGTERM: session saved as recovery point")),
        "{rest:?}"
    );
    let points = folder.recovery_points().unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].reason.as_str(), "emergency");
    assert_eq!(
        points[0].load().unwrap().show,
        show,
        "the point is the session as it ran"
    );
}

/// A PCM that takes audio as fast as it is written (alsa-lib's file plugin
/// over null) never blocks rt-out: the box stops with an error naming it,
/// before RLIMIT_RTTIME's SIGXCPU could kill it, and saves the session; a
/// box serving the API stays up and says why.
#[test]
fn a_device_that_does_not_pace_is_refused_by_name_and_never_kills_the_box() {
    // It spins a real-time thread until caught: never beside a timecode test.
    let _turn = timecode_turn();
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let dir = session(tmp.path());
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cueboxd"))
            .arg("--root")
            .arg(tmp.path().join("root"))
            .args([
                "run",
                "--device",
                "spin",
                "--channels",
                "2",
                "--format",
                "FLOAT_LE",
            ])
            .args(["--no-irq-routing", "--session"])
            .arg(&dir)
            .args(extra)
            .env("ALSA_CONFIG_PATH", card.alsa_config_path())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&["--seconds", "20"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit 1, not killed: {stderr}");
    assert!(
        stderr.contains("cueboxd: error: ALSA PCM \"spin\" does not pace playback"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("session saved as recovery point"),
        "{stdout}"
    );
    // With the API: the box stays up, says why, and tries again.
    let out = run(&["--listen", "127.0.0.1:0", "--json", "--seconds", "3"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let cannot = events
        .iter()
        .find(|e| e["event"] == "cannot_play")
        .expect("cannot_play");
    assert!(
        cannot["detail"]
            .as_str()
            .unwrap()
            .contains("\"spin\" does not pace playback"),
        "{cannot}"
    );
}

/// The active-session file is read exactly: "Solo" with a newline (a hand
/// edit) names no session, so the box stays idle with the API up and says
/// which file and why, rather than playing "Solo".
#[test]
fn an_active_session_file_that_is_not_a_name_leaves_the_box_idle_saying_why() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let file = root.join("active-session");
    std::fs::write(&file, "Solo\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cueboxd"))
        .arg("--root")
        .arg(&root)
        .args([
            "run",
            "--no-irq-routing",
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--seconds",
            "2",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !events.iter().any(|e| e["event"] == "cannot_play"),
        "no session is tried: {events:?}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "listening"),
        "{events:?}"
    );
    let idle = events.iter().find(|e| e["event"] == "idle").expect("idle");
    assert_eq!(
        idle["detail"],
        format!(
            "{} names the active session \"Solo\\n\", which cannot be a session name: it \
             contains a control character; push the session again (hostctl push) or write its \
             exact name there, without a newline",
            file.display()
        )
    );
}

/// SIGXCPU (RLIMIT_RTTIME's soft limit: a real-time thread ran too long
/// without blocking) is caught: the threads go back to SCHED_OTHER, the run
/// says why, saves and exits non-zero — never killed by the hard limit.
#[test]
fn sigxcpu_demotes_the_real_time_threads_saves_and_exits_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let dir = session(tmp.path());
    let mut live = Box_::start(&card, &dir, &["--channels", "2", "--no-irq-routing"]);
    live.wait_for("running", Duration::from_secs(20));
    let pid = live.child.id();
    const SCHED_FIFO: i64 = 1;
    assert_eq!(
        proc_thread(pid, "rt-out").map(|t| t.2),
        Some(SCHED_FIFO),
        "rt-out runs at SCHED_FIFO"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGXCPU,
    )
    .unwrap();
    let status = live.child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{status}");
    if let Some(reader) = live.reader.take() {
        reader.join().unwrap();
    }
    let events = live.events.lock().unwrap().clone();
    let problem = events
        .iter()
        .find(|e| e["event"] == "rt_problem" && e["detail"].as_str().unwrap().contains("SIGXCPU"))
        .unwrap_or_else(|| panic!("the run says why: {events:?}"));
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("SIGXCPU"), "{detail}");
    assert!(
        detail.contains("every real-time thread is back at SCHED_OTHER;"),
        "demoted, none left: {detail}"
    );
    assert!(events.iter().any(|e| e["event"] == "saved"), "{events:?}");
}

/// `seconds` of 25 fps LTC from 10:00:00:00 at −12 dBFS, then `silence`
/// seconds of nothing (the cable pulled), as interleaved stereo f32 bytes
/// with the LTC on channel 1.
fn ltc_capture(seconds: u32, silence: u32) -> Vec<u8> {
    ltc_capture_at(RATE, seconds, silence)
}

/// [`ltc_capture`] of LTC encoded as if the card ran at `encoded_rate`:
/// played at [`RATE`], timecode runs `RATE / encoded_rate` times fast.
fn ltc_capture_at(encoded_rate: u32, seconds: u32, silence: u32) -> Vec<u8> {
    use cuebox_engine::timecode::ltc::Encoder;
    use cuebox_engine::timecode::FrameRate;
    let mut encoder = Encoder::new(
        encoded_rate,
        FrameRate::Fps25,
        "10:00:00:00".parse().unwrap(),
        -12.0,
    );
    let mut ltc = Vec::new();
    for _ in 0..seconds * 25 {
        encoder.encode_frame(&mut ltc);
    }
    ltc.resize(((seconds + silence) * RATE) as usize, 0.0);
    ltc.iter()
        .flat_map(|&x| [x, 0.0])
        .flat_map(f32::to_le_bytes)
        .collect()
}

/// A session that reads LTC on capture channel 1 and follows timecode only
/// (LTC, then MTC: with both gone the clock flywheels, where the system
/// clock, at another time of day, would be a relocate), changed by `edit`.
fn ltc_session(tmp: &Path, edit: impl FnOnce(&mut Show)) -> PathBuf {
    session_with(tmp, |show| {
        show.busses.ltc_input.input = LogicalChannel::new(1);
        show.busses.ltc_input.enabled = true;
        show.time_sources.priority = vec![TimeSourceKind::Ltc, TimeSourceKind::Mtc];
        edit(show);
    })
}

/// The capture arguments of the LTC tests: the paced card's input, the LTC
/// on channel 1 of 2.
const LTC_IN: &[&str] = &["--capture", "paced_in", "--capture-channels", "2"];

/// Eight seconds of `cueboxd run` of `session` with `ltc` (interleaved
/// stereo f32 bytes) on the capture input; every event it printed.
fn run_with_ltc(tmp: &Path, card: &Card, session: &Path, ltc: Vec<u8>) -> Vec<Value> {
    std::fs::write(tmp.join("in.raw"), ltc).unwrap();
    let run = [CLOCK_RUN, LTC_IN, &["--seconds", "8"]].concat();
    Box_::start(card, session, &run).finish()
}

/// The device settings of the clock tests: 1024-frame periods, so the
/// clock thread's tick and the LTC cadence are well inside one.
const CLOCK_RUN: &[&str] = &["--format", "FLOAT_LE", "--period", "1024", "--periods", "3"];

/// The clock statuses from the first lock on (a source followed, or the
/// flywheel after the loss at `lost_at`), asserted never to jump: from one
/// status to the next, timecode minus elapsed samples moves by less than
/// the relocate threshold (2 frames) — what a source's wander and the slew
/// after it can do, and nothing more.
fn one_timeline(events: &[Value], lost_at: u64) -> Vec<&Value> {
    let statuses: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "clock")
        .map(|e| &e["status"])
        .filter(|s| s["source"] != "free" || s["at_sample"].as_u64().unwrap() > lost_at)
        .collect();
    let line = |s: &Value| {
        s["tc_frames"].as_f64().unwrap()
            - s["at_sample"].as_u64().unwrap() as f64 * 25.0 / f64::from(RATE)
    };
    for pair in statuses.windows(2) {
        let step = line(pair[1]) - line(pair[0]);
        assert!(
            step.abs() < 2.0,
            "a jump of {step} frames: {} then {}",
            pair[0],
            pair[1]
        );
    }
    statuses
}

/// Frames since midnight of a 25 fps timecode.
fn tc_frames(tc: &Value) -> f64 {
    let tc: cuebox_engine::timecode::Timecode = tc.as_str().unwrap().parse().unwrap();
    tc.to_frames(cuebox_engine::timecode::FrameRate::Fps25) as f64
}

#[test]
fn ltc_on_the_capture_input_fires_a_timecode_cue_and_a_cut_flywheels_without_a_jump() {
    let _turn = timecode_turn();
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = ltc_session(tmp.path(), |show| {
        show.clips[0].timecode_trigger = Some("10:00:03:00".parse().unwrap());
    });
    let events = run_with_ltc(tmp.path(), &card, &session, ltc_capture(5, 4));
    let named =
        |name: &str| -> Vec<&Value> { events.iter().filter(|e| e["event"] == name).collect() };
    let switches = named("clock_switch");
    // Locked to LTC: from the free-running counter, a relocate. A loaded
    // machine's stalls may drop LTC for a moment (a flywheel, then a slew
    // back); never another relocate.
    assert_eq!(switches[0]["to"], "ltc");
    assert_eq!(switches[0]["relock"]["how"], "relocate");
    for s in &switches[1..] {
        assert_ne!(s["relock"]["how"], "relocate", "a jump: {switches:?}");
    }

    // The cue fired at the sample the timebase reached 10:00:03:00, and the
    // clip started exactly there.
    let cue = named("timecode_cue");
    assert_eq!(cue.len(), 1, "{cue:?}");
    assert_eq!(cue[0]["clip"], "c1");
    let at = cue[0]["at_sample"].as_u64().unwrap();
    let started = named("started");
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(started[0]["clip"], "c1");
    assert_eq!(started[0]["at_sample"].as_u64().unwrap(), at);
    // 3 s into the LTC; the capture and playback streams start within a
    // few periods of each other.
    let expected = 3 * u64::from(RATE);
    assert!(
        at.abs_diff(expected) < 4 * 1024,
        "the cue at sample {at}, 3 s of LTC is {expected}"
    );
    let played = card.played_f32(10);
    let at = at as usize;
    assert!(
        played[0][..at].iter().all(|&x| x == 0.0),
        "silence before the cue"
    );
    let peak = played[0][at..at + 480]
        .iter()
        .fold(0.0f32, |m, x| m.max(x.abs()));
    assert!(peak > 0.1, "the tone from the cue's sample on ({peak})");

    // The cable pulled at 5 s: lost within the timeout, then flywheel.
    let cut = switches.last().unwrap();
    assert_eq!(cut["from"], "ltc");
    assert_eq!(cut["to"], Value::Null);
    assert_eq!(cut["relock"]["how"], "flywheel");
    assert!(cut["reason"].as_str().unwrap().starts_with("lost"), "{cut}");
    let cut_at = cut["at_sample"].as_u64().unwrap();
    let lost_by = 5 * u64::from(RATE) + u64::from(RATE) / 10 + 6 * 1024;
    assert!(
        (5 * u64::from(RATE)..lost_by).contains(&cut_at),
        "LTC cut at 5 s was declared lost at sample {cut_at}"
    );

    // The timebase never jumped: every status once locked, before and
    // after the cut, tells the same timeline within a frame.
    let statuses = one_timeline(&events, cut_at);
    assert!(statuses.len() >= 5, "{statuses:?}");
    let ltc = statuses
        .iter()
        .find(|s| s["source"] == "ltc")
        .expect("a status while following LTC");
    let offset = ltc["sources"][0]["offset_us"].as_f64().unwrap();
    assert!(offset.abs() < 1_000.0, "LTC {offset} µs from the timebase");
}

/// Held by each timecode test: their clocks judge sources by how steadily
/// timecode arrives, and two real-time boxes decoding LTC or MTC at once on
/// a 2-core machine starve each other's clock threads into false losses.
static TIMECODE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timecode_turn() -> std::sync::MutexGuard<'static, ()> {
    TIMECODE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Zero crossings upward per second in `x`: a tone's frequency.
fn frequency(x: &[f32]) -> f64 {
    let ups = x.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    ups as f64 * f64::from(RATE) / x.len() as f64
}

#[test]
fn a_chasing_clip_joins_running_ltc_mid_way_varispeeds_with_it_and_stops_with_it() {
    let _turn = timecode_turn();
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    // The tone's cue start sits where the LTC begins: the box locks a few
    // frames later and joins it mid-way; its 6 s outlast the 5 s of LTC.
    let session = ltc_session(tmp.path(), |show| {
        show.clips[0].timecode_trigger = Some("10:00:00:00".parse().unwrap());
        show.clips[0].timecode_chase = true;
    });
    // LTC running 2 % fast for 5 s, then the cable pulled.
    let encoded = 47_059;
    let speed = f64::from(RATE) / f64::from(encoded);
    let events = run_with_ltc(tmp.path(), &card, &session, ltc_capture_at(encoded, 5, 4));
    let named =
        |name: &str| -> Vec<&Value> { events.iter().filter(|e| e["event"] == name).collect() };
    let starts = named("chase_start");
    assert!(!starts.is_empty(), "no chase_start: {events:?}");
    let first = starts[0];
    assert_eq!(first["clip"], "c1");
    let at = first["at_sample"].as_u64().unwrap();
    // Joined mid-way where the LTC then was (at · speed samples in), within
    // the LTC's capture-to-playback lag.
    let from = first["from_frame"].as_u64().unwrap() as f64;
    let expected = at as f64 * speed;
    assert!(from > 0.0, "joined mid-way, not from the start");
    assert!(
        (from - expected).abs() < 4.0 * 1024.0,
        "joined at sequence frame {from}, timecode says {expected}"
    );
    assert!(
        (first["speed"].as_f64().unwrap() - speed).abs() < 0.02,
        "{first}"
    );
    let started = named("started");
    assert_eq!(started[0]["at_sample"].as_u64(), Some(at), "{started:?}");
    // Locked: no jump ever made it relocate.
    let stops = named("chase_stop");
    assert!(
        stops.iter().all(|s| s["reason"] != "timecode jumped"),
        "{stops:?}"
    );
    // The cable pulled at 5 s: the clip stops with the timecode.
    let last = stops.last().expect("a chase_stop when the LTC stopped");
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .starts_with("timecode stopped"),
        "{last}"
    );
    let stopped_at = last["at_sample"].as_u64().unwrap();
    assert!(stopped_at > 5 * u64::from(RATE), "{last}");
    // What the card played: the 440 Hz tone, 2 % sharp, as the LTC ran.
    let played = card.played_f32(10);
    let at = at as usize;
    let window = &played[0][at + RATE as usize / 2..at + 3 * RATE as usize / 2];
    let f = frequency(window);
    assert!(
        (f - 440.0 * speed).abs() < 3.0,
        "the tone plays at {f} Hz; chasing LTC {speed}× fast it is {}",
        440.0 * speed
    );
    // rt-in's processing (decode and the LTC decoder) is timed per period.
    let run = named("stopped_run");
    let capture = &run[0]["summary"]["capture"];
    let process = &capture["process"];
    assert_eq!(process["count"], capture["cycles"], "{capture}");
    let period_us = 1024 * 1_000_000 / u64::from(RATE);
    assert!(process["p50_us"].as_u64().unwrap() < period_us, "{capture}");
    let after = stopped_at as usize + RATE as usize / 10;
    assert!(
        played[0][after..after + RATE as usize / 2]
            .iter()
            .all(|&x| x == 0.0),
        "silence once the timecode stopped"
    );
}

/// A JACK server on the dummy driver (MIDI ports without a sound card);
/// killed when dropped. One at a time: the tests that need one take turns.
struct Jack {
    child: Child,
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// Held while a JACK server runs.
static JACK: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Jack {
    fn start(dir: &Path) -> Jack {
        let turn = JACK.lock().unwrap_or_else(|e| e.into_inner());
        // One fixed name: jackd keeps a registry of server names in shared
        // memory, and a server that never cleaned up holds its slot.
        let name = "cuebox-test";
        let log = dir.join("jackd.log");
        let child = Command::new("jackd")
            .args(["-n", name, "-d", "dummy", "-r", "48000", "-p", "256"])
            .env("JACK_NO_AUDIO_RESERVATION", "1")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .expect("jackd runs (apt-get install jackd2)");
        // Clients of this process find the server by name, and never start one.
        std::env::set_var("JACK_DEFAULT_SERVER", name);
        std::env::set_var("JACK_NO_START_SERVER", "1");
        let mut jack = Jack { child, _turn: turn };
        let deadline = Instant::now() + Duration::from_secs(30);
        while midir::MidiOutput::new("probe").is_err() {
            let gone = jack.child.try_wait().unwrap();
            assert!(
                gone.is_none() && Instant::now() < deadline,
                "jackd did not come up ({gone:?}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        jack
    }
}

impl Drop for Jack {
    /// SIGTERM, so jackd frees its shared memory (a killed one leaves it).
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// An MTC stream from mido: `seconds` of 25 fps quarter frames from
/// 01:00:00:00, joined as it runs (no full frame first), as MIDI messages.
fn mido_mtc(seconds: u32) -> Vec<Vec<u8>> {
    mido_mtc_from(25 * 3600, seconds)
}

/// [`mido_mtc`] from `start` (25 fps frames since midnight, even).
fn mido_mtc_from(start: u64, seconds: u32) -> Vec<Vec<u8>> {
    let script = r#"
import sys, mido
seconds, start = int(sys.argv[1]), int(sys.argv[2])
out = []
for seq in range(seconds * 25 // 2):
    total = start + 2 * seq
    hh, mm, ss, ff = total // 90000, total // 1500 % 60, total // 25 % 60, total % 25
    hours = 1 << 5 | hh
    values = [ff & 15, ff >> 4, ss & 15, ss >> 4, mm & 15, mm >> 4, hours & 15, hours >> 4]
    out += [mido.Message("quarter_frame", frame_type=p, frame_value=v) for p, v in enumerate(values)]
for m in out:
    print(m.hex())
"#;
    let out = Command::new("python3")
        .args(["-c", script, &seconds.to_string(), &start.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mido is missing? (pip install mido): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.split(' ')
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect()
        })
        .collect()
}

/// An MTC output port, `mtc-peer:out`, on the running JACK server.
fn mtc_peer() -> midir::MidiOutputConnection {
    use midir::os::unix::VirtualOutput;
    midir::MidiOutput::new("mtc-peer")
        .unwrap()
        .create_virtual("out")
        .expect("a JACK MIDI output port")
}

/// Sends `messages` in real time from `t0`: a quarter frame every 10 ms.
fn send_mtc(peer: &mut midir::MidiOutputConnection, messages: &[Vec<u8>], t0: Instant) {
    for (k, m) in messages.iter().enumerate() {
        let due = t0 + Duration::from_millis(10 * k as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        peer.send(m).unwrap();
    }
}

#[test]
fn mtc_through_a_real_jack_port_drives_the_clock_and_its_loss_flywheels() {
    let _turn = timecode_turn();
    let tmp = tempfile::tempdir().unwrap();
    let _jack = Jack::start(tmp.path());
    let mut peer = mtc_peer();
    let card = Card::new(tmp.path(), 0.0);
    let session = session_with(tmp.path(), |show| {
        show.time_sources.priority = vec![TimeSourceKind::Mtc];
    });
    let live = Box_::start(
        &card,
        &session,
        &[CLOCK_RUN, &["--mtc", "mtc-peer", "--seconds", "6"]].concat(),
    );
    live.wait_for("running", Duration::from_secs(20));
    // 3 s of MTC in real time: a quarter frame every 10 ms.
    send_mtc(&mut peer, &mido_mtc(3), Instant::now());
    let events = live.finish();
    let named =
        |name: &str| -> Vec<&Value> { events.iter().filter(|e| e["event"] == name).collect() };
    // Joined mid-stream, a time is whole after eight quarter frames: two
    // frames, 80 ms at 25 fps, counted from the first (70 ms to the eighth).
    let locked = named("mtc_locked");
    assert_eq!(locked.len(), 1, "{locked:?}");
    assert!(locked[0]["port"].as_str().unwrap().contains("mtc-peer"));
    let lock_ms = locked[0]["after_ms"].as_f64().unwrap();
    eprintln!("MTC lock time: {lock_ms:.1} ms (two frames: 80 ms)");
    assert!(
        (60.0..=120.0).contains(&lock_ms),
        "locked after {lock_ms} ms"
    );
    let switches = named("clock_switch");
    assert!(switches[0]["to"].as_str().unwrap().starts_with("mtc:"));
    assert_eq!(switches[0]["relock"]["how"], "relocate");
    for s in &switches[1..] {
        assert_ne!(s["relock"]["how"], "relocate", "a jump: {switches:?}");
    }
    let lost = switches.last().unwrap();
    // The peer stopped: lost, then flywheel.
    assert_eq!(lost["to"], Value::Null);
    assert_eq!(lost["relock"]["how"], "flywheel");
    assert!(lost["reason"].as_str().unwrap().starts_with("lost"));
    // Never a jump, through the loss; and the time is MTC's.
    let cut_at = lost["at_sample"].as_u64().unwrap();
    let statuses = one_timeline(&events, cut_at);
    assert!(statuses.len() >= 3, "{statuses:?}");
    let during = statuses.iter().find(|s| s["source"] == "mtc").unwrap();
    let tc = tc_frames(&during["timecode"]);
    assert!(
        (90_000.0..90_000.0 + 3.0 * 25.0).contains(&tc),
        "MTC's 01:00:00:00 onwards, got {}",
        during["timecode"]
    );
}

#[test]
fn ltc_cut_mid_stream_fails_over_to_mtc_on_the_same_timeline_without_a_jump() {
    let _turn = timecode_turn();
    const CUT_S: u32 = 6;
    let tmp = tempfile::tempdir().unwrap();
    let _jack = Jack::start(tmp.path());
    let mut peer = mtc_peer();
    let card = Card::new(tmp.path(), 0.0);
    let session = ltc_session(tmp.path(), |_| {});
    // 6 s of LTC from 10:00:00:00, then the cable pulled.
    std::fs::write(tmp.path().join("in.raw"), ltc_capture(CUT_S, 5)).unwrap();
    // MTC of the same timeline, made before the box starts so that python's
    // start-up is never on the timing path: two frames per 8 quarter frames.
    const LTC_START: u64 = 10 * 3600 * 25;
    let mtc = mido_mtc_from(LTC_START, CUT_S + 6);
    let live = Box_::start(
        &card,
        &session,
        &[CLOCK_RUN, LTC_IN, &["--mtc", "mtc-peer", "--seconds", "10"]].concat(),
    );
    // The box's first status on LTC tells the time of day the LTC carries
    // now; the MTC peer then runs the same timeline, as a second timecode
    // feed of the same show would, from a whole second on.
    let end = Instant::now() + Duration::from_secs(20);
    let (status, seen) = loop {
        let on_ltc = live
            .all("clock")
            .into_iter()
            .find(|e| e["status"]["source"] == "ltc");
        if let Some(e) = on_ltc {
            break (e["status"].clone(), Instant::now());
        }
        assert!(Instant::now() < end, "never locked to LTC");
        std::thread::sleep(Duration::from_millis(1));
    };
    let tc_now = status["tc_frames"].as_f64().unwrap();
    let start = ((tc_now / 25.0).floor() as u64 + 1) * 25;
    let t0 = seen + Duration::from_secs_f64((start as f64 - tc_now) / 25.0);
    let skip = (start - LTC_START) as usize / 2 * 8;
    send_mtc(&mut peer, &mtc[skip..], t0);
    let events = live.finish();
    let switches: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "clock_switch")
        .collect();
    // LTC lost at 6 s: MTC takes over in the tick that finds the loss, and
    // re-locks by slewing, never by a relocate.
    let over = switches
        .iter()
        .find(|s| s["from"] == "ltc" && s["reason"].as_str().unwrap().starts_with("lost"))
        .unwrap_or_else(|| panic!("no loss of LTC: {switches:?}"));
    assert!(
        over["to"].as_str().is_some_and(|to| to.starts_with("mtc:")),
        "MTC (sent from {start} frames, LTC seen at {tc_now}) did not take over: {over}"
    );
    assert_eq!(over["relock"]["how"], "slew", "{over}");
    let cut_at = over["at_sample"].as_u64().unwrap();
    let cut = u64::from(CUT_S) * u64::from(RATE);
    let lost_by = cut + u64::from(RATE) / 10 + 6 * 1024;
    assert!(
        (cut..lost_by).contains(&cut_at),
        "LTC cut at {CUT_S} s was declared lost at sample {cut_at}"
    );
    for s in &switches[1..] {
        assert_ne!(s["relock"]["how"], "relocate", "a jump: {switches:?}");
    }
    // One timeline before and after, and MTC carries it on.
    let statuses = one_timeline(&events, cut_at);
    assert!(
        statuses
            .iter()
            .any(|s| s["source"] == "mtc" && s["at_sample"].as_u64().unwrap() > cut_at),
        "{statuses:?}"
    );
}

/// An OSC message as bytes.
fn osc(addr: &str, args: Vec<rosc::OscType>) -> Vec<u8> {
    rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
        addr: addr.into(),
        args,
    }))
    .unwrap()
}

/// The address and JSON body of an OSC reply.
fn reply(bytes: &[u8]) -> (String, Value) {
    let (_, packet) = rosc::decoder::decode_udp(bytes).unwrap();
    let rosc::OscPacket::Message(m) = packet else {
        panic!("a bundle: {packet:?}")
    };
    let body = match m.args.first() {
        Some(rosc::OscType::String(s)) => {
            serde_json::from_str(s).unwrap_or(Value::String(s.clone()))
        }
        _ => Value::Null,
    };
    (m.addr, body)
}

#[test]
fn osc_msc_and_a_grid_controller_play_the_show_with_passcodes_and_replies() {
    use cueboxd::showctl::slip::{self, Frame, SlipReader};
    use midir::os::unix::VirtualOutput;
    use rosc::OscType::{Float, Int, String as Str};
    use std::io::Write;
    use std::net::{TcpStream, UdpSocket};
    let tmp = tempfile::tempdir().unwrap();
    let _jack = Jack::start(tmp.path());
    let mut grid = midir::MidiOutput::new("grid-peer")
        .unwrap()
        .create_virtual("out")
        .expect("a JACK MIDI output port");
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let config = tmp.path().join("showctl.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "osc": {"bind": "127.0.0.1", "port": 0, "reply_port": udp.local_addr().unwrap().port(),
                    "passcodes": [{"code": "4321", "role": "control"}, {"code": "1111", "role": "view"}]},
            "msc": {"device_id": 1, "udp_port": 0},
            "midi": [{"port": "grid-peer", "grid": {"notes": 36}, "msc": true}]
        })
        .to_string(),
    )
    .unwrap();
    let live = Box_::start(
        &card,
        &session,
        &[
            "--showctl",
            config.to_str().unwrap(),
            "--name",
            "stage-left",
            "--seconds",
            "60",
        ],
    );
    let listening = live.wait_for("showctl_listening", Duration::from_secs(20));
    assert_eq!(listening["osc_open_role"], Value::Null, "passcodes only");
    live.wait_for("running", Duration::from_secs(20));
    let addr =
        |k: &str| -> std::net::SocketAddr { listening[k].as_str().unwrap().parse().unwrap() };
    let (osc_udp, osc_tcp, msc_udp) = (addr("osc_udp"), addr("osc_tcp"), addr("msc_udp"));
    let mut buf = [0u8; 65_536];
    let mut ask = |address: &str, args: Vec<rosc::OscType>| -> Value {
        udp.send_to(&osc(address, args), osc_udp).unwrap();
        let (n, _) = udp.recv_from(&mut buf).expect("a reply on the reply port");
        let (at, body) = reply(&buf[..n]);
        assert_eq!(at, format!("/reply{address}"));
        assert_eq!(body["workspace_id"], "stage-left");
        body
    };
    let started = |clip: &str, n: usize| {
        let end = Instant::now() + Duration::from_secs(5);
        while live
            .all("started")
            .iter()
            .filter(|e| e["clip"] == clip)
            .count()
            < n
        {
            assert!(
                Instant::now() < end,
                "{clip} did not start {n} time(s): {:?}",
                live.all("showctl_refused")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };

    // Passcodes: nothing before /connect, queries only with the view code.
    assert_eq!(ask("/go", vec![])["status"], "denied");
    assert_eq!(ask("/connect", vec![Str("0000".into())])["data"], "badpass");
    assert_eq!(ask("/connect", vec![Str("1111".into())])["data"], "ok:view");
    assert_eq!(ask("/go", vec![])["status"], "denied");
    assert!(live.all("started").is_empty(), "a denied GO starts nothing");
    assert_eq!(
        ask("/connect", vec![Str("4321".into())])["data"],
        "ok:view|control"
    );
    // The playhead starts at button 1 (c1); /go moves it on to c2.
    let head = ask("/playhead", vec![]);
    assert_eq!(head["data"]["playhead"]["clip"], "c1", "{head}");
    udp.send_to(&osc("/go", vec![]), osc_udp).unwrap();
    started("c1", 1);
    assert_eq!(
        ask("/playhead", vec![])["data"]["playhead"]["number"],
        "1.1.2"
    );
    // Past the last cue a bare GO starts nothing: it never wraps to the top.
    udp.send_to(&osc("/playhead/next", vec![]), osc_udp)
        .unwrap();
    assert_eq!(ask("/playhead", vec![])["data"]["playhead"], Value::Null);
    let past = ask("/go", vec![]);
    assert_eq!(past["status"], "error", "{past}");
    assert!(
        past["data"].as_str().unwrap().contains("never wraps"),
        "{past}"
    );
    udp.send_to(&osc("/playhead/previous", vec![]), osc_udp)
        .unwrap();
    assert_eq!(ask("/playhead", vec![])["data"]["playhead"]["clip"], "c2");
    let running = ask("/runningOrPausedCues", vec![]);
    assert_eq!(running["data"][0]["uniqueID"], "c1", "{running}");
    assert_eq!(running["data"][0]["running"], true);
    assert_eq!(running["data"][0]["number"], "1.1.1");
    udp.send_to(&osc("/pause", vec![]), osc_udp).unwrap();
    live.wait_for("paused", Duration::from_secs(5));
    assert_eq!(
        ask("/runningOrPausedCues", vec![])["data"][0]["paused"],
        true
    );
    assert_eq!(ask("/runningCues", vec![])["data"], serde_json::json!([]));
    udp.send_to(&osc("/resume", vec![]), osc_udp).unwrap();
    live.wait_for("resumed", Duration::from_secs(5));
    let wrong = ask("/cue/9/start", vec![]);
    assert_eq!(wrong["status"], "error");
    assert!(
        wrong["data"]
            .as_str()
            .unwrap()
            .contains("button 1.1.9 has no clip"),
        "{wrong}"
    );
    assert_eq!(ask("/settings/general/minGoTime", vec![])["data"], 0.3);

    // TCP with SLIP: replies on the connection, and updates when subscribed.
    let tcp = TcpStream::connect(osc_tcp).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut frames = SlipReader::new(tcp.try_clone().unwrap(), 65_536);
    let mut writer = tcp;
    let next = |frames: &mut SlipReader<TcpStream>| match frames.next_frame().unwrap() {
        Frame::Packet(p) => reply(&p),
        other => panic!("{other:?}"),
    };
    // Updates may come before a reply (a GO moves the playhead): kept aside.
    let mut updates = Vec::new();
    for (address, args) in [
        ("/connect", vec![Str("4321".into())]),
        ("/updates", vec![Int(1)]),
        ("/cue/2/start", vec![]),
    ] {
        writer
            .write_all(&slip::encode(&osc(address, args)))
            .unwrap();
        let (at, body) = loop {
            let (at, body) = next(&mut frames);
            if !at.starts_with("/update/") {
                break (at, body);
            }
            updates.push(at);
        };
        assert_eq!(
            (at.as_str(), &body["status"]),
            (format!("/reply{address}").as_str(), &Value::from("ok")),
            "{body}"
        );
    }
    started("c2", 1);
    let end = Instant::now() + Duration::from_secs(5);
    while !updates
        .iter()
        .any(|at| at == "/update/workspace/stage-left/cue_id/c2")
    {
        updates.push(next(&mut frames).0);
        assert!(Instant::now() < end, "no update for c2");
    }
    udp.send_to(&osc("/panicInTime", vec![Float(0.2)]), osc_udp)
        .unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while live.all("stopped").len() < 2 {
        assert!(Instant::now() < end, "the panic did not stop both clips");
        std::thread::sleep(Duration::from_millis(10));
    }

    // MSC over UDP: GO of cue 2 for this device; another device's is ignored.
    let msc = |device: u8, command: u8, data: &[u8]| -> Vec<u8> {
        [&[0xF0, 0x7F, device, 0x02, 0x10, command], data, &[0xF7]].concat()
    };
    std::thread::sleep(Duration::from_millis(400)); // past double-GO protection
    udp.send_to(&msc(2, 0x01, b"1"), msc_udp).unwrap();
    udp.send_to(&msc(1, 0x01, b"2"), msc_udp).unwrap();
    started("c2", 2);
    // A grid controller's note 37 (base 36) is button 2; its MSC ALL_OFF stops all.
    std::thread::sleep(Duration::from_millis(400)); // past double-GO protection
    grid.send(&[0x90, 37, 100]).unwrap();
    started("c2", 3);
    grid.send(&msc(0x7F, 0x08, b"")).unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while live.all("stopped").len() < 4 {
        assert!(Instant::now() < end, "ALL_OFF over MIDI did not stop c2");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Hostile input is refused, named, and changes nothing.
    udp.send_to(b"\x00garbage", osc_udp).unwrap();
    udp.send_to(&[0xF0, 0x7F, 1, 2, 0x10, 0x01, b'x', 0xF7], msc_udp)
        .unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while live.all("showctl_refused").len() < 6 {
        assert!(Instant::now() < end, "{:?}", live.all("showctl_refused"));
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(live.child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let events = live.finish();
    let refusals: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "showctl_refused")
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        refusals.iter().any(|r| r.contains("not an OSC packet")),
        "{refusals:?}"
    );
    assert!(
        refusals.iter().any(|r| r.contains("ASCII digits and dots")),
        "{refusals:?}"
    );
    assert!(
        refusals.iter().any(|r| r.contains("wrong passcode")),
        "{refusals:?}"
    );
    assert_eq!(
        events.iter().filter(|e| e["event"] == "started").count(),
        4,
        "c1 once, c2 three times: nothing else started"
    );
}

/// The box killed outright (SIGKILL) at 200 random points of a show that
/// starts a play every 100 ms: after each kill the play log verifies, every
/// entry the box acknowledged is there once and as acknowledged, and the two
/// copies agree — the next start mends whatever the kill cut.
#[test]
fn a_box_killed_at_200_random_points_loses_and_doubles_no_acknowledged_play() {
    use cueboxd::journal::{self, Journal, Record};
    use rand::RngExt;

    // 200 box starts on 2 cores: the timecode tests' clocks would starve.
    let _turn = timecode_turn();
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    // A GO every 100 ms, alternating the clips, for 30 s.
    let events = tmp.path().join("plays.json");
    let gos: Vec<String> = (0..300)
        .map(|i| {
            format!(
                r#"{{"at": {:.1}, "cmd": "go", "clip": "c{}"}}"#,
                0.1 * f64::from(i),
                i % 2 + 1
            )
        })
        .collect();
    std::fs::write(&events, format!("[{}]", gos.join(","))).unwrap();
    let paths = journal::paths(&card.dir.join("root/Logs"));
    let mut rng = rand::rng();
    let mut acknowledged: Vec<(u64, String)> = Vec::new();
    for _ in 0..200 {
        let live = Box_::start(
            &card,
            &session,
            &["--channels", "2", "--events", events.to_str().unwrap()],
        );
        live.wait_for("running", Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(rng.random_range(0..700)));
        let events = live.kill();
        acknowledged.extend(
            events
                .iter()
                .filter(|e| e["event"] == "play_logged")
                .map(|e| {
                    (
                        e["entry"].as_u64().unwrap(),
                        e["clip"].as_str().unwrap().to_owned(),
                    )
                }),
        );
        let (_, entries, _) = Journal::open(paths.clone()).unwrap();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1, "entries are numbered without a gap");
        }
        for (seq, clip) in &acknowledged {
            let e = entries
                .get(*seq as usize - 1)
                .unwrap_or_else(|| panic!("acknowledged entry {seq} is lost"));
            let start = match &e.record {
                Record::End(end) => &entries[end.play as usize - 1].record,
                start => start,
            };
            let Record::Start(s) = start else {
                panic!("entry {seq} is neither a start nor the end of one: {start:?}");
            };
            let logged = s.clip.to_string();
            assert_eq!(&logged, clip, "entry {seq} is what was acknowledged");
        }
        let verified = journal::verify(&paths).unwrap();
        assert!(verified.is_sound(), "{:?}", verified.problems());
        assert_eq!(
            std::fs::read(&paths[0]).unwrap(),
            std::fs::read(&paths[1]).unwrap(),
            "the copies agree"
        );
    }
    assert!(
        acknowledged.len() > 200,
        "plays were logged between the kills ({})",
        acknowledged.len()
    );
}

/// A show-control file with a passcode per role (OSC on a free loopback
/// port): the operator's page logs in with them.
fn web_showctl(tmp: &Path) -> PathBuf {
    let path = tmp.join("showctl.json");
    std::fs::write(
        &path,
        r#"{"osc": {"bind": "127.0.0.1", "port": 0, "passcodes": [
              {"code": "1234", "role": "control"},
              {"code": "5555", "role": "view"},
              {"code": "9999", "role": "edit"}]}}"#,
    )
    .unwrap();
    path
}

/// The box of `session` (with `args`) with its operator's page on a free
/// loopback port; the page's address.
fn web_box(tmp: &Path, card: &Card, session: &Path, args: &[&str]) -> (Box_, String) {
    let showctl = web_showctl(tmp);
    let mut all = vec![
        "--web",
        "127.0.0.1:0",
        "--showctl",
        showctl.to_str().unwrap(),
    ];
    all.extend(args);
    let b = Box_::start(card, session, &all);
    let listening = b.wait_for("web_listening", Duration::from_secs(20));
    let fingerprint = listening["fingerprint"].as_str().unwrap();
    assert_eq!(fingerprint.split(':').count(), 32, "SHA-256: {fingerprint}");
    assert_eq!(listening["created"], true, "made at the first start");
    b.wait_for("device_started", Duration::from_secs(20));
    let url = format!("https://{}/", listening["address"].as_str().unwrap());
    (b, url)
}

/// Logs the page in with `passcode`; waits for live status frames.
fn log_in(page: &browser::Browser<'_>, passcode: &str) {
    page.wait(
        "the login form",
        "return !document.getElementById('login').hidden",
        Duration::from_secs(10),
    );
    page.type_into("#passcode", passcode);
    page.click("#login-button");
    page.wait(
        "status frames",
        "return window.cuebox.frames > 2 && document.querySelectorAll('#grid .cell').length",
        Duration::from_secs(10),
    );
}

/// The page's command path from inside the browser: its answer or error.
const ACT: &str = "const done = arguments[arguments.length - 1];
    window.cuebox.act(arguments[0]).then((a) => done({ok: a}), (e) => done({refused: e.message}));";

/// The state of the button of `clip`.
fn button_state(page: &browser::Browser<'_>, clip: &str) -> Value {
    page.js(
        "const c = document.querySelector(`.cell[data-clip='${arguments[0]}']`);
         return {state: c.dataset.state, progress: Number(c.dataset.progress || 0),
                 disabled: c.disabled, text: c.textContent, class: c.className};",
        json!([clip]),
    )
}

#[test]
fn the_operator_s_page_runs_the_show_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let (b, url) = web_box(
        tmp.path(),
        &card,
        // A second page, its grid another size.
        &session_with(tmp.path(), |show| {
            show.pages
                .push(Page::new("Act 2", GridDims::new(2, 3).unwrap()))
        }),
        &["--format", "FLOAT_LE"],
    );
    let driver = browser::Driver::start();
    // A tablet in landscape.
    let page = driver.browser(1280, 800);
    page.goto(&url);

    // A wrong passcode is refused, and said as an event.
    page.wait(
        "the login form",
        "return !document.getElementById('login').hidden",
        Duration::from_secs(10),
    );
    page.type_into("#passcode", "0000");
    page.click("#login-button");
    page.wait(
        "the refusal",
        "return document.getElementById('login-error').textContent.includes('wrong passcode')",
        Duration::from_secs(5),
    );
    let refused = b.wait_for("showctl_refused", Duration::from_secs(5));
    assert_eq!(
        (refused["via"].as_str(), refused["reason"].as_str()),
        (Some("web"), Some("wrong passcode"))
    );

    // The grid as the session has it: 8 tabs, 4 × 4 buttons, coloured by group.
    log_in(&page, "1234");
    assert_eq!(
        page.js(
            "return document.querySelectorAll('#tabs button').length",
            json!([])
        ),
        8
    );
    assert_eq!(
        page.js(
            "return document.querySelectorAll('#grid .cell').length",
            json!([])
        ),
        16
    );
    let c1 = button_state(&page, "c1");
    assert!(c1["class"].as_str().unwrap().contains("group-A"), "{c1}");
    let text = c1["text"].as_str().unwrap();
    assert!(
        text.contains("tone.wav") && text.contains("1.1.1") && text.contains("0:06"),
        "{text}"
    );
    // Dual page view: page 2's tab beside page 1's, at its own size.
    assert_eq!(
        page.js(
            "return document.querySelectorAll('#pages button[data-page]').length",
            json!([])
        ),
        2
    );
    page.click("#dual");
    let panes = page.js(
        "return [...document.querySelectorAll('#grid .pane')].map((p) => p.querySelectorAll('.cell').length)",
        json!([]),
    );
    assert_eq!(panes, json!([16, 6]));
    page.click("#dual");
    // Tablet landscape: the controls beside the grid, nothing off screen.
    let fits = page.js(
        "const g = document.getElementById('grid').getBoundingClientRect();
         const s = document.getElementById('side').getBoundingClientRect();
         const go = document.getElementById('go').getBoundingClientRect();
         return s.left >= g.right - 1 && go.bottom <= innerHeight
             && document.documentElement.scrollWidth <= innerWidth;",
        json!([]),
    );
    assert_eq!(fits, true, "tablet layout");

    // Tap: the clip starts on the box, from the page.
    page.click(".cell[data-clip='c1']");
    let started = b.wait_for("started", Duration::from_secs(5));
    assert_eq!(started["clip"], "c1");
    assert_eq!(started["origin"]["input"], "web", "{started}");
    assert_eq!(started["origin"]["cue"], "1.1.1");
    let accepted = b.find("accepted").unwrap();
    assert_eq!(accepted["origin"]["input"], "web", "{accepted}");
    // It starts at the sample it was accepted for; a loaded machine may
    // hand it over late, which the box says (`late`, from the same drain
    // of the render's events) with where it began.
    let mut at = accepted["at_sample"].as_u64().unwrap();
    if let Some(late) = b.all("late").into_iter().find(|l| l["at_sample"] == at) {
        at = late["applied_sample"].as_u64().unwrap();
    }
    assert_eq!(started["at_sample"], at, "it starts where the box says");
    // The button plays with a moving progress bar; the meters move.
    page.wait(
        "c1 playing",
        "return document.querySelector(\".cell[data-clip='c1']\").dataset.state === 'playing'",
        Duration::from_secs(5),
    );
    let before = button_state(&page, "c1")["progress"].as_f64().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let after = button_state(&page, "c1")["progress"].as_f64().unwrap();
    assert!(after > before + 0.04, "progress {before} → {after}");
    let peak = page.wait(
        "group A's meter moving",
        "const m = document.querySelector(\"#meters .meter[data-bus='A']\");
         return m && Number(m.dataset.peak) > -20 && Number(m.dataset.peak);",
        Duration::from_secs(5),
    );
    assert!(peak.as_f64().unwrap() <= 0.0, "{peak}");
    let frames = |p: &browser::Browser<'_>| {
        p.js("return window.cuebox.frames", json!([]))
            .as_u64()
            .unwrap()
    };
    let (f0, t0) = (frames(&page), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let fps = (frames(&page) - f0) as f64 / t0.elapsed().as_secs_f64();
    assert!(fps >= 20.0, "{fps:.1} frames per second");

    // STOP ALL holds to confirm: a slip (a short tap) stops nothing…
    page.press("#stop-all", Duration::from_millis(100));
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        b.find("stopped").is_none(),
        "a tap on STOP ALL stopped a clip"
    );
    // …a hold does.
    page.press("#stop-all", Duration::from_millis(900));
    let stopped = b.wait_for("stopped", Duration::from_secs(5));
    assert_eq!(stopped["clip"], "c1");
    // The card played it from that sample: silent before, the tone after
    // (its first samples within the 1 ms edge fade).
    let out = &card.played_f32(10)[0];
    let at = at as usize;
    assert!(
        out[..at].iter().all(|s| *s == 0.0),
        "silent before the GO's sample"
    );
    assert!(
        out[at..at + 48].iter().any(|s| s.abs() > 1e-4),
        "the tone from the GO's sample"
    );
    page.wait(
        "c1 idle",
        "return document.querySelector(\".cell[data-clip='c1']\").dataset.state === 'idle'",
        Duration::from_secs(5),
    );

    // The keyboard: space is GO (the playhead stands on c2 now), Esc stops all.
    assert_eq!(page.js("return window.cuebox.deck.clip", json!([])), "c2");
    page.key(" ");
    let went = b.wait_for_nth("started", 1, Duration::from_secs(5));
    assert_eq!(went["clip"], "c2");
    page.key("\u{E00C}");
    assert_eq!(
        b.wait_for_nth("stopped", 1, Duration::from_secs(5))["clip"],
        "c2"
    );

    // Trouble on the box is a banner: the card stalls, the box recovers
    // the xrun and says so.
    card.fault("out", "block 300");
    b.wait_for("xrun", Duration::from_secs(10));
    page.wait(
        "the xrun banner",
        "return !document.getElementById('banner').hidden
             && document.getElementById('banner-text').textContent.includes('xrun')",
        Duration::from_secs(10),
    );
    page.click("#banner-close");

    // A CSRF token is required for anything that changes the show.
    let status = page.js_async(
        "const done = arguments[arguments.length - 1];
         fetch('/api/act', {method: 'POST', headers: {'Content-Type': 'application/json'},
                            body: JSON.stringify({cmd: 'panic'})}).then((r) => done(r.status));",
        json!([]),
    );
    assert_eq!(status, 403);

    // Locked: an edit (a live level) is refused, even to an edit login.
    page.click("#lock-button");
    b.wait_for("lock", Duration::from_secs(5));
    page.wait(
        "the lock shown",
        "return !document.getElementById('lock').hidden",
        Duration::from_secs(5),
    );
    let level = json!({"cmd": "group_level", "group": "A", "level_db": -6.0});
    let control = page.js_async(ACT, json!([level]));
    assert!(
        control["refused"]
            .as_str()
            .unwrap()
            .contains("allows control"),
        "{control}"
    );
    assert_eq!(
        page.js("return document.getElementById('levels').hidden", json!([])),
        true,
        "a control login has no level sliders"
    );
    page.click("#logout");
    log_in(&page, "9999");
    // An edit login has them, disabled while the show is locked.
    let sliders = "const l = document.getElementById('levels');
        return [l.hidden, l.querySelector('input').disabled]";
    assert_eq!(page.js(sliders, json!([])), json!([false, true]));
    let locked = page.js_async(ACT, json!([level]));
    assert!(
        locked["refused"].as_str().unwrap().contains("locked"),
        "{locked}"
    );
    assert_eq!(
        page.js_async(ACT, json!([{"cmd": "unlock"}]))["ok"]["locked"],
        false
    );
    assert!(page.js_async(ACT, json!([level]))["ok"]["at_sample"].is_u64());
    // Unlocked, the slider sets group B's live level on the box.
    page.wait(
        "the sliders enabled",
        "return !document.querySelector(\"#levels input[data-group='B']\").disabled",
        Duration::from_secs(5),
    );
    page.js(
        "const i = document.querySelector(\"#levels input[data-group='B']\");
         i.value = -12; i.dispatchEvent(new Event('change'));",
        json!([]),
    );
    let end = Instant::now() + Duration::from_secs(5);
    while !b.all("accepted").iter().any(|a| {
        a["command"]["cmd"] == "group_level"
            && a["command"]["group"] == "B"
            && a["command"]["level_db"] == -12.0
    }) {
        assert!(Instant::now() < end, "no group level for B accepted");
        std::thread::sleep(Duration::from_millis(20));
    }
    page.wait(
        "the box's level shown",
        "return document.querySelector(\"#levels input[data-group='B']\").nextElementSibling.textContent === '-12.0'",
        Duration::from_secs(5),
    );

    // A phone in portrait with a view login: it watches, it cannot GO.
    page.click("#logout");
    page.resize(390, 844);
    log_in(&page, "5555");
    assert_eq!(button_state(&page, "c1")["disabled"], true);
    assert_eq!(
        page.js("return document.getElementById('go').disabled", json!([])),
        true
    );
    let go = page.js_async(ACT, json!([{"cmd": "go", "clip": "c1"}]));
    assert!(
        go["refused"]
            .as_str()
            .unwrap()
            .contains("allows view, go needs control"),
        "{go}"
    );
    let fits = page.js(
        "const g = document.getElementById('grid').getBoundingClientRect();
         const s = document.getElementById('side').getBoundingClientRect();
         return s.top >= g.bottom - 1 && document.documentElement.scrollWidth <= innerWidth
             && g.width > 300;",
        json!([]),
    );
    assert_eq!(
        fits, true,
        "phone layout: grid above, controls below, no sideways scroll"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(b.all("started").len(), 2, "the view login started nothing");

    // Wrong passcodes are rate-limited per address: after a few, none is
    // checked, the right one neither.
    page.click("#logout");
    let tries = page.js_async(
        "const done = arguments[arguments.length - 1];
         (async () => {
           const out = [];
           for (const code of ['1', '2', '3', '4', '5', '6', '1234']) {
             const r = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                  body: JSON.stringify({passcode: code})});
             out.push([r.status, (await r.json()).error || 'none']);
           }
           return out;
         })().then(done);",
        json!([]),
    );
    let tries = tries.as_array().unwrap();
    assert_eq!(tries[0][0], 401, "{tries:?}");
    assert_eq!(tries[6][0], 429, "{tries:?}");
    assert!(
        tries[6][1]
            .as_str()
            .unwrap()
            .contains("wrong passcodes from 127.0.0.1"),
        "{tries:?}"
    );
    let events = b.kill();
    assert!(events
        .iter()
        .any(|e| e["event"] == "showctl_refused" && e["what"] == "go" && e["via"] == "web"));
}

/// RMS of `x[from..to]`.
fn rms(x: &[f32], from: usize, to: usize) -> f64 {
    let w = &x[from..to];
    (w.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / w.len() as f64).sqrt()
}

/// Waits (up to `within`) until show sample `sample` has been played.
fn played_past(client: &mut Client, sample: u64, within: Duration) {
    let end = Instant::now() + within;
    while api_status(client).show_seconds * f64::from(RATE) < sample as f64 {
        assert!(Instant::now() < end, "show sample {sample} not played");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_operator_s_page_shows_queued_clips_the_chased_timecode_and_edits_clip_levels_live() {
    let _turn = timecode_turn();
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    // The session is one of the box's own (Sessions/live): a live edit is
    // saved there. It follows LTC on capture channel 1: 25 s from
    // 10:00:00:00, then the cable pulled.
    let sessions = tmp.path().join("root/Sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    let folder = sessions.join("live");
    std::fs::rename(ltc_session(tmp.path(), |_| {}), &folder).unwrap();
    std::fs::write(tmp.path().join("in.raw"), ltc_capture(25, 20)).unwrap();
    let args = [CLOCK_RUN, LTC_IN, &["--listen", "127.0.0.1:0"]].concat();
    let (b, url) = web_box(tmp.path(), &card, Path::new("live"), &args);
    let mut host = b.client(&card, Role::Control);
    let driver = browser::Driver::start();
    let page = driver.browser(1280, 800);
    page.goto(&url);
    log_in(&page, "9999");

    // The clock line: the chased source, its timecode advancing, locked.
    let clock = "return [document.getElementById('clock-source').textContent,
                         document.getElementById('timecode').textContent,
                         document.getElementById('clock-state').textContent]";
    page.wait(
        "the page locked to LTC",
        "return document.getElementById('clock-source').textContent === 'ltc'
            && document.getElementById('clock-state').textContent === 'locked'",
        Duration::from_secs(20),
    );
    let first = page.js(clock, json!([]));
    std::thread::sleep(Duration::from_secs(1));
    let second = page.js(clock, json!([]));
    for c in [&first, &second] {
        assert!(c[1].as_str().unwrap().starts_with("10:00:"), "{c}");
    }
    let advanced = tc_frames(&second[1]) - tc_frames(&first[1]);
    assert!(
        (15.0..=40.0).contains(&advanced),
        "LTC's timecode advanced {advanced} frames in a second: {first} then {second}"
    );

    // A GO for a show time 2.5 s ahead: the button is queued, saying when,
    // then plays from that sample.
    let at = api_status(&mut host).show_seconds + 2.5;
    let go = Request::Command {
        at: Some(cuebox_engine::control::At::Seconds(at)),
        command: cuebox_engine::control::Command::Go {
            clip: "c2".parse().unwrap(),
            time: None,
        },
    };
    let due = match host.call(&go).unwrap() {
        Response::Accepted { at_sample, .. } => at_sample,
        other => panic!("the GO for {at} s: {other:?}"),
    };
    let queued = page.wait(
        "c2 queued",
        "const c = document.querySelector(\".cell[data-clip='c2']\");
         return c.dataset.state === 'queued' && [c.dataset.queued, c.textContent];",
        Duration::from_secs(2),
    );
    assert!(b.find("started").is_none(), "queued, not started yet");

    assert_eq!(queued[0], due.to_string(), "queued for the sample accepted");
    assert!(queued[1].as_str().unwrap().contains("in "), "{queued}");
    page.wait(
        "c2 playing",
        "return document.querySelector(\".cell[data-clip='c2']\").dataset.state === 'playing'",
        Duration::from_secs(5),
    );
    let started = b.wait_for("started", Duration::from_secs(2));
    assert_eq!(started["clip"], "c2");
    let mut want = due;
    if let Some(late) = b.all("late").into_iter().find(|l| l["at_sample"] == due) {
        want = late["applied_sample"].as_u64().unwrap();
    }
    assert_eq!(
        started["at_sample"], want,
        "it started where it was queued for"
    );
    let stop = json!({"cmd": "stop", "clip": "c2"});
    assert!(page.js_async(ACT, json!([stop]))["ok"].is_object());

    // An edit login changes a playing clip's level and fade out from the
    // page: the Edit mode, a tap, the editor.
    assert!(page.js_async(ACT, json!([{"cmd": "go", "clip": "c1"}]))["ok"].is_object());
    let go_at = b.wait_for_nth("started", 1, Duration::from_secs(5))["at_sample"]
        .as_u64()
        .unwrap();
    page.click("#edit-mode");
    page.click(".cell[data-clip='c1']");
    page.wait(
        "the editor open",
        "return !document.getElementById('editor').hidden",
        Duration::from_secs(5),
    );
    let read = page.js(
        "return [window.cuebox.editing.generation, document.getElementById('edit-level').value,
                 document.getElementById('edit-fade-out').value]",
        json!([]),
    );
    assert_eq!(read[1], "0", "c1 at its own level: {read}");
    assert!(read[2].as_str().unwrap().parse::<f64>().is_ok(), "{read}");
    let generation = read[0].as_u64().unwrap();
    page.type_into("#edit-level", "-12");
    page.type_into("#edit-fade-out", "2.5");
    page.click("#editor-save");
    let revised = b.wait_for("show_revised", Duration::from_secs(10));
    assert_eq!(revised["origin"]["input"], "web", "{revised}");
    page.wait(
        "the editor closed",
        "return document.getElementById('editor').hidden",
        Duration::from_secs(5),
    );
    // The box's output glides to −12 dB from the revision's sample.
    let from = revised["at_sample"].as_u64().unwrap() as usize;
    let glide = RATE as usize / 20;
    assert!(
        from > go_at as usize + RATE as usize / 10,
        "c1 played 0.1 s before the edit"
    );
    assert!(
        from + glide + RATE as usize / 10 < go_at as usize + 6 * RATE as usize,
        "c1 plays on 0.1 s after the glide: edited too late on a loaded machine"
    );
    played_past(
        &mut host,
        (from + glide + RATE as usize / 5) as u64,
        Duration::from_secs(5),
    );
    let out = &card.played_f32(10)[0];
    let before = rms(out, from - RATE as usize / 10, from);
    let during = rms(out, from + glide / 4, from + 3 * glide / 4);
    let after = rms(out, from + glide, from + glide + RATE as usize / 10);
    let db = 20.0 * (after / before).log10();
    assert!((db + 12.0).abs() < 0.3, "{db:.2} dB, not −12 dB");
    assert!(
        during < before * 0.9 && during > after * 1.1,
        "a glide, not a step: {before} → {during} → {after}"
    );
    // The session on disk holds the edit.
    let saved = SessionDir::open(&folder).unwrap().load().unwrap().show;
    let c1 = &saved.clips[0].processing;
    assert_eq!(c1.level_db, -12.0);
    assert_eq!(c1.fades.fade_out.as_ref().unwrap().time_ms, 2_500.0);
    // The new fade out plays: c1 again, then FADE from the page takes 2.5 s.
    assert!(page.js_async(ACT, json!([{"cmd": "go", "clip": "c1"}]))["ok"].is_object());
    b.wait_for_nth("started", 2, Duration::from_secs(5));
    page.click(".mode[data-mode='fade']");
    page.click(".cell[data-clip='c1']");
    let end = Instant::now() + Duration::from_secs(10);
    let faded = loop {
        if let Some(s) = b.all("stopped").into_iter().find(|e| e["cause"] == "Faded") {
            break s;
        }
        assert!(Instant::now() < end, "c1 did not fade out");
        std::thread::sleep(Duration::from_millis(20));
    };
    let fade = b
        .all("accepted")
        .into_iter()
        .find(|a| a["command"]["cmd"] == "fade_out")
        .unwrap();
    let took = faded["at_sample"].as_u64().unwrap() - fade["at_sample"].as_u64().unwrap();
    assert!(
        took.abs_diff(5 * u64::from(RATE) / 2) <= 2 * 1024,
        "the fade out took {took} samples, not 2.5 s"
    );

    // An edit from a show read before is refused, saying what is there now.
    let stale = json!({"clip": "c1", "generation": generation, "level_db": -3.0});
    let edit = "const done = arguments[arguments.length - 1];
        window.cuebox.edit(arguments[0]).then((a) => done({ok: a}), (e) => done({refused: e.message}));";
    let refused = page.js_async(edit, json!([stale]));
    let why = refused["refused"].as_str().unwrap_or_default();
    assert!(
        why.contains("changed on the box since") && why.contains("-12"),
        "{refused}"
    );
    // Locked, an edit is refused and the editor's Save is off.
    assert_eq!(
        page.js_async(ACT, json!([{"cmd": "lock"}]))["ok"]["locked"],
        true
    );
    let now = page.js_async(
        "const done = arguments[arguments.length - 1];
         fetch('/api/clip/c1').then((r) => r.json()).then(done);",
        json!([]),
    );
    let fresh = json!({"clip": "c1", "generation": now["generation"], "level_db": -3.0});
    let locked = page.js_async(edit, json!([fresh]));
    assert!(
        locked["refused"]
            .as_str()
            .unwrap_or_default()
            .contains("locked"),
        "{locked}"
    );
    // On a phone in portrait, the editor opens in reach, Save off.
    page.resize(390, 844);
    page.click("#edit-mode");
    page.click(".cell[data-clip='c2']");
    let shown = page.wait(
        "the editor on a phone",
        "const e = document.getElementById('editor');
         const r = e.getBoundingClientRect();
         return !e.hidden && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0
             && r.right <= innerWidth && document.getElementById('editor-name').textContent;",
        Duration::from_secs(5),
    );
    assert_eq!(shown, "noise.wav");
    page.wait(
        "Save off while locked",
        "return document.getElementById('editor-save').disabled",
        Duration::from_secs(2),
    );

    assert_eq!(
        page.js_async(ACT, json!([{"cmd": "unlock"}]))["ok"]["locked"],
        false
    );
    // A control login has no Edit mode, and its edit is refused.
    page.click("#logout");
    log_in(&page, "1234");
    assert_eq!(
        page.js(
            "return document.getElementById('edit-mode').hidden",
            json!([])
        ),
        true
    );
    let control = page.js_async(edit, json!([fresh]));
    assert!(
        control["refused"]
            .as_str()
            .unwrap_or_default()
            .contains("allows control, edit needs edit"),
        "{control}"
    );
    assert_eq!(b.all("show_revised").len(), 1, "one edit taken");
    let saved = SessionDir::open(&folder).unwrap().load().unwrap().show;
    assert_eq!(
        saved.clips[0].processing.level_db, -12.0,
        "refused edits saved nothing"
    );

    // The LTC ends (25 s): the timebase runs on without it, and says so.
    page.wait(
        "free-wheeling",
        "return document.getElementById('clock-state').textContent === 'free-wheeling'",
        Duration::from_secs(40),
    );
    b.kill();
}

/// `n` browser windows on the page, logged in with `passcode`: five to a
/// browser (Chromium opens six connections to one site; each window holds
/// one for its live feed). Each browser and its windows' handles.
fn browsers<'d>(
    driver: &'d browser::Driver,
    url: &str,
    passcode: &str,
    n: usize,
) -> Vec<(browser::Browser<'d>, Vec<Value>)> {
    let mut out = Vec::new();
    for first in (0..n).step_by(5) {
        let page = driver.browser(1024, 768);
        page.goto(url);
        log_in(&page, passcode);
        let mut windows = vec![page.window()];
        for _ in first + 1..(first + 5).min(n) {
            windows.push(page.new_window());
            page.goto(url);
            page.wait(
                "a window's status frames",
                "return window.cuebox.frames > 2",
                Duration::from_secs(20),
            );
        }
        out.push((page, windows));
    }
    out
}

#[test]
fn ten_browsers_connected_and_refreshing_change_nothing_the_box_plays() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let session = session(tmp.path());
    // The commands of [`events`] 20 s later: the browsers are connected by
    // then, even on a loaded machine.
    let shift = 20.0;
    let mut timeline: Vec<Value> =
        serde_json::from_slice(&std::fs::read(events(tmp.path())).unwrap()).unwrap();
    for e in &mut timeline {
        e["at"] = json!(e["at"].as_f64().unwrap() + shift);
    }
    let events = tmp.path().join("later.json");
    std::fs::write(&events, serde_json::to_vec(&timeline).unwrap()).unwrap();
    let driver = browser::Driver::start();
    let (b, url) = web_box(
        tmp.path(),
        &card,
        &session,
        &[
            "--format",
            "FLOAT_LE",
            "--period",
            "2048",
            "--periods",
            "3",
            "--events",
            events.to_str().unwrap(),
            // Past the reloads' end (29 s from here) however long the box
            // took to start: a reload of a box that ended is refused.
            "--seconds",
            "40",
        ],
    );
    let started = Instant::now();
    let browsers = browsers(&driver, &url, "5555", 10);
    assert!(
        started.elapsed() < Duration::from_secs_f64(shift),
        "the browsers took {:?} to connect: the show began before",
        started.elapsed()
    );
    // Every window reloads in turn while the show plays.
    let mut reloads = 0;
    while started.elapsed() < Duration::from_secs(29) {
        for (page, windows) in &browsers {
            for w in windows {
                page.switch(w);
                page.goto(&url);
                reloads += 1;
            }
        }
    }
    assert!(reloads >= 10, "{reloads} reloads");
    let all = b.finish();
    plays_the_render(tmp.path(), &card, &session, &events, shift + 10.0, &all);
}

/// Percentiles of `ms`, sorted in place.
fn percentile(ms: &mut [f64], p: f64) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[((ms.len() - 1) as f64 * p).round() as usize]
}

/// CPU seconds (user + system) of `pid`'s threads whose name starts with
/// `prefix` (all of them for ""), from /proc.
fn cpu_seconds(pid: u32, prefix: &str) -> f64 {
    let tick = 100.0; // USER_HZ
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let f: Vec<&str> = stat[close + 2..].split(' ').collect();
        total += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    }
    total as f64 / tick
}

/// The figures of the operator's page (scripts/bench-web.sh): tap →
/// accepted on loopback, page load to interactive, and the box's CPU with
/// 10 browsers connected.
#[test]
#[ignore = "a benchmark: scripts/bench-web.sh"]
fn bench_web() {
    let tmp = tempfile::tempdir().unwrap();
    let card = Card::new(tmp.path(), 0.0);
    let driver = browser::Driver::start();
    let (b, url) = web_box(
        tmp.path(),
        &card,
        &session(tmp.path()),
        &["--double-go-ms", "0"],
    );
    let pid = b.child.id();
    let page = driver.browser(1280, 800);
    page.goto(&url);
    log_in(&page, "1234");

    // Tap → accepted: a GO through the page's own command path, timed in
    // the browser from the tap's request to the box's answer; a GO and a
    // STOP every 50 ms.
    let taps = page.js_async(
        "const done = arguments[arguments.length - 1];
         (async () => {
           const ms = [];
           for (let i = 0; i < 200; i++) {
             const t = performance.now();
             await window.cuebox.act({cmd: 'go', clip: 'c1'});
             ms.push(performance.now() - t);
             await window.cuebox.act({cmd: 'stop', clip: 'c1'});
             // Every 50 ms: within the page's rate limit (50 a second).
             await new Promise((r) => setTimeout(r, 50));
           }
           return ms;
         })().then(done, (e) => done(String(e)));",
        json!([]),
    );
    let mut taps: Vec<f64> = serde_json::from_value(taps).unwrap();
    let (p50, p99) = (percentile(&mut taps, 0.5), percentile(&mut taps, 0.99));

    // Page load to interactive: navigation start to the grid drawn with
    // the first live frame, 20 loads.
    let mut loads = Vec::new();
    for _ in 0..20 {
        page.goto(&url);
        let ready = page.wait(
            "the page interactive",
            "return window.cuebox.readyAt !== null && window.cuebox.readyAt",
            Duration::from_secs(10),
        );
        loads.push(ready.as_f64().unwrap());
    }
    let (load50, load_max) = (percentile(&mut loads, 0.5), percentile(&mut loads, 1.0));
    drop(page);

    // CPU: the box idle with no browser, then with 10 connected while a
    // clip plays (meters and progress moving), 10 s each.
    let measure = || {
        let (all, web, t) = (
            cpu_seconds(pid, ""),
            cpu_seconds(pid, "web"),
            Instant::now(),
        );
        std::thread::sleep(Duration::from_secs(10));
        let secs = t.elapsed().as_secs_f64();
        (
            (cpu_seconds(pid, "") - all) / secs * 100.0,
            (cpu_seconds(pid, "web") - web) / secs * 100.0,
        )
    };
    let (idle_all, idle_web) = measure();
    let browsers = browsers(&driver, &url, "1234", 10);
    let (page, _) = &browsers[0];
    page.js_async(ACT, json!([{"cmd": "go", "clip": "c1"}]));
    let (ten_all, ten_web) = measure();
    let figures = json!({
        "tap_to_accepted_ms": {"p50": p50, "p99": p99, "n": taps.len()},
        "load_to_interactive_ms": {"p50": load50, "max": load_max, "n": loads.len()},
        "cpu_percent_of_one_core": {
            "no_browser": {"cueboxd": idle_all, "web_threads": idle_web},
            "ten_browsers": {"cueboxd": ten_all, "web_threads": ten_web},
        },
    });
    println!("BENCH {figures}");
    drop(browsers);
    b.kill();
}
