//! The `network` section on Windows: adapters (Win32_NetworkAdapter) joined with their IP
//! settings (Win32_NetworkAdapterConfiguration) for interfaces, default gateways and DNS, and
//! the Internet Settings of the registry for proxies.

use std::net::IpAddr;

use serde::Deserialize;
use sitrep_snapshot::{
    AddressScope, DnsConfig, Interface, InterfaceAddress, OperState, Proxy, ProxySetting, Route,
    Routing,
};

use super::{cim_instances, cim_strings, cim_u64, mac_of, non_empty};
use crate::ParseError;
use crate::parse::{
    address_of, default_routing, distinct, ipv4_link_local_only, prefix_of_netmask,
};

/// Adapters with a name in Network Connections; the many hidden miniports (WAN Miniport, Kernel
/// Debug) have none.
pub const ADAPTER_QUERY: &str = "Get-CimInstance -ClassName Win32_NetworkAdapter \
     -Filter 'NetConnectionID IS NOT NULL' | Select-Object Index, NetConnectionID, Name, \
     MACAddress, NetConnectionStatus, Speed, PhysicalAdapter";
pub const CONFIGURATION_QUERY: &str = "Get-CimInstance -ClassName \
     Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE' | Select-Object Index, \
     Description, IPAddress, IPSubnet, DefaultIPGateway, GatewayCostMetric, IPConnectionMetric, \
     DNSServerSearchOrder, DNSDomain, DNSDomainSuffixSearchOrder, MTU";
/// The WinINet proxy of the account the agent runs as (for the service, LocalSystem's).
pub const INTERNET_SETTINGS_QUERY: &str = "Get-ItemProperty \
     'HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings' | \
     Select-Object ProxyEnable, ProxyServer, ProxyOverride, AutoConfigURL";
pub const INTERNET_SETTINGS_SOURCE: &str =
    "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings";
pub const CONFIGURATION_SOURCE: &str = "Win32_NetworkAdapterConfiguration";

/// The queries of the `network` section, in the order [`NetworkDocuments`] holds them.
pub const QUERIES: [&str; 3] = [ADAPTER_QUERY, CONFIGURATION_QUERY, INTERNET_SETTINGS_QUERY];

/// Reported by a Wi-Fi adapter that is not associated: `i64::MAX` bits per second.
const NO_SPEED: u64 = 9_223_372_036_854_775_807;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkAdapter {
    pub index: u32,
    /// The name in Network Connections, e.g. `Wi-Fi`, `Ethernet 3`.
    #[serde(rename = "NetConnectionID")]
    pub net_connection_id: String,
    /// The driver's description, e.g. `Intel(R) Wi-Fi 6E AX211 160MHz`.
    pub name: Option<String>,
    #[serde(rename = "MACAddress")]
    pub mac_address: Option<String>,
    pub net_connection_status: Option<u32>,
    /// Bits per second.
    #[serde(default, deserialize_with = "cim_u64")]
    pub speed: Option<u64>,
    pub physical_adapter: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdapterConfiguration {
    pub index: u32,
    pub description: Option<String>,
    /// IPv4 and IPv6 addresses together.
    #[serde(rename = "IPAddress", default, deserialize_with = "cim_strings")]
    pub ip_address: Vec<String>,
    /// Beside each address: a dotted mask for IPv4, a prefix length for IPv6.
    #[serde(rename = "IPSubnet", default, deserialize_with = "cim_strings")]
    pub ip_subnet: Vec<String>,
    #[serde(rename = "DefaultIPGateway", default, deserialize_with = "cim_strings")]
    pub default_ip_gateway: Vec<String>,
    #[serde(default)]
    pub gateway_cost_metric: Option<Vec<u32>>,
    #[serde(rename = "IPConnectionMetric")]
    pub ip_connection_metric: Option<u32>,
    /// IPv4 servers only; the class has no place for IPv6 ones.
    #[serde(
        rename = "DNSServerSearchOrder",
        default,
        deserialize_with = "cim_strings"
    )]
    pub dns_server_search_order: Vec<String>,
    /// The connection-specific suffix, e.g. `fritz.box`.
    #[serde(rename = "DNSDomain")]
    pub dns_domain: Option<String>,
    /// The global suffix search list (the same on every adapter).
    #[serde(
        rename = "DNSDomainSuffixSearchOrder",
        default,
        deserialize_with = "cim_strings"
    )]
    pub dns_domain_suffix_search_order: Vec<String>,
    #[serde(rename = "MTU")]
    pub mtu: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InternetSettings {
    pub proxy_enable: Option<u32>,
    pub proxy_server: Option<String>,
    pub proxy_override: Option<String>,
    #[serde(rename = "AutoConfigURL")]
    pub auto_config_url: Option<String>,
}

