//! The authoring verbs that change a session in place — `clip
//! set|remove|move|swap|copy` — and `undo`, `redo`, `history`. Every edit
//! goes through [`edit`]: applied to the show in memory, validated, and only
//! then saved, with the manifest before it kept as an undo step; a refused
//! edit changes nothing.

use std::path::Path;

use anyhow::{bail, Context};
use cuebox_engine::show::{
    ClipChanges, ClipId, Colour, Curve, Extra, FadeChange, GridPos, Group, GroupChanges,
    LogicalChannel, LoopChange, PageNo, PageView, Placement, RightsChanges, Show, Side, TimeSpec,
};
use cuebox_session::store::SessionDir;
use serde_json::json;

use crate::cli::{
    BusArgs, BusName, ClipSetArgs, OrNone, Output, PageCmd, Place, TabArg, TimingArgs,
};
use crate::output::print_json;
use crate::session::{open, page_tab};
use crate::Outcome;

/// What the user typed, for the history (`clip set show c3 --level -6`).
pub(crate) fn typed() -> String {
    std::env::args().skip(1).collect::<Vec<_>>().join(" ")
}

/// Opens the session in `dir`, applies `change` to its show, validates the
/// result and saves it as one undoable edit (an edit that changes nothing
/// writes nothing). Problems the show already had are not the edit's; any
/// new one refuses it, naming each.
pub fn edit<T>(
    dir: &Path,
    change: impl FnOnce(&SessionDir, &mut Show) -> anyhow::Result<T>,
) -> anyhow::Result<(SessionDir, Show, T)> {
    let (store, show) = open(dir)?;
    let mut edited = show.clone();
    let result = change(&store, &mut edited)?;
    refuse_new_problems(&show, &edited)?;
    if edited != show {
        store.save_edit(&edited, &typed())?;
    }
    Ok((store, edited, result))
}

/// Refuses an edit that gives `show` problems it did not have.
pub(crate) fn refuse_new_problems(show: &Show, edited: &Show) -> anyhow::Result<()> {
    let new = show.problems_added_by(edited);
    if !new.is_empty() {
        bail!(
            "nothing was changed: the edit would make the session invalid:\n  {}",
            new.join("\n  ")
        );
    }
    Ok(())
}

/// Applies `change` where `place` says: a session folder (as [`edit`]
/// does), or the show playing on a box, which takes it at once (levels and
/// pans glide) and saves it; what the box did is said on stderr.
pub(crate) fn edit_at<T>(
    place: &Place,
    change: impl FnOnce(&mut Show) -> anyhow::Result<T>,
) -> anyhow::Result<(Show, T)> {
    match place {
        Place::Folder(dir) => edit(dir, |_, show| change(show)).map(|(_, show, t)| (show, t)),
        Place::Box { name, .. } => crate::remote::revise(name, |show| {
            let before = show.clone();
            let result = change(show)?;
            refuse_new_problems(&before, show)?;
            Ok(result)
        }),
    }
}

fn clip_id(id: &str) -> anyhow::Result<ClipId> {
    id.parse().map_err(|e| {
        anyhow::anyhow!("{id:?} is not a clip id ({e}); hostctl session show lists them")
    })
}

