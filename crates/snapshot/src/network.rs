//! Network configuration: interfaces, routes and gateways, DNS settings and proxies.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Section;

/// Each part is its own section: an unreadable resolv.conf must not hide the interfaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Network {
    pub interfaces: Section<Vec<Interface>>,
    pub routing: Section<Routing>,
    pub dns: Section<DnsConfig>,
    pub proxy: Section<Proxy>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Interface {
    pub name: String,
    /// Hardware address, lower-case colon-separated.
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    pub oper_state: OperState,
    /// Negotiated link speed, where the driver reports one.
    pub speed_mbps: Option<u32>,
    pub loopback: bool,
    /// Wireless, where the platform tells.
    pub wireless: bool,
    pub addresses: Vec<InterfaceAddress>,
    /// Up and its only IPv4 addresses are link-local 169.254/16 (APIPA): DHCP failed.
    pub ipv4_link_local_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperState {
    Up,
    Down,
    Dormant,
    LowerLayerDown,
    NotPresent,
    Testing,
    #[default]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InterfaceAddress {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub scope: AddressScope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddressScope {
    Loopback,
    /// 169.254/16 or fe80::/10.
    LinkLocal,
    /// RFC 1918, CGNAT and IPv6 unique-local.
    Private,
    Global,
}

impl AddressScope {
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) if v4.is_loopback() => AddressScope::Loopback,
            IpAddr::V4(v4) if v4.is_link_local() => AddressScope::LinkLocal,
            IpAddr::V4(v4)
                if v4.is_private() || (v4.octets()[0] == 100 && v4.octets()[1] & 0xc0 == 64) =>
            {
                AddressScope::Private
            }
            IpAddr::V4(_) => AddressScope::Global,
            IpAddr::V6(v6) if v6.is_loopback() => AddressScope::Loopback,
            IpAddr::V6(v6) if v6.is_unicast_link_local() => AddressScope::LinkLocal,
            IpAddr::V6(v6) if v6.is_unique_local() => AddressScope::Private,
            IpAddr::V6(_) => AddressScope::Global,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Routing {
    pub routes: Vec<Route>,
    /// The next hops of the default routes, best (lowest metric) first per family.
    pub default_gateways: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Route {
    /// Destination network, e.g. `0.0.0.0` or `2001:db8::`.
    pub destination: IpAddr,
    pub prefix_len: u8,
    /// Next hop; `None` for on-link routes.
    pub gateway: Option<IpAddr>,
    pub interface: String,
    pub metric: u32,
}

impl Route {
    pub fn is_default(&self) -> bool {
        self.prefix_len == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct DnsConfig {
    /// The servers queries really go to (behind a local stub, its upstreams).
    pub servers: Vec<IpAddr>,
    pub search_domains: Vec<String>,
    /// A local caching stub (systemd-resolved at 127.0.0.53) sits in front of `servers`.
    pub local_stub: Option<IpAddr>,
    /// Where the settings were read, e.g. `/run/systemd/resolve/resolv.conf`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Proxy {
    /// Each proxy setting found, credentials removed.
    pub settings: Vec<ProxySetting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProxySetting {
    /// The variable or setting, e.g. `https_proxy`.
    pub name: String,
    /// The value with any `user:password@` removed.
    pub value: String,
    /// Where it was found, e.g. `environment` or `/etc/environment`.
    pub source: String,
}
