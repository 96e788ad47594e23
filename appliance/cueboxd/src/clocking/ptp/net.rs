//! PTP over UDP/IPv4 (IEEE 1588 annex C): the event (319) and general (320)
//! sockets on one interface, joined to the PTP multicast group, with the
//! kernel's software timestamps on the event socket for both directions.

use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrIn, TimestampingFlag,
};
use socket2::{Domain, Protocol, Socket, Type};

/// The PTP primary multicast group.
pub const PRIMARY: Ipv4Addr = Ipv4Addr::new(224, 0, 1, 129);
/// The group for peer-delay messages (link-local).
pub const PDELAY: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 107);
/// The event port: Sync, Delay_Req (timestamped).
pub const EVENT_PORT: u16 = 319;
/// The general port: Announce, Follow_Up, Delay_Resp.
pub const GENERAL_PORT: u16 = 320;

/// A PTP datagram and, on the event socket, when the kernel received it
/// (CLOCK_REALTIME, ns).
#[derive(Debug)]
pub struct Received {
    /// Its length in the buffer.
    pub len: usize,
    /// The kernel's receive timestamp.
    pub timestamp: Option<u64>,
}

/// The two sockets of a PTP port on one interface.
#[derive(Debug)]
pub struct PtpSockets {
    /// Port 319.
    pub event: UdpSocket,
    /// Port 320.
    pub general: UdpSocket,
}

/// The interface's IPv4 address and MAC.
pub fn interface(name: &str) -> io::Result<(Ipv4Addr, [u8; 6])> {
    let addr = nix::ifaddrs::getifaddrs()?
        .filter(|i| i.interface_name == name)
        .find_map(|i| i.address?.as_sockaddr_in().map(|a| a.ip()))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("interface {name} has no IPv4 address (`ip -4 addr` lists them)"),
            )
        })?;
    let text = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))?;
    let mut mac = [0u8; 6];
    let parts: Vec<_> = text.trim().split(':').collect();
    if parts.len() != 6 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("interface {name} has no MAC address"),
        ));
    }
    for (byte, part) in mac.iter_mut().zip(parts) {
        *byte = u8::from_str_radix(part, 16)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    }
    Ok((addr, mac))
}

impl PtpSockets {
    /// Opens both sockets on `iface` (address `addr`).
    pub fn open(iface: &str, addr: Ipv4Addr) -> io::Result<PtpSockets> {
        let event = open_one(iface, addr, EVENT_PORT)?;
        setsockopt(
            &event,
            sockopt::Timestamping,
            &(TimestampingFlag::SOF_TIMESTAMPING_SOFTWARE
                | TimestampingFlag::SOF_TIMESTAMPING_RX_SOFTWARE
                | TimestampingFlag::SOF_TIMESTAMPING_TX_SOFTWARE),
        )?;
        let general = open_one(iface, addr, GENERAL_PORT)?;
        Ok(PtpSockets { event, general })
    }

    /// Sends `data` on the event socket (to `group`).
    pub fn send_event(&self, data: &[u8], group: Ipv4Addr) -> io::Result<()> {
        self.event
            .send_to(data, SocketAddrV4::new(group, EVENT_PORT))
            .map(drop)
    }

    /// Sends `data` on the general socket (to `group`).
    pub fn send_general(&self, data: &[u8], group: Ipv4Addr) -> io::Result<()> {
        self.general
            .send_to(data, SocketAddrV4::new(group, GENERAL_PORT))
            .map(drop)
    }

    /// The next datagram waiting on `socket`, if any.
    pub fn receive(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Option<Received>> {
        receive(socket, buf, MsgFlags::MSG_DONTWAIT)
    }

    /// The kernel's transmit timestamp of the next event message sent, if
    /// it is ready (CLOCK_REALTIME, ns).
    pub fn transmit_timestamp(&self) -> io::Result<Option<u64>> {
        let mut buf = [0u8; 256];
        Ok(receive(
            &self.event,
            &mut buf,
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_ERRQUEUE,
        )?
        .and_then(|r| r.timestamp))
    }
}

fn open_one(iface: &str, addr: Ipv4Addr, port: u16) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.bind_device(Some(iface.as_bytes()))?;
    socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())?;
    for group in [PRIMARY, PDELAY] {
        socket.join_multicast_v4(&group, &addr)?;
    }
    socket.set_multicast_if_v4(&addr)?;
    socket.set_multicast_loop_v4(false)?;
    socket.set_multicast_ttl_v4(1)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn receive(socket: &UdpSocket, buf: &mut [u8], flags: MsgFlags) -> io::Result<Option<Received>> {
    let mut iov = [IoSliceMut::new(buf)];
    // The error queue adds the extended error and its address beside the
    // timestamps; a buffer too small for them truncates the message.
    let mut space = nix::cmsg_space!(nix::sys::socket::Timestamps, [u8; 64]);
    match recvmsg::<SockaddrIn>(socket.as_raw_fd(), &mut iov, Some(&mut space), flags) {
        Ok(msg) => {
            let timestamp = msg.cmsgs()?.find_map(|c| match c {
                ControlMessageOwned::ScmTimestampsns(t) => {
                    let s = t.system;
                    Some(s.tv_sec() as u64 * 1_000_000_000 + s.tv_nsec() as u64)
                }
                _ => None,
            });
            Ok(Some(Received {
                len: msg.bytes,
                timestamp,
            }))
        }
        Err(nix::errno::Errno::EAGAIN) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
