//! The `network` section on macOS: `ifconfig` for interfaces, `networksetup
//! -listallhardwareports` for which of them are Wi-Fi, `route -n get default` for the default
//! gateways, `scutil --dns` for the resolvers and `scutil --proxy` for the system proxies.

use std::net::IpAddr;

use sitrep_snapshot::{
    AddressScope, DnsConfig, Interface, InterfaceAddress, OperState, Proxy, ProxySetting, Route,
};

use crate::ParseError;
use crate::credentials::strip_credentials;
use crate::parse::{address_of, distinct, ipv4_link_local_only, prefix_of_netmask};

pub const DNS_SOURCE: &str = "scutil --dns";
pub const PROXY_SOURCE: &str = "scutil --proxy";

/// The interfaces of `ifconfig` (which lists all of them on macOS), Wi-Fi marked from the
/// hardware ports of `networksetup -listallhardwareports`.
pub fn interfaces_of(ifconfig: &str, hardware_ports: &str) -> Result<Vec<Interface>, ParseError> {
    let wifi = wifi_devices(hardware_ports);
    let mut interfaces: Vec<Interface> = Vec::new();
    // `status:` is authoritative where the driver prints it; tunnels print none.
    let mut status: Option<bool> = None;
    let mut running = false;
    for (index, line) in ifconfig.lines().enumerate() {
        if !line.starts_with(['\t', ' ']) && !line.trim().is_empty() {
            if let Some(last) = interfaces.last_mut() {
                finish(last, status, running);
            }
            let (name, rest) = line.split_once(": ").ok_or_else(|| {
                ParseError::new(index + 1, format!("not an interface line: {line:?}"))
            })?;
            let flags = rest
                .split_once('<')
                .and_then(|(_, flags)| flags.split_once('>'))
                .map_or("", |(flags, _)| flags);
            let has_flag = |flag: &str| flags.split(',').any(|own| own == flag);
            running = has_flag("UP") && has_flag("RUNNING");
            status = None;
            interfaces.push(Interface {
                name: name.to_owned(),
                mtu: rest
                    .split(" mtu ")
                    .nth(1)
                    .and_then(|mtu| mtu.trim().parse().ok()),
                loopback: has_flag("LOOPBACK"),
                wireless: wifi.iter().any(|device| device == name),
                ..Interface::default()
            });
            continue;
        }
        let Some(interface) = interfaces.last_mut() else {
            continue;
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["ether", mac, ..] => interface.mac = Some(mac.to_ascii_lowercase()),
            ["inet", address, rest @ ..] => {
                let prefix_len = rest
                    .windows(2)
                    .find(|pair| pair[0] == "netmask")
                    .and_then(|pair| u32::from_str_radix(pair[1].trim_start_matches("0x"), 16).ok())
                    .and_then(prefix_of_netmask)
                    .unwrap_or(32);
                push_address(interface, address, prefix_len);
            }
            ["inet6", address, rest @ ..] => {
                let prefix_len = rest
                    .windows(2)
                    .find(|pair| pair[0] == "prefixlen")
                    .and_then(|pair| pair[1].parse().ok())
                    .unwrap_or(128);
                push_address(interface, address, prefix_len);
            }
            ["status:", state, ..] => status = Some(*state == "active"),
            ["media:", ..] => interface.speed_mbps = media_speed(line),
            _ => {}
        }
    }
    if let Some(last) = interfaces.last_mut() {
        finish(last, status, running);
    }
    Ok(interfaces)
}

fn push_address(interface: &mut Interface, address: &str, prefix_len: u8) {
    if let Some(address) = address_of(address) {
        interface.addresses.push(InterfaceAddress {
            address,
            prefix_len,
            scope: AddressScope::of(address),
        });
    }
}

fn finish(interface: &mut Interface, status: Option<bool>, running: bool) {
    interface.oper_state = if status.unwrap_or(running) {
        OperState::Up
    } else {
        OperState::Down
    };
    if interface.oper_state != OperState::Up {
        interface.speed_mbps = None;
    }
    interface.ipv4_link_local_only = ipv4_link_local_only(interface);
}

