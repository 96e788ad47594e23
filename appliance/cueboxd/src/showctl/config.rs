//! The show-control configuration: one JSON file (`<root>/showctl.json`,
//! or `cueboxd run --showctl FILE`) saying which inputs listen, from where,
//! with which passcodes. Every input is off unless the file turns it on.
//!
//! ```json
//! {
//!   "osc":  {"passcodes": [{"code": "4321", "role": "control"}],
//!            "allow": ["192.168.1.0/24"]},
//!   "msc":  {"device_id": 1, "group": 112, "udp_port": 6004},
//!   "midi": [{"port": "Launchpad", "grid": "launchpad"},
//!            {"port": "Desk", "msc": true, "grid": {"notes": 36}}]
//! }
//! ```

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use serde::Deserialize;

use crate::api::keys::Role;
use crate::jsonconf::ConfigFile;

/// Every show-control input.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowctlConfig {
    /// OSC over UDP and TCP, when present.
    #[serde(default)]
    pub osc: Option<OscConfig>,
    /// MIDI Show Control: the box's device id, and UDP when a port is given.
    #[serde(default)]
    pub msc: Option<MscConfig>,
    /// MIDI inputs: grid controllers and MSC over MIDI.
    #[serde(default)]
    pub midi: Vec<MidiInput>,
}

/// OSC: where it listens, who may talk to it, and with what passcodes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OscConfig {
    /// The address to listen on (every interface by default).
    #[serde(default = "any")]
    pub bind: IpAddr,
    /// UDP and TCP port (QLab's 53000).
    #[serde(default = "osc_port")]
    pub port: u16,
    /// The port of the sender UDP replies go to (QLab's 53001).
    #[serde(default = "reply_port")]
    pub reply_port: u16,
    /// The networks clients may be on. The default takes only private,
    /// link-local and loopback addresses: never a stranger on the internet.
    #[serde(default = "private_networks")]
    pub allow: Vec<IpNet>,
    /// Passcodes and what each allows. With none, every allowed client has
    /// `open_role` without `/connect`.
    #[serde(default)]
    pub passcodes: Vec<Passcode>,
    /// The role of a client when there are no passcodes; when absent,
    /// control if OSC listens on loopback only, else view (a stranger on the
    /// show network may then look, not GO).
    #[serde(default)]
    pub open_role: Option<Role>,
    /// Messages one client may send at once…
    #[serde(default = "burst")]
    pub burst: f64,
    /// …and per second after that; more are dropped (and reported).
    #[serde(default = "rate")]
    pub rate: f64,
}

impl OscConfig {
    /// The role of a client that gave no passcode: none when there are
    /// passcodes; else `open_role`, by default control when OSC listens on
    /// loopback only and view on any other address.
    pub fn passcodeless_role(&self) -> Option<Role> {
        self.passcodes.is_empty().then(|| {
            self.open_role.unwrap_or(if self.bind.is_loopback() {
                Role::Control
            } else {
                Role::View
            })
        })
    }
}

/// A passcode and the role it grants.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Passcode {
    /// The passcode, as `/connect` sends it.
    pub code: String,
    /// What it allows.
    pub role: Role,
}

/// MIDI Show Control.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MscConfig {
    /// The box's device id, 0 to 111 (0x6F).
    pub device_id: u8,
    /// A group id it also answers, 112 to 126 (0x70–0x7E).
    #[serde(default)]
    pub group: Option<u8>,
    /// Take MSC over UDP on this port too (consoles use 6000–6100).
    #[serde(default)]
    pub udp_port: Option<u16>,
    /// The address MSC over UDP listens on: by default OSC's (`osc.bind`),
    /// or every interface when OSC is off.
    #[serde(default)]
    pub bind: Option<IpAddr>,
    /// The networks UDP senders may be on (private networks by default).
    #[serde(default = "private_networks")]
    pub allow: Vec<IpNet>,
}

/// A MIDI input port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MidiInput {
    /// The first input port whose name contains this.
    pub port: String,
    /// Play the grid from its notes or CCs.
    #[serde(default)]
    pub grid: Option<GridLayout>,
    /// Only this MIDI channel (1–16) plays the grid; every channel when absent.
    #[serde(default)]
    pub channel: Option<u8>,
    /// Take MSC sysex from it.
    #[serde(default)]
    pub msc: bool,
}

/// How a controller's notes or CCs lay out on the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GridLayout {
    /// A Launchpad in programmer mode: note `10 × row + column` with row 1
    /// at the bottom of its 8×8 pads; the right-hand column (note `10 × row
    /// + 9`) chooses tabs 1–8 from the top.
    Launchpad,
    /// Note `base + n - 1` plays button n of the current tab.
    Notes(u8),
    /// CC `base + n - 1` (value above 0) plays button n of the current tab.
    Cc(u8),
}