/// The clips `args` selects: ids given, every clip of a tab, of a group.
fn selection(show: &Show, args: &ClipSetArgs) -> anyhow::Result<Vec<ClipId>> {
    let named = match &args.dir {
        Place::Box { clip: Some(c), .. } => Some(c),
        _ => None,
    };
    let mut ids: Vec<ClipId> = named
        .into_iter()
        .chain(&args.clips)
        .map(|c| clip_id(c))
        .collect::<Result<_, _>>()?;
    if let Some(tab) = &args.tab {
        let (page, t) = tab
            .split_once('.')
            .and_then(|(p, t)| Some((p.parse().ok()?, t.parse().ok()?)))
            .with_context(|| format!("--tab {tab:?}: PAGE.TAB, like 1.3"))?;
        let (page, t) = page_tab(&TabArg { page, tab: t })?;
        ids.extend(
            show.tab(page, t)?
                .grid
                .buttons
                .iter()
                .map(|b| b.clip.clone()),
        );
    }
    if let Some(group) = args.in_group {
        ids.extend(
            show.clips
                .iter()
                .filter(|c| c.group == group)
                .map(|c| c.id.clone()),
        );
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.is_empty() {
        bail!("no clip selected: name clip ids, or --tab PAGE.TAB, or --in-group G");
    }
    Ok(ids)
}

impl ClipSetArgs {
    fn changes(&self) -> ClipChanges {
        ClipChanges {
            name: self.name.clone(),
            group: self.group,
            level_db: self.level,
            pan: self.pan,
            width: self.width,
            balance: self.balance,
            fade_in: FadeChange {
                time: self.fade_in,
                curve: self.fade_in_curve,
                power: self.fade_in_power,
            },
            fade_out: FadeChange {
                time: self.fade_out,
                curve: self.fade_out_curve,
                power: self.fade_out_power,
            },
            cue_in: self.cue_in.clone(),
            cue_out: self.cue_out.clone().map(|c| c.0),
            looping: LoopChange {
                enabled: match (self.looped, self.no_loop) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ if self.loop_start.is_some() || self.loop_end.is_some() => Some(true),
                    _ => None,
                },
                start: self.loop_start.clone(),
                end: self.loop_end.clone(),
            },
            trigger: self.trigger.map(|t| t.0),
            chase: self.chase,
            edit_protection_ms: self.edit_protection.map(|m| m.0),
            loop_protection_ms: self.loop_protection.map(|m| m.0),
            rights: RightsChanges::typed([
                &self.title,
                &self.artist,
                &self.composer,
                &self.publisher,
                &self.isrc,
                &self.iswc,
                &self.pro,
            ]),
        }
    }
}

/// `hostctl clip set`.
pub fn clip_set(args: &ClipSetArgs) -> anyhow::Result<Outcome> {
    let changes = args.changes();
    if changes.is_empty() {
        bail!("nothing to set: give at least one property (hostctl clip set --help lists them)");
    }
    let (show, ids) = edit_at(&args.dir, |show| {
        let ids = selection(show, args)?;
        for id in &ids {
            show.set_clip(id, &changes)?;
        }
        Ok(ids)
    })?;
    if args.out.json {
        let clips: Vec<_> = ids.iter().filter_map(|id| show.clip(id)).collect();
        print_json(&json!({"set": ids, "clips": clips}));
    } else {
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        println!("set {} clip(s): {}", ids.len(), list.join(" "));
    }
    Ok(Outcome::Ok)
}

/// `hostctl clip remove`.
pub fn clip_remove(
    place: &Place,
    clip: &str,
    delete_media: bool,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let id = clip_id(clip)?;
    if delete_media {
        place.folder("--delete-media")?;
    }
    let (show, removed) = edit_at(place, |show| Ok(show.remove_clip(&id)?))?;
    let path = &removed.audio.path;
    let shared = show.clips.iter().any(|c| &c.audio.path == path);
    let deleted = delete_media && !shared && {
        let store = SessionDir::open(place.folder("--delete-media")?)?;
        let file = store.media_folder(&show).join(path.as_str());
        std::fs::remove_file(&file).with_context(|| {
            format!(
                "{id} was removed, but its media {} could not be deleted",
                file.display()
            )
        })?;
        true
    };
    if out.json {
        print_json(
            &json!({"removed": id, "media": path, "media_deleted": deleted, "media_shared": shared}),
        );
    } else {
        println!(
            "removed {id}; its media {path} {}",
            match (deleted, shared) {
                (true, _) => "was deleted",
                (false, true) => "stays: another clip uses it",
                (false, false) => "stays in the media folder (--delete-media deletes it)",
            }
        );
    }
    Ok(Outcome::Ok)
}

/// The place a user named: a page and tab, and a grid position.
pub(crate) fn placement(tab: &TabArg, at: GridPos) -> anyhow::Result<Placement> {
    let (page, tab) = page_tab(tab)?;
    Ok(Placement { page, tab, pos: at })
}

