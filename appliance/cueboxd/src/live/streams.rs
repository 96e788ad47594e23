//! Where a live voice's audio comes from: the clip's preloaded head, then
//! the butler's stream of its file.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use cuebox_engine::control::ReaderSource;
use cuebox_engine::media::{Butler, ButlerConfig, ClipDecoder, FrameSource, Head, StreamError};
use cuebox_engine::render::{BoxedReader, Timeline};
use cuebox_engine::show::{Clip, ClipId, PageNo, Show};

pub use cuebox_engine::media::HEAD_SECONDS;

/// A clip on a page in view that could not be armed: its file is missing,
/// changed since it was added (its content hash differs), cannot be
/// decoded, or its markers do not fit its audio. The show
/// plays without it; a GO of it is refused with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplayable {
    /// The clip.
    pub clip: ClipId,
    /// Its file, as the box looked for it.
    pub file: PathBuf,
    /// Why it cannot play.
    pub reason: String,
}

impl fmt::Display for Unplayable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not playable: {}: {}", self.file.display(), self.reason)
    }
}

/// Whether arming a clip reads its whole file to check its content hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    /// At the start: a file changed since it was pushed is found here.
    Hash,
    /// Audio the running show has already verified.
    Known,
}

/// Heads of the armed clips and the butler streaming the rest.
pub struct Streams {
    media: PathBuf,
    rate: u32,
    heads: HashMap<ClipId, Head>,
    /// Clips in view that failed to arm, in the order the pages show them.
    unplayable: Vec<Unplayable>,
    /// Files whose content hash was checked at arm time.
    verified: std::collections::HashSet<(PathBuf, cuebox_engine::show::ContentHash)>,
    butler: Butler,
}

impl Streams {
    /// Preloads the heads of every clip on `pages` and starts the butler.
    /// A clip that cannot be armed is set aside as [`Unplayable`] and the
    /// rest arm: one bad file never stops the show. Fails only if the
    /// butler cannot start.
    pub fn arm(show: &Show, media: PathBuf, pages: &[PageNo], rate: u32) -> Result<Self, String> {
        let butler = Butler::spawn(ButlerConfig {
            ring_frames: 5 * rate as usize,
            ..ButlerConfig::default()
        })
        .map_err(|e| format!("cannot start the butler thread: {e}"))?;
        let mut streams = Streams {
            media,
            rate,
            heads: HashMap::new(),
            unplayable: Vec::new(),
            verified: Default::default(),
            butler,
        };
        for (page, _, _, button) in show.buttons() {
            let armed = |id: &ClipId| {
                streams.heads.contains_key(id) || streams.unplayable.iter().any(|u| &u.clip == id)
            };
            if !pages.contains(&page) || armed(&button.clip) {
                continue;
            }
            // A button naming no clip is a validation problem, reported at start.
            let Some(clip) = show.clip(&button.clip) else {
                continue;
            };
            streams.arm_clip(clip, Verify::Hash);
        }
        Ok(streams)
    }

    /// Arms `clips` of a revised `show` again (new clips, or ones whose
    /// audio, cue or loop changed): the old head goes, the new one is
    /// loaded now, so a GO never waits on the disk. One that cannot arm is
    /// [`Unplayable`], as at the start.
    pub fn rearm(&mut self, show: &Show, clips: &[ClipId]) {
        for id in clips {
            self.heads.remove(id);
            self.unplayable.retain(|u| &u.clip != id);
            // Its audio is one the box had (a revision names no other):
            // verified already, and the control thread must not read it all.
            if let Some(clip) = show.clip(id) {
                self.arm_clip(clip, Verify::Known);
            }
        }
    }

    /// Loads `clip`'s head, or sets it aside as [`Unplayable`].
    fn arm_clip(&mut self, clip: &Clip, verify: Verify) {
        let head = Timeline::from_clip(clip, self.rate)
            .map_err(|e| format!("its markers do not fit its audio: {e}"))
            .and_then(|timeline| self.load_head(clip, &timeline))
            .and_then(|head| match verify {
                Verify::Hash => self.check_hash(clip).map(|()| head),
                Verify::Known => Ok(head),
            });
        match head {
            Ok(head) => {
                self.heads.insert(clip.id.clone(), head);
            }
            Err(reason) => self.unplayable.push(Unplayable {
                clip: clip.id.clone(),
                file: self.file(clip),
                reason,
            }),
        }
    }

    /// Clips armed.
    pub fn armed(&self) -> usize {
        self.heads.len()
    }

    /// The clips in view that could not be armed, in page order.
    pub fn unplayable(&self) -> &[Unplayable] {
        &self.unplayable
    }

    /// Streaming errors since the last call (a damaged file, a lost disk).
    pub fn take_errors(&self) -> Vec<StreamError> {
        self.butler.take_errors()
    }

    /// Where `clip`'s file is.
    fn file(&self, clip: &Clip) -> PathBuf {
        self.media.join(clip.audio.path.as_path())
    }

    /// Whether `clip`'s file still has the bytes it was added with: a file
    /// replaced under the same name (another take, a truncated copy) must
    /// not play in its place.
    fn check_hash(&mut self, clip: &Clip) -> Result<(), String> {
        let file = self.file(clip);
        // Many clips may share a file: it is read once.
        let checked = (file, clip.audio.hash);
        if self.verified.contains(&checked) {
            return Ok(());
        }
        let found = cuebox_session::media::hash_file(&checked.0, &mut |_| ())
            .map_err(|e| format!("cannot read it: {e}"))?;
        if found == clip.audio.hash {
            self.verified.insert(checked);
            return Ok(());
        }
        Err(format!(
            "it changed since it was added (hash {found}, expected {}); find the original with \
             `hostctl media find`, or re-add the clip if the new file is intended",
            clip.audio.hash
        ))
    }

