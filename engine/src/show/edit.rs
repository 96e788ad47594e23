//! Authoring edits on a show: a clip's properties, typed as a designer
//! types them (times in seconds, timecode or file frames), and buttons
//! moved, swapped, copied and removed. Each edit is applied to the show in
//! memory; the caller validates the result and saves it (or throws it away):
//! nothing here touches a file.

use std::fmt;
use std::str::FromStr;

use super::config::GroupMode;
use super::ids::{ClipId, Frames, GridDims, Group, LogicalChannel, PageNo, TabIndex};
use super::pages::{Button, Colour, Page, PageView};
use super::processing::{Curve, Fade, LoopRegion, Panning};
use super::{Clip, EditError, Extra, Placement, Show};
use crate::timecode::{FrameRate, Timecode};

/// A time as typed: seconds (`12.5`, `12.5s`), timecode (`00:01:02:10`,
/// at the show's frame rate) or frames of the file (`96000f`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeSpec {
    /// Seconds.
    Seconds(f64),
    /// A timecode, at the show's frame rate.
    Timecode(Timecode),
    /// Frames of the clip's file.
    Frames(u64),
}

impl FromStr for TimeSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "{s:?} is not a time: seconds (12.5 or 12.5s), timecode (00:01:02:10) or file \
                 frames (96000f)"
            )
        };
        if t.matches(':').count() == 3 {
            return t.parse().map(TimeSpec::Timecode).map_err(|_| bad());
        }
        if let Some(frames) = t.strip_suffix('f') {
            return frames.parse().map(TimeSpec::Frames).map_err(|_| bad());
        }
        let seconds: f64 = t
            .strip_suffix('s')
            .unwrap_or(t)
            .parse()
            .map_err(|_| bad())?;
        if seconds.is_finite() && seconds >= 0.0 {
            Ok(TimeSpec::Seconds(seconds))
        } else {
            Err(bad())
        }
    }
}

/// A point in a clip (a cue or loop point) as a user types it: a time
/// (see [`TimeSpec`]), or `marker:NAME`, the start of the clip's analysis
/// section of that name.
#[derive(Debug, Clone, PartialEq)]
pub enum PointSpec {
    /// A time.
    At(TimeSpec),
    /// A marker, by name.
    Marker(String),
}

impl FromStr for PointSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().strip_prefix("marker:") {
            Some(name) if !name.is_empty() => Ok(PointSpec::Marker(name.to_owned())),
            Some(_) => Err(format!(
                "{s:?}: marker:NAME names one of the clip's markers"
            )),
            None => s.parse().map(PointSpec::At),
        }
    }
}

impl PointSpec {
    /// The point in `clip`'s file frames; a timecode counts at the show's `fps`.
    fn frames(&self, clip: &super::Clip, fps: FrameRate) -> Result<Frames, EditError> {
        let name = match self {
            PointSpec::At(t) => return Ok(t.to_frames(clip.audio.format.sample_rate, fps)),
            PointSpec::Marker(name) => name,
        };
        let sections: &[super::Section] = match &clip.analysis {
            super::ClipAnalysis::Done { sections, .. } => sections,
            _ => &[],
        };
        sections
            .iter()
            .find(|s| s.label == *name)
            .map(|s| s.start)
            .ok_or_else(|| {
                let known: Vec<&str> = sections
                    .iter()
                    .map(|s| s.label.as_str())
                    .filter(|l| !l.is_empty())
                    .collect();
                EditError::NoMarker {
                    clip: clip.id.clone(),
                    name: name.clone(),
                    known: if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    },
                }
            })
    }
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSpec::Seconds(s) => write!(f, "{s} s"),
            TimeSpec::Timecode(tc) => write!(f, "{tc}"),
            TimeSpec::Frames(n) => write!(f, "{n}f"),
        }
    }
}

impl TimeSpec {
    /// The time in frames of a file at `rate` Hz; a timecode counts from
    /// 00:00:00:00 at the show's `fps`.
    pub fn to_frames(self, rate: u32, fps: FrameRate) -> Frames {
        let seconds = match self {
            TimeSpec::Frames(n) => return Frames(n),
            TimeSpec::Seconds(s) => s,
            TimeSpec::Timecode(tc) => tc.to_frames(fps) as f64 / fps.fps(),
        };
        Frames((seconds * f64::from(rate)).round() as u64)
    }

