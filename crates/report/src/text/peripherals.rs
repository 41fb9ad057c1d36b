//! The peripherals in the terminal report: a label per kind, one line per device, the USB
//! devices indented below their hubs.

use crate::facts::{
    BatteryFacts, DisplayFacts, NO_BATTERIES, NO_CAMERAS, NO_DISPLAYS, NO_INPUT, NO_PROBLEMS,
    NO_QUEUES, NO_RADIOS, NO_SOUND_CARDS, NO_USB, PeripheralFacts, PrinterFacts, ProblemFacts,
    QueueFacts, RadioFacts, UsbFacts,
};

use super::FactLines;

pub(super) fn write(lines: &mut FactLines, peripherals: &PeripheralFacts) {
    match &peripherals.printers {
        Ok(printers) => {
            lines.list("Printers", Ok(printer_lines(printers)), NO_QUEUES);
        }
        Err(unavailable) => lines.one("Printers", Err(unavailable)),
    }
    lines.list(
        "Displays",
        peripherals
            .displays
            .as_ref()
            .map(|displays| display_lines(displays)),
        NO_DISPLAYS,
    );
    lines.list(
        "USB",
        peripherals
            .usb
            .as_ref()
            .map(|devices| devices.iter().map(usb_line).collect()),
        NO_USB,
    );
    lines.list(
        "Audio",
        peripherals.audio.as_ref().map(|cards| {
            cards
                .iter()
                .map(|card| {
                    let line = format!("{} {} [{}]", card.card, card.name, card.driver);
                    if card.devices.is_empty() {
                        line
                    } else {
                        format!("{line}: {}", card.devices.join("; "))
                    }
                })
                .collect()
        }),
        NO_SOUND_CARDS,
    );
    match &peripherals.power {
        Ok(power) => {
            lines.line("Power", &format!("mains power {}", power.mains));
            lines.list(
                "",
                Ok(power.batteries.iter().map(battery_line).collect()),
                NO_BATTERIES,
            );
        }
        Err(unavailable) => lines.one("Power", Err(unavailable)),
    }
    lines.list(
        "Input",
        peripherals.input.as_ref().map(|devices| {
            devices
                .iter()
                .map(|device| {
                    format!(
                        "{} {} ({}, {})",
                        device.kind, device.name, device.bus, device.id
                    )
                })
                .collect()
        }),
        NO_INPUT,
    );
    lines.list(
        "Bluetooth",
        peripherals
            .radios
            .as_ref()
            .map(|radios| radios.iter().map(radio_line).collect()),
        NO_RADIOS,
    );
    lines.list(
        "Cameras",
        peripherals.cameras.as_ref().map(|cameras| {
            cameras
                .iter()
                .map(|camera| {
                    let details: Vec<String> = [
                        Some(camera.devices.clone()),
                        camera.driver.map(str::to_string),
                        camera.usb_path.map(|path| format!("USB {path}")),
                    ]
                    .into_iter()
                    .flatten()
                    .filter(|detail| !detail.is_empty())
                    .collect();
                    if details.is_empty() {
                        camera.name.to_string()
                    } else {
                        format!("{} ({})", camera.name, details.join(", "))
                    }
                })
                .collect()
        }),
        NO_CAMERAS,
    );
    lines.list(
        "Problems",
        peripherals
            .problems
            .as_ref()
            .map(|problems| problems.iter().map(problem_line).collect()),
        NO_PROBLEMS,
    );
}

/// "Intel wireless network controller (8086:2725) at 0000:03:00.0 (pci): No driver is bound
/// to this device".
fn problem_line(problem: &ProblemFacts) -> String {
    let bus = problem
        .bus
        .map(|bus| format!(" ({bus})"))
        .unwrap_or_default();
    format!(
        "{} at {}{bus}: {}",
        problem.name, problem.device_id, problem.problem
    )
}

/// The print service first, then a line per queue.
fn printer_lines(printers: &PrinterFacts) -> Vec<String> {
    std::iter::once(printers.service.clone())
        .chain(printers.queues.iter().map(queue_line))
        .collect()
}

