//! The active probes against real servers in network namespaces: ping over raw and datagram
//! sockets, DNS servers that answer, stay silent or deny a name, open and closed TCP ports,
//! HTTP and HTTPS with a self-signed certificate, and the report deadline.
//!
//! Each test builds its own two-namespace "office": a client (10.77.0.2) whose default gateway is
//! a server namespace (10.77.0.1, also 10.77.0.3) that runs dnsmasq and HTTP servers. 10.77.0.99
//! and 10.77.0.98 are on the subnet with nobody behind them, so traffic to them is never answered.
//! The probes run in-process on a thread inside the client namespace.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Duration;

use sitrep_probes::active::{self, ProbePlan, ProbeSettings, TargetList};
use sitrep_snapshot::{
    DnsConfig, DnsDetail, HttpDetail, Network, PingDetail, PingSocket, ProbeDetail,
    ProbeFailureKind, ProbeOutcome, ProbeResult, Proxy, Route, Routing, Section, TargetRole,
    TcpDetail,
};
use sitrep_tests::netns::{Lab, Netns, Veth};
use tokio::time::Instant;

type TestResult = Result<(), Box<dyn Error>>;

const GATEWAY: &str = "10.77.0.1";
const SERVER_SECOND_ADDRESS: &str = "10.77.0.3";
const BLACKHOLED: &str = "10.77.0.99";
const BLACKHOLED_DNS: &str = "10.77.0.98";

/// Short timeouts keep each test to a second or two.
const SETTINGS: ProbeSettings = ProbeSettings {
    timeout: Duration::from_secs(1),
    ping_count: 2,
};

struct Office {
    lab: Lab,
    client: Netns,
    server: Netns,
    veth: Veth,
}

/// The two-namespace office, or `None` (after saying so) where namespaces cannot be made.
fn office(test: &str) -> Result<Option<Office>, Box<dyn Error>> {
    let Some(mut lab) = Lab::or_skip(test)? else {
        return Ok(None);
    };
    let client = lab.namespace("c")?;
    let server = lab.namespace("s")?;
    let veth = lab.link(&client, "10.77.0.2/24", &server, &format!("{GATEWAY}/24"))?;
    lab.add_address(&server, &veth.b, &format!("{SERVER_SECOND_ADDRESS}/24"))?;
    lab.ip(&client, &["route", "add", "default", "via", GATEWAY])?;
    Ok(Some(Office {
        lab,
        client,
        server,
        veth,
    }))
}

impl Office {
    /// Plans and runs the probes inside the client namespace.
    fn probe(
        &self,
        network: Option<&Network>,
        collector: Option<&str>,
        requested: &TargetList,
        settings: ProbeSettings,
        deadline_in: Duration,
    ) -> Result<Vec<ProbeResult>, Box<dyn Error>> {
        let plan = ProbePlan::new(network, collector, &TargetList::default(), requested);
        let results = self.lab.block_on_in(&self.client, move || async move {
            active::run(&plan, &settings, Instant::now() + deadline_in).await
        })?;
        Ok(results)
    }

    fn requested(
        &self,
        targets: &[&str],
        settings: ProbeSettings,
    ) -> Result<Vec<ProbeResult>, Box<dyn Error>> {
        let mut requested = TargetList::default();
        for target in targets {
            requested.push_any(target)?;
        }
        self.probe(None, None, &requested, settings, Duration::from_secs(10))
    }

    fn http_server(&mut self) -> Result<(), Box<dyn Error>> {
        Ok(self
            .lab
            .http_server(&self.server, format!("{GATEWAY}:8080").parse()?)?)
    }
}

