//! An edit of a box's playing show as it travels: a JSON Patch (RFC 6902)
//! from the show the host read ([`Response::LiveShow`]) to the show the
//! host edited. The usual edit is tiny (a level is one `replace`), and the
//! box applies it to the show it plays, then checks the result as a whole.
//!
//! [`Response::LiveShow`]: crate::messages::Response::LiveShow

use cuebox_engine::show::{LoadError, Show};
use serde_json::Value;

/// Why a patch cannot become a show; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ReviseError {
    /// The bytes are not a JSON Patch.
    #[error("the edit is not a JSON Patch: {0}")]
    Malformed(serde_json::Error),
    /// An operation does not fit the show (a path that is not there).
    #[error("the edit does not fit the show on the box: {0}")]
    Apply(#[from] json_patch::PatchError),
    /// The patched manifest is not a show.
    #[error("the edited show cannot be read: {0}")]
    Load(#[from] LoadError),
    /// A patched clip is not a clip.
    #[error("the edited clip {0} (from 0) cannot be read: {1}")]
    Clip(usize, serde_json::Error),
}

/// The show as a patch addresses it.
fn document(show: &Show) -> Value {
    serde_json::to_value(show).expect("a show always serialises")
}

/// The patch that edits `before` into `after`. When the clips are the
/// same ones in the same order (every edit but adding, removing or
/// reordering clips), only the clips that changed are compared, each at
/// its own path: a big show's patch costs what the edit touched.
pub fn patch(before: &Show, after: &Show) -> Vec<u8> {
    let same_clips = before.clips.len() == after.clips.len()
        && before
            .clips
            .iter()
            .zip(&after.clips)
            .all(|(a, b)| a.id == b.id);
    let ops = if same_clips {
        let rest = |show: &Show| {
            let mut rest = show.clone();
            rest.clips.clear();
            document(&rest)
        };
        let mut ops = json_patch::diff(&rest(before), &rest(after)).0;
        for (i, (a, b)) in before.clips.iter().zip(&after.clips).enumerate() {
            if a != b {
                let clip = |c| serde_json::to_value(c).expect("a clip always serialises");
                let at = format!("/clips/{i}");
                ops.extend(
                    json_patch::diff(&clip(a), &clip(b))
                        .0
                        .into_iter()
                        .map(|op| under(&at, op)),
                );
            }
        }
        json_patch::Patch(ops)
    } else {
        json_patch::diff(&document(before), &document(after))
    };
    serde_json::to_vec(&ops).expect("a patch always serialises")
}

/// `op` (of a part of the document) moved under the part's path `at`.
fn under(at: &str, op: json_patch::PatchOperation) -> json_patch::PatchOperation {
    use json_patch::PatchOperation as Op;
    let moved = |path: &jsonptr::Pointer| {
        jsonptr::PointerBuf::parse(format!("{at}{path}")).expect("a pointer under a pointer")
    };
    match op {
        Op::Add(mut o) => {
            o.path = moved(&o.path);
            Op::Add(o)
        }
        Op::Remove(mut o) => {
            o.path = moved(&o.path);
            Op::Remove(o)
        }
        Op::Replace(mut o) => {
            o.path = moved(&o.path);
            Op::Replace(o)
        }
        Op::Move(mut o) => {
            (o.from, o.path) = (moved(&o.from), moved(&o.path));
            Op::Move(o)
        }
        Op::Copy(mut o) => {
            (o.from, o.path) = (moved(&o.from), moved(&o.path));
            Op::Copy(o)
        }
        Op::Test(mut o) => {
            o.path = moved(&o.path);
            Op::Test(o)
        }
    }
}

/// The operations of `patch`.
fn operations(patch: &[u8]) -> Result<json_patch::Patch, ReviseError> {
    serde_json::from_slice(patch).map_err(ReviseError::Malformed)
}

/// `show` edited by `patch`, read as a manifest is (types and invariants;
/// ranges and references are the caller's to validate).
pub fn apply(show: &Show, patch: &[u8]) -> Result<Show, ReviseError> {
    let ops = operations(patch)?;
    if let Some(edited) = apply_to_clips(show, &ops)? {
        return Ok(edited);
    }
    let mut doc = document(show);
    json_patch::patch(&mut doc, &ops)?;
    let bytes = serde_json::to_vec(&doc).expect("a JSON value always serialises");
    Ok(Show::load(&bytes)?.show)
}

/// `show` edited by `ops` when every one edits a field inside a clip
/// (the usual edit): each such clip alone is patched and read again.
/// `None` for any other patch.
fn apply_to_clips(show: &Show, ops: &json_patch::Patch) -> Result<Option<Show>, ReviseError> {
    use json_patch::PatchOperation as Op;
    let mut by_clip: std::collections::BTreeMap<usize, Vec<Op>> = Default::default();
    for op in ops.iter() {
        let mut tokens = op.path().tokens();
        let clip = match (tokens.next(), tokens.next(), tokens.next()) {
            (Some(c), Some(i), Some(_)) if c.decoded() == "clips" => {
                i.decoded().parse::<usize>().ok()
            }
            _ => None,
        };
        let Some(clip) = clip.filter(|i| *i < show.clips.len()) else {
            return Ok(None);
        };
        let inside = jsonptr::PointerBuf::from_tokens(op.path().tokens().skip(2));
        let op = match op.clone() {
            Op::Add(mut o) => {
                o.path = inside;
                Op::Add(o)
            }
            Op::Remove(mut o) => {
                o.path = inside;
                Op::Remove(o)
            }
            Op::Replace(mut o) => {
                o.path = inside;
                Op::Replace(o)
            }
            Op::Test(mut o) => {
                o.path = inside;
                Op::Test(o)
            }
            Op::Move(_) | Op::Copy(_) => return Ok(None),
        };
        by_clip.entry(clip).or_default().push(op);
    }
    let mut edited = show.clone();
    for (i, ops) in by_clip {
        let mut clip = serde_json::to_value(&show.clips[i]).expect("a clip always serialises");
        json_patch::patch(&mut clip, &ops)?;
        edited.clips[i] = serde_json::from_value(clip).map_err(|e| ReviseError::Clip(i, e))?;
    }
    Ok(Some(edited))
}

/// What the fields `patch` edits hold in `show` now (`/clips/2/processing/level_db = -6`),
/// for the refusal of an edit made from an older show.
pub fn values_now(show: &Show, patch: &[u8]) -> Vec<String> {
    let Ok(ops) = operations(patch) else {
        return Vec::new();
    };
    let doc = document(show);
    ops.iter()
        .map(|op| {
            let path = op.path();
            match path.resolve(&doc) {
                Ok(value) => format!("{path} = {value}"),
                Err(_) => format!("{path}: not there"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show() -> Show {
        cuebox_engine::fixtures::row_show(&["a.wav", "b.wav"]).0
    }

    #[test]
    fn a_level_edit_is_one_small_replace_and_applies_to_the_show() {
        let before = show();
        let mut after = before.clone();
        after.clips[1].processing.level_db = -6.0;
        let p = patch(&before, &after);
        assert!(p.len() < 100, "{}", String::from_utf8_lossy(&p));
        assert_eq!(apply(&before, &p).unwrap(), after);
        assert_eq!(
            values_now(&before, &p),
            ["/clips/1/processing/level_db = 0.0"]
        );
    }

    #[test]
    fn edits_of_the_rest_and_of_the_clip_list_round_trip_too() {
        let before = show();
        let mut after = before.clone();
        after.clips[0].name = "first".into();
        after.pages[0].name = "Act 1".into();
        assert_eq!(apply(&before, &patch(&before, &after)).unwrap(), after);
        let mut fewer = before.clone();
        fewer.remove_clip(&before.clips[0].id).unwrap();
        assert_eq!(apply(&before, &patch(&before, &fewer)).unwrap(), fewer);
    }

    #[test]
    fn a_patch_that_does_not_fit_or_breaks_the_show_is_refused() {
        let s = show();
        let gone = br#"[{"op": "replace", "path": "/clips/7/name", "value": "x"}]"#;
        assert!(matches!(apply(&s, gone), Err(ReviseError::Apply(_))));
        let bad = br#"[{"op": "replace", "path": "/clips/0/group", "value": "Z"}]"#;
        assert!(matches!(apply(&s, bad), Err(ReviseError::Clip(0, _))));
        let bad = br#"[{"op": "replace", "path": "/format_version", "value": "x"}]"#;
        assert!(matches!(apply(&s, bad), Err(ReviseError::Load(_))));
        assert!(matches!(apply(&s, b"{"), Err(ReviseError::Malformed(_))));
    }
}
