//! Proves the diff's two promises on arbitrary snapshots: a snapshot compared with itself shows
//! no change (every part it has is compared and empty), and a change to one part shows in that
//! part alone.

use proptest::prelude::*;
use sitrep_collector::diff::{Changes, Part, SnapshotDiff, diff};
use sitrep_snapshot::{Disk, Interface, Section, Snapshot, arbitrary};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_snapshot_compared_with_itself_shows_no_change(snapshot in arbitrary::snapshot()) {
        let same = diff(&snapshot, &snapshot);
        prop_assert!(nothing_changed(&same), "{:#?}", same);
        prop_assert_eq!(same.is_empty(), every_compared_section_gathered(&snapshot), "{:#?}", same);
    }

    #[test]
    fn a_change_to_one_part_shows_in_that_part_alone(
        snapshot in arbitrary::snapshot(),
        edit in prop::sample::select(&[Edit::Kernel, Edit::Disk, Edit::Interface][..]),
    ) {
        let mut edited = snapshot.clone();
        let edited_part_gathered = edit.apply(&mut edited);
        let mut changed = diff(&snapshot, &edited);
        let unchanged = diff(&snapshot, &snapshot);
        let edited_part_changed = match edit {
            Edit::Kernel => std::mem::replace(&mut changed.os, unchanged.os.clone()) != unchanged.os,
            Edit::Disk => std::mem::replace(&mut changed.disks, unchanged.disks.clone()) != unchanged.disks,
            Edit::Interface => {
                let interfaces = &unchanged.network.interfaces;
                std::mem::replace(&mut changed.network.interfaces, interfaces.clone()) != *interfaces
            }
        };
        prop_assert_eq!(edited_part_changed, edited_part_gathered, "{:?}", edit);
        prop_assert_eq!(changed, unchanged, "only the edited part differs");
    }
}

/// Changes to one part each; `apply` says whether that part was gathered (else nothing changes).
#[derive(Debug, Clone, Copy)]
enum Edit {
    Kernel,
    Disk,
    Interface,
}

impl Edit {
    fn apply(self, snapshot: &mut Snapshot) -> bool {
        match self {
            Edit::Kernel => match &mut snapshot.os {
                Section::Ok(os) => {
                    os.kernel = Some(format!(
                        "{} and a patch",
                        os.kernel.as_deref().unwrap_or("")
                    ));
                    true
                }
                _ => false,
            },
            Edit::Disk => match &mut snapshot.disks {
                Section::Ok(disks) => {
                    disks.push(Disk {
                        mount_point: "/mnt/not-there-before".to_string(),
                        ..Disk::default()
                    });
                    true
                }
                _ => false,
            },
            Edit::Interface => match &mut snapshot.network {
                Section::Ok(network) => match &mut network.interfaces {
                    Section::Ok(interfaces) => {
                        interfaces.push(Interface {
                            name: "tun-not-there-before".to_string(),
                            ..Interface::default()
                        });
                        true
                    }
                    _ => false,
                },
                _ => false,
            },
        }
    }
}

/// Every part is empty where compared; a part not comparable is never a change in itself.
fn nothing_changed(diff: &SnapshotDiff) -> bool {
    fn empty_if_compared<T: Changes>(part: &Part<T>) -> bool {
        match part {
            Part::Compared(changes) => changes.is_empty(),
            Part::NotComparable(why) => why.from == why.to,
        }
    }
    empty_if_compared(&diff.os)
        && empty_if_compared(&diff.disks)
        && empty_if_compared(&diff.probes)
        && empty_if_compared(&diff.network.interfaces)
        && empty_if_compared(&diff.network.routing)
        && empty_if_compared(&diff.network.dns)
        && empty_if_compared(&diff.peripherals.usb)
        && empty_if_compared(&diff.peripherals.printers)
        && empty_if_compared(&diff.peripherals.displays)
        && empty_if_compared(&diff.peripherals.power)
        && diff.findings.is_empty()
}

/// The sections the diff compares all hold a value, so every part can be compared.
fn every_compared_section_gathered(snapshot: &Snapshot) -> bool {
    let network = snapshot.network.ok();
    let peripherals = snapshot.peripherals.ok();
    snapshot.os.ok().is_some()
        && snapshot.disks.ok().is_some()
        && snapshot.probes.ok().is_some()
        && network.is_some_and(|network| {
            network.interfaces.ok().is_some()
                && network.routing.ok().is_some()
                && network.dns.ok().is_some()
        })
        && peripherals.is_some_and(|peripherals| {
            peripherals.usb.ok().is_some()
                && peripherals.printers.ok().is_some()
                && peripherals.displays.ok().is_some()
                && peripherals.power.ok().is_some()
        })
}
