//! Keyed pseudonyms for host names, user names, MAC and IP addresses: HMAC-SHA256 under a random
//! key made once per installation, so one value always maps to the same pseudonym here while
//! nobody without the key can tell what it stands for or link it to another installation.
//!
//! Pseudonyms keep each field's type so the snapshot stays valid: `host-3f9a2c1b`,
//! `user-9b1c07d2`, a locally administered MAC `02:xx:xx:xx:xx:xx`, IPv4 in the reserved
//! 240.0.0.0/4 block (first octet 240 to 254, never the broadcast address) and IPv6 in the
//! documentation prefix 2001:db8::/32. An EUI-64 IPv6 address spells out its MAC, so with MACs
//! hidden and addresses not, its interface identifier becomes that of the MAC's pseudonym (the
//! network part stays, and the address still matches its interface's MAC). Loopback, unspecified and multicast addresses say nothing
//! about the machine and stay as they are, so the report still reads sensibly.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use aws_lc_rs::hmac;

use crate::config::Pseudonymized;
use crate::state::{StateDir, StateError};

/// File name of the pseudonym key inside the state dir: 32 random bytes, raw.
pub const KEY_FILE: &str = "pseudonym.key";
const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(
        "{path} holds {len} bytes instead of {KEY_LEN}; remove it to make a new key (pseudonyms \
         then change)"
    )]
    Damaged { path: PathBuf, len: usize },
    #[error("the system random number generator failed")]
    Random,
}

/// Which kinds of values are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kinds {
    pub hostname: bool,
    pub user: bool,
    pub mac: bool,
    pub ip: bool,
}

impl Kinds {
    pub fn of(configured: &[Pseudonymized]) -> Self {
        Kinds {
            hostname: configured.contains(&Pseudonymized::Hostname),
            user: configured.contains(&Pseudonymized::User),
            mac: configured.contains(&Pseudonymized::Mac),
            ip: configured.contains(&Pseudonymized::Ip),
        }
    }
}

/// Maps values of the configured kinds to their pseudonyms; values of other kinds pass unchanged.
pub struct Pseudonyms {
    key: hmac::Key,
    kinds: Kinds,
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonyms")
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

impl Pseudonyms {
    /// The installation's pseudonyms, making the key on first use; `None` when the config asks
    /// for none, so no key is made for nothing.
    pub fn load(
        state: &StateDir,
        configured: &[Pseudonymized],
    ) -> Result<Option<Pseudonyms>, KeyError> {
        let kinds = Kinds::of(configured);
        if kinds == Kinds::default() {
            return Ok(None);
        }
        let key = match state.read(KEY_FILE)? {
            Some(key) => key,
            None => {
                let mut fresh = [0; KEY_LEN];
                aws_lc_rs::rand::fill(&mut fresh).map_err(|_| KeyError::Random)?;
                state.create(KEY_FILE, &fresh)?;
                // Another process may have made its key first; everyone uses the one on disk.
                state.read(KEY_FILE)?.unwrap_or_default()
            }
        };
        if key.len() != KEY_LEN {
            return Err(KeyError::Damaged {
                path: state.file(KEY_FILE),
                len: key.len(),
            });
        }
        Ok(Some(Pseudonyms::with_key(&key, kinds)))
    }

    pub fn with_key(key: &[u8], kinds: Kinds) -> Self {
        Pseudonyms {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
            kinds,
        }
    }

    pub fn kinds(&self) -> Kinds {
        self.kinds
    }

    /// The label keeps kinds apart: a user and a host of the same name get unrelated pseudonyms.
    fn digest(&self, kind: &str, value: &[u8]) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(kind.as_bytes());
        context.update(&[0]);
        context.update(value);
        let mut digest = [0; 32];
        digest.copy_from_slice(context.sign().as_ref());
        digest
    }

    /// `host-` and 8 hex digits. Host names are case-insensitive and the short name is the
    /// host's own part, so `ALICE-PC` and `alice-pc.corp.example` are one host.
    pub fn host(&self, name: &str) -> String {
        if !self.kinds.hostname {
            return name.to_string();
        }
        let short = name.split('.').next().unwrap_or(name);
        format!(
            "host-{}",
            hex(&self.digest("host", short.to_lowercase().as_bytes())[..4])
        )
    }

    /// `user-` and 8 hex digits, for the bare account name (without `DOMAIN\` or `@realm`).
    pub fn user(&self, name: &str) -> String {
        if !self.kinds.user {
            return name.to_string();
        }
        format!(
            "user-{}",
            hex(&self.digest("user", bare_user(name).to_lowercase().as_bytes())[..4])
        )
    }

