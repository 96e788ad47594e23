//! OSC, the QLab-compatible subset, so Bitfocus Companion, Stream Deck and
//! console macros drive the box unchanged: UDP on port 53000 with replies to
//! port 53001 of the sender, and TCP on port 53000 with SLIP framing (OSC
//! 1.1), replies on the same connection. Replies are `/reply/<address>`
//! with one JSON string argument:
//! `{"workspace_id", "address", "status": "ok"|"error"|"denied", "data"}`.
//!
//! Parsing ([`decode`], [`parse`]) is pure and bounded; the server around it
//! checks the source address, the passcode and a per-source rate before
//! anything reaches the show.

mod shape;

use rosc::{OscMessage, OscPacket, OscType};

use super::Action;
use crate::keys::Role;
#[cfg(any(test, feature = "test-support"))]
pub use shape::nested_bundles;

/// The largest OSC packet taken, over UDP or in one SLIP frame.
pub const MAX_PACKET: usize = 65_536;
/// Messages one packet may carry (bundles included).
const MAX_MESSAGES: usize = 64;
/// How deep bundles may nest, and arrays within one message.
const MAX_DEPTH: usize = 4;

/// What an OSC message asks.
#[derive(Debug, Clone, PartialEq)]
pub enum OscRequest {
    /// `/connect [passcode]`.
    Connect(Option<String>),
    /// `/updates 1|0`: push changes to this client.
    Updates(bool),
    /// `/alwaysReply 1|0`: reply over UDP to commands too, not only queries.
    AlwaysReply(bool),
    /// `/thump`: a heartbeat.
    Thump,
    /// `/workspaces`.
    Workspaces,
    /// `/runningOrPausedCues` (or `/runningCues`, `running` only).
    Running {
        /// Paused cues too.
        paused: bool,
    },
    /// `/playhead` without an argument: where it is.
    Playhead,
    /// `/settings/general/minGoTime`.
    MinGoTime,
    /// Something the show does.
    Act(Action),
}

impl OscRequest {
    /// The role a client needs for it.
    pub fn needs(&self) -> Option<Role> {
        match self {
            OscRequest::Connect(_) | OscRequest::Thump | OscRequest::Workspaces => None,
            OscRequest::Act(_) => Some(Role::Control),
            _ => Some(Role::View),
        }
    }

    /// Whether a UDP client gets a reply without `/alwaysReply` (QLab
    /// replies to queries; commands are fire and forget).
    pub fn is_query(&self) -> bool {
        !matches!(self, OscRequest::Act(_) | OscRequest::Updates(_))
    }
}

/// The OSC messages of a packet, bundles flattened (bounded in count and depth).
///
/// The packet's shape is walked first without recursion ([`shape`]): rosc
/// decodes bundles recursively, so depth must be refused before it reads.
pub fn decode(packet: &[u8]) -> Result<Vec<OscMessage>, String> {
    if packet.len() > MAX_PACKET {
        return Err(format!(
            "an OSC packet of {} bytes is over the {MAX_PACKET}-byte limit",
            packet.len()
        ));
    }
    let limits = shape::Limits {
        depth: MAX_DEPTH,
        array_depth: MAX_DEPTH,
        messages: MAX_MESSAGES,
    };
    shape::check(packet, limits).map_err(|e| e.to_string())?;
    let (_, packet) =
        rosc::decoder::decode_udp(packet).map_err(|e| format!("not an OSC packet: {e}"))?;
    let mut out = Vec::new();
    flatten(packet, &mut out);
    Ok(out)
}

/// The messages of `packet` in order; its depth is bounded by [`shape::check`].
fn flatten(packet: OscPacket, out: &mut Vec<OscMessage>) {
    match packet {
        OscPacket::Message(m) => out.push(m),
        OscPacket::Bundle(b) => b.content.into_iter().for_each(|p| flatten(p, out)),
    }
}

