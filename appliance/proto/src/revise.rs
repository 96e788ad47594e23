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
}

/// The show as a patch addresses it.
fn document(show: &Show) -> Value {
    serde_json::to_value(show).expect("a show always serialises")
}

/// The patch that edits `before` into `after`.
pub fn patch(before: &Show, after: &Show) -> Vec<u8> {
    let ops = json_patch::diff(&document(before), &document(after));
    serde_json::to_vec(&ops).expect("a patch always serialises")
}

/// The operations of `patch`.
fn operations(patch: &[u8]) -> Result<json_patch::Patch, ReviseError> {
    serde_json::from_slice(patch).map_err(ReviseError::Malformed)
}

/// `show` edited by `patch`, read as a manifest is (types and invariants;
/// ranges and references are the caller's to validate).
pub fn apply(show: &Show, patch: &[u8]) -> Result<Show, ReviseError> {
    let ops = operations(patch)?;
    let mut doc = document(show);
    json_patch::patch(&mut doc, &ops)?;
    let bytes = serde_json::to_vec(&doc).expect("a JSON value always serialises");
    Ok(Show::load(&bytes)?.show)
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
    use cuebox_engine::fixtures::{add_clip, described_audio, placement};
    use cuebox_engine::show::{Channels, GridDims, Group};

    fn show() -> Show {
        let mut show = Show::new(
            "s",
            "media",
            GridDims::new(2, 2).unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        for (i, name) in ["a", "b"].iter().enumerate() {
            let audio = described_audio(name, Channels::Stereo, 48_000);
            add_clip(&mut show, name, Group::A, audio, placement(1, 1, 1, i as u16 + 1));
        }
        show
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
    fn a_patch_that_does_not_fit_or_breaks_the_show_is_refused() {
        let s = show();
        let gone = br#"[{"op": "replace", "path": "/clips/7/name", "value": "x"}]"#;
        assert!(matches!(apply(&s, gone), Err(ReviseError::Apply(_))));
        let bad = br#"[{"op": "replace", "path": "/clips/0/group", "value": "Z"}]"#;
        assert!(matches!(apply(&s, bad), Err(ReviseError::Load(_))));
        assert!(matches!(apply(&s, b"{"), Err(ReviseError::Malformed(_))));
    }
}
