//! Probe targets as people write them: classification of `--target` values and the syntax checks
//! shared by the plan, the config check and the probes themselves.

use std::net::IpAddr;

/// Targets to probe, one list per method. Values are kept as written so results name them the
/// way the user did; they are parsed again when probed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetList {
    /// Addresses or host names to ping (`192.0.2.1`, `fe80::1%eth0`, `printer.corp.example`).
    pub ping: Vec<String>,
    /// Names to look up (A and AAAA) through each DNS server.
    pub resolve: Vec<String>,
    /// `host:port` or `[v6]:port` to connect to.
    pub tcp: Vec<String>,
    /// `http://` or `https://` URLs to fetch.
    pub http: Vec<String>,
}

/// A target whose syntax is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target {value:?}: {reason}")]
pub struct TargetError {
    /// The target as given.
    pub value: String,
    pub reason: String,
}

impl TargetError {
    fn new(value: &str, reason: impl Into<String>) -> Self {
        TargetError {
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}

/// One bad entry of a [`TargetList`], located by list name and index (e.g. `tcp[2]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{list}[{index}]: {error}")]
pub struct InvalidTarget {
    /// `ping`, `resolve`, `tcp` or `http`.
    pub list: &'static str,
    pub index: usize,
    pub error: TargetError,
}

impl TargetList {
    /// Files a command-line `--target` under the method its shape asks for: an `http(s)://` URL is
    /// fetched, `host:port` is connected to, an IP address is pinged, and a host name is both
    /// looked up through every DNS server and pinged.
    pub fn push_any(&mut self, target: &str) -> Result<(), TargetError> {
        let value = target.trim();
        if value.contains("://") {
            parse_http_url(value)?;
            self.http.push(value.to_owned());
        } else if let Some(address) = parse_ip(value) {
            address?;
            self.ping.push(value.to_owned());
        } else if value.starts_with('[') || value.contains(':') {
            parse_host_port(value)?;
            self.tcp.push(value.to_owned());
        } else {
            parse_host_name(value)?;
            self.resolve.push(value.to_owned());
            self.ping.push(value.to_owned());
        }
        Ok(())
    }

    /// Every entry whose syntax is wrong, so a config check can report them all at once.
    pub fn validate(&self) -> Vec<InvalidTarget> {
        type Check = fn(&str) -> Result<(), TargetError>;
        let lists: [(&'static str, &[String], Check); 4] = [
            ("ping", &self.ping, |v| parse_host(v).map(drop)),
            ("resolve", &self.resolve, |v| parse_host_name(v).map(drop)),
            ("tcp", &self.tcp, |v| parse_host_port(v).map(drop)),
            ("http", &self.http, |v| parse_http_url(v).map(drop)),
        ];
        lists
            .into_iter()
            .flat_map(|(list, values, check)| {
                values.iter().enumerate().filter_map(move |(index, value)| {
                    check(value)
                        .err()
                        .map(|error| InvalidTarget { list, index, error })
                })
            })
            .collect()
    }
}

/// A host as a target names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// A literal address; IPv6 link-local addresses carry the interface (`fe80::1%eth0`).
    Ip {
        address: IpAddr,
        zone: Option<String>,
    },
    Name(String),
}

/// A `host:port` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostPort {
    pub host: Host,
    pub port: u16,
}

/// An address or a host name (ping targets).
pub(crate) fn parse_host(value: &str) -> Result<Host, TargetError> {
    match parse_ip(value) {
        Some(parsed) => parsed,
        None => parse_host_name(value).map(|name| Host::Name(name.to_owned())),
    }
}

/// `Some` when `value` is written as an IP address (with an optional `%zone`), even if the zone
/// is misplaced; `None` when it is not an address at all.
fn parse_ip(value: &str) -> Option<Result<Host, TargetError>> {
    let (address, zone) = match value.split_once('%') {
        Some((address, zone)) => (address, Some(zone)),
        None => (value, None),
    };
    let address: IpAddr = address.parse().ok()?;
    Some(match zone {
        None => Ok(Host::Ip {
            address,
            zone: None,
        }),
        Some("") => Err(TargetError::new(value, "empty interface after '%'")),
        Some(_) if address.is_ipv4() => Err(TargetError::new(
            value,
            "an interface ('%zone') only goes with IPv6 addresses",
        )),
        Some(zone) => Ok(Host::Ip {
            address,
            zone: Some(zone.to_owned()),
        }),
    })
}

/// A DNS host name: ASCII letters, digits, `-` and `_`, labels of 1 to 63 characters, at most 253
/// in all, an optional final dot. Returns the name without that dot.
pub(crate) fn parse_host_name(value: &str) -> Result<&str, TargetError> {
    let name = value.strip_suffix('.').unwrap_or(value);
    if name.is_empty() {
        return Err(TargetError::new(value, "empty host name"));
    }
    if !name.is_ascii() {
        return Err(TargetError::new(
            value,
            "international names must be written in ASCII (xn--...)",
        ));
    }
    if name.len() > 253 {
        return Err(TargetError::new(
            value,
            "host name longer than 253 characters",
        ));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(TargetError::new(
                value,
                "each dot-separated label must have 1 to 63 characters",
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(TargetError::new(
                value,
                format!("character {bad:?} is not allowed in a host name"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(TargetError::new(
                value,
                "a label may not start or end with '-'",
            ));
        }
    }
    if name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(TargetError::new(
            value,
            "looks like an IP address but is not a valid one",
        ));
    }
    Ok(name)
}

/// `host:port` or `[v6]:port`.
pub(crate) fn parse_host_port(value: &str) -> Result<HostPort, TargetError> {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| TargetError::new(value, "missing ']' after the IPv6 address"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| TargetError::new(value, "expected ':port' after ']'"))?;
        match parse_ip(inside) {
            Some(Ok(
                host @ Host::Ip {
                    address: IpAddr::V6(_),
                    ..
                },
            )) => (host, port),
            Some(Err(error)) => return Err(TargetError::new(value, error.reason)),
            _ => {
                return Err(TargetError::new(
                    value,
                    "only an IPv6 address goes between '[' and ']'",
                ));
            }
        }
    } else {
        let (host, port) = value
            .rsplit_once(':')
            .ok_or_else(|| TargetError::new(value, "expected host:port"))?;
        if host.contains(':') {
            return Err(TargetError::new(
                value,
                "write an IPv6 address with a port as [address]:port",
            ));
        }
        let host = match parse_ip(host) {
            Some(parsed) => parsed.map_err(|error| TargetError::new(value, error.reason))?,
            None => Host::Name(
                parse_host_name(host)
                    .map_err(|error| TargetError::new(value, error.reason))?
                    .to_owned(),
            ),
        };
        (host, port)
    };
    match port.parse::<u16>() {
        Ok(port) if port != 0 => Ok(HostPort { host, port }),
        _ => Err(TargetError::new(
            value,
            format!("port {port:?} is not a number from 1 to 65535"),
        )),
    }
}

/// An `http://` or `https://` URL with a host.
pub(crate) fn parse_http_url(value: &str) -> Result<reqwest::Url, TargetError> {
    let url =
        reqwest::Url::parse(value).map_err(|error| TargetError::new(value, error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetError::new(
            value,
            format!("scheme {:?} is not http or https", url.scheme()),
        ));
    }
    if url.host().is_none() {
        return Err(TargetError::new(value, "the URL has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(target: &str) -> TargetList {
        let mut list = TargetList::default();
        list.push_any(target).expect("valid target");
        list
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn urls_are_fetched() {
        let list = classify("https://intranet.corp.example/health");
        assert_eq!(
            list.http,
            strings(&["https://intranet.corp.example/health"])
        );
        assert!(list.ping.is_empty() && list.resolve.is_empty() && list.tcp.is_empty());
    }

    #[test]
    fn host_and_port_are_connected_to() {
        assert_eq!(
            classify("mail.corp.example:993").tcp,
            strings(&["mail.corp.example:993"])
        );
        assert_eq!(classify("10.0.0.5:22").tcp, strings(&["10.0.0.5:22"]));
        assert_eq!(
            classify("[2001:db8::1]:443").tcp,
            strings(&["[2001:db8::1]:443"])
        );
        assert_eq!(
            classify("[fe80::1%eth0]:22").tcp,
            strings(&["[fe80::1%eth0]:22"])
        );
    }

    #[test]
    fn addresses_are_pinged() {
        for address in ["192.0.2.1", "2001:db8::1", "fe80::1%eth0", "::1"] {
            let list = classify(address);
            assert_eq!(list.ping, strings(&[address]), "{address}");
            assert!(list.resolve.is_empty(), "{address}");
        }
    }

    #[test]
    fn names_are_resolved_and_pinged() {
        let list = classify("printer.corp.example");
        assert_eq!(list.ping, strings(&["printer.corp.example"]));
        assert_eq!(list.resolve, strings(&["printer.corp.example"]));
    }

    #[test]
    fn bad_syntax_names_the_value() {
        for bad in [
            "",
            "ftp://files.example",
            "host:0",
            "host:99999",
            "host:port",
            "2001:db8::1:99999x",
            "[2001:db8::1]443",
            "[192.0.2.1]:80",
            "10.0.0.1%eth0",
            "fe80::1%",
            "bad_host!",
            "-leading.example",
            "a..b",
            "300.1.1.1",
            "münchen.example",
            "http://",
        ] {
            let error = TargetList::default().push_any(bad).expect_err(bad);
            assert_eq!(error.value, bad.trim());
            assert!(
                error.to_string().contains(&format!("{:?}", bad.trim())),
                "{error}"
            );
        }
    }

    #[test]
    fn ipv6_hosts_keep_their_zone() {
        assert_eq!(
            parse_host("fe80::1%eth0"),
            Ok(Host::Ip {
                address: "fe80::1".parse().expect("address"),
                zone: Some("eth0".into())
            })
        );
        assert_eq!(
            parse_host_port("[fe80::1%2]:22"),
            Ok(HostPort {
                host: Host::Ip {
                    address: "fe80::1".parse().expect("address"),
                    zone: Some("2".into())
                },
                port: 22
            })
        );
    }

    #[test]
    fn trailing_dot_is_accepted() {
        assert_eq!(parse_host_name("agent.test."), Ok("agent.test"));
    }

    #[test]
    fn validate_reports_every_bad_entry_with_its_place() {
        let list = TargetList {
            ping: strings(&["192.0.2.1", "bad name"]),
            resolve: strings(&["ok.example"]),
            tcp: strings(&["no-port"]),
            http: strings(&["https://ok.example", "gopher://x"]),
        };
        let places: Vec<String> = list
            .validate()
            .iter()
            .map(|e| format!("{}[{}]", e.list, e.index))
            .collect();
        assert_eq!(places, ["ping[1]", "tcp[0]", "http[1]"]);
    }
}
