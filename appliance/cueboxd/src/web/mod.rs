//! The operator's page: the show's grid in any browser on the box's
//! network (docs/web.md). An HTTPS server on the housekeeping side — axum
//! on a one-thread tokio runtime (`web`), TLS by rustls with the box's
//! self-signed certificate ([`cert`]) — serving the page (built into the
//! binary, [`assets`]), a login by the passcodes of show control's OSC
//! section (`showctl.json`), the live state as Server-Sent Events
//! ([`feed`]) and commands, which reach the show only through
//! [`LiveLink::submit`] (and [`LiveLink::go_next`], which submits).
//!
//! The same guards as OSC: its allow list (checked when a connection is
//! accepted), a token bucket per address ([`crate::limit`]), wrong
//! passcodes held back ([`Guesses`]), and every refusal booked as a
//! `showctl_refused` event with `via` `web` ([`Refusals`]).

mod assets;
pub mod cert;
pub mod edit;
mod feed;
pub mod layout;
mod routes;
mod sessions;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use ipnet::IpNet;

use crate::api::keys::Role;
use crate::events::Publisher;
use crate::limit::Buckets;
use crate::link::LiveLink;
use crate::refusals::{Refusals, ShowctlRefusal};
use crate::showctl::config::{burst, private_networks, rate, OscConfig, Passcode};
use crate::showctl::osc::guesses::Guesses;
use crate::store::DataRoot;

/// The page's port when `--web` names none.
pub const DEFAULT_PORT: u16 = 8443;
/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// A TLS handshake must finish within this.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Addresses whose request rate is followed at once.
const RATE_SOURCES: usize = 1024;

/// Who may use the page and how often.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The passcodes and their roles (`osc.passcodes` of `showctl.json`).
    pub passcodes: Vec<Passcode>,
    /// The networks browsers may be on (`osc.allow`; private networks
    /// when show control has no OSC section).
    pub allow: Vec<IpNet>,
    /// Requests one address may make at once…
    pub burst: f64,
    /// …and per second after that.
    pub rate: f64,
}

impl WebConfig {
    /// The page's guards from show control's OSC section, if any.
    pub fn from_osc(osc: Option<&OscConfig>) -> WebConfig {
        match osc {
            Some(o) => WebConfig {
                passcodes: o.passcodes.clone(),
                allow: o.allow.clone(),
                burst: o.burst,
                rate: o.rate,
            },
            None => WebConfig {
                passcodes: Vec::new(),
                allow: private_networks(),
                burst: burst(),
                rate: rate(),
            },
        }
    }
}

