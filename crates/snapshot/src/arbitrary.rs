//! Proptest strategies for arbitrary well-formed snapshots, shared by the property tests of
//! every crate that reads, compares or rewrites snapshots (feature `proptest`).
//!
//! A snapshot is generated for one [`Machine`]: its host name, users, MAC and IP addresses turn
//! up in the structured fields and, written as agents and tools really write them (upper case,
//! dashes, expanded or IPv4-mapped IPv6, `CORP\user`, `/home/user`), inside free text. Every
//! section is ok, an error or skipped. Figures stay within what a machine reports: floats are
//! finite (the wire cannot carry anything else, see `Snapshot`), byte counts below 2^50.

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use chrono::{DateTime, Utc};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

use crate::{
    AddressScope, AgentInfo, Audio, Battery, BatteryStatus, Bluetooth, BluetoothAdapter, Camera,
    Cpu, CupsStatus, DeviceProblem, Disk, Display, DnsAnswer, DnsConfig, DnsDetail, Finding,
    Hardware, HttpDetail, InputDevice, InputKind, Interface, InterfaceAddress, Memory, Monitor,
    Network, OperState, Os, PcmDevice, Peripherals, PingDetail, PingSocket, Power, PrintQueue,
    PrinterState, Printers, ProbeDetail, ProbeFailure, ProbeFailureKind, ProbeOutcome, ProbeResult,
    Proxy, ProxySetting, RfkillSwitch, Route, Routing, SCHEMA_VERSION, Section, SectionError,
    SectionErrorKind, Severity, Snapshot, SoundCard, Swap, TargetRole, TcpDetail, TlsCertificate,
    Trigger, UsbDevice, UsbInterface,
};

/// What identifies one machine: the values pseudonymization hides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// As the OS reports it: a short name or a fully qualified one, in any case.
    pub hostname: String,
    /// Interactive users, sorted and distinct, some as `DOMAIN\name` or `name@realm`.
    pub users: Vec<String>,
    /// Lower-case, colon-separated, as `Interface::mac` holds them.
    pub macs: Vec<String>,
    pub ipv4: Vec<Ipv4Addr>,
    /// Global addresses and the EUI-64 link-local address of each MAC.
    pub ipv6: Vec<Ipv6Addr>,
}

impl Machine {
    fn addresses(&self) -> Vec<IpAddr> {
        let v4 = self.ipv4.iter().copied().map(IpAddr::V4);
        v4.chain(self.ipv6.iter().copied().map(IpAddr::V6))
            .collect()
    }
}

/// Machines whose names are short, so one often sits inside another (`al` in `alice`, a host
/// named like its user).
pub fn machine() -> impl Strategy<Value = Machine> {
    let host = (
        select(
            &[
                "alice-laptop",
                "ws042",
                "BOB-PC",
                "mallory",
                "Erin-MBP",
                "al",
            ][..],
        ),
        select(&["", ".corp.example", ".fritz.box", ".LAN"][..]),
    )
        .prop_map(|(short, domain)| format!("{short}{domain}"));
    let user = (
        select(&["alice", "bob", "mallory", "al", "j.doe", "Erin"][..]),
        select(&["{}", "{}", r"CORP\{}", "{}@corp.example"][..]),
    )
        .prop_map(|(name, form)| form.replace("{}", name));
    let mac = any::<[u8; 6]>().prop_map(|mut octets| {
        // A real NIC's address: universally administered unicast.
        octets[0] &= 0xfc;
        colon_hex(&octets)
    });
    let ipv4 = prop_oneof![
        any::<[u8; 2]>().prop_map(|[c, d]| Ipv4Addr::new(192, 168, c, d)),
        any::<[u8; 3]>().prop_map(|[b, c, d]| Ipv4Addr::new(10, b, c, d)),
        any::<u32>().prop_map(Ipv4Addr::from),
    ];
    let global_ipv6 = any::<[u16; 6]>()
        .prop_map(|[b, c, d, e, f, g]| Ipv6Addr::new(0x2a01, 0x4f8, b, c, d, e, f, g));
    (
        host,
        vec(user, 0..3),
        vec(mac, 1..3),
        vec(ipv4, 1..4),
        vec(global_ipv6, 0..3),
    )
        .prop_map(|(hostname, mut users, macs, ipv4, mut ipv6)| {
            users.sort();
            users.dedup();
            ipv6.extend(macs.iter().map(|mac| eui64_link_local(mac)));
            Machine {
                hostname,
                users,
                macs,
                ipv4,
                ipv6,
            }
        })
}

