//! `ipconfig /all`: the fallback for DNS settings when WMI does not answer (its repository is
//! a common casualty of broken updates), and the only source of IPv6 DNS servers.
//!
//! Its labels are translated on non-English Windows; only the English ones are read, so on
//! other languages the parse finds no servers and the section says so.

use std::net::IpAddr;

use sitrep_snapshot::DnsConfig;

use crate::ParseError;
use crate::parse::{address_of, distinct};

pub const SOURCE: &str = "ipconfig /all";
/// Settings are indented by three spaces, continuation lines by about forty.
const CONTINUATION_INDENT: usize = 8;

/// One adapter block of `ipconfig /all`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpconfigAdapter {
    /// The header without its colon, e.g. `Wireless LAN adapter Wi-Fi`.
    pub header: String,
    pub description: Option<String>,
    /// `Media State . . . : Media disconnected`.
    pub disconnected: bool,
    pub connection_suffix: Option<String>,
    pub dns_servers: Vec<IpAddr>,
    pub default_gateways: Vec<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ipconfig {
    pub host_name: Option<String>,
    pub suffix_search_list: Vec<String>,
    pub adapters: Vec<IpconfigAdapter>,
}

/// Parses `ipconfig /all`: a `Windows IP Configuration` block, then one block per adapter
/// whose header is not indented. Each setting is `   Label . . . . : value`, and a setting with
/// several values continues on lines that hold only the value.
pub fn parse_ipconfig(text: &str) -> Result<Ipconfig, ParseError> {
    let mut config = Ipconfig::default();
    let mut seen_header = false;
    // The label of the setting the last line belonged to, for continuation lines.
    let mut label = String::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            if line.trim() == "Windows IP Configuration" {
                seen_header = true;
            } else if let Some(header) = line.strip_suffix(':') {
                config.adapters.push(IpconfigAdapter {
                    header: header.trim().to_owned(),
                    ..IpconfigAdapter::default()
                });
            }
            label.clear();
            continue;
        }
        let value = match split_setting(line) {
            Some((name, value)) => {
                label = name;
                value
            }
            None => line.trim().to_owned(),
        };
        if value.is_empty() {
            continue;
        }
        match config.adapters.last_mut() {
            None => match label.as_str() {
                "Host Name" => config.host_name = Some(value),
                "DNS Suffix Search List" => config.suffix_search_list.push(value),
                _ => {}
            },
            Some(adapter) => match label.as_str() {
                "Description" => adapter.description = Some(value),
                "Media State" => adapter.disconnected = value == "Media disconnected",
                "Connection-specific DNS Suffix" => adapter.connection_suffix = Some(value),
                "DNS Servers" => adapter.dns_servers.extend(address_of(&value)),
                "Default Gateway" => adapter.default_gateways.extend(address_of(&value)),
                _ => {}
            },
        }
    }
    if !seen_header {
        return Err(ParseError::new(
            1,
            "no \"Windows IP Configuration\" header (ipconfig in another language?)",
        ));
    }
    Ok(config)
}

/// `   DNS Servers . . . . . . . . . . . : 192.168.178.1` into its label and value; `None` for
/// a continuation line, which is indented to where the values start.
fn split_setting(line: &str) -> Option<(String, String)> {
    let indent = line.len() - line.trim_start().len();
    if indent > CONTINUATION_INDENT {
        return None;
    }
    let (label, value) = line
        .split_once(" : ")
        .or_else(|| line.strip_suffix(':').map(|label| (label, "")))?;
    // The dots pad the label to one width: `Host Name . . . :`, `IP Routing Enabled. . . :`.
    let label = label.trim().trim_end_matches(['.', ' ']).trim();
    Some((label.to_owned(), value.trim().to_owned()))
}

