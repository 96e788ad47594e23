//! `cueboxd run`: the main job, a supervisor. It serves the API and show
//! control, and plays the session it is given or the box's active one
//! ([`playing`]: start, step every tick, stop), switching when a host
//! activates another and retrying one that cannot play; with nothing to
//! play it waits idle. Commands come from every input ([`inputs`] for
//! stdin and the control socket) through the live link.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cuebox_engine::device::alsa::PcmConfig;
use cuebox_engine::device::{Access, SampleFormat};

use crate::api::service::BoxService;
use crate::api::{self, Identity};
use crate::clocking::ptp::PtpConfig;
use crate::clocking::ClockingConfig;
use crate::events::{BoxEvent, Publisher};
use crate::jsonconf::ConfigFile;
use crate::link::LiveLink;
use crate::live::{CaptureConfig, LiveConfig, Output, Settings};
use crate::printer;
use crate::store::DataRoot;
use crate::system::{IrqRouting, Procfs, RtConfig};
use crate::techlog::{self, TechLog};

mod inputs;
mod playing;

use inputs::{serve_socket, spawn_stdin};
use playing::Playing;

/// The arguments of `cueboxd run`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The session: its name under <root>/Sessions, or a session folder.
    /// With --listen it may be left out: the box plays the session last
    /// activated by a push, or waits for one.
    #[arg(long, value_name = "NAME|DIR", required_unless_present = "listen")]
    pub session: Option<String>,
    /// Serve the network API for hostctl on this address (`0.0.0.0` for
    /// every interface; port 53100 unless given).
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub listen: Option<String>,
    /// The box's name, as hostctl shows it and OSC replies carry it
    /// (default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Show control (OSC, MSC, MIDI grid controllers): a JSON file, see
    /// docs/showctl.md (default: <root>/showctl.json when it exists; every
    /// input is off without one).
    #[arg(long, value_name = "FILE.json")]
    pub showctl: Option<PathBuf>,
    /// Serve the operator's page over HTTPS on this address (`0.0.0.0` for
    /// every interface; port 8443 unless given), see docs/web.md. Logins
    /// use the passcodes and allow list of the show-control file's `osc`
    /// section. Off without it.
    #[arg(long, value_name = "ADDR[:PORT]")]
    pub web: Option<String>,
    /// Off-box copies of Logs/ and Exports/ through rclone: a JSON file, see
    /// docs/playlog.md (default: <root>/offbox.json when it exists; no
    /// copies without one).
    #[arg(long, value_name = "FILE.json")]
    pub offbox: Option<PathBuf>,
    /// Double-GO protection: a second GO of the same clip from the network
    /// within this many milliseconds is refused.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=5_000))]
    pub double_go_ms: u64,
    /// The playback PCM by name (`hw:1,0`, a plugin), used as named. Without
    /// it the box plays on the device map's PCM, else on a card it finds
    /// itself (see --card): never ALSA's `default`.
    #[arg(long, value_name = "PCM", conflicts_with = "card")]
    pub device: Option<String>,
    /// The card to play on, by index (`1`), id (`Intel`) or part of its
    /// name (`usb audio`); its first playback device's `hw:` PCM is opened
    /// with the channels, format and period sizes it offers. Default: the
    /// first card that plays.
    #[arg(long, value_name = "CARD")]
    pub card: Option<String>,
    /// Engine and device rate, Hz.
    #[arg(long, default_value_t = Settings::DEFAULT.rate)]
    pub rate: u32,
    /// Frames per period (256 × 3 = 16 ms at 48 kHz is the robust start).
    #[arg(long, default_value_t = Settings::DEFAULT.period as u64, value_parser = clap::value_parser!(u64).range(16..=4096))]
    pub period: u64,
    /// Periods in the device buffer.
    #[arg(long, default_value_t = Settings::DEFAULT.periods, value_parser = clap::value_parser!(u32).range(2..=32))]
    pub periods: u32,
    /// Sample format: S16_LE, S24_3LE, S32_LE or FLOAT_LE (default: the best the device takes).
    #[arg(long)]
    pub format: Option<SampleFormat>,
    /// Access: rw (read/write) or mmap.
    #[arg(long, default_value = "rw")]
    pub access: Access,
    /// Playback channels (default: as many as the session's outputs use,
    /// within what the device has; outputs past them fold onto them).
    #[arg(long)]
    pub channels: Option<u16>,
    /// The capture PCM (LTC input, Record A/B); no capture without it.
    #[arg(long, value_name = "PCM")]
    pub capture: Option<String>,
    /// Capture channels.
    #[arg(long, default_value_t = 2)]
    pub capture_channels: u16,
    /// Record the capture channels to this WAV file (32-bit float).
    #[arg(long, value_name = "FILE.wav", requires = "capture")]
    pub record: Option<PathBuf>,
    /// rt-out's SCHED_FIFO priority (the sound card's IRQ thread must be above it).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=98))]
    pub priority: u8,
    /// rt-in's SCHED_FIFO priority (below rt-out: capture yields to output).
    #[arg(long, default_value_t = 70, value_parser = clap::value_parser!(u8).range(1..=98))]
    pub capture_priority: u8,
    /// The audio core (default: the first isolated CPU, else the last CPU).
    #[arg(long)]
    pub core: Option<usize>,
    /// Leave the IRQs where they are, and the journal of moved IRQs alone
    /// (by default every IRQ that can move leaves the audio core while the
    /// show runs, and comes back when the run ends, or at the next start
    /// after a run that died). The box's service runs as its own user with
    /// this: its root helper, `cueboxd system irq route`, moves them.
    #[arg(long)]
    pub no_irq_routing: bool,
    /// Timed commands to schedule at start (the `cueboxd render --events` format).
    #[arg(long, value_name = "EVENTS.json")]
    pub events: Option<PathBuf>,
    /// Also take commands on this Unix socket, one JSON object per line; each
    /// gets a JSON answer line.
    #[arg(long, value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Stop after this many seconds, as if SIGTERM arrived (demos, tests).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Seconds between periodic auto-saves (made only when something changed;
    /// a live run reports no changes yet, issue 14).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub autosave_interval: u64,
    /// An MTC input: the first MIDI input port whose name contains this
    /// (repeat for several; each is a peer source).
    #[arg(long, value_name = "PORT")]
    pub mtc: Vec<String>,
    /// Run PTP (AES67 defaults, slave only) on this network interface.
    #[arg(long, value_name = "IFACE")]
    pub ptp: Option<String>,
    /// With --ptp: this box may become PTP master. The main of a pair
    /// always may (a grandmaster on the network still wins: docs/pair.md).
    #[arg(long, requires = "ptp")]
    pub ptp_master: bool,
    /// Seconds between two samples of the metrics log (Logs/metrics/:
    /// DSP load, xruns, the clock's health) while a session plays.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub metrics_interval: u64,
    /// Print events as JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Run as one unit of a main/backup pair (docs/pair.md): the main sends
    /// every command it accepts to the backup, for the same instant.
    #[arg(long, value_enum, requires_all = ["peer", "peer_fingerprint", "listen"])]
    pub pair: Option<crate::pair::Role>,
    /// With --pair: the other unit's API address (ADDR[:PORT]).
    #[arg(long, value_name = "ADDR[:PORT]", requires = "pair")]
    pub peer: Option<String>,
    /// With --pair: the other unit's key fingerprint (`cueboxd key` there):
    /// the main pins it, the backup takes pair messages from it only.
    #[arg(long, value_name = "SHA256:…", requires = "pair")]
    pub peer_fingerprint: Option<crate::api::Fingerprint>,
    /// With --pair backup: an emergency override, taking commands from the
    /// backup's own inputs though its main is alive.
    #[arg(long, requires = "pair")]
    pub pair_override: bool,
    /// Fault injection, for tests: a main does not send the Nth command it
    /// accepts to its backup (counted lost), so the backup diverges.
    #[arg(long, value_name = "N", requires = "pair", hide = true)]
    pub pair_drop: Option<u64>,
    /// With --pair: the control address consoles, Companion and browsers
    /// send to (ADDR/PREFIX), held by whichever unit is main: cueboxd runs
    /// keepalived (VRRP) for it, which needs root or CAP_NET_ADMIN and
    /// CAP_NET_RAW (docs/pair.md, "Takeover").
    #[arg(long, value_name = "ADDR/PREFIX", requires_all = ["pair", "pair_interface"])]
    pub pair_vip: Option<crate::pair::vrrp::VipAddress>,
    /// With --pair-vip: the network interface the address goes on.
    #[arg(long, value_name = "IFACE", requires = "pair_vip")]
    pub pair_interface: Option<String>,
    /// With --pair-vip: VRRP's virtual router id, the same on both units and
    /// unique among VRRP routers on that network.
    #[arg(long, value_name = "1-255", default_value_t = 53, value_parser = clap::value_parser!(u8).range(1..=255))]
    pub pair_vrid: u8,
    /// With --pair: the witness (ADDR[:PORT], port 53100 unless given; any
    /// host that answers or refuses a TCP connection): a unit is main only
    /// while it reaches the witness or the other unit, which settles a cut
    /// between the units (docs/pair.md, "Split brain").
    #[arg(long, value_name = "ADDR[:PORT]", requires = "pair")]
    pub pair_witness: Option<String>,
    /// With --pair-witness: the witness's key (a box's, `cueboxd key` there;
    /// it must let both units' keys in with the control role). The witness
    /// then arbitrates: it grants the main's role to one unit at a time, so
    /// units cut off from each other but not from it never make two mains
    /// (docs/pair.md, "Split brain").
    #[arg(long, value_name = "SHA256:…", requires = "pair_witness")]
    pub pair_witness_fingerprint: Option<crate::api::Fingerprint>,
}

