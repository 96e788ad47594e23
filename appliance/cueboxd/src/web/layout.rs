//! The show as the operator's page draws it: pages of 8 tabs, each tab's
//! grid at its size, each button's clip with its name, group, cue number
//! and length. Made once when a session starts (it changes only with the
//! session), served as JSON.

use cuebox_engine::control::cues::{CueMap, Place};
use cuebox_engine::show::{PageNo, Show, TabIndex};
use serde::Serialize;

/// The pages of the playing show.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Layout {
    /// Its pages, in order.
    pub pages: Vec<PageLayout>,
}

/// A page: its name and its 8 tabs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageLayout {
    /// The page's name.
    pub name: String,
    /// Its tabs, 1 to 8.
    pub tabs: Vec<TabLayout>,
}

/// A tab: its grid's size and buttons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TabLayout {
    /// The tab's name.
    pub name: String,
    /// Rows of the grid.
    pub rows: u16,
    /// Columns of the grid.
    pub cols: u16,
    /// The buttons shown (hidden ones, outside a shrunk grid, are left out).
    pub buttons: Vec<ButtonLayout>,
}

/// A button and the clip it plays.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ButtonLayout {
    /// Row, from 1 at the top.
    pub row: u16,
    /// Column, from 1 at the left.
    pub col: u16,
    /// The clip's id (what commands name).
    pub clip: String,
    /// The button's label, else the clip's name.
    pub name: String,
    /// The clip's group, `A` to `D`.
    pub group: String,
    /// Its cue number, `page.tab.button`.
    pub cue: Option<String>,
    /// The clip's length, seconds.
    pub seconds: f64,
}

impl Layout {
    /// The layout of `show`.
    pub fn of(show: &Show) -> Layout {
        let cues = CueMap::new(show);
        let pages = show
            .pages
            .iter()
            .enumerate()
            .map(|(p, page)| PageLayout {
                name: page.name.clone(),
                tabs: page
                    .tabs
                    .iter()
                    .enumerate()
                    .map(|(t, tab)| {
                        let place = u16::try_from(p + 1)
                            .ok()
                            .and_then(PageNo::new)
                            .zip(TabIndex::from_number(t + 1))
                            .map(|(page, tab)| Place { page, tab });
                        let grid = &tab.grid;
                        let buttons = grid
                            .buttons
                            .iter()
                            .filter(|b| grid.is_visible(b))
                            .filter_map(|b| {
                                let clip = show.clips.iter().find(|c| c.id == b.clip)?;
                                let cue = place.and_then(|pl| cues.at(pl, b.pos()));
                                Some(ButtonLayout {
                                    row: b.row.get(),
                                    col: b.col.get(),
                                    clip: clip.id.to_string(),
                                    name: b.label.clone().unwrap_or_else(|| clip.name.clone()),
                                    group: clip.group.to_string(),
                                    cue: cue.and_then(|c| c.number).map(|n| n.to_string()),
                                    seconds: clip.audio.format.duration_secs(),
                                })
                            })
                            .collect();
                        TabLayout {
                            name: tab.name.clone(),
                            rows: grid.rows.get(),
                            cols: grid.cols.get(),
                            buttons,
                        }
                    })
                    .collect(),
            })
            .collect();
        Layout { pages }
    }
}
