//! A cue sheet written out for a society: JSON, CSV (one row per work, the
//! generic layout most societies' upload forms take) or XML. Each follows
//! the schema shipped in `docs/schemas/` (`cuesheet.schema.json`,
//! `cuesheet.csv.txt`, `cuesheet.xsd`).

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::cuesheet::{CueSheet, Work};

/// An export format (the show's reporting preferences name the same).
pub use cuebox_engine::show::ExportFormat as Format;

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 18] = [
    "production",
    "venue",
    "title",
    "composer",
    "publisher",
    "artist",
    "iswc",
    "isrc",
    "society",
    "uses",
    "seconds",
    "first_use",
    "last_use",
    "usage",
    "review",
    "note",
    "missing",
    "ready",
];

impl CueSheet {
    /// The sheet in `format`.
    pub fn export(&self, format: Format) -> Vec<u8> {
        match format {
            Format::Json => {
                let mut out = serde_json::to_vec_pretty(self)
                    .expect("a cue sheet has only string keys, so it always serialises");
                out.push(b'\n');
                out
            }
            Format::Csv => self.csv(),
            Format::Xml => self.xml(),
        }
    }

    fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = "writing CSV to memory cannot fail";
        w.write_record(CSV_COLUMNS).expect(fail);
        for work in &self.works {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            // A summary's row is the work; a detailed sheet's, each use.
            let rows: Vec<(u32, f64, jiff::Timestamp, jiff::Timestamp)> = if work.detail.is_empty()
            {
                vec![(work.uses, work.seconds, work.first, work.last)]
            } else {
                work.detail
                    .iter()
                    .map(|u| (1, u.seconds.unwrap_or(0.0), u.at, u.at))
                    .collect()
            };
            for (uses, seconds, first, last) in rows {
                w.write_record([
                    self.production.clone(),
                    self.venue.clone(),
                    work.title.clone(),
                    opt(&work.composer),
                    opt(&work.publisher),
                    opt(&work.artist),
                    opt(&work.iswc),
                    opt(&work.isrc),
                    opt(&work.pro),
                    uses.to_string(),
                    format!("{seconds:.1}"),
                    first.to_string(),
                    last.to_string(),
                    work.usage.map(name).unwrap_or_default(),
                    name(work.review),
                    opt(&work.note),
                    missing(work).join(" "),
                    work.ready.to_string(),
                ])
                .expect(fail);
            }
        }
        w.into_inner().expect(fail)
    }

    fn xml(&self) -> Vec<u8> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        let fail = "writing XML to memory cannot fail";
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect(fail);
        let mut sheet = BytesStart::new("cueSheet");
        sheet.push_attribute(("depth", name(self.depth).as_str()));
        sheet.push_attribute(("plays", self.plays.to_string().as_str()));
        sheet.push_attribute(("complete", self.complete.to_string().as_str()));
        sheet.push_attribute(("verified", self.verified.to_string().as_str()));
        sheet.push_attribute(("ready", self.ready.to_string().as_str()));
        w.write_event(Event::Start(sheet)).expect(fail);
        let text = |w: &mut Writer<Vec<u8>>, name: &str, value: &str| {
            w.write_event(Event::Start(BytesStart::new(name)))
                .expect(fail);
            w.write_event(Event::Text(BytesText::new(value)))
                .expect(fail);
            w.write_event(Event::End(BytesEnd::new(name))).expect(fail);
        };
        text(&mut w, "production", &self.production);
        text(&mut w, "venue", &self.venue);
        text(&mut w, "rightsContext", &self.rights_context);
        if let Some(show) = &self.show {
            text(&mut w, "show", show);
        }
        if let Some(from) = self.from {
            text(&mut w, "from", &from.to_string());
        }
        if let Some(to) = self.to {
            text(&mut w, "to", &to.to_string());
        }
        w.write_event(Event::Start(BytesStart::new("works")))
            .expect(fail);
        for work in &self.works {
            let mut start = BytesStart::new("work");
            start.push_attribute(("hash", work.hash.to_string().as_str()));
            start.push_attribute(("review", name(work.review).as_str()));
            start.push_attribute(("ready", work.ready.to_string().as_str()));
            w.write_event(Event::Start(start)).expect(fail);
            text(&mut w, "title", &work.title);
            for (name, value) in [
                ("composer", &work.composer),
                ("publisher", &work.publisher),
                ("artist", &work.artist),
                ("iswc", &work.iswc),
                ("isrc", &work.isrc),
                ("society", &work.pro),
            ] {
                if let Some(v) = value {
                    text(&mut w, name, v);
                }
            }
            text(&mut w, "uses", &work.uses.to_string());
            text(&mut w, "seconds", &format!("{:.1}", work.seconds));
            text(&mut w, "firstUse", &work.first.to_string());
            text(&mut w, "lastUse", &work.last.to_string());
            if let Some(usage) = work.usage {
                text(&mut w, "usage", &name(usage));
            }
            if let Some(note) = &work.note {
                text(&mut w, "note", note);
            }
            for m in missing(work) {
                text(&mut w, "missing", &m);
            }
            for u in &work.detail {
                let mut e = BytesStart::new("use");
                e.push_attribute(("at", u.at.to_string().as_str()));
                if let Some(seconds) = u.seconds {
                    e.push_attribute(("seconds", format!("{seconds:.1}").as_str()));
                }
                if let Some(ending) = u.ending {
                    e.push_attribute(("ending", name(ending).as_str()));
                }
                e.push_attribute(("input", u.input.as_str()));
                w.write_event(Event::Empty(e)).expect(fail);
            }
            w.write_event(Event::End(BytesEnd::new("work")))
                .expect(fail);
        }
        w.write_event(Event::End(BytesEnd::new("works")))
            .expect(fail);
        w.write_event(Event::End(BytesEnd::new("cueSheet")))
            .expect(fail);
        let mut out = w.into_inner();
        out.push(b'\n');
        out
    }
}

/// What a work lacks, as the exports name it.
fn missing(work: &Work) -> Vec<String> {
    work.missing.iter().map(|m| name(*m)).collect()
}

/// A unit variant's name as serde writes it (`box_stopped`, `verified`).
pub fn name(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
