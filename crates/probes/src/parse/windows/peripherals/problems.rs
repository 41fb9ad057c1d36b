//! Device Manager's problem devices: every Plug and Play device whose `ConfigManagerErrorCode`
//! is not 0, with the problem in Microsoft's words.

use sitrep_snapshot::DeviceProblem;

use super::pnp::{NOT_PRESENT, PnpEntity};
use crate::parse::windows::non_empty;

/// "Disabled": someone switched it off in Device Manager; reported, but as a choice.
const DISABLED: u32 = 22;

/// What Device Manager says for each code, from Microsoft's "Device Manager error messages".
const MEANINGS: [(u32, &str); 30] = [
    (1, "This device is not configured correctly"),
    (
        3,
        "The driver for this device might be corrupted, or the system may be running low on memory or other resources",
    ),
    (10, "This device cannot start"),
    (
        12,
        "This device cannot find enough free resources that it can use",
    ),
    (
        14,
        "This device cannot work properly until the computer is restarted",
    ),
    (
        16,
        "Windows cannot identify all the resources this device uses",
    ),
    (18, "The drivers for this device need to be reinstalled"),
    (
        19,
        "Windows cannot start this device because its configuration information in the registry is incomplete or damaged",
    ),
    (21, "Windows is removing this device"),
    (DISABLED, "This device is disabled"),
    (
        24,
        "This device is not present, is not working properly, or does not have all its drivers installed",
    ),
    (28, "The drivers for this device are not installed"),
    (
        29,
        "This device is disabled because its firmware did not give it the required resources",
    ),
    (
        31,
        "This device is not working properly because Windows cannot load the drivers it requires",
    ),
    (32, "A driver (service) for this device has been disabled"),
    (
        33,
        "Windows cannot determine which resources this device requires",
    ),
    (34, "Windows cannot determine the settings for this device"),
    (
        35,
        "The system firmware does not include enough information to configure and use this device",
    ),
    (
        37,
        "Windows cannot initialize the device driver for this hardware",
    ),
    (
        38,
        "Windows cannot load the device driver because a previous instance of it is still in memory",
    ),
    (
        39,
        "Windows cannot load the device driver for this hardware; the driver may be corrupted or missing",
    ),
    (
        40,
        "Windows cannot access this hardware because its service key in the registry is missing or wrong",
    ),
    (
        41,
        "Windows loaded the device driver for this hardware but cannot find the hardware device",
    ),
    (
        42,
        "Windows cannot load the device driver because a duplicate device is already running",
    ),
    (
        43,
        "Windows has stopped this device because it has reported problems",
    ),
    (
        44,
        "An application or service has shut down this hardware device",
    ),
    (
        47,
        "Windows cannot use this device because it was prepared for safe removal but not removed",
    ),
    (
        48,
        "The software for this device has been blocked from starting because it is known to have problems with Windows",
    ),
    (
        49,
        "Windows cannot start new hardware devices because the system hive is too large",
    ),
    (
        52,
        "Windows cannot verify the digital signature of the drivers this device requires",
    ),
];

/// Device Manager's text for `code`, with the code, e.g. "This device cannot start (code 10)".
pub fn problem_text(code: u32) -> String {
    let meaning = MEANINGS.iter().find(|(known, _)| *known == code).map_or(
        "Device Manager reports a problem with this device",
        |(_, text)| text,
    );
    format!("{meaning} (code {code})")
}

/// The bus from the enumerator that opens an instance path (`PCI\...`, `USB\...`,
/// `BTHENUM\...`); software devices (`SWD\...`, `{GUID}\...`) have none.
fn bus_of(instance: &str) -> Option<String> {
    let enumerator = instance.split('\\').next()?.to_ascii_lowercase();
    match enumerator.as_str() {
        "" | "swd" | "root" | "sw" => None,
        _ if enumerator.starts_with('{') => None,
        _ if enumerator.starts_with("bth") => Some("bluetooth".to_owned()),
        _ => Some(enumerator),
    }
}

