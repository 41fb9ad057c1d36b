//! Peripheral changes: USB devices plugged in or unplugged, print queues that appeared, went or
//! changed state, monitors connected or disconnected, mains power and battery wear.
//!
//! Sound cards, input devices, Bluetooth and cameras are left out: they follow the USB devices
//! (a headset brings its sound card and its buttons), so listing them again would only repeat.

use std::collections::BTreeMap;

use serde::Serialize;
use sitrep_snapshot::{
    CupsStatus, Display, Peripherals, Power, PrintQueue, PrinterState, Printers, UsbDevice,
};
use utoipa::ToSchema;

use super::machine::one_decimal;
use super::{Changes, Part, TextChange, compare, within};

/// A battery's health must move by at least this many percent points to be news; smaller moves
/// are the fuel gauge recalibrating.
const NOTICEABLE_HEALTH_POINTS: f64 = 1.0;

/// Each kind is compared on its own, as the agent gathers each on its own: a print service that
/// did not answer leaves the USB devices comparable.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PeripheralChanges {
    pub usb: Part<UsbChanges>,
    pub printers: Part<PrinterChanges>,
    pub displays: Part<DisplayChanges>,
    pub power: Part<PowerChanges>,
}

impl Changes for PeripheralChanges {
    fn is_empty(&self) -> bool {
        self.usb.is_empty()
            && self.printers.is_empty()
            && self.displays.is_empty()
            && self.power.is_empty()
    }
}