/// PTP on `iface`: master-capable with `--ptp-master`. In a pair the main
/// is always master-capable, so the pair has a timescale without a
/// grandmaster, and both units rank below any grandmaster of the network's
/// (BMCA priority 1 of 250 for the main, 251 for a master-capable backup,
/// against the usual 128): a grandmaster leads the pair when there is one,
/// else the main does (docs/pair.md).
fn ptp_config(iface: &str, master: bool, pair: Option<crate::pair::Role>) -> PtpConfig {
    let aes67 = PtpConfig::aes67(iface);
    match pair {
        None => PtpConfig { master, ..aes67 },
        Some(crate::pair::Role::Main) => PtpConfig {
            master: true,
            priority_1: 250,
            ..aes67
        },
        Some(crate::pair::Role::Backup) => PtpConfig {
            master,
            priority_1: 251,
            ..aes67
        },
    }
}

/// Why a run could not start or ended badly.
pub type RunError = Box<dyn std::error::Error>;

/// Runs the box until a signal (or `--seconds`): plays the session, serves
/// the API, and switches to a session a host activates. Returns whether the
/// final save succeeded.
pub fn run(root: &Path, args: &Args) -> Result<bool, RunError> {
    let events = Publisher::new();
    let format = if args.json {
        printer::Format::Json
    } else {
        printer::Format::Human
    };
    let printer = printer::start(&events, format)?;
    let result = serve(root, args, &events);
    drop(events);
    // Everything the run reported is out before its error is.
    printer.finish();
    result
}

