//! Validation: every range and reference of a show, every problem at once,
//! each with its JSON path.

use std::collections::{HashMap, HashSet};
use std::fmt;

use super::analysis::{ClipAnalysis, TempoCandidate};
use super::clip::{AudioFormat, Channels, Clip, ContentHash, MediaPath};
use super::config::{GroupMode, OutputBus, VoicePool};
use super::ids::{ClipId, Frames, GridDims, GridPos, Group, LogicalChannel, PageNo};
use super::pages::PageView;
use super::processing::{Fade, Panning, Protection};
use super::Show;

/// One thing wrong with a show.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// JSON path of the offending value (`pages[0].tabs[3].grid[2,5]`).
    pub path: String,
    /// What is wrong with it.
    pub issue: Issue,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.issue)
    }
}

/// What is wrong with a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Issue {
    /// A number outside its range.
    OutOfRange {
        /// The value found.
        value: f64,
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
        /// Unit, for the message.
        unit: &'static str,
    },
    /// A button plays a clip the session does not have.
    UnknownClip(ClipId),
    /// Two clips share an id.
    DuplicateClipId(ClipId),
    /// Two buttons share a grid position.
    DuplicateButton {
        /// The position.
        pos: GridPos,
        /// The clip of the first button there.
        first: ClipId,
    },
    /// A page that does not exist.
    NoSuchPage {
        /// The page named.
        page: PageNo,
        /// How many there are.
        pages: usize,
    },
    /// A dual view showing the same page twice.
    SamePageTwice(PageNo),
    /// Panning that does not fit the clip's channels.
    PanningMismatch(Channels),
    /// A sample rate cuebox does not play.
    SampleRate(u32),
    /// A clip of no frames.
    EmptyAudio,
    /// A marker past the end of the audio, or before the one it must follow.
    Marker {
        /// The marker's frame.
        frame: Frames,
        /// What it must respect.
        bound: &'static str,
        /// The bound's frame.
        limit: Frames,
    },
    /// A list that must increase strictly does not.
    NotIncreasing(&'static str),
    /// A value listed twice where each may appear once.
    Repeated(String),
    /// Thresholds not in the order recovery < warning < critical.
    ThresholdOrder,
    /// A text value not in its required form.
    Form {
        /// The value found.
        value: String,
        /// The form expected.
        expected: &'static str,
    },
    /// A list or text that must not be empty.
    Empty(&'static str),
    /// The audition bus shares an output with a clip group.
    AuditionLeak {
        /// The shared output.
        output: LogicalChannel,
        /// The group on it.
        group: Group,
    },
    /// A logical channel above [`LogicalChannel::MAX`].
    ChannelTooHigh(LogicalChannel),
    /// A timecode that does not exist at the session's frame rate.
    Timecode(String),
    /// Two clips name one media file with different content hashes: one of
    /// them would play the other's audio.
    SharedMediaPath {
        /// The file.
        path: MediaPath,
        /// The first clip naming it.
        first: ClipId,
        /// The first clip's hash.
        first_hash: ContentHash,
        /// This clip.
        clip: ClipId,
        /// This clip's hash.
        hash: ContentHash,
    },
    /// A field its object does not know, spelt like one it does: a typo
    /// whose value is kept but never used.
    Misspelt {
        /// The field as written.
        field: String,
        /// The clip it is in, if any.
        clip: Option<String>,
        /// The field it resembles.
        suggestion: &'static str,
    },
    /// A field its object does not know and that resembles none it does:
    /// kept as it is (a newer version's, or another tool's). A note, not a
    /// problem ([`Show::notes`]).
    UnknownField {
        /// The field as written.
        field: String,
        /// The clip it is in, if any.
        clip: Option<String>,
    },
    /// A clip asks for time-stretch or pitch-shift, which the engine does
    /// not have yet: it plays at its native speed and pitch.
    TimePitchNotBuilt {
        /// The clip.
        clip: ClipId,
        /// The rate it asks for.
        rate: f64,
        /// The pitch shift it asks for, semitones.
        pitch_semitones: f64,
    },
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Issue::OutOfRange {
                value,
                min,
                max,
                unit,
            } => write!(f, "{value}{unit} is out of range ({min}{unit} to {max}{unit})"),
            Issue::UnknownClip(id) => write!(f, "clip \"{id}\" is not in the session"),
            Issue::Misspelt {
                field,
                clip,
                suggestion,
            } => {
                write!(f, "unknown field `{field}`")?;
                if let Some(clip) = clip {
                    write!(f, " in clip {clip}")?;
                }
                write!(f, ": did you mean `{suggestion}`?")
            }
            Issue::UnknownField { field, clip } => {
                write!(f, "unknown field `{field}`")?;
                if let Some(clip) = clip {
                    write!(f, " in clip {clip}")?;
                }
                write!(
                    f,
                    " is kept as it is but not used (a newer cuebox's field, or another tool's)"
                )
            }
            Issue::Timecode(reason) => write!(f, "{reason}"),
            Issue::TimePitchNotBuilt {
                clip,
                rate,
                pitch_semitones,
            } => write!(
                f,
                "clip \"{clip}\" asks for rate {rate}x and pitch {pitch_semitones:+} st, but \
                 time/pitch is not built yet: it plays at 1.0x and its own pitch"
            ),
            Issue::SharedMediaPath {
                path,
                first,
                first_hash,
                clip,
                hash,
            } => write!(
                f,
                "clips \"{first}\" and \"{clip}\" both use media path \"{path}\" but with different \
                 hashes ({first_hash} and {hash}): one file cannot be both; re-add the clip whose \
                 audio changed (hostctl clip add) so each file has one hash"
            ),
            Issue::DuplicateClipId(id) => {
                write!(f, "clip id \"{id}\" is used by more than one clip")
            }
            Issue::DuplicateButton { pos, first } => write!(
                f,
                "a second button at {pos}, where clip \"{first}\" already is"
            ),
            Issue::NoSuchPage { page, pages } => {
                write!(f, "page {page} does not exist (the show has {pages})")
            }
            Issue::SamePageTwice(p) => write!(f, "dual view shows page {p} on both sides"),
            Issue::PanningMismatch(Channels::Mono) => {
                write!(f, "a mono clip takes mono panning (pan), not stereo width/balance")
            }
            Issue::PanningMismatch(Channels::Stereo) => {
                write!(f, "a stereo clip takes stereo panning (width, balance), not mono pan")
            }
            Issue::SampleRate(r) => write!(
                f,
                "sample rate {r} Hz is not played; use one of {:?}",
                AudioFormat::SAMPLE_RATES
            ),
            Issue::EmptyAudio => write!(f, "the audio has no frames"),
            Issue::Marker {
                frame,
                bound,
                limit,
            } => write!(f, "frame {frame} must be {bound} (frame {limit})"),
            Issue::NotIncreasing(what) => write!(f, "{what} must be in strictly increasing order"),
            Issue::Repeated(what) => write!(f, "{what} is listed more than once"),
            Issue::ThresholdOrder => {
                write!(f, "thresholds must be ordered recovery < warning < critical")
            }
            Issue::Form { value, expected } => write!(f, "{value:?} is not {expected}"),
            Issue::Empty(what) => write!(f, "{what} must not be empty"),
            Issue::AuditionLeak { output, group } => write!(
                f,
                "output {output} is also fed by group {group}; the audition bus must stay isolated from groups A-D"
            ),
            Issue::ChannelTooHigh(c) => write!(
                f,
                "logical channel {c} is above the highest, {}",
                LogicalChannel::MAX
            ),
        }
    }
}

