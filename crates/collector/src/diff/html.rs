//! The diff as an HTML fragment (`<section id="diff">`) for the web UI: a heading per part
//! with what was added (`li.added`), removed (`li.removed`) or changed (`li.changed`).
//!
//! Every value came from a machine (interface names, mount points, finding titles, USB product
//! names, print queues), so each is spliced as text and escaped by maud; nothing here is
//! `PreEscaped`.

mod peripherals;

use std::net::IpAddr;

use maud::{Markup, html};
use sitrep_checks::format;
use sitrep_report::role_label;
use sitrep_snapshot::{OperState, ProbeFailureKind, ProbeOutcome, Severity, TargetRole};

use super::{
    Changes, DiskChanges, DiskUsageChange, DnsChanges, FindingChanges, FindingRef, Gateway,
    InterfaceAddressRef, InterfaceChanges, InterfaceStateChange, MountRef, NotComparable,
    OsChanges, Part, ProbeChange, ProbeChanges, ProbeRef, ProbeState, ProbeStatus, RouteRef,
    RoutingChanges, SnapshotDiff, SnapshotSide, TextChange,
};

/// The fragment for `diff`: "No changes" when it is empty, else the parts that changed or could
/// not be compared, then the names of those that did not change.
pub fn diff_html(diff: &SnapshotDiff) -> Markup {
    let parts = [
        Block::of("findings", "Findings", &diff.findings, findings),
        Block::part("os", "Operating system", &diff.os, os),
        Block::part(
            "interfaces",
            "Network interfaces",
            &diff.network.interfaces,
            interfaces,
        ),
        Block::part(
            "routing",
            "Gateways and routes",
            &diff.network.routing,
            routing,
        ),
        Block::part("dns", "DNS settings", &diff.network.dns, dns),
        Block::part("disks", "Disks", &diff.disks, disks),
        Block::part("probes", "Network probes", &diff.probes, probes),
    ]
    .into_iter()
    .chain(peripherals::blocks(&diff.peripherals))
    .collect::<Vec<_>>();
    let unchanged: Vec<&str> = parts
        .iter()
        .filter(|part| matches!(part.body, Body::Unchanged))
        .map(|part| part.title)
        .collect();
    html! {
        section #diff {
            h2 { "What changed" }
            p.diff-range {
                "From " (side(&diff.from)) " to " (side(&diff.to)) "."
            }
            @if diff.is_empty() {
                p.no-changes { "No changes" }
            } @else {
                @for part in &parts {
                    (part.render())
                }
                @if !unchanged.is_empty() {
                    p.unchanged { "Unchanged: " (unchanged.join(", ")) "." }
                }
            }
        }
    }
}

/// One part: its heading and what it has to say.
struct Block {
    id: &'static str,
    title: &'static str,
    body: Body,
}

enum Body {
    Unchanged,
    NotComparable(NotComparable),
    Items(Vec<Markup>),
}

impl Block {
    fn of<T: Changes>(
        id: &'static str,
        title: &'static str,
        changes: &T,
        items: fn(&T) -> Vec<Markup>,
    ) -> Block {
        let body = if changes.is_empty() {
            Body::Unchanged
        } else {
            Body::Items(items(changes))
        };
        Block { id, title, body }
    }

    fn part<T: Changes>(
        id: &'static str,
        title: &'static str,
        part: &Part<T>,
        items: fn(&T) -> Vec<Markup>,
    ) -> Block {
        match part {
            Part::Compared(changes) => Block::of(id, title, changes, items),
            Part::NotComparable(reasons) => Block {
                id,
                title,
                body: Body::NotComparable(reasons.clone()),
            },
        }
    }

