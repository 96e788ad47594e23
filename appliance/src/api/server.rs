//! The box's side of the API: a TLS listener, one thread per connection
//! (bounded in all and per source address), the role check, rate limits
//! (per connection and per source address) and the refusal log. What a
//! request does is the [`Service`]'s business; this module only decides
//! whether it may be asked.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::limit::Bucket;

use rustls::{ServerConnection, StreamOwned};
use serde_json::{json, Value};

use super::keys::{AuthorizedHosts, Identity, PublicKey, Role};
use super::proto::{self, FrameError, Refusal, RefusalKind, Request, Response};
use super::tls;

/// Who is asking.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Where from.
    pub addr: SocketAddr,
    /// The key it proved it holds.
    pub key: PublicKey,
    /// Its role, if the box authorizes it.
    pub role: Option<Role>,
}

/// What the box does with the requests the server lets through.
pub trait Service: Send + Sync + 'static {
    /// What a connection keeps between requests (an upload in progress).
    type Conn: Default + Send;
    /// The box's name, for [`Response::Welcome`].
    fn name(&self) -> String;
    /// Answers a request the peer's role allows.
    fn handle(&self, peer: &Peer, conn: &mut Self::Conn, request: Request<'_>) -> Response;
}

/// How the server guards itself.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; more are closed at once.
    pub connections: usize,
    /// Connections served at once from one source address, so one host
    /// cannot take every slot; more are closed at once.
    pub connections_per_address: usize,
    /// Requests per second a connection may make (media chunks excepted:
    /// their rate is the link's).
    pub requests_per_second: f64,
    /// Requests a connection may make in a burst.
    pub burst: f64,
    /// Requests per second one source address may make over all its
    /// connections (media chunks excepted), so opening more connections
    /// buys no more requests.
    pub address_requests_per_second: f64,
    /// Requests one source address may make in a burst, over all its
    /// connections.
    pub address_burst: f64,
    /// A connection idle this long is closed.
    pub idle: Duration,
    /// A handshake must finish within this.
    pub handshake: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 16,
            connections_per_address: 4,
            requests_per_second: 50.0,
            burst: 100.0,
            address_requests_per_second: 100.0,
            address_burst: 200.0,
            idle: Duration::from_secs(300),
            handshake: Duration::from_secs(10),
        }
    }
}

/// The running API server. Dropping it stops accepting; open connections
/// end at their next request or idle timeout.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `service` on `listener` with the box's `identity`; the hosts
    /// in `authorized` (re-read at each connection, so edits apply to the
    /// next one) get their roles. Connections, refusals and their reasons
    /// go to `log` as events.
    pub fn start<S: Service>(
        listener: TcpListener,
        identity: &Identity,
        authorized: PathBuf,
        limits: Limits,
        service: Arc<S>,
        log: Sender<Value>,
    ) -> io::Result<Server> {
        let config = tls::server_config(identity).map_err(io::Error::other)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Gate::new(limits.clone()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("api".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    let (tcp, peer) = match listener.accept() {
                        Ok(c) => c,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                        Err(_) => continue,
                    };
                    let address = match gate.admit(peer.ip(), Instant::now()) {
                        Ok(bucket) => bucket,
                        Err((reason, detail)) => {
                            let _ = log.send(json!({"event": "api_refused",
                                "peer": peer.to_string(), "reason": reason, "detail": detail}));
                            drop(tcp);
                            continue;
                        }
                    };
                    let conn = Connection {
                        config: config.clone(),
                        authorized: authorized.clone(),
                        limits: limits.clone(),
                        service: service.clone(),
                        log: log.clone(),
                        gate: gate.clone(),
                        address,
                    };
                    let spawned = std::thread::Builder::new()
                        .name("api-client".into())
                        .spawn(move || conn.serve(tcp, peer));
                    if spawned.is_err() {
                        gate.leave(peer.ip());
                    }
                }
            })?;
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One source address: its open connections and the request bucket they
/// share.
#[derive(Debug)]
struct Source {
    open: usize,
    bucket: Arc<Mutex<Bucket>>,
}

