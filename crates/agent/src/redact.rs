//! Applies the configured pseudonyms to a whole snapshot before it leaves the machine: the
//! structured fields by type, every free-text field by search, then the findings are judged
//! again so their texts quote only pseudonyms.
//!
//! Free text is searched in two ways. Addresses are recognised by shape: every IPv4, IPv6 or MAC
//! address in the text is replaced, whether or not a structured field holds it (a collector URL
//! in a probe target has no other home). Names cannot be recognised by shape, so the host and
//! user names the snapshot's own fields report are searched for, whole words only and ignoring
//! ASCII case, so `alice` is replaced in `/home/alice` but not in `malice`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sitrep_snapshot::{
    CupsStatus, Disk, Interface, Network, Os, Peripherals, ProbeDetail, ProbeResult, Route,
    Section, Snapshot,
};

use crate::pseudonym::{Pseudonyms, bare_user};

/// The pseudonyms for one snapshot, with the names to look for in its free text.
pub struct Redactor<'p> {
    pseudonyms: &'p Pseudonyms,
    /// (original in ASCII lower case, pseudonym), longest original first so that a host name
    /// wins over a user name it contains.
    names: Vec<(String, String)>,
}

/// Shows how many names are searched for, never the names themselves.
impl fmt::Debug for Redactor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor")
            .field("pseudonyms", self.pseudonyms)
            .field("names", &self.names.len())
            .finish()
    }
}

impl<'p> Redactor<'p> {
    pub fn new(pseudonyms: &'p Pseudonyms, snapshot: &Snapshot) -> Self {
        let mut names = Vec::new();
        if let Some(os) = snapshot.os.ok() {
            let kinds = pseudonyms.kinds();
            if let Some(hostname) = os.hostname.as_deref().filter(|_| kinds.hostname) {
                let pseudonym = pseudonyms.host(hostname);
                let short = hostname.split('.').next().unwrap_or(hostname);
                for original in [hostname, short] {
                    names.push((original.to_ascii_lowercase(), pseudonym.clone()));
                }
            }
            for user in os.users.iter().flatten().filter(|_| kinds.user) {
                let pseudonym = pseudonyms.user(user);
                for original in [user.as_str(), bare_user(user)] {
                    names.push((original.to_ascii_lowercase(), pseudonym.clone()));
                }
            }
        }
        names.retain(|(original, _)| !original.is_empty());
        names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        names.dedup_by(|a, b| a.0 == b.0);
        Redactor { pseudonyms, names }
    }

    /// The snapshot with every configured kind of value replaced, findings judged anew.
    pub fn snapshot(&self, mut snapshot: Snapshot) -> Snapshot {
        self.section(&mut snapshot.os, |os| self.os(os));
        self.section(&mut snapshot.hardware, |_| {});
        self.section(&mut snapshot.disks, |disks| {
            disks.iter_mut().for_each(|d| self.disk(d))
        });
        self.section(&mut snapshot.network, |network| self.network(network));
        self.section(&mut snapshot.probes, |probes| {
            probes.iter_mut().for_each(|p| self.probe(p));
        });
        self.section(&mut snapshot.peripherals, |p| self.peripherals(p));
        snapshot.findings = sitrep_checks::judge(&snapshot);
        snapshot
    }

    /// Free text (a message, a URL, the user's own words) with every name and address replaced.
    pub fn text(&self, text: &str) -> String {
        self.addresses(&self.names(text))
    }

    fn edit(&self, text: &mut String) {
        *text = self.text(text);
    }

    fn edit_opt(&self, text: &mut Option<String>) {
        if let Some(text) = text {
            self.edit(text);
        }
    }

    fn ip(&self, address: &mut IpAddr) {
        *address = self.pseudonyms.ip(*address);
    }

    fn section<T>(&self, section: &mut Section<T>, redact: impl FnOnce(&mut T)) {
        match section {
            Section::Ok(value) => redact(value),
            Section::Error(error) => self.edit(&mut error.message),
            Section::Skipped(reason) => self.edit(reason),
        }
    }

    fn os(&self, os: &mut Os) {
        if let Some(hostname) = &mut os.hostname {
            *hostname = self.pseudonyms.host(hostname);
        }
        for user in os.users.iter_mut().flatten() {
            *user = self.pseudonyms.user(user);
        }
    }

