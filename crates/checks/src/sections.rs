//! Reaching into the snapshot's sections, and the rule that reports the sections that could not
//! be gathered (their own rules stay silent, so without it a failed reader would go unnoticed).

use sitrep_snapshot::{
    Bluetooth, DeviceProblem, Display, DnsConfig, Finding, Interface, Peripherals, Power, Printers,
    ProbeDetail, ProbeResult, Routing, Section, SectionError, SectionErrorKind, Severity, Snapshot,
    TargetRole, UsbDevice,
};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};

pub(crate) fn interfaces(snapshot: &Snapshot) -> Option<&[Interface]> {
    snapshot.network.ok()?.interfaces.ok().map(Vec::as_slice)
}

pub(crate) fn routing(snapshot: &Snapshot) -> Option<&Routing> {
    snapshot.network.ok()?.routing.ok()
}

pub(crate) fn dns_config(snapshot: &Snapshot) -> Option<&DnsConfig> {
    snapshot.network.ok()?.dns.ok()
}

fn peripheral<T>(snapshot: &Snapshot, part: fn(&Peripherals) -> &Section<T>) -> Option<&T> {
    part(snapshot.peripherals.ok()?).ok()
}

pub(crate) fn usb_devices(snapshot: &Snapshot) -> Option<&[UsbDevice]> {
    peripheral(snapshot, |p| &p.usb).map(Vec::as_slice)
}

pub(crate) fn printers(snapshot: &Snapshot) -> Option<&Printers> {
    peripheral(snapshot, |p| &p.printers)
}

pub(crate) fn displays(snapshot: &Snapshot) -> Option<&[Display]> {
    peripheral(snapshot, |p| &p.displays).map(Vec::as_slice)
}

pub(crate) fn power(snapshot: &Snapshot) -> Option<&Power> {
    peripheral(snapshot, |p| &p.power)
}

pub(crate) fn device_problems(snapshot: &Snapshot) -> Option<&[DeviceProblem]> {
    peripheral(snapshot, |p| &p.device_problems).map(Vec::as_slice)
}

pub(crate) fn bluetooth(snapshot: &Snapshot) -> Option<&Bluetooth> {
    peripheral(snapshot, |p| &p.bluetooth)
}

/// The probe results; none when probes were skipped or failed as a whole.
pub(crate) fn probes(snapshot: &Snapshot) -> &[ProbeResult] {
    snapshot.probes.ok().map(Vec::as_slice).unwrap_or_default()
}

/// Probes of the given roles whose detail `pick` accepts (e.g. `ProbeDetail::as_dns`), with it.
pub(crate) fn probes_with<'a, D>(
    snapshot: &'a Snapshot,
    roles: &[TargetRole],
    pick: fn(&'a ProbeDetail) -> Option<&'a D>,
) -> Vec<(&'a ProbeResult, &'a D)> {
    probes(snapshot)
        .iter()
        .filter(|probe| roles.contains(&probe.role))
        .filter_map(|probe| Some((probe, pick(&probe.detail)?)))
        .collect()
}

/// Why a probe failed, in the probe's words; empty when it did not.
pub(crate) fn failure_message(probe: &ProbeResult) -> &str {
    probe
        .failure
        .as_ref()
        .map(|failure| failure.message.as_str())
        .unwrap_or_default()
}

pub(crate) const SECTION_UNAVAILABLE: RuleInfo = RuleInfo {
    id: "agent.section_unavailable",
    description: "A part of the snapshot could not be gathered, so the rules that need it were skipped.",
    thresholds: "warn once per section that failed (network and peripheral parts count separately); skipped sections are not warnings",
    check: section_unavailable,
};

/// A leaf section: the parts of the network and the peripherals are reported one by one when
/// the section itself is there.
struct SectionState<'a> {
    key: &'static str,
    /// What the warning says when it failed, e.g. "Could not read the DNS settings".
    failed_title: &'static str,
    state: State<'a>,
}

enum State<'a> {
    Gathered,
    Failed(&'a SectionError),
    Skipped(&'a str),
}

impl<'a, T> From<&'a Section<T>> for State<'a> {
    fn from(section: &'a Section<T>) -> Self {
        match section {
            Section::Ok(_) => State::Gathered,
            Section::Error(error) => State::Failed(error),
            Section::Skipped(reason) => State::Skipped(reason),
        }
    }
}

