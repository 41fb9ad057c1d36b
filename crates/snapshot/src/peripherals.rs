//! Peripherals: USB devices, printers, displays, sound cards, batteries, input devices,
//! Bluetooth and cameras.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Section;

/// Each kind is its own section: a hung print service must not hide the USB devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Peripherals {
    pub usb: Section<Vec<UsbDevice>>,
    pub printers: Section<Printers>,
    pub displays: Section<Vec<Display>>,
    pub audio: Section<Audio>,
    pub power: Section<Power>,
    pub input: Section<Vec<InputDevice>>,
    pub bluetooth: Section<Bluetooth>,
    pub cameras: Section<Vec<Camera>>,
    /// Devices the system lists but cannot use (Device Manager's problem devices on Windows,
    /// PCI devices without a driver on Linux). Missing in snapshots of older agents.
    #[serde(default = "not_gathered")]
    pub device_problems: Section<Vec<DeviceProblem>>,
}

fn not_gathered() -> Section<Vec<DeviceProblem>> {
    Section::skipped("not gathered by this agent version")
}

/// A device the system knows of but cannot use: no driver, a driver that failed, or one
/// switched off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct DeviceProblem {
    /// What Device Manager or the device's ids call it, e.g. "Goodix MOC Fingerprint",
    /// "Realtek RTS522A PCI Express Card Reader".
    pub name: String,
    /// The platform's id for it: a Windows device instance path
    /// (`PCI\VEN_8086&DEV_A0FC&...`) or a PCI address (`0000:00:14.3`).
    pub device_id: String,
    /// Its class, e.g. `Net`, `Camera` (Device Manager's) or `network`, `card-reader`
    /// (from the PCI class code).
    pub class: Option<String>,
    /// How it is attached: `pci`, `usb`, `acpi`, `hdaudio`, `bluetooth`...
    pub bus: Option<String>,
    /// The platform's problem code: Device Manager's `ConfigManagerErrorCode` on Windows;
    /// `None` on Linux, which has none.
    pub code: Option<u32>,
    /// The problem in words, e.g. "The drivers for this device are not installed (code 28)".
    pub problem: String,
    /// The driver it runs or is meant to run, where known.
    pub driver: Option<String>,
    /// Switched off on purpose (Device Manager's "disabled", code 22), not broken.
    pub disabled: bool,
}

/// One USB device (root hubs included), in bus order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct UsbDevice {
    /// Bus path as the kernel names it: `usb1` for a root hub, `1-2.3` for port 3 of the hub
    /// on port 2 of bus 1.
    pub path: String,
    /// Bus path of the hub it is plugged into; `None` for root hubs.
    pub parent: Option<String>,
    /// Four lower-case hex digits, e.g. `046d`.
    pub vendor_id: String,
    /// Four lower-case hex digits, e.g. `c52b`.
    pub product_id: String,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
    /// What the device is, from its class code or, for composite devices, the distinct classes
    /// of its interfaces, e.g. `hub`, `hid`, `video, audio`, `vendor-specific`.
    pub class: String,
    /// Negotiated speed in Mb/s: 1.5, 12, 480, 5000, 10000 or 20000.
    pub speed_mbps: Option<f64>,
    /// The kernel drivers bound to its interfaces, distinct and comma-separated, e.g.
    /// `uvcvideo, snd-usb-audio`; `None` when no interface has a driver.
    pub driver: Option<String>,
    pub is_hub: bool,
    /// The interfaces of its active configuration; none when it is not configured.
    pub interfaces: Vec<UsbInterface>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct UsbInterface {
    /// e.g. `1-2:1.0` (configuration 1, interface 0 of device `1-2`).
    pub path: String,
    /// Interface class, e.g. `hid`, `audio`, `vendor-specific`.
    pub class: String,
    /// The kernel driver bound to it; `None` when none is.
    pub driver: Option<String>,
}

/// The print service and its queues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Printers {
    pub cups: CupsStatus,
    pub queues: Vec<PrintQueue>,
    /// Name of the system's default queue, where one is set.
    pub default_printer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CupsStatus {
    /// cupsd answered.
    Present {
        /// Where it answered: its socket path or `localhost:631`.
        server: String,
        /// From its `Server` header, e.g. `CUPS/2.4 IPP/2.1`.
        version: Option<String>,
    },
    /// There is no print service to ask.
    Absent {
        /// Where it was looked for.
        reason: String,
    },
}

/// One print queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrintQueue {
    pub name: String,
    /// Where the queue sends its jobs (its device URI, e.g. `ipp://10.1.2.40/ipp/print`), with
    /// any user name and password removed.
    pub uri: Option<String>,
    /// The description users see, e.g. "HP LaserJet, 2nd floor".
    pub info: Option<String>,
    pub location: Option<String>,
    pub make_and_model: Option<String>,
    pub state: PrinterState,
    /// IPP `printer-state-reasons` without `none`, e.g. `offline-report`, `paused`,
    /// `media-empty-error`, `toner-low-warning`.
    pub state_reasons: Vec<String>,
    /// What the queue says about its state, e.g. "Out of toner".
    pub state_message: Option<String>,
    /// Takes new jobs (`false` after `cupsreject`).
    pub accepting: bool,
    /// Jobs not yet completed.
    pub jobs_waiting: u32,
    /// Age of the oldest job not yet completed, by the print server's clock.
    pub oldest_job_age_s: Option<u64>,
    pub is_default: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrinterState {
    Idle,
    Printing,
    /// Paused (`cupsdisable`) or halted by an error; jobs wait until it is resumed.
    Stopped,
}

