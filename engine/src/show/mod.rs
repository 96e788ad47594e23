//! The show document: everything a session says about a show.
//!
//! A [`Show`] is loaded from and saved as a versioned JSON manifest
//! ([`Show::load`], [`Show::to_json`]), checked by [`Show::validate`] (which
//! reports every problem at once, each with its JSON path), and edited through
//! methods that keep it consistent ([`Show::add_clip`], [`Show::resize_grid`],
//! [`Show::undo_resize`]). Fields this version does not know are kept in the
//! `extra` map of the object they appeared in and written back unchanged.

mod analysis;
mod clip;
mod config;
mod device_map;
mod edit;
mod fields;
mod ids;
mod load;
mod migrate;
mod pages;
mod processing;
mod runtime;
mod validate;
mod version;

pub use analysis::*;
pub use clip::*;
pub use config::*;
pub use device_map::*;
pub use edit::{
    ClipChanges, FadeChange, GroupChanges, LoopChange, PointSpec, RightsChanges, TimeSpec,
};
pub use fields::{known_field_paths, UnknownField};
pub use ids::*;
pub use load::{
    check_size, FieldError, LoadError, Loaded, MAX_MANIFEST_BYTES, MAX_MANIFEST_VALUES,
};
pub use migrate::MigrationError;
pub use pages::*;
pub use processing::*;
pub use runtime::*;
pub use validate::{Issue, Problem};
pub use version::*;

use serde::{Deserialize, Serialize};

/// A document as pretty-printed JSON with a final newline, as cuebox writes
/// its files.
pub(crate) fn pretty_json(value: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value)
        .expect("cuebox documents have only string map keys, so they always serialise");
    out.push(b'\n');
    out
}

/// Fields of an object that this version does not know, kept for a round trip.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// A show: pages of tabs of buttons, the clips they play, and the session's
/// configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Show {
    /// Format of the manifest this show was read from or will be written as.
    pub format_version: FormatVersion,
    /// Identity and media folder.
    pub session: SessionInfo,
    /// Single or dual page view and focus.
    #[serde(default)]
    pub page_view: PageView,
    /// The pages, at least one.
    pub pages: Vec<Page>,
    /// Every clip of the session.
    #[serde(default)]
    pub clips: Vec<Clip>,
    /// Output and input busses, group settings.
    #[serde(default)]
    pub busses: Busses,
    /// Global fade defaults.
    #[serde(default)]
    pub fade_defaults: FadeDefaults,
    /// Protection fade settings.
    #[serde(default)]
    pub protection: Protection,
    /// DSP load thresholds.
    #[serde(default)]
    pub resources: Resources,
    /// Time-source priority and quality thresholds.
    #[serde(default)]
    pub time_sources: TimeSources,
    /// Session tempo map, overrides and sync configuration.
    #[serde(default)]
    pub analysis: SessionAnalysis,
    /// Production, venue and rights reporting.
    #[serde(default)]
    pub show_info: ShowInfo,
    /// The live state the box keeps across restarts (playhead, lock, live
    /// group levels); absent until a box records some.
    #[serde(default, skip_serializing_if = "Runtime::is_default")]
    pub runtime: Runtime,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Identity of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Stable id, kept across renames and copies to other boxes.
    pub id: uuid::Uuid,
    /// What the operator calls it.
    pub name: String,
    /// The media folder: absolute, or relative to the session folder.
    pub media_folder: String,
    /// When it was created.
    pub created: jiff::Timestamp,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where a new button goes: a page, a tab and a grid position, all as a user numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The page.
    pub page: PageNo,
    /// The tab.
    pub tab: TabIndex,
    /// The position in the tab's grid.
    pub pos: GridPos,
}

/// A clip to add: everything but its id, which the show assigns.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClip {
    /// What the operator calls it.
    pub name: String,
    /// Its group.
    pub group: Group,
    /// Its audio.
    pub audio: AudioRef,
}