/// `hostctl clip move`.
pub fn clip_move(
    place: &Place,
    clip: &str,
    tab: &TabArg,
    at: GridPos,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let id = clip_id(clip)?;
    let to = placement(tab, at)?;
    edit_at(place, |show| Ok(show.move_clip(&id, to)?))?;
    let (page, t) = (to.page, to.tab.number());
    report(
        out,
        json!({"moved": id, "page": page.0.get(), "tab": t, "at": at.to_string()}),
        format!("moved {id} to page {page} tab {t} at {at}"),
    )
}

/// `hostctl clip swap`.
pub fn clip_swap(place: &Place, a: &str, b: &str, out: &Output) -> anyhow::Result<Outcome> {
    let (a, b) = (clip_id(a)?, clip_id(b)?);
    edit_at(place, |show| Ok(show.swap_clips(&a, &b)?))?;
    report(
        out,
        json!({"swapped": [a, b]}),
        format!("swapped the buttons of {a} and {b}"),
    )
}

/// `hostctl clip copy`.
pub fn clip_copy(
    place: &Place,
    clip: &str,
    tab: &TabArg,
    at: GridPos,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let id = clip_id(clip)?;
    let to = placement(tab, at)?;
    let (_, new) = edit_at(place, |show| Ok(show.copy_clip(&id, to)?))?;
    let (page, t) = (to.page, to.tab);
    if out.json {
        print_json(&json!({"copied": id, "id": new}));
    } else {
        println!("{new}");
        eprintln!(
            "copied {id} to {new} on page {page} tab {} at {at}",
            t.number()
        );
    }
    Ok(Outcome::Ok)
}

fn report(out: &Output, value: serde_json::Value, line: String) -> anyhow::Result<Outcome> {
    if out.json {
        print_json(&value);
    } else {
        println!("{line}");
    }
    Ok(Outcome::Ok)
}

/// `hostctl undo` / `hostctl redo`.
pub fn undo_redo(dir: &Path, redo: bool, out: &Output) -> anyhow::Result<Outcome> {
    let store = SessionDir::open(dir)?;
    let step = if redo { store.redo()? } else { store.undo()? };
    let verb = if redo { "redid" } else { "undid" };
    match step {
        Some(step) => report(
            out,
            json!({verb: step.what, "at": step.at, "step": step.seq}),
            format!("{verb}: {}", step.what),
        ),
        None => bail!("nothing to {}", if redo { "redo" } else { "undo" }),
    }
}

/// `hostctl history`.
pub fn history(dir: &Path, out: &Output) -> anyhow::Result<Outcome> {
    let h = SessionDir::open(dir)?.history()?;
    let list = |steps: &[cuebox_session::store::Step]| -> Vec<serde_json::Value> {
        steps
            .iter()
            .map(|s| json!({"step": s.seq, "at": s.at, "what": s.what}))
            .collect()
    };
    if out.json {
        print_json(&json!({"undo": list(&h.undo), "redo": list(&h.redo)}));
        return Ok(Outcome::Ok);
    }
    for s in h.redo.iter().rev() {
        println!("  redo {:>4}  {}  {}", s.seq, s.at, s.what);
    }
    println!("  ---- now");
    for s in &h.undo {
        println!("  undo {:>4}  {}  {}", s.seq, s.at, s.what);
    }
    Ok(Outcome::Ok)
}

fn page_no(page: u16) -> anyhow::Result<PageNo> {
    PageNo::new(page).context("pages are numbered from 1; page 0 does not exist")
}

