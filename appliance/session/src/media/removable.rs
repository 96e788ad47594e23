//! Whether a block device is removable (USB stick or disk, card reader),
//! read from sysfs. Takes the sysfs root as a parameter so tests can build
//! a fake tree.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A removable drive holding the media folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovableMedia {
    /// The kernel's name for the device (`sdb1`).
    pub device: String,
    /// How it is attached: `USB`, or `removable` when the kernel flags the
    /// disk as removable media on another bus (card readers, floppies).
    pub bus: String,
}

/// Device-mapper nesting followed at most (LUKS on LVM on a partition).
const MAX_DEPTH: usize = 4;

/// Looks up device `major:minor` under `sys` (normally `/sys`). `None` when
/// it is not a block device there (network or memory filesystems use
/// anonymous device numbers) or is not removable.
pub fn removable_by_devno(sys: &Path, major: u32, minor: u32) -> Option<RemovableMedia> {
    let link = sys.join("dev/block").join(format!("{major}:{minor}"));
    removable_at(sys, &fs::canonicalize(link).ok()?, 0)
}

/// Looks up a block device by kernel name (`sdb1`, `dm-0`) under `sys`.
pub fn removable_by_name(sys: &Path, name: &str) -> Option<RemovableMedia> {
    removable_by_name_at_depth(sys, name, 0)
}

/// Judges the device whose sysfs directory is `dev` (symlinks resolved),
/// e.g. `/sys/devices/pci0000:00/…/usb2/2-1/…/block/sdb/sdb1`.
fn removable_at(sys: &Path, dev: &Path, depth: usize) -> Option<RemovableMedia> {
    let device = dev.file_name()?.to_string_lossy().into_owned();
    // A partition's directory sits inside its disk's.
    let disk: PathBuf = if dev.join("partition").exists() {
        dev.parent()?.to_owned()
    } else {
        dev.to_owned()
    };
    let through_usb = dev.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        // Host controllers are `usb1`, `usb2`, …; ports below them `2-1`.
        c.strip_prefix("usb")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    let flagged = fs::read_to_string(disk.join("removable")).is_ok_and(|v| v.trim() == "1");
    if through_usb || flagged {
        let bus = if through_usb { "USB" } else { "removable" };
        return Some(RemovableMedia {
            device,
            bus: bus.to_owned(),
        });
    }
    // A device-mapper or md device is removable if what it sits on is.
    if depth < MAX_DEPTH {
        let slaves = fs::read_dir(disk.join("slaves")).ok()?;
        for slave in slaves.flatten().take(16) {
            let name = slave.file_name().to_string_lossy().into_owned();
            if let Some(found) = removable_by_name_at_depth(sys, &name, depth + 1) {
                return Some(RemovableMedia {
                    device: format!("{device} on {}", found.device),
                    ..found
                });
            }
        }
    }
    None
}

fn removable_by_name_at_depth(sys: &Path, name: &str, depth: usize) -> Option<RemovableMedia> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let link = sys.join("class/block").join(name);
    removable_at(sys, &fs::canonicalize(link).ok()?, depth)
}
