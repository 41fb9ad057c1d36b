//! Gathers each section of a sitrep snapshot from the machine it runs on.
//!
//! The platform-neutral facade is one module per section (`os`, `hardware`, `disks`,
//! `network`, `peripherals`), each with a `gather(&Ctx)` entry point; the platform modules behind `cfg`
//! (`linux/`, `windows/`, `macos/`, and `unknown/` for the rest) implement it, so callers never
//! write `cfg`. Linux readers do IO below [`Ctx::root`], so tests point them at fixture trees;
//! the Windows and macOS readers run the system's tools and hand their output to the parsers
//! in [`parse`], which are compiled everywhere so they are tested on Linux from recorded
//! output. The active network probes live in [`active`].

pub mod active;
pub mod cups;
pub mod disks;
pub mod edid;
pub mod hardware;
pub mod network;
pub mod os;
pub mod peripherals;

pub mod parse;

// Public (and hidden) only so the fuzz targets in `fuzz/` reach the Linux parsers.
#[cfg(target_os = "linux")]
#[doc(hidden)]
pub mod linux;
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as platform;
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
mod unknown;
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
use unknown as platform;
// Tested on every platform; only the Windows and macOS readers run tools.
#[cfg(any(test, windows, target_os = "macos"))]
mod command;

mod credentials;
mod error;

pub use error::{CommandFailure, ParseError, ReadError};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where and how readers look.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The file system root the readers read below: `/` on a live machine, a fixture tree in tests.
    pub root: PathBuf,
    /// Environment variables the readers may consult (only proxy settings are ever read).
    pub env: BTreeMap<String, String>,
}

impl Ctx {
    /// The running machine: root `/` and this process's environment.
    pub fn host() -> Self {
        Ctx {
            root: PathBuf::from("/"),
            env: std::env::vars().collect(),
        }
    }

    /// A fixture tree with an empty environment.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Ctx {
            root: root.into(),
            env: BTreeMap::new(),
        }
    }

    /// `path` (absolute, as on a live machine) resolved below the root.
    pub fn path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        self.root.join(path.strip_prefix("/").unwrap_or(path))
    }
}
