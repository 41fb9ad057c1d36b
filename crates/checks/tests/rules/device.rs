//! device.problem: devices the system lists but cannot use.

use expect_test::expect;
use sitrep_snapshot::DeviceProblem;

use crate::healthy::{device_problems, healthy, judged, usb_devices};
use crate::healthy_peripherals::{driverless_wifi_card, usb_device};

fn windows_problem(name: &str, id: &str, class: Option<&str>, code: u32) -> DeviceProblem {
    DeviceProblem {
        name: name.to_owned(),
        device_id: id.to_owned(),
        class: class.map(str::to_owned),
        bus: id.split('\\').next().map(str::to_ascii_lowercase),
        code: Some(code),
        problem: format!("Device Manager's text (code {code})"),
        driver: None,
        disabled: code == 22,
    }
}

#[test]
fn healthy_devices_pass_and_disabled_ones_are_only_mentioned() {
    let mut snapshot = healthy();
    expect![[r#"
        pass device.problem: Every device has a working driver
            evidence: No device reports a problem
    "#]]
    .assert_eq(&judged(&snapshot, "device."));
    device_problems(&mut snapshot).push(windows_problem(
        "Microsoft Wi-Fi Direct Virtual Adapter #2",
        "{5D624F94-8850-40C3-A3FA-A4FD2080BAF3}\\VWIFIMP_WFD\\5&1E2F3A4B&0&11",
        Some("Net"),
        22,
    ));
    expect![[r#"
        pass device.problem: Every device has a working driver
            evidence: No device reports a problem; disabled on purpose: 1 device (Microsoft Wi-Fi Direct Virtual Adapter #2)
    "#]]
    .assert_eq(&judged(&snapshot, "device."));
}

#[test]
fn every_problem_warns_once_and_usb_ones_are_left_to_usb_no_driver() {
    let mut snapshot = healthy();
    let mut oed = windows_problem(
        "Intel(R) Smart Sound Technology OED",
        "INTELAUDIO\\DSP_CTLR_DEV_A0C8&VEN_8086\\5&2E2A4AF3&0&0000",
        Some("System"),
        10,
    );
    oed.driver = Some("IntcOED".to_owned());
    let fingerprint_id = "USB\\VID_27C6&PID_63AC\\UIDF2A3B7C1";
    usb_devices(&mut snapshot).push(usb_device(fingerprint_id, "27c6", "63ac", "unknown", &[]));
    device_problems(&mut snapshot).extend([
        oed,
        windows_problem(
            "PCI Data Acquisition and Signal Processing Controller",
            "PCI\\VEN_8086&DEV_A0FC&SUBSYS_0B1A1028&REV_20\\3&11583659&0&A0",
            None,
            28,
        ),
        windows_problem("Goodix MOC Fingerprint", fingerprint_id, None, 28),
        driverless_wifi_card(),
    ]);
    expect![[r#"
        warn device.problem [0000:03:00.0]: Intel wireless network controller (8086:2725) does not work
            evidence: 0000:03:00.0: No driver is bound to this device; class wireless network controller, bus pci
            remedy: The system has no working driver for this device, so it does not work. Install or update its driver (Windows Update's optional driver updates, or the maker's support site; on Linux the distribution's firmware and driver packages), then restart. If that does not help, escalate to second-line support.
        warn device.problem [INTELAUDIO\DSP_CTLR_DEV_A0C8&VEN_8086\5&2E2A4AF3&0&0000]: Intel(R) Smart Sound Technology OED does not work
            evidence: INTELAUDIO\DSP_CTLR_DEV_A0C8&VEN_8086\5&2E2A4AF3&0&0000: Device Manager's text (code 10); class System, bus intelaudio, driver IntcOED
            remedy: Restart the computer, then unplug and replug the device if it is external. If the problem comes back, update the device's driver (from the maker's support site or Windows Update); if it still fails, escalate to second-line support: the device may be faulty.
        warn device.problem [PCI\VEN_8086&DEV_A0FC&SUBSYS_0B1A1028&REV_20\3&11583659&0&A0]: PCI Data Acquisition and Signal Processing Controller does not work
            evidence: PCI\VEN_8086&DEV_A0FC&SUBSYS_0B1A1028&REV_20\3&11583659&0&A0: Device Manager's text (code 28); bus pci
            remedy: The system has no working driver for this device, so it does not work. Install or update its driver (Windows Update's optional driver updates, or the maker's support site; on Linux the distribution's firmware and driver packages), then restart. If that does not help, escalate to second-line support.
    "#]]
    .assert_eq(&judged(&snapshot, "device."));
}