fn network(gateways: &[(&str, &str)], dns_servers: &[&str]) -> Result<Network, Box<dyn Error>> {
    let mut default_gateways = Vec::new();
    for (gateway, interface) in gateways {
        let gateway: std::net::IpAddr = gateway.parse()?;
        let destination = if gateway.is_ipv4() {
            "0.0.0.0".parse()?
        } else {
            "::".parse()?
        };
        default_gateways.push(Route {
            destination,
            prefix_len: 0,
            gateway: Some(gateway),
            interface: (*interface).to_owned(),
            metric: 0,
        });
    }
    let servers = dns_servers
        .iter()
        .map(|server| server.parse())
        .collect::<Result<_, _>>()?;
    Ok(Network {
        interfaces: Section::Ok(Vec::new()),
        routing: Section::Ok(Routing {
            routes: default_gateways.clone(),
            default_gateways,
        }),
        dns: Section::Ok(DnsConfig {
            servers,
            ..DnsConfig::default()
        }),
        proxy: Section::Ok(Proxy::default()),
    })
}

fn ping_detail(result: &ProbeResult) -> &PingDetail {
    match &result.detail {
        ProbeDetail::Ping(detail) => detail,
        other => panic!("{}: expected a ping detail, got {other:?}", result.target),
    }
}

fn dns_detail(result: &ProbeResult) -> &DnsDetail {
    match &result.detail {
        ProbeDetail::Dns(detail) => detail,
        other => panic!("{}: expected a DNS detail, got {other:?}", result.target),
    }
}

fn tcp_detail(result: &ProbeResult) -> &TcpDetail {
    match &result.detail {
        ProbeDetail::Tcp(detail) => detail,
        other => panic!("{}: expected a TCP detail, got {other:?}", result.target),
    }
}

fn http_detail(result: &ProbeResult) -> &HttpDetail {
    match &result.detail {
        ProbeDetail::Http(detail) => detail,
        other => panic!("{}: expected an HTTP detail, got {other:?}", result.target),
    }
}

fn failure_kind(result: &ProbeResult) -> Option<ProbeFailureKind> {
    result.failure.as_ref().map(|failure| failure.kind)
}

#[test]
fn raw_ping_reaches_the_gateway_and_times_out_on_a_blackholed_one() -> TestResult {
    let Some(office) = office("raw_ping_reaches_the_gateway_and_times_out_on_a_blackholed_one")?
    else {
        return Ok(());
    };
    // A fresh namespace keeps the kernel default `ping_group_range = 1 0`: no datagram sockets,
    // so root falls back to a raw socket.
    let network = network(
        &[(GATEWAY, &office.veth.a), (BLACKHOLED, &office.veth.a)],
        &[],
    )?;
    let results = office.probe(
        Some(&network),
        None,
        &TargetList::default(),
        SETTINGS,
        Duration::from_secs(10),
    )?;
    assert_eq!(results.len(), 2, "{results:#?}");

    let reachable = &results[0];
    assert_eq!(
        (reachable.target.as_str(), reachable.role),
        (GATEWAY, TargetRole::Gateway)
    );
    assert_eq!(reachable.outcome, ProbeOutcome::Success, "{reachable:#?}");
    let detail = ping_detail(reachable);
    assert_eq!(detail.socket, Some(PingSocket::Raw));
    assert_eq!(
        (detail.sent, detail.received, detail.loss_percent),
        (2, 2, 0.0)
    );
    let (min, avg, max) = (
        detail.rtt_min_ms.expect("min"),
        detail.rtt_avg_ms.expect("avg"),
        detail.rtt_max_ms.expect("max"),
    );
    assert!(
        0.0 < min && min <= avg && avg <= max && max < 1000.0,
        "{detail:?}"
    );

    let blackholed = &results[1];
    assert_eq!(
        (blackholed.target.as_str(), blackholed.role),
        (BLACKHOLED, TargetRole::Gateway)
    );
    assert_eq!(blackholed.outcome, ProbeOutcome::Failure, "{blackholed:#?}");
    assert_eq!(failure_kind(blackholed), Some(ProbeFailureKind::Timeout));
    let detail = ping_detail(blackholed);
    assert_eq!(
        (detail.sent, detail.received, detail.loss_percent),
        (2, 0, 100.0)
    );
    assert_eq!(detail.rtt_avg_ms, None);
    Ok(())
}

