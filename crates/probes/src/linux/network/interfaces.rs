//! Network interfaces: link facts from /sys/class/net below the root, addresses from the
//! running kernel through if-addrs, merged by a pure function.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use sitrep_snapshot::{
    AddressScope, Interface, InterfaceAddress, OperState, Section, SectionError, SectionErrorKind,
};

use crate::{Ctx, ReadError};

const SYS_CLASS_NET: &str = "/sys/class/net";
/// `ARPHRD_LOOPBACK` from <linux/if_arp.h>, as /sys/class/net/<if>/type prints it.
const ARPHRD_LOOPBACK: &str = "772";

/// One address of one interface, as the operating system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAddress {
    pub interface: String,
    pub address: IpAddr,
    pub prefix_len: u8,
}

/// Gathers every interface with its addresses. Addresses come from the running kernel, so a
/// fixture tree (any root but `/`) gets the /sys facts alone.
pub fn gather(ctx: &Ctx) -> Section<Vec<Interface>> {
    let addresses = if ctx.root == Path::new("/") {
        live_addresses()
    } else {
        Ok(Vec::new())
    };
    read_interfaces(ctx, addresses).into()
}

fn read_interfaces(
    ctx: &Ctx,
    addresses: Result<Vec<LinkAddress>, SectionError>,
) -> Result<Vec<Interface>, SectionError> {
    let links = read_links(ctx)?;
    Ok(merge_addresses(links, &addresses?))
}

fn live_addresses() -> Result<Vec<LinkAddress>, SectionError> {
    let interfaces = if_addrs::get_if_addrs().map_err(|error| SectionError {
        kind: SectionErrorKind::Io,
        message: format!("cannot list interface addresses (getifaddrs): {error}"),
    })?;
    Ok(interfaces
        .into_iter()
        .map(|interface| LinkAddress {
            // getifaddrs names secondary IPv4 addresses by their label (`eth0:1`); a device
            // name never holds a colon, so the part before it is the device.
            interface: interface
                .name
                .split(':')
                .next()
                .unwrap_or(&interface.name)
                .to_owned(),
            address: interface.ip(),
            prefix_len: match &interface.addr {
                if_addrs::IfAddr::V4(v4) => v4.prefixlen,
                if_addrs::IfAddr::V6(v6) => v6.prefixlen,
            },
        })
        .collect())
}

/// The interfaces of /sys/class/net, each with what its attribute files tell; a missing or
/// unreadable attribute leaves its field empty.
fn read_links(ctx: &Ctx) -> Result<Vec<Interface>, ReadError> {
    let dir = ctx.path(SYS_CLASS_NET);
    let entries = fs::read_dir(&dir).map_err(|source| ReadError::io(&dir, source))?;
    let mut links = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReadError::io(&dir, source))?;
        let path = entry.path();
        // bonding_masters is a plain file beside the interface directories.
        if !path.is_dir() {
            continue;
        }
        links.push(read_link(
            &path,
            entry.file_name().to_string_lossy().into_owned(),
        ));
    }
    Ok(links)
}

fn read_link(dir: &Path, name: String) -> Interface {
    let attribute = |file: &str| fs::read_to_string(dir.join(file)).ok();
    Interface {
        mac: attribute("address").and_then(|text| parse_mac(&text)),
        mtu: attribute("mtu").and_then(|text| text.trim().parse().ok()),
        oper_state: attribute("operstate")
            .map(|text| parse_oper_state(&text))
            .unwrap_or_default(),
        // Reading `speed` fails with EINVAL while the link is down, and Wi-Fi drivers often
        // refuse it altogether.
        speed_mbps: attribute("speed").and_then(|text| parse_speed(&text)),
        loopback: name == "lo"
            || attribute("type").is_some_and(|text| text.trim() == ARPHRD_LOOPBACK),
        // `phy80211` is a symlink into /sys/class/ieee80211; its presence is what counts.
        wireless: ["wireless", "phy80211"]
            .iter()
            .any(|marker| fs::symlink_metadata(dir.join(marker)).is_ok()),
        name,
        addresses: Vec::new(),
        ipv4_link_local_only: false,
    }
}

/// A hardware address in lower case; `None` for the all-zero address of loopback and for
/// devices without one (tun, wireguard).
pub fn parse_mac(text: &str) -> Option<String> {
    let mac = text.trim().to_ascii_lowercase();
    let all_zero = mac.split(':').all(|octet| octet.chars().all(|c| c == '0'));
    (!mac.is_empty() && !all_zero).then_some(mac)
}

/// An RFC 2863 operational state as /sys/class/net/<if>/operstate spells it.
pub fn parse_oper_state(text: &str) -> OperState {
    match text.trim() {
        "up" => OperState::Up,
        "down" => OperState::Down,
        "dormant" => OperState::Dormant,
        "lowerlayerdown" => OperState::LowerLayerDown,
        "notpresent" => OperState::NotPresent,
        "testing" => OperState::Testing,
        _ => OperState::Unknown,
    }
}

/// Link speed in Mb/s; drivers without a link print -1 (or its unsigned form), which is no speed.
pub fn parse_speed(text: &str) -> Option<u32> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|speed| *speed > 0 && *speed != u32::MAX)
}

