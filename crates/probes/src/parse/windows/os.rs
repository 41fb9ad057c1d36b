//! The `os` section on Windows: Win32_OperatingSystem, the installed updates
//! (Win32_QuickFixEngineering), Win32_ComputerSystem and the registry's version and
//! pending-reboot keys.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sitrep_snapshot::Os;

use super::{cim_datetime, cim_instance, cim_instances, cim_u64, non_empty};
use crate::ParseError;

/// Shared with the `hardware` section, which reads the memory figures of the same instance.
/// Dates are printed as ISO 8601 in UTC by the query itself: the two PowerShells print a
/// `DateTime` differently (see [`cim_datetime`]).
pub const OPERATING_SYSTEM_QUERY: &str = "Get-CimInstance -ClassName Win32_OperatingSystem | \
     Select-Object Caption, Version, BuildNumber, CSName, \
     @{ n = 'LastBootUpTime'; e = { $_.LastBootUpTime.ToUniversalTime().ToString('o') } }, \
     TotalVisibleMemorySize, FreePhysicalMemory, SizeStoredInPagingFiles, FreeSpaceInPagingFiles";
/// WMI keeps InstalledOn as a US-format string (`11/13/2024`) whatever the locale; the cast
/// reads it that way.
pub const HOTFIX_QUERY: &str = "Get-CimInstance -ClassName Win32_QuickFixEngineering | \
     Select-Object HotFixID, Description, @{ n = 'InstalledOn'; e = { \
     if ($_.InstalledOn) { ([datetime]$_.InstalledOn).ToString('yyyy-MM-dd') } } }";
pub const COMPUTER_SYSTEM_QUERY: &str = "Get-CimInstance -ClassName Win32_ComputerSystem | \
     Select-Object Name, DNSHostName, Domain, PartOfDomain, UserName, Manufacturer, Model";
/// The feature update (`23H2`) and update build revision are only in the registry; Windows
/// Update and servicing leave these keys while they wait for a restart.
pub const CURRENT_VERSION_QUERY: &str = "$v = Get-ItemProperty \
     'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'; [pscustomobject]@{ \
     DisplayVersion = $v.DisplayVersion; UBR = $v.UBR; \
     RebootRequired = (Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired') \
     -or (Test-Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending'); \
     TimeZone = (Get-TimeZone).Id }";

/// The queries of the `os` section, in the order [`os_of`] takes their documents.
pub const QUERIES: [&str; 4] = [
    OPERATING_SYSTEM_QUERY,
    HOTFIX_QUERY,
    COMPUTER_SYSTEM_QUERY,
    CURRENT_VERSION_QUERY,
];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperatingSystem {
    pub caption: Option<String>,
    pub version: Option<String>,
    pub build_number: Option<String>,
    #[serde(rename = "CSName")]
    pub cs_name: Option<String>,
    #[serde(default, deserialize_with = "cim_datetime")]
    pub last_boot_up_time: Option<DateTime<Utc>>,
    /// Kilobytes, as are the three below.
    #[serde(default, deserialize_with = "cim_u64")]
    pub total_visible_memory_size: Option<u64>,
    /// What Task Manager calls available: free plus standby pages.
    #[serde(default, deserialize_with = "cim_u64")]
    pub free_physical_memory: Option<u64>,
    #[serde(default, deserialize_with = "cim_u64")]
    pub size_stored_in_paging_files: Option<u64>,
    #[serde(default, deserialize_with = "cim_u64")]
    pub free_space_in_paging_files: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HotFix {
    #[serde(rename = "HotFixID")]
    pub hot_fix_id: String,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "cim_datetime")]
    pub installed_on: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComputerSystem {
    pub name: Option<String>,
    #[serde(rename = "DNSHostName")]
    pub dns_host_name: Option<String>,
    pub domain: Option<String>,
    /// The user at the console (`CONTOSO\alice`); empty when nobody is logged on there.
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CurrentVersion {
    pub display_version: Option<String>,
    #[serde(rename = "UBR", default, deserialize_with = "cim_u64")]
    pub ubr: Option<u64>,
    #[serde(default)]
    pub reboot_required: bool,
    /// A Windows time zone id such as `W. Europe Standard Time`.
    pub time_zone: Option<String>,
}

/// The text of each of [`QUERIES`]' documents.
#[derive(Debug, Clone, Copy)]
pub struct OsDocuments<'a> {
    pub operating_system: &'a str,
    pub hotfixes: &'a str,
    pub computer_system: &'a str,
    pub current_version: &'a str,
}

