//! `cargo xtask bench-collector`: a bounded load generator on loopback against release
//! collectors, one table row per deployment: SQLite with one replica (the baseline, the store of
//! the DESIGN.md section 8 targets), PostgreSQL with one replica, PostgreSQL with two replicas
//! sharing one schema. Simulated agents enroll, then post realistic zstd-compressed snapshots
//! over HTTPS keep-alive connections, spread round-robin over the row's replicas; the figures
//! are throughput, latency percentiles, errors, each replica's peak RSS and the throughput
//! relative to SQLite. PostgreSQL runs on the same 2 cores, so its CPU is part of the price and
//! its RSS is not counted.
//!
//! Each PostgreSQL row gets a fresh schema `sitrep_bench_<uuid>` on the server of `--postgres`
//! (or SITREP_TEST_POSTGRES), dropped when the row ends, also on error; `--no-postgres` runs
//! the SQLite row alone. Load goes only to 127.0.0.1, and each row stops after `--requests`
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
/// A request still unanswered after this counts as an error, so a stuck replica cannot stretch
/// a row past `--seconds` by much.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long creating or dropping a bench schema may wait for PostgreSQL.
const POSTGRES_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub struct Options {
    /// Simulated agents, each enrolled with its own key
    #[arg(long, default_value_t = 200)]
    agents: usize,
    /// Ingest requests per row (a row also stops at --seconds)
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Requests in flight at once
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Upper bound on each row's timed run
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Plain HTTP instead of HTTPS, to see what TLS costs on both sides of the 2 cores
    #[arg(long)]
    plain_http: bool,
    /// PostgreSQL server for the PostgreSQL rows; each row makes and drops its own schema there
    #[arg(
        long,
        value_name = "URL",
        env = "SITREP_TEST_POSTGRES",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
    /// Only the SQLite row, for machines without PostgreSQL
    #[arg(long)]
    no_postgres: bool,
}

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

/// The store behind a table row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Sqlite,
    Postgres,
}

/// One row of the table: a store and how many replicas serve it.
#[derive(Debug, Clone, Copy)]
struct Deployment {
    store: StoreKind,
    replicas: usize,
}

impl Deployment {
    fn label(self) -> String {
        let store = match self.store {
            StoreKind::Sqlite => "SQLite",
            StoreKind::Postgres => "PostgreSQL",
        };
        let plural = if self.replicas == 1 { "" } else { "s" };
        format!("{store}, {} replica{plural}", self.replicas)
    }
}

/// The running replicas of a row and, on PostgreSQL, their schema. Fields drop in order, so
/// the replicas stop (and let go of their connections) before the schema is dropped.
struct Running {
    replicas: Vec<Collector>,
    _schema: Option<BenchSchema>,
}

/// The figures of one finished row.
struct RowFigures {
    deployment: Deployment,
    load: LoadFigures,
    peak_rss_kib: Vec<u64>,
    /// Size of the SQLite database file; `None` on PostgreSQL.
    sqlite_bytes: Option<u64>,
}

impl RowFigures {
    fn rate(&self) -> f64 {
        self.load.ok as f64 / self.load.elapsed.as_secs_f64()
    }
}

