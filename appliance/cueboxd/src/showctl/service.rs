//! The running show-control inputs: OSC, MSC over UDP, and MIDI ports
//! (grid controllers and MSC). They live for the whole run — across session
//! switches — and reach the show only through the live link.

use crate::events::{BoxEvent, Publisher};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
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
use crate::limit::Bucket;
use crate::link::{Deck, LiveLink, Playhead};
use crate::midi::{open_input, MidiError};

/// MIDI messages waiting for the worker; more are dropped (a controller
/// cannot flood the show).
const MIDI_QUEUE: usize = 256;
/// MSC senders over UDP remembered for their rate limits.
const MAX_MSC_SOURCES: usize = 256;

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
        let address = SocketAddr::new(IpAddr::from([0, 0, 0, 0]), msc.udp_port.unwrap_or(0));
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
        let mut names = Vec::new();
        for (index, input) in config.midi.iter().enumerate() {
            let (name, connection) = open_midi(input, index, tx.clone())?;
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

/// Opens one MIDI input; its messages go to the worker, tagged with `index`.
fn open_midi(
    input: &MidiInput,
    index: usize,
    tx: SyncSender<(usize, Vec<u8>)>,
) -> Result<(String, MidiInputConnection<()>), MidiError> {
    open_input(&input.port, "cuebox-showctl", move |message| {
        // Clock and active sensing never press anything.
        if message.first().is_some_and(|b| *b < 0xF8) {
            let _ = tx.try_send((index, message.to_vec()));
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
}

impl Midi {
    fn serve(&self, rx: &Receiver<(usize, Vec<u8>)>, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            let Ok((index, bytes)) = rx.recv_timeout(Duration::from_millis(200)) else {
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
            });
        };
        if bytes.first() == Some(&0xF0) {
            match (&self.msc, input.msc) {
                (Some(m), true) => {
                    let place = self.link.deck().place;
                    match msc::action(bytes, m.device_id, m.group, place) {
                        Ok(Some(action)) => self.act("msc-midi", name, action),
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
            "midi",
            name,
            Action::Start {
                cue: Some(cue),
                time: None,
            },
        );
    }

    fn act(&self, via: &str, from: &str, action: Action) {
        let _ = act_reported(&self.link, &self.events, via, from, action);
    }
}

/// Takes MSC over UDP: one sysex message per datagram.
fn serve_msc_udp(
    socket: &UdpSocket,
    config: &MscConfig,
    link: &LiveLink,
    events: &Publisher,
    stop: &AtomicBool,
) {
    let mut buf = [0u8; 1024];
    let mut buckets: HashMap<IpAddr, Bucket> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let refuse = |reason: String| {
            events.send(BoxEvent::ShowctlRefused {
                via: "msc-udp".into(),
                from: from.to_string(),
                what: "(packet)".into(),
                reason,
            });
        };
        if !config.allow.iter().any(|net| net.contains(&from.ip())) {
            refuse("its address is not in the MSC allow list".into());
            continue;
        }
        if buckets.len() >= MAX_MSC_SOURCES && !buckets.contains_key(&from.ip()) {
            buckets.clear();
        }
        let bucket = buckets
            .entry(from.ip())
            .or_insert_with(|| Bucket::new(100.0, 50.0));
        if !bucket.take(Instant::now()) {
            continue;
        }
        match msc::action(&buf[..n], config.device_id, config.group, link.deck().place) {
            Ok(Some(action)) => {
                let _ = act_reported(link, events, "msc-udp", &from.to_string(), action);
            }
            Ok(None) => {}
            Err(e) => refuse(e.to_string()),
        }
    }
}
