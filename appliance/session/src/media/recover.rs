//! Finding missing media again: candidates for each clip whose file is
//! missing or changed, scored with the reasons, and relinking a clip to the
//! one chosen.
//!
//! The core is pure: [`score`] judges one candidate from the evidence
//! gathered about it, and [`relink`] points a clip at a new file keeping its
//! processing. [`find`] is the filesystem edge: it walks the places a file
//! is likely to have gone (the media folder, its sibling and renamed
//! folders, `--search` paths, other mounted media), and gathers evidence in
//! stages so that most files cost one header read: a file whose channels or
//! length cannot be the clip's is refused from its header; only a file that
//! could be the clip is hashed, fingerprinted and, if it sounds the same,
//! decoded to its end.
//!
//! A candidate is a match only when its bytes are the clip's (same hash) or
//! its audio is (same fingerprint, length and layout, and it decodes to its
//! end). A file with the clip's name and different audio is refused, never
//! offered.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use cuebox_engine::media::{probe, MediaSource, Probed};
use cuebox_engine::show::{
    AudioFormat, AudioRef, Channels, Clip, ClipId, ContentHash, MediaPath, Panning, RightsMetadata,
    Show,
};
use serde::Serialize;

use super::fingerprint::Fingerprint;
use super::verify::{verify_media, MediaIssue};

/// How sure a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The same bytes (content hash).
    Exact,
    /// The same audio in another file (re-encoded or re-wrapped): the
    /// fingerprint, layout and length agree and it decodes to its end.
    SameAudio,
    /// Could be the clip, but its audio could not be compared (no
    /// fingerprint was recorded for the clip): never chosen automatically.
    Unverified,
    /// Not the clip (the reasons say why).
    Refused,
}

impl Verdict {
    /// Whether the candidate may be relinked to as the clip's file.
    pub fn is_match(self) -> bool {
        matches!(self, Verdict::Exact | Verdict::SameAudio)
    }

    /// The name the audit trail and `--json` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Exact => "exact",
            Verdict::SameAudio => "same_audio",
            Verdict::Unverified => "unverified",
            Verdict::Refused => "refused",
        }
    }
}

/// Where a candidate was found, nearest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proximity {
    /// Inside the session's media folder (renamed or moved within it).
    MediaFolder,
    /// Beside the media folder: a sibling or renamed folder.
    Nearby,
    /// Under a path the operator gave (`--search`).
    Search,
    /// On other mounted media (`/media`, `/mnt`, `/run/media`).
    OtherMount,
}

/// What a piece of evidence is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The content hash.
    Hash,
    /// Channels, rate, bit depth, length.
    Properties,
    /// The audio fingerprint.
    Fingerprint,
    /// Tags and file names.
    Metadata,
    /// Where it was found.
    Proximity,
    /// Whether it decodes.
    Decoding,
}

/// One reason for a verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// What it is about.
    pub kind: ReasonKind,
    /// Whether it speaks for the candidate.
    pub agrees: bool,
    /// What was found.
    pub detail: String,
}

/// What the header of a candidate says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Its layout.
    pub channels: Channels,
    /// Its own sample rate.
    pub rate: u32,
    /// Its length in frames at the clip's rate.
    pub frames: u64,
}

/// Everything gathered about one candidate file; later stages are `None`
/// when an earlier one already decided.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The file.
    pub path: PathBuf,
    /// Where it was found.
    pub proximity: Proximity,
    /// Its header, or why it cannot be read.
    pub header: Result<Header, String>,
    /// Its content hash.
    pub hash: Option<ContentHash>,
    /// Its fingerprint, or why there is none.
    pub fingerprint: Option<Result<Fingerprint, String>>,
    /// The full probe (decoded to its end), or why it failed.
    pub probed: Option<Result<Probed, String>>,
}

/// The clip a candidate is judged against.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The clip's audio as recorded.
    pub audio: &'a AudioRef,
    /// Its fingerprint, if one was recorded while the file was there.
    pub fingerprint: Option<&'a Fingerprint>,
}

