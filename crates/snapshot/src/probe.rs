//! Results of the active network probes: ping, DNS, TCP connect and HTTP(S) GET.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One probe of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeResult {
    /// What was probed, as configured: an address, a name, `host:port` or a URL.
    pub target: String,
    /// Why this target was probed.
    pub role: TargetRole,
    pub outcome: ProbeOutcome,
    /// Wall time of the whole probe, in milliseconds.
    pub elapsed_ms: f64,
    /// Why the probe did not fully succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<ProbeFailure>,
    pub detail: ProbeDetail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetRole {
    /// A default gateway from the routing table.
    Gateway,
    /// A configured DNS server.
    DnsServer,
    /// The collector this agent reports to.
    Collector,
    /// Listed in the agent's config.
    Configured,
    /// Asked for on this run (command line or a specialist's request).
    Requested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    Success,
    /// Some answers came back, some did not (e.g. packet loss).
    Partial,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProbeFailure {
    pub kind: ProbeFailureKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeFailureKind {
    /// No answer within the probe's timeout.
    Timeout,
    /// The host answered with a refusal (TCP reset, ICMP port unreachable).
    Refused,
    /// No route to the network or host.
    Unreachable,
    /// Some packets were lost.
    PacketLoss,
    /// The OS did not allow the probe (e.g. no ICMP socket permitted).
    PermissionDenied,
    /// The name does not exist (NXDOMAIN).
    NameNotFound,
    /// The name exists but has no record of the asked type.
    NoRecords,
    /// The DNS server answered with an error code (SERVFAIL, REFUSED, ...).
    DnsError,
    /// The name of the target itself could not be resolved.
    Resolve,
    /// The TLS handshake or the certificate failed.
    Tls,
    /// The server answered with an HTTP error status.
    HttpStatus,
    /// Anything else; the message says what.
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ProbeDetail {
    Ping(PingDetail),
    Dns(DnsDetail),
    Tcp(TcpDetail),
    Http(HttpDetail),
}

impl ProbeDetail {
    pub fn as_ping(&self) -> Option<&PingDetail> {
        match self {
            ProbeDetail::Ping(detail) => Some(detail),
            ProbeDetail::Dns(_) | ProbeDetail::Tcp(_) | ProbeDetail::Http(_) => None,
        }
    }

    pub fn as_dns(&self) -> Option<&DnsDetail> {
        match self {
            ProbeDetail::Dns(detail) => Some(detail),
            ProbeDetail::Ping(_) | ProbeDetail::Tcp(_) | ProbeDetail::Http(_) => None,
        }
    }

    pub fn as_tcp(&self) -> Option<&TcpDetail> {
        match self {
            ProbeDetail::Tcp(detail) => Some(detail),
            ProbeDetail::Ping(_) | ProbeDetail::Dns(_) | ProbeDetail::Http(_) => None,
        }
    }

    pub fn as_http(&self) -> Option<&HttpDetail> {
        match self {
            ProbeDetail::Http(detail) => Some(detail),
            ProbeDetail::Ping(_) | ProbeDetail::Dns(_) | ProbeDetail::Tcp(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PingDetail {
    /// The address pinged (the target resolved, where it was a name).
    pub address: Option<IpAddr>,
    /// Which ICMP socket carried the pings, if one could be opened.
    pub socket: Option<PingSocket>,
    pub sent: u32,
    pub received: u32,
    pub loss_percent: f64,
    pub rtt_min_ms: Option<f64>,
    pub rtt_avg_ms: Option<f64>,
    pub rtt_max_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PingSocket {
    /// Unprivileged ICMP datagram socket (`net.ipv4.ping_group_range`).
    Datagram,
    /// Raw socket (root or CAP_NET_RAW).
    Raw,
}

/// One DNS server asked about one name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DnsDetail {
    /// The server asked; `None` when no DNS server is configured, so nobody could be asked.
    pub server: Option<IpAddr>,
    pub name: String,
    /// One entry per record type asked (A, AAAA, or NS for a reachability check).
    pub answers: Vec<DnsAnswer>,
}

impl DnsDetail {
    /// The server for people: its address, or "no DNS server".
    pub fn server_label(&self) -> String {
        self.server
            .map_or_else(|| "no DNS server".to_string(), |server| server.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DnsAnswer {
    pub record_type: String,
    /// Response code as DNS names it (`NOERROR`, `NXDOMAIN`, `SERVFAIL`...); `None` without an answer.
    pub rcode: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub time_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TcpDetail {
    pub address: Option<IpAddr>,
    pub port: u16,
    pub connect_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HttpDetail {
    pub url: String,
    pub status: Option<u16>,
    /// Time to the response headers.
    pub response_ms: Option<f64>,
    /// The server's certificate, for HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<TlsCertificate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TlsCertificate {
    /// The certificate chained to a trusted root and matched the host name.
    pub valid: bool,
    /// Why it was not trusted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub not_after: Option<DateTime<Utc>>,
    /// Days until `not_after`; negative once expired.
    pub days_left: Option<i64>,
}