/// The run itself, reporting to `events_tx`.
fn serve(root: &Path, args: &Args, events_tx: &Publisher) -> Result<bool, RunError> {
    // No core sleeps deeper than polling while the box runs.
    let _zero_latency =
        match crate::system::pmqos::ZeroLatency::hold(Path::new(crate::system::pmqos::DEVICE)) {
            Ok(held) => Some(held),
            Err(detail) => {
                events_tx.send(BoxEvent::RtProblem { detail });
                None
            }
        };
    // A run that died holding the IRQs left their masks: put them back —
    // unless the IRQs are someone else's.
    let journal = Path::new(crate::system::IRQ_RUN_JOURNAL);
    let recovered = if args.no_irq_routing {
        Vec::new()
    } else {
        IrqRouting::recover(&Procfs::default(), journal)
    };
    for outcome in recovered {
        events_tx.send(BoxEvent::RtProblem {
            detail: match outcome {
                Ok(done) => format!("a run that died moved IRQs: {done}"),
                Err(e) => e,
            },
        });
    }
    let deadline = args
        .seconds
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let link = Arc::new(LiveLink::new(
        Duration::from_millis(args.double_go_ms),
        events_tx.clone(),
    ));
    // The technical logs (Logs/<kind>/), for the whole run, idle or
    // playing; flushed when it ends (dropped on an early error too).
    let techlog = TechLog::start(
        &root.join(DataRoot::LOGS),
        events_tx,
        link.clone(),
        techlog::Config {
            sample_every: Duration::from_secs(args.metrics_interval),
            ..techlog::Config::default()
        },
    )?;
    if let (Some(role), Some(peer), Some(fingerprint)) =
        (args.pair, &args.peer, args.peer_fingerprint)
    {
        let data = DataRoot::open(root)?;
        let (identity, _) = Identity::load_or_create(&api::box_key_path(&data))?;
        let config = crate::pair::Config {
            role,
            peer: peer.clone(),
            fingerprint,
            overridden: args.pair_override,
            drop: args.pair_drop,
            takeover: crate::pair::takeover::Config {
                witness: args.pair_witness.clone(),
                witness_key: args.pair_witness_fingerprint,
                vip: args.pair_vip.clone().map(|address| crate::pair::vrrp::Vip {
                    address,
                    interface: args.pair_interface.clone().unwrap_or_default(),
                    router_id: args.pair_vrid,
                }),
                dir: root.join("pair"),
            },
        };
        crate::pair::Pair::start(config, identity, &link, events_tx.clone())
            .map_err(|e| format!("cannot start the pair: {e}"))?;
    }
    let server = match &args.listen {
        Some(address) => Some(serve_api(root, address, args, link.clone(), events_tx)?),
        None => None,
    };
    let showctl_config = match config_file(root, &args.showctl, "showctl.json") {
        Some(path) => Some((crate::showctl::config::ShowctlConfig::load(&path)?, path)),
        None => None,
    };
    let showctl = start_showctl(showctl_config.as_ref(), args, link.clone(), events_tx)?;
    let web = match &args.web {
        Some(address) => {
            let osc = showctl_config.as_ref().and_then(|(c, _)| c.osc.as_ref());
            Some(serve_web(
                root,
                address,
                args,
                osc,
                link.clone(),
                events_tx,
            )?)
        }
        None => None,
    };
    let offbox = start_offbox(root, args, events_tx)?;
    // Every local input goes through the link, for the whole run.
    spawn_stdin(link.clone(), events_tx.clone())?;
    let _socket = match &args.control_socket {
        Some(path) => Some(serve_socket(path, link.clone())?),
        None => None,
    };
    let mut session = match &args.session {
        Some(name) => Some(name.clone()),
        // A bad active-session file leaves the box idle, saying why, with
        // the API up for a push that fixes it.
        None => match DataRoot::open(root).and_then(|r| crate::store::activate::active(&r)) {
            Ok(name) => name,
            Err(e) => {
                events_tx.send(BoxEvent::Idle {
                    detail: crate::store::chain(&e),
                });
                None
            }
        },
    };
    let mut first = true;
    let mut said: Option<String> = None;
    let ok = loop {
        let end = match session.clone() {
            Some(name) => match play(root, &name, args, deadline, &link, events_tx) {
                Ok(end) => {
                    said = None;
                    end
                }
                // Without the API, the session asked for on the command line
                // must start: nothing else could fix it.
                Err(e) if first && args.listen.is_none() => return Err(e),
                // The kernel no longer trusts a real-time thread: end the run.
                Err(e) if e.is::<Runaway>() => return Err(e),
                // A box stays up, says why once, and tries again: a card
                // plugged in, a device freed or a new push fixes it.
                Err(e) => {
                    let problem = format!("cannot play session {name}: {e}");
                    link.failed(problem.clone());
                    if said.as_ref() != Some(&problem) {
                        events_tx.send(BoxEvent::CannotPlay {
                            session: name.clone(),
                            detail: e.to_string(),
                            retry_seconds: RETRY.as_secs(),
                        });
                        eprintln!(
                            "cueboxd: {problem}; trying again every {} s",
                            RETRY.as_secs()
                        );
                        said = Some(problem);
                    }
                    idle(deadline, &link, Some(RETRY))?
                }
            },
            None => {
                events_tx.send(BoxEvent::Idle {
                    detail: "no session to play; waiting for a push".into(),
                });
                idle(deadline, &link, None)?
            }
        };
        first = false;
        match end {
            End::Switch(name) => {
                events_tx.send(BoxEvent::Switching {
                    session: name.clone(),
                });
                session = Some(name);
            }
            End::Retry => {}
            End::Done(ok) => break ok,
        }
    };
    drop(web);
    drop(showctl);
    drop(offbox);
    crate::system::notify::stopping();
    drop(server);
    if let Some(path) = &args.control_socket {
        let _ = std::fs::remove_file(path);
    }
    techlog.finish();
    Ok(ok)
}

