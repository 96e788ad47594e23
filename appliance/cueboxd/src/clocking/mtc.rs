//! MTC inputs through midir: each MIDI port named is a peer source. Its
//! callback (midir's thread) parses the bytes as they arrive and stamps each
//! time with CLOCK_MONOTONIC; the clock thread takes them from a channel.

use std::sync::mpsc::{self, Receiver, Sender};

use cuebox_engine::timecode::mtc::{MtcEvent, MtcParser};
use midir::{MidiInput, MidiInputConnection};

use crate::midi::{open_input, MidiError};

use super::ptp::monotonic_ns;

/// A time an MTC port told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MtcSeen {
    /// The port (its index in [`MtcInputs::names`]).
    pub port: usize,
    /// What it said.
    pub event: MtcEvent,
    /// When the message arrived (CLOCK_MONOTONIC ns).
    pub at_ns: u64,
    /// When the port's first message arrived: the lock time is measured
    /// from it.
    pub first_ns: u64,
}

/// Open MTC inputs; dropping them closes the ports.
pub struct MtcInputs {
    names: Vec<String>,
    _connections: Vec<MidiInputConnection<()>>,
    received: Receiver<MtcSeen>,
}

/// The MIDI input ports there are.
pub fn ports() -> Result<Vec<String>, MidiError> {
    let input = MidiInput::new("cuebox")?;
    Ok(input
        .ports()
        .iter()
        .filter_map(|p| input.port_name(p).ok())
        .collect())
}

impl MtcInputs {
    /// Opens, for each pattern, the first input port whose name contains it.
    pub fn open(patterns: &[String]) -> Result<MtcInputs, MidiError> {
        let (tx, received) = mpsc::channel();
        let mut names = Vec::new();
        let mut connections = Vec::new();
        for pattern in patterns {
            let (name, connection) = connect(pattern, names.len(), tx.clone())?;
            names.push(name);
            connections.push(connection);
        }
        Ok(MtcInputs {
            names,
            _connections: connections,
            received,
        })
    }

    /// The ports' names, in the order of their indices.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The times received since the last call.
    pub fn drain(&self) -> impl Iterator<Item = MtcSeen> + '_ {
        self.received.try_iter()
    }
}

fn connect(
    pattern: &str,
    index: usize,
    tx: Sender<MtcSeen>,
) -> Result<(String, MidiInputConnection<()>), MidiError> {
    let mut parser = MtcParser::new();
    let mut first_ns = None;
    open_input(pattern, "cuebox-mtc", move |message| {
        let at_ns = monotonic_ns();
        let first_ns = *first_ns.get_or_insert(at_ns);
        for &byte in message {
            if let Some(event) = parser.feed(byte) {
                let _ = tx.send(MtcSeen {
                    port: index,
                    event,
                    at_ns,
                    first_ns,
                });
            }
        }
    })
}