/// A scored candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The file.
    pub path: PathBuf,
    /// How sure.
    pub verdict: Verdict,
    /// Orders candidates of one verdict (higher first).
    pub score: u32,
    /// Where it was found.
    pub proximity: Proximity,
    /// Its content hash, when read.
    pub hash: Option<ContentHash>,
    /// Its format, when probed.
    pub format: Option<AudioFormat>,
    /// The reasons, strongest first.
    pub reasons: Vec<Reason>,
}

/// Length difference tolerated between a clip and a re-encoded file, in
/// frames at the clip's rate: a tenth of a second, or 0.2 % of the clip.
fn length_tolerance(frames: u64, rate: u32) -> u64 {
    (frames / 500).max(u64::from(rate) / 10)
}

/// Whether a header could be the clip's: the same length (within the
/// re-encoding tolerance). Layout and rate may differ (reported at relink).
pub fn header_fits(wanted: &AudioRef, header: &Header) -> Result<(), String> {
    let f = &wanted.format;
    let tolerance = length_tolerance(f.frames.0, f.sample_rate);
    let (a, b) = (header.frames, f.frames.0);
    if a.abs_diff(b) > tolerance {
        return Err(format!(
            "its length is {:.3} s, the clip's {:.3} s",
            a as f64 / f64::from(f.sample_rate),
            b as f64 / f64::from(f.sample_rate)
        ));
    }
    Ok(())
}

/// How alike two names are: the same file name, the same stem, or neither.
fn name_score(wanted: &MediaPath, found: &Path) -> (u32, Option<String>) {
    let wanted = Path::new(wanted.as_str());
    let same = |a: Option<&std::ffi::OsStr>, b: Option<&std::ffi::OsStr>| {
        a.zip(b).is_some_and(|(a, b)| {
            a.to_string_lossy().to_lowercase() == b.to_string_lossy().to_lowercase()
        })
    };
    if same(wanted.file_name(), found.file_name()) {
        (30, Some("the same file name".into()))
    } else if same(wanted.file_stem(), found.file_stem()) {
        (20, Some("the same name, another extension".into()))
    } else {
        (0, None)
    }
}