    /// The time in milliseconds (a fade's length); file frames at `rate`.
    pub fn to_ms(self, rate: u32, fps: FrameRate) -> f64 {
        match self {
            TimeSpec::Seconds(s) => s * 1000.0,
            other => other.to_frames(rate, fps).0 as f64 * 1000.0 / f64::from(rate.max(1)),
        }
    }
}

/// A fade's new settings; `None` keeps each as it is (from the clip's own
/// fade, or the session default when it has none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FadeChange {
    /// Its length.
    pub time: Option<TimeSpec>,
    /// Its shape.
    pub curve: Option<Curve>,
    /// Equal-power or equal-gain.
    pub power: Option<bool>,
}

impl FadeChange {
    fn is_empty(&self) -> bool {
        *self == FadeChange::default()
    }

    fn apply(&self, fade: &mut Option<Fade>, default: &Fade, rate: u32, fps: FrameRate) {
        if self.is_empty() {
            return;
        }
        let f = fade.get_or_insert_with(|| default.clone());
        if let Some(t) = self.time {
            f.time_ms = t.to_ms(rate, fps);
        }
        if let Some(c) = self.curve {
            f.curve = c;
        }
        if let Some(p) = self.power {
            f.power = p;
        }
    }
}

/// The loop's new settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoopChange {
    /// On or off (on alone loops the whole cue range).
    pub enabled: Option<bool>,
    /// Its start.
    pub start: Option<PointSpec>,
    /// Its end.
    pub end: Option<PointSpec>,
}

/// What `clip set` changes: `None` leaves a property as it is; an inner
/// `None` (`Some(None)`) clears an optional one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClipChanges {
    /// Its name.
    pub name: Option<String>,
    /// Its group.
    pub group: Option<Group>,
    /// Its level, dB.
    pub level_db: Option<f64>,
    /// A mono clip's pan, −1 to +1.
    pub pan: Option<f64>,
    /// A stereo clip's width, 0 to 1.
    pub width: Option<f64>,
    /// A stereo clip's balance, −1 to +1.
    pub balance: Option<f64>,
    /// Its fade in.
    pub fade_in: FadeChange,
    /// Its fade out.
    pub fade_out: FadeChange,
    /// Where playback starts.
    pub cue_in: Option<PointSpec>,
    /// Where playback ends (`Some(None)`: the file's end).
    pub cue_out: Option<Option<PointSpec>>,
    /// The loop.
    pub looping: LoopChange,
    /// The timecode that starts it (`Some(None)`: none).
    pub trigger: Option<Option<Timecode>>,
    /// Whether it chases timecode.
    pub chase: Option<bool>,
    /// Rights metadata: title, artist, composer, publisher, ISRC, ISWC, PRO
    /// (`Some(None)` clears one).
    pub rights: RightsChanges,
    /// Its own protection fade at edit points, ms (`Some(None)`: the session's).
    pub edit_protection_ms: Option<Option<f64>>,
    /// Its own protection fade at loop points, ms (`Some(None)`: the session's).
    pub loop_protection_ms: Option<Option<f64>>,
}

/// Rights metadata changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RightsChanges {
    /// Title.
    pub title: Option<Option<String>>,
    /// Artist.
    pub artist: Option<Option<String>>,
    /// Composer.
    pub composer: Option<Option<String>>,
    /// Publisher.
    pub publisher: Option<Option<String>>,
    /// ISRC.
    pub isrc: Option<Option<String>>,
    /// ISWC.
    pub iswc: Option<Option<String>>,
    /// Performing-rights organisation.
    pub pro: Option<Option<String>>,
}

impl RightsChanges {
    /// The changes typed as text, in the order title, artist, composer,
    /// publisher, ISRC, ISWC, PRO: an absent one is kept, an empty one
    /// cleared.
    pub fn typed(fields: [&Option<String>; 7]) -> RightsChanges {
        let [title, artist, composer, publisher, isrc, iswc, pro] = fields.map(|v| {
            v.as_ref()
                .map(|s| Some(s.clone()).filter(|s| !s.is_empty()))
        });
        RightsChanges {
            title,
            artist,
            composer,
            publisher,
            isrc,
            iswc,
            pro,
        }
    }
}

impl ClipChanges {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ClipChanges::default()
    }
}

