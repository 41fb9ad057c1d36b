//! The long-poll part (`cargo xtask bench-longpoll`): many idle agents long-polling a release collector for
//! specialist requests. Simulated agents enroll and send one snapshot each (so each has a
//! device), then every one holds `GET /api/v1/agent/requests?wait=60` on its own HTTPS
//! connection; the figures are the collector's RSS while it holds them all, and the time from a
//! specialist's `POST /api/v1/devices/{id}/requests` to the held poll answering. Traffic goes
//! only to 127.0.0.1, and every phase stops at `--seconds`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::loopback::{
    Agent, Collector, admin, enroll, peak_rss_kib, percentile, proc_status_kib, snapshot_of,
    snapshot_template, specialist_token, start_collector,
};
use crate::release::Binaries;
use crate::table::Row;
use crate::{mib, ms};

const RSS_TARGET_KIB: u64 = 1 << 20;
/// DESIGN.md section 8: the polls one collector on 2 cores holds at once.
const CAPACITY_TARGET: u64 = 10_000;
/// The longest wait the contract allows; an idle poll is answered `[]` after it and re-sent.
const POLL_WAIT_SECONDS: u64 = 60;
/// Sockets besides the polls: the database, the listener, setup connections, std streams.
const SPARE_FILES: u64 = 256;
/// Polls are opened in batches so the listen backlog and the TLS handshakes never pile up.
const POLL_BATCH: usize = 250;
/// Enrollments and snapshot uploads in flight at once during setup.
const SETUP_CONCURRENCY: usize = 32;
/// How long one specialist request may take to reach its held poll before it counts as lost.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const GAUGE: &str = "sitrep_long_polls_waiting";

#[derive(Debug, clap::Parser)]
pub(crate) struct Options {
    /// Simulated agents, each enrolled with its own key and holding one long-poll
    #[arg(long, default_value_t = 10_000)]
    agents: usize,
    /// Specialist requests timed from creation to the held poll answering, spread over the agents
    #[arg(long, default_value_t = 50)]
    requests: usize,
    /// Upper bound on the whole run after the build
    #[arg(long, default_value_t = 240)]
    seconds: u64,
}

pub(crate) fn bench(binaries: &Binaries, options: &Options) -> anyhow::Result<LongpollFigures> {
    if options.agents == 0 {
        bail!("--agents must be at least 1");
    }
    raise_open_files_limit(options.agents)?;
    let collector_bin = binaries.collector();
    let template = snapshot_template(&binaries.agent())?;
    let data_dir = tempfile::tempdir().context("cannot make a data dir")?;
    // Started after the limit is raised, so the collector inherits room for every connection.
    let collector = start_collector(&collector_bin, data_dir, false)?;
    let enrollment = admin(&collector_bin, &collector, &["enroll-token", "create"])?;
    let specialist = specialist_token(&collector_bin, &collector)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let result = runtime.block_on(run(
        &collector,
        &Credentials {
            enrollment,
            specialist,
        },
        &template,
        options,
        deadline,
    ));
    // Closing the client side first spares the collector's graceful shutdown the held polls.
    drop(runtime);
    drop(collector);
    let figures = result?;
    figures.print();
    Ok(figures)
}

/// Each client socket is a file; the collector, started by this process, inherits the limit.
fn raise_open_files_limit(agents: usize) -> anyhow::Result<()> {
    let (soft, hard) =
        getrlimit(Resource::RLIMIT_NOFILE).context("cannot read the open files limit")?;
    let needed = agents as u64 + SPARE_FILES;
    if hard < needed {
        bail!(
            "{agents} long-polling agents need about {needed} open files, but the hard limit \
             (RLIMIT_NOFILE) is {hard}: raise it (e.g. `ulimit -Hn {needed}` as root) or pass a \
             smaller --agents"
        );
    }
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
            .with_context(|| format!("cannot raise the open files limit from {soft} to {hard}"))?;
    }
    Ok(())
}

