//! Loads a large manifest, to measure what [`Show::load`] costs in memory
//! (run under `/usr/bin/time -v`; scripts/bench-manifest-load.sh does).
//!
//! ```text
//! manifest_load write FILE MIB        writes a valid manifest of about MIB MiB
//! manifest_load write-tiny FILE N     a small show with an unknown field of
//!                                     N zeros (the costliest JSON per byte)
//! manifest_load load FILE             loads it and prints clips and seconds
//! ```

use std::time::Instant;

use cuebox_engine::show::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", file, mib] => {
            let bytes = big_show(mib.parse()?).to_json();
            std::fs::write(file, &bytes)?;
            println!("wrote {} bytes to {file}", bytes.len());
        }
        ["write-tiny", file, n] => {
            let show = String::from_utf8(big_show(0).to_json())?;
            let zeros = vec!["0"; n.parse()?].join(",");
            let doc = format!("{{\"padding\":[{zeros}],{}", &show.trim_start()[1..]);
            std::fs::write(file, &doc)?;
            println!("wrote {} bytes to {file}", doc.len());
        }
        ["load", file] => {
            let bytes = std::fs::read(file)?;
            let started = Instant::now();
            let loaded = Show::load(&bytes)?;
            println!(
                "loaded {} clips from {} bytes in {:.2} s",
                loaded.show.clips.len(),
                bytes.len(),
                started.elapsed().as_secs_f64()
            );
        }
        _ => {
            return Err(
                "usage: manifest_load write FILE MIB | write-tiny FILE N | load FILE".into(),
            )
        }
    }
    Ok(())
}

/// A show of as many clips as make about `mib` MiB of manifest, each with
/// its rights metadata and warp markers, as a long show's would have.
fn big_show(mib: usize) -> Show {
    let dims = GridDims::new(32, 32).expect("32 by 32 is a grid");
    let mut show = Show::new("Big", "media", dims, jiff::Timestamp::UNIX_EPOCH);
    let per_page = 8 * 32 * 32;
    // A clip takes about 1.6 KiB of pretty-printed JSON.
    let clips = mib * 1024 * 1024 / 1600;
    for i in 0..clips {
        let page = i / per_page;
        while show.pages.len() <= page {
            show.pages
                .push(Page::new(format!("Page {}", page + 1), dims));
        }
        let at = Placement {
            page: PageNo::new(page as u16 + 1).expect("a page number"),
            tab: TabIndex::from_number(i % per_page / 1024 + 1).expect("a tab"),
            pos: GridPos::new((i % 1024 / 32 + 1) as u16, (i % 32 + 1) as u16).expect("a button"),
        };
        let name = format!("clip-{i:07}");
        let audio = AudioRef {
            path: MediaPath::try_from(format!("music/{name}.wav")).expect("a media path"),
            hash: ContentHash::of_bytes(name.as_bytes()),
            format: AudioFormat {
                channels: Channels::Stereo,
                sample_rate: 48_000,
                bit_depth: Some(24),
                frames: Frames(480_000),
                codec: "pcm_s24le".into(),
                trim: Trim::default(),
                extra: Extra::new(),
            },
            metadata: RightsMetadata {
                title: Some(format!("Title of {name}")),
                artist: Some("The Ensemble".into()),
                isrc: Some("GB-AYE-69-00531".into()),
                ..RightsMetadata::default()
            },
            extra: Extra::new(),
        };
        show.add_clip(
            NewClip {
                name,
                group: Group::ALL[i % 4],
                audio,
            },
            at,
        )
        .expect("a free button");
        if let Some(c) = show.clips.last_mut() {
            c.processing.warp_markers = (0..4)
                .map(|k| WarpMarker {
                    frame: Frames(k * 24_000),
                    beat: k as f64,
                    extra: Extra::new(),
                })
                .collect();
        }
    }
    show
}
