//! DNS rules: configured servers, servers that do not answer or answer with errors, names that
//! do not resolve, and servers that disagree about a name.

use std::net::IpAddr;

use sitrep_snapshot::{
    DnsDetail, Finding, ProbeDetail, ProbeFailureKind, ProbeResult, Severity, Snapshot, TargetRole,
};

use crate::format;
use crate::network::is_active;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

pub(crate) const NO_SERVERS: RuleInfo = RuleInfo {
    id: "net.dns.no_servers",
    description: "At least one DNS server is configured.",
    thresholds: "fail when the DNS settings list no server while a network interface is active",
    check: no_servers,
};

pub(crate) const UNREACHABLE: RuleInfo = RuleInfo {
    id: "net.dns.unreachable",
    description: "Each configured DNS server answers a query.",
    thresholds: "fail per server that times out, refuses (port closed) or cannot be routed to, even when all of them fail",
    check: unreachable,
};

pub(crate) const SERVER_ERROR: RuleInfo = RuleInfo {
    id: "net.dns.server_error",
    description: "Each configured DNS server that answers resolves without an error code (SERVFAIL, REFUSED).",
    thresholds: "fail per server that answers the reachability query with an error code; its pass is reported by net.dns.unreachable",
    check: server_error,
};

pub(crate) const NAME_UNRESOLVED: RuleInfo = RuleInfo {
    id: "net.dns.name_unresolved",
    description: "Names from the config, the command line and the collector's address resolve on some DNS server.",
    thresholds: "fail per name when every server that answered said NXDOMAIN, no data or an error; not judged when no server answered",
    check: name_unresolved,
};

pub(crate) const DISAGREE: RuleInfo = RuleInfo {
    id: "net.dns.disagree",
    description: "DNS servers give the same answer for a name.",
    thresholds: "warn per name when one server returns addresses and another NXDOMAIN or no data, or two servers return addresses with none in common",
    check: disagree,
};

const NAME_ROLES: [TargetRole; 3] = [
    TargetRole::Configured,
    TargetRole::Requested,
    TargetRole::Collector,
];

fn no_servers(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(config) = sections::dns_config(snapshot) else {
        return Vec::new();
    };
    let mut sources = vec![format!("from {}", config.source)];
    if let Some(stub) = config.local_stub {
        sources.push(format!("behind the local stub {stub}"));
    }
    if !config.search_domains.is_empty() {
        sources.push(format!("search {}", config.search_domains.join(" ")));
    }
    let sources = sources.join("; ");
    if !config.servers.is_empty() {
        let servers: Vec<String> = config.servers.iter().map(IpAddr::to_string).collect();
        return vec![NO_SERVERS.pass(
            format!(
                "{} configured",
                format::counted(config.servers.len(), "DNS server", "DNS servers")
            ),
            format!("{} ({sources})", servers.join(", ")),
        )];
    }
    // Offline, no DNS server is expected; net.ipv4.none already says so.
    let offline =
        sections::interfaces(snapshot).is_some_and(|interfaces| !interfaces.iter().any(is_active));
    if offline {
        return Vec::new();
    }
    vec![
        NO_SERVERS
            .finding(
                Severity::Fail,
                "No DNS server is configured: names cannot be looked up",
                format!("No DNS server listed ({sources})"),
            )
            .with_remediation(
                "Ask the user to reconnect to the network (Wi-Fi off and on, or replug the cable) so DHCP sets the DNS servers again; if the settings were made by hand, escalate to second-line support.",
            ),
    ]
}

/// No answer at all, as opposed to an answer with an error code.
fn unanswered(probe: &ProbeResult) -> Option<ProbeFailureKind> {
    let kind = probe.failure.as_ref()?.kind;
    matches!(
        kind,
        ProbeFailureKind::Timeout | ProbeFailureKind::Unreachable | ProbeFailureKind::Refused
    )
    .then_some(kind)
}

