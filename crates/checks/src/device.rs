//! Device rule: a device the system lists but cannot use (Device Manager's yellow mark on
//! Windows, a PCI device without a driver on Linux).

use sitrep_snapshot::{DeviceProblem, Finding, Severity, Snapshot};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

pub(crate) const PROBLEM: RuleInfo = RuleInfo {
    id: "device.problem",
    description: "Every device the system lists works: it has a driver and the driver runs it.",
    thresholds: "warn per device with a problem (any Device Manager problem code on Windows, a PCI device without a driver on Linux); devices disabled on purpose (code 22) and USB devices the USB list already shows without a driver (judged by usb.no_driver) are not judged",
    check: problem,
};

/// Judged by `usb.no_driver`, which knows which USB devices programs drive themselves.
fn listed_as_driverless_usb(snapshot: &Snapshot, device: &DeviceProblem) -> bool {
    sections::usb_devices(snapshot).is_some_and(|usb| {
        usb.iter()
            .any(|listed| listed.path == device.device_id && listed.driver.is_none())
    })
}

/// What to try, by Device Manager's code where there is one.
fn remediation(device: &DeviceProblem) -> &'static str {
    match device.code {
        Some(14) => {
            "Restart the computer; the device works again after the restart Windows asks for."
        }
        Some(10 | 43) => {
            "Restart the computer, then unplug and replug the device if it is external. If the problem comes back, update the device's driver (from the maker's support site or Windows Update); if it still fails, escalate to second-line support: the device may be faulty."
        }
        _ => {
            "The system has no working driver for this device, so it does not work. Install or update its driver (Windows Update's optional driver updates, or the maker's support site; on Linux the distribution's firmware and driver packages), then restart. If that does not help, escalate to second-line support."
        }
    }
}

fn problem(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(devices) = sections::device_problems(snapshot) else {
        return Vec::new();
    };
    let (disabled, judged): (Vec<&DeviceProblem>, Vec<&DeviceProblem>) = devices
        .iter()
        .filter(|device| !listed_as_driverless_usb(snapshot, device))
        .partition(|device| device.disabled);
    let problems = judged
        .iter()
        .map(|device| {
            let details: Vec<String> = [
                device.class.as_ref().map(|class| format!("class {class}")),
                device.bus.as_ref().map(|bus| format!("bus {bus}")),
                device
                    .driver
                    .as_ref()
                    .map(|driver| format!("driver {driver}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            let mut evidence = format!("{}: {}", device.device_id, device.problem);
            if !details.is_empty() {
                evidence.push_str(&format!("; {}", details.join(", ")));
            }
            PROBLEM
                .finding(
                    Severity::Warn,
                    format!("{} does not work", device.name),
                    evidence,
                )
                .with_remediation(remediation(device))
                .with_subject(&device.device_id)
        })
        .collect();
    problems_or_pass(problems, || {
        let mut evidence = "No device reports a problem".to_owned();
        if !disabled.is_empty() {
            let names: Vec<&str> = disabled.iter().map(|device| device.name.as_str()).collect();
            evidence.push_str(&format!(
                "; disabled on purpose: {} ({})",
                format::counted(disabled.len(), "device", "devices"),
                names.join(", ")
            ));
        }
        PROBLEM.pass("Every device has a working driver", evidence)
    })
}
