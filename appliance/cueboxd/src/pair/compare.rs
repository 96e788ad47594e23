//! State digests (docs/pair.md): a unit's playing state at a named show
//! sample, its digest, and the backup's comparison of its own with the
//! main's at the same instant, with what adopting the main's would change.

use std::collections::BTreeMap;

use cuebox_engine::control::Command;
use cuebox_engine::show::{ContentHash, Deck, Group};

use crate::api::proto::{PairState, PairVoice};
use crate::link::LiveLink;
use crate::live::OnBoard;

/// A snapshot is of an instant this long (in samples at `rate`/this) before
/// the control thread's clock: by the time the backup looks at the same
/// instant, its own control thread has certainly seen it.
const LAG_PER_SECOND: u64 = 10;

/// Levels closer than this (dB) are the same level.
const LEVEL_EPSILON: f64 = 0.01;

/// This unit's playing state at show sample `at` (`None`: a tenth of a
/// second ago), with its digest, and its voices as the board has them;
/// `None` while nothing plays.
pub(super) fn snapshot(link: &LiveLink, at: Option<u64>) -> Option<(PairState, Vec<OnBoard>)> {
    let rate = link.render_now()?.1;
    let (at, voices) = link.voices_at(at, u64::from(rate) / LAG_PER_SECOND)?;
    let listed = voices.iter().map(|v| pair_voice(v, at)).collect();
    let mut state = PairState {
        at,
        voices: listed,
        group_levels: link
            .group_levels()
            .into_iter()
            .map(|(g, level)| (g.to_string(), level))
            .collect(),
        locked: link.locked(),
        deck: serde_json::to_string(&link.deck()).expect("a deck always serialises"),
        show: link.show_digest()?,
        digest: String::new(),
    };
    state.digest = digest(&state);
    Some((state, voices))
}

/// A voice as the pair sees it at show sample `at`.
fn pair_voice(v: &OnBoard, at: u64) -> PairVoice {
    PairVoice {
        clip: v.clip.to_string(),
        started: v.started,
        held: v.held,
        paused: v.paused_at.is_some(),
        position: v.position(at),
        level_db: v.level.map(|(level, _)| level),
        fading: v.fading_from.is_some(),
    }
}

/// The digest of a state: a content hash of everything in it but its
/// samples (its instant, and where its voices started and have got to:
/// those differ between units by the offset and its rounding, and are
/// compared within the stated error instead), 16 hex digits.
fn digest(state: &PairState) -> String {
    let mut voices: Vec<PairVoice> = state
        .voices
        .iter()
        .map(|v| PairVoice {
            started: 0,
            held: 0,
            position: 0,
            ..v.clone()
        })
        .collect();
    voices.sort_by(|a, b| a.clip.cmp(&b.clip));
    let named = PairState {
        at: 0,
        voices,
        digest: String::new(),
        ..state.clone()
    };
    let bytes = serde_json::to_vec(&named).expect("a state always serialises");
    let hash = ContentHash::of_bytes(&bytes).to_string();
    let hex = hash.rsplit(':').next().unwrap_or(&hash);
    hex.chars().take(16).collect()
}

/// What adopting the main's state changes here.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Repair {
    /// Clips to join: each at the frame it had played by the main's
    /// instant, paused or not.
    pub join: Vec<(cuebox_engine::show::ClipId, u64, bool)>,
    /// Voices here to stop.
    pub stop: Vec<u64>,
    /// Commands to apply (levels, fades).
    pub commands: Vec<Command>,
    /// The main's deck, when it differs.
    pub deck: Option<Deck>,
    /// The main's lock, when it differs.
    pub locked: Option<bool>,
}

impl Repair {
    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        *self == Repair::default()
    }
}

/// How far apart the two units' positions of a voice may be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Tolerance {
    /// Samples, at any position: the error in finding the same instant.
    pub samples: f64,
    /// And this fraction of the position: each unit plays the clip's frames
    /// at its own card's rate, so cards 50 ppm apart are 50e-6 of a voice's
    /// position apart at one instant.
    pub drift: f64,
}

impl Tolerance {
    /// Samples allowed at `position`.
    fn at(&self, position: u64) -> f64 {
        self.samples + position as f64 * self.drift
    }
}

