//! The `disks` section on Windows: Win32_LogicalDisk (drive letters, local and mapped).

use serde::Deserialize;
use sitrep_snapshot::Disk;

use super::{cim_instances, cim_u64, non_empty};
use crate::ParseError;

pub const LOGICAL_DISK_QUERY: &str = "Get-CimInstance -ClassName Win32_LogicalDisk | \
     Select-Object DeviceID, DriveType, FileSystem, Size, FreeSpace, VolumeName, ProviderName";

/// The queries of the `disks` section.
pub const QUERIES: [&str; 1] = [LOGICAL_DISK_QUERY];

// Win32_LogicalDisk.DriveType values.
const REMOVABLE: u32 = 2;
const NETWORK: u32 = 4;
const OPTICAL: u32 = 5;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogicalDisk {
    /// The drive letter, e.g. `C:`.
    #[serde(rename = "DeviceID")]
    pub device_id: String,
    pub drive_type: Option<u32>,
    pub file_system: Option<String>,
    #[serde(default, deserialize_with = "cim_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "cim_u64")]
    pub free_space: Option<u64>,
    pub volume_name: Option<String>,
    /// The share a mapped drive points at, e.g. `\\fileserver\projects`.
    pub provider_name: Option<String>,
}

/// The drives of a Win32_LogicalDisk document. Card readers and optical drives without a
/// medium are left out; a mapped drive whose server does not answer stays, with the reason.
pub fn disks_of(text: &str) -> Result<Vec<Disk>, ParseError> {
    let drives: Vec<LogicalDisk> = cim_instances(text)?;
    Ok(drives.into_iter().filter_map(disk_of).collect())
}

fn disk_of(drive: LogicalDisk) -> Option<Disk> {
    let drive_type = drive.drive_type.unwrap_or(0);
    let empty_slot = matches!(drive_type, REMOVABLE | OPTICAL) && drive.size.is_none();
    if empty_slot {
        return None;
    }
    let network = drive_type == NETWORK;
    let used_percent = match (drive.size, drive.free_space) {
        (Some(total), Some(free)) if total > 0 => {
            Some(total.saturating_sub(free) as f64 / total as f64 * 100.0)
        }
        _ => None,
    };
    let stat_error = (drive.size.is_none()).then(|| {
        if network {
            "the share did not report its size (the server may be unreachable)".to_owned()
        } else {
            "the drive did not report its size".to_owned()
        }
    });
    Some(Disk {
        mount_point: format!("{}\\", drive.device_id),
        // The share for a mapped drive, else the label people see in Explorer.
        device: non_empty(drive.provider_name.as_deref())
            .or_else(|| non_empty(drive.volume_name.as_deref()))
            .unwrap_or_else(|| drive.device_id.clone()),
        fs_type: non_empty(drive.file_system.as_deref()).unwrap_or_default(),
        read_only: drive_type == OPTICAL,
        total_bytes: drive.size,
        available_bytes: drive.free_space,
        used_percent,
        inodes_total: None,
        inodes_free: None,
        inodes_used_percent: None,
        stat_error,
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::fixture;

    #[test]
    fn laptop_drives() {
        let disks = disks_of(&fixture("laptop/Win32_LogicalDisk.json"));
        expect![[r#"
            Ok(
                [
                    Disk {
                        mount_point: "C:\\",
                        device: "OS",
                        fs_type: "NTFS",
                        read_only: false,
                        total_bytes: Some(
                            510770802688,
                        ),
                        available_bytes: Some(
                            38125510656,
                        ),
                        used_percent: Some(
                            92.53569106625528,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                    Disk {
                        mount_point: "E:\\",
                        device: "SANDISK",
                        fs_type: "exFAT",
                        read_only: false,
                        total_bytes: Some(
                            63999836160,
                        ),
                        available_bytes: Some(
                            61320019968,
                        ),
                        used_percent: Some(
                            4.18722351929221,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                    Disk {
                        mount_point: "H:\\",
                        device: "\\\\fs01.corp.contoso.com\\home$\\alice",
                        fs_type: "NTFS",
                        read_only: false,
                        total_bytes: Some(
                            107374182400,
                        ),
                        available_bytes: Some(
                            2147483648,
                        ),
                        used_percent: Some(
                            98.0,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                    Disk {
                        mount_point: "P:\\",
                        device: "\\\\fs02.corp.contoso.com\\projects",
                        fs_type: "",
                        read_only: false,
                        total_bytes: None,
                        available_bytes: None,
                        used_percent: None,
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: Some(
                            "the share did not report its size (the server may be unreachable)",
                        ),
                    },
                ],
            )
        "#]]
        .assert_debug_eq(&disks);
    }

    #[test]
    fn a_single_drive_is_an_object() {
        let disks = disks_of(&fixture("desktop/Win32_LogicalDisk.json")).map(|disks| {
            disks
                .into_iter()
                .map(|disk| disk.mount_point)
                .collect::<Vec<_>>()
        });
        assert_eq!(disks, Ok(vec!["C:\\".to_owned()]));
    }
}