/// The largest number of pages a show may have.
pub const MAX_PAGES: usize = 99;

const LEVEL_DB: (f64, f64) = OutputBus::LEVEL_DB;
const TEMPO_BPM: (f64, f64) = (20.0, 400.0);

impl OutputBus {
    /// The levels a bus or a clip may have, in dB: −144 (silence) to +12.
    pub const LEVEL_DB: (f64, f64) = (-144.0, 12.0);
}

/// Collects problems as it walks a show.
struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn report(&mut self, path: impl Into<String>, issue: Issue) {
        self.problems.push(Problem {
            path: path.into(),
            issue,
        });
    }

    fn range(
        &mut self,
        path: impl Into<String>,
        value: f64,
        (min, max): (f64, f64),
        unit: &'static str,
    ) {
        if !(min..=max).contains(&value) {
            self.report(
                path,
                Issue::OutOfRange {
                    value,
                    min,
                    max,
                    unit,
                },
            );
        }
    }

    fn fade(&mut self, path: &str, fade: &Fade) {
        self.range(
            format!("{path}.time_ms"),
            fade.time_ms,
            (0.0, Fade::MAX_MS),
            " ms",
        );
    }

    fn channels(&mut self, path: &str, channels: &[LogicalChannel]) {
        let mut seen = HashSet::new();
        for (i, c) in channels.iter().enumerate() {
            if c.0.get() > LogicalChannel::MAX {
                self.report(format!("{path}[{i}]"), Issue::ChannelTooHigh(*c));
            }
            if !seen.insert(c) {
                self.report(
                    format!("{path}[{i}]"),
                    Issue::Repeated(format!("channel {c}")),
                );
            }
        }
    }

    fn output_bus(&mut self, path: &str, bus: &OutputBus) {
        self.range(format!("{path}.level_db"), bus.level_db, LEVEL_DB, " dB");
        self.channels(&format!("{path}.outputs"), &bus.outputs);
        if bus.outputs.is_empty() {
            self.report(format!("{path}.outputs"), Issue::Empty("outputs"));
        }
    }

    fn page_ref(&mut self, path: &str, page: PageNo, pages: usize) {
        if page.index() >= pages {
            self.report(path, Issue::NoSuchPage { page, pages });
        }
    }

    /// Reports each item of the list at `path` that an earlier one repeats.
    fn unique(&mut self, path: &str, items: impl Iterator<Item = String>) {
        let mut seen = HashSet::new();
        for (i, item) in items.enumerate() {
            if !seen.insert(item.clone()) {
                self.report(format!("{path}[{i}]"), Issue::Repeated(item));
            }
        }
    }

    fn increasing<T: PartialOrd>(
        &mut self,
        path: &str,
        what: &'static str,
        items: impl Iterator<Item = T>,
    ) {
        let items: Vec<T> = items.collect();
        if items.windows(2).any(|w| w[0] >= w[1]) {
            self.report(path, Issue::NotIncreasing(what));
        }
    }

    fn marker(
        &mut self,
        path: String,
        frame: Frames,
        bound: &'static str,
        limit: Frames,
        ok: bool,
    ) {
        if !ok {
            self.report(
                path,
                Issue::Marker {
                    frame,
                    bound,
                    limit,
                },
            );
        }
    }
}