#[test]
fn datagram_ping_works_where_ping_group_range_allows_it() -> TestResult {
    let Some(office) = office("datagram_ping_works_where_ping_group_range_allows_it")? else {
        return Ok(());
    };
    office
        .lab
        .sysctl(&office.client, "net.ipv4.ping_group_range", "0 2147483647")?;
    let results = office.requested(&[GATEWAY], SETTINGS)?;
    let [result] = &results[..] else {
        panic!("one result expected: {results:#?}")
    };
    assert_eq!(result.role, TargetRole::Requested);
    assert_eq!(result.outcome, ProbeOutcome::Success, "{result:#?}");
    let detail = ping_detail(result);
    assert_eq!(detail.socket, Some(PingSocket::Datagram));
    assert_eq!((detail.sent, detail.received), (2, 2));
    Ok(())
}

#[test]
fn link_local_ipv6_gateway_is_pinged_through_its_interface() -> TestResult {
    let Some(office) = office("link_local_ipv6_gateway_is_pinged_through_its_interface")? else {
        return Ok(());
    };
    office
        .lab
        .add_address(&office.server, &office.veth.b, "fe80::1/64")?;
    office
        .lab
        .add_address(&office.client, &office.veth.a, "fe80::2/64")?;
    let network = network(&[("fe80::1", &office.veth.a)], &[])?;
    let results = office.probe(
        Some(&network),
        None,
        &TargetList::default(),
        SETTINGS,
        Duration::from_secs(10),
    )?;
    let [result] = &results[..] else {
        panic!("one result expected: {results:#?}")
    };
    assert_eq!(result.target, format!("fe80::1%{}", office.veth.a));
    assert_eq!(result.outcome, ProbeOutcome::Success, "{result:#?}");
    assert_eq!(ping_detail(result).address, Some("fe80::1".parse()?));
    Ok(())
}

#[test]
fn addresses_without_a_route_are_unreachable_at_once() -> TestResult {
    let Some(office) = office("addresses_without_a_route_are_unreachable_at_once")? else {
        return Ok(());
    };
    office
        .lab
        .ip(&office.client, &["route", "del", "default"])?;
    let results = office.requested(&["198.18.0.1", "198.18.0.1:80"], SETTINGS)?;
    let [ping, tcp] = &results[..] else {
        panic!("two results expected: {results:#?}")
    };
    for result in [ping, tcp] {
        assert_eq!(result.outcome, ProbeOutcome::Failure, "{result:#?}");
        assert_eq!(
            failure_kind(result),
            Some(ProbeFailureKind::Unreachable),
            "{result:#?}"
        );
    }
    // The second echo request waits for its turn; the kernel then refuses it at once.
    assert!(
        ping.elapsed_ms < 900.0 && tcp.elapsed_ms < 500.0,
        "{results:#?}"
    );
    Ok(())
}

