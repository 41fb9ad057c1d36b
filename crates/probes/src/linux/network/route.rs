//! Routes and default gateways from /proc/net/route and /proc/net/ipv6_route.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sitrep_snapshot::{Route, Routing, Section};

use crate::linux::{parse_file, read_optional_file};
use crate::{Ctx, ParseError, ReadError};

const IPV4_ROUTES_PATH: &str = "/proc/net/route";
const IPV6_ROUTES_PATH: &str = "/proc/net/ipv6_route";

// Route flags from <linux/route.h> and <linux/ipv6_route.h>.
const RTF_UP: u32 = 0x0001;
const RTF_GATEWAY: u32 = 0x0002;
const RTF_CACHE: u32 = 0x0100_0000;
const RTF_LOCAL: u32 = 0x8000_0000;

/// Gathers the main routing table of both families and picks the default routes.
pub fn gather(ctx: &Ctx) -> Section<Routing> {
    read_routing(ctx).into()
}

fn read_routing(ctx: &Ctx) -> Result<Routing, ReadError> {
    let mut routes = parse_file(ctx, IPV4_ROUTES_PATH, parse_ipv4_routes)?;
    // A kernel booted with ipv6.disable=1 has no ipv6_route at all.
    if let Some(text) = read_optional_file(ctx, IPV6_ROUTES_PATH)? {
        let ipv6_routes = parse_ipv6_routes(&text)
            .map_err(|source| ReadError::parse(ctx.path(IPV6_ROUTES_PATH), source))?;
        routes.extend(ipv6_routes);
    }
    Ok(routing_of(routes))
}

/// The routes with their default routes picked out: IPv4 before IPv6, lowest metric first.
pub fn routing_of(routes: Vec<Route>) -> Routing {
    let mut default_gateways: Vec<Route> = routes
        .iter()
        .filter(|route| route.is_default())
        .cloned()
        .collect();
    default_gateways.sort_by_key(|route| (route.destination.is_ipv6(), route.metric));
    Routing {
        routes,
        default_gateways,
    }
}

/// Parses /proc/net/route: a header line, then one route per line with addresses as the
/// hexadecimal print of the in-memory (network order) u32, metric in decimal. Routes that
/// are not up are left out.
pub fn parse_ipv4_routes(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut lines = text.lines().enumerate();
    if !lines
        .next()
        .is_some_and(|(_, header)| header.starts_with("Iface"))
    {
        return Err(ParseError::new(
            1,
            "expected the \"Iface Destination Gateway ...\" header",
        ));
    }
    let mut routes = Vec::new();
    for (index, line) in lines.filter(|(_, line)| !line.trim().is_empty()) {
        let line_number = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [
            interface,
            destination,
            gateway,
            flags,
            _refcnt,
            _use,
            metric,
            mask,
            ..,
        ] = fields[..]
        else {
            return Err(ParseError::new(
                line_number,
                format!("expected at least 8 fields, found {line:?}"),
            ));
        };
        let flags = parse_hex_u32(flags, line_number)?;
        if flags & RTF_UP == 0 {
            continue;
        }
        let mask = parse_ipv4_hex(mask, line_number)?;
        routes.push(Route {
            destination: IpAddr::V4(parse_ipv4_hex(destination, line_number)?),
            // Netmasks are contiguous, so the prefix length is the count of set bits.
            prefix_len: u32::from(mask).count_ones() as u8,
            gateway: (flags & RTF_GATEWAY != 0)
                .then(|| parse_ipv4_hex(gateway, line_number).map(IpAddr::V4))
                .transpose()?,
            interface: interface.to_owned(),
            metric: metric.parse().map_err(|_| {
                ParseError::new(line_number, format!("metric {metric:?} is not a number"))
            })?,
        });
    }
    Ok(routes)
}

/// Parses /proc/net/ipv6_route: destination, its prefix length, source, its prefix length,
/// next hop, metric, reference count, use count, flags and device, all hexadecimal but the
/// device. The file mixes in the local table: routes to the host's own addresses, multicast,
/// cached and loopback entries, which are no path anywhere and are left out.
pub fn parse_ipv6_routes(text: &str) -> Result<Vec<Route>, ParseError> {
    let mut routes = Vec::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
    {
        let line_number = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [
            destination,
            prefix_len,
            _source,
            _source_prefix_len,
            next_hop,
            metric,
            _refcnt,
            _use,
            flags,
            device,
        ] = fields[..]
        else {
            return Err(ParseError::new(
                line_number,
                format!("expected 10 fields, found {line:?}"),
            ));
        };
        let flags = parse_hex_u32(flags, line_number)?;
        let destination = parse_ipv6_hex(destination, line_number)?;
        let local_table_entry =
            flags & (RTF_LOCAL | RTF_CACHE) != 0 || destination.is_multicast() || device == "lo";
        if flags & RTF_UP == 0 || local_table_entry {
            continue;
        }
        let prefix_len = u8::from_str_radix(prefix_len, 16)
            .ok()
            .filter(|length| *length <= 128)
            .ok_or_else(|| {
                ParseError::new(line_number, format!("invalid prefix length {prefix_len:?}"))
            })?;
        routes.push(Route {
            destination: IpAddr::V6(destination),
            prefix_len,
            gateway: (flags & RTF_GATEWAY != 0)
                .then(|| parse_ipv6_hex(next_hop, line_number).map(IpAddr::V6))
                .transpose()?,
            interface: device.to_owned(),
            metric: parse_hex_u32(metric, line_number)?,
        });
    }
    Ok(routes)
}

