//! MIDI input ports through midir: found by a part of their name, opened
//! with every message (SysEx included) handed to a callback on midir's thread.

use midir::{MidiInput, MidiInputConnection};

/// Why a MIDI input could not open.
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    /// The MIDI system is unreachable.
    #[error(
        "cannot reach the MIDI system: {0}; the box needs the ALSA sequencer (/dev/snd/seq, \
         `modprobe snd-seq`)"
    )]
    Init(#[from] midir::InitError),
    /// No port matches.
    #[error("no MIDI input port matches \"{pattern}\"; the ports are: {available}")]
    NoPort {
        /// What was asked.
        pattern: String,
        /// What there is.
        available: String,
    },
    /// A port could not be opened.
    #[error("cannot open MIDI port \"{port}\": {reason}")]
    Connect {
        /// The port.
        port: String,
        /// midir's reason.
        reason: String,
    },
}

/// Opens the first input port whose name contains `pattern`, as
/// connection `name`; `on_message` gets each message's bytes.
pub fn open_input(
    pattern: &str,
    name: &str,
    mut on_message: impl FnMut(&[u8]) + Send + 'static,
) -> Result<(String, MidiInputConnection<()>), MidiError> {
    let mut input = MidiInput::new("cuebox")?;
    // Everything, SysEx included: MTC full frames and MSC are SysEx.
    input.ignore(midir::Ignore::None);
    let ports = input.ports();
    let found = ports.iter().find_map(|p| {
        let name = input.port_name(p).ok()?;
        name.contains(pattern).then(|| (p.clone(), name))
    });
    let Some((port, port_name)) = found else {
        let available: Vec<String> = ports
            .iter()
            .filter_map(|p| input.port_name(p).ok())
            .collect();
        return Err(MidiError::NoPort {
            pattern: pattern.to_string(),
            available: if available.is_empty() {
                "none".into()
            } else {
                available.join(", ")
            },
        });
    };
    let connection = input
        .connect(&port, name, move |_, message, _| on_message(message), ())
        .map_err(|e| MidiError::Connect {
            port: port_name.clone(),
            reason: e.to_string(),
        })?;
    Ok((port_name, connection))
}
