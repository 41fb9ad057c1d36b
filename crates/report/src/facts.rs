//! The facts every rendering shows, extracted once from a snapshot and worded for people.
//!
//! Text, Markdown and HTML differ only in layout: which facts there are, their figures, and the
//! wording for a missing section ("unavailable: ...", "skipped: ...") are decided here.

mod peripherals;

use std::fmt;

use sitrep_checks::format::{bytes, duration, millis, whole_percent};
use sitrep_snapshot::{
    Cpu, Disk, DnsConfig, Finding, FindingSummary, Hardware, Interface, Network, OperState, Os,
    ProbeDetail, ProbeOutcome, ProbeResult, ProxySetting, Route, Routing, Section, Severity,
    Snapshot, TargetRole, Trigger,
};

pub(crate) use peripherals::{
    BatteryFacts, CameraFacts, DisplayFacts, InputFacts, NO_BATTERIES, NO_CAMERAS, NO_DISPLAYS,
    NO_INPUT, NO_PROBLEMS, NO_QUEUES, NO_RADIOS, NO_SOUND_CARDS, NO_USB, PeripheralFacts,
    PowerFacts, PrinterFacts, ProblemFacts, QueueFacts, RadioFacts, SoundCardFacts, UsbFacts,
};

/// The rule whose per-filesystem findings colour the disk usage bars; its id is stable by design.
const DISK_SPACE_RULE: &str = "disk.space";

/// Why a part of the snapshot has no figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// The reader failed; the message names what failed.
    Error(String),
    /// The agent did not gather it, and says why.
    Skipped(String),
}

impl Unavailable {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Unavailable::Error(_) => "unavailable",
            Unavailable::Skipped(_) => "skipped",
        }
    }

    pub(crate) fn reason(&self) -> &str {
        match self {
            Unavailable::Error(reason) | Unavailable::Skipped(reason) => reason,
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.label(), self.reason())
    }
}

pub(crate) type Available<T> = Result<T, Unavailable>;

fn available<T>(section: &Section<T>) -> Available<&T> {
    match section {
        Section::Ok(value) => Ok(value),
        Section::Error(error) => Err(Unavailable::Error(error.message.clone())),
        Section::Skipped(reason) => Err(Unavailable::Skipped(reason.clone())),
    }
}

/// A snapshot as people read it, in report order.
#[derive(Debug)]
pub(crate) struct Facts<'a> {
    /// The host name, or "this machine" when the OS section is missing.
    pub host: &'a str,
    pub taken_at: String,
    pub duration_ms: u64,
    pub trigger: &'static str,
    pub verdict: Severity,
    /// "1 failed, 2 warnings, 10 passed".
    pub tally: String,
    /// Failures, then warnings, each group in the snapshot's order.
    pub problems: Vec<&'a Finding>,
    pub passes: Vec<&'a Finding>,
    pub system: Available<SystemFacts<'a>>,
    pub hardware: Available<HardwareFacts<'a>>,
    pub disks: Available<Vec<DiskFacts<'a>>>,
    pub network: Available<NetworkFacts<'a>>,
    pub probes: Available<Vec<ProbeFacts<'a>>>,
    pub peripherals: Available<PeripheralFacts<'a>>,
    pub snapshot_id: String,
    pub agent_version: &'a str,
}

