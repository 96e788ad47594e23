//! PTP (IEEE 1588-2019) through statime, embedded: statime does the
//! protocol; this module gives it the box's [`VirtualClock`], the two UDP
//! sockets with kernel software timestamps, the port's timers and the BMCA
//! cycle. An ordinary clock on one interface: a slave by default, able to
//! become master when configured. AES67 media profile defaults.
//!
//! It never steps or slews the machine's system clock: only the virtual
//! clock moves, and [`PtpTime`] readers see it.

mod clock;
mod net;

use std::collections::VecDeque;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use rand08::rngs::SmallRng;
use rand08::SeedableRng;
use statime::config::{
    AcceptAnyMaster, ClockIdentity, DelayMechanism, InstanceConfig, LeapIndicator, PortConfig,
    PtpMinorVersion, TimePropertiesDS, TimeSource,
};
use statime::filters::{KalmanConfiguration, KalmanFilter};
use statime::port::{NoForwardedTLVs, Port, PortAction, PortActionIterator, Running};
use statime::time::{Interval, Time};
use statime::PtpInstance;

pub use clock::{
    monotonic_ns, realtime_ns, realtime_to_monotonic, ClockFigures, PtpTime, VirtualClock,
};
use net::{PtpSockets, PDELAY, PRIMARY};

/// TAI − UTC in seconds, as announced when master (unchanged since 2017).
const TAI_MINUS_UTC: i16 = 37;

/// How the PTP port runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PtpConfig {
    /// The network interface.
    pub interface: String,
    /// Whether this box may become master (else slave only).
    pub master: bool,
    /// The PTP domain (AES67: 0).
    pub domain: u8,
    /// BMCA priority 1 (lower wins; AES67 default 128).
    pub priority_1: u8,
    /// log2 of the announce interval, s (AES67: 1).
    pub log_announce: i8,
    /// log2 of the sync interval, s (AES67: −3).
    pub log_sync: i8,
    /// log2 of the minimum delay request interval, s (AES67: 0).
    pub log_delay_req: i8,
    /// Announce intervals without an announce before the master is lost
    /// (AES67: 3).
    pub announce_receipt_timeout: u8,
    /// Fault injection: the virtual clock starts this far from the system
    /// clock, ns.
    pub inject_offset_ns: i64,
    /// Fault injection: the virtual clock's oscillator runs this far off, ppm.
    pub inject_ppm: f64,
}

impl PtpConfig {
    /// The AES67 media profile's defaults on `interface`, slave only.
    pub fn aes67(interface: impl Into<String>) -> Self {
        PtpConfig {
            interface: interface.into(),
            master: false,
            domain: 0,
            priority_1: 128,
            log_announce: 1,
            log_sync: -3,
            log_delay_req: 0,
            announce_receipt_timeout: 3,
            inject_offset_ns: 0,
            inject_ppm: 0.0,
        }
    }
}

/// What the PTP port is doing.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PtpStatus {
    /// The port state (`Listening`, `Slave`, `Master`, …).
    pub state: String,
    /// Whether its time is the network's: a slave steering to its master,
    /// or the master.
    pub synchronised: bool,
    /// The grandmaster's clock identity, as hex (the port's own while it
    /// is master).
    pub grandmaster: Option<String>,
    /// The last measured offset from the master, ns.
    pub offset_from_master_ns: f64,
    /// The mean path delay, ns.
    pub mean_delay_ns: f64,
    /// The frequency correction applied to the virtual clock, ppm.
    pub correction_ppm: f64,
    /// How often the virtual clock was stepped.
    pub steps: u64,
    /// The master's UTC offset, s.
    pub utc_offset: Option<i16>,
}

/// Why PTP could not run.
#[derive(Debug, thiserror::Error)]
pub enum PtpError {
    /// The interface or its sockets.
    #[error(
        "PTP on {interface}: {what}: {source}; PTP needs root (ports 319/320) and an interface \
         with an IPv4 address"
    )]
    Net {
        /// The interface.
        interface: String,
        /// What failed.
        what: &'static str,
        /// The reason.
        source: std::io::Error,
    },
}

/// A running PTP port. Dropping it stops it.
pub struct Ptp {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), PtpError>>>,
    time: PtpTime,
    status: Arc<Mutex<PtpStatus>>,
}