/// Arbitrary well-formed snapshots of arbitrary machines.
pub fn snapshot() -> impl Strategy<Value = Snapshot> {
    machine().prop_flat_map(|machine| snapshot_of(&machine))
}

/// Arbitrary well-formed snapshots of `machine`.
pub fn snapshot_of(machine: &Machine) -> impl Strategy<Value = Snapshot> + use<> {
    let text = free_text(machine);
    let header = (
        any::<u128>().prop_map(Uuid::from_u128),
        option::of(any::<u128>().prop_map(Uuid::from_u128)),
        time(),
        0..600_000u64,
        select(
            &[
                Trigger::Manual,
                Trigger::Scheduled,
                Trigger::HelpRequest,
                Trigger::SpecialistRequest,
            ][..],
        ),
    );
    let sections = (
        section(os(machine), &text),
        section(hardware(), &text),
        section(vec(disk(machine, &text), 0..4), &text),
        section(network(machine, &text), &text),
        section(vec(probe(machine, &text), 0..5), &text),
        section(peripherals(machine, &text), &text),
        vec(finding(&text), 0..4),
    );
    (header, sections).prop_map(
        |(
            (id, agent_id, taken_at, duration_ms, trigger),
            (os, hardware, disks, network, probes, peripherals, findings),
        )| Snapshot {
            schema_version: SCHEMA_VERSION,
            id,
            agent: AgentInfo {
                version: "0.1.0".to_string(),
                agent_id,
            },
            taken_at,
            duration_ms,
            trigger,
            os,
            hardware,
            disks,
            network,
            probes,
            peripherals,
            findings,
        },
    )
}

type Text = BoxedStrategy<String>;

/// A value, or an error or skip whose message may quote anything the machine holds.
fn section<T: Debug + Clone + 'static, S: Strategy<Value = T> + 'static>(
    value: S,
    text: &Text,
) -> BoxedStrategy<Section<T>> {
    let kind = select(
        &[
            SectionErrorKind::Io,
            SectionErrorKind::Parse,
            SectionErrorKind::PermissionDenied,
            SectionErrorKind::Timeout,
            SectionErrorKind::Unsupported,
            SectionErrorKind::Internal,
        ][..],
    );
    prop_oneof![
        4 => value.prop_map(Section::Ok),
        1 => (kind, text.clone())
            .prop_map(|(kind, message)| Section::Error(SectionError { kind, message })),
        1 => text.clone().prop_map(Section::Skipped),
    ]
    // Boxed so the nested value trees live on the heap: unboxed, their moves overflow the
    // test thread's stack in debug builds.
    .boxed()
}

/// Free text as tools and agents write it: words and paths with the machine's names and
/// addresses in the forms people and programs use.
fn free_text(machine: &Machine) -> Text {
    let word = select(
        &[
            "failed",
            "timed out",
            "no route to host",
            "/dev/nvme0n1p2",
            "CUPS/2.4",
            "kernel 6.1.0-18",
            "Connection refused",
            "über",
            "2nd floor",
            "deadbeef",
            "127.0.0.53",
            "::1",
            "00:00:00:00:00:00",
            "224.0.0.251",
        ][..],
    )
    .prop_map(str::to_string);
    let fragment = prop_oneof![
        2 => word,
        3 => identity_in_text(machine),
    ];
    vec(fragment, 0..4)
        .prop_map(|words| words.join(" "))
        .boxed()
}

