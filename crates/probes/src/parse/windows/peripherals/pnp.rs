//! Plug and Play devices (Win32_PnPEntity): USB devices and their interfaces, Bluetooth
//! radios, cameras and input devices, and every device Device Manager marks with a problem
//! (read by [`super::problems`]).

use serde::Deserialize;
use sitrep_snapshot::{BluetoothAdapter, Camera, InputDevice, InputKind, UsbDevice, UsbInterface};

use crate::ParseError;
use crate::parse::windows::{cim_instances, non_empty};

/// The present devices of the kinds we report, and every device with a problem code.
pub const PNP_QUERY: &str = "Get-CimInstance -ClassName Win32_PnPEntity | Where-Object { \
     $_.ConfigManagerErrorCode -ne 0 -or $_.PNPDeviceID -like 'USB\\*' -or \
     $_.PNPClass -in @('Bluetooth', 'Camera', 'Image', 'Keyboard', 'Mouse', 'HIDClass') } | \
     Select-Object Name, PNPClass, PNPDeviceID, Service, Manufacturer, ConfigManagerErrorCode";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PnpEntity {
    pub name: Option<String>,
    /// The Device Manager class, e.g. `USB`, `HIDClass`, `Camera`.
    #[serde(rename = "PNPClass")]
    pub pnp_class: Option<String>,
    /// The device instance path, e.g. `USB\VID_046D&PID_C52B\5&2A3B4C5D&0&3`.
    #[serde(rename = "PNPDeviceID")]
    pub pnp_device_id: String,
    /// The driver service, e.g. `usbccgp`, `HidUsb`; none without a driver.
    pub service: Option<String>,
    pub manufacturer: Option<String>,
    /// Device Manager's problem code: 0 works, 28 has no driver, 22 is disabled, 10 could not
    /// start, 43 was stopped after it reported a failure.
    pub config_manager_error_code: Option<u32>,
}

impl PnpEntity {
    pub(super) fn problem(&self) -> u32 {
        self.config_manager_error_code.unwrap_or(0)
    }

    /// The driver bound to it; none while Device Manager reports a problem with it.
    fn driver(&self) -> Option<String> {
        non_empty(self.service.as_deref()).filter(|_| self.problem() == 0)
    }

    fn class_is(&self, class: &str) -> bool {
        self.pnp_class
            .as_deref()
            .is_some_and(|own| own.eq_ignore_ascii_case(class))
    }

    pub(super) fn name(&self) -> String {
        non_empty(self.name.as_deref()).unwrap_or_else(|| self.pnp_device_id.clone())
    }
}

/// Device Manager's "not present": a device seen once and unplugged since.
pub(super) const NOT_PRESENT: u32 = 45;

pub fn parse_pnp_entities(text: &str) -> Result<Vec<PnpEntity>, ParseError> {
    cim_instances(text)
}

/// The value after `key` (`VID_`, `PID_`) in an instance path, as four lower-case hex digits.
fn id_after(instance: &str, key: &str) -> Option<String> {
    let upper = instance.to_ascii_uppercase();
    let start = upper.find(key)? + key.len();
    let id = upper.get(start..start + 4)?;
    id.chars()
        .all(|c| c.is_ascii_hexdigit())
        .then(|| id.to_ascii_lowercase())
}

/// A USB interface of a composite device: `USB\VID_0B0E&PID_24C8&MI_03\...`.
fn is_usb_interface(entity: &PnpEntity) -> bool {
    entity.pnp_device_id.to_ascii_uppercase().contains("&MI_")
}

/// What a USB device is, in the words the Linux reader uses for USB classes.
fn usb_class_of(entity: &PnpEntity) -> String {
    let class = entity
        .pnp_class
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    match class.as_str() {
        "hidclass" | "keyboard" | "mouse" => "hid".to_owned(),
        "camera" | "image" => "video".to_owned(),
        "media" | "audioendpoint" => "audio".to_owned(),
        "diskdrive" | "wpd" => "mass-storage".to_owned(),
        "bluetooth" => "wireless".to_owned(),
        "net" => "communications".to_owned(),
        "usb" if entity.name().to_ascii_lowercase().contains("hub") => "hub".to_owned(),
        "usb" => "usb".to_owned(),
        "" => "unknown".to_owned(),
        other => other.to_owned(),
    }
}