    fn disk(&self, disk: &mut Disk) {
        self.edit(&mut disk.mount_point);
        self.edit(&mut disk.device);
        self.edit_opt(&mut disk.stat_error);
    }

    fn network(&self, network: &mut Network) {
        self.section(&mut network.interfaces, |interfaces| {
            interfaces.iter_mut().for_each(|i| self.interface(i));
        });
        self.section(&mut network.routing, |routing| {
            for route in routing
                .routes
                .iter_mut()
                .chain(&mut routing.default_gateways)
            {
                self.route(route);
            }
        });
        self.section(&mut network.dns, |dns| {
            dns.servers.iter_mut().for_each(|server| self.ip(server));
            dns.search_domains.iter_mut().for_each(|d| self.edit(d));
            if let Some(stub) = &mut dns.local_stub {
                self.ip(stub);
            }
            self.edit(&mut dns.source);
        });
        self.section(&mut network.proxy, |proxy| {
            for setting in &mut proxy.settings {
                self.edit(&mut setting.value);
                self.edit(&mut setting.source);
            }
        });
    }

    /// Print queues name servers and rooms in free text (`ipp://10.1.2.40/...`); the other kinds
    /// hold only device facts, but their errors may quote paths.
    fn peripherals(&self, peripherals: &mut Peripherals) {
        self.section(&mut peripherals.printers, |printers| {
            match &mut printers.cups {
                CupsStatus::Present { server, .. } => self.edit(server),
                CupsStatus::Absent { reason } => self.edit(reason),
            }
            for queue in &mut printers.queues {
                self.edit_opt(&mut queue.uri);
                self.edit_opt(&mut queue.info);
                self.edit_opt(&mut queue.location);
                self.edit_opt(&mut queue.state_message);
            }
        });
        self.section(&mut peripherals.usb, |_| {});
        self.section(&mut peripherals.displays, |_| {});
        self.section(&mut peripherals.audio, |_| {});
        self.section(&mut peripherals.power, |_| {});
        self.section(&mut peripherals.input, |_| {});
        self.section(&mut peripherals.bluetooth, |_| {});
        self.section(&mut peripherals.cameras, |_| {});
        self.section(&mut peripherals.device_problems, |_| {});
    }

    fn interface(&self, interface: &mut Interface) {
        if let Some(mac) = &mut interface.mac {
            *mac = self.pseudonyms.mac(mac);
        }
        for address in &mut interface.addresses {
            self.ip(&mut address.address);
        }
    }

    fn route(&self, route: &mut Route) {
        self.ip(&mut route.destination);
        if let Some(gateway) = &mut route.gateway {
            self.ip(gateway);
        }
    }

    fn probe(&self, probe: &mut ProbeResult) {
        self.edit(&mut probe.target);
        if let Some(failure) = &mut probe.failure {
            self.edit(&mut failure.message);
        }
        match &mut probe.detail {
            ProbeDetail::Ping(ping) => {
                if let Some(address) = &mut ping.address {
                    self.ip(address);
                }
            }
            ProbeDetail::Dns(dns) => {
                if let Some(server) = &mut dns.server {
                    self.ip(server);
                }
                self.edit(&mut dns.name);
                for answer in &mut dns.answers {
                    answer.addresses.iter_mut().for_each(|a| self.ip(a));
                    self.edit_opt(&mut answer.error);
                }
            }
            ProbeDetail::Tcp(tcp) => {
                if let Some(address) = &mut tcp.address {
                    self.ip(address);
                }
            }
            ProbeDetail::Http(http) => {
                self.edit(&mut http.url);
                if let Some(certificate) = &mut http.certificate {
                    self.edit_opt(&mut certificate.error);
                    self.edit_opt(&mut certificate.subject);
                    self.edit_opt(&mut certificate.issuer);
                }
            }
        }
    }

    fn names(&self, text: &str) -> String {
        if self.names.is_empty() {
            return text.to_string();
        }
        // ASCII lower-casing keeps every byte offset, so matches found in `lower` cut `text`.
        let lower = text.to_ascii_lowercase();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut at = 0;
        while let Some(rest) = lower.get(at..).filter(|rest| !rest.is_empty()) {
            let found = self.names.iter().find(|(original, _)| {
                rest.starts_with(original.as_str())
                    && is_whole_name(&lower, at, at + original.len())
            });
            match found {
                Some((original, pseudonym)) => {
                    out.push_str(&text[copied..at]);
                    out.push_str(pseudonym);
                    at += original.len();
                    copied = at;
                }
                None => at += rest.chars().next().map_or(1, char::len_utf8),
            }
        }
        out.push_str(&text[copied..]);
        out
    }