/// The adapters and their settings, parsed once for the four parts of the section.
#[derive(Debug, Clone, PartialEq)]
pub struct Adapters {
    pub adapters: Vec<NetworkAdapter>,
    pub configurations: Vec<AdapterConfiguration>,
}

impl Adapters {
    pub fn parse(adapters: &str, configurations: &str) -> Result<Self, ParseError> {
        Ok(Adapters {
            adapters: cim_instances(adapters)?,
            configurations: cim_instances(configurations)?,
        })
    }

    fn configuration(&self, index: u32) -> Option<&AdapterConfiguration> {
        self.configurations
            .iter()
            .find(|configuration| configuration.index == index)
    }

    /// What people call the adapter of `configuration`: its Network Connections name.
    fn name_of(&self, configuration: &AdapterConfiguration) -> String {
        self.adapters
            .iter()
            .find(|adapter| adapter.index == configuration.index)
            .map(|adapter| adapter.net_connection_id.clone())
            .or_else(|| non_empty(configuration.description.as_deref()))
            .unwrap_or_else(|| format!("adapter {}", configuration.index))
    }

    /// Settings with the lowest interface metric first: the order Windows prefers them in,
    /// for routes and for DNS.
    fn configurations_by_metric(&self) -> Vec<&AdapterConfiguration> {
        let mut configurations: Vec<&AdapterConfiguration> = self.configurations.iter().collect();
        configurations
            .sort_by_key(|configuration| configuration.ip_connection_metric.unwrap_or(u32::MAX));
        configurations
    }

    pub fn interfaces(&self) -> Vec<Interface> {
        self.adapters
            .iter()
            .map(|adapter| {
                let configuration = self.configuration(adapter.index);
                let oper_state = oper_state_of(adapter.net_connection_status);
                let mut interface = Interface {
                    name: adapter.net_connection_id.clone(),
                    mac: adapter.mac_address.as_deref().and_then(mac_of),
                    mtu: configuration.and_then(|configuration| configuration.mtu),
                    oper_state,
                    speed_mbps: adapter
                        .speed
                        .filter(|speed| *speed != NO_SPEED && oper_state == OperState::Up)
                        .and_then(|speed| u32::try_from(speed / 1_000_000).ok()),
                    loopback: false,
                    wireless: is_wireless(adapter),
                    addresses: configuration.map(addresses_of).unwrap_or_default(),
                    ipv4_link_local_only: false,
                };
                interface.ipv4_link_local_only = ipv4_link_local_only(&interface);
                interface
            })
            .collect()
    }

    /// The default routes the adapters' gateways make. A VPN client that routes everything
    /// through its adapter (GlobalProtect, some AnyConnect setups) lists `0.0.0.0` as the
    /// gateway: an on-link default route.
    pub fn routing(&self) -> Routing {
        let mut defaults = Vec::new();
        for configuration in &self.configurations {
            let interface_metric = configuration.ip_connection_metric.unwrap_or(0);
            for (position, gateway) in configuration.default_ip_gateway.iter().enumerate() {
                let Some(gateway) = address_of(gateway) else {
                    continue;
                };
                let route_metric = configuration
                    .gateway_cost_metric
                    .as_ref()
                    .and_then(|metrics| metrics.get(position))
                    .copied()
                    .unwrap_or(0);
                defaults.push(Route {
                    destination: match gateway {
                        IpAddr::V4(_) => IpAddr::from([0u8; 4]),
                        IpAddr::V6(_) => IpAddr::from([0u16; 8]),
                    },
                    prefix_len: 0,
                    gateway: Some(gateway).filter(|gateway| !gateway.is_unspecified()),
                    interface: self.name_of(configuration),
                    // Windows adds the interface metric to the route's own.
                    metric: route_metric.saturating_add(interface_metric),
                });
            }
        }
        default_routing(defaults)
    }

    /// The DNS servers in the order Windows asks them (lowest interface metric first). The
    /// class lists IPv4 servers only; `ipconfig /all` has the IPv6 ones.
    pub fn dns(&self) -> DnsConfig {
        let by_metric = self.configurations_by_metric();
        let servers = distinct(
            by_metric
                .iter()
                .flat_map(|configuration| &configuration.dns_server_search_order)
                .filter_map(|server| address_of(server)),
        );
        let global_list = self
            .configurations
            .iter()
            .map(|configuration| &configuration.dns_domain_suffix_search_order)
            .find(|list| !list.is_empty());
        let search_domains = distinct(
            global_list.into_iter().flatten().cloned().chain(
                by_metric
                    .iter()
                    .filter_map(|configuration| non_empty(configuration.dns_domain.as_deref())),
            ),
        );
        DnsConfig {
            servers,
            search_domains,
            local_stub: None,
            source: CONFIGURATION_SOURCE.to_owned(),
        }
    }
}

