//! Display rule: an external monitor that is plugged in but shows nothing because the desktop
//! does not use it.

use sitrep_snapshot::{Display, Finding, Severity, Snapshot};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

pub(crate) const DISABLED: RuleInfo = RuleInfo {
    id: "display.disabled",
    description: "Every external monitor that is plugged in is in use (enabled in the display settings).",
    thresholds: "warn per external connector that is connected but disabled; built-in panels are not judged (they are off while the lid is closed)",
    check: disabled,
};

/// "DELL U2518D (serial 3C4YP86S582L)", "Dell monitor"; `None` where no EDID said what it is.
fn monitor_name(display: &Display) -> Option<String> {
    let monitor = display.monitor.as_ref()?;
    let mut name = match &monitor.model {
        // Model names often start with the make already ("DELL U2518D").
        Some(model)
            if model
                .to_lowercase()
                .starts_with(&monitor.make.to_lowercase()) =>
        {
            model.clone()
        }
        Some(model) => format!("{} {model}", monitor.make),
        None => format!("{} monitor", monitor.make),
    };
    if let Some(serial) = &monitor.serial {
        name.push_str(&format!(" (serial {serial})"));
    }
    Some(name)
}

/// `DP-1` for `card1-DP-1`: the name the display settings show.
fn short_connector(display: &Display) -> &str {
    display
        .connector
        .split_once('-')
        .map_or(display.connector.as_str(), |(_, connector)| connector)
}

fn disabled(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(displays) = sections::displays(snapshot) else {
        return Vec::new();
    };
    let external: Vec<&Display> = displays
        .iter()
        .filter(|display| display.connected && !display.internal)
        .collect();
    if external.is_empty() {
        return Vec::new();
    }
    let problems = external
        .iter()
        .filter(|display| !display.enabled)
        .map(|display| {
            let preferred = display
                .preferred_mode
                .as_deref()
                .map(|mode| format!(", preferred mode {mode}"))
                .unwrap_or_default();
            DISABLED
                .finding(
                    Severity::Warn,
                    format!(
                        "{} on {} is plugged in but not used",
                        monitor_name(display)
                            .map_or_else(|| "A monitor".to_owned(), |name| format!("Monitor {name}")),
                        short_connector(display)
                    ),
                    format!(
                        "{}: connected, disabled{preferred}",
                        display.connector
                    ),
                )
                .with_remediation(
                    "The monitor is plugged in, but the desktop does not show anything on it. Ask the user to open the display settings and turn it on (on many laptops Super+P or Fn and a display key cycles the modes); if it is not listed there, unplug and replug its cable or the dock.",
                )
                .with_subject(&display.connector)
        })
        .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = external
            .iter()
            .map(|display| {
                let name =
                    monitor_name(display).unwrap_or_else(|| "a monitor without EDID".to_owned());
                format!("{}: {name}", short_connector(display))
            })
            .collect();
        DISABLED.pass(
            format!(
                "{} connected and in use",
                format::counted(external.len(), "external monitor", "external monitors")
            ),
            listed.join("; "),
        )
    })
}