impl<'a> Facts<'a> {
    pub(crate) fn of(snapshot: &'a Snapshot) -> Self {
        let summary = FindingSummary::of(&snapshot.findings);
        let with_severity = |severity: Severity| {
            snapshot
                .findings
                .iter()
                .filter(move |finding| finding.severity == severity)
        };
        Facts {
            host: snapshot
                .os
                .ok()
                .and_then(|os| os.hostname.as_deref())
                .unwrap_or("this machine"),
            taken_at: snapshot
                .taken_at
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            duration_ms: snapshot.duration_ms,
            trigger: trigger_label(snapshot.trigger),
            verdict: snapshot.worst_severity(),
            tally: format!(
                "{} failed, {} warning{}, {} passed",
                summary.fail,
                summary.warn,
                if summary.warn == 1 { "" } else { "s" },
                summary.pass
            ),
            problems: with_severity(Severity::Fail)
                .chain(with_severity(Severity::Warn))
                .collect(),
            passes: with_severity(Severity::Pass).collect(),
            system: available(&snapshot.os).map(SystemFacts::of),
            hardware: available(&snapshot.hardware).map(HardwareFacts::of),
            disks: available(&snapshot.disks).map(|disks| {
                disks
                    .iter()
                    .map(|disk| DiskFacts::of(disk, &snapshot.findings))
                    .collect()
            }),
            network: available(&snapshot.network).map(NetworkFacts::of),
            probes: available(&snapshot.probes)
                .map(|probes| probes.iter().map(ProbeFacts::of).collect()),
            peripherals: available(&snapshot.peripherals).map(PeripheralFacts::of),
            snapshot_id: snapshot.id.to_string(),
            agent_version: &snapshot.agent.version,
        }
    }
}

/// Upper case so the verdict stands out in every form, also without colour.
pub(crate) fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Fail => "FAIL",
        Severity::Warn => "WARN",
        Severity::Pass => "PASS",
    }
}

/// Why a snapshot was taken, in words ("specialist request").
pub fn trigger_label(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Manual => "manual",
        Trigger::Scheduled => "scheduled",
        Trigger::HelpRequest => "help request",
        Trigger::SpecialistRequest => "specialist request",
    }
}

#[derive(Debug)]
pub(crate) struct SystemFacts<'a> {
    /// The pretty name where the OS has one, e.g. "Debian GNU/Linux 12 (bookworm)".
    pub name: &'a str,
    /// Windows' build and latest update, where the platform reports one.
    pub patch_level: Option<&'a str>,
    pub kernel: Option<&'a str>,
    pub arch: &'a str,
    pub uptime: Option<String>,
    pub boot_time: Option<String>,
    pub timezone: Option<&'a str>,
    /// Logged-in users, "nobody", or `None` where the platform cannot tell.
    pub users: Option<String>,
    /// "not pending", "pending", or "pending (asked for by libc6, ...)".
    pub restart: String,
}

impl<'a> SystemFacts<'a> {
    fn of(os: &'a Os) -> Self {
        let restart = match (os.reboot_required, os.reboot_required_by.is_empty()) {
            (false, _) => "not pending".to_string(),
            (true, true) => "pending".to_string(),
            (true, false) => format!(
                "pending (asked for by {})",
                os.reboot_required_by.join(", ")
            ),
        };
        SystemFacts {
            name: os.pretty_name.as_deref().unwrap_or(&os.name),
            patch_level: os.patch_level.as_deref(),
            kernel: os.kernel.as_deref(),
            arch: &os.arch,
            uptime: os.uptime_seconds.map(duration),
            boot_time: os
                .boot_time
                .map(|time| time.format("%Y-%m-%d %H:%M UTC").to_string()),
            timezone: os.timezone.as_deref(),
            users: os.users.as_ref().map(|users| {
                if users.is_empty() {
                    "nobody".to_string()
                } else {
                    users.join(", ")
                }
            }),
            restart,
        }
    }
}

#[derive(Debug)]
pub(crate) struct HardwareFacts<'a> {
    pub cpu_model: Option<&'a str>,
    pub cpu_vendor: Option<&'a str>,
    pub threads: u32,
    pub cores: Option<u32>,
    /// 1, 5 and 15 minute averages: "0.42 0.35 0.30".
    pub load: Option<String>,
    /// "9.5 GiB available of 16.0 GiB".
    pub memory: String,
    /// "200.0 MiB used of 2.0 GiB".
    pub swap: String,
}