/// One of the machine's names or addresses, written in one of its textual forms, in a context.
fn identity_in_text(machine: &Machine) -> impl Strategy<Value = String> + use<> {
    let mut forms: Vec<String> = Vec::new();
    let host = &machine.hostname;
    let short = host.split('.').next().unwrap_or(host);
    forms.extend([
        host.clone(),
        short.to_string(),
        host.to_uppercase(),
        short.to_lowercase(),
    ]);
    for user in &machine.users {
        let bare = user.rsplit('\\').next().unwrap_or(user);
        let bare = bare.split('@').next().unwrap_or(bare);
        forms.extend([
            user.clone(),
            format!("/home/{bare}/.cache"),
            format!("{}'s", bare.to_uppercase()),
            format!(r"CORP\{bare}"),
        ]);
    }
    for mac in &machine.macs {
        forms.extend([
            mac.clone(),
            mac.to_uppercase(),
            mac.replace(':', "-").to_uppercase(),
        ]);
    }
    for v4 in &machine.ipv4 {
        forms.extend([v4.to_string(), format!("{v4}:53"), format!("::ffff:{v4}")]);
    }
    for v6 in &machine.ipv6 {
        forms.extend([
            v6.to_string(),
            format!("[{v6}]:443"),
            expanded(v6),
            v6.to_string().to_uppercase(),
            format!("{v6}%eth0"),
        ]);
    }
    let context = select(
        &[
            "{}",
            "{}",
            "({})",
            "'{}'",
            "\"{}\"",
            "{}.",
            "{},",
            "via {}",
            "=> {}",
            "at {}:",
            "//{}/share",
            "mac:{}",
            "addr:{}",
            "ipv6:{}",
            "hwaddr={}",
            "{}-eth0",
        ][..],
    );
    (select(forms), context).prop_map(|(form, context)| context.replace("{}", &form))
}

fn os(machine: &Machine) -> impl Strategy<Value = Os> + use<> {
    let hostname = option::weighted(0.9, Just(machine.hostname.clone()));
    let users = option::weighted(0.9, Just(machine.users.clone()));
    (
        select(&["linux", "windows", "macos"][..]),
        option::of(select(&["debian", "ubuntu", "fedora"][..])),
        hostname,
        users,
        option::of(0..10_000_000u64),
        option::of(time()),
        any::<bool>(),
        vec(select(&["linux-image-6.1.0-18-amd64", "libc6"][..]), 0..2),
        option::of(Just(
            "22631.4460, latest update KB5046633 of 2024-11-13".to_string(),
        )),
    )
        .prop_map(
            |(
                family,
                id,
                hostname,
                users,
                uptime_seconds,
                boot_time,
                reboot_required,
                by,
                patch_level,
            )| Os {
                family: family.to_string(),
                name: "Debian GNU/Linux".to_string(),
                id: id.map(str::to_string),
                version: Some("12".to_string()),
                pretty_name: Some("Debian GNU/Linux 12 (bookworm)".to_string()),
                patch_level,
                kernel: Some("6.1.0-18-amd64".to_string()),
                hostname,
                arch: "x86_64".to_string(),
                uptime_seconds,
                boot_time,
                timezone: Some("Europe/Berlin".to_string()),
                reboot_required,
                reboot_required_by: by.into_iter().map(str::to_string).collect(),
                users,
            },
        )
}

fn hardware() -> impl Strategy<Value = Hardware> {
    (
        option::of(Just("Intel(R) Core(TM) i7-1165G7 @ 2.80GHz".to_string())),
        1..256u32,
        option::of(1..128u32),
        option::of([0.0..64.0f64, 0.0..64.0f64, 0.0..64.0f64]),
        [bytes(), bytes(), bytes(), bytes()],
    )
        .prop_map(
            |(
                model,
                logical_cores,
                physical_cores,
                load_average,
                [total, available, swap, free],
            )| {
                Hardware {
                    cpu: Cpu {
                        model,
                        vendor: Some("GenuineIntel".to_string()),
                        logical_cores,
                        physical_cores,
                        load_average,
                    },
                    memory: Memory {
                        total_bytes: total,
                        available_bytes: available,
                    },
                    swap: Swap {
                        total_bytes: swap,
                        free_bytes: free,
                    },
                }
            },
        )
}

fn disk(machine: &Machine, text: &Text) -> impl Strategy<Value = Disk> + use<> {
    let user = machine.users.first().cloned().unwrap_or_default();
    let server = machine.ipv4[0];
    let mount_point = select(vec![
        "/".to_string(),
        format!("/home/{user}"),
        format!("/media/{user}/STICK"),
        "C:\\".to_string(),
    ]);
    let device = select(vec![
        "/dev/nvme0n1p2".to_string(),
        format!("{server}:/export/{user}"),
        format!("//{}/share", machine.hostname),
    ]);
    (
        mount_point,
        device,
        select(&["ext4", "btrfs", "nfs4", "ntfs", "apfs"][..]),
        any::<bool>(),
        option::of((bytes(), bytes(), 0.0..=100.0f64)),
        option::of((0..1u64 << 32, 0..1u64 << 32, option::of(0.0..=100.0f64))),
        option::of(text.clone()),
    )
        .prop_map(
            |(mount_point, device, fs_type, read_only, space, inodes, stat_error)| Disk {
                mount_point,
                device,
                fs_type: fs_type.to_string(),
                read_only,
                total_bytes: space.map(|(total, _, _)| total),
                available_bytes: space.map(|(_, available, _)| available),
                used_percent: space.map(|(_, _, used)| used),
                inodes_total: inodes.map(|(total, _, _)| total),
                inodes_free: inodes.map(|(_, free, _)| free),
                inodes_used_percent: inodes.and_then(|(_, _, used)| used),
                stat_error,
            },
        )
}

