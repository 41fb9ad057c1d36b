//! Snapshot -> findings: the pure rules that judge a snapshot pass, warn or fail.
//!
//! Architecture Invariant: every rule is a function of the snapshot alone: no IO, no clock
//! (anything time-related comes from the snapshot, e.g. `taken_at`, `uptime_seconds`). Every rule
//! has a stable id and is listed in [`RULES`] with its thresholds, and [`judge`] runs exactly that
//! table, so docs and `--help` listings cannot drift from what is checked.
//!
//! A rule that finds problems reports each; one that finds none reports a single pass, so the
//! report shows what was checked; one whose section is missing says nothing, and
//! `agent.section_unavailable` reports the missing section instead.

mod battery;
mod bluetooth;
mod device;
mod disk;
mod display;
mod dns;
pub mod format;
mod memory;
mod network;
mod os;
mod ping;
mod printer;
mod rule;
mod sections;
mod services;
mod usb;

use std::cmp::Ordering;

use sitrep_snapshot::{Finding, Snapshot};

pub use rule::RuleInfo;

/// Every rule, grouped by area.
pub const RULES: &[RuleInfo] = &[
    sections::SECTION_UNAVAILABLE,
    os::REBOOT_PENDING,
    os::UPTIME_LONG,
    memory::AVAILABLE_LOW,
    memory::SWAP_FULL,
    disk::SPACE,
    disk::INODES,
    disk::ROOT_READ_ONLY,
    network::NO_DEFAULT_ROUTE,
    network::IPV4_NONE,
    network::IPV4_APIPA,
    ping::GATEWAY_LOSS,
    ping::PING_UNREACHABLE,
    ping::PERMISSION,
    dns::NO_SERVERS,
    dns::UNREACHABLE,
    dns::SERVER_ERROR,
    dns::NAME_UNRESOLVED,
    dns::DISAGREE,
    services::TCP_UNREACHABLE,
    services::HTTP_FAILED,
    services::CERTIFICATE,
    printer::STOPPED,
    printer::JOBS_STUCK,
    battery::HEALTH,
    usb::NO_DRIVER,
    device::PROBLEM,
    display::DISABLED,
    bluetooth::BLOCKED,
];

/// Every rule's findings, worst first (fail, warn, pass), then by rule id, then by subject.
pub fn judge(snapshot: &Snapshot) -> Vec<Finding> {
    let mut findings: Vec<Finding> = RULES.iter().flat_map(|rule| rule.check(snapshot)).collect();
    findings.sort_by(worst_first);
    findings
}

fn worst_first(a: &Finding, b: &Finding) -> Ordering {
    b.severity
        .cmp(&a.severity)
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.subject.cmp(&b.subject))
}
