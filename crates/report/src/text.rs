//! The terminal report: the pass/warn/fail summary and the findings first, then one line per fact.

mod peripherals;

use std::fmt::Write as _;

use sitrep_snapshot::{Finding, Severity, Snapshot};

use crate::facts::{
    Facts, NO_DISKS, NO_INTERFACES, NO_PROBES, ProbeFacts, Unavailable, outcome_label,
    severity_label,
};

/// ANSI colour; callers turn it on only for a terminal with `NO_COLOR` unset.
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
        let code = match severity {
            Severity::Fail => "1;31",
            Severity::Warn => "1;33",
            Severity::Pass => "32",
        };
        self.paint(code, severity_label(severity))
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", &printable(text))
    }
}

/// The report for a terminal or a pipe: verdict, findings, then the facts, one line each.
pub fn text(snapshot: &Snapshot, style: Style) -> String {
    let facts = Facts::of(snapshot);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sitrep report for {}, {} ({} ms)",
        printable(facts.host),
        facts.taken_at,
        facts.duration_ms
    );
    let _ = writeln!(
        out,
        "\n{}  {}\n",
        style.severity(facts.verdict),
        facts.tally
    );
    for finding in facts.problems.iter().chain(&facts.passes) {
        write_finding(&mut out, finding, style);
    }
    out.push('\n');
    write_facts(&mut out, &facts, style);
    let _ = writeln!(
        out,
        "\n{}",
        style.dim(&format!("snapshot {}", facts.snapshot_id))
    );
    out
}

fn write_finding(out: &mut String, finding: &Finding, style: Style) {
    let _ = writeln!(
        out,
        "{}  {}  {}",
        style.severity(finding.severity),
        printable(&finding.title),
        style.dim(&format!("[{}]", finding.id))
    );
    if finding.severity != Severity::Pass {
        let _ = writeln!(out, "      {}", printable(&finding.evidence));
        if !finding.remediation.is_empty() {
            let _ = writeln!(out, "      Try: {}", printable(&finding.remediation));
        }
    }
}

/// Writes fact lines under a column of labels.
struct FactLines<'o> {
    out: &'o mut String,
    style: Style,
}

impl FactLines<'_> {
    fn line(&mut self, label: &str, text: &str) {
        let _ = writeln!(
            self.out,
            "{}  {}",
            self.style.dim(&format!("{label:<9}")),
            printable(text)
        );
    }

    fn one(&mut self, label: &str, text: Result<String, &Unavailable>) {
        match text {
            Ok(text) => self.line(label, &text),
            Err(unavailable) => self.line(label, &unavailable.to_string()),
        }
    }

    /// The label goes on the first line only, so the items line up under it.
    fn list(&mut self, label: &str, lines: Result<Vec<String>, &Unavailable>, empty: &str) {
        match lines {
            Ok(lines) if lines.is_empty() => self.line(label, empty),
            Ok(lines) => {
                for (index, line) in lines.iter().enumerate() {
                    self.line(if index == 0 { label } else { "" }, line);
                }
            }
            Err(unavailable) => self.line(label, &unavailable.to_string()),
        }
    }
}

/// One label per line, so the facts fit one screen below the findings.
fn write_facts(out: &mut String, facts: &Facts, style: Style) {
    let mut lines = FactLines { out, style };
    lines.one(
        "System",
        facts.system.as_ref().map(|system| {
            let patch = system
                .patch_level
                .map(|patch| format!(" (build {patch})"))
                .unwrap_or_default();
            let kernel = system
                .kernel
                .map(|kernel| format!(", kernel {kernel}"))
                .unwrap_or_default();
            let uptime = system
                .uptime
                .as_deref()
                .map(|uptime| format!(", up {uptime}"))
                .unwrap_or_default();
            format!("{}{patch}{kernel}, {}{uptime}", system.name, system.arch)
        }),
    );
    match &facts.hardware {
        Ok(hardware) => {
            let load = hardware
                .load
                .as_deref()
                .map(|load| format!(", load {load}"))
                .unwrap_or_default();
            let model = hardware.cpu_model.unwrap_or("CPU");
            lines.line(
                "CPU",
                &format!("{model}, {} threads{load}", hardware.threads),
            );
            lines.line(
                "Memory",
                &format!("{}; swap {}", hardware.memory, hardware.swap),
            );
        }
        Err(unavailable) => lines.one("CPU", Err(unavailable)),
    }
    lines.list(
        "Disks",
        facts.disks.as_ref().map(|disks| {
            disks
                .iter()
                .map(|disk| {
                    let usage = match &disk.space {
                        Ok(space) => {
                            format!(
                                "{} used, {} free of {}",
                                space.used, space.free, space.total
                            )
                        }
                        Err(missing) => missing.clone(),
                    };
                    let read_only = if disk.read_only { ", read-only" } else { "" };
                    format!("{} ({}) {usage}{read_only}", disk.mount_point, disk.fs_type)
                })
                .collect()
        }),
        NO_DISKS,
    );
    match &facts.network {
        Ok(network) => {
            lines.list(
                "Network",
                network.interfaces.as_ref().map(|interfaces| {
                    interfaces
                        .iter()
                        .map(|interface| {
                            let line = format!(
                                "{} {} {}",
                                interface.name,
                                interface.state,
                                interface.addresses.join(" ")
                            );
                            line.trim_end().to_string()
                        })
                        .collect()
                }),
                NO_INTERFACES,
            );
            lines.one(
                "Gateway",
                network
                    .routing
                    .as_ref()
                    .map(|routing| routing.gateways.clone()),
            );
            lines.one(
                "DNS",
                network.dns.as_ref().map(|dns| {
                    let stub = dns
                        .local_stub
                        .as_deref()
                        .map(|stub| format!(" (through local stub {stub})"))
                        .unwrap_or_default();
                    let search = dns
                        .search_domains
                        .as_deref()
                        .map(|search| format!(", search {search}"))
                        .unwrap_or_default();
                    format!("{}{stub}{search}", dns.servers)
                }),
            );
            // Most machines have no proxy: its line appears only when there is something to say.
            match &network.proxy {
                Ok(settings) => {
                    for setting in settings.iter() {
                        lines.line(
                            "Proxy",
                            &format!("{}={} ({})", setting.name, setting.value, setting.source),
                        );
                    }
                }
                Err(unavailable) => lines.one("Proxy", Err(unavailable)),
            }
        }
        Err(unavailable) => lines.one("Network", Err(unavailable)),
    }
    lines.list(
        "Probes",
        facts
            .probes
            .as_ref()
            .map(|probes| probes.iter().map(probe_line).collect()),
        NO_PROBES,
    );
    match &facts.peripherals {
        Ok(facts) => peripherals::write(&mut lines, facts),
        Err(unavailable) => lines.one("Peripherals", Err(unavailable)),
    }
}

fn probe_line(probe: &ProbeFacts) -> String {
    let what = format!("{} {} {}", probe.method, probe.subject, probe.detail);
    let failure = probe
        .failure
        .map(|message| format!(": {message}"))
        .unwrap_or_default();
    format!(
        "{} [{}]{failure}",
        what.trim_end(),
        outcome_label(probe.outcome)
    )
}

/// Control characters in a machine's strings (an escape sequence in a host name) must not reach
/// the terminal, where they could rewrite the screen; they are shown as Rust escapes instead.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(printable("plain name"), "plain name");
        assert_eq!(printable("evil\x1b[2J\nname"), "evil\\u{1b}[2J\\nname");
    }
}
