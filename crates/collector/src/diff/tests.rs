//! The diff on recorded snapshot pairs (tests/data/README.md says where each came from), as
//! reviewable files under tests/data/diffs/ (`UPDATE_EXPECT=1 cargo test -p sitrep-collector
//! diff::` rewrites them), and the rules a diff keeps: not comparable instead of "everything
//! changed", deterministic order, noise left out, escaped HTML.

use chrono::Duration;
use expect_test::{expect, expect_file};
use sitrep_snapshot::{
    AddressScope, Disk, Interface, InterfaceAddress, OperState, Section, SectionErrorKind, Snapshot,
};
use uuid::Uuid;

use super::{Part, SnapshotDiff, diff, diff_html};

mod peripherals;

const OFFICE_OK: &str = include_str!("../../tests/data/office-ok.json");
const OFFICE_GATEWAY_DOWN: &str = include_str!("../../tests/data/office-gateway-down.json");
const OFFICE_MOVED: &str = include_str!("../../tests/data/office-moved.json");
const DESKTOP: &str = include_str!("../../tests/data/desktop-debian.json");
const VM: &str = include_str!("../../tests/data/vm.json");

fn recorded(json: &str) -> Snapshot {
    serde_json::from_str(json).expect("a recorded snapshot")
}

/// `snapshot` some days later, changed by `edit` and judged again by the real rules, with an
/// id of its own.
fn later(snapshot: &Snapshot, days: i64, edit: impl FnOnce(&mut Snapshot)) -> Snapshot {
    let mut later = snapshot.clone();
    later.id = Uuid::from_u128(snapshot.id.as_u128() + 1);
    later.taken_at = snapshot.taken_at + Duration::days(days);
    edit(&mut later);
    later.findings = sitrep_checks::judge(&later);
    later
}

fn disks(snapshot: &mut Snapshot) -> &mut Vec<Disk> {
    match &mut snapshot.disks {
        Section::Ok(disks) => disks,
        other => panic!("disks not gathered: {other:?}"),
    }
}

fn interfaces(snapshot: &mut Snapshot) -> &mut Vec<Interface> {
    match &mut snapshot.network {
        Section::Ok(network) => match &mut network.interfaces {
            Section::Ok(interfaces) => interfaces,
            other => panic!("interfaces not gathered: {other:?}"),
        },
        other => panic!("network not gathered: {other:?}"),
    }
}

/// Leaves `available` bytes on `mount_point`, with the used share as the Linux reader computes
/// it (used / (used + available)).
fn fill(snapshot: &mut Snapshot, mount_point: &str, available: u64) {
    let disk = disks(snapshot)
        .iter_mut()
        .find(|disk| disk.mount_point == mount_point)
        .expect("mounted");
    let (old_available, percent) = (
        disk.available_bytes.expect("figures") as f64,
        disk.used_percent.expect("figures"),
    );
    let used = percent / (100.0 - percent) * old_available + old_available - available as f64;
    disk.available_bytes = Some(available);
    disk.used_percent = Some(used / (used + available as f64) * 100.0);
}

/// A week on the desktop: upgraded to Debian 13, the system disk filled up, a USB stick
/// plugged in, and the file server's backup share gone.
fn desktop_a_week_later(desktop: &Snapshot) -> Snapshot {
    later(desktop, 7, |snapshot| {
        if let Section::Ok(os) = &mut snapshot.os {
            os.version = Some("13".into());
            os.pretty_name = Some("Debian GNU/Linux 13 (trixie)".into());
            os.kernel = Some("6.12.38+deb13-amd64".into());
        }
        fill(snapshot, "/", 1536 << 20);
        let disks = disks(snapshot);
        disks.retain(|disk| disk.mount_point != "/srv/backup");
        disks.push(Disk {
            mount_point: "/media/carol/KINGSTON".into(),
            device: "/dev/sdc1".into(),
            fs_type: "vfat".into(),
            total_bytes: Some(31_004_295_168),
            available_bytes: Some(30_870_585_344),
            used_percent: Some(0.43),
            ..Disk::default()
        });
    })
}

fn json(diff: &SnapshotDiff) -> String {
    serde_json::to_string_pretty(diff).expect("serializable") + "\n"
}

/// The fragment with a line break before each block element, so a change shows as a few
/// changed lines.
fn reviewable(diff: &SnapshotDiff) -> String {
    let mut html = diff_html(diff).into_string();
    for tag in ["<section", "<h2", "<h3", "<p", "<ul", "<li", "</section"] {
        html = html.replace(tag, &format!("\n{tag}"));
    }
    html.trim_start().to_string() + "\n"
}