fn no_answer_reason(kind: ProbeFailureKind) -> &'static str {
    match kind {
        ProbeFailureKind::Refused => "its DNS port is closed",
        ProbeFailureKind::Unreachable => "no route to it",
        _ => "timed out",
    }
}

/// "NS NOERROR in 12.0 ms".
fn answer_codes(probe: &ProbeResult, detail: &DnsDetail) -> String {
    let codes: Vec<String> = detail
        .answers
        .iter()
        .map(|answer| {
            format!(
                "{} {}",
                answer.record_type,
                answer.rcode.as_deref().unwrap_or("no answer")
            )
        })
        .collect();
    format!(
        "{} in {}",
        codes.join(", "),
        format::millis(probe.elapsed_ms)
    )
}

fn unreachable(snapshot: &Snapshot) -> Vec<Finding> {
    let servers = sections::probes_with(snapshot, &[TargetRole::DnsServer], ProbeDetail::as_dns);
    if servers.is_empty() {
        return Vec::new();
    }
    let silent: Vec<(&ProbeResult, &DnsDetail, ProbeFailureKind)> = servers
        .iter()
        .filter_map(|&(probe, detail)| Some((probe, detail, unanswered(probe)?)))
        .collect();
    let all_silent = silent.len() == servers.len();
    let problems = silent
        .iter()
        .map(|&(probe, detail, kind)| {
            let mut evidence = format!(
                "No answer after {} ({}): {}",
                format::millis(probe.elapsed_ms),
                no_answer_reason(kind),
                sections::failure_message(probe)
            );
            let remediation = if all_silent {
                evidence.push_str(&format!(
                    "; none of the {} answers",
                    format::counted(servers.len(), "DNS server", "DNS servers")
                ));
                "No name can be looked up, so web sites and mail fail although the network is connected. Ask the user to reconnect the network (and the VPN, if one is used) and to restart the router if it is theirs; if it persists, escalate with this report."
            } else {
                "The other DNS servers still answer, but lookups may be slow while the computer waits for this one. If it persists, escalate: the settings may name a server that no longer exists."
            };
            UNREACHABLE
                .finding(Severity::Fail, format!("DNS server {} does not answer", detail.server_label()), evidence)
                .with_remediation(remediation)
                .with_subject(detail.server_label())
        })
        .collect();
    problems_or_pass(problems, || {
        let title = match servers.as_slice() {
            [(_, detail)] => format!("DNS server {} answers", detail.server_label()),
            _ => format!(
                "{} answer",
                format::counted(servers.len(), "DNS server", "DNS servers")
            ),
        };
        let listed: Vec<String> = servers
            .iter()
            .map(|&(probe, detail)| {
                format!("{}: {}", detail.server_label(), answer_codes(probe, detail))
            })
            .collect();
        UNREACHABLE.pass(title, listed.join("; "))
    })
}

fn server_error(snapshot: &Snapshot) -> Vec<Finding> {
    sections::probes_with(snapshot, &[TargetRole::DnsServer], ProbeDetail::as_dns)
        .into_iter()
        .filter(|(probe, _)| {
            probe
                .failure
                .as_ref()
                .is_some_and(|failure| failure.kind == ProbeFailureKind::DnsError)
        })
        .map(|(probe, detail)| {
            let code = detail
                .answers
                .iter()
                .filter_map(|answer| answer.rcode.as_deref())
                .find(|rcode| *rcode != "NOERROR")
                .unwrap_or("error");
            let mut evidence = format!("Asked about \"{}\": {}", detail.name, answer_codes(probe, detail));
            if let Some(failure) = &probe.failure {
                evidence.push_str(&format!("; {}", failure.message));
            }
            SERVER_ERROR
                .finding(Severity::Fail, format!("DNS server {} answers with an error ({code})", detail.server_label()), evidence)
                .with_remediation(
                    "The server is reachable but will not look names up for this computer: REFUSED usually means it serves another network (e.g. a VPN that is not connected), SERVFAIL that it cannot reach the internet itself. Ask the user to reconnect the VPN or restart the router; escalate if it persists.",
                )
                .with_subject(detail.server_label())
        })
        .collect()
}

