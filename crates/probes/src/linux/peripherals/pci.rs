//! Device problems on Linux: PCI devices no driver is bound to, from /sys/bus/pci/devices. A
//! driver whose probe failed (missing firmware, an unsupported revision) lets go of its
//! device, so the two look alike here and the kernel log says which.

use std::path::Path;

use sitrep_snapshot::{DeviceProblem, Section};

use super::{attribute, class_entries, link_name};
use crate::{Ctx, ReadError};

const PCI_DEVICES: &str = "/sys/bus/pci/devices";

/// Base classes whose devices work without a driver of their own: memory controllers and
/// bridges (host, ISA, PCI-to-PCI) are set up by the firmware and the PCI core; processors
/// are the CPU's.
const DRIVERLESS_CLASSES: [u8; 3] = [0x05, 0x06, 0x0b];
/// Class and subclass pairs that ship without a Linux driver on most machines: "other system
/// peripherals" (Intel's GNA, platform monitoring) and performance counters.
const DRIVERLESS_SUBCLASSES: [(u8, u8); 2] = [(0x08, 0x80), (0x11, 0x01)];

/// The common makers of PCI devices in desktops and laptops, for a name people recognise
/// without the pci.ids database.
const VENDORS: [(&str, &str); 14] = [
    ("8086", "Intel"),
    ("1022", "AMD"),
    ("1002", "AMD/ATI"),
    ("10de", "NVIDIA"),
    ("10ec", "Realtek"),
    ("14e4", "Broadcom"),
    ("168c", "Qualcomm Atheros"),
    ("17cb", "Qualcomm"),
    ("14c3", "MediaTek"),
    ("1217", "O2 Micro"),
    ("1b21", "ASMedia"),
    ("144d", "Samsung"),
    ("15b7", "SanDisk"),
    ("1c5c", "SK hynix"),
];

pub fn gather(ctx: &Ctx) -> Section<Vec<DeviceProblem>> {
    read_problems(ctx).into()
}

fn read_problems(ctx: &Ctx) -> Result<Vec<DeviceProblem>, ReadError> {
    Ok(class_entries(ctx, PCI_DEVICES)?
        .into_iter()
        .filter_map(|(address, dir)| driverless(address, &dir))
        .collect())
}

/// The device at `dir` as a problem when it has no driver and its class needs one.
fn driverless(address: String, dir: &Path) -> Option<DeviceProblem> {
    if link_name(dir, "driver").is_some() {
        return None;
    }
    let class = attribute(dir, "class").and_then(|text| parse_hex(&text))?;
    let [_, base, sub, _] = class.to_be_bytes();
    if DRIVERLESS_CLASSES.contains(&base) || DRIVERLESS_SUBCLASSES.contains(&(base, sub)) {
        return None;
    }
    let id = |name| {
        attribute(dir, name)
            .and_then(|text| parse_hex(&text))
            .map_or_else(|| "????".to_owned(), |id| format!("{id:04x}"))
    };
    let (vendor, device) = (id("vendor"), id("device"));
    let class_name = class_name(base, sub);
    let maker = VENDORS
        .iter()
        .find(|(known, _)| *known == vendor)
        .map_or("PCI", |(_, name)| name);
    Some(DeviceProblem {
        name: format!("{maker} {class_name} ({vendor}:{device})"),
        device_id: address,
        class: Some(class_name.to_owned()),
        bus: Some("pci".to_owned()),
        code: None,
        problem: "No driver is bound to this device".to_owned(),
        driver: None,
        disabled: false,
    })
}

/// `0x028000` (with or without the prefix).
fn parse_hex(text: &str) -> Option<u32> {
    u32::from_str_radix(text.trim_start_matches("0x"), 16).ok()
}

/// What a PCI class code is, in the words of the PCI SIG's class list.
fn class_name(base: u8, sub: u8) -> &'static str {
    match (base, sub) {
        (0x01, 0x06) => "SATA controller",
        (0x01, 0x08) => "NVMe controller",
        (0x01, _) => "storage controller",
        (0x02, 0x80) => "wireless network controller",
        (0x02, _) => "network controller",
        (0x03, _) => "display controller",
        (0x04, 0x03) => "audio device",
        (0x04, _) => "multimedia controller",
        (0x07, _) => "communication controller",
        (0x08, 0x05) => "SD card reader",
        (0x08, _) => "system peripheral",
        (0x09, _) => "input device controller",
        (0x0c, 0x03) => "USB controller",
        (0x0c, 0x05) => "SMBus controller",
        (0x0c, _) => "serial bus controller",
        (0x0d, _) => "wireless controller",
        (0x10, _) => "encryption controller",
        (0x11, _) => "signal processing controller",
        (0xff, _) => "vendor-specific device",
        _ => "device",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_codes() {
        assert_eq!(parse_hex("0x028000"), Some(0x02_80_00));
        assert_eq!(parse_hex("ff0000"), Some(0xff_00_00));
        assert_eq!(parse_hex("0xzz"), None);
        assert_eq!(class_name(0x08, 0x05), "SD card reader");
        assert_eq!(class_name(0x0c, 0x03), "USB controller");
    }
}