    /// Preloads the head of `timeline` from `clip`'s file.
    fn load_head(&self, clip: &Clip, timeline: &Timeline) -> Result<Head, String> {
        let frames = (HEAD_SECONDS * f64::from(self.rate)).round() as u64;
        let source = open(&self.file(clip), self.rate)?;
        Head::load(source, timeline, frames).map_err(|e| e.to_string())
    }
}

impl ReaderSource for Streams {
    fn reader(&mut self, clip: &Clip, timeline: Timeline) -> Result<BoxedReader, String> {
        // Refused as it was found at arm time, without touching the disk:
        // a GO never waits on a file already known to be bad.
        if let Some(bad) = self.unplayable.iter().find(|u| u.clip == clip.id) {
            return Err(bad.to_string());
        }
        let file = self.file(clip);
        let at_file = |reason: String| format!("{}: {reason}", file.display());
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
                let head = self.load_head(clip, &timeline).map_err(at_file)?;
                if Timeline::from_clip(clip, self.rate).ok() == Some(timeline) {
                    self.heads.insert(clip.id.clone(), head.clone());
                }
                head
            }
        };
        let source = open(&file, self.rate).map_err(at_file)?;
        Ok(Box::new(self.butler.stream(&head, source, timeline)))
    }
}

/// A decoder on `file` at `rate`, or why there is none (the file is not
/// named: callers say which it is).
fn open(file: &Path, rate: u32) -> Result<Box<dyn FrameSource>, String> {
    let source = File::open(file).map_err(|e| format!("cannot open it: {e}"))?;
    let ext = file.extension().and_then(|e| e.to_str());
    let decoder = ClipDecoder::open(Box::new(source), ext, rate)
        .map_err(|e| format!("cannot decode it: {e}"))?;
    Ok(Box::new(decoder))
}

#[cfg(test)]
mod tests {
    use cuebox_engine::control::{Command, Dispatcher};
    use cuebox_engine::fixtures::{row_show, write_wav, WavFormat};

    use super::*;

    const RATE: u32 = 48_000;

    /// One second of a quiet stereo ramp.
    fn write_ramp(path: &Path) {
        write_wav(path, WavFormat::int16(2, RATE), RATE, |i, c| {
            ((2 * i + u32::from(c)) % 100) as f32 / 32_767.0
        });
    }

    #[test]
    fn a_missing_changed_or_undecodable_file_leaves_its_clip_unplayable_and_the_rest_armed() {
        let dir = tempfile::tempdir().unwrap();
        write_ramp(&dir.path().join("good.wav"));
        write_ramp(&dir.path().join("changed.wav"));
        std::fs::write(dir.path().join("junk.wav"), "not audio at all, just text\n").unwrap();
        let (mut show, ids) = row_show(&["good.wav", "missing.wav", "junk.wav", "changed.wav"]);
        let (good, missing, junk, changed) = (&ids[0], &ids[1], &ids[2], &ids[3]);
        // The good clip records its file's real hash; the changed one keeps
        // the fixture's hash of its name, as if another file had replaced it.
        let good_file = dir.path().join("good.wav");
        show.clips[0].audio.hash =
            cuebox_session::media::hash_file(&good_file, &mut |_| ()).unwrap();
        let mut streams = Streams::arm(&show, dir.path().to_path_buf(), &[PageNo::FIRST], RATE)
            .expect("the show arms without its bad clips");
        assert_eq!(streams.armed(), 1, "the good clip is armed");
        let bad = streams.unplayable().to_vec();
        let clips: Vec<&ClipId> = bad.iter().map(|u| &u.clip).collect();
        assert_eq!(
            clips,
            [missing, junk, changed],
            "the bad clips, in page order"
        );
        assert!(
            bad[2]
                .reason
                .starts_with("it changed since it was added (hash blake3:"),
            "{}",
            bad[2].reason
        );
        let missing_file = dir.path().join("missing.wav");
        assert_eq!(bad[0].file, missing_file);
        assert_eq!(
            bad[0].reason,
            "cannot open it: No such file or directory (os error 2)"
        );
        assert_eq!(bad[1].file, dir.path().join("junk.wav"));
        assert!(
            bad[1].reason.starts_with("cannot decode it: "),
            "{}",
            bad[1].reason
        );

        // A GO of the good clip plays; of a bad one, it is refused with the
        // clip, its file and why.
        let mut dispatcher = Dispatcher::new(&show, RATE);
        let go = |clip: &ClipId| Command::Go {
            clip: clip.clone(),
            time: None,
        };
        assert!(dispatcher.translate(&show, &go(good), &mut streams).is_ok());
        let refusal = |d: &mut Dispatcher, s: &mut Streams, clip: &ClipId| {
            d.translate(&show, &go(clip), s).unwrap_err().to_string()
        };
        assert_eq!(
            refusal(&mut dispatcher, &mut streams, missing),
            format!(
                "clip \"{missing}\": not playable: {}: cannot open it: No such file or \
                 directory (os error 2)",
                missing_file.display()
            )
        );
        assert_eq!(
            refusal(&mut dispatcher, &mut streams, junk),
            format!("clip \"{junk}\": {}", bad[1])
        );
        // The verdict stands until the show is armed again, even if the
        // file turns up: a GO never waits on the disk for a known bad clip.
        write_ramp(&missing_file);
        assert!(refusal(&mut dispatcher, &mut streams, missing).contains("not playable"));
    }
}
