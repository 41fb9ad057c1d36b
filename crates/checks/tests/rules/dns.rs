//! net.dns.no_servers, net.dns.unreachable, net.dns.server_error, net.dns.name_unresolved, net.dns.disagree.

use expect_test::expect;
use sitrep_snapshot::{
    OperState, ProbeFailureKind, ProbeOutcome, ProbeResult, Section, SectionErrorKind, TargetRole,
};

use crate::healthy::{
    answer, dns_config, dns_detail, dns_name, failed, healthy, interface, judged, probe, probes,
};

fn silence(probe: &mut ProbeResult, kind: ProbeFailureKind, message: &str) {
    probe.outcome = ProbeOutcome::Failure;
    probe.elapsed_ms = 2000.0;
    probe.failure = Some(failed(kind, message));
    for answer in &mut dns_detail(probe).answers {
        answer.rcode = None;
        answer.addresses.clear();
    }
}

#[test]
fn healthy_dns_passes() {
    expect![[r#"
        pass net.dns.disagree: DNS servers agree on 1 name
            evidence: intranet.corp.example: 10.1.2.3 from 10.0.0.53 and 10.0.0.54
        pass net.dns.name_unresolved: intranet.corp.example resolves
            evidence: intranet.corp.example: 10.1.2.3
        pass net.dns.no_servers: 2 DNS servers configured
            evidence: 10.0.0.53, 10.0.0.54 (from /run/systemd/resolve/resolv.conf; behind the local stub 127.0.0.53; search corp.example)
        pass net.dns.unreachable: 2 DNS servers answer
            evidence: 10.0.0.53: NS NOERROR in 12.0 ms; 10.0.0.54: NS NOERROR in 12.0 ms
    "#]].assert_eq(&judged(&healthy(), "net.dns"));
}

#[test]
fn one_dead_server_fails_alone() {
    let mut snapshot = healthy();
    silence(
        probe(&mut snapshot, "dns", "10.0.0.54", None),
        ProbeFailureKind::Timeout,
        "no response within 2 s",
    );
    expect![[r#"
        fail net.dns.unreachable [10.0.0.54]: DNS server 10.0.0.54 does not answer
            evidence: No answer after 2000.0 ms (timed out): no response within 2 s
            remedy: The other DNS servers still answer, but lookups may be slow while the computer waits for this one. If it persists, escalate: the settings may name a server that no longer exists.
    "#]].assert_eq(&judged(&snapshot, "net.dns.unreachable"));
}

#[test]
fn every_dead_server_fails_and_says_none_answers() {
    let mut snapshot = healthy();
    silence(
        probe(&mut snapshot, "dns", "10.0.0.53", None),
        ProbeFailureKind::Timeout,
        "no response within 2 s",
    );
    silence(
        probe(&mut snapshot, "dns", "10.0.0.54", None),
        ProbeFailureKind::Refused,
        "ICMP port unreachable",
    );
    for server in ["10.0.0.53", "10.0.0.54"] {
        silence(
            probe(&mut snapshot, "dns", "intranet.corp.example", Some(server)),
            ProbeFailureKind::Timeout,
            "no response within 2 s",
        );
    }
    // The names are not judged without an answer: the dead servers are the finding.
    expect![[r#"
        fail net.dns.unreachable [10.0.0.53]: DNS server 10.0.0.53 does not answer
            evidence: No answer after 2000.0 ms (timed out): no response within 2 s; none of the 2 DNS servers answers
            remedy: No name can be looked up, so web sites and mail fail although the network is connected. Ask the user to reconnect the network (and the VPN, if one is used) and to restart the router if it is theirs; if it persists, escalate with this report.
        fail net.dns.unreachable [10.0.0.54]: DNS server 10.0.0.54 does not answer
            evidence: No answer after 2000.0 ms (its DNS port is closed): ICMP port unreachable; none of the 2 DNS servers answers
            remedy: No name can be looked up, so web sites and mail fail although the network is connected. Ask the user to reconnect the network (and the VPN, if one is used) and to restart the router if it is theirs; if it persists, escalate with this report.
        pass net.dns.no_servers: 2 DNS servers configured
            evidence: 10.0.0.53, 10.0.0.54 (from /run/systemd/resolve/resolv.conf; behind the local stub 127.0.0.53; search corp.example)
    "#]].assert_eq(&judged(&snapshot, "net.dns"));
}

#[test]
fn server_answering_refused_is_an_error_not_unreachable() {
    let mut snapshot = healthy();
    let refusing = probe(&mut snapshot, "dns", "10.0.0.54", None);
    refusing.outcome = ProbeOutcome::Failure;
    refusing.failure = Some(failed(
        ProbeFailureKind::DnsError,
        "server answered REFUSED",
    ));
    dns_detail(refusing).answers = vec![answer("NS", Some("REFUSED"), &[])];
    expect![[r#"
        pass net.dns.unreachable: 2 DNS servers answer
            evidence: 10.0.0.53: NS NOERROR in 12.0 ms; 10.0.0.54: NS REFUSED in 12.0 ms
        fail net.dns.server_error [10.0.0.54]: DNS server 10.0.0.54 answers with an error (REFUSED)
            evidence: Asked about ".": NS REFUSED in 12.0 ms; server answered REFUSED
            remedy: The server is reachable but will not look names up for this computer: REFUSED usually means it serves another network (e.g. a VPN that is not connected), SERVFAIL that it cannot reach the internet itself. Ask the user to reconnect the VPN or restart the router; escalate if it persists.
    "#]].assert_eq(&format!(
        "{}{}",
        judged(&snapshot, "net.dns.unreachable"),
        judged(&snapshot, "net.dns.server_error")
    ));
}

#[test]
fn name_that_no_server_resolves_fails() {
    let mut snapshot = healthy();
    for server in ["10.0.0.53", "10.0.0.54"] {
        let nxdomain = probe(&mut snapshot, "dns", "intranet.corp.example", Some(server));
        nxdomain.outcome = ProbeOutcome::Failure;
        nxdomain.failure = Some(failed(ProbeFailureKind::NameNotFound, "NXDOMAIN"));
        dns_detail(nxdomain).answers = vec![
            answer("A", Some("NXDOMAIN"), &[]),
            answer("AAAA", Some("NXDOMAIN"), &[]),
        ];
    }
    probes(&mut snapshot).extend([
        dns_name("wiki.corp.example", "10.0.0.53", &[]),
        dns_name("wiki.corp.example", "10.0.0.54", &[]),
    ]);
    expect![[r#"
        fail net.dns.name_unresolved [intranet.corp.example]: intranet.corp.example does not exist in DNS (NXDOMAIN)
            evidence: NXDOMAIN from 10.0.0.53 and 10.0.0.54
            remedy: Check that the name is spelled correctly. Internal names often resolve only while the VPN is connected: ask the user to connect it and run the report again; otherwise report the name to whoever runs the company's DNS.
        fail net.dns.name_unresolved [wiki.corp.example]: wiki.corp.example does not resolve
            evidence: no data from 10.0.0.53 and 10.0.0.54
            remedy: Check that the name is spelled correctly. Internal names often resolve only while the VPN is connected: ask the user to connect it and run the report again; otherwise report the name to whoever runs the company's DNS.
        pass net.dns.disagree: DNS servers agree on 2 names
            evidence: intranet.corp.example: NXDOMAIN from 10.0.0.53 and 10.0.0.54; wiki.corp.example: no data from 10.0.0.53 and 10.0.0.54
    "#]].assert_eq(&format!(
        "{}{}",
        judged(&snapshot, "net.dns.name_unresolved"),
        judged(&snapshot, "net.dns.disagree")
    ));
}

#[test]
fn name_resolved_by_one_server_only_is_a_disagreement() {
    let mut snapshot = healthy();
    let nxdomain = probe(
        &mut snapshot,
        "dns",
        "intranet.corp.example",
        Some("10.0.0.54"),
    );
    dns_detail(nxdomain).answers = vec![
        answer("A", Some("NXDOMAIN"), &[]),
        answer("AAAA", Some("NXDOMAIN"), &[]),
    ];
    expect![[r#"
        pass net.dns.name_unresolved: intranet.corp.example resolves
            evidence: intranet.corp.example: 10.1.2.3
        warn net.dns.disagree [intranet.corp.example]: DNS servers disagree about intranet.corp.example
            evidence: 10.1.2.3 from 10.0.0.53; NXDOMAIN from 10.0.0.54
            remedy: Different DNS servers give different answers, typical when a VPN's DNS server and the router's are both in use (split DNS). Ask the user to reconnect the VPN; if it persists, escalate with this report. Large web sites legitimately answer with different addresses.
    "#]].assert_eq(&format!(
        "{}{}",
        judged(&snapshot, "net.dns.name_unresolved"),
        judged(&snapshot, "net.dns.disagree")
    ));
}

#[test]
fn disjoint_addresses_disagree_and_overlapping_ones_agree() {
    let mut snapshot = healthy();
    probes(&mut snapshot).extend([
        dns_name("vpn.corp.example", "10.0.0.53", &["10.9.0.1", "10.9.0.2"]),
        dns_name("vpn.corp.example", "10.0.0.54", &["10.9.0.2"]),
        dns_name("git.corp.example", "10.0.0.53", &["10.1.5.7"]),
        dns_name("git.corp.example", "10.0.0.54", &["203.0.113.7"]),
    ]);
    expect![[r#"
        warn net.dns.disagree [git.corp.example]: DNS servers disagree about git.corp.example
            evidence: 10.1.5.7 from 10.0.0.53; 203.0.113.7 from 10.0.0.54
            remedy: Different DNS servers give different answers, typical when a VPN's DNS server and the router's are both in use (split DNS). Ask the user to reconnect the VPN; if it persists, escalate with this report. Large web sites legitimately answer with different addresses.
    "#]].assert_eq(&judged(&snapshot, "net.dns.disagree"));
}

#[test]
fn a_server_error_on_a_name_counts_as_an_answer_but_not_for_comparison() {
    let mut snapshot = healthy();
    let mut servfail = dns_name("erp.corp.example", "10.0.0.53", &[]);
    servfail.outcome = ProbeOutcome::Failure;
    servfail.failure = Some(failed(ProbeFailureKind::DnsError, "SERVFAIL"));
    dns_detail(&mut servfail).answers = vec![
        answer("A", Some("SERVFAIL"), &[]),
        answer("AAAA", Some("SERVFAIL"), &[]),
    ];
    let mut requested = dns_name("erp.corp.example", "10.0.0.54", &[]);
    requested.role = TargetRole::Requested;
    probes(&mut snapshot).extend([servfail, requested]);
    expect![[r#"
        fail net.dns.name_unresolved [erp.corp.example]: erp.corp.example does not resolve
            evidence: SERVFAIL from 10.0.0.53; no data from 10.0.0.54
            remedy: Check that the name is spelled correctly. Internal names often resolve only while the VPN is connected: ask the user to connect it and run the report again; otherwise report the name to whoever runs the company's DNS.
        pass net.dns.disagree: DNS servers agree on 1 name
            evidence: intranet.corp.example: 10.1.2.3 from 10.0.0.53 and 10.0.0.54
    "#]].assert_eq(&format!(
        "{}{}",
        judged(&snapshot, "net.dns.name_unresolved"),
        judged(&snapshot, "net.dns.disagree")
    ));
}

#[test]
fn no_configured_server_fails_unless_offline() {
    let mut snapshot = healthy();
    dns_config(&mut snapshot).servers.clear();
    let online = judged(&snapshot, "net.dns.no_servers");
    interface(&mut snapshot, "eth0").oper_state = OperState::Down;
    let offline = judged(&snapshot, "net.dns.no_servers");
    expect![[r#"
        -- online
        fail net.dns.no_servers: No DNS server is configured: names cannot be looked up
            evidence: No DNS server listed (from /run/systemd/resolve/resolv.conf; behind the local stub 127.0.0.53; search corp.example)
            remedy: Ask the user to reconnect to the network (Wi-Fi off and on, or replug the cable) so DHCP sets the DNS servers again; if the settings were made by hand, escalate to second-line support.
        -- offline
    "#]].assert_eq(&format!("-- online\n{online}-- offline\n{offline}"));
}

#[test]
fn missing_dns_settings_and_probes_give_no_dns_findings() {
    let mut snapshot = healthy();
    crate::healthy::network(&mut snapshot).dns =
        Section::error(SectionErrorKind::Io, "/etc/resolv.conf: Input/output error");
    snapshot.probes = Section::skipped("--no-probes");
    expect![[r#"
        --
        warn agent.section_unavailable [network.dns]: Could not read the DNS settings
            evidence: network.dns: read error: /etc/resolv.conf: Input/output error
            remedy: Send this report to second-line support: this part could not be read, so the checks that need it were skipped.
    "#]].assert_eq(&format!(
        "{}--\n{}",
        judged(&snapshot, "net.dns"),
        judged(&snapshot, "agent.section_unavailable")
    ));
}
