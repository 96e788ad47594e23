//! `hostctl grid resize|undo`.

use std::path::Path;

use anyhow::Context;
use cuebox_engine::show::GridDims;

use crate::cli::{Output, TabArg};
use crate::output::print_json;
use crate::session::{open, page_tab};
use crate::Outcome;

/// Resizes a tab's grid.
pub fn resize(
    dir: &Path,
    tab: &TabArg,
    rows: u16,
    cols: u16,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (store, mut show) = open(dir)?;
    let (page, tab_ix) = page_tab(tab)?;
    let dims = GridDims::new(rows, cols).with_context(|| {
        format!(
            "a grid is 1 to {max} rows by 1 to {max} columns, not {rows}x{cols}",
            max = GridDims::MAX
        )
    })?;
    show.resize_grid(page, tab_ix, dims, jiff::Timestamp::now())?;
    store.save_edit(&show, &crate::edit::typed())?;
    report(&show, page, tab_ix, out, "resized")
}

/// Undoes a tab's last resize.
pub fn undo(dir: &Path, tab: &TabArg, out: &Output) -> anyhow::Result<Outcome> {
    let (store, mut show) = open(dir)?;
    let (page, tab_ix) = page_tab(tab)?;
    show.undo_resize(page, tab_ix, jiff::Timestamp::now())?;
    store.save_edit(&show, &crate::edit::typed())?;
    report(&show, page, tab_ix, out, "restored")
}

fn report(
    show: &cuebox_engine::show::Show,
    page: cuebox_engine::show::PageNo,
    tab: cuebox_engine::show::TabIndex,
    out: &Output,
    verb: &str,
) -> anyhow::Result<Outcome> {
    let grid = &show.tab(page, tab)?.grid;
    let hidden = grid.buttons.iter().filter(|b| !grid.is_visible(b)).count();
    if out.json {
        print_json(&serde_json::json!({
            "page": page.0.get(),
            "tab": tab.number(),
            "rows": grid.rows,
            "cols": grid.cols,
            "previous": grid.previous,
            "layout_version": grid.layout_version,
            "hidden_buttons": hidden,
        }));
    } else {
        println!("page {page} tab {} {verb} to {}", tab.number(), grid.dims());
        if hidden > 0 {
            println!("{hidden} button(s) outside the grid are kept hidden; `hostctl grid undo` or a larger grid brings them back");
        }
    }
    Ok(Outcome::Ok)
}
