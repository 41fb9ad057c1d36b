//! The `network` section on macOS: each part from its own tools, so one failing tool does not
//! hide the others.

use sitrep_snapshot::{DnsConfig, Interface, Network, Proxy, Routing, Section};

use super::{parsed, tool};
use crate::command::skip_unless_live;
use crate::parse::default_routing;
use crate::parse::macos::network::{
    dns_of, interfaces_of, parse_route_get, parse_scutil_dns, proxy_of,
};
use crate::{Ctx, ReadError};

pub fn gather(ctx: &Ctx) -> Section<Network> {
    if let Some(skipped) = skip_unless_live(ctx) {
        return skipped;
    }
    Section::Ok(Network {
        interfaces: read_interfaces().into(),
        routing: read_routing().into(),
        dns: read_dns().into(),
        proxy: read_proxy().into(),
    })
}

fn read_interfaces() -> Result<Vec<Interface>, ReadError> {
    let ifconfig = tool("/sbin/ifconfig", &[])?;
    // Without the hardware ports only the Wi-Fi marks are missing.
    let ports = tool("/usr/sbin/networksetup", &["-listallhardwareports"]).unwrap_or_default();
    parsed("ifconfig", &ifconfig, |ifconfig| {
        interfaces_of(ifconfig, &ports)
    })
}

/// The IPv4 default route is essential; `route` fails when there is no IPv6 one, which is
/// common and no error.
fn read_routing() -> Result<Routing, ReadError> {
    let ipv4 = tool("/sbin/route", &["-n", "get", "default"])?;
    let ipv6 = tool("/sbin/route", &["-n", "get", "-inet6", "default"]).unwrap_or_default();
    Ok(default_routing(
        [ipv4, ipv6]
            .iter()
            .filter_map(|text| parse_route_get(text))
            .collect(),
    ))
}

fn read_dns() -> Result<DnsConfig, ReadError> {
    let output = tool("/usr/sbin/scutil", &["--dns"])?;
    parsed("scutil --dns", &output, |text| {
        parse_scutil_dns(text).map(|resolvers| dns_of(&resolvers))
    })
}

fn read_proxy() -> Result<Proxy, ReadError> {
    Ok(proxy_of(&tool("/usr/sbin/scutil", &["--proxy"])?))
}
