//! `cargo xtask bench-daemon`: the release daemon enrolled with a release collector, both inside
//! an empty network namespace (`unshare --net`: loopback only, so the daemon's probes reach
//! nothing outside). Prints the daemon's RSS, CPU time and wake-ups over an idle stretch between
//! checks, and the time from a specialist's request to the fresh snapshot stored.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::collector::{
    admin, build_release, ms, peak_rss_kib, percentile, proc_status_kib, specialist_token,
    start_collector,
};
use crate::which;

/// The daemon's config: the default schedule (15 minutes), probes kept short.
const AGENT_CONFIG: &str = "[probes]\ntimeout = \"1s\"\ndeadline = \"3s\"\n";

#[derive(Debug, clap::Args)]
pub struct Options {
    /// How long to watch the idle daemon
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Specialist requests to time, one after another
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Internal: already inside the empty network namespace
    #[arg(long, hide = true)]
    inside: bool,
}

pub fn bench(options: &Options) -> anyhow::Result<()> {
    if options.inside {
        return inside(options);
    }
    if !nix::unistd::geteuid().is_root() || which("unshare").is_none() {
        bail!("the daemon bench runs in an empty network namespace, which needs root and unshare");
    }
    let status = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(std::env::current_exe()?)
        .args(["bench-daemon", "--inside", "--seconds"])
        .arg(options.seconds.to_string())
        .arg("--requests")
        .arg(options.requests.to_string())
        .status()
        .context("cannot run unshare")?;
    if !status.success() {
        bail!("the bench failed inside the namespace");
    }
    Ok(())
}

/// Stops the daemon by its PID when the bench ends, however it ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn inside(options: &Options) -> anyhow::Result<()> {
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()?;
    if !up.success() {
        bail!("cannot bring up loopback in the namespace");
    }
    let (collector_bin, agent_bin) = build_release()?;
    let collector = start_collector(&collector_bin, tempfile::tempdir()?, false)?;
    let certificate = collector
        .certificate
        .clone()
        .context("the collector named no certificate")?;
    let fingerprint = admin(&collector_bin, &collector, &["fingerprint"])?;
    let enrollment = admin(&collector_bin, &collector, &["enroll-token", "create"])?;
    let specialist = specialist_token(&collector_bin, &collector)?;

    let agent_dir = tempfile::tempdir()?;
    let config = agent_dir.path().join("agent.toml");
    std::fs::write(&config, AGENT_CONFIG)?;
    let state = agent_dir.path().join("state");
    let sitrep = |args: &[&str]| {
        let mut command = Command::new(&agent_bin);
        command
            .arg("--config")
            .arg(&config)
            .arg("--state-dir")
            .arg(&state)
            .args(args);
        command
    };
    let enrolled = sitrep(&[
        "enroll",
        "--collector",
        &collector.url,
        "--token",
        &enrollment,
        "--fingerprint",
        fingerprint.lines().last().unwrap_or_default(),
    ])
    .output()?;
    if !enrolled.status.success() {
        bail!(
            "enroll failed: {}",
            String::from_utf8_lossy(&enrolled.stderr)
        );
    }
    let identity: Value = serde_json::from_slice(&std::fs::read(state.join("identity.json"))?)?;
    let device = identity["agent_id"]
        .as_str()
        .context("no agent id")?
        .to_string();
    let log = agent_dir.path().join("daemon.log");
    let daemon = Daemon(
        sitrep(&["daemon"])
            .env("SITREP_LOG", "info")
            .stdin(Stdio::null())
            .stdout(File::create(&log)?)
            .stderr(File::create(&log)?)
            .spawn()
            .context("cannot start the daemon")?,
    );
    let pid = daemon.0.id();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let api = Api::new(&collector.url, &certificate, &specialist)?;
    runtime
        .block_on(api.wait_for_device(&device))
        .with_context(|| log_tail(&log))?;
    // Let the first check's upload and the long-poll settle, and the blocking pool's threads
    // (the readers of the first check) end, which tokio does after 10 s without work.
    let settling = Instant::now();
    while settling.elapsed() < Duration::from_secs(15) && Usage::of(pid)?.threads.len() > 1 {
        std::thread::sleep(Duration::from_millis(250));
    }

    println!(
        "daemon idle for {} s between scheduled checks (every 15 min), its long-poll held by the collector:",
        options.seconds
    );
    let before = Usage::of(pid)?;
    let mut rss_max = 0;
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(options.seconds) {
        rss_max = rss_max.max(proc_status_kib(pid, "VmRSS"));
        std::thread::sleep(Duration::from_secs(1));
    }
    let after = Usage::of(pid)?;
    let seconds = watch.elapsed().as_secs_f64();
    let used = after.since(&before);
    let cpu_ms = used.cpu_ns as f64 / 1e6;
    println!(
        "  CPU {cpu_ms:.1} ms ({:.4} % of one core); {} wake-ups (context switches, {:.2}/s) across {} thread(s)",
        cpu_ms / (seconds * 1000.0) * 100.0,
        used.context_switches,
        used.context_switches as f64 / seconds,
        after.threads.len()
    );
    println!(
        "  RSS {:.2} MiB (highest sample {:.2} MiB), peak since start {:.2} MiB; target < 10 MiB",
        mib(proc_status_kib(pid, "VmRSS")),
        mib(rss_max),
        mib(peak_rss_kib(pid))
    );
    // Most of it is the binary's own (clean, shared, reclaimable) pages; the private part is
    // what the daemon really costs.
    println!(
        "  of which private (anonymous) {:.2} MiB, file-backed (the binary and libc) {:.2} MiB",
        mib(proc_status_kib(pid, "RssAnon")),
        mib(proc_status_kib(pid, "RssFile"))
    );

    let mut took = Vec::with_capacity(options.requests);
    for _ in 0..options.requests {
        took.push(runtime.block_on(api.request_snapshot(&device))?);
    }
    took.sort();
    println!(
        "specialist request -> fresh snapshot stored ({} requests, each a full check with probes): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        took.len(),
        ms(percentile(&took, 0.5)),
        ms(percentile(&took, 0.9)),
        ms(percentile(&took, 1.0)),
    );
    println!(
        "  daemon peak RSS after them {:.2} MiB",
        mib(peak_rss_kib(pid))
    );
    drop(daemon);
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!(
        "the daemon's log ends:\n{}",
        lines[lines.len().saturating_sub(20)..].join("\n")
    )
}

