//! Media folder validation: the mountinfo parser and classification on
//! real-world lines, the removable-drive lookup on a fake sysfs tree, and
//! the checks run for real on temporary folders (with a fake mount table
//! where a network share or USB stick has to be pretended).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cuebox_session::media::{
    check_media_folder, classify_fs, mount_for, parse_mountinfo, parse_mountinfo_line,
    removable_by_devno, suggest_media_folder, CheckKind, CheckOptions, FolderError, FolderReport,
    FsClass, RemovableMedia, StabilityProbe, Status,
};

// Real lines, from a Debian desktop, a NAS client and a Docker container.
const NFS4: &str = "61 25 0:52 / /mnt/media rw,relatime shared:34 - nfs4 nas.local:/export/media rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=192.168.1.20,local_lock=none,addr=192.168.1.10";
const CIFS: &str = r"62 25 0:53 / /mnt/Show\040Media rw,relatime shared:35 - cifs //nas/Show\040Media rw,vers=3.1.1,cache=strict,username=theatre,uid=1000,noforceuid,gid=1000,noforcegid,addr=192.168.1.10,file_mode=0755,dir_mode=0755,soft,nounix,serverino,mapposix,rsize=4194304,wsize=4194304,bsize=1048576,echo_interval=60,actimeo=1";
const USB_EXT4: &str =
    "87 25 8:17 / /media/theatre/USBSTICK rw,nosuid,nodev,relatime shared:45 - ext4 /dev/sdb1 rw";
const TMPFS: &str =
    "25 24 0:23 / /dev/shm rw,nosuid,nodev shared:4 - tmpfs tmpfs rw,size=8108328k,inode64";
const OVERLAY: &str = "520 470 0:48 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/123/diff,workdir=/var/lib/docker/overlay2/123/work";
const SSHFS: &str = "90 25 0:55 / /mnt/remote rw,nosuid,nodev,relatime shared:50 master:7 - fuse.sshfs user@host:/srv/media rw,user_id=1000,group_id=1000";
const ROOT: &str = "29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro";
const BIND: &str =
    "100 29 259:2 /srv/show /home/show/media ro,relatime shared:1 - ext4 /dev/nvme0n1p2 rw";
const PROC: &str = "22 27 0:21 / /proc rw,relatime - proc proc rw";

#[test]
fn mountinfo_lines_parse_with_escapes_and_optional_fields() {
    let nfs = parse_mountinfo_line(NFS4).expect("nfs4");
    assert_eq!((nfs.major, nfs.minor), (0, 52));
    assert_eq!(nfs.mount_point, Path::new("/mnt/media"));
    assert_eq!(
        (nfs.fs_type.as_str(), nfs.source.as_str()),
        ("nfs4", "nas.local:/export/media")
    );

    let cifs = parse_mountinfo_line(CIFS).expect("cifs");
    assert_eq!(cifs.mount_point, Path::new("/mnt/Show Media"));
    assert_eq!(cifs.source, "//nas/Show Media");
    assert_eq!(cifs.fs_type, "cifs");

    let usb = parse_mountinfo_line(USB_EXT4).expect("ext4");
    assert_eq!(
        (usb.major, usb.minor, usb.source.as_str()),
        (8, 17, "/dev/sdb1")
    );
    assert_eq!(usb.mount_point, Path::new("/media/theatre/USBSTICK"));
    assert!(!usb.read_only());

    let tmp = parse_mountinfo_line(TMPFS).expect("tmpfs");
    assert_eq!(
        (tmp.fs_type.as_str(), tmp.source.as_str()),
        ("tmpfs", "tmpfs")
    );

    let overlay = parse_mountinfo_line(OVERLAY).expect("overlay");
    assert_eq!(
        (overlay.fs_type.as_str(), overlay.mount_point.as_path()),
        ("overlay", Path::new("/"))
    );

    // Two optional fields before the separator.
    let sshfs = parse_mountinfo_line(SSHFS).expect("sshfs");
    assert_eq!(
        (sshfs.fs_type.as_str(), sshfs.source.as_str()),
        ("fuse.sshfs", "user@host:/srv/media")
    );

    // No optional fields at all.
    assert_eq!(parse_mountinfo_line(PROC).expect("proc").fs_type, "proc");

    let bind = parse_mountinfo_line(BIND).expect("bind");
    assert_eq!(bind.root, Path::new("/srv/show"));
    assert!(bind.read_only());
}