impl Ptp {
    /// Opens the interface's sockets and starts the port on its own
    /// (housekeeping) thread.
    pub fn start(config: PtpConfig) -> Result<Ptp, PtpError> {
        let name = config.interface.clone();
        let net_error = |what| {
            let interface = name.clone();
            move |source| PtpError::Net {
                interface,
                what,
                source,
            }
        };
        let (addr, mac) =
            net::interface(&config.interface).map_err(net_error("cannot read the interface"))?;
        let sockets = PtpSockets::open(&config.interface, addr)
            .map_err(net_error("cannot open the PTP sockets"))?;
        let (clock, time) = VirtualClock::new(
            config.master.then_some(TAI_MINUS_UTC),
            config.inject_offset_ns,
            config.inject_ppm,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let status = Arc::new(Mutex::new(PtpStatus::default()));
        let (thread_stop, thread_status) = (Arc::clone(&stop), Arc::clone(&status));
        let thread_time = time.clone();
        let thread = std::thread::Builder::new()
            .name("ptp".into())
            .spawn(move || {
                let interface = config.interface.clone();
                run(
                    config,
                    mac,
                    sockets,
                    clock,
                    &thread_time,
                    &thread_stop,
                    &thread_status,
                )
                .map_err(|source| PtpError::Net {
                    interface,
                    what: "the port failed",
                    source,
                })
            })
            .map_err(net_error("cannot start the PTP thread"))?;
        Ok(Ptp {
            stop,
            thread: Some(thread),
            time,
            status,
        })
    }

    /// A reader of the box's PTP time.
    pub fn time(&self) -> PtpTime {
        self.time.clone()
    }

    /// What the port is doing now.
    pub fn status(&self) -> PtpStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Another thread's view of the port: its time and whether that time
    /// is the network's.
    pub fn view(&self) -> PtpView {
        PtpView {
            time: self.time.clone(),
            status: Arc::clone(&self.status),
        }
    }

    /// Stops the port; says why it ended if it failed.
    pub fn stop(mut self) -> Result<(), PtpError> {
        self.halt()
    }

    fn halt(&mut self) -> Result<(), PtpError> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Ok(()),
        }
    }
}

impl Drop for Ptp {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// A slave further than this from its master (its last measured offset)
/// does not carry the network's time closely enough to place a sample.
pub const CLOSE_NS: f64 = 50_000.0;

/// Another thread's view of a running port (the pair's: docs/pair.md).
#[derive(Debug, Clone)]
pub struct PtpView {
    time: PtpTime,
    status: Arc<Mutex<PtpStatus>>,
}

impl PtpView {
    /// The box's PTP time.
    pub fn time(&self) -> &PtpTime {
        &self.time
    }

