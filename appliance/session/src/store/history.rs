//! A session's edit history, for undo and redo as a designer expects them
//! from QLab: every edit saved with [`SessionDir::save_edit`] keeps the
//! manifest as it was before it, as an undo step with what the edit was;
//! undoing keeps the manifest it replaces as a redo step. Steps live in the
//! session folder (`history/undo/`, `history/redo/`), so they survive
//! restarts and travel with the session; each is written atomically before
//! the manifest changes, so a crash never loses the state it records.

use std::path::PathBuf;

use cuebox_engine::show::Show;

use super::error::{Result, StoreError};
use super::fs;
use super::session::SessionDir;

/// The undo steps kept (older ones are dropped).
pub const KEEP_STEPS: usize = 200;

/// One step of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Its number, rising with each edit.
    pub seq: u64,
    /// When the edit was made (or undone, for a redo step).
    pub at: jiff::Timestamp,
    /// What the edit was (`clip set c3 --level -6`).
    pub what: String,
    /// The manifest it restores.
    path: PathBuf,
}

/// Which stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    Undo,
    Redo,
}

impl Stack {
    fn dir(self, session: &SessionDir) -> PathBuf {
        session.path().join("history").join(match self {
            Stack::Undo => "undo",
            Stack::Redo => "redo",
        })
    }
}

/// The history as `hostctl history` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Edits that can be undone, newest first.
    pub undo: Vec<Step>,
    /// Undone edits that can be redone, the next first.
    pub redo: Vec<Step>,
}

impl SessionDir {
    /// Saves `show` as the result of the edit `what`: the manifest before
    /// it becomes an undo step, and the redo steps are dropped (a new edit
    /// starts a new branch).
    pub fn save_edit(&self, show: &Show, what: &str) -> Result<()> {
        let before = self.read_manifest()?;
        let seq = steps(self, Stack::Undo)?.first().map_or(1, |s| s.seq + 1);
        push(self, Stack::Undo, seq, what, &before)?;
        // The undo step keeps what is replaced: no backup besides.
        self.save_unbacked(show)?;
        for step in steps(self, Stack::Redo)? {
            drop_step(&step)?;
        }
        for old in steps(self, Stack::Undo)?.iter().skip(KEEP_STEPS) {
            drop_step(old)?;
        }
        Ok(())
    }

    /// Seals the newest edit: undoing it is refused with `why` (an edit
    /// whose file operation cannot be undone with the manifest, such as a
    /// file renamed or deleted in the media folder).
    pub fn seal_last_edit(&self, why: &str) -> Result<()> {
        match steps(self, Stack::Undo)?.first() {
            Some(step) => fs::write_atomic(&step.path.with_extension("sealed"), why.as_bytes()),
            None => Ok(()),
        }
    }

    /// Undoes the newest edit; what it was, or `None` when there is none.
    pub fn undo(&self) -> Result<Option<Step>> {
        if let Some(step) = steps(self, Stack::Undo)?.first() {
            if let Ok(why) = std::fs::read_to_string(step.path.with_extension("sealed")) {
                return Err(StoreError::Sealed {
                    what: step.what.clone(),
                    why,
                });
            }
        }
        self.step_back(Stack::Undo, Stack::Redo)
    }

    /// Redoes the edit undone last; what it was, or `None`.
    pub fn redo(&self) -> Result<Option<Step>> {
        self.step_back(Stack::Redo, Stack::Undo)
    }

    /// The edit history.
    pub fn history(&self) -> Result<History> {
        let mut redo = steps(self, Stack::Redo)?;
        redo.reverse();
        Ok(History {
            undo: steps(self, Stack::Undo)?,
            redo,
        })
    }

    /// Restores the newest step of `from`, keeping the manifest it replaces
    /// as a step of `to`.
    fn step_back(&self, from: Stack, to: Stack) -> Result<Option<Step>> {
        let Some(step) = steps(self, from)?.into_iter().next() else {
            return Ok(None);
        };
        let (loaded, bytes) = fs::load_manifest(&step.path)?;
        let current = self.read_manifest()?;
        self.check_media_there(&loaded.show, &current, from)?;
        // A step keeps its number across stacks: undo's top is the
        // highest, redo's the lowest, so each pops the edit nearest now.
        push(self, to, step.seq, &step.what, &current)?;
        self.write_manifest(&loaded.show, &bytes)?;
        drop_step(&step)?;
        Ok(Some(step))
    }
}

impl SessionDir {
    /// Refuses a step that changes the media folder to one missing files
    /// the step's clips name (after a `media move`, whose old copies are
    /// deleted): the session would lose every clip at once.
    fn check_media_there(&self, step: &Show, current: &[u8], stack: Stack) -> Result<()> {
        let now = Show::load(current).map(|l| l.show).ok();
        let now_folder = now.as_ref().map(|s| self.media_folder(s));
        let folder = self.media_folder(step);
        if now_folder.as_ref() == Some(&folder) {
            return Ok(());
        }
        let gone: Vec<&str> = step
            .clips
            .iter()
            .map(|c| c.audio.path.as_str())
            .filter(|p| !folder.join(p).is_file())
            .collect();
        match gone.first() {
            None => Ok(()),
            Some(first) => Err(StoreError::MediaGone {
                verb: match stack {
                    Stack::Undo => "undone",
                    Stack::Redo => "redone",
                },
                now: now_folder.unwrap_or_default(),
                folder,
                missing: gone.len(),
                first: (*first).to_owned(),
            }),
        }
    }
}

/// A stack's steps, the top (highest for undo, lowest for redo) first.
fn steps(session: &SessionDir, stack: Stack) -> Result<Vec<Step>> {
    let dir = stack.dir(session);
    let mut out: Vec<Step> = fs::json_stems(&dir)?
        .into_iter()
        .filter_map(|stem| {
            let (seq, stamp) = stem.split_once('-')?;
            let what = std::fs::read_to_string(dir.join(format!("{stem}.what")))
                .unwrap_or_else(|_| "(an edit)".into());
            Some(Step {
                seq: seq.parse().ok()?,
                at: fs::parse_stamp(stamp)?,
                what,
                path: dir.join(format!("{stem}.json")),
            })
        })
        .collect();
    match stack {
        Stack::Undo => out.sort_by_key(|s| std::cmp::Reverse(s.seq)),
        Stack::Redo => out.sort_by_key(|s| s.seq),
    }
    Ok(out)
}

/// Writes a step: its description, then the manifest (the step counts
/// once that is there).
fn push(session: &SessionDir, stack: Stack, seq: u64, what: &str, manifest: &[u8]) -> Result<()> {
    let dir = stack.dir(session);
    fs::ensure_dir(&dir)?;
    let stem = format!("{seq:08}-{}", fs::stamp(jiff::Timestamp::now()));
    fs::write_atomic(&dir.join(format!("{stem}.what")), what.as_bytes())?;
    fs::write_atomic(&dir.join(format!("{stem}.json")), manifest)
}

fn drop_step(step: &Step) -> Result<()> {
    fs::remove_file(&step.path)?;
    let _ = std::fs::remove_file(step.path.with_extension("sealed"));
    fs::remove_file(&step.path.with_extension("what"))
}
