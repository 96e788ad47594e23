//! The box's packet filter: an nftables ruleset that lets the show networks
//! reach what cueboxd listens on (the API, OSC, MSC over UDP, PTP; ssh when
//! it runs) and drops everything else, except loopback, answers to the box's
//! own traffic and what keeps the network itself up (DHCP, IPv6 neighbour
//! discovery, IGMP). The appliance loads it at boot (`cueboxd system
//! firewall | nft -f -`, see docs/security.md).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use crate::jsonconf::ConfigFile;
use crate::showctl::config::{private_networks, ShowctlConfig};

/// The arguments of `cueboxd system firewall`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The show networks that may reach the box, separated by spaces or
    /// commas: `10.10.0.0/16 192.168.1.20` (an address alone is one host).
    /// Empty: the private and link-local networks.
    #[arg(long, default_value = "", value_name = "NETWORKS")]
    pub show_networks: String,
    /// The API's address as `cueboxd run --listen` takes it (port 53100
    /// unless given); empty for no API.
    #[arg(long, default_value = "", value_name = "ADDR")]
    pub listen: String,
    /// The operator's page's address as `cueboxd run --web` takes it (port
    /// 8443 unless given); empty for none.
    #[arg(long, default_value = "", value_name = "ADDR")]
    pub web: String,
    /// The show-control file cueboxd reads (default: <root>/showctl.json):
    /// its OSC port and MSC UDP port.
    #[arg(long, value_name = "FILE")]
    pub showctl: Option<PathBuf>,
    /// cueboxd runs PTP (UDP 319 and 320).
    #[arg(long)]
    pub ptp: bool,
    /// sshd runs (TCP 22).
    #[arg(long)]
    pub ssh: bool,
    /// The box is a unit of a pair with a control address: keepalived's
    /// VRRP (IP protocol 112) between the units.
    #[arg(long)]
    pub vrrp: bool,
}

/// Why one entry of the show networks is not a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadNetwork {
    /// Not an IPv4 or IPv6 address.
    #[error("show network {entry:?}: {address:?} is not an IPv4 or IPv6 address")]
    Address {
        /// The entry as written.
        entry: String,
        /// The part before the '/'.
        address: String,
    },
    /// The prefix length is not a number in range.
    #[error("show network {entry:?}: the prefix length of an {family} network is 0 to {max}")]
    Prefix {
        /// The entry as written.
        entry: String,
        /// IPv4 or IPv6.
        family: &'static str,
        /// 32 or 128.
        max: u8,
    },
    /// Bits are set past the prefix: a network is written by its first address.
    #[error("show network {entry:?} has bits set past its prefix: did you mean {network}?")]
    HostBits {
        /// The entry as written.
        entry: String,
        /// The network it lies in.
        network: IpNet,
    },
}

/// Parses the show networks: entries separated by spaces or commas, each a
/// network (`10.10.0.0/16`) or one address (`192.168.1.20`). Every bad entry
/// is reported, not just the first.
pub fn parse_networks(text: &str) -> Result<Vec<IpNet>, Vec<BadNetwork>> {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for entry in text.split([' ', ',', '\t', '\n']).filter(|e| !e.is_empty()) {
        match parse_network(entry) {
            Ok(net) => good.push(net),
            Err(e) => bad.push(e),
        }
    }
    if bad.is_empty() {
        Ok(good)
    } else {
        Err(bad)
    }
}

fn parse_network(entry: &str) -> Result<IpNet, BadNetwork> {
    let (address, prefix) = match entry.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (entry, None),
    };
    let ip: IpAddr = address.parse().map_err(|_| BadNetwork::Address {
        entry: entry.into(),
        address: address.into(),
    })?;
    let (family, max) = match ip {
        IpAddr::V4(_) => ("IPv4", 32),
        IpAddr::V6(_) => ("IPv6", 128),
    };
    let len = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or(BadNetwork::Prefix {
                entry: entry.into(),
                family,
                max,
            })?,
    };
    let net = IpNet::new(ip, len).expect("the prefix length was checked");
    if net.trunc() != net {
        return Err(BadNetwork::HostBits {
            entry: entry.into(),
            network: net.trunc(),
        });
    }
    Ok(net)
}

/// The show networks to let in, and why they are these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShowNetworks {
    /// As configured.
    Configured(Vec<IpNet>),
    /// None configured: the private and link-local networks.
    Default,
    /// The configuration has bad entries: none of it is used (a typo must
    /// not shut out the networks around it), the private and link-local
    /// networks are, until it is fixed.
    Fallback(Vec<BadNetwork>),
}

impl ShowNetworks {
    /// From the configured text.
    pub fn from_config(text: &str) -> Self {
        match parse_networks(text) {
            Ok(nets) if nets.is_empty() => ShowNetworks::Default,
            Ok(nets) => ShowNetworks::Configured(nets),
            Err(bad) => ShowNetworks::Fallback(bad),
        }
    }

