//! `cargo xtask bench`: the release agent's wall time, peak RSS and size, with ratios to
//! `inxi` and `hw-probe` when they are installed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::which;

const WALL_TARGET: Duration = Duration::from_millis(100);
const RSS_TARGET_KIB: u64 = 10 * 1024;
const SIZE_TARGET_BYTES: u64 = 10_000_000;

/// One command's figures over repeated runs.
#[derive(Debug)]
struct Figures {
    label: String,
    median_wall: Duration,
    median_rss_kib: u64,
    max_rss_kib: u64,
}

pub fn bench(runs: usize) -> anyhow::Result<()> {
    let agent = crate::collector::build_release_binaries(&["sitrep-agent"])?.join("sitrep");
    let size = std::fs::metadata(&agent)
        .with_context(|| format!("cannot stat {}", agent.display()))?
        .len();

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
    let agent_path = agent.to_string_lossy();
    let sitrep = run_repeatedly(
        "sitrep report --json --no-probes",
        &isolate(&[&agent_path, "report", "--json", "--no-probes"]),
        runs,
    )?;
    let mut peers = Vec::new();
    for (label, argv) in [
        ("inxi -F (full report)", &["inxi", "-F", "-c", "0"][..]),
        (
            "hw-probe -all -probe (no upload)",
            &["hw-probe", "-all", "-probe"][..],
        ),
    ] {
        if !isolated {
            println!(
                "{label}: skipped (peers run only in an empty network namespace, which needs root and unshare)"
            );
        } else if which(argv[0]).is_none() {
            println!("{label}: not installed, skipped");
        } else {
            peers.push(run_repeatedly(label, &isolate(argv), runs.min(5))?);
        }
    }
    if isolated {
        println!("every command ran in an empty network namespace (unshare --net)");
    }
    println!();
    println!(
        "{:<36} {:>10} {:>14} {:>12}",
        "command", "median ms", "median RSS MiB", "max RSS MiB"
    );
    for figures in std::iter::once(&sitrep).chain(&peers) {
        println!(
            "{:<36} {:>10.1} {:>14.2} {:>12.2}",
            figures.label,
            figures.median_wall.as_secs_f64() * 1000.0,
            figures.median_rss_kib as f64 / 1024.0,
            figures.max_rss_kib as f64 / 1024.0
        );
    }
    println!();
    for peer in &peers {
        println!(
            "ratio sitrep / {}: wall {:.3}, RSS {:.3}",
            peer.label,
            sitrep.median_wall.as_secs_f64() / peer.median_wall.as_secs_f64(),
            sitrep.median_rss_kib as f64 / peer.median_rss_kib as f64
        );
    }
    println!();
    let verdict = |ok: bool| if ok { "meets target" } else { "MISSES target" };
    println!(
        "median wall {:.1} ms (target < {} ms): {}",
        sitrep.median_wall.as_secs_f64() * 1000.0,
        WALL_TARGET.as_millis(),
        verdict(sitrep.median_wall < WALL_TARGET)
    );
    println!(
        "peak RSS {:.2} MiB (target < 10 MiB): {}",
        sitrep.max_rss_kib as f64 / 1024.0,
        verdict(sitrep.max_rss_kib < RSS_TARGET_KIB)
    );
    println!(
        "stripped binary {:.2} MB (target < 10 MB): {}",
        size as f64 / 1e6,
        verdict(size < SIZE_TARGET_BYTES)
    );
    Ok(())
}

fn run_repeatedly(label: &str, argv: &[String], runs: usize) -> anyhow::Result<Figures> {
    let me = std::env::current_exe().context("cannot find the xtask binary")?;
    let warmups = 2;
    let mut walls = Vec::with_capacity(runs);
    let mut rss = Vec::with_capacity(runs);
    for run in 0..warmups + runs {
        let output = Command::new(&me)
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
pub fn measure_once(argv: &[String]) -> anyhow::Result<()> {
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