/// What `msg` asks, or why it is not understood.
pub fn parse(msg: &OscMessage) -> Result<OscRequest, String> {
    let mut parts: Vec<&str> = msg.addr.split('/').skip(1).collect();
    if msg.addr.is_empty() || !msg.addr.starts_with('/') {
        return Err(format!("OSC address {:?} does not start with /", msg.addr));
    }
    // `/workspace/<id>/…` addresses one workspace; the box has one.
    if parts.len() > 2 && parts[0] == "workspace" {
        parts.drain(..2);
    }
    let arg = msg.args.first();
    let act = |a: Action| Ok(OscRequest::Act(a));
    match parts[..] {
        ["connect"] => Ok(OscRequest::Connect(arg.map(text).transpose()?)),
        ["updates"] => Ok(OscRequest::Updates(flag(arg)?)),
        ["alwaysReply"] => Ok(OscRequest::AlwaysReply(flag(arg)?)),
        ["thump"] => Ok(OscRequest::Thump),
        ["workspaces"] => Ok(OscRequest::Workspaces),
        ["runningOrPausedCues"] => Ok(OscRequest::Running { paused: true }),
        ["runningCues"] => Ok(OscRequest::Running { paused: false }),
        ["settings", "general", "minGoTime"] => Ok(OscRequest::MinGoTime),
        ["go"] => act(Action::Start {
            cue: None,
            time: None,
        }),
        ["stop"] => act(Action::Stop(None)),
        ["pause"] => act(Action::Pause(None)),
        ["resume"] => act(Action::Resume(None)),
        ["panic"] | ["hardStop"] => act(Action::Panic),
        ["panicInTime"] => {
            let secs = number(arg.ok_or("/panicInTime needs a time in seconds")?)?;
            if !(0.0..=600.0).contains(&secs) {
                return Err(format!("/panicInTime {secs}: the time must be 0 to 600 s"));
            }
            act(Action::FadeAll(secs))
        }
        ["reset"] => act(Action::Reset),
        ["playhead"] => match arg {
            None => Ok(OscRequest::Playhead),
            Some(a) => act(Action::Load(cue_text(a)?)),
        },
        ["playhead", "next"] | ["select", "next"] => act(Action::Next),
        ["playhead", "previous"] | ["select", "previous"] => act(Action::Previous),
        ["playhead", cue] => act(Action::Load(cue.to_owned())),
        ["crossfade"] => {
            let from = cue_text(
                msg.args
                    .first()
                    .ok_or("/crossfade needs FROM TO [seconds]")?,
            )?;
            let to = cue_text(
                msg.args
                    .get(1)
                    .ok_or("/crossfade needs FROM TO [seconds]")?,
            )?;
            let time = msg.args.get(2).map(number).transpose()?;
            act(Action::Crossfade { from, to, time })
        }
        ["group", group, "level"] => {
            let group = group
                .parse()
                .map_err(|e| format!("/group/{group}/level: {e}"))?;
            let level_db = number(arg.ok_or("/group/<A-D>/level needs a level in dB")?)?;
            let time = msg.args.get(1).map(number).transpose()?;
            act(Action::GroupLevel {
                group,
                level_db,
                time,
            })
        }
        ["cue" | "cue_id", cue, "fadeTo"] => {
            let level_db =
                number(arg.ok_or_else(|| {
                    format!("/cue/{cue}/fadeTo needs a level in dB [and seconds]")
                })?)?;
            let time = msg.args.get(1).map(number).transpose()?;
            act(Action::FadeTo {
                cue: cue.to_owned(),
                level_db,
                time,
            })
        }
        ["cue" | "cue_id", cue, verb] => {
            let cue = cue.to_owned();
            match verb {
                "start" | "go" => act(Action::Start {
                    cue: Some(cue),
                    time: None,
                }),
                "stop" => act(Action::Stop(Some(cue))),
                "pause" => act(Action::Pause(Some(cue))),
                "resume" => act(Action::Resume(Some(cue))),
                "load" => act(Action::Load(cue)),
                "audition" | "preview" => act(Action::Audition(cue)),
                other => Err(format!(
                    "/cue/{cue}/{other}: the box knows start, stop, pause, resume, load, audition and fadeTo"
                )),
            }
        }
        _ => Err(format!("{} is not an address the box knows", msg.addr)),
    }
}

fn text(a: &OscType) -> Result<String, String> {
    match a {
        OscType::String(s) => Ok(s.clone()),
        other => Err(format!("expected a string argument, got {other:?}")),
    }
}

fn number(a: &OscType) -> Result<f64, String> {
    match a {
        OscType::Int(i) => Ok(f64::from(*i)),
        OscType::Long(i) => Ok(*i as f64),
        OscType::Float(f) => Ok(f64::from(*f)),
        OscType::Double(f) => Ok(*f),
        OscType::String(s) => s.parse().map_err(|_| format!("{s:?} is not a number")),
        other => Err(format!("expected a number, got {other:?}")),
    }
    .and_then(|x| {
        x.is_finite()
            .then_some(x)
            .ok_or_else(|| format!("{x} is not a finite number"))
    })
}

fn flag(a: Option<&OscType>) -> Result<bool, String> {
    match a {
        None => Ok(true),
        Some(OscType::Bool(b)) => Ok(*b),
        Some(other) => number(other).map(|x| x != 0.0),
    }
}