impl Show {
    fn clip_index(&self, id: &ClipId) -> Result<usize, EditError> {
        self.clips
            .iter()
            .position(|c| &c.id == id)
            .ok_or_else(|| EditError::NoSuchClip(id.clone()))
    }

    /// Applies `changes` to clip `id`. Ranges are the validator's to check
    /// (`Show::validate`); what cannot apply to this clip (a pan on a stereo
    /// clip) is refused here.
    pub fn set_clip(&mut self, id: &ClipId, changes: &ClipChanges) -> Result<(), EditError> {
        let ix = self.clip_index(id)?;
        let fps = self.time_sources.frame_rate;
        let defaults = self.fade_defaults.clone();
        let clip = &mut self.clips[ix];
        let rate = clip.audio.format.sample_rate;
        if let Some(name) = &changes.name {
            clip.name.clone_from(name);
        }
        if let Some(group) = changes.group {
            clip.group = group;
        }
        let p = &mut clip.processing;
        if let Some(level) = changes.level_db {
            p.level_db = level;
        }
        match &mut p.panning {
            Panning::Mono { pan, .. } => {
                if changes.width.is_some() || changes.balance.is_some() {
                    return Err(EditError::Layout {
                        clip: id.clone(),
                        what: "width and balance are a stereo clip's; a mono clip has a pan",
                    });
                }
                if let Some(v) = changes.pan {
                    *pan = v;
                }
            }
            Panning::Stereo { width, balance, .. } => {
                if changes.pan.is_some() {
                    return Err(EditError::Layout {
                        clip: id.clone(),
                        what: "a pan is a mono clip's; a stereo clip has a width and a balance",
                    });
                }
                if let Some(v) = changes.width {
                    *width = v;
                }
                if let Some(v) = changes.balance {
                    *balance = v;
                }
            }
        }
        changes
            .fade_in
            .apply(&mut p.fades.fade_in, &defaults.fade_in, rate, fps);
        changes
            .fade_out
            .apply(&mut p.fades.fade_out, &defaults.fade_out, rate, fps);
        // Every point first: a marker that is not there changes nothing.
        let point = |p: &Option<PointSpec>| p.as_ref().map(|p| p.frames(clip, fps)).transpose();
        let cue_in = point(&changes.cue_in)?;
        let cue_out = match &changes.cue_out {
            Some(end) => Some(point(end)?),
            None => None,
        };
        let (loop_start, loop_end) = (point(&changes.looping.start)?, point(&changes.looping.end)?);
        let p = &mut clip.processing;
        if let Some(f) = cue_in {
            p.cue.start = f;
        }
        if let Some(f) = cue_out {
            p.cue.end = f;
        }
        let l = &changes.looping;
        if *l != LoopChange::default() {
            // A loop made now spans the cue range until told otherwise.
            let whole_end = p.cue.end.unwrap_or(clip.audio.format.frames);
            let region = p.loop_region.get_or_insert_with(|| LoopRegion {
                start: p.cue.start,
                end: whole_end,
                enabled: true,
                extra: Extra::new(),
            });
            if let Some(on) = l.enabled {
                region.enabled = on;
            }
            if let Some(f) = loop_start {
                region.start = f;
            }
            if let Some(f) = loop_end {
                region.end = f;
            }
        }
        if let Some(ms) = changes.edit_protection_ms {
            p.protection.edit_point_fade_ms = ms;
        }
        if let Some(ms) = changes.loop_protection_ms {
            p.protection.loop_point_fade_ms = ms;
        }
        if let Some(t) = changes.trigger {
            clip.timecode_trigger = t;
        }
        if let Some(c) = changes.chase {
            clip.timecode_chase = c;
        }
        let r = &changes.rights;
        let m = &mut clip.audio.metadata;
        for (change, field) in [
            (&r.title, &mut m.title),
            (&r.artist, &mut m.artist),
            (&r.composer, &mut m.composer),
            (&r.publisher, &mut m.publisher),
            (&r.isrc, &mut m.isrc),
            (&r.iswc, &mut m.iswc),
            (&r.pro, &mut m.pro),
        ] {
            if let Some(v) = change {
                field.clone_from(v);
            }
        }
        Ok(())
    }

    /// The button that plays `id`, with where it is.
    fn button_of(&self, id: &ClipId) -> Option<(Placement, &Button)> {
        self.buttons()
            .find(|(.., b)| &b.clip == id)
            .map(|(page, tab, _, b)| {
                (
                    Placement {
                        page,
                        tab,
                        pos: b.pos(),
                    },
                    b,
                )
            })
    }