    fn render(&self) -> Markup {
        let content = match &self.body {
            Body::Unchanged => return html! {},
            Body::NotComparable(reasons) => html! {
                p.not-comparable {
                    "Not comparable."
                    @if let Some(reason) = &reasons.from { " Earlier snapshot: " (reason) "." }
                    @if let Some(reason) = &reasons.to { " Later snapshot: " (reason) "." }
                }
            },
            Body::Items(items) => html! { ul { @for item in items { (item) } } },
        };
        html! {
            section.diff-part id=(format!("diff-{}", self.id)) {
                h3 { (self.title) }
                (content)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Added,
    Removed,
    Changed,
}

/// One list item; `word` says the kind of change in words, so colour is never the only sign.
fn item(kind: Kind, word: &str, body: Markup) -> Markup {
    let class = match kind {
        Kind::Added => "added",
        Kind::Removed => "removed",
        Kind::Changed => "changed",
    };
    html! { li class=(class) { span.change { (word) } " " (body) } }
}

/// An [`item`] for each of `values`.
fn each<T>(kind: Kind, word: &str, values: &[T], body: impl Fn(&T) -> Markup) -> Vec<Markup> {
    values
        .iter()
        .map(|value| item(kind, word, body(value)))
        .collect()
}

fn side(side: &SnapshotSide) -> Markup {
    html! {
        a href=(format!("/snapshots/{}", side.id)) {
            time datetime=(side.taken_at.to_rfc3339()) {
                (side.taken_at.format("%Y-%m-%d %H:%M:%S UTC"))
            }
        }
        " " (badge(side.worst_severity))
    }
}

fn badge(severity: Severity) -> Markup {
    html! { span class={ "badge " (severity.as_str()) } { (severity.as_str().to_uppercase()) } }
}

fn findings(changes: &FindingChanges) -> Vec<Markup> {
    let finding = |finding: &FindingRef| {
        html! {
            (badge(finding.severity)) " " (finding.title) " " code { (finding.id) }
        }
    };
    let appeared = each(Kind::Added, "Appeared", &changes.appeared, finding);
    let changed = each(
        Kind::Changed,
        "Changed",
        &changes.severity_changed,
        |change| {
            html! { (badge(change.from)) " → " (finding(&change.finding)) }
        },
    );
    let cleared = each(Kind::Removed, "Cleared", &changes.cleared, |cleared| {
        html! {
            (finding(&cleared.finding))
            @if cleared.now_passing { " (now passes)" } @else { " (not judged now)" }
        }
    });
    [appeared, changed, cleared].into_iter().flatten().collect()
}

fn os(changes: &OsChanges) -> Vec<Markup> {
    [
        ("Version", &changes.version),
        ("Kernel", &changes.kernel),
        ("Host name", &changes.hostname),
    ]
    .into_iter()
    .filter_map(|(name, change)| {
        let TextChange { from, to } = change.as_ref()?;
        let body = html! { (name) ": " (or_unknown(from)) " → " (or_unknown(to)) };
        Some(item(Kind::Changed, "Changed", body))
    })
    .collect()
}

fn or_unknown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(unknown)")
}

fn interfaces(changes: &InterfaceChanges) -> Vec<Markup> {
    let interface = |name: &String| html! { "Interface " (name) };
    let address = |address: &InterfaceAddressRef| {
        html! { (address.address) "/" (address.prefix_len) " on " (address.interface) }
    };
    let state = |change: &InterfaceStateChange| {
        html! { (change.interface) ": " (oper_state(change.from)) " → " (oper_state(change.to)) }
    };
    [
        each(Kind::Added, "Added", &changes.added, interface),
        each(Kind::Removed, "Removed", &changes.removed, interface),
        each(Kind::Changed, "Changed", &changes.state_changed, state),
        each(Kind::Added, "Added", &changes.addresses_added, address),
        each(
            Kind::Removed,
            "Removed",
            &changes.addresses_removed,
            address,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn oper_state(state: OperState) -> &'static str {
    match state {
        OperState::Up => "up",
        OperState::Down => "down",
        OperState::Dormant => "dormant",
        OperState::LowerLayerDown => "no link",
        OperState::NotPresent => "not present",
        OperState::Testing => "testing",
        OperState::Unknown => "unknown",
    }
}

fn routing(changes: &RoutingChanges) -> Vec<Markup> {
    let gateways = changes.default_gateways.iter().map(|change| {
        let name = format!("Default gateway ({})", change.family.label());
        let (kind, word) = match (&change.from, &change.to) {
            (None, _) => (Kind::Added, "Added"),
            (_, None) => (Kind::Removed, "Removed"),
            (Some(_), Some(_)) => (Kind::Changed, "Changed"),
        };
        let body = html! {
            (name) ": "
            @if let Some(from) = &change.from { (gateway(from)) }
            @if change.from.is_some() && change.to.is_some() { " → " }
            @if let Some(to) = &change.to { (gateway(to)) }
        };
        item(kind, word, body)
    });
    let route = |route: &RouteRef| html! { code { (ip_route(route)) } };
    gateways
        .chain(each(Kind::Added, "Added", &changes.routes_added, route))
        .chain(each(
            Kind::Removed,
            "Removed",
            &changes.routes_removed,
            route,
        ))
        .collect()
}

fn gateway(gateway: &Gateway) -> Markup {
    html! {
        @if let Some(address) = gateway.address { (address) " on " }
        (gateway.interface)
    }
}

/// The route as `ip route` prints it, which specialists know.
fn ip_route(route: &RouteRef) -> String {
    let destination = if route.prefix_len == 0 {
        "default".to_string()
    } else {
        format!("{}/{}", route.destination, route.prefix_len)
    };
    let via = route
        .gateway
        .map(|gateway| format!(" via {gateway}"))
        .unwrap_or_default();
    format!(
        "{destination}{via} dev {} metric {}",
        route.interface, route.metric
    )
}

fn dns(changes: &DnsChanges) -> Vec<Markup> {
    let server = |address: &IpAddr| html! { "DNS server " (address) };
    let domain = |name: &String| html! { "Search domain " (name) };
    [
        each(Kind::Added, "Added", &changes.servers_added, server),
        each(Kind::Removed, "Removed", &changes.servers_removed, server),
        each(Kind::Added, "Added", &changes.search_domains_added, domain),
        each(
            Kind::Removed,
            "Removed",
            &changes.search_domains_removed,
            domain,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn disks(changes: &DiskChanges) -> Vec<Markup> {
    let mount = |mount: &MountRef| {
        html! { (mount.mount_point) " (" (mount.device) ", " (mount.fs_type) ")" }
    };
    let usage = |usage: &DiskUsageChange| {
        let percent = |value: Option<f64>| value.map(format::percent).unwrap_or_default();
        html! {
            (usage.mount_point) ": "
            @if usage.used_percent_from.is_some() && usage.used_percent_to.is_some() {
                (percent(usage.used_percent_from)) " → " (percent(usage.used_percent_to)) " used "
            }
            "("
            @if let Some(delta) = usage.used_percent_delta { (format!("{delta:+.1} points")) }
            @if usage.used_percent_delta.is_some() && usage.used_bytes_delta.is_some() { ", " }
            @if let Some(delta) = usage.used_bytes_delta { (signed_bytes(delta)) }
            ")"
            @if let Some(available) = usage.available_bytes {
                ", " (format::bytes(available)) " free"
            }
        }
    };
    [
        each(Kind::Added, "Mounted", &changes.added, mount),
        each(Kind::Removed, "Unmounted", &changes.removed, mount),
        each(Kind::Changed, "Changed", &changes.usage, usage),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn signed_bytes(delta: i64) -> String {
    let sign = if delta < 0 { "−" } else { "+" };
    format!("{sign}{}", format::bytes(delta.unsigned_abs()))
}

fn probes(changes: &ProbeChanges) -> Vec<Markup> {
    let changed = |change: &ProbeChange| {
        html! {
            (probe(&change.probe, change.role)) ": " (status(&change.from)) " → " (status(&change.to))
        }
    };
    let ran = |state: &ProbeState| {
        html! { (probe(&state.probe, state.role)) ": " (status(&state.status)) }
    };
    [
        each(Kind::Changed, "Changed", &changes.changed, changed),
        each(Kind::Added, "Added", &changes.added, ran),
        each(Kind::Removed, "Removed", &changes.removed, ran),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// "Ping 10.0.0.1 (gateway)", "DNS intranet.corp.example via 10.0.0.53 (configured)".
fn probe(probe: &ProbeRef, role: TargetRole) -> Markup {
    html! {
        (probe.method.label()) " " (probe.target)
        // A DNS server's own reachability probe names the server as its target.
        @if let Some(server) = probe.server.filter(|server| server.to_string() != probe.target) {
            " via " (server)
        }
        " (" (role_label(role)) ")"
    }
}

fn status(status: &ProbeStatus) -> Markup {
    let outcome = match status.outcome {
        ProbeOutcome::Success => "success",
        ProbeOutcome::Partial => "partial",
        ProbeOutcome::Failure => "failure",
    };
    html! {
        (outcome)
        @if let Some(kind) = status.failure { ", " (failure_label(kind)) }
        @if let Some(message) = &status.message { " (" (message) ")" }
    }
}

fn failure_label(kind: ProbeFailureKind) -> &'static str {
    match kind {
        ProbeFailureKind::Timeout => "timeout",
        ProbeFailureKind::Refused => "refused",
        ProbeFailureKind::Unreachable => "unreachable",
        ProbeFailureKind::PacketLoss => "packet loss",
        ProbeFailureKind::PermissionDenied => "permission denied",
        ProbeFailureKind::NameNotFound => "name not found",
        ProbeFailureKind::NoRecords => "no records",
        ProbeFailureKind::DnsError => "DNS error",
        ProbeFailureKind::Resolve => "name not resolved",
        ProbeFailureKind::Tls => "TLS failed",
        ProbeFailureKind::HttpStatus => "HTTP error status",
        ProbeFailureKind::Other => "other failure",
    }
}
