//! Edits of the playing show, from every input that may make them (an API
//! host's `Revise`, a package import, the operator's page): one path that
//! checks the edit, has the playing show take it where it plays (levels
//! and fades glide on what plays) and saves it with an undo step.

use cuebox_engine::control::revise::Cuts;
use cuebox_engine::show::Show;
use cuebox_proto::revise;

use crate::api::proto::{self, Refusal, RefusalKind};
use crate::api::service::{ShowControl, Started};
use crate::origin::Origin;
use crate::store::{chain, DataRoot};

/// Why an edit did not complete.
#[derive(Debug)]
pub enum NotRevised {
    /// Nothing changed.
    Untouched(Refusal),
    /// The playing show took it (what it names is in use), but it was
    /// not saved or the session did not start again.
    Taken(Refusal),
}

impl NotRevised {
    /// The refusal to send, whichever it is.
    pub fn refusal(self) -> Refusal {
        match self {
            NotRevised::Untouched(r) | NotRevised::Taken(r) => r,
        }
    }
}

/// What an edit was made from and when it applies: the show's edit
/// generation (`None`: a pair's main's edit on its backup, made on the
/// main) and the show sample its glides start at (`None`: as soon as the
/// box can, after a pair's pre-roll on its main).
pub type Made = (Option<u64>, Option<u64>);

/// An edit of the playing `session` by `patch` (a JSON Patch of its show),
/// made from the show's generation in `made`: whole and valid, naming only
/// media the box has; applied where it plays, then saved in `root` with an
/// undo step named `what`. An edit made from an older show is refused
/// saying what the fields it edits hold now.
pub fn revise_by_patch<C: ShowControl + ?Sized>(
    show: &C,
    root: &DataRoot,
    origin: Origin,
    session: &str,
    made: Made,
    patch: &[u8],
    what: &str,
) -> Result<proto::Revised, NotRevised> {
    let untouched = |kind, message: String| NotRevised::Untouched(Refusal::new(kind, message));
    let (playing, live, generation) = show.live_show().map_err(NotRevised::Untouched)?;
    if playing != session {
        return Err(untouched(
            RefusalKind::NotFound,
            format!("session {session:?} is not the one playing ({playing:?}): edits go to the playing session; edit the folder and push it"),
        ));
    }
    if let Some(from) = made.0.filter(|&from| from != generation) {
        return Err(untouched(
            RefusalKind::Stale,
            format!(
                "the show changed on the box since you read it (generation {from}, now {generation}); nothing was changed. Now: {}. Run the edit again",
                revise::values_now(&live, patch).join(", ")
            ),
        ));
    }
    let edited =
        revise::apply(&live, patch).map_err(|e| untouched(RefusalKind::Invalid, e.to_string()))?;
    let problems = live.problems_added_by(&edited);
    if !problems.is_empty() {
        return Err(untouched(
            RefusalKind::Invalid,
            format!(
                "the edit would make the show invalid; nothing was changed: {}",
                problems.join("; ")
            ),
        ));
    }
    // The box's media folder holds what its clips name, by path and content.
    let media = |c: &cuebox_engine::show::Clip| (c.audio.path.as_str().to_owned(), c.audio.hash);
    let had: std::collections::HashSet<_> = live.clips.iter().map(media).collect();
    if let Some(c) = edited.clips.iter().find(|c| !had.contains(&media(c))) {
        return Err(untouched(
            RefusalKind::Media,
            format!("clip {} names media the box does not have ({}): import it into the session on the host and push", c.id, c.audio.path),
        ));
    }
    take_revision(show, root, origin, session, made, edited, what)
}

/// Applies `edited`, made as `made` says from the playing `session` and
/// checked, where it plays, then saves it in `root` with an undo step named
/// `what` (restarting the session if it changed what it sets up at its
/// start); a pair's main sends it on to its backup.
pub fn take_revision<C: ShowControl + ?Sized>(
    show: &C,
    root: &DataRoot,
    origin: Origin,
    session: &str,
    (from, at): Made,
    edited: Show,
    what: &str,
) -> Result<proto::Revised, NotRevised> {
    let before = show.live_show().ok().map(|(_, show, _)| show);
    let revised = show
        .revise(origin, from, edited.clone(), Cuts::Refuse, at)
        .map_err(NotRevised::Untouched)?;
    let saved = root
        .open_session(session)
        .and_then(|dir| dir.save_edit(&edited, what));
    if let Err(e) = saved {
        return Err(NotRevised::Taken(Refusal::new(
            RefusalKind::Failed,
            format!("the playing show took the edit, but the box could not save it ({}): it is lost when the session next starts; make room and edit again", chain(&e)),
        )));
    }
    show.saved(&edited);
    let revision = &revised.live.revision;
    let restarted = revision.needs_restart();
    if let (Some(before), false) = (before, restarted) {
        let patch = revise::patch(&before, &edited);
        show.revision_taken(session, patch, what, revised.live.at_sample);
    }
    if restarted {
        if let Started::Failed(problem) = show.activated(session) {
            return Err(NotRevised::Taken(Refusal::new(
                RefusalKind::Failed,
                format!("the edit is saved, but the session cannot start again with it: {problem}"),
            )));
        }
    }
    Ok(proto::Revised {
        generation: revised.generation,
        at_sample: revised.live.at_sample,
        glides: revision.glides.len() as u32,
        deferred: revision
            .deferred
            .iter()
            .map(|d| format!("{}: {}", d.clip, d.what))
            .collect(),
        restarted,
    })
}
