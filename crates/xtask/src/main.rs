//! Project automation: benchmarks that print figures against the performance targets of
//! DESIGN.md section 8. `cargo xtask bench` measures the release agent (with `inxi` and
//! `hw-probe` side by side); `cargo xtask bench-collector` loads release collectors with
//! ingests (SQLite, PostgreSQL with one and with two replicas, side by side), `cargo xtask
//! bench-longpoll` a release collector with idle long-polling agents; `cargo xtask
//! bench-daemon` watches the release daemon idle and answering specialist requests.
//!
//! Figures, not pass/fail tests: a noisy 2-core machine makes timed assertions flaky, so the
//! harness prints medians, peaks and ratios for a person to read.

#![allow(clippy::print_stdout)]

mod agent;
mod collector;
mod daemon;
mod longpoll;

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Build the release agent and print its wall time, peak RSS and size, with ratios
    Bench {
        /// Timed runs of each command (after warm-up runs)
        #[arg(long, default_value_t = 25)]
        runs: usize,
    },
    /// Start release collectors on loopback (SQLite; PostgreSQL with one and with two replicas)
    /// and load each with a bounded number of snapshot ingests from simulated agents; print one
    /// table of throughput, latency percentiles, errors and RSS per replica
    BenchCollector(collector::Options),
    /// Start a release collector on loopback, hold one long-poll per simulated agent (10,000 by
    /// default); print the collector's RSS and how fast a specialist request reaches its poll
    BenchLongpoll(longpoll::Options),
    /// Run the release daemon against a release collector in an empty network namespace;
    /// print its idle RSS, CPU and wake-ups, and the time from a specialist's request to the
    /// snapshot stored
    BenchDaemon(daemon::Options),
    /// Internal: run a command once and print "<wall µs> <peak RSS KiB> <exit code>"
    #[command(hide = true)]
    Measure {
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Bench { runs } => agent::bench(runs),
        Task::BenchCollector(options) => collector::bench(&options),
        Task::BenchLongpoll(options) => longpoll::bench(&options),
        Task::BenchDaemon(options) => daemon::bench(&options),
        Task::Measure { command } => agent::measure_once(&command),
    }
}

pub(crate) fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

pub(crate) fn workspace_root() -> anyhow::Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .context("xtask is not inside the workspace")
}
