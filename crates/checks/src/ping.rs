//! Ping rules: loss to the default gateway, hosts that do not answer, and pings the OS did not allow.

use sitrep_snapshot::{
    Finding, PingDetail, PingSocket, ProbeFailureKind, ProbeOutcome, ProbeResult, Severity,
    Snapshot, TargetRole,
};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

pub(crate) const GATEWAY_LOSS: RuleInfo = RuleInfo {
    id: "net.gateway.loss",
    description: "Pings to each default gateway (the router) come back.",
    thresholds: "per gateway: warn on partial loss, fail when no ping comes back; not judged when ping was not permitted",
    check: gateway_loss,
};

pub(crate) const PING_UNREACHABLE: RuleInfo = RuleInfo {
    id: "net.ping.unreachable",
    description: "Hosts from the config, the command line and the collector answer pings.",
    thresholds: "per host: warn on partial loss, fail when no ping comes back or the host cannot be resolved or routed to",
    check: ping_unreachable,
};

pub(crate) const PERMISSION: RuleInfo = RuleInfo {
    id: "net.probe.permission",
    description: "The agent could open an ICMP socket; without one the gateway and ping checks have no results.",
    thresholds: "warn once when any ping was refused permission to open an ICMP socket",
    check: permission,
};

fn pings(snapshot: &Snapshot) -> impl Iterator<Item = (&ProbeResult, &PingDetail)> {
    sections::probes(snapshot)
        .iter()
        .filter_map(|probe| Some((probe, probe.detail.as_ping()?)))
}

fn permission_denied(probe: &ProbeResult) -> bool {
    probe
        .failure
        .as_ref()
        .is_some_and(|failure| failure.kind == ProbeFailureKind::PermissionDenied)
}

/// Pings that ran, i.e. whose silence says something about the target.
fn judged_pings<'a>(
    snapshot: &'a Snapshot,
    roles: &[TargetRole],
) -> Vec<(&'a ProbeResult, &'a PingDetail)> {
    pings(snapshot)
        .filter(|(probe, _)| roles.contains(&probe.role) && !permission_denied(probe))
        .collect()
}

/// "printer.corp.example (10.1.2.40)", or the address alone where it was the target.
fn named(probe: &ProbeResult, detail: &PingDetail) -> String {
    match detail.address {
        Some(address) if address.to_string() != probe.target => {
            format!("{} ({address})", probe.target)
        }
        _ => probe.target.clone(),
    }
}

/// "3 of 5 answered (40.0 % loss), round trip min/avg/max 1.2/3.4/9.9 ms", then why it failed.
fn ping_figures(probe: &ProbeResult, detail: &PingDetail) -> String {
    let mut text = format!(
        "{} of {} answered ({} loss)",
        detail.received,
        detail.sent,
        format::percent(detail.loss_percent)
    );
    if let (Some(min), Some(avg), Some(max)) =
        (detail.rtt_min_ms, detail.rtt_avg_ms, detail.rtt_max_ms)
    {
        text.push_str(&format!(
            ", round trip min/avg/max {min:.1}/{avg:.1}/{max:.1} ms"
        ));
    }
    if let Some(failure) = &probe.failure {
        text.push_str(&format!("; {}", failure.message));
    }
    text
}

/// Each judged ping that lost packets, as a warn (some lost) or fail (none came back).
fn lossy<'a>(
    pinged: &[(&'a ProbeResult, &'a PingDetail)],
) -> impl Iterator<Item = (Severity, &'a ProbeResult, &'a PingDetail)> {
    pinged
        .iter()
        .filter_map(|&(probe, detail)| match probe.outcome {
            ProbeOutcome::Success => None,
            ProbeOutcome::Partial => Some((Severity::Warn, probe, detail)),
            ProbeOutcome::Failure => Some((Severity::Fail, probe, detail)),
        })
}

fn gateway_loss(snapshot: &Snapshot) -> Vec<Finding> {
    let gateways = judged_pings(snapshot, &[TargetRole::Gateway]);
    if gateways.is_empty() {
        return Vec::new();
    }
    let problems = lossy(&gateways)
        .map(|(severity, probe, detail)| {
            let gateway = named(probe, detail);
            let (title, remediation) = if severity == Severity::Fail {
                (
                    format!("Gateway {gateway} does not answer"),
                    "Ask the user to check the network cable or the Wi-Fi connection and to restart the router if it is theirs. Some routers never answer pings: if web pages open, this alone is not the problem.",
                )
            } else {
                (
                    format!("Gateway {gateway} loses {} of pings", format::whole_percent(detail.loss_percent)),
                    "Loss to the router usually means weak Wi-Fi or a damaged cable: ask the user to move closer to the access point or try another cable or port. Some routers limit ping replies, so a little loss alone proves nothing.",
                )
            };
            GATEWAY_LOSS
                .finding(severity, title, format!("{gateway}: {}", ping_figures(probe, detail)))
                .with_remediation(remediation)
                .with_subject(gateway)
        })
        .collect();
    problems_or_pass(problems, || {
        let title = match gateways.as_slice() {
            [(probe, detail)] => match detail.rtt_avg_ms {
                Some(avg) => format!(
                    "Gateway {} answers in {}",
                    named(probe, detail),
                    format::millis(avg)
                ),
                None => format!("Gateway {} answers", named(probe, detail)),
            },
            _ => format!(
                "{} answer",
                format::counted(gateways.len(), "gateway", "gateways")
            ),
        };
        GATEWAY_LOSS.pass(title, listed_figures(&gateways))
    })
}