fn cue_text(a: &OscType) -> Result<String, String> {
    match a {
        OscType::String(s) => Ok(s.clone()),
        OscType::Int(i) => Ok(i.to_string()),
        other => Err(format!("expected a cue number, got {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_addr(addr: &str, args: Vec<OscType>) -> Result<OscRequest, String> {
        parse(&OscMessage {
            addr: addr.into(),
            args,
        })
    }

    #[test]
    fn qlab_addresses_parse_to_requests() {
        let start = |cue: Option<&str>| {
            Ok(OscRequest::Act(Action::Start {
                cue: cue.map(Into::into),
                time: None,
            }))
        };
        assert_eq!(parse_addr("/go", vec![]), start(None));
        assert_eq!(parse_addr("/workspace/box/go", vec![]), start(None));
        assert_eq!(parse_addr("/cue/1.2.3/start", vec![]), start(Some("1.2.3")));
        assert_eq!(parse_addr("/cue_id/c7/go", vec![]), start(Some("c7")));
        assert_eq!(
            parse_addr("/panicInTime", vec![OscType::Int(2)]),
            Ok(OscRequest::Act(Action::FadeAll(2.0)))
        );
        assert_eq!(
            parse_addr("/playhead", vec![OscType::Int(4)]),
            Ok(OscRequest::Act(Action::Load("4".into())))
        );
        assert_eq!(parse_addr("/playhead", vec![]), Ok(OscRequest::Playhead));
        assert_eq!(
            parse_addr(
                "/crossfade",
                vec![
                    OscType::String("1".into()),
                    OscType::Int(2),
                    OscType::Float(1.5)
                ]
            ),
            Ok(OscRequest::Act(Action::Crossfade {
                from: "1".into(),
                to: "2".into(),
                time: Some(1.5)
            }))
        );
        assert_eq!(
            parse_addr("/group/b/level", vec![OscType::Float(-6.0)]),
            Ok(OscRequest::Act(Action::GroupLevel {
                group: cuebox_engine::show::Group::B,
                level_db: -6.0,
                time: None
            }))
        );
        assert_eq!(
            parse_addr(
                "/cue/4/fadeTo",
                vec![OscType::Int(-10), OscType::Float(2.0)]
            ),
            Ok(OscRequest::Act(Action::FadeTo {
                cue: "4".into(),
                level_db: -10.0,
                time: Some(2.0)
            }))
        );
        assert!(parse_addr("/cue/4/fadeTo", vec![])
            .unwrap_err()
            .contains("needs a level in dB"));
        assert!(parse_addr("/group/E/level", vec![OscType::Int(0)])
            .unwrap_err()
            .contains("/group/E/level"));
        assert_eq!(
            parse_addr("/updates", vec![OscType::Int(0)]),
            Ok(OscRequest::Updates(false))
        );
        assert_eq!(
            parse_addr("/connect", vec![OscType::String("1".into())]),
            Ok(OscRequest::Connect(Some("1".into())))
        );
    }

    #[test]
    fn what_the_box_does_not_know_is_refused_precisely() {
        let err = |addr: &str, args| parse_addr(addr, args).unwrap_err();
        assert!(err("/cue/1/explode", vec![])
            .contains("start, stop, pause, resume, load, audition and fadeTo"));
        assert!(err("/panicInTime", vec![]).contains("needs a time"));
        assert!(err("/panicInTime", vec![OscType::Float(f32::NAN)]).contains("not a finite"));
        assert!(err("/panicInTime", vec![OscType::Int(-1)]).contains("0 to 600"));
        assert!(err("/nope", vec![]).contains("not an address the box knows"));
        assert!(err("go", vec![]).contains("does not start with /"));
        assert!(err("/connect", vec![OscType::Int(4321)]).contains("expected a string"));
    }

    #[test]
    fn packets_are_bounded() {
        let go = rosc::encoder::encode(&OscPacket::Message(OscMessage {
            addr: "/go".into(),
            args: vec![],
        }))
        .unwrap();
        assert_eq!(decode(&go).unwrap().len(), 1);
        let mut bundle = OscPacket::Message(OscMessage {
            addr: "/go".into(),
            args: vec![],
        });
        for _ in 0..=MAX_DEPTH {
            bundle = OscPacket::Bundle(rosc::OscBundle {
                timetag: rosc::OscTime::from((0, 1)),
                content: vec![bundle],
            });
        }
        let deep = rosc::encoder::encode(&bundle).unwrap();
        assert!(decode(&deep).unwrap_err().contains("nested deeper than 4"));
        let wide = rosc::encoder::encode(&OscPacket::Bundle(rosc::OscBundle {
            timetag: rosc::OscTime::from((0, 1)),
            content: vec![
                OscPacket::Message(OscMessage {
                    addr: "/thump".into(),
                    args: vec![],
                });
                MAX_MESSAGES + 1
            ],
        }))
        .unwrap();
        assert!(decode(&wide).unwrap_err().contains("more than 64 messages"));
        assert!(decode(&[0, 1, 2])
            .unwrap_err()
            .contains("not an OSC packet"));
        assert!(decode(&vec![0; MAX_PACKET + 1])
            .unwrap_err()
            .contains("over the 65536-byte limit"));
    }
}
