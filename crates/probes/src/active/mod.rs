//! Active network probes: ping, DNS, TCP connect and HTTP(S) GET, run concurrently under one
//! report deadline.
//!
//! [`ProbePlan::new`] decides what to probe (default gateways, each DNS server, the collector,
//! configured and requested targets); [`run`] probes everything at once, each probe under its own
//! timeout and all of them under the report's deadline. Every planned probe yields exactly one
//! [`ProbeResult`], in plan order: a probe cut off by the deadline is reported as a timeout,
//! never dropped.
//!
//! HTTPS uses rustls with the aws-lc-rs provider: the process-wide default provider when one is
//! installed, otherwise aws-lc-rs explicitly, so building a client never panics for want of one.

mod dns;
mod http;
mod ping;
mod plan;
mod resolve;
mod targets;
mod tcp;

pub use plan::{PlannedProbe, Probe, ProbePlan};
pub use targets::{InvalidTarget, TargetError, TargetList};

use std::io;
use std::time::Duration;

use sitrep_snapshot::{ProbeDetail, ProbeFailure, ProbeFailureKind, ProbeOutcome, ProbeResult};
use tokio::time::Instant;

/// How each probe behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSettings {
    /// The longest one probe waits for an answer (for ping: for each echo reply).
    pub timeout: Duration,
    /// Echo requests per ping probe (at least one is sent).
    pub ping_count: u32,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            timeout: Duration::from_secs(2),
            ping_count: 4,
        }
    }
}

/// Runs every planned probe concurrently and returns one result per probe, in plan order.
/// Probes still running at `deadline` are reported as timeouts.
pub async fn run(
    plan: &ProbePlan,
    settings: &ProbeSettings,
    deadline: Instant,
) -> Vec<ProbeResult> {
    let probes = plan
        .probes()
        .iter()
        .map(|planned| run_planned(planned, settings, deadline));
    futures::future::join_all(probes).await
}

async fn run_planned(
    planned: &PlannedProbe,
    settings: &ProbeSettings,
    deadline: Instant,
) -> ProbeResult {
    let started = Instant::now();
    let finished = match tokio::time::timeout_at(deadline, execute(&planned.probe, settings)).await
    {
        Ok(finished) => finished,
        Err(_) => Finished::failed(
            unstarted_detail(&planned.probe),
            ProbeFailureKind::Timeout,
            format!(
                "the report deadline was reached after {:.0} ms, before this probe finished",
                millis(started.elapsed())
            ),
        ),
    };
    let result = ProbeResult {
        target: planned.probe.target(),
        role: planned.role,
        outcome: finished.outcome,
        elapsed_ms: millis(started.elapsed()),
        failure: finished.failure,
        detail: finished.detail,
    };
    tracing::debug!(
        probe = %result.target,
        outcome = ?result.outcome,
        elapsed_ms = result.elapsed_ms,
        "probe finished"
    );
    result
}

async fn execute(probe: &Probe, settings: &ProbeSettings) -> Finished {
    match probe {
        Probe::Ping { target } => ping::ping(target, settings).await,
        Probe::DnsServer { server } => dns::server_answers(*server, settings).await,
        Probe::DnsLookup {
            server: Some(server),
            name,
        } => dns::lookup(*server, name, settings).await,
        Probe::DnsLookup { server: None, name } => dns::no_server(name),
        Probe::Tcp { target } => tcp::connect(target, settings).await,
        Probe::Http { url } => http::get(url, settings).await,
    }
}

/// The detail of a probe that never got far enough to fill it in.
fn unstarted_detail(probe: &Probe) -> ProbeDetail {
    match probe {
        Probe::Ping { .. } => ProbeDetail::Ping(ping::empty_detail(None)),
        Probe::DnsServer { server } => ProbeDetail::Dns(dns::empty_detail(Some(*server), ".")),
        Probe::DnsLookup { server, name } => ProbeDetail::Dns(dns::empty_detail(*server, name)),
        Probe::Tcp { target } => ProbeDetail::Tcp(tcp::empty_detail(target)),
        Probe::Http { url } => ProbeDetail::Http(http::empty_detail(url)),
    }
}

/// How one probe ended, before the result is labelled with its target and timing.
#[derive(Debug, Clone, PartialEq)]
struct Finished {
    outcome: ProbeOutcome,
    failure: Option<ProbeFailure>,
    detail: ProbeDetail,
}

impl Finished {
    fn succeeded(detail: ProbeDetail) -> Self {
        Finished {
            outcome: ProbeOutcome::Success,
            failure: None,
            detail,
        }
    }

    fn failed(detail: ProbeDetail, kind: ProbeFailureKind, message: impl Into<String>) -> Self {
        Finished {
            outcome: ProbeOutcome::Failure,
            failure: Some(failure(kind, message)),
            detail,
        }
    }

    fn new(detail: ProbeDetail, outcome: ProbeOutcome, failure: Option<ProbeFailure>) -> Self {
        Finished {
            outcome,
            failure,
            detail,
        }
    }
}

fn failure(kind: ProbeFailureKind, message: impl Into<String>) -> ProbeFailure {
    ProbeFailure {
        kind,
        message: message.into(),
    }
}

/// The failure kind an OS error stands for.
fn io_failure_kind(error: &io::Error) -> ProbeFailureKind {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => ProbeFailureKind::Refused,
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            ProbeFailureKind::Unreachable
        }
        io::ErrorKind::TimedOut => ProbeFailureKind::Timeout,
        io::ErrorKind::PermissionDenied => ProbeFailureKind::PermissionDenied,
        _ => ProbeFailureKind::Other,
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn os_errors_map_to_failure_kinds() {
        use rustix::io::Errno;
        let kind = |errno: Errno| io_failure_kind(&io::Error::from(errno));
        assert_eq!(kind(Errno::CONNREFUSED), ProbeFailureKind::Refused);
        assert_eq!(kind(Errno::NETUNREACH), ProbeFailureKind::Unreachable);
        assert_eq!(kind(Errno::HOSTUNREACH), ProbeFailureKind::Unreachable);
        assert_eq!(kind(Errno::TIMEDOUT), ProbeFailureKind::Timeout);
        assert_eq!(kind(Errno::PERM), ProbeFailureKind::PermissionDenied);
        assert_eq!(kind(Errno::ACCESS), ProbeFailureKind::PermissionDenied);
        assert_eq!(kind(Errno::ADDRINUSE), ProbeFailureKind::Other);
    }
}
