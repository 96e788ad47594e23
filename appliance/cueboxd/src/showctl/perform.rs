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
use crate::origin::Origin;

/// Does `action`, which came from `origin`, on the show; the reply's data,
/// or why not.
pub fn act(link: &LiveLink, origin: &Origin, action: Action) -> Result<Value, Refusal> {
    // A command for now, sent for `cue` when it names one.
    let now = |cue: Option<&Cue>, command: Command| {
        link.submit(
            origin.clone().for_cue(cue.and_then(|c| c.number)),
            None,
            command,
        )
    };
    match action {
        Action::Start { cue: None, time } => {
            let (cue, accepted) = link.go_next(origin.clone(), time)?;
            Ok(cue_reply(&cue, accepted))
        }
        Action::Start {
            cue: Some(text),
            time,
        } => {
            let cue = resolve(link, &text)?;
            let accepted = now(
                Some(&cue),
                Command::Go {
                    clip: cue.clip.clone(),
                    time,
                },
            )?;
            Ok(cue_reply(&cue, accepted))
        }
        Action::Stop(cue) => on_clip(
            link,
            &now,
            cue,
            |clip| Command::Stop { clip },
            || Command::StopAll {},
        ),
        Action::Pause(cue) => on_clip(
            link,
            &now,
            cue,
            |clip| Command::Pause { clip },
            || Command::PauseAll {},
        ),
        Action::Resume(cue) => on_clip(
            link,
            &now,
            cue,
            |clip| Command::Resume { clip },
            || Command::ResumeAll {},
        ),
        Action::Audition(text) => {
            let cue = resolve(link, &text)?;
            let accepted = now(
                Some(&cue),
                Command::Audition {
                    clip: cue.clip.clone(),
                },
            )?;
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
        Action::FadeAll(seconds) => sent(now(
            None,
            Command::FadeAll {
                time: Some(seconds),
            },
        )?),
        Action::Panic => sent(now(None, Command::Panic {})?),
        Action::Crossfade { from, to, time } => {
            let (from, to) = (resolve(link, &from)?, resolve(link, &to)?);
            let accepted = now(
                Some(&to),
                Command::Crossfade {
                    from: from.clip,
                    to: to.clip.clone(),
                    time,
                },
            )?;
            Ok(cue_reply(&to, accepted))
        }
        Action::FadeTo {
            cue,
            level_db,
            time,
        } => {
            let cue = resolve(link, &cue)?;
            let command = Command::FadeTo {
                clip: cue.clip.clone(),
                level_db,
                time,
            };
            Ok(cue_reply(&cue, now(Some(&cue), command)?))
        }
        Action::GroupLevel {
            group,
            level_db,
            time,
        } => sent(now(
            None,
            Command::GroupLevel {
                group,
                level_db,
                time,
            },
        )?),
        Action::Reset => {
            let accepted = now(None, Command::StopAll {})?;
            let deck = link.deck();
            link.set_deck(Deck {
                playhead: Playhead::Top,
                ..deck
            });
            sent(accepted)
        }
    }
}

/// [`act`], reported as a `showctl` event naming the input (`via`) and the
/// sender, or handed to `refused` (the action, and why) to book.
pub fn act_reported(
    link: &LiveLink,
    events: &Publisher,
    origin: &Origin,
    action: Action,
    refused: impl FnOnce(String, &str),
) -> Result<Value, Refusal> {
    let what = format!("{action:?}");
    let result = act(link, origin, action);
    let (via, from) = (origin.input.as_str(), origin.from.as_str());
    match &result {
        Ok(data) => events.send(BoxEvent::Showctl {
            via: via.into(),
            from: from.into(),
            action: what,
            data: data.clone(),
        }),
        Err(refusal) => refused(what, &refusal.message),
    }
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

/// Sends a command for now, for a cue when it names one.
type Now<'a> = dyn Fn(Option<&Cue>, Command) -> Result<Accepted, Refusal> + 'a;

/// A command on one cue's clip, or on every clip without a cue.
fn on_clip(
    link: &LiveLink,
    now: &Now<'_>,
    cue: Option<String>,
    one: impl FnOnce(cuebox_engine::show::ClipId) -> Command,
    all: impl FnOnce() -> Command,
) -> Result<Value, Refusal> {
    match cue {
        Some(text) => {
            let cue = resolve(link, &text)?;
            let accepted = now(Some(&cue), one(cue.clip.clone()))?;
            Ok(cue_reply(&cue, accepted))
        }
        None => sent(now(None, all())?),
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
