//! Sound devices on Windows (Win32_SoundDevice): the controllers and USB or Bluetooth
//! headsets Windows has a driver for, with their state.

use serde::Deserialize;
use sitrep_snapshot::{Audio, SoundCard};

use crate::ParseError;
use crate::parse::windows::{cim_instances, non_empty};

pub const SOUND_DEVICE_QUERY: &str = "Get-CimInstance -ClassName Win32_SoundDevice | \
     Select-Object Name, Manufacturer, DeviceID, Status, ConfigManagerErrorCode";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SoundDevice {
    pub name: Option<String>,
    pub manufacturer: Option<String>,
    /// e.g. `HDAUDIO\FUNC_01&VEN_10EC&DEV_0257&...`, `USB\VID_0B0E&PID_24C8&MI_00\...`.
    #[serde(rename = "DeviceID")]
    pub device_id: String,
    /// `OK`, `Error`, `Degraded`, ...
    pub status: Option<String>,
    pub config_manager_error_code: Option<u32>,
}

/// The sound devices as cards: the bus (`HDAUDIO`, `USB`, `INTELAUDIO`) as the short id, the
/// maker as the driver, and the device path with any problem as the long name. Windows has no
/// PCM devices to list.
pub fn audio_of(text: &str) -> Result<Audio, ParseError> {
    let devices: Vec<SoundDevice> = cim_instances(text)?;
    Ok(Audio {
        cards: devices
            .into_iter()
            .enumerate()
            .map(|(index, device)| {
                let problem = match (device.status.as_deref(), device.config_manager_error_code) {
                    (_, Some(code)) if code != 0 => format!(" (problem code {code})"),
                    (Some(status), _) if status != "OK" => format!(" ({status})"),
                    _ => String::new(),
                };
                SoundCard {
                    index: u32::try_from(index).unwrap_or(u32::MAX),
                    id: device
                        .device_id
                        .split('\\')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    driver: non_empty(device.manufacturer.as_deref()).unwrap_or_default(),
                    name: non_empty(device.name.as_deref())
                        .unwrap_or_else(|| device.device_id.clone()),
                    long_name: Some(format!("{}{problem}", device.device_id)),
                    pcm_devices: Vec::new(),
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    #[test]
    fn laptop_with_a_usb_headset() {
        expect![[r#"
            Ok(
                Audio {
                    cards: [
                        SoundCard {
                            index: 0,
                            id: "HDAUDIO",
                            driver: "Realtek",
                            name: "Realtek Audio",
                            long_name: Some(
                                "HDAUDIO\\FUNC_01&VEN_10EC&DEV_0257&SUBSYS_10280B1A&REV_1000\\4&2F3B1C5E&0&0001",
                            ),
                            pcm_devices: [],
                        },
                        SoundCard {
                            index: 1,
                            id: "INTELAUDIO",
                            driver: "Intel(R) Corporation",
                            name: "Intel(R) Display Audio",
                            long_name: Some(
                                "INTELAUDIO\\FUNC_01&VEN_8086&DEV_2818&SUBSYS_80860101&REV_1000\\5&1B8E2C4D&0&0201",
                            ),
                            pcm_devices: [],
                        },
                        SoundCard {
                            index: 2,
                            id: "INTELAUDIO",
                            driver: "Intel(R) Corporation",
                            name: "Intel(R) Smart Sound Technology for Digital Microphones",
                            long_name: Some(
                                "INTELAUDIO\\DSP&CTLR_DEV_A0C8&VEN_8086&DEV_0222&SUBSYS_10280B1A&REV_0001\\5&1B8E2C4D&0&0800 (problem code 10)",
                            ),
                            pcm_devices: [],
                        },
                        SoundCard {
                            index: 3,
                            id: "USB",
                            driver: "(Generic USB Audio)",
                            name: "Jabra Evolve2 65",
                            long_name: Some(
                                "USB\\VID_0B0E&PID_24C8&MI_00\\7&1C2D3E4F&0&0000",
                            ),
                            pcm_devices: [],
                        },
                    ],
                },
            )
        "#]].assert_debug_eq(&audio_of(&fixture("laptop/Win32_SoundDevice.json")));
    }
}
