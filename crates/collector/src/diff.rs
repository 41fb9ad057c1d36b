//! What changed between two snapshots of one device, for the specialist who asks "what is
//! different since it last worked?": network (addresses, DNS, gateway, routes, links), disks,
//! findings, OS, probe outcomes and peripherals (USB devices, print queues, monitors, power).
//! Pure: no IO, no clock.
//!
//! A part is compared only when both snapshots have it: a section that failed or was skipped
//! on either side makes that part [`Part::NotComparable`], never "everything added" or
//! "everything removed". Every list is sorted, so the same pair always gives the same diff.

mod findings;
mod html;
mod machine;
mod network;
mod peripherals;
mod probes;
#[cfg(test)]
mod tests;

pub use findings::{ClearedFinding, FindingChanges, FindingRef, SeverityChange};
pub use html::diff_html;
pub use machine::{DiskChanges, DiskUsageChange, MountRef, OsChanges, TextChange};
pub use network::{
    AddressFamily, DnsChanges, Gateway, GatewayChange, InterfaceAddressRef, InterfaceChanges,
    InterfaceStateChange, NetworkChanges, RouteRef, RoutingChanges,
};
pub use peripherals::{
    BatteryHealthChange, DisplayChanges, DisplayEnabledChange, FlagChange, MonitorRef,
    PeripheralChanges, PowerChanges, PrinterChanges, PrinterStateChange, QueueChange, QueueRef,
    UsbChanges, UsbDeviceRef,
};
pub use probes::{ProbeChange, ProbeChanges, ProbeMethod, ProbeRef, ProbeState, ProbeStatus};

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sitrep_snapshot::{Section, SectionErrorKind, Severity, Snapshot};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::severity_schema;

/// The changes from an older snapshot (`from`) to a newer one (`to`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SnapshotDiff {
    /// The snapshot compared against, usually the last good one.
    pub from: SnapshotSide,
    pub to: SnapshotSide,
    pub os: Part<OsChanges>,
    pub network: NetworkChanges,
    pub disks: Part<DiskChanges>,
    pub probes: Part<ProbeChanges>,
    /// USB devices, print queues, monitors and power, each a part of its own.
    pub peripherals: PeripheralChanges,
    pub findings: FindingChanges,
}

/// One of the two snapshots a diff compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SnapshotSide {
    pub id: Uuid,
    pub taken_at: DateTime<Utc>,
    #[schema(schema_with = severity_schema)]
    pub worst_severity: Severity,
}

impl SnapshotSide {
    fn of(snapshot: &Snapshot) -> SnapshotSide {
        SnapshotSide {
            id: snapshot.id,
            taken_at: snapshot.taken_at,
            worst_severity: snapshot.worst_severity(),
        }
    }
}

/// One part of the diff: `{"compared": {...}}`, or `{"not_comparable": {...}}` when either
/// snapshot lacks the section it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part<T> {
    Compared(T),
    NotComparable(NotComparable),
}

/// Why a part could not be compared: what each snapshot says in place of the section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NotComparable {
    /// Why the older snapshot lacks the section, e.g. "skipped: probes turned off
    /// (--no-probes)"; `null` when it has it.
    pub from: Option<String>,
    /// The same for the newer snapshot.
    pub to: Option<String>,
}

impl<T: Changes> Part<T> {
    /// Whether there is nothing to show: compared, and nothing changed.
    pub fn is_empty(&self) -> bool {
        match self {
            Part::Compared(changes) => changes.is_empty(),
            Part::NotComparable(_) => false,
        }
    }
}

/// The changes of one part.
pub trait Changes {
    fn is_empty(&self) -> bool;
}

impl SnapshotDiff {
    /// Nothing changed, and every part could be compared.
    pub fn is_empty(&self) -> bool {
        self.os.is_empty()
            && self.network.is_empty()
            && self.disks.is_empty()
            && self.probes.is_empty()
            && self.peripherals.is_empty()
            && self.findings.is_empty()
    }
}

/// What changed from `old` to `new`.
pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    SnapshotDiff {
        from: SnapshotSide::of(old),
        to: SnapshotSide::of(new),
        os: compare(available(&old.os), available(&new.os), machine::os_changes),
        network: network::network_changes(available(&old.network), available(&new.network)),
        disks: compare(available(&old.disks), available(&new.disks), |old, new| {
            machine::disk_changes(old, new)
        }),
        probes: compare(
            available(&old.probes),
            available(&new.probes),
            |old, new| probes::probe_changes(old, new),
        ),
        peripherals: peripherals::peripheral_changes(
            available(&old.peripherals),
            available(&new.peripherals),
        ),
        findings: findings::finding_changes(&old.findings, &new.findings),
    }
}

/// A section's value, or why it is missing.
fn available<T>(section: &Section<T>) -> Result<&T, String> {
    match section {
        Section::Ok(value) => Ok(value),
        Section::Error(error) => Err(format!(
            "{}: {}",
            error_kind_label(error.kind),
            error.message
        )),
        Section::Skipped(reason) => Err(format!("skipped: {reason}")),
    }
}

fn error_kind_label(kind: SectionErrorKind) -> &'static str {
    match kind {
        SectionErrorKind::Io => "read error",
        SectionErrorKind::Parse => "not understood",
        SectionErrorKind::PermissionDenied => "permission denied",
        SectionErrorKind::Timeout => "timed out",
        SectionErrorKind::Unsupported => "unsupported",
        SectionErrorKind::Internal => "internal error",
    }
}

/// A part inside a section (a network's DNS settings, the peripherals' printers), or why it is
/// missing: the section's own reason when the whole section is.
fn within<'a, S, T>(
    section: &Result<&'a S, String>,
    pick: impl FnOnce(&'a S) -> &'a Section<T>,
) -> Result<&'a T, String> {
    match section {
        Ok(section) => available(pick(section)),
        Err(reason) => Err(reason.clone()),
    }
}

/// Compares two values when both are there.
fn compare<A, T>(
    old: Result<&A, String>,
    new: Result<&A, String>,
    changes: impl FnOnce(&A, &A) -> T,
) -> Part<T> {
    match (old, new) {
        (Ok(old), Ok(new)) => Part::Compared(changes(old, new)),
        (old, new) => Part::NotComparable(NotComparable {
            from: old.err(),
            to: new.err(),
        }),
    }
}

/// The items only in `new` and those only in `old`, each sorted and without repeats.
fn added_removed<T: Ord + Clone>(old: &[T], new: &[T]) -> (Vec<T>, Vec<T>) {
    let old: BTreeSet<&T> = old.iter().collect();
    let new: BTreeSet<&T> = new.iter().collect();
    (
        new.difference(&old).map(|&item| item.clone()).collect(),
        old.difference(&new).map(|&item| item.clone()).collect(),
    )
}
