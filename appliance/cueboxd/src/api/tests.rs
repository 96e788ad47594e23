//! The API's guards over real TLS on loopback: keys, roles, refusals, rate
//! limits, oversized frames and replayed traffic.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::events::{Publisher, Subscription, QUEUE};

use super::proto::{RefusalKind, Request, Response};
use super::*;

/// A service that counts what reaches it.
#[derive(Default)]
struct Counting {
    handled: AtomicUsize,
}

impl Service for Counting {
    type Conn = ();
    fn name(&self) -> String {
        "test box".into()
    }
    fn handle(&self, _peer: &Peer, _conn: &mut (), _request: Request<'_>) -> Response {
        self.handled.fetch_add(1, Ordering::SeqCst);
        Response::Done
    }
}

struct TestBox {
    server: Server,
    service: Arc<Counting>,
    identity: Identity,
    log: Subscription,
    _dir: tempfile::TempDir,
}

fn test_box(hosts: &[(Role, PublicKey)], limits: Limits) -> TestBox {
    let dir = tempfile::tempdir().unwrap();
    let authorized = dir.path().join("authorized_hosts");
    let mut list = AuthorizedHosts::default();
    for (role, key) in hosts {
        list.set(AuthorizedHost {
            role: *role,
            key: *key,
            comment: String::new(),
        });
    }
    list.save(&authorized).unwrap();
    let identity = Identity::generate().unwrap();
    let service = Arc::new(Counting::default());
    let tx = Publisher::new();
    let log = tx.subscribe(QUEUE);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server =
        Server::start(listener, &identity, authorized, limits, service.clone(), tx).unwrap();
    TestBox {
        server,
        service,
        identity,
        log,
        _dir: dir,
    }
}

impl TestBox {
    fn address(&self) -> String {
        self.server.local_addr().to_string()
    }

    fn connect(&self, host: &Identity) -> Result<Client, ClientError> {
        let pin = Expect::Pinned(self.identity.public().fingerprint());
        Client::connect(&self.address(), host, pin, Duration::from_secs(5))
    }

    /// Connects as a host at the local address `ip` (127.0.0.x: every
    /// loopback address is this machine's, and the box tells them apart).
    fn connect_from(&self, ip: &str, host: &Identity) -> Result<Client, ClientError> {
        let std::net::SocketAddr::V4(box_addr) = self.server.local_addr() else {
            panic!("the test box listens on IPv4");
        };
        let pin = Expect::Pinned(self.identity.public().fingerprint());
        Client::connect_from(ip.parse().unwrap(), box_addr, host, pin)
    }

    fn refusals(&self) -> Vec<Value> {
        std::thread::sleep(Duration::from_millis(50));
        self.log
            .json()
            .filter(|e| e["event"] == "api_refused")
            .collect()
    }
}