/// Why the page could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The certificate.
    #[error(transparent)]
    Cert(#[from] cert::CertError),
    /// Listening, or starting its threads.
    #[error("cannot serve the operator's page on {address}: {source}")]
    Io {
        /// Where.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The running page: served until dropped.
pub struct Web {
    address: SocketAddr,
    fingerprint: String,
    created: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _feed: feed::Bridge,
}

impl Web {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Its certificate's SHA-256 fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether its certificate was made at this start.
    pub fn created(&self) -> bool {
        self.created
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What every request handler shares.
pub(crate) struct Shared {
    config: WebConfig,
    link: Arc<LiveLink>,
    rates: Mutex<Buckets<IpAddr>>,
    guesses: Mutex<Guesses>,
    refusals: Refusals<(IpAddr, String), ShowctlRefusal>,
    sessions: Mutex<sessions::Sessions>,
    feed: feed::Feed,
    /// Where the playing session is saved after a live edit.
    root: DataRoot,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Books a refusal of `what` from `ip`: a `showctl_refused` event.
    fn refused(&self, ip: IpAddr, what: &str, reason: &str) {
        self.refusals.refused(
            (ip, reason.to_owned()),
            ShowctlRefusal {
                via: "web",
                from: ip.to_string(),
                what: what.to_owned(),
                reason: reason.to_owned(),
            },
        );
    }

    /// The role `code` gives, if it is a passcode.
    fn role_of(&self, code: &str) -> Option<Role> {
        self.config
            .passcodes
            .iter()
            .find(|p| sessions::same(p.code.as_bytes(), code.as_bytes()))
            .map(|p| p.role)
    }
}

/// Serves the page on `address` (`ADDR` or `ADDR:PORT`, port
/// [`DEFAULT_PORT`] unless given) for `link`, whose sessions are in
/// `root`, with the certificate at `cert_path` (made there at the first
/// start, naming `names`).
pub fn start(
    address: &str,
    cert_path: &std::path::Path,
    names: Vec<String>,
    config: WebConfig,
    link: Arc<LiveLink>,
    root: DataRoot,
    events: Publisher,
) -> Result<Web, WebError> {
    let address = with_port(address);
    let io = |source| WebError::Io {
        address: address.clone(),
        source,
    };
    let certificate = cert::load_or_create(cert_path, names)?;
    let listener = std::net::TcpListener::bind(&address).map_err(io)?;
    listener.set_nonblocking(true).map_err(io)?;
    let local = listener.local_addr().map_err(io)?;
    let (feed, bridge) = feed::start(&events).map_err(io)?;
    let shared = Arc::new(Shared {
        rates: Mutex::new(Buckets::new(RATE_SOURCES, config.burst, config.rate)),
        config,
        link,
        refusals: Refusals::new(events.clone()),
        guesses: Mutex::new(Guesses::default()),
        sessions: Mutex::new(sessions::Sessions::default()),
        feed,
        root,
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let tls = tokio_rustls::TlsAcceptor::from(certificate.config);
    let thread = std::thread::Builder::new()
        .name("web".into())
        .spawn(move || {
            // Its blocking pool (commands waiting for the control thread's
            // stamp) is named for the page too.
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .thread_name("web-blocking")
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cueboxd: the operator's page cannot start its runtime: {e}");
                    return;
                }
            };
            runtime.block_on(routes::serve(listener, tls, shared, stop_rx));
        })
        .map_err(io)?;
    Ok(Web {
        address: local,
        fingerprint: certificate.fingerprint,
        created: certificate.created,
        stop: Some(stop_tx),
        thread: Some(thread),
        _feed: bridge,
    })
}

/// `address` with the operator's page's default port when it has none.
pub fn with_port(address: &str) -> String {
    cuebox_proto::client::with_default_port(address, DEFAULT_PORT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A browser outside the allow list is closed on before TLS, and the
    /// refusal is an event.
    #[test]
    fn an_address_outside_the_allow_list_is_refused_before_tls() {
        let dir = tempfile::tempdir().unwrap();
        let events = Publisher::new();
        let said = events.subscribe(64);
        let link = Arc::new(LiveLink::new(Duration::from_millis(300), events.clone()));
        let root = DataRoot::open(dir.path()).unwrap();
        let config = WebConfig {
            allow: vec!["10.0.0.0/8".parse().unwrap()],
            ..WebConfig::from_osc(None)
        };
        let web = start(
            "127.0.0.1:0",
            &dir.path().join("web.pem"),
            cert::names("test"),
            config,
            link,
            root,
            events,
        )
        .unwrap();
        let mut tcp = std::net::TcpStream::connect(web.local_addr()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(tcp.read(&mut [0; 16]).unwrap(), 0, "closed at once");
        let refused = said.recv_timeout(Duration::from_secs(5)).unwrap().to_json();
        assert_eq!(refused["event"], "showctl_refused");
        assert_eq!(refused["via"], "web");
        assert!(
            refused["reason"].as_str().unwrap().contains("allow list"),
            "{refused}"
        );
    }

    #[test]
    fn an_address_without_a_port_gets_the_page_s_port() {
        assert_eq!(with_port("0.0.0.0"), "0.0.0.0:8443");
        assert_eq!(with_port("127.0.0.1:0"), "127.0.0.1:0");
        assert_eq!(with_port("::1"), "[::1]:8443");
        assert_eq!(with_port("[::1]:9000"), "[::1]:9000");
        assert_eq!(with_port("cuebox.local"), "cuebox.local:8443");
    }
}