/// How the state here (`here` at the same instant as the main's `main`,
/// its voices `voices`) differs from the main's, voices' positions allowed
/// `tolerance` apart: each difference said, and what adopting the
/// main's state would change. Positions, not starts, are compared: a unit
/// that started its session later (a backup back from a restart) counts
/// its show clock from a later instant.
pub(super) fn compare(
    main: &PairState,
    here: &PairState,
    voices: &[OnBoard],
    tolerance: Tolerance,
) -> (Vec<String>, Repair) {
    let mut found = Vec::new();
    let mut repair = Repair::default();
    let mut unmatched: Vec<&OnBoard> = voices.iter().collect();
    for m in &main.voices {
        let matching = unmatched.iter().position(|h| {
            h.clip.as_str() == m.clip
                && h.position(here.at).abs_diff(m.position) as f64 <= tolerance.at(m.position)
                && h.paused_at.is_some() == m.paused
        });
        let Some(i) = matching else {
            found.push(format!(
                "{} plays on the main (at its frame {}) but not here as it does there",
                m.clip, m.position
            ));
            if let Ok(clip) = m.clip.parse() {
                repair.join.push((clip, m.position, m.paused));
            }
            continue;
        };
        let h = unmatched.swap_remove(i);
        let level = h.level.map(|(level, _)| level);
        let same_level = match (m.level_db, level) {
            (Some(a), Some(b)) => (a - b).abs() < LEVEL_EPSILON,
            (a, b) => a.is_none() && b.is_none(),
        };
        if let (false, Some(level_db)) = (same_level, m.level_db) {
            found.push(format!(
                "{} is faded to {level_db:.1} dB on the main, not here",
                m.clip
            ));
            repair.commands.push(Command::FadeTo {
                clip: h.clip.clone(),
                level_db,
                time: None,
            });
        }
        if m.fading && h.fading_from.is_none() {
            found.push(format!("{} fades out on the main, not here", m.clip));
            repair.commands.push(Command::FadeOut {
                clip: h.clip.clone(),
                time: None,
            });
        }
    }
    for h in unmatched {
        found.push(format!(
            "{} plays here (at its frame {}) but not on the main",
            h.clip,
            h.position(here.at)
        ));
        repair.stop.push(h.voice);
    }
    let levels =
        |s: &PairState| -> BTreeMap<String, f64> { s.group_levels.iter().cloned().collect() };
    let (theirs, ours) = (levels(main), levels(here));
    for (group, &level_db) in &theirs {
        if ours
            .get(group)
            .is_none_or(|l| (l - level_db).abs() >= LEVEL_EPSILON)
        {
            found.push(format!("group {group} is at {level_db:.1} dB on the main"));
            if let Ok(group) = group.parse::<Group>() {
                repair.commands.push(Command::GroupLevel {
                    group,
                    level_db,
                    time: None,
                });
            }
        }
    }
    if main.locked != here.locked {
        found.push(format!(
            "the show is {} on the main",
            if main.locked { "locked" } else { "unlocked" }
        ));
        repair.locked = Some(main.locked);
    }
    if main.deck != here.deck {
        found.push(format!("the operator is at {} on the main", main.deck));
        repair.deck = serde_json::from_str(&main.deck).ok();
    }
    if main.show != here.show {
        found.push(
            "the two units play different shows (not repaired: push the session to both)".into(),
        );
    }
    (found, repair)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(clip: &str, started: u64) -> OnBoard {
        OnBoard {
            voice: started,
            clip: clip.parse().unwrap(),
            started,
            paused_at: None,
            held: 0,
            from: 0,
            level: None,
            fading_from: None,
        }
    }

    fn state(voices: &[OnBoard], at: u64) -> PairState {
        let mut s = PairState {
            at,
            voices: voices.iter().map(|v| pair_voice(v, at)).collect(),
            group_levels: vec![("A".into(), 0.0)],
            deck: "{}".into(),
            show: "s".into(),
            ..PairState::default()
        };
        s.digest = digest(&s);
        s
    }

    fn within(samples: f64) -> Tolerance {
        Tolerance {
            samples,
            drift: 0.0,
        }
    }

    #[test]
    fn positions_match_within_the_cards_drift() {
        // 10 s into a clip, a card 50 ppm fast has played 24 frames more.
        let main = state(&[voice("c1", 0)], 480_000);
        let here_voices = [voice("c1", 0)];
        let here = state(&here_voices, 480_024);
        let (found, _) = compare(&main, &here, &here_voices, within(3.0));
        assert_eq!(found.len(), 2, "{found:?}");
        let drifting = Tolerance {
            samples: 3.0,
            drift: 52e-6,
        };
        let (found, _) = compare(&main, &here, &here_voices, drifting);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn states_match_across_the_offset_within_the_tolerance_and_the_rest_is_repaired() {
        let main = state(&[voice("c1", 1_000), voice("c2", 5_000)], 9_000);
        let here_voices = [voice("c2", 4_002), voice("c1", 0)];
        let here = state(&here_voices, 8_000);
        let (found, repair) = compare(&main, &here, &here_voices, within(3.0));
        assert!(found.is_empty(), "{found:?}");
        assert!(repair.is_empty());
        assert_eq!(
            main.digest, here.digest,
            "the same state, whatever its clock"
        );

        let here_voices = [voice("c1", 5), voice("c3", 7_000)];
        let mut here = state(&here_voices, 8_000);
        here.locked = true;
        here.group_levels = vec![("A".into(), -6.0)];
        let (found, repair) = compare(&main, &here, &here_voices, within(3.0));
        assert_eq!(found.len(), 6, "{found:?}");
        assert_ne!(main.digest, here.digest);
        // c1 and c2 join where the main's had got to by its instant; c1's
        // misplaced voice and c3 stop; group A and the lock follow the main.
        let join: Vec<(String, u64)> = repair
            .join
            .iter()
            .map(|(c, at, _)| (c.to_string(), *at))
            .collect();
        assert_eq!(join, [("c1".into(), 8_000), ("c2".into(), 4_000)]);
        assert_eq!(repair.stop, [5, 7_000]);
        assert_eq!(repair.locked, Some(false));
        assert_eq!(
            repair.commands,
            [Command::GroupLevel {
                group: Group::A,
                level_db: 0.0,
                time: None
            }]
        );
    }

    #[test]
    fn a_fade_on_the_main_is_repaired_here() {
        let mut faded = voice("c1", 1_000);
        faded.level = Some((-12.0, 2_000));
        let main = state(&[faded], 3_000);
        let here_voices = [voice("c1", 1_000)];
        let here = state(&here_voices, 3_000);
        let (found, repair) = compare(&main, &here, &here_voices, within(2.0));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            repair.commands,
            [Command::FadeTo {
                clip: "c1".parse().unwrap(),
                level_db: -12.0,
                time: None
            }]
        );
    }
}
