//! Disk rules: free space, free inodes, and a system disk the kernel made read-only.

use sitrep_snapshot::{Disk, Finding, Severity, Snapshot};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};

/// Shared by space and inodes: past 90 % a user notices soon, past 97 % programs start failing.
const WARN_PERCENT: f64 = 90.0;
const FAIL_PERCENT: f64 = 97.0;

pub(crate) const SPACE: RuleInfo = RuleInfo {
    id: "disk.space",
    description: "Space left on each writable filesystem (what an ordinary user can still use).",
    thresholds: "per filesystem: warn at >= 90 % used, fail at >= 97 % used; read-only filesystems are not judged",
    check: space,
};

pub(crate) const INODES: RuleInfo = RuleInfo {
    id: "disk.inodes",
    description: "File entries (inodes) left on each writable filesystem; when they run out no file can be created despite free space.",
    thresholds: "per filesystem: warn at >= 90 % of inodes used, fail at >= 97 %; filesystems without an inode table (btrfs) and read-only ones are not judged",
    check: inodes,
};

pub(crate) const ROOT_READ_ONLY: RuleInfo = RuleInfo {
    id: "disk.root_read_only",
    description: "The system filesystem \"/\" is writable; Linux remounts it read-only after disk errors.",
    thresholds: "fail when \"/\" is mounted read-only; Linux only (macOS mounts its system volume read-only by design)",
    check: root_read_only,
};

fn usage_severity(used_percent: f64) -> Option<Severity> {
    if used_percent >= FAIL_PERCENT {
        Some(Severity::Fail)
    } else if used_percent >= WARN_PERCENT {
        Some(Severity::Warn)
    } else {
        None
    }
}

/// A full read-only filesystem (a mounted CD image, a snap package) is full by design.
fn writable(disks: &[Disk]) -> impl Iterator<Item = &Disk> {
    disks.iter().filter(|disk| !disk.read_only)
}

fn on_device(disk: &Disk) -> String {
    format!("on {} ({})", disk.device, disk.fs_type)
}

/// What a usage rule (space or inodes) measures and how its findings read.
struct Usage {
    rule: &'static RuleInfo,
    /// Percent used, where the filesystem reports it.
    used: fn(&Disk) -> Option<f64>,
    /// The figures behind a judgement, e.g. "4.1 GiB free of 233.5 GiB (98.2 % used)".
    figures: fn(&Disk, f64) -> String,
    title: fn(&Disk, f64) -> String,
    remediation: fn(&Disk, Severity) -> &'static str,
    /// "Disk space OK", followed by " on N filesystems".
    pass_title: &'static str,
}

/// One finding per writable filesystem past a threshold, or one pass naming them all.
fn judge_usage(snapshot: &Snapshot, usage: &Usage) -> Vec<Finding> {
    let Some(disks) = snapshot.disks.ok() else {
        return Vec::new();
    };
    let judged: Vec<(&Disk, f64)> = writable(disks)
        .filter_map(|disk| Some((disk, (usage.used)(disk)?)))
        .collect();
    if judged.is_empty() {
        return Vec::new();
    }
    let problems = judged
        .iter()
        .filter_map(|&(disk, used)| {
            let severity = usage_severity(used)?;
            Some(
                usage
                    .rule
                    .finding(
                        severity,
                        (usage.title)(disk, used),
                        format!("{} {}", (usage.figures)(disk, used), on_device(disk)),
                    )
                    .with_remediation((usage.remediation)(disk, severity))
                    .with_subject(&disk.mount_point),
            )
        })
        .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = judged
            .iter()
            .map(|&(disk, used)| format!("{}: {}", disk.mount_point, (usage.figures)(disk, used)))
            .collect();
        usage.rule.pass(
            format!(
                "{} on {}",
                usage.pass_title,
                format::counted(judged.len(), "filesystem", "filesystems")
            ),
            listed.join("; "),
        )
    })
}