fn network(machine: &Machine, text: &Text) -> impl Strategy<Value = Network> + use<> {
    (
        section(vec(interface(machine), 0..4), text),
        section(routing(machine), text),
        section(dns(machine, text), text),
        section(proxy(machine, text), text),
    )
        .prop_map(|(interfaces, routing, dns, proxy)| Network {
            interfaces,
            routing,
            dns,
            proxy,
        })
}

fn interface(machine: &Machine) -> impl Strategy<Value = Interface> + use<> {
    let address = (select(machine.addresses()), 0..=128u8).prop_map(|(address, prefix_len)| {
        let prefix_len = match address {
            IpAddr::V4(_) => prefix_len % 33,
            IpAddr::V6(_) => prefix_len,
        };
        InterfaceAddress {
            address,
            prefix_len,
            scope: AddressScope::of(address),
        }
    });
    (
        select(&["eth0", "wlp2s0", "en0", "Ethernet 2"][..]),
        option::weighted(0.9, select(machine.macs.clone())),
        option::of(select(&[1280, 1500, 9000][..])),
        select(
            &[
                OperState::Up,
                OperState::Down,
                OperState::Dormant,
                OperState::LowerLayerDown,
                OperState::NotPresent,
                OperState::Testing,
                OperState::Unknown,
            ][..],
        ),
        option::of(select(&[10, 100, 1000, 2500][..])),
        any::<(bool, bool, bool)>(),
        vec(address, 0..4),
    )
        .prop_map(
            |(name, mac, mtu, oper_state, speed_mbps, (loopback, wireless, apipa), addresses)| {
                Interface {
                    name: name.to_string(),
                    mac,
                    mtu,
                    oper_state,
                    speed_mbps,
                    loopback,
                    wireless,
                    addresses,
                    ipv4_link_local_only: apipa,
                }
            },
        )
}

fn routing(machine: &Machine) -> impl Strategy<Value = Routing> + use<> {
    let route = (
        select(machine.addresses()),
        0..=32u8,
        option::of(select(machine.addresses())),
        select(&["eth0", "wlp2s0"][..]),
        0..1000u32,
    )
        .prop_map(
            |(destination, prefix_len, gateway, interface, metric)| Route {
                destination,
                prefix_len,
                gateway,
                interface: interface.to_string(),
                metric,
            },
        );
    (vec(route.clone(), 0..4), vec(route, 0..2)).prop_map(|(routes, default_gateways)| Routing {
        routes,
        default_gateways,
    })
}

fn dns(machine: &Machine, text: &Text) -> impl Strategy<Value = DnsConfig> + use<> {
    let stub = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53));
    (
        vec(select(machine.addresses()), 0..3),
        vec(text.clone(), 0..2),
        option::of(Just(stub)),
        select(&["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"][..]),
    )
        .prop_map(|(servers, search_domains, local_stub, source)| DnsConfig {
            servers,
            search_domains,
            local_stub,
            source: source.to_string(),
        })
}

fn proxy(machine: &Machine, text: &Text) -> impl Strategy<Value = Proxy> + use<> {
    let value = select(vec![
        format!("http://{}:3128", machine.ipv4[0]),
        format!("http://{}:8080/", machine.hostname),
    ]);
    let setting = (
        select(&["https_proxy", "http_proxy", "no_proxy"][..]),
        prop_oneof![value, text.clone()],
        select(&["environment", "/etc/environment"][..]),
    )
        .prop_map(|(name, value, source)| ProxySetting {
            name: name.to_string(),
            value,
            source: source.to_string(),
        });
    vec(setting, 0..3).prop_map(|settings| Proxy { settings })
}