fn listed_figures(pinged: &[(&ProbeResult, &PingDetail)]) -> String {
    let listed: Vec<String> = pinged
        .iter()
        .map(|&(probe, detail)| {
            format!("{}: {}", named(probe, detail), ping_figures(probe, detail))
        })
        .collect();
    listed.join("; ")
}

fn ping_unreachable(snapshot: &Snapshot) -> Vec<Finding> {
    let hosts = judged_pings(
        snapshot,
        &[
            TargetRole::Configured,
            TargetRole::Requested,
            TargetRole::Collector,
        ],
    );
    if hosts.is_empty() {
        return Vec::new();
    }
    let problems = lossy(&hosts)
        .map(|(severity, probe, detail)| {
            let title = match (&probe.failure, severity) {
                (_, Severity::Warn) => format!(
                    "{} loses {} of pings",
                    probe.target,
                    format::whole_percent(detail.loss_percent)
                ),
                (Some(failure), _) => {
                    format!("{} {}", probe.target, format::probe_failure(failure.kind))
                }
                (None, _) => format!("{} does not answer pings", probe.target),
            };
            PING_UNREACHABLE
                .finding(
                    severity,
                    title,
                    format!("{}: {}", named(probe, detail), ping_figures(probe, detail)),
                )
                .with_remediation(unreachable_remediation(probe.role))
                .with_subject(&probe.target)
        })
        .collect();
    problems_or_pass(problems, || {
        let title = match hosts.as_slice() {
            [(probe, _)] => format!("{} answers pings", probe.target),
            _ => format!(
                "{} answer pings",
                format::counted(hosts.len(), "host", "hosts")
            ),
        };
        PING_UNREACHABLE.pass(title, listed_figures(&hosts))
    })
}

fn unreachable_remediation(role: TargetRole) -> &'static str {
    match role {
        TargetRole::Collector => {
            "The support server cannot be reached, so reports wait on this computer and are sent later. If company services need a VPN, ask the user to connect it."
        }
        TargetRole::Gateway
        | TargetRole::DnsServer
        | TargetRole::Configured
        | TargetRole::Requested => {
            "Check that the device is switched on and connected. Some hosts never answer pings; if other targets fail too, fix the network findings first."
        }
    }
}

fn permission(snapshot: &Snapshot) -> Vec<Finding> {
    let all: Vec<(&ProbeResult, &PingDetail)> = pings(snapshot).collect();
    if all.is_empty() {
        return Vec::new();
    }
    let denied: Vec<&ProbeResult> = all
        .iter()
        .map(|&(probe, _)| probe)
        .filter(|probe| permission_denied(probe))
        .collect();
    if let Some(first) = denied.first() {
        let targets: Vec<&str> = denied.iter().map(|probe| probe.target.as_str()).collect();
        let message = sections::failure_message(first);
        return vec![
            PERMISSION
                .finding(
                    Severity::Warn,
                    "Ping is not permitted, so gateway and ping results are missing",
                    format!(
                        "{} could not open an ICMP socket ({}): {message}",
                        format::counted(denied.len(), "ping probe", "ping probes"),
                        targets.join(", ")
                    ),
                )
                .with_remediation(
                    "Run the report as root (sudo sitrep report), or let all users ping: sudo sysctl -w net.ipv4.ping_group_range=\"0 2147483647\" (add it to /etc/sysctl.d/ to keep it).",
                ),
        ];
    }
    let mut sockets: Vec<&str> = all
        .iter()
        .filter_map(|(_, detail)| detail.socket)
        .map(|socket| match socket {
            PingSocket::Datagram => "unprivileged datagram",
            PingSocket::Raw => "raw",
        })
        .collect();
    sockets.sort_unstable();
    sockets.dedup();
    let evidence = if sockets.is_empty() {
        format!(
            "{} sent",
            format::counted(all.len(), "ping probe", "ping probes")
        )
    } else {
        format!(
            "{} sent through the {} ICMP socket",
            format::counted(all.len(), "ping probe", "ping probes"),
            sockets.join(" and ")
        )
    };
    vec![PERMISSION.pass("Ping is permitted", evidence)]
}
