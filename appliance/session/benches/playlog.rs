//! What the play log costs: `cargo bench -p cuebox-session --bench playlog`
//! appends 2,000 plays (a start and an end each) to a journal in a
//! temporary folder on this disk and prints the time per entry and the
//! fsyncs it took; then builds and exports (JSON, CSV, XML) the cue sheet
//! of a 10,000-play journal and prints each time. The goal: a cue sheet of
//! 10,000 plays in under 1 s.

use std::time::Instant;

use cuebox_engine::show::{ContentHash, Group, ReportDepth, RightsMetadata, ShowInfo};
use cuebox_session::playlog::*;

fn start(n: u64) -> Record {
    Record::Start(Box::new(Start {
        at: jiff::Timestamp::from_second(1_796_400_000 + n as i64).expect("in range"),
        session: "Hamlet".into(),
        clip: format!("c{}", n % 150 + 1).parse().expect("a clip id"),
        name: format!("Cue {}", n % 150 + 1),
        hash: ContentHash::of_bytes(&(n % 150).to_le_bytes()),
        group: Group::ALL[n as usize % 4],
        button: Some(format!("1.1.{}", n % 32 + 1)),
        rights: RightsMetadata {
            title: Some(format!("Work {}", n % 150)),
            composer: Some("A. Composer".into()),
            ..RightsMetadata::default()
        },
        source: Source {
            input: "osc".into(),
            from: "10.0.0.5:53000".into(),
            cue: None,
        },
        sample: n * 4_800,
        rate: 48_000,
        timecode: None,
    }))
}

fn end(play: u64) -> Record {
    Record::End(End {
        at: jiff::Timestamp::from_second(1_796_400_000 + play as i64 + 30).expect("in range"),
        play,
        sample: play * 4_800 + 1_440_000,
        heard_frames: 1_440_000,
        ending: Ending::Faded,
    })
}

fn main() {
    let dir = tempfile::tempdir_in(".").expect("a temporary folder here");
    let (mut journal, ..) = Journal::open(paths(dir.path())).expect("a new journal");
    const PLAYS: u64 = 2_000;
    let t = Instant::now();
    for n in 0..PLAYS {
        let play = journal.append(&start(n)).expect("append");
        journal.append(&end(play)).expect("append");
    }
    let each = t.elapsed().as_secs_f64() / (2 * PLAYS) as f64;
    println!(
        "append: {:.3} ms per entry, 2 fsyncs each (both copies), {:.3} ms per play (start + end)",
        each * 1e3,
        2.0 * each * 1e3
    );

    let big = tempfile::tempdir_in(".").expect("a temporary folder here");
    let (mut journal, ..) = Journal::open(paths(big.path())).expect("a new journal");
    for n in 0..10_000 {
        let play = journal.append(&start(n)).expect("append");
        journal.append(&end(play)).expect("append");
    }
    drop(journal);
    let t = Instant::now();
    let verified = verify(&paths(big.path())).expect("readable");
    let read = t.elapsed();
    let entries = &verified.copies[0].1.entries;
    let t = Instant::now();
    let sheet = CueSheet::build(
        entries,
        &Period::default(),
        &ShowInfo::default(),
        ReportDepth::Summary,
    );
    let built = t.elapsed();
    println!(
        "cue sheet of {} plays ({} works): read and verify both copies {:.0} ms, build {:.1} ms",
        sheet.plays,
        sheet.works.len(),
        read.as_secs_f64() * 1e3,
        built.as_secs_f64() * 1e3
    );
    for format in [Format::Json, Format::Csv, Format::Xml] {
        let t = Instant::now();
        let bytes = sheet.export(format);
        println!(
            "  export {format}: {:.1} ms ({} bytes); total with reading {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3,
            bytes.len(),
            (read + built + t.elapsed()).as_secs_f64() * 1e3
        );
    }
}
