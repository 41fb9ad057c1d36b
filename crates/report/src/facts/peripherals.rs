//! The peripherals as people read them: the USB tree, print queues, displays and their
//! monitors, sound cards, power and batteries, input devices, Bluetooth and radio switches,
//! cameras, and the devices the system cannot use. Each kind stays its own `Available`, as the
//! agent gathers each on its own.

use std::collections::BTreeMap;

use sitrep_checks::format::{counted, duration, whole_percent};
use sitrep_snapshot::{
    Audio, Battery, BatteryStatus, Bluetooth, Camera, CupsStatus, DeviceProblem, Display,
    InputDevice, InputKind, PcmDevice, Peripherals, Power, PrintQueue, PrinterState, Printers,
    RfkillSwitch, SoundCard, UsbDevice,
};

use super::{Available, available};

/// Said where a list would be, when the machine has none of the kind.
pub(crate) const NO_USB: &str = "no USB devices";
pub(crate) const NO_QUEUES: &str = "no print queues";
pub(crate) const NO_DISPLAYS: &str = "no display connectors";
pub(crate) const NO_SOUND_CARDS: &str = "no sound cards";
pub(crate) const NO_BATTERIES: &str = "no batteries";
pub(crate) const NO_INPUT: &str = "no keyboards, mice or touchpads";
pub(crate) const NO_RADIOS: &str = "no Bluetooth adapters or radio switches";
pub(crate) const NO_CAMERAS: &str = "no cameras";
pub(crate) const NO_PROBLEMS: &str = "no device problems";

#[derive(Debug)]
pub(crate) struct PeripheralFacts<'a> {
    /// In bus order, so each device follows the hub it is plugged into.
    pub usb: Available<Vec<UsbFacts<'a>>>,
    pub printers: Available<PrinterFacts<'a>>,
    pub displays: Available<Vec<DisplayFacts<'a>>>,
    pub audio: Available<Vec<SoundCardFacts<'a>>>,
    pub power: Available<PowerFacts<'a>>,
    pub input: Available<Vec<InputFacts<'a>>>,
    /// Bluetooth adapters first, then the radio switches that are not an adapter's own.
    pub radios: Available<Vec<RadioFacts<'a>>>,
    pub cameras: Available<Vec<CameraFacts<'a>>>,
    pub problems: Available<Vec<ProblemFacts<'a>>>,
}

impl<'a> PeripheralFacts<'a> {
    pub(crate) fn of(peripherals: &'a Peripherals) -> Self {
        PeripheralFacts {
            usb: available(&peripherals.usb).map(|devices| usb_tree(devices)),
            printers: available(&peripherals.printers).map(PrinterFacts::of),
            displays: available(&peripherals.displays)
                .map(|displays| displays.iter().map(DisplayFacts::of).collect()),
            audio: available(&peripherals.audio)
                .map(|Audio { cards }| cards.iter().map(SoundCardFacts::of).collect()),
            power: available(&peripherals.power).map(PowerFacts::of),
            input: available(&peripherals.input)
                .map(|devices| devices.iter().map(InputFacts::of).collect()),
            radios: available(&peripherals.bluetooth).map(radios),
            cameras: available(&peripherals.cameras)
                .map(|cameras| cameras.iter().map(CameraFacts::of).collect()),
            problems: available(&peripherals.device_problems)
                .map(|problems| problems.iter().map(ProblemFacts::of).collect()),
        }
    }
}

#[derive(Debug)]
pub(crate) struct UsbFacts<'a> {
    /// Bus path, e.g. `1-1.2`.
    pub path: &'a str,
    /// Hubs above it in the list: 0 for a root hub.
    pub depth: usize,
    /// `vendor:product`, e.g. `046d:c52b`.
    pub id: String,
    /// Maker and product as the device names itself, e.g. "Logitech USB Receiver".
    pub name: Option<String>,
    pub class: &'a str,
    /// "12 Mb/s", "5 Gb/s".
    pub speed: Option<String>,
    /// The bound drivers, or "no driver".
    pub driver: &'a str,
    pub has_driver: bool,
}

/// Said for a USB device no kernel driver has taken (a fingerprint reader that fprintd
/// drives from user space, or hardware the kernel does not know).
const NO_DRIVER: &str = "no driver";

