//! Show packages: a session, a page, a tab, a clip list or clip metadata in
//! one tar file a user can mail or copy to a stick, and importing one.
//!
//! A package is a plain (uncompressed) tar of, in this order:
//! `cuebox-package.json` (the [`PackageManifest`]: version, mode, where it
//! came from, every media file with its hash and size, what it needs),
//! `show.json` (a show holding what was packed, in the session format, so
//! older formats migrate as sessions do) and `media/<hash>` for each media
//! file included — named by content, so no name in an archive ever becomes
//! a path on disk.
//!
//! Reading refuses anything else before a byte is placed: another entry
//! name (path traversal), links, devices or sparse entries, entries larger
//! than declared or the limits, a manifest over [`MAX_MANIFEST_BYTES`],
//! media missing, repeated or whose bytes do not hash to their name, a
//! newer package version. Media are staged in a temporary folder inside
//! the media folder (removed whatever happens) and only moved into place
//! once the whole package has been read and checked.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use cuebox_engine::show::{
    Button, Clip, ClipId, ContentHash, DeviceMap, GridPos, Group, LoadError, LogicalChannel,
    MediaPath, NewClip, PageNo, Placement, Show, TabIndex,
};
use serde::{Deserialize, Serialize};

use crate::media::{hash_file, RESERVE_BYTES};

/// The package format this build writes; it reads this and every older one.
pub const PACKAGE_VERSION: u32 = 1;

/// The package manifest's entry name.
pub const MANIFEST: &str = "cuebox-package.json";

/// The packed show's entry name.
pub const SHOW: &str = "show.json";

/// The largest manifest or show entry read (a package of tens of
/// thousands of clips stays far below).
pub const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// What a package holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The whole session with its media.
    Full,
    /// Clip settings and metadata only, applied to the clips of the same
    /// media in another session; no media.
    Metadata,
    /// One tab of one page.
    Tab,
    /// One page.
    Page,
    /// A list of clips, in order.
    Clips,
}

/// What to pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// The whole session.
    Full,
    /// The settings of these clips (all when empty).
    Metadata(Vec<ClipId>),
    /// One tab.
    Tab(PageNo, TabIndex),
    /// One page.
    Page(PageNo),
    /// These clips, in this order.
    Clips(Vec<ClipId>),
}

impl Selection {
    /// The selection `mode` names, with `what` after it as a user writes
    /// them (`tab 1.3`, `clips c3,c7`, `metadata`, `full`), for hostctl
    /// and the box's API alike.
    pub fn parse(mode: &str, what: Option<&str>) -> Result<Selection, PackageError> {
        let bad = |m: String| Err(PackageError::Selection(m));
        Ok(match (mode, what) {
            ("full", None) => Selection::Full,
            ("metadata", what) => Selection::Metadata(clip_ids(what.unwrap_or(""))?),
            ("tab", Some(w)) => match parse_place(w)? {
                (p, Some(t)) => Selection::Tab(p, t),
                (_, None) => return bad("--mode tab P.T names a page and a tab, like 1.3".into()),
            },
            ("page", Some(w)) => Selection::Page(parse_place(w)?.0),
            ("clips", Some(w)) => Selection::Clips(clip_ids(w)?),
            ("full", Some(_)) => return bad("--mode full takes nothing after it".into()),
            ("tab" | "page" | "clips", None) => {
                return bad(format!(
                    "--mode {mode} needs what to pack: tab P.T, page P, clips IDS"
                ))
            }
            (other, _) => {
                return bad(format!(
                    "unknown mode {other:?}: full, metadata, tab P.T, page P or clips IDS"
                ))
            }
        })
    }

    /// Its mode.
    pub fn mode(&self) -> Mode {
        match self {
            Selection::Full => Mode::Full,
            Selection::Metadata(_) => Mode::Metadata,
            Selection::Tab(..) => Mode::Tab,
            Selection::Page(_) => Mode::Page,
            Selection::Clips(_) => Mode::Clips,
        }
    }
}

/// Comma-separated clip ids, in order.
fn clip_ids(list: &str) -> Result<Vec<ClipId>, PackageError> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|id| {
            id.trim().parse().map_err(|e| {
                PackageError::Selection(format!(
                    "{id:?} is not a clip id ({e}); hostctl session show lists them"
                ))
            })
        })
        .collect()
}

/// `P` or `P.T` (a page, or a page and a tab), checked.
pub fn parse_place(text: &str) -> Result<(PageNo, Option<TabIndex>), PackageError> {
    let (page, tab) = match text.split_once('.') {
        Some((p, t)) => (p, Some(t)),
        None => (text, None),
    };
    let page = page.parse().ok().and_then(PageNo::new).ok_or_else(|| {
        PackageError::Selection(format!(
            "{text:?}: a page number from 1 (P) or a page and tab (P.T), like 1.3"
        ))
    })?;
    let tab = match tab {
        None => None,
        Some(t) => Some(
            t.parse()
                .ok()
                .and_then(TabIndex::from_number)
                .ok_or_else(|| {
                    PackageError::Selection(format!(
                        "{text:?}: tabs are numbered 1 to {} after the dot",
                        TabIndex::COUNT
                    ))
                })?,
        ),
    };
    Ok((page, tab))
}

