//! A realistic snapshot for tests: a laptop whose host name, users, MAC and IP addresses turn
//! up in every kind of field, structured and free text.

use std::net::IpAddr;

use chrono::{TimeZone, Utc};
use sitrep_snapshot::{
    AddressScope, AgentInfo, Disk, DnsAnswer, DnsConfig, DnsDetail, Hardware, HttpDetail,
    Interface, InterfaceAddress, Network, OperState, Os, PingDetail, PingSocket, ProbeDetail,
    ProbeFailure, ProbeFailureKind, ProbeOutcome, ProbeResult, Proxy, ProxySetting, Route, Routing,
    SCHEMA_VERSION, Section, SectionErrorKind, Snapshot, TargetRole, TcpDetail, TlsCertificate,
    Trigger,
};
use uuid::Uuid;

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("address")
}

fn interface(name: &str, mac: &str, addresses: &[(&str, u8)]) -> Interface {
    Interface {
        name: name.to_string(),
        mac: Some(mac.to_string()),
        mtu: Some(1500),
        oper_state: if addresses.is_empty() {
            OperState::Down
        } else {
            OperState::Up
        },
        speed_mbps: None,
        loopback: name == "lo",
        wireless: name.starts_with("wl"),
        addresses: addresses
            .iter()
            .map(|(address, prefix_len)| InterfaceAddress {
                address: ip(address),
                prefix_len: *prefix_len,
                scope: AddressScope::of(ip(address)),
            })
            .collect(),
        ipv4_link_local_only: false,
    }
}

fn route(destination: &str, prefix_len: u8, gateway: Option<&str>, metric: u32) -> Route {
    Route {
        destination: ip(destination),
        prefix_len,
        gateway: gateway.map(ip),
        interface: "wlp2s0".to_string(),
        metric,
    }
}

fn probe(
    target: &str,
    role: TargetRole,
    failure: Option<(ProbeFailureKind, &str)>,
    detail: ProbeDetail,
) -> ProbeResult {
    ProbeResult {
        target: target.to_string(),
        role,
        outcome: if failure.is_some() {
            ProbeOutcome::Failure
        } else {
            ProbeOutcome::Success
        },
        elapsed_ms: 12.5,
        failure: failure.map(|(kind, message)| ProbeFailure {
            kind,
            message: message.to_string(),
        }),
        detail,
    }
}

