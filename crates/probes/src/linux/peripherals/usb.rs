//! USB devices from /sys/bus/usb/devices: each device with its interfaces and the drivers bound
//! to them, in bus order.

use std::path::Path;

use sitrep_snapshot::{Section, UsbDevice, UsbInterface};

use super::{attribute, class_entries, link_name};
use crate::{Ctx, ReadError};

const USB_DEVICES: &str = "/sys/bus/usb/devices";
const CLASS_PER_INTERFACE: u8 = 0x00;
const CLASS_HUB: u8 = 0x09;
/// "Miscellaneous": composite devices (webcams, headsets) whose interfaces say what they are.
const CLASS_MISCELLANEOUS: u8 = 0xef;

/// Gathers every USB device, root hubs included.
pub fn gather(ctx: &Ctx) -> Section<Vec<UsbDevice>> {
    read_devices(ctx).into()
}

fn read_devices(ctx: &Ctx) -> Result<Vec<UsbDevice>, ReadError> {
    let mut devices = Vec::new();
    let mut interfaces = Vec::new();
    // Devices (`1-2`, `usb1`) and their interfaces (`1-2:1.0`) sit side by side.
    for (name, dir) in class_entries(ctx, USB_DEVICES)? {
        match name.split_once(':') {
            Some((device, _)) => interfaces.push((device.to_owned(), read_interface(name, &dir))),
            None => devices.push(read_device(name, &dir)),
        }
    }
    for (device_path, interface) in interfaces {
        if let Some(device) = devices
            .iter_mut()
            .find(|(device, _)| device.path == device_path)
        {
            device.0.interfaces.push(interface);
        }
    }
    let mut devices: Vec<UsbDevice> = devices
        .into_iter()
        .map(|(device, class_code)| summarize(device, class_code))
        .collect();
    devices.sort_by_key(|device| bus_order(&device.path));
    Ok(devices)
}

/// A device with its own attributes read, and its class code for [`summarize`].
fn read_device(path: String, dir: &Path) -> (UsbDevice, Option<u8>) {
    let class_code = attribute(dir, "bDeviceClass").and_then(|text| parse_hex_u8(&text));
    let device = UsbDevice {
        parent: parent_path(&path),
        vendor_id: attribute(dir, "idVendor")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        product_id: attribute(dir, "idProduct")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        manufacturer: attribute(dir, "manufacturer"),
        product: attribute(dir, "product"),
        serial: attribute(dir, "serial"),
        speed_mbps: attribute(dir, "speed").and_then(|text| crate::parse::finite(&text)),
        is_hub: class_code == Some(CLASS_HUB),
        path,
        ..UsbDevice::default()
    };
    (device, class_code)
}

fn read_interface(path: String, dir: &Path) -> UsbInterface {
    UsbInterface {
        class: attribute(dir, "bInterfaceClass")
            .and_then(|text| parse_hex_u8(&text))
            .map_or("unknown", class_name)
            .to_owned(),
        driver: link_name(dir, "driver"),
        path,
    }
}

/// Fills in what comes from the interfaces: the class of a composite device, and the drivers.
pub fn summarize(mut device: UsbDevice, class_code: Option<u8>) -> UsbDevice {
    device.interfaces.sort_by(|a, b| a.path.cmp(&b.path));
    let interface_classes = distinct(device.interfaces.iter().map(|i| i.class.as_str()));
    device.class = match class_code {
        Some(CLASS_PER_INTERFACE | CLASS_MISCELLANEOUS) if !interface_classes.is_empty() => {
            interface_classes.join(", ")
        }
        Some(code) => class_name(code).to_owned(),
        None => "unknown".to_owned(),
    };
    let drivers = distinct(
        device
            .interfaces
            .iter()
            .filter_map(|interface| interface.driver.as_deref()),
    );
    device.driver = (!drivers.is_empty()).then(|| drivers.join(", "));
    device
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn parse_hex_u8(text: &str) -> Option<u8> {
    u8::from_str_radix(text.trim(), 16).ok()
}

/// USB-IF base class codes, as interfaces and devices declare them.
pub fn class_name(code: u8) -> &'static str {
    match code {
        0x00 => "per-interface",
        0x01 => "audio",
        0x02 => "communications",
        0x03 => "hid",
        0x05 => "physical",
        0x06 => "image",
        0x07 => "printer",
        0x08 => "mass-storage",
        0x09 => "hub",
        0x0a => "cdc-data",
        0x0b => "smart-card",
        0x0d => "content-security",
        0x0e => "video",
        0x0f => "personal-healthcare",
        0x10 => "audio-video",
        0x11 => "billboard",
        0x12 => "usb-c-bridge",
        0xdc => "diagnostic",
        0xe0 => "wireless",
        0xef => "miscellaneous",
        0xfe => "application-specific",
        0xff => "vendor-specific",
        _ => "unknown",
    }
}

