//! Network configuration rules: a default route, and a usable IPv4 address (or why there is none).

use sitrep_snapshot::{
    AddressScope, Finding, Interface, InterfaceAddress, OperState, Route, Routing, Severity,
    Snapshot,
};

use crate::rule::{FindingParts, RuleInfo};
use crate::sections;

pub(crate) const NO_DEFAULT_ROUTE: RuleInfo = RuleInfo {
    id: "net.route.no_default",
    description: "A default route (IPv4 or IPv6) exists, so traffic can leave the local network.",
    thresholds: "fail when neither an IPv4 nor an IPv6 default route exists while a non-loopback interface is up",
    check: no_default_route,
};

pub(crate) const IPV4_NONE: RuleInfo = RuleInfo {
    id: "net.ipv4.none",
    description: "Some active network interface has a usable (not link-local) IPv4 address.",
    thresholds: "fail when none has; warn instead when a global IPv6 address and an IPv6 default route exist; silent when net.ipv4.apipa explains it",
    check: ipv4_none,
};

pub(crate) const IPV4_APIPA: RuleInfo = RuleInfo {
    id: "net.ipv4.apipa",
    description: "An interface whose only IPv4 address is a self-assigned 169.254/16 one: DHCP failed there.",
    thresholds: "fail per interface; warn when another interface has usable IPv4 or IPv6 works; its pass is reported by net.ipv4.none",
    check: ipv4_apipa,
};

/// Up, or in the "unknown" state tun and VPN drivers report, with an address: it can carry traffic.
pub(crate) fn is_active(interface: &Interface) -> bool {
    !interface.loopback
        && (interface.oper_state == OperState::Up
            || (interface.oper_state == OperState::Unknown && !interface.addresses.is_empty()))
}

/// Like `ip route`: "default via 192.168.1.1 dev eth0 metric 100", "192.168.1.0/24 dev eth0 metric 100".
fn describe_route(route: &Route) -> String {
    let mut text = if route.is_default() {
        "default".to_owned()
    } else {
        format!("{}/{}", route.destination, route.prefix_len)
    };
    if let Some(gateway) = route.gateway {
        text.push_str(&format!(" via {gateway}"));
    }
    text.push_str(&format!(" dev {} metric {}", route.interface, route.metric));
    text
}

/// Default routes, best first: the routing reader's ranked gateways, then any other default route.
fn default_routes(routing: &Routing) -> Vec<&Route> {
    let mut defaults: Vec<&Route> = Vec::new();
    for route in routing.default_gateways.iter().chain(&routing.routes) {
        if route.is_default() && !defaults.contains(&route) {
            defaults.push(route);
        }
    }
    defaults
}

fn no_default_route(snapshot: &Snapshot) -> Vec<Finding> {
    let (Some(interfaces), Some(routing)) =
        (sections::interfaces(snapshot), sections::routing(snapshot))
    else {
        return Vec::new();
    };
    let defaults = default_routes(routing);
    if let Some(best) = defaults.first() {
        let title = match best.gateway {
            Some(gateway) => format!("Default route via {gateway} ({})", best.interface),
            None => format!("Default route on {}", best.interface),
        };
        let listed: Vec<String> = defaults.iter().map(|route| describe_route(route)).collect();
        return vec![NO_DEFAULT_ROUTE.pass(title, listed.join("; "))];
    }
    let active: Vec<&str> = interfaces
        .iter()
        .filter(|interface| is_active(interface))
        .map(|interface| interface.name.as_str())
        .collect();
    // With nothing up there is no route to expect; net.ipv4.none reports the missing connection.
    if active.is_empty() {
        return Vec::new();
    }
    let routes = if routing.routes.is_empty() {
        "No routes at all".to_owned()
    } else {
        let listed: Vec<String> = routing.routes.iter().map(describe_route).collect();
        format!("Routes: {}", listed.join("; "))
    };
    vec![
        NO_DEFAULT_ROUTE
            .finding(
                Severity::Fail,
                "No default route: only the local network can be reached",
                format!("{routes}. Active interfaces: {}", active.join(", ")),
            )
            .with_remediation(
                "Ask the user to reconnect to the network (Wi-Fi off and on, or unplug and replug the cable) and to disconnect any VPN. If the route is still missing, restart the computer; a fixed (static) address without a gateway needs second-line support.",
            ),
    ]
}

/// What the interfaces say about IPv4, shared by net.ipv4.none and net.ipv4.apipa.
struct Ipv4View<'a> {
    /// Private or global IPv4 addresses on active interfaces.
    usable: Vec<(&'a Interface, &'a InterfaceAddress)>,
    /// Interfaces that gave themselves a 169.254/16 address because DHCP did not answer.
    self_assigned: Vec<&'a Interface>,
    /// A global IPv6 address on an active interface and an IPv6 default route.
    ipv6_works: bool,
}

