//! Batteries on Windows: charge and state from Win32_Battery, capacity and cycles from the
//! battery miniport's classes in `root\wmi` (BatteryStaticData, BatteryFullChargedCapacity,
//! BatteryCycleCount), which Win32_Battery leaves empty on most laptops.

use serde::Deserialize;
use sitrep_snapshot::{Battery, BatteryStatus, Power};

use crate::ParseError;
use crate::parse::windows::{cim_instances, non_empty};

pub const BATTERY_QUERY: &str = "Get-CimInstance -ClassName Win32_Battery | Select-Object \
     DeviceID, Name, BatteryStatus, EstimatedChargeRemaining, Chemistry";
pub const STATIC_DATA_QUERY: &str = "Get-CimInstance -Namespace root\\wmi -ClassName \
     BatteryStaticData | Select-Object InstanceName, DesignedCapacity, ManufactureName, DeviceName";
pub const FULL_CHARGE_QUERY: &str = "Get-CimInstance -Namespace root\\wmi -ClassName \
     BatteryFullChargedCapacity | Select-Object InstanceName, FullChargedCapacity";
pub const CYCLE_COUNT_QUERY: &str = "Get-CimInstance -Namespace root\\wmi -ClassName \
     BatteryCycleCount | Select-Object InstanceName, CycleCount";

/// The queries of the power section, in the order [`power_of`] takes their documents.
pub const QUERIES: [&str; 4] = [
    BATTERY_QUERY,
    STATIC_DATA_QUERY,
    FULL_CHARGE_QUERY,
    CYCLE_COUNT_QUERY,
];

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Win32Battery {
    pub name: Option<String>,
    /// 1 discharging, 2 on AC, 3 fully charged, 4 low, 5 critical, 6–9 charging, 11 partially
    /// charged.
    pub battery_status: Option<u32>,
    pub estimated_charge_remaining: Option<u8>,
    /// 3 lead acid, 4 NiCd, 5 NiMH, 6 Li-ion, 8 Li-poly.
    pub chemistry: Option<u32>,
}

/// The `root\wmi` battery classes share their field names; one struct reads all three.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MiniportBattery {
    pub instance_name: String,
    /// Milliwatt-hours.
    pub designed_capacity: Option<u64>,
    pub full_charged_capacity: Option<u64>,
    pub cycle_count: Option<u32>,
    pub manufacture_name: Option<String>,
    pub device_name: Option<String>,
}

/// The batteries, the n-th Win32_Battery with the n-th battery of each miniport class (the
/// classes name their instances differently, and laptops with two packs list them in order).
pub fn power_of(
    batteries: &str,
    static_data: &str,
    full_charge: &str,
    cycle_counts: &str,
) -> Result<Power, ParseError> {
    let batteries: Vec<Win32Battery> = cim_instances(batteries)?;
    // The miniport classes are optional: a battery without them still has its charge.
    let miniport = |text: &str| -> Vec<MiniportBattery> {
        cim_instances(text)
            .inspect_err(|error| tracing::debug!(%error, "battery miniport data unusable"))
            .unwrap_or_default()
    };
    let (static_data, full_charge, cycle_counts) = (
        miniport(static_data),
        miniport(full_charge),
        miniport(cycle_counts),
    );
    let ac_online = batteries
        .iter()
        .find_map(|battery| match battery.battery_status? {
            1 | 4 | 5 => Some(false),
            2 | 3 | 6..=9 | 11 => Some(true),
            _ => None,
        });
    let batteries = batteries
        .iter()
        .enumerate()
        .map(|(position, battery)| {
            let design = static_data
                .get(position)
                .and_then(|data| data.designed_capacity);
            let full = full_charge
                .get(position)
                .and_then(|data| data.full_charged_capacity);
            let capacity_pct = battery.estimated_charge_remaining.map(|pct| pct.min(100));
            Battery {
                name: non_empty(battery.name.as_deref())
                    .unwrap_or_else(|| format!("battery {}", position + 1)),
                peripheral: false,
                status: match battery.battery_status {
                    Some(1 | 4 | 5) => BatteryStatus::Discharging,
                    Some(3) => BatteryStatus::Full,
                    Some(6..=9) => BatteryStatus::Charging,
                    Some(2) if capacity_pct == Some(100) => BatteryStatus::Full,
                    Some(2 | 11) => BatteryStatus::NotCharging,
                    _ => BatteryStatus::Unknown,
                },
                capacity_pct,
                // Firmware that does not count cycles reports 0.
                cycle_count: cycle_counts
                    .get(position)
                    .and_then(|data| data.cycle_count)
                    .filter(|count| *count > 0),
                health_pct: match (full, design) {
                    (Some(full), Some(design)) if design > 0 => {
                        Some(full as f64 / design as f64 * 100.0)
                    }
                    _ => None,
                },
                energy_full_wh: full.map(|mwh| mwh as f64 / 1000.0),
                energy_full_design_wh: design.map(|mwh| mwh as f64 / 1000.0),
                technology: match battery.chemistry {
                    Some(3) => Some("Lead-acid"),
                    Some(4) => Some("NiCd"),
                    Some(5) => Some("NiMH"),
                    Some(6) => Some("Li-ion"),
                    Some(8) => Some("Li-poly"),
                    _ => None,
                }
                .map(str::to_owned),
                model: static_data
                    .get(position)
                    .and_then(|data| non_empty(data.device_name.as_deref())),
                manufacturer: static_data
                    .get(position)
                    .and_then(|data| non_empty(data.manufacture_name.as_deref())),
            }
        })
        .collect();
    Ok(Power {
        ac_online,
        batteries,
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    #[test]
    fn worn_laptop_battery_on_ac() {
        let power = power_of(
            &fixture("laptop/Win32_Battery.json"),
            &fixture("laptop/BatteryStaticData.json"),
            &fixture("laptop/BatteryFullChargedCapacity.json"),
            &fixture("laptop/BatteryCycleCount.json"),
        );
        expect![[r#"
            Ok(
                Power {
                    ac_online: Some(
                        true,
                    ),
                    batteries: [
                        Battery {
                            name: "DELL 7FHG330",
                            peripheral: false,
                            status: NotCharging,
                            capacity_pct: Some(
                                87,
                            ),
                            cycle_count: Some(
                                612,
                            ),
                            health_pct: Some(
                                56.00000000000001,
                            ),
                            energy_full_wh: Some(
                                31.92,
                            ),
                            energy_full_design_wh: Some(
                                57.0,
                            ),
                            technology: Some(
                                "Li-ion",
                            ),
                            model: Some(
                                "DELL 7FHG330",
                            ),
                            manufacturer: Some(
                                "SMP",
                            ),
                        },
                    ],
                },
            )
        "#]]
        .assert_debug_eq(&power);
    }

    #[test]
    fn a_desktop_has_no_battery() {
        assert_eq!(
            power_of("", "", "", ""),
            Ok(Power {
                ac_online: None,
                batteries: Vec::new()
            })
        );
    }
}