/// Where an export goes by default: `exports/<UTC date>/<session>-<tag>.tar`,
/// numbered if taken (`tag` is the mode as typed: `tab-1_3`).
pub fn export_path(exports: &Path, session: &str, tag: &str) -> PathBuf {
    let date = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let dir = exports.join(date);
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| match c.is_alphanumeric() || c == '-' || c == '_' {
                true => c,
                false => '_',
            })
            .collect()
    };
    let stem = format!("{}-{}", safe(session), safe(tag));
    (1u32..)
        .map(|n| match n {
            1 => dir.join(format!("{stem}.tar")),
            n => dir.join(format!("{stem}-{n}.tar")),
        })
        .find(|f| !f.exists())
        .expect("names run out only after four billion exports in a day")
}

/// One media file a package refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedMedia {
    /// Its content hash (its entry is `media/<hex>`).
    pub hash: ContentHash,
    /// Its path in the source's media folder (the name it gets on import).
    pub path: MediaPath,
    /// Its size in bytes.
    pub size: u64,
    /// Whether its bytes are in the package.
    pub included: bool,
}

/// What the packed clips need of the box that plays them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needs {
    /// Clips.
    pub clips: usize,
    /// Voices if every clip plays at once.
    pub voices: usize,
    /// The groups the clips play in.
    pub groups: Vec<Group>,
    /// Bytes of media.
    pub media_bytes: u64,
}

/// The package's table of contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageManifest {
    /// The package format ([`PACKAGE_VERSION`] when written by this build).
    pub package_version: u32,
    /// What it holds.
    pub mode: Mode,
    /// The page packed (tab and page modes).
    pub page: Option<PageNo>,
    /// The tab packed (tab mode), numbered from 1.
    pub tab: Option<usize>,
    /// When it was written.
    pub created: jiff::Timestamp,
    /// What wrote it.
    pub created_by: String,
    /// The session it came from: its name.
    pub source_name: String,
    /// The session it came from: its id.
    pub source_id: String,
    /// Every media file the packed clips use.
    pub media: Vec<PackedMedia>,
    /// What the clips need.
    pub needs: Needs,
    /// The device map of the box it was exported from (how that box played
    /// the show's logical channels), so an import onto a box with another
    /// interface can say what moved, folded or is missing. Older packages
    /// and host exports have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_map: Option<DeviceMap>,
}

