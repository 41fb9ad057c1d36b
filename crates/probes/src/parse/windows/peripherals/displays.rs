//! Monitors on Windows: the EDID facts Windows keeps in WmiMonitorID and how each monitor is
//! attached (WmiMonitorConnectionParams), both in the `root\wmi` namespace.

use serde::Deserialize;
use serde_json::Value;
use sitrep_snapshot::{Display, Monitor};

use crate::ParseError;
use crate::edid::vendor_name;
use crate::parse::windows::cim_instances;

pub const MONITOR_ID_QUERY: &str = "Get-CimInstance -Namespace root\\wmi -ClassName WmiMonitorID | \
     Select-Object InstanceName, Active, ManufacturerName, ProductCodeID, SerialNumberID, \
     UserFriendlyName, YearOfManufacture, WeekOfManufacture";
pub const CONNECTION_QUERY: &str = "Get-CimInstance -Namespace root\\wmi -ClassName \
     WmiMonitorConnectionParams | Select-Object InstanceName, Active, VideoOutputTechnology";

/// The queries of the displays, in the order [`displays_of`] takes their documents.
pub const QUERIES: [&str; 2] = [MONITOR_ID_QUERY, CONNECTION_QUERY];

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonitorId {
    /// e.g. `DISPLAY\DELA1F7\5&2f1a3b4c&0&UID4353_0`.
    pub instance_name: String,
    #[serde(default)]
    pub active: bool,
    /// The EDID strings come as arrays of character codes padded with zeros.
    #[serde(default)]
    pub manufacturer_name: Value,
    #[serde(rename = "ProductCodeID", default)]
    pub product_code_id: Value,
    #[serde(rename = "SerialNumberID", default)]
    pub serial_number_id: Value,
    #[serde(default)]
    pub user_friendly_name: Value,
    pub year_of_manufacture: Option<u16>,
    pub week_of_manufacture: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonitorConnection {
    pub instance_name: String,
    /// `D3DKMDT_VIDEO_OUTPUT_TECHNOLOGY`: 0 VGA, 4 DVI, 5 HDMI, 10 DisplayPort, 11 embedded
    /// DisplayPort, 0x80000000 internal, ...
    pub video_output_technology: Option<i64>,
}

/// The text of a WmiMonitorID character-code array, without its zero padding.
fn edid_string(value: &Value) -> Option<String> {
    let text: String = value
        .as_array()?
        .iter()
        .filter_map(Value::as_u64)
        .take_while(|code| *code != 0)
        .filter_map(|code| char::from_u32(u32::try_from(code).ok()?))
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// The name of a video output technology, as a connector is named on Linux.
fn technology_name(technology: i64) -> &'static str {
    match technology {
        0 => "VGA",
        4 => "DVI",
        5 => "HDMI",
        6 => "LVDS",
        10 => "DP",
        11 => "eDP",
        15 => "Miracast",
        16 => "USB-C",
        0x8000_0000 => "internal",
        _ => "other",
    }
}

/// The monitors Windows sees. It does not list modes per monitor, and a monitor it does not
/// see (a cable that carries nothing) is not listed at all.
pub fn displays_of(monitor_ids: &str, connections: &str) -> Result<Vec<Display>, ParseError> {
    let monitors: Vec<MonitorId> = cim_instances(monitor_ids)?;
    let connections: Vec<MonitorConnection> = cim_instances(connections)?;
    Ok(monitors
        .into_iter()
        .map(|monitor| {
            let technology = connections
                .iter()
                .find(|connection| connection.instance_name == monitor.instance_name)
                .and_then(|connection| connection.video_output_technology);
            let pnp_id = edid_string(&monitor.manufacturer_name).unwrap_or_default();
            Display {
                connector: match technology {
                    Some(technology) => {
                        format!("{} {}", technology_name(technology), monitor.instance_name)
                    }
                    None => monitor.instance_name.clone(),
                },
                // Embedded DisplayPort, LVDS and the "internal" flag are a laptop's own panel.
                internal: matches!(technology, Some(6 | 11 | 13 | 0x8000_0000)),
                connected: true,
                enabled: monitor.active,
                modes: Vec::new(),
                preferred_mode: None,
                monitor: Some(Monitor {
                    make: vendor_name(&pnp_id).map_or_else(|| pnp_id.clone(), str::to_owned),
                    model: edid_string(&monitor.user_friendly_name),
                    product_code: edid_string(&monitor.product_code_id)
                        .and_then(|code| u16::from_str_radix(&code, 16).ok())
                        .unwrap_or(0),
                    // EDIDs without a serial carry "0".
                    serial: edid_string(&monitor.serial_number_id).filter(|serial| serial != "0"),
                    width_mm: None,
                    height_mm: None,
                    manufacture_year: monitor.year_of_manufacture.filter(|year| *year > 1990),
                    // Week 0 means "not given", 255 that the year is a model year.
                    manufacture_week: monitor
                        .week_of_manufacture
                        .filter(|week| (1..=54).contains(week)),
                    pnp_id,
                }),
                edid_error: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    #[test]
    fn laptop_panel_and_two_monitors_on_a_dock() {
        let displays = displays_of(
            &fixture("laptop/WmiMonitorID.json"),
            &fixture("laptop/WmiMonitorConnectionParams.json"),
        );
        expect![[r#"
            Ok(
                [
                    Display {
                        connector: "internal DISPLAY\\AUO8C9A\\4&13a4c2f5&0&UID8388688_0",
                        internal: true,
                        connected: true,
                        enabled: true,
                        modes: [],
                        preferred_mode: None,
                        monitor: Some(
                            Monitor {
                                pnp_id: "AUO",
                                make: "AU Optronics",
                                model: None,
                                product_code: 35994,
                                serial: None,
                                width_mm: None,
                                height_mm: None,
                                manufacture_year: Some(
                                    2022,
                                ),
                                manufacture_week: Some(
                                    36,
                                ),
                            },
                        ),
                        edid_error: None,
                    },
                    Display {
                        connector: "DP DISPLAY\\DELA1F7\\5&2f1a3b4c&0&UID4353_0",
                        internal: false,
                        connected: true,
                        enabled: true,
                        modes: [],
                        preferred_mode: None,
                        monitor: Some(
                            Monitor {
                                pnp_id: "DEL",
                                make: "Dell",
                                model: Some(
                                    "DELL U2723QE",
                                ),
                                product_code: 41463,
                                serial: Some(
                                    "7QJ3KH3",
                                ),
                                width_mm: None,
                                height_mm: None,
                                manufacture_year: Some(
                                    2023,
                                ),
                                manufacture_week: Some(
                                    14,
                                ),
                            },
                        ),
                        edid_error: None,
                    },
                    Display {
                        connector: "DP DISPLAY\\DELA1F7\\5&2f1a3b4c&0&UID4354_0",
                        internal: false,
                        connected: true,
                        enabled: false,
                        modes: [],
                        preferred_mode: None,
                        monitor: Some(
                            Monitor {
                                pnp_id: "DEL",
                                make: "Dell",
                                model: Some(
                                    "DELL U2723QE",
                                ),
                                product_code: 41463,
                                serial: Some(
                                    "9WK4KH3",
                                ),
                                width_mm: None,
                                height_mm: None,
                                manufacture_year: Some(
                                    2023,
                                ),
                                manufacture_week: None,
                            },
                        ),
                        edid_error: None,
                    },
                ],
            )
        "#]]
        .assert_debug_eq(&displays);
    }
}
