//! `cargo xtask bench-collector`: a bounded load generator on loopback against a release
//! collector on SQLite. Simulated agents enroll, then post realistic zstd-compressed snapshots
//! over HTTPS keep-alive connections; the figures are throughput, latency percentiles and the
//! collector's peak RSS. Traffic goes only to 127.0.0.1, and the run stops after `--requests`
//! ingests or `--seconds`, whichever comes first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::workspace_root;

const INGEST_RATE_TARGET: f64 = 2000.0;
const P99_TARGET: Duration = Duration::from_millis(50);

#[derive(Debug, clap::Args)]
pub struct Options {
    /// Simulated agents, each enrolled with its own key
    #[arg(long, default_value_t = 200)]
    agents: usize,
    /// Ingest requests in all (the run also stops at --seconds)
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight at once
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Upper bound on the timed run
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Plain HTTP instead of HTTPS, to see what TLS costs on both sides of the 2 cores
    #[arg(long)]
    plain_http: bool,
}

/// The collector process, stopped by its PID when dropped.
pub(crate) struct Collector {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) data_dir: tempfile::TempDir,
    /// The serving certificate it names at start-up; `None` over plain HTTP.
    pub(crate) certificate: Option<PathBuf>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

pub fn bench(options: &Options) -> anyhow::Result<()> {
    let (collector_bin, agent_bin) = build_release()?;
    let template = snapshot_template(&agent_bin)?;

    let data_dir = tempfile::tempdir().context("cannot make a data dir")?;
    let collector = start_collector(&collector_bin, data_dir, options.plain_http)?;
    let enrollment = admin(&collector_bin, &collector, &["enroll-token", "create"])?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(load(&collector, &enrollment, &template, options));
    let peak_rss_kib = peak_rss_kib(collector.child.id());
    let database_bytes = std::fs::metadata(collector.data_dir.path().join("sitrep.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    drop(collector);
    let figures = result?;

    println!();
    let transport = if options.plain_http {
        "plain HTTP"
    } else {
        "HTTPS"
    };
    println!(
        "{} snapshot ingests from {} agents, {} in flight, over {transport} on loopback",
        figures.ok, options.agents, options.concurrency
    );
    println!("errors: {}", figures.errors);
    println!(
        "throughput: {:.0} ingests/s over {:.2} s",
        figures.ok as f64 / figures.elapsed.as_secs_f64(),
        figures.elapsed.as_secs_f64()
    );
    println!(
        "latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(figures.percentile(0.50)),
        ms(figures.percentile(0.90)),
        ms(figures.percentile(0.99)),
        ms(figures.percentile(1.0))
    );
    println!(
        "average compressed snapshot: {} bytes",
        figures.body_bytes / figures.ok.max(1)
    );
    println!(
        "collector peak RSS: {:.1} MiB; database file {:.1} MiB",
        peak_rss_kib as f64 / 1024.0,
        database_bytes as f64 / (1 << 20) as f64
    );
    let rate = figures.ok as f64 / figures.elapsed.as_secs_f64();
    let verdict = |ok: bool| if ok { "meets target" } else { "MISSES target" };
    println!(
        "ingest rate (target >= {INGEST_RATE_TARGET:.0}/s): {}",
        verdict(rate >= INGEST_RATE_TARGET)
    );
    println!(
        "p99 (target < {} ms): {}",
        P99_TARGET.as_millis(),
        verdict(figures.percentile(0.99) < P99_TARGET)
    );
    Ok(())
}

pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Builds the release collector and agent; their paths.
pub(crate) fn build_release() -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = build_release_binaries(&["sitrep-collector", "sitrep-agent"])?;
    Ok((dir.join("sitrep-collector"), dir.join("sitrep")))
}

/// Builds `packages` optimised (as shipped); the directory holding their binaries.
pub(crate) fn build_release_binaries(packages: &[&str]) -> anyhow::Result<PathBuf> {
    let root = workspace_root()?;
    println!("building {} (release) ...", packages.join(" and "));
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "--release", "--locked", "--quiet"]);
    for package in packages {
        cargo.args(["-p", package]);
    }
    let status = cargo
        .current_dir(&root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("the release build failed");
    }
    Ok(root.join("target/release"))
}

/// A specialist's API token, made with the collector's admin command.
pub(crate) fn specialist_token(binary: &Path, collector: &Collector) -> anyhow::Result<String> {
    admin(
        binary,
        collector,
        &["token", "create", "--role", "specialist", "--name", "bench"],
    )
}

/// A real snapshot of this machine, taken without network traffic, as the body template.
pub(crate) fn snapshot_template(agent: &Path) -> anyhow::Result<Value> {
    let output = Command::new(agent)
        .args(["report", "--json", "--no-probes"])
        .output()
        .with_context(|| format!("cannot run {}", agent.display()))?;
    serde_json::from_slice(&output.stdout).context("the agent printed no snapshot")
}