/// The serial number Windows puts in the instance path of a device that has one: the last
/// part, where it holds no `&` (an `&` marks a path Windows made up from the port).
fn serial_of(instance: &str) -> Option<String> {
    let last = instance.rsplit('\\').next()?;
    (!last.contains('&') && !last.is_empty() && instance.matches('\\').count() >= 2)
        .then(|| last.to_owned())
}

/// The USB devices (root hubs included) with their interfaces. Windows does not say which hub
/// a device hangs off, so `parent` stays empty; a device without a driver is one whose
/// Device Manager entry has a problem.
pub fn usb_devices(entities: &[PnpEntity]) -> Vec<UsbDevice> {
    let usb = || {
        entities.iter().filter(|entity| {
            entity
                .pnp_device_id
                .to_ascii_uppercase()
                .starts_with("USB\\")
        })
    };
    let mut devices: Vec<UsbDevice> = usb()
        .filter(|entity| !is_usb_interface(entity))
        // Code 45: seen once, not plugged in now.
        .filter(|entity| entity.problem() != NOT_PRESENT)
        .map(|entity| {
            let id = &entity.pnp_device_id;
            let root_hub = id.to_ascii_uppercase().contains("ROOT_HUB");
            UsbDevice {
                path: id.clone(),
                parent: None,
                vendor_id: id_after(id, "VID_").unwrap_or_else(|| "0000".to_owned()),
                product_id: id_after(id, "PID_").unwrap_or_else(|| "0000".to_owned()),
                manufacturer: non_empty(entity.manufacturer.as_deref()),
                product: Some(entity.name()),
                serial: serial_of(id),
                class: if root_hub {
                    "hub".to_owned()
                } else {
                    usb_class_of(entity)
                },
                speed_mbps: None,
                driver: entity.driver(),
                is_hub: root_hub || usb_class_of(entity) == "hub",
                interfaces: Vec::new(),
            }
        })
        .collect();
    for interface in usb().filter(|entity| is_usb_interface(entity)) {
        let id = &interface.pnp_device_id;
        let owner = devices.iter_mut().find(|device| {
            Some(&device.vendor_id) == id_after(id, "VID_").as_ref()
                && Some(&device.product_id) == id_after(id, "PID_").as_ref()
        });
        if let Some(device) = owner {
            device.interfaces.push(UsbInterface {
                path: id.clone(),
                class: usb_class_of(interface),
                driver: interface.driver(),
            });
        }
    }
    for device in &mut devices {
        // A composite device's own driver (usbccgp) only splits it; what its interfaces run
        // is what tells whether it works.
        let interface_drivers: Vec<String> = device
            .interfaces
            .iter()
            .filter_map(|interface| interface.driver.clone())
            .collect();
        if device.driver.is_some() && !interface_drivers.is_empty() {
            device.driver = Some(crate::parse::distinct(interface_drivers).join(", "));
        }
    }
    devices
}

/// The Bluetooth radios: the class also lists every paired device and its services, which
/// hang off the radio's driver (BTHUSB) rather than running it.
pub fn bluetooth_adapters(entities: &[PnpEntity]) -> Vec<BluetoothAdapter> {
    entities
        .iter()
        .filter(|entity| entity.class_is("Bluetooth"))
        .filter(|entity| {
            entity
                .service
                .as_deref()
                .is_some_and(|service| service.eq_ignore_ascii_case("BTHUSB"))
                || !entity.pnp_device_id.to_ascii_uppercase().starts_with("BTH")
                    && entity
                        .pnp_device_id
                        .to_ascii_uppercase()
                        .starts_with("USB\\")
        })
        .map(|entity| BluetoothAdapter {
            name: entity.name(),
            bus: bus_of(&entity.pnp_device_id),
            driver: entity.driver(),
        })
        .collect()
}

