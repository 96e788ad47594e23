//! The fields each object of a manifest knows, so that an unknown one that
//! looks like a typo of a known one (`volume_db` for `level_db`) is caught
//! instead of kept silently as a field from a newer version.
//!
//! Unknown fields stay legal — a newer minor version may add fields, and
//! every object keeps the ones it does not know for a round trip — so an
//! unknown field that resembles no known field of its object is a note, not
//! a problem. The field lists below are kept true by a test that writes a
//! show with every field set and finds each listed field, and no other, in
//! it (`every_field_of_a_full_show_is_known_and_every_known_field_is_written`).

use serde_json::Value;

/// What a manifest value holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// A scalar, or a value with no fields of its own.
    Leaf,
    /// An object with these fields.
    Object(&'static [(&'static str, Shape)]),
    /// An array of these.
    List(&'static Shape),
    /// An object whose every value is one of these (its keys are data).
    Map(&'static Shape),
}

use Shape::{Leaf, List, Map, Object};

const FADE: Shape = Object(&[("time_ms", Leaf), ("curve", Leaf), ("power", Leaf)]);
const CROSSFADE: Shape = Object(&[("time_ms", Leaf), ("curve", Leaf)]);
const OUTPUT_BUS: &[(&str, Shape)] = &[("level_db", Leaf), ("mute", Leaf), ("outputs", Leaf)];
const GROUP_BUS: Shape = Object(&[
    ("level_db", Leaf),
    ("mute", Leaf),
    ("outputs", Leaf),
    ("mode", Object(&[("kind", Leaf), ("max_voices", Leaf)])),
]);
const RECORD_BUS: Shape = Object(&[("enabled", Leaf), ("level_db", Leaf), ("inputs", Leaf)]);

const BUTTON: Shape = Object(&[
    ("row", Leaf),
    ("col", Leaf),
    ("clip", Leaf),
    ("label", Leaf),
]);
const GRID: Shape = Object(&[
    ("rows", Leaf),
    ("cols", Leaf),
    ("buttons", List(&BUTTON)),
    ("layout_version", Leaf),
    ("last_resized", Leaf),
    ("previous", Object(&[("rows", Leaf), ("cols", Leaf)])),
]);
const TAB: Shape = Object(&[("name", Leaf), ("colour", Leaf), ("grid", GRID)]);
const PAGE: Shape = Object(&[("name", Leaf), ("tabs", List(&TAB))]);

const AUDIO: Shape = Object(&[
    ("path", Leaf),
    ("hash", Leaf),
    (
        "format",
        Object(&[
            ("channels", Leaf),
            ("sample_rate", Leaf),
            ("bit_depth", Leaf),
            ("frames", Leaf),
            ("codec", Leaf),
            ("trim", Object(&[("start", Leaf), ("end", Leaf)])),
        ]),
    ),
    (
        "metadata",
        Object(&[
            ("title", Leaf),
            ("artist", Leaf),
            ("composer", Leaf),
            ("publisher", Leaf),
            ("isrc", Leaf),
            ("iswc", Leaf),
            ("pro", Leaf),
        ]),
    ),
]);
const PROCESSING: Shape = Object(&[
    ("level_db", Leaf),
    (
        "panning",
        // Mono and stereo panning: the mode says which fields apply.
        Object(&[
            ("mode", Leaf),
            ("pan", Leaf),
            ("width", Leaf),
            ("balance", Leaf),
        ]),
    ),
    (
        "time_pitch",
        Object(&[
            ("mode", Leaf),
            ("rate", Leaf),
            ("pitch_semitones", Leaf),
            ("preserve_pitch", Leaf),
        ]),
    ),
    ("cue", Object(&[("start", Leaf), ("end", Leaf)])),
    (
        "loop",
        Object(&[("start", Leaf), ("end", Leaf), ("enabled", Leaf)]),
    ),
    (
        "warp_markers",
        List(&Object(&[("frame", Leaf), ("beat", Leaf)])),
    ),
    (
        "fades",
        Object(&[("in", FADE), ("out", FADE), ("crossfade", CROSSFADE)]),
    ),
    (
        "protection",
        Object(&[("edit_point_fade_ms", Leaf), ("loop_point_fade_ms", Leaf)]),
    ),
]);
const CLIP_ANALYSIS: Shape = Object(&[
    ("status", Leaf),
    ("tempo_bpm", Leaf),
    ("confidence", Leaf),
    (
        "alternatives",
        List(&Object(&[("bpm", Leaf), ("confidence", Leaf)])),
    ),
    (
        "sections",
        List(&Object(&[("start", Leaf), ("label", Leaf)])),
    ),
    ("reason", Leaf),
]);
const CLIP: Shape = Object(&[
    ("id", Leaf),
    ("name", Leaf),
    ("group", Leaf),
    ("audio", AUDIO),
    ("processing", PROCESSING),
    ("analysis", CLIP_ANALYSIS),
    ("timecode_trigger", Leaf),
    ("timecode_chase", Leaf),
]);

/// The whole manifest.
pub(crate) const SHOW: Shape = Object(&[
    ("format_version", Leaf),
    (
        "session",
        Object(&[
            ("id", Leaf),
            ("name", Leaf),
            ("media_folder", Leaf),
            ("created", Leaf),
        ]),
    ),
    (
        "page_view",
        // Single and dual views: the mode says which fields apply.
        Object(&[
            ("mode", Leaf),
            ("page", Leaf),
            ("left", Leaf),
            ("right", Leaf),
            ("focus", Leaf),
        ]),
    ),
    ("pages", List(&PAGE)),
    ("clips", List(&CLIP)),
    (
        "busses",
        Object(&[
            (
                "groups",
                Object(&[
                    ("A", GROUP_BUS),
                    ("B", GROUP_BUS),
                    ("C", GROUP_BUS),
                    ("D", GROUP_BUS),
                ]),
            ),
            ("audition", Object(OUTPUT_BUS)),
            ("record_a", RECORD_BUS),
            ("record_b", RECORD_BUS),
            ("ltc_input", Object(&[("input", Leaf), ("enabled", Leaf)])),
        ]),
    ),
    (
        "fade_defaults",
        Object(&[("in", FADE), ("out", FADE), ("crossfade", CROSSFADE)]),
    ),
    (
        "protection",
        Object(&[
            ("edge_fade_ms", Leaf),
            ("edit_point_fade_ms", Leaf),
            ("loop_point_fade_ms", Leaf),
        ]),
    ),
    (
        "resources",
        Object(&[(
            "thresholds",
            Object(&[
                ("recovery_pct", Leaf),
                ("warning_pct", Leaf),
                ("critical_pct", Leaf),
            ]),
        )]),
    ),
    (
        "time_sources",
        Object(&[
            ("priority", Leaf),
            ("drift_warning_us", Leaf),
            ("jitter_warning_us", Leaf),
            ("min_stability", Leaf),
            ("frame_rate", Leaf),
            ("chase", Leaf),
        ]),
    ),
    (
        "analysis",
        Object(&[
            (
                "tempo_map",
                List(&Object(&[
                    ("at_secs", Leaf),
                    ("bpm", Leaf),
                    ("beats_per_bar", Leaf),
                ])),
            ),
            ("overrides", List(&Object(&[("clip", Leaf), ("bpm", Leaf)]))),
            ("sync", Object(&[("source", Leaf), ("quantize", Leaf)])),
        ]),
    ),
    (
        "show_info",
        Object(&[
            ("production", Leaf),
            (
                "venue",
                Object(&[("name", Leaf), ("city", Leaf), ("country", Leaf)]),
            ),
            ("performance_dates", Leaf),
            ("rights_context", Leaf),
            (
                "reporting",
                Object(&[
                    ("default_depth", Leaf),
                    ("formats", Leaf),
                    ("auto_export", Leaf),
                    ("pros", Leaf),
                ]),
            ),
        ]),
    ),
    (
        "runtime",
        Object(&[
            (
                "deck",
                Object(&[("page", Leaf), ("tab", Leaf), ("playhead", Leaf)]),
            ),
            ("locked", Leaf),
            ("group_levels", Map(&Leaf)),
        ]),
    ),
]);

/// Every field path the manifest knows, `[]` marking a list's elements
/// (`clips[].processing.level_db`): what validation tells a typo from.
pub fn known_field_paths() -> Vec<String> {
    fn go(shape: &Shape, path: &str, out: &mut Vec<String>) {
        match shape {
            Object(fields) => {
                for (name, inner) in *fields {
                    let here = if path.is_empty() {
                        (*name).to_string()
                    } else {
                        format!("{path}.{name}")
                    };
                    out.push(here.clone());
                    go(inner, &here, out);
                }
            }
            List(inner) => {
                if let Some(last) = out.pop() {
                    out.push(format!("{last}[]"));
                }
                go(inner, &format!("{path}[]"), out);
            }
            Map(_) | Leaf => {}
        }
    }
    let mut out = Vec::new();
    go(&SHOW, "", &mut out);
    out
}

/// Words a designer may write for a field's word: the field's word first.
const SYNONYMS: &[(&str, &str)] = &[
    ("level", "volume"),
    ("level", "vol"),
    ("level", "gain"),
    ("pan", "panning"),
    ("loop", "looping"),
    ("fades", "fade"),
];

/// A field of the manifest no object of this version knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// JSON path of the field (`clips[2].processing.volume_db`).
    pub path: String,
    /// Its name.
    pub field: String,
    /// The clip it is in (its id), if it is in one.
    pub clip: Option<String>,
    /// The known field of the same object it most resembles: a typo.
    pub suggestion: Option<&'static str>,
}

