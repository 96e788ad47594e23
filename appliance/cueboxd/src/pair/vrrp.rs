//! The pair's control address through keepalived's VRRP (docs/pair.md,
//! "Takeover"). cueboxd decides which unit is main; keepalived moves the
//! address: cueboxd writes its role into a file keepalived tracks (`0` for
//! main, `1` for backup, with weight 0: a backup's instance sits in FAULT
//! and never bids for the address), and reads keepalived's state changes
//! from its notify FIFO (MASTER: this unit holds the address).

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use super::Role;

/// The keepalived binary (Debian's `keepalived`).
const KEEPALIVED: &str = "keepalived";
/// VRRP advertisements every 100 ms: a backup allowed to bid takes the
/// address in about 0.35 s when the main's keepalived vanished without a
/// word (power, cable); at once when it said goodbye (priority 0).
const ADVERT_INT: &str = "0.1";

/// The control address with its prefix length, `10.0.0.30/24`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipAddress {
    ip: IpAddr,
    prefix: u8,
}

impl VipAddress {
    /// The address alone.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl fmt::Display for VipAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix)
    }
}

impl FromStr for VipAddress {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = s.split_once('/').ok_or_else(|| {
            format!("{s:?} has no prefix length: write the address as 10.0.0.30/24")
        })?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("{ip:?} is not an IPv4 or IPv6 address"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|p| (1..=max).contains(p))
            .ok_or_else(|| format!("{prefix:?} is not a prefix length from 1 to {max}"))?;
        Ok(VipAddress { ip, prefix })
    }
}

/// The control address of a pair and where it lives.
#[derive(Debug, Clone)]
pub struct Vip {
    /// The address.
    pub address: VipAddress,
    /// The network interface it is put on (both units' show network).
    pub interface: String,
    /// VRRP's virtual router id: the same on both units, unique among the
    /// VRRP routers on that network.
    pub router_id: u8,
}

/// keepalived, run by cueboxd for the pair: ended with it (SIGTERM when
/// cueboxd ends, dies or is killed: keepalived then gives the address up
/// at once, priority 0).
pub(super) struct Keepalived {
    child: Child,
    track: PathBuf,
    /// The role last written to `track`.
    written: Role,
    /// What the notify FIFO said last: 0 nothing yet, 1 not MASTER, 2 MASTER.
    holds: Arc<AtomicU8>,
}

impl Keepalived {
    /// Writes keepalived's configuration for `vip` into `dir` and starts it
    /// with this unit as a backup (not bidding). `configured` sets its VRRP
    /// priority: the configured main's is higher, so when two units that
    /// both think they are main meet, the configured main keeps the address.
    pub(super) fn start(vip: &Vip, configured: Role, dir: &Path) -> Result<Keepalived, String> {
        let at = |e: std::io::Error, what: &Path| format!("{}: {e}", what.display());
        std::fs::create_dir_all(dir).map_err(|e| at(e, dir))?;
        let track = dir.join("role");
        write_role(&track, Role::Backup).map_err(|e| at(e, &track))?;
        let fifo = dir.join("notify");
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(|e| format!("{}: {e}", fifo.display()))?;
        let conf = dir.join("keepalived.conf");
        let priority = match configured {
            Role::Main => 150,
            Role::Backup => 100,
        };
        let text = config(vip, priority, &track, &fifo);
        crate::store::write_atomic(&conf, text.as_bytes()).map_err(|e| e.to_string())?;
        let log = dir.join("keepalived.log");
        let log = File::create(&log).map_err(|e| at(e, &log))?;
        let err = log.try_clone().map_err(|e| at(e, dir))?;
        // setpriv (util-linux) sets the parent-death signal before keepalived
        // starts: a SIGKILLed cueboxd still takes its address down with it.
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "TERM", "--", KEEPALIVED])
            .args(["--dont-fork", "--log-console", "--no-syslog", "--vrrp"])
            .arg("--use-file")
            .arg(&conf)
            .arg("--pid")
            .arg(dir.join("keepalived.pid"))
            .arg("--vrrp_pid")
            .arg(dir.join("vrrp.pid"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot run keepalived (Debian package keepalived): {e}"))?;
        let holds = Arc::new(AtomicU8::new(0));
        let seen = holds.clone();
        std::thread::Builder::new()
            .name("pair-vrrp".into())
            .spawn(move || read_notify(&fifo, &seen))
            .map_err(|e| format!("cannot start the pair-vrrp thread: {e}"))?;
        Ok(Keepalived {
            child,
            track,
            written: Role::Backup,
            holds,
        })
    }

    /// Lets keepalived bid for the address (main) or not (backup).
    pub(super) fn set_role(&mut self, role: Role) -> Result<(), String> {
        if role == self.written {
            return Ok(());
        }
        write_role(&self.track, role).map_err(|e| format!("{}: {e}", self.track.display()))?;
        self.written = role;
        Ok(())
    }

    /// Whether this unit holds the address: keepalived's last word.
    pub(super) fn holds(&self) -> bool {
        self.holds.load(Ordering::Relaxed) == 2
    }

    /// Why keepalived is no longer running, once it is not.
    pub(super) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "keepalived ended ({status}): the control address cannot move"
            )),
            _ => None,
        }
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // SIGTERM: keepalived gives the address up and tells the other unit.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

