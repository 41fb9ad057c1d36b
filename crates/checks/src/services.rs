//! Service rules: TCP ports and web addresses that do not answer, and HTTPS certificates.

use chrono::{DateTime, Utc};
use sitrep_snapshot::{
    Finding, HttpDetail, ProbeDetail, ProbeFailureKind, ProbeOutcome, ProbeResult, Severity,
    Snapshot, TargetRole, TcpDetail, TlsCertificate,
};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

/// Two weeks leaves time to renew before users see warnings.
const CERTIFICATE_WARN_DAYS: i64 = 14;

pub(crate) const TCP_UNREACHABLE: RuleInfo = RuleInfo {
    id: "net.tcp.unreachable",
    description: "TCP ports from the config, the command line and the collector accept connections.",
    thresholds: "per host:port: fail when the connection is refused, times out or cannot be routed",
    check: tcp_unreachable,
};

pub(crate) const HTTP_FAILED: RuleInfo = RuleInfo {
    id: "net.http.failed",
    description: "Web addresses from the config, the command line and the collector answer without an HTTP error.",
    thresholds: "per URL: fail when the request fails or the status is an error, warn when it only partly succeeds; untrusted certificates are left to net.http.certificate",
    check: http_failed,
};

pub(crate) const CERTIFICATE: RuleInfo = RuleInfo {
    id: "net.http.certificate",
    description: "HTTPS certificates are trusted and not about to expire.",
    thresholds: "per URL: fail when untrusted or expired, warn when fewer than 14 days are left",
    check: certificate,
};

const SERVICE_ROLES: [TargetRole; 3] = [
    TargetRole::Configured,
    TargetRole::Requested,
    TargetRole::Collector,
];

/// Failure, partly, or fine, from the probe's own outcome.
fn outcome_severity(outcome: ProbeOutcome) -> Option<Severity> {
    match outcome {
        ProbeOutcome::Success => None,
        ProbeOutcome::Partial => Some(Severity::Warn),
        ProbeOutcome::Failure => Some(Severity::Fail),
    }
}

/// "10.1.2.5:993 connected in 12.3 ms" or "10.1.2.5:993 after 2000.0 ms: connection refused".
fn tcp_figures(probe: &ProbeResult, detail: &TcpDetail) -> String {
    let endpoint = match detail.address {
        Some(address) => format!("{}:{}", address, detail.port),
        None => probe.target.clone(),
    };
    match (detail.connect_ms, &probe.failure) {
        (_, Some(failure)) => format!(
            "{endpoint} after {}: {}",
            format::millis(probe.elapsed_ms),
            failure.message
        ),
        (Some(connect), None) => format!("{endpoint} connected in {}", format::millis(connect)),
        (None, None) => format!("{endpoint} connected"),
    }
}

fn tcp_unreachable(snapshot: &Snapshot) -> Vec<Finding> {
    let probes = sections::probes_with(snapshot, &SERVICE_ROLES, ProbeDetail::as_tcp);
    if probes.is_empty() {
        return Vec::new();
    }
    let problems = probes
        .iter()
        .filter_map(|&(probe, detail)| {
            let severity = outcome_severity(probe.outcome)?;
            let kind = probe
                .failure
                .as_ref()
                .map_or(ProbeFailureKind::Other, |failure| failure.kind);
            Some(
                TCP_UNREACHABLE
                    .finding(
                        severity,
                        format!("{} {}", probe.target, format::probe_failure(kind)),
                        tcp_figures(probe, detail),
                    )
                    .with_remediation(tcp_remediation(probe.role, kind))
                    .with_subject(&probe.target),
            )
        })
        .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = probes
            .iter()
            .map(|&(probe, detail)| format!("{}: {}", probe.target, tcp_figures(probe, detail)))
            .collect();
        TCP_UNREACHABLE.pass(
            format!(
                "{} reachable",
                format::counted(probes.len(), "TCP service", "TCP services")
            ),
            listed.join("; "),
        )
    })
}

