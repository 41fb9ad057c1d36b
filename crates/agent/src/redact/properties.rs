//! Proves that redaction never leaks a value it was configured to hide, for every subset of the
//! kinds and arbitrary snapshots whose names and addresses also sit in free text in the forms
//! tools write them, and that values of the kinds not configured are left alone.
//!
//! The check is an oracle of its own, not the redactor's code again: it looks for each hidden
//! value in the redacted snapshot's JSON in every textual form (any case, MACs with colons or
//! dashes, IPv6 compressed or expanded, the MAC inside an EUI-64 address). Names are hidden as
//! whole words (`alice` in `/home/alice` but not in `malice` or `alice-laptop`), and only those
//! the snapshot's own OS section reports: a name it does not know, the redactor cannot find.

use std::net::{IpAddr, Ipv6Addr};

use proptest::prelude::*;
use serde_json::Value;
use sitrep_snapshot::arbitrary::{self, Machine};
use sitrep_snapshot::{Section, Snapshot};

use super::Redactor;
use crate::pseudonym::{Kinds, Pseudonyms, bare_user};

fn kinds() -> impl Strategy<Value = Kinds> {
    any::<[bool; 4]>().prop_map(|[hostname, user, mac, ip]| Kinds {
        hostname,
        user,
        mac,
        ip,
    })
}

