//! Cue numbers as show controllers send them — an OSC `/cue/<n>`, an MSC
//! cue number, a grid controller's button — resolved to the session's clips.
//!
//! A cue number names a button: `N` is button N of the controller's current
//! tab, `T.N` button N of tab T of its current page, and `P.T.N` spells the
//! page out too. Buttons are numbered row by row from the top left, from 1:
//! button N of a tab of C columns sits at row `(N-1)/C + 1`, column
//! `(N-1)%C + 1`. Numbers follow positions, so assigning or clearing one
//! button never renumbers another. A clip's id (`c12`) names it directly
//! and takes precedence over a number.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

pub use crate::show::Place;
use crate::show::{ClipId, GridDims, GridPos, PageNo, Show, TabIndex};

/// A button's full cue number: page, tab, button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CueNumber {
    /// The page.
    pub page: PageNo,
    /// The tab.
    pub tab: TabIndex,
    /// The button, numbered row by row from 1.
    pub button: u32,
}

impl CueNumber {
    /// The place the cue is on.
    pub fn place(&self) -> Place {
        Place {
            page: self.page,
            tab: self.tab,
        }
    }
}

impl fmt::Display for CueNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.page, self.tab.number(), self.button)
    }
}

/// A cue: a numbered button and the clip it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    /// Its full number (for a clip named by id, its first button, if any).
    pub number: Option<CueNumber>,
    /// The clip.
    pub clip: ClipId,
}

/// Why a cue number names no clip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CueError {
    /// Neither a clip id of the session nor `N`, `T.N` or `P.T.N`.
    #[error("cue \"{0}\" is neither a clip id of the session nor a button number N, TAB.N or PAGE.TAB.N")]
    Malformed(String),
    /// The page is not in the session.
    #[error("cue \"{text}\": the session has no page {page} (it has {pages})")]
    NoPage {
        /// What was asked.
        text: String,
        /// The page.
        page: u32,
        /// How many pages there are.
        pages: usize,
    },
    /// The tab is not 1 to 8.
    #[error("cue \"{text}\": tab {tab} does not exist (tabs are 1 to 8)")]
    NoTab {
        /// What was asked.
        text: String,
        /// The tab.
        tab: u32,
    },
    /// The button is outside the tab's grid, or no clip is assigned to it.
    #[error("cue \"{text}\": button {number} has no clip (its tab's grid is {dims})")]
    Empty {
        /// What was asked.
        text: String,
        /// The button.
        number: CueNumber,
        /// The tab's grid.
        dims: GridDims,
    },
}

/// The visible, assigned buttons of one tab, by number.
#[derive(Debug, Clone)]
struct TabCues {
    dims: GridDims,
    buttons: BTreeMap<u32, ClipId>,
}

impl TabCues {
    fn number(&self, pos: GridPos) -> u32 {
        u32::from(pos.row.get() - 1) * u32::from(self.dims.cols.get()) + u32::from(pos.col.get())
    }
}

/// Every page's and tab's cues, built once per session.
#[derive(Debug, Clone, Default)]
pub struct CueMap {
    pages: Vec<Vec<TabCues>>,
    ids: HashSet<ClipId>,
}

impl CueMap {
    /// The cues of `show`: its visible assigned buttons (a button hidden by a
    /// shrunk grid plays nothing until the grid grows again).
    pub fn new(show: &Show) -> Self {
        let pages = show
            .pages
            .iter()
            .map(|page| {
                page.tabs
                    .iter()
                    .map(|tab| {
                        let dims = tab.grid.dims();
                        let mut cues = TabCues {
                            dims,
                            buttons: BTreeMap::new(),
                        };
                        for b in tab.grid.buttons.iter().filter(|b| dims.contains(b.pos())) {
                            cues.buttons.insert(cues.number(b.pos()), b.clip.clone());
                        }
                        cues
                    })
                    .collect()
            })
            .collect();
        CueMap {
            pages,
            ids: show.clips.iter().map(|c| c.id.clone()).collect(),
        }
    }