/// Judges one candidate: the pure core of recovery.
pub fn score(wanted: Wanted<'_>, ev: &Evidence) -> Candidate {
    let mut reasons = Vec::new();
    let mut reason = |kind, agrees, detail: String| {
        reasons.push(Reason {
            kind,
            agrees,
            detail,
        })
    };
    let (name_points, name) = name_score(&wanted.audio.path, &ev.path);
    let proximity_points = match ev.proximity {
        Proximity::MediaFolder => 20,
        Proximity::Nearby => 15,
        Proximity::Search => 10,
        Proximity::OtherMount => 5,
    };
    let mut points = name_points + proximity_points;
    let verdict = 'verdict: {
        if ev.hash == Some(wanted.audio.hash) {
            reason(
                ReasonKind::Hash,
                true,
                "the same bytes (content hash)".into(),
            );
            break 'verdict Verdict::Exact;
        }
        let header = match &ev.header {
            Err(why) => {
                reason(ReasonKind::Decoding, false, why.clone());
                break 'verdict Verdict::Refused;
            }
            Ok(h) => h,
        };
        if let Err(why) = header_fits(wanted.audio, header) {
            reason(ReasonKind::Properties, false, why);
            break 'verdict Verdict::Refused;
        }
        if ev.hash.is_some() {
            reason(
                ReasonKind::Hash,
                false,
                "different bytes: not the same file".into(),
            );
        }
        let f = &wanted.audio.format;
        let layout = header.channels == f.channels;
        // A file in the clip's own format is the likelier original.
        points += 10 * u32::from(layout) + 5 * u32::from(header.rate == f.sample_rate);
        reason(
            ReasonKind::Properties,
            layout && header.rate == f.sample_rate,
            format!(
                "{} at {} Hz, {:.3} s (the clip: {} at {} Hz)",
                layout_name(header.channels),
                header.rate,
                header.frames as f64 / f64::from(f.sample_rate),
                layout_name(f.channels),
                f.sample_rate
            ),
        );
        let found_fp = match (&ev.fingerprint, wanted.fingerprint) {
            (_, None) => {
                reason(
                    ReasonKind::Fingerprint,
                    false,
                    "no fingerprint was recorded for the clip, so its audio cannot be compared"
                        .into(),
                );
                break 'verdict Verdict::Unverified;
            }
            (None, Some(_)) => break 'verdict Verdict::Unverified,
            (Some(Err(why)), Some(_)) => {
                reason(ReasonKind::Decoding, false, why.clone());
                break 'verdict Verdict::Refused;
            }
            (Some(Ok(found)), Some(want)) => (found, want),
        };
        let errors = found_fp.0.bit_errors(found_fp.1);
        match errors {
            Some(e) if e <= super::fingerprint::SAME_AUDIO_MAX_BIT_ERRORS => {
                points += ((1.0 - e) * 100.0) as u32;
                reason(
                    ReasonKind::Fingerprint,
                    true,
                    format!(
                        "the same audio ({:.1} % of fingerprint bits differ)",
                        e * 100.0
                    ),
                );
            }
            Some(e) => {
                reason(
                    ReasonKind::Fingerprint,
                    false,
                    format!(
                        "different audio ({:.0} % of fingerprint bits differ)",
                        e * 100.0
                    ),
                );
                break 'verdict Verdict::Refused;
            }
            None => {
                reason(
                    ReasonKind::Fingerprint,
                    false,
                    "too short to compare by fingerprint".into(),
                );
                break 'verdict Verdict::Unverified;
            }
        }
        match &ev.probed {
            None => Verdict::Unverified,
            Some(Err(why)) => {
                reason(ReasonKind::Decoding, false, why.clone());
                Verdict::Refused
            }
            Some(Ok(p)) => {
                let rate = f64::from(p.format.sample_rate);
                let at_clip = (p.format.frames.0 as f64 * f64::from(f.sample_rate) / rate) as u64;
                if at_clip.abs_diff(f.frames.0) > length_tolerance(f.frames.0, f.sample_rate) {
                    reason(
                        ReasonKind::Properties,
                        false,
                        "decoded, it is not the clip's length".into(),
                    );
                    break 'verdict Verdict::Refused;
                }
                if tags_agree(&wanted.audio.metadata, &p.metadata) {
                    points += 10;
                    reason(ReasonKind::Metadata, true, "the same title tag".into());
                }
                Verdict::SameAudio
            }
        }
    };
    if let Some(name) = name {
        reason(ReasonKind::Metadata, verdict != Verdict::Refused, name);
    }
    reason(
        ReasonKind::Proximity,
        true,
        format!("found {}", proximity_phrase(ev.proximity)),
    );
    Candidate {
        path: ev.path.clone(),
        verdict,
        score: points,
        proximity: ev.proximity,
        hash: ev.hash,
        format: ev
            .probed
            .as_ref()
            .and_then(|p| p.as_ref().ok())
            .map(|p| p.format.clone()),
        reasons,
    }
}

fn tags_agree(a: &RightsMetadata, b: &RightsMetadata) -> bool {
    a.title.is_some() && a.title == b.title
}

fn layout_name(c: Channels) -> &'static str {
    match c {
        Channels::Mono => "mono",
        Channels::Stereo => "stereo",
    }
}

fn proximity_phrase(p: Proximity) -> &'static str {
    match p {
        Proximity::MediaFolder => "in the media folder",
        Proximity::Nearby => "beside the media folder",
        Proximity::Search => "under a search path",
        Proximity::OtherMount => "on other mounted media",
    }
}

/// Orders candidates: matches first, then by score, then by path.
fn rank(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then(b.score.cmp(&a.score))
            .then(a.proximity.cmp(&b.proximity))
            .then(a.path.cmp(&b.path))
    });
}

