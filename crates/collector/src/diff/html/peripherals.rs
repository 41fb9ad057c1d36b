//! The peripheral parts of the diff fragment: USB devices, print queues, monitors, power.

use maud::{Markup, html};
use sitrep_snapshot::PrinterState;

use super::{Block, Body, Kind, each, item, or_unknown};
use crate::diff::{
    BatteryHealthChange, DisplayChanges, DisplayEnabledChange, MonitorRef, NotComparable, Part,
    PeripheralChanges, PowerChanges, PrinterChanges, QueueChange, QueueRef, TextChange, UsbChanges,
    UsbDeviceRef,
};

/// A block per kind; one for them all when none could be compared for the same reason, as with
/// every snapshot of an agent from before the peripheral readers.
pub(super) fn blocks(changes: &PeripheralChanges) -> Vec<Block> {
    let reasons = [
        not_comparable(&changes.usb),
        not_comparable(&changes.printers),
        not_comparable(&changes.displays),
        not_comparable(&changes.power),
    ];
    if let [Some(first), rest @ ..] = &reasons
        && rest.iter().all(|reason| reason == &Some(*first))
    {
        return vec![Block {
            id: "peripherals",
            title: "Peripherals",
            body: Body::NotComparable((*first).clone()),
        }];
    }
    vec![
        Block::part("usb", "USB devices", &changes.usb, usb),
        Block::part("printers", "Printers", &changes.printers, printers),
        Block::part("displays", "Displays", &changes.displays, displays),
        Block::part("power", "Power", &changes.power, power),
    ]
}

fn not_comparable<T>(part: &Part<T>) -> Option<&NotComparable> {
    match part {
        Part::Compared(_) => None,
        Part::NotComparable(reasons) => Some(reasons),
    }
}

fn usb(changes: &UsbChanges) -> Vec<Markup> {
    [
        each(Kind::Added, "Plugged in", &changes.added, usb_device),
        each(Kind::Removed, "Unplugged", &changes.removed, usb_device),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// "GN Netcom A/S Jabra EVOLVE 65 (0b0e:0311, serial 501AA5D8D2BC) at 1-1.2".
fn usb_device(device: &UsbDeviceRef) -> Markup {
    html! {
        (device.name.as_deref().unwrap_or("USB device"))
        " (" code { (device.vendor_id) ":" (device.product_id) }
        @if let Some(serial) = &device.serial { ", serial " (serial) }
        ") at " (device.path)
    }
}

fn printers(changes: &PrinterChanges) -> Vec<Markup> {
    let text_change = |name: &'static str| {
        move |change: &TextChange| {
            html! { (name) ": " (or_unknown(&change.from)) " → " (or_unknown(&change.to)) }
        }
    };
    let changed = |change: &QueueChange| {
        html! {
            "Queue " (change.queue) ": "
            @if let Some(state) = &change.state {
                (printer_state(state.from)) " → " (printer_state(state.to))
            }
            @if change.state.is_some() && change.accepting.is_some() { ", " }
            @if let Some(accepting) = &change.accepting {
                (accepting_label(accepting.from)) " → " (accepting_label(accepting.to))
            }
            @if !change.reasons.is_empty() { " (" (change.reasons.join(", ")) ")" }
            @if let Some(message) = &change.message { ": “" (message) "”" }
        }
    };
    [
        each(
            Kind::Changed,
            "Changed",
            changes.service.as_slice(),
            text_change("Print service"),
        ),
        each(Kind::Added, "Added", &changes.queues_added, queue),
        each(Kind::Removed, "Removed", &changes.queues_removed, queue),
        each(Kind::Changed, "Changed", &changes.queues_changed, changed),
        each(
            Kind::Changed,
            "Changed",
            changes.default_printer.as_slice(),
            text_change("Default printer"),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn queue(queue: &QueueRef) -> Markup {
    html! {
        "Queue " (queue.name)
        @if let Some(uri) = &queue.uri { " (" (uri) ")" }
    }
}

fn printer_state(state: PrinterState) -> &'static str {
    match state {
        PrinterState::Idle => "idle",
        PrinterState::Printing => "printing",
        PrinterState::Stopped => "stopped",
    }
}

fn accepting_label(accepting: bool) -> &'static str {
    if accepting {
        "accepting jobs"
    } else {
        "not accepting jobs"
    }
}

fn displays(changes: &DisplayChanges) -> Vec<Markup> {
    let enabled = |change: &DisplayEnabledChange| {
        html! {
            (monitor(&change.monitor)) ": "
            (enabled_label(change.from)) " → " (enabled_label(change.to))
        }
    };
    [
        each(Kind::Added, "Connected", &changes.connected, monitor),
        each(
            Kind::Removed,
            "Disconnected",
            &changes.disconnected,
            monitor,
        ),
        each(Kind::Changed, "Changed", &changes.enabled_changed, enabled),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// "DELL U2515H (serial 9X2VY6A609UL) on card1-DP-4"; the model alone, as it usually names
/// the make too.
fn monitor(monitor: &MonitorRef) -> Markup {
    html! {
        (monitor.model.as_deref().or(monitor.make.as_deref()).unwrap_or("A monitor without EDID"))
        @if let Some(serial) = &monitor.serial { " (serial " (serial) ")" }
        " on " (monitor.connector)
    }
}

fn enabled_label(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

fn power(changes: &PowerChanges) -> Vec<Markup> {
    let mains = changes.ac_online.iter().map(|change| {
        let (kind, word) = if change.to {
            (Kind::Added, "Plugged in")
        } else {
            (Kind::Removed, "Unplugged")
        };
        item(kind, word, html! { "Mains power" })
    });
    let health = |change: &BatteryHealthChange| {
        html! {
            "Battery " (change.battery) " health: "
            (format!("{:.1} % → {:.1} %", change.health_percent_from, change.health_percent_to))
            " (" (format!("{:+.1}", change.health_percent_delta)) " points)"
        }
    };
    mains
        .chain(each(
            Kind::Changed,
            "Changed",
            &changes.battery_health,
            health,
        ))
        .collect()
}
