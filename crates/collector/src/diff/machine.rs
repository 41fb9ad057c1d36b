//! Operating system changes (release, kernel, host name) and disk changes (mounts that came or
//! went, used space that moved).

use std::collections::BTreeMap;

use serde::Serialize;
use sitrep_snapshot::{Disk, Os};
use utoipa::ToSchema;

use super::{Changes, added_removed};

/// A used-space change smaller than both of these is everyday churn (logs, caches), not news.
const NOTICEABLE_PERCENT_POINTS: f64 = 0.5;
const NOTICEABLE_BYTES: i64 = 1 << 30;

/// Each field is `null` when it did not change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct OsChanges {
    /// The release, e.g. "Ubuntu 22.04.4 LTS" to "Ubuntu 24.04.1 LTS".
    pub version: Option<TextChange>,
    pub kernel: Option<TextChange>,
    pub hostname: Option<TextChange>,
}

impl Changes for OsChanges {
    fn is_empty(&self) -> bool {
        self.version.is_none() && self.kernel.is_none() && self.hostname.is_none()
    }
}

/// A value before and after; `null` where the snapshot did not tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TextChange {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl TextChange {
    pub(super) fn of(from: Option<String>, to: Option<String>) -> Option<TextChange> {
        (from != to).then_some(TextChange { from, to })
    }
}

pub(super) fn os_changes(old: &Os, new: &Os) -> OsChanges {
    OsChanges {
        version: TextChange::of(release(old), release(new)),
        kernel: TextChange::of(old.kernel.clone(), new.kernel.clone()),
        hostname: TextChange::of(old.hostname.clone(), new.hostname.clone()),
    }
}

/// "Ubuntu 24.04.1 LTS"; the name and version where the OS gives no pretty name.
fn release(os: &Os) -> Option<String> {
    os.pretty_name.clone().or_else(|| {
        let version = os.version.as_deref().unwrap_or_default();
        let release = format!("{} {version}", os.name);
        Some(release.trim().to_string()).filter(|release| !release.is_empty())
    })
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, ToSchema)]
pub struct DiskChanges {
    /// Filesystems mounted since (a USB stick, a network share).
    pub added: Vec<MountRef>,
    /// Filesystems no longer mounted.
    pub removed: Vec<MountRef>,
    /// Filesystems whose used space moved by at least half a percent point or 1 GiB, by
    /// mount point.
    pub usage: Vec<DiskUsageChange>,
}

impl Changes for DiskChanges {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.usage.is_empty()
    }
}

/// A filesystem, known by where it is mounted and what is mounted there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct MountRef {
    pub mount_point: String,
    pub device: String,
    pub fs_type: String,
}

impl From<&Disk> for MountRef {
    fn from(disk: &Disk) -> MountRef {
        MountRef {
            mount_point: disk.mount_point.clone(),
            device: disk.device.clone(),
            fs_type: disk.fs_type.clone(),
        }
    }
}

/// Figures are `null` where either snapshot lacks them (a filesystem that did not answer).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DiskUsageChange {
    pub mount_point: String,
    /// Share used before, 0 to 100, one decimal.
    pub used_percent_from: Option<f64>,
    /// Share used after, 0 to 100, one decimal.
    pub used_percent_to: Option<f64>,
    /// Change in percent points, one decimal; positive when the disk filled up.
    pub used_percent_delta: Option<f64>,
    /// Change of the used space in bytes; positive when the disk filled up.
    pub used_bytes_delta: Option<i64>,
    /// Space left for ordinary users after.
    pub available_bytes: Option<u64>,
}

pub(super) fn disk_changes(old: &[Disk], new: &[Disk]) -> DiskChanges {
    let mounts = |disks: &[Disk]| disks.iter().map(MountRef::from).collect::<Vec<_>>();
    let (added, removed) = added_removed(&mounts(old), &mounts(new));
    let by_mount = |disks: &'_ [Disk]| -> BTreeMap<MountRef, Disk> {
        disks
            .iter()
            .map(|disk| (MountRef::from(disk), disk.clone()))
            .collect()
    };
    let old = by_mount(old);
    let usage = by_mount(new)
        .iter()
        .filter_map(|(mount, new)| usage_change(old.get(mount)?, new))
        .collect();
    DiskChanges {
        added,
        removed,
        usage,
    }
}

fn usage_change(old: &Disk, new: &Disk) -> Option<DiskUsageChange> {
    let used_percent_delta = old
        .used_percent
        .zip(new.used_percent)
        .map(|(old, new)| new - old);
    let used_bytes_delta = used_bytes(old)
        .zip(used_bytes(new))
        .map(|(old, new)| i64::try_from(new - old).unwrap_or(i64::MAX));
    let noticeable = used_percent_delta
        .is_some_and(|delta| delta.abs() >= NOTICEABLE_PERCENT_POINTS)
        || used_bytes_delta.is_some_and(|delta| delta.abs() >= NOTICEABLE_BYTES);
    noticeable.then(|| DiskUsageChange {
        mount_point: new.mount_point.clone(),
        used_percent_from: old.used_percent.map(one_decimal),
        used_percent_to: new.used_percent.map(one_decimal),
        used_percent_delta: used_percent_delta.map(one_decimal),
        used_bytes_delta,
        available_bytes: new.available_bytes,
    })
}

/// What ordinary users see taken: everything they cannot use.
fn used_bytes(disk: &Disk) -> Option<i128> {
    Some(i128::from(disk.total_bytes?) - i128::from(disk.available_bytes?))
}

pub(super) fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