impl Show {
    /// The problems `edited` (an edit of this show) has that this show did
    /// not: an edit is refused for those alone, never for what it found.
    pub fn problems_added_by(&self, edited: &Show) -> Vec<String> {
        let after = edited.validate();
        // The usual edit leaves a valid show: no need to look at the old one.
        if after.is_empty() {
            return Vec::new();
        }
        let before: Vec<String> = self.validate().iter().map(ToString::to_string).collect();
        after
            .iter()
            .map(ToString::to_string)
            .filter(|p| !before.contains(p))
            .collect()
    }

    /// Checks every range and reference; returns every problem found (none when valid).
    pub fn validate(&self) -> Vec<Problem> {
        let mut c = Checker {
            problems: Vec::new(),
        };
        self.check_pages(&mut c);
        self.check_clips(&mut c);
        c.problems.extend(self.shared_media_paths());
        self.check_config(&mut c);
        self.check_runtime(&mut c);
        c.problems.extend(self.unknown_fields(true));
        c.problems
    }

    /// What validation notes without calling it a problem: every unknown
    /// field that resembles no known one (kept for a round trip).
    pub fn notes(&self) -> Vec<Problem> {
        self.unknown_fields(false)
    }

    /// The unknown fields that look like typos (`typos`) or the others,
    /// each as a problem.
    fn unknown_fields(&self, typos: bool) -> Vec<Problem> {
        let doc = serde_json::to_value(self).expect("a show always serialises");
        super::fields::unknown_fields(&doc)
            .into_iter()
            .filter(|u| u.suggestion.is_some() == typos)
            .map(|u| Problem {
                path: u.path,
                issue: match u.suggestion {
                    Some(suggestion) => Issue::Misspelt {
                        field: u.field,
                        clip: u.clip,
                        suggestion,
                    },
                    None => Issue::UnknownField {
                        field: u.field,
                        clip: u.clip,
                    },
                },
            })
            .collect()
    }