    /// How many pages the session has.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    fn tab(&self, place: Place) -> Option<&TabCues> {
        self.pages.get(place.page.index())?.get(place.tab.index())
    }

    /// The grid of the tab at `place`, if the page exists.
    pub fn dims(&self, place: Place) -> Option<GridDims> {
        self.tab(place).map(|t| t.dims)
    }

    /// The cue `text` names for a controller at `place`.
    pub fn resolve(&self, text: &str, place: Place) -> Result<Cue, CueError> {
        if let Some(id) = self.ids.iter().find(|id| id.as_str() == text) {
            return Ok(Cue {
                number: self.number_of(id),
                clip: id.clone(),
            });
        }
        let malformed = || CueError::Malformed(text.to_owned());
        let parts = text
            .split('.')
            .map(|p| p.parse::<u32>().map_err(|_| malformed()))
            .collect::<Result<Vec<u32>, _>>()?;
        let (page, tab, button) = match parts[..] {
            [n] => (place.page, place.tab, n),
            [t, n] => (place.page, self.tab_index(text, t)?, n),
            [p, t, n] => {
                let page = u16::try_from(p)
                    .ok()
                    .and_then(PageNo::new)
                    .filter(|p| p.index() < self.pages.len())
                    .ok_or_else(|| CueError::NoPage {
                        text: text.to_owned(),
                        page: p,
                        pages: self.pages.len(),
                    })?;
                (page, self.tab_index(text, t)?, n)
            }
            _ => return Err(malformed()),
        };
        let number = CueNumber { page, tab, button };
        let tab_cues = self.tab(number.place()).ok_or_else(|| CueError::NoPage {
            text: text.to_owned(),
            page: u32::from(page.0.get()),
            pages: self.pages.len(),
        })?;
        match tab_cues.buttons.get(&button) {
            Some(clip) => Ok(Cue {
                number: Some(number),
                clip: clip.clone(),
            }),
            None => Err(CueError::Empty {
                text: text.to_owned(),
                number,
                dims: tab_cues.dims,
            }),
        }
    }

    fn tab_index(&self, text: &str, t: u32) -> Result<TabIndex, CueError> {
        TabIndex::from_number(t as usize).ok_or_else(|| CueError::NoTab {
            text: text.to_owned(),
            tab: t,
        })
    }

    /// The cue at grid position `pos` of the tab at `place`, if one is assigned there.
    pub fn at(&self, place: Place, pos: GridPos) -> Option<Cue> {
        let tab = self.tab(place)?;
        if !tab.dims.contains(pos) {
            return None;
        }
        let button = tab.number(pos);
        tab.buttons.get(&button).map(|clip| Cue {
            number: Some(CueNumber {
                page: place.page,
                tab: place.tab,
                button,
            }),
            clip: clip.clone(),
        })
    }

    /// The cues of the tab at `place`, in number order: the order a playhead walks.
    pub fn cues(&self, place: Place) -> impl Iterator<Item = Cue> + '_ {
        self.tab(place).into_iter().flat_map(move |t| {
            t.buttons.iter().map(move |(n, clip)| Cue {
                number: Some(CueNumber {
                    page: place.page,
                    tab: place.tab,
                    button: *n,
                }),
                clip: clip.clone(),
            })
        })
    }

    /// The first cue of `place` after button `after` (from the top when `None`).
    pub fn next(&self, place: Place, after: Option<u32>) -> Option<Cue> {
        self.cues(place)
            .find(|c| after.is_none_or(|a| c.number.is_some_and(|n| n.button > a)))
    }

    /// The last cue of `place` before button `before` (the last of all when `None`).
    pub fn previous(&self, place: Place, before: Option<u32>) -> Option<Cue> {
        self.cues(place)
            .filter(|c| before.is_none_or(|b| c.number.is_some_and(|n| n.button < b)))
            .last()
    }

    /// The first button playing `clip`, in page, tab and number order.
    pub fn number_of(&self, clip: &ClipId) -> Option<CueNumber> {
        self.pages.iter().enumerate().find_map(|(p, tabs)| {
            tabs.iter().enumerate().find_map(|(t, cues)| {
                let (button, _) = cues.buttons.iter().find(|(_, c)| *c == clip)?;
                Some(CueNumber {
                    page: PageNo::new(p as u16 + 1)?,
                    tab: TabIndex::from_number(t + 1)?,
                    button: *button,
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{add_clip, described_audio, placement};
    use crate::show::{Channels, Group, Page};

    /// Two pages of 2×4 tabs (or 1×4: `rows`); page 1 tab 1 has c1 at 1,1,
    /// c2 at 1,3 and c3 at 2,2; page 2 tab 3 has c4 at 1,2.
    fn map(rows: u16) -> CueMap {
        let dims = GridDims::new(2, 4).unwrap();
        let mut show = Show::new("cues", "media", dims, jiff::Timestamp::UNIX_EPOCH);
        show.pages.push(Page::new("two", dims));
        for (n, (page, tab, r, c)) in [(1, 1, 1, 1), (1, 1, 1, 3), (1, 1, 2, 2), (2, 3, 1, 2)]
            .into_iter()
            .enumerate()
        {
            let audio = described_audio(&format!("{n}.wav"), Channels::Mono, 48_000);
            let at = placement(page, tab, r, c);
            add_clip(&mut show, &format!("clip {n}"), Group::A, audio, at);
        }
        for page in &mut show.pages {
            for tab in &mut page.tabs {
                tab.grid.rows = std::num::NonZeroU16::new(rows).unwrap();
            }
        }
        CueMap::new(&show)
    }

    fn place(page: u16, tab: usize) -> Place {
        Place {
            page: PageNo::new(page).unwrap(),
            tab: TabIndex::from_number(tab).unwrap(),
        }
    }

    fn clip(r: Result<Cue, CueError>) -> String {
        r.map(|c| c.clip.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn numbers_count_row_by_row_from_the_current_place_or_spell_it_out() {
        let m = map(2);
        let here = place(1, 1);
        assert_eq!(clip(m.resolve("1", here)), "c1");
        assert_eq!(clip(m.resolve("3", here)), "c2");
        assert_eq!(
            clip(m.resolve("6", here)),
            "c3",
            "row 2, column 2 of 4 columns"
        );
        assert_eq!(clip(m.resolve("2.3.2", here)), "c4");
        assert_eq!(clip(m.resolve("3.2", place(2, 1))), "c4");
        assert_eq!(
            clip(m.resolve("c4", here)),
            "c4",
            "a clip id names its clip"
        );
        assert_eq!(
            m.resolve("c4", here).unwrap().number.unwrap().to_string(),
            "2.3.2"
        );
    }

    #[test]
    fn a_number_that_names_nothing_says_why() {
        let m = map(2);
        let here = place(1, 1);
        assert_eq!(
            clip(m.resolve("2", here)),
            "cue \"2\": button 1.1.2 has no clip (its tab's grid is 2x4)"
        );
        assert!(clip(m.resolve("9.1.1", here)).contains("no page 9 (it has 2)"));
        assert!(clip(m.resolve("9.1", here)).contains("tab 9 does not exist"));
        assert!(clip(m.resolve("go", here)).contains("neither a clip id"));
        assert!(clip(m.resolve("1..2", here)).contains("neither a clip id"));
        assert!(clip(m.resolve("1.1.1.1", here)).contains("neither a clip id"));
        assert!(clip(m.resolve("", here)).contains("neither a clip id"));
    }

    #[test]
    fn hidden_buttons_play_nothing_and_the_playhead_walks_in_number_order() {
        let m = map(1);
        let here = place(1, 1);
        assert!(
            m.resolve("6", here).is_err(),
            "c3 is hidden by the shrunk grid"
        );
        assert_eq!(
            m.at(here, GridPos::new(1, 3).unwrap())
                .unwrap()
                .clip
                .as_str(),
            "c2"
        );
        assert_eq!(m.at(here, GridPos::new(2, 2).unwrap()), None);
        let order: Vec<String> = m.cues(here).map(|c| c.clip.to_string()).collect();
        assert_eq!(order, ["c1", "c2"]);
        assert_eq!(m.next(here, None).unwrap().clip.as_str(), "c1");
        assert_eq!(m.next(here, Some(1)).unwrap().clip.as_str(), "c2");
        assert_eq!(m.next(here, Some(3)), None);
        assert_eq!(m.previous(here, Some(3)).unwrap().clip.as_str(), "c1");
        assert_eq!(m.previous(here, Some(1)), None);
        assert_eq!(m.previous(here, None).unwrap().clip.as_str(), "c2");
    }
}
