//! Network changes: interfaces (appeared, gone, up or down, their addresses), default gateways
//! and routes, DNS servers and search domains.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use sitrep_snapshot::{Interface, Network, OperState, Route, Routing};
use utoipa::ToSchema;

use super::{Changes, Part, added_removed, compare, within};

/// Each part of the network section is compared on its own, as the snapshot gathers each on
/// its own: an unreadable resolv.conf leaves the interfaces comparable.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NetworkChanges {
    pub interfaces: Part<InterfaceChanges>,
    pub routing: Part<RoutingChanges>,
    pub dns: Part<DnsChanges>,
}

impl Changes for NetworkChanges {
    fn is_empty(&self) -> bool {
        self.interfaces.is_empty() && self.routing.is_empty() && self.dns.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct InterfaceChanges {
    /// Names of interfaces that appeared (a VPN tunnel, a USB network adapter).
    pub added: Vec<String>,
    /// Names of interfaces that are gone.
    pub removed: Vec<String>,
    /// Interfaces whose operational state changed (a cable pulled, Wi-Fi switched off).
    pub state_changed: Vec<InterfaceStateChange>,
    /// Addresses that appeared, by interface then address (those of new interfaces too).
    pub addresses_added: Vec<InterfaceAddressRef>,
    /// Addresses that are gone (those of removed interfaces too).
    pub addresses_removed: Vec<InterfaceAddressRef>,
}

impl Changes for InterfaceChanges {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.state_changed.is_empty()
            && self.addresses_added.is_empty()
            && self.addresses_removed.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InterfaceStateChange {
    pub interface: String,
    /// Operational state as the snapshot names it: `up`, `down`, `dormant`,
    /// `lower_layer_down`, `not_present`, `testing` or `unknown`.
    #[schema(value_type = String)]
    pub from: OperState,
    #[schema(value_type = String)]
    pub to: OperState,
}

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct InterfaceAddressRef {
    pub interface: String,
    #[schema(value_type = String, example = "192.168.1.23")]
    pub address: IpAddr,
    pub prefix_len: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct RoutingChanges {
    /// The best default gateway of each address family, where it changed.
    pub default_gateways: Vec<GatewayChange>,
    pub routes_added: Vec<RouteRef>,
    pub routes_removed: Vec<RouteRef>,
}

impl Changes for RoutingChanges {
    fn is_empty(&self) -> bool {
        self.default_gateways.is_empty()
            && self.routes_added.is_empty()
            && self.routes_removed.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddressFamily {
    Ipv4,
    Ipv6,
}

impl AddressFamily {
    fn of(address: IpAddr) -> AddressFamily {
        match address {
            IpAddr::V4(_) => AddressFamily::Ipv4,
            IpAddr::V6(_) => AddressFamily::Ipv6,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AddressFamily::Ipv4 => "IPv4",
            AddressFamily::Ipv6 => "IPv6",
        }
    }
}

/// The default gateway of one address family before and after; `null` where there was none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GatewayChange {
    pub family: AddressFamily,
    pub from: Option<Gateway>,
    pub to: Option<Gateway>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Gateway {
    /// The next hop; `null` for a default route straight out of an interface (a tunnel).
    #[schema(value_type = Option<String>)]
    pub address: Option<IpAddr>,
    pub interface: String,
}

/// A route as `ip route` shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct RouteRef {
    #[schema(value_type = String, example = "0.0.0.0")]
    pub destination: IpAddr,
    pub prefix_len: u8,
    #[schema(value_type = Option<String>)]
    pub gateway: Option<IpAddr>,
    pub interface: String,
    pub metric: u32,
}

impl From<&Route> for RouteRef {
    fn from(route: &Route) -> RouteRef {
        RouteRef {
            destination: route.destination,
            prefix_len: route.prefix_len,
            gateway: route.gateway,
            interface: route.interface.clone(),
            metric: route.metric,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct DnsChanges {
    #[schema(value_type = Vec<String>)]
    pub servers_added: Vec<IpAddr>,
    #[schema(value_type = Vec<String>)]
    pub servers_removed: Vec<IpAddr>,
    pub search_domains_added: Vec<String>,
    pub search_domains_removed: Vec<String>,
}

impl Changes for DnsChanges {
    fn is_empty(&self) -> bool {
        self.servers_added.is_empty()
            && self.servers_removed.is_empty()
            && self.search_domains_added.is_empty()
            && self.search_domains_removed.is_empty()
    }
}

/// The network parts; a network section missing on either side makes all of them not
/// comparable, for the same reason.
pub(super) fn network_changes(
    old: Result<&Network, String>,
    new: Result<&Network, String>,
) -> NetworkChanges {
    NetworkChanges {
        interfaces: compare(
            within(&old, |network| &network.interfaces),
            within(&new, |network| &network.interfaces),
            |old, new| interface_changes(old, new),
        ),
        routing: compare(
            within(&old, |network| &network.routing),
            within(&new, |network| &network.routing),
            routing_changes,
        ),
        dns: compare(
            within(&old, |network| &network.dns),
            within(&new, |network| &network.dns),
            |old, new| {
                let (servers_added, servers_removed) = added_removed(&old.servers, &new.servers);
                let (search_domains_added, search_domains_removed) =
                    added_removed(&old.search_domains, &new.search_domains);
                DnsChanges {
                    servers_added,
                    servers_removed,
                    search_domains_added,
                    search_domains_removed,
                }
            },
        ),
    }
}

fn interface_changes(old: &[Interface], new: &[Interface]) -> InterfaceChanges {
    let by_name = |interfaces: &'_ [Interface]| -> BTreeMap<String, OperState> {
        interfaces
            .iter()
            .map(|interface| (interface.name.clone(), interface.oper_state))
            .collect()
    };
    let (old_states, new_states) = (by_name(old), by_name(new));
    let names = |states: &BTreeMap<String, OperState>| states.keys().cloned().collect::<Vec<_>>();
    let (added, removed) = added_removed(&names(&old_states), &names(&new_states));
    let state_changed = new_states
        .iter()
        .filter_map(|(name, &to)| {
            let &from = old_states.get(name)?;
            (from != to).then(|| InterfaceStateChange {
                interface: name.clone(),
                from,
                to,
            })
        })
        .collect();
    let (addresses_added, addresses_removed) = added_removed(&addresses(old), &addresses(new));
    InterfaceChanges {
        added,
        removed,
        state_changed,
        addresses_added,
        addresses_removed,
    }
}

fn addresses(interfaces: &[Interface]) -> Vec<InterfaceAddressRef> {
    interfaces
        .iter()
        .flat_map(|interface| {
            interface
                .addresses
                .iter()
                .map(|address| InterfaceAddressRef {
                    interface: interface.name.clone(),
                    address: address.address,
                    prefix_len: address.prefix_len,
                })
        })
        .collect()
}

fn routing_changes(old: &Routing, new: &Routing) -> RoutingChanges {
    let default_gateways = [AddressFamily::Ipv4, AddressFamily::Ipv6]
        .into_iter()
        .filter_map(|family| {
            let from = best_gateway(old, family);
            let to = best_gateway(new, family);
            (from != to).then_some(GatewayChange { family, from, to })
        })
        .collect();
    let routes = |routing: &Routing| {
        routing
            .routes
            .iter()
            .map(RouteRef::from)
            .collect::<Vec<_>>()
    };
    let (routes_added, routes_removed) = added_removed(&routes(old), &routes(new));
    RoutingChanges {
        default_gateways,
        routes_added,
        routes_removed,
    }
}

/// The snapshot lists default routes best first per family.
fn best_gateway(routing: &Routing, family: AddressFamily) -> Option<Gateway> {
    routing
        .default_gateways
        .iter()
        .find(|route| AddressFamily::of(route.destination) == family)
        .map(|route| Gateway {
            address: route.gateway,
            interface: route.interface.clone(),
        })
}