/// Plays one session until a signal, the deadline, a switch or a failure:
/// started, stepped every tick, stopped for why.
fn play(
    root: &Path,
    session_name: &str,
    args: &Args,
    deadline: Option<Instant>,
    link: &LiveLink,
    events: &Publisher,
) -> Result<End, RunError> {
    let mut playing = Playing::start(root, session_name, args, link, events)?;
    let why = loop {
        if let Some(why) = playing.step(link, deadline) {
            break why;
        }
        crate::system::notify::alive("playing");
        std::thread::sleep(TICK);
    };
    playing.stop(why, link)
}

/// How often the supervisor looks at a playing session (and at an idle box).
const TICK: Duration = Duration::from_millis(20);

/// The kernel stopped a real-time thread that ran too long without
/// blocking (SIGXCPU): the run ends, whatever else it serves.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Runaway(String);

/// How often a session that cannot play is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// How one session's play ended.
enum End {
    /// A host activated this session: play it next.
    Switch(String),
    /// Time to try the same session again.
    Retry,
    /// The run is over; whether the final save succeeded.
    Done(bool),
}

/// Waits with no session for a signal, the deadline, an activation or
/// (with `retry`) the time to try again.
fn idle(
    deadline: Option<Instant>,
    link: &LiveLink,
    retry: Option<Duration>,
) -> Result<End, RunError> {
    let retry_at = retry.map(|r| Instant::now() + r);
    let term = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ids = [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT]
        .into_iter()
        .map(|sig| signal_hook::flag::register(sig, term.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let end = loop {
        if term.load(std::sync::atomic::Ordering::Relaxed)
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            break End::Done(true);
        }
        if let Some(name) = link.take_switch() {
            break End::Switch(name);
        }
        if retry_at.is_some_and(|t| Instant::now() >= t) {
            break End::Retry;
        }
        crate::system::notify::alive("idle: waiting for a push");
        std::thread::sleep(TICK);
    };
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    Ok(end)
}

/// Starts the API server with the box's key and authorized hosts.
fn serve_api(
    root: &Path,
    address: &str,
    args: &Args,
    link: Arc<LiveLink>,
    events: &Publisher,
) -> Result<api::Server, RunError> {
    let data = DataRoot::open(root)?;
    let (identity, made) = Identity::load_or_create(&api::box_key_path(&data))?;
    let fingerprint = identity.public().fingerprint();
    if made {
        events.send(BoxEvent::BoxKeyCreated {
            fingerprint: fingerprint.to_string(),
        });
    }
    let address = api::client::with_port(address);
    let listener = std::net::TcpListener::bind(&address)
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let name = box_name(args);
    let service = Arc::new(BoxService::new(
        name.clone(),
        data.clone(),
        link,
        events.clone(),
    )?);
    let server = api::Server::start(
        listener,
        &identity,
        api::authorized_hosts_path(&data),
        api::Limits::default(),
        service,
        events.clone(),
    )?;
    events.send(BoxEvent::Listening {
        address: server.local_addr().to_string(),
        name,
        fingerprint: fingerprint.to_string(),
    });
    Ok(server)
}

/// Serves the operator's page on `address`, with the passcodes and allow
/// list of show control's `osc` section, and says where and with which
/// certificate (its fingerprint, made at the first start).
fn serve_web(
    root: &Path,
    address: &str,
    args: &Args,
    osc: Option<&crate::showctl::config::OscConfig>,
    link: Arc<LiveLink>,
    events: &Publisher,
) -> Result<crate::web::Web, RunError> {
    let data = DataRoot::open(root)?;
    let names = vec![
        box_name(args),
        "localhost".into(),
        "127.0.0.1".into(),
        "::1".into(),
    ];
    let web = crate::web::start(
        address,
        &crate::web::cert::cert_path(&data),
        names,
        crate::web::WebConfig::from_osc(osc),
        link,
        data.clone(),
        events.clone(),
    )?;
    events.send(BoxEvent::WebListening {
        address: web.local_addr().to_string(),
        fingerprint: web.fingerprint().to_owned(),
        created: web.created(),
    });
    Ok(web)
}

/// The box's name: `--name`, else the host name.
fn box_name(args: &Args) -> String {
    args.name.clone().unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "cuebox".into())
    })
}

