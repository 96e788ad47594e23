//! The box's side of the API: a TLS listener, one thread per connection
//! (bounded), the role check, rate limits and the refusal log. What a
//! request does is the [`Service`]'s business; this module only decides
//! whether it may be asked.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    fn handle(&self, peer: &Peer, conn: &mut Self::Conn, request: Request) -> Response;
}

/// How the server guards itself.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; more are closed at once.
    pub connections: usize,
    /// Requests per second a connection may make (media chunks excepted:
    /// their rate is the link's).
    pub requests_per_second: f64,
    /// Requests a connection may make in a burst.
    pub burst: f64,
    /// A connection idle this long is closed.
    pub idle: Duration,
    /// A handshake must finish within this.
    pub handshake: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: 16,
            requests_per_second: 50.0,
            burst: 100.0,
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
        let open = Arc::new(AtomicUsize::new(0));
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
                    if open.load(Ordering::Relaxed) >= limits.connections {
                        let _ = log.send(json!({"event": "api_refused", "peer": peer.to_string(),
                            "reason": "too many connections"}));
                        drop(tcp);
                        continue;
                    }
                    open.fetch_add(1, Ordering::Relaxed);
                    let conn = Connection {
                        config: config.clone(),
                        authorized: authorized.clone(),
                        limits: limits.clone(),
                        service: service.clone(),
                        log: log.clone(),
                        open: open.clone(),
                    };
                    let spawned = std::thread::Builder::new()
                        .name("api-client".into())
                        .spawn(move || conn.serve(tcp, peer));
                    if spawned.is_err() {
                        open.fetch_sub(1, Ordering::Relaxed);
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

/// One connection's server side.
struct Connection<S> {
    config: Arc<rustls::ServerConfig>,
    authorized: PathBuf,
    limits: Limits,
    service: Arc<S>,
    log: Sender<Value>,
    open: Arc<AtomicUsize>,
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
        self.open.fetch_sub(1, Ordering::Relaxed);
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
        loop {
            let body = match proto::read_frame(&mut stream) {
                Ok(b) => b,
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
            let response = match proto::decode::<Request>(&body) {
                Ok(request) => self.answer(&peer, &mut conn, &mut bucket, request),
                Err(e) => {
                    self.refused(&peer, "undecodable", RefusalKind::BadRequest);
                    refuse(RefusalKind::BadRequest, e.to_string())
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
        request: Request,
    ) -> Response {
        let kind = request.kind();
        let chunk = matches!(request, Request::Blob { .. } | Request::Fetch { .. });
        if !chunk && !bucket.take(Instant::now()) {
            self.refused(peer, kind, RefusalKind::RateLimited);
            return refuse(
                RefusalKind::RateLimited,
                format!(
                    "more than {} requests a second; slow down",
                    self.limits.requests_per_second
                ),
            );
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
        match peer.role {
            None => {
                self.refused(peer, kind, RefusalKind::Unauthorized);
                refuse(
                    RefusalKind::Unauthorized,
                    format!(
                        "this host is not authorized on the box; on the box run: cueboxd auth add {} --role {needs}",
                        peer.key
                    ),
                )
            }
            Some(role) if role < needs => {
                self.refused(peer, kind, RefusalKind::Forbidden);
                refuse(
                    RefusalKind::Forbidden,
                    format!("{kind} needs the {needs} role; this host has {role}"),
                )
            }
            Some(_) => {
                let response = self.service.handle(peer, conn, request);
                if let Response::Refused(r) = &response {
                    self.refused(peer, kind, r.kind);
                }
                response
            }
        }
    }

    fn refused(&self, peer: &Peer, request: &str, kind: RefusalKind) {
        let _ = self.log.send(json!({
            "event": "api_refused", "peer": peer.addr.to_string(),
            "key": peer.key.fingerprint().to_string(), "request": request, "reason": kind,
        }));
    }
}

/// A refusal response.
pub fn refuse(kind: RefusalKind, message: impl Into<String>) -> Response {
    Response::Refused(Refusal {
        kind,
        message: message.into(),
    })
}

/// A token bucket: `burst` requests at once, `rate` a second after that.
#[derive(Debug)]
/// A token bucket: `burst` requests at once, then `rate` per second.
pub(crate) struct Bucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Option<Instant>,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(burst: f64, rate: f64) -> Self {
        Bucket {
            tokens: burst,
            burst,
            rate,
            last: None,
        }
    }

    /// Takes a token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.burst);
        }
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
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
    }
}
