//! DNS probes: does each configured server answer, and what does each one say about each name.
//!
//! Every server is asked on its own, through a resolver that knows only that server, with no
//! cache, one attempt, no hosts file and no search domains (names are asked fully qualified), so
//! a result describes that server and nothing else.

use std::net::IpAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use sitrep_snapshot::{
    DnsAnswer, DnsDetail, ProbeDetail, ProbeFailure, ProbeFailureKind, ProbeOutcome,
};
use tokio::time::Instant;

use super::targets::parse_host_name;
use super::{Finished, ProbeSettings, failure, io_failure_kind, millis};

/// Asks `server` for the root's name servers: any response, even REFUSED, proves it answers.
pub(super) async fn server_answers(server: IpAddr, settings: &ProbeSettings) -> Finished {
    let mut detail = empty_detail(Some(server), ".");
    let resolver = match resolver_for(server, settings.timeout) {
        Ok(resolver) => resolver,
        Err(error) => return client_setup_failed(detail, error),
    };
    let queried = query(&resolver, Name::root(), RecordType::NS, settings.timeout).await;
    let answered = queried.answer.rcode.is_some();
    let message = format!(
        "DNS server {server} did not answer: {}",
        queried.error_text()
    );
    let kind = queried.failure.unwrap_or(ProbeFailureKind::Timeout);
    detail.answers.push(queried.answer);
    if answered {
        Finished::succeeded(ProbeDetail::Dns(detail))
    } else {
        Finished::failed(ProbeDetail::Dns(detail), kind, message)
    }
}

/// Asks `server` for the A and AAAA records of `name`.
pub(super) async fn lookup(server: IpAddr, name: &str, settings: &ProbeSettings) -> Finished {
    let mut detail = empty_detail(Some(server), name);
    let fqdn = match fully_qualified(name) {
        Ok(fqdn) => fqdn,
        Err(message) => {
            return Finished::failed(ProbeDetail::Dns(detail), ProbeFailureKind::Other, message);
        }
    };
    let resolver = match resolver_for(server, settings.timeout) {
        Ok(resolver) => resolver,
        Err(error) => return client_setup_failed(detail, error),
    };
    let (a, aaaa) = futures::future::join(
        query(&resolver, fqdn.clone(), RecordType::A, settings.timeout),
        query(&resolver, fqdn, RecordType::AAAA, settings.timeout),
    )
    .await;
    let (outcome, failure) = judge_lookup(server, name, &[&a, &aaaa]);
    detail.answers = vec![a.answer, aaaa.answer];
    Finished::new(ProbeDetail::Dns(detail), outcome, failure)
}

/// `name` as asked of the server: exactly that name, never expanded with search domains.
fn fully_qualified(name: &str) -> Result<Name, String> {
    let name = parse_host_name(name).map_err(|error| error.to_string())?;
    let mut fqdn =
        Name::from_ascii(name).map_err(|error| format!("invalid name {name:?}: {error}"))?;
    fqdn.set_fqdn(true);
    Ok(fqdn)
}

/// A name to resolve when the machine has no DNS server at all: nobody could be asked.
pub(super) fn no_server(name: &str) -> Finished {
    Finished::failed(
        ProbeDetail::Dns(empty_detail(None, name)),
        ProbeFailureKind::Resolve,
        format!("no DNS server is configured, so nobody could be asked for {name}"),
    )
}

pub(super) fn empty_detail(server: Option<IpAddr>, name: &str) -> DnsDetail {
    DnsDetail {
        server,
        name: name.to_owned(),
        answers: Vec::new(),
    }
}

fn client_setup_failed(detail: DnsDetail, error: NetError) -> Finished {
    let message = format!(
        "cannot set up a DNS client for {}: {error}",
        detail.server_label()
    );
    Finished::failed(ProbeDetail::Dns(detail), ProbeFailureKind::Other, message)
}

fn resolver_for(server: IpAddr, timeout: Duration) -> Result<TokioResolver, NetError> {
    let config = ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(server)]);
    let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.timeout = timeout;
    options.attempts = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.num_concurrent_reqs = 1;
    builder.build()
}

/// One query's answer and, when it did not yield what was asked, why.
#[derive(Debug, Clone, PartialEq)]
struct Queried {
    answer: DnsAnswer,
    failure: Option<ProbeFailureKind>,
}

impl Queried {
    fn error_text(&self) -> &str {
        self.answer.error.as_deref().unwrap_or("no error")
    }
}

async fn query(
    resolver: &TokioResolver,
    name: Name,
    record_type: RecordType,
    timeout: Duration,
) -> Queried {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, resolver.lookup(name, record_type))
        .await
        .unwrap_or(Err(NetError::Timeout));
    queried(record_type, &result, started.elapsed(), timeout)
}