/// The DNS settings of the connected adapters, in the order ipconfig lists them.
pub fn dns_of(config: &Ipconfig) -> DnsConfig {
    let connected = || {
        config
            .adapters
            .iter()
            .filter(|adapter| !adapter.disconnected)
    };
    DnsConfig {
        servers: distinct(connected().flat_map(|adapter| adapter.dns_servers.iter().copied())),
        search_domains: distinct(
            config
                .suffix_search_list
                .iter()
                .cloned()
                .chain(connected().filter_map(|adapter| adapter.connection_suffix.clone())),
        ),
        local_stub: None,
        source: SOURCE.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    #[test]
    fn laptop_with_wifi_ethernet_and_vpn() {
        let config = parse_ipconfig(&fixture("laptop/ipconfig-all.txt"));
        expect![[r#"
            Ok(
                Ipconfig {
                    host_name: Some(
                        "LAPTOP-7QK2M4",
                    ),
                    suffix_search_list: [
                        "corp.contoso.com",
                        "contoso.com",
                    ],
                    adapters: [
                        IpconfigAdapter {
                            header: "Ethernet adapter Ethernet",
                            description: Some(
                                "Intel(R) Ethernet Connection (16) I219-LM",
                            ),
                            disconnected: true,
                            connection_suffix: None,
                            dns_servers: [],
                            default_gateways: [],
                        },
                        IpconfigAdapter {
                            header: "Ethernet adapter Ethernet 2",
                            description: Some(
                                "PANGP Virtual Ethernet Adapter Secure",
                            ),
                            disconnected: false,
                            connection_suffix: Some(
                                "corp.contoso.com",
                            ),
                            dns_servers: [
                                10.20.0.53,
                                10.20.0.54,
                            ],
                            default_gateways: [
                                0.0.0.0,
                            ],
                        },
                        IpconfigAdapter {
                            header: "Ethernet adapter Ethernet 3",
                            description: Some(
                                "Realtek USB GbE Family Controller",
                            ),
                            disconnected: false,
                            connection_suffix: Some(
                                "fritz.box",
                            ),
                            dns_servers: [
                                192.168.178.1,
                            ],
                            default_gateways: [
                                192.168.178.1,
                            ],
                        },
                        IpconfigAdapter {
                            header: "Wireless LAN adapter Wi-Fi",
                            description: Some(
                                "Intel(R) Wi-Fi 6E AX211 160MHz",
                            ),
                            disconnected: false,
                            connection_suffix: Some(
                                "fritz.box",
                            ),
                            dns_servers: [
                                192.168.178.1,
                                fd00::3a10:d5ff:fe6c:1b2a,
                            ],
                            default_gateways: [
                                fe80::3a10:d5ff:fe6c:1b2a,
                                192.168.178.1,
                            ],
                        },
                        IpconfigAdapter {
                            header: "Ethernet adapter Bluetooth Network Connection",
                            description: Some(
                                "Bluetooth Device (Personal Area Network)",
                            ),
                            disconnected: true,
                            connection_suffix: None,
                            dns_servers: [],
                            default_gateways: [],
                        },
                    ],
                },
            )
        "#]]
        .assert_debug_eq(&config);
        expect![[r#"
            Ok(
                DnsConfig {
                    servers: [
                        10.20.0.53,
                        10.20.0.54,
                        192.168.178.1,
                        fd00::3a10:d5ff:fe6c:1b2a,
                    ],
                    search_domains: [
                        "corp.contoso.com",
                        "contoso.com",
                        "fritz.box",
                    ],
                    local_stub: None,
                    source: "ipconfig /all",
                },
            )
        "#]]
        .assert_debug_eq(&config.map(|config| dns_of(&config)));
    }

    #[test]
    fn another_language_is_an_error() {
        let german =
            "\r\nWindows-IP-Konfiguration\r\n\r\n   Hostname  . . . . . . . . . . . . : PC-01\r\n";
        assert_eq!(
            parse_ipconfig(german),
            Err(ParseError::new(
                1,
                "no \"Windows IP Configuration\" header (ipconfig in another language?)"
            ))
        );
    }
}
