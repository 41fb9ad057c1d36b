//! The agent part (`cargo xtask bench-agent`): the release agent's wall time and peak RSS over
//! repeated runs, with `inxi` and `hw-probe` side by side when they are installed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::release::Binaries;
use crate::table::Row;
use crate::{mib, ms, which};

const WALL_TARGET: Duration = Duration::from_millis(100);
const RSS_TARGET_KIB: u64 = 10 * 1024;
/// The peers take about a second each; fewer runs keep the part short.
const PEER_RUNS: usize = 5;

#[derive(Debug, clap::Parser)]
pub(crate) struct Options {
    /// Timed runs of the agent (after warm-up runs); the peers run at most 5 times
    #[arg(long, default_value_t = 25)]
    runs: usize,
}

/// One command's figures over repeated runs.
#[derive(Debug)]
struct Figures {
    label: String,
    median_wall: Duration,
    median_rss_kib: u64,
    max_rss_kib: u64,
}

/// A peer tool, measured or the reason it was not.
#[derive(Debug)]
struct Peer {
    label: &'static str,
    /// The tool's name, which is also its Debian package's.
    tool: &'static str,
    figures: Result<Figures, String>,
}

/// The agent part's figures.
#[derive(Debug)]
pub(crate) struct AgentFigures {
    runs: usize,
    sitrep: Figures,
    peers: Vec<Peer>,
}

pub(crate) fn bench(binaries: &Binaries, options: &Options) -> anyhow::Result<AgentFigures> {
    // Peers are third-party tools: they run only inside an empty network namespace, where they
    // cannot send traffic anywhere. sitrep runs the same way so the figures compare.
    let isolated = nix::unistd::geteuid().is_root() && which("unshare").is_some();
    let isolate = |argv: &[&str]| -> Vec<String> {
        let prefix: &[&str] = if isolated { &["unshare", "--net"] } else { &[] };
        prefix
            .iter()
            .chain(argv)
            .map(|arg| arg.to_string())
            .collect()
    };
    let agent = binaries.agent();
    let agent_path = agent.to_string_lossy();
    let sitrep = run_repeatedly(
        binaries,
        "sitrep report --json --no-probes",
        &isolate(&[&agent_path, "report", "--json", "--no-probes"]),
        options.runs,
    )?;
    let mut peers = Vec::new();
    for (label, tool, argv) in [
        (
            "inxi -F (full report)",
            "inxi",
            &["inxi", "-F", "-c", "0"][..],
        ),
        (
            "hw-probe -all -probe (no upload)",
            "hw-probe",
            &["hw-probe", "-all", "-probe"][..],
        ),
    ] {
        let figures = if !isolated {
            Err(
                "skipped: peers run only in an empty network namespace, which needs root and \
                 unshare"
                    .to_string(),
            )
        } else if which(argv[0]).is_none() {
            Err(format!("not installed (Debian: `apt-get install {tool}`)"))
        } else {
            Ok(run_repeatedly(
                binaries,
                label,
                &isolate(argv),
                options.runs.min(PEER_RUNS),
            )?)
        };
        peers.push(Peer {
            label,
            tool,
            figures,
        });
    }
    let figures = AgentFigures {
        runs: options.runs,
        sitrep,
        peers,
    };
    figures.print(isolated);
    Ok(figures)
}

impl AgentFigures {
    fn print(&self, isolated: bool) {
        if isolated {
            println!("every command ran in an empty network namespace (unshare --net)");
        }
        println!(
            "{:<36} {:>10} {:>14} {:>12}",
            "command", "median ms", "median RSS MiB", "max RSS MiB"
        );
        for figures in std::iter::once(&self.sitrep).chain(
            self.peers
                .iter()
                .filter_map(|peer| peer.figures.as_ref().ok()),
        ) {
            println!(
                "{:<36} {:>10.1} {:>14.2} {:>12.2}",
                figures.label,
                ms(figures.median_wall),
                mib(figures.median_rss_kib),
                mib(figures.max_rss_kib)
            );
        }
        println!();
    }

    pub(crate) fn rows(&self) -> Vec<Row> {
        let mut rows = vec![
            Row::checked(
                "agent",
                &format!("{}: median wall of {}", self.sitrep.label, self.runs),
                format!("{:.1} ms", ms(self.sitrep.median_wall)),
                "< 100 ms",
                self.sitrep.median_wall < WALL_TARGET,
            ),
            Row::checked(
                "agent",
                &format!("{}: peak RSS of {}", self.sitrep.label, self.runs),
                format!("{:.2} MiB", mib(self.sitrep.max_rss_kib)),
                "< 10 MiB",
                self.sitrep.max_rss_kib < RSS_TARGET_KIB,
            ),
        ];
        for peer in &self.peers {
            let figure = match &peer.figures {
                Ok(figures) => format!(
                    "{:.1} ms, {:.2} MiB; sitrep/{}: wall {:.3}, RSS {:.3}",
                    ms(figures.median_wall),
                    mib(figures.median_rss_kib),
                    peer.tool,
                    self.sitrep.median_wall.as_secs_f64() / figures.median_wall.as_secs_f64(),
                    self.sitrep.median_rss_kib as f64 / figures.median_rss_kib as f64
                ),
                Err(reason) => reason.clone(),
            };
            rows.push(Row::info(
                "agent",
                &format!("baseline {}: median wall, RSS", peer.label),
                figure,
            ));
        }
        rows
    }
}

fn run_repeatedly(
    binaries: &Binaries,
    label: &str,
    argv: &[String],
    runs: usize,
) -> anyhow::Result<Figures> {
    let warmups = 2;
    let mut walls = Vec::with_capacity(runs);
    let mut rss = Vec::with_capacity(runs);
    for run in 0..warmups + runs {
        let output = Command::new(binaries.harness())
            .arg("measure")
            .args(argv)
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("cannot measure {label}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let mut fields = text.split_whitespace().map(str::parse::<u64>);
        let (Some(Ok(wall_us)), Some(Ok(rss_kib))) = (fields.next(), fields.next()) else {
            bail!("measuring {label} printed {text:?}");
        };
        if run >= warmups {
            walls.push(Duration::from_micros(wall_us));
            rss.push(rss_kib);
        }
    }
    walls.sort();
    rss.sort();
    Ok(Figures {
        label: label.to_string(),
        median_wall: walls[walls.len() / 2],
        median_rss_kib: rss[rss.len() / 2],
        max_rss_kib: rss.last().copied().unwrap_or_default(),
    })
}

/// Runs in its own process so that the children's peak RSS is this one command's alone.
pub(crate) fn measure_once(argv: &[String]) -> anyhow::Result<()> {
    let started = Instant::now();
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", argv[0]))?;
    let wall = started.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)?;
    // Linux reports ru_maxrss in KiB.
    println!(
        "{} {} {}",
        wall.as_micros(),
        usage.max_rss(),
        status.code().unwrap_or(-1)
    );
    Ok(())
}