/// Why a package could not be written or read. Nothing is left behind.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Reading or writing failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The selection names something the show does not have.
    #[error("{0}")]
    Selection(String),
    /// A clip's media file is not as the show recorded it.
    #[error("{file}: {problem}; run `hostctl media find` first, or export with --no-media")]
    Media {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The package was written by a newer cuebox.
    #[error("the package has format version {found}; this cuebox reads versions up to {known}: update cuebox to import it")]
    Newer {
        /// Its version.
        found: u32,
        /// The newest known.
        known: u32,
    },
    /// The package is damaged or hostile; nothing was written.
    #[error("refused: {0}; nothing was written")]
    Refused(String),
    /// The packed show does not load.
    #[error("refused: the packed show does not load: {0}; nothing was written")]
    Show(#[from] LoadError),
    /// Too little space for the media.
    #[error("the media folder {folder} has {free} bytes free; the package's media need {needed} bytes plus a {RESERVE_BYTES}-byte reserve")]
    NoSpace {
        /// The media folder.
        folder: PathBuf,
        /// Bytes free.
        free: u64,
        /// Bytes needed.
        needed: u64,
    },
    /// The merge cannot be done under the chosen policy.
    #[error("{0}")]
    Conflict(String),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PackageError + 'a {
    move |source| PackageError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

fn refused(why: impl Into<String>) -> PackageError {
    PackageError::Refused(why.into())
}

/// The show holding only what `selection` picks of `show`.
pub fn select(show: &Show, selection: &Selection) -> Result<Show, PackageError> {
    let mut packed = show.clone();
    let keep_clips = |packed: &mut Show, ids: &[ClipId]| -> Result<(), PackageError> {
        for id in ids {
            if show.clip(id).is_none() {
                return Err(PackageError::Selection(format!(
                    "no clip {id} in the session; hostctl session show lists them"
                )));
            }
        }
        let by_id: HashMap<&ClipId, &Clip> = show.clips.iter().map(|c| (&c.id, c)).collect();
        packed.clips = ids.iter().map(|id| by_id[id].clone()).collect();
        Ok(())
    };
    let page_of = |page: PageNo| {
        show.pages.get(page.index()).cloned().ok_or_else(|| {
            PackageError::Selection(format!(
                "the session has {} page(s), not page {page}",
                show.pages.len()
            ))
        })
    };
    match selection {
        Selection::Full => {}
        Selection::Metadata(ids) | Selection::Clips(ids) => {
            let ids = if ids.is_empty() {
                show.clips.iter().map(|c| c.id.clone()).collect()
            } else {
                ids.clone()
            };
            keep_clips(&mut packed, &ids)?;
            packed.pages.clear();
        }
        Selection::Page(page) => {
            packed.pages = vec![page_of(*page)?];
        }
        Selection::Tab(page, tab) => {
            let mut p = page_of(*page)?;
            for (i, t) in p.tabs.iter_mut().enumerate() {
                if i != tab.index() {
                    t.grid.buttons.clear();
                }
            }
            packed.pages = vec![p];
        }
    }
    if matches!(selection, Selection::Page(_) | Selection::Tab(..)) {
        let on: Vec<ClipId> = packed
            .pages
            .iter()
            .flat_map(|p| p.tabs.iter())
            .flat_map(|t| t.grid.buttons.iter().map(|b| b.clip.clone()))
            .collect();
        packed.clips.retain(|c| on.contains(&c.id));
    }
    Ok(packed)
}

/// What [`export`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The package file.
    pub file: PathBuf,
    /// Its manifest.
    pub manifest: PackageManifest,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Writes the package of `selection` of `show` (media under `media_root`)
/// to `out`, atomically: the file appears complete or not at all. Every
/// media file is hashed as it is packed; one not matching the show refuses
/// the export. `progress` is called with media bytes packed.
pub fn export(
    show: &Show,
    media_root: &Path,
    selection: &Selection,
    with_media: bool,
    device_map: Option<&DeviceMap>,
    out: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Exported, PackageError> {
    let packed = select(show, selection)?;
    let mode = selection.mode();
    let include = with_media && mode != Mode::Metadata;
    let mut media: Vec<PackedMedia> = Vec::new();
    for clip in &packed.clips {
        if media.iter().any(|m| m.hash == clip.audio.hash) {
            continue;
        }
        let file = media_root.join(clip.audio.path.as_path());
        let size = match std::fs::metadata(&file) {
            Ok(m) => m.len(),
            // Media left out need not be there.
            Err(_) if !include => 0,
            Err(e) => {
                return Err(PackageError::Media {
                    file,
                    problem: format!("cannot be read: {e}"),
                })
            }
        };
        media.push(PackedMedia {
            hash: clip.audio.hash,
            path: clip.audio.path.clone(),
            size,
            included: include,
        });
    }
    let (page, tab) = match selection {
        Selection::Tab(p, t) => (Some(*p), Some(t.number())),
        Selection::Page(p) => (Some(*p), None),
        _ => (None, None),
    };
    let manifest = PackageManifest {
        package_version: PACKAGE_VERSION,
        mode,
        page,
        tab,
        created: jiff::Timestamp::now(),
        created_by: format!("cuebox {}", env!("CARGO_PKG_VERSION")),
        source_name: show.session.name.clone(),
        source_id: show.session.id.to_string(),
        needs: needs(&packed, &media),
        media,
        device_map: device_map.cloned(),
    };
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    let mut file = atomic_write_file::AtomicWriteFile::open(out).map_err(io_err("create", out))?;
    {
        let mut tar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, &mut *file));
        let json = serde_json::to_vec_pretty(&manifest).expect("a manifest always serialises");
        append(&mut tar, MANIFEST, json.len() as u64, &json[..]).map_err(io_err("write", out))?;
        let show_json = packed.to_json();
        append(&mut tar, SHOW, show_json.len() as u64, &show_json[..])
            .map_err(io_err("write", out))?;
        for m in manifest.media.iter().filter(|m| m.included) {
            let path = media_root.join(m.path.as_path());
            let src = File::open(&path).map_err(io_err("read", &path))?;
            let mut hasher = blake3::Hasher::new();
            let reader = crate::media::Tap {
                inner: src.take(m.size),
                tap: |bytes: &[u8]| {
                    hasher.update(bytes);
                    progress(bytes.len() as u64);
                    Ok(())
                },
            };
            append(&mut tar, &entry_name(&m.hash), m.size, reader)
                .map_err(io_err("pack", &path))?;
            let found = ContentHash::from_bytes(*hasher.finalize().as_bytes());
            if found != m.hash {
                return Err(PackageError::Media {
                    file: path,
                    problem: format!(
                        "changed since it was added (hash {found}, expected {})",
                        m.hash
                    ),
                });
            }
        }
        tar.into_inner()
            .and_then(|mut w| w.flush())
            .map_err(io_err("write", out))?;
    }
    file.commit().map_err(io_err("save", out))?;
    let bytes = std::fs::metadata(out).map_err(io_err("read", out))?.len();
    Ok(Exported {
        file: out.to_owned(),
        manifest,
        bytes,
    })
}

/// A regular-file entry of `size` bytes read from `data`.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    data: impl Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    tar.append_data(&mut header, name, data)
}

/// `media/<64 hex digits>`.
fn entry_name(hash: &ContentHash) -> String {
    let text = hash.to_string();
    format!("media/{}", text.trim_start_matches("blake3:"))
}

fn needs(show: &Show, media: &[PackedMedia]) -> Needs {
    let groups: BTreeSet<Group> = show.clips.iter().map(|c| c.group).collect();
    Needs {
        clips: show.clips.len(),
        voices: show.clips.len(),
        groups: groups.into_iter().collect(),
        media_bytes: media.iter().map(|m| m.size).sum(),
    }
}

/// A package read and checked, its media staged (or only verified, for a
/// dry run).
#[derive(Debug)]
pub struct Unpacked {
    /// Its manifest.
    pub manifest: PackageManifest,
    /// The show it holds.
    pub show: Show,
    /// Where the media were staged, by hash (empty for a dry run).
    staged: HashMap<ContentHash, PathBuf>,
    /// The staging folder, removed when this is dropped.
    _stage: Option<tempfile::TempDir>,
}

