//! `RuleInfo`: one rule's stable id, what it checks, its thresholds, and the function that applies it.

use sitrep_snapshot::{Finding, Severity, Snapshot};

/// One rule. [`crate::RULES`] lists them all, so docs and `--help` listings come from the same
/// table [`crate::judge`] runs.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    /// Stable id such as `disk.space`; findings carry it, scripts and dashboards key on it.
    pub id: &'static str,
    /// What the rule looks at, in one line.
    pub description: &'static str,
    /// When it warns and when it fails.
    pub thresholds: &'static str,
    pub(crate) check: fn(&Snapshot) -> Vec<Finding>,
}

impl RuleInfo {
    /// This rule's findings for `snapshot`, unsorted: problems, or one pass, or nothing when the
    /// sections it needs are missing.
    pub fn check(&self, snapshot: &Snapshot) -> Vec<Finding> {
        (self.check)(snapshot)
    }

    pub(crate) fn finding(
        &self,
        severity: Severity,
        title: impl Into<String>,
        evidence: impl Into<String>,
    ) -> Finding {
        Finding {
            id: self.id.to_owned(),
            severity,
            title: title.into(),
            evidence: evidence.into(),
            remediation: String::new(),
            subject: None,
        }
    }

    pub(crate) fn pass(&self, title: impl Into<String>, evidence: impl Into<String>) -> Finding {
        self.finding(Severity::Pass, title, evidence)
    }
}

/// Completes a [`Finding`] made by [`RuleInfo::finding`].
pub(crate) trait FindingParts {
    fn with_remediation(self, remediation: impl Into<String>) -> Self;
    fn with_subject(self, subject: impl Into<String>) -> Self;
}

impl FindingParts for Finding {
    fn with_remediation(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = remediation.into();
        self
    }

    fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}

/// A rule that found problems reports them; one that found none reports a single pass, so the
/// report shows what was checked without a line per healthy item.
pub(crate) fn problems_or_pass(
    problems: Vec<Finding>,
    pass: impl FnOnce() -> Finding,
) -> Vec<Finding> {
    if problems.is_empty() {
        vec![pass()]
    } else {
        problems
    }
}