fn refusal(r: Result<Response, ClientError>) -> RefusalKind {
    match r {
        Err(ClientError::Refused(r)) => r.kind,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn roles_decide_what_a_host_may_ask() {
    let viewer = Identity::generate().unwrap();
    let operator = Identity::generate().unwrap();
    let stranger = Identity::generate().unwrap();
    let b = test_box(
        &[
            (Role::View, viewer.public()),
            (Role::Control, operator.public()),
        ],
        Limits::default(),
    );
    let go = Request::Command {
        at: None,
        command: cuebox_engine::control::Command::StopAll {},
    };

    let mut c = b.connect(&stranger).unwrap();
    assert_eq!(c.welcome().role, None);
    assert_eq!(c.welcome().host_key, stranger.public());
    assert_eq!(c.welcome().name, "test box");
    assert_eq!(refusal(c.call(&Request::Status)), RefusalKind::Unauthorized);
    assert_eq!(refusal(c.call(&go)), RefusalKind::Unauthorized);

    let mut c = b.connect(&viewer).unwrap();
    assert_eq!(c.welcome().role, Some(Role::View));
    assert_eq!(c.call(&Request::Status).unwrap(), Response::Done);
    assert_eq!(refusal(c.call(&go)), RefusalKind::Forbidden);

    let mut c = b.connect(&operator).unwrap();
    assert_eq!(c.call(&go).unwrap(), Response::Done);
    assert_eq!(
        refusal(c.call(&Request::Lock { locked: false })),
        RefusalKind::Forbidden
    );

    // Only the viewer's status and the operator's command got through.
    assert_eq!(b.service.handled.load(Ordering::SeqCst), 2);
    let refused = b.refusals();
    let reasons: Vec<_> = refused
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    // One event per peer (address and key) at once; the stranger's second
    // refusal is summed into a later one.
    assert_eq!(reasons, ["unauthorized", "forbidden", "forbidden"]);
    assert_eq!(
        refused[0]["key"],
        stranger.public().fingerprint().to_string()
    );
    assert_eq!(refused[0]["count"], 1);
    assert_eq!(refused[1]["request"], "command");
}

#[test]
fn a_host_only_talks_to_the_box_it_paired_with() {
    let host = Identity::generate().unwrap();
    let b = test_box(&[(Role::Edit, host.public())], Limits::default());
    // Pairing learns the key.
    let c = Client::connect(&b.address(), &host, Expect::Any, Duration::from_secs(5)).unwrap();
    assert_eq!(c.welcome().box_key, b.identity.public());
    // Another key at the same address is refused before a byte of the API.
    let impostor = Identity::generate().unwrap().public().fingerprint();
    let e = Client::connect(
        &b.address(),
        &host,
        Expect::Pinned(impostor),
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert!(matches!(e, ClientError::WrongBox { .. }), "{e}");
    assert!(e.to_string().contains("its key changed"), "{e}");
    assert_eq!(b.service.handled.load(Ordering::SeqCst), 0);
}

#[test]
fn a_flood_is_rate_limited_per_connection() {
    let host = Identity::generate().unwrap();
    let limits = Limits {
        burst: 5.0,
        requests_per_second: 1.0,
        ..Limits::default()
    };
    let b = test_box(&[(Role::View, host.public())], limits);
    let mut flood = b.connect(&host).unwrap();
    let answers: Vec<_> = (0..20).map(|_| flood.call(&Request::Status)).collect();
    let served = answers.iter().filter(|a| a.is_ok()).count();
    // The hello took one token.
    assert_eq!(served, 4, "{answers:?}");
    assert!(b.refusals().iter().all(|e| e["reason"] == "rate_limited"));
    // Another client is not starved by the flooding one.
    let mut other = b.connect(&host).unwrap();
    assert_eq!(other.call(&Request::Status).unwrap(), Response::Done);
}

#[test]
fn one_address_cannot_take_every_connection_and_another_is_still_served() {
    let host = Identity::generate().unwrap();
    let b = test_box(&[(Role::View, host.public())], Limits::default());
    let mut mine: Vec<Client> = (0..4)
        .map(|_| b.connect_from("127.0.0.1", &host).unwrap())
        .collect();
    // The fifth is told why, once its key shows it is a known host.
    let fifth = b.connect_from("127.0.0.1", &host).unwrap_err();
    let ClientError::Refused(r) = &fifth else {
        panic!("{fifth}")
    };
    assert_eq!(r.kind, RefusalKind::Busy);
    assert_eq!(
        r.message,
        "127.0.0.1 has 4 connections open, the most one address may have; close one"
    );
    let refused = b.refusals();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0]["reason"],
        "too many connections from this address"
    );
    assert_eq!(refused[0]["detail"], r.message.as_str());
    assert!(refused[0]["peer"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    // Another host still gets in, and is served.
    let mut other = b.connect_from("127.0.0.2", &host).unwrap();
    assert_eq!(other.call(&Request::Status).unwrap(), Response::Done);
    // The first host's four are served too.
    for c in &mut mine {
        assert_eq!(c.call(&Request::Status).unwrap(), Response::Done);
    }
    // A closed connection frees its address's slot.
    drop(mine.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let again = loop {
        match b.connect_from("127.0.0.1", &host) {
            Ok(c) => break c,
            Err(e) if std::time::Instant::now() > deadline => panic!("never freed: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    drop(again);
}

/// Slow-loris handshakes: sixteen connections from four addresses drip a
/// TLS record one byte at a time and reconnect whenever closed. Each is
/// closed at its absolute handshake deadline or to make room, and a known
/// host is served throughout.
#[test]
fn dripping_handshakes_never_lock_out_an_authorized_host() {
    let host = Identity::generate().unwrap();
    let limits = Limits {
        handshake: Duration::from_secs(1),
        ..Limits::default()
    };
    let b = test_box(&[(Role::View, host.public())], limits);
    let std::net::SocketAddr::V4(box_addr) = b.server.local_addr() else {
        panic!("IPv4")
    };
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let drippers: Vec<_> = (0..16)
        .map(|i| {
            let stop = stop.clone();
            let ip: std::net::Ipv4Addr = format!("127.0.0.{}", 10 + i % 4).parse().unwrap();
            std::thread::spawn(move || {
                // A TLS handshake record header announcing 512 bytes, then
                // one byte every 200 ms: under any per-read timeout.
                let mut dripped = 0;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut c) = client::tcp_from(ip, box_addr) else {
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    };
                    for byte in [0x16u8, 3, 1, 2, 0].into_iter().chain(std::iter::repeat(0)) {
                        if stop.load(Ordering::Relaxed) || c.write_all(&[byte]).is_err() {
                            break;
                        }
                        dripped += 1;
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
                dripped
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let started = std::time::Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let mut c = b
            .connect_from("127.0.0.2", &host)
            .expect("a known host gets in while strangers drip");
        assert_eq!(c.call(&Request::Status).unwrap(), Response::Done);
        served += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, Ordering::Relaxed);
    let dripped: usize = drippers.into_iter().map(|d| d.join().unwrap()).sum();
    assert!(served >= 10, "{served}");
    assert!(dripped > 16, "the drippers dripped: {dripped}");
    let closed: Vec<Value> = b
        .log
        .json()
        .filter(|e| e["event"] == "api_closed")
        .collect();
    assert!(
        closed.iter().any(|e| e["reason"]
            .as_str()
            .is_some_and(|r| r == "TLS handshake failed: the handshake's 1s were up")),
        "a dripper met its absolute deadline: {closed:?}"
    );
}

/// A key the box does not know may say hello and learn its fingerprint,
/// then its connection ends however busy it keeps it; a known host's stays.
#[test]
fn an_unknown_key_has_a_short_life() {
    let host = Identity::generate().unwrap();
    let stranger = Identity::generate().unwrap();
    let limits = Limits {
        unknown_lifetime: Duration::from_millis(1500),
        ..Limits::default()
    };
    let b = test_box(&[(Role::View, host.public())], limits);
    let mut known = b.connect(&host).unwrap();
    let mut unknown = b.connect(&stranger).unwrap();
    assert_eq!(unknown.welcome().role, None);
    let started = std::time::Instant::now();
    let ended = loop {
        // Refused, but every request resets no clock.
        match unknown.call(&Request::Status) {
            Err(ClientError::Refused(r)) => assert_eq!(r.kind, RefusalKind::Unauthorized),
            Err(e) => break e,
            Ok(r) => panic!("{r:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still open after 5 s"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(matches!(ended, ClientError::Frame(_)), "{ended}");
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert_eq!(known.call(&Request::Status).unwrap(), Response::Done);
    let closed: Vec<Value> = b
        .log
        .json()
        .filter(|e| e["event"] == "api_closed")
        .collect();
    assert!(
        closed
            .iter()
            .any(|e| e["reason"] == "an unauthorized key's 1.5s were up"),
        "{closed:?}"
    );
}

#[test]
fn connections_from_one_address_share_its_request_rate() {
    let host = Identity::generate().unwrap();
    let limits = Limits {
        address_burst: 6.0,
        address_requests_per_second: 0.1,
        ..Limits::default()
    };
    let b = test_box(&[(Role::View, host.public())], limits);
    let mut flood: Vec<Client> = (0..3)
        .map(|_| b.connect_from("127.0.0.1", &host).unwrap())
        .collect();
    // Three hellos took three of the address's six tokens: three more
    // requests are served, whichever connection sends them.
    let answers: Vec<_> = (0..12)
        .map(|i| flood[i % 3].call(&Request::Status))
        .collect();
    let served = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(served, 3, "{answers:?}");
    let Some(Err(ClientError::Refused(r))) = answers.last() else {
        panic!("{answers:?}")
    };
    assert_eq!(r.kind, RefusalKind::RateLimited);
    assert_eq!(
        r.message,
        "more than 0.1 requests a second from 127.0.0.1 over all its connections; slow down"
    );
    // Nine refusals, one event: the rest are summed into a later one.
    let refused = b.refusals();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["reason"], "rate_limited");
    // Another address has its own bucket.
    let mut other = b.connect_from("127.0.0.2", &host).unwrap();
    assert_eq!(other.call(&Request::Status).unwrap(), Response::Done);
}

/// Plain TLS frames that break the rules: the server answers once and closes.
#[test]
fn oversized_and_malformed_frames_close_the_connection() {
    let host = Identity::generate().unwrap();
    let b = test_box(&[(Role::Edit, host.public())], Limits::default());
    let mut c = b.connect(&host).unwrap();
    // A raw frame header announcing 4 GiB.
    c.send_raw(&u32::MAX.to_be_bytes()).unwrap();
    let e = c.receive().unwrap_err();
    assert!(
        matches!(&e, ClientError::Refused(r) if r.kind == RefusalKind::BadRequest && r.message.contains("over the")),
        "{e}"
    );
    assert!(
        c.call(&Request::Status).is_err(),
        "the connection is closed"
    );

    let mut c = b.connect(&host).unwrap();
    c.send_raw(&[0, 0, 0, 3, 0xff, 0xff, 0xff]).unwrap();
    assert!(
        matches!(c.receive(), Err(ClientError::Refused(r)) if r.kind == RefusalKind::BadRequest)
    );
    assert_eq!(b.service.handled.load(Ordering::SeqCst), 0);
}

/// Records what a real client sends, then plays it to the box again on a
/// new connection: TLS 1.3's fresh handshake secrets make the copy
/// worthless, and nothing reaches the service.
#[test]
fn replayed_traffic_changes_nothing() {
    let host = Identity::generate().unwrap();
    let b = test_box(&[(Role::Edit, host.public())], Limits::default());
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap().to_string();
    let upstream = b.address();
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let tape = recorded.clone();
    let relay = std::thread::spawn(move || {
        let (mut client, _) = proxy.accept().unwrap();
        let mut server = TcpStream::connect(upstream).unwrap();
        let mut back_from = server.try_clone().unwrap();
        let mut back_to = client.try_clone().unwrap();
        let back = std::thread::spawn(move || std::io::copy(&mut back_from, &mut back_to));
        let mut buf = [0; 4096];
        loop {
            let n = client.read(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            tape.lock().unwrap().extend_from_slice(&buf[..n]);
            server.write_all(&buf[..n]).unwrap();
        }
        let _ = server.shutdown(std::net::Shutdown::Both);
        let _ = back.join();
    });
    let pin = Expect::Pinned(b.identity.public().fingerprint());
    let mut c = Client::connect(&proxy_addr, &host, pin, Duration::from_secs(5)).unwrap();
    c.call(&Request::Command {
        at: None,
        command: cuebox_engine::control::Command::StopAll {},
    })
    .unwrap();
    drop(c);
    relay.join().unwrap();
    assert_eq!(b.service.handled.load(Ordering::SeqCst), 1);

    let tape = recorded.lock().unwrap().clone();
    let mut replay = TcpStream::connect(b.address()).unwrap();
    replay
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    replay.write_all(&tape).unwrap();
    let mut answer = Vec::new();
    let _ = replay.read_to_end(&mut answer);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        b.service.handled.load(Ordering::SeqCst),
        1,
        "the replay did nothing"
    );
    let closed: Vec<_> = b
        .log
        .json()
        .filter(|e| e["event"] == "api_closed")
        .collect();
    assert!(
        closed
            .iter()
            .any(|e| e["reason"].as_str().unwrap().contains("handshake")),
        "{closed:?}"
    );
}

mod sync {
    //! Push, resume, activation and pull against a real box service on loopback.

    use std::path::{Path, PathBuf};

    use cuebox_engine::fixtures::{add_clip, placement, probed_audio, write_wav, WavFormat};
    use cuebox_engine::show::*;

    use super::super::service::{self, BoxService, Idle};
    use super::super::transfer::{self, TransferError};
    use super::*;
    use crate::store::{activate, DataRoot, SessionDir};

    struct SyncBox {
        server: Server,
        identity: Identity,
        host: Identity,
        root: DataRoot,
        _disk: Option<Tmpfs>,
        _dir: tempfile::TempDir,
    }

    /// A small file system of its own, so a test can fill it for real.
    struct Tmpfs(tempfile::TempDir);

    impl Tmpfs {
        /// Mounts a tmpfs of `bytes` (the tests run as root, as CI does).
        fn mount(bytes: u64) -> Tmpfs {
            let dir = tempfile::tempdir().unwrap();
            let status = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "mounting a tmpfs needs root");
            Tmpfs(dir)
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.0.path())
                .status();
        }
    }

    fn sync_box() -> SyncBox {
        sync_box_on(None)
    }

    /// A box whose data root is `disk` (else a folder of the test's).
    fn sync_box_on(disk: Option<Tmpfs>) -> SyncBox {
        let dir = tempfile::tempdir().unwrap();
        let root = match &disk {
            Some(d) => DataRoot::open(d.0.path()).unwrap(),
            None => DataRoot::open(&dir.path().join("box")).unwrap(),
        };
        let host = Identity::generate().unwrap();
        let authorized = dir.path().join("authorized_hosts");
        let mut hosts = AuthorizedHosts::default();
        hosts.set(AuthorizedHost {
            role: Role::Edit,
            key: host.public(),
            comment: "test host".into(),
        });
        hosts.save(&authorized).unwrap();
        let identity = Identity::generate().unwrap();
        let service = Arc::new(
            BoxService::new(
                "box".into(),
                root.clone(),
                Idle::default(),
                crate::events::Publisher::new(),
            )
            .unwrap(),
        );
        let tx = Publisher::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = Server::start(
            listener,
            &identity,
            authorized,
            Limits::default(),
            service,
            tx,
        )
        .unwrap();
        SyncBox {
            server,
            identity,
            host,
            root,
            _disk: disk,
            _dir: dir,
        }
    }

    impl SyncBox {
        fn client(&self) -> Client {
            let pin = Expect::Pinned(self.identity.public().fingerprint());
            Client::connect(
                &self.server.local_addr().to_string(),
                &self.host,
                pin,
                Duration::from_secs(5),
            )
            .unwrap()
        }
    }

    /// A host session with two WAV clips of `seconds` each, hashed for real.
    fn host_session(dir: &Path, seconds: u32) -> SessionDir {
        let media = dir.join("media");
        std::fs::create_dir_all(media.join("sub")).unwrap();
        let mut show = Show::new(
            "sync",
            "media",
            GridDims::new(2, 2).unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        for (n, file) in ["one.wav", "sub/two.wav"].into_iter().enumerate() {
            // A ramp of its own slope per file: no two files share bytes.
            write_wav(
                &media.join(file),
                WavFormat::int16(1, 48_000),
                48_000 * seconds,
                |i, _| ((i * (n as u32 + 3)) % 20_000) as f32 / 32_767.0,
            );
            let audio = probed_audio(&media, file);
            add_clip(
                &mut show,
                file,
                Group::A,
                audio,
                placement(1, 1, 1, n as u16 + 1),
            );
        }
        SessionDir::create(dir, &show).unwrap()
    }

    /// What a host declares at stage: each distinct file's hash and size.
    fn declared(session: &SessionDir) -> Vec<proto::MediaSize> {
        ["one.wav", "sub/two.wav"]
            .iter()
            .map(|f| {
                let path = session.path().join("media").join(f);
                proto::MediaSize {
                    hash: ContentHash::of_reader(std::fs::File::open(&path).unwrap()).unwrap(),
                    size: std::fs::metadata(&path).unwrap().len(),
                }
            })
            .collect()
    }

    /// Files in the store's incoming folder, and bytes in all.
    fn parts(root: &DataRoot) -> (usize, u64) {
        let incoming = root.path().join("Objects/incoming");
        std::fs::read_dir(incoming)
            .map(|d| {
                d.flatten().fold((0, 0), |(n, b), e| {
                    (n + 1, b + e.metadata().map_or(0, |m| m.len()))
                })
            })
            .unwrap_or((0, 0))
    }

    /// The objects in the store.
    fn objects(root: &DataRoot) -> usize {
        std::fs::read_dir(root.path().join("Objects"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_file())
            .count()
    }

    fn free(root: &DataRoot) -> u64 {
        crate::store::objects::Space::of(root.path()).unwrap().free
    }

    fn refused(e: TransferError) -> proto::Refusal {
        match e {
            TransferError::Box(ClientError::Refused(r)) => r,
            other => panic!("expected a refusal, got {other}"),
        }
    }

    #[test]
    fn a_push_the_disk_cannot_hold_is_refused_before_any_byte_and_removing_a_session_makes_room() {
        let b = sync_box_on(Some(Tmpfs::mount(8 << 20)));
        let host = tempfile::tempdir().unwrap();
        let small = host_session(&host.path().join("small"), 4);
        let big = host_session(&host.path().join("big"), 8);
        transfer::push(&mut b.client(), &small, "Small", &mut |_| {}).unwrap();
        transfer::push(&mut b.client(), &big, "Big", &mut |_| {}).unwrap();
        let small_bytes: u64 = declared(&small).iter().map(|m| m.size).sum();

        // A session needing a little more than the room left (free less the
        // margin), and less than that plus what removing Small frees.
        let space = crate::store::objects::Space::of(b.root.path()).unwrap();
        let room = space.free - space.margin();
        let per_second = 2 * 48_000 * 2; // two mono 16-bit files
        let seconds = (room + small_bytes / 2) / per_second + 1;
        let huge = host_session(&host.path().join("huge"), seconds as u32);
        let needed: u64 = declared(&huge).iter().map(|m| m.size).sum::<u64>()
            + 2 * huge.read_manifest().unwrap().len() as u64;
        assert!(
            needed > room && needed < room + small_bytes,
            "{needed} {room}"
        );

        let before = (free(&b.root), objects(&b.root));
        let r = refused(transfer::push(&mut b.client(), &huge, "Huge", &mut |_| {}).unwrap_err());
        assert_eq!(r.kind, RefusalKind::NoSpace);
        let bytes = |n: u64| crate::store::objects::Bytes(n).to_string();
        assert_eq!(
            r.message,
            format!(
                "this push needs {} more on the box, but it has {} free, {} of which stay free \
                 for its logs and saves; remove sessions the box no longer needs (hostctl session \
                 remove BOX NAME) and push again; sessions on the box: Big (active), Small",
                bytes(needed),
                bytes(before.0),
                bytes(space.margin())
            )
        );
        assert_eq!(parts(&b.root), (0, 0), "not a byte of it was written");
        assert_eq!((free(&b.root), objects(&b.root)), before);
        assert!(!b.root.session_path("Huge").unwrap().exists());

        // The advice works: the active session stays, another one goes.
        let mut c = b.client();
        let e = c
            .call(&Request::Remove {
                session: "Big".into(),
            })
            .unwrap_err();
        let ClientError::Refused(r) = e else {
            panic!("{e}")
        };
        assert_eq!(r.kind, RefusalKind::Busy);
        assert_eq!(
            r.message,
            "\"Big\" is the box's active session; push or activate another session first, then remove this one"
        );
        assert!(b.root.session_path("Big").unwrap().is_dir());
        let Response::Removed {
            session,
            free: after,
        } = c
            .call(&Request::Remove {
                session: "Small".into(),
            })
            .unwrap()
        else {
            panic!("not removed")
        };
        assert_eq!(session, "Small");
        assert_eq!(after, free(&b.root));
        assert!(
            after >= before.0 + small_bytes,
            "its media were freed: {after} < {} + {small_bytes}",
            before.0
        );
        assert!(!b.root.session_path("Small").unwrap().exists());
        assert_eq!(objects(&b.root), 2, "only Big's media are left");
        let e = c
            .call(&Request::Remove {
                session: "Small".into(),
            })
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::Refused(r) if r.kind == RefusalKind::NotFound),
            "{e}"
        );

        transfer::push(&mut b.client(), &huge, "Huge", &mut |_| {}).unwrap();
        assert_eq!(
            media_of(&b.root.session_path("Huge").unwrap()),
            media_of(huge.path())
        );
        // Big is no longer active: it may go now, and its media with it.
        c.call(&Request::Remove {
            session: "Big".into(),
        })
        .unwrap();
        assert_eq!(objects(&b.root), 2, "only Huge's media are left");
    }

    #[test]
    fn a_manifest_over_the_old_8_mib_frame_is_pushed_and_pulled_whole() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let small = host_session(&host.path().join("show"), 1);
        let mut show = small.load().unwrap().show;
        // Thousands of buttons of one file: a large manifest, little media.
        let audio = show.clips[0].audio.clone();
        let dims = GridDims::new(32, 32).unwrap();
        let mut n = 0;
        while show.to_json().len() <= 9 << 20 {
            for _ in 0..2000 {
                // Page 1 is the session's own 2 by 2; these go on pages after it.
                let page = n / 8192 + 1;
                while show.pages.len() <= page {
                    show.pages.push(Page::new(format!("P{page}"), dims));
                }
                let at = Placement {
                    page: PageNo::new(page as u16 + 1).unwrap(),
                    tab: TabIndex::from_number(n % 8192 / 1024 + 1).unwrap(),
                    pos: GridPos::new((n % 1024 / 32 + 1) as u16, (n % 32 + 1) as u16).unwrap(),
                };
                let name = format!("copy {n} of one.wav, with a long name as a show has");
                show.add_clip(
                    NewClip {
                        name,
                        group: Group::B,
                        audio: audio.clone(),
                    },
                    at,
                )
                .unwrap();
                n += 1;
            }
        }
        small.save(&show).unwrap();
        let manifest = small.read_manifest().unwrap();
        assert!(manifest.len() > 9 << 20, "{}", manifest.len());

        let report = transfer::push(&mut b.client(), &small, "Big", &mut |_| {}).unwrap();
        assert_eq!(report.activated.clips as usize, show.clips.len());
        let on_box = SessionDir::open(&b.root.session_path("Big").unwrap()).unwrap();
        assert_eq!(on_box.load().unwrap().show.clips, show.clips);
        let out = tempfile::tempdir().unwrap();
        let pulled = transfer::pull(
            &mut b.client(),
            "Big",
            &out.path().join("copy"),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(pulled.clips, show.clips.len());
    }

    #[test]
    fn a_push_under_a_name_with_a_space_or_a_bidi_override_is_refused() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let session = host_session(&host.path().join("show"), 1);
        for name in ["Solo ", "So\u{202e}lo"] {
            let r =
                refused(transfer::push(&mut b.client(), &session, name, &mut |_| {}).unwrap_err());
            assert_eq!(r.kind, RefusalKind::Invalid);
            assert!(
                r.message
                    .starts_with(&format!("session name {name:?} cannot be used: it ")),
                "{}",
                r.message
            );
        }
        assert!(b.root.sessions().unwrap().is_empty());
        assert_eq!(parts(&b.root), (0, 0));
        assert_eq!(activate::active(&b.root).unwrap(), None);
    }

    #[test]
    fn no_byte_past_a_files_declared_size_is_taken() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        // Six seconds: more than two chunks.
        let session = host_session(&host.path().join("show"), 6);
        let manifest = session.read_manifest().unwrap();
        let mut media = declared(&session);
        let stage = |c: &mut Client, media: Vec<proto::MediaSize>| {
            c.call(&Request::Stage {
                session: "Tour".into(),
                manifest: manifest.clone(),
                media,
            })
        };
        let mut c = b.client();
        // Every file's size is declared, once.
        let e = stage(&mut c, media[..1].to_vec()).unwrap_err();
        assert!(
            matches!(&e, ClientError::Refused(r) if r.kind == RefusalKind::BadRequest
                && r.message.contains(&format!("sizes missing for [{}]", media[1].hash))),
            "{e}"
        );
        // A file declared shorter than it is: the bytes past it are refused.
        let bytes = std::fs::read(session.path().join("media/one.wav")).unwrap();
        media[0].size = proto::CHUNK as u64 + 10;
        stage(&mut c, media.clone()).unwrap();
        let hash = media[0].hash;
        c.call(&Request::Blob {
            hash,
            offset: 0,
            data: &bytes[..proto::CHUNK],
        })
        .unwrap();
        let e = c
            .call(&Request::Blob {
                hash,
                offset: proto::CHUNK as u64,
                data: &bytes[proto::CHUNK..2 * proto::CHUNK],
            })
            .unwrap_err();
        let ClientError::Refused(r) = e else {
            panic!("{e}")
        };
        assert_eq!(r.kind, RefusalKind::BadRequest);
        assert_eq!(
            r.message,
            format!(
                "{hash} was declared as {} bytes, but bytes up to {} arrived; they were refused \
                 (the file changed on the host since the push began: push again)",
                proto::CHUNK + 10,
                2 * proto::CHUNK
            )
        );
        assert_eq!(parts(&b.root), (1, proto::CHUNK as u64));
    }

    #[test]
    fn the_box_collects_unused_media_and_stale_parts_when_it_starts() {
        let dir = tempfile::tempdir().unwrap();
        let root = DataRoot::open(dir.path()).unwrap();
        let objects_dir = root.path().join("Objects");
        std::fs::create_dir_all(objects_dir.join("incoming")).unwrap();
        let name = |data: &[u8]| {
            ContentHash::of_bytes(data)
                .to_string()
                .trim_start_matches("blake3:")
                .to_owned()
        };
        let orphan = objects_dir.join(name(b"orphan"));
        std::fs::write(&orphan, b"orphan").unwrap();
        let linked = objects_dir.join(name(b"linked"));
        std::fs::write(&linked, b"linked").unwrap();
        std::fs::create_dir_all(root.sessions_dir().join("S/media")).unwrap();
        std::fs::hard_link(&linked, root.sessions_dir().join("S/media/l.wav")).unwrap();
        let part = |data: &[u8], age: Duration| {
            let path = objects_dir.join(format!("incoming/{}.part", name(data)));
            let f = std::fs::File::create(&path).unwrap();
            f.set_modified(std::time::SystemTime::now() - age).unwrap();
            path
        };
        let stale = part(b"stale", service::PART_LIFETIME + Duration::from_secs(60));
        let young = part(b"young", Duration::from_secs(60));
        let half_removed = root.sessions_dir().join(".removing-Old-1-2");
        std::fs::create_dir_all(&half_removed).unwrap();

        let _service = BoxService::new(
            "box".into(),
            root.clone(),
            Idle::default(),
            crate::events::Publisher::new(),
        )
        .unwrap();
        assert!(!orphan.exists() && !stale.exists() && !half_removed.exists());
        assert!(linked.exists() && young.exists(), "in use, or resumable");
    }
    fn media_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
        ["one.wav", "sub/two.wav"]
            .iter()
            .map(|f| {
                (
                    f.to_string(),
                    std::fs::read(dir.join("media").join(f)).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn push_sends_only_what_is_missing_and_pull_brings_it_back() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let session = host_session(&host.path().join("show"), 3);
        let mut moved = 0;
        let report = transfer::push(&mut b.client(), &session, "Tour", &mut |p| {
            if let transfer::Progress::Moved(n) = p {
                moved += n;
            }
        })
        .unwrap();
        assert_eq!((report.files_sent, report.files_present), (2, 0));
        assert_eq!(report.bytes_sent, moved);
        assert_eq!(report.activated.clips, 2);
        assert_eq!(report.activated.media_bytes, moved);
        assert_eq!(activate::active(&b.root).unwrap().as_deref(), Some("Tour"));
        let on_box = b.root.session_path("Tour").unwrap();
        assert_eq!(media_of(&on_box), media_of(session.path()));

        // Unchanged: nothing is sent, the activation is instant.
        let again = transfer::push(&mut b.client(), &session, "Tour", &mut |_| {}).unwrap();
        assert_eq!(
            (again.files_sent, again.files_present, again.bytes_sent),
            (0, 2, 0)
        );
        assert!(
            b.root.sessions_dir().join(".previous-Tour").is_dir(),
            "the replaced session is kept"
        );

        let out = tempfile::tempdir().unwrap();
        let pulled = transfer::pull(
            &mut b.client(),
            "Tour",
            &out.path().join("copy"),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!((pulled.clips, pulled.files), (2, 2));
        assert_eq!(media_of(&out.path().join("copy")), media_of(session.path()));
        let copy = SessionDir::open(&out.path().join("copy"))
            .unwrap()
            .load()
            .unwrap()
            .show;
        let original = session.load().unwrap().show;
        assert_eq!(copy.clips, original.clips);
    }

    #[test]
    fn a_show_of_hundreds_of_short_cues_is_pushed_whole_within_the_request_rate() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let dir = host.path().join("show");
        let media = dir.join("media");
        std::fs::create_dir_all(&media).unwrap();
        let mut show = Show::new(
            "cues",
            "media",
            GridDims::new(16, 16).unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        // More files than a connection's request burst (100) allows requests.
        for n in 0..250u16 {
            let file = format!("cue{n}.wav");
            write_wav(
                &media.join(&file),
                WavFormat::int16(1, 48_000),
                480,
                |i, _| f32::from(n) / 1000.0 + i as f32 / 1e6,
            );
            let audio = probed_audio(&media, &file);
            add_clip(
                &mut show,
                &file,
                Group::A,
                audio,
                placement(1, 1, n / 16 + 1, n % 16 + 1),
            );
        }
        let session = SessionDir::create(&dir, &show).unwrap();
        let report = transfer::push(&mut b.client(), &session, "Cues", &mut |_| {}).unwrap();
        assert_eq!(report.files_sent, 250);
        assert_eq!(report.activated.clips, 250);
    }

    #[test]
    fn a_cut_transfer_resumes_where_it_stopped() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let session = host_session(&host.path().join("show"), 10);
        let manifest = session.read_manifest().unwrap();
        let show = session.load().unwrap().show;
        let first = &show.clips[0].audio;
        let bytes = std::fs::read(host.path().join("show/media/one.wav")).unwrap();

        // A push that dies after three chunks of the first file.
        let mut c = b.client();
        c.call(&Request::Stage {
            session: "Tour".into(),
            manifest: manifest.clone(),
            media: declared(&session),
        })
        .unwrap();
        for k in 0..3 {
            let at = k * proto::CHUNK;
            c.call(&Request::Blob {
                hash: first.hash,
                offset: at as u64,
                data: &bytes[at..at + proto::CHUNK],
            })
            .unwrap();
        }
        // Activation is refused while media is missing, naming what.
        let e = c
            .call(&Request::Activate {
                session: "Tour".into(),
                manifest: ContentHash::of_bytes(&manifest),
            })
            .unwrap_err();
        let ClientError::Refused(r) = e else {
            panic!("{e}")
        };
        assert_eq!(r.kind, RefusalKind::Media);
        assert!(
            r.message.contains("2 media file(s)") && r.message.contains("one.wav"),
            "{}",
            r.message
        );
        drop(c);
        assert!(
            !b.root.session_path("Tour").unwrap().exists(),
            "nothing half-activated"
        );
        assert_eq!(activate::active(&b.root).unwrap(), None);

        let report = transfer::push(&mut b.client(), &session, "Tour", &mut |_| {}).unwrap();
        assert_eq!(report.bytes_resumed, 3 * proto::CHUNK as u64);
        let total: u64 = media_of(session.path())
            .iter()
            .map(|(_, b)| b.len() as u64)
            .sum();
        assert_eq!(report.bytes_sent + report.bytes_resumed, total);
        assert_eq!(
            media_of(&b.root.session_path("Tour").unwrap()),
            media_of(session.path())
        );
    }

    #[test]
    fn changed_or_missing_media_never_activates() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let session = host_session(&host.path().join("show"), 1);
        transfer::push(&mut b.client(), &session, "Tour", &mut |_| {}).unwrap();
        let before =
            std::fs::read(b.root.session_path("Tour").unwrap().join("session.json")).unwrap();

        // A second session whose file changed on the host after it was added.
        let other = tempfile::tempdir().unwrap();
        let changed = host_session(&other.path().join("show"), 2);
        std::fs::write(
            other.path().join("show/media/sub/two.wav"),
            b"not the file that was added",
        )
        .unwrap();
        let e = transfer::push(&mut b.client(), &changed, "Tour", &mut |_| {}).unwrap_err();
        assert!(
            e.to_string()
                .contains("changed on the host since it was added"),
            "{e}"
        );
        let after =
            std::fs::read(b.root.session_path("Tour").unwrap().join("session.json")).unwrap();
        assert_eq!(before, after, "the active session is untouched");

        std::fs::remove_file(other.path().join("show/media/sub/two.wav")).unwrap();
        let e = transfer::push(&mut b.client(), &changed, "Tour", &mut |_| {}).unwrap_err();
        assert!(
            matches!(&e, TransferError::LocalMedia(p) if p.len() == 1),
            "{e}"
        );
        assert!(e.to_string().contains("two.wav is missing"), "{e}");
    }

    #[test]
    fn a_locked_show_refuses_pushes_until_unlocked() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let session = host_session(&host.path().join("show"), 1);
        let mut c = b.client();
        c.call(&Request::Lock { locked: true }).unwrap();
        let e = transfer::push(&mut b.client(), &session, "Tour", &mut |_| {}).unwrap_err();
        assert!(
            matches!(&e, TransferError::Box(ClientError::Refused(r)) if r.kind == RefusalKind::Locked),
            "{e}"
        );
        assert!(!b.root.session_path("Tour").unwrap().exists());
        c.call(&Request::Lock { locked: false }).unwrap();
        transfer::push(&mut b.client(), &session, "Tour", &mut |_| {}).unwrap();
        let _: PathBuf = b.root.session_path("Tour").unwrap();
    }

    /// What the box's folders hold (names, recursively), to see nothing changed.
    fn listing(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.path().display().to_string();
            if e.path().is_dir() {
                out.extend(listing(&e.path()));
            }
            out.push(name);
        }
        out.sort();
        out
    }

    #[test]
    fn package_uploads_are_checked_and_a_damaged_package_writes_nothing() {
        let b = sync_box();
        let host = tempfile::tempdir().unwrap();
        let session = host_session(&host.path().join("show"), 1);
        let show = session.load().unwrap().show;
        let tar = host.path().join("show.tar");
        cuebox_session::package::export(
            &show,
            &session.path().join("media"),
            &cuebox_session::package::Selection::Full,
            true,
            None,
            &tar,
            &mut |_| (),
        )
        .unwrap();
        let bytes = std::fs::read(&tar).unwrap();
        let hash = ContentHash::of_bytes(&bytes);
        let import = |session: &str, package| Request::PackageImport {
            session: Some(session.into()),
            package,
            policy: cuebox_session::package::Policy::Keep,
            to: None,
            dry_run: false,
        };

        // Nothing uploaded: nothing to import.
        let mut c = b.client();
        let e = c.call(&import("Imp", hash)).unwrap_err();
        assert!(
            matches!(&e, ClientError::Refused(r) if r.kind == RefusalKind::BadRequest),
            "{e}"
        );
        // Bytes that are not what was offered are refused at the end.
        c.call(&Request::PackageOffer {
            hash: ContentHash::of_bytes(b"other"),
            size: bytes.len() as u64,
        })
        .unwrap();
        for (i, chunk) in bytes.chunks(proto::CHUNK).enumerate() {
            let offset = (i * proto::CHUNK) as u64;
            c.call(&Request::Blob {
                hash: ContentHash::of_bytes(b"other"),
                offset,
                data: chunk,
            })
            .unwrap();
        }
        let e = c
            .call(&Request::BlobEnd {
                hash: ContentHash::of_bytes(b"other"),
            })
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::Refused(r) if r.kind == RefusalKind::Media),
            "{e}"
        );

        // A package whose media bytes were changed in transit to the stick:
        // refused whole, nothing placed in the store or the sessions.
        let before = listing(b.root.path());
        let mut damaged = bytes.clone();
        let wave = damaged.windows(4).position(|w| w == b"WAVE").unwrap();
        damaged[wave + 200] ^= 0x55;
        let bad = host.path().join("bad.tar");
        std::fs::write(&bad, &damaged).unwrap();
        let e = transfer::import_package(&mut b.client(), &bad, |h| import("Imp", h), &mut |_| {})
            .unwrap_err();
        let r = refused(e);
        assert_eq!(r.kind, RefusalKind::Invalid, "{r}");
        assert!(r.message.contains("does not hold the bytes"), "{r}");
        let after: Vec<String> = listing(b.root.path())
            .into_iter()
            .filter(|f| !f.contains("/Imports"))
            .collect();
        let before: Vec<String> = before
            .into_iter()
            .filter(|f| !f.contains("/Imports"))
            .collect();
        assert_eq!(after, before, "nothing written but the upload");

        // The package as exported: a new session on the box, its media in the store.
        let done =
            transfer::import_package(&mut b.client(), &tar, |h| import("Imp", h), &mut |_| {})
                .unwrap();
        assert_eq!(done.activated.as_ref().unwrap().clips, 2, "{done:?}");
        assert_eq!(done.report.added.len(), 2);
        for file in ["one.wav", "sub/two.wav"] {
            assert_eq!(
                std::fs::read(b.root.session_path("Imp").unwrap().join("media").join(file))
                    .unwrap(),
                std::fs::read(session.path().join("media").join(file)).unwrap()
            );
        }
        assert_eq!(objects(&b.root), 2);
        // And back: the box's export of it downloads byte for byte the same show.
        let out = host.path().join("back.tar");
        let got = transfer::export_package(
            &mut b.client(),
            &Request::PackageExport {
                session: Some("Imp".into()),
                mode: "full".into(),
                what: None,
                with_media: true,
            },
            &out,
            &mut |_| {},
        )
        .unwrap();
        assert!(got.box_file.starts_with("Exports/"), "{got:?}");
        let back = cuebox_session::package::open(&out, None).unwrap();
        assert_eq!(back.show.clips.len(), 2);
        assert_eq!(back.manifest.media.iter().filter(|m| m.included).count(), 2);
    }
}

/// A box that dies with the connection in its queue is told apart from one
/// that refuses it for a limit: nothing listens when the host looks again.
#[test]
fn a_box_gone_down_mid_connection_is_reported_as_down() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let dying = std::thread::spawn(move || {
        let (c, _) = listener.accept().unwrap();
        drop(listener);
        drop(c);
    });
    let host = Identity::generate().unwrap();
    let e = Client::connect(&address, &host, Expect::Any, Duration::from_secs(2)).unwrap_err();
    dying.join().unwrap();
    assert!(matches!(e, ClientError::Down { .. }), "{e}");
    assert!(e
        .to_string()
        .starts_with(&format!("nothing answers at {address}")));
}

/// Floods of refused requests — an unknown key asking for media chunks
/// (which skip the rate limit), a viewer asking to upload them, anyone
/// over the rate — are a few events, not one each; and the refusals cost
/// the box no more than the answer.
#[test]
fn a_flood_of_refused_requests_makes_a_bounded_number_of_events() {
    let viewer = Identity::generate().unwrap();
    let stranger = Identity::generate().unwrap();
    let b = test_box(&[(Role::View, viewer.public())], Limits::default());
    let hash = cuebox_engine::show::ContentHash::of_bytes(b"x");
    let fetch = Request::Fetch {
        hash,
        offset: 0,
        len: 1,
    };
    let blob = Request::Blob {
        hash,
        offset: 0,
        data: &[0; 16],
    };
    let mut unknown = b.connect(&stranger).unwrap();
    let mut view = b.connect(&viewer).unwrap();
    for _ in 0..2_000 {
        assert_eq!(refusal(unknown.call(&fetch)), RefusalKind::Unauthorized);
        assert_eq!(refusal(view.call(&blob)), RefusalKind::Forbidden);
    }
    // The role is checked first: a stranger's requests spend nothing of
    // its address's rate, which a known host there still has.
    for _ in 0..500 {
        assert_eq!(
            refusal(unknown.call(&Request::Status)),
            RefusalKind::Unauthorized
        );
    }
    assert_eq!(view.call(&Request::Status).unwrap(), Response::Done);
    let refused = b.refusals();
    assert_eq!(refused.len(), 2, "one per peer: {refused:?}");
    assert_eq!(b.log.take_dropped(), 0, "the log's queue never filled");
    assert_eq!(b.service.handled.load(Ordering::SeqCst), 1);
}

/// Before its key is known to be authorized, a connection may send only
/// small frames: a large length prefix is refused at once, without the box
/// making room for it.
#[test]
fn a_stranger_cannot_make_the_box_reserve_a_large_frame() {
    let stranger = Identity::generate().unwrap();
    let host = Identity::generate().unwrap();
    let b = test_box(&[(Role::Edit, host.public())], Limits::default());
    let mut c = b.connect(&stranger).unwrap();
    c.send_raw(&(8u32 << 20).to_be_bytes()).unwrap();
    let started = std::time::Instant::now();
    let e = c.receive().unwrap_err();
    let ClientError::Refused(r) = &e else {
        panic!("{e}")
    };
    assert_eq!(r.kind, RefusalKind::BadRequest);
    assert_eq!(
        r.message,
        "a frame of 8388608 bytes is over the 4096-byte limit for a host the box has not authorized"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // An authorized host may send frames up to the full limit.
    let mut c = b.connect(&host).unwrap();
    c.send_raw(&[0, 0, 0x20, 0]).unwrap();
    c.send_raw(&[0; 0x2000]).unwrap();
    let e = c.receive().unwrap_err();
    assert!(
        matches!(&e, ClientError::Refused(r) if r.message.starts_with("a frame is not a valid message")),
        "{e}"
    );
}

/// Connections that fail their handshake, one after another from one
/// address, are one `api_closed` event (and a later sum), not one each.
#[test]
fn failed_connections_are_booked_not_multiplied() {
    let b = test_box(&[], Limits::default());
    let std::net::SocketAddr::V4(box_addr) = b.server.local_addr() else {
        panic!("IPv4")
    };
    for _ in 0..30 {
        let mut c = client::tcp_from("127.0.0.3".parse().unwrap(), box_addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
    }
    std::thread::sleep(Duration::from_millis(100));
    let closed: Vec<Value> = b
        .log
        .json()
        .filter(|e| e["event"] == "api_closed")
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert!(closed[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("TLS handshake failed"));
    assert_eq!(closed[0]["count"], 1);
}
