//! Load-time verification of a session's media: every clip's file is there,
//! is a readable file, and (when asked) still has the hash it was added with.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use cuebox_engine::show::{ContentHash, Show};

/// One clip whose media is not as the show expects.
#[derive(Debug)]
pub struct MediaProblem {
    /// The clip's index in the show's clips.
    pub clip: usize,
    /// JSON path of the clip's media reference (`clips[3].audio.path`).
    pub path: String,
    /// The file on disk.
    pub file: PathBuf,
    /// What is wrong.
    pub issue: MediaIssue,
}

/// What is wrong with a media file.
#[derive(Debug)]
pub enum MediaIssue {
    /// No file at the path.
    Missing,
    /// Something other than a regular file is there.
    NotAFile,
    /// The file cannot be read.
    Unreadable(io::Error),
    /// The file's bytes changed since it was added.
    Changed {
        /// The hash the show recorded.
        expected: ContentHash,
        /// The hash of the file now.
        found: ContentHash,
    },
}

impl MediaProblem {
    /// What is wrong and what to do, without the JSON path.
    pub fn message(&self) -> String {
        let file = self.file.display();
        match &self.issue {
            MediaIssue::Missing => format!("{file} is missing; restore it or re-add the clip"),
            MediaIssue::NotAFile => format!("{file} is not a regular file"),
            MediaIssue::Unreadable(e) => format!("{file} cannot be read: {e}"),
            MediaIssue::Changed { expected, found } => format!(
                "{file} changed since it was added (hash {found}, expected {expected}); re-add the clip if the new file is intended"
            ),
        }
    }
}

impl fmt::Display for MediaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message())
    }
}

/// The total size of the media files that exist, for a progress bar.
pub fn media_bytes(show: &Show, media_root: &Path) -> u64 {
    show.clips
        .iter()
        .filter_map(|c| std::fs::metadata(media_root.join(c.audio.path.as_path())).ok())
        .map(|m| m.len())
        .sum()
}

/// Checks every clip's media file under `media_root`. With `hashes`, reads
/// every file and compares its hash, calling `progress` with bytes read.
pub fn verify_media(
    show: &Show,
    media_root: &Path,
    hashes: bool,
    progress: &mut dyn FnMut(u64),
) -> Vec<MediaProblem> {
    let mut problems = Vec::new();
    for (i, clip) in show.clips.iter().enumerate() {
        let file = media_root.join(clip.audio.path.as_path());
        let issue = match std::fs::metadata(&file) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(MediaIssue::Missing),
            Err(e) => Some(MediaIssue::Unreadable(e)),
            Ok(m) if !m.is_file() => Some(MediaIssue::NotAFile),
            Ok(_) if hashes => match hash_file(&file, progress) {
                Err(e) => Some(MediaIssue::Unreadable(e)),
                Ok(found) if found != clip.audio.hash => Some(MediaIssue::Changed {
                    expected: clip.audio.hash,
                    found,
                }),
                Ok(_) => None,
            },
            Ok(_) => None,
        };
        if let Some(issue) = issue {
            problems.push(MediaProblem {
                clip: i,
                path: format!("clips[{i}].audio.path"),
                file,
                issue,
            });
        }
    }
    problems
}

/// Hashes a file, reporting bytes read.
pub fn hash_file(path: &Path, progress: &mut dyn FnMut(u64)) -> io::Result<ContentHash> {
    ContentHash::of_reader(Tap {
        inner: File::open(path)?,
        tap: |bytes: &[u8]| {
            progress(bytes.len() as u64);
            Ok(())
        },
    })
}

/// A reader that shows every chunk it passes on to `tap` (to report progress,
/// or to copy while hashing).
pub(crate) struct Tap<R, F> {
    /// The source.
    pub inner: R,
    /// Called with each chunk read.
    pub tap: F,
}

impl<R: Read, F: FnMut(&[u8]) -> io::Result<()>> Read for Tap<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.tap)(&buf[..n])?;
        Ok(n)
    }
}