/// What one server said about one name.
#[derive(Debug, PartialEq)]
enum Answer {
    /// Sorted, without duplicates, over all record types asked.
    Addresses(Vec<IpAddr>),
    /// The server answered, but with no address: NXDOMAIN, or NOERROR without records.
    NotFound(&'static str),
    /// An error code such as SERVFAIL.
    Error(String),
    /// No reply at all (timed out, unreachable).
    Silent,
}

impl Answer {
    fn of(detail: &DnsDetail) -> Self {
        let mut addresses: Vec<IpAddr> = detail
            .answers
            .iter()
            .flat_map(|answer| answer.addresses.iter().copied())
            .collect();
        if !addresses.is_empty() {
            addresses.sort_unstable();
            addresses.dedup();
            return Answer::Addresses(addresses);
        }
        let codes: Vec<&str> = detail
            .answers
            .iter()
            .filter_map(|answer| answer.rcode.as_deref())
            .collect();
        if codes.is_empty() {
            Answer::Silent
        } else if codes.contains(&"NXDOMAIN") {
            Answer::NotFound("NXDOMAIN")
        } else if let Some(error) = codes.iter().find(|code| **code != "NOERROR") {
            Answer::Error((*error).to_owned())
        } else {
            Answer::NotFound("no data")
        }
    }

    fn describe(&self) -> String {
        match self {
            Answer::Addresses(addresses) => {
                let listed: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
                listed.join(", ")
            }
            Answer::NotFound(code) => (*code).to_owned(),
            Answer::Error(code) => code.clone(),
            Answer::Silent => "no answer".to_owned(),
        }
    }
}

/// Every server's answer for one name, in probe order.
struct NameAnswers<'a> {
    name: &'a str,
    answers: Vec<(IpAddr, Answer)>,
}

impl NameAnswers<'_> {
    /// Servers grouped by what they said, groups joined by `separator`:
    /// "10.1.2.3 from 10.0.0.53 and 10.0.0.54", "10.1.2.3 from 10.0.0.53; NXDOMAIN from 10.0.0.54".
    fn grouped(&self, separator: &str) -> String {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for (server, answer) in &self.answers {
            let said = answer.describe();
            match groups.iter_mut().find(|(text, _)| *text == said) {
                Some((_, servers)) => servers.push(server.to_string()),
                None => groups.push((said, vec![server.to_string()])),
            }
        }
        let listed: Vec<String> = groups
            .iter()
            .map(|(said, servers)| format!("{said} from {}", servers.join(" and ")))
            .collect();
        listed.join(separator)
    }

    fn resolved(&self) -> bool {
        self.answers
            .iter()
            .any(|(_, answer)| matches!(answer, Answer::Addresses(_)))
    }

    fn addresses(&self) -> Vec<IpAddr> {
        let mut all: Vec<IpAddr> = self
            .answers
            .iter()
            .filter_map(|(_, answer)| match answer {
                Answer::Addresses(addresses) => Some(addresses.iter().copied()),
                Answer::NotFound(_) | Answer::Error(_) | Answer::Silent => None,
            })
            .flatten()
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

fn names(snapshot: &Snapshot) -> Vec<NameAnswers<'_>> {
    let mut names: Vec<NameAnswers<'_>> = Vec::new();
    for (_, detail) in sections::probes_with(snapshot, &NAME_ROLES, ProbeDetail::as_dns) {
        // A lookup that no server could be asked is net.dns.no_servers' business.
        let Some(server) = detail.server else {
            continue;
        };
        let answer = (server, Answer::of(detail));
        match names.iter_mut().find(|entry| entry.name == detail.name) {
            Some(entry) => entry.answers.push(answer),
            None => names.push(NameAnswers {
                name: &detail.name,
                answers: vec![answer],
            }),
        }
    }
    names
}