/// An edit the show refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The page does not exist.
    #[error("page {page} does not exist: the show has {pages} page(s)")]
    NoSuchPage {
        /// The page asked for.
        page: PageNo,
        /// How many pages there are.
        pages: usize,
    },
    /// The position is outside the tab's grid.
    #[error(
        "position {pos} is outside the {dims} grid of page {page} tab {tab}; resize the grid first"
    )]
    OutsideGrid {
        /// The position asked for.
        pos: GridPos,
        /// The grid's size.
        dims: GridDims,
        /// The page.
        page: PageNo,
        /// The tab, numbered from 1.
        tab: usize,
    },
    /// A button is already there.
    #[error("position {pos} on page {page} tab {tab} already plays clip \"{clip}\"")]
    Occupied {
        /// The position asked for.
        pos: GridPos,
        /// The clip already there.
        clip: ClipId,
        /// The page.
        page: PageNo,
        /// The tab, numbered from 1.
        tab: usize,
    },
    /// The grid has never been resized, so there is nothing to undo.
    #[error("page {page} tab {tab} has not been resized, so there is nothing to undo")]
    NothingToUndo {
        /// The page.
        page: PageNo,
        /// The tab, numbered from 1.
        tab: usize,
    },
    /// A show keeps at least one page.
    #[error("a show has at least one page: add another before removing this one")]
    LastPage,
    /// No clip has this id.
    #[error("there is no clip \"{0}\"; `hostctl session show` lists the clips")]
    NoSuchClip(ClipId),
    /// The clip has no button.
    #[error("clip \"{0}\" has no button")]
    NoButton(ClipId),
    /// No marker (analysis section) of the clip has this name.
    #[error("clip \"{clip}\" has no marker \"{name}\"; its markers: {known}")]
    NoMarker {
        /// The clip.
        clip: ClipId,
        /// The name asked for.
        name: String,
        /// The names it has, comma-separated (`none` when it has none).
        known: String,
    },
    /// A setting the clip's channel layout does not have.
    #[error("clip \"{clip}\": {what}")]
    Layout {
        /// The clip.
        clip: ClipId,
        /// What does not apply.
        what: &'static str,
    },
}

/// The unit variant of `T` whose name in the session format is `name`
/// (`s_curve`, `ltc`): how a typed word becomes the format's enum.
pub fn from_name<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

impl Show {
    /// The format this version writes.
    pub const FORMAT: FormatVersion = FormatVersion::new(2, 0);

    /// The grid size of a new session's tabs.
    pub const DEFAULT_GRID: (u16, u16) = (4, 8);

    /// A new, empty show named `name`, with one page whose tabs have `dims` grids.
    pub fn new(
        name: impl Into<String>,
        media_folder: impl Into<String>,
        dims: GridDims,
        now: jiff::Timestamp,
    ) -> Self {
        Show {
            format_version: Self::FORMAT,
            session: SessionInfo {
                id: uuid::Uuid::new_v4(),
                name: name.into(),
                media_folder: media_folder.into(),
                created: now,
                extra: Extra::new(),
            },
            page_view: PageView::default(),
            pages: vec![Page::new("Page 1", dims)],
            clips: Vec::new(),
            busses: Busses::default(),
            fade_defaults: FadeDefaults::default(),
            protection: Protection::default(),
            resources: Resources::default(),
            time_sources: TimeSources::default(),
            analysis: SessionAnalysis::default(),
            show_info: ShowInfo::default(),
            runtime: Runtime::default(),
            extra: Extra::new(),
        }
    }

    /// The manifest as pretty-printed JSON.
    pub fn to_json(&self) -> Vec<u8> {
        pretty_json(self)
    }

    /// The clip with this id.
    pub fn clip(&self, id: &ClipId) -> Option<&Clip> {
        self.clips.iter().find(|c| &c.id == id)
    }

    /// Whether `clip` chases timecode: its own `timecode_chase`, or the
    /// whole transport's (`time_sources.chase`) when it has a trigger.
    pub fn chases(&self, clip: &Clip) -> bool {
        clip.timecode_trigger.is_some() && (clip.timecode_chase || self.time_sources.chase)
    }