/// Reads a lookup result the way `dig` would show it: the response code, the addresses, and what
/// went wrong in words.
fn queried(
    record_type: RecordType,
    result: &Result<Lookup, NetError>,
    elapsed: Duration,
    timeout: Duration,
) -> Queried {
    let mut answer = DnsAnswer {
        record_type: record_type.to_string(),
        rcode: None,
        addresses: Vec::new(),
        time_ms: millis(elapsed),
        error: None,
    };
    let failure = match result {
        Ok(lookup) => {
            answer.rcode = Some(rcode_name(lookup.message().metadata.response_code));
            answer.addresses = lookup
                .answers()
                .iter()
                .filter(|record| record.record_type() == record_type)
                .filter_map(|record| record.data.ip_addr())
                .collect();
            if answer.addresses.is_empty() && record_type != RecordType::NS {
                answer.error = Some(format!("no {record_type} records (only aliases)"));
                Some(ProbeFailureKind::NoRecords)
            } else {
                None
            }
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. }))) => {
            answer.rcode = Some(rcode_name(*response_code));
            Some(match response_code {
                ResponseCode::NXDomain => {
                    answer.error = Some("the name does not exist (NXDOMAIN)".to_owned());
                    ProbeFailureKind::NameNotFound
                }
                ResponseCode::NoError => {
                    answer.error = Some(format!("the name has no {record_type} records"));
                    ProbeFailureKind::NoRecords
                }
                code => {
                    answer.error = Some(format!("the server answered {}", rcode_name(*code)));
                    ProbeFailureKind::DnsError
                }
            })
        }
        Err(NetError::Dns(DnsError::ResponseCode(code))) => {
            answer.rcode = Some(rcode_name(*code));
            answer.error = Some(format!("the server answered {}", rcode_name(*code)));
            Some(ProbeFailureKind::DnsError)
        }
        Err(NetError::Timeout) => {
            answer.error = Some(format!("no answer within {:.0} ms", millis(timeout)));
            Some(ProbeFailureKind::Timeout)
        }
        Err(NetError::Io(error)) => {
            answer.error = Some(error.to_string());
            Some(io_failure_kind(error))
        }
        Err(error) => {
            answer.error = Some(error.to_string());
            Some(ProbeFailureKind::Other)
        }
    };
    Queried { answer, failure }
}

/// Response codes as DNS tools print them.
fn rcode_name(code: ResponseCode) -> String {
    let name = match code {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::YXDomain => "YXDOMAIN",
        ResponseCode::YXRRSet => "YXRRSET",
        ResponseCode::NXRRSet => "NXRRSET",
        ResponseCode::NotAuth => "NOTAUTH",
        ResponseCode::NotZone => "NOTZONE",
        ResponseCode::BADVERS => "BADVERS",
        ResponseCode::BADSIG => "BADSIG",
        ResponseCode::BADKEY => "BADKEY",
        ResponseCode::BADTIME => "BADTIME",
        ResponseCode::BADMODE => "BADMODE",
        ResponseCode::BADNAME => "BADNAME",
        ResponseCode::BADALG => "BADALG",
        ResponseCode::BADTRUNC => "BADTRUNC",
        ResponseCode::BADCOOKIE => "BADCOOKIE",
        ResponseCode::Unknown(value) => return format!("RCODE{value}"),
    };
    name.to_owned()
}