    /// Every clip whose media path an earlier clip names with another hash.
    /// The box refuses such a session outright: it stores one file per path.
    pub fn shared_media_paths(&self) -> Vec<Problem> {
        let mut first: HashMap<&MediaPath, &Clip> = HashMap::new();
        let mut problems = Vec::new();
        for (i, clip) in self.clips.iter().enumerate() {
            let earlier = *first.entry(&clip.audio.path).or_insert(clip);
            if earlier.audio.hash != clip.audio.hash {
                problems.push(Problem {
                    path: format!("clips[{i}].audio.path"),
                    issue: Issue::SharedMediaPath {
                        path: clip.audio.path.clone(),
                        first: earlier.id.clone(),
                        first_hash: earlier.audio.hash,
                        clip: clip.id.clone(),
                        hash: clip.audio.hash,
                    },
                });
            }
        }
        problems
    }

    fn check_pages(&self, c: &mut Checker) {
        let pages = self.pages.len();
        if pages == 0 {
            c.report("pages", Issue::Empty("pages"));
        }
        if pages > MAX_PAGES {
            c.range("pages", pages as f64, (1.0, MAX_PAGES as f64), " pages");
        }
        match &self.page_view {
            PageView::Single { page, .. } => c.page_ref("page_view.page", *page, pages),
            PageView::Dual { left, right, .. } => {
                c.page_ref("page_view.left", *left, pages);
                c.page_ref("page_view.right", *right, pages);
                if left == right {
                    c.report("page_view", Issue::SamePageTwice(*left));
                }
            }
        }
        let ids: HashSet<&ClipId> = self.clips.iter().map(|clip| &clip.id).collect();
        let max = f64::from(GridDims::MAX);
        for (p, page) in self.pages.iter().enumerate() {
            for (t, tab) in page.tabs.iter().enumerate() {
                let grid = &tab.grid;
                let gpath = format!("pages[{p}].tabs[{t}].grid");
                c.range(
                    format!("{gpath}.rows"),
                    f64::from(grid.rows.get()),
                    (1.0, max),
                    " rows",
                );
                c.range(
                    format!("{gpath}.cols"),
                    f64::from(grid.cols.get()),
                    (1.0, max),
                    " columns",
                );
                if let Some(prev) = grid.previous {
                    c.range(
                        format!("{gpath}.previous.rows"),
                        f64::from(prev.rows.get()),
                        (1.0, max),
                        " rows",
                    );
                    c.range(
                        format!("{gpath}.previous.cols"),
                        f64::from(prev.cols.get()),
                        (1.0, max),
                        " columns",
                    );
                }
                let mut at: HashMap<GridPos, &ClipId> = HashMap::new();
                for b in &grid.buttons {
                    let pos = b.pos();
                    let bpath = format!("{gpath}[{pos}]");
                    if b.row.get() > GridDims::MAX || b.col.get() > GridDims::MAX {
                        c.report(
                            bpath.clone(),
                            Issue::OutOfRange {
                                value: f64::from(b.row.get().max(b.col.get())),
                                min: 1.0,
                                max,
                                unit: "",
                            },
                        );
                    }
                    if !ids.contains(&b.clip) {
                        c.report(bpath.clone(), Issue::UnknownClip(b.clip.clone()));
                    }
                    if let Some(first) = at.insert(pos, &b.clip) {
                        c.report(
                            bpath,
                            Issue::DuplicateButton {
                                pos,
                                first: first.clone(),
                            },
                        );
                    }
                }
            }
        }
    }