fn usb_tree(devices: &[UsbDevice]) -> Vec<UsbFacts<'_>> {
    let parents: BTreeMap<&str, &str> = devices
        .iter()
        .filter_map(|device| Some((device.path.as_str(), device.parent.as_deref()?)))
        .collect();
    // Bounded by the list's length, so a parent loop in a damaged snapshot cannot hang us.
    let depth = |path: &str| {
        std::iter::successors(parents.get(path), |parent| parents.get(*parent))
            .take(devices.len())
            .count()
    };
    devices
        .iter()
        .map(|device| UsbFacts {
            path: &device.path,
            depth: depth(&device.path),
            id: format!("{}:{}", device.vendor_id, device.product_id),
            name: joined(&[device.manufacturer.as_deref(), device.product.as_deref()]),
            class: &device.class,
            speed: device.speed_mbps.map(usb_speed),
            driver: device.driver.as_deref().unwrap_or(NO_DRIVER),
            has_driver: device.driver.is_some(),
        })
        .collect()
}

/// "1.5 Mb/s", "480 Mb/s", "5 Gb/s": the figures USB speeds are known by.
fn usb_speed(mbps: f64) -> String {
    if mbps >= 1000.0 {
        format!("{} Gb/s", mbps / 1000.0)
    } else {
        format!("{mbps} Mb/s")
    }
}

/// The present parts joined by spaces; `None` when none is present.
fn joined(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts
        .iter()
        .flatten()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[derive(Debug)]
pub(crate) struct PrinterFacts<'a> {
    /// "CUPS/2.4 IPP/2.1 at /run/cups/cups.sock", or "no CUPS (no CUPS socket at ...)".
    pub service: String,
    pub queues: Vec<QueueFacts<'a>>,
}

