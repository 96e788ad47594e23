//! The OSC service: UDP and TCP sockets, clients' passcodes and
//! subscriptions, rate limits, and `/update` pushes.

use crate::events::{BoxEvent, Publisher, Subscription};
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cuebox_engine::show::ClipId;
use rosc::{OscMessage, OscPacket, OscType};
use serde_json::{json, Value};

use super::{decode, parse, OscRequest, MAX_PACKET};
use crate::api::keys::Role;
use crate::api::proto::{Refusal, RefusalKind};
use crate::limit::Bucket;
use crate::link::LiveLink;
use crate::showctl::config::OscConfig;
use crate::showctl::perform::{act_reported, playhead};
use crate::showctl::slip::{self, Frame, SlipReader};

/// TCP connections at once, and from one address.
const MAX_TCP: usize = 16;
const MAX_TCP_PER_SOURCE: usize = 4;
/// A silent TCP connection is closed after this long.
const TCP_IDLE: Duration = Duration::from_secs(300);
/// A UDP sender's state (passcode, updates) is forgotten after this long
/// without a message; clients send `/thump` to stay.
const UDP_IDLE: Duration = Duration::from_secs(120);
/// How many UDP senders are remembered at once, and from one address.
const MAX_UDP_PEERS: usize = 64;
const MAX_UDP_PEERS_PER_SOURCE: usize = 8;
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

/// What the box remembers of one client.
struct Peer {
    role: Option<Role>,
    updates: bool,
    always_reply: bool,
    route: Route,
    last: Instant,
}

/// One source address's rate: every client (port, connection) from it
/// shares the bucket, so opening more of them gains nothing.
struct Rate {
    bucket: Bucket,
    /// Messages dropped since the last report.
    dropped: u64,
    last: Instant,
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
    workspace: String,
    link: Arc<LiveLink>,
    events: Publisher,
    udp: UdpSocket,
    peers: Mutex<HashMap<SocketAddr, Peer>>,
    rates: Mutex<HashMap<IpAddr, Rate>>,
    tcp_count: AtomicUsize,
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
    let shared = Arc::new(Shared {
        config,
        workspace,
        link,
        events,
        udp,
        peers: Mutex::new(HashMap::new()),
        rates: Mutex::new(HashMap::new()),
        tcp_count: AtomicUsize::new(0),
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
            let from_same = lock(&self.peers)
                .iter()
                .filter(|(a, p)| a.ip() == from.ip() && matches!(p.route, Route::Tcp(_)))
                .count();
            let refused = if !self.allowed(from.ip()) {
                Some("its address is not in the OSC allow list".to_owned())
            } else if self.tcp_count.load(Ordering::Relaxed) >= MAX_TCP {
                Some(format!("{MAX_TCP} OSC connections are open already"))
            } else if from_same >= MAX_TCP_PER_SOURCE {
                Some(format!(
                    "{MAX_TCP_PER_SOURCE} OSC connections from {} are open already",
                    from.ip()
                ))
            } else {
                None
            };
            if let Some(reason) = refused {
                self.refused(from, "tcp", "(connection)", &reason);
                continue;
            }
            self.tcp_count.fetch_add(1, Ordering::Relaxed);
            let s = self.clone();
            let spawned = std::thread::Builder::new()
                .name("osc-conn".into())
                .spawn(move || {
                    s.connection(stream, from);
                    lock(&s.peers).remove(&from);
                    s.tcp_count.fetch_sub(1, Ordering::Relaxed);
                });
            if spawned.is_err() {
                self.tcp_count.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    fn connection(&self, stream: TcpStream, from: SocketAddr) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
        let _ = stream.set_nodelay(true);
        let Ok(writer) = stream.try_clone() else {
            return;
        };
        let route = Route::Tcp(Arc::new(Mutex::new(writer)));
        let mut frames = SlipReader::new(stream, MAX_PACKET);
        let mut last = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            match frames.next_frame() {
                Ok(Frame::Packet(p)) => {
                    last = Instant::now();
                    self.packet(&p, from, route.clone());
                }
                Ok(Frame::Malformed) => {
                    self.refused(from, "tcp", "(frame)", "a SLIP frame with a bad escape");
                }
                Ok(Frame::Oversized) => {
                    let reason = format!("a SLIP frame over {MAX_PACKET} bytes; closing");
                    self.refused(from, "tcp", "(frame)", &reason);
                    return;
                }
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
                }
                Err(_) => return,
            }
        }
    }