fn leaf_sections(snapshot: &Snapshot) -> Vec<SectionState<'_>> {
    let leaf = |key, failed_title, state| SectionState {
        key,
        failed_title,
        state,
    };
    let mut leaves = vec![
        leaf(
            "os",
            "Could not read the operating system details",
            State::from(&snapshot.os),
        ),
        leaf(
            "hardware",
            "Could not read the CPU and memory details",
            State::from(&snapshot.hardware),
        ),
        leaf(
            "disks",
            "Could not read the disks",
            State::from(&snapshot.disks),
        ),
    ];
    match &snapshot.network {
        Section::Ok(network) => leaves.extend([
            leaf(
                "network.interfaces",
                "Could not read the network interfaces",
                State::from(&network.interfaces),
            ),
            leaf(
                "network.routing",
                "Could not read the routing table",
                State::from(&network.routing),
            ),
            leaf(
                "network.dns",
                "Could not read the DNS settings",
                State::from(&network.dns),
            ),
            leaf(
                "network.proxy",
                "Could not read the proxy settings",
                State::from(&network.proxy),
            ),
        ]),
        other => leaves.push(leaf(
            "network",
            "Could not read the network configuration",
            State::from(other),
        )),
    }
    leaves.push(leaf(
        "probes",
        "Could not run the network probes",
        State::from(&snapshot.probes),
    ));
    match &snapshot.peripherals {
        Section::Ok(peripherals) => leaves.extend([
            leaf(
                "peripherals.usb",
                "Could not read the USB devices",
                State::from(&peripherals.usb),
            ),
            leaf(
                "peripherals.printers",
                "Could not read the printers",
                State::from(&peripherals.printers),
            ),
            leaf(
                "peripherals.displays",
                "Could not read the displays",
                State::from(&peripherals.displays),
            ),
            leaf(
                "peripherals.audio",
                "Could not read the sound devices",
                State::from(&peripherals.audio),
            ),
            leaf(
                "peripherals.power",
                "Could not read the battery and power state",
                State::from(&peripherals.power),
            ),
            leaf(
                "peripherals.input",
                "Could not read the keyboards and mice",
                State::from(&peripherals.input),
            ),
            leaf(
                "peripherals.bluetooth",
                "Could not read the Bluetooth state",
                State::from(&peripherals.bluetooth),
            ),
            leaf(
                "peripherals.cameras",
                "Could not read the cameras",
                State::from(&peripherals.cameras),
            ),
            leaf(
                "peripherals.device_problems",
                "Could not read the devices with problems",
                State::from(&peripherals.device_problems),
            ),
        ]),
        other => leaves.push(leaf(
            "peripherals",
            "Could not read the peripherals",
            State::from(other),
        )),
    }
    leaves
}

fn section_unavailable(snapshot: &Snapshot) -> Vec<Finding> {
    let leaves = leaf_sections(snapshot);
    let problems = leaves
        .iter()
        .filter_map(|leaf| match leaf.state {
            State::Failed(error) => Some(
                SECTION_UNAVAILABLE
                    .finding(
                        Severity::Warn,
                        leaf.failed_title,
                        format!(
                            "{}: {}: {}",
                            leaf.key,
                            error_kind(error.kind),
                            error.message
                        ),
                    )
                    .with_remediation(remediation(error.kind))
                    .with_subject(leaf.key),
            ),
            State::Gathered | State::Skipped(_) => None,
        })
        .collect();
    problems_or_pass(problems, || {
        let gathered: Vec<&str> = leaves
            .iter()
            .filter(|leaf| matches!(leaf.state, State::Gathered))
            .map(|leaf| leaf.key)
            .collect();
        let skipped: Vec<String> = leaves
            .iter()
            .filter_map(|leaf| match leaf.state {
                State::Skipped(reason) => Some(format!("{} ({reason})", leaf.key)),
                State::Gathered | State::Failed(_) => None,
            })
            .collect();
        let mut evidence = format!("Gathered: {}", gathered.join(", "));
        if !skipped.is_empty() {
            evidence.push_str(&format!("; skipped: {}", skipped.join(", ")));
        }
        let title = format!(
            "Snapshot complete: {} gathered",
            format::counted(gathered.len(), "section", "sections")
        );
        SECTION_UNAVAILABLE.pass(title, evidence)
    })
}

fn error_kind(kind: SectionErrorKind) -> &'static str {
    match kind {
        SectionErrorKind::Io => "read error",
        SectionErrorKind::Parse => "not understood",
        SectionErrorKind::PermissionDenied => "permission denied",
        SectionErrorKind::Timeout => "timed out",
        SectionErrorKind::Unsupported => "not supported here",
        SectionErrorKind::Internal => "internal error",
    }
}

fn remediation(kind: SectionErrorKind) -> &'static str {
    match kind {
        SectionErrorKind::PermissionDenied => {
            "Run the report again with administrator rights (sudo sitrep report on Linux and macOS) so it can read this part."
        }
        SectionErrorKind::Timeout => {
            "Run the report again; if this part keeps timing out, send the report to second-line support."
        }
        SectionErrorKind::Unsupported => {
            "Nothing to do: sitrep cannot read this on this system, so the checks that need it were skipped."
        }
        SectionErrorKind::Io | SectionErrorKind::Parse | SectionErrorKind::Internal => {
            "Send this report to second-line support: this part could not be read, so the checks that need it were skipped."
        }
    }
}