struct Credentials {
    enrollment: String,
    specialist: String,
}

/// An enrolled agent with the device its snapshot made.
struct Polling {
    agent: Agent,
    device_id: String,
}

/// The long-poll part's figures.
pub(crate) struct LongpollFigures {
    agents: usize,
    /// Specialist requests sent to held polls.
    requests: usize,
    setup: Duration,
    ramp: Duration,
    held: Option<u64>,
    rss_before_kib: u64,
    rss_held_kib: u64,
    hwm_held_kib: u64,
    collector_files: usize,
    poll_errors: usize,
    answer_latencies: Vec<Duration>,
    post_latencies: Vec<Duration>,
    lost: usize,
}

impl LongpollFigures {
    fn print(&self) {
        println!();
        println!(
            "{} agents enrolled and sent one snapshot each in {:.1} s; their long-polls \
             (wait={POLL_WAIT_SECONDS}) opened in {:.1} s over HTTPS on loopback",
            self.agents,
            self.setup.as_secs_f64(),
            self.ramp.as_secs_f64()
        );
        match self.held {
            Some(held) => println!("held by the collector ({GAUGE}): {held}"),
            None => println!("held by the collector: unknown (no {GAUGE} gauge; settled by time)"),
        }
        println!(
            "collector open files: {}; poll errors: {}",
            self.collector_files, self.poll_errors
        );
        println!(
            "collector RSS holding them: VmRSS {:.1} MiB, VmHWM {:.1} MiB \
             (before the polls {:.1} MiB, so about {:.1} KiB per held poll)",
            mib(self.rss_held_kib),
            mib(self.hwm_held_kib),
            mib(self.rss_before_kib),
            self.kib_per_poll()
        );
        println!(
            "request created -> held poll answered, {} of {} requests: {}",
            self.answer_latencies.len(),
            self.requests,
            quantiles(&self.answer_latencies)
        );
        println!(
            "the specialist's POST itself: {}",
            quantiles(&self.post_latencies)
        );
        if self.lost > 0 {
            println!(
                "{} requests did not reach their poll within {ANSWER_TIMEOUT:?}",
                self.lost
            );
        }
    }

    fn kib_per_poll(&self) -> f64 {
        self.rss_held_kib.saturating_sub(self.rss_before_kib) as f64 / self.agents.max(1) as f64
    }

    pub(crate) fn rows(&self) -> Vec<Row> {
        const PART: &str = "long-poll";
        let held = self.held.unwrap_or(0);
        vec![
            Row::checked(
                PART,
                &format!("polls held at once ({GAUGE})"),
                match self.held {
                    Some(held) => format!(
                        "{held} of {} agents, {} poll errors",
                        self.agents, self.poll_errors
                    ),
                    None => format!("unknown: the collector has no {GAUGE} gauge"),
                },
                "10,000",
                held >= CAPACITY_TARGET,
            ),
            Row::checked(
                PART,
                "collector peak RSS holding them",
                format!(
                    "{:.1} MiB (about {:.1} KiB per poll)",
                    mib(self.hwm_held_kib),
                    self.kib_per_poll()
                ),
                "< 1 GiB",
                self.hwm_held_kib < RSS_TARGET_KIB,
            ),
            Row::info(
                PART,
                &format!(
                    "specialist request -> held poll answered ({} of {})",
                    self.answer_latencies.len(),
                    self.requests
                ),
                quantiles(&self.answer_latencies),
            ),
        ]
    }
}

fn quantiles(sorted: &[Duration]) -> String {
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.99)),
        ms(percentile(sorted, 1.0))
    )
}

