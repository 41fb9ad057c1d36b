//! Which probes a report runs: defaults from the network configuration (gateways, DNS servers),
//! the collector, and the configured and requested targets.

use std::net::IpAddr;

use sitrep_snapshot::{Network, TargetRole};

use super::targets::TargetList;

/// The probes of one report, in the order their results are returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbePlan {
    probes: Vec<PlannedProbe>,
}

/// One probe and why it is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedProbe {
    pub role: TargetRole,
    pub probe: Probe,
}

/// What one probe does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Echo requests to an address or a host name (`fe80::1%eth0` for a link-local gateway).
    Ping { target: String },
    /// Does this DNS server answer at all (`NS .`; any response code counts)?
    DnsServer { server: IpAddr },
    /// A and AAAA of `name` through `server` alone; `None` when no DNS server is configured.
    DnsLookup {
        server: Option<IpAddr>,
        name: String,
    },
    /// TCP connect to `host:port`.
    Tcp { target: String },
    /// HTTP(S) GET of a URL.
    Http { url: String },
}

impl Probe {
    /// The target as results name it.
    pub fn target(&self) -> String {
        match self {
            Probe::Ping { target } | Probe::Tcp { target } => target.clone(),
            Probe::DnsServer { server } => server.to_string(),
            Probe::DnsLookup { name, .. } => name.clone(),
            Probe::Http { url } => url.clone(),
        }
    }
}

impl ProbePlan {
    /// Plans the report's probes: ping each default gateway, check each DNS server answers, ask
    /// each DNS server for each name to resolve, connect to the collector, then the configured
    /// and the requested targets. A probe planned twice is run once, under its first role.
    pub fn new(
        network: Option<&Network>,
        collector: Option<&str>,
        configured: &TargetList,
        requested: &TargetList,
    ) -> Self {
        let mut plan = ProbePlan::default();
        let routing = network.and_then(|network| network.routing.ok());
        for route in routing
            .into_iter()
            .flat_map(|routing| &routing.default_gateways)
        {
            if let Some(gateway) = route.gateway {
                plan.push(
                    TargetRole::Gateway,
                    Probe::Ping {
                        target: gateway_target(gateway, &route.interface),
                    },
                );
            }
        }
        let servers: Vec<IpAddr> = network
            .and_then(|network| network.dns.ok())
            .map(|dns| dns.servers.clone())
            .unwrap_or_default();
        for &server in &servers {
            plan.push(TargetRole::DnsServer, Probe::DnsServer { server });
        }
        let with_roles = [
            (TargetRole::Configured, configured),
            (TargetRole::Requested, requested),
        ];
        for (role, targets) in with_roles {
            for name in &targets.resolve {
                if servers.is_empty() {
                    plan.push(
                        role,
                        Probe::DnsLookup {
                            server: None,
                            name: name.clone(),
                        },
                    );
                }
                for &server in &servers {
                    plan.push(
                        role,
                        Probe::DnsLookup {
                            server: Some(server),
                            name: name.clone(),
                        },
                    );
                }
            }
        }
        if let Some(collector) = collector {
            plan.push(
                TargetRole::Collector,
                Probe::Tcp {
                    target: collector_target(collector),
                },
            );
        }
        for (role, targets) in with_roles {
            for target in &targets.ping {
                plan.push(
                    role,
                    Probe::Ping {
                        target: target.clone(),
                    },
                );
            }
            for target in &targets.tcp {
                plan.push(
                    role,
                    Probe::Tcp {
                        target: target.clone(),
                    },
                );
            }
            for url in &targets.http {
                plan.push(role, Probe::Http { url: url.clone() });
            }
        }
        plan
    }

    /// The planned probes, in the order [`super::run`] returns their results.
    pub fn probes(&self) -> &[PlannedProbe] {
        &self.probes
    }

    fn push(&mut self, role: TargetRole, probe: Probe) {
        if !self.probes.iter().any(|planned| planned.probe == probe) {
            self.probes.push(PlannedProbe { role, probe });
        }
    }
}

/// A link-local IPv6 gateway is only reachable through its interface, so the target carries it.
fn gateway_target(gateway: IpAddr, interface: &str) -> String {
    match gateway {
        IpAddr::V6(v6) if v6.is_unicast_link_local() && !interface.is_empty() => {
            format!("{v6}%{interface}")
        }
        _ => gateway.to_string(),
    }
}

