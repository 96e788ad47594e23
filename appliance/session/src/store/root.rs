//! The data root of a box: `Sessions/`, `Exports/`, `Logs/`, `Media/` and
//! the box's device map.

use std::path::{Path, PathBuf};

use cuebox_engine::show::{DeviceMap, Show};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::error::{io, Result, StoreError};
use super::fs;
use super::session::SessionDir;

/// The folder holding everything a box stores, laid out as
///
/// ```text
/// <root>/Sessions/<name>/   one folder per session (see SessionDir)
/// <root>/Exports/           packaged sessions, page and clip-list exports
/// <root>/Logs/              application logs, playback history, errors
/// <root>/Media/<name>/      the suggested media folder of a session
/// <root>/device-map.json    this box's logical → physical channel map
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRoot {
    path: PathBuf,
}

/// A session folder found under `Sessions/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    /// The folder's name, which is the session's name on this box.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
}

impl DataRoot {
    /// Where a box keeps its data unless told otherwise.
    pub const DEFAULT_PATH: &'static str = "/var/lib/cuebox";
    /// The environment variable that overrides [`DataRoot::DEFAULT_PATH`].
    pub const ENV: &'static str = "CUEBOX_ROOT";
    /// Session folders.
    pub const SESSIONS: &'static str = "Sessions";
    /// Exports.
    pub const EXPORTS: &'static str = "Exports";
    /// Logs.
    pub const LOGS: &'static str = "Logs";
    /// Suggested media folders.
    pub const MEDIA: &'static str = "Media";
    /// The box's device map, beside the folders: it belongs to the box, not to a session.
    pub const DEVICE_MAP: &'static str = "device-map.json";

    /// Opens the data root at `path`, creating any of its folders that are missing.
    pub fn open(path: &Path) -> Result<Self> {
        let root = DataRoot {
            path: path.to_owned(),
        };
        for dir in [
            root.sessions_dir(),
            root.exports_dir(),
            root.logs_dir(),
            root.media_dir(),
        ] {
            std::fs::create_dir_all(&dir)
                .map_err(|source| StoreError::DataRoot { path: dir, source })?;
        }
        Ok(root)
    }

    /// The root folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `Sessions/`.
    pub fn sessions_dir(&self) -> PathBuf {
        self.path.join(Self::SESSIONS)
    }

    /// `Exports/`.
    pub fn exports_dir(&self) -> PathBuf {
        self.path.join(Self::EXPORTS)
    }

    /// `Logs/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.path.join(Self::LOGS)
    }

    /// `Media/`.
    pub fn media_dir(&self) -> PathBuf {
        self.path.join(Self::MEDIA)
    }

    /// `device-map.json`: this box's logical → physical channel map.
    pub fn device_map_path(&self) -> PathBuf {
        self.path.join(Self::DEVICE_MAP)
    }

    /// This box's device map, or `None` when none has been saved yet.
    pub fn device_map(&self) -> Result<Option<DeviceMap>> {
        let path = self.device_map_path();
        if !path.exists() {
            return Ok(None);
        }
        let bytes = fs::read_manifest(&path)?;
        DeviceMap::load(&bytes)
            .map(Some)
            .map_err(|error| StoreError::Load { path, error })
    }

    /// Saves this box's device map, atomically.
    pub fn save_device_map(&self, map: &DeviceMap) -> Result<()> {
        fs::write_atomic(&self.device_map_path(), &map.to_json())
    }

    /// `Media/<session>`: where a new session's media go unless the user
    /// chooses another folder (the choice is recorded in the manifest).
    pub fn suggested_media_folder(&self, session: &str) -> Result<PathBuf> {
        check_session_name(session)?;
        Ok(self.media_dir().join(session))
    }

    /// The folder of the session called `name` (which need not exist).
    pub fn session_path(&self, name: &str) -> Result<PathBuf> {
        check_session_name(name)?;
        Ok(self.sessions_dir().join(name))
    }

    /// Opens the session called `name`.
    pub fn open_session(&self, name: &str) -> Result<SessionDir> {
        let path = self.session_path(name)?;
        if !path.is_dir() {
            return Err(StoreError::NoSuchSession {
                name: name.to_owned(),
                sessions: self.sessions_dir(),
            });
        }
        SessionDir::open(&path)
    }

    /// Creates the session called `name` holding `show`.
    pub fn create_session(&self, name: &str, show: &Show) -> Result<SessionDir> {
        SessionDir::create(&self.session_path(name)?, show)
    }

    /// The folders under `Sessions/`, by name (hidden folders are skipped).
    pub fn sessions(&self) -> Result<Vec<SessionEntry>> {
        let dir = self.sessions_dir();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io("list", &dir))? {
            let entry = entry.map_err(io("list", &dir))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if name.starts_with('.') || !path.is_dir() {
                continue;
            }
            out.push(SessionEntry { name, path });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// Refuses a name that cannot be exactly one folder name under `Sessions/`.
pub fn check_session_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(StoreError::BadSessionName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > 255 {
        return bad("it is longer than 255 bytes");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("it contains a slash; a session name is one folder name");
    }
    if name.starts_with('.') {
        return bad("it starts with a dot, which would hide it");
    }
    if name.chars().any(char::is_control) {
        return bad("it contains a control character");
    }
    // Invisible characters make two names look alike: "Solo " and "Solo",
    // or a bidi override that shows one name spelled as another.
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return bad("it starts or ends with a space; remove it");
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.general_category() == GeneralCategory::Format)
    {
        return bad(&format!(
            "it contains the invisible format character U+{:04X} (a bidi override, a zero-width space or the like); type the name again",
            u32::from(c)
        ));
    }
    Ok(())
}
