//! The live state a box keeps for a show across restarts: where show
//! controllers stand (page, tab, playhead), the show lock, and the group
//! levels changed during the performance. The box writes it; a host's push
//! carries whatever the designer's copy holds (usually nothing).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Extra, Group, PageNo, TabIndex};

/// Where a controller is: the page and tab its numbers and buttons play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The page.
    pub page: PageNo,
    /// The tab of the page.
    pub tab: TabIndex,
}

impl Default for Place {
    fn default() -> Self {
        Place {
            page: PageNo::FIRST,
            tab: TabIndex::from_number(1).expect("tab 1 exists"),
        }
    }
}

/// Where show controllers are: the page and tab their numbers and grid
/// buttons play, and the playhead — the cue the next GO starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deck {
    /// Page and tab.
    #[serde(flatten)]
    pub place: Place,
    /// Where the playhead stands on that tab.
    #[serde(default)]
    pub playhead: Playhead,
}

/// Where the playhead stands: `"top"`, `{"button": N}` or `"end"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Playhead {
    /// At the tab's first cue.
    #[default]
    Top,
    /// At this button, or the first assigned one after it (if it was cleared).
    #[serde(rename = "button")]
    At(u32),
    /// Past the last cue: a bare GO starts nothing (it never wraps to the top).
    End,
}

/// The live state of a show on a box.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    /// Where show controllers stand.
    #[serde(default)]
    pub deck: Deck,
    /// Locked for the performance: edits and pushes are refused.
    #[serde(default)]
    pub locked: bool,
    /// Group levels set live (dB), in place of `busses.groups`' levels
    /// until the show is pushed again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub group_levels: BTreeMap<Group, f64>,
    /// Fields this version does not know, kept for a round trip.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Runtime {
    /// Whether it holds nothing but the defaults (and is left out of a manifest).
    pub fn is_default(&self) -> bool {
        *self == Runtime::default()
    }
}

impl Serialize for TabIndex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number() as u8)
    }
}

impl<'de> Deserialize<'de> for TabIndex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        usize::try_from(n)
            .ok()
            .and_then(TabIndex::from_number)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "tab {n} does not exist: a page has tabs 1 to {}",
                    TabIndex::COUNT
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runtime_reads_back_as_written_in_the_documented_shape() {
        let runtime = Runtime {
            deck: Deck {
                place: Place {
                    page: PageNo::new(2).unwrap(),
                    tab: TabIndex::from_number(3).unwrap(),
                },
                playhead: Playhead::At(7),
            },
            locked: true,
            group_levels: BTreeMap::from([(Group::B, -6.0)]),
            extra: Extra::new(),
        };
        let json = serde_json::to_value(&runtime).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "deck": {"page": 2, "tab": 3, "playhead": {"button": 7}},
                "locked": true,
                "group_levels": {"B": -6.0}
            })
        );
        assert_eq!(serde_json::from_value::<Runtime>(json).unwrap(), runtime);
        let end: Deck =
            serde_json::from_str(r#"{"page": 1, "tab": 8, "playhead": "end"}"#).unwrap();
        assert_eq!(end.playhead, Playhead::End);
    }

    #[test]
    fn a_tab_outside_1_to_8_is_refused_by_number() {
        let e = serde_json::from_str::<Deck>(r#"{"page": 1, "tab": 9}"#).unwrap_err();
        assert!(e.to_string().contains("tab 9 does not exist"), "{e}");
        assert!(serde_json::from_str::<Deck>(r#"{"page": 1, "tab": 0}"#).is_err());
    }
}