/// Starts the show-control inputs `--showctl` (or `<root>/showctl.json`,
/// loaded as `loaded`) turns on; none without a file.
fn start_showctl(
    loaded: Option<&(crate::showctl::config::ShowctlConfig, PathBuf)>,
    args: &Args,
    link: Arc<LiveLink>,
    events: &Publisher,
) -> Result<Option<crate::showctl::service::Showctl>, RunError> {
    let Some((config, path)) = loaded else {
        return Ok(None);
    };
    let path = path.clone();
    let running = crate::showctl::service::start(config, box_name(args), link, events.clone())?;
    events.send(BoxEvent::ShowctlListening {
        config: path,
        osc_udp: running.osc().map(|o| o.udp_addr().to_string()),
        osc_tcp: running.osc().map(|o| o.tcp_addr().to_string()),
        osc_open_role: config.osc.as_ref().and_then(|o| o.passcodeless_role()),
        msc_udp: running.msc_addr().map(|a| a.to_string()),
        midi: config.midi.iter().map(|m| m.port.clone()).collect(),
    });
    Ok(Some(running))
}

/// A configuration file: the one given, else `<root>/NAME` when it exists.
fn config_file(root: &Path, given: &Option<PathBuf>, name: &str) -> Option<PathBuf> {
    given.clone().or_else(|| {
        let p = root.join(name);
        p.exists().then_some(p)
    })
}