    /// A locally administered unicast MAC; all zeros (loopback, tunnels) stays.
    pub fn mac(&self, mac: &str) -> String {
        if !self.kinds.mac {
            return mac.to_string();
        }
        let canonical = mac.to_ascii_lowercase().replace('-', ":");
        if canonical.bytes().all(|b| b == b'0' || b == b':') {
            return mac.to_string();
        }
        colon_hex(&self.mac_octets(&canonical))
    }

    /// The pseudonym of a MAC in canonical form (lower case, colons).
    fn mac_octets(&self, canonical: &str) -> [u8; 6] {
        let digest = self.digest("mac", canonical.as_bytes());
        [0x02, digest[0], digest[1], digest[2], digest[3], digest[4]]
    }

    /// An EUI-64 address (`ff:fe` in the middle of its interface identifier) with the
    /// identifier of its MAC's pseudonym; any other address as it is.
    fn eui64_with_mac_pseudonym(&self, address: Ipv6Addr) -> Ipv6Addr {
        let mut octets = address.octets();
        if octets[11..13] != [0xff, 0xfe] {
            return address;
        }
        let mac = [
            octets[8] ^ 0x02,
            octets[9],
            octets[10],
            octets[13],
            octets[14],
            octets[15],
        ];
        if mac == [0; 6] {
            return address;
        }
        let [a, b, c, d, e, f] = self.mac_octets(&colon_hex(&mac));
        octets[8..].copy_from_slice(&[a ^ 0x02, b, c, 0xff, 0xfe, d, e, f]);
        Ipv6Addr::from(octets)
    }

    /// With `ip`, any address but loopback, unspecified, multicast and broadcast. With `mac`
    /// alone, the interface identifier of an EUI-64 IPv6 address (SLAAC's, RFC 4291 appendix
    /// A), which spells out the MAC: it becomes that of the MAC's pseudonym, the network stays.
    pub fn ip(&self, address: IpAddr) -> IpAddr {
        if address.is_loopback() || address.is_unspecified() || address.is_multicast() {
            return address;
        }
        if !self.kinds.ip {
            return match address {
                IpAddr::V6(v6) if self.kinds.mac => IpAddr::V6(self.eui64_with_mac_pseudonym(v6)),
                _ => address,
            };
        }
        match address {
            IpAddr::V4(v4) if v4.is_broadcast() => address,
            IpAddr::V4(v4) => {
                let d = self.digest("ip", &v4.octets());
                IpAddr::V4(Ipv4Addr::new(240 + d[0] % 15, d[1], d[2], d[3]))
            }
            IpAddr::V6(v6) => {
                let d = self.digest("ip", &v6.octets());
                let mut octets = [0; 16];
                octets[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
                octets[4..].copy_from_slice(&d[..12]);
                IpAddr::V6(Ipv6Addr::from(octets))
            }
        }
    }
}

/// The account name without a Windows domain (`CORP\alice`) or a realm (`alice@corp.example`).
pub fn bare_user(name: &str) -> &str {
    let name = name.rsplit('\\').next().unwrap_or(name);
    name.split('@').next().unwrap_or(name)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Pseudonyms {
        Pseudonyms::with_key(
            &[7; 32],
            Kinds {
                hostname: true,
                user: true,
                mac: true,
                ip: true,
            },
        )
    }

    #[test]
    fn pseudonyms_keep_the_type_and_are_stable() {
        let p = all();
        let host = p.host("alice-laptop");
        assert!(host.starts_with("host-") && host.len() == 13, "{host}");
        assert_eq!(p.host("ALICE-LAPTOP.corp.example"), host);
        assert_ne!(p.host("bob-laptop"), host);

        let user = p.user("alice");
        assert!(user.starts_with("user-") && user.len() == 13, "{user}");
        assert_eq!(p.user(r"CORP\Alice"), user);
        assert_eq!(p.user("alice@corp.example"), user);
        assert_ne!(
            p.user("alice-laptop")[5..],
            host[5..],
            "kinds are kept apart"
        );

        let mac = p.mac("3c:22:fb:12:34:56");
        assert!(mac.starts_with("02:") && mac.len() == 17, "{mac}");
        assert_eq!(p.mac("3C-22-FB-12-34-56"), mac);
        assert_eq!(p.mac("00:00:00:00:00:00"), "00:00:00:00:00:00");
    }

    #[test]
    fn addresses_map_into_reserved_space_and_loopback_stays() {
        let p = all();
        for text in ["192.168.1.23", "10.0.0.1", "8.8.8.8", "169.254.3.4"] {
            let IpAddr::V4(mapped) = p.ip(text.parse().expect("ip")) else {
                panic!("IPv4 stays IPv4");
            };
            assert!(
                (240..=254).contains(&mapped.octets()[0]),
                "{text} -> {mapped}"
            );
        }
        for text in ["fe80::3e22:fbff:fe12:3456", "2a01:4f8::1", "fd00::2"] {
            let mapped = p.ip(text.parse().expect("ip"));
            assert!(
                mapped.to_string().starts_with("2001:db8:"),
                "{text} -> {mapped}"
            );
        }
        for kept in [
            "127.0.0.53",
            "::1",
            "0.0.0.0",
            "::",
            "224.0.0.251",
            "255.255.255.255",
        ] {
            let address: IpAddr = kept.parse().expect("ip");
            assert_eq!(p.ip(address), address);
        }
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        assert_eq!(p.ip(a), p.ip(a));
        assert_ne!(p.ip(a), p.ip("10.0.0.12".parse().expect("ip")));
    }

    /// Found by the redaction property: with `mac` alone, the SLAAC address of an interface
    /// still spelled out the MAC that its `mac` field hid.
    #[test]
    fn mac_alone_rewrites_the_eui64_addresses_that_spell_it() {
        let mac_only = Pseudonyms::with_key(
            &[7; 32],
            Kinds {
                mac: true,
                ..Kinds::default()
            },
        );
        let slaac: IpAddr = "fe80::3e22:fbff:fe12:3456".parse().expect("ip");
        let IpAddr::V6(rewritten) = mac_only.ip(slaac) else {
            panic!("IPv6 stays IPv6");
        };
        let pseudonym = mac_only.mac("3c:22:fb:12:34:56");
        let pseudonym: Vec<u8> = pseudonym
            .split(':')
            .map(|pair| u8::from_str_radix(pair, 16).expect("hex"))
            .collect();
        let mut expected = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0, 0];
        expected[8..11].copy_from_slice(&pseudonym[..3]);
        expected[8] ^= 0x02;
        expected[13..].copy_from_slice(&pseudonym[3..]);
        assert_eq!(rewritten, Ipv6Addr::from(expected));
        for kept in ["2a01:4f8::1", "192.168.1.23", "fe80::200:ff:fe00:0"] {
            let address: IpAddr = kept.parse().expect("ip");
            assert_eq!(mac_only.ip(address), address, "not EUI-64, or of no MAC");
        }
    }