/// What changes when a clip's file is replaced by another: the layout, the
/// rate, the bit depth. Each line names the difference and what was done.
pub fn relink(
    clip: &mut Clip,
    path: MediaPath,
    hash: ContentHash,
    format: AudioFormat,
) -> Vec<String> {
    let mut notes = Vec::new();
    let old = &clip.audio.format;
    if old.sample_rate != format.sample_rate {
        notes.push(format!(
            "sample rate {} Hz, was {} Hz: it is converted at play",
            format.sample_rate, old.sample_rate
        ));
    }
    if old.bit_depth != format.bit_depth {
        let bits = |b: Option<u16>| b.map_or("unknown".into(), |b| format!("{b}-bit"));
        notes.push(format!(
            "bit depth {}, was {}",
            bits(format.bit_depth),
            bits(old.bit_depth)
        ));
    }
    let panning = &mut clip.processing.panning;
    match (&*panning, format.channels) {
        (Panning::Stereo { width, balance, .. }, Channels::Mono) => {
            notes.push(format!(
                "mono, was stereo: its width {width} no longer applies; its balance {balance} becomes its pan"
            ));
            *panning = Panning::Mono {
                pan: *balance,
                extra: Default::default(),
            };
        }
        (Panning::Mono { pan, .. }, Channels::Stereo) => {
            notes.push(format!(
                "stereo, was mono: its pan {pan} becomes its balance, at full width"
            ));
            *panning = Panning::Stereo {
                width: 1.0,
                balance: *pan,
                extra: Default::default(),
            };
        }
        _ => {}
    }
    clip.audio.path = path;
    clip.audio.hash = hash;
    clip.audio.format = format;
    notes
}

/// Where to look, besides the media folder and its neighbours.
#[derive(Debug, Clone, Default)]
pub struct FindOptions {
    /// Folders the operator named (`--search`).
    pub search: Vec<PathBuf>,
    /// Also look on other mounted media (`/media`, `/mnt`, `/run/media`).
    pub mounts: bool,
    /// Candidates to keep per clip (the best ones).
    pub keep: usize,
}

/// How much work a search did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FindStats {
    /// Folders walked from.
    pub roots: Vec<PathBuf>,
    /// Files seen.
    pub files: u64,
    /// Audio files among them (by extension).
    pub audio_files: u64,
    /// Headers read.
    pub headers: u64,
    /// Files hashed whole.
    pub hashed: u64,
    /// Files fingerprinted.
    pub fingerprinted: u64,
    /// Files decoded to their end.
    pub probed: u64,
    /// Bytes read from candidate files (not counting the clips' own).
    pub bytes_read: u64,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
}

/// A clip whose file is missing or changed, with its candidates.
#[derive(Debug, Clone, Serialize)]
pub struct MissingClip {
    /// The clip.
    pub clip: ClipId,
    /// Its name.
    pub name: String,
    /// Its file as recorded.
    pub path: MediaPath,
    /// What is wrong with it.
    pub problem: String,
    /// Candidates, best first: matches, then unverified, then refused
    /// files that share its name (so the operator sees why they are not it).
    pub candidates: Vec<Candidate>,
}

/// Everything [`find`] found.
#[derive(Debug, Clone, Serialize)]
pub struct FindReport {
    /// Each clip whose file is missing or changed.
    pub missing: Vec<MissingClip>,
    /// The work done.
    pub stats: FindStats,
}

/// Audio file extensions worth opening.
const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "bwf", "flac", "aif", "aiff", "aifc", "mp3", "m4a", "mp4", "aac", "ogg", "oga",
];

/// Folders deeper than this below a root are not walked.
const MAX_DEPTH: usize = 12;

/// How deep the folder around the media folder is walked: its sibling and
/// renamed folders and a little below, not the whole home or volume.
const NEARBY_DEPTH: usize = 3;