/// The speed in `media: autoselect (1000baseT <full-duplex>)`; Wi-Fi prints none.
fn media_speed(line: &str) -> Option<u32> {
    let active = line.split_once('(')?.1;
    let digits: String = active.chars().take_while(char::is_ascii_digit).collect();
    let speed: u32 = digits.parse().ok()?;
    let unit = &active[digits.len()..];
    if unit.starts_with("Gbase") || unit.starts_with("GbaseT") {
        speed.checked_mul(1000)
    } else {
        Some(speed)
    }
}

/// The BSD names of the Wi-Fi hardware ports (`Hardware Port: Wi-Fi` then `Device: en0`).
pub fn wifi_devices(hardware_ports: &str) -> Vec<String> {
    let mut devices = Vec::new();
    let mut port_is_wifi = false;
    for line in hardware_ports.lines() {
        if let Some(port) = line.strip_prefix("Hardware Port: ") {
            // Called AirPort before OS X 10.7.
            port_is_wifi = matches!(port.trim(), "Wi-Fi" | "AirPort");
        } else if let Some(device) = line.strip_prefix("Device: ")
            && port_is_wifi
        {
            devices.push(device.trim().to_owned());
        }
    }
    devices
}

/// The default route `route -n get default` (or `-inet6`) shows; `None` when it printed no
/// interface. A VPN that routes everything through its tunnel may name no gateway.
pub fn parse_route_get(text: &str) -> Option<Route> {
    let mut gateway = None;
    let mut interface = None;
    for line in text.lines() {
        match line.trim().split_once(": ") {
            Some(("gateway", value)) => gateway = address_of(value),
            Some(("interface", value)) => interface = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let interface = interface?;
    let destination = match gateway {
        Some(IpAddr::V6(_)) => IpAddr::from([0u16; 8]),
        _ if text.contains("route to: ::") => IpAddr::from([0u16; 8]),
        _ => IpAddr::from([0u8; 4]),
    };
    Some(Route {
        destination,
        prefix_len: 0,
        gateway,
        interface,
        metric: 0,
    })
}

/// One resolver of `scutil --dns`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolver {
    /// Set for a resolver that answers only for its domain (split DNS of a VPN, mDNS).
    pub domain: Option<String>,
    pub search_domains: Vec<String>,
    pub nameservers: Vec<IpAddr>,
    pub mdns: bool,
}

/// The resolvers of the first part of `scutil --dns`; the part "for scoped queries" repeats
/// them per interface for programs that pick one, and is left out.
pub fn parse_scutil_dns(text: &str) -> Result<Vec<Resolver>, ParseError> {
    if !text.trim_start().starts_with("DNS configuration") {
        return Err(ParseError::new(1, "expected \"DNS configuration\""));
    }
    let mut resolvers: Vec<Resolver> = Vec::new();
    for line in text.lines().skip(1) {
        let line = line.trim();
        if line.starts_with("DNS configuration") {
            break;
        }
        if line.starts_with("resolver #") {
            resolvers.push(Resolver::default());
            continue;
        }
        let (Some(resolver), Some((key, value))) = (resolvers.last_mut(), line.split_once(" : "))
        else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.starts_with("search domain[") {
            resolver.search_domains.push(value.to_owned());
        } else if key.starts_with("nameserver[") {
            resolver.nameservers.extend(address_of(value));
        } else if key == "domain" {
            resolver.domain = Some(value.to_owned());
        } else if key == "options" {
            resolver.mdns = value.split_whitespace().any(|option| option == "mdns");
        }
    }
    Ok(resolvers)
}

/// The servers queries go to: the default resolvers' first, then those of split-DNS domains
/// (a VPN's corporate resolvers), whose reachability matters as much. Multicast DNS has no
/// server to ask.
pub fn dns_of(resolvers: &[Resolver]) -> DnsConfig {
    let (default, supplemental): (Vec<&Resolver>, Vec<&Resolver>) = resolvers
        .iter()
        .partition(|resolver| resolver.domain.is_none());
    let servers = distinct(
        default
            .iter()
            .chain(supplemental.iter().filter(|resolver| !resolver.mdns))
            .flat_map(|resolver| resolver.nameservers.iter().copied()),
    );
    DnsConfig {
        servers,
        search_domains: distinct(
            default
                .iter()
                .flat_map(|resolver| resolver.search_domains.iter().cloned()),
        ),
        local_stub: None,
        source: DNS_SOURCE.to_owned(),
    }
}

/// The proxies of `scutil --proxy` that are switched on, with their exceptions.
pub fn proxy_of(text: &str) -> Proxy {
    // Only the top level: `__SCOPED__` repeats the settings per interface.
    let mut values: Vec<(String, String)> = Vec::new();
    let mut exceptions: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut in_exceptions = false;
    for line in text.lines() {
        let line = line.trim();
        if line.ends_with('{') {
            depth += 1;
            in_exceptions = depth == 2 && line.starts_with("ExceptionsList");
            continue;
        }
        if line == "}" {
            depth = depth.saturating_sub(1);
            in_exceptions = false;
            continue;
        }
        let Some((key, value)) = line.split_once(" : ") else {
            continue;
        };
        if in_exceptions {
            exceptions.push(value.trim().to_owned());
        } else if depth == 1 {
            values.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let value = |key: &str| {
        values
            .iter()
            .find(|(own, _)| own == key)
            .map(|(_, value)| value.as_str())
    };
    let enabled = |key: &str| value(key) == Some("1");
    let mut found: Vec<(String, String)> = Vec::new();
    for kind in ["HTTP", "HTTPS", "SOCKS", "FTP"] {
        if let (true, Some(host)) = (
            enabled(&format!("{kind}Enable")),
            value(&format!("{kind}Proxy")),
        ) {
            let port =
                value(&format!("{kind}Port")).map_or_else(String::new, |port| format!(":{port}"));
            found.push((format!("{kind}Proxy"), format!("{host}{port}")));
        }
    }
    if let (true, Some(url)) = (
        enabled("ProxyAutoConfigEnable"),
        value("ProxyAutoConfigURLString"),
    ) {
        found.push(("ProxyAutoConfigURLString".to_owned(), url.to_owned()));
    }
    if !found.is_empty() && !exceptions.is_empty() {
        found.push(("ExceptionsList".to_owned(), exceptions.join(",")));
    }
    let settings = found
        .into_iter()
        .map(|(name, text)| ProxySetting {
            name,
            value: strip_credentials(&text),
            source: PROXY_SOURCE.to_owned(),
        })
        .collect();
    Proxy { settings }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::macos::tests_support::fixture;

    #[test]
    fn macbook_interfaces() {
        let interfaces = interfaces_of(
            &fixture("macbook/ifconfig.txt"),
            &fixture("macbook/networksetup-listallhardwareports.txt"),
        );
        let summary: Vec<String> = interfaces
            .unwrap_or_else(|error| panic!("{error}"))
            .iter()
            .map(|interface| {
                format!(
                    "{} {:?} mtu={:?} mac={:?} speed={:?} wifi={} lo={} {:?}",
                    interface.name,
                    interface.oper_state,
                    interface.mtu,
                    interface.mac,
                    interface.speed_mbps,
                    interface.wireless,
                    interface.loopback,
                    interface
                        .addresses
                        .iter()
                        .map(|address| format!("{}/{}", address.address, address.prefix_len))
                        .collect::<Vec<_>>()
                )
            })
            .collect();
        expect![[r#"
            [
                "lo0 Up mtu=Some(16384) mac=None speed=None wifi=false lo=true [\"127.0.0.1/8\", \"::1/128\", \"fe80::1/64\"]",
                "gif0 Down mtu=Some(1280) mac=None speed=None wifi=false lo=false []",
                "stf0 Down mtu=Some(1280) mac=None speed=None wifi=false lo=false []",
                "anpi0 Down mtu=Some(1500) mac=Some(\"36:8f:2a:9c:41:10\") speed=None wifi=false lo=false []",
                "en0 Up mtu=Some(1500) mac=Some(\"3c:a6:f6:12:8e:4d\") speed=None wifi=true lo=false [\"fe80::1c2b:9e4f:a3d1:7e20/64\", \"192.168.178.42/24\", \"2a02:8109:b6c0:1a00:18f3:2c9d:4be1:77a0/64\"]",
                "bridge0 Down mtu=Some(1500) mac=Some(\"36:8f:2a:9c:41:00\") speed=None wifi=false lo=false []",
                "awdl0 Up mtu=Some(1500) mac=Some(\"5e:1b:9c:77:02:3a\") speed=None wifi=false lo=false [\"fe80::5c1b:9cff:fe77:23a/64\"]",
                "en7 Up mtu=Some(1500) mac=Some(\"f8:e4:3b:51:0a:9c\") speed=Some(1000) wifi=false lo=false [\"fe80::cb1:4e2a:90f7:3b5d/64\", \"192.168.178.57/24\"]",
                "en8 Up mtu=Some(1500) mac=Some(\"f8:e4:3b:51:0a:9d\") speed=Some(100) wifi=false lo=false [\"169.254.12.201/16\"]",
                "utun0 Up mtu=Some(1380) mac=None speed=None wifi=false lo=false [\"fe80::a1b2:c3d4:e5f6:1/64\"]",
                "utun4 Up mtu=Some(1400) mac=None speed=None wifi=false lo=false [\"10.20.30.61/32\"]",
            ]
        "#]].assert_debug_eq(&summary);
    }

    #[test]
    fn default_routes() {
        expect![[r#"
            [
                Some(
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: Some(
                            192.168.178.1,
                        ),
                        interface: "en7",
                        metric: 0,
                    },
                ),
                Some(
                    Route {
                        destination: ::,
                        prefix_len: 0,
                        gateway: Some(
                            fe80::3a10:d5ff:fe6c:1b2a,
                        ),
                        interface: "en0",
                        metric: 0,
                    },
                ),
                None,
            ]
        "#]]
        .assert_debug_eq(&[
            parse_route_get(&fixture("macbook/route-get-default.txt")),
            parse_route_get(&fixture("macbook/route-get-inet6-default.txt")),
            parse_route_get("route: writing to routing socket: not in table\n"),
        ]);
    }

    #[test]
    fn dns_with_a_vpn_resolver() {
        let resolvers = parse_scutil_dns(&fixture("macbook/scutil-dns.txt"));
        expect![[r#"
            Ok(
                DnsConfig {
                    servers: [
                        192.168.178.1,
                        fd00::3a10:d5ff:fe6c:1b2a,
                        10.20.0.53,
                        10.20.0.54,
                    ],
                    search_domains: [
                        "fritz.box",
                    ],
                    local_stub: None,
                    source: "scutil --dns",
                },
            )
        "#]]
        .assert_debug_eq(&resolvers.map(|resolvers| dns_of(&resolvers)));
    }

    #[test]
    fn system_proxies() {
        expect![[r#"
            Proxy {
                settings: [
                    ProxySetting {
                        name: "HTTPProxy",
                        value: "proxy.corp.contoso.com:8080",
                        source: "scutil --proxy",
                    },
                    ProxySetting {
                        name: "HTTPSProxy",
                        value: "proxy.corp.contoso.com:8080",
                        source: "scutil --proxy",
                    },
                    ProxySetting {
                        name: "ExceptionsList",
                        value: "*.local,169.254/16,*.corp.contoso.com",
                        source: "scutil --proxy",
                    },
                ],
            }
        "#]]
        .assert_debug_eq(&proxy_of(&fixture("macbook/scutil-proxy.txt")));
    }
}