/// Reads and checks the package `file`. With `media_root`, its media are
/// staged in a temporary folder there (same filesystem: placing them is a
/// rename); without, they are only verified (a dry run).
pub fn open(file: &Path, media_root: Option<&Path>) -> Result<Unpacked, PackageError> {
    let f = File::open(file).map_err(io_err("open", file))?;
    let package_len = f.metadata().map_err(io_err("read", file))?.len();
    let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, f));
    let mut entries = archive.entries().map_err(io_err("read", file))?;
    let mut next = |what: &str| -> Result<tar::Entry<'_, _>, PackageError> {
        match entries.next() {
            None => Err(refused(format!("the package ends before its {what}"))),
            Some(e) => e.map_err(|e| refused(format!("the package is damaged: {e}"))),
        }
    };
    let manifest: PackageManifest = {
        let entry = next("manifest")?;
        let bytes = small_entry(entry, MANIFEST)?;
        let version: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| refused(format!("its manifest is not JSON: {e}")))?;
        match version.get("package_version").and_then(|v| v.as_u64()) {
            Some(v) if v > u64::from(PACKAGE_VERSION) => {
                return Err(PackageError::Newer {
                    found: v as u32,
                    known: PACKAGE_VERSION,
                })
            }
            Some(_) => {}
            None => return Err(refused("its manifest has no package_version")),
        }
        serde_json::from_value(version)
            .map_err(|e| refused(format!("its manifest is malformed: {e}")))?
    };
    let show = {
        let entry = next("show")?;
        Show::load(&small_entry(entry, SHOW)?)?.show
    };
    // Every clip's media is listed; listed media are in the package only
    // when marked so, and add up to no more than the package's size.
    for clip in &show.clips {
        if !manifest.media.iter().any(|m| m.hash == clip.audio.hash) {
            return Err(refused(format!(
                "clip {} uses media {} that the manifest does not list",
                clip.id, clip.audio.hash
            )));
        }
    }
    let expected: HashMap<String, &PackedMedia> = manifest
        .media
        .iter()
        .filter(|m| m.included)
        .map(|m| (entry_name(&m.hash), m))
        .collect();
    let declared: u64 = expected.values().map(|m| m.size).sum();
    if declared > package_len {
        return Err(refused(format!(
            "its manifest declares {declared} bytes of media in a {package_len}-byte file"
        )));
    }
    let stage = match media_root {
        Some(root) => {
            let free = crate::media::free_bytes(root)
                .map_err(|e| io_err("measure free space of", root)(e.into()))?;
            if free < declared.saturating_add(RESERVE_BYTES) {
                return Err(PackageError::NoSpace {
                    folder: root.to_owned(),
                    free,
                    needed: declared,
                });
            }
            Some(
                tempfile::Builder::new()
                    .prefix(".cuebox-import-")
                    .tempdir_in(root)
                    .map_err(io_err("create a staging folder in", root))?,
            )
        }
        None => None,
    };
    let mut staged = HashMap::new();
    let mut seen = BTreeSet::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| refused(format!("the package is damaged: {e}")))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        check_regular(&entry, &name)?;
        let Some(media) = expected.get(&name) else {
            return Err(refused(format!(
                "it holds an entry {name:?} its manifest does not list (only {MANIFEST}, {SHOW} and media/<hash> belong in a package)"
            )));
        };
        if !seen.insert(name.clone()) {
            return Err(refused(format!("it holds {name} twice")));
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| refused(format!("{name}: {e}")))?;
        if size != media.size {
            return Err(refused(format!(
                "{name} is {size} bytes; its manifest says {}",
                media.size
            )));
        }
        let mut hasher = blake3::Hasher::new();
        let found = match &stage {
            Some(dir) => {
                let path = dir.path().join(name.trim_start_matches("media/"));
                let mut out = File::create(&path).map_err(io_err("stage", &path))?;
                copy_hashing(&mut entry, &mut out, &mut hasher).map_err(io_err("stage", &path))?;
                staged.insert(media.hash, path);
                ContentHash::from_bytes(*hasher.finalize().as_bytes())
            }
            None => {
                copy_hashing(&mut entry, &mut io::sink(), &mut hasher)
                    .map_err(|e| refused(format!("{name} cannot be read: {e}")))?;
                ContentHash::from_bytes(*hasher.finalize().as_bytes())
            }
        };
        if found != media.hash {
            return Err(refused(format!(
                "{name} does not hold the bytes its name promises (hash {found})"
            )));
        }
    }
    if let Some(missing) = expected.keys().find(|k| !seen.contains(*k)) {
        let path = &expected[missing].path;
        return Err(refused(format!(
            "the media {path} ({missing}) is missing from it"
        )));
    }
    Ok(Unpacked {
        manifest,
        show,
        staged,
        _stage: stage,
    })
}

/// Refuses links, folders, devices and sparse or other special entries.
fn check_regular<R: Read>(entry: &tar::Entry<'_, R>, name: &str) -> Result<(), PackageError> {
    let kind = entry.header().entry_type();
    if kind != tar::EntryType::Regular {
        return Err(refused(format!(
            "{name:?} is a {kind:?} entry; a package holds regular files only (no links)"
        )));
    }
    Ok(())
}

/// The bytes of the entry `name`, at most [`MAX_MANIFEST_BYTES`].
fn small_entry<R: Read>(mut entry: tar::Entry<'_, R>, name: &str) -> Result<Vec<u8>, PackageError> {
    let found = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    if found != name {
        return Err(refused(format!(
            "its entry {found:?} stands where {name} belongs"
        )));
    }
    check_regular(&entry, name)?;
    let size = entry
        .header()
        .size()
        .map_err(|e| refused(format!("{name}: {e}")))?;
    if size > MAX_MANIFEST_BYTES {
        return Err(refused(format!(
            "its {name} is {size} bytes; at most {MAX_MANIFEST_BYTES} are read"
        )));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    entry
        .by_ref()
        .take(MAX_MANIFEST_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| refused(format!("its {name} cannot be read: {e}")))?;
    Ok(bytes)
}

fn copy_hashing(
    from: &mut impl Read,
    to: &mut impl Write,
    hasher: &mut blake3::Hasher,
) -> io::Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
}

/// How a conflict is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// What the session has stays; the package's item is skipped.
    Keep,
    /// The package's item takes the place of the session's.
    Replace,
    /// Both stay: the package's item goes to the next free button.
    Rename,
}