/// Who may connect: counts connections in all and per source address.
#[derive(Debug)]
struct Gate {
    limits: Limits,
    /// Connections open in all, and every source with connections open or
    /// a bucket not yet refilled (so closing and reopening connections
    /// does not refill it).
    state: Mutex<(usize, HashMap<IpAddr, Source>)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Gate {
    fn new(limits: Limits) -> Self {
        Gate {
            limits,
            state: Mutex::new((0, HashMap::new())),
        }
    }

    /// Counts a new connection from `ip` and hands it its address's
    /// bucket, or says why not: a reason for scripts and a detail for people.
    fn admit(
        &self,
        ip: IpAddr,
        now: Instant,
    ) -> Result<Arc<Mutex<Bucket>>, (&'static str, String)> {
        let l = &self.limits;
        let mut state = lock(&self.state);
        let (open, sources) = &mut *state;
        sources.retain(|_, s| s.open > 0 || !lock(&s.bucket).full(now));
        if *open >= l.connections {
            return Err((
                "too many connections",
                format!("{open} connections are open, the most the box serves at once"),
            ));
        }
        let source = sources.entry(ip).or_insert_with(|| Source {
            open: 0,
            bucket: Arc::new(Mutex::new(Bucket::new(
                l.address_burst,
                l.address_requests_per_second,
            ))),
        });
        if source.open >= l.connections_per_address {
            return Err((
                "too many connections from this address",
                format!(
                    "{ip} has {} connections open, the most one address may have",
                    source.open
                ),
            ));
        }
        source.open += 1;
        *open += 1;
        Ok(source.bucket.clone())
    }

    /// A connection from `ip` ended.
    fn leave(&self, ip: IpAddr) {
        let mut state = lock(&self.state);
        let (open, sources) = &mut *state;
        *open = open.saturating_sub(1);
        if let Some(s) = sources.get_mut(&ip) {
            s.open = s.open.saturating_sub(1);
        }
    }
}

/// One connection's server side.
struct Connection<S> {
    config: Arc<rustls::ServerConfig>,
    authorized: PathBuf,
    limits: Limits,
    service: Arc<S>,
    log: Sender<Value>,
    gate: Arc<Gate>,
    /// The request bucket this connection's address shares.
    address: Arc<Mutex<Bucket>>,
}

impl<S: Service> Connection<S> {
    fn serve(self, tcp: TcpStream, addr: SocketAddr) {
        let outcome = self.session(tcp, addr);
        if let Err(reason) = outcome {
            let _ = self
                .log
                .send(json!({"event": "api_closed", "peer": addr.to_string(),
                "reason": reason}));
        }
        self.gate.leave(addr.ip());
    }

    /// Handshake, then requests until the peer leaves; the error is why
    /// the connection ended badly.
    fn session(&self, mut tcp: TcpStream, addr: SocketAddr) -> Result<(), String> {
        let _ = tcp.set_nodelay(true);
        tcp.set_read_timeout(Some(self.limits.handshake))
            .map_err(|e| e.to_string())?;
        let mut tls = ServerConnection::new(self.config.clone()).map_err(|e| e.to_string())?;
        while tls.is_handshaking() {
            tls.complete_io(&mut tcp)
                .map_err(|e| format!("TLS handshake failed: {e}"))?;
        }
        let key = tls
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(tls::peer_key)
            .ok_or("the client presented no Ed25519 key")?;
        // A broken file must not lock everyone out silently, nor let anyone in.
        let role = match AuthorizedHosts::load(&self.authorized) {
            Ok(hosts) => hosts.role(&key),
            Err(e) => {
                let _ = self
                    .log
                    .send(json!({"event": "api_problem", "detail": e.to_string()}));
                None
            }
        };
        tcp.set_read_timeout(Some(self.limits.idle))
            .map_err(|e| e.to_string())?;
        let peer = Peer { addr, key, role };
        let _ = self
            .log
            .send(json!({"event": "api_connected", "peer": addr.to_string(),
            "key": key.fingerprint().to_string(), "role": role}));
        let mut stream = StreamOwned::new(tls, tcp);
        let mut conn = S::Conn::default();
        let mut bucket = Bucket::new(self.limits.burst, self.limits.requests_per_second);
        let mut body = Vec::new();
        loop {
            match proto::read_frame_into(&mut stream, &mut body) {
                Ok(()) => {}
                Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => {
                    // The stream may be out of step: answer once and close.
                    let _ = proto::write_frame(
                        &mut stream,
                        &refuse(RefusalKind::BadRequest, e.to_string()),
                    );
                    return Err(e.to_string());
                }
            };
            let response = match proto::decode::<Request<'_>>(&body) {
                Ok(request) => self.answer(&peer, &mut conn, &mut bucket, request),
                Err(e) => {
                    let response = refuse(RefusalKind::BadRequest, e.to_string());
                    self.refused(&peer, "undecodable", &response);
                    response
                }
            };
            proto::write_frame(&mut stream, &response).map_err(|e| e.to_string())?;
        }
    }