    #[test]
    fn only_configured_kinds_change_and_keys_differ() {
        let ip_only = Pseudonyms::with_key(
            &[7; 32],
            Kinds {
                ip: true,
                ..Kinds::default()
            },
        );
        assert_eq!(ip_only.host("alice-laptop"), "alice-laptop");
        assert_eq!(ip_only.user("alice"), "alice");
        assert_eq!(ip_only.mac("3c:22:fb:12:34:56"), "3c:22:fb:12:34:56");
        let other_key = Pseudonyms::with_key(&[8; 32], all().kinds());
        assert_ne!(other_key.host("alice-laptop"), all().host("alice-laptop"));
    }

    #[test]
    fn the_key_is_made_once_and_owner_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(Some(dir.path()));
        assert!(Pseudonyms::load(&state, &[]).expect("no kinds").is_none());
        assert!(!state.file(KEY_FILE).exists(), "no key is made for nothing");

        let first = Pseudonyms::load(&state, &[Pseudonymized::Hostname])
            .expect("load")
            .expect("some");
        let key = std::fs::read(state.file(KEY_FILE)).expect("key file");
        assert_eq!(key.len(), KEY_LEN);
        let second = Pseudonyms::load(&state, &[Pseudonymized::Hostname])
            .expect("load")
            .expect("some");
        assert_eq!(first.host("alice-laptop"), second.host("alice-laptop"));
        assert_eq!(std::fs::read(state.file(KEY_FILE)).expect("key file"), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(state.file(KEY_FILE))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        std::fs::write(state.file(KEY_FILE), b"short").expect("write");
        let error = Pseudonyms::load(&state, &[Pseudonymized::Ip]).expect_err("damaged");
        assert!(error.to_string().contains("holds 5 bytes"), "{error}");
    }
}
