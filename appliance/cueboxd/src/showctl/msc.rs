//! MIDI Show Control as the box acts on it: which messages are for it, and
//! what each asks. The MIDI input and the UDP socket both hand their bytes
//! here. A cue number resolves like an OSC one (`N`, `TAB.N`,
//! `PAGE.TAB.N`); a cue list, when sent, names the page.

use cuebox_engine::control::cues::Place;
use cuebox_engine::control::msc::{self, Command, Cue, Message};

use super::Action;

/// Frames per second MSC TIMED_GO frames are counted at.
const TIMED_GO_FPS: f64 = 30.0;

/// What `bytes` ask of a box with device id `device` (and group `group`),
/// whose controllers are at `place`: `Ok(None)` when the message is for
/// another device or not a sound command.
pub fn action(
    bytes: &[u8],
    device: u8,
    group: Option<u8>,
    place: Place,
) -> Result<Option<Action>, msc::MscError> {
    let message = msc::parse(bytes)?;
    Ok(message
        .is_for(device, group)
        .then(|| translate(&message, place)))
}

fn translate(message: &Message, place: Place) -> Action {
    let text = |cue: &Cue| cue_text(cue, place);
    match &message.command {
        Command::Go(c) => Action::Start {
            cue: text(c),
            time: None,
        },
        Command::TimedGo(t, c) => Action::Start {
            cue: text(c),
            time: Some(t.seconds(TIMED_GO_FPS)),
        },
        Command::Stop(c) => Action::Stop(text(c)),
        Command::Resume(c) => Action::Resume(text(c)),
        Command::Load(c) => Action::Load(text(c).unwrap_or_default()),
        Command::AllOff => Action::Stop(None),
        Command::Reset => Action::Reset,
    }
}

/// The cue number to resolve: the number, with the list as its page.
fn cue_text(cue: &Cue, place: Place) -> Option<String> {
    let number = cue.number.as_deref()?;
    Some(match (&cue.list, number.contains('.')) {
        (None, _) => number.to_owned(),
        (Some(page), true) => format!("{page}.{number}"),
        (Some(page), false) => format!("{page}.{}.{number}", place.tab.number()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuebox_engine::show::TabIndex;

    fn sysex(device: u8, format: u8, command: u8, data: &[u8]) -> Vec<u8> {
        [&[0xF0, 0x7F, device, 0x02, format, command], data, &[0xF7]].concat()
    }

    #[test]
    fn msc_becomes_actions_for_this_box_only() {
        let place = Place {
            tab: TabIndex::from_number(3).unwrap(),
            ..Place::default()
        };
        let act = |bytes: Vec<u8>| action(&bytes, 1, Some(0x70), place).unwrap();
        assert_eq!(
            act(sysex(1, 0x10, 0x01, b"")),
            Some(Action::Start {
                cue: None,
                time: None
            }),
            "GO without a number: the playhead's cue"
        );
        assert_eq!(
            act(sysex(0x7F, 0x7F, 0x01, b"5\x002")),
            Some(Action::Start {
                cue: Some("2.3.5".into()),
                time: None
            }),
            "all-call, cue 5 of list (page) 2 on the current tab"
        );
        assert_eq!(
            act(sysex(0x70, 0x10, 0x02, b"1.4")),
            Some(Action::Stop(Some("1.4".into())))
        );
        assert_eq!(act(sysex(2, 0x10, 0x01, b"")), None, "another device");
        assert_eq!(act(sysex(1, 0x01, 0x01, b"")), None, "a lighting command");
        assert_eq!(
            act(sysex(1, 0x10, 0x04, &[0, 0, 2, 15, 0, b'7'])),
            Some(Action::Start {
                cue: Some("7".into()),
                time: Some(2.5)
            }),
            "TIMED_GO: 2 s 15 frames at 30 fps"
        );
        assert_eq!(
            act(sysex(1, 0x10, 0x05, b"9")),
            Some(Action::Load("9".into()))
        );
        assert_eq!(act(sysex(1, 0x10, 0x08, b"")), Some(Action::Stop(None)));
        assert_eq!(act(sysex(1, 0x10, 0x0A, b"")), Some(Action::Reset));
        assert_eq!(act(sysex(1, 0x10, 0x03, b"")), Some(Action::Resume(None)));
        assert!(action(&[0xF0, 0x7F, 1, 2], 1, None, place).is_err());
    }
}
