//! The `peripherals` section on macOS from `system_profiler -json`: USB, displays, power,
//! audio, Bluetooth and cameras. Printers come from CUPS itself (`crate::cups`).
//!
//! system_profiler's JSON holds nearly every value as a string, booleans as `"TRUE"` or
//! `"spdisplays_yes"`, and names its keys after the data type (`sppower_...`).

use serde_json::Value;
use sitrep_snapshot::{
    Audio, Battery, BatteryStatus, Bluetooth, BluetoothAdapter, Camera, Display, Monitor,
    PcmDevice, Power, RfkillSwitch, SoundCard, UsbDevice,
};

use crate::ParseError;
use crate::edid::vendor_name;
use crate::parse::windows::json_error;

/// What stands for the driver of a USB device: system_profiler lists only devices macOS
/// enumerated, each of which IOKit represents by an IOUSBHostDevice, and it names no drivers.
const USB_HOST_DEVICE: &str = "IOUSBHostDevice";

/// The `_items` of `data_type` in a `system_profiler -json` document.
pub fn profile_items(text: &str, data_type: &str) -> Result<Vec<Value>, ParseError> {
    let document: Value = serde_json::from_str(text).map_err(json_error)?;
    match document.get(data_type) {
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(_) => Err(ParseError::new(0, format!("{data_type} is not a list"))),
        None => Err(ParseError::new(0, format!("no {data_type} in the output"))),
    }
}

fn field<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    item.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn number(item: &Value, key: &str) -> Option<u64> {
    match item.get(key)? {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().trim_end_matches('%').parse().ok(),
        _ => None,
    }
}