/// Where each media file goes in the target media folder.
#[derive(Debug, Clone, Serialize)]
pub struct MediaPlan {
    /// `(hash, path in the media folder, whether a file of those bytes is
    /// already there)`.
    pub files: Vec<(ContentHash, MediaPath, bool)>,
    /// Bytes to be placed.
    pub new_bytes: u64,
}

impl MediaPlan {
    /// The path a hash gets.
    fn path(&self, hash: &ContentHash) -> Option<&MediaPath> {
        self.files.iter().find(|f| &f.0 == hash).map(|f| &f.1)
    }
}

/// Decides where each of the package's media goes under `media_root`: its
/// own name when free or holding the same bytes, else a numbered one. A
/// file never replaces another (another clip may use it).
pub fn plan_media(unpacked: &Unpacked, media_root: &Path) -> Result<MediaPlan, PackageError> {
    let mut files: Vec<(ContentHash, MediaPath, bool)> = Vec::new();
    let mut new_bytes = 0;
    for m in &unpacked.manifest.media {
        let name = m.path.as_str().to_owned();
        let mut n = 1u32;
        loop {
            let candidate = numbered(&name, n);
            let taken_here = files.iter().any(|f| f.1.as_str() == candidate);
            let on_disk = media_root.join(&candidate);
            let same = on_disk.is_file()
                && hash_file(&on_disk, &mut |_| ()).map_err(io_err("read", &on_disk))? == m.hash;
            if same || (!taken_here && !on_disk.exists()) {
                let path = MediaPath::try_from(candidate)
                    .map_err(|e| refused(format!("media name {name:?}: {e}")))?;
                if !same && m.included {
                    new_bytes += m.size;
                }
                files.push((m.hash, path, same));
                break;
            }
            n += 1;
        }
    }
    Ok(MediaPlan { files, new_bytes })
}

/// `name` for n = 1, else `stem-n.ext` (in the same folder).
fn numbered(name: &str, n: u32) -> String {
    if n == 1 {
        return name.to_owned();
    }
    let path = Path::new(name);
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let file = match path.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => format!("{}/{file}", dir.display()),
        None => file,
    }
}

impl Unpacked {
    /// Moves the staged media into place as `plan` says (never over an
    /// existing file) and puts them on disk; the manifest naming them is
    /// the caller's to save after.
    pub fn place(&self, plan: &MediaPlan, media_root: &Path) -> Result<(), PackageError> {
        for (hash, path, present) in &plan.files {
            let Some(staged) = self.staged.get(hash).filter(|_| !present) else {
                continue;
            };
            let dest = media_root.join(path.as_path());
            if let Some(dir) = dest.parent() {
                std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
            }
            // A hard link fails rather than replace a file that appeared meanwhile.
            std::fs::hard_link(staged, &dest).map_err(io_err("place", &dest))?;
        }
        let dir = File::open(media_root).map_err(io_err("open", media_root))?;
        nix::unistd::syncfs(&dir).map_err(|e| io_err("flush", media_root)(e.into()))
    }
}

impl Unpacked {
    /// The staged media files, by hash (none for a dry run): a box also
    /// links each into its object store.
    pub fn staged_media(&self) -> impl Iterator<Item = (&ContentHash, &Path)> {
        self.staged.iter().map(|(h, p)| (h, p.as_path()))
    }

    /// Removes what [`Unpacked::place`] placed, when what was to name the
    /// media was refused after all: the files `plan` marks as new whose
    /// bytes are still the package's. Best effort; files another writer
    /// replaced meanwhile are left.
    pub fn unplace(&self, plan: &MediaPlan, media_root: &Path) {
        for (hash, path, present) in &plan.files {
            let dest = media_root.join(path.as_path());
            let placed = !present
                && self
                    .staged
                    .get(hash)
                    .is_some_and(|staged| same_file(staged, &dest));
            if placed {
                let _ = std::fs::remove_file(&dest);
            }
        }
        if let Ok(dir) = File::open(media_root) {
            let _ = nix::unistd::syncfs(&dir);
        }
    }
}

/// Whether two paths are links of one file (a staged file and its placed link).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// What a full package brings as a new session: every clip added.
pub fn full_report(unpacked: &Unpacked, plan: &MediaPlan, show: &Show) -> ImportReport {
    ImportReport {
        added: show
            .clips
            .iter()
            .map(|c| format!("{} \"{}\"", c.id, c.name))
            .collect(),
        media_new: plan.files.iter().filter(|f| !f.2).count(),
        media_present: plan.files.iter().filter(|f| f.2).count(),
        media_bytes: plan.new_bytes,
        needs: unpacked.manifest.needs.clone(),
        ..ImportReport::default()
    }
}

/// What an import adds, replaces and finds in conflict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Items added (`c12 "Thunder" at 1.2 r1c3`).
    pub added: Vec<String>,
    /// Items that replaced the session's.
    pub replaced: Vec<String>,
    /// Conflicts and how the policy settled each.
    pub conflicts: Vec<String>,
    /// Media files placed, and already there.
    pub media_new: usize,
    /// Media files already in the media folder.
    pub media_present: usize,
    /// Bytes of media placed.
    pub media_bytes: u64,
    /// What the imported clips need.
    pub needs: Needs,
}

