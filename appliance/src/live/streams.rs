//! Where a live voice's audio comes from: the clip's preloaded head, then
//! the butler's stream of its file.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;

use cuebox_engine::control::ReaderSource;
use cuebox_engine::media::{
    arm_heads, Butler, ButlerConfig, ClipDecoder, FrameSource, Head, StreamError,
};
use cuebox_engine::render::{BoxedReader, Timeline};
use cuebox_engine::show::{Clip, ClipId, PageNo, Show};

/// Seconds of each clip preloaded: a GO never waits for a disk, and the
/// butler has this long to fill the voice's ring.
pub const HEAD_SECONDS: f64 = 2.0;

/// Heads of the armed clips and the butler streaming the rest.
pub struct Streams {
    media: PathBuf,
    rate: u32,
    heads: HashMap<ClipId, Head>,
    butler: Butler,
}

impl Streams {
    /// Preloads the heads of every clip on `pages` and starts the butler.
    pub fn arm(show: &Show, media: PathBuf, pages: &[PageNo], rate: u32) -> Result<Self, String> {
        let heads = arm_heads(show, pages, rate, HEAD_SECONDS, |clip| {
            open(&media, clip, rate)
        })
        .map_err(|e| e.to_string())?;
        let butler = Butler::spawn(ButlerConfig {
            ring_frames: 5 * rate as usize,
            ..ButlerConfig::default()
        })
        .map_err(|e| format!("cannot start the butler thread: {e}"))?;
        Ok(Streams {
            media,
            rate,
            heads,
            butler,
        })
    }

    /// Clips armed.
    pub fn armed(&self) -> usize {
        self.heads.len()
    }

    /// Streaming errors since the last call (a damaged file, a lost disk).
    pub fn take_errors(&self) -> Vec<StreamError> {
        self.butler.take_errors()
    }
}

impl ReaderSource for Streams {
    fn reader(&mut self, clip: &Clip, timeline: Timeline) -> Result<BoxedReader, String> {
        let preloaded = self
            .heads
            .get(&clip.id)
            .filter(|h| h.timeline() == timeline);
        let head = match preloaded {
            Some(head) => head.clone(),
            None => {
                // A clip on a page not armed, or one joining its sequence
                // mid-way (chase): load the head now, on the control thread —
                // late, but never on the render thread. Only a whole
                // sequence's head is kept, for the next GO.
                let source = open(&self.media, clip, self.rate).map_err(|e| e.to_string())?;
                let frames = (HEAD_SECONDS * f64::from(self.rate)) as u64;
                let head = Head::load(source, &timeline, frames).map_err(|e| e.to_string())?;
                if Timeline::from_clip(clip, self.rate).ok() == Some(timeline) {
                    self.heads.insert(clip.id.clone(), head.clone());
                }
                head
            }
        };
        let source = open(&self.media, clip, self.rate).map_err(|e| e.to_string())?;
        Ok(Box::new(self.butler.stream(&head, source, timeline)))
    }
}

/// A decoder on `clip`'s file at `rate`.
fn open(
    media: &std::path::Path,
    clip: &Clip,
    rate: u32,
) -> Result<Box<dyn FrameSource>, StreamError> {
    let file = media.join(clip.audio.path.as_path());
    let fail = |reason: String| StreamError { frame: 0, reason };
    let source =
        File::open(&file).map_err(|e| fail(format!("cannot open {}: {e}", file.display())))?;
    let ext = file.extension().and_then(|e| e.to_str());
    let decoder = ClipDecoder::open(Box::new(source), ext, rate)
        .map_err(|e| fail(format!("{}: {e}", file.display())))?;
    Ok(Box::new(decoder))
}
