//! The peripherals' tables: one section per kind, each with its own "unavailable" line when the
//! agent could not read that kind.

use super::{Body, Cell, FactSection, grid};
use crate::facts::{
    BatteryFacts, CameraFacts, DisplayFacts, InputFacts, NO_BATTERIES, NO_CAMERAS, NO_DISPLAYS,
    NO_INPUT, NO_PROBLEMS, NO_QUEUES, NO_RADIOS, NO_SOUND_CARDS, NO_USB, PeripheralFacts,
    PowerFacts, PrinterFacts, ProblemFacts, QueueFacts, RadioFacts, SoundCardFacts, UsbFacts,
};

/// The kinds in report order: what users call about most comes first.
pub(super) fn sections(peripherals: &PeripheralFacts) -> Vec<FactSection> {
    let mut printers = FactSection::of("Printers", &peripherals.printers, queues_grid);
    printers.lead = peripherals
        .printers
        .as_ref()
        .ok()
        .map(|printers| format!("Print service: {}", printers.service));
    let mut power = FactSection::of("Power and batteries", &peripherals.power, batteries_grid);
    power.lead = peripherals
        .power
        .as_ref()
        .ok()
        .map(|power| format!("Mains power: {}", power.mains));
    vec![
        printers,
        FactSection::of("Displays", &peripherals.displays, |displays| {
            displays_grid(displays)
        }),
        FactSection::of("USB devices", &peripherals.usb, |devices| usb_grid(devices)),
        FactSection::of("Audio", &peripherals.audio, |cards| sound_grid(cards)),
        power,
        FactSection::of("Input devices", &peripherals.input, |devices| {
            input_grid(devices)
        }),
        FactSection::of(
            "Bluetooth and radio switches",
            &peripherals.radios,
            |radios| radios_grid(radios),
        ),
        FactSection::of("Cameras", &peripherals.cameras, |cameras| {
            cameras_grid(cameras)
        }),
        FactSection::of("Device problems", &peripherals.problems, |problems| {
            problems_grid(problems)
        }),
    ]
}

fn queues_grid(printers: &PrinterFacts) -> Body {
    let rows = printers
        .queues
        .iter()
        .map(|queue: &QueueFacts| {
            let name = if queue.is_default {
                format!("{} (default)", queue.name)
            } else {
                queue.name.to_string()
            };
            vec![
                Cell::text(name),
                Cell::optional(queue.description.as_deref()),
                Cell::text(queue.state),
                Cell::text(&queue.reasons),
                Cell::text(queue.message.unwrap_or_default()),
                Cell::text(if queue.accepting { "yes" } else { "no" }),
                Cell::figure(&queue.jobs),
                Cell::optional(queue.oldest_job.as_deref()),
                Cell::optional(queue.uri),
            ]
        })
        .collect();
    grid(
        &[
            "Queue",
            "Description",
            "State",
            "Reasons",
            "Message",
            "Accepting",
            "Waiting",
            "Oldest job",
            "Device URI",
        ],
        rows,
        NO_QUEUES,
    )
}

fn displays_grid(displays: &[DisplayFacts]) -> Body {
    let rows = displays
        .iter()
        .map(|display| {
            vec![
                Cell::text(display.connector),
                Cell::text(display.state),
                Cell::optional(display.monitor.as_deref()),
                Cell::optional(display.serial),
                Cell::optional_figure(display.mode),
                Cell::text(display.notes().join("; ")),
            ]
        })
        .collect();
    grid(
        &[
            "Connector",
            "State",
            "Monitor",
            "Serial",
            "Preferred mode",
            "Notes",
        ],
        rows,
        NO_DISPLAYS,
    )
}

fn usb_grid(devices: &[UsbFacts]) -> Body {
    let rows = devices
        .iter()
        .map(|device| {
            vec![
                Cell::Nested {
                    depth: device.depth,
                    text: device.path.to_string(),
                },
                Cell::figure(&device.id),
                Cell::optional(device.name.as_deref()),
                Cell::text(device.class),
                Cell::optional_figure(device.speed.as_deref()),
                Cell::text(device.driver),
            ]
        })
        .collect();
    grid(
        &["Port", "ID", "Name", "Class", "Speed", "Driver"],
        rows,
        NO_USB,
    )
}

fn sound_grid(cards: &[SoundCardFacts]) -> Body {
    let rows = cards
        .iter()
        .map(|card| {
            vec![
                Cell::text(&card.card),
                Cell::text(card.name),
                Cell::text(card.driver),
                Cell::text(card.devices.join("; ")),
            ]
        })
        .collect();
    grid(&["Card", "Name", "Driver", "Devices"], rows, NO_SOUND_CARDS)
}

fn batteries_grid(power: &PowerFacts) -> Body {
    let rows = power
        .batteries
        .iter()
        .map(|battery: &BatteryFacts| {
            vec![
                Cell::text(battery.name),
                Cell::text(battery.powers),
                Cell::text(battery.status),
                Cell::optional_figure(battery.charge.as_deref()),
                Cell::optional_figure(battery.health.as_deref()),
                Cell::optional_figure(battery.cycles.map(|cycles| cycles.to_string())),
                Cell::optional(battery.model.as_deref()),
            ]
        })
        .collect();
    grid(
        &[
            "Battery", "Powers", "Status", "Charge", "Health", "Cycles", "Model",
        ],
        rows,
        NO_BATTERIES,
    )
}

fn input_grid(devices: &[InputFacts]) -> Body {
    let rows = devices
        .iter()
        .map(|device| {
            vec![
                Cell::text(device.name),
                Cell::text(device.kind),
                Cell::text(device.bus),
                Cell::figure(&device.id),
            ]
        })
        .collect();
    grid(&["Device", "Kind", "Bus", "ID"], rows, NO_INPUT)
}

fn radios_grid(radios: &[RadioFacts]) -> Body {
    let rows = radios
        .iter()
        .map(|radio| {
            vec![
                Cell::text(radio.name),
                Cell::text(&radio.kind),
                Cell::optional(radio.bus),
                Cell::optional(radio.driver),
                Cell::optional(radio.blocked),
            ]
        })
        .collect();
    grid(
        &["Name", "Kind", "Bus", "Driver", "Blocked"],
        rows,
        NO_RADIOS,
    )
}

fn cameras_grid(cameras: &[CameraFacts]) -> Body {
    let rows = cameras
        .iter()
        .map(|camera| {
            vec![
                Cell::text(camera.name),
                Cell::text(&camera.devices),
                Cell::optional(camera.driver),
                Cell::optional(camera.usb_path),
            ]
        })
        .collect();
    grid(
        &["Camera", "Devices", "Driver", "USB port"],
        rows,
        NO_CAMERAS,
    )
}

fn problems_grid(problems: &[ProblemFacts]) -> Body {
    let rows = problems
        .iter()
        .map(|problem| {
            vec![
                Cell::text(problem.name),
                Cell::text(problem.device_id),
                Cell::optional(problem.class),
                Cell::optional(problem.bus),
                Cell::text(&problem.problem),
                Cell::optional(problem.driver),
            ]
        })
        .collect();
    grid(
        &["Device", "ID", "Class", "Bus", "Problem", "Driver"],
        rows,
        NO_PROBLEMS,
    )
}
