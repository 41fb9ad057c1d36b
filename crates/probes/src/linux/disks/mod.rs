//! The `disks` section on Linux: the filesystems that hold data (from mountinfo) and their
//! space and inode use (from statvfs).

pub mod mountinfo;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use sitrep_snapshot::{Disk, Section};

use super::parse_file;
use crate::Ctx;

use mountinfo::{Mount, parse_mountinfo};

/// How long all network filesystems together may take to answer statvfs.
const NETWORK_STAT_TIMEOUT: Duration = Duration::from_secs(2);

/// Kernel and virtual filesystems: they hold no user data, and their "space" is meaningless.
/// squashfs is here because snap and AppImage images are always 100 % full by design.
const PSEUDO_FILESYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fuse",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nfsd",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// Filesystems whose statvfs goes over the network and can hang on a dead server.
const NETWORK_FILESYSTEMS: &[&str] = &[
    "afs",
    "ceph",
    "cifs",
    "fuse.glusterfs",
    "fuse.sshfs",
    "glusterfs",
    "nfs",
    "nfs4",
    "smb3",
    "smbfs",
];

/// Gathers the `disks` section: every filesystem that holds data, with its space figures.
pub fn gather(ctx: &Ctx) -> Section<Vec<Disk>> {
    parse_file(ctx, "/proc/self/mountinfo", parse_mountinfo)
        .map(|mounts| stat_filesystems(ctx, select_data_filesystems(mounts)))
        .into()
}

fn is_network_filesystem(fs_type: &str) -> bool {
    NETWORK_FILESYSTEMS.contains(&fs_type)
}

/// Whether a mount holds data worth reporting. FUSE helpers (document portals, gvfs, lxcfs,
/// snapfuse) count as virtual unless they reach a network share.
fn holds_data(mount: &Mount) -> bool {
    let fs_type = mount.fs_type.as_str();
    mount.mount_point == "/"
        || is_network_filesystem(fs_type)
        || !(PSEUDO_FILESYSTEMS.contains(&fs_type) || fs_type.starts_with("fuse."))
}

/// Keeps the mounts that hold data, each filesystem once: a filesystem mounted whole (root `/`)
/// in several places, or bind-mounted in part elsewhere, is reported at its shortest whole
/// mount point. `/` itself is always kept.
fn select_data_filesystems(mounts: Vec<Mount>) -> Vec<Mount> {
    let candidates: Vec<Mount> = mounts.into_iter().filter(holds_data).collect();
    let mut whole_mount_of_device: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for (index, mount) in candidates.iter().enumerate() {
        if mount.root != "/" {
            continue;
        }
        whole_mount_of_device
            .entry(mount.device_number)
            .and_modify(|best| {
                if mount.mount_point.len() < candidates[*best].mount_point.len() {
                    *best = index;
                }
            })
            .or_insert(index);
    }
    candidates
        .into_iter()
        .enumerate()
        .filter(|(index, mount)| {
            mount.mount_point == "/"
                || whole_mount_of_device
                    .get(&mount.device_number)
                    .is_none_or(|best| best == index)
        })
        .map(|(_, mount)| mount)
        .collect()
}

/// The statvfs figures the snapshot needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FsStats {
    fragment_size: u64,
    blocks: u64,
    blocks_free: u64,
    blocks_available: u64,
    files: u64,
    files_free: u64,
}

fn statvfs(path: &Path) -> Result<FsStats, String> {
    let stat = rustix::fs::statvfs(path)
        .map_err(|errno| format!("statvfs {}: {errno}", path.display()))?;
    Ok(FsStats {
        fragment_size: stat.f_frsize,
        blocks: stat.f_blocks,
        blocks_free: stat.f_bfree,
        blocks_available: stat.f_bavail,
        files: stat.f_files,
        files_free: stat.f_ffree,
    })
}

/// A statvfs answer, or the receiver it will arrive on.
enum PendingStat {
    Done(Result<FsStats, String>),
    Waiting(Receiver<Result<FsStats, String>>),
}

