//! The daemon part (`cargo xtask bench-daemon`): the release daemon enrolled with a release
//! collector, both inside an empty network namespace (`unshare --net`: loopback only, so the
//! daemon's probes reach nothing outside). Measures the daemon's RSS, CPU time and wake-ups
//! over an idle stretch between checks, and the time from a specialist's request to the fresh
//! snapshot stored.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::loopback::{
    admin, peak_rss_kib, percentile, proc_status_kib, specialist_token, start_collector,
};
use crate::release::Binaries;
use crate::table::Row;
use crate::{mib, ms, which};

/// The daemon's config: the default schedule (15 minutes), probes kept short.
const AGENT_CONFIG: &str = "[probes]\ntimeout = \"1s\"\ndeadline = \"3s\"\n";
const IDLE_RSS_TARGET_KIB: u64 = 10 * 1024;
/// "No busy wake-ups between ticks": an idle daemon wakes for its long-poll's answer and TLS
/// upkeep a few times a minute; a loop spinning on a timer or a socket wakes hundreds of times
/// a second, so one a second on average is the line.
const WAKE_UPS_PER_SECOND_TARGET: f64 = 1.0;

#[derive(Debug, clap::Parser)]
pub(crate) struct Options {
    /// How long to watch the idle daemon
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Specialist requests to time, one after another
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Internal: the directory of the release binaries, built by the process outside
    #[arg(long, hide = true, requires = "figures_to")]
    binaries: Option<PathBuf>,
    /// Internal: already inside the empty network namespace; write the figures to this file
    #[arg(long, hide = true, requires = "binaries")]
    figures_to: Option<PathBuf>,
}

impl Options {
    /// Whether this process is the one inside the namespace.
    pub(crate) fn inside(&self) -> bool {
        self.figures_to.is_some()
    }
}

/// The daemon part's figures, carried out of the namespace as JSON.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DaemonFigures {
    idle: Duration,
    idle_cpu: Duration,
    idle_wake_ups: u64,
    threads: usize,
    idle_rss_max_kib: u64,
    idle_rss_anon_kib: u64,
    idle_rss_file_kib: u64,
    /// Sorted.
    request_to_snapshot: Vec<Duration>,
    peak_rss_after_requests_kib: u64,
}

/// Runs this program again inside an empty network namespace and reads back its figures.
pub(crate) fn bench(binaries: &Binaries, options: &Options) -> anyhow::Result<DaemonFigures> {
    if !nix::unistd::geteuid().is_root() || which("unshare").is_none() {
        bail!("the daemon bench runs in an empty network namespace, which needs root and unshare");
    }
    let out = tempfile::tempdir().context("cannot make a directory for the figures")?;
    let figures_file = out.path().join("daemon.json");
    let status = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(binaries.harness())
        .args(["bench-daemon", "--seconds"])
        .arg(options.seconds.to_string())
        .arg("--requests")
        .arg(options.requests.to_string())
        .arg("--binaries")
        .arg(binaries.dir())
        .arg("--figures-to")
        .arg(&figures_file)
        .status()
        .context("cannot run unshare")?;
    if !status.success() {
        bail!("the bench failed inside the namespace");
    }
    let json = std::fs::read(&figures_file).context("the namespace wrote no figures")?;
    serde_json::from_slice(&json).context("the namespace wrote unreadable figures")
}