#[test]
fn malformed_mountinfo_lines_are_skipped() {
    let text = format!("{ROOT}\n\ngarbage\n36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root\n1 2 x:y / / rw - ext4 /dev/a rw\n{NFS4}\n");
    let mounts = parse_mountinfo(&text);
    let types: Vec<&str> = mounts.iter().map(|m| m.fs_type.as_str()).collect();
    assert_eq!(types, ["ext4", "nfs4"]);
}

#[test]
fn the_longest_mount_point_prefix_holds_a_path() {
    let text = [ROOT, NFS4, CIFS, USB_EXT4, TMPFS, BIND].join("\n");
    let mounts = parse_mountinfo(&text);
    let fs_of = |p: &str| mount_for(&mounts, Path::new(p)).map(|m| m.fs_type.clone());
    assert_eq!(fs_of("/mnt/media/act1/storm.wav").as_deref(), Some("nfs4"));
    assert_eq!(fs_of("/mnt/media").as_deref(), Some("nfs4"));
    // Whole components only: /mnt/mediaX is not under /mnt/media.
    assert_eq!(fs_of("/mnt/mediaX").as_deref(), Some("ext4"));
    assert_eq!(fs_of("/mnt/Show Media/a").as_deref(), Some("cifs"));
    assert_eq!(fs_of("/media/theatre/USBSTICK/show").map(|_| ()), Some(()));
    assert_eq!(
        mount_for(&mounts, Path::new("/media/theatre/USBSTICK/show")).map(|m| m.source.as_str()),
        Some("/dev/sdb1")
    );
    assert_eq!(fs_of("/dev/shm/x").as_deref(), Some("tmpfs"));
    assert_eq!(fs_of("/home/show/media/x").map(|_| ()), Some(()));

    // A later mount on the same point hides the earlier one.
    let over = format!("{ROOT}\n{NFS4}\n200 25 0:60 / /mnt/media rw - tmpfs tmpfs rw");
    let mounts = parse_mountinfo(&over);
    assert_eq!(
        mount_for(&mounts, Path::new("/mnt/media/x")).map(|m| m.fs_type.as_str()),
        Some("tmpfs")
    );
    assert!(mount_for(&[], Path::new("/x")).is_none());
}

#[test]
fn filesystem_types_are_classified() {
    for network in [
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "9p",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.rclone",
    ] {
        assert_eq!(classify_fs(network), FsClass::Network, "{network}");
    }
    for volatile in ["tmpfs", "ramfs"] {
        assert_eq!(classify_fs(volatile), FsClass::Volatile, "{volatile}");
    }
    for local in [
        "ext4",
        "xfs",
        "btrfs",
        "vfat",
        "exfat",
        "overlay",
        "fuseblk",
        "fuse.ntfs-3g",
        "zfs",
    ] {
        assert_eq!(classify_fs(local), FsClass::Local, "{local}");
    }
}

#[test]
fn the_suggested_media_folder_is_inside_the_session() {
    assert_eq!(
        suggest_media_folder(Path::new("/srv/shows/Hamlet")),
        PathBuf::from("/srv/shows/Hamlet/media")
    );
}

/// Options whose stability probe is quick.
fn quick() -> CheckOptions {
    CheckOptions {
        stability_cycles: 5,
        stability_block_bytes: 16 * 1024,
        ..CheckOptions::default()
    }
}

fn status_of(report: &FolderReport, kind: CheckKind) -> Option<Status> {
    report
        .checks
        .iter()
        .find(|c| c.check == kind)
        .map(|c| c.status)
}