    /// The networks let in, overlaps merged.
    pub fn networks(&self) -> Vec<IpNet> {
        match self {
            ShowNetworks::Configured(nets) => IpNet::aggregate(nets),
            ShowNetworks::Default | ShowNetworks::Fallback(_) => {
                IpNet::aggregate(&private_networks())
            }
        }
    }
}

/// What the box listens on from the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listeners {
    /// The API's TCP port.
    pub api: Option<u16>,
    /// The operator's page's TCP port (HTTPS).
    pub web: Option<u16>,
    /// OSC's port (UDP and TCP).
    pub osc: Option<u16>,
    /// MSC's UDP port.
    pub msc_udp: Option<u16>,
    /// PTP's UDP 319 and 320.
    pub ptp: bool,
    /// sshd's TCP 22.
    pub ssh: bool,
    /// VRRP (IP protocol 112), a pair's control address.
    pub vrrp: bool,
}

/// The ruleset, for `nft -f`: one table, `inet cuebox`, replaced whole (an
/// nft file is one transaction: the old rules stay until the new ones are in).
pub fn ruleset(networks: &[IpNet], listeners: &Listeners) -> String {
    let mut out = String::from(
        "# cuebox: the box's packet filter (cueboxd system firewall; docs/security.md)\n\
         table inet cuebox\n\
         delete table inet cuebox\n\
         table inet cuebox {\n",
    );
    let v4: Vec<String> = networks
        .iter()
        .filter(|n| matches!(n, IpNet::V4(_)))
        .map(IpNet::to_string)
        .collect();
    let v6: Vec<String> = networks
        .iter()
        .filter(|n| matches!(n, IpNet::V6(_)))
        .map(IpNet::to_string)
        .collect();
    for (name, kind, nets) in [("show4", "ipv4_addr", &v4), ("show6", "ipv6_addr", &v6)] {
        if !nets.is_empty() {
            let _ = writeln!(
                out,
                "  set {name} {{\n    type {kind}\n    flags interval\n    elements = {{ {} }}\n  }}",
                nets.join(", ")
            );
        }
    }
    out.push_str(
        "  chain input {\n\
         \x20   type filter hook input priority filter; policy drop;\n\
         \x20   iif \"lo\" accept\n\
         \x20   ct state established,related accept\n\
         \x20   ct state invalid drop\n\
         \x20   # The network itself: DHCP answers (broadcast: no connection to match),\n\
         \x20   # IPv6 neighbour discovery and router adverts, multicast membership queries.\n\
         \x20   udp sport 67 udp dport 68 accept\n\
         \x20   ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept\n\
         \x20   icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, mld-listener-query } ip6 hoplimit { 1, 255 } accept\n\
         \x20   ip protocol igmp accept\n",
    );
    if !v4.is_empty() {
        out.push_str("    ip saddr @show4 jump show\n");
    }
    if !v6.is_empty() {
        out.push_str("    ip6 saddr @show6 jump show\n");
    }
    out.push_str("  }\n  chain show {\n");
    let mut accept = |rule: String, why: &str| {
        let _ = writeln!(out, "    {rule} accept comment \"{why}\"");
    };
    if let Some(port) = listeners.api {
        accept(format!("tcp dport {port}"), "the API (hostctl)");
    }
    if let Some(port) = listeners.web {
        accept(format!("tcp dport {port}"), "the operator's page (HTTPS)");
    }
    if let Some(port) = listeners.osc {
        accept(
            format!("meta l4proto {{ tcp, udp }} th dport {port}"),
            "OSC",
        );
    }
    if let Some(port) = listeners.msc_udp {
        accept(format!("udp dport {port}"), "MSC over UDP");
    }
    if listeners.ptp {
        accept("udp dport { 319, 320 }".into(), "PTP");
    }
    if listeners.ssh {
        accept("tcp dport 22".into(), "ssh");
    }
    if listeners.vrrp {
        accept(
            "meta l4proto vrrp".into(),
            "VRRP (the pair's control address)",
        );
    }
    accept("icmp type echo-request".into(), "ping");
    accept("icmpv6 type echo-request".into(), "ping");
    out.push_str(
        "  }\n  chain forward {\n\
         \x20   type filter hook forward priority filter; policy drop;\n  }\n}\n",
    );
    out
}

