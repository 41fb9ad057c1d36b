//! TCP connect probe: can a connection to `host:port` be opened, and how long does it take.

use std::net::SocketAddr;

use sitrep_snapshot::{ProbeDetail, ProbeFailureKind, ProbeOutcome, TcpDetail};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::targets::parse_host_port;
use super::{Finished, ProbeSettings, failure, io_failure_kind, millis, resolve};

/// Connects to each address of the target in turn until one accepts, all within one timeout.
pub(super) async fn connect(target: &str, settings: &ProbeSettings) -> Finished {
    let mut detail = empty_detail(target);
    let host_port = match parse_host_port(target) {
        Ok(host_port) => host_port,
        Err(error) => {
            return Finished::failed(
                ProbeDetail::Tcp(detail),
                ProbeFailureKind::Other,
                error.to_string(),
            );
        }
    };
    let give_up = Instant::now() + settings.timeout;
    let addresses =
        match resolve::addresses(&host_port.host, host_port.port, settings.timeout).await {
            Ok(addresses) => addresses,
            Err(failure) => {
                return Finished::new(
                    ProbeDetail::Tcp(detail),
                    ProbeOutcome::Failure,
                    Some(failure),
                );
            }
        };
    let mut last_failure = None;
    for address in addresses {
        detail.address = Some(address.ip());
        let started = Instant::now();
        match tokio::time::timeout_at(give_up, TcpStream::connect(address)).await {
            Ok(Ok(_connected)) => {
                detail.connect_ms = Some(millis(started.elapsed()));
                return Finished::succeeded(ProbeDetail::Tcp(detail));
            }
            Ok(Err(error)) => {
                last_failure = Some(failure(
                    io_failure_kind(&error),
                    describe(address, &error.to_string()),
                ))
            }
            Err(_) => {
                let message = format!("no answer within {:.0} ms", millis(settings.timeout));
                last_failure = Some(failure(
                    ProbeFailureKind::Timeout,
                    describe(address, &message),
                ));
                break;
            }
        }
    }
    Finished::new(
        ProbeDetail::Tcp(detail),
        ProbeOutcome::Failure,
        last_failure,
    )
}

fn describe(address: SocketAddr, problem: &str) -> String {
    format!("connecting to {address}: {problem}")
}

/// The port of a target that does not parse is not known; 0 stands for that.
pub(super) fn empty_detail(target: &str) -> TcpDetail {
    let port = parse_host_port(target)
        .map(|host_port| host_port.port)
        .unwrap_or(0);
    TcpDetail {
        address: None,
        port,
        connect_ms: None,
    }
}