fn tcp_remediation(role: TargetRole, kind: ProbeFailureKind) -> &'static str {
    match (role, kind) {
        (TargetRole::Collector, _) => {
            "The support server cannot be reached, so reports wait on this computer and are sent later. If company services need a VPN, ask the user to connect it."
        }
        (_, ProbeFailureKind::Refused) => {
            "The host is up but nothing listens on that port: the service is stopped or the port is wrong. Report it to the team that runs the service."
        }
        _ => {
            "A firewall or a missing VPN connection usually causes this: ask the user to connect the VPN if the service needs it, then run the report again; otherwise report it to the team that runs the service."
        }
    }
}

/// "HTTP 200 in 45.0 ms", "HTTP 503 in 12.0 ms; server error", "no response after 2000.0 ms; timed out".
fn http_figures(probe: &ProbeResult, detail: &HttpDetail) -> String {
    let mut text = match (detail.status, detail.response_ms) {
        (Some(status), Some(response)) => format!("HTTP {status} in {}", format::millis(response)),
        (Some(status), None) => format!("HTTP {status}"),
        (None, _) => format!("no response after {}", format::millis(probe.elapsed_ms)),
    };
    if let Some(failure) = &probe.failure {
        text.push_str(&format!("; {}", failure.message));
    }
    text
}

/// An untrusted certificate is net.http.certificate's finding; saying it twice would only add noise.
fn certificate_rejected(detail: &HttpDetail) -> bool {
    detail
        .certificate
        .as_ref()
        .is_some_and(|certificate| !certificate.valid)
}

fn http_failed(snapshot: &Snapshot) -> Vec<Finding> {
    let probes: Vec<(&ProbeResult, &HttpDetail)> =
        sections::probes_with(snapshot, &SERVICE_ROLES, ProbeDetail::as_http)
            .into_iter()
            .filter(|(_, detail)| !certificate_rejected(detail))
            .collect();
    if probes.is_empty() {
        return Vec::new();
    }
    let problems = probes
        .iter()
        .filter_map(|&(probe, detail)| {
            let severity = outcome_severity(probe.outcome)?;
            let title = match (detail.status, &probe.failure) {
                (Some(status), _) if status >= 400 => {
                    format!("{} answers HTTP {status}", probe.target)
                }
                (_, Some(failure)) => {
                    format!("{} {}", probe.target, format::probe_failure(failure.kind))
                }
                _ => format!("{} does not answer properly", probe.target),
            };
            Some(
                HTTP_FAILED
                    .finding(severity, title, http_figures(probe, detail))
                    .with_remediation(http_remediation(probe, detail))
                    .with_subject(&probe.target),
            )
        })
        .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = probes
            .iter()
            .map(|&(probe, detail)| format!("{}: {}", probe.target, http_figures(probe, detail)))
            .collect();
        let title = match probes.as_slice() {
            [(probe, _)] => format!("{} answers", probe.target),
            _ => format!(
                "{} answer",
                format::counted(probes.len(), "web address", "web addresses")
            ),
        };
        HTTP_FAILED.pass(title, listed.join("; "))
    })
}

fn http_remediation(probe: &ProbeResult, detail: &HttpDetail) -> &'static str {
    match (probe.role, detail.status) {
        (TargetRole::Collector, _) => {
            "The support server cannot be reached, so reports wait on this computer and are sent later. If company services need a VPN, ask the user to connect it."
        }
        (_, Some(500..)) => {
            "The web server itself has a fault: report it to the team that runs it; nothing needs fixing on this computer."
        }
        (_, Some(400..)) => {
            "The server refused the request: check the address is right, and whether the site needs a VPN or a login; otherwise report it to the team that runs it."
        }
        _ => {
            "If other web sites open, report it to the team that runs this one; if none open, fix the network findings first. A VPN or proxy may be needed for internal sites."
        }
    }
}

/// Days left as the probe reported them, else counted from the snapshot's own time.
fn days_left(certificate: &TlsCertificate, taken_at: DateTime<Utc>) -> Option<i64> {
    certificate.days_left.or_else(|| {
        let not_after = certificate.not_after?;
        Some((not_after - taken_at).num_seconds().div_euclid(86_400))
    })
}

/// "https://intranet.corp.example:8443/health" -> "intranet.corp.example".
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    host_port.split(':').next().unwrap_or(host_port)
}

