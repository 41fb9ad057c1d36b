//! Operating system, CPU and memory, and filesystems.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The operating system and the state of this boot.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Os {
    /// Family: `linux`, `windows` or `macos`.
    pub family: String,
    /// Distribution or product name, e.g. "Debian GNU/Linux".
    pub name: String,
    /// Machine-readable distribution id, e.g. "debian".
    pub id: Option<String>,
    /// e.g. "12".
    pub version: Option<String>,
    /// e.g. "Debian GNU/Linux 12 (bookworm)", "Windows 11 Pro 23H2".
    pub pretty_name: Option<String>,
    /// How far the installed release is patched, where the platform says more than its
    /// version: on Windows the build with its update revision and the update installed last
    /// ("22631.4460, latest update KB5046633 of 2024-11-13"), on macOS a Rapid Security
    /// Response ("13.4.1 (a), Rapid Security Response"); `None` on Linux, whose kernel and
    /// package versions say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_level: Option<String>,
    pub kernel: Option<String>,
    pub hostname: Option<String>,
    /// CPU architecture the OS runs, e.g. `x86_64`.
    pub arch: String,
    pub uptime_seconds: Option<u64>,
    pub boot_time: Option<DateTime<Utc>>,
    /// IANA zone name, e.g. "Europe/Berlin".
    pub timezone: Option<String>,
    /// The system asks for a reboot (e.g. after updates).
    pub reboot_required: bool,
    /// Packages that asked for the reboot, where the OS says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reboot_required_by: Vec<String>,
    /// Names of the users with an interactive session, sorted and distinct; `None` where the
    /// platform cannot tell.
    pub users: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Hardware {
    pub cpu: Cpu,
    pub memory: Memory,
    pub swap: Swap,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Cpu {
    pub model: Option<String>,
    pub vendor: Option<String>,
    pub logical_cores: u32,
    /// `None` where the platform does not tell cores from threads.
    pub physical_cores: Option<u32>,
    /// 1, 5 and 15 minute load averages, where the platform has them.
    pub load_average: Option<[f64; 3]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Memory {
    pub total_bytes: u64,
    /// What new programs can get without swapping.
    pub available_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Swap {
    pub total_bytes: u64,
    pub free_bytes: u64,
}

/// One mounted filesystem that holds user or system data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Disk {
    pub mount_point: String,
    /// Block device or network source, e.g. `/dev/nvme0n1p2` or `server:/export`.
    pub device: String,
    pub fs_type: String,
    pub read_only: bool,
    /// Space figures; `None` where the filesystem did not answer (e.g. a hung network mount).
    pub total_bytes: Option<u64>,
    /// Available to unprivileged users (what "disk full" means to them).
    pub available_bytes: Option<u64>,
    /// Share of the space usable by unprivileged users that is taken, 0 to 100.
    pub used_percent: Option<f64>,
    pub inodes_total: Option<u64>,
    pub inodes_free: Option<u64>,
    /// 0 to 100; `None` on filesystems without a fixed inode table (btrfs, some network fs).
    pub inodes_used_percent: Option<f64>,
    /// Why the space figures are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_error: Option<String>,
}
