//! `hostctl show set|info`: the show information cue sheets are headed
//! with, and the reporting preferences.

use std::path::Path;

use anyhow::bail;
use cuebox_engine::show::ShowInfo;
use serde_json::json;

use crate::cli::{Output, ShowSetArgs};
use crate::edit::edit_at;
use crate::output::print_json;
use crate::session::open;
use crate::Outcome;

/// Sets what `args` gives, as one undoable edit. Every change is made on
/// the loaded show and checked — this command's own rules, then the
/// session's validation — before the manifest is saved, so a refusal
/// writes nothing.
pub fn set(args: &ShowSetArgs) -> anyhow::Result<Outcome> {
    let (show, changed) = edit_at(&args.dir, |show| apply(&mut show.show_info, args))?;
    let saved = !changed.is_empty();
    if args.out.json {
        print_json(&json!({
            "session": args.dir,
            "changed": changed,
            "saved": saved,
            "show_info": show.show_info,
        }));
    } else {
        if saved {
            eprintln!("set {}: {}", args.dir, changed.join(", "));
        } else {
            eprintln!("nothing changed: {} already says so", args.dir);
        }
        print_info(&show.show_info);
    }
    Ok(Outcome::Ok)
}

/// Applies `args` to `info`; the fields that changed, by their path in
/// `show_info`. A date to remove that is not there, or to add that is,
/// is refused.
fn apply(info: &mut ShowInfo, args: &ShowSetArgs) -> anyhow::Result<Vec<&'static str>> {
    let given = args.production.is_some()
        || args.venue.is_some()
        || args.city.is_some()
        || args.country.is_some()
        || !args.dates.is_empty()
        || !args.remove_dates.is_empty()
        || args.clear_dates
        || args.rights_context.is_some()
        || args.depth.is_some()
        || args.formats.is_some()
        || args.societies.is_some()
        || args.auto_export.is_some();
    if !given {
        bail!(
            "nothing to set: give --production, --venue, --city, --country, --date, \
             --remove-date, --clear-dates, --rights-context, --depth, --formats, --societies \
             or --auto-export (hostctl show info prints what is set)"
        );
    }
    let mut changed = Vec::new();
    let mut dates = info.performance_dates.clone();
    if args.clear_dates {
        dates.clear();
    }
    for date in &args.remove_dates {
        let Some(i) = dates.iter().position(|d| d == date) else {
            bail!(
                "{date} is not a performance date of {} (it has: {}); nothing changed",
                args.dir,
                list(&info.performance_dates)
            );
        };
        dates.remove(i);
    }
    for date in &args.dates {
        if dates.contains(date) {
            bail!("{date} is already a performance date; nothing changed");
        }
        dates.push(*date);
    }
    dates.sort();
    set_field(
        &mut changed,
        "performance_dates",
        &mut info.performance_dates,
        Some(dates),
    );
    let text = |v: &Option<String>| v.clone();
    set_field(
        &mut changed,
        "production",
        &mut info.production,
        text(&args.production),
    );
    set_field(
        &mut changed,
        "venue.name",
        &mut info.venue.name,
        text(&args.venue),
    );
    set_field(
        &mut changed,
        "venue.city",
        &mut info.venue.city,
        text(&args.city),
    );
    set_field(
        &mut changed,
        "venue.country",
        &mut info.venue.country,
        text(&args.country),
    );
    set_field(
        &mut changed,
        "rights_context",
        &mut info.rights_context,
        text(&args.rights_context),
    );
    let r = &mut info.reporting;
    set_field(
        &mut changed,
        "reporting.default_depth",
        &mut r.default_depth,
        args.depth,
    );
    set_field(
        &mut changed,
        "reporting.formats",
        &mut r.formats,
        args.formats.clone(),
    );
    let societies = args
        .societies
        .as_ref()
        .map(|s| s.iter().map(|p| p.trim().to_owned()).collect());
    set_field(&mut changed, "reporting.pros", &mut r.pros, societies);
    set_field(
        &mut changed,
        "reporting.auto_export",
        &mut r.auto_export,
        args.auto_export,
    );
    Ok(changed)
}

/// Puts `value` in `slot` when it is given and differs, noting `name`.
fn set_field<T: PartialEq>(
    changed: &mut Vec<&'static str>,
    name: &'static str,
    slot: &mut T,
    value: Option<T>,
) {
    if let Some(value) = value.filter(|v| v != slot) {
        *slot = value;
        changed.push(name);
    }
}

/// Prints a session's show information.
pub fn info(dir: &Path, out: &Output) -> anyhow::Result<Outcome> {
    let (_, show) = open(dir)?;
    if out.json {
        print_json(&json!({"session": dir, "show_info": show.show_info}));
    } else {
        print_info(&show.show_info);
    }
    Ok(Outcome::Ok)
}

fn print_info(info: &ShowInfo) {
    let or_unset = |s: &str| {
        if s.trim().is_empty() {
            "(not set)".to_owned()
        } else {
            s.to_owned()
        }
    };
    let venue: Vec<&str> = [&info.venue.name, &info.venue.city, &info.venue.country]
        .into_iter()
        .map(String::as_str)
        .filter(|s| !s.trim().is_empty())
        .collect();
    let r = &info.reporting;
    println!("production:        {}", or_unset(&info.production));
    println!("venue:             {}", or_unset(&venue.join(", ")));
    println!(
        "performance dates: {}",
        or_unset(&list(&info.performance_dates))
    );
    println!("rights context:    {}", or_unset(&info.rights_context));
    println!(
        "cue sheets:        {}; formats {}; societies {}; auto-export {}",
        format_name(&r.default_depth),
        or_unset(
            &r.formats
                .iter()
                .map(format_name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        or_unset(&r.pros.join(", ")),
        if r.auto_export { "on" } else { "off" }
    );
}

/// A value's name in the session format (`detailed`, `csv`).
fn format_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// `2026-12-01, 2026-12-02`
fn list(dates: &[jiff::civil::Date]) -> String {
    dates
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
