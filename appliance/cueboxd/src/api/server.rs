//! The box's side of the API: a TLS listener, one thread per connection,
//! the role check, rate limits (per connection and per source address) and
//! the refusal log. What a request does is the [`Service`]'s business; this
//! module only decides whether it may be asked.
//!
//! Connections are held in two pools so strangers cannot crowd out the
//! hosts the box knows. A new connection is *pending* until its handshake
//! proves an authorized key: pending ones have an absolute deadline (the
//! handshake, then a short lifetime for unknown keys, however slowly their
//! bytes drip), a small cap of their own with the oldest closed to make
//! room, and a per-address rate of new connections. Once its key is
//! authorized a connection is *known* and counts against the known caps.
//! Until then its frames are small ([`proto::PENDING_FRAME`]).
//!
//! The role is checked before anything else of a request, and refusals are
//! booked per peer ([`Refusals`]): a flood of refused requests is a few
//! events, never one each.

use crate::events::{BoxEvent, Publisher};
use crate::refusals::{ApiClose, ApiRefusal, Refusals};
use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::limit::Bucket;

use rustls::{ServerConnection, StreamOwned};

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
    /// A known host's connection idle this long is closed.
    pub idle: Duration,
    /// A handshake must finish within this of the connection, however
    /// slowly its bytes arrive.
    pub handshake: Duration,
    /// Connections not yet known to be from an authorized key (handshaking,
    /// or an unknown key); when full, the oldest is closed for a new one.
    pub pending: usize,
    /// Pending connections from one source address; more are closed at once.
    pub pending_per_address: usize,
    /// How long an unknown key's connection lives, from its first byte: long
    /// enough to say hello and learn its fingerprint for pairing.
    pub unknown_lifetime: Duration,
    /// New connections one source address may open per second.
    pub connects_per_second: f64,
    /// New connections one source address may open in a burst.
    pub connect_burst: f64,
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
            handshake: Duration::from_secs(5),
            pending: 8,
            pending_per_address: 2,
            unknown_lifetime: Duration::from_secs(10),
            connects_per_second: 20.0,
            connect_burst: 50.0,
        }
    }
}