    /// Replaces addresses found by shape. A candidate is a maximal run of the characters
    /// addresses are written with, so `10.0.0.1` inside `10.0.0.12` is never touched: the run is
    /// `10.0.0.12`, an address of its own.
    fn addresses(&self, text: &str) -> String {
        let kinds = self.pseudonyms.kinds();
        if !kinds.ip && !kinds.mac {
            return text.to_string();
        }
        let is_address_char = |c: char| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '-');
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(is_address_char) {
            out.push_str(&rest[..start]);
            let run = &rest[start..];
            let end = run.find(|c| !is_address_char(c)).unwrap_or(run.len());
            out.push_str(&self.addresses_in_run(&run[..end]));
            rest = &run[end..];
        }
        out.push_str(rest);
        out
    }

    /// Replaces each MAC and IPv6 address of a run, the longest starting at the run's start or
    /// after a `:` or `-` (a label glued on, as in `addr:60-BD-8D-F6-47-C8` or `mac:3c:22:...`,
    /// puts hex letters and a separator before the address), then the dotted quads between them.
    fn addresses_in_run(&self, run: &str) -> String {
        let mut out = String::with_capacity(run.len());
        let mut copied = 0;
        let mut at = 0;
        while at < run.len() {
            match self.mac_or_ipv6_at(run, at) {
                Some((end, pseudonym)) => {
                    out.push_str(&self.dotted_quads(&run[copied..at]));
                    out.push_str(&pseudonym);
                    at = end;
                    copied = end;
                }
                None => at = next_address_start(run, at),
            }
        }
        out.push_str(&self.dotted_quads(&run[copied..]));
        out
    }

    /// The longest MAC or IPv6 address at `run[at..]` that ends at a separator or the run's
    /// end (so `10.0.0.1` is never cut out of `10.0.0.12`), with its end and its pseudonym.
    fn mac_or_ipv6_at(&self, run: &str, at: usize) -> Option<(usize, String)> {
        // The longest textual IPv6 address, `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`.
        const LONGEST: usize = 45;
        (at + 1..=run.len().min(at + LONGEST))
            .rev()
            .filter(|&end| end == run.len() || run[end..].starts_with([':', '-', '.']))
            .find_map(|end| {
                let candidate = &run[at..end];
                let after = &run.as_bytes()[end..];
                if is_mac(candidate) {
                    // Six pairs and a seventh: a label's `ac` glued on, as in
                    // `mac:3c:22:fb:12:34:56`, makes the first pair; the six that count are
                    // the last.
                    let seventh_pair = after.len() >= 3
                        && after[0] == candidate.as_bytes()[2]
                        && after[1..3].iter().all(u8::is_ascii_hexdigit)
                        && !after.get(3).is_some_and(u8::is_ascii_hexdigit);
                    return (!seventh_pair).then(|| (end, self.pseudonyms.mac(candidate)));
                }
                // Cut out of a longer run of groups (`ac:fe80:0:0:0:0:0:0:1`): not this one.
                if after.first() == Some(&b':') && after.get(1).is_some_and(u8::is_ascii_hexdigit) {
                    return None;
                }
                // Two groups at least: `e::` in `Note::` is a word, not an address.
                let groups = candidate
                    .split(':')
                    .filter(|group| !group.is_empty())
                    .count();
                match candidate.parse::<Ipv6Addr>() {
                    Ok(v6) if groups >= 2 => {
                        Some((end, self.pseudonyms.ip(IpAddr::V6(v6)).to_string()))
                    }
                    _ => None,
                }
            })
    }

    /// Replaces the dotted quads in text without MACs or IPv6 addresses, as in `10.0.0.1:53` or
    /// `10.0.0.1-10.0.0.9`.
    fn dotted_quads(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        let is_quad_char = |c: char| c.is_ascii_digit() || c == '.';
        while let Some(start) = rest.find(is_quad_char) {
            out.push_str(&rest[..start]);
            let candidate = &rest[start..];
            let end = candidate
                .find(|c| !is_quad_char(c))
                .unwrap_or(candidate.len());
            let quad = candidate[..end].trim_matches('.');
            match quad.parse::<Ipv4Addr>() {
                Ok(v4) => {
                    let offset = candidate[..end].find(quad).unwrap_or(0);
                    out.push_str(&candidate[..offset]);
                    out.push_str(&self.pseudonyms.ip(IpAddr::V4(v4)).to_string());
                    out.push_str(&candidate[offset + quad.len()..end]);
                }
                Err(_) => out.push_str(&candidate[..end]),
            }
            rest = &candidate[end..];
        }
        out.push_str(rest);
        out
    }
}

