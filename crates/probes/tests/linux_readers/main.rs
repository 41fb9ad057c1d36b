//! The Linux readers on fixture trees shaped like real machines, and on broken ones.
#![cfg(target_os = "linux")]

mod broken;
mod device_problems;
mod disks;
mod hardware;
mod network;
mod os;
mod peripherals;
mod printers;

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use expect_test::Expect;
use sitrep_snapshot::{Disk, Section};

pub fn fixture(machine: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(machine)
}

/// Checks `value`'s Debug form with the fixture's absolute path shown as `<root>`, so the
/// expectations hold wherever the repository is checked out.
pub fn check(expected: Expect, root: &Path, value: &impl Debug) {
    let text = format!("{value:#?}\n").replace(&root.display().to_string(), "<root>");
    expected.assert_eq(&text);
}

pub fn section_of<T: Debug>(section: Section<T>) -> T {
    match section {
        Section::Ok(value) => value,
        other => panic!("expected an ok section, got {other:?}"),
    }
}

/// One line per disk: what it is, and whether statvfs answered (the byte figures are those of
/// the fixture directories, so only their presence is checked).
pub fn disk_lines(disks: &[Disk]) -> Vec<String> {
    disks
        .iter()
        .map(|disk| {
            let figures = [disk.total_bytes, disk.available_bytes]
                .iter()
                .all(Option::is_some)
                && disk.used_percent.is_some();
            format!(
                "{} {} {} ro={} figures={figures} stat_error={:?}",
                disk.mount_point, disk.device, disk.fs_type, disk.read_only, disk.stat_error
            )
        })
        .collect()
}