/// Starts the off-box copies `--offbox` (or `<root>/offbox.json`) asks for;
/// none without a file. A mistake in the file stops the run.
fn start_offbox(
    root: &Path,
    args: &Args,
    events: &Publisher,
) -> Result<Option<crate::offbox::Offbox>, RunError> {
    let Some(path) = config_file(root, &args.offbox, "offbox.json") else {
        return Ok(None);
    };
    let config = crate::offbox::OffboxConfig::load(&path)?;
    events.send(BoxEvent::OffboxStarted {
        config: path,
        remote: config.remote.clone(),
        every_minutes: config.every_minutes,
        what: config.what.clone(),
    });
    let core = args.core.unwrap_or_else(crate::system::audio_core);
    Ok(Some(crate::offbox::Offbox::start(
        config,
        root,
        core,
        events.clone(),
    )?))
}

fn live_config(args: &Args, map: Option<cuebox_engine::show::DeviceMap>) -> LiveConfig {
    let output = match (&args.device, &map) {
        (Some(pcm), _) => Output::Pcm(pcm.clone()),
        (None, Some(m)) if args.card.is_none() => Output::Pcm(m.playback_pcm.clone()),
        _ => Output::Card(args.card.clone()),
    };
    let core = args.core;
    LiveConfig {
        output,
        playback: Settings {
            rate: args.rate,
            period: args.period as usize,
            periods: args.periods,
            format: args.format,
            access: args.access,
            channels: args.channels,
        },
        capture: args.capture.clone().map(|name| CaptureConfig {
            pcm: PcmConfig {
                name,
                rate: args.rate,
                period: args.period as usize,
                periods: args.periods,
                format: args.format,
                access: args.access,
                channels: args.capture_channels,
            },
            record: args.record.clone(),
        }),
        rt_out: RtConfig {
            priority: args.priority,
            core,
            ..RtConfig::default()
        },
        rt_in: RtConfig {
            priority: args.capture_priority,
            core,
            ..RtConfig::default()
        },
        device_map: map,
        clocking: ClockingConfig {
            mtc_ports: args.mtc.clone(),
            ptp: args
                .ptp
                .as_ref()
                .map(|iface| ptp_config(iface, args.ptp_master, args.pair)),
            ..ClockingConfig::default()
        },
        plays: None,
        cue_tap: None,
    }
}