/// Addresses of either family and no real error: success. Addresses but an error on the other
/// family: partial. No addresses: the first real error, or "no records" when the server simply
/// has none.
fn judge_lookup(
    server: IpAddr,
    name: &str,
    answers: &[&Queried],
) -> (ProbeOutcome, Option<ProbeFailure>) {
    let resolved = answers
        .iter()
        .any(|queried| !queried.answer.addresses.is_empty());
    let worst = answers
        .iter()
        .find(|queried| {
            queried
                .failure
                .is_some_and(|kind| kind != ProbeFailureKind::NoRecords)
        })
        .or_else(|| answers.iter().find(|queried| queried.failure.is_some()));
    let describe = |queried: &Queried| {
        let kind = queried.failure.unwrap_or(ProbeFailureKind::Other);
        failure(
            kind,
            format!(
                "{name} via {server}: {}: {}",
                queried.answer.record_type,
                queried.error_text()
            ),
        )
    };
    match (resolved, worst) {
        (_, None) => (ProbeOutcome::Success, None),
        (true, Some(queried)) if queried.failure == Some(ProbeFailureKind::NoRecords) => {
            (ProbeOutcome::Success, None)
        }
        (true, Some(queried)) => (ProbeOutcome::Partial, Some(describe(queried))),
        (false, Some(queried)) => (ProbeOutcome::Failure, Some(describe(queried))),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use hickory_resolver::proto::op::Query;
    use hickory_resolver::proto::rr::{RData, Record};

    use super::*;

    const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53));

    fn name() -> Name {
        Name::from_ascii("agent.test.").expect("name")
    }

    fn ask(record_type: RecordType, result: Result<Lookup, NetError>) -> Queried {
        queried(
            record_type,
            &result,
            Duration::from_millis(3),
            Duration::from_secs(1),
        )
    }

    fn answered(record_type: RecordType, data: RData) -> Queried {
        let lookup = Lookup::new_with_max_ttl(
            Query::query(name(), record_type),
            [Record::from_rdata(name(), 60, data)],
        );
        ask(record_type, Ok(lookup))
    }

    fn no_records(record_type: RecordType, code: ResponseCode) -> Queried {
        let error = NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            Query::query(name(), record_type),
            code,
        )));
        ask(record_type, Err(error))
    }

    #[test]
    fn addresses_and_rcode_of_an_answer() {
        let a = answered(RecordType::A, RData::A(Ipv4Addr::new(10, 1, 2, 3).into()));
        assert_eq!(a.failure, None);
        assert_eq!(a.answer.rcode.as_deref(), Some("NOERROR"));
        assert_eq!(a.answer.addresses, [IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))]);
        assert_eq!(a.answer.record_type, "A");
        assert_eq!(a.answer.time_ms, 3.0);
    }

    #[test]
    fn negative_answers_map_to_failure_kinds() {
        let nxdomain = no_records(RecordType::A, ResponseCode::NXDomain);
        assert_eq!(nxdomain.failure, Some(ProbeFailureKind::NameNotFound));
        assert_eq!(nxdomain.answer.rcode.as_deref(), Some("NXDOMAIN"));
        let nodata = no_records(RecordType::AAAA, ResponseCode::NoError);
        assert_eq!(nodata.failure, Some(ProbeFailureKind::NoRecords));
        assert_eq!(nodata.answer.rcode.as_deref(), Some("NOERROR"));
        for code in [ResponseCode::ServFail, ResponseCode::Refused] {
            let refused = ask(
                RecordType::A,
                Err(NetError::Dns(DnsError::ResponseCode(code))),
            );
            assert_eq!(refused.failure, Some(ProbeFailureKind::DnsError));
            assert!(refused.answer.rcode.is_some());
        }
    }

    #[test]
    fn no_answer_is_a_timeout_without_rcode() {
        let timeout = ask(RecordType::NS, Err(NetError::Timeout));
        assert_eq!(timeout.failure, Some(ProbeFailureKind::Timeout));
        assert_eq!(timeout.answer.rcode, None);
        assert_eq!(
            timeout.answer.error.as_deref(),
            Some("no answer within 1000 ms")
        );
        let refused = ask(
            RecordType::NS,
            Err(NetError::Io(Arc::new(
                std::io::ErrorKind::ConnectionRefused.into(),
            ))),
        );
        assert_eq!(refused.failure, Some(ProbeFailureKind::Refused));
    }

    #[test]
    fn lookup_with_ipv4_only_succeeds() {
        let a = answered(RecordType::A, RData::A(Ipv4Addr::new(10, 1, 2, 3).into()));
        let aaaa = no_records(RecordType::AAAA, ResponseCode::NoError);
        assert_eq!(
            judge_lookup(SERVER, "agent.test", &[&a, &aaaa]),
            (ProbeOutcome::Success, None)
        );
    }

    #[test]
    fn lookup_with_one_family_timing_out_is_partial() {
        let a = ask(RecordType::A, Err(NetError::Timeout));
        let aaaa = answered(RecordType::AAAA, RData::AAAA(Ipv6Addr::LOCALHOST.into()));
        let (outcome, failure) = judge_lookup(SERVER, "agent.test", &[&a, &aaaa]);
        assert_eq!(outcome, ProbeOutcome::Partial);
        let failure = failure.expect("reported");
        assert_eq!(failure.kind, ProbeFailureKind::Timeout);
        assert_eq!(
            failure.message,
            "agent.test via 10.0.0.53: A: no answer within 1000 ms"
        );
    }

    #[test]
    fn lookup_of_a_missing_name_fails_with_name_not_found() {
        let a = no_records(RecordType::A, ResponseCode::NXDomain);
        let aaaa = no_records(RecordType::AAAA, ResponseCode::NXDomain);
        let (outcome, failure) = judge_lookup(SERVER, "agent.test", &[&a, &aaaa]);
        assert_eq!(outcome, ProbeOutcome::Failure);
        assert_eq!(
            failure.expect("reported").kind,
            ProbeFailureKind::NameNotFound
        );
    }

    #[test]
    fn lookup_without_any_record_fails_with_no_records() {
        let a = no_records(RecordType::A, ResponseCode::NoError);
        let aaaa = no_records(RecordType::AAAA, ResponseCode::NoError);
        let (outcome, failure) = judge_lookup(SERVER, "agent.test", &[&a, &aaaa]);
        assert_eq!(outcome, ProbeOutcome::Failure);
        assert_eq!(failure.expect("reported").kind, ProbeFailureKind::NoRecords);
    }

    #[test]
    fn names_are_asked_fully_qualified() {
        for written in ["agent.test", "agent.test."] {
            let fqdn = fully_qualified(written).expect("valid name");
            assert!(fqdn.is_fqdn());
            assert_eq!(fqdn.to_string(), "agent.test.");
        }
        assert!(fully_qualified("bad name").is_err());
    }

    #[test]
    fn rcodes_are_named_as_dns_tools_do() {
        assert_eq!(rcode_name(ResponseCode::ServFail), "SERVFAIL");
        assert_eq!(rcode_name(ResponseCode::Unknown(4000)), "RCODE4000");
    }
}
