//! A snapshot of a healthy Linux laptop with every section gathered, accessors to change one
//! thing in it, and a plain-text rendering of findings for expect-test.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use sitrep_snapshot::{
    AddressScope, AgentInfo, Bluetooth, Cpu, DeviceProblem, Disk, Display, DnsAnswer, DnsConfig,
    DnsDetail, Finding, Hardware, HttpDetail, Interface, InterfaceAddress, Memory, Network,
    OperState, Os, Peripherals, PingDetail, PingSocket, Power, Printers, ProbeDetail, ProbeFailure,
    ProbeFailureKind, ProbeOutcome, ProbeResult, Proxy, Route, Routing, SCHEMA_VERSION, Section,
    Snapshot, Swap, TargetRole, TcpDetail, TlsCertificate, Trigger, UsbDevice,
};
use uuid::Uuid;

use crate::healthy_peripherals::healthy_peripherals;

pub const GIB: u64 = 1024 * 1024 * 1024;
pub const MIB: u64 = 1024 * 1024;
pub const DAY: u64 = 86_400;

pub fn ip(text: &str) -> IpAddr {
    text.parse().expect("test addresses are valid")
}

pub fn taken_at() -> DateTime<Utc> {
    "2024-06-03T09:30:00Z".parse().expect("valid timestamp")
}

pub fn healthy() -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        id: Uuid::nil(),
        agent: AgentInfo {
            version: "0.1.0".to_owned(),
            agent_id: None,
        },
        taken_at: taken_at(),
        duration_ms: 840,
        trigger: Trigger::Manual,
        os: Section::Ok(os_info()),
        hardware: Section::Ok(Hardware {
            cpu: Cpu {
                model: Some("Intel(R) Core(TM) i5-8250U CPU @ 1.60GHz".to_owned()),
                vendor: Some("GenuineIntel".to_owned()),
                logical_cores: 8,
                physical_cores: Some(4),
                load_average: Some([0.42, 0.35, 0.30]),
            },
            memory: Memory {
                total_bytes: 16 * GIB,
                available_bytes: 9 * GIB + 512 * MIB,
            },
            swap: Swap {
                total_bytes: 2 * GIB,
                free_bytes: 1843 * MIB,
            },
        }),
        disks: Section::Ok(vec![
            disk("/", "/dev/nvme0n1p2", "ext4", 250_718_100_684, 45.2),
            Disk {
                inodes_total: None,
                inodes_free: None,
                inodes_used_percent: None,
                ..disk("/boot/efi", "/dev/nvme0n1p1", "vfat", 535_805_952, 6.9)
            },
            // Snap packages are read-only squashfs images, always 100 % full.
            Disk {
                read_only: true,
                ..disk(
                    "/snap/core22/1380",
                    "/dev/loop3",
                    "squashfs",
                    77_725_696,
                    100.0,
                )
            },
        ]),
        network: Section::Ok(Network {
            interfaces: Section::Ok(vec![
                Interface {
                    name: "lo".to_owned(),
                    mtu: Some(65536),
                    loopback: true,
                    addresses: vec![address("127.0.0.1", 8), address("::1", 128)],
                    ..Interface::default()
                },
                Interface {
                    name: "eth0".to_owned(),
                    mac: Some("3c:52:82:4d:5e:6f".to_owned()),
                    mtu: Some(1500),
                    oper_state: OperState::Up,
                    speed_mbps: Some(1000),
                    addresses: vec![
                        address("192.168.1.23", 24),
                        address("fe80::3e52:82ff:fe4d:5e6f", 64),
                    ],
                    ..Interface::default()
                },
                Interface {
                    name: "wlan0".to_owned(),
                    mac: Some("a0:88:69:12:34:56".to_owned()),
                    mtu: Some(1500),
                    oper_state: OperState::Down,
                    wireless: true,
                    ..Interface::default()
                },
            ]),
            routing: Section::Ok(Routing {
                routes: vec![
                    default_route("192.168.1.1", "eth0"),
                    route("192.168.1.0", 24, None, "eth0"),
                ],
                default_gateways: vec![default_route("192.168.1.1", "eth0")],
            }),
            dns: Section::Ok(DnsConfig {
                servers: vec![ip("10.0.0.53"), ip("10.0.0.54")],
                search_domains: vec!["corp.example".to_owned()],
                local_stub: Some(ip("127.0.0.53")),
                source: "/run/systemd/resolve/resolv.conf".to_owned(),
            }),
            proxy: Section::Ok(Proxy::default()),
        }),
        probes: Section::Ok(vec![
            ping(TargetRole::Gateway, "192.168.1.1", "192.168.1.1", 5),
            dns_server("10.0.0.53"),
            dns_server("10.0.0.54"),
            dns_name("intranet.corp.example", "10.0.0.53", &["10.1.2.3"]),
            dns_name("intranet.corp.example", "10.0.0.54", &["10.1.2.3"]),
            ping(
                TargetRole::Configured,
                "printer.corp.example",
                "10.1.2.40",
                5,
            ),
            ProbeResult {
                target: "mail.corp.example:993".to_owned(),
                role: TargetRole::Configured,
                outcome: ProbeOutcome::Success,
                elapsed_ms: 14.0,
                failure: None,
                detail: ProbeDetail::Tcp(TcpDetail {
                    address: Some(ip("10.1.2.5")),
                    port: 993,
                    connect_ms: Some(12.3),
                }),
            },
            ProbeResult {
                target: "https://intranet.corp.example/health".to_owned(),
                role: TargetRole::Configured,
                outcome: ProbeOutcome::Success,
                elapsed_ms: 61.0,
                failure: None,
                detail: ProbeDetail::Http(HttpDetail {
                    url: "https://intranet.corp.example/health".to_owned(),
                    status: Some(200),
                    response_ms: Some(45.0),
                    certificate: Some(certificate(60)),
                }),
            },
        ]),
        peripherals: Section::Ok(healthy_peripherals()),
        findings: Vec::new(),
    }
}