/// `cueboxd system firewall`: the ruleset on stdout; on stderr one line per
/// problem (a bad show network, a show-control file it cannot read) and, for
/// bad networks, what is let in instead. Returns whether there was none.
pub fn run(root: &std::path::Path, args: &Args) -> bool {
    let mut clean = true;
    let show = ShowNetworks::from_config(&args.show_networks);
    if let ShowNetworks::Fallback(bad) = &show {
        clean = false;
        for b in bad {
            eprintln!("{b}");
        }
        eprintln!(
            "none of the show networks are used until they are fixed: the private and \
             link-local networks reach the box instead ({})",
            show.networks()
                .iter()
                .map(IpNet::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let mut listeners = Listeners {
        ptp: args.ptp,
        ssh: args.ssh,
        vrrp: args.vrrp,
        ..Listeners::default()
    };
    for (given, with_port, port) in [
        (
            &args.listen,
            crate::api::client::with_port as fn(&str) -> String,
            &mut listeners.api,
        ),
        (&args.web, crate::web::with_port, &mut listeners.web),
    ] {
        if given.is_empty() {
            continue;
        }
        match with_port(given)
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
        {
            Some(p) => *port = Some(p),
            None => {
                clean = false;
                eprintln!("listen address {given:?} has no port the firewall can open");
            }
        }
    }
    let showctl = args
        .showctl
        .clone()
        .unwrap_or_else(|| root.join("showctl.json"));
    if showctl.exists() {
        match ShowctlConfig::load(&showctl) {
            Ok(config) => {
                listeners.osc = config.osc.map(|o| o.port);
                listeners.msc_udp = config.msc.and_then(|m| m.udp_port);
            }
            Err(e) => {
                clean = false;
                eprintln!("{e}: OSC and MSC stay closed");
            }
        }
    }
    print!("{}", ruleset(&show.networks(), &listeners));
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(text: &str) -> Vec<IpNet> {
        parse_networks(text).unwrap()
    }

    #[test]
    fn networks_and_single_addresses_parse_with_spaces_or_commas() {
        assert_eq!(
            nets(" 10.10.0.0/16, 192.168.1.20 fd00:1::/64\t::1"),
            ["10.10.0.0/16", "192.168.1.20/32", "fd00:1::/64", "::1/128"]
                .map(|n| n.parse::<IpNet>().unwrap())
        );
        assert_eq!(nets(""), []);
    }

    #[test]
    fn every_bad_entry_is_named_with_what_to_write() {
        let bad =
            parse_networks("10.1.2.0/24 10.1.2.0/33 showlan 10.1.2.3/24 fd00::/129").unwrap_err();
        let messages: Vec<String> = bad.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "show network \"10.1.2.0/33\": the prefix length of an IPv4 network is 0 to 32",
                "show network \"showlan\": \"showlan\" is not an IPv4 or IPv6 address",
                "show network \"10.1.2.3/24\" has bits set past its prefix: did you mean 10.1.2.0/24?",
                "show network \"fd00::/129\": the prefix length of an IPv6 network is 0 to 128",
            ]
        );
    }

    #[test]
    fn a_bad_entry_falls_back_to_the_private_networks_not_to_part_of_the_list() {
        let show = ShowNetworks::from_config("10.1.2.0/24 10.1.3.0/33");
        assert!(matches!(show, ShowNetworks::Fallback(ref b) if b.len() == 1));
        assert_eq!(show.networks(), IpNet::aggregate(&private_networks()));
        assert_eq!(ShowNetworks::from_config(" "), ShowNetworks::Default);
        assert_eq!(
            ShowNetworks::from_config("10.1.0.0/16 10.1.2.0/24").networks(),
            nets("10.1.0.0/16"),
            "overlaps merged: nft refuses overlapping intervals"
        );
    }

    #[test]
    fn the_ruleset_opens_each_listener_to_the_show_networks_only() {
        let text = ruleset(
            &nets("10.1.2.0/24 fd00::/64"),
            &Listeners {
                api: Some(53100),
                web: Some(8443),
                osc: Some(53000),
                msc_udp: Some(6004),
                ptp: true,
                ssh: false,
                vrrp: true,
            },
        );
        assert!(text.contains("elements = { 10.1.2.0/24 }"), "{text}");
        assert!(text.contains("elements = { fd00::/64 }"), "{text}");
        assert!(text.contains("policy drop;"), "{text}");
        assert!(text.contains("ip saddr @show4 jump show"), "{text}");
        assert!(text.contains("ip6 saddr @show6 jump show"), "{text}");
        for rule in [
            "tcp dport 53100 accept",
            "tcp dport 8443 accept",
            "meta l4proto { tcp, udp } th dport 53000 accept",
            "udp dport 6004 accept",
            "udp dport { 319, 320 } accept",
            "meta l4proto vrrp accept",
        ] {
            assert!(text.contains(rule), "{rule} missing from\n{text}");
        }
        assert!(!text.contains("dport 22"), "no ssh unless it runs:\n{text}");
        // The listeners are reached only through the show chain.
        let input = &text[text.find("chain input").unwrap()..text.find("chain show").unwrap()];
        assert!(!input.contains("53100"), "{input}");
    }

    #[test]
    fn a_family_without_networks_gets_no_set() {
        let text = ruleset(&nets("10.1.2.0/24"), &Listeners::default());
        assert!(!text.contains("show6"), "{text}");
    }
}