    fn check_clips(&self, c: &mut Checker) {
        let mut seen = HashSet::new();
        for (i, clip) in self.clips.iter().enumerate() {
            let path = format!("clips[{i}]");
            if !seen.insert(&clip.id) {
                c.report(
                    format!("{path}.id"),
                    Issue::DuplicateClipId(clip.id.clone()),
                );
            }
            check_clip(c, &path, clip);
            let rate = self.time_sources.frame_rate;
            if let Some(Err(e)) = clip.timecode_trigger.map(|t| t.check(rate)) {
                c.report(
                    format!("{path}.timecode_trigger"),
                    Issue::Timecode(e.to_string()),
                );
            }
            if clip.timecode_chase && clip.timecode_trigger.is_none() {
                c.report(
                    format!("{path}.timecode_chase"),
                    Issue::Timecode(
                        "a chasing clip needs a timecode_trigger: the time its cue start sits at"
                            .into(),
                    ),
                );
            }
        }
        let ids: HashSet<&ClipId> = self.clips.iter().map(|clip| &clip.id).collect();
        for (i, o) in self.analysis.overrides.iter().enumerate() {
            let path = format!("analysis.overrides[{i}]");
            if !ids.contains(&o.clip) {
                c.report(format!("{path}.clip"), Issue::UnknownClip(o.clip.clone()));
            }
            c.range(format!("{path}.bpm"), o.bpm, TEMPO_BPM, " BPM");
        }
        for (i, point) in self.analysis.tempo_map.iter().enumerate() {
            let path = format!("analysis.tempo_map[{i}]");
            c.range(
                format!("{path}.at_secs"),
                point.at_secs,
                (0.0, f64::MAX),
                " s",
            );
            c.range(format!("{path}.bpm"), point.bpm, TEMPO_BPM, " BPM");
            c.range(
                format!("{path}.beats_per_bar"),
                f64::from(point.beats_per_bar),
                (1.0, 32.0),
                "",
            );
        }
        c.increasing(
            "analysis.tempo_map",
            "tempo map points",
            self.analysis.tempo_map.iter().map(|p| p.at_secs),
        );
    }

    fn check_runtime(&self, c: &mut Checker) {
        let r = &self.runtime;
        c.page_ref("runtime.deck.page", r.deck.place.page, self.pages.len());
        for (group, level) in &r.group_levels {
            c.range(
                format!("runtime.group_levels.{group}"),
                *level,
                LEVEL_DB,
                " dB",
            );
        }
    }