/// What a refusal is booked to: the address, the key once known, and the
/// reason.
type PeerId = (IpAddr, Option<PublicKey>, String);

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
        log: Publisher,
    ) -> io::Result<Server> {
        let config = tls::server_config(identity).map_err(io::Error::other)?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Gate::new(limits.clone()));
        let refusals = Arc::new(Refusals::new(log.clone()));
        let closes = Arc::new(Refusals::new(log.clone()));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("api".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    refusals.flush();
                    closes.flush();
                    let (tcp, peer) = match listener.accept() {
                        Ok(c) => c,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                        Err(_) => continue,
                    };
                    let admitted = tcp
                        .try_clone()
                        .map_err(|e| ("cannot serve", e.to_string()))
                        .and_then(|handle| gate.admit(peer, handle, Instant::now()));
                    let (slot, evicted) = match admitted {
                        Ok(admitted) => admitted,
                        Err((reason, detail)) => {
                            refusals.refused(
                                (peer.ip(), None, reason.into()),
                                ApiRefusal {
                                    peer: peer.to_string(),
                                    key: None,
                                    request: None,
                                    reason: reason.into(),
                                    detail,
                                },
                            );
                            drop(tcp);
                            continue;
                        }
                    };
                    if let Some(evicted) = evicted {
                        closes.refused(
                            (evicted.ip(), "made room".into()),
                            ApiClose {
                                peer: evicted.to_string(),
                                reason: format!("{} connections were waiting for a handshake or an authorized key; the oldest made room for {peer}", limits.pending),
                            },
                        );
                    }
                    let conn = Connection {
                        config: config.clone(),
                        authorized: authorized.clone(),
                        limits: limits.clone(),
                        service: service.clone(),
                        log: log.clone(),
                        refusals: refusals.clone(),
                        closes: closes.clone(),
                    };
                    // A failed spawn drops the slot, which frees it.
                    let _ = std::thread::Builder::new()
                        .name("api-client".into())
                        .spawn(move || conn.serve(tcp, peer, slot));
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

/// One source address: its connections in each pool, the request bucket
/// they share and the bucket of new connections it may open.
#[derive(Debug)]
struct Source {
    pending: usize,
    known: usize,
    requests: Arc<Mutex<Bucket>>,
    connects: Bucket,
}

/// A pending connection: its id and a handle to close it from the gate.
#[derive(Debug)]
struct Waiting {
    id: u64,
    peer: SocketAddr,
    handle: TcpStream,
}

/// The gate's books.
#[derive(Debug, Default)]
struct Books {
    next_id: u64,
    /// Known connections open in all.
    known: usize,
    /// Pending connections, oldest first.
    pending: VecDeque<Waiting>,
    /// Every source with connections open or a bucket not yet refilled (so
    /// closing and reopening connections refills nothing).
    sources: HashMap<IpAddr, Source>,
}

/// Who may connect: the pending and known pools, in all and per address.
#[derive(Debug)]
struct Gate {
    limits: Limits,
    books: Mutex<Books>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A refusal at the gate: a reason for scripts and a detail for people.
type Turned = (&'static str, String);

impl Gate {
    fn new(limits: Limits) -> Self {
        Gate {
            limits,
            books: Mutex::new(Books::default()),
        }
    }

    /// Takes a new connection from `peer` into the pending pool, closing
    /// the oldest pending one (whose address it returns) when the pool is
    /// full; or says why not. `handle` is how the gate closes it if it must.
    fn admit(
        self: &Arc<Self>,
        peer: SocketAddr,
        handle: TcpStream,
        now: Instant,
    ) -> Result<(Slot, Option<SocketAddr>), Turned> {
        let l = &self.limits;
        let ip = peer.ip();
        let mut books = lock(&self.books);
        let books = &mut *books;
        books.sources.retain(|_, s| {
            s.pending + s.known > 0 || !lock(&s.requests).full(now) || !s.connects.full(now)
        });
        let source = books.sources.entry(ip).or_insert_with(|| Source {
            pending: 0,
            known: 0,
            requests: Arc::new(Mutex::new(Bucket::new(
                l.address_burst,
                l.address_requests_per_second,
            ))),
            connects: Bucket::new(l.connect_burst, l.connects_per_second),
        });
        if source.pending >= l.pending_per_address {
            return Err((
                "too many handshakes from this address",
                format!(
                    "{ip} has {} connections waiting for a handshake or an authorized key, the most one address may have",
                    source.pending
                ),
            ));
        }
        if !source.connects.take(now) {
            return Err((
                "connecting too often",
                format!(
                    "{ip} opened more than {} connections in a burst, {} a second after that; wait and retry",
                    l.connect_burst, l.connects_per_second
                ),
            ));
        }
        source.pending += 1;
        let requests = source.requests.clone();
        let mut evicted = None;
        if books.pending.len() >= l.pending {
            if let Some(oldest) = books.pending.pop_front() {
                let _ = oldest.handle.shutdown(std::net::Shutdown::Both);
                if let Some(s) = books.sources.get_mut(&oldest.peer.ip()) {
                    s.pending = s.pending.saturating_sub(1);
                }
                evicted = Some(oldest.peer);
            }
        }
        let id = books.next_id;
        books.next_id += 1;
        books.pending.push_back(Waiting { id, peer, handle });
        let slot = Slot {
            gate: self.clone(),
            id,
            ip,
            known: false,
            requests,
        };
        Ok((slot, evicted))
    }
}

/// A connection's place at the gate; dropping it frees the place.
#[derive(Debug)]
struct Slot {
    gate: Arc<Gate>,
    id: u64,
    ip: IpAddr,
    known: bool,
    /// The request bucket its address shares.
    requests: Arc<Mutex<Bucket>>,
}

impl Slot {
    /// Moves the connection of an authorized key to the known pool, or
    /// says why it cannot have a place there (or that it was closed to make
    /// room while it waited).
    fn promote(&mut self) -> Result<(), Turned> {
        let l = &self.gate.limits;
        let mut books = lock(&self.gate.books);
        let books = &mut *books;
        let Some(at) = books.pending.iter().position(|w| w.id == self.id) else {
            return Err((
                "closed while waiting",
                "the connection was closed to make room for newer ones".into(),
            ));
        };
        let known_here = books.sources.get(&self.ip).map_or(0, |s| s.known);
        if books.known >= l.connections {
            return Err((
                "too many connections",
                format!(
                    "{} connections are open, the most the box serves at once; close one",
                    books.known
                ),
            ));
        }
        if known_here >= l.connections_per_address {
            return Err((
                "too many connections from this address",
                format!(
                    "{} has {known_here} connections open, the most one address may have; close one",
                    self.ip
                ),
            ));
        }
        books.pending.remove(at);
        books.known += 1;
        if let Some(s) = books.sources.get_mut(&self.ip) {
            s.pending = s.pending.saturating_sub(1);
            s.known += 1;
        }
        self.known = true;
        Ok(())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut books = lock(&self.gate.books);
        let books = &mut *books;
        if self.known {
            books.known = books.known.saturating_sub(1);
            if let Some(s) = books.sources.get_mut(&self.ip) {
                s.known = s.known.saturating_sub(1);
            }
        } else if let Some(at) = books.pending.iter().position(|w| w.id == self.id) {
            // Not found: the gate closed it and settled the books then.
            books.pending.remove(at);
            if let Some(s) = books.sources.get_mut(&self.ip) {
                s.pending = s.pending.saturating_sub(1);
            }
        }
    }
}

/// A TCP stream whose reads and writes fail once `deadline` has passed,
/// however slowly the peer sends, with an error that says which deadline;
/// without a deadline, the socket's own per-operation timeouts apply.
struct Clocked {
    tcp: TcpStream,
    deadline: Option<(Instant, String)>,
}

impl Clocked {
    /// The time left, set as the socket's timeout for the next operation.
    fn left(&self, set: fn(&TcpStream, Option<Duration>) -> io::Result<()>) -> io::Result<()> {
        let Some((deadline, why)) = &self.deadline else {
            return Ok(());
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, why.clone()));
        }
        set(&self.tcp, Some(left))
    }
}

impl Clocked {
    /// A timeout of the socket's own, while a deadline is set, is that
    /// deadline passing: say which.
    fn named<T>(&self, result: io::Result<T>) -> io::Result<T> {
        match (result, &self.deadline) {
            (Err(e), Some((_, why)))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(io::Error::new(io::ErrorKind::TimedOut, why.clone()))
            }
            (result, _) => result,
        }
    }
}

