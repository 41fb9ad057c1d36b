//! os.reboot_pending and os.uptime_long.

use expect_test::expect;
use sitrep_snapshot::{Section, SectionErrorKind};

use crate::healthy::{DAY, healthy, judged, os};

#[test]
fn healthy_os_passes() {
    expect![[r#"
        pass os.reboot_pending: No restart pending
            evidence: The system does not ask for a restart
        pass os.uptime_long: Last restart 3 days 4 hours ago
            evidence: Up 3 days 4 hours (since 2024-05-31 05:30 UTC)
    "#]]
    .assert_eq(&judged(&healthy(), "os."));
}

#[test]
fn pending_reboot_warns_and_lists_packages() {
    let mut snapshot = healthy();
    os(&mut snapshot).reboot_required = true;
    let unnamed = judged(&snapshot, "os.reboot_pending");
    os(&mut snapshot).reboot_required_by =
        vec!["linux-image-6.1.0-22-amd64".to_owned(), "libc6".to_owned()];
    let named = judged(&snapshot, "os.reboot_pending");
    expect![[r#"
        warn os.reboot_pending: A restart is pending to finish installing updates
            evidence: The system reports that a restart is required
            remedy: Ask the user to save their work and restart the computer, then run the report again.
        warn os.reboot_pending: A restart is pending to finish installing updates
            evidence: Requested by: linux-image-6.1.0-22-amd64, libc6
            remedy: Ask the user to save their work and restart the computer, then run the report again.
    "#]].assert_eq(&format!("{unnamed}{named}"));
}

#[test]
fn uptime_warns_after_30_days() {
    let mut out = String::new();
    for uptime in [30 * DAY, 30 * DAY + 1, 45 * DAY + 7200] {
        let mut snapshot = healthy();
        os(&mut snapshot).uptime_seconds = Some(uptime);
        os(&mut snapshot).boot_time = None;
        out.push_str(&judged(&snapshot, "os.uptime_long"));
    }
    expect![[r#"
        pass os.uptime_long: Last restart 30 days ago
            evidence: Up 30 days
        warn os.uptime_long: The computer has not been restarted for 30 days
            evidence: Up 30 days
            remedy: Ask the user to save their work and restart the computer (a real restart, not sleep or shutdown with fast startup), then run the report again.
        warn os.uptime_long: The computer has not been restarted for 45 days
            evidence: Up 45 days 2 hours
            remedy: Ask the user to save their work and restart the computer (a real restart, not sleep or shutdown with fast startup), then run the report again.
    "#]].assert_eq(&out);
}

#[test]
fn failed_os_section_gives_only_the_section_warning() {
    let mut snapshot = healthy();
    snapshot.os = Section::error(
        SectionErrorKind::Parse,
        "/etc/os-release line 3: expected KEY=VALUE",
    );
    expect![[r#"
        --
        warn agent.section_unavailable [os]: Could not read the operating system details
            evidence: os: not understood: /etc/os-release line 3: expected KEY=VALUE
            remedy: Send this report to second-line support: this part could not be read, so the checks that need it were skipped.
    "#]].assert_eq(&format!(
        "{}--\n{}",
        judged(&snapshot, "os."),
        judged(&snapshot, "agent.section_unavailable")
    ));
}
