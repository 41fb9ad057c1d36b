//! Battery rule: a worn battery that holds much less than it did new.

use sitrep_snapshot::{Battery, Finding, Severity, Snapshot};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

/// Below 60 % of its design capacity a laptop battery lasts well under half a working day.
const HEALTH_WARN_PERCENT: f64 = 60.0;

pub(crate) const HEALTH: RuleInfo = RuleInfo {
    id: "battery.health",
    description: "Each built-in battery still holds most of what it held new (full charge against design capacity).",
    thresholds: "per battery: warn below 60 % of its design capacity; batteries of wireless mice, keyboards and headsets are not judged",
    check: health,
};

/// "BAT0 (5B10W13975, SMP, Li-poly): 30.8 Wh of 57.0 Wh design (54.1 %), 412 cycles, discharging at 81 %".
fn describe(battery: &Battery, health: f64) -> String {
    let about: Vec<&str> = [&battery.model, &battery.manufacturer, &battery.technology]
        .into_iter()
        .filter_map(Option::as_deref)
        .collect();
    let mut text = battery.name.clone();
    if !about.is_empty() {
        text.push_str(&format!(" ({})", about.join(", ")));
    }
    text.push_str(": ");
    match (battery.energy_full_wh, battery.energy_full_design_wh) {
        (Some(full), Some(design)) => text.push_str(&format!(
            "{full:.1} Wh of {design:.1} Wh design ({})",
            format::percent(health)
        )),
        _ => text.push_str(&format!("{} of design capacity", format::percent(health))),
    }
    if let Some(cycles) = battery.cycle_count {
        text.push_str(&format!(
            ", {}",
            format::counted(cycles as usize, "cycle", "cycles")
        ));
    }
    if let Some(charge) = battery.capacity_pct {
        text.push_str(&format!(", charged {charge} %"));
    }
    text
}

fn health(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(power) = sections::power(snapshot) else {
        return Vec::new();
    };
    let judged: Vec<(&Battery, f64)> = power
        .batteries
        .iter()
        .filter(|battery| !battery.peripheral)
        .filter_map(|battery| Some((battery, battery.health_pct?)))
        .collect();
    if judged.is_empty() {
        return Vec::new();
    }
    let problems = judged
        .iter()
        .filter(|(_, health)| *health < HEALTH_WARN_PERCENT)
        .map(|&(battery, health)| {
            HEALTH
                .finding(
                    Severity::Warn,
                    format!(
                        "Battery {} is worn: it holds {} of its design capacity",
                        battery.name,
                        format::whole_percent(health)
                    ),
                    describe(battery, health),
                )
                .with_remediation(
                    "The battery runs out much sooner than when it was new; that is wear, not a fault of the computer. Ask the user to work plugged in where they can, and request a replacement battery through second-line support.",
                )
                .with_subject(&battery.name)
        })
        .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = judged
            .iter()
            .map(|&(battery, health)| describe(battery, health))
            .collect();
        HEALTH.pass(
            format!(
                "Battery health OK on {}",
                format::counted(judged.len(), "battery", "batteries")
            ),
            listed.join("; "),
        )
    })
}