    fn allowed(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.config.allow.iter().any(|net| net.contains(&ip))
    }

    fn transport(route: &Route) -> &'static str {
        match route {
            Route::Udp(_) => "udp",
            Route::Tcp(_) => "tcp",
        }
    }

    /// Handles one packet from `from`.
    fn packet(&self, bytes: &[u8], from: SocketAddr, route: Route) {
        let transport = Self::transport(&route);
        if !self.allowed(from.ip()) {
            self.refused(
                from,
                transport,
                "(packet)",
                "its address is not in the OSC allow list",
            );
            return;
        }
        let messages = match decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.refused(from, transport, "(packet)", &e);
                return;
            }
        };
        for msg in messages {
            if !self.admit(from, &route) {
                return;
            }
            let reply = self.message(&msg, from);
            let (is_query, status, data) = reply;
            let always = lock(&self.peers).get(&from).is_some_and(|p| p.always_reply);
            if matches!(route, Route::Tcp(_)) || is_query || always || status != "ok" {
                let body = json!({
                    "workspace_id": self.workspace, "address": msg.addr,
                    "status": status, "data": data,
                });
                self.send(&route, &format!("/reply{}", msg.addr), body.to_string());
            }
        }
    }

    /// Remembers the client and takes a token from its address's bucket;
    /// false (reported once per run of drops) when it is over its rate or
    /// there is no room for it.
    fn admit(&self, from: SocketAddr, route: &Route) -> bool {
        let now = Instant::now();
        let transport = Self::transport(route);
        let mut peers = lock(&self.peers);
        if !peers.contains_key(&from) {
            peers.retain(|_, p| matches!(p.route, Route::Tcp(_)) || now - p.last < UDP_IDLE);
            let same = peers.keys().filter(|a| a.ip() == from.ip()).count();
            let full = if peers.len() >= MAX_UDP_PEERS + MAX_TCP {
                Some("too many OSC clients".to_owned())
            } else if same >= MAX_UDP_PEERS_PER_SOURCE {
                Some(format!(
                    "{MAX_UDP_PEERS_PER_SOURCE} OSC clients from {} already",
                    from.ip()
                ))
            } else {
                None
            };
            if let Some(reason) = full {
                drop(peers);
                self.refused(from, transport, "(packet)", &reason);
                return false;
            }
            let open = self
                .config
                .passcodes
                .is_empty()
                .then_some(self.config.open_role);
            peers.insert(
                from,
                Peer {
                    role: open,
                    updates: false,
                    always_reply: false,
                    route: route.clone(),
                    last: now,
                },
            );
        }
        if let Some(peer) = peers.get_mut(&from) {
            peer.last = now;
        }
        drop(peers);
        let mut rates = lock(&self.rates);
        if rates.len() >= MAX_UDP_PEERS + MAX_TCP && !rates.contains_key(&from.ip()) {
            rates.retain(|_, r| now - r.last < UDP_IDLE);
        }
        let rate = rates.entry(from.ip()).or_insert_with(|| Rate {
            bucket: Bucket::new(self.config.burst, self.config.rate),
            dropped: 0,
            last: now,
        });
        rate.last = now;
        if !rate.bucket.take(now) {
            rate.dropped += 1;
            return false;
        }
        let dropped = std::mem::take(&mut rate.dropped);
        drop(rates);
        if dropped > 0 {
            let reason = format!("{dropped} message(s) over the rate limit were dropped");
            self.refused(from, transport, "(rate)", &reason);
        }
        true
    }

    /// Answers one message: whether it was a query, the status and the data.
    fn message(&self, msg: &OscMessage, from: SocketAddr) -> (bool, &'static str, Value) {
        let request = match parse(msg) {
            Ok(r) => r,
            Err(e) => {
                self.refused(from, "osc", &msg.addr, &e);
                return (true, "error", json!(e));
            }
        };
        let role = lock(&self.peers).get(&from).and_then(|p| p.role);
        if let Some(needs) = request.needs() {
            if role.is_none_or(|r| r < needs) {
                let why = match role {
                    None => "send /connect with a passcode first".to_owned(),
                    Some(r) => format!("the passcode given allows {r}, this needs {needs}"),
                };
                self.refused(from, "osc", &msg.addr, &why);
                return (request.is_query(), "denied", json!(why));
            }
        }
        let is_query = request.is_query();
        let reported = matches!(request, OscRequest::Act(_));
        match self.answer(request, from) {
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

    fn answer(&self, request: OscRequest, from: SocketAddr) -> Result<Value, Refusal> {
        let set = |f: &dyn Fn(&mut Peer)| {
            if let Some(p) = lock(&self.peers).get_mut(&from) {
                f(p);
            }
        };
        match request {
            OscRequest::Connect(code) => {
                let role = match (&code, self.config.passcodes.is_empty()) {
                    (_, true) => Some(self.config.open_role),
                    (Some(code), false) => self
                        .config
                        .passcodes
                        .iter()
                        .find(|p| p.code == *code)
                        .map(|p| p.role),
                    (None, false) => None,
                };
                set(&|p| p.role = role);
                Ok(match role {
                    // QLab's answers: the permissions granted, or badpass.
                    Some(r) => json!(format!("ok:{}", granted(r))),
                    None => {
                        self.refused(from, "osc", "/connect", "wrong passcode");
                        json!("badpass")
                    }
                })
            }
            OscRequest::Updates(on) => {
                set(&|p| p.updates = on);
                Ok(Value::Null)
            }
            OscRequest::AlwaysReply(on) => {
                set(&|p| p.always_reply = on);
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
                act_reported(&self.link, &self.events, "osc", &from.to_string(), action)
            }
        }
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

    fn refused(&self, from: SocketAddr, transport: &str, address: &str, reason: &str) {
        self.events.send(BoxEvent::ShowctlRefused {
            via: transport.into(),
            from: from.to_string(),
            what: address.into(),
            reason: reason.into(),
        });
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
            let routes: Vec<Route> = lock(&self.peers)
                .values()
                .filter(|p| p.updates)
                .map(|p| p.route.clone())
                .collect();
            for r in &routes {
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

    /// An OSC service on 127.0.0.1 with `config` (JSON of the `osc` key), no
    /// session playing; its events.
    fn service(osc: Value) -> (Osc, Subscription, UdpSocket, UdpSocket) {
        let replies_a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut osc = osc;
        osc["bind"] = json!("127.0.0.1");
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

    fn message(addr: &str, args: Vec<OscType>) -> Vec<u8> {
        rosc::encoder::encode(&OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        }))
        .unwrap()
    }

    /// Sends `addr` from `socket` and returns the reply's JSON, if one came.
    fn ask(socket: &UdpSocket, to: SocketAddr, addr: &str) -> Option<Value> {
        socket.send_to(&message(addr, vec![]), to).unwrap();
        let mut buf = [0u8; 4096];
        let (n, _) = socket.recv_from(&mut buf).ok()?;
        let (_, OscPacket::Message(m)) = rosc::decoder::decode_udp(&buf[..n]).ok()? else {
            return None;
        };
        match m.args.first() {
            Some(OscType::String(s)) => serde_json::from_str(s).ok(),
            _ => None,
        }
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
        let mut answered = 0;
        let mut buf = [0u8; 4096];
        while a.recv_from(&mut buf).is_ok() {
            answered += 1;
        }
        assert!(
            answered <= 6,
            "{answered} of 200 answered with a burst of 5"
        );
        let b_reply = ask(&b, to, "/thump").expect("another address is served");
        assert_eq!(b_reply["data"], "thump");
        assert_eq!(b_reply["workspace_id"], "box");
        // Once the address is back under its rate, the drops are reported.
        std::thread::sleep(Duration::from_millis(1100));
        assert!(ask(&a, to, "/thump").is_some());
        let reported: Vec<Value> = events.json().collect();
        assert!(
            reported.iter().any(|e| e["event"] == "showctl_refused"
                && e["reason"]
                    .as_str()
                    .unwrap_or("")
                    .contains("over the rate limit")),
            "{reported:?}"
        );
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
        b.send_to(&message("/connect", vec![OscType::String("7".into())]), to)
            .unwrap();
        let mut buf = [0u8; 4096];
        b.recv_from(&mut buf).unwrap();
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
        let reasons: Vec<String> = events
            .json()
            .filter(|e| e["event"] == "showctl_refused")
            .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
            .collect();
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

    #[test]
    fn one_address_may_hold_only_a_few_tcp_connections() {
        let (osc, events, _a, _b) = service(json!({}));
        let conns: Vec<TcpStream> = (0..MAX_TCP_PER_SOURCE + 2)
            .map(|_| {
                let c = TcpStream::connect(osc.tcp_addr()).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                // A message makes the box remember the connection.
                let mut w = c.try_clone().unwrap();
                w.write_all(&slip::encode(&message("/thump", vec![])))
                    .unwrap();
                std::thread::sleep(Duration::from_millis(150));
                c
            })
            .collect();
        let served = conns
            .into_iter()
            .filter(|c| {
                matches!(
                    SlipReader::new(c.try_clone().unwrap(), MAX_PACKET).next_frame(),
                    Ok(Frame::Packet(_))
                )
            })
            .count();
        assert_eq!(served, MAX_TCP_PER_SOURCE);
        assert!(events.json().any(|e| e["reason"]
            .as_str()
            .unwrap_or("")
            .contains("OSC connections from 127.0.0.1 are open already")));
    }

    /// The refusal reasons reported so far.
    fn refusals(events: &Subscription) -> Vec<String> {
        events
            .json()
            .filter(|e| e["event"] == "showctl_refused")
            .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
            .collect()
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
        let thump = ask(&a, to, "/thump").expect("the box still answers");
        assert_eq!(thump["data"], "thump");
        let reasons = refusals(&events);
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[..2]
            .iter()
            .all(|r| r == "bundles nested deeper than 4"));
        assert_eq!(
            reasons[2],
            "a bundle element at byte 16 declares 1999988 bytes; its bundle has 65487 left"
        );
    }

    #[test]
    fn a_bundle_nested_thousands_deep_is_refused_over_tcp_and_the_box_lives() {
        let (osc, events, _a, _b) = service(json!({}));
        let go = message("/go", vec![]);
        let thump = slip::encode(&message("/thump", vec![]));
        let conn = TcpStream::connect(osc.tcp_addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut w = conn.try_clone().unwrap();
        w.write_all(&slip::encode(&super::super::nested_bundles(3_000, &go)))
            .unwrap();
        // The connection stays usable after a refused frame.
        w.write_all(&thump).unwrap();
        let reply = SlipReader::new(conn.try_clone().unwrap(), MAX_PACKET).next_frame();
        assert!(matches!(reply, Ok(Frame::Packet(_))), "{reply:?}");
        // 100,000 levels are a 2 MB frame: refused for its size, and closed.
        let big = TcpStream::connect(osc.tcp_addr()).unwrap();
        let _ = (&big).write_all(&slip::encode(&super::super::nested_bundles(100_000, &go)));
        std::thread::sleep(Duration::from_millis(300));
        let again = TcpStream::connect(osc.tcp_addr()).unwrap();
        again
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        (&again).write_all(&thump).unwrap();
        let reply = SlipReader::new(again, MAX_PACKET).next_frame();
        assert!(matches!(reply, Ok(Frame::Packet(_))), "{reply:?}");
        let reasons = refusals(&events);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("bundles nested deeper than 4")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("SLIP frame over 65536")),
            "{reasons:?}"
        );
    }
}
