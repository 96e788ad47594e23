//! The OSC service: UDP and TCP sockets, clients' passcodes and
//! subscriptions, rate limits, and `/update` pushes.
//!
//! The box keeps state only for the clients that need it: a UDP client
//! that gave a passcode or asked for updates or replies (at most
//! [`MAX_UDP_CLIENTS`], the least recently heard of forgotten to make room),
//! and each TCP connection, counted against its address from the moment it
//! is accepted. Any other UDP message is taken on its own, with the role
//! the box gives without a passcode, so a script that opens a socket per
//! message is served every time. Everything refused is answered with a
//! `/reply` that says why (except, over UDP, to an address outside the
//! allow list), and booked as a refusal ([`Refusals`]).

use crate::events::{BoxEvent, Publisher, Subscription};
use crate::refusals::{Refusals, ShowctlRefusal};
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cuebox_engine::show::ClipId;
use hashlink::LruCache;
use rosc::{OscMessage, OscPacket, OscType};
use serde_json::{json, Value};

use super::guesses::Guesses;
use super::{decode, parse, OscRequest, MAX_PACKET};
use crate::api::keys::Role;
use crate::api::proto::{Refusal, RefusalKind};
use crate::limit::{Buckets, Take};
use crate::link::LiveLink;
use crate::origin::{Input, Origin};
use crate::showctl::config::OscConfig;
use crate::showctl::perform::{act_reported, playhead};
use crate::showctl::slip::{self, Frame, SlipReader};

/// TCP connections at once, and from one address.
const MAX_TCP: usize = 16;
const MAX_TCP_PER_SOURCE: usize = 4;
/// A silent TCP connection is closed after this long.
const TCP_IDLE: Duration = Duration::from_secs(300);
/// A SLIP frame must arrive whole within this of its first byte: a frame
/// of the largest size takes milliseconds on a show network.
const FRAME_TIME: Duration = Duration::from_secs(5);
/// A UDP client's state (passcode, updates) is forgotten after this long
/// without a message; clients send `/thump` to stay.
const UDP_IDLE: Duration = Duration::from_secs(120);
/// UDP clients with state remembered at once, and from one address; a new
/// one takes the place of the least recently heard of.
pub const MAX_UDP_CLIENTS: usize = 64;
const MAX_UDP_CLIENTS_PER_SOURCE: usize = 8;
/// Source addresses whose rate is followed at once.
const RATE_SOURCES: usize = 1024;
/// How often the updates thread looks up from its events to see whether
/// the service is stopping.
const UPDATE_TICK: Duration = Duration::from_millis(100);

/// Where replies to a client go.
#[derive(Clone)]
enum Route {
    /// UDP: to the sender's address at the reply port.
    Udp(SocketAddr),
    /// TCP: SLIP frames on its connection.
    Tcp(Arc<Mutex<TcpStream>>),
}

impl Route {
    fn transport(&self) -> &'static str {
        match self {
            Route::Udp(_) => "udp",
            Route::Tcp(_) => "tcp",
        }
    }
}

/// What the box remembers of one client.
#[derive(Debug, Clone, Copy, Default)]
struct Client {
    /// The role its passcode gave; `None`: the role without one.
    passcode: Option<Role>,
    updates: bool,
    always_reply: bool,
}

/// A UDP client with state.
struct UdpClient {
    client: Client,
    last: Instant,
}

/// A TCP connection's client.
struct TcpClient {
    client: Client,
    stream: Arc<Mutex<TcpStream>>,
}

/// The OSC service: its sockets' threads run until it is dropped.
pub struct Osc {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
}

impl Osc {
    /// The UDP address it listens on.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The TCP address it listens on.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }
}

impl Drop for Osc {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The shared state of the OSC threads.
struct Shared {
    config: OscConfig,
    /// The role of a client without a passcode, if any.
    open_role: Option<Role>,
    workspace: String,
    link: Arc<LiveLink>,
    events: Publisher,
    udp: UdpSocket,
    udp_clients: Mutex<LruCache<SocketAddr, UdpClient>>,
    tcp_clients: Mutex<HashMap<SocketAddr, TcpClient>>,
    rates: Mutex<Buckets<IpAddr>>,
    guesses: Mutex<Guesses>,
    refusals: Refusals<(IpAddr, String), ShowctlRefusal>,
    stop: Arc<AtomicBool>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the OSC service for `link`; `workspace` is the id replies carry
/// (the box's name).
pub fn start(
    config: OscConfig,
    workspace: String,
    link: Arc<LiveLink>,
    events: Publisher,
) -> std::io::Result<Osc> {
    let bind = SocketAddr::new(config.bind, config.port);
    let udp = UdpSocket::bind(bind)?;
    udp.set_read_timeout(Some(Duration::from_millis(200)))?;
    let tcp = TcpListener::bind(bind)?;
    tcp.set_nonblocking(true)?;
    let (udp_addr, tcp_addr) = (udp.local_addr()?, tcp.local_addr()?);
    let stop = Arc::new(AtomicBool::new(false));
    let updates = events.subscribe(crate::events::QUEUE);
    let open_role = config.passcodeless_role();
    let shared = Arc::new(Shared {
        rates: Mutex::new(Buckets::new(RATE_SOURCES, config.burst, config.rate)),
        config,
        open_role,
        workspace,
        link,
        refusals: Refusals::new(events.clone()),
        events,
        udp,
        udp_clients: Mutex::new(LruCache::new_unbounded()),
        tcp_clients: Mutex::new(HashMap::new()),
        guesses: Mutex::new(Guesses::default()),
        stop: stop.clone(),
    });
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new().name(name.into()).spawn(f)
    };
    let threads = vec![
        spawn("osc-udp", {
            let s = shared.clone();
            Box::new(move || s.serve_udp())
        })?,
        spawn("osc-tcp", {
            let s = shared.clone();
            Box::new(move || s.serve_tcp(tcp))
        })?,
        spawn("osc-updates", {
            let s = shared.clone();
            Box::new(move || s.push_updates(&updates))
        })?,
    ];
    Ok(Osc {
        stop,
        threads,
        udp_addr,
        tcp_addr,
    })
}

impl Shared {
    fn serve_udp(&self) {
        let mut buf = vec![0u8; MAX_PACKET];
        while !self.stop.load(Ordering::Relaxed) {
            self.refusals.flush();
            let Ok((n, from)) = self.udp.recv_from(&mut buf) else {
                continue;
            };
            self.packet(&buf[..n], from, Route::Udp(from));
        }
    }

