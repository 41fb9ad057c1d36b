//! Memory rules: how much memory programs can still get, and swap that has filled up behind it.

use sitrep_snapshot::{Finding, Memory, Severity, Snapshot, Swap};

use crate::format;
use crate::rule::{FindingParts, RuleInfo};

const MIB: u64 = 1024 * 1024;
/// Either limit alone is enough: a share catches big machines under pressure, a floor catches
/// small machines where 10 % is too little to start a browser.
const WARN_SHARE_PERCENT: f64 = 10.0;
const WARN_FLOOR_BYTES: u64 = 512 * MIB;
const FAIL_SHARE_PERCENT: f64 = 5.0;
const FAIL_FLOOR_BYTES: u64 = 256 * MIB;
const SWAP_FULL_PERCENT: f64 = 90.0;

pub(crate) const AVAILABLE_LOW: RuleInfo = RuleInfo {
    id: "memory.available_low",
    description: "Memory that new programs can still get without swapping.",
    thresholds: "warn when available < 10 % of total or < 512 MiB; fail when < 5 % of total or < 256 MiB",
    check: available_low,
};

pub(crate) const SWAP_FULL: RuleInfo = RuleInfo {
    id: "memory.swap_full",
    description: "Swap nearly full while memory is low, when the system starts closing programs; a full swap with memory to spare is harmless.",
    thresholds: "warn when swap is >= 90 % used and memory.available_low warns or fails; not judged without swap",
    check: swap_full,
};

fn available_percent(memory: &Memory) -> f64 {
    memory.available_bytes as f64 * 100.0 / memory.total_bytes as f64
}

/// `None` while memory is fine; callers make sure `total_bytes` is not zero.
fn low_memory_severity(memory: &Memory) -> Option<Severity> {
    let share = available_percent(memory);
    if share < FAIL_SHARE_PERCENT || memory.available_bytes < FAIL_FLOOR_BYTES {
        Some(Severity::Fail)
    } else if share < WARN_SHARE_PERCENT || memory.available_bytes < WARN_FLOOR_BYTES {
        Some(Severity::Warn)
    } else {
        None
    }
}

/// "1.2 GiB available of 15.5 GiB (7.7 %)".
fn memory_figures(memory: &Memory) -> String {
    format!(
        "{} available of {} ({})",
        format::bytes(memory.available_bytes),
        format::bytes(memory.total_bytes),
        format::percent(available_percent(memory))
    )
}

fn swap_used(swap: &Swap) -> u64 {
    swap.total_bytes.saturating_sub(swap.free_bytes)
}

fn swap_used_percent(swap: &Swap) -> f64 {
    swap_used(swap) as f64 * 100.0 / swap.total_bytes as f64
}

/// "swap 3.9 GiB of 4.0 GiB used (97.5 %)"; callers make sure `total_bytes` is not zero.
fn swap_figures(swap: &Swap) -> String {
    format!(
        "swap {} of {} used ({})",
        format::bytes(swap_used(swap)),
        format::bytes(swap.total_bytes),
        format::percent(swap_used_percent(swap))
    )
}

fn available_low(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(hardware) = snapshot.hardware.ok() else {
        return Vec::new();
    };
    let memory = &hardware.memory;
    if memory.total_bytes == 0 {
        return Vec::new();
    }
    let mut evidence = memory_figures(memory);
    if hardware.swap.total_bytes > 0 {
        evidence.push_str(&format!("; {}", swap_figures(&hardware.swap)));
    }
    let available = format::bytes(memory.available_bytes);
    let finding = match low_memory_severity(memory) {
        None => return vec![AVAILABLE_LOW.pass(format!("Memory OK: {available} available"), evidence)],
        Some(Severity::Fail) => AVAILABLE_LOW
            .finding(Severity::Fail, format!("Memory is nearly exhausted: only {available} available"), evidence)
            .with_remediation(
                "Ask the user to save their work, close the programs they are not using (browsers with many tabs first) and restart the computer if it stays slow.",
            ),
        Some(severity) => AVAILABLE_LOW
            .finding(severity, format!("Memory is running low: {available} available"), evidence)
            .with_remediation(
                "Ask the user to close programs and browser tabs they are not using; if memory stays low, restart the computer.",
            ),
    };
    vec![finding]
}

fn swap_full(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(hardware) = snapshot.hardware.ok() else {
        return Vec::new();
    };
    let (memory, swap) = (&hardware.memory, &hardware.swap);
    if swap.total_bytes == 0 || memory.total_bytes == 0 {
        return Vec::new();
    }
    let evidence = format!("{}; memory {}", swap_figures(swap), memory_figures(memory));
    let full = swap_used_percent(swap) >= SWAP_FULL_PERCENT;
    if full && low_memory_severity(memory).is_some() {
        vec![
            SWAP_FULL
                .finding(Severity::Warn, "Swap is full and memory is low: the system may close programs", evidence)
                .with_remediation(
                    "Ask the user to save their work now, close the programs they do not need and restart the computer.",
                ),
        ]
    } else {
        vec![SWAP_FULL.pass(
            format!(
                "Swap OK: {} of {} used",
                format::bytes(swap_used(swap)),
                format::bytes(swap.total_bytes)
            ),
            evidence,
        )]
    }
}