fn message_of(report: &FolderReport, kind: CheckKind) -> String {
    report
        .checks
        .iter()
        .find(|c| c.check == kind)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

fn entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_writable_temp_folder_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = check_media_folder(tmp.path(), 1024, &quick()).expect("report");
    assert!(report.is_usable(), "{:#?}", report.checks);
    assert_eq!(status_of(&report, CheckKind::Reachable), Some(Status::Ok));
    assert_eq!(status_of(&report, CheckKind::Writable), Some(Status::Ok));
    assert!(status_of(&report, CheckKind::Space).is_some());
    assert!(report.free_bytes.is_some_and(|f| f > 1024));
    // This machine's real mount table identifies the filesystem.
    assert_eq!(
        status_of(&report, CheckKind::Filesystem).map(|_| ()),
        Some(())
    );
    assert!(report.filesystem.is_some(), "{:#?}", report.checks);
    assert!(!report.created);
    assert!(
        entries(tmp.path()).is_empty(),
        "probe files left behind: {:?}",
        entries(tmp.path())
    );
}

#[test]
fn a_missing_folder_with_a_missing_parent_is_unreachable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("no/such/folder");
    let report = check_media_folder(&path, 0, &quick()).expect("report");
    assert!(!report.is_usable());
    assert_eq!(
        report.checks.len(),
        1,
        "later checks cannot run: {:#?}",
        report.checks
    );
    assert_eq!(
        status_of(&report, CheckKind::Reachable),
        Some(Status::Error)
    );
    assert!(
        message_of(&report, CheckKind::Reachable).contains("nor its parent folder exists"),
        "{:#?}",
        report.checks
    );
    assert!(!path.exists());
}

#[test]
fn a_missing_folder_is_created_when_its_parent_exists_unless_told_not_to() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("media");
    let no_create = CheckOptions {
        create_missing: false,
        ..quick()
    };
    let report = check_media_folder(&path, 0, &no_create).expect("report");
    assert_eq!(
        status_of(&report, CheckKind::Reachable),
        Some(Status::Error)
    );
    assert!(message_of(&report, CheckKind::Reachable)
        .ends_with("does not exist; create it or choose an existing folder"));
    assert!(!path.exists());

    let report = check_media_folder(&path, 0, &quick()).expect("report");
    assert!(report.created && path.is_dir(), "{:#?}", report.checks);
    assert_eq!(status_of(&report, CheckKind::Reachable), Some(Status::Ok));
    assert_eq!(status_of(&report, CheckKind::Writable), Some(Status::Ok));
}

#[test]
fn a_file_is_not_a_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("cue.wav");
    fs::write(&file, b"RIFF").expect("write");
    let report = check_media_folder(&file, 0, &quick()).expect("report");
    assert!(!report.is_usable());
    assert_eq!(report.checks.len(), 1);
    assert_eq!(
        message_of(&report, CheckKind::Reachable),
        format!(
            "{} is a file, not a folder; choose a folder, or a new name to create one",
            file.display()
        )
    );
}

#[test]
fn a_dangling_link_names_its_target() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let link = tmp.path().join("media");
    symlink("/media/theatre/UNPLUGGED", &link).expect("symlink");
    let report = check_media_folder(&link, 0, &quick()).expect("report");
    assert_eq!(
        status_of(&report, CheckKind::Reachable),
        Some(Status::Error)
    );
    assert!(message_of(&report, CheckKind::Reachable)
        .contains("is a link to /media/theatre/UNPLUGGED, which does not exist"));
}

#[test]
fn asking_for_more_than_is_free_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let free = check_media_folder(tmp.path(), 0, &quick())
        .expect("report")
        .free_bytes
        .expect("free");
    let needed = free.saturating_mul(2).max(1 << 40);
    let report = check_media_folder(tmp.path(), needed, &quick()).expect("report");
    assert!(!report.is_usable());
    assert_eq!(status_of(&report, CheckKind::Space), Some(Status::Error));
    assert!(
        message_of(&report, CheckKind::Space).contains("free, but the media need"),
        "{:#?}",
        report.checks
    );
    // The other checks still ran: the operator sees everything at once.
    assert_eq!(status_of(&report, CheckKind::Writable), Some(Status::Ok));
}

