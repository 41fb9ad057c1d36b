//! Fuzzes `parse_ipv4_routes` and `parse_ipv6_routes` (/proc/net/route and ipv6_route, picked by
//! the first byte) and `routing_of`: every route has its family's address and gateway and a
//! prefix length that fits it, the default gateways are the routes to /0 in order, and the
//! routing survives the wire.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sitrep_probes::linux::network::route::{parse_ipv4_routes, parse_ipv6_routes, routing_of};

fuzz_target!(|data: &[u8]| {
    let Some((family, rest)) = sitrep_fuzz::choice(data, 2) else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let (parsed, ipv6) = match family {
        0 => (parse_ipv4_routes(&text), false),
        _ => (parse_ipv6_routes(&text), true),
    };
    let Ok(routes) = parsed else {
        return;
    };
    for route in &routes {
        assert_eq!(route.destination.is_ipv6(), ipv6);
        assert!(
            route
                .gateway
                .is_none_or(|gateway| gateway.is_ipv6() == ipv6)
        );
        assert!(route.prefix_len <= if ipv6 { 128 } else { 32 });
    }
    let routing = routing_of(routes);
    assert!(
        routing
            .default_gateways
            .iter()
            .all(|route| route.is_default())
    );
    assert_eq!(
        routing.default_gateways.len(),
        routing
            .routes
            .iter()
            .filter(|route| route.is_default())
            .count()
    );
    assert!(
        routing
            .default_gateways
            .is_sorted_by_key(|route| route.metric)
    );
    sitrep_fuzz::survives_the_wire(&routing);
});