/// The peripheral parts; a peripherals section missing on either side makes all of them not
/// comparable, for the same reason.
pub(super) fn peripheral_changes(
    old: Result<&Peripherals, String>,
    new: Result<&Peripherals, String>,
) -> PeripheralChanges {
    PeripheralChanges {
        usb: compare(
            within(&old, |peripherals| &peripherals.usb),
            within(&new, |peripherals| &peripherals.usb),
            |old, new| usb_changes(old, new),
        ),
        printers: compare(
            within(&old, |peripherals| &peripherals.printers),
            within(&new, |peripherals| &peripherals.printers),
            printer_changes,
        ),
        displays: compare(
            within(&old, |peripherals| &peripherals.displays),
            within(&new, |peripherals| &peripherals.displays),
            |old, new| display_changes(old, new),
        ),
        power: compare(
            within(&old, |peripherals| &peripherals.power),
            within(&new, |peripherals| &peripherals.power),
            power_changes,
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct UsbChanges {
    /// Devices plugged in since (a dock, a headset, a USB stick), hubs included.
    pub added: Vec<UsbDeviceRef>,
    /// Devices no longer there.
    pub removed: Vec<UsbDeviceRef>,
}

impl Changes for UsbChanges {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// A USB device as the diff names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct UsbDeviceRef {
    /// Four lower-case hex digits, e.g. `0b0e`.
    pub vendor_id: String,
    pub product_id: String,
    pub serial: Option<String>,
    /// Where it is plugged in, e.g. `1-1.2`.
    pub path: String,
    /// Maker and product as the device names itself, e.g. "GN Netcom A/S Jabra EVOLVE 65".
    pub name: Option<String>,
}

impl From<&UsbDevice> for UsbDeviceRef {
    fn from(device: &UsbDevice) -> UsbDeviceRef {
        let name: Vec<&str> = [&device.manufacturer, &device.product]
            .into_iter()
            .filter_map(|part| part.as_deref().map(str::trim))
            .filter(|part| !part.is_empty())
            .collect();
        UsbDeviceRef {
            vendor_id: device.vendor_id.clone(),
            product_id: device.product_id.clone(),
            serial: device.serial.clone(),
            path: device.path.clone(),
            name: (!name.is_empty()).then(|| name.join(" ")),
        }
    }
}

/// The same device: its ids and serial number, so a headset moved to another port is not news;
/// without a serial, its ids and the port, as nothing else tells two such devices apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct UsbIdentity {
    vendor_id: String,
    product_id: String,
    serial_or_path: Result<String, String>,
}

fn usb_changes(old: &[UsbDevice], new: &[UsbDevice]) -> UsbChanges {
    // Two devices with the same ids and serial (cheap devices share placeholder serials)
    // count as one: either is then there or not.
    let by_identity = |devices: &[UsbDevice]| -> BTreeMap<UsbIdentity, UsbDeviceRef> {
        devices
            .iter()
            .map(|device| {
                let identity = UsbIdentity {
                    vendor_id: device.vendor_id.clone(),
                    product_id: device.product_id.clone(),
                    serial_or_path: device.serial.clone().ok_or_else(|| device.path.clone()),
                };
                (identity, UsbDeviceRef::from(device))
            })
            .collect()
    };
    let (added, removed) = only_in_each(&by_identity(old), &by_identity(new));
    UsbChanges { added, removed }
}

/// The values whose keys only `new` has, and those whose keys only `old` has, each sorted.
fn only_in_each<K: Ord, V: Ord + Clone>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
) -> (Vec<V>, Vec<V>) {
    let only = |these: &BTreeMap<K, V>, those: &BTreeMap<K, V>| {
        let mut values: Vec<V> = these
            .iter()
            .filter(|(key, _)| !those.contains_key(key))
            .map(|(_, value)| value.clone())
            .collect();
        values.sort();
        values
    };
    (only(new, old), only(old, new))
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct PrinterChanges {
    /// The print service, where it came or went: "CUPS/2.4 IPP/2.1" or "absent".
    pub service: Option<TextChange>,
    /// Queues set up since. Queues are compared only while CUPS answers in both snapshots: a
    /// print service that stopped is one change, not every queue removed.
    pub queues_added: Vec<QueueRef>,
    pub queues_removed: Vec<QueueRef>,
    /// Queues in both whose state or acceptance of jobs changed, by name.
    pub queues_changed: Vec<QueueChange>,
    pub default_printer: Option<TextChange>,
}

impl Changes for PrinterChanges {
    fn is_empty(&self) -> bool {
        self.service.is_none()
            && self.queues_added.is_empty()
            && self.queues_removed.is_empty()
            && self.queues_changed.is_empty()
            && self.default_printer.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct QueueRef {
    pub name: String,
    /// Where it sends its jobs, e.g. `ipp://10.1.2.40/ipp/print`.
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueChange {
    pub queue: String,
    /// `null` when the state did not change.
    pub state: Option<PrinterStateChange>,
    /// `null` when it did not change.
    pub accepting: Option<FlagChange>,
    /// The queue's state reasons now, e.g. `paused`, `media-empty-error` (context, not compared).
    pub reasons: Vec<String>,
    /// What the queue says now, e.g. "Out of toner" (context, not compared).
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct PrinterStateChange {
    /// `idle`, `printing` or `stopped`.
    #[schema(value_type = String)]
    pub from: PrinterState,
    #[schema(value_type = String)]
    pub to: PrinterState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct FlagChange {
    pub from: bool,
    pub to: bool,
}

impl FlagChange {
    fn of(from: bool, to: bool) -> Option<FlagChange> {
        (from != to).then_some(FlagChange { from, to })
    }
}

fn printer_changes(old: &Printers, new: &Printers) -> PrinterChanges {
    let service = |printers: &Printers| match &printers.cups {
        CupsStatus::Present { version, .. } => {
            Some(version.clone().unwrap_or_else(|| "CUPS".to_string()))
        }
        CupsStatus::Absent { .. } => Some("absent".to_string()),
    };
    let both_answer = matches!(
        (&old.cups, &new.cups),
        (CupsStatus::Present { .. }, CupsStatus::Present { .. })
    );
    if !both_answer {
        return PrinterChanges {
            service: TextChange::of(service(old), service(new)),
            ..PrinterChanges::default()
        };
    }
    let by_name = |printers: &'_ Printers| -> BTreeMap<String, PrintQueue> {
        printers
            .queues
            .iter()
            .map(|queue| (queue.name.clone(), queue.clone()))
            .collect()
    };
    let (old_queues, new_queues) = (by_name(old), by_name(new));
    let refs = |queues: &BTreeMap<String, PrintQueue>| -> BTreeMap<String, QueueRef> {
        queues
            .iter()
            .map(|(name, queue)| {
                let queue_ref = QueueRef {
                    name: name.clone(),
                    uri: queue.uri.clone(),
                };
                (name.clone(), queue_ref)
            })
            .collect()
    };
    let (queues_added, queues_removed) = only_in_each(&refs(&old_queues), &refs(&new_queues));
    let queues_changed = new_queues
        .iter()
        .filter_map(|(name, new)| {
            let old = old_queues.get(name)?;
            let state = (old.state != new.state).then_some(PrinterStateChange {
                from: old.state,
                to: new.state,
            });
            let accepting = FlagChange::of(old.accepting, new.accepting);
            (state.is_some() || accepting.is_some()).then(|| QueueChange {
                queue: name.clone(),
                state,
                accepting,
                reasons: new.state_reasons.clone(),
                message: new.state_message.clone(),
            })
        })
        .collect();
    PrinterChanges {
        service: TextChange::of(service(old), service(new)),
        queues_added,
        queues_removed,
        queues_changed,
        default_printer: TextChange::of(old.default_printer.clone(), new.default_printer.clone()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct DisplayChanges {
    /// Monitors plugged in since, by connector and serial number: the same monitor on another
    /// connector, or another monitor on the same one, is one disconnected and one connected.
    pub connected: Vec<MonitorRef>,
    pub disconnected: Vec<MonitorRef>,
    /// Monitors connected in both whose picture was switched on or off (`enabled`).
    pub enabled_changed: Vec<DisplayEnabledChange>,
}

impl Changes for DisplayChanges {
    fn is_empty(&self) -> bool {
        self.connected.is_empty() && self.disconnected.is_empty() && self.enabled_changed.is_empty()
    }
}

/// A monitor on a connector; make, model and serial are `null` when it gave no EDID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
pub struct MonitorRef {
    /// e.g. `card1-DP-3`.
    pub connector: String,
    pub serial: Option<String>,
    /// The maker's name from the EDID, e.g. `Dell`.
    pub make: Option<String>,
    /// The monitor's name from the EDID, e.g. `DELL U2518D`.
    pub model: Option<String>,
}

impl From<&Display> for MonitorRef {
    fn from(display: &Display) -> MonitorRef {
        let monitor = display.monitor.as_ref();
        MonitorRef {
            connector: display.connector.clone(),
            serial: monitor.and_then(|monitor| monitor.serial.clone()),
            make: monitor.map(|monitor| monitor.make.clone()),
            model: monitor.and_then(|monitor| monitor.model.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DisplayEnabledChange {
    pub monitor: MonitorRef,
    pub from: bool,
    pub to: bool,
}

/// Connected monitors by connector and serial, each with whether it shows a picture.
type ConnectedMonitors = BTreeMap<(String, Option<String>), (MonitorRef, bool)>;

fn connected_monitors(displays: &[Display]) -> ConnectedMonitors {
    displays
        .iter()
        .filter(|display| display.connected)
        .map(|display| {
            let monitor = MonitorRef::from(display);
            let key = (monitor.connector.clone(), monitor.serial.clone());
            (key, (monitor, display.enabled))
        })
        .collect()
}

fn display_changes(old: &[Display], new: &[Display]) -> DisplayChanges {
    let (old, new) = (connected_monitors(old), connected_monitors(new));
    let (connected, disconnected) = only_in_each(&old, &new);
    let monitors = |entries: Vec<(MonitorRef, bool)>| -> Vec<MonitorRef> {
        entries.into_iter().map(|(monitor, _)| monitor).collect()
    };
    let enabled_changed = new
        .iter()
        .filter_map(|(key, (monitor, to))| {
            let (_, from) = old.get(key)?;
            (from != to).then(|| DisplayEnabledChange {
                monitor: monitor.clone(),
                from: *from,
                to: *to,
            })
        })
        .collect();
    DisplayChanges {
        connected: monitors(connected),
        disconnected: monitors(disconnected),
        enabled_changed,
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, ToSchema)]
pub struct PowerChanges {
    /// Mains power plugged in (`from` false, `to` true) or unplugged; `null` when it did not
    /// change or either snapshot does not know.
    pub ac_online: Option<FlagChange>,
    /// Batteries in both whose health moved by at least one percent point, by name.
    pub battery_health: Vec<BatteryHealthChange>,
}

impl Changes for PowerChanges {
    fn is_empty(&self) -> bool {
        self.ac_online.is_none() && self.battery_health.is_empty()
    }
}

/// What a battery holds when full, as a share of what it held new, 0 to 100, one decimal.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BatteryHealthChange {
    pub battery: String,
    pub health_percent_from: f64,
    pub health_percent_to: f64,
    /// Negative when the battery wore (or a new one is weaker), positive after a replacement.
    pub health_percent_delta: f64,
}

fn power_changes(old: &Power, new: &Power) -> PowerChanges {
    let ac_online = match (old.ac_online, new.ac_online) {
        (Some(from), Some(to)) => FlagChange::of(from, to),
        _ => None,
    };
    let health = |power: &Power| -> BTreeMap<String, f64> {
        power
            .batteries
            .iter()
            .filter_map(|battery| Some((battery.name.clone(), battery.health_pct?)))
            .collect()
    };
    let old_health = health(old);
    let battery_health = health(new)
        .into_iter()
        .filter_map(|(battery, to)| {
            let from = *old_health.get(&battery)?;
            let delta = to - from;
            (delta.abs() >= NOTICEABLE_HEALTH_POINTS).then(|| BatteryHealthChange {
                battery,
                health_percent_from: one_decimal(from),
                health_percent_to: one_decimal(to),
                health_percent_delta: one_decimal(delta),
            })
        })
        .collect();
    PowerChanges {
        ac_online,
        battery_health,
    }
}
