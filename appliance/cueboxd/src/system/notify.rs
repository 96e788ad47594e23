//! systemd's service notification (sd_notify): `READY=1` once cueboxd serves
//! or plays, and `WATCHDOG=1` from the main loop, so a unit with
//! `Type=notify` and `WatchdogSec=` restarts a box whose main loop hangs.
//! Outside systemd (no `NOTIFY_SOCKET`) every call does nothing.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// The connection to systemd's notification socket, if there is one.
#[derive(Debug)]
pub struct Notifier {
    socket: Option<(UnixDatagram, std::os::unix::net::SocketAddr)>,
    /// Half the watchdog interval systemd asked for (`WATCHDOG_USEC`).
    watchdog_every: Option<Duration>,
    last_ping: Option<Instant>,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` and `WATCHDOG_USEC` (and `WATCHDOG_PID`, which
    /// must be this process) from the environment.
    pub fn from_env() -> Notifier {
        let socket = std::env::var("NOTIFY_SOCKET").ok().and_then(|path| {
            let addr = if let Some(name) = path.strip_prefix('@') {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).ok()?
            } else {
                std::os::unix::net::SocketAddr::from_pathname(&path).ok()?
            };
            Some((UnixDatagram::unbound().ok()?, addr))
        });
        let for_us = std::env::var("WATCHDOG_PID")
            .ok()
            .is_none_or(|pid| pid.parse() == Ok(std::process::id()));
        let watchdog_every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|us| us.parse::<u64>().ok())
            .filter(|us| *us > 0 && for_us)
            .map(|us| Duration::from_micros(us / 2));
        Notifier {
            socket,
            watchdog_every,
            last_ping: None,
        }
    }

    fn send(&self, state: &str) {
        if let Some((socket, addr)) = &self.socket {
            // A lost notification is systemd's to time out on; nothing here can fix it.
            let _ = socket.send_to_addr(state.as_bytes(), addr);
        }
    }

    /// Tells systemd the service is up, with a one-line status.
    pub fn ready(&self, status: &str) {
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// Updates the status line `systemctl status` shows.
    pub fn status(&self, status: &str) {
        self.send(&format!("STATUS={status}"));
    }

    /// Pings the watchdog if half its interval has passed since the last ping.
    pub fn watchdog(&mut self) {
        let Some(every) = self.watchdog_every else {
            return;
        };
        if self.last_ping.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.send("WATCHDOG=1");
        self.last_ping = Some(Instant::now());
    }

    /// Tells systemd the service is stopping.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }
}

/// The process's notifier and the status it last sent (none: not ready yet).
type Shared = std::sync::Mutex<(Notifier, Option<String>)>;
static NOTIFIER: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();

fn with(f: impl FnOnce(&mut Notifier, &mut Option<String>)) {
    let cell = NOTIFIER.get_or_init(|| std::sync::Mutex::new((Notifier::from_env(), None)));
    if let Ok(mut guard) = cell.lock() {
        let (n, status) = &mut *guard;
        f(n, status);
    }
}

/// Called from a main loop on each turn: the first call tells systemd the
/// box is ready (`status` says how), later ones ping the watchdog. A loop
/// that stops turning stops the pings, and systemd restarts the service.
pub fn alive(status: &str) {
    with(|n, last| {
        match last {
            None => n.ready(status),
            Some(s) if s != status => n.status(status),
            Some(_) => {}
        }
        if last.as_deref() != Some(status) {
            *last = Some(status.to_owned());
        }
        n.watchdog();
    });
}

/// Tells systemd the service is stopping (the final save may take a while).
pub fn stopping() {
    with(|n, _| n.stopping());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_and_watchdog_reach_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        listener
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut n = Notifier {
            socket: Some((
                UnixDatagram::unbound().unwrap(),
                std::os::unix::net::SocketAddr::from_pathname(&path).unwrap(),
            )),
            watchdog_every: Some(Duration::from_secs(3600)),
            last_ping: None,
        };
        n.ready("idle");
        n.watchdog();
        n.watchdog(); // within the interval: not sent
        n.stopping();
        let mut buf = [0u8; 256];
        let mut got = Vec::new();
        for _ in 0..3 {
            let len = listener.recv(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
        assert_eq!(got, ["READY=1\nSTATUS=idle", "WATCHDOG=1", "STOPPING=1"]);
    }
}