    fn serve_tcp(self: Arc<Self>, listener: TcpListener) {
        while !self.stop.load(Ordering::Relaxed) {
            let (stream, from) = match listener.accept() {
                Ok(c) => c,
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if !self.allowed(from.ip()) {
                self.refused(
                    from,
                    "tcp",
                    "(connection)",
                    "its address is not in the OSC allow list",
                );
                continue;
            }
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let writer = match stream.try_clone() {
                Ok(w) => Arc::new(Mutex::new(w)),
                Err(_) => continue,
            };
            if let Err(reason) = self.take_slot(from, writer.clone()) {
                self.refused(from, "tcp", "(connection)", &reason);
                self.reply(&Route::Tcp(writer), "", "denied", json!(reason));
                continue;
            }
            let s = self.clone();
            let spawned = std::thread::Builder::new()
                .name("osc-conn".into())
                .spawn(move || {
                    s.connection(stream, from, writer);
                    lock(&s.tcp_clients).remove(&from);
                });
            if spawned.is_err() {
                lock(&self.tcp_clients).remove(&from);
            }
        }
    }

    /// Counts a new connection against the limits, in all and from its
    /// address, from the moment it is accepted; or says why not.
    fn take_slot(&self, from: SocketAddr, stream: Arc<Mutex<TcpStream>>) -> Result<(), String> {
        let mut clients = lock(&self.tcp_clients);
        let same = clients.keys().filter(|a| a.ip() == from.ip()).count();
        if clients.len() >= MAX_TCP {
            return Err(format!(
                "{MAX_TCP} OSC connections are open already; close one"
            ));
        }
        if same >= MAX_TCP_PER_SOURCE {
            return Err(format!(
                "{MAX_TCP_PER_SOURCE} OSC connections from {} are open already; close one",
                from.ip()
            ));
        }
        clients.insert(
            from,
            TcpClient {
                client: Client::default(),
                stream,
            },
        );
        Ok(())
    }

    fn connection(&self, stream: TcpStream, from: SocketAddr, writer: Arc<Mutex<TcpStream>>) {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let _ = stream.set_nodelay(true);
        let route = Route::Tcp(writer);
        let mut frames = SlipReader::new(stream, MAX_PACKET).frame_time(FRAME_TIME);
        let mut last = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            let closing = match frames.next_frame() {
                Ok(Frame::Packet(p)) => {
                    last = Instant::now();
                    self.packet(&p, from, route.clone());
                    None
                }
                Ok(Frame::Malformed) => {
                    let reason = "a SLIP frame with a bad escape";
                    self.refused(from, "tcp", "(frame)", reason);
                    self.reply(&route, "", "error", json!(reason));
                    None
                }
                Ok(Frame::Oversized) => {
                    Some(format!("a SLIP frame over {MAX_PACKET} bytes; closing"))
                }
                Ok(Frame::TooSlow) => Some(format!(
                    "a SLIP frame still unfinished {FRAME_TIME:?} after its first byte; closing"
                )),
                Ok(Frame::End) => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if last.elapsed() > TCP_IDLE {
                        return;
                    }
                    None
                }
                Err(_) => return,
            };
            if let Some(reason) = closing {
                self.refused(from, "tcp", "(frame)", &reason);
                self.reply(&route, "", "error", json!(reason));
                return;
            }
        }
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        crate::showctl::config::allows(&self.config.allow, ip)
    }

