//! The `os` section on macOS: `sw_vers`, the kernel's `sysctl` values, `who`, and the
//! /etc/localtime link.

use chrono::{DateTime, Utc};
use sitrep_snapshot::Os;

use super::{key_values, value_of};
use crate::ParseError;
use crate::parse::distinct;

/// `sysctl` names the `os` section reads.
pub const SYSCTL_NAMES: [&str; 3] = ["kern.hostname", "kern.osrelease", "kern.boottime"];

/// The names Apple gives each major version, for the pretty name people recognise.
const RELEASE_NAMES: [(u32, &str); 7] = [
    (10, "macOS"),
    (11, "Big Sur"),
    (12, "Monterey"),
    (13, "Ventura"),
    (14, "Sonoma"),
    (15, "Sequoia"),
    (26, "Tahoe"),
];

/// The outputs the `os` section is made of.
#[derive(Debug, Clone, Copy)]
pub struct OsOutputs<'a> {
    pub sw_vers: &'a str,
    pub sysctl: &'a str,
    pub who: &'a str,
    /// Where /etc/localtime points, e.g. `/var/db/timezone/zoneinfo/Europe/Berlin`.
    pub localtime_link: Option<&'a str>,
}

/// The `os` section at `now`. `sw_vers` is essential; the rest leave their fields empty.
pub fn os_of(outputs: OsOutputs<'_>, now: DateTime<Utc>) -> Result<Os, ParseError> {
    let versions = key_values(outputs.sw_vers);
    let version = value_of(&versions, "ProductVersion")
        .ok_or_else(|| ParseError::new(0, "sw_vers printed no ProductVersion"))?;
    let name = value_of(&versions, "ProductName").unwrap_or("macOS");
    let build = value_of(&versions, "BuildVersion");
    let kernel = key_values(outputs.sysctl);
    let release_name = version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok())
        .and_then(|major| RELEASE_NAMES.iter().find(|(known, _)| *known == major))
        .map(|(_, release)| *release)
        .filter(|release| *release != name);
    let mut pretty_name = name.to_owned();
    if let Some(release) = release_name {
        pretty_name.push_str(&format!(" {release}"));
    }
    pretty_name.push_str(&format!(" {version}"));
    if let Some(build) = build {
        pretty_name.push_str(&format!(" ({build})"));
    }
    // Printed only while a Rapid Security Response is applied, e.g. `(a)`.
    let patch_level = value_of(&versions, "ProductVersionExtra")
        .map(|extra| format!("{version} {extra}, Rapid Security Response"));
    let boot_time = value_of(&kernel, "kern.boottime").and_then(parse_boot_time);
    Ok(Os {
        family: "macos".to_owned(),
        name: name.to_owned(),
        id: Some("macos".to_owned()),
        version: Some(version.to_owned()),
        pretty_name: Some(pretty_name),
        patch_level,
        kernel: value_of(&kernel, "kern.osrelease").map(|release| format!("Darwin {release}")),
        hostname: value_of(&kernel, "kern.hostname").map(str::to_owned),
        arch: std::env::consts::ARCH.to_owned(),
        uptime_seconds: boot_time.and_then(|boot| u64::try_from((now - boot).num_seconds()).ok()),
        boot_time,
        timezone: outputs.localtime_link.and_then(zone_of_link),
        // macOS installs its updates during the restart it asks for; nothing waits half-done.
        reboot_required: false,
        reboot_required_by: Vec::new(),
        users: Some(parse_who(outputs.who)),
    })
}

/// `{ sec = 1732519212, usec = 500000 } Mon Nov 25 08:20:12 2024`.
pub fn parse_boot_time(value: &str) -> Option<DateTime<Utc>> {
    let seconds = value.split("sec = ").nth(1)?.split([',', ' ']).next()?;
    DateTime::from_timestamp(seconds.parse().ok()?, 0)
}

/// The zone of a /etc/localtime link target (`/var/db/timezone/zoneinfo/Europe/Berlin`).
pub fn zone_of_link(target: &str) -> Option<String> {
    let (_, zone) = target.split_once("zoneinfo/")?;
    (!zone.is_empty()).then(|| zone.to_owned())
}

/// The users with a session (`who` prints one line per terminal), sorted and distinct.
pub fn parse_who(text: &str) -> Vec<String> {
    let mut users = distinct(
        text.lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned),
    );
    users.sort();
    users
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::macos::tests_support::{fixture, now};

    #[test]
    fn macbook_on_sonoma() {
        let os = os_of(
            OsOutputs {
                sw_vers: &fixture("macbook/sw_vers.txt"),
                sysctl: &fixture("macbook/sysctl-os.txt"),
                who: &fixture("macbook/who.txt"),
                localtime_link: Some("/var/db/timezone/zoneinfo/Europe/Berlin"),
            },
            now(),
        );
        expect![[r#"
            Ok(
                Os {
                    family: "macos",
                    name: "macOS",
                    id: Some(
                        "macos",
                    ),
                    version: Some(
                        "14.6.1",
                    ),
                    pretty_name: Some(
                        "macOS Sonoma 14.6.1 (23G93)",
                    ),
                    patch_level: None,
                    kernel: Some(
                        "Darwin 23.6.0",
                    ),
                    hostname: Some(
                        "Alices-MacBook-Pro.local",
                    ),
                    arch: "x86_64",
                    uptime_seconds: Some(
                        98400,
                    ),
                    boot_time: Some(
                        2024-11-25T07:20:12Z,
                    ),
                    timezone: Some(
                        "Europe/Berlin",
                    ),
                    reboot_required: false,
                    reboot_required_by: [],
                    users: Some(
                        [
                            "admin.bob",
                            "alice",
                        ],
                    ),
                },
            )
        "#]]
        .assert_debug_eq(&os);
    }

    #[test]
    fn rapid_security_response() {
        let sw_vers = "ProductName:\t\tmacOS\nProductVersion:\t\t13.4.1\nProductVersionExtra:\t(a)\nBuildVersion:\t\t22F770820d\n";
        let os = os_of(
            OsOutputs {
                sw_vers,
                sysctl: "",
                who: "",
                localtime_link: None,
            },
            now(),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            os.patch_level.as_deref(),
            Some("13.4.1 (a), Rapid Security Response")
        );
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("macOS Ventura 13.4.1 (22F770820d)")
        );
    }

    #[test]
    fn sw_vers_is_essential() {
        let outputs = OsOutputs {
            sw_vers: "",
            sysctl: "",
            who: "",
            localtime_link: None,
        };
        assert_eq!(
            os_of(outputs, now()),
            Err(ParseError::new(0, "sw_vers printed no ProductVersion"))
        );
    }
}