#[test]
fn dns_servers_that_answer_stay_silent_or_deny_the_name() -> TestResult {
    let Some(mut office) = office("dns_servers_that_answer_stay_silent_or_deny_the_name")? else {
        return Ok(());
    };
    office.lab.dnsmasq(
        &office.server,
        GATEWAY.parse()?,
        &["--address=/agent.test/10.1.2.3", "--local=/agent.test/"],
    )?;
    // Authoritative for agent.test but without records for it: NXDOMAIN.
    office.lab.dnsmasq(
        &office.server,
        SERVER_SECOND_ADDRESS.parse()?,
        &["--local=/agent.test/"],
    )?;
    let network = network(&[], &[GATEWAY, SERVER_SECOND_ADDRESS, BLACKHOLED_DNS])?;
    let configured = TargetList {
        resolve: vec!["agent.test".into()],
        ..TargetList::default()
    };
    let plan = ProbePlan::new(Some(&network), None, &configured, &TargetList::default());
    let results = office.lab.block_on_in(&office.client, move || async move {
        active::run(&plan, &SETTINGS, Instant::now() + Duration::from_secs(10)).await
    })?;
    let summary: Vec<(
        &str,
        TargetRole,
        String,
        ProbeOutcome,
        Option<ProbeFailureKind>,
    )> = results
        .iter()
        .map(|result| {
            (
                result.target.as_str(),
                result.role,
                dns_detail(result).server_label(),
                result.outcome,
                failure_kind(result),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                GATEWAY,
                TargetRole::DnsServer,
                GATEWAY.to_owned(),
                ProbeOutcome::Success,
                None
            ),
            (
                SERVER_SECOND_ADDRESS,
                TargetRole::DnsServer,
                SERVER_SECOND_ADDRESS.to_owned(),
                ProbeOutcome::Success,
                None
            ),
            (
                BLACKHOLED_DNS,
                TargetRole::DnsServer,
                BLACKHOLED_DNS.to_owned(),
                ProbeOutcome::Failure,
                Some(ProbeFailureKind::Timeout)
            ),
            (
                "agent.test",
                TargetRole::Configured,
                GATEWAY.to_owned(),
                ProbeOutcome::Success,
                None
            ),
            (
                "agent.test",
                TargetRole::Configured,
                SERVER_SECOND_ADDRESS.to_owned(),
                ProbeOutcome::Failure,
                Some(ProbeFailureKind::NameNotFound)
            ),
            (
                "agent.test",
                TargetRole::Configured,
                BLACKHOLED_DNS.to_owned(),
                ProbeOutcome::Failure,
                Some(ProbeFailureKind::Timeout)
            ),
        ],
        "{results:#?}"
    );

    // The reachability check got some response code; the dead server none.
    assert!(
        dns_detail(&results[0]).answers[0].rcode.is_some(),
        "{results:#?}"
    );
    assert_eq!(dns_detail(&results[2]).answers[0].rcode, None);

    let good = dns_detail(&results[3]);
    let answers: Vec<(&str, Option<&str>, Vec<String>)> = good
        .answers
        .iter()
        .map(|answer| {
            let addresses = answer.addresses.iter().map(ToString::to_string).collect();
            (
                answer.record_type.as_str(),
                answer.rcode.as_deref(),
                addresses,
            )
        })
        .collect();
    assert_eq!(
        answers,
        [
            ("A", Some("NOERROR"), vec!["10.1.2.3".to_owned()]),
            ("AAAA", Some("NOERROR"), vec![])
        ]
    );
    assert!(
        good.answers
            .iter()
            .all(|answer| answer.time_ms > 0.0 && answer.time_ms < 1000.0),
        "{good:?}"
    );

    let denied = dns_detail(&results[4]);
    assert!(
        denied
            .answers
            .iter()
            .all(|answer| answer.rcode.as_deref() == Some("NXDOMAIN")),
        "{denied:?}"
    );
    let silent = dns_detail(&results[5]);
    assert!(
        silent
            .answers
            .iter()
            .all(|answer| answer.rcode.is_none() && answer.error.is_some()),
        "{silent:?}"
    );
    Ok(())
}

#[test]
fn tcp_connects_to_an_open_port_and_is_refused_by_a_closed_one() -> TestResult {
    let Some(mut office) = office("tcp_connects_to_an_open_port_and_is_refused_by_a_closed_one")?
    else {
        return Ok(());
    };
    office.http_server()?;
    let mut requested = TargetList::default();
    requested.push_any(&format!("{GATEWAY}:8081"))?;
    let collector = format!("http://{GATEWAY}:8080/");
    let results = office.probe(
        None,
        Some(&collector),
        &requested,
        SETTINGS,
        Duration::from_secs(10),
    )?;
    let [open, closed] = &results[..] else {
        panic!("two results expected: {results:#?}")
    };

    assert_eq!(
        (open.target.as_str(), open.role),
        ("10.77.0.1:8080", TargetRole::Collector)
    );
    assert_eq!(open.outcome, ProbeOutcome::Success, "{open:#?}");
    let detail = tcp_detail(open);
    assert_eq!(
        (detail.address, detail.port),
        (Some(GATEWAY.parse()?), 8080)
    );
    assert!(
        detail.connect_ms.is_some_and(|ms| ms < 1000.0),
        "{detail:?}"
    );

    assert_eq!(closed.outcome, ProbeOutcome::Failure, "{closed:#?}");
    assert_eq!(failure_kind(closed), Some(ProbeFailureKind::Refused));
    assert_eq!(tcp_detail(closed).connect_ms, None);
    Ok(())
}