    /// The grandmaster whose timescale the box's PTP time is, while it is
    /// the network's: the port is master, or a slave that has measured its
    /// path to the master and is within [`CLOSE_NS`] of it. `None`
    /// otherwise (listening, or a slave still converging).
    pub fn timescale(&self) -> Option<String> {
        let s = self.status.lock().ok()?;
        // Both figures read 0.0 exactly until a delay is measured.
        let close = s.state == "Master"
            || (s.mean_delay_ns != 0.0 && s.offset_from_master_ns.abs() <= CLOSE_NS);
        (s.synchronised && close)
            .then(|| s.grandmaster.clone())
            .flatten()
    }
}

/// The port's timers: when each next goes off.
#[derive(Debug, Default)]
struct Timers {
    announce: Option<Instant>,
    sync: Option<Instant>,
    delay_request: Option<Instant>,
    announce_receipt: Option<Instant>,
    filter_update: Option<Instant>,
}

impl Timers {
    fn next(&self) -> Option<Instant> {
        [
            self.announce,
            self.sync,
            self.delay_request,
            self.announce_receipt,
            self.filter_update,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// What the port's actions leave for the loop: the event messages sent
/// whose transmit timestamps statime waits for.
struct Io<'s> {
    sockets: &'s PtpSockets,
    timers: Timers,
    awaiting_timestamp: VecDeque<statime::port::TimestampContext>,
}

impl Io<'_> {
    fn act(&mut self, actions: PortActionIterator<'_>) -> std::io::Result<()> {
        let after = |d: Duration| Some(Instant::now() + d);
        for action in actions {
            match action {
                PortAction::SendEvent {
                    context,
                    data,
                    link_local,
                } => {
                    self.sockets
                        .send_event(data, if link_local { PDELAY } else { PRIMARY })?;
                    self.awaiting_timestamp.push_back(context);
                }
                PortAction::SendGeneral { data, link_local } => self
                    .sockets
                    .send_general(data, if link_local { PDELAY } else { PRIMARY })?,
                PortAction::ResetAnnounceTimer { duration } => {
                    self.timers.announce = after(duration)
                }
                PortAction::ResetSyncTimer { duration } => self.timers.sync = after(duration),
                PortAction::ResetDelayRequestTimer { duration } => {
                    self.timers.delay_request = after(duration)
                }
                PortAction::ResetAnnounceReceiptTimer { duration } => {
                    self.timers.announce_receipt = after(duration)
                }
                PortAction::ResetFilterUpdateTimer { duration } => {
                    self.timers.filter_update = after(duration)
                }
                PortAction::ForwardTLV { .. } => {}
            }
        }
        Ok(())
    }
}

type RunningPort<'a> = Port<'a, Running, AcceptAnyMaster, SmallRng, VirtualClock, KalmanFilter>;

/// The port's loop: timers, sockets, transmit timestamps and the BMCA.
fn run(
    config: PtpConfig,
    mac: [u8; 6],
    sockets: PtpSockets,
    clock: VirtualClock,
    time: &PtpTime,
    stop: &AtomicBool,
    status: &Mutex<PtpStatus>,
) -> std::io::Result<()> {
    let instance = PtpInstance::<KalmanFilter>::new(
        InstanceConfig {
            clock_identity: ClockIdentity::from_mac_address(mac),
            priority_1: config.priority_1,
            priority_2: 128,
            domain_number: config.domain,
            sdo_id: Default::default(),
            slave_only: !config.master,
            path_trace: false,
        },
        // The PTP timescale: as master the virtual clock counts TAI (the
        // system clock's UTC plus 37 s, unchanged since 2017) and announces
        // the offset, so slaves show the right UTC.
        TimePropertiesDS::new_ptp_time(
            Some(TAI_MINUS_UTC),
            LeapIndicator::NoLeap,
            false,
            false,
            TimeSource::InternalOscillator,
        ),
    );
    let port_config = PortConfig {
        acceptable_master_list: AcceptAnyMaster,
        delay_mechanism: DelayMechanism::E2E {
            interval: Interval::from_log_2(config.log_delay_req),
        },
        announce_interval: Interval::from_log_2(config.log_announce),
        announce_receipt_timeout: config.announce_receipt_timeout,
        sync_interval: Interval::from_log_2(config.log_sync),
        master_only: false,
        delay_asymmetry: Default::default(),
        minor_ptp_version: PtpMinorVersion::One,
    };
    let figures = clock.figures();
    let seed =
        realtime_ns() ^ u64::from_le_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0]);
    let port = instance.add_port(
        port_config,
        KalmanConfiguration::default(),
        clock,
        SmallRng::seed_from_u64(seed),
    );
    let (mut port, actions) = port.end_bmca();
    let mut io = Io {
        sockets: &sockets,
        timers: Timers::default(),
        awaiting_timestamp: VecDeque::new(),
    };
    io.act(actions)?;
    let mut next_bmca = Instant::now() + instance.bmca_interval();
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let deadline = io.timers.next().map_or(next_bmca, |t| t.min(next_bmca));
        // Wake at least every 100 ms to see a stop.
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100));
        let mut fds = [
            PollFd::new(sockets.event.as_fd(), PollFlags::POLLIN),
            PollFd::new(sockets.general.as_fd(), PollFlags::POLLIN),
        ];
        let timeout =
            PollTimeout::try_from(wait.as_millis().max(1) as u64).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        while let Some(r) = PtpSockets::receive(&sockets.event, &mut buf)? {
            // An event message without its receive timestamp is useless
            // for timing: statime gets only the ones the kernel stamped.
            if let Some(ts) = r.timestamp {
                let at = stamped(time, ts);
                let actions = port.handle_event_receive(&buf[..r.len], at);
                io.act(actions)?;
            }
        }
        while let Some(r) = PtpSockets::receive(&sockets.general, &mut buf)? {
            let actions = port.handle_general_receive(&buf[..r.len]);
            io.act(actions)?;
        }
        take_transmit_timestamps(&mut port, &mut io, time)?;
        fire_timers(&mut port, &mut io)?;
        take_transmit_timestamps(&mut port, &mut io, time)?;
        if Instant::now() >= next_bmca {
            let mut bmca = port.start_bmca();
            instance.bmca(&mut [&mut bmca]);
            let (running, actions) = bmca.end_bmca();
            port = running;
            io.act(actions)?;
            next_bmca = Instant::now() + instance.bmca_interval();
        }
        publish(&instance, &port, &figures, status);
    }
    Ok(())
}