impl<'a> PrinterFacts<'a> {
    fn of(printers: &'a Printers) -> Self {
        let service = match &printers.cups {
            CupsStatus::Present { server, version } => {
                format!("{} at {server}", version.as_deref().unwrap_or("CUPS"))
            }
            CupsStatus::Absent { reason } => format!("no CUPS ({reason})"),
        };
        PrinterFacts {
            service,
            queues: printers
                .queues
                .iter()
                .map(|queue| QueueFacts::of(queue, printers.default_printer.as_deref()))
                .collect(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct QueueFacts<'a> {
    pub name: &'a str,
    pub is_default: bool,
    /// Its description and location, e.g. "HP LaserJet, 2nd floor (2nd floor, room 2.14)".
    pub description: Option<String>,
    /// "idle", "printing" or "stopped".
    pub state: &'static str,
    /// "paused, toner-low-warning"; empty when the queue gives none.
    pub reasons: String,
    pub message: Option<&'a str>,
    pub accepting: bool,
    /// "no jobs", "1 job", "3 jobs".
    pub jobs: String,
    pub oldest_job: Option<String>,
    pub uri: Option<&'a str>,
}

impl<'a> QueueFacts<'a> {
    fn of(queue: &'a PrintQueue, default_printer: Option<&str>) -> Self {
        let state = match queue.state {
            PrinterState::Idle => "idle",
            PrinterState::Printing => "printing",
            PrinterState::Stopped => "stopped",
        };
        let description = match (queue.info.as_deref(), queue.location.as_deref()) {
            (Some(info), Some(location)) if info != location => {
                Some(format!("{info} ({location})"))
            }
            (Some(text), _) | (None, Some(text)) => Some(text.to_string()),
            (None, None) => None,
        };
        QueueFacts {
            name: &queue.name,
            is_default: queue.is_default || default_printer == Some(queue.name.as_str()),
            description,
            state,
            reasons: queue.state_reasons.join(", "),
            message: queue.state_message.as_deref(),
            accepting: queue.accepting,
            jobs: if queue.jobs_waiting == 0 {
                "no jobs".to_string()
            } else {
                counted(queue.jobs_waiting as usize, "job", "jobs")
            },
            oldest_job: queue
                .oldest_job_age_s
                .filter(|_| queue.jobs_waiting > 0)
                .map(duration),
            uri: queue.uri.as_deref(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct DisplayFacts<'a> {
    pub connector: &'a str,
    pub internal: bool,
    pub connected: bool,
    /// "connected, enabled", "connected, disabled" (plugged in, but the desktop shows nothing
    /// on it) or "disconnected".
    pub state: &'static str,
    /// "Dell U2518D": the make, unless the model already starts with it.
    pub monitor: Option<String>,
    pub serial: Option<&'a str>,
    pub mode: Option<&'a str>,
    /// Why its EDID could not be read; connected with neither monitor nor error means none.
    pub edid_error: Option<&'a str>,
}

impl<'a> DisplayFacts<'a> {
    fn of(display: &'a Display) -> Self {
        let state = match (display.connected, display.enabled) {
            (true, true) => "connected, enabled",
            (true, false) => "connected, disabled",
            (false, _) => "disconnected",
        };
        let monitor = display
            .monitor
            .as_ref()
            .map(|monitor| match monitor.model.as_deref() {
                Some(model) if starts_with_ignoring_case(model, &monitor.make) => model.to_string(),
                Some(model) => format!("{} {model}", monitor.make),
                None => format!("{} monitor {:04x}", monitor.make, monitor.product_code),
            });
        DisplayFacts {
            connector: &display.connector,
            internal: display.internal,
            connected: display.connected,
            state,
            monitor,
            serial: display
                .monitor
                .as_ref()
                .and_then(|monitor| monitor.serial.as_deref()),
            mode: display.preferred_mode.as_deref(),
            edid_error: display.edid_error.as_deref(),
        }
    }

    /// What else is worth knowing: a built-in panel, an unreadable or missing EDID.
    pub(crate) fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.internal {
            notes.push("built-in panel".to_string());
        }
        match self.edid_error {
            Some(error) => notes.push(format!("EDID unreadable: {error}")),
            None if self.connected && self.monitor.is_none() => notes.push("no EDID".to_string()),
            None => {}
        }
        notes
    }
}

fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

#[derive(Debug)]
pub(crate) struct SoundCardFacts<'a> {
    /// "0 PCH": the index ALSA numbers it by and its short id.
    pub card: String,
    pub name: &'a str,
    pub driver: &'a str,
    /// "0 ALC257 Analog (playback, capture)", one per PCM device.
    pub devices: Vec<String>,
}

impl<'a> SoundCardFacts<'a> {
    fn of(card: &'a SoundCard) -> Self {
        SoundCardFacts {
            card: format!("{} {}", card.index, card.id),
            name: &card.name,
            driver: &card.driver,
            devices: card.pcm_devices.iter().map(pcm_label).collect(),
        }
    }
}

fn pcm_label(pcm: &PcmDevice) -> String {
    let directions: Vec<&str> = [(pcm.playback, "playback"), (pcm.capture, "capture")]
        .into_iter()
        .filter_map(|(has, direction)| has.then_some(direction))
        .collect();
    if directions.is_empty() {
        format!("{} {}", pcm.device, pcm.name)
    } else {
        format!("{} {} ({})", pcm.device, pcm.name, directions.join(", "))
    }
}

#[derive(Debug)]
pub(crate) struct PowerFacts<'a> {
    /// "connected", "not connected (on battery)", or "not reported".
    pub mains: &'static str,
    /// The machine's own batteries first, then those of wireless peripherals.
    pub batteries: Vec<BatteryFacts<'a>>,
}

impl<'a> PowerFacts<'a> {
    fn of(power: &'a Power) -> Self {
        let mut batteries: Vec<&Battery> = power.batteries.iter().collect();
        batteries.sort_by_key(|battery| battery.peripheral);
        PowerFacts {
            mains: match power.ac_online {
                Some(true) => "connected",
                Some(false) => "not connected (on battery)",
                None => "not reported",
            },
            batteries: batteries.into_iter().map(BatteryFacts::of).collect(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct BatteryFacts<'a> {
    pub name: &'a str,
    /// "this computer" or "a peripheral".
    pub powers: &'static str,
    pub peripheral: bool,
    pub status: &'static str,
    /// "81 %".
    pub charge: Option<String>,
    /// What it holds of its design capacity, rounded down like the findings: "54 %".
    pub health: Option<String>,
    pub cycles: Option<u32>,
    /// "5B10W13975 (SMP)", "MX Master 3 (Logitech)".
    pub model: Option<String>,
}

impl<'a> BatteryFacts<'a> {
    fn of(battery: &'a Battery) -> Self {
        let model = match (battery.model.as_deref(), battery.manufacturer.as_deref()) {
            (Some(model), Some(maker)) => Some(format!("{model} ({maker})")),
            (Some(text), None) | (None, Some(text)) => Some(text.to_string()),
            (None, None) => None,
        };
        BatteryFacts {
            name: &battery.name,
            powers: if battery.peripheral {
                "a peripheral"
            } else {
                "this computer"
            },
            peripheral: battery.peripheral,
            status: match battery.status {
                BatteryStatus::Charging => "charging",
                BatteryStatus::Discharging => "discharging",
                BatteryStatus::NotCharging => "not charging",
                BatteryStatus::Full => "full",
                BatteryStatus::Unknown => "status unknown",
            },
            charge: battery.capacity_pct.map(|pct| format!("{pct} %")),
            health: battery.health_pct.map(whole_percent),
            cycles: battery.cycle_count,
            model,
        }
    }
}

#[derive(Debug)]
pub(crate) struct InputFacts<'a> {
    pub name: &'a str,
    pub kind: &'static str,
    pub bus: &'a str,
    pub id: String,
}

impl<'a> InputFacts<'a> {
    fn of(device: &'a InputDevice) -> Self {
        InputFacts {
            name: &device.name,
            kind: match device.kind {
                InputKind::Keyboard => "keyboard",
                InputKind::Mouse => "mouse",
                InputKind::Touchpad => "touchpad",
                InputKind::Touchscreen => "touchscreen",
                InputKind::Tablet => "pen tablet",
                InputKind::Joystick => "joystick",
            },
            bus: &device.bus,
            id: format!("{}:{}", device.vendor_id, device.product_id),
        }
    }
}

/// A Bluetooth adapter or a radio kill switch.
#[derive(Debug)]
pub(crate) struct RadioFacts<'a> {
    pub name: &'a str,
    /// "Bluetooth adapter", "Wi-Fi switch".
    pub kind: String,
    pub bus: Option<&'a str>,
    pub driver: Option<&'a str>,
    /// "not blocked", "soft-blocked", ...; `None` for an adapter without a switch of its own.
    pub blocked: Option<&'static str>,
}

/// An adapter's own switch carries its name (`hci0`); the others (a laptop's Bluetooth key, the
/// Wi-Fi card's `phy0`) follow the adapters.
fn radios(bluetooth: &Bluetooth) -> Vec<RadioFacts<'_>> {
    let switch_of = |name: &str| bluetooth.rfkill.iter().find(|switch| switch.name == name);
    let adapters = bluetooth.adapters.iter().map(|adapter| RadioFacts {
        name: &adapter.name,
        kind: "Bluetooth adapter".to_string(),
        bus: adapter.bus.as_deref(),
        driver: adapter.driver.as_deref(),
        blocked: switch_of(&adapter.name).map(blocked_label),
    });
    let switches = bluetooth
        .rfkill
        .iter()
        .filter(|switch| {
            !bluetooth
                .adapters
                .iter()
                .any(|adapter| adapter.name == switch.name)
        })
        .map(|switch| RadioFacts {
            name: &switch.name,
            kind: format!("{} switch", radio_kind(&switch.kind)),
            bus: None,
            driver: None,
            blocked: Some(blocked_label(switch)),
        });
    adapters.chain(switches).collect()
}

fn radio_kind(kind: &str) -> &str {
    match kind {
        "bluetooth" => "Bluetooth",
        "wlan" => "Wi-Fi",
        "wwan" => "mobile broadband",
        "gps" => "GPS",
        "nfc" => "NFC",
        other => other,
    }
}

fn blocked_label(switch: &RfkillSwitch) -> &'static str {
    match (switch.soft_blocked, switch.hard_blocked) {
        (false, false) => "not blocked",
        (true, false) => "soft-blocked",
        (false, true) => "hard-blocked",
        (true, true) => "soft- and hard-blocked",
    }
}

#[derive(Debug)]
pub(crate) struct CameraFacts<'a> {
    pub name: &'a str,
    /// "/dev/video0 /dev/video1".
    pub devices: String,
    pub driver: Option<&'a str>,
    /// The bus path of its USB device, for USB cameras.
    pub usb_path: Option<&'a str>,
}

impl<'a> CameraFacts<'a> {
    fn of(camera: &'a Camera) -> Self {
        CameraFacts {
            name: &camera.name,
            devices: camera.devices.join(" "),
            driver: camera.driver.as_deref(),
            usb_path: camera.usb_path.as_deref(),
        }
    }
}

/// A device the system lists but cannot use.
#[derive(Debug)]
pub(crate) struct ProblemFacts<'a> {
    pub name: &'a str,
    /// The platform's id: a PCI address, a Windows device instance path.
    pub device_id: &'a str,
    pub class: Option<&'a str>,
    pub bus: Option<&'a str>,
    /// "No driver is bound to this device", or "switched off" for a disabled device.
    pub problem: String,
    pub driver: Option<&'a str>,
}

impl<'a> ProblemFacts<'a> {
    fn of(problem: &'a DeviceProblem) -> Self {
        ProblemFacts {
            name: &problem.name,
            device_id: &problem.device_id,
            class: problem.class.as_deref(),
            bus: problem.bus.as_deref(),
            problem: if problem.disabled {
                format!("switched off: {}", problem.problem)
            } else {
                problem.problem.clone()
            },
            driver: problem.driver.as_deref(),
        }
    }
}
