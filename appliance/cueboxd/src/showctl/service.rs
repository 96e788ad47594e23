//! The running show-control inputs: OSC, MSC over UDP, and MIDI ports
//! (grid controllers and MSC). They live for the whole run — across session
//! switches — and reach the show only through the live link.

use crate::events::{BoxEvent, Publisher};
use crate::refusals::{Refusals, ShowctlRefusal};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use midir::MidiInputConnection;
use serde_json::Value;

use super::config::{MidiInput, MscConfig, ShowctlConfig};
use super::grid::{press, Press};
use super::osc::{self, Osc};
use super::perform::act_reported;
use super::{msc, Action};
use crate::limit::{Buckets, Take};
use crate::link::{Deck, LiveLink, Playhead};
use crate::midi::{open_input, MidiError};
use crate::origin::{Input, Origin};

/// MIDI messages waiting for the worker; more are dropped (a controller
/// cannot flood the show).
const MIDI_QUEUE: usize = 256;
/// MSC senders over UDP remembered for their rate limits.
const MAX_MSC_SOURCES: usize = 256;
/// MSC messages over UDP one source address may send at once, then per
/// second.
const MSC_BURST: f64 = 100.0;
const MSC_RATE: f64 = 50.0;

/// Why show control could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShowctlError {
    /// A socket could not be opened.
    #[error(
        "cannot listen for {what} on {address}: {source} (is another program using the port?)"
    )]
    Listen {
        /// OSC or MSC.
        what: &'static str,
        /// Where.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A MIDI port could not be opened.
    #[error(transparent)]
    Midi(#[from] MidiError),
    /// A thread could not start.
    #[error("cannot start a show-control thread: {0}")]
    Thread(std::io::Error),
}

/// The running inputs; dropping it closes them.
pub struct Showctl {
    osc: Option<Osc>,
    msc: Option<SocketAddr>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    _midi: Vec<MidiInputConnection<()>>,
}

impl Showctl {
    /// The OSC service, if it runs.
    pub fn osc(&self) -> Option<&Osc> {
        self.osc.as_ref()
    }

    /// The address MSC over UDP listens on, if it does.
    pub fn msc_addr(&self) -> Option<SocketAddr> {
        self.msc
    }
}

impl Drop for Showctl {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.osc = None;
        self._midi.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Starts every input `config` turns on; `workspace` is the box's name.
pub fn start(
    config: &ShowctlConfig,
    workspace: String,
    link: Arc<LiveLink>,
    events: Publisher,
) -> Result<Showctl, ShowctlError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let osc = match &config.osc {
        Some(c) => Some(
            osc::start(c.clone(), workspace, link.clone(), events.clone()).map_err(|source| {
                ShowctlError::Listen {
                    what: "OSC",
                    address: SocketAddr::new(c.bind, c.port),
                    source,
                }
            })?,
        ),
        None => None,
    };
    let mut msc_addr = None;
    if let Some(msc) = config.msc.clone().filter(|m| m.udp_port.is_some()) {
        let address = SocketAddr::new(config.msc_bind(), msc.udp_port.unwrap_or(0));
        let socket = UdpSocket::bind(address)
            .and_then(|s| {
                s.set_read_timeout(Some(Duration::from_millis(200)))
                    .map(|_| s)
            })
            .map_err(|source| ShowctlError::Listen {
                what: "MSC",
                address,
                source,
            })?;
        msc_addr = socket.local_addr().ok();
        let (link, events, stop) = (link.clone(), events.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name("showctl-msc".into())
                .spawn(move || serve_msc_udp(&socket, &msc, &link, &events, &stop))
                .map_err(ShowctlError::Thread)?,
        );
    }
    let mut midi = Vec::new();
    if !config.midi.is_empty() {
        let (tx, rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(MIDI_QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut names = Vec::new();
        for (index, input) in config.midi.iter().enumerate() {
            let (name, connection) = open_midi(input, index, tx.clone(), dropped.clone())?;
            events.send(BoxEvent::ShowctlMidi {
                port: name.clone(),
                grid: input.grid.map(|g| format!("{g:?}")),
                msc: input.msc,
            });
            names.push(name);
            midi.push(connection);
        }
        let inputs = config.midi.clone();
        let msc = config.msc.clone();
        let (link, events, stop) = (link.clone(), events.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name("showctl-midi".into())
                .spawn(move || {
                    let midi = Midi {
                        inputs,
                        names,
                        msc,
                        link,
                        events,
                        dropped,
                    };
                    midi.serve(&rx, &stop);
                })
                .map_err(ShowctlError::Thread)?,
        );
    }
    Ok(Showctl {
        osc,
        msc: msc_addr,
        stop,
        threads,
        _midi: midi,
    })
}

/// Opens one MIDI input; its messages go to the worker, tagged with
/// `index`, or are counted in `dropped` when the worker's queue is full.
fn open_midi(
    input: &MidiInput,
    index: usize,
    tx: SyncSender<(usize, Vec<u8>)>,
    dropped: Arc<AtomicU64>,
) -> Result<(String, MidiInputConnection<()>), MidiError> {
    open_input(&input.port, "cuebox-showctl", move |message| {
        // Clock and active sensing never press anything.
        if message.first().is_some_and(|b| *b < 0xF8)
            && tx.try_send((index, message.to_vec())).is_err()
        {
            dropped.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// What the MIDI worker needs.
struct Midi {
    inputs: Vec<MidiInput>,
    names: Vec<String>,
    msc: Option<MscConfig>,
    link: Arc<LiveLink>,
    events: Publisher,
    /// Messages the full queue turned away, not yet reported.
    dropped: Arc<AtomicU64>,
}

impl Midi {
    fn serve(&self, rx: &Receiver<(usize, Vec<u8>)>, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let received = rx.recv_timeout(Duration::from_millis(200));
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                self.events.send(BoxEvent::ShowctlRefused {
                    via: "midi".into(),
                    from: "(every port)".into(),
                    what: "(message)".into(),
                    reason: format!(
                        "more than {MIDI_QUEUE} MIDI messages were waiting; these were dropped"
                    ),
                    count: dropped,
                });
            }
            let Ok((index, bytes)) = received else {
                continue;
            };
            self.message(index, &bytes);
        }
    }

    fn message(&self, index: usize, bytes: &[u8]) {
        let (input, name) = (&self.inputs[index], self.names[index].as_str());
        let refuse = |reason: String| {
            self.events.send(BoxEvent::ShowctlRefused {
                via: "midi".into(),
                from: name.into(),
                what: "(message)".into(),
                reason,
                count: 1,
            });
        };
        if bytes.first() == Some(&0xF0) {
            match (&self.msc, input.msc) {
                (Some(m), true) => {
                    let place = self.link.deck().place;
                    match msc::action(bytes, m.device_id, m.group, place) {
                        Ok(Some(action)) => self.act(Origin::new(Input::MscMidi, name), action),
                        Ok(None) => {}
                        Err(e) => refuse(e.to_string()),
                    }
                }
                (None, true) => refuse(
                    "MSC arrived but the configuration has no \"msc\": {\"device_id\": …}".into(),
                ),
                _ => {}
            }
            return;
        }
        let Some(layout) = input.grid else { return };
        match press(layout, input.channel, bytes) {
            Some(Press::Tab(tab)) => {
                let deck = self.link.deck();
                self.link.set_deck(Deck {
                    place: cuebox_engine::control::cues::Place { tab, ..deck.place },
                    playhead: Playhead::Top,
                });
                self.events.send(BoxEvent::Showctl {
                    via: "midi".into(),
                    from: name.into(),
                    action: format!("Tab({})", tab.number()),
                    data: Value::Null,
                });
            }
            Some(Press::Button(n)) => self.start(name, n.to_string()),
            Some(Press::Pad(pos)) => {
                let place = self.link.deck().place;
                let number = self.link.show().ok().and_then(|s| s.cues.at(place, pos));
                match number.and_then(|c| c.number) {
                    Some(n) => self.start(name, n.to_string()),
                    None => refuse(format!(
                        "pad {pos} of page {} tab {} has no clip",
                        place.page,
                        place.tab.number()
                    )),
                }
            }
            None => {}
        }
    }

    fn start(&self, name: &str, cue: String) {
        self.act(
            Origin::new(Input::Midi, name),
            Action::Start {
                cue: Some(cue),
                time: None,
            },
        );
    }

    fn act(&self, origin: Origin, action: Action) {
        let _ = act_reported(&self.link, &self.events, &origin, action, |what, reason| {
            self.events.send(BoxEvent::ShowctlRefused {
                via: origin.input.as_str().into(),
                from: origin.from.clone(),
                what,
                reason: reason.into(),
                count: 1,
            });
        });
    }
}

/// Takes MSC over UDP: one sysex message per datagram, from the allowed
/// networks, each source address held to its rate; refusals are booked per
/// source address.
fn serve_msc_udp(
    socket: &UdpSocket,
    config: &MscConfig,
    link: &LiveLink,
    events: &Publisher,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; 1024];
    let mut buckets: Buckets<IpAddr> = Buckets::new(MAX_MSC_SOURCES, MSC_BURST, MSC_RATE);
    let refusals: Refusals<(IpAddr, String), ShowctlRefusal> = Refusals::new(events.clone());
    while !stop.load(Ordering::Relaxed) {
        refusals.flush();
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let refuse = |what: String, reason: String| {
            refusals.refused(
                (from.ip(), reason.clone()),
                ShowctlRefusal {
                    via: "msc-udp",
                    from: from.to_string(),
                    what,
                    reason,
                },
            );
        };
        if !config.allow.iter().any(|net| net.contains(&from.ip())) {
            refuse(
                "(packet)".into(),
                "its address is not in the MSC allow list".into(),
            );
            continue;
        }
        if buckets.take(&from.ip(), Instant::now()) != Take::Pass {
            refuse(
                "(rate)".into(),
                format!(
                    "{} sends more than {MSC_BURST} MSC messages at once or {MSC_RATE} a second; the rest are dropped until it slows down",
                    from.ip()
                ),
            );
            continue;
        }
        match msc::action(&buf[..n], config.device_id, config.group, link.deck().place) {
            Ok(Some(action)) => {
                let origin = Origin::new(Input::MscUdp, from.to_string());
                let _ = act_reported(link, events, &origin, action, |what, reason| {
                    refuse(what, reason.into())
                });
            }
            Ok(None) => {}
            Err(e) => refuse("(packet)".into(), e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Subscription, QUEUE};
    use serde_json::json;

    fn running(config: Value) -> (Showctl, Subscription) {
        let config: ShowctlConfig = serde_json::from_value(config).unwrap();
        let events = Publisher::new();
        let log = events.subscribe(QUEUE);
        let link = Arc::new(LiveLink::new(Duration::from_millis(300), events.clone()));
        (start(&config, "box".into(), link, events).unwrap(), log)
    }

    #[test]
    fn msc_over_udp_listens_where_it_is_told() {
        let (s, _) = running(json!({
            "osc": {"bind": "127.0.0.1", "port": 0},
            "msc": {"device_id": 1, "udp_port": 0},
        }));
        assert_eq!(
            s.msc_addr().unwrap().ip().to_string(),
            "127.0.0.1",
            "OSC's address"
        );
        let (s, _) = running(json!({"msc": {"device_id": 1, "udp_port": 0, "bind": "127.0.0.1"}}));
        assert_eq!(
            s.msc_addr().unwrap().ip().to_string(),
            "127.0.0.1",
            "its own"
        );
        let (s, _) = running(json!({"msc": {"device_id": 1, "udp_port": 0}}));
        assert!(
            s.msc_addr().unwrap().ip().is_unspecified(),
            "every interface"
        );
    }

    /// A flood from hundreds of new addresses never refills a throttled
    /// sender's bucket.
    #[test]
    fn a_flood_of_new_msc_senders_never_resets_a_throttled_one() {
        let (s, log) =
            running(json!({"msc": {"device_id": 1, "udp_port": 0, "bind": "127.0.0.1"}}));
        let to = s.msc_addr().unwrap();
        // A GO for device 5: the box ignores it, but it counts.
        let other_device = [0xF0, 0x7F, 5, 0x02, 0x10, 0x01, 0xF7];
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let flood: Vec<UdpSocket> = (0..300)
            .map(|i| {
                UdpSocket::bind((format!("127.0.{}.{}", 3 + i / 250, 1 + i % 250).as_str(), 0))
                    .unwrap()
            })
            .collect();
        // In runs of 20, so no datagram is lost to a full socket buffer.
        let paced = |sends: &mut dyn Iterator<Item = &UdpSocket>| {
            for (i, s) in sends.enumerate() {
                s.send_to(&other_device, to).unwrap();
                if i % 20 == 19 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        };
        // The sender's whole burst, then the flood, then as much again.
        paced(&mut std::iter::repeat_n(&sender, MSC_BURST as usize));
        paced(&mut flood.iter());
        paced(&mut std::iter::repeat_n(&sender, MSC_BURST as usize));
        std::thread::sleep(Duration::from_millis(200));
        drop(s);
        let limited: Vec<Value> = log
            .json()
            .filter(|e| e["event"] == "showctl_refused" && e["what"] == "(rate)")
            .collect();
        assert!(
            limited
                .iter()
                .all(|e| e["from"].as_str().unwrap().starts_with("127.0.0.1:")),
            "{limited:?}"
        );
        let refused: u64 = limited.iter().map(|e| e["count"].as_u64().unwrap()).sum();
        assert!(
            refused >= 90,
            "its second burst was refused: {refused} of 100"
        );
    }
}
