//! The `disks` reader: filtering and statvfs on the fixture directories.

use expect_test::expect;
use sitrep_probes::{Ctx, disks};

use crate::{check, disk_lines, fixture, section_of};

#[test]
fn laptop_ubuntu_disks_are_the_real_filesystems_with_figures() {
    let root = fixture("laptop-ubuntu");
    let disks = section_of(disks::gather(&Ctx::at(&root)));
    check(
        expect![[r#"
        [
            "/ /dev/nvme0n1p2 ext4 ro=false figures=true stat_error=None",
            "/boot/efi /dev/nvme0n1p1 vfat ro=false figures=true stat_error=None",
            "/mnt/nas nas.fritz.box:/volume1/media nfs4 ro=false figures=true stat_error=None",
            "/media/alice/My Passport /dev/sda1 exfat ro=false figures=true stat_error=None",
        ]
    "#]],
        &root,
        &disk_lines(&disks),
    );
}

#[test]
fn desktop_debian_disks_include_the_network_share_and_the_read_only_archive() {
    let root = fixture("desktop-debian");
    let disks = section_of(disks::gather(&Ctx::at(&root)));
    check(
        expect![[r#"
        [
            "/ /dev/nvme0n1p2 ext4 ro=false figures=true stat_error=None",
            "/boot/efi /dev/nvme0n1p1 vfat ro=false figures=true stat_error=None",
            "/home /dev/sda1 ext4 ro=false figures=true stat_error=None",
            "/srv/backup //fileserver.home.arpa/backup cifs ro=false figures=true stat_error=None",
            "/srv/archive /dev/sdb1 ext4 ro=true figures=true stat_error=None",
        ]
    "#]],
        &root,
        &disk_lines(&disks),
    );
}
