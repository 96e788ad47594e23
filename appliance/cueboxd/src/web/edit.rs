//! Live edits from an edit login: a clip's level and fade times, read as
//! the box plays them and changed through the box's one edit path
//! ([`live_edit::revise_by_patch`], as a host's `hostctl clip set` on a
//! playing box): the playing show takes it (the level glides on what
//! plays) and the session is saved with an undo step.

use std::sync::Arc;

use cuebox_engine::show::{ClipChanges, ClipId, FadeChange, Show, TimeSpec};
use serde::{Deserialize, Serialize};

use crate::api::proto::{self, Refusal, RefusalKind};
use crate::link::LiveLink;
use crate::live_edit::{self, NotRevised};
use crate::origin::Origin;
use crate::store::DataRoot;

/// A clip's editable values as the box plays them, and the show's edit
/// generation they were read at (an edit names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipValues {
    /// The clip's id.
    pub clip: String,
    /// Its name.
    pub name: String,
    /// Its level, dB.
    pub level_db: f64,
    /// Its fade in, seconds (the session's default when it has none).
    pub fade_in: f64,
    /// Its fade out, seconds (likewise).
    pub fade_out: f64,
    /// The show's edit generation.
    pub generation: u64,
}

/// A clip's values in the playing show, or why not.
pub fn values(link: &LiveLink, clip: &str) -> Result<ClipValues, Refusal> {
    let (_, show, generation) = link.live_show()?;
    let c = show
        .clips
        .iter()
        .find(|c| c.id.as_str() == clip)
        .ok_or_else(|| not_in(clip, &show))?;
    let fades = &c.processing.fades;
    let seconds = |own: &Option<cuebox_engine::show::Fade>, default: &cuebox_engine::show::Fade| {
        own.as_ref().unwrap_or(default).time_ms / 1000.0
    };
    Ok(ClipValues {
        clip: c.id.to_string(),
        name: c.name.clone(),
        level_db: c.processing.level_db,
        fade_in: seconds(&fades.fade_in, &show.fade_defaults.fade_in),
        fade_out: seconds(&fades.fade_out, &show.fade_defaults.fade_out),
        generation,
    })
}

fn not_in(clip: &str, show: &Show) -> Refusal {
    Refusal::new(
        RefusalKind::NotFound,
        format!(
            "clip {clip:?} is not in the playing session {:?}",
            show.session.name
        ),
    )
}

/// What an edit login changes on a clip: `POST /api/edit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipEdit {
    /// The clip.
    pub clip: String,
    /// The show's edit generation the values were read at.
    pub generation: u64,
    /// A new level, dB.
    pub level_db: Option<f64>,
    /// A new fade in, seconds.
    pub fade_in: Option<f64>,
    /// A new fade out, seconds.
    pub fade_out: Option<f64>,
}

/// The form of an edit, for a refusal of one that is not.
pub const FORM: &str = "an edit is {\"clip\": id, \"generation\": n, and any of \"level_db\", \"fade_in\", \"fade_out\" (seconds)}";

impl ClipEdit {
    /// Makes the edit on the playing show (by `origin`), saved in `root`:
    /// what the box did, or why not.
    pub fn apply(
        &self,
        link: &Arc<LiveLink>,
        root: &DataRoot,
        origin: Origin,
    ) -> Result<proto::Revised, Refusal> {
        let (session, live, generation) = link.live_show()?;
        let id: ClipId = self.clip.parse().map_err(|_| not_in(&self.clip, &live))?;
        let seconds = |s: Option<f64>| FadeChange {
            time: s.map(TimeSpec::Seconds),
            ..FadeChange::default()
        };
        let changes = ClipChanges {
            level_db: self.level_db,
            fade_in: seconds(self.fade_in),
            fade_out: seconds(self.fade_out),
            ..ClipChanges::default()
        };
        if changes.is_empty() {
            return Err(Refusal::new(RefusalKind::BadRequest, FORM));
        }
        let mut edited = (*live).clone();
        edited
            .set_clip(&id, &changes)
            .map_err(|e| Refusal::new(RefusalKind::NotFound, e.to_string()))?;
        if edited == *live {
            // Nothing to change: nothing sent, nothing saved.
            return Ok(proto::Revised {
                generation,
                ..proto::Revised::default()
            });
        }
        let patch = cuebox_proto::revise::patch(&live, &edited);
        let what = self.described();
        live_edit::revise_by_patch(
            link,
            root,
            origin,
            &session,
            (Some(self.generation), None),
            &patch,
            &what,
        )
        .map_err(NotRevised::refusal)
    }

    /// The undo step's name: what the page changed.
    fn described(&self) -> String {
        let mut parts = vec![format!("clip {}", self.clip)];
        if let Some(l) = self.level_db {
            parts.push(format!("level {l:.1} dB"));
        }
        if let Some(s) = self.fade_in {
            parts.push(format!("fade in {s} s"));
        }
        if let Some(s) = self.fade_out {
            parts.push(format!("fade out {s} s"));
        }
        format!("operator's page: {}", parts.join(", "))
    }
}
