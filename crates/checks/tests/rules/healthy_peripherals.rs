//! The healthy snapshot's peripherals (a docked laptop) and builders for the parts the
//! peripheral rules' tests add.

use sitrep_snapshot::{
    Audio, Battery, BatteryStatus, Bluetooth, BluetoothAdapter, Camera, CupsStatus, DeviceProblem,
    Display, InputDevice, InputKind, Monitor, Peripherals, Power, PrintQueue, PrinterState,
    Printers, RfkillSwitch, Section, SoundCard, UsbDevice, UsbInterface,
};

/// A docked laptop: keyboard and receiver on USB, one external monitor beside the panel, a
/// healthy battery, Bluetooth on, and the office printer idle.
pub fn healthy_peripherals() -> Peripherals {
    Peripherals {
        usb: Section::Ok(vec![
            usb_device(
                "usb1",
                "1d6b",
                "0002",
                "hub",
                &[("usb1:1.0", "hub", Some("hub"))],
            ),
            usb_device(
                "1-1",
                "046d",
                "c52b",
                "hid",
                &[
                    ("1-1:1.0", "hid", Some("usbhid")),
                    ("1-1:1.1", "hid", Some("usbhid")),
                ],
            ),
        ]),
        printers: Section::Ok(Printers {
            cups: CupsStatus::Present {
                server: "/run/cups/cups.sock".to_owned(),
                version: Some("CUPS/2.4 IPP/2.1".to_owned()),
            },
            queues: vec![print_queue("Office", true)],
            default_printer: Some("Office".to_owned()),
        }),
        displays: Section::Ok(vec![
            Display {
                connector: "card1-eDP-1".to_owned(),
                internal: true,
                connected: true,
                enabled: true,
                modes: vec!["1920x1080".to_owned()],
                preferred_mode: Some("1920x1080".to_owned()),
                ..Display::default()
            },
            Display {
                connector: "card1-DP-1".to_owned(),
                connected: true,
                enabled: true,
                modes: vec!["2560x1440".to_owned(), "1920x1080".to_owned()],
                preferred_mode: Some("2560x1440".to_owned()),
                monitor: Some(Monitor {
                    pnp_id: "DEL".to_owned(),
                    make: "Dell".to_owned(),
                    model: Some("DELL U2518D".to_owned()),
                    product_code: 16698,
                    serial: Some("3C4YP86S582L".to_owned()),
                    width_mm: Some(553),
                    height_mm: Some(311),
                    manufacture_year: Some(2018),
                    manufacture_week: Some(26),
                }),
                ..Display::default()
            },
        ]),
        audio: Section::Ok(Audio {
            cards: vec![SoundCard {
                index: 0,
                id: "PCH".to_owned(),
                driver: "HDA-Intel".to_owned(),
                name: "HDA Intel PCH".to_owned(),
                ..SoundCard::default()
            }],
        }),
        power: Section::Ok(Power {
            ac_online: Some(true),
            batteries: vec![Battery {
                name: "BAT0".to_owned(),
                status: BatteryStatus::Charging,
                capacity_pct: Some(81),
                cycle_count: Some(112),
                health_pct: Some(92.5),
                energy_full_wh: Some(52.7),
                energy_full_design_wh: Some(57.0),
                technology: Some("Li-poly".to_owned()),
                model: Some("5B10W13975".to_owned()),
                manufacturer: Some("SMP".to_owned()),
                ..Battery::default()
            }],
        }),
        input: Section::Ok(vec![InputDevice {
            name: "AT Translated Set 2 keyboard".to_owned(),
            kind: InputKind::Keyboard,
            bus: "i8042".to_owned(),
            vendor_id: "0001".to_owned(),
            product_id: "0001".to_owned(),
            handlers: vec!["sysrq".to_owned(), "kbd".to_owned(), "event3".to_owned()],
        }]),
        bluetooth: Section::Ok(Bluetooth {
            adapters: vec![BluetoothAdapter {
                name: "hci0".to_owned(),
                bus: Some("usb".to_owned()),
                driver: Some("btusb".to_owned()),
            }],
            rfkill: vec![rfkill("hci0", "bluetooth"), rfkill("phy0", "wlan")],
        }),
        cameras: Section::Ok(vec![Camera {
            name: "Integrated Camera: Integrated C".to_owned(),
            devices: vec!["/dev/video0".to_owned(), "/dev/video1".to_owned()],
            driver: Some("uvcvideo".to_owned()),
            usb_path: Some("1-4".to_owned()),
        }]),
        device_problems: Section::Ok(Vec::new()),
    }
}

/// A PCIe Wi-Fi card as the Linux reader reports it when its firmware is missing.
pub fn driverless_wifi_card() -> DeviceProblem {
    DeviceProblem {
        name: "Intel wireless network controller (8086:2725)".to_owned(),
        device_id: "0000:03:00.0".to_owned(),
        class: Some("wireless network controller".to_owned()),
        bus: Some("pci".to_owned()),
        code: None,
        problem: "No driver is bound to this device".to_owned(),
        driver: None,
        disabled: false,
    }
}

pub fn usb_device(
    path: &str,
    vendor_id: &str,
    product_id: &str,
    class: &str,
    interfaces: &[(&str, &str, Option<&str>)],
) -> UsbDevice {
    let interfaces: Vec<UsbInterface> = interfaces
        .iter()
        .map(|(path, class, driver)| UsbInterface {
            path: (*path).to_owned(),
            class: (*class).to_owned(),
            driver: driver.map(str::to_owned),
        })
        .collect();
    let mut drivers: Vec<&str> = Vec::new();
    for driver in interfaces.iter().filter_map(|i| i.driver.as_deref()) {
        if !drivers.contains(&driver) {
            drivers.push(driver);
        }
    }
    UsbDevice {
        path: path.to_owned(),
        parent: path.split_once('-').map(|(bus, _)| format!("usb{bus}")),
        vendor_id: vendor_id.to_owned(),
        product_id: product_id.to_owned(),
        class: class.to_owned(),
        speed_mbps: Some(if class == "hub" { 480.0 } else { 12.0 }),
        driver: (!drivers.is_empty()).then(|| drivers.join(", ")),
        is_hub: class == "hub",
        interfaces,
        ..UsbDevice::default()
    }
}

/// An idle queue without jobs.
pub fn print_queue(name: &str, is_default: bool) -> PrintQueue {
    PrintQueue {
        name: name.to_owned(),
        uri: Some("ipp://10.1.2.40/ipp/print".to_owned()),
        info: Some("HP LaserJet, 2nd floor".to_owned()),
        location: None,
        make_and_model: None,
        state: PrinterState::Idle,
        state_reasons: Vec::new(),
        state_message: None,
        accepting: true,
        jobs_waiting: 0,
        oldest_job_age_s: None,
        is_default,
    }
}

pub fn rfkill(name: &str, kind: &str) -> RfkillSwitch {
    RfkillSwitch {
        name: name.to_owned(),
        kind: kind.to_owned(),
        soft_blocked: false,
        hard_blocked: false,
    }
}