fn probe(machine: &Machine, text: &Text) -> impl Strategy<Value = ProbeResult> + use<> {
    let target = prop_oneof![
        select(machine.addresses()).prop_map(|address| address.to_string()),
        Just(machine.hostname.clone()),
        Just(format!("https://{}:8443/api/v1/", machine.hostname)),
        select(machine.ipv6.clone()).prop_map(|v6| format!("[{v6}]:443")),
        text.clone(),
    ];
    let failure = (
        select(
            &[
                ProbeFailureKind::Timeout,
                ProbeFailureKind::Refused,
                ProbeFailureKind::Unreachable,
                ProbeFailureKind::PacketLoss,
                ProbeFailureKind::PermissionDenied,
                ProbeFailureKind::NameNotFound,
                ProbeFailureKind::NoRecords,
                ProbeFailureKind::DnsError,
                ProbeFailureKind::Resolve,
                ProbeFailureKind::Tls,
                ProbeFailureKind::HttpStatus,
                ProbeFailureKind::Other,
            ][..],
        ),
        text.clone(),
    )
        .prop_map(|(kind, message)| ProbeFailure { kind, message });
    (
        target,
        select(
            &[
                TargetRole::Gateway,
                TargetRole::DnsServer,
                TargetRole::Collector,
                TargetRole::Configured,
                TargetRole::Requested,
            ][..],
        ),
        select(
            &[
                ProbeOutcome::Success,
                ProbeOutcome::Partial,
                ProbeOutcome::Failure,
            ][..],
        ),
        millis(),
        option::of(failure),
        probe_detail(machine, text),
    )
        .prop_map(
            |(target, role, outcome, elapsed_ms, failure, detail)| ProbeResult {
                target,
                role,
                outcome,
                elapsed_ms,
                failure,
                detail,
            },
        )
}

fn probe_detail(machine: &Machine, text: &Text) -> impl Strategy<Value = ProbeDetail> + use<> {
    let address = option::of(select(machine.addresses()));
    let ping = (
        address.clone(),
        option::of(select(&[PingSocket::Datagram, PingSocket::Raw][..])),
        (0..10u32, 0..10u32),
        0.0..=100.0f64,
        option::of((millis(), millis(), millis())),
    )
        .prop_map(|(address, socket, (sent, received), loss_percent, rtt)| {
            ProbeDetail::Ping(PingDetail {
                address,
                socket,
                sent,
                received: received.min(sent),
                loss_percent,
                rtt_min_ms: rtt.map(|(min, _, _)| min),
                rtt_avg_ms: rtt.map(|(_, avg, _)| avg),
                rtt_max_ms: rtt.map(|(_, _, max)| max),
            })
        });
    let answer = (
        select(&["A", "AAAA", "NS"][..]),
        option::of(select(&["NOERROR", "NXDOMAIN", "SERVFAIL"][..])),
        vec(select(machine.addresses()), 0..3),
        millis(),
        option::of(text.clone()),
    )
        .prop_map(
            |(record_type, rcode, addresses, time_ms, error)| DnsAnswer {
                record_type: record_type.to_string(),
                rcode: rcode.map(str::to_string),
                addresses,
                time_ms,
                error,
            },
        );
    let dns = (
        address.clone(),
        prop_oneof![Just(machine.hostname.clone()), text.clone()],
        vec(answer, 0..3),
    )
        .prop_map(|(server, name, answers)| {
            ProbeDetail::Dns(DnsDetail {
                server,
                name,
                answers,
            })
        });
    let tcp =
        (address, any::<u16>(), option::of(millis())).prop_map(|(address, port, connect_ms)| {
            ProbeDetail::Tcp(TcpDetail {
                address,
                port,
                connect_ms,
            })
        });
    let certificate = (
        any::<bool>(),
        option::of(text.clone()),
        option::of(Just(format!("CN={}", machine.hostname))),
        option::of(text.clone()),
        option::of(time()),
        option::of(-1000..1000i64),
    )
        .prop_map(
            |(valid, error, subject, issuer, not_after, days_left)| TlsCertificate {
                valid,
                error,
                subject,
                issuer,
                not_after,
                days_left,
            },
        );
    let http = (
        prop_oneof![
            Just(format!("https://{}/", machine.hostname)),
            select(machine.addresses()).prop_map(|address| match address {
                IpAddr::V4(v4) => format!("http://{v4}:8080/status"),
                IpAddr::V6(v6) => format!("http://[{v6}]/"),
            }),
        ],
        option::of(100..600u16),
        option::of(millis()),
        option::of(certificate),
    )
        .prop_map(|(url, status, response_ms, certificate)| {
            ProbeDetail::Http(HttpDetail {
                url,
                status,
                response_ms,
                certificate,
            })
        });
    prop_oneof![ping, dns, tcp, http]
}

