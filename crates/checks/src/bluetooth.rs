//! Bluetooth rule: a Bluetooth radio switched off in software or by a key, switch or BIOS
//! setting, so headsets and mice cannot connect.

use sitrep_snapshot::{Finding, RfkillSwitch, Severity, Snapshot};

use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

pub(crate) const BLOCKED: RuleInfo = RuleInfo {
    id: "bluetooth.blocked",
    description: "Bluetooth radios are switched on (not blocked by a radio kill switch).",
    thresholds: "warn once for the Bluetooth switches that are soft-blocked (turned off in software or airplane mode) and once for those hard-blocked (a key, slider or BIOS setting)",
    check: blocked,
};

fn blocked(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(bluetooth) = sections::bluetooth(snapshot) else {
        return Vec::new();
    };
    let switches: Vec<&RfkillSwitch> = bluetooth
        .rfkill
        .iter()
        .filter(|switch| switch.kind == "bluetooth")
        .collect();
    if switches.is_empty() {
        return Vec::new();
    }
    // Turning Bluetooth off blocks every Bluetooth switch at once (the adapter's and, on a
    // ThinkPad, the firmware's), so the switches are reported together, one finding per kind.
    let hard: Vec<&RfkillSwitch> = switches
        .iter()
        .copied()
        .filter(|switch| switch.hard_blocked)
        .collect();
    let soft: Vec<&RfkillSwitch> = switches
        .iter()
        .copied()
        .filter(|switch| switch.soft_blocked && !switch.hard_blocked)
        .collect();
    let problems = [
        (
            hard,
            "Bluetooth is switched off by a hardware switch",
            "A key (an airplane or Fn key), a slider on the case or a BIOS setting switched the radio off, and software cannot undo that: ask the user to toggle it, then turn Bluetooth on in the settings.",
        ),
        (
            soft,
            "Bluetooth is turned off",
            "Ask the user to turn Bluetooth on in the system settings or quick settings menu, and to check that airplane mode is off.",
        ),
    ]
    .into_iter()
    .filter(|(blocked, _, _)| !blocked.is_empty())
    .map(|(blocked, title, remediation)| {
        let names: Vec<&str> = blocked.iter().map(|switch| switch.name.as_str()).collect();
        let listed: Vec<String> = blocked.iter().map(|switch| describe(switch)).collect();
        BLOCKED
            .finding(Severity::Warn, title, listed.join("; "))
            .with_remediation(remediation)
            .with_subject(names.join(", "))
    })
    .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = switches.iter().map(|switch| describe(switch)).collect();
        let adapters: Vec<&str> = bluetooth
            .adapters
            .iter()
            .map(|adapter| adapter.name.as_str())
            .collect();
        let title = if adapters.is_empty() {
            "Bluetooth is not blocked".to_owned()
        } else {
            format!("Bluetooth is on ({})", adapters.join(", "))
        };
        BLOCKED.pass(title, listed.join("; "))
    })
}

/// "hci0: soft-blocked", "tpacpi_bluetooth_sw: not blocked".
fn describe(switch: &RfkillSwitch) -> String {
    let state = match (switch.soft_blocked, switch.hard_blocked) {
        (false, false) => "not blocked",
        (true, false) => "soft-blocked",
        (false, true) => "hard-blocked",
        (true, true) => "soft- and hard-blocked",
    };
    format!("{}: {state}", switch.name)
}