/// The `os` section at `now`. Only Win32_OperatingSystem is essential; the other documents
/// may be empty (their query failed) and leave their fields empty.
pub fn os_of(documents: OsDocuments<'_>, now: DateTime<Utc>) -> Result<Os, ParseError> {
    let system: OperatingSystem =
        cim_instance(documents.operating_system, "Win32_OperatingSystem")?;
    let hotfixes: Vec<HotFix> = optional(cim_instances(documents.hotfixes)).unwrap_or_default();
    let computer: Option<ComputerSystem> =
        optional(cim_instances(documents.computer_system)).and_then(|list| list.into_iter().next());
    let current: CurrentVersion = optional(cim_instances(documents.current_version))
        .and_then(|list| list.into_iter().next())
        .unwrap_or_default();

    // The registry's ProductName still says "Windows 10" on Windows 11; the caption is right.
    let name = non_empty(system.caption.as_deref()).unwrap_or_else(|| "Windows".to_owned());
    let build = match (&system.build_number, current.ubr) {
        (Some(build), Some(ubr)) => Some(format!("{build}.{ubr}")),
        (Some(build), None) => Some(build.clone()),
        (None, _) => None,
    };
    let kernel = match (&system.version, current.ubr) {
        (Some(version), Some(ubr)) => Some(format!("{version}.{ubr}")),
        (version, _) => version.clone(),
    };
    // What Settings > About shows: "Windows 11 Pro 23H2".
    let mut pretty_name = name.strip_prefix("Microsoft ").unwrap_or(&name).to_owned();
    if let Some(display_version) = &current.display_version {
        pretty_name.push_str(&format!(" {display_version}"));
    }
    let patch_level = patch_level(build.as_deref(), latest_update(&hotfixes));
    let hostname = computer
        .as_ref()
        .and_then(|computer| non_empty(computer.dns_host_name.as_deref()))
        .or_else(|| non_empty(system.cs_name.as_deref()));
    let users = computer.as_ref().map(|computer| {
        non_empty(computer.user_name.as_deref())
            .into_iter()
            .collect::<Vec<_>>()
    });
    let uptime_seconds = system
        .last_boot_up_time
        .and_then(|boot| u64::try_from((now - boot).num_seconds()).ok());
    Ok(Os {
        family: "windows".to_owned(),
        name,
        id: None,
        version: current.display_version.clone().or(system.version.clone()),
        pretty_name: Some(pretty_name),
        patch_level,
        kernel,
        hostname,
        arch: std::env::consts::ARCH.to_owned(),
        uptime_seconds,
        boot_time: system.last_boot_up_time,
        timezone: current.time_zone.clone(),
        reboot_required: current.reboot_required,
        reboot_required_by: Vec::new(),
        users,
    })
}

/// "22631.4460, latest update KB5046633 of 2024-11-13": the build with its update revision
/// (what winver calls the OS build) and the update installed last.
fn patch_level(build: Option<&str>, update: Option<&HotFix>) -> Option<String> {
    let update = update.map(|update| match update.installed_on {
        Some(date) => format!(
            "latest update {} of {}",
            update.hot_fix_id,
            date.format("%Y-%m-%d")
        ),
        None => format!("latest update {}", update.hot_fix_id),
    });
    let parts: Vec<String> = build.map(str::to_owned).into_iter().chain(update).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The update installed last: what a specialist asks first ("are you up to date?").
pub fn latest_update(hotfixes: &[HotFix]) -> Option<&HotFix> {
    hotfixes
        .iter()
        .filter(|hotfix| hotfix.installed_on.is_some())
        .max_by_key(|hotfix| (hotfix.installed_on, hotfix.hot_fix_id.as_str()))
}

/// An optional document: a parse failure is logged and leaves its fields empty.
fn optional<T>(result: Result<T, ParseError>) -> Option<T> {
    result
        .inspect_err(|error| tracing::debug!(%error, "optional os document unusable"))
        .ok()
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::{fixture, now};

    #[test]
    fn laptop_windows_11() {
        let os = os_of(
            OsDocuments {
                operating_system: &fixture("laptop/Win32_OperatingSystem.json"),
                hotfixes: &fixture("laptop/Win32_QuickFixEngineering.json"),
                computer_system: &fixture("laptop/Win32_ComputerSystem.json"),
                current_version: &fixture("laptop/CurrentVersion.json"),
            },
            now(),
        );
        expect![[r#"
            Ok(
                Os {
                    family: "windows",
                    name: "Microsoft Windows 11 Pro",
                    id: None,
                    version: Some(
                        "23H2",
                    ),
                    pretty_name: Some(
                        "Windows 11 Pro 23H2",
                    ),
                    patch_level: Some(
                        "22631.4460, latest update KB5046633 of 2024-11-13",
                    ),
                    kernel: Some(
                        "10.0.22631.4460",
                    ),
                    hostname: Some(
                        "LAPTOP-7QK2M4",
                    ),
                    arch: "x86_64",
                    uptime_seconds: Some(
                        98400,
                    ),
                    boot_time: Some(
                        2024-11-25T07:20:12.500Z,
                    ),
                    timezone: Some(
                        "W. Europe Standard Time",
                    ),
                    reboot_required: true,
                    reboot_required_by: [],
                    users: Some(
                        [
                            "CONTOSO\\alice",
                        ],
                    ),
                },
            )
        "#]]
        .assert_debug_eq(&os);
    }

    #[test]
    fn only_the_operating_system_is_essential() {
        let os = os_of(
            OsDocuments {
                operating_system: &fixture("desktop/Win32_OperatingSystem.json"),
                hotfixes: "",
                computer_system: "not json",
                current_version: "",
            },
            now(),
        );
        expect![[r#"
            Ok(
                Os {
                    family: "windows",
                    name: "Microsoft Windows 10 Enterprise",
                    id: None,
                    version: Some(
                        "10.0.19045",
                    ),
                    pretty_name: Some(
                        "Windows 10 Enterprise",
                    ),
                    patch_level: Some(
                        "19045",
                    ),
                    kernel: Some(
                        "10.0.19045",
                    ),
                    hostname: Some(
                        "WS-FIN-0231",
                    ),
                    arch: "x86_64",
                    uptime_seconds: Some(
                        1741320,
                    ),
                    boot_time: Some(
                        2024-11-06T06:58:12.500Z,
                    ),
                    timezone: None,
                    reboot_required: false,
                    reboot_required_by: [],
                    users: None,
                },
            )
        "#]]
        .assert_debug_eq(&os);
        assert_eq!(
            os_of(
                OsDocuments {
                    operating_system: "",
                    hotfixes: "",
                    computer_system: "",
                    current_version: "",
                },
                now()
            ),
            Err(ParseError::new(0, "no Win32_OperatingSystem instance"))
        );
    }
}
