//! The collector part (`cargo xtask bench-collector`): a bounded load generator on loopback
//! against release collectors, one row per deployment: SQLite with one replica (the baseline,
//! the store of the DESIGN.md section 8 targets), PostgreSQL with one replica, PostgreSQL with
//! two replicas sharing one schema. Simulated agents enroll, then post realistic
//! zstd-compressed snapshots over HTTPS keep-alive connections, spread round-robin over the
//! row's replicas; the figures are throughput, latency percentiles, errors, each replica's peak
//! RSS and the throughput relative to SQLite. PostgreSQL runs on the same 2 cores, so its CPU
//! is part of the price and its RSS is not counted.
//!
//! Each PostgreSQL row gets a fresh schema `sitrep_bench_<uuid>` on the server of `--postgres`
//! (or SITREP_TEST_POSTGRES), dropped when the row ends, also on error; when that server does
//! not answer, the PostgreSQL rows are skipped with the reason, and `--no-postgres` skips them
//! outright. Load goes only to 127.0.0.1, and each row stops after `--requests` ingests or
//! `--seconds`, whichever comes first.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use crate::loopback::{
    Collector, admin, enroll, peak_rss_kib, percentile, snapshot_of, snapshot_template,
    start_replica,
};
use crate::release::Binaries;
use crate::table::Row;
use crate::{mib, ms};

const INGEST_RATE_TARGET: f64 = 2000.0;
const P99_TARGET: Duration = Duration::from_millis(50);
/// A request still unanswered after this counts as an error, so a stuck replica cannot stretch
/// a row past `--seconds` by much.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long creating or dropping a bench schema may wait for PostgreSQL.
const POSTGRES_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Parser)]
pub(crate) struct Options {
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
    pub(crate) no_postgres: bool,
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

    /// Each replica's peak RSS in MiB, joined with " + ".
    fn peak_rss(&self) -> String {
        self.peak_rss_kib
            .iter()
            .map(|kib| format!("{:.1}", mib(*kib)))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// The collector part's figures: the rows that finished, and why others did not.
pub(crate) struct CollectorFigures {
    rows: Vec<RowFigures>,
    /// Why the PostgreSQL rows did not run, when they did not.
    postgres_skipped: Option<String>,
    /// The row that failed, which ends the part.
    failure: Option<String>,
    transport: &'static str,
}

pub(crate) fn bench(binaries: &Binaries, options: &Options) -> anyhow::Result<CollectorFigures> {
    let mut deployments = vec![Deployment {
        store: StoreKind::Sqlite,
        replicas: 1,
    }];
    let postgres_skipped = if options.no_postgres {
        Some("skipped (--no-postgres)".to_string())
    } else if let Err(error) = reach_postgres(&options.postgres) {
        Some(format!(
            "skipped: no PostgreSQL at --postgres or SITREP_TEST_POSTGRES (default \
             127.0.0.1:5432, database `test`, trust auth): {error:#}"
        ))
    } else {
        deployments.extend([1, 2].map(|replicas| Deployment {
            store: StoreKind::Postgres,
            replicas,
        }));
        None
    };
    let collector_bin = binaries.collector();
    let template = snapshot_template(&binaries.agent())?;
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
                eprintln!("the row {} failed: {error:#}", deployment.label());
                failure = Some(format!("{}: {error:#}", deployment.label()));
                break;
            }
        }
    }
    let figures = CollectorFigures {
        rows,
        postgres_skipped,
        failure,
        transport: if options.plain_http {
            "plain HTTP"
        } else {
            "HTTPS"
        },
    };
    // The rows that finished are worth seeing even when a later one failed.
    figures.print(options);
    Ok(figures)
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

impl CollectorFigures {
    fn print(&self, options: &Options) {
        let Some(baseline) = self.rows.first() else {
            return;
        };
        println!();
        println!(
            "up to {} snapshot ingests per row from {} agents, {} in flight, over {} on \
             loopback; average compressed snapshot {} bytes",
            options.requests,
            options.agents,
            options.concurrency,
            self.transport,
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
        for row in &self.rows {
            println!(
                "{:<24} {:>9.0} {:>7.1} {:>7.1} {:>7.1} {:>7.1} {:>6} {:>22} {:>8.2}x",
                row.deployment.label(),
                row.rate(),
                ms(row.load.percentile(0.50)),
                ms(row.load.percentile(0.90)),
                ms(row.load.percentile(0.99)),
                ms(row.load.percentile(1.0)),
                row.load.errors,
                row.peak_rss(),
                row.rate() / baseline.rate()
            );
        }
        if let Some(bytes) = baseline.sqlite_bytes {
            println!(
                "SQLite database file after its row: {:.1} MiB",
                bytes as f64 / (1 << 20) as f64
            );
        }
        println!();
    }

    pub(crate) fn rows(&self) -> Vec<Row> {
        const PART: &str = "collector";
        let mut table = Vec::new();
        let baseline_rate = self.rows.first().map(RowFigures::rate);
        for row in &self.rows {
            let label = row.deployment.label();
            let rate = format!(
                "{:.0}/s over {} ({} ingests in {:.1} s, {} errors{})",
                row.rate(),
                self.transport,
                row.load.ok,
                row.load.elapsed.as_secs_f64(),
                row.load.errors,
                match (row.deployment.store, baseline_rate) {
                    (StoreKind::Postgres, Some(baseline)) =>
                        format!("; {:.2}x SQLite", row.rate() / baseline),
                    _ => String::new(),
                }
            );
            let latency = format!(
                "p50 {:.1} ms, p99 {:.1} ms",
                ms(row.load.percentile(0.50)),
                ms(row.load.percentile(0.99))
            );
            let p99 = row.load.percentile(0.99);
            let ingest = format!("{label}: ingest rate");
            let percentiles = format!("{label}: ingest latency");
            match row.deployment.store {
                StoreKind::Sqlite => {
                    table.push(Row::checked(
                        PART,
                        &ingest,
                        rate,
                        ">= 2,000/s",
                        row.rate() >= INGEST_RATE_TARGET,
                    ));
                    table.push(Row::checked(
                        PART,
                        &percentiles,
                        latency,
                        "p99 < 50 ms",
                        p99 < P99_TARGET,
                    ));
                }
                StoreKind::Postgres => {
                    table.push(Row::info(PART, &ingest, rate));
                    table.push(Row::info(PART, &percentiles, latency));
                }
            }
            table.push(Row::info(
                PART,
                &format!("{label}: peak RSS per replica"),
                format!("{} MiB", row.peak_rss()),
            ));
        }
        if let Some(reason) = &self.postgres_skipped {
            table.push(Row::info(PART, "PostgreSQL rows", reason.clone()));
        }
        if let Some(failure) = &self.failure {
            table.push(Row::failed(PART, &anyhow::anyhow!("{failure}")));
        }
        table
    }
}

/// Succeeds when the PostgreSQL server answers, so an absent server skips the PostgreSQL rows
/// with its reason instead of failing the part.
fn reach_postgres(server: &str) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(execute_on(server, "SELECT 1".to_string()))
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