pub(crate) fn start_collector(
    binary: &Path,
    data_dir: tempfile::TempDir,
    plain_http: bool,
) -> anyhow::Result<Collector> {
    let mut command = Command::new(binary);
    command
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"]);
    if plain_http {
        command.arg("--insecure-http");
    }
    let mut child = command
        .env("SITREP_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the collector")?;
    let stdout = child.stdout.take();
    // The guard exists before anything can fail, so a collector that never listens is stopped.
    let mut collector = Collector {
        child,
        url: String::new(),
        data_dir,
        certificate: None,
    };
    let mut lines = BufReader::new(stdout.context("no collector stdout")?).lines();
    let first = lines
        .next()
        .context("the collector exited before listening")??;
    collector.url = first
        .strip_prefix("sitrep-collector listening on ")
        .context("unexpected first line from the collector")?
        .to_string();
    if !plain_http {
        let second = lines
            .next()
            .context("the collector did not name its certificate")??;
        let path = second
            .rsplit_once(" SHA-256 fingerprint ")
            .and_then(|(named, _)| named.strip_prefix("certificate "))
            .context("unexpected second line from the collector")?;
        collector.certificate = Some(PathBuf::from(path));
    }
    // Keep draining stdout so the collector never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok(collector)
}

/// Runs an admin command of the collector binary on the same data dir; returns its stdout.
pub(crate) fn admin(binary: &Path, collector: &Collector, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(binary)
        .arg("--data-dir")
        .arg(collector.data_dir.path())
        .args(args)
        .output()
        .context("cannot run the collector's admin command")?;
    if !output.status.success() {
        bail!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

pub(crate) fn peak_rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM")
}

/// A size field of `/proc/PID/status` (`VmRSS`, `VmHWM`, ...) in KiB; 0 when unreadable.
pub(crate) fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix(field)?
                    .strip_prefix(':')?
                    .trim()
                    .strip_suffix(" kB")?
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

struct LoadFigures {
    ok: usize,
    errors: usize,
    elapsed: Duration,
    body_bytes: usize,
    latencies: Vec<Duration>,
}

impl LoadFigures {
    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// The `p` quantile (0.0..=1.0) of sorted durations; zero when there are none.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// The template as a fresh snapshot (new id) of simulated agent `n`.
pub(crate) fn snapshot_of(template: &Value, agent: &Agent, n: usize) -> Value {
    let mut snapshot = template.clone();
    snapshot["id"] = Value::from(uuid::Uuid::now_v7().to_string());
    snapshot["agent"]["agent_id"] = Value::from(agent.id.clone());
    if let Some(os) = snapshot.get_mut("os").and_then(|os| os.get_mut("ok")) {
        os["hostname"] = Value::from(format!("bench-{n}"));
    }
    snapshot
}

/// A simulated agent: its id and its key.
pub(crate) struct Agent {
    pub(crate) id: String,
    pub(crate) key: String,
}

/// Enrolls one simulated agent named `bench-{n}`.
pub(crate) async fn enroll(
    client: &reqwest::Client,
    base: &str,
    enrollment: &str,
    n: usize,
) -> anyhow::Result<Agent> {
    let answer: Value = client
        .post(format!("{base}/api/v1/enroll"))
        .json(&serde_json::json!({"token": enrollment, "hostname": format!("bench-{n}"), "agent_version": "bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Agent {
        id: answer["agent_id"]
            .as_str()
            .context("no agent_id")?
            .to_string(),
        key: answer["agent_key"]
            .as_str()
            .context("no agent_key")?
            .to_string(),
    })
}

async fn load(
    collector: &Collector,
    enrollment: &str,
    template: &Value,
    options: &Options,
) -> anyhow::Result<LoadFigures> {
    // Loopback only, and the certificate is the collector's own fresh self-signed one.
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(options.concurrency)
        .build()?;
    let base = collector.url.clone();
    let mut agents = Vec::with_capacity(options.agents);
    for n in 0..options.agents {
        agents.push(enroll(&client, &base, enrollment, n).await?);
    }

    // Bodies are made before the clock starts so the generator's own compression does not take
    // CPU from the collector during the run.
    println!("preparing {} compressed snapshots ...", options.requests);
    let mut bodies = Vec::with_capacity(options.requests);
    for i in 0..options.requests {
        let snapshot = snapshot_of(template, &agents[i % agents.len()], i % agents.len());
        let json = serde_json::to_vec(&snapshot)?;
        bodies.push((i % agents.len(), zstd::encode_all(json.as_slice(), 3)?));
    }
    let body_bytes = bodies.iter().map(|(_, body)| body.len()).sum::<usize>();
    let bodies = Arc::new(bodies);
    let agents = Arc::new(agents);
    let next = Arc::new(AtomicUsize::new(0));
    let stop_at = Instant::now() + Duration::from_secs(options.seconds);

    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let (client, base, bodies, agents, next) = (
            client.clone(),
            base.clone(),
            bodies.clone(),
            agents.clone(),
            next.clone(),
        );
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() || Instant::now() >= stop_at {
                    break;
                }
                let (agent, body) = &bodies[i];
                let sent = Instant::now();
                let response = client
                    .post(format!("{base}/api/v1/snapshots"))
                    .bearer_auth(&agents[*agent].key)
                    .header("content-type", "application/json")
                    .header("content-encoding", "zstd")
                    .body(body.clone())
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().is_success() => {
                        latencies.push(sent.elapsed())
                    }
                    Ok(response) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!(
                                "ingest answered {}: {}",
                                response.status(),
                                response.text().await.unwrap_or_default()
                            );
                        }
                    }
                    Err(error) => {
                        errors += 1;
                        if errors == 1 {
                            eprintln!("ingest failed: {error}");
                        }
                    }
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(joined) = workers.join_next().await {
        let (mut worker_latencies, worker_errors) = joined?;
        latencies.append(&mut worker_latencies);
        errors += worker_errors;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(LoadFigures {
        ok: latencies.len(),
        errors,
        elapsed,
        body_bytes,
        latencies,
    })
}
