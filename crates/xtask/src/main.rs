//! Project automation: the benchmark harness that checks the performance targets of DESIGN.md
//! section 8. `cargo xtask bench` builds the release binaries once, runs every part and ends
//! with one table of figures against targets (`--markdown FILE` writes it for
//! docs/PERFORMANCE.md); each part also runs on its own, with all its options:
//! `bench-agent` (the agent's report time and RSS, `inxi` and `hw-probe` side by side),
//! `bench-daemon` (the daemon idle and answering specialist requests), `bench-collector`
//! (ingests on SQLite and PostgreSQL), `bench-longpoll` (10,000 held long-polls).
//!
//! Figures, not pass/fail tests: a noisy 2-core machine makes timed assertions flaky, so the
//! harness prints medians, peaks and ratios for a person to read.

#![allow(clippy::print_stdout)]

mod agent;
mod collector;
mod daemon;
mod harness;
mod longpoll;
mod loopback;
mod machine;
mod release;
mod table;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The whole harness: build the release binaries once, run every part (agent, daemon,
    /// collector, long-poll) and print one table of every figure against its target
    Bench(harness::Options),
    /// Print the release agent's wall time and peak RSS, with ratios to inxi and hw-probe
    BenchAgent(agent::Options),
    /// Start release collectors on loopback (SQLite; PostgreSQL with one and with two replicas)
    /// and load each with a bounded number of snapshot ingests from simulated agents; print
    /// throughput, latency percentiles, errors and RSS per replica
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
        Task::Bench(options) => harness::run(&options),
        Task::BenchAgent(options) => {
            harness::run_alone(|binaries| Ok(agent::bench(binaries, &options)?.rows()))
        }
        Task::BenchCollector(options) => {
            harness::run_alone(|binaries| Ok(collector::bench(binaries, &options)?.rows()))
        }
        Task::BenchLongpoll(options) => {
            harness::run_alone(|binaries| Ok(longpoll::bench(binaries, &options)?.rows()))
        }
        Task::BenchDaemon(options) if options.inside() => daemon::inside(&options),
        Task::BenchDaemon(options) => {
            harness::run_alone(|binaries| Ok(daemon::bench(binaries, &options)?.rows()))
        }
        Task::Measure { command } => agent::measure_once(&command),
    }
}

pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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