    fn take_button(&mut self, id: &ClipId) -> Option<(Placement, Button)> {
        let (at, _) = self.button_of(id)?;
        let grid = &mut self.tab_mut(at.page, at.tab).ok()?.grid;
        let ix = grid.buttons.iter().position(|b| &b.clip == id)?;
        grid.layout_version = grid.layout_version.saturating_add(1);
        Some((at, grid.buttons.remove(ix)))
    }

    fn put_button(&mut self, at: Placement, mut button: Button) -> Result<(), EditError> {
        self.check_placement(at)?;
        button.row = at.pos.row;
        button.col = at.pos.col;
        let grid = &mut self.tab_mut(at.page, at.tab)?.grid;
        grid.buttons.push(button);
        grid.layout_version = grid.layout_version.saturating_add(1);
        Ok(())
    }

    /// Moves clip `id`'s button to `to` (a free place).
    pub fn move_clip(&mut self, id: &ClipId, to: Placement) -> Result<(), EditError> {
        self.check_placement(to)?;
        let (_, button) = self
            .take_button(id)
            .ok_or_else(|| EditError::NoButton(id.clone()))?;
        self.put_button(to, button)
    }

    /// Swaps the buttons of clips `a` and `b`.
    pub fn swap_clips(&mut self, a: &ClipId, b: &ClipId) -> Result<(), EditError> {
        let (at_a, _) = self
            .button_of(a)
            .ok_or_else(|| EditError::NoButton(a.clone()))?;
        let (at_b, _) = self
            .button_of(b)
            .ok_or_else(|| EditError::NoButton(b.clone()))?;
        let (_, button_a) = self.take_button(a).expect("found above");
        let (_, button_b) = self.take_button(b).expect("found above");
        self.put_button(at_b, button_a)?;
        self.put_button(at_a, button_b)
    }

    /// Copies clip `id` (all its processing, the same media) to a new clip
    /// with a button at `to`; returns the new clip's id.
    pub fn copy_clip(&mut self, id: &ClipId, to: Placement) -> Result<ClipId, EditError> {
        self.check_placement(to)?;
        let source = self.clips[self.clip_index(id)?].clone();
        let new = self.next_clip_id();
        let label = self.button_of(id).and_then(|(_, b)| b.label.clone());
        self.clips.push(Clip {
            id: new.clone(),
            ..source
        });
        let mut button = Button::new(to.pos, new.clone());
        button.label = label;
        self.put_button(to, button)?;
        Ok(new)
    }

    /// Removes clip `id` and its button; returns the clip (its media is the
    /// caller's to keep or delete).
    pub fn remove_clip(&mut self, id: &ClipId) -> Result<Clip, EditError> {
        let ix = self.clip_index(id)?;
        self.take_button(id);
        Ok(self.clips.remove(ix))
    }
}

/// A group bus's new settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupChanges {
    /// Level, dB.
    pub level_db: Option<f64>,
    /// Muted.
    pub mute: Option<bool>,
    /// Choke (with its voice limit) or free.
    pub mode: Option<GroupMode>,
    /// The logical outputs it feeds.
    pub outputs: Option<Vec<LogicalChannel>>,
}

impl Show {
    /// Adds a page named `name` (tabs of the default grid) after the last,
    /// or before `before`; returns its number.
    pub fn add_page(&mut self, name: &str, before: Option<PageNo>) -> Result<PageNo, EditError> {
        let (rows, cols) = Show::DEFAULT_GRID;
        let dims = GridDims::new(rows, cols).expect("the default grid is valid");
        let at = match before {
            Some(p) => {
                self.page(p)?;
                p.index()
            }
            None => self.pages.len(),
        };
        self.pages.insert(at, Page::new(name, dims));
        self.renumber_pages(|p| if p >= at { p + 1 } else { p });
        Ok(PageNo::new(at as u16 + 1).expect("page numbers start at 1"))
    }