    fn answer(
        &self,
        peer: &Peer,
        conn: &mut S::Conn,
        bucket: &mut Bucket,
        request: Request<'_>,
    ) -> Response {
        let kind = request.kind();
        let chunk = matches!(request, Request::Blob { .. } | Request::Fetch { .. });
        if !chunk {
            let now = Instant::now();
            let limited = if !bucket.take(now) {
                Some(format!(
                    "more than {} requests a second on this connection; slow down",
                    self.limits.requests_per_second
                ))
            } else if !lock(&self.address).take(now) {
                Some(format!(
                    "more than {} requests a second from {} over all its connections; slow down",
                    self.limits.address_requests_per_second,
                    peer.addr.ip()
                ))
            } else {
                None
            };
            if let Some(message) = limited {
                let response = refuse(RefusalKind::RateLimited, message);
                self.refused(peer, kind, &response);
                return response;
            }
        }
        if let Request::Hello { version } = request {
            if version != proto::VERSION {
                return refuse(
                    RefusalKind::BadRequest,
                    format!(
                        "this box speaks API version {}, the host {version}; update the older one",
                        proto::VERSION
                    ),
                );
            }
            return Response::Welcome {
                name: self.service.name(),
                software: env!("CARGO_PKG_VERSION").into(),
                role: peer.role,
                key: peer.key,
            };
        }
        let needs = request.needs().unwrap_or(Role::View);
        let response = match peer.role {
            None => refuse(
                RefusalKind::Unauthorized,
                format!(
                    "this host is not authorized on the box; on the box run: cueboxd auth add {} --role {needs}",
                    peer.key
                ),
            ),
            Some(role) if role < needs => refuse(
                RefusalKind::Forbidden,
                format!("{kind} needs the {needs} role; this host has {role}"),
            ),
            Some(_) => self.service.handle(peer, conn, request),
        };
        self.refused(peer, kind, &response);
        response
    }

    /// Logs `response` if it is a refusal: its kind as the reason, its
    /// message as the detail.
    fn refused(&self, peer: &Peer, request: &str, response: &Response) {
        if let Response::Refused(r) = response {
            let _ = self.log.send(json!({
                "event": "api_refused", "peer": peer.addr.to_string(),
                "key": peer.key.fingerprint().to_string(), "request": request,
                "reason": r.kind, "detail": r.message,
            }));
        }
    }
}

/// A refusal response.
pub fn refuse(kind: RefusalKind, message: impl Into<String>) -> Response {
    Response::Refused(Refusal {
        kind,
        message: message.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(3.0, 10.0);
        assert!((0..3).all(|_| b.take(t0)));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(100)));
        assert!(!b.take(t0 + Duration::from_millis(100)));
        // Refill never exceeds the burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| b.take(later)).count(), 3);
        assert!(b.full(later + Duration::from_secs(1)));
        assert!(!b.full(later));
    }

    #[test]
    fn the_gate_bounds_connections_in_all_and_per_address() {
        let gate = Gate::new(Limits {
            connections: 3,
            connections_per_address: 2,
            ..Limits::default()
        });
        let t0 = Instant::now();
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            "10.0.0.3".parse().unwrap(),
        );
        let first = gate.admit(a, t0).unwrap();
        let second = gate.admit(a, t0).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "one bucket per address");
        let (reason, detail) = gate.admit(a, t0).unwrap_err();
        assert_eq!(reason, "too many connections from this address");
        assert_eq!(
            detail,
            "10.0.0.1 has 2 connections open, the most one address may have"
        );
        gate.admit(b, t0).unwrap();
        assert_eq!(gate.admit(c, t0).unwrap_err().0, "too many connections");
        gate.leave(a);
        gate.admit(c, t0).unwrap();
        // An address that closed every connection keeps its bucket until it
        // has refilled: reconnecting buys no fresh burst.
        gate.leave(b);
        let spent = gate.admit(b, t0).unwrap();
        while lock(&spent).take(t0) {}
        gate.leave(b);
        let again = gate.admit(b, t0).unwrap();
        assert!(!lock(&again).take(t0), "the bucket is still empty");
    }
}
