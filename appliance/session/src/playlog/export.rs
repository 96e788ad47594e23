//! A cue sheet written out for a society: JSON, CSV (one row per work, the
//! generic layout most societies' upload forms take) or XML. Each follows
//! the schema shipped in `docs/schemas/` (`cuesheet.schema.json`,
//! `cuesheet.csv.txt`, `cuesheet.xsd`).

use std::fmt;
use std::str::FromStr;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::cuesheet::{CueSheet, Work};

/// An export format, of cue sheets and of the technical logs
/// ([`crate::techlog::export`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON, as `cuesheet.schema.json` (`techlog.schema.json`) describes.
    Json,
    /// CSV, the columns of `cuesheet.csv.txt` (`techlog.csv.txt`).
    Csv,
    /// XML, as `cuesheet.xsd` (`techlog.xsd`) describes.
    Xml,
}

impl Format {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xml => "xml",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "xml" => Ok(Format::Xml),
            other => Err(format!(
                "{other:?} is not an export format: json, csv or xml"
            )),
        }
    }
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 14] = [
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
    "missing",
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
                work.uses.to_string(),
                format!("{:.1}", work.seconds),
                work.first.to_string(),
                work.last.to_string(),
                missing(work).join(" "),
            ])
            .expect(fail);
        }
        w.into_inner().expect(fail)
    }

    fn xml(&self) -> Vec<u8> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        let fail = "writing XML to memory cannot fail";
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .expect(fail);
        let mut sheet = BytesStart::new("cueSheet");
        sheet.push_attribute(("plays", self.plays.to_string().as_str()));
        sheet.push_attribute(("ready", if self.ready { "true" } else { "false" }));
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
            for m in missing(work) {
                text(&mut w, "missing", &m);
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
    work.missing
        .iter()
        .map(|m| {
            serde_json::to_value(m)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        })
        .collect()
}