pub fn bench(options: &Options) -> anyhow::Result<()> {
    let mut deployments = vec![Deployment {
        store: StoreKind::Sqlite,
        replicas: 1,
    }];
    if !options.no_postgres {
        deployments.extend([1, 2].map(|replicas| Deployment {
            store: StoreKind::Postgres,
            replicas,
        }));
    }
    let (collector_bin, agent_bin) = build_release()?;
    let template = snapshot_template(&agent_bin)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let mut rows = Vec::new();
    let mut failure = None;
    for deployment in deployments {
        println!("{}:", deployment.label());
        match run_row(deployment, &collector_bin, &template, &runtime, options) {
            Ok(row) => rows.push(row),
            Err(error) => {
                failure = Some(error.context(format!("the row {}", deployment.label())));
                break;
            }
        }
    }
    // The rows that finished are worth seeing even when a later one failed.
    print_table(&rows, options);
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn run_row(
    deployment: Deployment,
    collector_bin: &Path,
    template: &Value,
    runtime: &tokio::runtime::Runtime,
    options: &Options,
) -> anyhow::Result<RowFigures> {
    let running = start_deployment(deployment, collector_bin, options)?;
    let enrollment = admin(
        collector_bin,
        &running.replicas[0],
        &["enroll-token", "create"],
    )?;
    let targets: Vec<String> = running.replicas.iter().map(|r| r.url.clone()).collect();
    let load = runtime.block_on(load(&targets, &enrollment, template, options))?;
    let peak_rss_kib = running
        .replicas
        .iter()
        .map(|replica| peak_rss_kib(replica.child.id()))
        .collect();
    let sqlite_bytes = (deployment.store == StoreKind::Sqlite).then(|| {
        std::fs::metadata(running.replicas[0].data_dir.path().join("sitrep.db"))
            .map(|m| m.len())
            .unwrap_or(0)
    });
    Ok(RowFigures {
        deployment,
        load,
        peak_rss_kib,
        sqlite_bytes,
    })
}

/// Starts a row's replicas one after the other, so only the first one migrates a fresh schema.
fn start_deployment(
    deployment: Deployment,
    collector_bin: &Path,
    options: &Options,
) -> anyhow::Result<Running> {
    let schema = match deployment.store {
        StoreKind::Sqlite => None,
        StoreKind::Postgres => Some(BenchSchema::create(&options.postgres)?),
    };
    let database_url = schema.as_ref().map(BenchSchema::database_url);
    let mut replicas = Vec::with_capacity(deployment.replicas);
    for _ in 0..deployment.replicas {
        let data_dir = tempfile::tempdir().context("cannot make a data dir")?;
        replicas.push(start_replica(
            collector_bin,
            data_dir,
            database_url.as_deref(),
            options.plain_http,
        )?);
    }
    Ok(Running {
        replicas,
        _schema: schema,
    })
}

fn print_table(rows: &[RowFigures], options: &Options) {
    let Some(baseline) = rows.first() else {
        return;
    };
    println!();
    let transport = if options.plain_http {
        "plain HTTP"
    } else {
        "HTTPS"
    };
    println!(
        "up to {} snapshot ingests per row from {} agents, {} in flight, over {transport} on \
         loopback; average compressed snapshot {} bytes",
        options.requests,
        options.agents,
        options.concurrency,
        baseline.load.body_bytes / baseline.load.ok.max(1)
    );
    println!(
        "{:<24} {:>9} {:>7} {:>7} {:>7} {:>7} {:>6} {:>22} {:>9}",
        "",
        "ingests/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "peak RSS/replica MiB",
        "vs SQLite"
    );
    for row in rows {
        let rss = row
            .peak_rss_kib
            .iter()
            .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" + ");
        println!(
            "{:<24} {:>9.0} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>6} {:>22} {:>8.2}x",
            row.deployment.label(),
            row.rate(),
            ms(row.load.percentile(0.50)),
            ms(row.load.percentile(0.90)),
            ms(row.load.percentile(0.99)),
            ms(row.load.percentile(1.0)),
            row.load.errors,
            rss,
            row.rate() / baseline.rate()
        );
    }
    if let Some(bytes) = baseline.sqlite_bytes {
        println!(
            "SQLite database file after its row: {:.1} MiB",
            bytes as f64 / (1 << 20) as f64
        );
    }
    let verdict = |ok: bool| if ok { "meets target" } else { "MISSES target" };
    println!(
        "SQLite ingest rate (target >= {INGEST_RATE_TARGET:.0}/s): {}",
        verdict(baseline.rate() >= INGEST_RATE_TARGET)
    );
    println!(
        "SQLite p99 (target < {} ms): {}",
        P99_TARGET.as_millis(),
        verdict(baseline.load.percentile(0.99) < P99_TARGET)
    );
}

/// A fresh PostgreSQL schema for one row, dropped with everything in it when the guard goes.
struct BenchSchema {
    /// Its own small runtime, so the schema can be dropped from `Drop`, outside any async code.
    runtime: tokio::runtime::Runtime,
    server: String,
    name: String,
}

impl BenchSchema {
    fn create(server: &str) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let name = format!("sitrep_bench_{}", uuid::Uuid::now_v7().simple());
        runtime
            .block_on(execute_on(server, format!("CREATE SCHEMA {name}")))
            .with_context(|| {
                format!(
                    "cannot create the schema {name} on the PostgreSQL of --postgres or \
                     SITREP_TEST_POSTGRES (--no-postgres skips the PostgreSQL rows)"
                )
            })?;
        Ok(Self {
            runtime,
            server: server.to_string(),
            name,
        })
    }

    /// The server's URL with the schema as the search path, so the collector's tables land
    /// there.
    fn database_url(&self) -> String {
        let separator = if self.server.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.server, self.name
        )
    }
}

impl Drop for BenchSchema {
    fn drop(&mut self) {
        let statement = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if let Err(error) = self.runtime.block_on(execute_on(&self.server, statement)) {
            eprintln!(
                "cannot drop the bench schema {} (drop it by hand): {error:#}",
                self.name
            );
        }
    }
}

/// Runs one statement on its own connection.
async fn execute_on(server: &str, statement: String) -> anyhow::Result<()> {
    use sqlx::Connection;
    let work = async {
        let mut connection = sqlx::PgConnection::connect(server).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut connection)
            .await?;
        connection.close().await?;
        anyhow::Ok(())
    };
    tokio::time::timeout(POSTGRES_TIMEOUT, work)
        .await
        .with_context(|| format!("PostgreSQL did not answer within {POSTGRES_TIMEOUT:?}"))?
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
fn start_replica(
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

/// Enrolls the agents and posts the ingests, both spread round-robin over `targets` (the base
/// URLs of a row's replicas).
async fn load(
    targets: &[String],
    enrollment: &str,
    template: &Value,
    options: &Options,
) -> anyhow::Result<LoadFigures> {
    // Loopback only, and the certificates are the replicas' own fresh self-signed ones.
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .pool_max_idle_per_host(options.concurrency)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let mut agents = Vec::with_capacity(options.agents);
    for n in 0..options.agents {
        let base = &targets[n % targets.len()];
        agents.push(enroll(&client, base, enrollment, n).await?);
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
    let ingest_urls: Arc<Vec<String>> = Arc::new(
        targets
            .iter()
            .map(|base| format!("{base}/api/v1/snapshots"))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let stop_at = Instant::now() + Duration::from_secs(options.seconds);

    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.concurrency {
        let (client, ingest_urls, bodies, agents, next) = (
            client.clone(),
            ingest_urls.clone(),
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
                    .post(&ingest_urls[i % ingest_urls.len()])
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
