//! `cargo xtask bench`, the whole harness: builds the release binaries once, runs every part
//! in turn (the quiet measurements first, the heavy loads last) and ends with one table of
//! every figure against its DESIGN.md section 8 target, optionally written as Markdown.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser as _;

use crate::machine::{Machine, load_average};
use crate::release::Binaries;
use crate::table::{Report, Row};
use crate::{agent, collector, daemon, longpoll};

/// The parts, in the order the harness runs them: the agent's timings and the daemon's idle
/// wake-ups need a machine as quiet as it gets, so they come before the loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Part {
    Agent,
    Daemon,
    Collector,
    Longpoll,
}

impl Part {
    fn label(self) -> &'static str {
        match self {
            Part::Agent => "agent",
            Part::Daemon => "daemon",
            Part::Collector => "collector",
            Part::Longpoll => "long-poll",
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Run only these parts (comma-separated); the binary sizes are always measured
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Part>,
    #[command(flatten)]
    agent: agent::Options,
    /// Skip the PostgreSQL rows of the collector part (they are skipped anyway, with the
    /// reason, when PostgreSQL does not answer)
    #[arg(long)]
    no_postgres: bool,
    /// Also write the table, with the machine facts, as Markdown into FILE: between the
    /// `<!-- cargo xtask bench: begin/end -->` markers when it has them (as docs/PERFORMANCE.md
    /// does), or as a new file
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

pub(crate) fn run(options: &Options) -> anyhow::Result<()> {
    let report = measure(|binaries| {
        let mut collector_options = collector::Options::parse_from(["bench-collector"]);
        collector_options.no_postgres = options.no_postgres;
        let mut rows = Vec::new();
        for part in [Part::Agent, Part::Daemon, Part::Collector, Part::Longpoll] {
            if !options.only.is_empty() && !options.only.contains(&part) {
                continue;
            }
            println!("\n== {} ==", part.label());
            let figures = match part {
                Part::Agent => agent::bench(binaries, &options.agent).map(|f| f.rows()),
                Part::Daemon => {
                    daemon::bench(binaries, &daemon::Options::parse_from(["bench-daemon"]))
                        .map(|f| f.rows())
                }
                Part::Collector => collector::bench(binaries, &collector_options).map(|f| f.rows()),
                Part::Longpoll => {
                    longpoll::bench(binaries, &longpoll::Options::parse_from(["bench-longpoll"]))
                        .map(|f| f.rows())
                }
            };
            // One part failing (PostgreSQL gone, a namespace refused) still leaves the others'
            // figures worth printing.
            match figures {
                Ok(part_rows) => rows.extend(part_rows),
                Err(error) => {
                    eprintln!("the {} part failed: {error:#}", part.label());
                    rows.push(Row::failed(part.label(), &error));
                }
            }
        }
        Ok(rows)
    })?;
    if let Some(path) = &options.markdown {
        report.write_markdown(path)?;
        println!("the table is in {}", path.display());
    }
    Ok(())
}

/// One part on its own (`cargo xtask bench-agent` and the like): its detailed output, then the
/// same table with its rows alone.
pub(crate) fn run_alone(
    part: impl FnOnce(&Binaries) -> anyhow::Result<Vec<Row>>,
) -> anyhow::Result<()> {
    measure(part).map(drop)
}

/// Builds the binaries, runs `parts` on them and prints the table of their rows, after the
/// binaries' sizes.
fn measure(parts: impl FnOnce(&Binaries) -> anyhow::Result<Vec<Row>>) -> anyhow::Result<Report> {
    let machine = Machine::observe();
    let started = Instant::now();
    let binaries = Binaries::build()?;
    let build = started.elapsed();
    let mut rows = binaries.sizes()?.rows();
    rows.extend(parts(&binaries)?);
    let report = Report {
        machine,
        command: reproducing_command(),
        build,
        took: started.elapsed(),
        load_at_end: load_average(),
        rows,
    };
    println!();
    print!("{}", report.text());
    Ok(report)
}

fn reproducing_command() -> String {
    std::iter::once("cargo xtask".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ")
}
