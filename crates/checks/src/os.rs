//! Operating system rules: a restart the system asks for, and a computer not restarted for weeks.

use sitrep_snapshot::{Finding, Severity, Snapshot};

use crate::format;
use crate::rule::{FindingParts, RuleInfo};

const UPTIME_WARN_DAYS: u64 = 30;

pub(crate) const REBOOT_PENDING: RuleInfo = RuleInfo {
    id: "os.reboot_pending",
    description: "The system asks for a restart, usually to finish installing updates.",
    thresholds: "warn when a restart is pending, listing the packages that asked for it",
    check: reboot_pending,
};

pub(crate) const UPTIME_LONG: RuleInfo = RuleInfo {
    id: "os.uptime_long",
    description: "Time since the last restart; weeks of uptime pile up pending updates and slow, leaking programs.",
    thresholds: "warn when up for more than 30 days",
    check: uptime_long,
};

fn reboot_pending(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(os) = snapshot.os.ok() else {
        return Vec::new();
    };
    if !os.reboot_required {
        return vec![REBOOT_PENDING.pass(
            "No restart pending",
            "The system does not ask for a restart",
        )];
    }
    let evidence = if os.reboot_required_by.is_empty() {
        "The system reports that a restart is required".to_owned()
    } else {
        format!("Requested by: {}", os.reboot_required_by.join(", "))
    };
    vec![
        REBOOT_PENDING
            .finding(Severity::Warn, "A restart is pending to finish installing updates", evidence)
            .with_remediation(
                "Ask the user to save their work and restart the computer, then run the report again.",
            ),
    ]
}

fn uptime_long(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(os) = snapshot.os.ok() else {
        return Vec::new();
    };
    let Some(uptime) = os.uptime_seconds else {
        return Vec::new();
    };
    let mut evidence = format!("Up {}", format::duration(uptime));
    if let Some(boot) = os.boot_time {
        evidence.push_str(&format!(" (since {})", boot.format("%Y-%m-%d %H:%M UTC")));
    }
    if uptime <= UPTIME_WARN_DAYS * 86_400 {
        return vec![UPTIME_LONG.pass(
            format!("Last restart {} ago", format::duration(uptime)),
            evidence,
        )];
    }
    vec![
        UPTIME_LONG
            .finding(
                Severity::Warn,
                format!("The computer has not been restarted for {} days", uptime / 86_400),
                evidence,
            )
            .with_remediation(
                "Ask the user to save their work and restart the computer (a real restart, not sleep or shutdown with fast startup), then run the report again.",
            ),
    ]
}
