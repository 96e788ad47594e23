//! What a revised show means for a box playing the show it revises: the
//! changes that reach the playing voices at once (a clip's level and pan
//! glide, a group bus ramps), the ones a playing clip takes at its next
//! start, and the ones that cannot be made while something plays, because
//! they would cut a playing clip or need the device opened again. Pure:
//! the box applies what this decides (cueboxd `live`).

use std::collections::HashSet;
use std::fmt;

use crate::render::Pan;
use crate::show::{Clip, ClipId, Group, Show};

/// A change that reaches playing voices at once, ramped so it never clicks.
#[derive(Debug, Clone, PartialEq)]
pub enum Glide {
    /// Every voice of a playing clip to its new level.
    Level {
        /// The clip.
        clip: ClipId,
        /// Its new level, dB.
        level_db: f64,
    },
    /// Every voice of a playing clip to its new pan (or width and balance).
    Pan {
        /// The clip.
        clip: ClipId,
        /// Its new panning.
        pan: Pan,
    },
    /// A group bus to its new level and mute.
    Bus {
        /// The group.
        group: Group,
        /// Its level, dB.
        level_db: f64,
        /// Muted.
        mute: bool,
    },
}

/// A change a playing clip takes at its next start (its voices play on
/// as they started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// The playing clip.
    pub clip: ClipId,
    /// What changed, as an operator reads it (`"its cue and loop points"`).
    pub what: &'static str,
}

/// Why a revision cannot be made while the show plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// It removes a clip that plays (or the page or tab that holds it).
    Removed(ClipId),
    /// It changes the audio of a clip that plays.
    Media(ClipId),
    /// It changes what the box set up when the session started (outputs,
    /// group modes and voices, protection fades, time sources, the media
    /// folder): the session must start again to take it.
    Setup(&'static str),
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::Removed(clip) => write!(
                f,
                "it removes clip {clip}, which is playing: stop it first (hostctl stop BOX {clip})"
            ),
            Blocked::Media(clip) => write!(
                f,
                "it changes the audio of clip {clip}, which is playing: stop it first (hostctl stop BOX {clip})"
            ),
            Blocked::Setup(what) => write!(
                f,
                "it changes {what}, which the box sets up when the session starts: make it while \
                 nothing plays, and the box starts the session again with it"
            ),
        }
    }
}

/// What a revision does to the show as it plays.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Revision {
    /// Ramped at once on what plays.
    pub glides: Vec<Glide>,
    /// Taken by playing clips at their next start.
    pub deferred: Vec<Deferred>,
    /// Clips that are new, or whose audio or sequence changed: their heads
    /// are loaded again before a GO needs them.
    pub rearm: Vec<ClipId>,
    /// Changes to what the session set up at its start (see
    /// [`Blocked::Setup`]): with nothing playing, the box restarts the
    /// session to take them.
    pub setup: Vec<&'static str>,
}

impl Revision {
    /// Whether the box must start the session again to take it.
    pub fn needs_restart(&self) -> bool {
        !self.setup.is_empty()
    }
}

/// What a revision does to a playing clip it removes or gives other audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cuts {
    /// Refuses it (an edit sent to the box: the operator stops the clip
    /// first, as they would expect).
    Refuse,
    /// Lets the playing clip play out as it started (its voices keep their
    /// open files); the change applies from its next start, and a removed
    /// clip can still be stopped until it ends (a push of the playing
    /// session: whatever is safe applies at once).
    PlayOut,
}

/// What revising `old` into `new` does while the clips in `playing` play;
/// every reason it cannot be made now, when it cannot.
pub fn revise(
    old: &Show,
    new: &Show,
    playing: &HashSet<ClipId>,
    cuts: Cuts,
) -> Result<Revision, Vec<Blocked>> {
    let mut revision = Revision {
        setup: setup_changes(old, new),
        ..Revision::default()
    };
    let mut blocked: Vec<Blocked> = Vec::new();
    if !playing.is_empty() {
        blocked.extend(revision.setup.iter().map(|w| Blocked::Setup(w)));
    }
    for group in Group::ALL {
        let (was, is) = (
            &old.busses.groups.get(group).bus,
            &new.busses.groups.get(group).bus,
        );
        if (was.level_db, was.mute) != (is.level_db, is.mute) {
            revision.glides.push(Glide::Bus {
                group,
                level_db: is.level_db,
                mute: is.mute,
            });
        }
    }
    for clip in &new.clips {
        let Some(was) = old.clip(&clip.id) else {
            revision.rearm.push(clip.id.clone());
            continue;
        };
        if !playing.contains(&clip.id) {
            if sequence_changed(was, clip) {
                revision.rearm.push(clip.id.clone());
            }
            continue;
        }
        if was.audio != clip.audio {
            match cuts {
                Cuts::Refuse => {
                    blocked.push(Blocked::Media(clip.id.clone()));
                    continue;
                }
                Cuts::PlayOut => revision.deferred.push(Deferred {
                    clip: clip.id.clone(),
                    what: "its audio",
                }),
            }
        }
        let (p, q) = (&was.processing, &clip.processing);
        if p.level_db != q.level_db {
            revision.glides.push(Glide::Level {
                clip: clip.id.clone(),
                level_db: q.level_db,
            });
        }
        if p.panning != q.panning {
            revision.glides.push(Glide::Pan {
                clip: clip.id.clone(),
                pan: Pan::of(&q.panning),
            });
        }
        let later = [
            (was.group != clip.group, "its group"),
            (
                p.cue != q.cue || p.loop_region != q.loop_region,
                "its cue and loop points",
            ),
            (p.fades.fade_in != q.fades.fade_in, "its fade in"),
            (p.fades.crossfade != q.fades.crossfade, "its crossfade"),
            (
                p.time_pitch != q.time_pitch || p.warp_markers != q.warp_markers,
                "its time and pitch",
            ),
            (p.protection != q.protection, "its protection fades"),
        ];
        for (_, what) in later.iter().filter(|(changed, _)| *changed) {
            revision.deferred.push(Deferred {
                clip: clip.id.clone(),
                what,
            });
        }
        if sequence_changed(was, clip) {
            revision.rearm.push(clip.id.clone());
        }
    }
    let removed = old
        .clips
        .iter()
        .filter(|c| playing.contains(&c.id) && new.clip(&c.id).is_none());
    match cuts {
        Cuts::Refuse => blocked.extend(removed.map(|c| Blocked::Removed(c.id.clone()))),
        Cuts::PlayOut => revision.deferred.extend(removed.map(|c| Deferred {
            clip: c.id.clone(),
            what: "its removal (it plays out)",
        })),
    }
    if blocked.is_empty() {
        Ok(revision)
    } else {
        Err(blocked)
    }
}

