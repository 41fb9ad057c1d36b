//! `judge` as a whole: ordering, one pass per healthy rule, and the `RULES` table.

use expect_test::{expect, expect_file};
use sitrep_checks::{RULES, judge};
use sitrep_snapshot::{
    Disk, Finding, PrinterState, ProbeFailureKind, ProbeOutcome, Section, SectionErrorKind,
    Severity, Snapshot, TargetRole,
};

use crate::healthy::{
    DAY, MIB, address, answer, bluetooth, certificate, device_problems, disk, disks, displays,
    dns_config, dns_detail, dns_name, failed, hardware, healthy, http_detail, interface, os,
    peripherals, ping, power, printers, probe, probes, render, root_disk, routing, usb_devices,
};
use crate::healthy_peripherals::{driverless_wifi_card, usb_device};

/// "fail disk.space [/]" per finding, enough to see the order.
fn order(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|finding| {
            let subject = finding
                .subject
                .as_deref()
                .map(|subject| format!(" [{subject}]"))
                .unwrap_or_default();
            format!("{} {}{subject}\n", finding.severity.as_str(), finding.id)
        })
        .collect()
}

#[test]
fn healthy_snapshot_gives_one_pass_per_applicable_rule() {
    let findings = judge(&healthy());
    assert!(
        findings
            .iter()
            .all(|finding| finding.severity == Severity::Pass)
    );
    expect![[r#"
        pass agent.section_unavailable: Snapshot complete: 17 sections gathered
            evidence: Gathered: os, hardware, disks, network.interfaces, network.routing, network.dns, network.proxy, probes, peripherals.usb, peripherals.printers, peripherals.displays, peripherals.audio, peripherals.power, peripherals.input, peripherals.bluetooth, peripherals.cameras, peripherals.device_problems
        pass battery.health: Battery health OK on 1 battery
            evidence: BAT0 (5B10W13975, SMP, Li-poly): 52.7 Wh of 57.0 Wh design (92.5 %), 112 cycles, charged 81 %
        pass bluetooth.blocked: Bluetooth is on (hci0)
            evidence: hci0: not blocked
        pass device.problem: Every device has a working driver
            evidence: No device reports a problem
        pass disk.inodes: Inodes OK on 1 filesystem
            evidence: /: 13,919,261 of 15,302,618 inodes free (9.0 % used)
        pass disk.root_read_only: The system disk (/) is writable
            evidence: / is mounted read-write on /dev/nvme0n1p2 (ext4)
        pass disk.space: Disk space OK on 2 filesystems
            evidence: /: 128.0 GiB free of 233.5 GiB (45.2 % used); /boot/efi: 475.7 MiB free of 511.0 MiB (6.9 % used)
        pass display.disabled: 1 external monitor connected and in use
            evidence: DP-1: DELL U2518D (serial 3C4YP86S582L)
        pass memory.available_low: Memory OK: 9.5 GiB available
            evidence: 9.5 GiB available of 16.0 GiB (59.3 %); swap 205.0 MiB of 2.0 GiB used (10.0 %)
        pass memory.swap_full: Swap OK: 205.0 MiB of 2.0 GiB used
            evidence: swap 205.0 MiB of 2.0 GiB used (10.0 %); memory 9.5 GiB available of 16.0 GiB (59.3 %)
        pass net.dns.disagree: DNS servers agree on 1 name
            evidence: intranet.corp.example: 10.1.2.3 from 10.0.0.53 and 10.0.0.54
        pass net.dns.name_unresolved: intranet.corp.example resolves
            evidence: intranet.corp.example: 10.1.2.3
        pass net.dns.no_servers: 2 DNS servers configured
            evidence: 10.0.0.53, 10.0.0.54 (from /run/systemd/resolve/resolv.conf; behind the local stub 127.0.0.53; search corp.example)
        pass net.dns.unreachable: 2 DNS servers answer
            evidence: 10.0.0.53: NS NOERROR in 12.0 ms; 10.0.0.54: NS NOERROR in 12.0 ms
        pass net.gateway.loss: Gateway 192.168.1.1 answers in 1.2 ms
            evidence: 192.168.1.1: 5 of 5 answered (0.0 % loss), round trip min/avg/max 0.8/1.2/2.5 ms
        pass net.http.certificate: 1 HTTPS certificate trusted
            evidence: intranet.corp.example: subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, valid until 2024-08-02 (60 days left)
        pass net.http.failed: https://intranet.corp.example/health answers
            evidence: https://intranet.corp.example/health: HTTP 200 in 45.0 ms
        pass net.ipv4.none: IPv4 address 192.168.1.23 on eth0
            evidence: eth0 192.168.1.23/24
        pass net.ping.unreachable: printer.corp.example answers pings
            evidence: printer.corp.example (10.1.2.40): 5 of 5 answered (0.0 % loss), round trip min/avg/max 0.8/1.2/2.5 ms
        pass net.probe.permission: Ping is permitted
            evidence: 2 ping probes sent through the raw ICMP socket
        pass net.route.no_default: Default route via 192.168.1.1 (eth0)
            evidence: default via 192.168.1.1 dev eth0 metric 100
        pass net.tcp.unreachable: 1 TCP service reachable
            evidence: mail.corp.example:993: 10.1.2.5:993 connected in 12.3 ms
        pass os.reboot_pending: No restart pending
            evidence: The system does not ask for a restart
        pass os.uptime_long: Last restart 3 days 4 hours ago
            evidence: Up 3 days 4 hours (since 2024-05-31 05:30 UTC)
        pass printer.jobs_stuck: No print jobs stuck (0 jobs waiting)
            evidence: No jobs waiting
        pass printer.stopped: 1 print queue ready
            evidence: Office: idle
        pass usb.no_driver: 1 USB device with drivers
            evidence: USB device 046d:c52b: usbhid
    "#]].assert_eq(&render(&findings));
}

#[test]
fn findings_are_sorted_worst_first_then_by_id_then_subject() {
    let mut snapshot = healthy();
    disks(&mut snapshot).extend([
        disk("/var", "/dev/mapper/vg-var", "xfs", 21_464_350_720, 98.0),
        disk(
            "/home",
            "/dev/mapper/vg-home",
            "ext4",
            498_876_809_216,
            99.0,
        ),
        disk("/data", "/dev/sdb1", "ext4", 998_876_809_216, 91.0),
    ]);
    hardware(&mut snapshot).memory.available_bytes = 300 * MIB;
    os(&mut snapshot).reboot_required = true;
    let dead = probe(&mut snapshot, "dns", "10.0.0.54", None);
    dead.outcome = ProbeOutcome::Failure;
    dead.failure = Some(failed(ProbeFailureKind::Timeout, "no response within 2 s"));
    expect![[r#"
        fail disk.space [/home]
        fail disk.space [/var]
        fail memory.available_low
        fail net.dns.unreachable [10.0.0.54]
        warn disk.space [/data]
        warn os.reboot_pending
        pass agent.section_unavailable
        pass battery.health
        pass bluetooth.blocked
        pass device.problem
        pass disk.inodes
        pass disk.root_read_only
        pass display.disabled
        pass memory.swap_full
        pass net.dns.disagree
        pass net.dns.name_unresolved
        pass net.dns.no_servers
        pass net.gateway.loss
        pass net.http.certificate
        pass net.http.failed
        pass net.ipv4.none
        pass net.ping.unreachable
        pass net.probe.permission
        pass net.route.no_default
        pass net.tcp.unreachable
        pass os.uptime_long
        pass printer.jobs_stuck
        pass printer.stopped
        pass usb.no_driver
    "#]]
    .assert_eq(&order(&judge(&snapshot)));
}

#[test]
fn rules_table_has_unique_ids_and_is_documented() {
    let mut listing = String::from(
        "# Findings\n\nEvery rule `sitrep report` applies, with its stable id and thresholds. \
         Generated from `sitrep_checks::RULES` by `UPDATE_EXPECT=1 cargo test -p sitrep-checks`.\n\n\
         | id | what it checks | thresholds |\n| --- | --- | --- |\n",
    );
    for rule in RULES {
        assert!(
            !rule.description.is_empty() && !rule.thresholds.is_empty(),
            "{} needs text",
            rule.id
        );
        assert_eq!(
            RULES.iter().filter(|other| other.id == rule.id).count(),
            1,
            "{} twice",
            rule.id
        );
        listing.push_str(&format!(
            "| `{}` | {} | {} |\n",
            rule.id, rule.description, rule.thresholds
        ));
    }
    expect_file!["../../../../docs/findings.md"].assert_eq(&listing);
}

/// Every kind of trouble at once, as far as the rules can see them together.
fn broken() -> Snapshot {
    let mut snapshot = healthy();
    os(&mut snapshot).reboot_required = true;
    os(&mut snapshot).reboot_required_by = vec!["linux-image-6.1.0-22-amd64".to_owned()];
    os(&mut snapshot).uptime_seconds = Some(45 * DAY);
    hardware(&mut snapshot).memory.available_bytes = 200 * MIB;
    hardware(&mut snapshot).swap.free_bytes = 100 * MIB;
    root_disk(&mut snapshot).read_only = true;
    disks(&mut snapshot).push(Disk {
        inodes_used_percent: Some(98.0),
        ..disk("/home", "/dev/nvme0n1p3", "ext4", 500_000_000_000, 99.0)
    });
    let eth0 = interface(&mut snapshot, "eth0");
    eth0.addresses = vec![address("169.254.12.34", 16)];
    eth0.ipv4_link_local_only = true;
    routing(&mut snapshot).routes.clear();
    routing(&mut snapshot).default_gateways.clear();
    dns_config(&mut snapshot).servers.clear();

    *probe(&mut snapshot, "ping", "192.168.1.1", None) =
        ping(TargetRole::Gateway, "192.168.1.1", "192.168.1.1", 0);
    *probe(&mut snapshot, "ping", "printer.corp.example", None) = ping(
        TargetRole::Configured,
        "printer.corp.example",
        "10.1.2.40",
        3,
    );
    let dead = probe(&mut snapshot, "dns", "10.0.0.53", Some("10.0.0.53"));
    dead.outcome = ProbeOutcome::Failure;
    dead.failure = Some(failed(ProbeFailureKind::Timeout, "no answer within 2 s"));
    dns_detail(dead).answers = vec![answer("NS", None, &[])];
    let refusing = probe(&mut snapshot, "dns", "10.0.0.54", Some("10.0.0.54"));
    refusing.outcome = ProbeOutcome::Failure;
    refusing.failure = Some(failed(
        ProbeFailureKind::DnsError,
        "the server answered REFUSED",
    ));
    dns_detail(refusing).answers = vec![answer("NS", Some("REFUSED"), &[])];
    let split = probe(
        &mut snapshot,
        "dns",
        "intranet.corp.example",
        Some("10.0.0.54"),
    );
    split.outcome = ProbeOutcome::Failure;
    split.failure = Some(failed(ProbeFailureKind::NameNotFound, "NXDOMAIN"));
    dns_detail(split).answers = vec![
        answer("A", Some("NXDOMAIN"), &[]),
        answer("AAAA", Some("NXDOMAIN"), &[]),
    ];
    for server in ["10.0.0.53", "10.0.0.54"] {
        let mut missing = dns_name("wiki.corp.example", server, &[]);
        missing.outcome = ProbeOutcome::Failure;
        missing.failure = Some(failed(ProbeFailureKind::NameNotFound, "NXDOMAIN"));
        dns_detail(&mut missing).answers = vec![
            answer("A", Some("NXDOMAIN"), &[]),
            answer("AAAA", Some("NXDOMAIN"), &[]),
        ];
        probes(&mut snapshot).push(missing);
    }
    let tcp = probe(&mut snapshot, "tcp", "mail.corp.example:993", None);
    tcp.outcome = ProbeOutcome::Failure;
    tcp.failure = Some(failed(ProbeFailureKind::Refused, "connection refused"));
    let http = probe(
        &mut snapshot,
        "http",
        "https://intranet.corp.example/health",
        None,
    );
    http.outcome = ProbeOutcome::Failure;
    http.failure = Some(failed(
        ProbeFailureKind::HttpStatus,
        "HTTP 503 Service Unavailable",
    ));
    http_detail(http).status = Some(503);
    http_detail(http).certificate = Some(certificate(5));
    let office = &mut printers(&mut snapshot).queues[0];
    office.state = PrinterState::Stopped;
    office.state_reasons = vec!["paused".to_owned()];
    office.jobs_waiting = 2;
    office.oldest_job_age_s = Some(2 * 3600);
    power(&mut snapshot).batteries[0].health_pct = Some(41.0);
    usb_devices(&mut snapshot).push(usb_device(
        "1-6",
        "0bda",
        "b812",
        "vendor-specific",
        &[("1-6:1.0", "vendor-specific", None)],
    ));
    displays(&mut snapshot)[1].enabled = false;
    bluetooth(&mut snapshot).rfkill[0].hard_blocked = true;
    device_problems(&mut snapshot).push(driverless_wifi_card());
    peripherals(&mut snapshot).cameras =
        Section::error(SectionErrorKind::Io, "cannot read /sys/class/video4linux");
    snapshot
}

#[test]
fn a_broken_snapshot_trips_every_rule_that_can_fire_together() {
    let findings = judge(&broken());
    for finding in &findings {
        let rule = RULES
            .iter()
            .find(|rule| rule.id == finding.id)
            .expect("finding from a listed rule");
        assert!(
            rule.check(&broken()).contains(finding),
            "{} comes from its own rule",
            finding.id
        );
        assert_eq!(
            finding.remediation.is_empty(),
            finding.severity == Severity::Pass,
            "{finding:?}"
        );
    }
    let quiet: Vec<&str> = RULES
        .iter()
        .map(|rule| rule.id)
        .filter(|id| {
            !findings
                .iter()
                .any(|finding| finding.id == *id && finding.severity != Severity::Pass)
        })
        .collect();
    // net.ipv4.none stays silent because net.ipv4.apipa explains the missing address, and ping
    // permission cannot fail while pings ran; both are covered by their own tests.
    assert_eq!(quiet, ["net.ipv4.none", "net.probe.permission"]);
    expect![[r#"
        fail disk.inodes [/home]
        fail disk.root_read_only [/]
        fail disk.space [/home]
        fail memory.available_low
        fail net.dns.name_unresolved [wiki.corp.example]
        fail net.dns.no_servers
        fail net.dns.server_error [10.0.0.54]
        fail net.dns.unreachable [10.0.0.53]
        fail net.gateway.loss [192.168.1.1]
        fail net.http.failed [https://intranet.corp.example/health]
        fail net.ipv4.apipa [eth0]
        fail net.route.no_default
        fail net.tcp.unreachable [mail.corp.example:993]
        fail printer.jobs_stuck [Office]
        fail printer.stopped [Office]
        warn agent.section_unavailable [peripherals.cameras]
        warn battery.health [BAT0]
        warn bluetooth.blocked [hci0]
        warn device.problem [0000:03:00.0]
        warn display.disabled [card1-DP-1]
        warn memory.swap_full
        warn net.dns.disagree [intranet.corp.example]
        warn net.http.certificate [https://intranet.corp.example/health]
        warn net.ping.unreachable [printer.corp.example]
        warn os.reboot_pending
        warn os.uptime_long
        warn usb.no_driver [1-6]
        pass net.probe.permission
    "#]]
    .assert_eq(&order(&findings));
}
