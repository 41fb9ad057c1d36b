//! Findings: pass/warn/fail judgements a specialist reads first.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Ordered so that `max()` gives the worst.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Pass,
    Warn,
    Fail,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Pass => "pass",
            Severity::Warn => "warn",
            Severity::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable rule id, e.g. `net.dns.unreachable`; scripts and dashboards key on it.
    pub id: String,
    pub severity: Severity,
    /// One line a specialist can read out, e.g. "DNS server 10.0.0.53 does not answer".
    pub title: String,
    /// The figures behind the judgement.
    pub evidence: String,
    /// What a first-line specialist can ask the user to do; empty on a pass.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remediation: String,
    /// What the finding is about (a mount point, an address, a name), where there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Counts per severity, for summaries and badges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct FindingSummary {
    pub pass: u32,
    pub warn: u32,
    pub fail: u32,
}

impl FindingSummary {
    pub fn of(findings: &[Finding]) -> Self {
        findings
            .iter()
            .fold(Self::default(), |mut summary, finding| {
                match finding.severity {
                    Severity::Pass => summary.pass += 1,
                    Severity::Warn => summary.warn += 1,
                    Severity::Fail => summary.fail += 1,
                }
                summary
            })
    }
}