/// Every device Device Manager flags, in its order, except the ones no longer plugged in.
pub fn device_problems(entities: &[PnpEntity]) -> Vec<DeviceProblem> {
    entities
        .iter()
        .filter(|entity| !matches!(entity.problem(), 0 | NOT_PRESENT))
        .map(|entity| {
            let code = entity.problem();
            DeviceProblem {
                name: entity.name(),
                device_id: entity.pnp_device_id.clone(),
                class: non_empty(entity.pnp_class.as_deref()),
                bus: bus_of(&entity.pnp_device_id),
                code: Some(code),
                problem: problem_text(code),
                driver: non_empty(entity.service.as_deref()),
                disabled: code == DISABLED,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::peripherals::pnp::parse_pnp_entities;
    use crate::parse::windows::tests_support::fixture;

    #[test]
    fn laptop_problems_without_phantoms() {
        let entities = parse_pnp_entities(&fixture("laptop/Win32_PnPEntity.json"))
            .unwrap_or_else(|error| panic!("{error}"));
        expect![[r#"
            [
                DeviceProblem {
                    name: "PCI Data Acquisition and Signal Processing Controller",
                    device_id: "PCI\\VEN_8086&DEV_A0FC&SUBSYS_0B1A1028&REV_20\\3&11583659&0&A0",
                    class: None,
                    bus: Some(
                        "pci",
                    ),
                    code: Some(
                        28,
                    ),
                    problem: "The drivers for this device are not installed (code 28)",
                    driver: None,
                    disabled: false,
                },
                DeviceProblem {
                    name: "Goodix MOC Fingerprint",
                    device_id: "USB\\VID_27C6&PID_63AC\\UIDF2A3B7C1",
                    class: None,
                    bus: Some(
                        "usb",
                    ),
                    code: Some(
                        28,
                    ),
                    problem: "The drivers for this device are not installed (code 28)",
                    driver: None,
                    disabled: false,
                },
                DeviceProblem {
                    name: "Microsoft Wi-Fi Direct Virtual Adapter #2",
                    device_id: "{5D624F94-8850-40C3-A3FA-A4FD2080BAF3}\\VWIFIMP_WFD\\5&1E2F3A4B&0&11",
                    class: Some(
                        "Net",
                    ),
                    bus: None,
                    code: Some(
                        22,
                    ),
                    problem: "This device is disabled (code 22)",
                    driver: Some(
                        "vwifimp",
                    ),
                    disabled: true,
                },
                DeviceProblem {
                    name: "Intel(R) Smart Sound Technology OED",
                    device_id: "INTELAUDIO\\DSP_CTLR_DEV_A0C8&VEN_8086&DEV_0222&SUBSYS_0B1A1028&REV_0020\\5&2E2A4AF3&0&0000",
                    class: Some(
                        "System",
                    ),
                    bus: Some(
                        "intelaudio",
                    ),
                    code: Some(
                        10,
                    ),
                    problem: "This device cannot start (code 10)",
                    driver: Some(
                        "IntcOED",
                    ),
                    disabled: false,
                },
            ]
        "#]]
        .assert_debug_eq(&device_problems(&entities));
    }

    #[test]
    fn unknown_codes_still_say_there_is_a_problem() {
        assert_eq!(
            problem_text(43),
            "Windows has stopped this device because it has reported problems (code 43)"
        );
        assert_eq!(
            problem_text(99),
            "Device Manager reports a problem with this device (code 99)"
        );
        assert_eq!(
            bus_of("HDAUDIO\\FUNC_01&VEN_10EC"),
            Some("hdaudio".to_owned())
        );
        assert_eq!(bus_of("SWD\\MMDEVAPI\\{0.0.0}"), None);
        assert_eq!(bus_of("BTHENUM\\{0000110b}"), Some("bluetooth".to_owned()));
    }
}