    /// A tab of a page.
    pub fn tab(&self, page: PageNo, tab: TabIndex) -> Result<&Tab, EditError> {
        let pages = self.pages.len();
        self.pages
            .get(page.index())
            .map(|p| &p.tabs[tab.index()])
            .ok_or(EditError::NoSuchPage { page, pages })
    }

    fn tab_mut(&mut self, page: PageNo, tab: TabIndex) -> Result<&mut Tab, EditError> {
        let pages = self.pages.len();
        self.pages
            .get_mut(page.index())
            .map(|p| &mut p.tabs[tab.index()])
            .ok_or(EditError::NoSuchPage { page, pages })
    }

    /// Every button with its page and tab, in page, tab, row, column order.
    pub fn buttons(&self) -> impl Iterator<Item = (PageNo, TabIndex, &Tab, &Button)> {
        self.pages.iter().enumerate().flat_map(|(p, page)| {
            let page_no = PageNo::new(p as u16 + 1).expect("page numbers start at 1");
            page.tabs.iter().enumerate().flat_map(move |(t, tab)| {
                let tab_ix = TabIndex::from_number(t + 1).expect("a page has 8 tabs");
                let mut buttons: Vec<_> = tab.grid.buttons.iter().collect();
                buttons.sort_by_key(|b| b.pos());
                buttons.into_iter().map(move |b| (page_no, tab_ix, tab, b))
            })
        })
    }

    /// Whether a new button can go at `at`: the page exists, the position is
    /// inside the tab's grid and no button is there.
    pub fn check_placement(&self, at: Placement) -> Result<(), EditError> {
        let tab = at.tab.number();
        let grid = &self.tab(at.page, at.tab)?.grid;
        if !grid.dims().contains(at.pos) {
            return Err(EditError::OutsideGrid {
                pos: at.pos,
                dims: grid.dims(),
                page: at.page,
                tab,
            });
        }
        match grid.button_at(at.pos) {
            Some(b) => Err(EditError::Occupied {
                pos: at.pos,
                clip: b.clip.clone(),
                page: at.page,
                tab,
            }),
            None => Ok(()),
        }
    }

    /// Adds a clip and a button for it at `at`; returns the new clip's id.
    pub fn add_clip(&mut self, new: NewClip, at: Placement) -> Result<ClipId, EditError> {
        self.check_placement(at)?;
        let id = self.next_clip_id();
        let grid = &mut self.tab_mut(at.page, at.tab)?.grid;
        grid.buttons.push(Button::new(at.pos, id.clone()));
        grid.layout_version = grid.layout_version.saturating_add(1);
        let panning = Panning::centred(new.audio.format.channels);
        self.clips.push(Clip {
            id: id.clone(),
            name: new.name,
            group: new.group,
            audio: new.audio,
            processing: Processing {
                panning,
                ..Processing::default()
            },
            analysis: ClipAnalysis::Pending,
            timecode_trigger: None,
            timecode_chase: false,
            extra: Extra::new(),
        });
        Ok(id)
    }

    /// The next free `cN` id.
    fn next_clip_id(&self) -> ClipId {
        let highest = self.clips.iter().filter_map(|c| c.id.number()).max();
        ClipId::numbered(highest.map_or(1, |n| n + 1))
    }

    /// Resizes a tab's grid; buttons outside the new size are kept, hidden.
    pub fn resize_grid(
        &mut self,
        page: PageNo,
        tab: TabIndex,
        dims: GridDims,
        now: jiff::Timestamp,
    ) -> Result<(), EditError> {
        self.tab_mut(page, tab)?.grid.resize(dims, now);
        Ok(())
    }

    /// Undoes a tab's last resize (undoing twice redoes it); returns the restored size.
    pub fn undo_resize(
        &mut self,
        page: PageNo,
        tab: TabIndex,
        now: jiff::Timestamp,
    ) -> Result<GridDims, EditError> {
        self.tab_mut(page, tab)?
            .grid
            .undo_resize(now)
            .ok_or(EditError::NothingToUndo {
                page,
                tab: tab.number(),
            })
    }
}
