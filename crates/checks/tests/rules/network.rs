//! net.route.no_default, net.ipv4.none and net.ipv4.apipa.

use expect_test::expect;
use sitrep_snapshot::{Interface, OperState, Section, SectionErrorKind};

use crate::healthy::{address, default_route, healthy, interface, interfaces, judged, routing};

fn network_findings(snapshot: &sitrep_snapshot::Snapshot) -> String {
    format!(
        "{}{}",
        judged(snapshot, "net.route"),
        judged(snapshot, "net.ipv4")
    )
}

#[test]
fn healthy_network_passes() {
    expect![[r#"
        pass net.route.no_default: Default route via 192.168.1.1 (eth0)
            evidence: default via 192.168.1.1 dev eth0 metric 100
        pass net.ipv4.none: IPv4 address 192.168.1.23 on eth0
            evidence: eth0 192.168.1.23/24
    "#]]
    .assert_eq(&network_findings(&healthy()));
}

#[test]
fn missing_default_route_fails_and_lists_the_routes() {
    let mut snapshot = healthy();
    let routing = routing(&mut snapshot);
    routing.routes.retain(|route| !route.is_default());
    routing.default_gateways.clear();
    expect![[r#"
        fail net.route.no_default: No default route: only the local network can be reached
            evidence: Routes: 192.168.1.0/24 dev eth0 metric 100. Active interfaces: eth0
            remedy: Ask the user to reconnect to the network (Wi-Fi off and on, or unplug and replug the cable) and to disconnect any VPN. If the route is still missing, restart the computer; a fixed (static) address without a gateway needs second-line support.
    "#]].assert_eq(&judged(&snapshot, "net.route"));
}

#[test]
fn an_ipv6_default_route_is_enough() {
    let mut snapshot = healthy();
    let routing = routing(&mut snapshot);
    routing.routes = vec![default_route("fe80::1", "eth0")];
    routing.default_gateways = routing.routes.clone();
    expect![[r#"
        pass net.route.no_default: Default route via fe80::1 (eth0)
            evidence: default via fe80::1 dev eth0 metric 100
    "#]]
    .assert_eq(&judged(&snapshot, "net.route"));
}

#[test]
fn nothing_up_means_no_connection_not_a_missing_route() {
    let mut snapshot = healthy();
    interface(&mut snapshot, "eth0").oper_state = OperState::LowerLayerDown;
    interface(&mut snapshot, "eth0").addresses.clear();
    let routing = routing(&mut snapshot);
    routing.routes.clear();
    routing.default_gateways.clear();
    expect![[r#"
        fail net.ipv4.none: No network connection: no network interface is up
            evidence: eth0: no link (cable or Wi-Fi not connected); wlan0: down
            remedy: Ask the user to check that the network cable is plugged in at both ends, or that Wi-Fi is switched on, flight mode is off and the right network is connected; then run the report again.
    "#]].assert_eq(&network_findings(&snapshot));
}

#[test]
fn no_ipv4_fails_and_is_a_warning_when_ipv6_works() {
    let mut snapshot = healthy();
    interface(&mut snapshot, "eth0")
        .addresses
        .retain(|address| address.address.is_ipv6());
    let ipv6_link_local_only = judged(&snapshot, "net.ipv4");
    interface(&mut snapshot, "eth0")
        .addresses
        .push(address("2001:db8:1::23", 64));
    let global_ipv6_without_route = judged(&snapshot, "net.ipv4");
    routing(&mut snapshot)
        .default_gateways
        .push(default_route("fe80::1", "eth0"));
    let ipv6_works = judged(&snapshot, "net.ipv4");
    expect![[r#"
        -- link-local IPv6 only
        fail net.ipv4.none: No IPv4 address on any network interface
            evidence: eth0: up, fe80::3e52:82ff:fe4d:5e6f/64; wlan0: down
            remedy: Ask the user to check that the network cable is plugged in at both ends, or that Wi-Fi is switched on, flight mode is off and the right network is connected; then run the report again.
        -- global IPv6, no IPv6 route
        fail net.ipv4.none: No IPv4 address on any network interface
            evidence: eth0: up, fe80::3e52:82ff:fe4d:5e6f/64, 2001:db8:1::23/64; wlan0: down
            remedy: Ask the user to check that the network cable is plugged in at both ends, or that Wi-Fi is switched on, flight mode is off and the right network is connected; then run the report again.
        -- IPv6 works
        warn net.ipv4.none: No IPv4 address, but IPv6 works
            evidence: eth0: up, fe80::3e52:82ff:fe4d:5e6f/64, 2001:db8:1::23/64; wlan0: down
            remedy: Most internet services still work over IPv6; older IPv4-only ones fail. If this network should hand out IPv4 addresses, ask the user to reconnect (Wi-Fi off and on, or replug the cable).
    "#]].assert_eq(&format!(
        "-- link-local IPv6 only\n{ipv6_link_local_only}-- global IPv6, no IPv6 route\n{global_ipv6_without_route}-- IPv6 works\n{ipv6_works}"
    ));
}

#[test]
fn self_assigned_address_means_dhcp_failed() {
    let mut snapshot = healthy();
    let eth0 = interface(&mut snapshot, "eth0");
    eth0.addresses = vec![
        address("169.254.12.7", 16),
        address("fe80::3e52:82ff:fe4d:5e6f", 64),
    ];
    eth0.ipv4_link_local_only = true;
    let only_connection = judged(&snapshot, "net.ipv4");
    let wlan0 = interface(&mut snapshot, "wlan0");
    wlan0.oper_state = OperState::Up;
    wlan0.addresses = vec![address("10.20.0.5", 24)];
    let wifi_works = judged(&snapshot, "net.ipv4");
    expect![[r#"
        -- only connection
        fail net.ipv4.apipa [eth0]: DHCP failed on eth0: it only has a self-assigned 169.254 address
            evidence: eth0: 169.254.12.7/16 (self-assigned, APIPA); no usable IPv4 on any interface
            remedy: The network did not hand out an address. Ask the user to unplug and replug the cable (or turn Wi-Fi off and on) and wait a minute; if it persists, restart the router, or escalate: the DHCP server or the switch port may be down.
        -- Wi-Fi works
        warn net.ipv4.apipa [eth0]: DHCP failed on eth0: it only has a self-assigned 169.254 address
            evidence: eth0: 169.254.12.7/16 (self-assigned, APIPA); IPv4 works on wlan0 10.20.0.5/24
            remedy: The network did not hand out an address. Ask the user to unplug and replug the cable (or turn Wi-Fi off and on) and wait a minute; if it persists, restart the router, or escalate: the DHCP server or the switch port may be down.
        pass net.ipv4.none: IPv4 address 10.20.0.5 on wlan0
            evidence: wlan0 10.20.0.5/24
    "#]].assert_eq(&format!("-- only connection\n{only_connection}-- Wi-Fi works\n{wifi_works}"));
}

#[test]
fn a_vpn_tunnel_in_unknown_state_counts_as_active() {
    let mut snapshot = healthy();
    interface(&mut snapshot, "eth0").oper_state = OperState::Down;
    interface(&mut snapshot, "eth0").addresses.clear();
    interfaces(&mut snapshot).push(Interface {
        name: "tun0".to_owned(),
        oper_state: OperState::Unknown,
        addresses: vec![address("10.8.0.6", 24)],
        ..Interface::default()
    });
    let routing = routing(&mut snapshot);
    routing.routes = vec![sitrep_snapshot::Route {
        gateway: None,
        ..default_route("10.8.0.1", "tun0")
    }];
    routing.default_gateways.clear();
    expect![[r#"
        pass net.route.no_default: Default route on tun0
            evidence: default dev tun0 metric 100
        pass net.ipv4.none: IPv4 address 10.8.0.6 on tun0
            evidence: tun0 10.8.0.6/24
    "#]]
    .assert_eq(&network_findings(&snapshot));
}

#[test]
fn failed_routing_section_skips_the_route_rule() {
    let mut snapshot = healthy();
    crate::healthy::network(&mut snapshot).routing = Section::error(
        SectionErrorKind::PermissionDenied,
        "/proc/net/route: Permission denied (os error 13)",
    );
    expect![[r#"
        pass net.ipv4.none: IPv4 address 192.168.1.23 on eth0
            evidence: eth0 192.168.1.23/24
        --
        warn agent.section_unavailable [network.routing]: Could not read the routing table
            evidence: network.routing: permission denied: /proc/net/route: Permission denied (os error 13)
            remedy: Run the report again with administrator rights (sudo sitrep report on Linux and macOS) so it can read this part.
    "#]].assert_eq(&format!(
        "{}--\n{}",
        network_findings(&snapshot),
        judged(&snapshot, "agent.section_unavailable")
    ));
}