pub fn cameras(entities: &[PnpEntity]) -> Vec<Camera> {
    entities
        .iter()
        .filter(|entity| entity.class_is("Camera") || entity.class_is("Image"))
        .map(|entity| Camera {
            name: entity.name(),
            devices: vec![entity.pnp_device_id.clone()],
            driver: entity.driver(),
            usb_path: entity
                .pnp_device_id
                .to_ascii_uppercase()
                .starts_with("USB\\")
                .then(|| entity.pnp_device_id.clone()),
        })
        .collect()
}

/// Keyboards, mice and touchpads, and the HID touch screens and pens (which Windows files
/// under HIDClass).
pub fn input_devices(entities: &[PnpEntity]) -> Vec<InputDevice> {
    entities
        .iter()
        .filter_map(|entity| {
            let name = entity.name();
            let lower = name.to_ascii_lowercase();
            let touchpad = ["touch pad", "touchpad", "precision"]
                .iter()
                .any(|word| lower.contains(word));
            let kind = if entity.class_is("Keyboard") {
                InputKind::Keyboard
            } else if entity.class_is("Mouse") && touchpad {
                InputKind::Touchpad
            } else if entity.class_is("Mouse") {
                InputKind::Mouse
            } else if !entity.class_is("HIDClass") {
                return None;
            } else if touchpad {
                InputKind::Touchpad
            } else if lower.contains("touch screen") {
                InputKind::Touchscreen
            } else if lower.contains("pen") {
                InputKind::Tablet
            } else {
                return None;
            };
            let id = &entity.pnp_device_id;
            Some(InputDevice {
                name,
                kind,
                bus: bus_of(id).unwrap_or_else(|| "unknown".to_owned()),
                vendor_id: id_after(id, "VID_").unwrap_or_else(|| "0000".to_owned()),
                product_id: id_after(id, "PID_").unwrap_or_else(|| "0000".to_owned()),
                handlers: entity.driver().into_iter().collect(),
            })
        })
        .collect()
}