/// "Reception-Color: stopped (paused), not accepting jobs, 2 jobs waiting, the oldest 14
/// minutes; "Out of toner"; socket://10.1.2.41:9100".
fn queue_line(queue: &QueueFacts) -> String {
    let default = if queue.is_default { " (default)" } else { "" };
    let reasons = if queue.reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", queue.reasons)
    };
    let accepting = if queue.accepting {
        "accepting jobs"
    } else {
        "not accepting jobs"
    };
    let oldest = queue
        .oldest_job
        .as_deref()
        .map(|age| format!(", the oldest {age}"))
        .unwrap_or_default();
    let mut line = format!(
        "{}{default}: {}{reasons}, {accepting}, {} waiting{oldest}",
        queue.name, queue.state, queue.jobs
    );
    if let Some(message) = queue.message {
        line.push_str(&format!("; \"{message}\""));
    }
    if let Some(uri) = queue.uri {
        line.push_str(&format!("; {uri}"));
    }
    line
}

/// Connected displays one per line; the empty connectors together, as they only say which
/// sockets there are.
fn display_lines(displays: &[DisplayFacts]) -> Vec<String> {
    let mut lines: Vec<String> = displays
        .iter()
        .filter(|display| display.connected)
        .map(|display| {
            let details: Vec<String> = display
                .monitor
                .clone()
                .into_iter()
                .chain(display.serial.map(|serial| format!("serial {serial}")))
                .chain(display.mode.map(str::to_string))
                .chain(display.notes())
                .collect();
            format!(
                "{} {}: {}",
                display.connector,
                display.state,
                details.join(", ")
            )
        })
        .collect();
    let empty: Vec<&str> = displays
        .iter()
        .filter(|display| !display.connected)
        .map(|display| display.connector)
        .collect();
    if !empty.is_empty() {
        lines.push(format!("disconnected: {}", empty.join(", ")));
    }
    lines
}

/// "1-1.2 0b0e:0311 GN Netcom A/S Jabra EVOLVE 65 (audio, hid) 12 Mb/s, driver
/// snd-usb-audio, usbhid", indented two spaces per hub above it.
fn usb_line(device: &UsbFacts) -> String {
    let name = device
        .name
        .as_deref()
        .map(|name| format!(" {name}"))
        .unwrap_or_default();
    let speed = device
        .speed
        .as_deref()
        .map(|speed| format!(" {speed},"))
        .unwrap_or_default();
    let driver = if device.has_driver {
        format!("driver {}", device.driver)
    } else {
        device.driver.to_string()
    };
    format!(
        "{}{} {}{name} ({}){speed} {driver}",
        "  ".repeat(device.depth),
        device.path,
        device.id,
        device.class,
    )
}

/// "BAT0 charging, 81 % charged, health 54 %, 412 cycles (5B10W13975 (SMP))".
fn battery_line(battery: &BatteryFacts) -> String {
    let peripheral = if battery.peripheral {
        " (peripheral)"
    } else {
        ""
    };
    let figures: Vec<String> = [
        battery
            .charge
            .as_deref()
            .map(|charge| format!("{charge} charged")),
        battery
            .health
            .as_deref()
            .map(|health| format!("health {health}")),
        battery.cycles.map(|cycles| format!("{cycles} cycles")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let figures = if figures.is_empty() {
        String::new()
    } else {
        format!(", {}", figures.join(", "))
    };
    let model = battery
        .model
        .as_deref()
        .map(|model| format!(": {model}"))
        .unwrap_or_default();
    format!(
        "{}{peripheral} {}{figures}{model}",
        battery.name, battery.status
    )
}

/// "hci0 Bluetooth adapter (usb, btusb): soft-blocked".
fn radio_line(radio: &RadioFacts) -> String {
    let attached: Vec<&str> = [radio.bus, radio.driver].into_iter().flatten().collect();
    let attached = if attached.is_empty() {
        String::new()
    } else {
        format!(" ({})", attached.join(", "))
    };
    let blocked = radio
        .blocked
        .map(|blocked| format!(": {blocked}"))
        .unwrap_or_default();
    format!("{} {}{attached}{blocked}", radio.name, radio.kind)
}
