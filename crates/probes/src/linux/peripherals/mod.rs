//! The `peripherals` section on Linux: each kind read on its own from /sys, /proc and the CUPS
//! socket below `Ctx::root`, so one unreadable source does not hide the others.
//!
//! A class directory that does not exist (no /sys/class/drm on a headless server, no
//! /proc/asound without a sound card) means there is nothing of that kind: an empty list, not an
//! error.

pub mod audio;
mod bluetooth;
mod cameras;
mod displays;
pub mod input;
mod pci;
pub mod power;
mod printers;
mod usb;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use audio::gather as audio;
pub use bluetooth::gather as bluetooth;
pub use cameras::gather as cameras;
pub use displays::gather as displays;
pub use input::gather as input;
pub use pci::gather as device_problems;
pub use power::gather as power;
pub use printers::gather as printers;
pub use usb::gather as usb;

use crate::{Ctx, ReadError};

/// The entries of the directory `path` (absolute, as on a live machine) below the root, sorted
/// by name; none when it does not exist.
fn class_entries(ctx: &Ctx, path: &str) -> Result<Vec<(String, PathBuf)>, ReadError> {
    let dir = ctx.path(path);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(source) if source.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ReadError::io(&dir, source)),
    };
    let mut listed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReadError::io(&dir, source))?;
        listed.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    listed.sort();
    Ok(listed)
}

/// A sysfs attribute, trimmed; `None` when missing, unreadable or empty. Attributes are read
/// one by one because the kernel refuses some of them in some states (a battery's
/// `cycle_count` on some firmware, a connector's `modes` while it is off).
fn attribute(dir: &Path, name: &str) -> Option<String> {
    fs::read_to_string(dir.join(name))
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

/// The name of what the symlink `dir/name` points at, e.g. `usbhid` for a `driver` link.
/// Resolved rather than read, so a link written as `../..` still names its target.
fn link_name(dir: &Path, name: &str) -> Option<String> {
    let link = dir.join(name);
    let target = fs::canonicalize(&link)
        .or_else(|_| fs::read_link(&link))
        .ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}