/// How a device is attached, from its instance path: `USB\`, Bluetooth (`BTH...`, or the HID
/// service UUID `00001124`/`00001812` of a Bluetooth keyboard or mouse), `ACPI\` (the built-in
/// PS/2 controller), and HID devices without a USB id (I2C touchpads).
fn bus_of(instance: &str) -> Option<String> {
    let upper = instance.to_ascii_uppercase();
    let bus = if upper.starts_with("USB\\") || upper.contains("VID_") {
        "usb"
    } else if upper.starts_with("BTH") || upper.contains("{00001124") || upper.contains("{00001812")
    {
        "bluetooth"
    } else if upper.starts_with("ACPI\\") {
        "i8042"
    } else if upper.starts_with("HID\\") {
        "i2c"
    } else {
        return None;
    };
    Some(bus.to_owned())
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    fn laptop() -> Vec<PnpEntity> {
        parse_pnp_entities(&fixture("laptop/Win32_PnPEntity.json"))
            .unwrap_or_else(|error| panic!("{error}"))
    }

    #[test]
    fn usb_devices_with_their_interfaces() {
        expect![[r#"
            [
                UsbDevice {
                    path: "USB\\ROOT_HUB30\\4&1A2B3C4D&0&0",
                    parent: None,
                    vendor_id: "0000",
                    product_id: "0000",
                    manufacturer: Some(
                        "(Standard USB HUBs)",
                    ),
                    product: Some(
                        "USB Root Hub (USB 3.0)",
                    ),
                    serial: None,
                    class: "hub",
                    speed_mbps: None,
                    driver: Some(
                        "USBHUB3",
                    ),
                    is_hub: true,
                    interfaces: [],
                },
                UsbDevice {
                    path: "USB\\VID_0BDA&PID_0487\\5&3B1E8F2A&0&3",
                    parent: None,
                    vendor_id: "0bda",
                    product_id: "0487",
                    manufacturer: Some(
                        "(Generic USB Hub)",
                    ),
                    product: Some(
                        "Generic SuperSpeed USB Hub",
                    ),
                    serial: None,
                    class: "hub",
                    speed_mbps: None,
                    driver: Some(
                        "USBHUB3",
                    ),
                    is_hub: true,
                    interfaces: [],
                },
                UsbDevice {
                    path: "USB\\VID_0BDA&PID_5487\\5&3B1E8F2A&0&7",
                    parent: None,
                    vendor_id: "0bda",
                    product_id: "5487",
                    manufacturer: Some(
                        "(Generic USB Hub)",
                    ),
                    product: Some(
                        "Generic USB Hub",
                    ),
                    serial: None,
                    class: "hub",
                    speed_mbps: None,
                    driver: Some(
                        "USBHUB3",
                    ),
                    is_hub: true,
                    interfaces: [],
                },
                UsbDevice {
                    path: "USB\\VID_0BDA&PID_8153\\000001",
                    parent: None,
                    vendor_id: "0bda",
                    product_id: "8153",
                    manufacturer: Some(
                        "Realtek",
                    ),
                    product: Some(
                        "Realtek USB GbE Family Controller",
                    ),
                    serial: Some(
                        "000001",
                    ),
                    class: "communications",
                    speed_mbps: None,
                    driver: Some(
                        "rtux64w10",
                    ),
                    is_hub: false,
                    interfaces: [],
                },
                UsbDevice {
                    path: "USB\\VID_046D&PID_C52B\\5&2A3B4C5D&0&2",
                    parent: None,
                    vendor_id: "046d",
                    product_id: "c52b",
                    manufacturer: Some(
                        "(Standard USB Host Controller)",
                    ),
                    product: Some(
                        "USB Composite Device",
                    ),
                    serial: None,
                    class: "usb",
                    speed_mbps: None,
                    driver: Some(
                        "HidUsb",
                    ),
                    is_hub: false,
                    interfaces: [
                        UsbInterface {
                            path: "USB\\VID_046D&PID_C52B&MI_00\\6&1F2E3D4C&0&0000",
                            class: "hid",
                            driver: Some(
                                "HidUsb",
                            ),
                        },
                        UsbInterface {
                            path: "USB\\VID_046D&PID_C52B&MI_01\\6&1F2E3D4C&0&0001",
                            class: "hid",
                            driver: Some(
                                "HidUsb",
                            ),
                        },
                        UsbInterface {
                            path: "USB\\VID_046D&PID_C52B&MI_02\\6&1F2E3D4C&0&0002",
                            class: "hid",
                            driver: Some(
                                "HidUsb",
                            ),
                        },
                    ],
                },
                UsbDevice {
                    path: "USB\\VID_0B0E&PID_24C8\\50C2ED7A19B4",
                    parent: None,
                    vendor_id: "0b0e",
                    product_id: "24c8",
                    manufacturer: Some(
                        "(Standard USB Host Controller)",
                    ),
                    product: Some(
                        "USB Composite Device",
                    ),
                    serial: Some(
                        "50C2ED7A19B4",
                    ),
                    class: "usb",
                    speed_mbps: None,
                    driver: Some(
                        "usbaudio, HidUsb",
                    ),
                    is_hub: false,
                    interfaces: [
                        UsbInterface {
                            path: "USB\\VID_0B0E&PID_24C8&MI_00\\7&1C2D3E4F&0&0000",
                            class: "audio",
                            driver: Some(
                                "usbaudio",
                            ),
                        },
                        UsbInterface {
                            path: "USB\\VID_0B0E&PID_24C8&MI_03\\7&1C2D3E4F&0&0003",
                            class: "hid",
                            driver: Some(
                                "HidUsb",
                            ),
                        },
                    ],
                },
                UsbDevice {
                    path: "USB\\VID_8087&PID_0033\\5&1C7B2E9A&0&10",
                    parent: None,
                    vendor_id: "8087",
                    product_id: "0033",
                    manufacturer: Some(
                        "Intel Corporation",
                    ),
                    product: Some(
                        "Intel(R) Wireless Bluetooth(R)",
                    ),
                    serial: None,
                    class: "wireless",
                    speed_mbps: None,
                    driver: Some(
                        "BTHUSB",
                    ),
                    is_hub: false,
                    interfaces: [],
                },
                UsbDevice {
                    path: "USB\\VID_0C45&PID_6739\\SN0001",
                    parent: None,
                    vendor_id: "0c45",
                    product_id: "6739",
                    manufacturer: Some(
                        "(Standard USB Host Controller)",
                    ),
                    product: Some(
                        "USB Composite Device",
                    ),
                    serial: Some(
                        "SN0001",
                    ),
                    class: "usb",
                    speed_mbps: None,
                    driver: Some(
                        "usbvideo",
                    ),
                    is_hub: false,
                    interfaces: [
                        UsbInterface {
                            path: "USB\\VID_0C45&PID_6739&MI_00\\6&2D4E1A7B&0&0000",
                            class: "video",
                            driver: Some(
                                "usbvideo",
                            ),
                        },
                    ],
                },
                UsbDevice {
                    path: "USB\\VID_27C6&PID_63AC\\UIDF2A3B7C1",
                    parent: None,
                    vendor_id: "27c6",
                    product_id: "63ac",
                    manufacturer: None,
                    product: Some(
                        "Goodix MOC Fingerprint",
                    ),
                    serial: Some(
                        "UIDF2A3B7C1",
                    ),
                    class: "unknown",
                    speed_mbps: None,
                    driver: None,
                    is_hub: false,
                    interfaces: [],
                },
            ]
        "#]]
        .assert_debug_eq(&usb_devices(&laptop()));
    }

    #[test]
    fn bluetooth_cameras_and_input() {
        let entities = laptop();
        expect![[r#"
            [
                BluetoothAdapter {
                    name: "Intel(R) Wireless Bluetooth(R)",
                    bus: Some(
                        "usb",
                    ),
                    driver: Some(
                        "BTHUSB",
                    ),
                },
            ]
        "#]]
        .assert_debug_eq(&bluetooth_adapters(&entities));
        expect![[r#"
            [
                Camera {
                    name: "Integrated Webcam",
                    devices: [
                        "USB\\VID_0C45&PID_6739&MI_00\\6&2D4E1A7B&0&0000",
                    ],
                    driver: Some(
                        "usbvideo",
                    ),
                    usb_path: Some(
                        "USB\\VID_0C45&PID_6739&MI_00\\6&2D4E1A7B&0&0000",
                    ),
                },
            ]
        "#]]
        .assert_debug_eq(&cameras(&entities));
        expect![[r#"
            [
                InputDevice {
                    name: "Standard PS/2 Keyboard",
                    kind: Keyboard,
                    bus: "i8042",
                    vendor_id: "0000",
                    product_id: "0000",
                    handlers: [
                        "i8042prt",
                    ],
                },
                InputDevice {
                    name: "HID-compliant touch pad",
                    kind: Touchpad,
                    bus: "i2c",
                    vendor_id: "0000",
                    product_id: "0000",
                    handlers: [
                        "hidclass",
                    ],
                },
                InputDevice {
                    name: "HID-compliant mouse",
                    kind: Mouse,
                    bus: "i2c",
                    vendor_id: "0000",
                    product_id: "0000",
                    handlers: [
                        "mouhid",
                    ],
                },
                InputDevice {
                    name: "HID Keyboard Device",
                    kind: Keyboard,
                    bus: "usb",
                    vendor_id: "046d",
                    product_id: "c52b",
                    handlers: [
                        "kbdhid",
                    ],
                },
                InputDevice {
                    name: "HID-compliant mouse",
                    kind: Mouse,
                    bus: "usb",
                    vendor_id: "046d",
                    product_id: "c52b",
                    handlers: [
                        "mouhid",
                    ],
                },
            ]
        "#]]
        .assert_debug_eq(&input_devices(&entities));
    }
}
