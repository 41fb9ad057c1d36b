//! The collector under test and its simulated agents, on loopback: starting a release
//! collector, its admin commands, enrolling agents and making their snapshots, and the
//! process and latency figures the collector, long-poll and daemon parts share.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// The collector process, stopped by its PID when dropped.
pub(crate) struct Collector {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) data_dir: tempfile::TempDir,
    /// `--database-url` of its store; `None` for SQLite in `data_dir`.
    pub(crate) database_url: Option<String>,
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

/// A collector on SQLite in `data_dir`.
pub(crate) fn start_collector(
    binary: &Path,
    data_dir: tempfile::TempDir,
    plain_http: bool,
) -> anyhow::Result<Collector> {
    start_replica(binary, data_dir, None, plain_http)
}

/// A collector on the store of `database_url` (SQLite in `data_dir` when `None`); `data_dir`
/// holds its self-signed certificate either way.
pub(crate) fn start_replica(
    binary: &Path,
    data_dir: tempfile::TempDir,
    database_url: Option<&str>,
    plain_http: bool,
) -> anyhow::Result<Collector> {
    let mut command = Command::new(binary);
    command.arg("--data-dir").arg(data_dir.path());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    if plain_http {
        command.arg("--insecure-http");
    }
    let mut child = command
        .env(
            "SITREP_LOG",
            std::env::var("SITREP_LOG").unwrap_or_else(|_| "warn".into()),
        )
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
        database_url: database_url.map(str::to_string),
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

/// Runs an admin command of the collector binary on the same data dir and store; returns its
/// stdout.
pub(crate) fn admin(binary: &Path, collector: &Collector, args: &[&str]) -> anyhow::Result<String> {
    let mut command = Command::new(binary);
    command.arg("--data-dir").arg(collector.data_dir.path());
    if let Some(url) = &collector.database_url {
        command.args(["--database-url", url]);
    }
    let output = command
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