#[test]
fn http_get_reports_status_and_time_to_headers() -> TestResult {
    let Some(mut office) = office("http_get_reports_status_and_time_to_headers")? else {
        return Ok(());
    };
    office.http_server()?;
    let page = format!("http://{GATEWAY}:8080/");
    let missing = format!("http://{GATEWAY}:8080/missing");
    let results = office.requested(&[&page, &missing], SETTINGS)?;
    let [found, not_found] = &results[..] else {
        panic!("two results expected: {results:#?}")
    };

    assert_eq!(found.outcome, ProbeOutcome::Success, "{found:#?}");
    let detail = http_detail(found);
    assert_eq!(
        (detail.url.as_str(), detail.status),
        (page.as_str(), Some(200))
    );
    assert!(
        detail.response_ms.is_some_and(|ms| ms > 0.0 && ms < 1000.0),
        "{detail:?}"
    );
    assert_eq!(detail.certificate, None);

    assert_eq!(not_found.outcome, ProbeOutcome::Failure, "{not_found:#?}");
    assert_eq!(failure_kind(not_found), Some(ProbeFailureKind::HttpStatus));
    assert_eq!(http_detail(not_found).status, Some(404));
    Ok(())
}

#[test]
fn https_with_a_self_signed_certificate_is_reported_untrusted() -> TestResult {
    let Some(mut office) = office("https_with_a_self_signed_certificate_is_reported_untrusted")?
    else {
        return Ok(());
    };
    let certified = rcgen::generate_simple_self_signed(vec![GATEWAY.to_owned()])?;
    let address: SocketAddr = format!("{GATEWAY}:8443").parse()?;
    office.lab.https_server(
        &office.server,
        address,
        &certified.cert.pem(),
        &certified.signing_key.serialize_pem(),
    )?;
    let url = format!("https://{GATEWAY}:8443/");
    let results = office.requested(&[&url], SETTINGS)?;
    let [result] = &results[..] else {
        panic!("one result expected: {results:#?}")
    };

    assert_eq!(result.outcome, ProbeOutcome::Failure, "{result:#?}");
    assert_eq!(failure_kind(result), Some(ProbeFailureKind::Tls));
    let certificate = http_detail(result)
        .certificate
        .as_ref()
        .expect("certificate reported");
    assert!(!certificate.valid);
    assert!(
        certificate
            .error
            .as_deref()
            .is_some_and(|error| error.contains("UnknownIssuer")),
        "{certificate:?}"
    );
    // Read through the second, unverified handshake.
    assert_eq!(
        certificate.subject.as_deref(),
        Some("CN=rcgen self signed cert")
    );
    assert!(
        certificate.days_left.is_some_and(|days| days > 0),
        "{certificate:?}"
    );
    Ok(())
}

#[test]
fn report_deadline_cuts_off_a_slow_probe_without_losing_it() -> TestResult {
    let Some(office) = office("report_deadline_cuts_off_a_slow_probe_without_losing_it")? else {
        return Ok(());
    };
    let mut requested = TargetList::default();
    requested.push_any(GATEWAY)?;
    requested.push_any(&format!("{BLACKHOLED}:80"))?;
    // The connect could wait 5 s; the report allows 300 ms.
    let settings = ProbeSettings {
        timeout: Duration::from_secs(5),
        ping_count: 1,
    };
    let results = office.probe(None, None, &requested, settings, Duration::from_millis(300))?;
    let [fast, slow] = &results[..] else {
        panic!("two results expected: {results:#?}")
    };

    assert_eq!(fast.outcome, ProbeOutcome::Success, "{fast:#?}");
    assert_eq!(slow.target, format!("{BLACKHOLED}:80"));
    assert_eq!(slow.outcome, ProbeOutcome::Failure, "{slow:#?}");
    let failure = slow.failure.as_ref().expect("failure reported");
    assert_eq!(failure.kind, ProbeFailureKind::Timeout);
    assert!(failure.message.contains("report deadline"), "{failure:?}");
    assert!(
        slow.elapsed_ms >= 250.0 && slow.elapsed_ms < 1000.0,
        "{slow:#?}"
    );
    assert_eq!(tcp_detail(slow).port, 80);
    Ok(())
}