/// The virtual clock's time when the kernel stamped a packet.
fn stamped(time: &PtpTime, realtime: u64) -> Time {
    Time::from_nanos(time.at(realtime_to_monotonic(realtime)))
}

/// Hands statime the transmit timestamp of every event message it waits
/// for. The kernel stamps a packet as it leaves, so the timestamp is there
/// within moments of the send; one never stamped is given up after 50 ms
/// (statime then simply lacks that measurement).
fn take_transmit_timestamps(
    port: &mut RunningPort<'_>,
    io: &mut Io<'_>,
    time: &PtpTime,
) -> std::io::Result<()> {
    while let Some(context) = io.awaiting_timestamp.pop_front() {
        let give_up = Instant::now() + Duration::from_millis(50);
        let stamp = loop {
            if let Some(ts) = io.sockets.transmit_timestamp()? {
                break Some(ts);
            }
            if Instant::now() >= give_up {
                break None;
            }
            let mut fds = [PollFd::new(io.sockets.event.as_fd(), PollFlags::POLLERR)];
            let _ = poll(&mut fds, PollTimeout::from(5u8));
        };
        if let Some(ts) = stamp {
            let actions = port.handle_send_timestamp(context, stamped(time, ts));
            io.act(actions)?;
        }
    }
    Ok(())
}

/// Runs the handler of every timer that has gone off.
fn fire_timers(port: &mut RunningPort<'_>, io: &mut Io<'_>) -> std::io::Result<()> {
    let now = Instant::now();
    let due = |t: &mut Option<Instant>| {
        let fired = t.is_some_and(|t| t <= now);
        if fired {
            *t = None;
        }
        fired
    };
    // Each timer that went off runs its handler and acts on what it says.
    macro_rules! fire {
        ($timer:ident => $handler:expr) => {
            if due(&mut io.timers.$timer) {
                let actions = $handler;
                io.act(actions)?;
            }
        };
    }
    fire!(announce => port.handle_announce_timer(&mut NoForwardedTLVs));
    fire!(sync => port.handle_sync_timer());
    fire!(delay_request => port.handle_delay_request_timer());
    fire!(announce_receipt => port.handle_announce_receipt_timer());
    fire!(filter_update => port.handle_filter_update_timer());
    Ok(())
}

/// Publishes the port's state for [`Ptp::status`].
fn publish(
    instance: &PtpInstance<KalmanFilter>,
    port: &RunningPort<'_>,
    clock: &ClockFigures,
    status: &Mutex<PtpStatus>,
) {
    let state = port.port_ds().port_state;
    let current = instance.current_ds(port.port_current_ds_contribution());
    let slave = port.is_steering();
    // A master's parent data set names itself: the timescale it runs.
    let grandmaster = (slave || port.is_master()).then(|| {
        instance
            .parent_ds()
            .grandmaster_identity
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    });
    if let Ok(mut s) = status.lock() {
        *s = PtpStatus {
            state: format!("{state:?}"),
            synchronised: slave || port.is_master(),
            grandmaster,
            offset_from_master_ns: current.offset_from_master.nanos_lossy(),
            mean_delay_ns: current.mean_delay.nanos_lossy(),
            correction_ppm: clock.correction_ppm(),
            steps: clock.steps(),
            utc_offset: clock.utc_offset(),
        };
    }
}