#[test]
fn too_little_headroom_is_a_warning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let options = CheckOptions {
        headroom_bytes: u64::MAX,
        ..quick()
    };
    let report = check_media_folder(tmp.path(), 0, &options).expect("report");
    assert_eq!(status_of(&report, CheckKind::Space), Some(Status::Warning));
    assert!(report.is_usable());
}

#[test]
fn a_folder_nothing_can_be_written_to_is_an_error() {
    // Even root cannot create files in procfs directories.
    let report = check_media_folder(Path::new("/proc/self/fdinfo"), 0, &quick()).expect("report");
    assert_eq!(status_of(&report, CheckKind::Reachable), Some(Status::Ok));
    assert_eq!(
        status_of(&report, CheckKind::Writable),
        Some(Status::Error),
        "{:#?}",
        report.checks
    );
    assert!(message_of(&report, CheckKind::Writable).contains("creating a probe file failed"));
    assert!(!report.is_usable());
}

#[test]
fn an_empty_path_is_refused() {
    assert!(matches!(
        check_media_folder(Path::new(""), 0, &quick()),
        Err(FolderError::EmptyPath)
    ));
}

/// A mount table in which `dir` is its own mount, as `fs_type` from `source`
/// on device `devno`.
fn fake_mountinfo(at: &Path, dir: &Path, devno: &str, fs_type: &str, source: &str) -> PathBuf {
    let real = fs::canonicalize(dir).expect("canonicalize");
    let escaped = real
        .to_string_lossy()
        .replace('\\', r"\134")
        .replace(' ', r"\040");
    let text = format!("{ROOT}\n{PROC}\n300 29 {devno} / {escaped} rw,relatime shared:90 - {fs_type} {source} rw\n");
    let path = at.join("mountinfo");
    fs::write(&path, text).expect("write mountinfo");
    path
}

#[test]
fn a_network_share_gets_a_real_stability_probe_and_a_warning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let media = tmp.path().join("media");
    fs::create_dir(&media).expect("mkdir");
    let options = CheckOptions {
        mountinfo_path: fake_mountinfo(
            tmp.path(),
            &media,
            "0:52",
            "nfs4",
            "nas.local:/export/media",
        ),
        // Generous: this proves the probe runs, not how fast CI disks are.
        max_cycle_latency: Duration::from_secs(30),
        max_median_latency: Duration::from_secs(30),
        ..quick()
    };
    let report = check_media_folder(&media, 0, &options).expect("report");
    let fs_found = report.filesystem.as_ref().expect("filesystem");
    assert_eq!(
        (
            fs_found.fs_type.as_str(),
            fs_found.class,
            fs_found.device.as_str()
        ),
        ("nfs4", FsClass::Network, "0:52")
    );
    let stability = report.stability.as_ref().expect("stability probe ran");
    assert_eq!(
        (stability.cycles, stability.failures, stability.unstable),
        (5, 0, false)
    );
    assert!(
        stability.min_ms > 0.0
            && stability.min_ms <= stability.median_ms
            && stability.median_ms <= stability.max_ms
    );
    assert_eq!(
        status_of(&report, CheckKind::NetworkShare),
        Some(Status::Warning)
    );
    let message = message_of(&report, CheckKind::NetworkShare);
    assert!(message.starts_with("the media folder is on a network share (nfs4 nas.local:/export/media); the stability probe passed (5 write/fsync/read cycles, 0 failed"), "{message}");
    assert!(report.is_usable());
    assert!(entries(&media).is_empty(), "probe files left behind");
    // Anonymous device numbers are never removable drives.
    assert_eq!(
        status_of(&report, CheckKind::RemovableMedia),
        Some(Status::Ok)
    );
}

