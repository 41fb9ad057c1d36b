//! Batteries and mains power from /sys/class/power_supply.

use std::path::Path;

use sitrep_snapshot::{Battery, BatteryStatus, Power, Section};

use super::{attribute, class_entries};
use crate::{Ctx, ReadError};

const SYS_CLASS_POWER_SUPPLY: &str = "/sys/class/power_supply";

/// Gathers whether mains power is connected and every battery's state and health.
pub fn gather(ctx: &Ctx) -> Section<Power> {
    read_power(ctx).into()
}

fn read_power(ctx: &Ctx) -> Result<Power, ReadError> {
    let mut power = Power::default();
    let mut mains_online = Vec::new();
    for (name, dir) in class_entries(ctx, SYS_CLASS_POWER_SUPPLY)? {
        // `Device` scope: the battery of a wireless mouse or headset, not the machine's.
        let peripheral = attribute(&dir, "scope").as_deref() == Some("Device");
        match attribute(&dir, "type").as_deref() {
            Some("Battery") => power.batteries.push(read_battery(name, &dir, peripheral)),
            // USB-C power delivery shows up as `USB` supplies beside (or instead of) `Mains`.
            Some("Mains" | "USB") if !peripheral => {
                mains_online.push(attribute(&dir, "online").as_deref() == Some("1"));
            }
            _ => {}
        }
    }
    power.ac_online = (!mains_online.is_empty()).then(|| mains_online.contains(&true));
    Ok(power)
}

fn read_battery(name: String, dir: &Path, peripheral: bool) -> Battery {
    battery_of(name, peripheral, |file| attribute(dir, file))
}

/// A battery from its attributes (`attribute(file)` is that file's trimmed text, `None` when
/// missing or empty); apart from the reading so that it is fuzzed without a /sys tree.
pub fn battery_of(
    name: String,
    peripheral: bool,
    attribute: impl Fn(&str) -> Option<String>,
) -> Battery {
    let number = |file: &str| attribute(file).and_then(|text| text.parse::<u64>().ok());
    // Batteries report energy (µWh) or charge (µAh), never both; health is the same ratio.
    let (full, design) = match (number("energy_full"), number("energy_full_design")) {
        (Some(full), Some(design)) => (Some(full), Some(design)),
        _ => (number("charge_full"), number("charge_full_design")),
    };
    let watt_hours = |file: &str| number(file).map(|microwatt_hours| microwatt_hours as f64 / 1e6);
    Battery {
        status: attribute("status")
            .map(|text| parse_status(&text))
            .unwrap_or_default(),
        capacity_pct: number("capacity").and_then(|pct| u8::try_from(pct.min(100)).ok()),
        // Firmware that does not count cycles reports 0.
        cycle_count: number("cycle_count")
            .filter(|count| *count > 0)
            .and_then(|count| u32::try_from(count).ok()),
        health_pct: health_pct(full, design),
        energy_full_wh: watt_hours("energy_full"),
        energy_full_design_wh: watt_hours("energy_full_design"),
        technology: attribute("technology").filter(|text| text != "Unknown"),
        model: attribute("model_name"),
        manufacturer: attribute("manufacturer"),
        peripheral,
        name,
    }
}

/// Full capacity as a share of the design capacity, one decimal; `None` without both figures.
pub fn health_pct(full: Option<u64>, design: Option<u64>) -> Option<f64> {
    let (full, design) = (full?, design?);
    (design > 0).then(|| (full as f64 * 1000.0 / design as f64).round() / 10.0)
}

pub fn parse_status(text: &str) -> BatteryStatus {
    match text.trim() {
        "Charging" => BatteryStatus::Charging,
        "Discharging" => BatteryStatus::Discharging,
        "Not charging" => BatteryStatus::NotCharging,
        "Full" => BatteryStatus::Full,
        _ => BatteryStatus::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_full_over_design() {
        assert_eq!(health_pct(Some(30_810_000), Some(57_000_000)), Some(54.1));
        assert_eq!(health_pct(Some(57_000_000), Some(57_000_000)), Some(100.0));
        assert_eq!(health_pct(Some(1), Some(0)), None);
        assert_eq!(health_pct(None, Some(57_000_000)), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status("Not charging\n"), BatteryStatus::NotCharging);
        assert_eq!(parse_status("Discharging"), BatteryStatus::Discharging);
        assert_eq!(parse_status("bogus"), BatteryStatus::Unknown);
    }
}