/// Merges the package into `target` under `policy`; page and tab packages
/// go to page `to` (default: the page they came from, added if the session
/// has fewer pages), clip lists to the free buttons of `to_tab` (default
/// page 1 tab 1); metadata packages update the clips playing the same
/// media. `target` is changed only when this returns `Ok`.
pub fn merge(
    target: &mut Show,
    unpacked: &Unpacked,
    media: &MediaPlan,
    policy: Policy,
    to: Option<(PageNo, TabIndex)>,
) -> Result<ImportReport, PackageError> {
    let m = &unpacked.manifest;
    let package = &unpacked.show;
    let mut show = target.clone();
    let mut report = ImportReport {
        media_new: media.files.iter().filter(|f| !f.2).count(),
        media_present: media.files.iter().filter(|f| f.2).count(),
        media_bytes: media.new_bytes,
        needs: m.needs.clone(),
        ..ImportReport::default()
    };
    let audio_of = |clip: &Clip| {
        let mut audio = clip.audio.clone();
        if let Some(path) = media.path(&audio.hash) {
            audio.path = path.clone();
        }
        audio
    };
    match m.mode {
        Mode::Full => {
            return Err(PackageError::Conflict(
                "a full package imports into a new session folder, not into a session; to merge, export a page, a tab or clips".into(),
            ))
        }
        Mode::Metadata => {
            if policy == Policy::Rename {
                return Err(PackageError::Conflict(
                    "a metadata package updates clips in place: use --policy keep or replace"
                        .into(),
                ));
            }
            for src in &package.clips {
                let Some(clip) = show.clips.iter_mut().find(|c| c.audio.hash == src.audio.hash) else {
                    report.conflicts.push(format!(
                        "{} \"{}\": no clip plays its media here; skipped",
                        src.id, src.name
                    ));
                    continue;
                };
                if policy == Policy::Keep {
                    report.conflicts.push(format!("{} \"{}\": kept as it is", clip.id, clip.name));
                    continue;
                }
                clip.name = src.name.clone();
                clip.group = src.group;
                clip.processing = src.processing.clone();
                clip.audio.metadata = src.audio.metadata.clone();
                clip.timecode_trigger = src.timecode_trigger;
                clip.timecode_chase = src.timecode_chase;
                report.replaced.push(format!("{} \"{}\": settings from {}", clip.id, clip.name, src.id));
            }
        }
        Mode::Clips => {
            let (page, tab) = to.unwrap_or((PageNo::FIRST, TabIndex::from_number(1).expect("tab 1")));
            for src in &package.clips {
                let duplicate = show
                    .clips
                    .iter()
                    .position(|c| c.audio.hash == src.audio.hash && c.name == src.name);
                match (duplicate, policy) {
                    (Some(i), Policy::Keep) => {
                        report.conflicts.push(format!(
                            "{} \"{}\" is already here as {}: kept",
                            src.id, src.name, show.clips[i].id
                        ));
                    }
                    (Some(i), Policy::Replace) => {
                        let clip = &mut show.clips[i];
                        clip.processing = src.processing.clone();
                        clip.group = src.group;
                        report.replaced.push(format!("{} \"{}\"", clip.id, clip.name));
                    }
                    _ => {
                        let pos = free_button(&show, page, tab).ok_or_else(|| {
                            PackageError::Conflict(format!(
                                "page {page} tab {} has no free button for {} \"{}\"; choose another with --to or enlarge the grid",
                                tab.number(),
                                src.id,
                                src.name
                            ))
                        })?;
                        let at = Placement { page, tab, pos };
                        let id = add(&mut show, src, audio_of(src), at, None)?;
                        report.added.push(format!("{id} \"{}\" at {page}.{} {pos}", src.name, tab.number()));
                    }
                }
            }
        }
        Mode::Page | Mode::Tab => {
            let page = to.map(|t| t.0).or(m.page).unwrap_or(PageNo::FIRST);
            let from = &package.pages[0];
            while show.pages.len() < page.index() + 1 {
                show.add_page(&from.name, None)
                    .map_err(|e| PackageError::Conflict(e.to_string()))?;
            }
            for (ti, src_tab) in from.tabs.iter().enumerate() {
                if src_tab.grid.buttons.is_empty() {
                    continue;
                }
                let tab = match (m.mode, to) {
                    (Mode::Tab, Some((_, t))) => t,
                    _ => TabIndex::from_number(ti + 1).expect("a page has 8 tabs"),
                };
                if policy == Policy::Replace {
                    let dest = &mut show.pages[page.index()].tabs[tab.index()];
                    dest.name = src_tab.name.clone();
                    dest.colour = src_tab.colour;
                }
                // Buttons whose place is free first, so a renamed one never
                // takes the place of a later one that had it free.
                let mut buttons: Vec<&Button> = src_tab.grid.buttons.iter().collect();
                let dest_grid = &show.pages[page.index()].tabs[tab.index()].grid;
                buttons.sort_by_key(|b| dest_grid.button_at(b.pos()).is_some());
                for button in buttons {
                    let src = package
                        .clip(&button.clip)
                        .ok_or_else(|| refused(format!("a packed button names no packed clip {}", button.clip)))?;
                    let pos = button.pos();
                    let here = format!("{page}.{} {pos}", tab.number());
                    let occupant = show.pages[page.index()].tabs[tab.index()]
                        .grid
                        .button_at(pos)
                        .map(|b| b.clip.clone());
                    let at = match (occupant, policy) {
                        (None, _) => pos,
                        (Some(o), Policy::Keep) => {
                            report.conflicts.push(format!("{here}: {o} kept; {} \"{}\" skipped", src.id, src.name));
                            continue;
                        }
                        (Some(o), Policy::Replace) => {
                            show.remove_clip(&o).map_err(|e| PackageError::Conflict(e.to_string()))?;
                            report.replaced.push(format!("{here}: {o} replaced by \"{}\"", src.name));
                            pos
                        }
                        (Some(o), Policy::Rename) => {
                            let free = free_button(&show, page, tab).ok_or_else(|| {
                                PackageError::Conflict(format!(
                                    "{here} is taken by {o} and tab {} has no free button for \"{}\"; use --policy keep or replace",
                                    tab.number(),
                                    src.name
                                ))
                            })?;
                            report.conflicts.push(format!(
                                "{here}: taken by {o}; \"{}\" placed at {free}",
                                src.name
                            ));
                            free
                        }
                    };
                    let id = add(&mut show, src, audio_of(src), Placement { page, tab, pos: at }, Some(button))?;
                    report.added.push(format!("{id} \"{}\" at {page}.{} {at}", src.name, tab.number()));
                }
            }
        }
    }
    *target = show;
    Ok(report)
}

