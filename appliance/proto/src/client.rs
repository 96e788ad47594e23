//! The host's side of the API: connect to a box with the host's key,
//! check the box's key, and exchange frames.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use rustls::{ClientConnection, StreamOwned};

use crate::keys::{Fingerprint, Identity, PublicKey, Role};
use crate::messages::{self as proto, FrameError, Refusal, Request, Response};
use crate::tls::{self, Expect};

/// Why talking to a box failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The address does not resolve.
    #[error("cannot resolve {address}: {source}")]
    Resolve {
        /// The address.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// The box cannot be reached.
    #[error("cannot reach {address}: {source}; is the box on and cueboxd running with --listen?")]
    Connect {
        /// The address.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// The box's key is not the one pinned at pairing.
    #[error("the box at {address} is not the one paired as {expected}: its key changed. If the box was reinstalled, check its fingerprint on its console and run hostctl pair again; otherwise something is impersonating it")]
    WrongBox {
        /// The address.
        address: String,
        /// The pinned fingerprint.
        expected: Fingerprint,
    },
    /// The box closed the connection before the handshake: it limits how
    /// many connections one address may have waiting and how often it may
    /// open them.
    #[error("the box at {address} closed the connection before the handshake: it limits how many connections one address may have waiting (2) and how often it may open them (50 at once, 20 a second); wait a few seconds and retry (the box's log says which limit, as api_refused)")]
    Closed {
        /// The address.
        address: String,
    },
    /// The connection was taken, then nothing answered: the box's cueboxd
    /// stopped (or restarts) while it was opening.
    #[error("nothing answers at {address}: cueboxd there stopped while the connection was opening, and nothing listens now; on the box's console, `systemctl status cueboxd` and `journalctl -u cueboxd -b` say why")]
    Down {
        /// The address.
        address: String,
    },
    /// The TLS handshake failed for another reason.
    #[error("secure connection to {address} failed: {reason}")]
    Handshake {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The connection broke or sent something that is not a message.
    #[error("connection to the box failed: {0}")]
    Frame(#[from] FrameError),
    /// The box refused the request; nothing changed.
    #[error("the box refused: {0}")]
    Refused(Refusal),
    /// The box answered something that does not fit the request.
    #[error("the box answered {0} where it should not; are host and box the same version?")]
    Unexpected(String),
}

/// What the box said to hello.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Welcome {
    /// The box's name.
    pub name: String,
    /// Its software version.
    pub software: String,
    /// This host's role there, if authorized.
    pub role: Option<Role>,
    /// This host's key as the box saw it.
    pub host_key: PublicKey,
    /// The box's key.
    pub box_key: PublicKey,
}

/// A connection to a box.
pub struct Client {
    stream: StreamOwned<ClientConnection, TcpStream>,
    welcome: Welcome,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("welcome", &self.welcome)
            .finish_non_exhaustive()
    }
}

/// `address` with the default port when it has none.
pub fn with_port(address: &str) -> String {
    with_default_port(address, proto::DEFAULT_PORT)
}

/// `address` (`host`, `host:port`, an IPv6 address bare or as `[addr]:port`)
/// with `port` when it gives none.
pub fn with_default_port(address: &str, port: u16) -> String {
    let has_port = address.parse::<std::net::SocketAddr>().is_ok()
        || address.rsplit_once(':').is_some_and(|(host, p)| {
            !host.is_empty() && !host.contains(':') && p.parse::<u16>().is_ok()
        });
    if has_port {
        address.to_owned()
    } else if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

impl Client {
    /// Connects to the box at `address` (`host[:port]`) as `identity`,
    /// accepting its key as `expect` says, and says hello.
    pub fn connect(
        address: &str,
        identity: &Identity,
        expect: Expect,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let address = with_port(address);
        let addr = address
            .to_socket_addrs()
            .map_err(|source| ClientError::Resolve {
                address: address.clone(),
                source,
            })?
            .next()
            .ok_or_else(|| ClientError::Resolve {
                address: address.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "no address"),
            })?;
        let tcp =
            TcpStream::connect_timeout(&addr, timeout).map_err(|source| ClientError::Connect {
                address: address.clone(),
                source,
            })?;
        match Client::over(tcp, address, identity, expect, timeout) {
            // Closed before the handshake: a limit, or a box going down with
            // the connection in its queue. Nothing listening now says which.
            Err(ClientError::Closed { address }) => {
                std::thread::sleep(Duration::from_millis(200));
                match TcpStream::connect_timeout(&addr, timeout) {
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        Err(ClientError::Down { address })
                    }
                    _ => Err(ClientError::Closed { address }),
                }
            }
            other => other,
        }
    }

    /// Connects to the box at `address` from the local address `local`, so
    /// tests can be several hosts on one machine (127.0.0.1, 127.0.0.2, …).
    #[cfg(any(test, feature = "test-support"))]
    pub fn connect_from(
        local: std::net::Ipv4Addr,
        address: std::net::SocketAddrV4,
        identity: &Identity,
        expect: Expect,
    ) -> Result<Client, ClientError> {
        let tcp = tcp_from(local, address).map_err(|source| ClientError::Connect {
            address: address.to_string(),
            source,
        })?;
        let timeout = Duration::from_secs(5);
        Client::over(tcp, address.to_string(), identity, expect, timeout)
    }

    /// The handshake and hello over a connected socket.
    fn over(
        mut tcp: TcpStream,
        address: String,
        identity: &Identity,
        expect: Expect,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let _ = tcp.set_nodelay(true);
        let _ = tcp.set_read_timeout(Some(timeout));
        let _ = tcp.set_write_timeout(Some(timeout));
        let pinned = match &expect {
            Expect::Pinned(fp) | Expect::EitherOf(fp, _) => Some(*fp),
            Expect::Any => None,
        };
        let config = tls::client_config(identity, expect).map_err(|e| ClientError::Handshake {
            address: address.clone(),
            reason: e.to_string(),
        })?;
        let mut conn = ClientConnection::new(config, tls::server_name()).map_err(|e| {
            ClientError::Handshake {
                address: address.clone(),
                reason: e.to_string(),
            }
        })?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                let bad_key = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .is_some_and(|e| {
                        matches!(
                            e,
                            rustls::Error::InvalidCertificate(
                                rustls::CertificateError::ApplicationVerificationFailure
                            )
                        )
                    });
                // The box closes a connection over its limits before a byte
                // of TLS.
                let closed = matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                );
                return Err(match pinned {
                    Some(expected) if bad_key => ClientError::WrongBox { address, expected },
                    _ if closed => ClientError::Closed { address },
                    _ => ClientError::Handshake {
                        address,
                        reason: e.to_string(),
                    },
                });
            }
        }
        let box_key = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(tls::peer_key)
            .ok_or_else(|| ClientError::Handshake {
                address: address.clone(),
                reason: "the box presented no Ed25519 key".into(),
            })?;
        let mut stream = StreamOwned::new(conn, tcp);
        proto::write_frame(
            &mut stream,
            &Request::Hello {
                version: proto::VERSION,
            },
        )
        .map_err(FrameError::Io)?;
        let welcome = match proto::decode::<Response>(&proto::read_frame(&mut stream)?)? {
            Response::Welcome {
                name,
                software,
                role,
                key,
            } => Welcome {
                name,
                software,
                role,
                host_key: key,
                box_key,
            },
            Response::Refused(r) => return Err(ClientError::Refused(r)),
            other => return Err(ClientError::Unexpected(format!("{other:?}"))),
        };
        Ok(Client { stream, welcome })
    }

    /// What the box said to hello.
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// Sends a request without waiting for its answer (to pipeline chunks).
    pub fn send(&mut self, request: &Request<'_>) -> Result<(), ClientError> {
        proto::write_frame(&mut self.stream, request).map_err(|e| ClientError::Frame(e.into()))
    }

    /// The next answer; a refusal is an error.
    pub fn receive(&mut self) -> Result<Response, ClientError> {
        match proto::decode::<Response>(&proto::read_frame(&mut self.stream)?)? {
            Response::Refused(r) => Err(ClientError::Refused(r)),
            other => Ok(other),
        }
    }

    /// Sends a request and waits for its answer.
    pub fn call(&mut self, request: &Request<'_>) -> Result<Response, ClientError> {
        self.send(request)?;
        self.receive()
    }

    /// [`call`](Self::call) for a request the box may take up to `wait` to
    /// answer (an activation waits for the new session to play).
    pub fn call_within(
        &mut self,
        request: &Request<'_>,
        wait: Duration,
    ) -> Result<Response, ClientError> {
        let usual = self.stream.sock.read_timeout().ok().flatten();
        let _ = self.stream.sock.set_read_timeout(Some(wait));
        let answer = self.call(request);
        let _ = self.stream.sock.set_read_timeout(usual);
        answer
    }

    /// Sends bytes that may not be a frame at all (tests of the box's guards).
    #[cfg(any(test, feature = "test-support"))]
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }
}

/// A TCP connection to `address` from the local address `local` (tests).
#[cfg(any(test, feature = "test-support"))]
pub fn tcp_from(
    local: std::net::Ipv4Addr,
    address: std::net::SocketAddrV4,
) -> io::Result<TcpStream> {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(std::net::SocketAddrV4::new(local, 0)),
    )?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(address))?;
    Ok(TcpStream::from(fd))
}
