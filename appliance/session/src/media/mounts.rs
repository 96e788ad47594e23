//! Which filesystem a path lives on, from `/proc/self/mountinfo`, and what
//! kind of filesystem that is. Pure functions over text, so they are tested
//! with real-world lines rather than this machine's mounts.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

/// One mount: a line of `/proc/self/mountinfo` (see proc(5)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountEntry {
    /// The device's major number (0 for network and memory filesystems).
    pub major: u32,
    /// The device's minor number.
    pub minor: u32,
    /// The directory of the filesystem that is mounted (not `/` for bind mounts).
    pub root: PathBuf,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Per-mount options (`rw,relatime`, …).
    pub mount_options: String,
    /// The filesystem type (`ext4`, `nfs4`, `fuse.sshfs`, …).
    pub fs_type: String,
    /// What is mounted: a device (`/dev/sdb1`), a share (`server:/export`,
    /// `//nas/show`) or a name (`tmpfs`).
    pub source: String,
}

impl MountEntry {
    /// Whether the mount is read-only.
    pub fn read_only(&self) -> bool {
        self.mount_options.split(',').any(|o| o == "ro")
    }
}

/// Parses the whole of a mountinfo file; malformed lines are skipped (a
/// kernel from the future may add fields we do not know).
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

/// Parses one mountinfo line:
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
/// — id, parent id, major:minor, root, mount point, options, optional
/// fields up to `-`, then type, source, superblock options.
pub fn parse_mountinfo_line(line: &str) -> Option<MountEntry> {
    let mut fields = line.split(' ');
    let _mount_id = fields.next()?;
    let _parent_id = fields.next()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let root = fields.next()?;
    let mount_point = fields.next()?;
    let mount_options = fields.next()?;
    // Optional fields (`shared:1`, `master:2`, …) end at a lone `-`.
    fields.by_ref().find(|f| *f == "-")?;
    let fs_type = fields.next()?;
    let source = fields.next()?;
    Some(MountEntry {
        major: major.parse().ok()?,
        minor: minor.parse().ok()?,
        root: PathBuf::from(unescape(root)),
        mount_point: PathBuf::from(unescape(mount_point)),
        mount_options: mount_options.to_owned(),
        fs_type: unescape(fs_type).to_string_lossy().into_owned(),
        source: unescape(source).to_string_lossy().into_owned(),
    })
}

/// Undoes the kernel's octal escapes (`\040` space, `\011` tab, `\012`
/// newline, `\134` backslash). Paths are bytes, so the result is an `OsString`.
fn unescape(field: &str) -> OsString {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).filter(|d| {
            bytes[i] == b'\\' && d.iter().all(|b| (b'0'..=b'7').contains(b)) && d[0] <= b'3'
        });
        match octal {
            Some(d) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    OsString::from_vec(out)
}

/// The mount holding `path` (absolute, symlinks resolved): the one whose
/// mount point is the longest whole-component prefix. When several mounts
/// share a mount point the last one listed is on top, so it wins.
pub fn mount_for<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    let mut best: Option<(&MountEntry, usize)> = None;
    for m in mounts {
        // `Path::starts_with` compares whole components: /mnt/a is not under /mnt/ab.
        if path.starts_with(&m.mount_point) {
            let depth = m
                .mount_point
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .count();
            if best.is_none_or(|(_, d)| depth >= d) {
                best = Some((m, depth));
            }
        }
    }
    best.map(|(m, _)| m)
}

/// What a filesystem type means for a show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FsClass {
    /// A local disk filesystem (ext4, xfs, btrfs, vfat, exfat, overlay, …).
    Local,
    /// Storage across a network: it can stall or vanish mid-show.
    Network,
    /// Memory-backed (tmpfs, ramfs): emptied at every power-off.
    Volatile,
}

/// Filesystem types that reach storage over a network.
const NETWORK_TYPES: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "9p",
    "ceph",
    "glusterfs",
    "lustre",
    "afs",
    "ncpfs",
    "coda",
    "davfs",
    "gfs2",
    "ocfs2",
    "beegfs",
    "gpfs",
    "orangefs",
    "cephfs",
    "sshfs",
    "webdav",
    "s3fs",
    "rclone",
    "gcsfuse",
    "davfs2",
    "moosefs",
    "mfs",
    "lizardfs",
    "juicefs",
];

/// Classifies a filesystem type. FUSE filesystems appear as `fuse.NAME`
/// (`fuse.sshfs`, `fuse.glusterfs`) and are judged by NAME.
pub fn classify_fs(fs_type: &str) -> FsClass {
    let name = fs_type.strip_prefix("fuse.").unwrap_or(fs_type);
    if NETWORK_TYPES.contains(&name) {
        FsClass::Network
    } else if matches!(name, "tmpfs" | "ramfs" | "devtmpfs") {
        FsClass::Volatile
    } else {
        FsClass::Local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_octal_and_leaves_the_rest() {
        assert_eq!(unescape(r"/mnt/My\040Show"), OsString::from("/mnt/My Show"));
        assert_eq!(unescape(r"a\134b\011c"), OsString::from("a\\b\tc"));
        assert_eq!(unescape(r"odd\9x\04"), OsString::from(r"odd\9x\04"));
        // Non-UTF-8 bytes survive as bytes.
        assert_eq!(unescape(r"\377"), OsString::from_vec(vec![0xff]));
    }
}