fn addresses_of(configuration: &AdapterConfiguration) -> Vec<InterfaceAddress> {
    configuration
        .ip_address
        .iter()
        .enumerate()
        .filter_map(|(position, address)| {
            let address = address_of(address)?;
            let subnet = configuration
                .ip_subnet
                .get(position)
                .map(|subnet| subnet.trim());
            let prefix_len = match (address, subnet) {
                (IpAddr::V4(_), Some(mask)) => mask
                    .parse::<std::net::Ipv4Addr>()
                    .ok()
                    .and_then(|mask| prefix_of_netmask(u32::from(mask)))
                    .or_else(|| mask.parse().ok())?,
                (IpAddr::V6(_), Some(length)) => length.parse().ok()?,
                (IpAddr::V4(_), None) => 32,
                (IpAddr::V6(_), None) => 128,
            };
            Some(InterfaceAddress {
                address,
                prefix_len,
                scope: AddressScope::of(address),
            })
        })
        .collect()
}

/// Win32_NetworkAdapter.NetConnectionStatus.
fn oper_state_of(status: Option<u32>) -> OperState {
    match status {
        // Connected, and the two "authentication succeeded" states of 802.1X.
        Some(2 | 9) => OperState::Up,
        // Disconnected, disconnecting, hardware disabled, media disconnected.
        Some(0 | 3 | 5 | 7) => OperState::Down,
        // Connecting, authenticating, authentication failed, invalid address, credentials
        // required: the link is there but not usable yet.
        Some(1 | 8 | 10 | 11 | 12) => OperState::Dormant,
        Some(4) => OperState::NotPresent,
        Some(6) => OperState::LowerLayerDown,
        _ => OperState::Unknown,
    }
}

/// The class has no media type; the names Windows and the drivers give Wi-Fi adapters do tell.
fn is_wireless(adapter: &NetworkAdapter) -> bool {
    let names = [
        adapter.net_connection_id.as_str(),
        adapter.name.as_deref().unwrap_or(""),
    ];
    names.iter().any(|name| {
        let name = name.to_ascii_lowercase();
        ["wi-fi", "wifi", "wireless", "wlan", "802.11"]
            .iter()
            .any(|marker| name.contains(marker))
    })
}

