//! net.gateway.loss, net.ping.unreachable and net.probe.permission.

use expect_test::expect;
use sitrep_snapshot::{ProbeFailureKind, ProbeOutcome, Section, TargetRole};

use crate::healthy::{failed, healthy, judged, ping, probe, probes};

fn ping_findings(snapshot: &sitrep_snapshot::Snapshot) -> String {
    format!(
        "{}{}{}",
        judged(snapshot, "net.gateway"),
        judged(snapshot, "net.ping"),
        judged(snapshot, "net.probe")
    )
}

#[test]
fn healthy_pings_pass() {
    expect![[r#"
        pass net.gateway.loss: Gateway 192.168.1.1 answers in 1.2 ms
            evidence: 192.168.1.1: 5 of 5 answered (0.0 % loss), round trip min/avg/max 0.8/1.2/2.5 ms
        pass net.ping.unreachable: printer.corp.example answers pings
            evidence: printer.corp.example (10.1.2.40): 5 of 5 answered (0.0 % loss), round trip min/avg/max 0.8/1.2/2.5 ms
        pass net.probe.permission: Ping is permitted
            evidence: 2 ping probes sent through the raw ICMP socket
    "#]].assert_eq(&ping_findings(&healthy()));
}

#[test]
fn gateway_loss_warns_when_partial_and_fails_when_total() {
    let mut out = String::new();
    for received in [4, 0] {
        let mut snapshot = healthy();
        *probe(&mut snapshot, "ping", "192.168.1.1", None) =
            ping(TargetRole::Gateway, "192.168.1.1", "192.168.1.1", received);
        out.push_str(&judged(&snapshot, "net.gateway"));
    }
    expect![[r#"
        warn net.gateway.loss [192.168.1.1]: Gateway 192.168.1.1 loses 20 % of pings
            evidence: 192.168.1.1: 4 of 5 answered (20.0 % loss), round trip min/avg/max 0.9/3.4/9.9 ms; some replies missing
            remedy: Loss to the router usually means weak Wi-Fi or a damaged cable: ask the user to move closer to the access point or try another cable or port. Some routers limit ping replies, so a little loss alone proves nothing.
        fail net.gateway.loss [192.168.1.1]: Gateway 192.168.1.1 does not answer
            evidence: 192.168.1.1: 0 of 5 answered (100.0 % loss); no reply within 2 s
            remedy: Ask the user to check the network cable or the Wi-Fi connection and to restart the router if it is theirs. Some routers never answer pings: if web pages open, this alone is not the problem.
    "#]].assert_eq(&out);
}

#[test]
fn two_gateways_pass_together() {
    let mut snapshot = healthy();
    probes(&mut snapshot).push(ping(TargetRole::Gateway, "fe80::1", "fe80::1", 5));
    expect![[r#"
        pass net.gateway.loss: 2 gateways answer
            evidence: 192.168.1.1: 5 of 5 answered (0.0 % loss), round trip min/avg/max 0.8/1.2/2.5 ms; fe80::1: 5 of 5 answered (0.0 % loss), round trip min/avg/max 0.8/1.2/2.5 ms
    "#]].assert_eq(&judged(&snapshot, "net.gateway"));
}

#[test]
fn configured_hosts_that_do_not_answer() {
    let mut snapshot = healthy();
    *probe(&mut snapshot, "ping", "printer.corp.example", None) = ping(
        TargetRole::Configured,
        "printer.corp.example",
        "10.1.2.40",
        0,
    );
    probes(&mut snapshot).push(ping(
        TargetRole::Requested,
        "nas.corp.example",
        "10.1.2.41",
        2,
    ));
    let mut unresolved = ping(
        TargetRole::Collector,
        "support.corp.example",
        "10.1.2.42",
        0,
    );
    unresolved.failure = Some(failed(
        ProbeFailureKind::Resolve,
        "support.corp.example: no such host",
    ));
    probes(&mut snapshot).push(unresolved);
    expect![[r#"
        fail net.ping.unreachable [printer.corp.example]: printer.corp.example does not answer (timed out)
            evidence: printer.corp.example (10.1.2.40): 0 of 5 answered (100.0 % loss); no reply within 2 s
            remedy: Check that the device is switched on and connected. Some hosts never answer pings; if other targets fail too, fix the network findings first.
        fail net.ping.unreachable [support.corp.example]: support.corp.example cannot be reached (its name does not resolve)
            evidence: support.corp.example (10.1.2.42): 0 of 5 answered (100.0 % loss); support.corp.example: no such host
            remedy: The support server cannot be reached, so reports wait on this computer and are sent later. If company services need a VPN, ask the user to connect it.
        warn net.ping.unreachable [nas.corp.example]: nas.corp.example loses 60 % of pings
            evidence: nas.corp.example (10.1.2.41): 2 of 5 answered (60.0 % loss), round trip min/avg/max 0.9/3.4/9.9 ms; some replies missing
            remedy: Check that the device is switched on and connected. Some hosts never answer pings; if other targets fail too, fix the network findings first.
    "#]].assert_eq(&judged(&snapshot, "net.ping"));
}

#[test]
fn denied_ping_socket_warns_once_and_silences_ping_rules() {
    let mut snapshot = healthy();
    for target in ["192.168.1.1", "printer.corp.example"] {
        let denied = probe(&mut snapshot, "ping", target, None);
        denied.outcome = ProbeOutcome::Failure;
        denied.failure = Some(failed(
            ProbeFailureKind::PermissionDenied,
            "neither a datagram nor a raw ICMP socket could be opened: Permission denied (os error 13)",
        ));
        if let sitrep_snapshot::ProbeDetail::Ping(detail) = &mut denied.detail {
            detail.socket = None;
            detail.sent = 0;
            detail.received = 0;
            detail.loss_percent = 100.0;
        }
    }
    expect![[r#"
        warn net.probe.permission: Ping is not permitted, so gateway and ping results are missing
            evidence: 2 ping probes could not open an ICMP socket (192.168.1.1, printer.corp.example): neither a datagram nor a raw ICMP socket could be opened: Permission denied (os error 13)
            remedy: Run the report as root (sudo sitrep report), or let all users ping: sudo sysctl -w net.ipv4.ping_group_range="0 2147483647" (add it to /etc/sysctl.d/ to keep it).
    "#]].assert_eq(&ping_findings(&snapshot));
}

#[test]
fn skipped_probes_give_no_ping_findings() {
    let mut snapshot = healthy();
    snapshot.probes = Section::skipped("--no-probes");
    expect![[""]].assert_eq(&ping_findings(&snapshot));
}
