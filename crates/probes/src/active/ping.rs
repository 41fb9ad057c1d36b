//! ICMP echo probe: an unprivileged datagram socket where the OS allows one, a raw socket
//! otherwise, round-trip times measured here.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use sitrep_snapshot::{
    PingDetail, PingSocket, ProbeDetail, ProbeFailure, ProbeFailureKind, ProbeOutcome,
};
use socket2::Type;
use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence, SurgeError};
use tokio::time::Instant;

use super::targets::parse_host;
use super::{Finished, ProbeSettings, failure, io_failure_kind, millis, resolve};

/// Echo requests go out this far apart, as `ping` sends them, without waiting for replies.
const ECHO_INTERVAL: Duration = Duration::from_millis(200);
/// The payload size of `ping`'s default packet.
const PAYLOAD: [u8; 56] = [0; 56];

pub(super) async fn ping(target: &str, settings: &ProbeSettings) -> Finished {
    let host = match parse_host(target) {
        Ok(host) => host,
        Err(error) => {
            return Finished::failed(
                ProbeDetail::Ping(empty_detail(None)),
                ProbeFailureKind::Other,
                error.to_string(),
            );
        }
    };
    let address = match resolve::addresses(&host, 0, settings.timeout).await {
        Ok(found) => found[0],
        Err(failure) => {
            return Finished::new(
                ProbeDetail::Ping(empty_detail(None)),
                ProbeOutcome::Failure,
                Some(failure),
            );
        }
    };
    let (client, socket) = match open_client(address.ip()) {
        Ok(opened) => opened,
        Err(failure) => {
            let detail = empty_detail(Some(address.ip()));
            return Finished::new(
                ProbeDetail::Ping(detail),
                ProbeOutcome::Failure,
                Some(failure),
            );
        }
    };
    let replies = echo(&client, address, settings).await;
    let mut detail = summarize(&replies);
    detail.address = Some(address.ip());
    detail.socket = Some(socket);
    let (outcome, failure) = judge(&replies, settings.timeout);
    Finished::new(ProbeDetail::Ping(detail), outcome, failure)
}

/// Opens an ICMP socket for `address`'s family: datagram first, raw when that is not allowed.
fn open_client(address: IpAddr) -> Result<(Client, PingSocket), ProbeFailure> {
    let kind = if address.is_ipv4() {
        ICMP::V4
    } else {
        ICMP::V6
    };
    let config = |socket_type| {
        Config::builder()
            .kind(kind)
            .sock_type_hint(socket_type)
            .build()
    };
    // surge-ping falls back from the hinted socket type to the other one by itself, so a failure
    // with the datagram hint means both failed; asking again with the raw hint yields the raw
    // socket's own error for the message.
    let datagram_error = match Client::new(&config(Type::DGRAM)) {
        Ok(client) => {
            let socket = if client.get_socket().get_type() == Type::RAW {
                PingSocket::Raw
            } else {
                PingSocket::Datagram
            };
            return Ok((client, socket));
        }
        Err(error) => error,
    };
    match Client::new(&config(Type::RAW)) {
        Ok(client) => Ok((client, PingSocket::Raw)),
        Err(raw_error) => Err(no_socket_failure(&datagram_error, &raw_error)),
    }
}

/// Why no ICMP socket could be opened, with the fix for each kind of socket.
fn no_socket_failure(datagram_error: &io::Error, raw_error: &io::Error) -> ProbeFailure {
    let denied = |error: &io::Error| error.kind() == io::ErrorKind::PermissionDenied;
    // surge-ping rewrites a denied datagram socket into a long multi-line advice; say it briefly.
    let datagram = if denied(datagram_error) {
        format!("permission denied ({DATAGRAM_FIX})")
    } else {
        datagram_error.to_string()
    };
    let raw = if denied(raw_error) {
        format!("{raw_error} ({RAW_FIX})")
    } else {
        raw_error.to_string()
    };
    let kind = if denied(datagram_error) && denied(raw_error) {
        ProbeFailureKind::PermissionDenied
    } else {
        ProbeFailureKind::Other
    };
    failure(
        kind,
        format!("no ICMP socket could be opened: datagram socket: {datagram}; raw socket: {raw}"),
    )
}