fn os_info() -> Os {
    let uptime = 3 * DAY + 4 * 3600;
    Os {
        family: "linux".to_owned(),
        name: "Debian GNU/Linux".to_owned(),
        id: Some("debian".to_owned()),
        version: Some("12".to_owned()),
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_owned()),
        patch_level: None,
        kernel: Some("6.1.0-21-amd64".to_owned()),
        hostname: Some("laptop-17".to_owned()),
        arch: "x86_64".to_owned(),
        uptime_seconds: Some(uptime),
        boot_time: Some(taken_at() - TimeDelta::seconds(uptime as i64)),
        timezone: Some("Europe/Berlin".to_owned()),
        reboot_required: false,
        reboot_required_by: Vec::new(),
        users: Some(vec!["anna".to_owned()]),
    }
}

/// A filesystem `used_percent` full, with inodes one fifth as used.
pub fn disk(
    mount_point: &str,
    device: &str,
    fs_type: &str,
    total_bytes: u64,
    used_percent: f64,
) -> Disk {
    let inodes_total = total_bytes / 16_384;
    let inodes_used_percent = used_percent / 5.0;
    Disk {
        mount_point: mount_point.to_owned(),
        device: device.to_owned(),
        fs_type: fs_type.to_owned(),
        read_only: false,
        total_bytes: Some(total_bytes),
        available_bytes: Some((total_bytes as f64 * (100.0 - used_percent) / 100.0) as u64),
        used_percent: Some(used_percent),
        inodes_total: Some(inodes_total),
        inodes_free: Some((inodes_total as f64 * (100.0 - inodes_used_percent) / 100.0) as u64),
        inodes_used_percent: Some(inodes_used_percent),
        stat_error: None,
    }
}

pub fn address(text: &str, prefix_len: u8) -> InterfaceAddress {
    let address = ip(text);
    InterfaceAddress {
        address,
        prefix_len,
        scope: AddressScope::of(address),
    }
}

pub fn route(destination: &str, prefix_len: u8, gateway: Option<&str>, interface: &str) -> Route {
    Route {
        destination: ip(destination),
        prefix_len,
        gateway: gateway.map(ip),
        interface: interface.to_owned(),
        metric: 100,
    }
}

pub fn default_route(gateway: &str, interface: &str) -> Route {
    let any = if ip(gateway).is_ipv4() {
        "0.0.0.0"
    } else {
        "::"
    };
    route(any, 0, Some(gateway), interface)
}