impl<'a> HardwareFacts<'a> {
    fn of(hardware: &'a Hardware) -> Self {
        let Hardware { cpu, memory, swap } = hardware;
        let Cpu {
            model,
            vendor,
            logical_cores,
            physical_cores,
            load_average,
        } = cpu;
        HardwareFacts {
            cpu_model: model.as_deref(),
            cpu_vendor: vendor.as_deref(),
            threads: *logical_cores,
            cores: *physical_cores,
            load: load_average
                .map(|[one, five, fifteen]| format!("{one:.2} {five:.2} {fifteen:.2}")),
            memory: format!(
                "{} available of {}",
                bytes(memory.available_bytes),
                bytes(memory.total_bytes)
            ),
            swap: format!(
                "{} used of {}",
                bytes(swap.total_bytes.saturating_sub(swap.free_bytes)),
                bytes(swap.total_bytes)
            ),
        }
    }
}

#[derive(Debug)]
pub(crate) struct DiskFacts<'a> {
    pub mount_point: &'a str,
    pub device: &'a str,
    pub fs_type: &'a str,
    pub read_only: bool,
    /// The space figures, or why there are none.
    pub space: Result<DiskSpace, String>,
    /// Share of inodes used, on filesystems with an inode table.
    pub inodes_used: Option<String>,
}

#[derive(Debug)]
pub(crate) struct DiskSpace {
    /// 0 to 100, for usage bars.
    pub used_percent: f64,
    /// Rounded down like the findings, so a bar never shows a threshold the disk has not reached.
    pub used: String,
    pub free: String,
    pub total: String,
    /// How the disk space rule judged this filesystem, where it reported on it alone.
    pub severity: Option<Severity>,
}

impl<'a> DiskFacts<'a> {
    fn of(disk: &'a Disk, findings: &[Finding]) -> Self {
        let space = match (disk.used_percent, disk.available_bytes, disk.total_bytes) {
            (Some(used_percent), Some(available), Some(total)) => Ok(DiskSpace {
                used_percent: used_percent.clamp(0.0, 100.0),
                used: whole_percent(used_percent),
                free: bytes(available),
                total: bytes(total),
                severity: findings
                    .iter()
                    .filter(|finding| {
                        finding.id == DISK_SPACE_RULE
                            && finding.subject.as_deref() == Some(disk.mount_point.as_str())
                    })
                    .map(|finding| finding.severity)
                    .max(),
            }),
            _ => Err(disk
                .stat_error
                .clone()
                .unwrap_or_else(|| "no figures".into())),
        };
        DiskFacts {
            mount_point: &disk.mount_point,
            device: &disk.device,
            fs_type: &disk.fs_type,
            read_only: disk.read_only,
            space,
            inodes_used: disk.inodes_used_percent.map(whole_percent),
        }
    }
}

/// Each part stays its own `Available`: an unreadable resolv.conf must not hide the interfaces.
#[derive(Debug)]
pub(crate) struct NetworkFacts<'a> {
    /// Loopback left out: it is always there and says nothing about the machine's network.
    pub interfaces: Available<Vec<InterfaceFacts<'a>>>,
    pub routing: Available<RoutingFacts<'a>>,
    pub dns: Available<DnsFacts<'a>>,
    pub proxy: Available<&'a [ProxySetting]>,
}

impl<'a> NetworkFacts<'a> {
    fn of(network: &'a Network) -> Self {
        NetworkFacts {
            interfaces: available(&network.interfaces).map(|interfaces| {
                interfaces
                    .iter()
                    .filter(|interface| !interface.loopback)
                    .map(InterfaceFacts::of)
                    .collect()
            }),
            routing: available(&network.routing).map(RoutingFacts::of),
            dns: available(&network.dns).map(DnsFacts::of),
            proxy: available(&network.proxy).map(|proxy| proxy.settings.as_slice()),
        }
    }
}

