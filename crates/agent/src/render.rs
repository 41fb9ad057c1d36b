//! The human report: the pass/warn/fail summary and the findings first, then one line per fact.

use std::fmt::Write as _;

use sitrep_checks::format::{bytes, duration};
use sitrep_snapshot::{
    Finding, FindingSummary, ProbeDetail, ProbeOutcome, ProbeResult, Section, Severity, Snapshot,
};

/// ANSI colour, used only when writing to a terminal and `NO_COLOR` is unset.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(self, severity: Severity) -> String {
        match severity {
            Severity::Fail => self.paint("1;31", "FAIL"),
            Severity::Warn => self.paint("1;33", "WARN"),
            Severity::Pass => self.paint("32", "PASS"),
        }
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

pub fn render(snapshot: &Snapshot, style: Style) -> String {
    let mut out = String::new();
    let host = snapshot
        .os
        .ok()
        .and_then(|os| os.hostname.clone())
        .unwrap_or_else(|| "this machine".into());
    let _ = writeln!(
        out,
        "sitrep report for {host}, {} ({} ms)",
        snapshot.taken_at.format("%Y-%m-%d %H:%M:%S UTC"),
        snapshot.duration_ms
    );
    let summary = FindingSummary::of(&snapshot.findings);
    let _ = writeln!(
        out,
        "\n{}  {} failed, {} warning{}, {} passed\n",
        style.severity(snapshot.worst_severity()),
        summary.fail,
        summary.warn,
        if summary.warn == 1 { "" } else { "s" },
        summary.pass
    );
    for finding in &snapshot.findings {
        render_finding(&mut out, finding, style);
    }
    out.push('\n');
    render_facts(&mut out, snapshot, style);
    let _ = writeln!(out, "\n{}", style.dim(&format!("snapshot {}", snapshot.id)));
    out
}

fn render_finding(out: &mut String, finding: &Finding, style: Style) {
    let _ = writeln!(
        out,
        "{}  {}  {}",
        style.severity(finding.severity),
        finding.title,
        style.dim(&format!("[{}]", finding.id))
    );
    if finding.severity != Severity::Pass {
        let _ = writeln!(out, "      {}", finding.evidence);
        if !finding.remediation.is_empty() {
            let _ = writeln!(out, "      Try: {}", finding.remediation);
        }
    }
}