impl Read for Clocked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.left(TcpStream::set_read_timeout)?;
        let read = self.tcp.read(buf);
        self.named(read)
    }
}

impl Write for Clocked {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.left(TcpStream::set_write_timeout)?;
        let written = self.tcp.write(buf);
        self.named(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// One connection's server side.
struct Connection<S> {
    config: Arc<rustls::ServerConfig>,
    authorized: PathBuf,
    limits: Limits,
    service: Arc<S>,
    log: Publisher,
    refusals: Arc<Refusals<PeerId, ApiRefusal>>,
    closes: Arc<Refusals<(IpAddr, String), ApiClose>>,
}

impl<S: Service> Connection<S> {
    fn serve(self, tcp: TcpStream, addr: SocketAddr, mut slot: Slot) {
        let outcome = self.session(tcp, addr, &mut slot);
        if let Err(reason) = outcome {
            self.closes.refused(
                (addr.ip(), reason.clone()),
                ApiClose {
                    peer: addr.to_string(),
                    reason,
                },
            );
        }
    }

    /// Handshake, then requests until the peer leaves; the error is why
    /// the connection ended badly.
    fn session(&self, tcp: TcpStream, addr: SocketAddr, slot: &mut Slot) -> Result<(), String> {
        let _ = tcp.set_nodelay(true);
        let opened = Instant::now();
        let mut tcp = Clocked {
            tcp,
            deadline: Some((
                opened + self.limits.handshake,
                format!("the handshake's {:?} were up", self.limits.handshake),
            )),
        };
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
                self.log.send(BoxEvent::ApiProblem {
                    detail: e.to_string(),
                });
                None
            }
        };
        let peer = Peer { addr, key, role };
        if role.is_some() {
            if let Err((reason, detail)) = slot.promote() {
                let response = refuse(RefusalKind::Busy, detail.clone());
                self.refusals.refused(
                    (addr.ip(), Some(key), reason.into()),
                    ApiRefusal {
                        peer: addr.to_string(),
                        key: Some(key.fingerprint().to_string()),
                        request: None,
                        reason: reason.into(),
                        detail,
                    },
                );
                let mut stream = StreamOwned::new(tls, tcp);
                let _ = proto::write_frame(&mut stream, &response);
                return Ok(());
            }
            tcp.deadline = None;
            for set in [TcpStream::set_read_timeout, TcpStream::set_write_timeout] {
                set(&tcp.tcp, Some(self.limits.idle)).map_err(|e| e.to_string())?;
            }
        } else {
            tcp.deadline = Some((
                opened + self.limits.unknown_lifetime,
                format!(
                    "an unauthorized key's {:?} were up",
                    self.limits.unknown_lifetime
                ),
            ));
        }
        self.log.send(BoxEvent::ApiConnected {
            peer: addr.to_string(),
            key: key.fingerprint().to_string(),
            role,
        });
        let mut stream = StreamOwned::new(tls, tcp);
        let mut conn = S::Conn::default();
        let mut bucket = Bucket::new(self.limits.burst, self.limits.requests_per_second);
        let mut body = Vec::new();
        let max_frame = match role {
            Some(_) => proto::MAX_FRAME,
            None => proto::PENDING_FRAME,
        };
        loop {
            match proto::read_frame_into(&mut stream, &mut body, max_frame) {
                Ok(()) => {}
                Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(FrameError::Io(e))
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    return Err(match role {
                        Some(_) => format!("idle for {:?}", self.limits.idle),
                        None => e.to_string(),
                    });
                }
                Err(e) => {
                    // The stream may be out of step: answer once and close.
                    let response = refuse(RefusalKind::BadRequest, e.to_string());
                    self.refused(&peer, "(frame)", &response);
                    let _ = proto::write_frame(&mut stream, &response);
                    return Err(e.to_string());
                }
            };
            let response = match proto::decode::<Request<'_>>(&body) {
                Ok(request) => self.answer(&peer, &mut conn, &mut bucket, &slot.requests, request),
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
        address: &Mutex<Bucket>,
        request: Request<'_>,
    ) -> Response {
        let kind = request.kind();
        let response = match self.allowed(peer, bucket, address, &request) {
            Err(refusal) => refusal,
            Ok(()) => match request {
                Request::Hello { version } => self.welcome(peer, version),
                request => self.service.handle(peer, conn, request),
            },
        };
        self.refused(peer, kind, &response);
        response
    }