/// `hostctl pages …`.
pub fn page(cmd: PageCmd) -> anyhow::Result<Outcome> {
    match cmd {
        PageCmd::Add {
            dir,
            name,
            before,
            out,
        } => {
            let before = before.map(page_no).transpose()?;
            let (_, page) = edit_at(&dir, |show| Ok(show.add_page(&name, before)?))?;
            report(
                &out,
                json!({"added": page.0.get()}),
                format!("added page {page}"),
            )
        }
        PageCmd::Remove { dir, page, out } => {
            let page = page_no(page)?;
            let (_, clips) = edit_at(&dir, |show| Ok(show.remove_page(page)?))?;
            let list: Vec<String> = clips.iter().map(ToString::to_string).collect();
            report(
                &out,
                json!({"removed": page.0.get(), "clips": clips}),
                format!(
                    "removed page {page} and its {} clip(s){}; their media stays (undo: hostctl undo)",
                    clips.len(),
                    if list.is_empty() { String::new() } else { format!(" {}", list.join(" ")) }
                ),
            )
        }
        PageCmd::Rename {
            dir,
            page,
            name,
            out,
        } => {
            let page = page_no(page)?;
            edit_at(&dir, |show| Ok(show.rename_page(page, &name)?))?;
            report(
                &out,
                json!({"page": page.0.get(), "name": name}),
                format!("page {page} is {name:?}"),
            )
        }
        PageCmd::Move { dir, page, to, out } => {
            let (from, to) = (page_no(page)?, page_no(to)?);
            edit_at(&dir, |show| Ok(show.move_page(from, to)?))?;
            report(
                &out,
                json!({"moved": from.0.get(), "to": to.0.get()}),
                format!("moved page {from} to {to}"),
            )
        }
        PageCmd::View {
            dir,
            page,
            right,
            focus,
            out,
        } => {
            let page = page_no(page)?;
            let view = match right {
                None => PageView::Single {
                    page,
                    extra: Extra::new(),
                },
                Some(r) => PageView::Dual {
                    left: page,
                    right: page_no(r)?,
                    focus: if focus == "right" {
                        Side::Right
                    } else {
                        Side::Left
                    },
                    extra: Extra::new(),
                },
            };
            let (show, ()) = edit_at(&dir, |show| Ok(show.set_page_view(view)?))?;
            report(
                &out,
                json!({"page_view": show.page_view}),
                "page view set".into(),
            )
        }
    }
}

/// `hostctl tab`.
pub fn tab(
    place: &Place,
    tab: &TabArg,
    name: Option<&str>,
    colour: Option<OrNone<Colour>>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    if name.is_none() && colour.is_none() {
        bail!("nothing to set: --name or --colour");
    }
    let (page, t) = page_tab(tab)?;
    let (show, ()) = edit_at(place, |show| {
        Ok(show.set_tab(page, t, name, colour.map(|c| c.0))?)
    })?;
    let tab = show.tab(page, t)?;
    report(
        out,
        json!({"page": page.0.get(), "tab": t.number(), "name": tab.name, "colour": tab.colour}),
        format!("page {page} tab {} is {:?}", t.number(), tab.name),
    )
}