    /// Handles one packet from `from`.
    fn packet(&self, bytes: &[u8], from: SocketAddr, route: Route) {
        let transport = route.transport();
        if !self.allowed(from.ip()) {
            // Not answered: over UDP the address may be forged, and a
            // stranger learns nothing.
            self.refused(
                from,
                transport,
                "(packet)",
                "its address is not in the OSC allow list",
            );
            return;
        }
        if !self.within_rate(from, &route) {
            return;
        }
        let messages = match decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.refused(from, transport, "(packet)", &e);
                self.reply(&route, "", "error", json!(e));
                return;
            }
        };
        for (i, msg) in messages.iter().enumerate() {
            // The packet paid for its first message.
            if i > 0 && !self.within_rate(from, &route) {
                return;
            }
            let (is_query, status, data) = self.message(msg, from, &route);
            let always = self.client(from, &route).always_reply;
            if matches!(route, Route::Tcp(_)) || is_query || always || status != "ok" {
                self.reply(&route, &msg.addr, status, data);
            }
        }
    }

    /// Takes a token from the sender's address's bucket (shared by all its
    /// ports and connections); when there is none, the first message
    /// refused in a run is answered with why, the rest only booked.
    fn within_rate(&self, from: SocketAddr, route: &Route) -> bool {
        let take = lock(&self.rates).take(&from.ip(), Instant::now());
        if take == Take::Pass {
            return true;
        }
        let reason = format!(
            "{} sends more than {} messages at once or {} a second; the rest are dropped until it slows down",
            from.ip(),
            self.config.burst,
            self.config.rate
        );
        self.refused(from, route.transport(), "(rate)", &reason);
        if take == Take::First {
            self.reply(route, "", "error", json!(reason));
        }
        false
    }

    /// What the box remembers of the client at `from` (nothing: defaults).
    fn client(&self, from: SocketAddr, route: &Route) -> Client {
        match route {
            Route::Tcp(_) => lock(&self.tcp_clients).get(&from).map(|c| c.client),
            Route::Udp(_) => {
                let mut clients = lock(&self.udp_clients);
                match clients.get_mut(&from) {
                    Some(c) if c.last.elapsed() < UDP_IDLE => {
                        c.last = Instant::now();
                        Some(c.client)
                    }
                    Some(_) => {
                        clients.remove(&from);
                        None
                    }
                    None => None,
                }
            }
        }
        .unwrap_or_default()
    }

    /// Changes what the box remembers of the client at `from`, taking a
    /// UDP client in if it is new: in place of its address's least recently
    /// heard of client if that address has too many, or of the least
    /// recently heard of all if the box remembers too many.
    fn remember(&self, from: SocketAddr, route: &Route, change: impl FnOnce(&mut Client)) {
        match route {
            Route::Tcp(_) => {
                if let Some(c) = lock(&self.tcp_clients).get_mut(&from) {
                    change(&mut c.client);
                }
            }
            Route::Udp(_) => {
                let now = Instant::now();
                let mut clients = lock(&self.udp_clients);
                if !clients.contains_key(&from) {
                    clients.retain(|_, c| now.saturating_duration_since(c.last) < UDP_IDLE);
                    // Least recently heard of first.
                    let same: Vec<SocketAddr> = clients
                        .iter()
                        .map(|(a, _)| *a)
                        .filter(|a| a.ip() == from.ip())
                        .collect();
                    if same.len() >= MAX_UDP_CLIENTS_PER_SOURCE {
                        clients.remove(&same[0]);
                    }
                    if clients.len() >= MAX_UDP_CLIENTS {
                        clients.remove_lru();
                    }
                    clients.insert(
                        from,
                        UdpClient {
                            client: Client::default(),
                            last: now,
                        },
                    );
                }
                if let Some(c) = clients.get_mut(&from) {
                    c.last = now;
                    change(&mut c.client);
                }
            }
        }
    }

    /// The role of a client: its passcode's, or the role without one.
    fn role(&self, client: Client) -> Option<Role> {
        client.passcode.or(self.open_role)
    }

    /// Answers one message: whether it was a query, the status and the data.
    fn message(
        &self,
        msg: &OscMessage,
        from: SocketAddr,
        route: &Route,
    ) -> (bool, &'static str, Value) {
        let request = match parse(msg) {
            Ok(r) => r,
            Err(e) => {
                self.refused(from, "osc", &msg.addr, &e);
                return (true, "error", json!(e));
            }
        };
        let client = self.client(from, route);
        let role = self.role(client);
        if let Some(needs) = request.needs() {
            if role.is_none_or(|r| r < needs) {
                let why = match (role, client.passcode) {
                    (Some(r), Some(_)) => {
                        format!("the passcode given allows {r}, this needs {needs}")
                    }
                    (Some(r), None) => format!(
                        "without a passcode this box's OSC allows {r}, this needs {needs}: \
                         give it osc.passcodes (then send /connect) or osc.open_role \
                         (which is view unless OSC listens on loopback only)"
                    ),
                    (None, _) => "send /connect with a passcode first (a UDP client is \
                                  forgotten after 120 s of silence, or when 64 others need room)"
                        .to_owned(),
                };
                self.refused(from, "osc", &msg.addr, &why);
                return (request.is_query(), "denied", json!(why));
            }
        }
        let is_query = request.is_query();
        let reported = matches!(request, OscRequest::Act(_));
        match self.answer(request, from, route) {
            Ok(data) => (is_query, "ok", data),
            Err(Refusal { kind, message }) => {
                if !reported {
                    self.refused(from, "osc", &msg.addr, &message);
                }
                let status = match kind {
                    RefusalKind::Forbidden | RefusalKind::Unauthorized => "denied",
                    _ => "error",
                };
                (is_query, status, json!(message))
            }
        }
    }

    /// `/connect`: the role a passcode gives, with wrong ones held back.
    fn connect(
        &self,
        code: Option<String>,
        from: SocketAddr,
        route: &Route,
    ) -> Result<Value, Refusal> {
        if self.config.passcodes.is_empty() {
            let role = self.open_role.unwrap_or(Role::View);
            return Ok(json!(format!("ok:{}", granted(role))));
        }
        let now = Instant::now();
        lock(&self.guesses)
            .may_try(from.ip(), now)
            .map_err(|why| Refusal::new(RefusalKind::Forbidden, why))?;
        let role = code
            .as_ref()
            .and_then(|code| self.config.passcodes.iter().find(|p| p.code == *code))
            .map(|p| p.role);
        match role {
            // QLab's answers: the permissions granted, or badpass.
            Some(r) => {
                lock(&self.guesses).right(from.ip());
                self.remember(from, route, |c| c.passcode = Some(r));
                Ok(json!(format!("ok:{}", granted(r))))
            }
            None => {
                lock(&self.guesses).wrong(from.ip(), now);
                if let Route::Tcp(_) = route {
                    self.remember(from, route, |c| c.passcode = None);
                } else if let Some(c) = lock(&self.udp_clients).get_mut(&from) {
                    c.client.passcode = None;
                }
                self.refused(from, "osc", "/connect", "wrong passcode");
                Ok(json!("badpass"))
            }
        }
    }

    fn answer(
        &self,
        request: OscRequest,
        from: SocketAddr,
        route: &Route,
    ) -> Result<Value, Refusal> {
        match request {
            OscRequest::Connect(code) => self.connect(code, from, route),
            OscRequest::Updates(on) => {
                self.remember(from, route, |c| c.updates = on);
                Ok(Value::Null)
            }
            OscRequest::AlwaysReply(on) => {
                self.remember(from, route, |c| c.always_reply = on);
                Ok(Value::Null)
            }
            OscRequest::Thump => Ok(json!("thump")),
            OscRequest::Workspaces => Ok(json!([{
                "uniqueID": self.workspace, "displayName": self.workspace,
                "hasPasscode": !self.config.passcodes.is_empty(), "version": env!("CARGO_PKG_VERSION"),
            }])),
            OscRequest::Running { paused } => Ok(running(&self.link, paused)),
            OscRequest::Playhead => playhead(&self.link),
            OscRequest::MinGoTime => Ok(json!(self.link.double_go_guard().as_secs_f64())),
            OscRequest::Act(action) => {
                let origin = Origin::new(Input::Osc, from.to_string());
                act_reported(&self.link, &self.events, &origin, action, |what, reason| {
                    self.refused(from, "osc", &what, reason)
                })
            }
        }
    }

    /// Sends `/reply<address>` with QLab's JSON body.
    fn reply(&self, route: &Route, address: &str, status: &str, data: Value) {
        let body = json!({
            "workspace_id": self.workspace, "address": address,
            "status": status, "data": data,
        });
        self.send(route, &format!("/reply{address}"), body.to_string());
    }

    fn send(&self, route: &Route, address: &str, body: String) {
        let packet = OscPacket::Message(OscMessage {
            addr: address.to_owned(),
            args: if body.is_empty() {
                Vec::new()
            } else {
                vec![OscType::String(body)]
            },
        });
        let Ok(bytes) = rosc::encoder::encode(&packet) else {
            return;
        };
        match route {
            Route::Udp(to) => {
                let to = SocketAddr::new(to.ip(), self.config.reply_port);
                let _ = self.udp.send_to(&bytes, to);
            }
            Route::Tcp(stream) => {
                let _ = lock(stream).write_all(&slip::encode(&bytes));
            }
        }
    }

    /// Books a refusal: reported at once if it is the sender's first for
    /// this reason for a while, else summed with the others.
    fn refused(&self, from: SocketAddr, transport: &'static str, address: &str, reason: &str) {
        self.refusals.refused(
            (from.ip(), reason.to_owned()),
            ShowctlRefusal {
                via: transport,
                from: from.to_string(),
                what: address.into(),
                reason: reason.into(),
            },
        );
    }

    /// Where the clients that asked for updates are.
    fn subscribed(&self) -> Vec<Route> {
        let mut routes: Vec<Route> = lock(&self.tcp_clients)
            .values()
            .filter(|c| c.client.updates)
            .map(|c| Route::Tcp(c.stream.clone()))
            .collect();
        routes.extend(
            lock(&self.udp_clients)
                .iter()
                .filter(|(_, c)| c.client.updates && c.last.elapsed() < UDP_IDLE)
                .map(|(a, _)| Route::Udp(*a)),
        );
        routes
    }

    /// Pushes `/update/…` messages to subscribed clients as the box's
    /// events say cues start, stop, pause or resume, and the playhead moves.
    fn push_updates(&self, events: &Subscription) {
        // Pauses and resumes name a voice: the clip is the one it started.
        let mut voices: HashMap<u64, ClipId> = HashMap::new();
        let ws = &self.workspace;
        while !self.stop.load(Ordering::Relaxed) {
            let event = match events.recv_timeout(UPDATE_TICK) {
                Ok(event) => event,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let (address, body) = match &*event {
                BoxEvent::Started {
                    clip: Some(clip),
                    voice,
                    ..
                } => {
                    voices.insert(*voice, clip.clone());
                    (
                        format!("/update/workspace/{ws}/cue_id/{clip}"),
                        String::new(),
                    )
                }
                BoxEvent::Stopped {
                    clip: Some(clip),
                    voice,
                    ..
                } => {
                    voices.remove(voice);
                    (
                        format!("/update/workspace/{ws}/cue_id/{clip}"),
                        String::new(),
                    )
                }
                BoxEvent::Paused { voice, .. } | BoxEvent::Resumed { voice, .. } => {
                    let Some(clip) = voices.get(voice) else {
                        continue;
                    };
                    (
                        format!("/update/workspace/{ws}/cue_id/{clip}"),
                        String::new(),
                    )
                }
                BoxEvent::Playhead {
                    page, tab, clip, ..
                } => (
                    format!("/update/workspace/{ws}/cueList/{page}.{tab}/playbackPosition"),
                    clip.as_ref().map(ToString::to_string).unwrap_or_default(),
                ),
                _ => continue,
            };
            for r in &self.subscribed() {
                self.send(r, &address, body.clone());
            }
        }
    }
}