fn children(item: &Value) -> &[Value] {
    item.get("_items")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `0x043e  (LG Electronics USA Inc.)`, `0x5411`, or `apple_vendor_id`, as four hex digits.
fn usb_id(value: Option<&str>) -> String {
    match value {
        Some("apple_vendor_id") => "05ac".to_owned(),
        Some(value) => value
            .trim_start_matches("0x")
            .chars()
            .take_while(char::is_ascii_hexdigit)
            .collect::<String>()
            .to_ascii_lowercase(),
        None => "0000".to_owned(),
    }
}

/// The USB devices under each bus, parents before their children; `path` is the device's
/// location id, the closest macOS has to a port path.
pub fn usb_devices(text: &str) -> Result<Vec<UsbDevice>, ParseError> {
    let mut devices = Vec::new();
    for bus in profile_items(text, "SPUSBDataType")? {
        for device in children(&bus) {
            push_usb_device(device, None, &mut devices);
        }
    }
    Ok(devices)
}

fn push_usb_device(item: &Value, parent: Option<&str>, devices: &mut Vec<UsbDevice>) {
    let path = field(item, "location_id")
        .map(|location| location.split(" / ").next().unwrap_or(location).to_owned())
        .unwrap_or_default();
    let name = field(item, "_name").map(str::to_owned);
    let is_hub = !children(item).is_empty()
        || name
            .as_deref()
            .is_some_and(|name| name.to_ascii_lowercase().contains("hub"));
    devices.push(UsbDevice {
        path: path.clone(),
        parent: parent.map(str::to_owned),
        vendor_id: usb_id(field(item, "vendor_id")),
        product_id: usb_id(field(item, "product_id")),
        manufacturer: field(item, "manufacturer").map(str::to_owned),
        product: name,
        serial: field(item, "serial_num").map(str::to_owned),
        class: if is_hub { "hub" } else { "unknown" }.to_owned(),
        speed_mbps: match field(item, "device_speed") {
            Some("low_speed") => Some(1.5),
            Some("full_speed") => Some(12.0),
            Some("high_speed") => Some(480.0),
            Some("super_speed") => Some(5000.0),
            Some("super_speed_plus") => Some(10000.0),
            _ => None,
        },
        driver: Some(USB_HOST_DEVICE.to_owned()),
        is_hub,
        interfaces: Vec::new(),
    });
    for child in children(item) {
        push_usb_device(child, Some(&path), devices);
    }
}

/// The three letters of a 16-bit EDID manufacturer id (`10ac` is `DEL`).
fn pnp_id_of(hex: &str) -> Option<String> {
    let id = u16::from_str_radix(hex.trim_start_matches("0x"), 16).ok()?;
    [10u16, 5, 0]
        .iter()
        .map(|shift| {
            let letter = u8::try_from((id >> shift) & 0x1f).ok()?;
            (1..=26)
                .contains(&letter)
                .then(|| char::from(b'A' + letter - 1))
        })
        .collect()
}

/// The monitors of every graphics processor: what macOS shows on (it lists no monitor it
/// does not use), with the resolution it drives them at.
pub fn displays(text: &str) -> Result<Vec<Display>, ParseError> {
    let mut displays = Vec::new();
    for gpu in profile_items(text, "SPDisplaysDataType")? {
        let Some(monitors) = gpu.get("spdisplays_ndrvs").and_then(Value::as_array) else {
            continue;
        };
        for monitor in monitors {
            let mode = field(monitor, "_spdisplays_pixels").map(|pixels| pixels.replace(' ', ""));
            let pnp_id = field(monitor, "_spdisplays_display-vendor-id").and_then(pnp_id_of);
            displays.push(Display {
                connector: field(monitor, "_spdisplays_displayID")
                    .map_or_else(|| "display".to_owned(), |id| format!("display-{id}")),
                internal: field(monitor, "spdisplays_connection_type")
                    == Some("spdisplays_internal"),
                connected: true,
                enabled: field(monitor, "spdisplays_online") != Some("spdisplays_no"),
                modes: mode.clone().into_iter().collect(),
                preferred_mode: mode,
                monitor: pnp_id.map(|pnp_id| Monitor {
                    make: vendor_name(&pnp_id).map_or_else(|| pnp_id.clone(), str::to_owned),
                    model: field(monitor, "_name").map(str::to_owned),
                    product_code: field(monitor, "_spdisplays_display-product-id")
                        .and_then(|code| u16::from_str_radix(code, 16).ok())
                        .unwrap_or(0),
                    serial: field(monitor, "_spdisplays_display-serial-number").map(str::to_owned),
                    width_mm: None,
                    height_mm: None,
                    manufacture_year: number(monitor, "_spdisplays_display-year")
                        .and_then(|year| u16::try_from(year).ok())
                        // Apple's panels carry no date: 0.
                        .filter(|year| *year > 1990),
                    manufacture_week: number(monitor, "_spdisplays_display-week")
                        .and_then(|week| u8::try_from(week).ok())
                        .filter(|week| (1..=54).contains(week)),
                    pnp_id,
                }),
                edid_error: None,
            });
        }
    }
    Ok(displays)
}

/// The battery and the charger. A Mac without a battery lists only its power settings.
pub fn power(text: &str) -> Result<Power, ParseError> {
    let items = profile_items(text, "SPPowerDataType")?;
    let named = |name: &str| items.iter().find(|item| field(item, "_name") == Some(name));
    let is_true =
        |item: Option<&Value>, key: &str| item.and_then(|item| field(item, key)) == Some("TRUE");
    let charger = named("sppower_ac_charger_information");
    let ac_online =
        charger.map(|charger| is_true(Some(charger), "sppower_battery_charger_connected"));
    let batteries = named("spbattery_information")
        .map(|battery| {
            let charge = battery.get("sppower_battery_charge_info");
            let health = battery.get("sppower_battery_health_info");
            let model = battery.get("sppower_battery_model_info");
            let status = if is_true(charge, "sppower_battery_is_charging") {
                BatteryStatus::Charging
            } else if is_true(charge, "sppower_battery_fully_charged") {
                BatteryStatus::Full
            } else if ac_online == Some(true) {
                // Optimised charging holds the battery at 80 % on the charger.
                BatteryStatus::NotCharging
            } else {
                BatteryStatus::Discharging
            };
            Battery {
                name: "InternalBattery-0".to_owned(),
                peripheral: false,
                status,
                capacity_pct: charge
                    .and_then(|charge| number(charge, "sppower_battery_state_of_charge"))
                    .and_then(|pct| u8::try_from(pct.min(100)).ok()),
                cycle_count: health
                    .and_then(|health| number(health, "sppower_battery_cycle_count"))
                    .and_then(|count| u32::try_from(count).ok()),
                // macOS reports the maximum capacity itself, not the charges behind it.
                health_pct: health
                    .and_then(|health| number(health, "sppower_battery_health_maximum_capacity"))
                    .map(|pct| pct as f64),
                energy_full_wh: None,
                energy_full_design_wh: None,
                technology: None,
                model: model
                    .and_then(|model| field(model, "sppower_battery_device_name"))
                    .map(str::to_owned),
                manufacturer: model
                    .and_then(|model| field(model, "sppower_battery_manufacturer"))
                    .map(str::to_owned),
            }
        })
        .into_iter()
        .collect();
    Ok(Power {
        ac_online,
        batteries,
    })
}

/// Core Audio's devices as cards, each with one device that plays or records; the id is how
/// it is attached (`builtin`, `usb`, `bluetooth`, `displayport`, `virtual`).
pub fn audio(text: &str) -> Result<Audio, ParseError> {
    let devices: Vec<Value> = profile_items(text, "SPAudioDataType")?
        .iter()
        .flat_map(|group| children(group).to_vec())
        .collect();
    let cards = devices
        .iter()
        .enumerate()
        .map(|(index, device)| {
            let name = field(device, "_name").unwrap_or("audio device").to_owned();
            let defaults: Vec<&str> = [
                ("coreaudio_default_audio_output_device", "default output"),
                ("coreaudio_default_audio_input_device", "default input"),
            ]
            .iter()
            .filter(|(key, _)| field(device, key) == Some("spaudio_yes"))
            .map(|(_, label)| *label)
            .collect();
            SoundCard {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                id: field(device, "coreaudio_device_transport")
                    .map(|transport| {
                        transport
                            .trim_start_matches("coreaudio_device_type_")
                            .to_owned()
                    })
                    .unwrap_or_default(),
                driver: field(device, "coreaudio_device_manufacturer")
                    .unwrap_or_default()
                    .to_owned(),
                long_name: (!defaults.is_empty())
                    .then(|| format!("{name} ({})", defaults.join(", "))),
                pcm_devices: vec![PcmDevice {
                    device: 0,
                    name: name.clone(),
                    playback: number(device, "coreaudio_device_output").unwrap_or(0) > 0,
                    capture: number(device, "coreaudio_device_input").unwrap_or(0) > 0,
                }],
                name,
            }
        })
        .collect();
    Ok(Audio { cards })
}

/// The Bluetooth controller; switched off in Control Centre it counts as soft-blocked, as
/// rfkill says on Linux.
pub fn bluetooth(text: &str) -> Result<Bluetooth, ParseError> {
    let mut bluetooth = Bluetooth::default();
    for item in profile_items(text, "SPBluetoothDataType")? {
        let Some(controller) = item.get("controller_properties") else {
            continue;
        };
        let name = field(controller, "controller_chipset")
            .unwrap_or("Bluetooth controller")
            .to_owned();
        bluetooth.adapters.push(BluetoothAdapter {
            name: name.clone(),
            bus: field(controller, "controller_transport").map(str::to_ascii_lowercase),
            driver: None,
        });
        if let Some(state) = field(controller, "controller_state") {
            bluetooth.rfkill.push(RfkillSwitch {
                name,
                kind: "bluetooth".to_owned(),
                soft_blocked: state == "attrib_off",
                hard_blocked: false,
            });
        }
    }
    Ok(bluetooth)
}

pub fn cameras(text: &str) -> Result<Vec<Camera>, ParseError> {
    Ok(profile_items(text, "SPCameraDataType")?
        .iter()
        .map(|camera| Camera {
            name: field(camera, "_name").unwrap_or("camera").to_owned(),
            devices: field(camera, "spcamera_unique-id")
                .map(str::to_owned)
                .into_iter()
                .collect(),
            driver: None,
            usb_path: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::macos::tests_support::fixture;

    #[test]
    fn usb_tree_behind_a_monitor_hub() {
        let devices = usb_devices(&fixture("macbook/SPUSBDataType.json")).map(|devices| {
            devices
                .iter()
                .map(|device| {
                    format!(
                        "{} <- {:?} {}:{} {:?} hub={} {:?}",
                        device.path,
                        device.parent,
                        device.vendor_id,
                        device.product_id,
                        device.product,
                        device.is_hub,
                        device.speed_mbps
                    )
                })
                .collect::<Vec<_>>()
        });
        expect![[r#"
            Ok(
                [
                    "0x02300000 <- None 043e:9a60 Some(\"USB3.1 Hub\") hub=true Some(5000.0)",
                    "0x02310000 <- Some(\"0x02300000\") 0bda:8153 Some(\"USB 10/100/1000 LAN\") hub=false Some(5000.0)",
                    "0x02320000 <- Some(\"0x02300000\") 0781:558c Some(\"Extreme SSD\") hub=false Some(5000.0)",
                    "0x02200000 <- None 043e:9a61 Some(\"USB2.1 Hub\") hub=true Some(480.0)",
                    "0x02240000 <- Some(\"0x02200000\") 0bda:8152 Some(\"USB 10/100 LAN\") hub=false Some(480.0)",
                    "0x02210000 <- Some(\"0x02200000\") 0b0e:24c8 Some(\"Jabra Evolve2 65\") hub=false Some(12.0)",
                    "0x02230000 <- Some(\"0x02200000\") 046d:c52b Some(\"USB Receiver\") hub=false Some(12.0)",
                ],
            )
        "#]].assert_debug_eq(&devices);
    }

    #[test]
    fn panel_and_external_monitor() {
        expect![[r#"
            Ok(
                [
                    Display {
                        connector: "display-1",
                        internal: true,
                        connected: true,
                        enabled: true,
                        modes: [
                            "3456x2234",
                        ],
                        preferred_mode: Some(
                            "3456x2234",
                        ),
                        monitor: Some(
                            Monitor {
                                pnp_id: "APP",
                                make: "Apple",
                                model: Some(
                                    "Color LCD",
                                ),
                                product_code: 41040,
                                serial: Some(
                                    "fd626d62",
                                ),
                                width_mm: None,
                                height_mm: None,
                                manufacture_year: None,
                                manufacture_week: None,
                            },
                        ),
                        edid_error: None,
                    },
                    Display {
                        connector: "display-3",
                        internal: false,
                        connected: true,
                        enabled: true,
                        modes: [
                            "5120x2880",
                        ],
                        preferred_mode: Some(
                            "5120x2880",
                        ),
                        monitor: Some(
                            Monitor {
                                pnp_id: "GSM",
                                make: "LG",
                                model: Some(
                                    "LG UltraFine",
                                ),
                                product_code: 23409,
                                serial: Some(
                                    "2a6d0e4c",
                                ),
                                width_mm: None,
                                height_mm: None,
                                manufacture_year: Some(
                                    2021,
                                ),
                                manufacture_week: Some(
                                    47,
                                ),
                            },
                        ),
                        edid_error: None,
                    },
                ],
            )
        "#]]
        .assert_debug_eq(&displays(&fixture("macbook/SPDisplaysDataType.json")));
    }

    #[test]
    fn battery_on_the_charger() {
        expect![[r#"
            Ok(
                Power {
                    ac_online: Some(
                        true,
                    ),
                    batteries: [
                        Battery {
                            name: "InternalBattery-0",
                            peripheral: false,
                            status: NotCharging,
                            capacity_pct: Some(
                                80,
                            ),
                            cycle_count: Some(
                                847,
                            ),
                            health_pct: Some(
                                71.0,
                            ),
                            energy_full_wh: None,
                            energy_full_design_wh: None,
                            technology: None,
                            model: Some(
                                "bq40z651",
                            ),
                            manufacturer: Some(
                                "SMP",
                            ),
                        },
                    ],
                },
            )
        "#]]
        .assert_debug_eq(&power(&fixture("macbook/SPPowerDataType.json")));
    }

    #[test]
    fn audio_bluetooth_and_cameras() {
        expect![[r#"
            Ok(
                Audio {
                    cards: [
                        SoundCard {
                            index: 0,
                            id: "usb",
                            driver: "LG Electronics Inc.",
                            name: "LG UltraFine Display Audio",
                            long_name: None,
                            pcm_devices: [
                                PcmDevice {
                                    device: 0,
                                    name: "LG UltraFine Display Audio",
                                    playback: true,
                                    capture: true,
                                },
                            ],
                        },
                        SoundCard {
                            index: 1,
                            id: "usb",
                            driver: "GN Audio A/S",
                            name: "Jabra Evolve2 65",
                            long_name: Some(
                                "Jabra Evolve2 65 (default output, default input)",
                            ),
                            pcm_devices: [
                                PcmDevice {
                                    device: 0,
                                    name: "Jabra Evolve2 65",
                                    playback: true,
                                    capture: true,
                                },
                            ],
                        },
                        SoundCard {
                            index: 2,
                            id: "builtin",
                            driver: "Apple Inc.",
                            name: "MacBook Pro Microphone",
                            long_name: None,
                            pcm_devices: [
                                PcmDevice {
                                    device: 0,
                                    name: "MacBook Pro Microphone",
                                    playback: false,
                                    capture: true,
                                },
                            ],
                        },
                        SoundCard {
                            index: 3,
                            id: "builtin",
                            driver: "Apple Inc.",
                            name: "MacBook Pro Speakers",
                            long_name: None,
                            pcm_devices: [
                                PcmDevice {
                                    device: 0,
                                    name: "MacBook Pro Speakers",
                                    playback: true,
                                    capture: false,
                                },
                            ],
                        },
                        SoundCard {
                            index: 4,
                            id: "virtual",
                            driver: "Microsoft Corp.",
                            name: "Microsoft Teams Audio",
                            long_name: None,
                            pcm_devices: [
                                PcmDevice {
                                    device: 0,
                                    name: "Microsoft Teams Audio",
                                    playback: true,
                                    capture: true,
                                },
                            ],
                        },
                    ],
                },
            )
        "#]]
        .assert_debug_eq(&audio(&fixture("macbook/SPAudioDataType.json")));
        expect![[r#"
            Ok(
                Bluetooth {
                    adapters: [
                        BluetoothAdapter {
                            name: "BCM_4388",
                            bus: Some(
                                "pcie",
                            ),
                            driver: None,
                        },
                    ],
                    rfkill: [
                        RfkillSwitch {
                            name: "BCM_4388",
                            kind: "bluetooth",
                            soft_blocked: true,
                            hard_blocked: false,
                        },
                    ],
                },
            )
        "#]]
        .assert_debug_eq(&bluetooth(&fixture("macbook/SPBluetoothDataType.json")));
        expect![[r#"
            Ok(
                [
                    Camera {
                        name: "FaceTime HD Camera",
                        devices: [
                            "47B4B64B-7067-4B9C-AD2B-AE273A71F4B5",
                        ],
                        driver: None,
                        usb_path: None,
                    },
                    Camera {
                        name: "LG UltraFine Display Camera",
                        devices: [
                            "0x2343000043e9a68",
                        ],
                        driver: None,
                        usb_path: None,
                    },
                ],
            )
        "#]]
        .assert_debug_eq(&cameras(&fixture("macbook/SPCameraDataType.json")));
    }

    #[test]
    fn vendor_ids_as_pnp_ids() {
        assert_eq!(pnp_id_of("10ac").as_deref(), Some("DEL"));
        assert_eq!(pnp_id_of("610").as_deref(), Some("APP"));
        assert_eq!(pnp_id_of("0"), None);
    }
}