    fn check_config(&self, c: &mut Checker) {
        let b = &self.busses;
        for (group, bus) in b.groups.iter() {
            let path = format!("busses.groups.{group}");
            c.output_bus(&path, &bus.bus);
            if let GroupMode::Choke { max_voices, .. } = bus.mode {
                let max = f64::from(VoicePool::SYSTEM.choke_max_per_group);
                c.range(
                    format!("{path}.mode.max_voices"),
                    f64::from(max_voices),
                    (1.0, max),
                    " voices",
                );
            }
        }
        c.output_bus("busses.audition", &b.audition);
        for (i, out) in b.audition.outputs.iter().enumerate() {
            if let Some((group, _)) = b.groups.iter().find(|(_, g)| g.bus.outputs.contains(out)) {
                c.report(
                    format!("busses.audition.outputs[{i}]"),
                    Issue::AuditionLeak {
                        output: *out,
                        group,
                    },
                );
            }
        }
        for (name, rec) in [("record_a", &b.record_a), ("record_b", &b.record_b)] {
            c.range(
                format!("busses.{name}.level_db"),
                rec.level_db,
                LEVEL_DB,
                " dB",
            );
            c.channels(&format!("busses.{name}.inputs"), &rec.inputs);
        }
        if let Some(ch) = b.ltc_input.input {
            c.channels("busses.ltc_input.input", &[ch]);
        }

        let d = &self.fade_defaults;
        c.fade("fade_defaults.in", &d.fade_in);
        c.fade("fade_defaults.out", &d.fade_out);
        c.range(
            "fade_defaults.crossfade.time_ms",
            d.crossfade.time_ms,
            (0.0, Fade::MAX_MS),
            " ms",
        );
        let prot = (*Protection::RANGE_MS.start(), *Protection::RANGE_MS.end());
        c.range(
            "protection.edit_point_fade_ms",
            self.protection.edit_point_fade_ms,
            prot,
            " ms",
        );
        c.range(
            "protection.loop_point_fade_ms",
            self.protection.loop_point_fade_ms,
            prot,
            " ms",
        );

        let t = &self.resources.thresholds;
        for (name, v) in [
            ("recovery_pct", t.recovery_pct),
            ("warning_pct", t.warning_pct),
            ("critical_pct", t.critical_pct),
        ] {
            c.range(
                format!("resources.thresholds.{name}"),
                v,
                (1.0, 100.0),
                " %",
            );
        }
        if !(t.recovery_pct < t.warning_pct && t.warning_pct < t.critical_pct) {
            c.report("resources.thresholds", Issue::ThresholdOrder);
        }

        let ts = &self.time_sources;
        if ts.priority.is_empty() {
            c.report(
                "time_sources.priority",
                Issue::Empty("time source priority"),
            );
        }
        c.unique(
            "time_sources.priority",
            ts.priority.iter().map(|k| format!("{k:?}").to_lowercase()),
        );
        c.range(
            "time_sources.drift_warning_us",
            ts.drift_warning_us,
            (0.1, 1e6),
            " µs",
        );
        c.range(
            "time_sources.jitter_warning_us",
            ts.jitter_warning_us,
            (0.1, 1e6),
            " µs",
        );
        c.range(
            "time_sources.min_stability",
            ts.min_stability,
            (0.0, 1.0),
            "",
        );

        c.increasing(
            "show_info.performance_dates",
            "performance dates",
            self.show_info.performance_dates.iter(),
        );
        let reporting = &self.show_info.reporting;
        c.unique(
            "show_info.reporting.formats",
            reporting
                .formats
                .iter()
                .map(|f| format!("{f:?}").to_lowercase()),
        );
        for (i, pro) in reporting.pros.iter().enumerate() {
            if pro.trim().is_empty() {
                c.report(
                    format!("show_info.reporting.pros[{i}]"),
                    Issue::Empty("a society's name"),
                );
            }
        }
        // PRS and prs are one society.
        c.unique(
            "show_info.reporting.pros",
            reporting.pros.iter().map(|p| p.trim().to_uppercase()),
        );
        if self.session.name.trim().is_empty() {
            c.report("session.name", Issue::Empty("the session name"));
        }
        if self.session.media_folder.trim().is_empty() {
            c.report("session.media_folder", Issue::Empty("the media folder"));
        }
    }
}