/// The WinINet proxy settings; a proxy server switched off is not listed, nor are its
/// exceptions.
pub fn proxy_of(internet_settings: &str) -> Result<Proxy, ParseError> {
    let settings: Option<InternetSettings> = cim_instances(internet_settings)?.into_iter().next();
    let settings = settings.unwrap_or_default();
    let enabled = settings.proxy_enable == Some(1);
    let values = [
        ("ProxyServer", settings.proxy_server.filter(|_| enabled)),
        ("ProxyOverride", settings.proxy_override.filter(|_| enabled)),
        ("AutoConfigURL", settings.auto_config_url),
    ];
    Ok(Proxy {
        settings: values
            .into_iter()
            .filter_map(|(name, value)| {
                Some(ProxySetting {
                    name: name.to_owned(),
                    value: non_empty(value.as_deref())?,
                    source: INTERNET_SETTINGS_SOURCE.to_owned(),
                })
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    fn laptop() -> Adapters {
        Adapters::parse(
            &fixture("laptop/Win32_NetworkAdapter.json"),
            &fixture("laptop/Win32_NetworkAdapterConfiguration.json"),
        )
        .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn laptop_interfaces() {
        expect![[r#"
            [
                Interface {
                    name: "Ethernet",
                    mac: Some(
                        "c4:c6:e6:0a:7b:21",
                    ),
                    mtu: None,
                    oper_state: Down,
                    speed_mbps: None,
                    loopback: false,
                    wireless: false,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "Wi-Fi",
                    mac: Some(
                        "4c:03:4f:a1:b2:c3",
                    ),
                    mtu: None,
                    oper_state: Up,
                    speed_mbps: Some(
                        866,
                    ),
                    loopback: false,
                    wireless: true,
                    addresses: [
                        InterfaceAddress {
                            address: 192.168.178.34,
                            prefix_len: 24,
                            scope: Private,
                        },
                        InterfaceAddress {
                            address: fe80::4d2a:9c1:7e33:12ab,
                            prefix_len: 64,
                            scope: LinkLocal,
                        },
                        InterfaceAddress {
                            address: 2a02:8109:b6c0:1a00:5d2e:8b1f:3c4a:9e01,
                            prefix_len: 128,
                            scope: Global,
                        },
                    ],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "Bluetooth Network Connection",
                    mac: Some(
                        "4c:03:4f:a1:b2:c7",
                    ),
                    mtu: None,
                    oper_state: Down,
                    speed_mbps: None,
                    loopback: false,
                    wireless: false,
                    addresses: [],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "Ethernet 2",
                    mac: Some(
                        "02:50:41:00:00:01",
                    ),
                    mtu: Some(
                        1400,
                    ),
                    oper_state: Up,
                    speed_mbps: Some(
                        100000,
                    ),
                    loopback: false,
                    wireless: false,
                    addresses: [
                        InterfaceAddress {
                            address: 10.20.30.44,
                            prefix_len: 32,
                            scope: Private,
                        },
                        InterfaceAddress {
                            address: fe80::9c55:2b1e:47d0:3a11,
                            prefix_len: 64,
                            scope: LinkLocal,
                        },
                    ],
                    ipv4_link_local_only: false,
                },
                Interface {
                    name: "Ethernet 3",
                    mac: Some(
                        "a0:ce:c8:3d:52:9e",
                    ),
                    mtu: None,
                    oper_state: Up,
                    speed_mbps: Some(
                        1000,
                    ),
                    loopback: false,
                    wireless: false,
                    addresses: [
                        InterfaceAddress {
                            address: 192.168.178.51,
                            prefix_len: 24,
                            scope: Private,
                        },
                        InterfaceAddress {
                            address: fe80::1c8b:77a2:e0f4:5d63,
                            prefix_len: 64,
                            scope: LinkLocal,
                        },
                    ],
                    ipv4_link_local_only: false,
                },
            ]
        "#]]
        .assert_debug_eq(&laptop().interfaces());
    }

    #[test]
    fn laptop_routing_prefers_the_vpn() {
        expect![[r#"
            Routing {
                routes: [
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: None,
                        interface: "Ethernet 2",
                        metric: 1,
                    },
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: Some(
                            192.168.178.1,
                        ),
                        interface: "Ethernet 3",
                        metric: 25,
                    },
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: Some(
                            192.168.178.1,
                        ),
                        interface: "Wi-Fi",
                        metric: 35,
                    },
                    Route {
                        destination: ::,
                        prefix_len: 0,
                        gateway: Some(
                            fe80::3a10:d5ff:fe6c:1b2a,
                        ),
                        interface: "Wi-Fi",
                        metric: 291,
                    },
                ],
                default_gateways: [
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: None,
                        interface: "Ethernet 2",
                        metric: 1,
                    },
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: Some(
                            192.168.178.1,
                        ),
                        interface: "Ethernet 3",
                        metric: 25,
                    },
                    Route {
                        destination: 0.0.0.0,
                        prefix_len: 0,
                        gateway: Some(
                            192.168.178.1,
                        ),
                        interface: "Wi-Fi",
                        metric: 35,
                    },
                    Route {
                        destination: ::,
                        prefix_len: 0,
                        gateway: Some(
                            fe80::3a10:d5ff:fe6c:1b2a,
                        ),
                        interface: "Wi-Fi",
                        metric: 291,
                    },
                ],
            }
        "#]]
        .assert_debug_eq(&laptop().routing());
    }

    #[test]
    fn laptop_dns_in_metric_order() {
        expect![[r#"
            DnsConfig {
                servers: [
                    10.20.0.53,
                    10.20.0.54,
                    192.168.178.1,
                ],
                search_domains: [
                    "corp.contoso.com",
                    "contoso.com",
                    "fritz.box",
                ],
                local_stub: None,
                source: "Win32_NetworkAdapterConfiguration",
            }
        "#]]
        .assert_debug_eq(&laptop().dns());
    }

    #[test]
    fn proxy_settings() {
        expect![[r#"
            Ok(
                Proxy {
                    settings: [
                        ProxySetting {
                            name: "ProxyServer",
                            value: "proxy.corp.contoso.com:8080",
                            source: "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
                        },
                        ProxySetting {
                            name: "ProxyOverride",
                            value: "*.corp.contoso.com;10.*;<local>",
                            source: "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings",
                        },
                    ],
                },
            )
        "#]].assert_debug_eq(&proxy_of(&fixture("laptop/InternetSettings.json")));
        let switched_off = r#"{"ProxyEnable": 0, "ProxyServer": "old-proxy:8080", "ProxyOverride": null, "AutoConfigURL": null}"#;
        assert_eq!(proxy_of(switched_off), Ok(Proxy::default()));
    }
}
