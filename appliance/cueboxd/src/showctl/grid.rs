//! A grid controller's notes and CCs as presses on the box's grid: pure,
//! so every layout is tested without a controller.

use cuebox_engine::show::{GridPos, TabIndex};

use super::config::GridLayout;

/// What a controller's message presses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    /// A pad at this position of the current tab (Launchpad).
    Pad(GridPos),
    /// Button number `n` of the current tab.
    Button(u32),
    /// A tab-select button.
    Tab(TabIndex),
}

/// The press a MIDI message makes on `layout`, listening on `channel`
/// (1–16, or every channel); `None` for releases and anything else.
pub fn press(layout: GridLayout, channel: Option<u8>, message: &[u8]) -> Option<Press> {
    let [status, key, value] = *message else {
        return None;
    };
    if channel.is_some_and(|c| status & 0x0F != c - 1) || value == 0 {
        return None;
    }
    let note_on = status & 0xF0 == 0x90;
    let cc = status & 0xF0 == 0xB0;
    match layout {
        GridLayout::Launchpad => {
            let (row, col) = (key / 10, key % 10);
            if !(1..=8).contains(&row) {
                return None;
            }
            // Programmer mode: row 1 is the bottom row; the box counts from the top.
            let top = 9 - u16::from(row);
            match (note_on, cc, col) {
                (true, _, 1..=8) => GridPos::new(top, u16::from(col)).map(Press::Pad),
                (_, true, 9) => TabIndex::from_number(usize::from(top)).map(Press::Tab),
                _ => None,
            }
        }
        GridLayout::Notes(base) if note_on => button(key, base),
        GridLayout::Cc(base) if cc => button(key, base),
        _ => None,
    }
}

fn button(key: u8, base: u8) -> Option<Press> {
    key.checked_sub(base)
        .map(|n| Press::Button(u32::from(n) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launchpad_plays_pads_from_the_top_left_and_its_side_column_picks_tabs() {
        let lp = |m: &[u8]| press(GridLayout::Launchpad, None, m);
        assert_eq!(
            lp(&[0x90, 81, 127]),
            Some(Press::Pad(GridPos::new(1, 1).unwrap()))
        );
        assert_eq!(
            lp(&[0x90, 18, 100]),
            Some(Press::Pad(GridPos::new(8, 8).unwrap()))
        );
        assert_eq!(lp(&[0x90, 81, 0]), None, "a release");
        assert_eq!(lp(&[0x80, 81, 64]), None, "note off");
        assert_eq!(
            lp(&[0xB0, 89, 127]),
            Some(Press::Tab(TabIndex::from_number(1).unwrap()))
        );
        assert_eq!(
            lp(&[0xB0, 19, 127]),
            Some(Press::Tab(TabIndex::from_number(8).unwrap()))
        );
        assert_eq!(lp(&[0xB0, 91, 127]), None, "the top row is not mapped");
        assert_eq!(lp(&[0x90, 9, 127]), None);
        assert_eq!(lp(&[0xF8]), None, "clock");
    }

    #[test]
    fn notes_and_ccs_count_buttons_from_their_base_on_their_channel() {
        let notes = GridLayout::Notes(36);
        assert_eq!(press(notes, None, &[0x90, 36, 1]), Some(Press::Button(1)));
        assert_eq!(press(notes, None, &[0x95, 47, 1]), Some(Press::Button(12)));
        assert_eq!(
            press(notes, Some(1), &[0x95, 47, 1]),
            None,
            "channel 6, not 1"
        );
        assert_eq!(
            press(notes, Some(6), &[0x95, 47, 1]),
            Some(Press::Button(12))
        );
        assert_eq!(press(notes, None, &[0x90, 35, 1]), None, "below the base");
        assert_eq!(
            press(notes, None, &[0xB0, 36, 1]),
            None,
            "a CC on a note layout"
        );
        let cc = GridLayout::Cc(20);
        assert_eq!(press(cc, None, &[0xB0, 22, 127]), Some(Press::Button(3)));
        assert_eq!(press(cc, None, &[0xB0, 22, 0]), None);
    }
}
