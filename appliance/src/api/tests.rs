//! The API's guards over real TLS on loopback: keys, roles, refusals, rate
//! limits, oversized frames and replayed traffic.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

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
    fn handle(&self, _peer: &Peer, _conn: &mut (), _request: Request) -> Response {
        self.handled.fetch_add(1, Ordering::SeqCst);
        Response::Done
    }
}

struct TestBox {
    server: Server,
    service: Arc<Counting>,
    identity: Identity,
    log: Receiver<Value>,
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
    let (tx, log) = mpsc::channel();
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

    fn refusals(&self) -> Vec<Value> {
        std::thread::sleep(Duration::from_millis(50));
        self.log
            .try_iter()
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
        line: r#"{"cmd":"stop_all"}"#.into(),
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
    let cell = Arc::new(Mutex::new(None));
    let c = Client::connect(
        &b.address(),
        &host,
        Expect::Learn(cell.clone()),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(c.welcome().box_key, b.identity.public());
    assert_eq!(*cell.lock().unwrap(), Some(b.identity.public()));
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
        line: r#"{"cmd":"stop_all"}"#.into(),
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
        .try_iter()
        .filter(|e| e["event"] == "api_closed")
        .collect();
    assert!(
        closed
            .iter()
            .any(|e| e["reason"].as_str().unwrap().contains("handshake")),
        "{closed:?}"
    );
}