/// Adds a copy of `src` playing `audio` at `at`, with its processing (and
/// the packed button's label); its new id.
fn add(
    show: &mut Show,
    src: &Clip,
    audio: cuebox_engine::show::AudioRef,
    at: Placement,
    button: Option<&Button>,
) -> Result<ClipId, PackageError> {
    let id = show
        .add_clip(
            NewClip {
                name: src.name.clone(),
                group: src.group,
                audio,
            },
            at,
        )
        .map_err(|e| PackageError::Conflict(e.to_string()))?;
    let clip = show
        .clips
        .iter_mut()
        .find(|c| c.id == id)
        .expect("just added");
    clip.processing = src.processing.clone();
    clip.analysis = src.analysis.clone();
    clip.timecode_trigger = src.timecode_trigger;
    clip.timecode_chase = src.timecode_chase;
    clip.extra = src.extra.clone();
    if let Some(label) = button.and_then(|b| b.label.clone()) {
        let grid = &mut show.pages[at.page.index()].tabs[at.tab.index()].grid;
        if let Some(b) = grid.buttons.iter_mut().find(|b| b.clip == id) {
            b.label = Some(label);
        }
    }
    Ok(id)
}

/// The first free visible button of a tab, row by row.
fn free_button(show: &Show, page: PageNo, tab: TabIndex) -> Option<GridPos> {
    let dims = show.tab(page, tab).ok()?.grid.dims();
    (1..=dims.rows.get())
        .flat_map(|r| (1..=dims.cols.get()).map(move |c| (r, c)))
        .filter_map(|(r, c)| GridPos::new(r, c))
        .find(|&pos| show.check_placement(Placement { page, tab, pos }).is_ok())
}

/// The show a full package becomes in a new session folder: as packed,
/// with its media folder inside the session.
pub fn full_show(unpacked: &Unpacked, media: &MediaPlan) -> Result<Show, PackageError> {
    if unpacked.manifest.mode != Mode::Full {
        return Err(PackageError::Conflict(format!(
            "a {:?} package merges into an existing session; give the folder of one",
            unpacked.manifest.mode
        )));
    }
    let mut show = unpacked.show.clone();
    show.session.media_folder = "media".into();
    for clip in &mut show.clips {
        if let Some(path) = media.path(&clip.audio.hash) {
            clip.audio.path = path.clone();
        }
    }
    Ok(show)
}

/// Fits the busses of `show` (a full package's, about to become a session
/// on a box) to the box's device map `to`, having played through `from`
/// on the box that exported it. A logical output the box maps stays (the
/// line says when it reaches another physical output than it did there);
/// one it does not map is folded onto the box's mapped channels in turn
/// (`(n - 1) mod count`, so left and right stay left and right on a box
/// with an even count), a pair folded onto one channel becomes mono, and
/// the audition bus takes only channels no group uses (it must stay apart)
/// or stays unmapped — silent — when none is left. One line per change.
pub fn translate_outputs(show: &mut Show, from: Option<&DeviceMap>, to: &DeviceMap) -> Vec<String> {
    let mut lines = Vec::new();
    let mut mapped: Vec<LogicalChannel> = to.outputs.iter().map(|r| r.logical).collect();
    mapped.sort();
    let range = match (mapped.first(), mapped.last()) {
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "none".into(),
    };
    let mut group_channels: BTreeSet<LogicalChannel> = BTreeSet::new();
    for group in Group::ALL {
        let bus = &mut show.busses.groups.get_mut(group).bus;
        let name = format!("group {group}");
        fold(
            &name,
            &mut bus.outputs,
            &mapped,
            &range,
            from,
            to,
            &mut lines,
        );
        group_channels.extend(bus.outputs.iter().copied());
    }
    let free: Vec<LogicalChannel> = mapped
        .iter()
        .copied()
        .filter(|l| !group_channels.contains(l))
        .collect();
    let audition = &mut show.busses.audition.outputs;
    let unmapped = audition.iter().any(|l| to.output(*l).is_none());
    let shared = audition.iter().any(|l| group_channels.contains(l));
    if (unmapped || shared) && free.is_empty() {
        lines.push(format!(
            "audition: this box maps logical {range}, all taken by groups A–D; the audition bus keeps logical {} and plays nowhere here",
            list(audition)
        ));
    } else {
        let free_range = list(&free);
        fold(
            "audition",
            audition,
            &free,
            &free_range,
            from,
            to,
            &mut lines,
        );
    }
    lines
}