/// `hostctl group`.
pub fn group(
    place: &Place,
    group: Group,
    changes: GroupChanges,
    out: &Output,
) -> anyhow::Result<Outcome> {
    if changes == GroupChanges::default() {
        bail!("nothing to set: --level, --mute, --mode or --outputs");
    }
    let (show, ()) = edit_at(place, |show| {
        show.set_group(group, &changes);
        Ok(())
    })?;
    let bus = show.busses.groups.get(group);
    report(
        out,
        json!({"group": group, "bus": bus}),
        format!(
            "group {group}: {} dB{}, outputs {}",
            bus.bus.level_db,
            if bus.bus.mute { ", muted" } else { "" },
            bus.bus
                .outputs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    )
}

/// `hostctl timing`.
pub fn timing(a: &TimingArgs) -> anyhow::Result<Outcome> {
    let (show, ()) = edit_at(&a.dir, |show| {
        let t = &mut show.time_sources;
        let before = t.clone();
        if let Some(p) = &a.priority {
            t.priority.clone_from(p);
        }
        set(&mut t.frame_rate, a.frame_rate);
        set(&mut t.chase, a.chase);
        set(&mut t.drift_warning_us, a.drift_warning_us);
        set(&mut t.jitter_warning_us, a.jitter_warning_us);
        set(&mut t.min_stability, a.min_stability);
        if *t == before && a.priority.is_none() {
            bail!("nothing to set: hostctl timing --help lists what can be");
        }
        Ok(())
    })?;
    report(
        &a.out,
        json!({"time_sources": show.time_sources}),
        format!(
            "time sources: {}",
            serde_json::to_string(&show.time_sources)?
        ),
    )
}

/// `hostctl fades`: the default fade in, out and crossfade, each a time
/// and a curve.
pub fn fades(
    place: &Place,
    [fade_in, fade_out, cross]: [(Option<TimeSpec>, Option<Curve>); 3],
    out: &Output,
) -> anyhow::Result<Outcome> {
    if [fade_in, fade_out, cross]
        .iter()
        .all(|(t, c)| t.is_none() && c.is_none())
    {
        bail!("nothing to set: hostctl fades --help lists what can be");
    }
    let (show, ()) = edit_at(place, |show| {
        let fps = show.time_sources.frame_rate;
        // Times typed in frames count at the session's usual rate.
        let ms = |t: TimeSpec| t.to_ms(48_000, fps);
        let d = &mut show.fade_defaults;
        set(&mut d.fade_in.time_ms, fade_in.0.map(ms));
        set(&mut d.fade_in.curve, fade_in.1);
        set(&mut d.fade_out.time_ms, fade_out.0.map(ms));
        set(&mut d.fade_out.curve, fade_out.1);
        set(&mut d.crossfade.time_ms, cross.0.map(ms));
        set(&mut d.crossfade.curve, cross.1);
        Ok(())
    })?;
    report(
        out,
        json!({"fade_defaults": show.fade_defaults}),
        format!(
            "default fades: {}",
            serde_json::to_string(&show.fade_defaults)?
        ),
    )
}

/// `hostctl thresholds`.
pub fn thresholds(
    place: &Place,
    recovery: Option<f64>,
    warning: Option<f64>,
    critical: Option<f64>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    if recovery.is_none() && warning.is_none() && critical.is_none() {
        bail!("nothing to set: --recovery, --warning or --critical");
    }
    let (show, ()) = edit_at(place, |show| {
        let t = &mut show.resources.thresholds;
        set(&mut t.recovery_pct, recovery);
        set(&mut t.warning_pct, warning);
        set(&mut t.critical_pct, critical);
        Ok(())
    })?;
    let t = &show.resources.thresholds;
    report(
        out,
        json!({"thresholds": t}),
        format!(
            "DSP load thresholds: recovery {} %, warning {} %, critical {} %",
            t.recovery_pct, t.warning_pct, t.critical_pct
        ),
    )
}

/// `hostctl bus`.
pub fn bus(a: &BusArgs) -> anyhow::Result<Outcome> {
    let allowed: &[&str] = match a.bus {
        BusName::Audition => &["level", "mute", "outputs"],
        BusName::RecordA | BusName::RecordB => &["level", "enabled", "inputs"],
        BusName::Ltc => &["enabled", "input"],
    };
    let given = [
        ("level", a.level.is_some()),
        ("mute", a.mute.is_some()),
        ("outputs", a.outputs.is_some()),
        ("enabled", a.enabled.is_some()),
        ("inputs", a.inputs.is_some()),
        ("input", a.input.is_some()),
    ];
    if let Some((name, _)) = given.iter().find(|(n, g)| *g && !allowed.contains(n)) {
        bail!(
            "--{name} is not a setting of this bus; it has --{}",
            allowed.join(", --")
        );
    }
    if !given.iter().any(|(_, g)| *g) {
        bail!("nothing to set: --{}", allowed.join(", --"));
    }
    let inputs = match &a.inputs {
        Some(v) => Some(
            <[LogicalChannel; 2]>::try_from(v.as_slice())
                .map_err(|_| anyhow::anyhow!("--inputs takes two inputs, L,R"))?,
        ),
        None => None,
    };
    let (show, ()) = edit_at(&a.dir, |show| {
        let b = &mut show.busses;
        match a.bus {
            BusName::Audition => {
                set(&mut b.audition.level_db, a.level);
                set(&mut b.audition.mute, a.mute);
                if let Some(o) = &a.outputs {
                    b.audition.outputs.clone_from(o);
                }
            }
            BusName::RecordA | BusName::RecordB => {
                let r = if a.bus == BusName::RecordA {
                    &mut b.record_a
                } else {
                    &mut b.record_b
                };
                set(&mut r.level_db, a.level);
                set(&mut r.enabled, a.enabled);
                set(&mut r.inputs, inputs);
            }
            BusName::Ltc => {
                set(&mut b.ltc_input.enabled, a.enabled);
                if let Some(i) = a.input {
                    b.ltc_input.input = i.0;
                }
            }
        }
        Ok(())
    })?;
    report(&a.out, json!({"busses": show.busses}), "set".into())
}

/// Sets `field` to `value` when one is given.
fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}