/// Finds candidates for every clip of `show` whose file under `media_root`
/// is missing or changed. `fingerprints` are those recorded for the clips'
/// content hashes (the metadata database keeps them).
pub fn find(
    show: &Show,
    media_root: &Path,
    fingerprints: &HashMap<ContentHash, Fingerprint>,
    options: &FindOptions,
) -> FindReport {
    let started = Instant::now();
    let problems = verify_media(show, media_root, true, &mut |_| ());
    let mut examiner = Examiner::default();
    let mut stats = FindStats::default();
    let mut missing = Vec::new();
    if !problems.is_empty() {
        let files = walk(media_root, options, &mut stats);
        for problem in problems {
            let clip = &show.clips[problem.clip];
            let wanted = Wanted {
                audio: &clip.audio,
                fingerprint: fingerprints.get(&clip.audio.hash),
            };
            let mut candidates: Vec<Candidate> = files
                .iter()
                .filter(|(path, _)| {
                    // The changed file in place is judged too; a missing one is not there.
                    matches!(problem.issue, MediaIssue::Changed { .. }) || **path != problem.file
                })
                .map(|(path, proximity)| score(wanted, &examiner.examine(wanted, path, *proximity)))
                .filter(|c| {
                    c.verdict != Verdict::Refused || name_score(&clip.audio.path, &c.path).0 > 0
                })
                .collect();
            rank(&mut candidates);
            candidates.truncate(options.keep.max(1));
            missing.push(MissingClip {
                clip: clip.id.clone(),
                name: clip.name.clone(),
                path: clip.audio.path.clone(),
                problem: problem.message(),
                candidates,
            });
        }
    }
    stats.headers = examiner.headers.len() as u64;
    stats.hashed = examiner.hashes.len() as u64;
    stats.fingerprinted = examiner.fingerprints.len() as u64;
    stats.probed = examiner.probes.len() as u64;
    stats.bytes_read = examiner.bytes.load(Ordering::Relaxed);
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    FindReport { missing, stats }
}

/// Judges the single file `path` (absolute) as a candidate for `wanted`,
/// gathering all the evidence it needs.
pub fn judge(wanted: Wanted<'_>, path: &Path, proximity: Proximity) -> Candidate {
    score(
        wanted,
        &Examiner::default().examine(wanted, path, proximity),
    )
}

/// The audio files under the places a missing file may have gone, each
/// once, with the nearest place it was found in.
fn walk(
    media_root: &Path,
    options: &FindOptions,
    stats: &mut FindStats,
) -> Vec<(PathBuf, Proximity)> {
    let mut roots: Vec<(PathBuf, Proximity)> =
        vec![(media_root.to_owned(), Proximity::MediaFolder)];
    if let Some(parent) = media_root.parent().filter(|p| p.parent().is_some()) {
        roots.push((parent.to_owned(), Proximity::Nearby));
    }
    roots.extend(
        options
            .search
            .iter()
            .map(|p| (p.clone(), Proximity::Search)),
    );
    if options.mounts {
        for m in ["/media", "/mnt", "/run/media"] {
            roots.push((PathBuf::from(m), Proximity::OtherMount));
        }
    }
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for (root, proximity) in roots {
        let Ok(real) = root.canonicalize() else {
            continue;
        };
        stats.roots.push(real.clone());
        let max_depth = if proximity == Proximity::Nearby {
            NEARBY_DEPTH
        } else {
            MAX_DEPTH
        };
        let mut stack = vec![(real, 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                // Links are not followed: a loop must not trap the walk.
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() && depth < max_depth {
                    stack.push((path, depth + 1));
                } else if kind.is_file() && seen.insert(path.clone()) {
                    stats.files += 1;
                    let audio = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())
                    });
                    if audio {
                        stats.audio_files += 1;
                        files.push((path, proximity));
                    }
                }
            }
        }
    }
    files
}

/// Gathers evidence about candidate files, reading each at most once per
/// stage however many clips it is judged against, and counting bytes read.
#[derive(Default)]
struct Examiner {
    bytes: Arc<AtomicU64>,
    headers: HashMap<PathBuf, Result<Header, String>>,
    hashes: HashMap<PathBuf, Option<ContentHash>>,
    fingerprints: HashMap<PathBuf, Result<Fingerprint, String>>,
    probes: HashMap<PathBuf, Result<Probed, String>>,
}

