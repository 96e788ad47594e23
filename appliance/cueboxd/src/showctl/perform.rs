//! How the box does what a show controller asks: cue numbers resolved at
//! the controllers' page and tab, the playhead moved, and commands sent
//! through the [`LiveLink`] (so double-GO protection applies to them all).

use crate::events::{BoxEvent, Publisher};

use cuebox_engine::control::cues::Cue;
use cuebox_engine::control::Command;
use serde_json::{json, Value};

use super::Action;
use crate::api::proto::RefusalKind;
use crate::link::{Accepted, Deck, LiveLink, Playhead, Refusal};

/// Does `action` on the show; the reply's data, or why not.
pub fn act(link: &LiveLink, action: Action) -> Result<Value, Refusal> {
    match action {
        Action::Start { cue: None, time } => {
            let (cue, accepted) = link.go_next(time)?;
            Ok(cue_reply(&cue, accepted))
        }
        Action::Start {
            cue: Some(text),
            time,
        } => {
            let cue = resolve(link, &text)?;
            let accepted = link.send(Command::Go {
                clip: cue.clip.clone(),
                time,
            })?;
            Ok(cue_reply(&cue, accepted))
        }
        Action::Stop(cue) => on_clip(
            link,
            cue,
            |clip| Command::Stop { clip },
            || Command::StopAll {},
        ),
        Action::Pause(cue) => on_clip(
            link,
            cue,
            |clip| Command::Pause { clip },
            || Command::PauseAll {},
        ),
        Action::Resume(cue) => on_clip(
            link,
            cue,
            |clip| Command::Resume { clip },
            || Command::ResumeAll {},
        ),
        Action::Audition(text) => {
            let cue = resolve(link, &text)?;
            let accepted = link.send(Command::Audition {
                clip: cue.clip.clone(),
            })?;
            Ok(cue_reply(&cue, accepted))
        }
        Action::Load(text) => {
            let cue = resolve(link, &text)?;
            let number = cue.number.ok_or_else(|| {
                Refusal::new(
                    RefusalKind::NotFound,
                    format!(
                        "clip {} has no button, so the playhead cannot stand on it",
                        cue.clip
                    ),
                )
            })?;
            link.set_deck(Deck {
                place: number.place(),
                playhead: Playhead::At(number.button),
            });
            playhead(link)
        }
        Action::Next | Action::Previous => {
            let show = link.show()?;
            let deck = link.deck();
            let here = link.playhead()?.and_then(button);
            let at = |cue: Option<Cue>| cue.and_then(button).map(Playhead::At);
            // Next from the last cue goes past the end; previous from past
            // the end is the last cue; at the top it stays.
            let moved = match (action, deck.playhead) {
                (Action::Next, Playhead::End) => Playhead::End,
                (Action::Next, _) => at(show.cues.next(deck.place, here)).unwrap_or(Playhead::End),
                (_, Playhead::End) => {
                    at(show.cues.previous(deck.place, None)).unwrap_or(Playhead::End)
                }
                (_, now) => at(show.cues.previous(deck.place, here)).unwrap_or(now),
            };
            link.set_deck(Deck {
                playhead: moved,
                ..deck
            });
            playhead(link)
        }
        Action::FadeAll(seconds) => sent(link.send(Command::FadeAll {
            time: Some(seconds),
        })?),
        Action::Panic => sent(link.send(Command::Panic {})?),
        Action::Crossfade { from, to, time } => {
            let (from, to) = (resolve(link, &from)?, resolve(link, &to)?);
            let accepted = link.send(Command::Crossfade {
                from: from.clip,
                to: to.clip.clone(),
                time,
            })?;
            Ok(cue_reply(&to, accepted))
        }
        Action::GroupLevel {
            group,
            level_db,
            time,
        } => sent(link.send(Command::GroupLevel {
            group,
            level_db,
            time,
        })?),
        Action::Reset => {
            let accepted = link.send(Command::StopAll {})?;
            let deck = link.deck();
            link.set_deck(Deck {
                playhead: Playhead::Top,
                ..deck
            });
            sent(accepted)
        }
    }
}

/// [`act`], reported as a `showctl` event (or `showctl_refused`) naming
/// the input (`via`) and the sender.
pub fn act_reported(
    link: &LiveLink,
    events: &Publisher,
    via: &str,
    from: &str,
    action: Action,
) -> Result<Value, Refusal> {
    let what = format!("{action:?}");
    let result = act(link, action);
    events.send(match &result {
        Ok(data) => BoxEvent::Showctl {
            via: via.into(),
            from: from.into(),
            action: what,
            data: data.clone(),
        },
        Err(Refusal {
            message: reason, ..
        }) => BoxEvent::ShowctlRefused {
            via: via.into(),
            from: from.into(),
            what,
            reason: reason.clone(),
        },
    });
    result
}

/// The playhead's cue as reply data.
pub fn playhead(link: &LiveLink) -> Result<Value, Refusal> {
    let deck = link.deck();
    let cue = link.playhead()?;
    Ok(json!({
        "page": deck.place.page.0.get(),
        "tab": deck.place.tab.number(),
        "playhead": cue.map(|c| cue_json(&c)),
    }))
}

fn button(cue: Cue) -> Option<u32> {
    cue.number.map(|n| n.button)
}

fn resolve(link: &LiveLink, text: &str) -> Result<Cue, Refusal> {
    let show = link.show()?;
    show.cues
        .resolve(text, link.deck().place)
        .map_err(|e| Refusal::new(RefusalKind::NotFound, e.to_string()))
}

/// A command on one cue's clip, or on every clip without a cue.
fn on_clip(
    link: &LiveLink,
    cue: Option<String>,
    one: impl FnOnce(cuebox_engine::show::ClipId) -> Command,
    all: impl FnOnce() -> Command,
) -> Result<Value, Refusal> {
    match cue {
        Some(text) => {
            let cue = resolve(link, &text)?;
            let accepted = link.send(one(cue.clip.clone()))?;
            Ok(cue_reply(&cue, accepted))
        }
        None => sent(link.send(all())?),
    }
}

fn cue_json(cue: &Cue) -> Value {
    json!({
        "number": cue.number.map(|n| n.to_string()),
        "clip": cue.clip,
    })
}

fn cue_reply(cue: &Cue, accepted: Accepted) -> Value {
    let mut v = cue_json(cue);
    v["at_sample"] = json!(accepted.at_sample);
    v
}

fn sent(accepted: Accepted) -> Result<Value, Refusal> {
    Ok(json!({"at_sample": accepted.at_sample}))
}