#[test]
fn an_unstable_network_share_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let options = CheckOptions {
        mountinfo_path: fake_mountinfo(tmp.path(), tmp.path(), "0:53", "cifs", "//nas/Show"),
        // No real cycle takes no time: every one counts as a stall.
        max_cycle_latency: Duration::ZERO,
        ..quick()
    };
    let report = check_media_folder(tmp.path(), 0, &options).expect("report");
    assert!(report.stability.as_ref().is_some_and(|s| s.unstable));
    assert_eq!(
        status_of(&report, CheckKind::NetworkShare),
        Some(Status::Error)
    );
    assert!(
        message_of(&report, CheckKind::NetworkShare).contains("(cifs //nas/Show) that is unstable")
    );
    assert!(!report.is_usable());
}

#[test]
fn the_stability_probe_can_be_forced_on_local_storage_or_turned_off() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let local = fake_mountinfo(tmp.path(), tmp.path(), "259:2", "ext4", "/dev/nvme0n1p2");
    let always = CheckOptions {
        mountinfo_path: local.clone(),
        stability: StabilityProbe::Always,
        max_cycle_latency: Duration::from_secs(30),
        max_median_latency: Duration::from_secs(30),
        ..quick()
    };
    let report = check_media_folder(tmp.path(), 0, &always).expect("report");
    assert_eq!(report.stability.as_ref().map(|s| s.cycles), Some(5));
    assert_eq!(
        status_of(&report, CheckKind::NetworkShare),
        Some(Status::Ok)
    );

    let nfs = fake_mountinfo(tmp.path(), tmp.path(), "0:52", "nfs", "nas:/m");
    let never = CheckOptions {
        mountinfo_path: nfs,
        stability: StabilityProbe::Never,
        ..quick()
    };
    let report = check_media_folder(tmp.path(), 0, &never).expect("report");
    assert!(report.stability.is_none());
    assert_eq!(
        status_of(&report, CheckKind::NetworkShare),
        Some(Status::Warning)
    );
    assert!(
        message_of(&report, CheckKind::NetworkShare).contains("whose stability was not measured")
    );
}

#[test]
fn tmpfs_is_flagged_as_lost_at_power_off() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let options = CheckOptions {
        mountinfo_path: fake_mountinfo(tmp.path(), tmp.path(), "0:23", "tmpfs", "tmpfs"),
        ..quick()
    };
    let report = check_media_folder(tmp.path(), 0, &options).expect("report");
    assert_eq!(
        status_of(&report, CheckKind::Filesystem),
        Some(Status::Warning)
    );
    assert!(message_of(&report, CheckKind::Filesystem).contains("lost at power-off"));
}

/// Builds a fake sysfs: `dev/block/<devno>` and `class/block/<name>` link to
/// a device directory at `devices/<device_path>`, whose disk (`partition`
/// set: the parent) has `removable` = `flag`.
fn fake_sysfs(sys: &Path, devno: &str, device_path: &str, partition: bool, flag: &str) {
    let dev = sys.join("devices").join(device_path);
    fs::create_dir_all(&dev).expect("mkdir");
    let disk = if partition {
        fs::write(dev.join("partition"), "1\n").expect("partition");
        dev.parent().expect("disk").to_owned()
    } else {
        dev.clone()
    };
    fs::write(disk.join("removable"), format!("{flag}\n")).expect("removable");
    fs::create_dir_all(sys.join("dev/block")).expect("mkdir");
    fs::create_dir_all(sys.join("class/block")).expect("mkdir");
    symlink(&dev, sys.join("dev/block").join(devno)).expect("symlink");
    let name = dev.file_name().expect("name");
    symlink(&dev, sys.join("class/block").join(name)).expect("symlink");
}

const USB_SDB1: &str =
    "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1";