async fn run(
    collector: &Collector,
    credentials: &Credentials,
    template: &Value,
    options: &Options,
    deadline: Instant,
) -> anyhow::Result<LongpollFigures> {
    let certificate = collector
        .certificate
        .as_deref()
        .context("the collector serves no certificate")?;
    let client = client_trusting(certificate)?;
    let base = collector.url.clone();
    let pid = collector.child.id();

    println!(
        "enrolling {} agents and sending a snapshot each ...",
        options.agents
    );
    let started = Instant::now();
    let agents = tokio::time::timeout_at(
        deadline.into(),
        futures::stream::iter(0..options.agents)
            .map(|n| enroll_with_device(&client, &base, &credentials.enrollment, template, n))
            .buffered(SETUP_CONCURRENCY)
            .try_collect::<Vec<_>>(),
    )
    .await
    .context("setup did not finish within --seconds")??;
    let setup = started.elapsed();
    let first = agents.first().context("no agent enrolled")?;
    check_route(&client, &base, &first.agent.key).await?;
    let rss_before_kib = proc_status_kib(pid, "VmRSS");

    println!("opening {} long-polls ...", agents.len());
    let agents = Arc::new(agents);
    let poll_errors = Arc::new(AtomicUsize::new(0));
    let (answered, mut answers) = mpsc::unbounded_channel();
    let mut polls = tokio::task::JoinSet::new();
    let started = Instant::now();
    let mut held = None;
    for start in (0..agents.len()).step_by(POLL_BATCH) {
        let end = (start + POLL_BATCH).min(agents.len());
        for n in start..end {
            polls.spawn(hold_poll(
                client.clone(),
                base.clone(),
                agents.clone(),
                n,
                answered.clone(),
                poll_errors.clone(),
                deadline,
            ));
        }
        held = wait_until_held(&client, &base, end, deadline).await?;
    }
    drop(answered);
    if held.is_none() {
        // No gauge to watch: give the last handshakes time to finish.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let ramp = started.elapsed();
    let rss_held_kib = proc_status_kib(pid, "VmRSS");
    let hwm_held_kib = peak_rss_kib(pid);
    let collector_files = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(Iterator::count)
        .unwrap_or(0);

    println!("timing {} specialist requests ...", options.requests);
    let mut answer_latencies = Vec::new();
    let mut post_latencies = Vec::new();
    let mut lost = 0;
    let count = options.requests.min(agents.len());
    for k in 0..count {
        if Instant::now() >= deadline {
            break;
        }
        let n = k * agents.len() / count;
        let sent = Instant::now();
        let response = client
            .post(format!(
                "{base}/api/v1/devices/{}/requests",
                agents[n].device_id
            ))
            .bearer_auth(&credentials.specialist)
            .json(&serde_json::json!({"targets": ["printer.corp.example"]}))
            .send()
            .await?;
        post_latencies.push(sent.elapsed());
        let status = response.status();
        let request: Value = response.json().await?;
        if status != reqwest::StatusCode::CREATED {
            bail!("POST /api/v1/devices/{{id}}/requests answered {status}: {request}");
        }
        let request_id = request["id"].as_str().context("no request id")?.to_string();
        match tokio::time::timeout(ANSWER_TIMEOUT, wait_for(&mut answers, n, &request_id)).await {
            Ok(Some(at)) => answer_latencies.push(at.saturating_duration_since(sent)),
            Ok(None) => bail!("the long-polls ended before request {request_id} arrived"),
            Err(_) => lost += 1,
        }
    }
    polls.abort_all();
    answer_latencies.sort();
    post_latencies.sort();
    Ok(LongpollFigures {
        agents: agents.len(),
        requests: count,
        setup,
        ramp,
        held,
        rss_before_kib,
        rss_held_kib,
        hwm_held_kib,
        collector_files,
        poll_errors: poll_errors.load(Ordering::Relaxed),
        answer_latencies,
        post_latencies,
        lost,
    })
}

/// A client that trusts only the collector's own self-signed certificate. HTTP/1.1 cannot share
/// a connection between requests in flight, so every held poll has a connection of its own.
fn client_trusting(certificate: &Path) -> anyhow::Result<reqwest::Client> {
    let pem = std::fs::read(certificate)
        .with_context(|| format!("cannot read {}", certificate.display()))?;
    let certificate = reqwest::Certificate::from_pem(&pem)
        .with_context(|| format!("{} is not a PEM certificate", certificate.display()))?;
    Ok(reqwest::Client::builder()
        .tls_certs_only([certificate])
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

async fn enroll_with_device(
    client: &reqwest::Client,
    base: &str,
    enrollment: &str,
    template: &Value,
    n: usize,
) -> anyhow::Result<Polling> {
    let agent = enroll(client, base, enrollment, n).await?;
    let answer: Value = client
        .post(format!("{base}/api/v1/snapshots"))
        .bearer_auth(&agent.key)
        .timeout(Duration::from_secs(30))
        .json(&snapshot_of(template, &agent, n))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let device_id = answer["device_id"]
        .as_str()
        .context("the ingest answer has no device_id")?
        .to_string();
    Ok(Polling { agent, device_id })
}

/// Fails early, with the collector's answer, when it has no long-poll route (yet).
async fn check_route(client: &reqwest::Client, base: &str, key: &str) -> anyhow::Result<()> {
    let response = client
        .get(format!("{base}/api/v1/agent/requests?wait=0"))
        .bearer_auth(key)
        .send()
        .await?;
    let status = response.status();
    if !status.is_success() {
        bail!(
            "GET /api/v1/agent/requests?wait=0 answered {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

/// One agent's long-poll, sent again whenever it is answered, until the deadline. Polls that
/// bring requests report them with the moment they arrived.
async fn hold_poll(
    client: reqwest::Client,
    base: String,
    agents: Arc<Vec<Polling>>,
    n: usize,
    answered: mpsc::UnboundedSender<(usize, Instant, Vec<String>)>,
    errors: Arc<AtomicUsize>,
    deadline: Instant,
) {
    let url = format!("{base}/api/v1/agent/requests?wait={POLL_WAIT_SECONDS}");
    while Instant::now() < deadline {
        let response = client
            .get(&url)
            .bearer_auth(&agents[n].agent.key)
            .timeout(Duration::from_secs(POLL_WAIT_SECONDS + 15))
            .send()
            .await;
        let failure = match response {
            Ok(response) if response.status().is_success() => {
                match response.json::<Value>().await {
                    Ok(body) => {
                        let ids: Vec<String> = body["requests"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|request| request["id"].as_str().map(str::to_string))
                            .collect();
                        if !ids.is_empty() {
                            let _ = answered.send((n, Instant::now(), ids));
                        }
                        continue;
                    }
                    Err(error) => error.to_string(),
                }
            }
            Ok(response) => format!(
                "{}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            ),
            Err(error) => error.to_string(),
        };
        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
            eprintln!("long-poll failed: {failure}");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Waits until the collector's gauge says `expected` polls are held; `None` when the collector
/// has no such gauge (then a short pause per batch stands in).
async fn wait_until_held(
    client: &reqwest::Client,
    base: &str,
    expected: usize,
    deadline: Instant,
) -> anyhow::Result<Option<u64>> {
    loop {
        let Some(held) = gauge(client, base).await? else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return Ok(None);
        };
        if held >= expected as u64 {
            return Ok(Some(held));
        }
        if Instant::now() >= deadline {
            bail!("only {held} of {expected} long-polls were held by the deadline (--seconds)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn gauge(client: &reqwest::Client, base: &str) -> anyhow::Result<Option<u64>> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(text.lines().find_map(|line| {
        line.strip_prefix(GAUGE)?
            .strip_prefix(' ')?
            .trim()
            .parse::<f64>()
            .ok()
            .map(|value| value as u64)
    }))
}

/// The moment agent `n`'s poll brought `request_id`; `None` when the polls are gone.
async fn wait_for(
    answers: &mut mpsc::UnboundedReceiver<(usize, Instant, Vec<String>)>,
    n: usize,
    request_id: &str,
) -> Option<Instant> {
    loop {
        let (agent, at, ids) = answers.recv().await?;
        if agent == n && ids.iter().any(|id| id == request_id) {
            return Some(at);
        }
    }
}
