//! Explicit migration steps from older session formats to the current one.
//!
//! Each step rewrites the JSON of one major version into the next, before the
//! typed model sees it. Steps never guess: a document a step cannot convert is
//! refused with the path of what it could not read.

use serde_json::{Map, Value};

use super::version::FormatVersion;

/// A migration step that could not convert the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("migrating from format {from}: {path}: {reason}")]
pub struct MigrationError {
    /// The major version the step converts from.
    pub from: u16,
    /// JSON path of what it could not convert.
    pub path: String,
    /// What was wrong.
    pub reason: String,
}

/// One step: converts a document of major version `from` into `from + 1`.
struct Step {
    from: u16,
    apply: fn(&mut Map<String, Value>) -> Result<(), MigrationError>,
}

/// Every step, oldest first.
const STEPS: &[Step] = &[Step {
    from: 1,
    apply: v1_to_v2,
}];

/// Converts `doc` (an object of format `from`) step by step to `to`.
pub(crate) fn migrate(
    doc: &mut Map<String, Value>,
    from: FormatVersion,
    to: FormatVersion,
) -> Result<(), MigrationError> {
    for major in from.major..to.major {
        let step = STEPS
            .iter()
            .find(|s| s.from == major)
            .ok_or_else(|| MigrationError {
                from: major,
                path: "format_version".into(),
                reason: format!("no migration from format {major} exists"),
            })?;
        (step.apply)(doc)?;
    }
    doc.insert("format_version".into(), Value::String(to.to_string()));
    Ok(())
}

fn err(path: impl Into<String>, reason: impl Into<String>) -> MigrationError {
    MigrationError {
        from: 1,
        path: path.into(),
        reason: reason.into(),
    }
}

/// Format 1 was the prototype's draft: each grid a dense `cells` matrix of
/// clip ids or nulls, clip levels as linear `gain`, fades as `fade_in_s` /
/// `fade_out_s` seconds on the clip, and one page without a page view.
/// Format 2 stores sparse buttons, levels in dB and fades in milliseconds.
fn v1_to_v2(doc: &mut Map<String, Value>) -> Result<(), MigrationError> {
    if let Some(Value::Array(pages)) = doc.get_mut("pages") {
        for (p, page) in pages.iter_mut().enumerate() {
            let Some(Value::Array(tabs)) = page.get_mut("tabs") else {
                continue;
            };
            for (t, tab) in tabs.iter_mut().enumerate() {
                let Some(grid) = tab.get_mut("grid").and_then(Value::as_object_mut) else {
                    continue;
                };
                let path = format!("pages[{p}].tabs[{t}].grid.cells");
                grid_cells_to_buttons(grid, &path)?;
            }
        }
    }
    if let Some(Value::Array(clips)) = doc.get_mut("clips") {
        for (i, clip) in clips.iter_mut().enumerate() {
            let Some(clip) = clip.as_object_mut() else {
                continue;
            };
            clip_v1_to_v2(clip, &format!("clips[{i}]"))?;
        }
    }
    doc.entry("page_view")
        .or_insert_with(|| serde_json::json!({"mode": "single", "page": 1}));
    Ok(())
}

fn grid_cells_to_buttons(grid: &mut Map<String, Value>, path: &str) -> Result<(), MigrationError> {
    let Some(cells) = grid.remove("cells") else {
        return Ok(());
    };
    let Value::Array(rows) = cells else {
        return Err(err(path, "expected an array of rows"));
    };
    let mut buttons = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let Value::Array(row) = row else {
            return Err(err(format!("{path}[{r}]"), "expected an array of cells"));
        };
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Value::Null => {}
                Value::String(clip) => buttons.push(serde_json::json!({
                    "row": r + 1, "col": c + 1, "clip": clip,
                })),
                _ => {
                    return Err(err(
                        format!("{path}[{r}][{c}]"),
                        "expected a clip id or null",
                    ))
                }
            }
        }
    }
    grid.insert("buttons".into(), Value::Array(buttons));
    Ok(())
}

fn clip_v1_to_v2(clip: &mut Map<String, Value>, path: &str) -> Result<(), MigrationError> {
    let mut fades = Map::new();
    for (old, new) in [("fade_in_s", "in"), ("fade_out_s", "out")] {
        if let Some(secs) = clip.remove(old) {
            let s = secs
                .as_f64()
                .filter(|s| *s >= 0.0)
                .ok_or_else(|| err(format!("{path}.{old}"), "expected seconds, 0 or more"))?;
            fades.insert(
                new.into(),
                serde_json::json!({"time_ms": s * 1000.0, "curve": "logarithmic", "power": true}),
            );
        }
    }
    let processing = clip
        .entry("processing")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| err(format!("{path}.processing"), "expected an object"))?;
    // The draft kept level as linear gain; silence maps to the floor of the dB range.
    if let Some(gain) = processing.remove("gain") {
        let g = gain.as_f64().filter(|g| *g >= 0.0).ok_or_else(|| {
            err(
                format!("{path}.processing.gain"),
                "expected a gain of 0 or more",
            )
        })?;
        let db = if g > 0.0 { 20.0 * g.log10() } else { -144.0 };
        processing.insert("level_db".into(), Value::from(db.max(-144.0)));
    }
    if !fades.is_empty() {
        processing.insert("fades".into(), Value::Object(fades));
    }
    Ok(())
}