    /// Whether `peer` may ask `request` now: first its role (so nothing is
    /// spent on a request its role refuses), then the rates (media
    /// transfers excepted: their rate is the link's).
    fn allowed(
        &self,
        peer: &Peer,
        bucket: &mut Bucket,
        address: &Mutex<Bucket>,
        request: &Request<'_>,
    ) -> Result<(), Response> {
        if let Some(needs) = request.needs() {
            match peer.role {
                None => {
                    return Err(refuse(
                        RefusalKind::Unauthorized,
                        format!(
                            "this host is not authorized on the box; on the box run: cueboxd auth add {} --role {needs}",
                            peer.key
                        ),
                    ))
                }
                Some(role) if role < needs => {
                    return Err(refuse(
                        RefusalKind::Forbidden,
                        format!("{} needs the {needs} role; this host has {role}", request.kind()),
                    ))
                }
                Some(_) => {}
            }
        }
        // A push of a show of many short cues ends hundreds of files in a
        // few seconds: the end of a file is part of its transfer.
        if matches!(
            request,
            Request::Blob { .. } | Request::BlobEnd { .. } | Request::Fetch { .. }
        ) {
            return Ok(());
        }
        let now = Instant::now();
        if !bucket.take(now) {
            return Err(refuse(
                RefusalKind::RateLimited,
                format!(
                    "more than {} requests a second on this connection; slow down",
                    self.limits.requests_per_second
                ),
            ));
        }
        if !lock(address).take(now) {
            return Err(refuse(
                RefusalKind::RateLimited,
                format!(
                    "more than {} requests a second from {} over all its connections; slow down",
                    self.limits.address_requests_per_second,
                    peer.addr.ip()
                ),
            ));
        }
        Ok(())
    }

    /// The answer to a hello: who the box is, or which side to update.
    fn welcome(&self, peer: &Peer, version: u32) -> Response {
        if version != proto::VERSION {
            let update = if version < proto::VERSION {
                "update hostctl on this host"
            } else {
                "update the box (its image, or cueboxd)"
            };
            return refuse(
                RefusalKind::BadRequest,
                format!(
                    "this box speaks API version {}, the host {version}: {update}",
                    proto::VERSION
                ),
            );
        }
        Response::Welcome {
            name: self.service.name(),
            software: env!("CARGO_PKG_VERSION").into(),
            role: peer.role,
            key: peer.key,
        }
    }

