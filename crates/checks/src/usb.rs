//! USB rule: a device the system has no driver for, so it does nothing when plugged in.

use sitrep_snapshot::{Finding, Severity, Snapshot, UsbDevice};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

/// Classes that programs drive directly through libusb rather than a kernel driver: cameras and
/// phones over PTP/MTP, printers (CUPS' usb backend), smart card readers (pcscd) and firmware
/// updaters.
const USER_SPACE_CLASSES: [&str; 4] = ["image", "printer", "smart-card", "application-specific"];

/// Vendors of fingerprint readers, which libfprint drives from user space: Synaptics, Goodix,
/// Validity, Elan, AuthenTec, Upek, Egis, Next Biometrics, FPC.
const FINGERPRINT_VENDORS: [&str; 9] = [
    "06cb", "27c6", "138a", "04f3", "08ff", "147e", "1c7a", "298d", "10a5",
];

pub(crate) const NO_DRIVER: RuleInfo = RuleInfo {
    id: "usb.no_driver",
    description: "Every USB device has a kernel driver bound to one of its interfaces, so the system can use it.",
    thresholds: "warn per device with no driver on any interface (or no active configuration); hubs and devices programs drive directly (cameras over PTP/MTP, printers, smart card readers, firmware updaters, fingerprint readers) are not judged",
    check: no_driver,
};

fn driven_from_user_space(device: &UsbDevice) -> bool {
    USER_SPACE_CLASSES
        .iter()
        .any(|class| device.class.split(", ").any(|own| own == *class))
        || (device.class == "vendor-specific"
            && FINGERPRINT_VENDORS.contains(&device.vendor_id.as_str()))
}

/// "Realtek 802.11ac WLAN Adapter (0bda:b812)".
fn device_label(device: &UsbDevice) -> String {
    let name: Vec<&str> = [&device.manufacturer, &device.product]
        .into_iter()
        .filter_map(Option::as_deref)
        .collect();
    let ids = format!("{}:{}", device.vendor_id, device.product_id);
    if name.is_empty() {
        format!("USB device {ids}")
    } else {
        format!("{} ({ids})", name.join(" "))
    }
}

fn no_driver(snapshot: &Snapshot) -> Vec<Finding> {
    let Some(devices) = sections::usb_devices(snapshot) else {
        return Vec::new();
    };
    let judged: Vec<&UsbDevice> = devices
        .iter()
        .filter(|device| !device.is_hub && !driven_from_user_space(device))
        .collect();
    if judged.is_empty() {
        return Vec::new();
    }
    let problems = judged
        .iter()
        .filter(|device| device.driver.is_none())
        .map(|device| {
            let interfaces = if device.interfaces.is_empty() {
                "no active configuration (it may lack power or bandwidth on this port)".to_owned()
            } else {
                let listed: Vec<String> = device
                    .interfaces
                    .iter()
                    .map(|interface| format!("{} ({})", interface.path, interface.class))
                    .collect();
                format!("no driver on {}", listed.join(", "))
            };
            let speed = device
                .speed_mbps
                .map(|speed| format!(", {speed} Mb/s"))
                .unwrap_or_default();
            NO_DRIVER
                .finding(
                    Severity::Warn,
                    format!("{} has no driver", device_label(device)),
                    format!("{}: {}{speed}; {interfaces}", device.path, device.class),
                )
                .with_remediation(
                    "The system does not know what to do with this device, so it does not work. Ask the user to plug it into another USB port (directly, not through a hub); if it still has no driver, escalate to second-line support: the system lacks the driver for it.",
                )
                .with_subject(&device.path)
        })
        .collect();
    problems_or_pass(problems, || {
        NO_DRIVER.pass(
            format!(
                "{} with drivers",
                format::counted(judged.len(), "USB device", "USB devices")
            ),
            judged
                .iter()
                .map(|device| {
                    format!(
                        "{}: {}",
                        device_label(device),
                        device.driver.as_deref().unwrap_or_default()
                    )
                })
                .collect::<Vec<String>>()
                .join("; "),
        )
    })
}
