//! The `disks` section from sysinfo.

use sitrep_snapshot::{Disk, Section};
use sysinfo::Disks;

use super::{skip_unless_live, sysinfo_error};
use crate::Ctx;

/// Gathers the mounted filesystems sysinfo lists, with their space; sysinfo has no inode figures.
pub fn gather(ctx: &Ctx) -> Section<Vec<Disk>> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    let disks = match Disks::new_with_refreshed_list() {
        Ok(disks) => disks,
        Err(error) => {
            return Section::Error(sysinfo_error("Disks::new_with_refreshed_list", &error));
        }
    };
    Section::Ok(disks.iter().map(disk_of).collect())
}

fn disk_of(disk: &sysinfo::Disk) -> Disk {
    let total = disk.total_space();
    let available = disk.available_space();
    let used_percent =
        (total > 0).then(|| total.saturating_sub(available) as f64 / total as f64 * 100.0);
    Disk {
        mount_point: disk.mount_point().to_string_lossy().into_owned(),
        device: disk.name().to_string_lossy().into_owned(),
        fs_type: disk.file_system().to_string_lossy().into_owned(),
        read_only: disk.is_read_only(),
        total_bytes: Some(total),
        available_bytes: Some(available),
        used_percent,
        ..Disk::default()
    }
}