    /// Removes page `page` with its buttons and their clips (their media
    /// stays); returns the clips removed. The last page stays.
    pub fn remove_page(&mut self, page: PageNo) -> Result<Vec<ClipId>, EditError> {
        self.page(page)?;
        if self.pages.len() == 1 {
            return Err(EditError::LastPage);
        }
        let gone = self.pages.remove(page.index());
        let ids: Vec<ClipId> = gone
            .tabs
            .iter()
            .flat_map(|t| t.grid.buttons.iter().map(|b| b.clip.clone()))
            .collect();
        self.clips.retain(|c| !ids.contains(&c.id));
        // What pointed at the page removed points at the one now in its place.
        let (removed, last) = (page.index(), self.pages.len() - 1);
        self.renumber_pages(|p| if p > removed { p - 1 } else { p.min(last) });
        // A dual view that lost one of its pages shows the other alone.
        if let PageView::Dual { left, right, .. } = self.page_view {
            if left == right {
                self.page_view = PageView::Single {
                    page: left,
                    extra: Extra::new(),
                };
            }
        }
        Ok(ids)
    }

    /// Moves page `from` to position `to` (the pages between shift).
    pub fn move_page(&mut self, from: PageNo, to: PageNo) -> Result<(), EditError> {
        self.page(from)?;
        self.page(to)?;
        let (f, t) = (from.index(), to.index());
        let page = self.pages.remove(f);
        self.pages.insert(t, page);
        self.renumber_pages(|p| {
            if p == f {
                t
            } else if f < t && p > f && p <= t {
                p - 1
            } else if t < f && p >= t && p < f {
                p + 1
            } else {
                p
            }
        });
        Ok(())
    }

    /// Renames page `page`.
    pub fn rename_page(&mut self, page: PageNo, name: &str) -> Result<(), EditError> {
        let pages = self.pages.len();
        self.pages
            .get_mut(page.index())
            .ok_or(EditError::NoSuchPage { page, pages })?
            .name = name.to_owned();
        Ok(())
    }

    /// Names or colours a tab.
    pub fn set_tab(
        &mut self,
        page: PageNo,
        tab: TabIndex,
        name: Option<&str>,
        colour: Option<Option<Colour>>,
    ) -> Result<(), EditError> {
        let t = self.tab_mut(page, tab)?;
        if let Some(name) = name {
            t.name = name.to_owned();
        }
        if let Some(colour) = colour {
            t.colour = colour;
        }
        Ok(())
    }

    /// Shows one page, or two side by side.
    pub fn set_page_view(&mut self, view: PageView) -> Result<(), EditError> {
        for p in view.pages() {
            self.page(p)?;
        }
        self.page_view = view;
        Ok(())
    }

    /// Changes a group's bus.
    pub fn set_group(&mut self, group: Group, changes: &GroupChanges) {
        let g = self.busses.groups.get_mut(group);
        if let Some(l) = changes.level_db {
            g.bus.level_db = l;
        }
        if let Some(m) = changes.mute {
            g.bus.mute = m;
        }
        if let Some(mode) = &changes.mode {
            g.mode = mode.clone();
        }
        if let Some(o) = &changes.outputs {
            g.bus.outputs.clone_from(o);
        }
    }

    fn page(&self, page: PageNo) -> Result<&Page, EditError> {
        let pages = self.pages.len();
        self.pages
            .get(page.index())
            .ok_or(EditError::NoSuchPage { page, pages })
    }

    /// Points every page reference (the page view, the live state's page)
    /// through `map` of 0-based indices, after pages were added, removed
    /// or moved.
    fn renumber_pages(&mut self, map: impl Fn(usize) -> usize) {
        let to =
            |p: PageNo| PageNo::new(map(p.index()) as u16 + 1).expect("page numbers start at 1");
        match &mut self.page_view {
            PageView::Single { page, .. } => *page = to(*page),
            PageView::Dual { left, right, .. } => {
                *left = to(*left);
                *right = to(*right);
            }
        }
        let place = &mut self.runtime.deck.place;
        place.page = to(place.page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_typed_in_seconds_timecode_or_frames() {
        let fps = FrameRate::Fps25;
        let at = |s: &str| s.parse::<TimeSpec>().unwrap().to_frames(44_100, fps);
        assert_eq!(at("1.5"), Frames(66_150));
        assert_eq!(at("1.5s"), Frames(66_150));
        assert_eq!(at("00:00:01:05"), Frames(52_920), "1.2 s at 25 fps");
        assert_eq!(at("12345f"), Frames(12_345));
        for bad in ["", "-1", "1.5x", "nan", "01:02:03", "00:00:01:99x"] {
            assert!(bad.parse::<TimeSpec>().is_err(), "{bad:?}");
        }
    }
}
