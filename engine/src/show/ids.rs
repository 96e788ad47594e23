//! Identifiers and coordinates of the show document.

use std::fmt;
use std::num::NonZeroU16;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The id of a clip, unique within a session (for example `c42`).
///
/// 1 to 64 characters of ASCII letters, digits, `_`, `-` and `.`, starting with
/// a letter or digit, so an id is safe in a file name, a URL and an OSC address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClipId(String);

/// Why a string is not a [`ClipId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("clip id {0:?} is not valid: use 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit")]
pub struct BadClipId(pub String);

impl ClipId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 64;

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id generated for the `n`th clip of a session (`c1`, `c2`, …).
    pub fn numbered(n: u64) -> Self {
        ClipId(format!("c{n}"))
    }

    /// The number in an id made by [`ClipId::numbered`], if it is one.
    pub fn number(&self) -> Option<u64> {
        self.0.strip_prefix('c')?.parse().ok()
    }
}

impl TryFrom<String> for ClipId {
    type Error = BadClipId;
    fn try_from(s: String) -> Result<Self, BadClipId> {
        let ok = (1..=Self::MAX_LEN).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(ClipId(s))
        } else {
            Err(BadClipId(s))
        }
    }
}

impl FromStr for ClipId {
    type Err = BadClipId;
    fn from_str(s: &str) -> Result<Self, BadClipId> {
        Self::try_from(s.to_owned())
    }
}

impl From<ClipId> for String {
    fn from(id: ClipId) -> String {
        id.0
    }
}

impl fmt::Display for ClipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One of the four clip groups. Every clip plays in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Group {
    /// Group A.
    A,
    /// Group B.
    B,
    /// Group C.
    C,
    /// Group D.
    D,
}

impl Group {
    /// All groups, in order.
    pub const ALL: [Group; 4] = [Group::A, Group::B, Group::C, Group::D];
}

/// Why a string is not a [`Group`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("group {0:?} does not exist: use A, B, C or D")]
pub struct BadGroup(pub String);

impl FromStr for Group {
    type Err = BadGroup;
    fn from_str(s: &str) -> Result<Self, BadGroup> {
        match s.trim() {
            "A" | "a" => Ok(Group::A),
            "B" | "b" => Ok(Group::B),
            "C" | "c" => Ok(Group::C),
            "D" | "d" => Ok(Group::D),
            other => Err(BadGroup(other.to_owned())),
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Group::A => "A",
            Group::B => "B",
            Group::C => "C",
            Group::D => "D",
        };
        f.write_str(s)
    }
}

/// The dimensions of a tab's button grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridDims {
    /// Number of rows (at least 1).
    pub rows: NonZeroU16,
    /// Number of columns (at least 1).
    pub cols: NonZeroU16,
}

impl GridDims {
    /// The largest grid a tab may have in either direction.
    pub const MAX: u16 = 32;

    /// Dimensions from row and column counts, refusing 0 and anything above [`GridDims::MAX`].
    pub fn new(rows: u16, cols: u16) -> Option<Self> {
        let dim = |n: u16| NonZeroU16::new(n).filter(|n| n.get() <= Self::MAX);
        Some(GridDims {
            rows: dim(rows)?,
            cols: dim(cols)?,
        })
    }

    /// Whether a position lies inside these dimensions.
    pub fn contains(&self, pos: GridPos) -> bool {
        pos.row <= self.rows && pos.col <= self.cols
    }
}

impl fmt::Display for GridDims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.rows, self.cols)
    }
}

/// A button position in a grid, numbered from 1 as a user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GridPos {
    /// Row, from 1 at the top.
    pub row: NonZeroU16,
    /// Column, from 1 at the left.
    pub col: NonZeroU16,
}

impl GridPos {
    /// A position from 1-based row and column numbers; `None` for 0.
    pub fn new(row: u16, col: u16) -> Option<Self> {
        Some(GridPos {
            row: NonZeroU16::new(row)?,
            col: NonZeroU16::new(col)?,
        })
    }
}

/// Why a string is not a [`GridPos`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("grid position {0:?} is not ROW,COL with both numbered from 1 (for example 2,5)")]
pub struct BadGridPos(pub String);

impl FromStr for GridPos {
    type Err = BadGridPos;
    fn from_str(s: &str) -> Result<Self, BadGridPos> {
        let bad = || BadGridPos(s.to_owned());
        let (r, c) = s.split_once(',').ok_or_else(bad)?;
        let r = r.trim().parse().map_err(|_| bad())?;
        let c = c.trim().parse().map_err(|_| bad())?;
        GridPos::new(r, c).ok_or_else(bad)
    }
}

impl fmt::Display for GridPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.row, self.col)
    }
}

/// The index of a tab within a page: there are always exactly [`TabIndex::COUNT`] tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TabIndex(u8);

impl TabIndex {
    /// Tabs per page.
    pub const COUNT: usize = 8;

    /// The tab a user calls `n` (1 to 8).
    pub fn from_number(n: usize) -> Option<Self> {
        (1..=Self::COUNT)
            .contains(&n)
            .then(|| TabIndex((n - 1) as u8))
    }

    /// The 0-based index into a page's tabs.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The number a user sees (1 to 8).
    pub fn number(self) -> usize {
        self.index() + 1
    }
}

/// A page of the show, numbered from 1 as a user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PageNo(pub NonZeroU16);

impl PageNo {
    /// Page 1.
    pub const FIRST: PageNo = PageNo(NonZeroU16::MIN);

    /// The page a user calls `n`; `None` for 0.
    pub fn new(n: u16) -> Option<Self> {
        NonZeroU16::new(n).map(PageNo)
    }

    /// The 0-based index into the show's pages.
    pub fn index(self) -> usize {
        usize::from(self.0.get()) - 1
    }
}

impl fmt::Display for PageNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A position in a clip's audio, in sample frames from its first frame.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Frames(pub u64);

impl fmt::Display for Frames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A logical channel (an output or input of the show, numbered from 1); the
/// box's device map turns it into a physical channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogicalChannel(pub NonZeroU16);

impl LogicalChannel {
    /// The highest logical channel number a show may use.
    pub const MAX: u16 = 64;

    /// Logical channel `n`; `None` for 0.
    pub fn new(n: u16) -> Option<Self> {
        NonZeroU16::new(n).map(LogicalChannel)
    }
}

impl std::str::FromStr for LogicalChannel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.parse::<u16>()
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .and_then(LogicalChannel::new)
            .ok_or_else(|| format!("{s:?} is not an output: 1 to {}", Self::MAX))
    }
}

impl fmt::Display for LogicalChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
