//! `cueboxd clock …`: run one of the box's time sources on its own and
//! watch it — for setting up a rig, and for the tests against peers.

use std::time::{Duration, Instant};

use serde_json::json;

use super::ptp::{monotonic_ns, realtime_ns, Ptp, PtpConfig, PtpTime};

/// `cueboxd clock …`
#[derive(Debug, clap::Subcommand)]
pub enum ClockCmd {
    /// Run PTP (statime, AES67 defaults) on an interface and print its state
    /// every second: port state, offset from the master, path delay, the
    /// virtual clock's frequency correction and steps, and how far the
    /// box's PTP time is from its system clock. The system clock itself is
    /// never changed.
    Ptp(PtpArgs),
}

/// `cueboxd clock ptp`
#[derive(Debug, clap::Args)]
pub struct PtpArgs {
    /// The network interface.
    #[arg(long)]
    pub interface: String,
    /// Allow this box to become master (default: slave only).
    #[arg(long)]
    pub master: bool,
    /// The PTP domain.
    #[arg(long, default_value_t = 0)]
    pub domain: u8,
    /// BMCA priority 1 (lower wins).
    #[arg(long, default_value_t = 128)]
    pub priority1: u8,
    /// log2 of the sync interval in seconds (AES67: −3, 8 per second).
    #[arg(long, default_value_t = -3, allow_negative_numbers = true)]
    pub log_sync: i8,
    /// log2 of the minimum delay request interval in seconds.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub log_delay_req: i8,
    /// Stop after this many seconds (default: run until killed).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Fault injection: start the virtual clock this many seconds off.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub inject_offset: f64,
    /// Fault injection: run the virtual clock's oscillator this many ppm off.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub inject_ppm: f64,
    /// One JSON object per second instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `clock` command.
pub fn run(cmd: &ClockCmd) -> anyhow::Result<()> {
    match cmd {
        ClockCmd::Ptp(args) => ptp(args),
    }
}

fn ptp(args: &PtpArgs) -> anyhow::Result<()> {
    let config = PtpConfig {
        master: args.master,
        domain: args.domain,
        priority_1: args.priority1,
        log_sync: args.log_sync,
        log_delay_req: args.log_delay_req,
        inject_offset_ns: (args.inject_offset * 1e9).round() as i64,
        inject_ppm: args.inject_ppm,
        ..PtpConfig::aes67(&args.interface)
    };
    let port = Ptp::start(config)?;
    let time = port.time();
    let started = Instant::now();
    let end = args.seconds.map(Duration::from_secs_f64);
    let mut next = started;
    loop {
        next += Duration::from_secs(1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let elapsed = started.elapsed();
        let s = port.status();
        let against_system = ptp_minus_system_ns(&time);
        if args.json {
            println!(
                "{}",
                json!({
                    "t_s": elapsed.as_secs_f64(), "state": s.state, "grandmaster": s.grandmaster,
                    "offset_from_master_ns": s.offset_from_master_ns,
                    "mean_delay_ns": s.mean_delay_ns, "correction_ppm": s.correction_ppm,
                    "steps": s.steps, "utc_offset": s.utc_offset,
                    "ptp_minus_system_ns": against_system,
                })
            );
        } else {
            println!(
                "{:6.1} s  {:<10} offset {:+10.3} µs  delay {:8.3} µs  correction {:+8.3} ppm  \
                 steps {}  ptp−system {:+.3} µs",
                elapsed.as_secs_f64(),
                s.state,
                s.offset_from_master_ns / 1e3,
                s.mean_delay_ns / 1e3,
                s.correction_ppm,
                s.steps,
                against_system as f64 / 1e3,
            );
        }
        if end.is_some_and(|end| elapsed >= end) {
            break;
        }
    }
    port.stop()?;
    Ok(())
}

/// The box's PTP time (as UTC) minus its system clock (CLOCK_REALTIME), ns,
/// both read at one instant: the system clock between two monotonic
/// readings.
fn ptp_minus_system_ns(time: &PtpTime) -> i64 {
    let before = monotonic_ns();
    let system = realtime_ns();
    let after = monotonic_ns();
    let ptp = time.utc_at(before + (after - before) / 2);
    (ptp as i128 - system as i128) as i64
}