/// One display connector of a graphics card.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Display {
    /// e.g. `card0-HDMI-A-1`, `card1-eDP-1`.
    pub connector: String,
    /// A built-in panel (eDP, LVDS, DSI) rather than a socket for an external monitor.
    pub internal: bool,
    /// A monitor is plugged in.
    pub connected: bool,
    /// The desktop shows a picture on it.
    pub enabled: bool,
    /// Resolutions the monitor offers, distinct, preferred first, e.g. `2560x1440`.
    pub modes: Vec<String>,
    pub preferred_mode: Option<String>,
    /// What its EDID says about the monitor.
    pub monitor: Option<Monitor>,
    /// Why the EDID could not be decoded (a bad checksum often means a bad cable or adapter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edid_error: Option<String>,
}

/// A monitor as its EDID describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Monitor {
    /// Three-letter PNP manufacturer id, e.g. `DEL`.
    pub pnp_id: String,
    /// The maker's name for common ids (`Dell`), else the PNP id.
    pub make: String,
    /// The monitor's name (e.g. `DELL U2518D`), or a laptop panel's part number.
    pub model: Option<String>,
    pub product_code: u16,
    /// The serial number descriptor, else the numeric serial where it is not a placeholder.
    pub serial: Option<String>,
    pub width_mm: Option<u32>,
    pub height_mm: Option<u32>,
    pub manufacture_year: Option<u16>,
    pub manufacture_week: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Audio {
    pub cards: Vec<SoundCard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SoundCard {
    pub index: u32,
    /// Short id, e.g. `PCH`, `Headset`.
    pub id: String,
    /// e.g. `HDA-Intel`, `USB-Audio`.
    pub driver: String,
    /// e.g. "HDA Intel PCH", "Jabra Evolve2 65".
    pub name: String,
    /// e.g. "HDA Intel PCH at 0xea230000 irq 147".
    pub long_name: Option<String>,
    pub pcm_devices: Vec<PcmDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PcmDevice {
    pub device: u32,
    /// e.g. "ALC257 Analog", "HDMI 0".
    pub name: String,
    pub playback: bool,
    pub capture: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Power {
    /// Mains (or USB-C) power is connected; `None` where the machine reports no power supply.
    pub ac_online: Option<bool>,
    pub batteries: Vec<Battery>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Battery {
    /// e.g. `BAT0`, `hidpp_battery_0`.
    pub name: String,
    /// Powers a peripheral (a wireless mouse, keyboard or headset) rather than the machine.
    pub peripheral: bool,
    pub status: BatteryStatus,
    /// Charge level, 0 to 100.
    pub capacity_pct: Option<u8>,
    pub cycle_count: Option<u32>,
    /// What it holds when full, as a share of what it held new (full / full design), 0 to 100.
    pub health_pct: Option<f64>,
    pub energy_full_wh: Option<f64>,
    pub energy_full_design_wh: Option<f64>,
    /// e.g. `Li-ion`, `Li-poly`.
    pub technology: Option<String>,
    pub model: Option<String>,
    pub manufacturer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatteryStatus {
    Charging,
    Discharging,
    /// Plugged in but held below full (a charge threshold, or too hot or cold to charge).
    NotCharging,
    Full,
    #[default]
    Unknown,
}

/// A keyboard, mouse, touchpad or other device people type or point with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InputDevice {
    pub name: String,
    pub kind: InputKind,
    /// How it is attached: `usb`, `bluetooth`, `i2c`, `i8042` (built-in PS/2), `virtual`...
    pub bus: String,
    /// Four lower-case hex digits.
    pub vendor_id: String,
    pub product_id: String,
    /// Kernel handlers, e.g. `sysrq`, `kbd`, `event3`, `mouse0`.
    pub handlers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    Keyboard,
    Mouse,
    Touchpad,
    Touchscreen,
    /// A pen tablet.
    Tablet,
    Joystick,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Bluetooth {
    pub adapters: Vec<BluetoothAdapter>,
    /// Every radio kill switch (Bluetooth, Wi-Fi, WWAN), soft (software) or hard (a key,
    /// slider or BIOS setting).
    pub rfkill: Vec<RfkillSwitch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct BluetoothAdapter {
    /// e.g. `hci0`.
    pub name: String,
    /// How it is attached: `usb`, `serial`, `sdio`, `pci`.
    pub bus: Option<String>,
    /// e.g. `btusb`.
    pub driver: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct RfkillSwitch {
    /// e.g. `hci0`, `phy0`, `tpacpi_bluetooth_sw`.
    pub name: String,
    /// `bluetooth`, `wlan`, `wwan`, `gps`, `nfc`...
    pub kind: String,
    pub soft_blocked: bool,
    pub hard_blocked: bool,
}

/// One camera, with its device nodes (a webcam usually has a capture and a metadata node).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Camera {
    /// e.g. "Integrated Camera: Integrated C".
    pub name: String,
    /// e.g. `/dev/video0`, `/dev/video1`.
    pub devices: Vec<String>,
    pub driver: Option<String>,
    /// Bus path of its USB device, for USB cameras.
    pub usb_path: Option<String>,
}
