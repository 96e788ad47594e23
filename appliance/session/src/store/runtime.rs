//! A session's live state on a box (`runtime.json`): written at every change
//! so a restart, however abrupt, finds the playhead, the lock and the live
//! group levels where the operator left them.
//!
//! The manifest's `runtime` section holds the same thing as of a save or a
//! recovery point; `runtime.json`, when present, is newer. Restoring a
//! recovery point removes it, so the point's own state applies.

use std::io::Read;
use std::path::PathBuf;

use cuebox_engine::show::{Runtime, Show};

use super::error::{io, Result, StoreError};
use super::fs;
use super::session::SessionDir;

/// Largest `runtime.json` read: a few hundred bytes are written; anything
/// far larger is not ours.
const MAX_RUNTIME_BYTES: u64 = 64 * 1024;

impl SessionDir {
    /// The live state's file name.
    pub const RUNTIME: &'static str = "runtime.json";

    /// `runtime.json`.
    pub fn runtime_path(&self) -> PathBuf {
        self.path().join(Self::RUNTIME)
    }

    /// Writes the live state atomically (it survives power loss once this
    /// returns).
    pub fn write_runtime(&self, runtime: &Runtime) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(runtime)
            .expect("a runtime has only string map keys, so it always serialises");
        bytes.push(b'\n');
        fs::write_atomic(&self.runtime_path(), &bytes)
    }

    /// The live state `show` resumes with: `runtime.json` when present and
    /// valid for `show`, else the manifest's own section. A file that cannot
    /// be used is the error, for the caller to report before resuming from
    /// the manifest's section.
    pub fn resume_runtime(&self, show: &Show) -> Result<Runtime> {
        let path = self.runtime_path();
        let bad = |detail: String| StoreError::BadRuntime {
            path: path.clone(),
            detail,
        };
        let mut bytes = Vec::new();
        match std::fs::File::open(&path) {
            Ok(file) => file
                .take(MAX_RUNTIME_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(io("read", &path))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(show.runtime.clone()),
            Err(e) => return Err(io("open", &path)(e)),
        };
        if bytes.len() as u64 > MAX_RUNTIME_BYTES {
            return Err(bad(format!("over {MAX_RUNTIME_BYTES} bytes")));
        }
        let runtime: Runtime = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        let mut check = show.clone();
        check.runtime = runtime;
        let problems: Vec<String> = check
            .validate()
            .into_iter()
            .filter(|p| p.path.starts_with("runtime"))
            .map(|p| p.to_string())
            .collect();
        if !problems.is_empty() {
            return Err(bad(problems.join("; ")));
        }
        Ok(check.runtime)
    }

    /// Removes `runtime.json`: the manifest's section applies from now on.
    pub fn forget_runtime(&self) -> Result<()> {
        fs::remove_file(&self.runtime_path())?;
        fs::sync_dir(self.path())
    }
}