#[test]
fn the_gateway_stops_answering() {
    let diff = diff(&recorded(OFFICE_OK), &recorded(OFFICE_GATEWAY_DOWN));
    expect_file!["../../tests/data/diffs/office-gateway-down.json"].assert_eq(&json(&diff));
    expect_file!["../../tests/data/diffs/office-gateway-down.html"].assert_eq(&reviewable(&diff));
}

#[test]
fn dhcp_moves_the_machine_to_another_subnet() {
    let diff = diff(&recorded(OFFICE_OK), &recorded(OFFICE_MOVED));
    expect_file!["../../tests/data/diffs/office-moved.json"].assert_eq(&json(&diff));
    expect_file!["../../tests/data/diffs/office-moved.html"].assert_eq(&reviewable(&diff));
}

#[test]
fn a_week_fills_the_disk_and_changes_mounts_and_release() {
    let desktop = recorded(DESKTOP);
    let diff = diff(&desktop, &desktop_a_week_later(&desktop));
    expect_file!["../../tests/data/diffs/desktop-week.json"].assert_eq(&json(&diff));
    expect_file!["../../tests/data/diffs/desktop-week.html"].assert_eq(&reviewable(&diff));
}

#[test]
fn a_warning_that_becomes_a_failure_changes_severity() {
    let desktop = recorded(DESKTOP);
    let filling = later(&desktop, 1, |snapshot| fill(snapshot, "/", 4 << 30));
    let full = later(&filling, 1, |snapshot| fill(snapshot, "/", 1 << 30));
    let changes = diff(&filling, &full).findings;
    expect![[r#"
        FindingChanges {
            appeared: [],
            cleared: [],
            severity_changed: [
                SeverityChange {
                    finding: FindingRef {
                        id: "disk.space",
                        subject: Some(
                            "/",
                        ),
                        severity: Fail,
                        title: "Disk / is 98 % full",
                    },
                    from: Warn,
                },
            ],
        }
    "#]]
    .assert_debug_eq(&changes);
    let cleared = diff(&full, &desktop).findings.cleared;
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert!(cleared[0].now_passing, "disk.space passes again");
}

#[test]
fn a_section_missing_on_either_side_is_not_comparable() {
    let vm = recorded(VM);
    let broken = later(&vm, 0, |snapshot| {
        if let Section::Ok(network) = &mut snapshot.network {
            network.dns = Section::error(
                SectionErrorKind::PermissionDenied,
                "cannot read /etc/resolv.conf: permission denied",
            );
        }
        snapshot.disks = Section::error(SectionErrorKind::Timeout, "disks: no answer within 10s");
    });
    let diff = diff(&vm, &broken);
    expect![[r#"
        {
          "compared": {
            "added": [],
            "addresses_added": [],
            "addresses_removed": [],
            "removed": [],
            "state_changed": []
          }
        }
        {
          "not_comparable": {
            "from": null,
            "to": "permission denied: cannot read /etc/resolv.conf: permission denied"
          }
        }
        {
          "not_comparable": {
            "from": null,
            "to": "timed out: disks: no answer within 10s"
          }
        }
        {
          "not_comparable": {
            "from": "skipped: probes turned off (--no-probes)",
            "to": "skipped: probes turned off (--no-probes)"
          }
        }
    "#]]
    .assert_eq(
        &[
            serde_json::to_value(&diff.network.interfaces),
            serde_json::to_value(&diff.network.dns),
            serde_json::to_value(&diff.disks),
            serde_json::to_value(&diff.probes),
        ]
        .into_iter()
        .map(|part| serde_json::to_string_pretty(&part.expect("JSON")).expect("JSON") + "\n")
        .collect::<String>(),
    );
    // The DNS findings the newer snapshot could not judge are not "cleared as fixed".
    assert!(!diff.is_empty());
    let html = diff_html(&diff).into_string();
    assert!(
        html.contains("<section class=\"diff-part\" id=\"diff-dns\"><h3>DNS settings</h3><p class=\"not-comparable\">Not comparable. Later snapshot: permission denied: cannot read /etc/resolv.conf: permission denied.</p></section>"),
        "{html}"
    );
}

#[test]
fn a_snapshot_compared_with_itself_has_no_changes() {
    // Recorded before the peripheral readers landed: it borrows the laptop's, so that every
    // part can be compared.
    let mut office = recorded(OFFICE_OK);
    office.peripherals = recorded(peripherals::LAPTOP).peripherals;
    let diff = diff(&office, &office);
    assert!(diff.is_empty(), "{diff:#?}");
    expect![[r#"<section id="diff"><h2>What changed</h2><p class="diff-range">From <a href="/snapshots/01a21287-91ac-7631-970e-fcb808e97193"><time datetime="2026-11-25T11:46:43.665176587+00:00">2026-11-25 11:46:43 UTC</time></a> <span class="badge pass">PASS</span> to <a href="/snapshots/01a21287-91ac-7631-970e-fcb808e97193"><time datetime="2026-11-25T11:46:43.665176587+00:00">2026-11-25 11:46:43 UTC</time></a> <span class="badge pass">PASS</span>.</p><p class="no-changes">No changes</p></section>"#]]
    .assert_eq(&diff_html(&diff).into_string());
}

#[test]
fn the_order_of_the_lists_in_a_snapshot_does_not_change_the_diff() {
    let (old, new) = (recorded(OFFICE_OK), recorded(OFFICE_MOVED));
    let mut shuffled = new.clone();
    shuffled.findings.reverse();
    if let Section::Ok(probes) = &mut shuffled.probes {
        probes.reverse();
    }
    if let Section::Ok(network) = &mut shuffled.network {
        if let Section::Ok(routing) = &mut network.routing {
            routing.routes.reverse();
        }
        if let Section::Ok(interfaces) = &mut network.interfaces {
            interfaces.reverse();
            interfaces
                .iter_mut()
                .for_each(|interface| interface.addresses.reverse());
        }
    }
    assert_eq!(diff(&old, &new), diff(&old, &shuffled));
}

#[test]
fn everyday_disk_churn_is_not_a_change() {
    let vm = recorded(VM);
    let available = disks(&mut vm.clone())[0].available_bytes.expect("figures");
    let churned = later(&vm, 0, |snapshot| {
        fill(snapshot, "/", available - (200 << 20))
    });
    assert_eq!(
        diff(&vm, &churned).disks,
        Part::Compared(Default::default())
    );
    let grown = later(&vm, 0, |snapshot| {
        fill(snapshot, "/", available - (2 << 30))
    });
    let Part::Compared(changes) = diff(&vm, &grown).disks else {
        panic!("disks are comparable");
    };
    assert_eq!(changes.usage.len(), 1, "{changes:?}");
    assert_eq!(changes.usage[0].used_bytes_delta, Some(2 << 30));
}

#[test]
fn a_renamed_host_is_a_change() {
    let vm = recorded(VM);
    let renamed = later(&vm, 0, |snapshot| {
        if let Section::Ok(os) = &mut snapshot.os {
            os.hostname = Some("ws-0815".into());
        }
    });
    let Part::Compared(os) = diff(&vm, &renamed).os else {
        panic!("os is comparable");
    };
    expect![[r#"
        OsChanges {
            version: None,
            kernel: None,
            hostname: Some(
                TextChange {
                    from: Some(
                        "vm",
                    ),
                    to: Some(
                        "ws-0815",
                    ),
                },
            ),
        }
    "#]]
    .assert_debug_eq(&os);
}

#[test]
fn hostile_names_stay_text_in_the_html() {
    let vm = recorded(VM);
    let script = "<script>alert(1)</script>";
    let hostile = later(&vm, 0, |snapshot| {
        interfaces(snapshot).push(Interface {
            name: script.into(),
            oper_state: OperState::Up,
            addresses: vec![InterfaceAddress {
                address: "10.9.9.9".parse().expect("address"),
                prefix_len: 24,
                scope: AddressScope::Private,
            }],
            ..Interface::default()
        });
        if let Section::Ok(os) = &mut snapshot.os {
            os.hostname = Some("\"><img src=x onerror=alert(2)>".into());
        }
        let disk = &mut disks(snapshot)[0];
        disk.mount_point = "/mnt/<b>&amp;".into();
    });
    let html = diff_html(&diff(&vm, &hostile)).into_string();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains(
            "<li class=\"added\"><span class=\"change\">Added</span> Interface &lt;script&gt;alert(1)&lt;/script&gt;</li>"
        ),
        "{html}"
    );
    assert!(
        html.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(html.contains("/mnt/&lt;b&gt;&amp;amp;"), "{html}");
}