impl<'a> Ipv4View<'a> {
    fn of(interfaces: &'a [Interface], routing: Option<&Routing>) -> Self {
        let active = || interfaces.iter().filter(|interface| is_active(interface));
        let usable = active()
            .flat_map(|interface| {
                interface
                    .addresses
                    .iter()
                    .map(move |address| (interface, address))
            })
            .filter(|(_, address)| {
                address.address.is_ipv4()
                    && matches!(address.scope, AddressScope::Private | AddressScope::Global)
            })
            .collect();
        let self_assigned = interfaces
            .iter()
            .filter(|interface| !interface.loopback && interface.ipv4_link_local_only)
            .collect();
        let global_ipv6 = active().any(|interface| {
            interface
                .addresses
                .iter()
                .any(|address| address.address.is_ipv6() && address.scope == AddressScope::Global)
        });
        let ipv6_default = routing.is_some_and(|routing| {
            default_routes(routing)
                .iter()
                .any(|route| route.destination.is_ipv6())
        });
        Ipv4View {
            usable,
            self_assigned,
            ipv6_works: global_ipv6 && ipv6_default,
        }
    }

    /// "eth0 192.168.1.23/24; wlan0 10.0.0.5/24".
    fn usable_listed(&self) -> String {
        let listed: Vec<String> = self
            .usable
            .iter()
            .map(|(interface, address)| format!("{} {}", interface.name, with_prefix(address)))
            .collect();
        listed.join("; ")
    }
}

fn with_prefix(address: &InterfaceAddress) -> String {
    format!("{}/{}", address.address, address.prefix_len)
}

fn ipv4_none(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(interfaces) = sections::interfaces(snapshot) else {
        return Vec::new();
    };
    let view = Ipv4View::of(interfaces, sections::routing(snapshot));
    if let Some((interface, address)) = view.usable.first() {
        return vec![IPV4_NONE.pass(
            format!("IPv4 address {} on {}", address.address, interface.name),
            view.usable_listed(),
        )];
    }
    if !view.self_assigned.is_empty() {
        return Vec::new();
    }
    let any_active = interfaces.iter().any(is_active);
    let evidence = describe_interfaces(interfaces);
    let finding = if view.ipv6_works {
        IPV4_NONE
            .finding(Severity::Warn, "No IPv4 address, but IPv6 works", evidence)
            .with_remediation(
                "Most internet services still work over IPv6; older IPv4-only ones fail. If this network should hand out IPv4 addresses, ask the user to reconnect (Wi-Fi off and on, or replug the cable).",
            )
    } else {
        let title = if any_active {
            "No IPv4 address on any network interface"
        } else {
            "No network connection: no network interface is up"
        };
        IPV4_NONE.finding(Severity::Fail, title, evidence).with_remediation(
            "Ask the user to check that the network cable is plugged in at both ends, or that Wi-Fi is switched on, flight mode is off and the right network is connected; then run the report again.",
        )
    };
    vec![finding]
}

/// "eth0: down; wlan0: up, fe80::1/64".
fn describe_interfaces(interfaces: &[Interface]) -> String {
    let listed: Vec<String> = interfaces
        .iter()
        .filter(|interface| !interface.loopback)
        .map(|interface| {
            let mut text = format!("{}: {}", interface.name, oper_state(interface.oper_state));
            for address in &interface.addresses {
                text.push_str(&format!(", {}", with_prefix(address)));
            }
            text
        })
        .collect();
    if listed.is_empty() {
        "No network interfaces besides loopback".to_owned()
    } else {
        listed.join("; ")
    }
}

fn oper_state(state: OperState) -> &'static str {
    match state {
        OperState::Up => "up",
        OperState::Down => "down",
        OperState::Dormant => "waiting for authentication (dormant)",
        OperState::LowerLayerDown => "no link (cable or Wi-Fi not connected)",
        OperState::NotPresent => "not present",
        OperState::Testing => "testing",
        OperState::Unknown => "state unknown",
    }
}

fn ipv4_apipa(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(interfaces) = sections::interfaces(snapshot) else {
        return Vec::new();
    };
    let view = Ipv4View::of(interfaces, sections::routing(snapshot));
    view.self_assigned
        .iter()
        .map(|interface| {
            let self_assigned: Vec<String> = interface
                .addresses
                .iter()
                .filter(|address| address.address.is_ipv4())
                .map(with_prefix)
                .collect();
            let (severity, elsewhere) = if !view.usable.is_empty() {
                (Severity::Warn, format!("IPv4 works on {}", view.usable_listed()))
            } else if view.ipv6_works {
                (Severity::Warn, "no usable IPv4 on any interface, but IPv6 works".to_owned())
            } else {
                (Severity::Fail, "no usable IPv4 on any interface".to_owned())
            };
            IPV4_APIPA
                .finding(
                    severity,
                    format!("DHCP failed on {}: it only has a self-assigned 169.254 address", interface.name),
                    format!("{}: {} (self-assigned, APIPA); {elsewhere}", interface.name, self_assigned.join(", ")),
                )
                .with_remediation(
                    "The network did not hand out an address. Ask the user to unplug and replug the cable (or turn Wi-Fi off and on) and wait a minute; if it persists, restart the router, or escalate: the DHCP server or the switch port may be down.",
                )
                .with_subject(&interface.name)
        })
        .collect()
}