fn check_clip(c: &mut Checker, path: &str, clip: &Clip) {
    let format = &clip.audio.format;
    let frames = format.frames;
    if !AudioFormat::SAMPLE_RATES.contains(&format.sample_rate) {
        c.report(
            format!("{path}.audio.format.sample_rate"),
            Issue::SampleRate(format.sample_rate),
        );
    }
    if frames.0 == 0 {
        c.report(format!("{path}.audio.format.frames"), Issue::EmptyAudio);
    }
    if let Some(bits) = format.bit_depth {
        if ![8, 16, 20, 24, 32, 64].contains(&bits) {
            c.report(
                format!("{path}.audio.format.bit_depth"),
                Issue::Form {
                    value: bits.to_string(),
                    expected: "a bit depth of 8, 16, 20, 24, 32 or 64",
                },
            );
        }
    }
    check_rights(c, &format!("{path}.audio.metadata"), &clip.audio.metadata);

    let p = &clip.processing;
    let pp = format!("{path}.processing");
    c.range(format!("{pp}.level_db"), p.level_db, LEVEL_DB, " dB");
    let prot = (*Protection::RANGE_MS.start(), *Protection::RANGE_MS.end());
    for (name, ms) in [
        ("edit_point_fade_ms", p.protection.edit_point_fade_ms),
        ("loop_point_fade_ms", p.protection.loop_point_fade_ms),
    ] {
        if let Some(ms) = ms {
            c.range(format!("{pp}.protection.{name}"), ms, prot, " ms");
        }
    }
    match (&p.panning, format.channels) {
        (Panning::Mono { pan, .. }, Channels::Mono) => {
            c.range(format!("{pp}.panning.pan"), *pan, (-1.0, 1.0), "");
        }
        (Panning::Stereo { width, balance, .. }, Channels::Stereo) => {
            c.range(format!("{pp}.panning.width"), *width, (0.0, 1.0), "");
            c.range(format!("{pp}.panning.balance"), *balance, (-1.0, 1.0), "");
        }
        (_, channels) => c.report(format!("{pp}.panning"), Issue::PanningMismatch(channels)),
    }
    let tp = &p.time_pitch;
    c.range(format!("{pp}.time_pitch.rate"), tp.rate, (0.5, 2.0), "x");
    c.range(
        format!("{pp}.time_pitch.pitch_semitones"),
        tp.pitch_semitones,
        (-24.0, 24.0),
        " st",
    );
    // Whatever the mode: a rate or pitch the box cannot play must not pass
    // as if it could (mode `off` is also what a clip gets when it names none).
    if tp.rate != 1.0 || tp.pitch_semitones != 0.0 {
        c.report(
            format!("{pp}.time_pitch"),
            Issue::TimePitchNotBuilt {
                clip: clip.id.clone(),
                rate: tp.rate,
                pitch_semitones: tp.pitch_semitones,
            },
        );
    }

    let start = p.cue.start;
    let end = p.cue.end.unwrap_or(frames);
    c.marker(
        format!("{pp}.cue.start"),
        start,
        "before the end of the audio",
        frames,
        start < frames || frames.0 == 0,
    );
    if let Some(e) = p.cue.end {
        c.marker(
            format!("{pp}.cue.end"),
            e,
            "after the cue start",
            start,
            e > start,
        );
        c.marker(
            format!("{pp}.cue.end"),
            e,
            "at or before the end of the audio",
            frames,
            e <= frames,
        );
    }
    if let Some(l) = &p.loop_region {
        c.marker(
            format!("{pp}.loop.start"),
            l.start,
            "at or after the cue start",
            start,
            l.start >= start,
        );
        c.marker(
            format!("{pp}.loop.end"),
            l.end,
            "after the loop start",
            l.start,
            l.end > l.start,
        );
        c.marker(
            format!("{pp}.loop.end"),
            l.end,
            "at or before the cue end",
            end,
            l.end <= end,
        );
    }
    for (i, w) in p.warp_markers.iter().enumerate() {
        c.marker(
            format!("{pp}.warp_markers[{i}].frame"),
            w.frame,
            "at or before the end of the audio",
            frames,
            w.frame <= frames,
        );
        c.range(
            format!("{pp}.warp_markers[{i}].beat"),
            w.beat,
            (0.0, 1e6),
            " beats",
        );
    }
    c.increasing(
        &format!("{pp}.warp_markers"),
        "warp marker frames",
        p.warp_markers.iter().map(|w| w.frame),
    );
    c.increasing(
        &format!("{pp}.warp_markers"),
        "warp marker beats",
        p.warp_markers.iter().map(|w| w.beat),
    );
    if let Some(f) = &p.fades.fade_in {
        c.fade(&format!("{pp}.fades.in"), f);
    }
    if let Some(f) = &p.fades.fade_out {
        c.fade(&format!("{pp}.fades.out"), f);
    }
    if let Some(x) = &p.fades.crossfade {
        c.range(
            format!("{pp}.fades.crossfade.time_ms"),
            x.time_ms,
            (0.0, Fade::MAX_MS),
            " ms",
        );
    }

    if let ClipAnalysis::Done {
        tempo_bpm,
        confidence,
        alternatives,
        sections,
        ..
    } = &clip.analysis
    {
        let ap = format!("{path}.analysis");
        c.range(format!("{ap}.tempo_bpm"), *tempo_bpm, TEMPO_BPM, " BPM");
        c.range(format!("{ap}.confidence"), *confidence, (0.0, 1.0), "");
        for (
            i,
            TempoCandidate {
                bpm, confidence, ..
            },
        ) in alternatives.iter().enumerate()
        {
            c.range(
                format!("{ap}.alternatives[{i}].bpm"),
                *bpm,
                TEMPO_BPM,
                " BPM",
            );
            c.range(
                format!("{ap}.alternatives[{i}].confidence"),
                *confidence,
                (0.0, 1.0),
                "",
            );
        }
        for (i, s) in sections.iter().enumerate() {
            c.marker(
                format!("{ap}.sections[{i}].start"),
                s.start,
                "before the end of the audio",
                frames,
                s.start < frames,
            );
        }
        c.increasing(
            &format!("{ap}.sections"),
            "section starts",
            sections.iter().map(|s| s.start),
        );
    }
}