/// Whether `new` plays other audio than `old` from its head: other media,
/// or another cue or loop.
fn sequence_changed(old: &Clip, new: &Clip) -> bool {
    old.audio != new.audio
        || old.processing.cue != new.processing.cue
        || old.processing.loop_region != new.processing.loop_region
}

/// The clips that chase timecode, with their triggers: the chaser is made
/// from them when the session starts.
fn chasing(show: &Show) -> Vec<(&ClipId, Option<crate::timecode::Timecode>)> {
    show.clips
        .iter()
        .filter(|c| c.timecode_chase)
        .map(|c| (&c.id, c.timecode_trigger))
        .collect()
}

/// What the box set up at the session's start that `new` changes.
fn setup_changes(old: &Show, new: &Show) -> Vec<&'static str> {
    let group_setup = |show: &Show| {
        Group::ALL.map(|g| {
            let group = show.busses.groups.get(g);
            (group.bus.outputs.clone(), group.mode.clone())
        })
    };
    let (b, n) = (&old.busses, &new.busses);
    [
        (
            group_setup(old) != group_setup(new),
            "the groups' outputs or modes",
        ),
        (b.audition != n.audition, "the audition bus"),
        (
            b.record_a != n.record_a || b.record_b != n.record_b,
            "the record busses",
        ),
        (b.ltc_input != n.ltc_input, "the LTC input"),
        (old.protection != new.protection, "the protection fades"),
        (
            old.resources != new.resources,
            "the voice and load thresholds",
        ),
        (old.time_sources != new.time_sources, "the time sources"),
        (chasing(old) != chasing(new), "which clips chase timecode"),
        (
            old.session.media_folder != new.session.media_folder,
            "the media folder",
        ),
    ]
    .into_iter()
    .filter_map(|(changed, what)| changed.then_some(what))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show() -> Show {
        crate::fixtures::row_show(&["a.wav", "b.wav"]).0
    }

    #[test]
    fn what_plays_glides_waits_or_refuses_and_a_push_lets_a_cut_play_out() {
        let old = show();
        let c = |i: usize| old.clips[i].id.clone();
        let playing: HashSet<ClipId> = [c(0)].into();
        let mut new = old.clone();
        new.clips[0].processing.level_db = -6.0;
        new.clips[0].processing.cue.start = crate::show::Frames(10);
        new.clips[1].processing.level_db = -3.0; // not playing: no glide
        new.busses.groups.b.bus.mute = true;
        let r = revise(&old, &new, &playing, Cuts::Refuse).unwrap();
        assert_eq!(
            r.glides,
            [
                Glide::Bus {
                    group: Group::B,
                    level_db: 0.0,
                    mute: true
                },
                Glide::Level {
                    clip: c(0),
                    level_db: -6.0
                },
            ]
        );
        assert_eq!(
            r.deferred,
            [Deferred {
                clip: c(0),
                what: "its cue and loop points"
            }]
        );
        assert_eq!(r.rearm, [c(0)]);
        assert!(!r.needs_restart());

        // Removing the playing clip and changing another's outputs.
        let mut cut = old.clone();
        cut.remove_clip(&c(0)).unwrap();
        cut.busses.groups.a.bus.outputs.pop();
        let refused = revise(&old, &cut, &playing, Cuts::Refuse).unwrap_err();
        assert_eq!(
            refused,
            [
                Blocked::Setup("the groups' outputs or modes"),
                Blocked::Removed(c(0))
            ]
        );
        // A push lets the clip play out, but setup still waits for silence.
        let pushed = revise(&old, &cut, &playing, Cuts::PlayOut).unwrap_err();
        assert_eq!(pushed, [Blocked::Setup("the groups' outputs or modes")]);
        cut.busses = old.busses.clone();
        let r = revise(&old, &cut, &playing, Cuts::PlayOut).unwrap();
        assert_eq!(r.deferred[0].what, "its removal (it plays out)");
        // With nothing playing, setup is taken by a restart.
        let mut setup = old.clone();
        setup.busses.groups.a.bus.outputs.pop();
        assert!(revise(&old, &setup, &HashSet::new(), Cuts::Refuse)
            .unwrap()
            .needs_restart());
    }
}