fn space(snapshot: &Snapshot) -> Vec<Finding> {
    judge_usage(
        snapshot,
        &Usage {
            rule: &SPACE,
            used: |disk| disk.used_percent,
            figures: space_figures,
            title: |disk, used| {
                format!(
                    "Disk {} is {} full",
                    disk.mount_point,
                    format::whole_percent(used)
                )
            },
            remediation: |disk, severity| space_remediation(&disk.mount_point, severity),
            pass_title: "Disk space OK",
        },
    )
}

/// "4.1 GiB free of 233.5 GiB (98.2 % used)"; the percentage alone where sizes are missing.
fn space_figures(disk: &Disk, used: f64) -> String {
    match (disk.available_bytes, disk.total_bytes) {
        (Some(available), Some(total)) => format!(
            "{} free of {} ({} used)",
            format::bytes(available),
            format::bytes(total),
            format::percent(used)
        ),
        _ => format!("{} used", format::percent(used)),
    }
}

fn space_remediation(mount_point: &str, severity: Severity) -> &'static str {
    let under = |dir: &str| mount_point == dir || mount_point.starts_with(&format!("{dir}/"));
    if under("/boot") {
        // Ubuntu and Debian keep every installed kernel here until someone removes them.
        "Old kernels usually fill /boot: escalate to second-line support to remove the ones no longer used (e.g. `sudo apt autoremove --purge`)."
    } else if under("/var") {
        "Logs or package caches usually fill /var: escalate to second-line support to clean them up (e.g. `sudo journalctl --vacuum-size=200M`, `sudo apt clean`)."
    } else if severity == Severity::Fail {
        "Free space now, before programs start failing: ask the user to empty the Trash and the Downloads folder and delete or move large files they no longer need, then run the report again."
    } else {
        "Ask the user to empty the Trash and the Downloads folder and remove large files they no longer need, then run the report again."
    }
}

fn inodes(snapshot: &Snapshot) -> Vec<Finding> {
    judge_usage(
        snapshot,
        &Usage {
            rule: &INODES,
            used: |disk| disk.inodes_used_percent,
            figures: inode_figures,
            title: |disk, used| {
                format!(
                    "Disk {} has used {} of its inodes",
                    disk.mount_point,
                    format::whole_percent(used)
                )
            },
            remediation: |_, _| "Huge numbers of small files (caches, mail queues, session or temporary files) use up the file entries even when space is left: escalate to second-line support to find and remove them.",
            pass_title: "Inodes OK",
        },
    )
}

/// "1,234 of 6,553,600 inodes free (99.9 % used)".
fn inode_figures(disk: &Disk, used: f64) -> String {
    match (disk.inodes_free, disk.inodes_total) {
        (Some(free), Some(total)) => format!(
            "{} of {} inodes free ({} used)",
            format::count(free),
            format::count(total),
            format::percent(used)
        ),
        _ => format!("{} of inodes used", format::percent(used)),
    }
}

fn root_read_only(snapshot: &Snapshot) -> Vec<Finding> {
    let (Some(os), Some(disks)) = (snapshot.os.ok(), snapshot.disks.ok()) else {
        return Vec::new();
    };
    if os.family != "linux" {
        return Vec::new();
    }
    let Some(root) = disks.iter().find(|disk| disk.mount_point == "/") else {
        return Vec::new();
    };
    if root.read_only {
        vec![
            ROOT_READ_ONLY
                .finding(
                    Severity::Fail,
                    "The system disk (/) is read-only: nothing can be saved",
                    format!("/ is mounted read-only {}", on_device(root)),
                )
                .with_remediation(
                    "Linux does this after a disk error. Ask the user to save open work to a USB stick or a network drive and restart; if / is still read-only afterwards, escalate to second-line support (the disk may be failing).",
                )
                .with_subject("/"),
        ]
    } else {
        vec![ROOT_READ_ONLY.pass(
            "The system disk (/) is writable",
            format!("/ is mounted read-write {}", on_device(root)),
        )]
    }
}