/// Stops the daemon by its PID when the bench ends, however it ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The part itself, inside the namespace.
pub(crate) fn inside(options: &Options) -> anyhow::Result<()> {
    let (Some(dir), Some(figures_to)) = (&options.binaries, &options.figures_to) else {
        bail!("--binaries and --figures-to go together");
    };
    let up = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()?;
    if !up.success() {
        bail!("cannot bring up loopback in the namespace");
    }
    let binaries = Binaries::in_dir(dir);
    let (collector_bin, agent_bin) = (binaries.collector(), binaries.agent());
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
        "watching the daemon idle for {} s between scheduled checks (every 15 min), its \
         long-poll held by the collector ...",
        options.seconds
    );
    let before = Usage::of(pid)?;
    let mut idle_rss_max_kib = 0;
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(options.seconds) {
        idle_rss_max_kib = idle_rss_max_kib.max(proc_status_kib(pid, "VmRSS"));
        std::thread::sleep(Duration::from_secs(1));
    }
    let after = Usage::of(pid)?;
    let idle = watch.elapsed();
    let used = after.since(&before);
    let idle_rss_anon_kib = proc_status_kib(pid, "RssAnon");
    let idle_rss_file_kib = proc_status_kib(pid, "RssFile");

    println!("timing {} specialist requests ...", options.requests);
    let mut request_to_snapshot = Vec::with_capacity(options.requests);
    for _ in 0..options.requests {
        request_to_snapshot.push(runtime.block_on(api.request_snapshot(&device))?);
    }
    request_to_snapshot.sort();
    let figures = DaemonFigures {
        idle,
        idle_cpu: Duration::from_nanos(used.cpu_ns),
        idle_wake_ups: used.context_switches,
        threads: after.threads.len(),
        idle_rss_max_kib,
        idle_rss_anon_kib,
        idle_rss_file_kib,
        request_to_snapshot,
        peak_rss_after_requests_kib: peak_rss_kib(pid),
    };
    drop(daemon);
    figures.print();
    std::fs::write(figures_to, serde_json::to_vec(&figures)?)
        .with_context(|| format!("cannot write {}", figures_to.display()))
}

impl DaemonFigures {
    fn wake_ups_per_second(&self) -> f64 {
        self.idle_wake_ups as f64 / self.idle.as_secs_f64()
    }

    fn print(&self) {
        let cpu_ms = ms(self.idle_cpu);
        println!(
            "idle {:.0} s: CPU {cpu_ms:.1} ms ({:.4} % of one core); {} wake-ups (context \
             switches, {:.2}/s) across {} thread(s)",
            self.idle.as_secs_f64(),
            cpu_ms / ms(self.idle) * 100.0,
            self.idle_wake_ups,
            self.wake_ups_per_second(),
            self.threads
        );
        // Most of it is the binary's own (clean, shared, reclaimable) pages; the private part
        // is what the daemon really costs.
        println!(
            "  RSS at most {:.2} MiB, of which private (anonymous) {:.2} MiB, file-backed (the \
             binary and libc) {:.2} MiB",
            mib(self.idle_rss_max_kib),
            mib(self.idle_rss_anon_kib),
            mib(self.idle_rss_file_kib)
        );
        println!(
            "specialist request -> fresh snapshot stored ({} requests, each a full check with \
             probes): {}; daemon peak RSS after them {:.2} MiB",
            self.request_to_snapshot.len(),
            self.latency(),
            mib(self.peak_rss_after_requests_kib)
        );
        println!();
    }

    fn latency(&self) -> String {
        let sorted = &self.request_to_snapshot;
        format!(
            "p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
            ms(percentile(sorted, 0.5)),
            ms(percentile(sorted, 0.9)),
            ms(percentile(sorted, 1.0)),
        )
    }

    pub(crate) fn rows(&self) -> Vec<Row> {
        const PART: &str = "daemon";
        let idle = self.idle.as_secs_f64();
        vec![
            Row::checked(
                PART,
                &format!("idle RSS, highest of {idle:.0} s"),
                format!(
                    "{:.2} MiB ({:.2} MiB private)",
                    mib(self.idle_rss_max_kib),
                    mib(self.idle_rss_anon_kib)
                ),
                "< 10 MiB",
                self.idle_rss_max_kib < IDLE_RSS_TARGET_KIB,
            ),
            Row::checked(
                PART,
                &format!("idle CPU and wake-ups over {idle:.0} s"),
                format!(
                    "{:.1} ms CPU, {:.2} wake-ups/s",
                    ms(self.idle_cpu),
                    self.wake_ups_per_second()
                ),
                "no busy wake-ups (< 1/s)",
                self.wake_ups_per_second() < WAKE_UPS_PER_SECOND_TARGET,
            ),
            Row::info(
                PART,
                &format!(
                    "specialist request -> snapshot stored ({} requests)",
                    self.request_to_snapshot.len()
                ),
                self.latency(),
            ),
        ]
    }
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
            // The collector closes HTTP/1.1 connections idle for `limits.header_read_timeout`
            // (30 s by default); a connection kept through the idle watch would be reused just
            // as the collector drops it, so idle ones are let go well before.
            .pool_idle_timeout(Duration::from_secs(10))
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