/// Said where a list of interfaces would be, when there is only loopback.
pub(crate) const NO_INTERFACES: &str = "no network interfaces besides loopback";

#[derive(Debug)]
pub(crate) struct InterfaceFacts<'a> {
    pub name: &'a str,
    pub state: &'static str,
    /// "192.168.1.23/24", one per address.
    pub addresses: Vec<String>,
    pub mac: Option<&'a str>,
    pub mtu: Option<u32>,
    pub speed: Option<String>,
    /// What else is worth knowing: wireless, DHCP failed.
    pub notes: Vec<&'static str>,
}

impl<'a> InterfaceFacts<'a> {
    fn of(interface: &'a Interface) -> Self {
        let notes = [
            (interface.wireless, "wireless"),
            (
                interface.ipv4_link_local_only,
                "only a link-local IPv4 address (no DHCP answer)",
            ),
        ];
        InterfaceFacts {
            name: &interface.name,
            state: oper_state_label(interface.oper_state),
            addresses: interface
                .addresses
                .iter()
                .map(|address| format!("{}/{}", address.address, address.prefix_len))
                .collect(),
            mac: interface.mac.as_deref(),
            mtu: interface.mtu,
            speed: interface.speed_mbps.map(|mbps| format!("{mbps} Mbit/s")),
            notes: notes
                .into_iter()
                .filter_map(|(applies, note)| applies.then_some(note))
                .collect(),
        }
    }
}

/// One word each, as `ip link` shows them, so a state never splits across a line.
fn oper_state_label(state: OperState) -> &'static str {
    match state {
        OperState::Up => "up",
        OperState::Down => "down",
        OperState::Dormant => "dormant",
        OperState::LowerLayerDown => "lower-layer-down",
        OperState::NotPresent => "not-present",
        OperState::Testing => "testing",
        OperState::Unknown => "unknown",
    }
}

#[derive(Debug)]
pub(crate) struct RoutingFacts<'a> {
    /// "192.168.1.1 via eth0, fd00::1 via eth0", or "no default route".
    pub gateways: String,
    pub routes: Vec<RouteFacts<'a>>,
}