fn listed_addresses(addresses: &[IpAddr]) -> String {
    let listed: Vec<String> = addresses.iter().map(IpAddr::to_string).collect();
    listed.join(", ")
}

fn name_unresolved(snapshot: &Snapshot) -> Vec<Finding> {
    let names = names(snapshot);
    let problems = names
        .iter()
        .filter(|entry| {
            !entry.resolved() && entry.answers.iter().any(|(_, answer)| *answer != Answer::Silent)
        })
        .map(|entry| {
            let all_nxdomain = entry
                .answers
                .iter()
                .all(|(_, answer)| matches!(answer, Answer::NotFound("NXDOMAIN") | Answer::Silent));
            let title = if all_nxdomain {
                format!("{} does not exist in DNS (NXDOMAIN)", entry.name)
            } else {
                format!("{} does not resolve", entry.name)
            };
            NAME_UNRESOLVED
                .finding(Severity::Fail, title, entry.grouped("; "))
                .with_remediation(
                    "Check that the name is spelled correctly. Internal names often resolve only while the VPN is connected: ask the user to connect it and run the report again; otherwise report the name to whoever runs the company's DNS.",
                )
                .with_subject(entry.name)
        })
        .collect();
    let resolved: Vec<&NameAnswers<'_>> = names.iter().filter(|entry| entry.resolved()).collect();
    if resolved.is_empty() {
        return problems;
    }
    problems_or_pass(problems, || {
        let title = match resolved.as_slice() {
            [entry] => format!("{} resolves", entry.name),
            _ => format!(
                "{} resolve",
                format::counted(resolved.len(), "name", "names")
            ),
        };
        let listed: Vec<String> = resolved
            .iter()
            .map(|entry| format!("{}: {}", entry.name, listed_addresses(&entry.addresses())))
            .collect();
        NAME_UNRESOLVED.pass(title, listed.join("; "))
    })
}

/// Whether the servers that gave a definite answer about a name contradict each other.
fn contradicts(found: &[&Vec<IpAddr>], not_found: usize) -> bool {
    let found_and_missing = !found.is_empty() && not_found > 0;
    let disjoint = found.iter().enumerate().any(|(index, left)| {
        found[index + 1..]
            .iter()
            .any(|right| !left.iter().any(|address| right.contains(address)))
    });
    found_and_missing || disjoint
}

fn disagree(snapshot: &Snapshot) -> Vec<Finding> {
    let names = names(snapshot);
    let mut compared = Vec::new();
    let mut problems = Vec::new();
    for entry in &names {
        let found: Vec<&Vec<IpAddr>> = entry
            .answers
            .iter()
            .filter_map(|(_, answer)| match answer {
                Answer::Addresses(addresses) => Some(addresses),
                Answer::NotFound(_) | Answer::Error(_) | Answer::Silent => None,
            })
            .collect();
        let not_found = entry
            .answers
            .iter()
            .filter(|(_, answer)| matches!(answer, Answer::NotFound(_)))
            .count();
        if found.len() + not_found < 2 {
            continue;
        }
        if contradicts(&found, not_found) {
            problems.push(
                DISAGREE
                    .finding(Severity::Warn, format!("DNS servers disagree about {}", entry.name), entry.grouped("; "))
                    .with_remediation(
                        "Different DNS servers give different answers, typical when a VPN's DNS server and the router's are both in use (split DNS). Ask the user to reconnect the VPN; if it persists, escalate with this report. Large web sites legitimately answer with different addresses.",
                    )
                    .with_subject(entry.name),
            );
        } else {
            compared.push(entry);
        }
    }
    if problems.is_empty() && compared.is_empty() {
        return Vec::new();
    }
    problems_or_pass(problems, || {
        let listed: Vec<String> = compared
            .iter()
            .map(|entry| format!("{}: {}", entry.name, entry.grouped(" / ")))
            .collect();
        DISAGREE.pass(
            format!(
                "DNS servers agree on {}",
                format::counted(compared.len(), "name", "names")
            ),
            listed.join("; "),
        )
    })
}