#[cfg(target_os = "linux")]
const DATAGRAM_FIX: &str = "net.ipv4.ping_group_range does not include this process's group; \
     allow it with: sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"";
#[cfg(not(target_os = "linux"))]
const DATAGRAM_FIX: &str = "this system does not allow unprivileged ICMP sockets";
const RAW_FIX: &str = "a raw socket needs root or CAP_NET_RAW";

/// How one echo request ended.
#[derive(Debug)]
enum Echo {
    Reply(Duration),
    Lost,
    Error(SurgeError),
}

/// Sends the echo requests `ECHO_INTERVAL` apart and waits for each reply up to the timeout.
async fn echo(client: &Client, address: SocketAddr, settings: &ProbeSettings) -> Vec<Echo> {
    let count = u16::try_from(settings.ping_count.max(1)).unwrap_or(u16::MAX);
    let identifier = next_identifier();
    let scope = match address {
        SocketAddr::V6(v6) => v6.scope_id(),
        SocketAddr::V4(_) => 0,
    };
    let first = Instant::now();
    let requests = (0..count).map(|sequence| async move {
        tokio::time::sleep_until(first + ECHO_INTERVAL * u32::from(sequence)).await;
        let mut pinger = client.pinger(address.ip(), identifier).await;
        pinger.timeout(settings.timeout).scope_id(scope);
        // surge-ping's own round-trip figure starts after the send and runs low; time it here.
        let sent = Instant::now();
        match pinger.ping(PingSequence(sequence), &PAYLOAD).await {
            Ok(_) => Echo::Reply(sent.elapsed()),
            Err(SurgeError::Timeout { .. }) => Echo::Lost,
            Err(error) => Echo::Error(error),
        }
    });
    futures::future::join_all(requests).await
}