/// CPU time and context switches of each thread of a process, by thread id.
struct Usage {
    threads: BTreeMap<String, ThreadUsage>,
}

#[derive(Debug, Clone, Copy, Default)]
struct ThreadUsage {
    cpu_ns: u64,
    context_switches: u64,
}

impl Usage {
    fn of(pid: u32) -> anyhow::Result<Usage> {
        let mut threads = BTreeMap::new();
        let tasks = PathBuf::from(format!("/proc/{pid}/task"));
        for task in std::fs::read_dir(&tasks).with_context(|| format!("{}", tasks.display()))? {
            let task = task?;
            let path = task.path();
            // schedstat: nanoseconds on the CPU, nanoseconds waiting, timeslices.
            let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
            let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
            threads.insert(
                task.file_name().to_string_lossy().into_owned(),
                ThreadUsage {
                    cpu_ns: schedstat
                        .split_whitespace()
                        .next()
                        .and_then(|ns| ns.parse().ok())
                        .unwrap_or(0),
                    context_switches: status
                        .lines()
                        .filter(|line| line.contains("ctxt_switches:"))
                        .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                        .sum(),
                },
            );
        }
        Ok(Usage { threads })
    }

    /// What the threads alive now used since `before` (a thread that ended in between is not
    /// counted, which is why the bench first waits for the blocking pool to wind down).
    fn since(&self, before: &Usage) -> ThreadUsage {
        let mut total = ThreadUsage::default();
        for (tid, now) in &self.threads {
            let then = before.threads.get(tid).copied().unwrap_or_default();
            total.cpu_ns += now.cpu_ns.saturating_sub(then.cpu_ns);
            total.context_switches += now.context_switches.saturating_sub(then.context_switches);
        }
        total
    }
}

/// The specialist's side of the API, trusting only the collector's own certificate.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(base: &str, certificate: &Path, token: &str) -> anyhow::Result<Api> {
        let pem = std::fs::read(certificate)?;
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem)?])
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api {
            client,
            base: base.to_string(),
            token: token.to_string(),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Waits (bounded) for the daemon's first scheduled snapshot, which makes the device.
    async fn wait_for_device(&self, device: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if self.get(&format!("/api/v1/devices/{device}")).await?.0 == 200 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("the daemon's first snapshot did not arrive within 60 s")
    }

    /// One request, answered: from the POST to the snapshot stored (the held GET returns).
    async fn request_snapshot(&self, device: &str) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let created: Value = self
            .client
            .post(format!("{}/api/v1/devices/{device}/requests", self.base))
            .bearer_auth(&self.token)
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = created["id"].as_str().context("the request has no id")?;
        while started.elapsed() < Duration::from_secs(60) {
            let (_, request) = self
                .get(&format!("/api/v1/devices/{device}/requests/{id}?wait=30"))
                .await?;
            if request["status"] == "done" {
                return Ok(started.elapsed());
            }
        }
        bail!("request {id} was not answered within 60 s")
    }
}