/// Runs `stat` on its own thread so a caller can stop waiting. A thread stuck in the kernel on a
/// dead server cannot be cancelled; it is left behind and ends when the server answers.
fn stat_in_background(
    stat: impl FnOnce() -> Result<FsStats, String> + Send + 'static,
) -> PendingStat {
    let (sender, receiver) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name("sitrep-statvfs".to_owned())
        .spawn(move || {
            // The receiver is gone only when the caller gave up waiting.
            let _ = sender.send(stat());
        });
    match spawned {
        Ok(_) => PendingStat::Waiting(receiver),
        Err(error) => PendingStat::Done(Err(format!("cannot start a statvfs thread: {error}"))),
    }
}

fn wait_for(pending: PendingStat, deadline: Instant, timeout: Duration) -> Result<FsStats, String> {
    match pending {
        PendingStat::Done(result) => result,
        PendingStat::Waiting(receiver) => {
            match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(result) => result,
                Err(RecvTimeoutError::Timeout) => Err(format!(
                    "no answer within {} ms: the network filesystem is not responding",
                    timeout.as_millis()
                )),
                Err(RecvTimeoutError::Disconnected) => {
                    Err("the statvfs thread ended without an answer".to_owned())
                }
            }
        }
    }
}

/// Stats every mount: local ones in turn, network ones all at once in the background with one
/// shared deadline, so dead servers cost at most [`NETWORK_STAT_TIMEOUT`] in all.
fn stat_filesystems(ctx: &Ctx, mounts: Vec<Mount>) -> Vec<Disk> {
    stat_filesystems_with(ctx, mounts, NETWORK_STAT_TIMEOUT, |path| statvfs(&path))
}

fn stat_filesystems_with(
    ctx: &Ctx,
    mounts: Vec<Mount>,
    timeout: Duration,
    stat: impl Fn(PathBuf) -> Result<FsStats, String> + Clone + Send + 'static,
) -> Vec<Disk> {
    let pending: Vec<(Mount, PendingStat)> = mounts
        .into_iter()
        .map(|mount| {
            let path = ctx.path(&mount.mount_point);
            let pending = if is_network_filesystem(&mount.fs_type) {
                let stat = stat.clone();
                stat_in_background(move || stat(path))
            } else {
                PendingStat::Done(stat(path))
            };
            (mount, pending)
        })
        .collect();
    let deadline = Instant::now() + timeout;
    pending
        .into_iter()
        .map(|(mount, pending)| disk_of(mount, wait_for(pending, deadline, timeout)))
        .collect()
}

fn disk_of(mount: Mount, stats: Result<FsStats, String>) -> Disk {
    let mut disk = Disk {
        read_only: mount.read_only(),
        mount_point: mount.mount_point,
        device: mount.source,
        fs_type: mount.fs_type,
        ..Disk::default()
    };
    match stats {
        Ok(stats) => fill_space(&mut disk, &stats),
        Err(error) => disk.stat_error = Some(error),
    }
    disk
}

