//! A small disk for fault tests: a tmpfs of a few hundred KiB mounted on a test's directory,
//! filled to the last page by a filler file and freed again, and unmounted when dropped (lazily
//! if a process still holds it), also when the test panicked.

use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};

/// The filler's name inside the mount.
const FILLER: &str = "filler";

#[derive(Debug, thiserror::Error)]
#[error("cannot {action}: {source}")]
pub struct DiskError {
    action: String,
    #[source]
    source: io::Error,
}

impl DiskError {
    fn io(action: impl Into<String>) -> impl FnOnce(io::Error) -> DiskError {
        let action = action.into();
        move |source| DiskError { action, source }
    }
}

/// A tmpfs mounted on a directory, unmounted on drop.
#[derive(Debug)]
pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes` (owner-only) on `dir`, made if missing; or `None` after
    /// printing `skipped: TEST: reason` where this process may not mount (not root).
    pub fn mount_or_skip(
        test: &str,
        dir: &Path,
        bytes: u64,
    ) -> Result<Option<SmallDisk>, DiskError> {
        fs::create_dir_all(dir).map_err(DiskError::io(format!("create {}", dir.display())))?;
        let options = CString::new(format!("size={bytes},mode=0700"))
            .map_err(|error| DiskError::io("build the mount options")(error.into()))?;
        let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        match rustix::mount::mount("tmpfs", dir, "tmpfs", flags, options.as_c_str()) {
            Ok(()) => Ok(Some(SmallDisk {
                dir: dir.to_path_buf(),
            })),
            Err(errno) if errno == Errno::PERM || errno == Errno::ACCESS => {
                // Written straight to stderr, past the test harness's capture, so the skip is seen.
                let _ = writeln!(
                    io::stderr(),
                    "skipped: {test}: cannot mount a small tmpfs: {errno}"
                );
                Ok(None)
            }
            Err(errno) => {
                Err(DiskError::io(format!("mount a tmpfs on {}", dir.display()))(errno.into()))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Bytes an unprivileged writer may still take.
    pub fn available(&self) -> Result<u64, DiskError> {
        let stats = rustix::fs::statvfs(&self.dir).map_err(|errno| {
            DiskError::io(format!("statvfs {}", self.dir.display()))(errno.into())
        })?;
        Ok(stats.f_bavail * stats.f_frsize)
    }

    /// Grows the filler until at most `leave` bytes are free (tmpfs counts whole pages);
    /// `fill(0)` leaves nothing.
    pub fn fill(&self, leave: u64) -> Result<(), DiskError> {
        let path = self.dir.join(FILLER);
        let mut filler = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(DiskError::io(format!("open {}", path.display())))?;
        let chunk = [0u8; 64 << 10];
        loop {
            let available = self.available()?;
            if available <= leave {
                return Ok(());
            }
            let len =
                usize::try_from(available - leave).map_or(chunk.len(), |n| n.min(chunk.len()));
            match filler.write_all(&chunk[..len]) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::StorageFull => return Ok(()),
                Err(error) => {
                    return Err(DiskError::io(format!("write {}", path.display()))(error));
                }
            }
        }
    }

    /// Removes the filler: the space it took is free again.
    pub fn free(&self) -> Result<(), DiskError> {
        let path = self.dir.join(FILLER);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(DiskError::io(format!("remove {}", path.display()))(error)),
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // A process the test could not stop may still hold a file there: detach the mount, and
        // the kernel frees it when the last user lets go.
        if rustix::mount::unmount(&self.dir, UnmountFlags::empty()).is_err() {
            let _ = rustix::mount::unmount(&self.dir, UnmountFlags::DETACH);
        }
    }
}