/// Where the next address may start in a run after `at`: after a `:` or `-`, but not inside
/// `::`. Runs hold only ASCII, so every index is a char boundary.
fn next_address_start(run: &str, at: usize) -> usize {
    let bytes = run.as_bytes();
    (at + 1..run.len())
        .find(|&i| matches!(bytes[i - 1], b':' | b'-') && bytes[i] != b':')
        .unwrap_or(run.len())
}

/// Six pairs of hex digits joined by one kind of separator, `:` or `-`.
fn is_mac(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 17
        && (bytes[2] == b':' || bytes[2] == b'-')
        && bytes.chunks(3).all(|group| {
            group[0].is_ascii_hexdigit()
                && group[1].is_ascii_hexdigit()
                && group.get(2).is_none_or(|sep| *sep == bytes[2])
        })
}

/// `text[start..end]` is a name on its own: not part of a longer word, and not the middle of a
/// hyphenated or dotted name (`alice` in `alice-laptop`, `www.alice`). A dot after it is fine:
/// `alice-laptop.corp.example` is that host, and a sentence may end with a name.
fn is_whole_name(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut before = text[..start].chars().rev();
    let mut after = text[end..].chars();
    let joined_before = match before.next() {
        None => false,
        Some(c) if word(c) => true,
        Some('-' | '.') => before.next().is_some_and(word),
        Some(_) => false,
    };
    let joined_after = match after.next() {
        None => false,
        Some(c) if word(c) => true,
        Some('-') => after.next().is_some_and(word),
        Some(_) => false,
    };
    !joined_before && !joined_after
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::Kinds;
    use crate::test_snapshot::{ip, realistic_snapshot};

    /// Every name and address in [`realistic_snapshot`] that must not leave the machine.
    const ORIGINALS: &[&str] = &[
        "alice",
        "bob",
        "3c:22:fb:12:34:56",
        "f0:de:f1:aa:bb:cc",
        "192.168.1.23",
        "192.168.1.1",
        "192.168.1.0",
        "fe80::3e22:fbff:fe12:3456",
        "fe80::1",
        "2a01:4f8:c0c:1234::23",
        "2a01:4f8::53",
        "10.20.0.5",
        "10.20.0.8",
        "10.20.0.9",
        "192.0.2.10",
    ];

    fn all_kinds() -> Pseudonyms {
        Pseudonyms::with_key(
            &[42; 32],
            Kinds {
                hostname: true,
                user: true,
                mac: true,
                ip: true,
            },
        )
    }

    fn verdicts(snapshot: &Snapshot) -> Vec<(String, sitrep_snapshot::Severity)> {
        snapshot
            .findings
            .iter()
            .map(|f| (f.id.clone(), f.severity))
            .collect()
    }

    #[test]
    fn nothing_identifying_is_left_and_the_snapshot_stays_valid() {
        let original = realistic_snapshot();
        let original_json = serde_json::to_string_pretty(&original).expect("JSON");
        for value in ORIGINALS {
            assert!(
                original_json.contains(value),
                "the fixture really holds {value}"
            );
        }
        let pseudonyms = all_kinds();
        let redacted = Redactor::new(&pseudonyms, &original).snapshot(original.clone());
        let json = serde_json::to_string_pretty(&redacted).expect("JSON");
        let lower = json.to_lowercase();
        for value in ORIGINALS {
            assert!(!lower.contains(value), "{value} is still in:\n{json}");
        }

        let round_trip: Snapshot = serde_json::from_str(&json).expect("still a snapshot");
        assert_eq!(round_trip, redacted);
        let schema = sitrep_snapshot::json_schema();
        let validator = jsonschema::validator_for(&schema).expect("schema");
        let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");

        assert_eq!(
            verdicts(&redacted),
            verdicts(&original),
            "the same judgement"
        );
        assert!(!original.findings.is_empty());
        assert_ne!(
            redacted.findings, original.findings,
            "texts quote pseudonyms"
        );
        // What says nothing about the machine stays readable.
        for kept in [
            "127.0.0.53",
            "\"::1\"",
            "00:00:00:00:00:00",
            "/dev/nvme0n1p2",
            "corp.example",
        ] {
            assert!(json.contains(kept), "{kept}");
        }
        assert_eq!(redacted.id, original.id);
        assert_eq!(redacted.agent, original.agent);
    }

    #[test]
    fn fields_get_the_same_pseudonyms_as_free_text() {
        let original = realistic_snapshot();
        let p = all_kinds();
        let redacted = Redactor::new(&p, &original).snapshot(original);
        let os = redacted.os.ok().expect("os");
        let host = p.host("alice-laptop");
        assert_eq!(os.hostname.as_deref(), Some(host.as_str()));
        assert_eq!(os.users, Some(vec![p.user("alice"), p.user("bob")]));
        let disks = redacted.disks.ok().expect("disks");
        assert_eq!(
            disks[1].mount_point,
            format!("/home/{}/nas", p.user("alice"))
        );
        assert_eq!(
            disks[1].device,
            format!("{}:/export/{}", p.ip(ip("10.20.0.5")), p.user("alice"))
        );
        assert_eq!(
            disks[2].mount_point,
            format!("/media/{0}/{0}'S STICK", p.user("bob"))
        );
        let probes = redacted.probes.ok().expect("probes");
        let collector = p.ip(ip("192.0.2.10"));
        assert_eq!(probes[2].target, format!("{collector}:8443"));
        assert_eq!(
            probes[2].detail.as_tcp().and_then(|tcp| tcp.address),
            Some(collector)
        );
        assert_eq!(
            probes[1].detail.as_dns().map(|d| d.name.as_str()),
            Some(host.as_str())
        );
        let gateway = p.ip(ip("192.168.1.1"));
        assert!(
            redacted
                .findings
                .iter()
                .any(|f| f.title.contains(&gateway.to_string())
                    || f.evidence.contains(&gateway.to_string())),
            "findings speak of the pseudonymized gateway: {:#?}",
            redacted.findings
        );
    }

    #[test]
    fn only_the_configured_kinds_change() {
        let original = realistic_snapshot();
        let ip_only = Pseudonyms::with_key(
            &[42; 32],
            Kinds {
                ip: true,
                ..Kinds::default()
            },
        );
        let redacted = Redactor::new(&ip_only, &original).snapshot(original.clone());
        let json = serde_json::to_string(&redacted).expect("JSON");
        assert!(json.contains("alice-laptop.corp.example") && json.contains("3c:22:fb:12:34:56"));
        assert!(!json.contains("192.168.1.23"));
    }

    #[test]
    fn free_text_replaces_whole_values_only() {
        let snapshot = realistic_snapshot();
        let p = all_kinds();
        let redactor = Redactor::new(&p, &snapshot);
        let v4 = |text: &str| p.ip(ip(text)).to_string();
        let host = p.host("alice-laptop");
        let alice = p.user("alice");
        for (text, expected) in [
            (
                "10.0.0.1 is not 10.0.0.12 or 110.0.0.1".to_string(),
                format!(
                    "{} is not {} or {}",
                    v4("10.0.0.1"),
                    v4("10.0.0.12"),
                    v4("110.0.0.1")
                ),
            ),
            (
                "DNS server 10.0.0.1:53 and [fe80::1]:53 (via 10.0.0.1-10.0.0.9).".to_string(),
                format!(
                    "DNS server {}:53 and [{}]:53 (via {}-{}).",
                    v4("10.0.0.1"),
                    v4("fe80::1"),
                    v4("10.0.0.1"),
                    v4("10.0.0.9")
                ),
            ),
            (
                "MAC 3C-22-FB-12-34-56, kernel 6.1.0-18, version 1.2.3.4.5, uuid 0192f0c4-7d3e"
                    .to_string(),
                format!(
                    "MAC {}, kernel 6.1.0-18, version 1.2.3.4.5, uuid 0192f0c4-7d3e",
                    p.mac("3c:22:fb:12:34:56")
                ),
            ),
            (
                "ALICE-LAPTOP, alice-laptop.corp.example, www.alice-laptop, alice-laptop-2"
                    .to_string(),
                format!("{host}, {host}, www.alice-laptop, alice-laptop-2"),
            ),
            (
                "/home/alice, Alice's, alice. malice alice_x alice-2 CORP\\bob".to_string(),
                format!(
                    "/home/{alice}, {alice}'s, {alice}. malice alice_x alice-2 {}",
                    p.user("bob")
                ),
            ),
        ] {
            assert_eq!(redactor.text(&text), expected, "{text}");
        }
        assert_eq!(
            redactor.text("ünïcode, 127.0.0.1 ok"),
            "ünïcode, 127.0.0.1 ok"
        );
    }

    /// Found by the redaction property: a label glued to an address (`addr:`, `mac:`) made the
    /// run of address characters longer than the address, and the address stayed.
    #[test]
    fn a_label_glued_to_an_address_does_not_hide_it() {
        let snapshot = realistic_snapshot();
        let p = all_kinds();
        let redactor = Redactor::new(&p, &snapshot);
        let mac = p.mac("60:bd:8d:f6:47:c8");
        let v6 = p.ip(ip("fe80::1"));
        for (text, expected) in [
            ("addr:60-BD-8D-F6-47-C8", format!("addr:{mac}")),
            ("mac:60:bd:8d:f6:47:c8", format!("mac:{mac}")),
            ("addr:fe80::1", format!("addr:{v6}")),
            (
                "mac:fe80:0000:0000:0000:0000:0000:0000:0001",
                format!("mac:{v6}"),
            ),
            ("id-fe80::1.", format!("id-{v6}.")),
            ("60-BD-8D-F6-47-C8-eth0", format!("{mac}-eth0")),
            (
                "Note:: 6.1.0-18 1.2.3.4.5",
                "Note:: 6.1.0-18 1.2.3.4.5".to_string(),
            ),
        ] {
            assert_eq!(redactor.text(text), expected, "{text}");
        }
    }

    #[test]
    fn print_queues_quote_pseudonyms() {
        let mut original = realistic_snapshot();
        let mut queue = sitrep_snapshot::PrintQueue {
            name: "Office".to_string(),
            uri: Some("ipp://192.168.1.23/ipp/print".to_string()),
            info: Some("alice's printer".to_string()),
            location: None,
            make_and_model: None,
            state: sitrep_snapshot::PrinterState::Idle,
            state_reasons: Vec::new(),
            state_message: None,
            accepting: true,
            jobs_waiting: 0,
            oldest_job_age_s: None,
            is_default: true,
        };
        original.peripherals = Section::Ok(Peripherals {
            usb: Section::Ok(Vec::new()),
            printers: Section::Ok(sitrep_snapshot::Printers {
                cups: CupsStatus::Present {
                    server: "/run/cups/cups.sock".to_string(),
                    version: None,
                },
                queues: vec![queue.clone()],
                default_printer: Some("Office".to_string()),
            }),
            displays: Section::Ok(Vec::new()),
            audio: Section::Ok(sitrep_snapshot::Audio::default()),
            power: Section::Ok(sitrep_snapshot::Power::default()),
            input: Section::Ok(Vec::new()),
            bluetooth: Section::Ok(sitrep_snapshot::Bluetooth::default()),
            cameras: Section::error(
                sitrep_snapshot::SectionErrorKind::PermissionDenied,
                "cannot read /home/alice/.cache",
            ),
            device_problems: Section::Ok(Vec::new()),
        });
        let pseudonyms = all_kinds();
        let redacted = Redactor::new(&pseudonyms, &original).snapshot(original);
        let peripherals = redacted.peripherals.ok().expect("gathered");
        queue.uri = Some(format!(
            "ipp://{}/ipp/print",
            pseudonyms.ip(ip("192.168.1.23"))
        ));
        queue.info = Some(format!("{}'s printer", pseudonyms.user("alice")));
        assert_eq!(
            peripherals
                .printers
                .ok()
                .map(|printers| printers.queues.clone()),
            Some(vec![queue])
        );
        let cameras = serde_json::to_string(&peripherals.cameras).expect("JSON");
        assert!(!cameras.contains("alice"), "{cameras}");
    }
}
