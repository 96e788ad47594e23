//! The play log on the box: the plays the control thread reports (a group
//! voice started by a command, and its end), written to the journal in the
//! data root's `Logs/plays/` by a thread of their own, off the real-time
//! path. Each entry is acknowledged with a `play_logged` event once both
//! copies are on disk; a disk that refuses is retried every second, the
//! plays waiting in order in memory, so none is lost while the box runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use cuebox_engine::control::cues::CueMap;
use cuebox_engine::render::VoiceId;
use cuebox_engine::show::{ClipId, Show};

use crate::events::{BoxEvent, Publisher};
use crate::journal::{self, End, Ending, Journal, Record, Source, Start};
use crate::origin::Origin;

/// What the control thread tells the play log.
#[derive(Debug, Clone)]
pub enum PlayEvent {
    /// A group voice started.
    Started {
        /// The voice.
        voice: VoiceId,
        /// Its clip (none for a tag the show never had: not logged).
        clip: Option<ClipId>,
        /// The show sample.
        sample: u64,
        /// Where the command came from.
        origin: Origin,
        /// Wall-clock time.
        wall: jiff::Timestamp,
        /// The show's timecode, when a time source gives one.
        timecode: Option<String>,
    },
    /// It ended.
    Ended {
        /// The voice.
        voice: VoiceId,
        /// The show sample.
        sample: u64,
        /// Frames of it heard.
        heard: u64,
        /// How.
        ending: Ending,
        /// Wall-clock time.
        wall: jiff::Timestamp,
    },
    /// The show was revised while it plays: later starts are logged with
    /// what it says of their clips.
    Show(Arc<Show>),
}

/// The play log of one session's run.
#[derive(Debug)]
pub struct PlayLog {
    tx: Sender<PlayEvent>,
    thread: JoinHandle<()>,
}

/// What the log says of the show's clips: each start entry is whole in itself.
struct Facts {
    session: String,
    show: Arc<Show>,
    cues: CueMap,
    rate: u32,
}

impl Facts {
    fn start(
        &self,
        clip: &ClipId,
        sample: u64,
        origin: Origin,
        wall: jiff::Timestamp,
        timecode: Option<String>,
    ) -> Option<Start> {
        let c = self.show.clip(clip)?;
        Some(Start {
            at: wall,
            session: self.session.clone(),
            clip: c.id.clone(),
            name: c.name.clone(),
            hash: c.audio.hash,
            group: c.group,
            button: self.cues.number_of(&c.id).map(|n| n.to_string()),
            rights: c.audio.metadata.clone(),
            source: Source {
                input: origin.input.as_str().to_owned(),
                from: origin.from,
                cue: origin.cue,
            },
            sample,
            rate: self.rate,
            timecode,
        })
    }
}

impl PlayLog {
    /// Starts logging the plays of `session` (`show`, at `rate`) to the
    /// journal under `logs`.
    pub fn start(
        logs: &Path,
        session: &str,
        show: &Show,
        rate: u32,
        events: Publisher,
    ) -> std::io::Result<PlayLog> {
        let (tx, rx) = mpsc::channel();
        let facts = Facts {
            session: session.to_owned(),
            cues: CueMap::new(show),
            show: Arc::new(show.clone()),
            rate,
        };
        let paths = journal::paths(logs);
        let thread = std::thread::Builder::new()
            .name("playlog".into())
            .spawn(move || write(&paths, facts, &rx, &events))?;
        Ok(PlayLog { tx, thread })
    }

    /// Where the control thread sends plays.
    pub fn sender(&self) -> Sender<PlayEvent> {
        self.tx.clone()
    }

    /// Writes what is still queued, then stops (once every sender is gone).
    pub fn finish(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}

/// How long a failing disk waits before the entry is tried again.
const RETRY: Duration = Duration::from_secs(1);

fn write(paths: &[PathBuf; 2], mut facts: Facts, rx: &Receiver<PlayEvent>, events: &Publisher) {
    let mut journal = open(paths, events);
    // Playing voices: their start entry.
    let mut playing: HashMap<VoiceId, (u64, ClipId)> = HashMap::new();
    for play in rx {
        match play {
            PlayEvent::Started {
                voice,
                clip,
                sample,
                origin,
                wall,
                timecode,
            } => {
                let start = clip.and_then(|c| facts.start(&c, sample, origin, wall, timecode));
                let Some(start) = start else {
                    continue;
                };
                let clip = start.clip.clone();
                let entry = append(&mut journal, &Record::Start(Box::new(start)), events);
                playing.insert(voice, (entry, clip.clone()));
                events.send(BoxEvent::PlayLogged {
                    entry,
                    play: entry,
                    clip,
                    record: "start".into(),
                });
            }
            PlayEvent::Show(show) => {
                facts.cues = CueMap::new(&show);
                facts.show = show;
            }
            PlayEvent::Ended {
                voice,
                sample,
                heard,
                ending,
                wall,
            } => {
                let Some((play, clip)) = playing.remove(&voice) else {
                    continue;
                };
                let end = End {
                    at: wall,
                    play,
                    sample,
                    heard_frames: heard,
                    ending,
                };
                let entry = append(&mut journal, &Record::End(end), events);
                events.send(BoxEvent::PlayLogged {
                    entry,
                    play,
                    clip,
                    record: "end".into(),
                });
            }
        }
    }
}

/// Opens the journal, mending what a crash left; copies that tell two
/// different histories are set aside whole and a new journal begins.
/// A disk that refuses is retried until it answers.
fn open(paths: &[PathBuf; 2], events: &Publisher) -> Journal {
    let mut said = false;
    loop {
        match Journal::open(paths.clone()) {
            Ok((journal, _, mended)) => {
                if mended != Default::default() {
                    events.send(BoxEvent::PlayLogMended {
                        detail: format!(
                            "{} torn last line(s) dropped (never acknowledged), {} entr(ies) \
                             copied to the copy that lacked them, damaged copies kept as {:?} \
                             and rebuilt from the other",
                            mended.torn.len(),
                            mended.copied,
                            mended.set_aside
                        ),
                    });
                }
                return journal;
            }
            Err(e @ journal::PlaylogError::Diverged { .. }) => {
                let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
                let mut kept = Vec::new();
                for p in paths {
                    let aside = p.with_extension(format!("log.diverged-{stamp}"));
                    if std::fs::rename(p, &aside).is_ok() {
                        kept.push(aside);
                    }
                }
                events.send(BoxEvent::PlayLogProblem {
                    detail: format!("{e}; both kept as {kept:?} and a new play log begins"),
                });
                if kept.len() < paths.len() {
                    std::thread::sleep(RETRY);
                }
            }
            Err(e) => {
                if !said {
                    events.send(BoxEvent::PlayLogProblem {
                        detail: format!("{e}; plays wait in memory, tried again every second"),
                    });
                    said = true;
                }
                std::thread::sleep(RETRY);
            }
        }
    }
}

/// Appends `record`, trying again every second until the disk takes it.
fn append(journal: &mut Journal, record: &Record, events: &Publisher) -> u64 {
    let mut said = false;
    loop {
        match journal.append(record) {
            Ok(entry) => return entry,
            Err(e) => {
                if !said {
                    events.send(BoxEvent::PlayLogProblem {
                        detail: format!(
                            "{e}; the play waits in memory and is tried again every second"
                        ),
                    });
                    said = true;
                }
                std::thread::sleep(RETRY);
            }
        }
    }
}