fn machine_and_snapshot() -> impl Strategy<Value = (Machine, Snapshot)> {
    arbitrary::machine()
        .prop_flat_map(|machine| (Just(machine.clone()), arbitrary::snapshot_of(&machine)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn redaction_never_leaks_a_hidden_value(
        (machine, snapshot) in machine_and_snapshot(),
        kinds in kinds(),
    ) {
        let pseudonyms = Pseudonyms::with_key(&[42; 32], kinds);
        let redacted = Redactor::new(&pseudonyms, &snapshot).snapshot(snapshot.clone());
        let json = serde_json::to_value(&redacted).expect("JSON");
        let leaks = Hidden::of(&machine, &snapshot, kinds).leaks(&json);
        prop_assert!(leaks.is_empty(), "{:?} left in {:#}", leaks, json);
    }

    #[test]
    fn kinds_not_configured_are_left_alone(
        snapshot in arbitrary::snapshot(),
        kinds in kinds(),
    ) {
        let pseudonyms = Pseudonyms::with_key(&[42; 32], kinds);
        let redacted = Redactor::new(&pseudonyms, &snapshot).snapshot(snapshot.clone());
        if let (Section::Ok(before), Section::Ok(after)) = (&snapshot.os, &redacted.os) {
            if !kinds.hostname {
                prop_assert_eq!(&before.hostname, &after.hostname);
            }
            if !kinds.user {
                prop_assert_eq!(&before.users, &after.users);
            }
        }
        let (original, redacted) = (without_findings(&snapshot), without_findings(&redacted));
        let (before, after) = (strings(&original), strings(&redacted));
        prop_assert_eq!(before.len(), after.len(), "redaction keeps the shape");
        for (before, after) in before.iter().zip(&after) {
            if !kinds.mac && is_mac(before) {
                prop_assert_eq!(before, after);
            }
            if let (false, Ok(address)) = (kinds.ip, before.parse::<IpAddr>()) {
                // With MACs hidden, an EUI-64 address changes with its MAC (pseudonym.rs).
                if !(kinds.mac && is_eui64(address)) {
                    prop_assert_eq!(Ok(address), after.parse::<IpAddr>(), "{}", before);
                }
            }
        }
        if kinds == Kinds::default() {
            prop_assert_eq!(original, redacted);
        }
    }
}

/// The snapshot's JSON without its findings, which redaction judges anew.
fn without_findings(snapshot: &Snapshot) -> Value {
    let mut json = serde_json::to_value(snapshot).expect("JSON");
    if let Some(object) = json.as_object_mut() {
        object.remove("findings");
    }
    json
}

/// Every string in `json`, in document order (object keys left out).
fn strings(json: &Value) -> Vec<String> {
    match json {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(fields) => fields.values().flat_map(strings).collect(),
        Value::Null | Value::Bool(_) | Value::Number(_) => Vec::new(),
    }
}

/// The values redaction must not leave, in lower case.
#[derive(Debug, Default)]
struct Hidden {
    /// Whole words: host names (the full and the short one) and bare user names.
    names: Vec<String>,
    /// Host names whose short name must not start a dotted word either
    /// (`alice-laptop.lan` is that host).
    short_hosts: Vec<String>,
    /// Substrings: MACs in both spellings and the part of an EUI-64 address that spells one.
    macs: Vec<String>,
    addresses: Vec<IpAddr>,
}

impl Hidden {
    fn of(machine: &Machine, snapshot: &Snapshot, kinds: Kinds) -> Hidden {
        let mut hidden = Hidden::default();
        let os = snapshot.os.ok();
        let host = os.and_then(|os| os.hostname.as_deref());
        let users = os.and_then(|os| os.users.as_deref()).unwrap_or_default();
        let host_names = host.map(|host| {
            let host = host.to_lowercase();
            let short = host.split('.').next().unwrap_or(&host).to_string();
            [host, short]
        });
        let user_names: Vec<String> = users.iter().map(|u| bare_user(u).to_lowercase()).collect();
        // A name of a kind not configured is kept where that kind is (a host named like its
        // user keeps its name in `hostname`).
        let (hidden_names, kept_names): (Vec<&String>, Vec<&String>) =
            match (kinds.hostname, kinds.user) {
                (true, true) => (
                    host_names.iter().flatten().chain(&user_names).collect(),
                    Vec::new(),
                ),
                (true, false) => (
                    host_names.iter().flatten().collect(),
                    user_names.iter().collect(),
                ),
                (false, true) => (
                    user_names.iter().collect(),
                    host_names.iter().flatten().collect(),
                ),
                (false, false) => (Vec::new(), Vec::new()),
            };
        hidden.names = hidden_names
            .into_iter()
            .filter(|name| !name.is_empty() && !kept_names.contains(name))
            .cloned()
            .collect();
        if kinds.hostname {
            hidden.short_hosts = host_names.iter().map(|[_, short]| short.clone()).collect();
        }
        if kinds.mac {
            for mac in machine.macs.iter().filter(|mac| !is_zero_mac(mac)) {
                hidden.macs.push(mac.clone());
                hidden.macs.push(mac.replace(':', "-"));
                let slaac = arbitrary::eui64_link_local(mac);
                // The interface identifier after `ff`: `fbff:fe12:3456` of 3c:22:fb:12:34:56.
                let [.., g5, g6, g7] = slaac.segments();
                hidden.macs.push(format!("{g5:x}:{g6:x}:{g7:x}"));
                hidden.macs.push(format!("{g5:04x}:{g6:04x}:{g7:04x}"));
            }
        }
        if kinds.ip {
            hidden.addresses = machine
                .ipv4
                .iter()
                .copied()
                .map(IpAddr::V4)
                .chain(machine.ipv6.iter().copied().map(IpAddr::V6))
                .filter(|address| !says_nothing_about_the_machine(*address))
                .collect();
        }
        hidden
    }

    /// Each hidden value found in `json`, with the string it was found in.
    fn leaks(&self, json: &Value) -> Vec<(String, String)> {
        let mut leaks = Vec::new();
        for text in strings(json) {
            let lower = text.to_lowercase();
            for word in words(&lower) {
                let name = self.names.iter().find(|name| word == name.as_str());
                let host = self.short_hosts.iter().find(|short| {
                    word.strip_prefix(short.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
                });
                if let Some(found) = name.or(host) {
                    leaks.push((found.clone(), text.clone()));
                }
            }
            for mac in self.macs.iter().filter(|mac| lower.contains(mac.as_str())) {
                leaks.push((mac.clone(), text.clone()));
            }
            for address in &self.addresses {
                if address_forms(*address)
                    .iter()
                    .any(|form| contains_address(&lower, form))
                {
                    leaks.push((address.to_string(), text.clone()));
                }
            }
        }
        leaks
    }
}

/// Words as names are written: letters, digits, `_`, and `-` or `.` inside them.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .map(|word| word.trim_matches(['-', '.']))
        .filter(|word| !word.is_empty())
}

/// The textual forms of an address, lower case: IPv6 compressed and with all eight groups.
fn address_forms(address: IpAddr) -> Vec<String> {
    match address {
        IpAddr::V4(v4) => vec![v4.to_string()],
        IpAddr::V6(v6) => vec![v6.to_string(), expanded(&v6)],
    }
}

fn expanded(address: &Ipv6Addr) -> String {
    let groups: Vec<String> = address
        .segments()
        .iter()
        .map(|g| format!("{g:04x}"))
        .collect();
    groups.join(":")
}

/// `form` occurs in `text` as an address of its own, not as part of a longer one (`10.0.0.1` in
/// `10.0.0.12` or `110.0.0.1`).
fn contains_address(text: &str, form: &str) -> bool {
    let continues = |c: char| c.is_ascii_hexdigit() || matches!(c, ':' | '.');
    text.match_indices(form).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + form.len()..].chars();
        let joined_after = match after.next() {
            Some(':' | '.') => after.next().is_some_and(|c| c.is_ascii_hexdigit()),
            Some(c) => continues(c),
            None => false,
        };
        !before.is_some_and(continues) && !joined_after
    })
}

/// What pseudonymization keeps on purpose (pseudonym.rs).
fn says_nothing_about_the_machine(address: IpAddr) -> bool {
    address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        || matches!(address, IpAddr::V4(v4) if v4.is_broadcast())
}

fn is_zero_mac(mac: &str) -> bool {
    mac.bytes().all(|b| b == b'0' || b == b':' || b == b'-')
}

fn is_mac(text: &str) -> bool {
    text.len() == 17
        && text
            .split([':', '-'])
            .all(|pair| pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_eui64(address: IpAddr) -> bool {
    matches!(address, IpAddr::V6(v6) if v6.octets()[11..13] == [0xff, 0xfe])
}
