//! disk.space, disk.inodes, disk.root_read_only.

use expect_test::expect;
use sitrep_snapshot::{Section, SectionErrorKind};

use crate::healthy::{disk, disks, healthy, judged, os, root_disk};

#[test]
fn healthy_disks_pass_once_each_and_read_only_images_are_not_judged() {
    expect![[r#"
        pass disk.inodes: Inodes OK on 1 filesystem
            evidence: /: 13,919,261 of 15,302,618 inodes free (9.0 % used)
        pass disk.root_read_only: The system disk (/) is writable
            evidence: / is mounted read-write on /dev/nvme0n1p2 (ext4)
        pass disk.space: Disk space OK on 2 filesystems
            evidence: /: 128.0 GiB free of 233.5 GiB (45.2 % used); /boot/efi: 475.7 MiB free of 511.0 MiB (6.9 % used)
    "#]].assert_eq(&judged(&healthy(), "disk."));
}

#[test]
fn space_thresholds_at_90_and_97_percent() {
    let mut out = String::new();
    for used in [89.9, 90.0, 96.9, 97.0, 100.0] {
        let mut snapshot = healthy();
        *root_disk(&mut snapshot) = disk("/", "/dev/nvme0n1p2", "ext4", 250_718_100_684, used);
        out.push_str(&format!("-- {used}\n{}", judged(&snapshot, "disk.space")));
    }
    expect![[r#"
        -- 89.9
        pass disk.space: Disk space OK on 2 filesystems
            evidence: /: 23.6 GiB free of 233.5 GiB (89.9 % used); /boot/efi: 475.7 MiB free of 511.0 MiB (6.9 % used)
        -- 90
        warn disk.space [/]: Disk / is 90 % full
            evidence: 23.3 GiB free of 233.5 GiB (90.0 % used) on /dev/nvme0n1p2 (ext4)
            remedy: Ask the user to empty the Trash and the Downloads folder and remove large files they no longer need, then run the report again.
        -- 96.9
        warn disk.space [/]: Disk / is 96 % full
            evidence: 7.2 GiB free of 233.5 GiB (96.9 % used) on /dev/nvme0n1p2 (ext4)
            remedy: Ask the user to empty the Trash and the Downloads folder and remove large files they no longer need, then run the report again.
        -- 97
        fail disk.space [/]: Disk / is 97 % full
            evidence: 7.0 GiB free of 233.5 GiB (97.0 % used) on /dev/nvme0n1p2 (ext4)
            remedy: Free space now, before programs start failing: ask the user to empty the Trash and the Downloads folder and delete or move large files they no longer need, then run the report again.
        -- 100
        fail disk.space [/]: Disk / is 100 % full
            evidence: 0 B free of 233.5 GiB (100.0 % used) on /dev/nvme0n1p2 (ext4)
            remedy: Free space now, before programs start failing: ask the user to empty the Trash and the Downloads folder and delete or move large files they no longer need, then run the report again.
    "#]].assert_eq(&out);
}

#[test]
fn space_remediation_names_what_fills_boot_and_var() {
    let mut snapshot = healthy();
    disks(&mut snapshot).extend([
        disk("/boot", "/dev/nvme0n1p3", "ext4", 1_020_702_720, 98.5),
        disk("/var", "/dev/mapper/vg-var", "xfs", 21_464_350_720, 91.0),
        disk(
            "/home",
            "/dev/mapper/vg-home",
            "ext4",
            498_876_809_216,
            93.0,
        ),
    ]);
    expect![[r#"
        fail disk.space [/boot]: Disk /boot is 98 % full
            evidence: 14.6 MiB free of 973.4 MiB (98.5 % used) on /dev/nvme0n1p3 (ext4)
            remedy: Old kernels usually fill /boot: escalate to second-line support to remove the ones no longer used (e.g. `sudo apt autoremove --purge`).
        warn disk.space [/home]: Disk /home is 93 % full
            evidence: 32.5 GiB free of 464.6 GiB (93.0 % used) on /dev/mapper/vg-home (ext4)
            remedy: Ask the user to empty the Trash and the Downloads folder and remove large files they no longer need, then run the report again.
        warn disk.space [/var]: Disk /var is 91 % full
            evidence: 1.8 GiB free of 20.0 GiB (91.0 % used) on /dev/mapper/vg-var (xfs)
            remedy: Logs or package caches usually fill /var: escalate to second-line support to clean them up (e.g. `sudo journalctl --vacuum-size=200M`, `sudo apt clean`).
    "#]].assert_eq(&judged(&snapshot, "disk.space"));
}

#[test]
fn filesystems_without_figures_are_skipped() {
    let mut snapshot = healthy();
    let root = root_disk(&mut snapshot);
    root.total_bytes = None;
    root.available_bytes = None;
    root.used_percent = None;
    root.inodes_used_percent = None;
    root.stat_error = Some("statvfs timed out".to_owned());
    expect![[r#"
        pass disk.root_read_only: The system disk (/) is writable
            evidence: / is mounted read-write on /dev/nvme0n1p2 (ext4)
        pass disk.space: Disk space OK on 1 filesystem
            evidence: /boot/efi: 475.7 MiB free of 511.0 MiB (6.9 % used)
    "#]]
    .assert_eq(&judged(&snapshot, "disk."));
}

#[test]
fn full_read_only_filesystems_are_not_judged() {
    let mut snapshot = healthy();
    disks(&mut snapshot).retain(|disk| disk.read_only);
    expect![[""]].assert_eq(&judged(&snapshot, "disk."));
}

#[test]
fn inode_thresholds_at_90_and_97_percent() {
    let mut out = String::new();
    for used in [89.9, 90.0, 97.0] {
        let mut snapshot = healthy();
        let root = root_disk(&mut snapshot);
        root.inodes_used_percent = Some(used);
        root.inodes_free = root
            .inodes_total
            .map(|total| (total as f64 * (100.0 - used) / 100.0) as u64);
        out.push_str(&format!("-- {used}\n{}", judged(&snapshot, "disk.inodes")));
    }
    expect![[r#"
        -- 89.9
        pass disk.inodes: Inodes OK on 1 filesystem
            evidence: /: 1,545,564 of 15,302,618 inodes free (89.9 % used)
        -- 90
        warn disk.inodes [/]: Disk / has used 90 % of its inodes
            evidence: 1,530,261 of 15,302,618 inodes free (90.0 % used) on /dev/nvme0n1p2 (ext4)
            remedy: Huge numbers of small files (caches, mail queues, session or temporary files) use up the file entries even when space is left: escalate to second-line support to find and remove them.
        -- 97
        fail disk.inodes [/]: Disk / has used 97 % of its inodes
            evidence: 459,078 of 15,302,618 inodes free (97.0 % used) on /dev/nvme0n1p2 (ext4)
            remedy: Huge numbers of small files (caches, mail queues, session or temporary files) use up the file entries even when space is left: escalate to second-line support to find and remove them.
    "#]].assert_eq(&out);
}

#[test]
fn read_only_root_fails_on_linux_only() {
    let mut snapshot = healthy();
    root_disk(&mut snapshot).read_only = true;
    let linux = judged(&snapshot, "disk.root_read_only");
    os(&mut snapshot).family = "macos".to_owned();
    let macos = judged(&snapshot, "disk.root_read_only");
    snapshot.os = Section::skipped("not asked for");
    let unknown = judged(&snapshot, "disk.root_read_only");
    expect![[r#"
        -- linux
        fail disk.root_read_only [/]: The system disk (/) is read-only: nothing can be saved
            evidence: / is mounted read-only on /dev/nvme0n1p2 (ext4)
            remedy: Linux does this after a disk error. Ask the user to save open work to a USB stick or a network drive and restart; if / is still read-only afterwards, escalate to second-line support (the disk may be failing).
        -- macos
        -- no os section
    "#]].assert_eq(&format!("-- linux\n{linux}-- macos\n{macos}-- no os section\n{unknown}"));
}

#[test]
fn missing_disks_section_gives_only_the_section_warning() {
    let mut snapshot = healthy();
    snapshot.disks = Section::error(
        SectionErrorKind::Io,
        "/proc/self/mountinfo: No such file or directory (os error 2)",
    );
    expect![[r#"
        --
        warn agent.section_unavailable [disks]: Could not read the disks
            evidence: disks: read error: /proc/self/mountinfo: No such file or directory (os error 2)
            remedy: Send this report to second-line support: this part could not be read, so the checks that need it were skipped.
    "#]].assert_eq(&format!(
        "{}--\n{}",
        judged(&snapshot, "disk."),
        judged(&snapshot, "agent.section_unavailable")
    ));
}