impl Examiner {
    fn open(&self, path: &Path) -> io::Result<Box<dyn MediaSource>> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Box::new(Counted {
            file,
            len,
            bytes: Arc::clone(&self.bytes),
        }))
    }

    /// The header of `path`, its length at the analysis rate.
    fn header(&self, path: &Path, ext: Option<&str>) -> Result<Header, String> {
        let source = self
            .open(path)
            .map_err(|e| format!("cannot open it: {e}"))?;
        let decoder =
            Fingerprint::open(source, ext).map_err(|e| format!("cannot decode it: {e}"))?;
        Ok(Header {
            channels: decoder.channels(),
            rate: decoder.source_rate(),
            frames: decoder.frames(),
        })
    }

    fn examine(&mut self, wanted: Wanted<'_>, path: &Path, proximity: Proximity) -> Evidence {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
        let ext = ext.as_deref();
        let rate = wanted.audio.format.sample_rate;
        let header = match self.headers.get(path) {
            Some(h) => h.clone(),
            None => {
                let h = self.header(path, ext);
                self.headers.insert(path.to_owned(), h.clone());
                h
            }
        };
        // The header's length is at the analysis rate; the clip's at its own.
        let header = header.map(|h| Header {
            frames: (h.frames as f64 * f64::from(rate) / f64::from(Fingerprint::ANALYSIS_RATE))
                .round() as u64,
            ..h
        });
        let mut ev = Evidence {
            path: path.to_owned(),
            proximity,
            header,
            hash: None,
            fingerprint: None,
            probed: None,
        };
        // A candidate whose header rules it out costs nothing more.
        let fits = ev
            .header
            .as_ref()
            .is_ok_and(|h| header_fits(wanted.audio, h).is_ok());
        if !fits {
            return ev;
        }
        ev.hash = match self.hashes.get(path) {
            Some(h) => *h,
            None => {
                let h = self.open(path).and_then(ContentHash::of_reader).ok();
                self.hashes.insert(path.to_owned(), h);
                h
            }
        };
        if ev.hash == Some(wanted.audio.hash) || wanted.fingerprint.is_none() {
            return ev;
        }
        if !self.fingerprints.contains_key(path) {
            let fp = self
                .open(path)
                .map_err(|e| format!("cannot open it: {e}"))
                .and_then(|source| {
                    let mut d = Fingerprint::open(source, ext)
                        .map_err(|e| format!("cannot decode it: {e}"))?;
                    Fingerprint::of_decoder(&mut d).map_err(|e| format!("cannot decode it: {e}"))
                });
            self.fingerprints.insert(path.to_owned(), fp);
        }
        let fp = self.fingerprints[path].clone();
        let same = matches!((&fp, wanted.fingerprint), (Ok(a), Some(b)) if a.same_audio(b));
        ev.fingerprint = Some(fp);
        if same {
            if !self.probes.contains_key(path) {
                let p = self
                    .open(path)
                    .map_err(|e| format!("cannot open it: {e}"))
                    .and_then(|s| probe(s, ext).map_err(|e| e.to_string()));
                self.probes.insert(path.to_owned(), p);
            }
            ev.probed = Some(self.probes[path].clone());
        }
        ev
    }
}

