//! Probe changes: for each target and method, whether the outcome changed (a gateway that
//! answered and now times out), and probes only one snapshot ran.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use sitrep_snapshot::{ProbeDetail, ProbeFailureKind, ProbeOutcome, ProbeResult, TargetRole};
use utoipa::ToSchema;

use super::Changes;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct ProbeChanges {
    /// Probes both snapshots ran whose outcome or kind of failure changed.
    pub changed: Vec<ProbeChange>,
    /// Probes only the newer snapshot ran (a new gateway or DNS server, a requested target).
    pub added: Vec<ProbeState>,
    /// Probes only the older snapshot ran.
    pub removed: Vec<ProbeState>,
}

impl Changes for ProbeChanges {
    fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }
}

/// Which probe: the same target probed the same way (through the same DNS server).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct ProbeRef {
    pub method: ProbeMethod,
    /// As the snapshot names it: an address, a name, `host:port` or a URL.
    pub target: String,
    /// The DNS server asked, for DNS probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub server: Option<IpAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeMethod {
    Ping,
    Dns,
    Tcp,
    Http,
}

impl ProbeMethod {
    pub fn label(self) -> &'static str {
        match self {
            ProbeMethod::Ping => "Ping",
            ProbeMethod::Dns => "DNS",
            ProbeMethod::Tcp => "TCP",
            ProbeMethod::Http => "HTTP",
        }
    }
}

/// How a probe ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProbeStatus {
    /// `success`, `partial` or `failure`.
    #[schema(value_type = String)]
    pub outcome: ProbeOutcome,
    /// The kind of failure, e.g. `timeout` or `refused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub failure: Option<ProbeFailureKind>,
    /// What went wrong, in words; not compared (it quotes timings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ProbeStatus {
    fn of(result: &ProbeResult) -> ProbeStatus {
        ProbeStatus {
            outcome: result.outcome,
            failure: result.failure.as_ref().map(|failure| failure.kind),
            message: result
                .failure
                .as_ref()
                .map(|failure| failure.message.clone()),
        }
    }

    fn same_as(&self, other: &ProbeStatus) -> bool {
        self.outcome == other.outcome && self.failure == other.failure
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProbeChange {
    pub probe: ProbeRef,
    /// Why the newer snapshot probed it: `gateway`, `dns_server`, `collector`, `configured`
    /// or `requested`.
    #[schema(value_type = String)]
    pub role: TargetRole,
    pub from: ProbeStatus,
    pub to: ProbeStatus,
}

/// A probe only one snapshot ran, and how it ended there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProbeState {
    pub probe: ProbeRef,
    #[schema(value_type = String)]
    pub role: TargetRole,
    pub status: ProbeStatus,
}

pub(super) fn probe_changes(old: &[ProbeResult], new: &[ProbeResult]) -> ProbeChanges {
    let (old, new) = (by_probe(old), by_probe(new));
    let changed = new
        .iter()
        .filter_map(|(probe, &result)| {
            let from = ProbeStatus::of(old.get(probe)?);
            let to = ProbeStatus::of(result);
            (!from.same_as(&to)).then(|| ProbeChange {
                probe: probe.clone(),
                role: result.role,
                from,
                to,
            })
        })
        .collect();
    let only_in = |these: &BTreeMap<ProbeRef, &ProbeResult>,
                   others: &BTreeMap<ProbeRef, &ProbeResult>| {
        these
            .iter()
            .filter(|(probe, _)| !others.contains_key(probe))
            .map(|(probe, result)| ProbeState {
                probe: probe.clone(),
                role: result.role,
                status: ProbeStatus::of(result),
            })
            .collect()
    };
    ProbeChanges {
        changed,
        added: only_in(&new, &old),
        removed: only_in(&old, &new),
    }
}

fn by_probe(results: &[ProbeResult]) -> BTreeMap<ProbeRef, &ProbeResult> {
    results
        .iter()
        .map(|result| {
            let (method, server) = match &result.detail {
                ProbeDetail::Ping(_) => (ProbeMethod::Ping, None),
                ProbeDetail::Dns(detail) => (ProbeMethod::Dns, detail.server),
                ProbeDetail::Tcp(_) => (ProbeMethod::Tcp, None),
                ProbeDetail::Http(_) => (ProbeMethod::Http, None),
            };
            let probe = ProbeRef {
                method,
                target: result.target.clone(),
                server,
            };
            (probe, result)
        })
        .collect()
}