#[test]
fn removable_drives_are_found_in_sysfs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sys = tmp.path();
    // A USB disk that does not call itself removable: the bus gives it away.
    fake_sysfs(sys, "8:17", USB_SDB1, true, "0");
    // A card reader on the platform bus with removable media.
    fake_sysfs(
        sys,
        "179:1",
        "platform/fe320000.mmc/mmc_host/mmc1/mmc1:aaaa/block/mmcblk1/mmcblk1p1",
        true,
        "1",
    );
    // An internal NVMe disk.
    fake_sysfs(
        sys,
        "259:2",
        "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1/nvme0n1p2",
        true,
        "0",
    );
    // LUKS on a USB stick: dm-0 sits on sdc1.
    fake_sysfs(
        sys,
        "8:33",
        "pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/host7/target7:0:0/7:0:0:0/block/sdc/sdc1",
        true,
        "1",
    );
    fake_sysfs(sys, "254:0", "virtual/block/dm-0", false, "0");
    let slaves = sys.join("devices/virtual/block/dm-0/slaves");
    fs::create_dir_all(&slaves).expect("mkdir");
    symlink(sys.join("devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/host7/target7:0:0/7:0:0:0/block/sdc/sdc1"), slaves.join("sdc1")).expect("symlink");

    let usb = |device: &str, bus: &str| {
        Some(RemovableMedia {
            device: device.to_owned(),
            bus: bus.to_owned(),
        })
    };
    assert_eq!(removable_by_devno(sys, 8, 17), usb("sdb1", "USB"));
    assert_eq!(
        removable_by_devno(sys, 179, 1),
        usb("mmcblk1p1", "removable")
    );
    assert_eq!(removable_by_devno(sys, 259, 2), None);
    assert_eq!(removable_by_devno(sys, 254, 0), usb("dm-0 on sdc1", "USB"));
    assert_eq!(removable_by_devno(sys, 0, 52), None, "no such block device");
}

#[test]
fn a_folder_on_a_usb_stick_is_a_warning_that_says_what_to_do() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let media = tmp.path().join("media");
    fs::create_dir(&media).expect("mkdir");
    let sys = tmp.path().join("sys");
    fake_sysfs(&sys, "8:17", USB_SDB1, true, "0");
    let options = CheckOptions {
        mountinfo_path: fake_mountinfo(tmp.path(), &media, "8:17", "ext4", "/dev/sdb1"),
        sys_root: sys,
        ..quick()
    };
    let report = check_media_folder(&media, 0, &options).expect("report");
    assert_eq!(
        status_of(&report, CheckKind::RemovableMedia),
        Some(Status::Warning)
    );
    assert_eq!(
        message_of(&report, CheckKind::RemovableMedia),
        "the media folder is on removable media (sdb1, USB): a pulled cable stops the show; copy the media to internal storage"
    );
    assert_eq!(
        report.removable.as_ref().map(|r| r.device.as_str()),
        Some("sdb1")
    );
    assert!(report.is_usable(), "a warning, not an error");
    assert!(report.lines().any(|l| l.starts_with(
        "warning: removable media: the media folder is on removable media (sdb1, USB)"
    )));
}

#[test]
fn the_report_serialises_for_json_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let media = tmp.path().join("media");
    fs::create_dir(&media).expect("mkdir");
    let options = CheckOptions {
        mountinfo_path: fake_mountinfo(tmp.path(), &media, "0:52", "nfs4", "nas:/m"),
        max_cycle_latency: Duration::from_secs(30),
        max_median_latency: Duration::from_secs(30),
        ..quick()
    };
    let report = check_media_folder(&media, 10, &options).expect("report");
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["needed_bytes"], 10);
    assert_eq!(json["filesystem"]["fs_type"], "nfs4");
    assert_eq!(json["filesystem"]["class"], "network");
    assert_eq!(json["stability"]["cycles"], 5);
    let checks = json["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks.iter().filter_map(|c| c["check"].as_str()).collect();
    assert_eq!(
        names,
        [
            "reachable",
            "writable",
            "space",
            "filesystem",
            "network_share",
            "removable_media"
        ]
    );
    let network = &checks[4];
    assert_eq!(network["status"], "warning");
    assert!(network["message"]
        .as_str()
        .is_some_and(|m| m.contains("network share")));
}
