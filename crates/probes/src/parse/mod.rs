//! Pure parsers of what the Windows and macOS tools print (PowerShell's `ConvertTo-Json` of CIM
//! instances, `ipconfig /all`, `system_profiler -json`, `scutil`, `route`, `ifconfig`, ...).
//!
//! They are compiled on every platform, so they are tested on Linux against output recorded on
//! real machines (`tests/fixtures/windows/`, `tests/fixtures/macos/`); only the readers that
//! run the tools live behind `cfg` in `windows/` and `macos/`.

pub mod macos;
pub mod windows;

use std::net::IpAddr;

use sitrep_snapshot::{AddressScope, Interface, OperState, Route, Routing};

/// Up, with IPv4 addresses that are all link-local (169.254/16): DHCP got no answer.
pub fn ipv4_link_local_only(interface: &Interface) -> bool {
    let mut ipv4 = interface
        .addresses
        .iter()
        .filter(|address| address.address.is_ipv4())
        .peekable();
    interface.oper_state == OperState::Up
        && ipv4.peek().is_some()
        && ipv4.all(|address| address.scope == AddressScope::LinkLocal)
}

/// Default routes (the only routes these platforms' tools are asked for) with the best ones
/// first: IPv4 before IPv6, lowest metric first.
pub fn default_routing(mut defaults: Vec<Route>) -> Routing {
    defaults.sort_by_key(|route| (route.destination.is_ipv6(), route.metric));
    Routing {
        routes: defaults.clone(),
        default_gateways: defaults,
    }
}

/// An address as the tools print it: `fe80::1%14` and `fe80::1%en0` carry a zone, and
/// `ipconfig` appends `(Preferred)`; the address alone is kept.
pub fn address_of(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text.split_once('(').map_or(text, |(address, _)| address);
    let text = text.split_once('%').map_or(text, |(address, _)| address);
    text.trim().parse().ok()
}

/// A figure as a tool or the kernel prints it; `None` for `NaN` and infinities, which
/// `str::parse` accepts but JSON cannot carry (serde_json writes `null`, which the collector
/// refuses where the snapshot has a plain number).
pub fn finite(text: &str) -> Option<f64> {
    text.trim()
        .parse()
        .ok()
        .filter(|figure: &f64| figure.is_finite())
}

/// `items` without repeats, in first-seen order.
pub fn distinct<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::new();
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// The prefix length of a dotted netmask (`255.255.255.0` is 24), `None` for a mask with holes.
pub fn prefix_of_netmask(mask: u32) -> Option<u8> {
    let ones = mask.leading_ones();
    // At most 32 ones: the cast cannot truncate.
    (mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// A recorded output under `tests/fixtures/`; a missing fixture fails the test that wants it.
#[cfg(test)]
pub(crate) fn fixture(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&full)
        .unwrap_or_else(|error| panic!("fixture {}: {error}", full.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_tools_print_them() {
        assert_eq!(
            address_of("192.168.178.34(Preferred) "),
            "192.168.178.34".parse().ok()
        );
        assert_eq!(
            address_of("fe80::4d2a:9c1:7e33:12ab%14(Preferred)"),
            "fe80::4d2a:9c1:7e33:12ab".parse().ok()
        );
        assert_eq!(address_of("fe80::1%en0"), "fe80::1".parse().ok());
        assert_eq!(address_of("link#6"), None);
    }

    #[test]
    fn netmasks() {
        assert_eq!(prefix_of_netmask(0xffff_ff00), Some(24));
        assert_eq!(prefix_of_netmask(0xffff_ffff), Some(32));
        assert_eq!(prefix_of_netmask(0), Some(0));
        assert_eq!(prefix_of_netmask(0xff00_ff00), None);
    }
}
