//! The release binaries every part of the harness measures: built once, as shipped, and copied
//! aside (with the harness itself, which runs itself again) so the whole run uses the same
//! build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::table::Row;
use crate::workspace_root;

const AGENT_SIZE_TARGET_BYTES: u64 = 10_000_000;

/// The agent and the collector of one release build, and the harness. Other work in the shared
/// `target/` may rebuild `target/release` while a long run goes on; the private copies keep
/// every part on the build the run started with, and keep the harness's own re-runs (measuring
/// one command, entering the daemon's namespace) working when `cargo xtask` replaces it.
pub(crate) struct Binaries {
    dir: PathBuf,
    /// Holds the copies while the harness runs; `None` when `dir` was handed in by a parent
    /// harness process that owns it.
    _copies: Option<tempfile::TempDir>,
}

impl Binaries {
    /// Builds `sitrep` and `sitrep-collector` optimised, as shipped (the release profile strips
    /// them), and copies them aside.
    pub(crate) fn build() -> anyhow::Result<Binaries> {
        let root = workspace_root()?;
        // One package per build, as `cargo deb -p` builds what ships: built together, cargo
        // unifies their dependencies' features and the agent carries the collector's (about
        // 0.8 MB more, and more pages resident).
        for package in ["sitrep-agent", "sitrep-collector"] {
            println!("building {package} (release) ...");
            let status = Command::new(env!("CARGO"))
                .args(["build", "--release", "--locked", "--quiet", "-p", package])
                .current_dir(&root)
                .status()
                .context("cannot run cargo")?;
            if !status.success() {
                bail!("the release build of {package} failed");
            }
        }
        let copies = tempfile::Builder::new()
            .prefix("sitrep-bench-")
            .tempdir()
            .context("cannot make a directory for the binaries")?;
        let harness = std::env::current_exe().context("cannot find the xtask binary")?;
        for (built, name) in [
            (root.join("target/release/sitrep"), "sitrep"),
            (
                root.join("target/release/sitrep-collector"),
                "sitrep-collector",
            ),
            (harness, "xtask"),
        ] {
            std::fs::copy(&built, copies.path().join(name))
                .with_context(|| format!("cannot copy {}", built.display()))?;
        }
        Ok(Binaries {
            dir: copies.path().to_path_buf(),
            _copies: Some(copies),
        })
    }

    /// The binaries a parent harness process built, in `dir`.
    pub(crate) fn in_dir(dir: &Path) -> Binaries {
        Binaries {
            dir: dir.to_path_buf(),
            _copies: None,
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn agent(&self) -> PathBuf {
        self.dir.join("sitrep")
    }

    pub(crate) fn collector(&self) -> PathBuf {
        self.dir.join("sitrep-collector")
    }

    /// This harness, for the parts that run it again.
    pub(crate) fn harness(&self) -> PathBuf {
        self.dir.join("xtask")
    }

    pub(crate) fn sizes(&self) -> anyhow::Result<Sizes> {
        let size = |path: PathBuf| {
            std::fs::metadata(&path)
                .map(|metadata| metadata.len())
                .with_context(|| format!("cannot stat {}", path.display()))
        };
        Ok(Sizes {
            agent_bytes: size(self.agent())?,
            collector_bytes: size(self.collector())?,
        })
    }
}

/// The size on disk of both release binaries, stripped by the release profile.
pub(crate) struct Sizes {
    agent_bytes: u64,
    collector_bytes: u64,
}

impl Sizes {
    pub(crate) fn rows(&self) -> Vec<Row> {
        let mb = |bytes: u64| format!("{:.2} MB", bytes as f64 / 1e6);
        vec![
            Row::checked(
                "binaries",
                "sitrep (agent), stripped",
                mb(self.agent_bytes),
                "< 10 MB",
                self.agent_bytes < AGENT_SIZE_TARGET_BYTES,
            ),
            Row::info(
                "binaries",
                "sitrep-collector, stripped",
                mb(self.collector_bytes),
            ),
        ]
    }
}