/// `host:port` of the collector URL. A URL that does not parse is kept as it is, so the probe
/// reports it as an invalid target instead of silently dropping the collector.
fn collector_target(collector: &str) -> String {
    let Ok(url) = reqwest::Url::parse(collector) else {
        return collector.to_owned();
    };
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        _ => collector.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use sitrep_snapshot::{DnsConfig, Proxy, Route, Routing, Section};

    use super::*;

    fn route(gateway: &str, interface: &str) -> Route {
        Route {
            destination: if gateway.contains(':') {
                "::".parse()
            } else {
                "0.0.0.0".parse()
            }
            .expect("address"),
            prefix_len: 0,
            gateway: Some(gateway.parse().expect("gateway")),
            interface: interface.to_owned(),
            metric: 100,
        }
    }

    fn network(gateways: Vec<Route>, servers: &[&str]) -> Network {
        Network {
            interfaces: Section::Ok(Vec::new()),
            routing: Section::Ok(Routing {
                routes: gateways.clone(),
                default_gateways: gateways,
            }),
            dns: Section::Ok(DnsConfig {
                servers: servers.iter().map(|s| s.parse().expect("server")).collect(),
                ..DnsConfig::default()
            }),
            proxy: Section::Ok(Proxy::default()),
        }
    }

    fn rendered(plan: &ProbePlan) -> Vec<String> {
        plan.probes()
            .iter()
            .map(|p| format!("{:?} {:?}", p.role, p.probe))
            .collect()
    }

    #[test]
    fn defaults_come_from_the_network_and_the_collector() {
        let network = network(
            vec![
                route("192.168.1.1", "eth0"),
                route("fe80::1", "eth0"),
                route("2001:db8::1", "eth0"),
            ],
            &["192.168.1.53", "2001:db8::53"],
        );
        let configured = TargetList {
            resolve: vec!["intranet.corp.example".into()],
            ..TargetList::default()
        };
        let plan = ProbePlan::new(
            Some(&network),
            Some("https://support.example.org:8443/api"),
            &configured,
            &TargetList::default(),
        );
        expect_test::expect![[r#"
            [
                "Gateway Ping { target: \"192.168.1.1\" }",
                "Gateway Ping { target: \"fe80::1%eth0\" }",
                "Gateway Ping { target: \"2001:db8::1\" }",
                "DnsServer DnsServer { server: 192.168.1.53 }",
                "DnsServer DnsServer { server: 2001:db8::53 }",
                "Configured DnsLookup { server: Some(192.168.1.53), name: \"intranet.corp.example\" }",
                "Configured DnsLookup { server: Some(2001:db8::53), name: \"intranet.corp.example\" }",
                "Collector Tcp { target: \"support.example.org:8443\" }",
            ]
        "#]]
        .assert_debug_eq(&rendered(&plan));
    }

    #[test]
    fn configured_and_requested_targets_follow_and_duplicates_run_once() {
        let configured = TargetList {
            ping: vec!["printer.corp.example".into(), "10.0.0.1".into()],
            tcp: vec!["mail.corp.example:993".into()],
            http: vec!["https://intranet.corp.example/health".into()],
            ..TargetList::default()
        };
        let mut requested = TargetList::default();
        for target in ["10.0.0.1", "files.corp.example", "http://[2001:db8::8]/"] {
            requested.push_any(target).expect("valid");
        }
        let network = network(vec![route("10.0.0.1", "eth0")], &[]);
        let plan = ProbePlan::new(
            Some(&network),
            Some("http://[2001:db8::9]"),
            &configured,
            &requested,
        );
        expect_test::expect![[r#"
            [
                "Gateway Ping { target: \"10.0.0.1\" }",
                "Requested DnsLookup { server: None, name: \"files.corp.example\" }",
                "Collector Tcp { target: \"[2001:db8::9]:80\" }",
                "Configured Ping { target: \"printer.corp.example\" }",
                "Configured Tcp { target: \"mail.corp.example:993\" }",
                "Configured Http { url: \"https://intranet.corp.example/health\" }",
                "Requested Ping { target: \"files.corp.example\" }",
                "Requested Http { url: \"http://[2001:db8::8]/\" }",
            ]
        "#]]
        .assert_debug_eq(&rendered(&plan));
    }

    #[test]
    fn missing_network_sections_plan_no_defaults() {
        let mut network = network(vec![route("10.0.0.1", "eth0")], &["10.0.0.53"]);
        network.routing = Section::skipped("not gathered");
        network.dns = Section::skipped("not gathered");
        let plan = ProbePlan::new(
            Some(&network),
            None,
            &TargetList::default(),
            &TargetList::default(),
        );
        assert!(plan.probes().is_empty());
        let plan = ProbePlan::new(None, None, &TargetList::default(), &TargetList::default());
        assert!(plan.probes().is_empty());
    }

    #[test]
    fn unparsable_collector_is_kept_as_written() {
        assert_eq!(collector_target("not a url"), "not a url");
        assert_eq!(collector_target("https://[::1]"), "[::1]:443");
    }
}