/// A file that counts the bytes read from it.
struct Counted {
    file: File,
    len: u64,
    bytes: Arc<AtomicU64>,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Seek for Counted {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

impl MediaSource for Counted {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

#[cfg(test)]
mod tests {
    use cuebox_engine::fixtures::described_audio;
    use cuebox_engine::show::{Extra, Frames};

    use super::*;

    fn fp(seed: u8) -> Fingerprint {
        // A pseudo-random stream of block bits, one per seed.
        let mut x = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
        Fingerprint::from_bytes(
            (0..100)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect(),
        )
    }

    fn evidence(
        frames: u64,
        hash: Option<ContentHash>,
        fingerprint: Option<Fingerprint>,
    ) -> Evidence {
        let audio = described_audio("take.wav", Channels::Stereo, frames);
        Evidence {
            path: PathBuf::from("/elsewhere/take.wav"),
            proximity: Proximity::Search,
            header: Ok(Header {
                channels: Channels::Stereo,
                rate: 48_000,
                frames,
            }),
            hash,
            fingerprint: fingerprint.map(Ok),
            probed: Some(Ok(Probed {
                format: audio.format,
                metadata: RightsMetadata::default(),
                container: "WAV".into(),
            })),
        }
    }

    #[test]
    fn only_the_same_bytes_or_the_same_audio_is_a_match() {
        let audio = described_audio("take.wav", Channels::Stereo, 96_000);
        let mine = fp(1);
        let wanted = Wanted {
            audio: &audio,
            fingerprint: Some(&mine),
        };
        let verdict = |ev: &Evidence| score(wanted, ev).verdict;
        assert_eq!(
            verdict(&evidence(96_000, Some(audio.hash), None)),
            Verdict::Exact
        );
        let other = Some(ContentHash::of_bytes(b"other bytes"));
        assert_eq!(
            verdict(&evidence(96_000, other, Some(fp(1)))),
            Verdict::SameAudio
        );
        // Same name, same length, other audio: refused, never offered.
        let impostor = score(wanted, &evidence(96_000, other, Some(fp(2))));
        assert_eq!(impostor.verdict, Verdict::Refused);
        assert!(impostor
            .reasons
            .iter()
            .any(|r| r.detail.starts_with("different audio")));
        // Another length: refused from the header alone.
        assert_eq!(verdict(&evidence(48_000, other, None)), Verdict::Refused);
        // Decodes short of its header: refused.
        let mut cut = evidence(96_000, other, Some(fp(1)));
        cut.probed = Some(Err("truncated".into()));
        assert_eq!(verdict(&cut), Verdict::Refused);
        // Without the clip's fingerprint nothing but the bytes can prove it.
        let blind = Wanted {
            audio: &audio,
            fingerprint: None,
        };
        assert_eq!(
            score(blind, &evidence(96_000, other, None)).verdict,
            Verdict::Unverified
        );
        assert!(!Verdict::Unverified.is_match());
    }

    #[test]
    fn relinking_keeps_processing_and_reports_layout_rate_and_depth() {
        let mut show = Show::new(
            "t",
            "media",
            cuebox_engine::show::GridDims::new(2, 2).unwrap(),
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        let id = cuebox_engine::fixtures::add_clip(
            &mut show,
            "take",
            cuebox_engine::show::Group::A,
            described_audio("take.wav", Channels::Stereo, 96_000),
            cuebox_engine::fixtures::placement(1, 1, 1, 1),
        );
        let clip = show.clips.iter_mut().find(|c| c.id == id).unwrap();
        clip.processing.level_db = -6.0;
        clip.processing.panning = Panning::Stereo {
            width: 0.5,
            balance: -0.25,
            extra: Extra::new(),
        };
        let format = AudioFormat {
            channels: Channels::Mono,
            sample_rate: 44_100,
            bit_depth: Some(24),
            frames: Frames(88_200),
            codec: "flac".into(),
            trim: Default::default(),
            extra: Extra::new(),
        };
        let path = MediaPath::try_from("take.flac".to_owned()).unwrap();
        let hash = ContentHash::of_bytes(b"flac");
        let notes = relink(clip, path.clone(), hash, format.clone());
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("44100 Hz, was 48000 Hz"));
        assert!(notes[1].contains("24-bit, was 16-bit"));
        assert!(notes[2].contains("width 0.5 no longer applies"));
        assert_eq!(clip.processing.level_db, -6.0, "processing kept");
        assert!(matches!(clip.processing.panning, Panning::Mono { pan, .. } if pan == -0.25));
        assert_eq!(
            (&clip.audio.path, clip.audio.hash, &clip.audio.format),
            (&path, hash, &format)
        );
    }
}
