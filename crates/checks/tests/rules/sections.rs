//! agent.section_unavailable.

use expect_test::expect;
use sitrep_snapshot::{Section, SectionErrorKind};

use crate::healthy::{healthy, judged, network, peripherals};

#[test]
fn every_section_gathered_passes_and_lists_skipped_ones() {
    expect![[r#"
        pass agent.section_unavailable: Snapshot complete: 17 sections gathered
            evidence: Gathered: os, hardware, disks, network.interfaces, network.routing, network.dns, network.proxy, probes, peripherals.usb, peripherals.printers, peripherals.displays, peripherals.audio, peripherals.power, peripherals.input, peripherals.bluetooth, peripherals.cameras, peripherals.device_problems
    "#]].assert_eq(&judged(&healthy(), "agent."));
}

#[test]
fn each_failed_section_warns_once_and_skipped_ones_do_not() {
    let mut snapshot = healthy();
    snapshot.hardware = Section::error(
        SectionErrorKind::Timeout,
        "sysinfo did not finish within 3 s",
    );
    network(&mut snapshot).dns = Section::error(
        SectionErrorKind::PermissionDenied,
        "/etc/resolv.conf: Permission denied (os error 13)",
    );
    network(&mut snapshot).proxy = Section::error(
        SectionErrorKind::Unsupported,
        "no proxy settings API on this platform",
    );
    snapshot.probes = Section::error(SectionErrorKind::Internal, "probe task panicked");
    snapshot.disks = Section::skipped("--sections os,network");
    expect![[r#"
        warn agent.section_unavailable [hardware]: Could not read the CPU and memory details
            evidence: hardware: timed out: sysinfo did not finish within 3 s
            remedy: Run the report again; if this part keeps timing out, send the report to second-line support.
        warn agent.section_unavailable [network.dns]: Could not read the DNS settings
            evidence: network.dns: permission denied: /etc/resolv.conf: Permission denied (os error 13)
            remedy: Run the report again with administrator rights (sudo sitrep report on Linux and macOS) so it can read this part.
        warn agent.section_unavailable [network.proxy]: Could not read the proxy settings
            evidence: network.proxy: not supported here: no proxy settings API on this platform
            remedy: Nothing to do: sitrep cannot read this on this system, so the checks that need it were skipped.
        warn agent.section_unavailable [probes]: Could not run the network probes
            evidence: probes: internal error: probe task panicked
            remedy: Send this report to second-line support: this part could not be read, so the checks that need it were skipped.
    "#]].assert_eq(&judged(&snapshot, "agent."));
}

#[test]
fn a_failed_network_section_is_named_as_a_whole() {
    let mut snapshot = healthy();
    snapshot.network = Section::error(
        SectionErrorKind::Io,
        "/sys/class/net: No such file or directory (os error 2)",
    );
    expect![[r#"
        warn agent.section_unavailable [network]: Could not read the network configuration
            evidence: network: read error: /sys/class/net: No such file or directory (os error 2)
            remedy: Send this report to second-line support: this part could not be read, so the checks that need it were skipped.
    "#]].assert_eq(&judged(&snapshot, "agent."));
}

#[test]
fn a_failed_peripheral_kind_is_named_alone() {
    let mut snapshot = healthy();
    peripherals(&mut snapshot).printers = Section::error(
        SectionErrorKind::Timeout,
        "CUPS at /run/cups/cups.sock, CUPS-Get-Printers: no complete answer within 4 s",
    );
    peripherals(&mut snapshot).cameras = Section::skipped("not gathered on this platform yet");
    expect![[r#"
        warn agent.section_unavailable [peripherals.printers]: Could not read the printers
            evidence: peripherals.printers: timed out: CUPS at /run/cups/cups.sock, CUPS-Get-Printers: no complete answer within 4 s
            remedy: Run the report again; if this part keeps timing out, send the report to second-line support.
    "#]].assert_eq(&judged(&snapshot, "agent."));
    snapshot.peripherals = Section::skipped("not requested (--sections)");
    expect![[r#"
        pass agent.section_unavailable: Snapshot complete: 8 sections gathered
            evidence: Gathered: os, hardware, disks, network.interfaces, network.routing, network.dns, network.proxy, probes; skipped: peripherals (not requested (--sections))
    "#]].assert_eq(&judged(&snapshot, "agent."));
}