/// "1 day", "12 days"; the sign is for the caller's wording ("expired ... ago").
fn day_count(days: i64) -> String {
    format::counted(
        usize::try_from(days.unsigned_abs()).unwrap_or(usize::MAX),
        "day",
        "days",
    )
}

/// "subject CN=intranet.corp.example, issuer CN=Corp CA, valid until 2025-01-01 (60 days left)".
fn certificate_figures(certificate: &TlsCertificate, days: Option<i64>) -> String {
    let mut parts = Vec::new();
    if let Some(error) = &certificate.error {
        parts.push(error.clone());
    }
    if let Some(subject) = &certificate.subject {
        parts.push(format!("subject {subject}"));
    }
    if let Some(issuer) = &certificate.issuer {
        parts.push(format!("issuer {issuer}"));
    }
    match (certificate.not_after, days) {
        (Some(not_after), Some(days)) if days < 0 => {
            parts.push(format!("expired on {}", not_after.format("%Y-%m-%d")))
        }
        (Some(not_after), Some(days)) => parts.push(format!(
            "valid until {} ({} left)",
            not_after.format("%Y-%m-%d"),
            day_count(days)
        )),
        (None, Some(days)) if days < 0 => parts.push(format!("expired {} ago", day_count(days))),
        (None, Some(days)) => parts.push(format!("{} left", day_count(days))),
        (_, None) => {}
    }
    parts.join(", ")
}

fn certificate(snapshot: &Snapshot) -> Vec<Finding> {
    let checked: Vec<(&ProbeResult, &TlsCertificate, Option<i64>)> =
        sections::probes_with(snapshot, &SERVICE_ROLES, ProbeDetail::as_http)
            .into_iter()
            .filter_map(|(probe, detail)| {
                let certificate = detail.certificate.as_ref()?;
                Some((
                    probe,
                    certificate,
                    days_left(certificate, snapshot.taken_at),
                ))
            })
            .collect();
    if checked.is_empty() {
        return Vec::new();
    }
    let problems = checked
        .iter()
        .filter_map(|&(probe, certificate, days)| {
            let host = host_of(&probe.target);
            let (severity, title) = match days {
                Some(days) if days < 0 => (
                    Severity::Fail,
                    format!(
                        "The certificate of {host} expired {} ago",
                        day_count(days)
                    ),
                ),
                _ if !certificate.valid => (Severity::Fail, format!("The certificate of {host} is not trusted")),
                Some(0) => (Severity::Warn, format!("The certificate of {host} expires today")),
                Some(days) if days < CERTIFICATE_WARN_DAYS => (
                    Severity::Warn,
                    format!("The certificate of {host} expires in {}", day_count(days)),
                ),
                _ => return None,
            };
            let remediation = if severity == Severity::Fail {
                format!(
                    "Do not tell the user to click through the warning. If every HTTPS site fails, check the computer's date and time; otherwise report it to the team that runs {host}."
                )
            } else {
                format!(
                    "Nothing to do on this computer: tell the team that runs {host} to renew the certificate before it expires."
                )
            };
            Some(
                CERTIFICATE
                    .finding(severity, title, certificate_figures(certificate, days))
                    .with_remediation(remediation)
                    .with_subject(&probe.target),
            )
        })
        .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = checked
            .iter()
            .map(|&(probe, certificate, days)| {
                format!(
                    "{}: {}",
                    host_of(&probe.target),
                    certificate_figures(certificate, days)
                )
            })
            .collect();
        CERTIFICATE.pass(
            format!(
                "{} trusted",
                format::counted(checked.len(), "HTTPS certificate", "HTTPS certificates")
            ),
            listed.join("; "),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_of_strips_scheme_credentials_port_and_path() {
        assert_eq!(
            host_of("https://intranet.corp.example/health"),
            "intranet.corp.example"
        );
        assert_eq!(
            host_of("https://user@intranet.corp.example:8443/x?y"),
            "intranet.corp.example"
        );
        assert_eq!(host_of("https://[2001:db8::1]:8443/"), "2001:db8::1");
        assert_eq!(host_of("intranet.corp.example"), "intranet.corp.example");
    }
}