impl<'a> RoutingFacts<'a> {
    fn of(routing: &'a Routing) -> Self {
        let gateways = if routing.default_gateways.is_empty() {
            "no default route".to_string()
        } else {
            routing
                .default_gateways
                .iter()
                .map(|route| format!("{} via {}", next_hop(route), route.interface))
                .collect::<Vec<_>>()
                .join(", ")
        };
        RoutingFacts {
            gateways,
            routes: routing.routes.iter().map(RouteFacts::of).collect(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct RouteFacts<'a> {
    /// "0.0.0.0/0", "192.168.1.0/24".
    pub destination: String,
    /// The next hop, or "on-link".
    pub gateway: String,
    pub interface: &'a str,
    pub metric: u32,
}

impl<'a> RouteFacts<'a> {
    fn of(route: &'a Route) -> Self {
        RouteFacts {
            destination: format!("{}/{}", route.destination, route.prefix_len),
            gateway: next_hop(route),
            interface: &route.interface,
            metric: route.metric,
        }
    }
}

fn next_hop(route: &Route) -> String {
    route
        .gateway
        .map_or_else(|| "on-link".to_string(), |gateway| gateway.to_string())
}

#[derive(Debug)]
pub(crate) struct DnsFacts<'a> {
    /// "10.0.0.53 10.0.0.54", or "no servers".
    pub servers: String,
    pub local_stub: Option<String>,
    pub search_domains: Option<String>,
    pub source: &'a str,
}

impl<'a> DnsFacts<'a> {
    fn of(dns: &'a DnsConfig) -> Self {
        DnsFacts {
            servers: if dns.servers.is_empty() {
                "no servers".to_string()
            } else {
                spaced(&dns.servers)
            },
            local_stub: dns.local_stub.map(|stub| stub.to_string()),
            search_domains: (!dns.search_domains.is_empty()).then(|| dns.search_domains.join(" ")),
            source: &dns.source,
        }
    }
}

fn spaced(items: &[impl ToString]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Said where the proxy settings would be, when there are none.
pub(crate) const NO_PROXY: &str = "no proxy configured";
/// Said where a list of filesystems would be, when the agent found none.
pub(crate) const NO_DISKS: &str = "no filesystems found";
/// Said where the probe results would be, when no probe was planned.
pub(crate) const NO_PROBES: &str = "no probes were run";

#[derive(Debug)]
pub(crate) struct ProbeFacts<'a> {
    /// "ping", "dns", "tcp" or "http".
    pub method: &'static str,
    /// What was probed: the target, "name @server" for DNS, the URL for HTTP.
    pub subject: String,
    /// The figures: "0 % loss, 1.2 ms avg", "A NOERROR, AAAA NOERROR", "200 45 ms".
    pub detail: String,
    pub outcome: ProbeOutcome,
    pub role: &'static str,
    pub elapsed: String,
    pub failure: Option<&'a str>,
}

impl<'a> ProbeFacts<'a> {
    fn of(probe: &'a ProbeResult) -> Self {
        let (method, subject, detail) = match &probe.detail {
            ProbeDetail::Ping(ping) => {
                let rtt = ping
                    .rtt_avg_ms
                    .map(|ms| format!(", {ms:.1} ms avg"))
                    .unwrap_or_default();
                (
                    "ping",
                    probe.target.clone(),
                    format!("{:.0} % loss{rtt}", ping.loss_percent),
                )
            }
            ProbeDetail::Dns(dns) => {
                let answers: Vec<String> = dns
                    .answers
                    .iter()
                    .map(|answer| {
                        format!(
                            "{} {}",
                            answer.record_type,
                            answer.rcode.as_deref().unwrap_or("no answer")
                        )
                    })
                    .collect();
                (
                    "dns",
                    format!("{} @{}", dns.name, dns.server_label()),
                    answers.join(", "),
                )
            }
            ProbeDetail::Tcp(tcp) => (
                "tcp",
                probe.target.clone(),
                tcp.connect_ms
                    .map(|ms| format!("{ms:.1} ms"))
                    .unwrap_or_default(),
            ),
            ProbeDetail::Http(http) => {
                let figures: Vec<String> = http
                    .status
                    .map(|status| status.to_string())
                    .into_iter()
                    .chain(http.response_ms.map(|ms| format!("{ms:.0} ms")))
                    .collect();
                ("http", http.url.clone(), figures.join(" "))
            }
        };
        ProbeFacts {
            method,
            subject,
            detail,
            outcome: probe.outcome,
            role: role_label(probe.role),
            elapsed: millis(probe.elapsed_ms),
            failure: probe
                .failure
                .as_ref()
                .map(|failure| failure.message.as_str()),
        }
    }
}

/// "FAILED" shouts so a failed probe stands out in a list of oks.
pub(crate) fn outcome_label(outcome: ProbeOutcome) -> &'static str {
    match outcome {
        ProbeOutcome::Success => "ok",
        ProbeOutcome::Partial => "partly",
        ProbeOutcome::Failure => "FAILED",
    }
}

/// How bad an outcome is, for badges.
pub(crate) fn outcome_severity(outcome: ProbeOutcome) -> Severity {
    match outcome {
        ProbeOutcome::Success => Severity::Pass,
        ProbeOutcome::Partial => Severity::Warn,
        ProbeOutcome::Failure => Severity::Fail,
    }
}

/// Why a target was probed, in words ("DNS server").
pub fn role_label(role: TargetRole) -> &'static str {
    match role {
        TargetRole::Gateway => "gateway",
        TargetRole::DnsServer => "DNS server",
        TargetRole::Collector => "collector",
        TargetRole::Configured => "configured",
        TargetRole::Requested => "requested",
    }
}