/// Five pings of which `received` came back.
pub fn ping(role: TargetRole, target: &str, address: &str, received: u32) -> ProbeResult {
    let (outcome, failure, rtt) = match received {
        5 => (ProbeOutcome::Success, None, Some((0.8, 1.2, 2.5))),
        0 => (
            ProbeOutcome::Failure,
            Some(failed(ProbeFailureKind::Timeout, "no reply within 2 s")),
            None,
        ),
        _ => (
            ProbeOutcome::Partial,
            Some(failed(ProbeFailureKind::PacketLoss, "some replies missing")),
            Some((0.9, 3.4, 9.9)),
        ),
    };
    ProbeResult {
        target: target.to_owned(),
        role,
        outcome,
        elapsed_ms: 2010.0,
        failure,
        detail: ProbeDetail::Ping(PingDetail {
            address: Some(ip(address)),
            socket: Some(PingSocket::Raw),
            sent: 5,
            received,
            loss_percent: f64::from(5 - received) * 20.0,
            rtt_min_ms: rtt.map(|(min, _, _)| min),
            rtt_avg_ms: rtt.map(|(_, avg, _)| avg),
            rtt_max_ms: rtt.map(|(_, _, max)| max),
        }),
    }
}

pub fn failed(kind: ProbeFailureKind, message: &str) -> ProbeFailure {
    ProbeFailure {
        kind,
        message: message.to_owned(),
    }
}

pub fn answer(record_type: &str, rcode: Option<&str>, addresses: &[&str]) -> DnsAnswer {
    DnsAnswer {
        record_type: record_type.to_owned(),
        rcode: rcode.map(str::to_owned),
        addresses: addresses.iter().map(|text| ip(text)).collect(),
        time_ms: 11.5,
        error: None,
    }
}

/// The reachability query the agent sends each configured server.
pub fn dns_server(server: &str) -> ProbeResult {
    ProbeResult {
        target: server.to_owned(),
        role: TargetRole::DnsServer,
        outcome: ProbeOutcome::Success,
        elapsed_ms: 12.0,
        failure: None,
        detail: ProbeDetail::Dns(DnsDetail {
            server: Some(ip(server)),
            name: ".".to_owned(),
            answers: vec![answer("NS", Some("NOERROR"), &[])],
        }),
    }
}

/// A configured name asked of one server; A records as given, no AAAA.
pub fn dns_name(name: &str, server: &str, addresses: &[&str]) -> ProbeResult {
    ProbeResult {
        target: name.to_owned(),
        role: TargetRole::Configured,
        outcome: ProbeOutcome::Success,
        elapsed_ms: 13.0,
        failure: None,
        detail: ProbeDetail::Dns(DnsDetail {
            server: Some(ip(server)),
            name: name.to_owned(),
            answers: vec![
                answer("A", Some("NOERROR"), addresses),
                answer("AAAA", Some("NOERROR"), &[]),
            ],
        }),
    }
}

pub fn certificate(days_left: i64) -> TlsCertificate {
    TlsCertificate {
        valid: true,
        error: None,
        subject: Some("CN=intranet.corp.example".to_owned()),
        issuer: Some("CN=Corp Issuing CA".to_owned()),
        not_after: Some(taken_at() + TimeDelta::days(days_left) + TimeDelta::hours(5)),
        days_left: Some(days_left),
    }
}

fn ok_mut<T>(section: &mut Section<T>) -> &mut T {
    match section {
        Section::Ok(value) => value,
        Section::Error(_) | Section::Skipped(_) => panic!("the healthy snapshot has this section"),
    }
}

pub fn os(snapshot: &mut Snapshot) -> &mut Os {
    ok_mut(&mut snapshot.os)
}

pub fn hardware(snapshot: &mut Snapshot) -> &mut Hardware {
    ok_mut(&mut snapshot.hardware)
}

pub fn disks(snapshot: &mut Snapshot) -> &mut Vec<Disk> {
    ok_mut(&mut snapshot.disks)
}

pub fn root_disk(snapshot: &mut Snapshot) -> &mut Disk {
    disks(snapshot)
        .iter_mut()
        .find(|disk| disk.mount_point == "/")
        .expect("healthy has /")
}

pub fn network(snapshot: &mut Snapshot) -> &mut Network {
    ok_mut(&mut snapshot.network)
}