/// Raw ICMP sockets see every echo reply on the host; a distinct identifier per probe keeps
/// concurrent probes of the same address from taking each other's replies.
fn next_identifier() -> PingIdentifier {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // Truncating the process id is fine: it only spreads identifiers between processes.
    let base = std::process::id() as u16;
    PingIdentifier(base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// The detail of a ping that sent nothing: no reply was obtained, so loss is 100 %.
pub(super) fn empty_detail(address: Option<IpAddr>) -> PingDetail {
    PingDetail {
        address,
        socket: None,
        sent: 0,
        received: 0,
        loss_percent: 100.0,
        rtt_min_ms: None,
        rtt_avg_ms: None,
        rtt_max_ms: None,
    }
}

/// Counts, loss and round-trip statistics of the echoes.
fn summarize(echoes: &[Echo]) -> PingDetail {
    let rtts: Vec<f64> = echoes
        .iter()
        .filter_map(|echo| match echo {
            Echo::Reply(rtt) => Some(millis(*rtt)),
            Echo::Lost | Echo::Error(_) => None,
        })
        .collect();
    let sent = u32::try_from(echoes.len()).unwrap_or(u32::MAX);
    let received = u32::try_from(rtts.len()).unwrap_or(u32::MAX);
    let mut detail = empty_detail(None);
    detail.sent = sent;
    detail.received = received;
    if sent > 0 {
        detail.loss_percent = f64::from(sent - received) * 100.0 / f64::from(sent);
    }
    if !rtts.is_empty() {
        detail.rtt_min_ms = rtts.iter().copied().reduce(f64::min);
        detail.rtt_max_ms = rtts.iter().copied().reduce(f64::max);
        detail.rtt_avg_ms = Some(rtts.iter().sum::<f64>() / rtts.len() as f64);
    }
    detail
}

/// All replies: success. Some: partial, with the loss. None: the OS error if one was reported
/// (an unreachable network, say), otherwise a timeout.
fn judge(echoes: &[Echo], timeout: Duration) -> (ProbeOutcome, Option<ProbeFailure>) {
    let sent = echoes.len();
    let received = echoes
        .iter()
        .filter(|echo| matches!(echo, Echo::Reply(_)))
        .count();
    if received == sent {
        return (ProbeOutcome::Success, None);
    }
    if received > 0 {
        let lost = sent - received;
        let message = format!("{lost} of {sent} echo requests got no reply");
        return (
            ProbeOutcome::Partial,
            Some(failure(ProbeFailureKind::PacketLoss, message)),
        );
    }
    let error = echoes.iter().find_map(|echo| match echo {
        Echo::Error(error) => Some(error),
        Echo::Reply(_) | Echo::Lost => None,
    });
    let failure = match error {
        Some(SurgeError::IOError(error)) => failure(
            io_failure_kind(error),
            format!("sending echo requests failed: {error}"),
        ),
        Some(error) => failure(ProbeFailureKind::Other, format!("ping failed: {error}")),
        None => failure(
            ProbeFailureKind::Timeout,
            format!(
                "no reply to {sent} echo requests within {:.0} ms each",
                millis(timeout)
            ),
        ),
    };
    (ProbeOutcome::Failure, Some(failure))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(ms: u64) -> Echo {
        Echo::Reply(Duration::from_millis(ms))
    }

    #[test]
    fn statistics_of_replies_and_losses() {
        let detail = summarize(&[reply(10), Echo::Lost, reply(30), reply(20)]);
        assert_eq!((detail.sent, detail.received), (4, 3));
        assert_eq!(detail.loss_percent, 25.0);
        assert_eq!(detail.rtt_min_ms, Some(10.0));
        assert_eq!(detail.rtt_avg_ms, Some(20.0));
        assert_eq!(detail.rtt_max_ms, Some(30.0));
    }

    #[test]
    fn statistics_without_replies() {
        let detail = summarize(&[Echo::Lost, Echo::Lost]);
        assert_eq!(
            (detail.sent, detail.received, detail.loss_percent),
            (2, 0, 100.0)
        );
        assert_eq!(
            (detail.rtt_min_ms, detail.rtt_avg_ms, detail.rtt_max_ms),
            (None, None, None)
        );
    }

    #[test]
    fn all_replies_succeed() {
        assert_eq!(
            judge(&[reply(1), reply(2)], Duration::from_secs(1)),
            (ProbeOutcome::Success, None)
        );
    }

    #[test]
    fn some_replies_are_partial_with_packet_loss() {
        let (outcome, failure) = judge(
            &[reply(1), Echo::Lost, Echo::Lost, reply(2)],
            Duration::from_secs(1),
        );
        assert_eq!(outcome, ProbeOutcome::Partial);
        let failure = failure.expect("loss is reported");
        assert_eq!(failure.kind, ProbeFailureKind::PacketLoss);
        assert_eq!(failure.message, "2 of 4 echo requests got no reply");
    }

    #[test]
    fn no_reply_is_a_timeout() {
        let (outcome, failure) = judge(&[Echo::Lost, Echo::Lost], Duration::from_secs(2));
        assert_eq!(outcome, ProbeOutcome::Failure);
        let failure = failure.expect("timeout is reported");
        assert_eq!(failure.kind, ProbeFailureKind::Timeout);
        assert_eq!(
            failure.message,
            "no reply to 2 echo requests within 2000 ms each"
        );
    }

    #[test]
    fn unreachable_network_is_reported_as_such() {
        let unreachable = io::Error::from(io::ErrorKind::NetworkUnreachable);
        let (outcome, failure) = judge(
            &[Echo::Error(SurgeError::IOError(unreachable)), Echo::Lost],
            Duration::from_secs(1),
        );
        assert_eq!(outcome, ProbeOutcome::Failure);
        assert_eq!(
            failure.expect("reported").kind,
            ProbeFailureKind::Unreachable
        );
    }

    #[test]
    fn socket_failure_names_both_errors_and_fixes() {
        let datagram = io::Error::new(
            io::ErrorKind::PermissionDenied,
            "Permission denied creating ICMP socket...",
        );
        let raw = io::Error::from(io::ErrorKind::PermissionDenied);
        let failure = no_socket_failure(&datagram, &raw);
        assert_eq!(failure.kind, ProbeFailureKind::PermissionDenied);
        assert!(
            failure
                .message
                .contains("datagram socket: permission denied"),
            "{}",
            failure.message
        );
        assert!(
            failure.message.contains("raw socket:"),
            "{}",
            failure.message
        );
        assert!(failure.message.contains(RAW_FIX), "{}", failure.message);
        assert!(
            failure.message.contains(DATAGRAM_FIX),
            "{}",
            failure.message
        );
    }
}