/// The role file keepalived tracks: `0` lets it bid, anything else holds
/// its instance in FAULT. Written in place (a few bytes): keepalived reads
/// it on each change it is told of.
fn write_role(track: &Path, role: Role) -> std::io::Result<()> {
    let value = match role {
        Role::Main => "0\n",
        Role::Backup => "1\n",
    };
    std::fs::write(track, value)
}

/// keepalived's configuration: one VRRP instance, every unit starting as
/// BACKUP with `nopreempt` (a unit that comes back never takes the address
/// from the one holding it), gated by the role file.
fn config(vip: &Vip, priority: u8, track: &Path, fifo: &Path) -> String {
    format!(
        "# Written by cueboxd for its pair at each start (docs/pair.md).\n\
         global_defs {{\n  vrrp_version 3\n  vrrp_notify_fifo \"{fifo}\"\n}}\n\
         track_file cuebox_role {{\n  file \"{track}\"\n  weight 0\n}}\n\
         vrrp_instance cuebox {{\n  state BACKUP\n  nopreempt\n  interface {iface}\n  \
         virtual_router_id {id}\n  priority {priority}\n  advert_int {ADVERT_INT}\n  \
         virtual_ipaddress {{\n    {address} dev {iface}\n  }}\n  \
         track_file {{\n    cuebox_role\n  }}\n}}\n",
        fifo = fifo.display(),
        track = track.display(),
        iface = vip.interface,
        id = vip.router_id,
        address = vip.address,
    )
}

/// Reads keepalived's notify FIFO (`INSTANCE "cuebox" MASTER 150`) into
/// `holds` until keepalived closes it.
fn read_notify(fifo: &Path, holds: &AtomicU8) {
    let Ok(file) = File::open(fifo) else { return };
    for line in BufReader::new(file).lines().map_while(Result::ok) {
        let state = line.split_whitespace().nth(2);
        holds.store(
            if state == Some("MASTER") { 2 } else { 1 },
            Ordering::Relaxed,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_control_address_needs_its_prefix_and_says_what_is_wrong() {
        let a: VipAddress = "10.0.0.30/24".parse().unwrap();
        assert_eq!(a.to_string(), "10.0.0.30/24");
        assert!("fd00::30/64".parse::<VipAddress>().is_ok());
        let e = "10.0.0.30".parse::<VipAddress>().unwrap_err();
        assert!(e.contains("no prefix length"), "{e}");
        let e = "10.0.0.300/24".parse::<VipAddress>().unwrap_err();
        assert!(e.contains("not an IPv4 or IPv6 address"), "{e}");
        let e = "10.0.0.30/33".parse::<VipAddress>().unwrap_err();
        assert!(e.contains("from 1 to 32"), "{e}");
    }

    #[test]
    fn the_configuration_gates_the_instance_on_the_role_file_and_never_preempts() {
        let vip = Vip {
            address: "10.0.0.30/24".parse().unwrap(),
            interface: "eth0".into(),
            router_id: 53,
        };
        let c = config(&vip, 150, Path::new("/d/role"), Path::new("/d/notify"));
        for part in [
            "vrrp_notify_fifo \"/d/notify\"",
            "file \"/d/role\"\n  weight 0",
            "state BACKUP\n  nopreempt",
            "virtual_router_id 53",
            "priority 150",
            "10.0.0.30/24 dev eth0",
        ] {
            assert!(c.contains(part), "{part} in\n{c}");
        }
    }
}