/// The permissions a role grants, as QLab names them.
fn granted(role: Role) -> &'static str {
    match role {
        Role::View => "view",
        Role::Control => "view|control",
        Role::Edit => "view|edit|control",
    }
}

/// The playing (and paused) cues, as `/runningOrPausedCues` answers.
fn running(link: &Arc<LiveLink>, paused: bool) -> Value {
    let status = crate::api::service::ShowControl::status(link);
    let show = link.show().ok();
    let cues: Vec<Value> = status
        .playing
        .iter()
        .filter(|p| paused || !p.paused)
        .map(|p| {
            let number = show.as_ref().and_then(|s| {
                let number = s.cues.number_of(&p.clip.parse().ok()?)?;
                Some(number.to_string())
            });
            json!({
                "uniqueID": p.clip, "number": number, "name": p.name, "listName": p.group,
                "type": "Audio", "running": !p.paused, "paused": p.paused,
                "position": p.position,
            })
        })
        .collect();
    json!(cues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Subscription;
    use crate::showctl::config::ShowctlConfig;
    use std::io::Read;

    /// An OSC service with `config` (JSON of the `osc` key; on 127.0.0.1
    /// unless it says), no session playing; its events, and reply sockets on
    /// 127.0.0.1 and 127.0.0.2.
    fn service(osc: Value) -> (Osc, Subscription, UdpSocket, UdpSocket) {
        let replies_a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut osc = osc;
        if osc.get("bind").is_none() {
            osc["bind"] = json!("127.0.0.1");
        }
        osc["port"] = json!(0);
        osc["reply_port"] = json!(replies_a.local_addr().unwrap().port());
        let config: ShowctlConfig = serde_json::from_value(json!({ "osc": osc })).unwrap();
        let tx = Publisher::new();
        let rx = tx.subscribe(crate::events::QUEUE);
        let link = Arc::new(LiveLink::new(Duration::from_millis(300), tx.clone()));
        let service = start(config.osc.unwrap(), "box".into(), link, tx).unwrap();
        // A second client on another loopback address, replies at the same port number.
        let port = replies_a.local_addr().unwrap().port();
        let replies_b = UdpSocket::bind(("127.0.0.2", port)).unwrap();
        for s in [&replies_a, &replies_b] {
            s.set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
        }
        (service, rx, replies_a, replies_b)
    }

    /// Where to send UDP to a service (one bound to every interface is
    /// reached on loopback).
    fn udp_to(osc: &Osc) -> SocketAddr {
        SocketAddr::new("127.0.0.1".parse().unwrap(), osc.udp_addr().port())
    }

    fn message(addr: &str, args: Vec<OscType>) -> Vec<u8> {
        rosc::encoder::encode(&OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        }))
        .unwrap()
    }

    /// A reply's address and JSON.
    fn reply(bytes: &[u8]) -> Option<(String, Value)> {
        let (_, OscPacket::Message(m)) = rosc::decoder::decode_udp(bytes).ok()? else {
            return None;
        };
        match m.args.first() {
            Some(OscType::String(s)) => Some((m.addr, serde_json::from_str(s).ok()?)),
            _ => None,
        }
    }

    /// The next reply on `socket`, if one comes.
    fn next_reply(socket: &UdpSocket) -> Option<Value> {
        let mut buf = [0u8; 4096];
        let (n, _) = socket.recv_from(&mut buf).ok()?;
        reply(&buf[..n]).map(|(_, body)| body)
    }

    /// Sends `addr` from `socket` and returns the reply's JSON, if one came.
    fn ask(socket: &UdpSocket, to: SocketAddr, addr: &str) -> Option<Value> {
        ask_with(socket, to, addr, vec![])
    }

    fn ask_with(
        socket: &UdpSocket,
        to: SocketAddr,
        addr: &str,
        args: Vec<OscType>,
    ) -> Option<Value> {
        socket.send_to(&message(addr, args), to).unwrap();
        next_reply(socket)
    }

    /// The next reply on a TCP connection.
    fn tcp_reply(conn: &TcpStream) -> Option<Value> {
        match SlipReader::new(conn.try_clone().unwrap(), MAX_PACKET).next_frame() {
            Ok(Frame::Packet(p)) => reply(&p).map(|(_, body)| body),
            _ => None,
        }
    }

    /// The refusal events reported so far.
    fn refused(events: &Subscription) -> Vec<Value> {
        std::thread::sleep(Duration::from_millis(100));
        events
            .json()
            .filter(|e| e["event"] == "showctl_refused")
            .collect()
    }

    /// The refusal reasons reported so far.
    fn refusals(events: &Subscription) -> Vec<String> {
        refused(events)
            .iter()
            .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    #[test]
    fn a_flooding_address_is_held_to_its_rate_and_others_are_still_served() {
        let (osc, events, a, b) = service(json!({"burst": 5, "rate": 1}));
        let to = osc.udp_addr();
        // One address, two ports: they share one bucket.
        let a2 = UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..100 {
            a.send_to(&message("/thump", vec![]), to).unwrap();
            a2.send_to(&message("/thump", vec![]), to).unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
        let mut replies = Vec::new();
        while let Some(r) = next_reply(&a) {
            replies.push(r);
        }
        assert_eq!(
            replies.len(),
            6,
            "5 answers and one why, of 200: {replies:?}"
        );
        assert_eq!(
            replies[5]["data"],
            "127.0.0.1 sends more than 5 messages at once or 1 a second; the rest are dropped until it slows down"
        );
        let b_reply = ask(&b, to, "/thump").expect("another address is served");
        assert_eq!(b_reply["data"], "thump");
        assert_eq!(b_reply["workspace_id"], "box");
        // The flood is one event, not one per message.
        let reported = refused(&events);
        assert_eq!(reported.len(), 1, "{reported:?}");
        assert_eq!(reported[0]["what"], "(rate)");
        assert_eq!(reported[0]["count"], 1);
        // Back under its rate, the address is served again.
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(ask(&a, to, "/thump").unwrap()["data"], "thump");
    }

    #[test]
    fn outside_the_allow_list_or_without_the_passcode_nothing_happens() {
        let (osc, events, a, b) = service(json!({
            "allow": ["127.0.0.2/32"],
            "passcodes": [{"code": "7", "role": "view"}],
        }));
        let to = osc.udp_addr();
        assert_eq!(ask(&a, to, "/thump"), None, "127.0.0.1 is not allowed");
        assert_eq!(ask(&b, to, "/go").unwrap()["status"], "denied");
        assert_eq!(ask(&b, to, "/runningCues").unwrap()["status"], "denied");
        let connect = ask_with(&b, to, "/connect", vec![OscType::String("7".into())]).unwrap();
        assert_eq!(connect["data"], "ok:view");
        let view = ask(&b, to, "/runningCues").unwrap();
        assert_eq!(view["status"], "ok", "{view}");
        let go = ask(&b, to, "/go").unwrap();
        assert_eq!(go["status"], "denied", "view cannot GO: {go}");
        assert!(go["data"]
            .as_str()
            .unwrap()
            .contains("allows view, this needs control"));
        let bad = ask(&b, to, "/cue/1/explode").unwrap();
        assert_eq!(bad["status"], "error");
        assert!(
            bad["data"].as_str().unwrap().contains("start, stop, pause"),
            "{bad}"
        );
        let reasons = refusals(&events);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("not in the OSC allow list")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("send /connect")),
            "{reasons:?}"
        );
    }

    /// Sixteen connections that never say a word: one address holds only
    /// its four, each counted from the moment it is accepted; the others are
    /// told why, and another address is still served.
    #[test]
    fn silent_tcp_connections_from_one_address_take_only_its_share() {
        let (osc, _events, _a, _b) = service(json!({}));
        let silent: Vec<TcpStream> = (0..MAX_TCP)
            .map(|_| {
                let c = TcpStream::connect(osc.tcp_addr()).unwrap();
                c.set_read_timeout(Some(Duration::from_millis(300)))
                    .unwrap();
                c
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let turned: Vec<Value> = silent.iter().filter_map(tcp_reply).collect();
        assert_eq!(turned.len(), MAX_TCP - MAX_TCP_PER_SOURCE, "{turned:?}");
        assert!(turned.iter().all(|r| r["status"] == "denied"
            && r["data"] == "4 OSC connections from 127.0.0.1 are open already; close one"));
        let SocketAddr::V4(box_addr) = osc.tcp_addr() else {
            panic!("the test service listens on IPv4")
        };
        let from_b =
            cuebox_proto::client::tcp_from("127.0.0.2".parse().unwrap(), box_addr).unwrap();
        from_b
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        (&from_b)
            .write_all(&slip::encode(&message("/thump", vec![])))
            .unwrap();
        assert_eq!(tcp_reply(&from_b).unwrap()["data"], "thump");
        // A silent one is served when it speaks.
        (&silent[0])
            .write_all(&slip::encode(&message("/thump", vec![])))
            .unwrap();
        silent[0]
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        assert_eq!(tcp_reply(&silent[0]).unwrap()["data"], "thump");
    }

    /// docs/showctl.md's own example opens a socket per message: every GO
    /// reaches the show (here: none plays, which the link says), none is
    /// refused for want of room.
    #[test]
    fn a_script_with_a_new_socket_per_message_never_loses_its_go() {
        let (osc, events, a, _b) = service(json!({}));
        let to = osc.udp_addr();
        let link_says = "no session is playing";
        for i in 0..(MAX_UDP_CLIENTS_PER_SOURCE * 4) {
            let script = UdpSocket::bind("127.0.0.1:0").unwrap();
            script.send_to(&message("/go", vec![]), to).unwrap();
            let r = next_reply(&a).unwrap_or_else(|| panic!("GO {i} was not answered"));
            assert_eq!(r["status"], "error", "GO {i}: {r}");
            assert!(
                r["data"].as_str().unwrap().contains(link_says),
                "GO {i}: {r}"
            );
        }
        assert!(refusals(&events).iter().all(|r| r.contains(link_says)));
    }

    /// A client on its own loopback address, sending from the reply port
    /// so the box's replies come back to it.
    fn client_at(ip: &str, a: &UdpSocket) -> UdpSocket {
        let s = UdpSocket::bind((ip, a.local_addr().unwrap().port())).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s
    }

    /// Clients that need state (here: replies to commands) are remembered,
    /// the least recently heard of forgotten to make room: a new client is
    /// never refused.
    #[test]
    fn new_udp_clients_push_out_the_least_recently_heard_of() {
        let (osc, _events, a, _b) = service(json!({}));
        let to = osc.udp_addr();
        let n = MAX_UDP_CLIENTS + 16;
        let clients: Vec<UdpSocket> = (0..n)
            .map(|i| client_at(&format!("127.0.1.{}", i + 1), &a))
            .collect();
        for (i, c) in clients.iter().enumerate() {
            let r = ask_with(c, to, "/alwaysReply", vec![OscType::Int(1)]);
            assert_eq!(
                r.map(|r| r["status"].clone()),
                Some(json!("ok")),
                "client {i}"
            );
        }
        // `/updates 1` succeeds quietly unless the client asked for replies.
        for (i, c) in clients.iter().enumerate().skip(16) {
            let r = ask_with(c, to, "/updates", vec![OscType::Int(1)]);
            assert!(r.is_some(), "client {i} is remembered");
        }
        for (i, c) in clients.iter().enumerate().take(16) {
            let r = ask_with(c, to, "/updates", vec![OscType::Int(1)]);
            assert!(
                r.is_none(),
                "client {i} was forgotten for a newer one: {r:?}"
            );
        }
    }

    /// With no passcodes, a box whose OSC listens beyond loopback lets any
    /// allowed client look, not GO, and says why.
    #[test]
    fn without_passcodes_a_box_listening_beyond_loopback_lets_clients_view_not_go() {
        let (osc, _events, a, _b) = service(json!({"bind": "0.0.0.0"}));
        let to = udp_to(&osc);
        let go = ask(&a, to, "/go").expect("a refused GO is answered");
        assert_eq!(go["status"], "denied", "{go}");
        assert_eq!(
            go["data"],
            "without a passcode this box's OSC allows view, this needs control: give it \
             osc.passcodes (then send /connect) or osc.open_role (which is view unless OSC \
             listens on loopback only)"
        );
        assert_eq!(ask(&a, to, "/runningCues").unwrap()["status"], "ok");
        let connect = ask(&a, to, "/connect").unwrap();
        assert_eq!(connect["data"], "ok:view");
        // Saying so in the configuration opens it.
        let (osc, _events, a, _b) = service(json!({"bind": "0.0.0.0", "open_role": "control"}));
        let go = ask(&a, udp_to(&osc), "/go").unwrap();
        assert!(
            go["data"]
                .as_str()
                .unwrap()
                .contains("no session is playing"),
            "{go}"
        );
    }

    /// A 4-digit passcode tried from 64 loopback addresses, 72 codes each
    /// (4,608 tries, the right one last): the box checks a few and refuses
    /// the rest without checking, saying why.
    #[test]
    fn a_passcode_cannot_be_brute_forced_from_many_addresses() {
        let code = 4607;
        let (osc, events, a, _b) = service(json!({
            "passcodes": [{"code": format!("{code:04}"), "role": "control"}],
            "burst": 1000, "rate": 1000,
        }));
        let to = osc.udp_addr();
        let attackers: Vec<UdpSocket> = (0..64)
            .map(|i| client_at(&format!("127.0.2.{}", i + 1), &a))
            .collect();
        let (mut checked, mut held, mut answers) = (0, 0, Vec::new());
        for round in 0..72 {
            for (i, s) in attackers.iter().enumerate() {
                let guess = format!("{:04}", round * 64 + i);
                let r = ask_with(s, to, "/connect", vec![OscType::String(guess.clone())])
                    .unwrap_or_else(|| panic!("{guess} unanswered"));
                assert_ne!(
                    r["data"].as_str().unwrap_or("").get(..2),
                    Some("ok"),
                    "{guess} got in"
                );
                match r["status"].as_str() {
                    Some("ok") => checked += 1,
                    Some("denied") => held += 1,
                    _ => panic!("{r}"),
                }
                answers.push(r);
            }
        }
        assert!(checked <= 21, "{checked} passcodes checked");
        assert_eq!(checked + held, 4608);
        let last = answers.last().unwrap()["data"].as_str().unwrap().to_owned();
        assert!(last.contains("wrong passcodes"), "{last}");
        // The refusals are a bounded number of events, not one per try.
        let reported = refused(&events);
        assert!(reported.len() <= 64 + 1, "{}", reported.len());
    }

    /// A flood of refused packets — from outside the allow list, and
    /// undecodable from inside it — is a few events, not one per packet,
    /// and never fills a subscriber's queue.
    #[test]
    fn a_flood_of_refused_packets_makes_a_bounded_number_of_events() {
        let (osc, events, a, b) =
            service(json!({"allow": ["127.0.0.2/32"], "burst": 100000, "rate": 100000}));
        let to = osc.udp_addr();
        for i in 0..5_000u32 {
            a.send_to(&message("/go", vec![]), to).unwrap();
            b.send_to(&[0xFF, 0, 0, 0], to).unwrap();
            if i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let reported = refused(&events);
        assert_eq!(reported.len(), 2, "one per sender: {reported:?}");
        assert_eq!(events.take_dropped(), 0);
        // Each undecodable packet from an allowed sender is answered.
        let mut answered = 0;
        while let Some(r) = next_reply(&b) {
            assert_eq!(r["status"], "error");
            answered += 1;
        }
        // As many as the reply socket's buffer holds.
        assert!(answered > 100, "{answered}");
    }

    /// OSC over TCP: a frame that arrives in pieces with pauses longer than
    /// the connection's read timeout is still one whole message.
    #[test]
    fn a_frame_sent_in_pieces_with_long_pauses_is_read_whole() {
        let (osc, _events, _a, _b) = service(json!({}));
        let conn = TcpStream::connect(osc.tcp_addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let frame = slip::encode(&message("/thump", vec![]));
        for piece in frame.chunks(frame.len() / 3 + 1) {
            (&conn).write_all(piece).unwrap();
            std::thread::sleep(Duration::from_millis(700));
        }
        let r = tcp_reply(&conn).expect("answered");
        assert_eq!(
            (r["address"].as_str(), r["data"].as_str()),
            (Some("/thump"), Some("thump"))
        );
    }

    /// A frame dripped past 64 KiB is refused as it passes it, with a reply
    /// saying why, and the connection closed.
    #[test]
    fn a_slow_oversized_frame_is_refused_as_it_passes_the_limit() {
        let (osc, _events, _a, _b) = service(json!({}));
        let conn = TcpStream::connect(osc.tcp_addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let big = slip::encode(&vec![0x41; 300_000]);
        let started = Instant::now();
        let mut sent = 0;
        let mut buf = [0u8; 4096];
        for piece in big.chunks(20_000) {
            if (&conn).write_all(piece).is_err() {
                break;
            }
            sent += piece.len();
            std::thread::sleep(Duration::from_millis(600));
            if (&conn).read(&mut buf).is_ok_and(|n| n > 0) {
                break;
            }
        }
        assert!(sent <= 100_000, "refused only after {sent} bytes");
        assert!(started.elapsed() < Duration::from_secs(4));
        let frame = SlipReader::new(&buf[..], MAX_PACKET).next_frame().unwrap();
        let Frame::Packet(p) = frame else {
            panic!("{frame:?}")
        };
        assert_eq!(
            reply(&p).unwrap().1["data"],
            "a SLIP frame over 65536 bytes; closing"
        );
    }

    #[test]
    fn a_bundle_nested_thousands_deep_is_refused_over_udp_and_the_box_lives() {
        let (osc, events, a, _b) = service(json!({}));
        let to = osc.udp_addr();
        let go = message("/go", vec![]);
        // 3,000 levels fill 60 KB, one datagram; 3,274 are the most a
        // datagram holds. 100,000 levels are 2 MB: a datagram carries the
        // first 65,507 bytes (the most UDP takes), whose sizes run past it.
        let deeper = super::super::nested_bundles(100_000, &go);
        for depth in [3_000, 3_274] {
            a.send_to(&super::super::nested_bundles(depth, &go), to)
                .unwrap();
        }
        a.send_to(&deeper[..65_507], to).unwrap();
        let why: Vec<Value> = (0..3)
            .map(|_| next_reply(&a).unwrap()["data"].clone())
            .collect();
        assert_eq!(
            why,
            [
                json!("bundles nested deeper than 4"),
                json!("bundles nested deeper than 4"),
                json!(
                    "a bundle element at byte 16 declares 1999988 bytes; its bundle has 65487 left"
                )
            ]
        );
        let thump = ask(&a, to, "/thump").expect("the box still answers");
        assert_eq!(thump["data"], "thump");
        let reasons = refusals(&events);
        // One event per reason; the second too deep is summed for later.
        assert_eq!(
            reasons,
            [
                "bundles nested deeper than 4",
                "a bundle element at byte 16 declares 1999988 bytes; its bundle has 65487 left"
            ]
        );
    }

    #[test]
    fn a_bundle_nested_thousands_deep_is_refused_over_tcp_and_the_box_lives() {
        let (osc, _events, _a, _b) = service(json!({}));
        let go = message("/go", vec![]);
        let thump = slip::encode(&message("/thump", vec![]));
        let conn = TcpStream::connect(osc.tcp_addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut w = conn.try_clone().unwrap();
        w.write_all(&slip::encode(&super::super::nested_bundles(3_000, &go)))
            .unwrap();
        assert_eq!(
            tcp_reply(&conn).unwrap()["data"],
            "bundles nested deeper than 4"
        );
        // The connection stays usable after a refused frame.
        w.write_all(&thump).unwrap();
        assert_eq!(tcp_reply(&conn).unwrap()["data"], "thump");
        // 100,000 levels are a 2 MB frame: refused for its size, and closed.
        let big = TcpStream::connect(osc.tcp_addr()).unwrap();
        big.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let _ = (&big).write_all(&slip::encode(&super::super::nested_bundles(100_000, &go)));
        assert_eq!(
            tcp_reply(&big).unwrap()["data"],
            "a SLIP frame over 65536 bytes; closing"
        );
        let again = TcpStream::connect(osc.tcp_addr()).unwrap();
        again
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        (&again).write_all(&thump).unwrap();
        assert_eq!(tcp_reply(&again).unwrap()["data"], "thump");
    }
}