/// One label per line, so the facts fit one screen below the findings.
fn render_facts(out: &mut String, snapshot: &Snapshot, style: Style) {
    let mut fact = |label: &str, text: String| {
        let _ = writeln!(out, "{}  {text}", style.dim(&format!("{label:<9}")));
    };
    match &snapshot.os {
        Section::Ok(os) => {
            let name = os.pretty_name.clone().unwrap_or_else(|| os.name.clone());
            let kernel = os
                .kernel
                .as_deref()
                .map(|k| format!(", kernel {k}"))
                .unwrap_or_default();
            let uptime = os
                .uptime_seconds
                .map(|s| format!(", up {}", duration(s)))
                .unwrap_or_default();
            fact("System", format!("{name}{kernel}, {}{uptime}", os.arch));
        }
        other => fact("System", unavailable(other)),
    }
    match &snapshot.hardware {
        Section::Ok(hw) => {
            let model = hw.cpu.model.as_deref().unwrap_or("CPU");
            let load = hw
                .cpu
                .load_average
                .map(|l| format!(", load {:.2} {:.2} {:.2}", l[0], l[1], l[2]))
                .unwrap_or_default();
            fact(
                "CPU",
                format!("{model}, {} threads{load}", hw.cpu.logical_cores),
            );
            fact(
                "Memory",
                format!(
                    "{} available of {}; swap {} used of {}",
                    bytes(hw.memory.available_bytes),
                    bytes(hw.memory.total_bytes),
                    bytes(hw.swap.total_bytes.saturating_sub(hw.swap.free_bytes)),
                    bytes(hw.swap.total_bytes)
                ),
            );
        }
        other => fact("CPU", unavailable(other)),
    }
    match &snapshot.disks {
        Section::Ok(disks) => {
            for (i, disk) in disks.iter().enumerate() {
                let usage = match (disk.used_percent, disk.available_bytes, disk.total_bytes) {
                    (Some(used), Some(available), Some(total)) => {
                        format!(
                            "{used:.0} % used, {} free of {}",
                            bytes(available),
                            bytes(total)
                        )
                    }
                    _ => disk
                        .stat_error
                        .clone()
                        .unwrap_or_else(|| "no figures".into()),
                };
                let read_only = if disk.read_only { ", read-only" } else { "" };
                fact(
                    if i == 0 { "Disks" } else { "" },
                    format!("{} ({}) {usage}{read_only}", disk.mount_point, disk.fs_type),
                );
            }
        }
        other => fact("Disks", unavailable(other)),
    }
    match &snapshot.network {
        Section::Ok(network) => {
            match &network.interfaces {
                Section::Ok(interfaces) => {
                    let mut first = true;
                    for interface in interfaces.iter().filter(|i| !i.loopback) {
                        let addresses: Vec<String> = interface
                            .addresses
                            .iter()
                            .map(|a| format!("{}/{}", a.address, a.prefix_len))
                            .collect();
                        let state = format!("{:?}", interface.oper_state).to_lowercase();
                        let line = format!("{} {state} {}", interface.name, addresses.join(" "));
                        fact(
                            if first { "Network" } else { "" },
                            line.trim_end().to_string(),
                        );
                        first = false;
                    }
                }
                other => fact("Network", unavailable(other)),
            }
            match &network.routing {
                Section::Ok(routing) if routing.default_gateways.is_empty() => {
                    fact("Gateway", "no default route".into())
                }
                Section::Ok(routing) => {
                    let gateways: Vec<String> = routing
                        .default_gateways
                        .iter()
                        .map(|r| match r.gateway {
                            Some(gateway) => format!("{gateway} via {}", r.interface),
                            None => format!("on-link via {}", r.interface),
                        })
                        .collect();
                    fact("Gateway", gateways.join(", "));
                }
                other => fact("Gateway", unavailable(other)),
            }
            match &network.dns {
                Section::Ok(dns) => {
                    let servers: Vec<String> =
                        dns.servers.iter().map(ToString::to_string).collect();
                    let stub = dns
                        .local_stub
                        .map(|s| format!(" (through local stub {s})"))
                        .unwrap_or_default();
                    let search = if dns.search_domains.is_empty() {
                        String::new()
                    } else {
                        format!(", search {}", dns.search_domains.join(" "))
                    };
                    fact(
                        "DNS",
                        format!(
                            "{}{stub}{search}",
                            if servers.is_empty() {
                                "no servers".into()
                            } else {
                                servers.join(" ")
                            }
                        ),
                    );
                }
                other => fact("DNS", unavailable(other)),
            }
            if let Section::Ok(proxy) = &network.proxy {
                for setting in &proxy.settings {
                    fact(
                        "Proxy",
                        format!("{}={} ({})", setting.name, setting.value, setting.source),
                    );
                }
            }
        }
        other => fact("Network", unavailable(other)),
    }
    match &snapshot.probes {
        Section::Ok(probes) => {
            for (i, probe) in probes.iter().enumerate() {
                fact(if i == 0 { "Probes" } else { "" }, probe_line(probe));
            }
        }
        other => fact("Probes", unavailable(other)),
    }
}

fn probe_line(probe: &ProbeResult) -> String {
    let outcome = match probe.outcome {
        ProbeOutcome::Success => "ok",
        ProbeOutcome::Partial => "partly",
        ProbeOutcome::Failure => "FAILED",
    };
    let what = match &probe.detail {
        ProbeDetail::Ping(ping) => {
            let rtt = ping
                .rtt_avg_ms
                .map(|ms| format!(", {ms:.1} ms avg"))
                .unwrap_or_default();
            format!("ping {} {:.0} % loss{rtt}", probe.target, ping.loss_percent)
        }
        ProbeDetail::Dns(dns) => {
            let answers: Vec<String> = dns
                .answers
                .iter()
                .map(|a| {
                    format!(
                        "{} {}",
                        a.record_type,
                        a.rcode.as_deref().unwrap_or("no answer")
                    )
                })
                .collect();
            format!(
                "dns {} @{}: {}",
                dns.name,
                dns.server_label(),
                answers.join(", ")
            )
        }
        ProbeDetail::Tcp(tcp) => {
            format!(
                "tcp {}{}",
                probe.target,
                tcp.connect_ms
                    .map(|ms| format!(" {ms:.1} ms"))
                    .unwrap_or_default()
            )
        }
        ProbeDetail::Http(http) => {
            let status = http.status.map(|s| format!(" {s}")).unwrap_or_default();
            format!(
                "http {}{status}{}",
                http.url,
                http.response_ms
                    .map(|ms| format!(" {ms:.0} ms"))
                    .unwrap_or_default()
            )
        }
    };
    let failure = probe
        .failure
        .as_ref()
        .map(|f| format!(": {}", f.message))
        .unwrap_or_default();
    format!("{what} [{outcome}]{failure}")
}

fn unavailable<T>(section: &Section<T>) -> String {
    match section {
        Section::Ok(_) => String::new(),
        Section::Error(error) => format!("unavailable: {}", error.message),
        Section::Skipped(reason) => format!("skipped: {reason}"),
    }
}
