//! Pages, tabs and button grids.

use std::num::NonZeroU16;

use serde::{Deserialize, Serialize};

use super::ids::{ClipId, GridDims, GridPos, PageNo, TabIndex};
use super::Extra;

/// How many pages are on screen, and which one has focus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum PageView {
    /// One page on screen.
    Single {
        /// The page shown (and focused).
        page: PageNo,
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
    /// Two pages side by side; keys and controllers act on the focused one.
    Dual {
        /// The page on the left.
        left: PageNo,
        /// The page on the right.
        right: PageNo,
        /// Which side has focus.
        focus: Side,
        /// Fields this version does not know, kept for a round trip.
        #[serde(flatten)]
        extra: Extra,
    },
}

impl PageView {
    /// The pages on screen: the ones a box keeps armed.
    pub fn pages(&self) -> Vec<PageNo> {
        match self {
            PageView::Single { page, .. } => vec![*page],
            PageView::Dual { left, right, .. } => vec![*left, *right],
        }
    }

    /// The page that has focus.
    pub fn focused(&self) -> PageNo {
        match self {
            PageView::Single { page, .. } => *page,
            PageView::Dual {
                left, right, focus, ..
            } => match focus {
                Side::Left => *left,
                Side::Right => *right,
            },
        }
    }
}

impl Default for PageView {
    fn default() -> Self {
        PageView::Single {
            page: PageNo::FIRST,
            extra: Extra::new(),
        }
    }
}

/// A side of a dual-page view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The left page.
    Left,
    /// The right page.
    Right,
}

/// A page: always exactly eight tabs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// What the operator calls it.
    #[serde(default)]
    pub name: String,
    /// The eight tabs.
    pub tabs: [Tab; TabIndex::COUNT],
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Page {
    /// A page named `name` whose tabs all have grids of `dims`.
    pub fn new(name: impl Into<String>, dims: GridDims) -> Self {
        Page {
            name: name.into(),
            tabs: std::array::from_fn(|i| Tab {
                name: format!("Tab {}", i + 1),
                colour: None,
                grid: Grid::new(dims),
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        }
    }
}

/// A tab: a named grid of buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tab {
    /// What the operator calls it.
    #[serde(default)]
    pub name: String,
    /// Its colour on screen, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<Colour>,
    /// Its buttons.
    pub grid: Grid,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A grid of buttons with its resize history.
///
/// Shrinking a grid never deletes an assignment: buttons outside the current
/// dimensions are kept, hidden, and come back when the grid grows again or the
/// resize is undone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Current number of rows.
    pub rows: NonZeroU16,
    /// Current number of columns.
    pub cols: NonZeroU16,
    /// Assigned buttons, including hidden ones outside `dims`.
    #[serde(default)]
    pub buttons: Vec<Button>,
    /// Incremented on every change of layout.
    #[serde(default)]
    pub layout_version: u32,
    /// When the grid was last resized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resized: Option<jiff::Timestamp>,
    /// Dimensions before the last resize, for undo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<GridDims>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Grid {
    /// An empty grid of `dims`.
    pub fn new(dims: GridDims) -> Self {
        Grid {
            rows: dims.rows,
            cols: dims.cols,
            buttons: Vec::new(),
            layout_version: 1,
            last_resized: None,
            previous: None,
            extra: Extra::new(),
        }
    }

    /// Current dimensions.
    pub fn dims(&self) -> GridDims {
        GridDims {
            rows: self.rows,
            cols: self.cols,
        }
    }

    fn set_dims(&mut self, dims: GridDims) {
        self.rows = dims.rows;
        self.cols = dims.cols;
    }

    /// The button at `pos`, visible or hidden.
    pub fn button_at(&self, pos: GridPos) -> Option<&Button> {
        self.buttons.iter().find(|b| b.pos() == pos)
    }

    /// Whether the button is inside the current dimensions.
    pub fn is_visible(&self, button: &Button) -> bool {
        self.dims().contains(button.pos())
    }

    /// Changes the dimensions, remembering the old ones for [`Grid::undo_resize`].
    pub fn resize(&mut self, dims: GridDims, now: jiff::Timestamp) {
        self.previous = Some(self.dims());
        self.set_dims(dims);
        self.touch(now);
    }

    /// Goes back to the dimensions before the last resize (and undoing again
    /// redoes it). Returns the restored dimensions, or `None` when the grid has
    /// never been resized.
    pub fn undo_resize(&mut self, now: jiff::Timestamp) -> Option<GridDims> {
        let previous = self.previous?;
        self.previous = Some(self.dims());
        self.set_dims(previous);
        self.touch(now);
        Some(previous)
    }

    fn touch(&mut self, now: jiff::Timestamp) {
        self.layout_version = self.layout_version.saturating_add(1);
        self.last_resized = Some(now);
    }
}

/// A button: a grid position assigned to a clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Button {
    /// Row, from 1.
    pub row: NonZeroU16,
    /// Column, from 1.
    pub col: NonZeroU16,
    /// The clip it plays.
    pub clip: ClipId,
    /// Text on the button, if not the clip's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Button {
    /// A button at `pos` playing `clip`.
    pub fn new(pos: GridPos, clip: ClipId) -> Self {
        Button {
            row: pos.row,
            col: pos.col,
            clip,
            label: None,
            extra: Extra::new(),
        }
    }

    /// Its position.
    pub fn pos(&self) -> GridPos {
        GridPos {
            row: self.row,
            col: self.col,
        }
    }
}

/// A colour as `#rrggbb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Colour([u8; 3]);

impl TryFrom<String> for Colour {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Colour> for String {
    fn from(c: Colour) -> String {
        c.to_string()
    }
}

impl std::str::FromStr for Colour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hex = s
            .strip_prefix('#')
            .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| format!("{s:?} is not a colour: #rrggbb, like #3366ff"))?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).expect("checked hex");
        Ok(Colour([byte(0), byte(2), byte(4)]))
    }
}

impl std::fmt::Display for Colour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}