/// The hub a device hangs off, by the kernel's naming: `1-2.3` is on `1-2`, `1-2` on the root
/// hub `usb1`, and a root hub on nothing.
pub fn parent_path(path: &str) -> Option<String> {
    if path.starts_with("usb") {
        return None;
    }
    let (bus, ports) = path.split_once('-')?;
    Some(match ports.rsplit_once('.') {
        Some((upstream, _)) => format!("{bus}-{upstream}"),
        None => format!("usb{bus}"),
    })
}

/// Sorts a bus's root hub first, then its devices port by port (`1-2` before `1-10`).
fn bus_order(path: &str) -> (u32, Vec<u32>) {
    if let Some(bus) = path.strip_prefix("usb") {
        return (bus.parse().unwrap_or(u32::MAX), Vec::new());
    }
    let (bus, ports) = path.split_once('-').unwrap_or((path, ""));
    (
        bus.parse().unwrap_or(u32::MAX),
        ports
            .split('.')
            .map(|port| port.parse().unwrap_or(u32::MAX))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_follow_the_kernel_naming() {
        assert_eq!(parent_path("usb1"), None);
        assert_eq!(parent_path("1-2").as_deref(), Some("usb1"));
        assert_eq!(parent_path("3-1.4").as_deref(), Some("3-1"));
        assert_eq!(parent_path("1-1.2.3").as_deref(), Some("1-1.2"));
        let mut paths = vec!["1-10", "usb2", "1-2.1", "2-1", "usb1", "1-2"];
        paths.sort_by_key(|path| bus_order(path));
        assert_eq!(paths, ["usb1", "1-2", "1-2.1", "1-10", "usb2", "2-1"]);
    }

    fn interface(path: &str, class: &str, driver: Option<&str>) -> UsbInterface {
        UsbInterface {
            path: path.to_owned(),
            class: class.to_owned(),
            driver: driver.map(str::to_owned),
        }
    }

    #[test]
    fn composite_devices_take_their_class_from_their_interfaces() {
        let webcam = UsbDevice {
            path: "1-4".to_owned(),
            interfaces: vec![
                interface("1-4:1.2", "audio", Some("snd-usb-audio")),
                interface("1-4:1.0", "video", Some("uvcvideo")),
                interface("1-4:1.1", "video", Some("uvcvideo")),
                interface("1-4:1.3", "audio", Some("snd-usb-audio")),
            ],
            ..UsbDevice::default()
        };
        let webcam = summarize(webcam, Some(CLASS_MISCELLANEOUS));
        assert_eq!(webcam.class, "video, audio");
        assert_eq!(webcam.driver.as_deref(), Some("uvcvideo, snd-usb-audio"));

        let unclaimed = UsbDevice {
            interfaces: vec![interface("1-6:1.0", "vendor-specific", None)],
            ..UsbDevice::default()
        };
        let unclaimed = summarize(unclaimed, Some(0xff));
        assert_eq!(unclaimed.class, "vendor-specific");
        assert_eq!(unclaimed.driver, None);

        let unconfigured = summarize(UsbDevice::default(), Some(CLASS_PER_INTERFACE));
        assert_eq!(unconfigured.class, "per-interface");
    }
}