fn check_rights(c: &mut Checker, path: &str, m: &super::clip::RightsMetadata) {
    if let Some(isrc) = &m.isrc {
        if !is_isrc(isrc) {
            c.report(
                format!("{path}.isrc"),
                Issue::Form {
                    value: isrc.clone(),
                    expected: "an ISRC (CC-XXX-YY-NNNNN: country, registrant, year, 5 digits)",
                },
            );
        }
    }
    if let Some(iswc) = &m.iswc {
        if !is_iswc(iswc) {
            c.report(
                format!("{path}.iswc"),
                Issue::Form {
                    value: iswc.clone(),
                    expected: "an ISWC (T-123.456.789-C with a valid check digit)",
                },
            );
        }
    }
}

/// ISRC: 2 letters, 3 alphanumerics, 2 digits, 5 digits; hyphens optional.
fn is_isrc(s: &str) -> bool {
    let c: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
    c.len() == 12
        && c[..2].iter().all(u8::is_ascii_uppercase)
        && c[2..5]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && c[5..].iter().all(u8::is_ascii_digit)
}

/// ISWC: `T` then 9 digits and a check digit; `-` and `.` optional. The check
/// digit makes (1 + Σ i·dᵢ + c) ≡ 0 (mod 10).
fn is_iswc(s: &str) -> bool {
    let c: Vec<u8> = s.bytes().filter(|b| !matches!(b, b'-' | b'.')).collect();
    if c.len() != 11 || c[0] != b'T' || !c[1..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d = |i: usize| u32::from(c[i] - b'0');
    let sum: u32 = 1 + (1..=9).map(|i| i as u32 * d(i)).sum::<u32>();
    (10 - sum % 10) % 10 == d(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isrc_forms() {
        assert!(is_isrc("GB-AYE-69-00531"));
        assert!(is_isrc("USRC17607839"));
        assert!(!is_isrc("GB-AYE-69-0053"));
        assert!(!is_isrc("gb-aye-69-00531"));
    }

    #[test]
    fn iswc_check_digit() {
        assert!(is_iswc("T-034.524.680-1"));
        assert!(is_iswc("T0345246801"));
        assert!(!is_iswc("T-034.524.680-2"));
        assert!(!is_iswc("T-034.524.68-1"));
    }
}
