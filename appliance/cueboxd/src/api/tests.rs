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
    assert_eq!(
        reasons,
        ["unauthorized", "unauthorized", "forbidden", "forbidden"]
    );
    assert_eq!(
        refused[0]["key"],
        stranger.public().fingerprint().to_string()
    );
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
    let refused = b.refusals();
    assert_eq!(refused.len(), 9);
    assert!(refused
        .iter()
        .all(|e| e["reason"] == "rate_limited" && e["detail"] == r.message.as_str()));
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

    use cuebox_engine::media::probe;
    use cuebox_engine::show::*;

    use super::super::service::{BoxService, Idle};
    use super::super::transfer::{self, TransferError};
    use super::*;
    use crate::store::{activate, DataRoot, SessionDir};

    struct SyncBox {
        server: Server,
        identity: Identity,
        host: Identity,
        root: DataRoot,
        _dir: tempfile::TempDir,
    }

    fn sync_box() -> SyncBox {
        let dir = tempfile::tempdir().unwrap();
        let root = DataRoot::open(&dir.path().join("box")).unwrap();
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
        let service = Arc::new(BoxService::new("box".into(), root.clone(), Idle).unwrap());
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
            let path = media.join(file);
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 48_000,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut w = hound::WavWriter::create(&path, spec).unwrap();
            for i in 0..48_000 * seconds {
                w.write_sample(((i * (n as u32 + 3)) % 20_000) as i16)
                    .unwrap();
            }
            w.finalize().unwrap();
            let probed = probe(Box::new(std::fs::File::open(&path).unwrap()), Some("wav")).unwrap();
            let audio = AudioRef {
                path: MediaPath::try_from(file.to_owned()).unwrap(),
                hash: ContentHash::of_reader(std::fs::File::open(&path).unwrap()).unwrap(),
                format: probed.format,
                metadata: RightsMetadata::default(),
                extra: Extra::new(),
            };
            let at = Placement {
                page: PageNo::FIRST,
                tab: TabIndex::from_number(1).unwrap(),
                pos: GridPos::new(1, n as u16 + 1).unwrap(),
            };
            show.add_clip(
                NewClip {
                    name: file.into(),
                    group: Group::A,
                    audio,
                },
                at,
            )
            .unwrap();
        }
        SessionDir::create(dir, &show).unwrap()
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
        assert_eq!(activate::active(&b.root).as_deref(), Some("Tour"));
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
        assert_eq!(activate::active(&b.root), None);

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