fn peripherals(machine: &Machine, text: &Text) -> impl Strategy<Value = Peripherals> + use<> {
    (
        section(vec(usb_device(), 0..3), text),
        section(printers(machine, text), text),
        section(vec(display(), 0..3), text),
        section(audio(), text),
        section(power(), text),
        section(vec(input_device(), 0..3), text),
        section(bluetooth(), text),
        section(vec(camera(), 0..2), text),
        section(vec(device_problem(), 0..2), text),
    )
        .prop_map(
            |(
                usb,
                printers,
                displays,
                audio,
                power,
                input,
                bluetooth,
                cameras,
                device_problems,
            )| {
                Peripherals {
                    usb,
                    printers,
                    displays,
                    audio,
                    power,
                    input,
                    bluetooth,
                    cameras,
                    device_problems,
                }
            },
        )
}

fn usb_device() -> impl Strategy<Value = UsbDevice> {
    let interface = (
        select(&["hid", "audio", "video"][..]),
        option::of(Just("usbhid")),
    )
        .prop_map(|(class, driver)| UsbInterface {
            path: "1-2:1.0".to_string(),
            class: class.to_string(),
            driver: driver.map(str::to_string),
        });
    (
        select(&["usb1", "1-2", "1-2.3", "3-1"][..]),
        option::of(select(&["usb1", "1-2"][..])),
        option::of(Just("Logitech")),
        option::of(select(&["USB Receiver", "Integrated Camera"][..])),
        option::of(Just("8A3F21C0")),
        option::of(select(&[1.5, 12.0, 480.0, 5000.0, 10000.0, 20000.0][..])),
        any::<bool>(),
        vec(interface, 0..3),
    )
        .prop_map(
            |(path, parent, manufacturer, product, serial, speed_mbps, is_hub, interfaces)| {
                UsbDevice {
                    path: path.to_string(),
                    parent: parent.map(str::to_string),
                    vendor_id: "046d".to_string(),
                    product_id: "c52b".to_string(),
                    manufacturer: manufacturer.map(str::to_string),
                    product: product.map(str::to_string),
                    serial: serial.map(str::to_string),
                    class: if is_hub { "hub" } else { "hid" }.to_string(),
                    speed_mbps,
                    driver: Some("usbhid".to_string()),
                    is_hub,
                    interfaces,
                }
            },
        )
}

fn printers(machine: &Machine, text: &Text) -> impl Strategy<Value = Printers> + use<> {
    let uri = select(vec![
        format!("ipp://{}/ipp/print", machine.ipv4[0]),
        format!("socket://{}:9100", machine.ipv4[0]),
        format!("ipps://{}:631/printers/Office", machine.hostname),
        "usb://HP/LaserJet?serial=VNB3K12345".to_string(),
    ]);
    let state = select(
        &[
            PrinterState::Idle,
            PrinterState::Printing,
            PrinterState::Stopped,
        ][..],
    );
    let queue = (
        select(&["Office", "HP_LaserJet"][..]),
        option::of(uri),
        option::of(text.clone()),
        option::of(text.clone()),
        state,
        vec(
            select(&["offline-report", "paused", "toner-low-warning"][..]),
            0..2,
        ),
        option::of(text.clone()),
        (
            any::<bool>(),
            0..50u32,
            option::of(0..1_000_000u64),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                name,
                uri,
                info,
                location,
                state,
                reasons,
                state_message,
                (accepting, jobs_waiting, oldest_job_age_s, is_default),
            )| PrintQueue {
                name: name.to_string(),
                uri,
                info,
                location,
                make_and_model: Some("HP LaserJet Pro M404".to_string()),
                state,
                state_reasons: reasons.into_iter().map(str::to_string).collect(),
                state_message,
                accepting,
                jobs_waiting,
                oldest_job_age_s,
                is_default,
            },
        );
    let cups = prop_oneof![
        (
            select(&["/run/cups/cups.sock", "localhost:631"][..]),
            option::of(Just("CUPS/2.4 IPP/2.1")),
        )
            .prop_map(|(server, version)| CupsStatus::Present {
                server: server.to_string(),
                version: version.map(str::to_string),
            }),
        text.clone()
            .prop_map(|reason| CupsStatus::Absent { reason }),
    ];
    (cups, vec(queue, 0..3), option::of(Just("Office"))).prop_map(
        |(cups, queues, default_printer)| Printers {
            cups,
            queues,
            default_printer: default_printer.map(str::to_string),
        },
    )
}

