//! net.tcp.unreachable, net.http.failed and net.http.certificate.

use expect_test::expect;
use sitrep_snapshot::{
    ProbeDetail, ProbeFailureKind, ProbeOutcome, ProbeResult, TargetRole, TcpDetail,
};

use crate::healthy::{certificate, failed, healthy, http_detail, ip, judged, probe, probes};

fn service_findings(snapshot: &sitrep_snapshot::Snapshot) -> String {
    format!(
        "{}{}",
        judged(snapshot, "net.tcp"),
        judged(snapshot, "net.http")
    )
}

fn fail(probe: &mut ProbeResult, kind: ProbeFailureKind, message: &str) {
    probe.outcome = ProbeOutcome::Failure;
    probe.elapsed_ms = 2000.0;
    probe.failure = Some(failed(kind, message));
}

#[test]
fn healthy_services_pass() {
    expect![[r#"
        pass net.tcp.unreachable: 1 TCP service reachable
            evidence: mail.corp.example:993: 10.1.2.5:993 connected in 12.3 ms
        pass net.http.certificate: 1 HTTPS certificate trusted
            evidence: intranet.corp.example: subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, valid until 2024-08-02 (60 days left)
        pass net.http.failed: https://intranet.corp.example/health answers
            evidence: https://intranet.corp.example/health: HTTP 200 in 45.0 ms
    "#]].assert_eq(&service_findings(&healthy()));
}

#[test]
fn refused_and_silent_tcp_ports_fail() {
    let mut snapshot = healthy();
    let refused = probe(&mut snapshot, "tcp", "mail.corp.example:993", None);
    fail(
        refused,
        ProbeFailureKind::Refused,
        "Connection refused (os error 111)",
    );
    let silent = ProbeResult {
        target: "db.corp.example:5432".to_owned(),
        failure: Some(failed(ProbeFailureKind::Timeout, "no answer within 2 s")),
        detail: ProbeDetail::Tcp(TcpDetail {
            address: Some(ip("10.1.2.6")),
            port: 5432,
            connect_ms: None,
        }),
        ..refused.clone()
    };
    let collector = ProbeResult {
        target: "support.corp.example:8443".to_owned(),
        role: TargetRole::Collector,
        detail: ProbeDetail::Tcp(TcpDetail {
            address: Some(ip("10.1.2.7")),
            port: 8443,
            connect_ms: None,
        }),
        ..silent.clone()
    };
    probes(&mut snapshot).extend([silent, collector]);
    expect![[r#"
        fail net.tcp.unreachable [db.corp.example:5432]: db.corp.example:5432 does not answer (timed out)
            evidence: 10.1.2.6:5432 after 2000.0 ms: no answer within 2 s
            remedy: A firewall or a missing VPN connection usually causes this: ask the user to connect the VPN if the service needs it, then run the report again; otherwise report it to the team that runs the service.
        fail net.tcp.unreachable [mail.corp.example:993]: mail.corp.example:993 refuses the connection
            evidence: 10.1.2.5:993 after 2000.0 ms: Connection refused (os error 111)
            remedy: The host is up but nothing listens on that port: the service is stopped or the port is wrong. Report it to the team that runs the service.
        fail net.tcp.unreachable [support.corp.example:8443]: support.corp.example:8443 does not answer (timed out)
            evidence: 10.1.2.7:8443 after 2000.0 ms: no answer within 2 s
            remedy: The support server cannot be reached, so reports wait on this computer and are sent later. If company services need a VPN, ask the user to connect it.
    "#]].assert_eq(&judged(&snapshot, "net.tcp"));
}

#[test]
fn http_errors_and_timeouts_fail() {
    let mut snapshot = healthy();
    let server_error = probe(
        &mut snapshot,
        "http",
        "https://intranet.corp.example/health",
        None,
    );
    fail(
        server_error,
        ProbeFailureKind::HttpStatus,
        "503 Service Unavailable",
    );
    http_detail(server_error).status = Some(503);
    let mut not_found = server_error.clone();
    not_found.target = "https://intranet.corp.example/old".to_owned();
    not_found.failure = Some(failed(ProbeFailureKind::HttpStatus, "404 Not Found"));
    http_detail(&mut not_found).status = Some(404);
    let mut silent = server_error.clone();
    silent.target = "https://erp.corp.example/".to_owned();
    silent.failure = Some(failed(ProbeFailureKind::Timeout, "no response within 2 s"));
    http_detail(&mut silent).status = None;
    http_detail(&mut silent).response_ms = None;
    http_detail(&mut silent).certificate = None;
    probes(&mut snapshot).extend([not_found, silent]);
    expect![[r#"
        fail net.http.failed [https://erp.corp.example/]: https://erp.corp.example/ does not answer (timed out)
            evidence: no response after 2000.0 ms; no response within 2 s
            remedy: If other web sites open, report it to the team that runs this one; if none open, fix the network findings first. A VPN or proxy may be needed for internal sites.
        fail net.http.failed [https://intranet.corp.example/health]: https://intranet.corp.example/health answers HTTP 503
            evidence: HTTP 503 in 45.0 ms; 503 Service Unavailable
            remedy: The web server itself has a fault: report it to the team that runs it; nothing needs fixing on this computer.
        fail net.http.failed [https://intranet.corp.example/old]: https://intranet.corp.example/old answers HTTP 404
            evidence: HTTP 404 in 45.0 ms; 404 Not Found
            remedy: The server refused the request: check the address is right, and whether the site needs a VPN or a login; otherwise report it to the team that runs it.
    "#]].assert_eq(&judged(&snapshot, "net.http.failed"));
}

#[test]
fn untrusted_certificate_is_one_finding_not_two() {
    let mut snapshot = healthy();
    let untrusted = probe(
        &mut snapshot,
        "http",
        "https://intranet.corp.example/health",
        None,
    );
    fail(
        untrusted,
        ProbeFailureKind::Tls,
        "invalid peer certificate: UnknownIssuer",
    );
    let detail = http_detail(untrusted);
    detail.status = None;
    detail.response_ms = None;
    detail.certificate = Some(sitrep_snapshot::TlsCertificate {
        valid: false,
        error: Some("invalid peer certificate: UnknownIssuer".to_owned()),
        ..certificate(200)
    });
    expect![[r#"
        pass net.tcp.unreachable: 1 TCP service reachable
            evidence: mail.corp.example:993: 10.1.2.5:993 connected in 12.3 ms
        fail net.http.certificate [https://intranet.corp.example/health]: The certificate of intranet.corp.example is not trusted
            evidence: invalid peer certificate: UnknownIssuer, subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, valid until 2024-12-20 (200 days left)
            remedy: Do not tell the user to click through the warning. If every HTTPS site fails, check the computer's date and time; otherwise report it to the team that runs intranet.corp.example.
    "#]].assert_eq(&service_findings(&snapshot));
}

#[test]
fn certificate_expiry_warns_under_14_days_and_fails_once_expired() {
    let mut out = String::new();
    for days in [14, 13, 0, -3] {
        let mut snapshot = healthy();
        let https = probe(
            &mut snapshot,
            "http",
            "https://intranet.corp.example/health",
            None,
        );
        let mut expiring = certificate(days);
        expiring.valid = days >= 0;
        http_detail(https).certificate = Some(expiring);
        out.push_str(&format!(
            "-- {days}\n{}",
            judged(&snapshot, "net.http.certificate")
        ));
    }
    expect![[r#"
        -- 14
        pass net.http.certificate: 1 HTTPS certificate trusted
            evidence: intranet.corp.example: subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, valid until 2024-06-17 (14 days left)
        -- 13
        warn net.http.certificate [https://intranet.corp.example/health]: The certificate of intranet.corp.example expires in 13 days
            evidence: subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, valid until 2024-06-16 (13 days left)
            remedy: Nothing to do on this computer: tell the team that runs intranet.corp.example to renew the certificate before it expires.
        -- 0
        warn net.http.certificate [https://intranet.corp.example/health]: The certificate of intranet.corp.example expires today
            evidence: subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, valid until 2024-06-03 (0 days left)
            remedy: Nothing to do on this computer: tell the team that runs intranet.corp.example to renew the certificate before it expires.
        -- -3
        fail net.http.certificate [https://intranet.corp.example/health]: The certificate of intranet.corp.example expired 3 days ago
            evidence: subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, expired on 2024-05-31
            remedy: Do not tell the user to click through the warning. If every HTTPS site fails, check the computer's date and time; otherwise report it to the team that runs intranet.corp.example.
    "#]].assert_eq(&out);
}

#[test]
fn days_left_are_counted_from_the_snapshot_time_when_missing() {
    let mut snapshot = healthy();
    let https = probe(
        &mut snapshot,
        "http",
        "https://intranet.corp.example/health",
        None,
    );
    let mut expiring = certificate(5);
    expiring.days_left = None;
    http_detail(https).certificate = Some(expiring);
    expect![[r#"
        warn net.http.certificate [https://intranet.corp.example/health]: The certificate of intranet.corp.example expires in 5 days
            evidence: subject CN=intranet.corp.example, issuer CN=Corp Issuing CA, valid until 2024-06-08 (5 days left)
            remedy: Nothing to do on this computer: tell the team that runs intranet.corp.example to renew the certificate before it expires.
    "#]].assert_eq(&judged(&snapshot, "net.http.certificate"));
}