impl ShowctlConfig {
    /// The address MSC over UDP listens on: `msc.bind`, else `osc.bind`,
    /// else every interface.
    pub fn msc_bind(&self) -> IpAddr {
        let msc = self.msc.as_ref().and_then(|m| m.bind);
        msc.or(self.osc.as_ref().map(|o| o.bind))
            .unwrap_or_else(any)
    }
}

impl ConfigFile for ShowctlConfig {
    const KIND: &'static str = "show-control configuration";
    const DOC: &'static str = "docs/showctl.md";

    fn check(&self) -> Result<(), String> {
        if let Some(m) = &self.msc {
            if m.device_id > 0x6F {
                return Err(format!(
                    "msc.device_id {} is not a device id (0 to 111; 112-126 are groups, 127 all-call)",
                    m.device_id
                ));
            }
            if let Some(g) = m.group.filter(|g| !(0x70..=0x7E).contains(g)) {
                return Err(format!("msc.group {g} is not a group id (112 to 126)"));
            }
        }
        for input in &self.midi {
            if let Some(c) = input.channel.filter(|c| !(1..=16).contains(c)) {
                return Err(format!(
                    "midi port {:?}: channel {c} is not 1 to 16",
                    input.port
                ));
            }
            if input.grid.is_none() && !input.msc {
                return Err(format!(
                    "midi port {:?} does nothing: give it a \"grid\" or \"msc\": true",
                    input.port
                ));
            }
        }
        if let Some(o) = &self.osc {
            if !(o.burst >= 1.0 && o.rate > 0.0) {
                return Err("osc.burst must be at least 1 and osc.rate above 0".into());
            }
        }
        Ok(())
    }
}

fn any() -> IpAddr {
    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
}

fn osc_port() -> u16 {
    53000
}

fn reply_port() -> u16 {
    53001
}

/// Messages one client may send at once by default (OSC, the web page).
pub fn burst() -> f64 {
    100.0
}

/// Messages one client may send per second by default, after its burst.
pub fn rate() -> f64 {
    50.0
}

/// Whether `ip` is on one of the networks of an allow list (an IPv4
/// address mapped into IPv6, as a dual-stack socket reports it, as itself).
pub fn allows(allow: &[IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    allow.iter().any(|net| net.contains(&ip))
}

/// RFC 1918, link-local and loopback, IPv4 and IPv6 (unique local too).
pub fn private_networks() -> Vec<IpNet> {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    ]
    .iter()
    .map(|n| n.parse().expect("literal networks parse"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ShowctlConfig, String> {
        ShowctlConfig::parse(json.as_bytes()).map_err(|e| match e {
            Ok(what) => what,
            Err(json) => json.to_string(),
        })
    }

    #[test]
    fn the_documented_example_parses_with_safe_defaults() {
        let c = parse(
            r#"{"osc": {"passcodes": [{"code": "4321", "role": "control"}]},
                "msc": {"device_id": 1, "group": 112, "udp_port": 6004},
                "midi": [{"port": "Launchpad", "grid": "launchpad"},
                         {"port": "Desk", "msc": true, "grid": {"notes": 36}}]}"#,
        )
        .unwrap();
        let osc = c.osc.unwrap();
        assert_eq!((osc.port, osc.reply_port), (53000, 53001));
        let allowed = |ip: &str| {
            osc.allow
                .iter()
                .any(|n| n.contains(&ip.parse::<IpAddr>().unwrap()))
        };
        assert!(allowed("192.168.1.20") && allowed("127.0.0.1") && allowed("10.1.2.3"));
        assert!(!allowed("8.8.8.8"), "a public address is a stranger");
        assert_eq!(c.midi[1].grid, Some(GridLayout::Notes(36)));
        assert_eq!(
            ShowctlConfig::default().osc,
            None,
            "every input is off by default"
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse(r#"{"msc": {"device_id": 120}}"#)
            .unwrap_err()
            .contains("msc.device_id 120 is not a device id"));
        assert!(parse(r#"{"msc": {"device_id": 1, "group": 3}}"#)
            .unwrap_err()
            .contains("msc.group 3"));
        assert!(parse(r#"{"midi": [{"port": "x"}]}"#)
            .unwrap_err()
            .contains("does nothing"));
        assert!(
            parse(r#"{"midi": [{"port": "x", "msc": true, "channel": 17}]}"#)
                .unwrap_err()
                .contains("channel 17")
        );
        assert!(parse(r#"{"osc": {"port": 53000, "passcode": "1"}}"#)
            .unwrap_err()
            .contains("unknown field `passcode`"));
        assert!(parse(r#"{"osc": {"allow": ["300.1.1.1/8"]}}"#).is_err());
        assert!(
            parse(r#"{"osc": {"passcodes": [{"code": "1", "role": "admin"}]}}"#)
                .unwrap_err()
                .contains("unknown variant `admin`")
        );
    }
}