pub fn interfaces(snapshot: &mut Snapshot) -> &mut Vec<Interface> {
    ok_mut(&mut network(snapshot).interfaces)
}

pub fn interface<'a>(snapshot: &'a mut Snapshot, name: &str) -> &'a mut Interface {
    interfaces(snapshot)
        .iter_mut()
        .find(|interface| interface.name == name)
        .expect("healthy has this interface")
}

pub fn routing(snapshot: &mut Snapshot) -> &mut Routing {
    ok_mut(&mut network(snapshot).routing)
}

pub fn dns_config(snapshot: &mut Snapshot) -> &mut DnsConfig {
    ok_mut(&mut network(snapshot).dns)
}

pub fn peripherals(snapshot: &mut Snapshot) -> &mut Peripherals {
    ok_mut(&mut snapshot.peripherals)
}

pub fn usb_devices(snapshot: &mut Snapshot) -> &mut Vec<UsbDevice> {
    ok_mut(&mut peripherals(snapshot).usb)
}

pub fn device_problems(snapshot: &mut Snapshot) -> &mut Vec<DeviceProblem> {
    ok_mut(&mut peripherals(snapshot).device_problems)
}

pub fn printers(snapshot: &mut Snapshot) -> &mut Printers {
    ok_mut(&mut peripherals(snapshot).printers)
}

pub fn displays(snapshot: &mut Snapshot) -> &mut Vec<Display> {
    ok_mut(&mut peripherals(snapshot).displays)
}

pub fn power(snapshot: &mut Snapshot) -> &mut Power {
    ok_mut(&mut peripherals(snapshot).power)
}

pub fn bluetooth(snapshot: &mut Snapshot) -> &mut Bluetooth {
    ok_mut(&mut peripherals(snapshot).bluetooth)
}

pub fn probes(snapshot: &mut Snapshot) -> &mut Vec<ProbeResult> {
    ok_mut(&mut snapshot.probes)
}

/// The probe of `target` by `method` ("ping", "dns", "tcp", "http"), and for DNS of `server`.
pub fn probe<'a>(
    snapshot: &'a mut Snapshot,
    method: &str,
    target: &str,
    server: Option<&str>,
) -> &'a mut ProbeResult {
    probes(snapshot)
        .iter_mut()
        .find(|probe| {
            let (probe_method, probe_server) = match &probe.detail {
                ProbeDetail::Ping(_) => ("ping", None),
                ProbeDetail::Dns(detail) => ("dns", Some(detail.server)),
                ProbeDetail::Tcp(_) => ("tcp", None),
                ProbeDetail::Http(_) => ("http", None),
            };
            probe.target == target
                && probe_method == method
                && (server.is_none() || probe_server == Some(server.map(ip)))
        })
        .expect("healthy has this probe")
}

pub fn dns_detail(probe: &mut ProbeResult) -> &mut DnsDetail {
    match &mut probe.detail {
        ProbeDetail::Dns(detail) => detail,
        ProbeDetail::Ping(_) | ProbeDetail::Tcp(_) | ProbeDetail::Http(_) => {
            panic!("not a DNS probe")
        }
    }
}

pub fn http_detail(probe: &mut ProbeResult) -> &mut HttpDetail {
    match &mut probe.detail {
        ProbeDetail::Http(detail) => detail,
        ProbeDetail::Ping(_) | ProbeDetail::Dns(_) | ProbeDetail::Tcp(_) => {
            panic!("not an HTTP probe")
        }
    }
}

/// One finding as three lines: severity, id, subject and title; the evidence; the remediation.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let subject = finding
            .subject
            .as_deref()
            .map(|subject| format!(" [{subject}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} {}{subject}: {}\n",
            finding.severity.as_str(),
            finding.id,
            finding.title
        ));
        out.push_str(&format!("    evidence: {}\n", finding.evidence));
        if !finding.remediation.is_empty() {
            out.push_str(&format!("    remedy: {}\n", finding.remediation));
        }
    }
    out
}

/// The findings of the rules whose id starts with `prefix`, in `judge`'s order, rendered.
pub fn judged(snapshot: &Snapshot, prefix: &str) -> String {
    let findings: Vec<Finding> = sitrep_checks::judge(snapshot)
        .into_iter()
        .filter(|finding| finding.id.starts_with(prefix))
        .collect();
    render(&findings)
}