/// A laptop on a home network with a VPN-reached NAS, a dead gateway and a collector that
/// refuses connections: names and addresses in every kind of field.
pub fn realistic_snapshot() -> Snapshot {
    let os = Os {
        family: "linux".to_string(),
        name: "Debian GNU/Linux".to_string(),
        id: Some("debian".to_string()),
        version: Some("12".to_string()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_string()),
        patch_level: None,
        kernel: Some("6.1.0-18-amd64".to_string()),
        hostname: Some("alice-laptop.corp.example".to_string()),
        arch: "x86_64".to_string(),
        uptime_seconds: Some(86_400),
        boot_time: Some(
            Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0)
                .single()
                .expect("time"),
        ),
        timezone: Some("Europe/Berlin".to_string()),
        reboot_required: false,
        reboot_required_by: Vec::new(),
        users: Some(vec!["alice".to_string(), r"CORP\bob".to_string()]),
    };
    let disks = vec![
        Disk {
            mount_point: "/".to_string(),
            device: "/dev/nvme0n1p2".to_string(),
            fs_type: "ext4".to_string(),
            total_bytes: Some(500 << 30),
            available_bytes: Some(120 << 30),
            used_percent: Some(76.0),
            inodes_total: Some(30_000_000),
            inodes_free: Some(29_000_000),
            inodes_used_percent: Some(3.3),
            ..Disk::default()
        },
        Disk {
            mount_point: "/home/alice/nas".to_string(),
            device: "10.20.0.5:/export/alice".to_string(),
            fs_type: "nfs4".to_string(),
            stat_error: Some(
                "statvfs /home/alice/nas: no answer from 10.20.0.5 within 2s".to_string(),
            ),
            ..Disk::default()
        },
        Disk {
            mount_point: "/media/bob/BOB'S STICK".to_string(),
            device: "/dev/sdb1".to_string(),
            fs_type: "vfat".to_string(),
            total_bytes: Some(16 << 30),
            available_bytes: Some(1 << 20),
            used_percent: Some(99.99),
            ..Disk::default()
        },
    ];
    let network = Network {
        interfaces: Section::Ok(vec![
            interface("lo", "00:00:00:00:00:00", &[("127.0.0.1", 8), ("::1", 128)]),
            interface(
                "wlp2s0",
                "3c:22:fb:12:34:56",
                &[
                    ("192.168.1.23", 24),
                    ("fe80::3e22:fbff:fe12:3456", 64),
                    ("2a01:4f8:c0c:1234::23", 64),
                ],
            ),
            interface("enp0s31f6", "f0:de:f1:aa:bb:cc", &[]),
        ]),
        routing: Section::Ok(Routing {
            routes: vec![
                route("0.0.0.0", 0, Some("192.168.1.1"), 600),
                route("192.168.1.0", 24, None, 600),
                route("::", 0, Some("fe80::1"), 600),
            ],
            default_gateways: vec![
                route("0.0.0.0", 0, Some("192.168.1.1"), 600),
                route("::", 0, Some("fe80::1"), 600),
            ],
        }),
        dns: Section::Ok(DnsConfig {
            servers: vec![ip("192.168.1.1"), ip("2a01:4f8::53")],
            search_domains: vec!["corp.example".to_string()],
            local_stub: Some(ip("127.0.0.53")),
            source: "/run/systemd/resolve/resolv.conf".to_string(),
        }),
        proxy: Section::Ok(Proxy {
            settings: vec![ProxySetting {
                name: "https_proxy".to_string(),
                value: "http://10.20.0.8:3128".to_string(),
                source: "environment".to_string(),
            }],
        }),
    };
    let probes = vec![
        probe(
            "192.168.1.1",
            TargetRole::Gateway,
            Some((
                ProbeFailureKind::Timeout,
                "no reply from 192.168.1.1 within 2s",
            )),
            ProbeDetail::Ping(PingDetail {
                address: Some(ip("192.168.1.1")),
                socket: Some(PingSocket::Datagram),
                sent: 4,
                received: 0,
                loss_percent: 100.0,
                rtt_min_ms: None,
                rtt_avg_ms: None,
                rtt_max_ms: None,
            }),
        ),
        probe(
            "2a01:4f8::53",
            TargetRole::DnsServer,
            None,
            ProbeDetail::Dns(DnsDetail {
                server: Some(ip("2a01:4f8::53")),
                name: "alice-laptop.corp.example".to_string(),
                answers: vec![DnsAnswer {
                    record_type: "A".to_string(),
                    rcode: Some("NOERROR".to_string()),
                    addresses: vec![ip("192.168.1.23")],
                    time_ms: 4.2,
                    error: None,
                }],
            }),
        ),
        probe(
            "192.0.2.10:8443",
            TargetRole::Collector,
            Some((
                ProbeFailureKind::Refused,
                "connection to 192.0.2.10:8443 refused",
            )),
            ProbeDetail::Tcp(TcpDetail {
                address: Some(ip("192.0.2.10")),
                port: 8443,
                connect_ms: None,
            }),
        ),
        probe(
            "https://10.20.0.9/health",
            TargetRole::Configured,
            Some((ProbeFailureKind::Tls, "certificate not valid for 10.20.0.9")),
            ProbeDetail::Http(HttpDetail {
                url: "https://10.20.0.9/health".to_string(),
                status: None,
                response_ms: None,
                certificate: Some(TlsCertificate {
                    valid: false,
                    error: Some("not valid for 10.20.0.9".to_string()),
                    subject: Some("CN=alice-laptop.corp.example".to_string()),
                    issuer: Some("CN=alice-laptop.corp.example".to_string()),
                    not_after: None,
                    days_left: None,
                }),
            }),
        ),
    ];
    let mut snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        id: Uuid::from_u128(0x0192_f0c4_7d3e_7a51_9c1e_3b5f_2a8d_4e61),
        agent: AgentInfo {
            version: "0.1.0".to_string(),
            agent_id: Some(Uuid::from_u128(7)),
        },
        taken_at: Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 30, 0)
            .single()
            .expect("time"),
        duration_ms: 2100,
        trigger: Trigger::HelpRequest,
        os: Section::Ok(os),
        hardware: Section::Ok(Hardware::default()),
        disks: Section::Ok(disks),
        network: Section::Ok(network),
        probes: Section::Ok(probes),
        peripherals: Section::error(
            SectionErrorKind::PermissionDenied,
            "cannot read /home/alice/.config/monitors.xml (owner CORP\\bob)",
        ),
        findings: Vec::new(),
    };
    snapshot.findings = sitrep_checks::judge(&snapshot);
    snapshot
}