/// Folds one bus's outputs onto `onto` (see [`translate_outputs`]).
fn fold(
    name: &str,
    outputs: &mut Vec<LogicalChannel>,
    onto: &[LogicalChannel],
    range: &str,
    from: Option<&DeviceMap>,
    to: &DeviceMap,
    lines: &mut Vec<String>,
) {
    for l in outputs.iter_mut() {
        let was = from.and_then(|f| f.output(*l));
        if onto.contains(l) {
            let now = to.output(*l);
            if let (Some(was), Some(now)) = (was, now) {
                if was != now {
                    lines.push(format!(
                        "{name}: logical {l} played on output {was} of the exporting box, on output {now} here"
                    ));
                }
            }
            continue;
        }
        let Some(&target) = onto.get(usize::from(l.0.get() - 1) % onto.len().max(1)) else {
            lines.push(format!(
                "{name}: logical {l} is missing: this box maps no output for it; it plays nowhere"
            ));
            continue;
        };
        lines.push(format!(
            "{name}: logical {l} folded onto {target} (this box maps logical {range})"
        ));
        *l = target;
    }
    let before = outputs.len();
    let mut seen = BTreeSet::new();
    outputs.retain(|l| seen.insert(*l));
    if outputs.len() < before {
        lines.push(format!(
            "{name}: folded to {} channel(s): {}",
            outputs.len(),
            list(outputs)
        ));
    }
}

fn list(channels: &[LogicalChannel]) -> String {
    channels
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuebox_engine::show::{ChannelRoute, Extra, GridDims};

    fn ch(n: u16) -> LogicalChannel {
        LogicalChannel::new(n).unwrap()
    }

    /// A map of logical `l` on physical `p` for each pair.
    fn map(routes: &[(u16, u16)]) -> DeviceMap {
        let mut m = DeviceMap::identity("hw:0", 0);
        m.outputs = routes
            .iter()
            .map(|&(l, p)| ChannelRoute {
                logical: ch(l),
                physical: std::num::NonZeroU16::new(p).unwrap(),
                extra: Extra::new(),
            })
            .collect();
        m
    }

    fn show() -> Show {
        Show::new(
            "x",
            "media",
            GridDims::new(2, 2).unwrap(),
            jiff::Timestamp::UNIX_EPOCH,
        )
    }

    fn outputs(show: &Show) -> Vec<Vec<u16>> {
        let b = &show.busses;
        Group::ALL
            .iter()
            .map(|g| &b.groups.get(*g).bus.outputs)
            .chain([&b.audition.outputs])
            .map(|o| o.iter().map(|l| l.0.get()).collect())
            .collect()
    }

    #[test]
    fn a_ten_output_show_folds_onto_a_four_output_box_and_says_so() {
        let ten = map(&(1..=10).map(|n| (n, n)).collect::<Vec<_>>());
        let four = map(&[(1, 1), (2, 2), (3, 3), (4, 4)]);
        let mut s = show();
        let lines = translate_outputs(&mut s, Some(&ten), &four);
        // C and D fold onto A's and B's pairs, left on left; the audition
        // finds no channel apart from the groups and stays unmapped.
        assert_eq!(
            outputs(&s),
            vec![vec![1, 2], vec![3, 4], vec![1, 2], vec![3, 4], vec![9, 10]]
        );
        assert!(
            lines.contains(
                &"group C: logical 5 folded onto 1 (this box maps logical 1–4)".to_owned()
            ),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("audition:") && l.contains("plays nowhere")),
            "{lines:#?}"
        );
        assert_eq!(lines.len(), 5, "{lines:#?}");
        assert!(s.validate().is_empty(), "{:?}", s.validate());
    }

    #[test]
    fn a_box_with_room_keeps_channels_reports_moves_and_gives_the_audition_its_own() {
        // The same logical channels on other physical outputs: kept, and said.
        let exporting = map(&(1..=10).map(|n| (n, n)).collect::<Vec<_>>());
        let here = map(&[
            (1, 3),
            (2, 4),
            (3, 1),
            (4, 2),
            (5, 5),
            (6, 6),
            (7, 7),
            (8, 8),
            (11, 9),
            (12, 10),
        ]);
        let mut s = show();
        let lines = translate_outputs(&mut s, Some(&exporting), &here);
        assert!(
            lines.contains(
                &"group A: logical 1 played on output 1 of the exporting box, on output 3 here"
                    .to_owned()
            ),
            "{lines:#?}"
        );
        // The audition's 9 and 10 are not mapped here: onto the free 11 and 12.
        assert_eq!(outputs(&s)[4], vec![11, 12], "{lines:#?}");
        assert!(s.validate().is_empty(), "{:?}", s.validate());
        // The same map both sides: nothing to say, nothing changed.
        let mut s = show();
        assert!(translate_outputs(&mut s, Some(&exporting), &exporting).is_empty());
        assert_eq!(s.busses, show().busses);
    }

    #[test]
    fn one_output_folds_every_pair_to_mono_and_none_leaves_them_missing() {
        let mut s = show();
        let lines = translate_outputs(&mut s, None, &map(&[(1, 1)]));
        assert_eq!(outputs(&s)[..4], vec![vec![1]; 4][..], "{lines:#?}");
        assert!(
            lines.contains(&"group B: folded to 1 channel(s): 1".to_owned()),
            "{lines:#?}"
        );
        assert!(s.validate().is_empty(), "{:?}", s.validate());
        let mut s = show();
        let lines = translate_outputs(&mut s, None, &map(&[]));
        assert!(lines.iter().any(|l| l == "group A: logical 1 is missing: this box maps no output for it; it plays nowhere"), "{lines:#?}");
        assert_eq!(
            s.busses,
            show().busses,
            "nothing to fold onto: left as it was"
        );
    }
}
