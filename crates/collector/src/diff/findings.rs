//! Finding changes: warnings and failures that appeared, cleared or changed severity, matched
//! by rule id and subject (one `disk.space` finding per full filesystem).
//!
//! Passes are not compared one by one: a rule that passes reports one finding without a
//! subject, a rule that fails one per subject, so "pass to warn" would read as one finding
//! gone and another come. What matters is the problem appearing; a cleared problem says
//! whether its rule passes now.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sitrep_snapshot::{Finding, Severity};
use utoipa::ToSchema;

use super::Changes;
use crate::store::severity_schema;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct FindingChanges {
    /// Warnings and failures of the newer snapshot that the older did not have.
    pub appeared: Vec<FindingRef>,
    /// Warnings and failures of the older snapshot that the newer has no more.
    pub cleared: Vec<ClearedFinding>,
    /// Warnings that became failures, or the other way round.
    pub severity_changed: Vec<SeverityChange>,
}

impl Changes for FindingChanges {
    fn is_empty(&self) -> bool {
        self.appeared.is_empty() && self.cleared.is_empty() && self.severity_changed.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FindingRef {
    /// The rule, e.g. `net.dns.unreachable`.
    pub id: String,
    /// What it is about (a mount point, an address), where the rule has several.
    pub subject: Option<String>,
    #[schema(schema_with = severity_schema)]
    pub severity: Severity,
    pub title: String,
}

impl FindingRef {
    fn of(finding: &Finding) -> FindingRef {
        FindingRef {
            id: finding.id.clone(),
            subject: finding.subject.clone(),
            severity: finding.severity,
            title: finding.title.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ClearedFinding {
    /// The finding as the older snapshot had it.
    pub finding: FindingRef,
    /// The rule passes in the newer snapshot; `false` when it could not judge (its section is
    /// missing there) or still reports other problems.
    pub now_passing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SeverityChange {
    /// The finding as the newer snapshot has it.
    pub finding: FindingRef,
    /// The severity in the older snapshot.
    #[schema(schema_with = severity_schema)]
    pub from: Severity,
}

pub(super) fn finding_changes(old: &[Finding], new: &[Finding]) -> FindingChanges {
    let passing: BTreeSet<&str> = new
        .iter()
        .filter(|finding| finding.severity == Severity::Pass)
        .map(|finding| finding.id.as_str())
        .collect();
    let (old, new) = (problems(old), problems(new));
    let appeared = new
        .iter()
        .filter(|(key, _)| !old.contains_key(*key))
        .map(|(_, finding)| FindingRef::of(finding))
        .collect();
    let cleared = old
        .iter()
        .filter(|(key, _)| !new.contains_key(*key))
        .map(|((id, _), finding)| ClearedFinding {
            finding: FindingRef::of(finding),
            now_passing: passing.contains(id),
        })
        .collect();
    let severity_changed = new
        .iter()
        .filter_map(|(key, finding)| {
            let before = old.get(key)?;
            (before.severity != finding.severity).then(|| SeverityChange {
                finding: FindingRef::of(finding),
                from: before.severity,
            })
        })
        .collect();
    FindingChanges {
        appeared,
        cleared,
        severity_changed,
    }
}

type Key<'a> = (&'a str, Option<&'a str>);

/// Warnings and failures by rule id and subject.
fn problems(findings: &[Finding]) -> BTreeMap<Key<'_>, &Finding> {
    findings
        .iter()
        .filter(|finding| finding.severity != Severity::Pass)
        .map(|finding| ((finding.id.as_str(), finding.subject.as_deref()), finding))
        .collect()
}