fn parse_hex_u32(field: &str, line_number: usize) -> Result<u32, ParseError> {
    u32::from_str_radix(field, 16).map_err(|_| {
        ParseError::new(
            line_number,
            format!("{field:?} is not a hexadecimal number"),
        )
    })
}

/// The kernel prints the address's in-memory bytes as one native-endian u32.
fn parse_ipv4_hex(field: &str, line_number: usize) -> Result<Ipv4Addr, ParseError> {
    if field.len() != 8 {
        return Err(ParseError::new(
            line_number,
            format!("{field:?} is not an 8-digit IPv4 address"),
        ));
    }
    Ok(Ipv4Addr::from(
        parse_hex_u32(field, line_number)?.to_ne_bytes(),
    ))
}

fn parse_ipv6_hex(field: &str, line_number: usize) -> Result<Ipv6Addr, ParseError> {
    u128::from_str_radix(field, 16)
        .ok()
        .filter(|_| field.len() == 32)
        .map(Ipv6Addr::from)
        .ok_or_else(|| {
            ParseError::new(
                line_number,
                format!("{field:?} is not a 32-digit IPv6 address"),
            )
        })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn summary(routes: &[Route]) -> Vec<String> {
        routes
            .iter()
            .map(|route| {
                let via = route
                    .gateway
                    .map(|gateway| format!(" via {gateway}"))
                    .unwrap_or_default();
                format!(
                    "{}/{}{via} dev {} metric {}",
                    route.destination, route.prefix_len, route.interface, route.metric
                )
            })
            .collect()
    }

    #[test]
    fn laptop_with_wifi_and_docker_bridges() {
        let text = include_str!("../../../tests/fixtures/laptop-ubuntu/proc/net/route");
        let routes = parse_ipv4_routes(text).expect("valid route table");
        expect![[r#"
            [
                "0.0.0.0/0 via 192.168.178.1 dev wlp0s20f3 metric 600",
                "172.17.0.0/16 dev docker0 metric 0",
                "172.18.0.0/16 dev br-5e2a9c1f0d3b metric 0",
                "169.254.0.0/16 dev wlp0s20f3 metric 1000",
                "192.168.178.0/24 dev wlp0s20f3 metric 600",
            ]
        "#]]
        .assert_debug_eq(&summary(&routes));
        expect![[r#"
            Route {
                destination: 0.0.0.0,
                prefix_len: 0,
                gateway: Some(
                    192.168.178.1,
                ),
                interface: "wlp0s20f3",
                metric: 600,
            }
        "#]]
        .assert_debug_eq(&routes[0]);
    }

    #[test]
    fn routes_that_are_not_up_are_left_out() {
        let text = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                    eth0\t00000000\t0101A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0\n\
                    eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n";
        let routes = parse_ipv4_routes(text).expect("valid route table");
        assert_eq!(summary(&routes), ["192.168.1.0/24 dev eth0 metric 100"]);
    }

    #[test]
    fn ipv6_default_via_link_local_router() {
        let text = include_str!("../../../tests/fixtures/laptop-ubuntu/proc/net/ipv6_route");
        let routes = parse_ipv6_routes(text).expect("valid ipv6 route table");
        expect![[r#"
            [
                "2a02:170:8c00:2b00::/64 dev wlp0s20f3 metric 600",
                "fd00::/64 dev wlp0s20f3 metric 600",
                "fe80::/64 dev docker0 metric 256",
                "fe80::/64 dev wlp0s20f3 metric 1024",
                "::/0 via fe80::3a10:d5ff:fe6b:1c2e dev wlp0s20f3 metric 600",
            ]
        "#]]
        .assert_debug_eq(&summary(&routes));
    }

    #[test]
    fn default_gateways_ipv4_first_then_by_metric() {
        let ipv4 = parse_ipv4_routes(include_str!(
            "../../../tests/fixtures/laptop-ubuntu/proc/net/route"
        ));
        let ipv6 = parse_ipv6_routes(include_str!(
            "../../../tests/fixtures/laptop-ubuntu/proc/net/ipv6_route"
        ));
        let mut routes = ipv6.expect("valid ipv6 route table");
        routes.extend(ipv4.expect("valid route table"));
        let routing = routing_of(routes);
        expect![[r#"
            [
                "0.0.0.0/0 via 192.168.178.1 dev wlp0s20f3 metric 600",
                "::/0 via fe80::3a10:d5ff:fe6b:1c2e dev wlp0s20f3 metric 600",
            ]
        "#]]
        .assert_debug_eq(&summary(&routing.default_gateways));
    }

    #[test]
    fn garbage_names_its_line() {
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "expected the \"Iface Destination Gateway ...\" header",
                },
            )
        "#]]
        .assert_debug_eq(&parse_ipv4_routes(
            "eth0 00000000 0101A8C0 0003 0 0 100 00000000 0 0 0\n",
        ));
        let header =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
        expect![[r#"
            Err(
                ParseError {
                    line: 2,
                    message: "expected at least 8 fields, found \"eth0\\t00000000\\t0101A8C0\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_ipv4_routes(&format!(
            "{header}eth0\t00000000\t0101A8C0\n"
        )));
        expect![[r#"
            Err(
                ParseError {
                    line: 2,
                    message: "\"0000000G\" is not a hexadecimal number",
                },
            )
        "#]]
        .assert_debug_eq(&parse_ipv4_routes(&format!(
            "{header}eth0 0000000G 0101A8C0 0003 0 0 100 00000000 0 0 0\n"
        )));
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "\"fe80\" is not a 32-digit IPv6 address",
                },
            )
        "#]].assert_debug_eq(&parse_ipv6_routes(
            "fe80 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n",
        ));
    }
}
