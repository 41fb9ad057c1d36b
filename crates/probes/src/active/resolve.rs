//! Turns a target's host into socket addresses: literal addresses as they are (with the interface
//! scope of link-local IPv6), host names through the system resolver.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use sitrep_snapshot::{ProbeFailure, ProbeFailureKind};

use super::targets::Host;
use super::{failure, millis};

/// The addresses of `host` with `port`, in the resolver's order of preference. Name lookups give
/// up after `timeout`; every failure is a [`ProbeFailureKind::Resolve`] naming the host.
pub(super) async fn addresses(
    host: &Host,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, ProbeFailure> {
    match host {
        Host::Ip {
            address: IpAddr::V6(v6),
            zone: Some(zone),
        } => {
            let scope = scope_id(zone).ok_or_else(|| {
                failure(
                    ProbeFailureKind::Resolve,
                    format!("no network interface {zone:?} to reach {v6} through"),
                )
            })?;
            Ok(vec![SocketAddr::V6(SocketAddrV6::new(*v6, port, 0, scope))])
        }
        Host::Ip { address, .. } => Ok(vec![SocketAddr::new(*address, port)]),
        Host::Name(name) => {
            match tokio::time::timeout(timeout, tokio::net::lookup_host((name.as_str(), port)))
                .await
            {
                Err(_) => Err(failure(
                    ProbeFailureKind::Resolve,
                    format!(
                        "looking up {name} took longer than {:.0} ms",
                        millis(timeout)
                    ),
                )),
                Ok(Err(error)) => Err(failure(
                    ProbeFailureKind::Resolve,
                    format!("cannot resolve {name}: {error}"),
                )),
                Ok(Ok(found)) => {
                    let found: Vec<SocketAddr> = found.collect();
                    if found.is_empty() {
                        Err(failure(
                            ProbeFailureKind::Resolve,
                            format!("{name} has no address"),
                        ))
                    } else {
                        Ok(found)
                    }
                }
            }
        }
    }
}

/// The interface index an IPv6 zone names: a number as it is, otherwise an interface name.
fn scope_id(zone: &str) -> Option<u32> {
    if let Ok(index) = zone.parse() {
        return Some(index);
    }
    if_addrs::get_if_addrs()
        .ok()?
        .into_iter()
        .find(|interface| interface.name == zone)?
        .index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literal_addresses_need_no_lookup() {
        let host = Host::Ip {
            address: "192.0.2.7".parse().expect("address"),
            zone: None,
        };
        let found = addresses(&host, 443, Duration::from_secs(1))
            .await
            .expect("literal");
        assert_eq!(
            found,
            ["192.0.2.7:443"
                .parse::<SocketAddr>()
                .expect("socket address")]
        );
    }

    #[tokio::test]
    async fn numeric_zone_is_the_scope() {
        let host = Host::Ip {
            address: "fe80::1".parse().expect("address"),
            zone: Some("7".into()),
        };
        let found = addresses(&host, 22, Duration::from_secs(1))
            .await
            .expect("numeric zone");
        assert!(matches!(found[..], [SocketAddr::V6(v6)] if v6.scope_id() == 7));
    }

    #[tokio::test]
    async fn unknown_interface_is_a_resolve_failure() {
        let host = Host::Ip {
            address: "fe80::1".parse().expect("address"),
            zone: Some("no-such-if0".into()),
        };
        let failure = addresses(&host, 22, Duration::from_secs(1))
            .await
            .expect_err("unknown interface");
        assert_eq!(failure.kind, ProbeFailureKind::Resolve);
        assert!(
            failure.message.contains("no-such-if0"),
            "{}",
            failure.message
        );
    }
}