/// Device facts only: the redactor leaves this section's values alone, as no agent puts a name
/// or an address in them.
fn display() -> impl Strategy<Value = Display> {
    let monitor = (
        option::of(Just("DELL U2518D")),
        any::<u16>(),
        option::of(Just("3C4Y")),
        option::of((100..800u32, 100..500u32)),
        option::of((1990..2030u16, 1..=53u8)),
    )
        .prop_map(|(model, product_code, serial, size, made)| Monitor {
            pnp_id: "DEL".to_string(),
            make: "Dell".to_string(),
            model: model.map(str::to_string),
            product_code,
            serial: serial.map(str::to_string),
            width_mm: size.map(|(width, _)| width),
            height_mm: size.map(|(_, height)| height),
            manufacture_year: made.map(|(year, _)| year),
            manufacture_week: made.map(|(_, week)| week),
        });
    (
        select(&["card0-HDMI-A-1", "card1-eDP-1"][..]),
        any::<(bool, bool, bool)>(),
        vec(select(&["2560x1440", "1920x1080"][..]), 0..3),
        option::of(monitor),
        option::of(select(&["bad checksum", "shorter than 128 bytes"][..])),
    )
        .prop_map(
            |(connector, (internal, connected, enabled), modes, monitor, edid_error)| Display {
                connector: connector.to_string(),
                internal,
                connected,
                enabled,
                preferred_mode: modes.first().map(|mode| mode.to_string()),
                modes: modes.into_iter().map(str::to_string).collect(),
                monitor,
                edid_error: edid_error.map(str::to_string),
            },
        )
}

fn audio() -> impl Strategy<Value = Audio> {
    let pcm =
        (0..8u32, any::<(bool, bool)>()).prop_map(|(device, (playback, capture))| PcmDevice {
            device,
            name: "ALC257 Analog".to_string(),
            playback,
            capture,
        });
    let card = (0..4u32, vec(pcm, 0..3)).prop_map(|(index, pcm_devices)| SoundCard {
        index,
        id: "PCH".to_string(),
        driver: "HDA-Intel".to_string(),
        name: "HDA Intel PCH".to_string(),
        long_name: Some("HDA Intel PCH at 0xea230000 irq 147".to_string()),
        pcm_devices,
    });
    vec(card, 0..3).prop_map(|cards| Audio { cards })
}

fn power() -> impl Strategy<Value = Power> {
    let battery = (
        select(&["BAT0", "hidpp_battery_0"][..]),
        any::<bool>(),
        select(
            &[
                BatteryStatus::Charging,
                BatteryStatus::Discharging,
                BatteryStatus::NotCharging,
                BatteryStatus::Full,
                BatteryStatus::Unknown,
            ][..],
        ),
        option::of(0..=100u8),
        option::of(0..3000u32),
        option::of(0.0..=120.0f64),
        option::of((0.0..200.0f64, 0.0..200.0f64)),
    )
        .prop_map(
            |(name, peripheral, status, capacity_pct, cycle_count, health_pct, energy)| Battery {
                name: name.to_string(),
                peripheral,
                status,
                capacity_pct,
                cycle_count,
                health_pct,
                energy_full_wh: energy.map(|(full, _)| full),
                energy_full_design_wh: energy.map(|(_, design)| design),
                technology: Some("Li-ion".to_string()),
                model: Some("5B10W13975".to_string()),
                manufacturer: Some("SMP".to_string()),
            },
        );
    (option::of(any::<bool>()), vec(battery, 0..3)).prop_map(|(ac_online, batteries)| Power {
        ac_online,
        batteries,
    })
}

