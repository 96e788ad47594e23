//! Technical log entries written out for people and tools: JSON (an array
//! of the entries as their lines hold them), CSV (`at`, `kind`, `event`,
//! `message`, then every field as one JSON object: events have dozens of
//! different fields, so no fixed set of columns would hold them) or XML
//! (each field an element named by an attribute, typed). Each follows its
//! schema in `docs/schemas/` (`techlog.schema.json`, `techlog.csv.txt`,
//! `techlog.xsd`).

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde_json::Value;

use super::TechEntry;
use crate::playlog::Format;

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 5] = ["at", "kind", "event", "message", "fields"];

/// `entries` in `format`.
pub fn export(entries: &[TechEntry], format: Format) -> Vec<u8> {
    match format {
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(entries)
                .expect("an entry has only string keys, so it always serialises");
            out.push(b'\n');
            out
        }
        Format::Csv => csv(entries),
        Format::Xml => xml(entries),
    }
}

fn csv(entries: &[TechEntry]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = "writing CSV to memory cannot fail";
    w.write_record(CSV_COLUMNS).expect(fail);
    for e in entries {
        w.write_record([
            e.at.to_string(),
            e.kind.to_string(),
            e.event.clone(),
            e.message().unwrap_or_default().to_owned(),
            Value::Object(e.fields.clone()).to_string(),
        ])
        .expect(fail);
    }
    w.into_inner().expect(fail)
}

fn xml(entries: &[TechEntry]) -> Vec<u8> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let fail = "writing XML to memory cannot fail";
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .expect(fail);
    let mut root = BytesStart::new("techLog");
    root.push_attribute(("entries", entries.len().to_string().as_str()));
    w.write_event(Event::Start(root)).expect(fail);
    for e in entries {
        let mut entry = BytesStart::new("entry");
        entry.push_attribute(("at", e.at.to_string().as_str()));
        entry.push_attribute(("kind", e.kind.as_str()));
        entry.push_attribute(("event", xml_text(&e.event).as_str()));
        w.write_event(Event::Start(entry)).expect(fail);
        if let Some(message) = e.message() {
            w.write_event(Event::Start(BytesStart::new("message")))
                .expect(fail);
            w.write_event(Event::Text(BytesText::new(&xml_text(message))))
                .expect(fail);
            w.write_event(Event::End(BytesEnd::new("message")))
                .expect(fail);
        }
        for (name, value) in &e.fields {
            let (kind, text) = match value {
                Value::String(s) => ("string", s.clone()),
                Value::Number(n) => ("number", n.to_string()),
                Value::Bool(b) => ("boolean", b.to_string()),
                Value::Null => ("null", String::new()),
                other => ("json", other.to_string()),
            };
            let mut field = BytesStart::new("field");
            field.push_attribute(("name", xml_text(name).as_str()));
            field.push_attribute(("type", kind));
            w.write_event(Event::Start(field)).expect(fail);
            w.write_event(Event::Text(BytesText::new(&xml_text(&text))))
                .expect(fail);
            w.write_event(Event::End(BytesEnd::new("field")))
                .expect(fail);
        }
        w.write_event(Event::End(BytesEnd::new("entry")))
            .expect(fail);
    }
    w.write_event(Event::End(BytesEnd::new("techLog")))
        .expect(fail);
    let mut out = w.into_inner();
    out.push(b'\n');
    out
}

/// `s` with the characters XML 1.0 cannot hold (most control characters:
/// a refused command line may carry any) replaced by U+FFFD.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}
