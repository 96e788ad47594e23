//! The backup's comparison of what plays on it with what plays on the
//! main, voice by voice, across the offset between their show clocks.

use crate::api::proto::PairVoice;
use crate::live::OnBoard;

/// How what plays on the main (`main`, its show samples) differs from what
/// plays here (`here`), the main's samples moved by `offset` and starts
/// allowed `tolerance` samples apart: (what, how) for each voice on one
/// side only.
pub(super) fn differences(
    main: &[PairVoice],
    here: &[OnBoard],
    offset: f64,
    tolerance: f64,
) -> Vec<(String, String)> {
    let mut unmatched: Vec<&OnBoard> = here.iter().collect();
    let mut found = Vec::new();
    for m in main {
        let expected = m.started as f64 + offset;
        let matching = unmatched.iter().position(|h| {
            h.clip.as_str() == m.clip
                && (h.started as f64 - expected).abs() <= tolerance
                && h.paused_at.is_some() == m.paused
                && h.held.abs_diff(m.held) as f64 <= tolerance
        });
        match matching {
            Some(i) => {
                unmatched.swap_remove(i);
            }
            None => found.push((
                format!("missing {}", m.clip),
                format!(
                    "{} plays on the main (from its sample {}) but not here as it does there",
                    m.clip, m.started
                ),
            )),
        }
    }
    for h in unmatched {
        found.push((
            format!("extra {}", h.clip),
            format!(
                "{} plays here (from sample {}) but not on the main",
                h.clip, h.started
            ),
        ));
    }
    found
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
        }
    }

    fn on_main(clip: &str, started: u64) -> PairVoice {
        PairVoice {
            clip: clip.into(),
            started,
            held: 0,
            paused: false,
        }
    }

    #[test]
    fn voices_match_across_the_offset_within_the_tolerance_and_the_rest_differ() {
        let main = [on_main("c1", 1_000), on_main("c2", 5_000)];
        let here = [voice("c2", 4_002), voice("c1", 0)];
        assert!(differences(&main, &here, -1_000.0, 3.0).is_empty());
        let here = [voice("c1", 5), voice("c3", 7_000)];
        let found: Vec<String> = differences(&main, &here, -1_000.0, 3.0)
            .into_iter()
            .map(|(what, _)| what)
            .collect();
        assert_eq!(found, ["missing c1", "missing c2", "extra c1", "extra c3"]);
    }
}