fn input_device() -> impl Strategy<Value = InputDevice> {
    (
        select(&["AT Translated Set 2 keyboard", "Logitech MX Master 3"][..]),
        select(
            &[
                InputKind::Keyboard,
                InputKind::Mouse,
                InputKind::Touchpad,
                InputKind::Touchscreen,
                InputKind::Tablet,
                InputKind::Joystick,
            ][..],
        ),
        select(&["usb", "bluetooth", "i8042"][..]),
    )
        .prop_map(|(name, kind, bus)| InputDevice {
            name: name.to_string(),
            kind,
            bus: bus.to_string(),
            vendor_id: "046d".to_string(),
            product_id: "4082".to_string(),
            handlers: vec!["event3".to_string()],
        })
}

fn bluetooth() -> impl Strategy<Value = Bluetooth> {
    let adapter = option::of(Just("btusb")).prop_map(|driver| BluetoothAdapter {
        name: "hci0".to_string(),
        bus: Some("usb".to_string()),
        driver: driver.map(str::to_string),
    });
    let switch = (select(&["bluetooth", "wlan"][..]), any::<(bool, bool)>()).prop_map(
        |(kind, (soft_blocked, hard_blocked))| RfkillSwitch {
            name: "phy0".to_string(),
            kind: kind.to_string(),
            soft_blocked,
            hard_blocked,
        },
    );
    (vec(adapter, 0..2), vec(switch, 0..3))
        .prop_map(|(adapters, rfkill)| Bluetooth { adapters, rfkill })
}

fn camera() -> impl Strategy<Value = Camera> {
    option::of(Just("1-5")).prop_map(|usb_path| Camera {
        name: "Integrated Camera: Integrated C".to_string(),
        devices: vec!["/dev/video0".to_string(), "/dev/video1".to_string()],
        driver: Some("uvcvideo".to_string()),
        usb_path: usb_path.map(str::to_string),
    })
}

fn device_problem() -> impl Strategy<Value = DeviceProblem> {
    (option::of(0..60u32), any::<bool>()).prop_map(|(code, disabled)| DeviceProblem {
        name: "Goodix MOC Fingerprint".to_string(),
        device_id: r"USB\VID_27C6&PID_538C\5&2B1A5C3E&0&9".to_string(),
        class: Some("Biometric".to_string()),
        bus: Some("usb".to_string()),
        code,
        problem: "The drivers for this device are not installed (code 28)".to_string(),
        driver: None,
        disabled,
    })
}

fn finding(text: &Text) -> impl Strategy<Value = Finding> + use<> {
    (
        select(&["disk.space", "net.dns.unreachable", "os.reboot"][..]),
        select(&[Severity::Pass, Severity::Warn, Severity::Fail][..]),
        text.clone(),
        text.clone(),
        option::of(text.clone()),
    )
        .prop_map(|(id, severity, title, evidence, subject)| Finding {
            id: id.to_string(),
            severity,
            title,
            evidence,
            remediation: String::new(),
            subject,
        })
}

/// Between 1970 and 2100, to the nanosecond, as `Utc::now()` gives.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (0..4_102_444_800i64, 0..1_000_000_000u32).prop_map(|(seconds, nanos)| {
        DateTime::from_timestamp(seconds, nanos).unwrap_or(DateTime::UNIX_EPOCH)
    })
}

/// Up to a petabyte.
fn bytes() -> impl Strategy<Value = u64> {
    0..1u64 << 50
}

/// A measured time, to the nanosecond's precision of `Duration::as_secs_f64`.
fn millis() -> impl Strategy<Value = f64> {
    0.0..60_000.0f64
}

fn colon_hex(octets: &[u8]) -> String {
    octets
        .iter()
        .map(|octet| format!("{octet:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The SLAAC link-local address of a MAC (RFC 4291 appendix A): the universal/local bit
/// flipped and `ff:fe` in the middle, so the address spells out the MAC.
pub fn eui64_link_local(mac: &str) -> Ipv6Addr {
    let octets: Vec<u8> = mac
        .split([':', '-'])
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect();
    let mut address = [0u8; 16];
    address[..2].copy_from_slice(&[0xfe, 0x80]);
    if let [a, b, c, d, e, f] = octets[..] {
        address[8..].copy_from_slice(&[a ^ 0x02, b, c, 0xff, 0xfe, d, e, f]);
    }
    Ipv6Addr::from(address)
}

/// All eight groups, each four digits: `fe80:0000:0000:0000:3e22:fbff:fe12:3456`.
fn expanded(address: &Ipv6Addr) -> String {
    address
        .segments()
        .iter()
        .map(|segment| format!("{segment:04x}"))
        .collect::<Vec<_>>()
        .join(":")
}