/// Attaches each address to its interface (adding interfaces /sys did not list), flags
/// interfaces that are up with nothing but APIPA IPv4 addresses, and sorts by name.
pub fn merge_addresses(
    mut interfaces: Vec<Interface>,
    addresses: &[LinkAddress],
) -> Vec<Interface> {
    for link_address in addresses {
        let address = InterfaceAddress {
            address: link_address.address,
            prefix_len: link_address.prefix_len,
            scope: AddressScope::of(link_address.address),
        };
        match interfaces
            .iter_mut()
            .find(|interface| interface.name == link_address.interface)
        {
            Some(interface) => interface.addresses.push(address),
            None => interfaces.push(Interface {
                name: link_address.interface.clone(),
                addresses: vec![address],
                ..Interface::default()
            }),
        }
    }
    for interface in &mut interfaces {
        let mut ipv4 = interface
            .addresses
            .iter()
            .filter(|address| address.address.is_ipv4())
            .peekable();
        interface.ipv4_link_local_only = interface.oper_state == OperState::Up
            && ipv4.peek().is_some()
            && ipv4.all(|address| address.scope == AddressScope::LinkLocal);
    }
    interfaces.sort_by(|a, b| a.name.cmp(&b.name));
    interfaces
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn link(name: &str, oper_state: OperState) -> Interface {
        Interface {
            name: name.to_owned(),
            oper_state,
            ..Interface::default()
        }
    }

    fn address(interface: &str, address: &str, prefix_len: u8) -> LinkAddress {
        LinkAddress {
            interface: interface.to_owned(),
            address: address.parse().expect("valid address in test"),
            prefix_len,
        }
    }

    #[test]
    fn sysfs_attributes() {
        assert_eq!(
            parse_mac("3C:A9:F4:12:7B:5E\n").as_deref(),
            Some("3c:a9:f4:12:7b:5e")
        );
        assert_eq!(parse_mac("00:00:00:00:00:00\n"), None);
        assert_eq!(parse_mac("\n"), None);
        assert_eq!(parse_oper_state("up\n"), OperState::Up);
        assert_eq!(
            parse_oper_state("lowerlayerdown\n"),
            OperState::LowerLayerDown
        );
        assert_eq!(parse_oper_state("unknown\n"), OperState::Unknown);
        assert_eq!(parse_speed("1000\n"), Some(1000));
        assert_eq!(parse_speed("-1\n"), None);
        assert_eq!(parse_speed("4294967295\n"), None);
        assert_eq!(parse_speed("0\n"), None);
    }

    #[test]
    fn addresses_are_merged_into_their_interfaces() {
        let links = vec![
            link("wlp0s20f3", OperState::Up),
            Interface {
                loopback: true,
                ..link("lo", OperState::Unknown)
            },
            link("enp0s31f6", OperState::Down),
        ];
        let addresses = [
            address("lo", "127.0.0.1", 8),
            address("wlp0s20f3", "192.168.178.57", 24),
            address("lo", "::1", 128),
            address("wlp0s20f3", "2a02:170:8c00:2b00:f1e3:a2b4:c5d6:e7f8", 64),
            address("wlp0s20f3", "fe80::a1b2:c3ff:fed4:e5f6", 64),
            address("tun0", "100.64.12.9", 32),
        ];
        let merged = merge_addresses(links, &addresses);
        let summary: Vec<String> = merged
            .iter()
            .map(|interface| {
                let addresses: Vec<String> = interface
                    .addresses
                    .iter()
                    .map(|a| format!("{}/{} {:?}", a.address, a.prefix_len, a.scope))
                    .collect();
                format!(
                    "{} {:?} [{}] apipa_only={}",
                    interface.name,
                    interface.oper_state,
                    addresses.join(", "),
                    interface.ipv4_link_local_only
                )
            })
            .collect();
        expect![[r#"
            [
                "enp0s31f6 Down [] apipa_only=false",
                "lo Unknown [127.0.0.1/8 Loopback, ::1/128 Loopback] apipa_only=false",
                "tun0 Unknown [100.64.12.9/32 Private] apipa_only=false",
                "wlp0s20f3 Up [192.168.178.57/24 Private, 2a02:170:8c00:2b00:f1e3:a2b4:c5d6:e7f8/64 Global, fe80::a1b2:c3ff:fed4:e5f6/64 LinkLocal] apipa_only=false",
            ]
        "#]].assert_debug_eq(&summary);
    }

    #[test]
    fn apipa_only_when_up_with_nothing_but_link_local_ipv4() {
        let apipa_only = |state: OperState, addresses: &[LinkAddress]| {
            merge_addresses(vec![link("eth0", state)], addresses)[0].ipv4_link_local_only
        };
        let apipa = address("eth0", "169.254.83.17", 16);
        let dhcp = address("eth0", "10.20.30.40", 24);
        let ipv6_link_local = address("eth0", "fe80::1", 64);
        assert!(apipa_only(
            OperState::Up,
            &[apipa.clone(), ipv6_link_local.clone()]
        ));
        assert!(!apipa_only(OperState::Up, &[apipa.clone(), dhcp]));
        assert!(!apipa_only(OperState::Down, &[apipa]));
        assert!(!apipa_only(OperState::Up, &[ipv6_link_local]));
        assert!(!apipa_only(OperState::Up, &[]));
    }
}