/// Fills the space and inode figures the way df computes them: used is what is not free, and
/// the percentage is of the space unprivileged users can reach (used + available), so the
/// blocks reserved for root do not hide a full disk.
fn fill_space(disk: &mut Disk, stats: &FsStats) {
    let bytes = |blocks: u64| blocks.saturating_mul(stats.fragment_size);
    let used = stats.blocks.saturating_sub(stats.blocks_free);
    disk.total_bytes = Some(bytes(stats.blocks));
    disk.available_bytes = Some(bytes(stats.blocks_available));
    disk.used_percent = percent(used, used.saturating_add(stats.blocks_available));
    // Filesystems without a fixed inode table (btrfs, many network ones) report zero inodes.
    if stats.files > 0 {
        disk.inodes_total = Some(stats.files);
        disk.inodes_free = Some(stats.files_free);
        disk.inodes_used_percent =
            percent(stats.files.saturating_sub(stats.files_free), stats.files);
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64 * 100.0)
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn laptop_mounts() -> Vec<Mount> {
        parse_mountinfo(include_str!(
            "../../../tests/fixtures/laptop-ubuntu/proc/self/mountinfo"
        ))
        .expect("valid mountinfo")
    }

    #[test]
    fn ubuntu_laptop_keeps_real_filesystems_once() {
        let all = laptop_mounts();
        let kept: Vec<String> = select_data_filesystems(all.clone())
            .iter()
            .map(|mount| format!("{} {} {}", mount.mount_point, mount.fs_type, mount.source))
            .collect();
        expect![[r#"
            [
                "/ ext4 /dev/nvme0n1p2",
                "/boot/efi vfat /dev/nvme0n1p1",
                "/mnt/nas nfs4 nas.fritz.box:/volume1/media",
                "/media/alice/My Passport exfat /dev/sda1",
            ]
        "#]]
        .assert_debug_eq(&kept);
        assert!(
            all.len() > 30,
            "the fixture keeps the noise a real laptop has"
        );
    }

    #[test]
    fn root_is_kept_whatever_its_type() {
        let text = "\
600 599 0:55 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/overlay2/l/B
601 600 0:58 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
602 600 0:59 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64
603 600 259:2 /var/lib/docker/volumes/data/_data /data rw,relatime - ext4 /dev/nvme0n1p2 rw
";
        let mounts = parse_mountinfo(text).expect("valid mountinfo");
        let selected = select_data_filesystems(mounts);
        let kept: Vec<&str> = selected
            .iter()
            .map(|mount| mount.mount_point.as_str())
            .collect();
        // The volume's device is never mounted whole here, so it is the only view of it.
        assert_eq!(kept, ["/", "/data"]);
    }

    #[test]
    fn space_figures_follow_df() {
        let mut disk = Disk::default();
        fill_space(
            &mut disk,
            &FsStats {
                fragment_size: 4096,
                blocks: 1000,
                blocks_free: 300,
                blocks_available: 250,
                files: 200,
                files_free: 150,
            },
        );
        assert_eq!(disk.total_bytes, Some(4_096_000));
        assert_eq!(disk.available_bytes, Some(1_024_000));
        // 700 used of the 950 blocks an unprivileged user can reach.
        assert_eq!(disk.used_percent, Some(700.0 / 950.0 * 100.0));
        assert_eq!(
            (
                disk.inodes_total,
                disk.inodes_free,
                disk.inodes_used_percent
            ),
            (Some(200), Some(150), Some(25.0))
        );
    }

    #[test]
    fn filesystems_without_inodes_or_blocks_give_no_percentages() {
        let mut disk = Disk::default();
        let empty = FsStats {
            fragment_size: 4096,
            blocks: 0,
            blocks_free: 0,
            blocks_available: 0,
            files: 0,
            files_free: 0,
        };
        fill_space(&mut disk, &empty);
        assert_eq!((disk.total_bytes, disk.used_percent), (Some(0), None));
        assert_eq!(
            (
                disk.inodes_total,
                disk.inodes_free,
                disk.inodes_used_percent
            ),
            (None, None, None)
        );
    }

    #[test]
    fn a_hung_network_mount_gives_a_stat_error_not_a_stall() {
        let mounts = parse_mountinfo(
            "30 1 259:2 / / rw - ext4 /dev/nvme0n1p2 rw\n\
             575 30 0:52 / /mnt/nas rw - nfs4 nas:/volume1 rw\n\
             576 30 0:53 / /mnt/nas2 rw - cifs //nas/share rw\n",
        )
        .expect("valid mountinfo");
        let hanging_stat = |path: PathBuf| {
            if path.ends_with("nas") || path.ends_with("nas2") {
                thread::sleep(Duration::from_secs(2));
            }
            Ok(FsStats {
                fragment_size: 1,
                blocks: 1,
                blocks_free: 1,
                blocks_available: 1,
                files: 0,
                files_free: 0,
            })
        };
        let started = Instant::now();
        let disks = stat_filesystems_with(
            &Ctx::at("/fixture"),
            mounts,
            Duration::from_millis(100),
            hanging_stat,
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "both hung mounts share one deadline"
        );
        let errors: Vec<Option<&str>> = disks
            .iter()
            .map(|disk| disk.stat_error.as_deref())
            .collect();
        expect![[r#"
            [
                None,
                Some(
                    "no answer within 100 ms: the network filesystem is not responding",
                ),
                Some(
                    "no answer within 100 ms: the network filesystem is not responding",
                ),
            ]
        "#]]
        .assert_debug_eq(&errors);
        assert_eq!(disks[1].mount_point, "/mnt/nas");
        assert_eq!(disks[1].total_bytes, None);
    }
}
