//! The `disks` section on macOS: `df -kP` for the space, `mount` for the filesystem type and
//! whether it is read-only.

use sitrep_snapshot::Disk;

use crate::ParseError;

/// APFS volumes of the system container that share its free space with the Data volume:
/// listing them would repeat the Data volume's figures, and people never store files there.
const SYSTEM_VOLUMES: &str = "/System/Volumes/";
const DATA_VOLUME: &str = "/System/Volumes/Data";

/// One line of `mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub read_only: bool,
}

/// `/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)`; a mount point may hold
/// spaces, the options never hold ` (`.
pub fn parse_mount(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (device, rest) = line.split_once(" on ")?;
            let (mount_point, options) = rest.rsplit_once(" (")?;
            let options: Vec<&str> = options.trim_end_matches(')').split(", ").collect();
            Some(Mount {
                device: device.to_owned(),
                mount_point: mount_point.to_owned(),
                fs_type: options.first().copied().unwrap_or_default().to_owned(),
                read_only: options.contains(&"read-only"),
            })
        })
        .collect()
}

/// The filesystems people store files on, from `df -kP` and `mount`.
pub fn disks_of(df: &str, mount: &str) -> Result<Vec<Disk>, ParseError> {
    let mounts = parse_mount(mount);
    let mut disks = Vec::new();
    for (index, line) in df.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let disk = parse_df_line(line)
            .ok_or_else(|| ParseError::new(index + 1, format!("not a df -kP line: {line:?}")))?;
        let mount = mounts
            .iter()
            .find(|mount| mount.mount_point == disk.mount_point);
        let fs_type = mount
            .map(|mount| mount.fs_type.as_str())
            .unwrap_or_default();
        let system_volume =
            disk.mount_point.starts_with(SYSTEM_VOLUMES) && disk.mount_point != DATA_VOLUME;
        if system_volume || matches!(fs_type, "devfs" | "autofs") {
            continue;
        }
        disks.push(Disk {
            fs_type: fs_type.to_owned(),
            read_only: mount.is_some_and(|mount| mount.read_only),
            ..disk
        });
    }
    Ok(disks)
}

/// `Filesystem 1024-blocks Used Available Capacity Mounted-on`, where the filesystem and the
/// mount point may hold spaces: the four figures and the capacity sit between them.
fn parse_df_line(line: &str) -> Option<Disk> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let capacity = words.iter().position(|word| word.ends_with('%'))?;
    let figures = words.get(capacity.checked_sub(3)?..capacity)?;
    let [total, _used, available] = figures else {
        return None;
    };
    let kib = |text: &str| text.parse::<u64>().ok().map(|kib| kib.saturating_mul(1024));
    let (total, available) = (kib(total)?, kib(available)?);
    let device_words = &words[..capacity.checked_sub(3)?];
    // The mount point is everything after the capacity, spaces included.
    let after_capacity = line.find(words[capacity])? + words[capacity].len();
    Some(Disk {
        mount_point: line[after_capacity..].trim().to_owned(),
        device: strip_user(&device_words.join(" ")),
        fs_type: String::new(),
        read_only: false,
        total_bytes: Some(total),
        available_bytes: Some(available),
        used_percent: (total > 0)
            .then(|| total.saturating_sub(available) as f64 / total as f64 * 100.0),
        inodes_total: None,
        inodes_free: None,
        inodes_used_percent: None,
        stat_error: None,
    })
}

/// An SMB or AFP share names the user who mounted it (`//alice@nas/share`); the share is
/// enough.
fn strip_user(device: &str) -> String {
    match device
        .strip_prefix("//")
        .and_then(|rest| rest.split_once('@'))
    {
        Some((_, share)) => format!("//{share}"),
        None => device.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::macos::tests_support::fixture;

    #[test]
    fn macbook_volumes() {
        let disks = disks_of(&fixture("macbook/df-kP.txt"), &fixture("macbook/mount.txt"));
        expect![[r#"
            Ok(
                [
                    Disk {
                        mount_point: "/",
                        device: "/dev/disk3s1s1",
                        fs_type: "apfs",
                        read_only: true,
                        total_bytes: Some(
                            994662584320,
                        ),
                        available_bytes: Some(
                            411918282752,
                        ),
                        used_percent: Some(
                            58.58713404469642,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                    Disk {
                        mount_point: "/System/Volumes/Data",
                        device: "/dev/disk3s5",
                        fs_type: "apfs",
                        read_only: false,
                        total_bytes: Some(
                            994662584320,
                        ),
                        available_bytes: Some(
                            411918282752,
                        ),
                        used_percent: Some(
                            58.58713404469642,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                    Disk {
                        mount_point: "/Volumes/Team Share",
                        device: "//nas.fritz.box/Team%20Share",
                        fs_type: "smbfs",
                        read_only: false,
                        total_bytes: Some(
                            3936525221888,
                        ),
                        available_bytes: Some(
                            196883075072,
                        ),
                        used_percent: Some(
                            94.99855674803544,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                    Disk {
                        mount_point: "/Volumes/BACKUP",
                        device: "/dev/disk5s1",
                        fs_type: "exfat",
                        read_only: false,
                        total_bytes: Some(
                            127994429440,
                        ),
                        available_bytes: Some(
                            27998552064,
                        ),
                        used_percent: Some(
                            78.12517920779912,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                    Disk {
                        mount_point: "/Volumes/Zoom",
                        device: "/dev/disk7s1",
                        fs_type: "hfs",
                        read_only: true,
                        total_bytes: Some(
                            1073741824,
                        ),
                        available_bytes: Some(
                            36876288,
                        ),
                        used_percent: Some(
                            96.56562805175781,
                        ),
                        inodes_total: None,
                        inodes_free: None,
                        inodes_used_percent: None,
                        stat_error: None,
                    },
                ],
            )
        "#]]
        .assert_debug_eq(&disks);
    }
}