/// Every field of `doc` (a manifest) that its object does not know.
pub(crate) fn unknown_fields(doc: &Value) -> Vec<UnknownField> {
    let mut out = Vec::new();
    walk(doc, &SHOW, String::new(), None, &mut out);
    out
}

fn walk(v: &Value, shape: &Shape, path: String, clip: Option<&str>, out: &mut Vec<UnknownField>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (shape, v) {
        (Object(fields), Value::Object(map)) => {
            for (key, value) in map {
                match fields.iter().find(|(name, _)| name == key) {
                    Some((_, inner)) => walk(value, inner, join(key), clip, out),
                    None => out.push(UnknownField {
                        path: join(key),
                        field: key.clone(),
                        clip: clip.map(str::to_string),
                        suggestion: resembles(key, fields),
                    }),
                }
            }
        }
        (List(inner), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                // Inside a clip, name it by its id.
                let id = (path == "clips")
                    .then(|| item.get("id").and_then(Value::as_str))
                    .flatten();
                walk(item, inner, format!("{path}[{i}]"), id.or(clip), out);
            }
        }
        (Map(inner), Value::Object(map)) => {
            for (key, value) in map {
                walk(value, inner, join(key), clip, out);
            }
        }
        _ => {}
    }
}

/// The known field `key` looks like a typo of, if any: within two edits
/// (one for names of up to four letters), ignoring case, after a designer's
/// synonyms (`volume` for `level`) are taken back.
fn resembles(key: &str, fields: &[(&'static str, Shape)]) -> Option<&'static str> {
    let key = key.to_lowercase();
    let spelt = key
        .split('_')
        .map(|word| {
            SYNONYMS
                .iter()
                .find(|(_, other)| *other == word)
                .map_or(word, |(known, _)| known)
        })
        .collect::<Vec<_>>()
        .join("_");
    let most = if key.chars().count() <= 4 { 1 } else { 2 };
    fields
        .iter()
        .map(|(name, _)| (edits(&spelt, name).min(edits(&key, name)), *name))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// The Levenshtein distance between `a` and `b`, in characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_synonyms_resemble_the_field_and_strangers_do_not() {
        let Object(fields) = PROCESSING else {
            unreachable!()
        };
        assert_eq!(resembles("volume_db", fields), Some("level_db"));
        assert_eq!(resembles("Level_DB", fields), Some("level_db"));
        assert_eq!(resembles("levl_db", fields), Some("level_db"));
        assert_eq!(resembles("warp_marker", fields), Some("warp_markers"));
        assert_eq!(resembles("lop", fields), Some("loop"));
        assert_eq!(resembles("future", fields), None);
        assert_eq!(resembles("reverb_send", fields), None);
        assert_eq!(edits("kitten", "sitting"), 3);
    }
}