    /// Books `response` if it is a refusal: its kind as the reason, its
    /// message as the detail.
    fn refused(&self, peer: &Peer, request: &str, response: &Response) {
        if let Response::Refused(r) = response {
            let reason = serde_json::to_value(r.kind)
                .ok()
                .and_then(|k| k.as_str().map(String::from))
                .unwrap_or_default();
            self.refusals.refused(
                (peer.addr.ip(), Some(peer.key), reason.clone()),
                ApiRefusal {
                    peer: peer.addr.to_string(),
                    key: Some(peer.key.fingerprint().to_string()),
                    request: Some(request.into()),
                    reason,
                    detail: r.message.clone(),
                },
            );
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

    /// `n` connected sockets (the box's ends), from 127.0.0.1.
    fn sockets(n: usize) -> Vec<(TcpStream, SocketAddr, TcpStream)> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        (0..n)
            .map(|_| {
                let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
                let (server, peer) = listener.accept().unwrap();
                (server, peer, client)
            })
            .collect()
    }

    /// `peer` as if it came from `ip`.
    fn from(ip: &str, peer: SocketAddr) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), peer.port())
    }

    #[test]
    fn the_gate_keeps_known_hosts_apart_from_strangers() {
        let gate = Arc::new(Gate::new(Limits {
            connections: 3,
            connections_per_address: 2,
            pending: 3,
            pending_per_address: 2,
            ..Limits::default()
        }));
        let t0 = Instant::now();
        let socks = sockets(8);
        let admit = |ip: &str, i: usize| {
            let (server, peer, _) = &socks[i];
            gate.admit(from(ip, *peer), server.try_clone().unwrap(), t0)
        };
        // Known hosts: promoted out of the pending pool.
        let (mut a1, _) = admit("10.0.0.1", 0).unwrap();
        let (mut a2, _) = admit("10.0.0.1", 1).unwrap();
        assert!(
            Arc::ptr_eq(&a1.requests, &a2.requests),
            "one bucket per address"
        );
        a1.promote().unwrap();
        a2.promote().unwrap();
        // Their address's pending room is free again, but its known room is full.
        let (mut a3, _) = admit("10.0.0.1", 2).unwrap();
        assert_eq!(
            a3.promote().unwrap_err(),
            (
                "too many connections from this address",
                "10.0.0.1 has 2 connections open, the most one address may have; close one".into()
            )
        );
        drop(a3);
        // Strangers fill the pending pool, two per address at most…
        let (s1, _) = admit("10.0.0.2", 3).unwrap();
        let (_s2, _) = admit("10.0.0.2", 4).unwrap();
        assert_eq!(
            admit("10.0.0.2", 5).unwrap_err().0,
            "too many handshakes from this address"
        );
        let (_s3, _) = admit("10.0.0.3", 5).unwrap();
        // …and when it is full the oldest makes room, closed at once.
        let (mut b, evicted) = admit("10.0.0.4", 6).unwrap();
        assert_eq!(evicted, Some(from("10.0.0.2", socks[3].1)));
        let mut byte = [0u8; 1];
        assert_eq!((&socks[3].2).read(&mut byte).unwrap(), 0, "closed");
        assert_eq!(
            s1.gate.books.lock().unwrap().pending.len(),
            3,
            "the evicted one left the pool"
        );
        drop(s1); // its thread ends later; the books are already settled
        assert_eq!(gate.books.lock().unwrap().pending.len(), 3);
        // A known host still finds its room whatever strangers do.
        b.promote().unwrap();
        assert_eq!(gate.books.lock().unwrap().known, 3);
        drop(a1);
        assert_eq!(gate.books.lock().unwrap().known, 2);
    }

    #[test]
    fn an_address_may_open_only_so_many_connections_a_second() {
        let gate = Arc::new(Gate::new(Limits {
            connect_burst: 3.0,
            connects_per_second: 1.0,
            ..Limits::default()
        }));
        let t0 = Instant::now();
        let socks = sockets(5);
        let admit = |ip: &str, i: usize, at: Instant| {
            let (server, peer, _) = &socks[i];
            gate.admit(from(ip, *peer), server.try_clone().unwrap(), at)
                .map(|(slot, _)| drop(slot))
        };
        for i in 0..3 {
            admit("10.0.0.1", i, t0).unwrap();
        }
        let (reason, detail) = admit("10.0.0.1", 3, t0).unwrap_err();
        assert_eq!(reason, "connecting too often");
        assert_eq!(
            detail,
            "10.0.0.1 opened more than 3 connections in a burst, 1 a second after that; wait and retry"
        );
        admit("10.0.0.2", 3, t0).unwrap();
        admit("10.0.0.1", 4, t0 + Duration::from_secs(1)).unwrap();
    }
}
