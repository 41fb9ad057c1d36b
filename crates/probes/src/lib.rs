//! Gathers each section of a sitrep snapshot from the machine it runs on.
//!
//! The platform-neutral facade is one module per section (`os`, `hardware`, `disks`,
//! `network`), each with a single `gather(&Ctx)` entry point; the platform modules behind `cfg`
//! (`linux/`, and `unknown/` for platforms without readers yet) implement it, so callers never
//! write `cfg`. Readers do IO below [`Ctx::root`], so tests point them at fixture trees;
//! parsers are pure functions on text. The active network probes live in [`active`].

pub mod active;
pub mod disks;
pub mod hardware;
pub mod network;
pub mod os;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(not(target_os = "linux"))]
mod unknown;
#[cfg(not(target_os = "linux"))]
use unknown as platform;

mod error;

pub use error::{ParseError, ReadError};

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
