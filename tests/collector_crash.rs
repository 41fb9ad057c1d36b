//! A collector killed with SIGKILL in the middle of an ingest load loses nothing it acknowledged:
//! after a restart on the same data dir, every snapshot answered 2xx is there, the database
//! opens cleanly (`/readyz`), and re-sending an acknowledged snapshot stores nothing twice.
//!
//! The collector serves plain HTTP on 127.0.0.1 only; the load is bounded in count and time.

use std::collections::HashSet;
use std::error::Error;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sitrep_snapshot::{AgentInfo, SCHEMA_VERSION, Section, Snapshot, Trigger};
use tokio::sync::Notify;
use uuid::Uuid;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Eight agents keep each device's history (the newest 500 entries) holding all of its
/// snapshots, so the duplicate check can count them.
const AGENTS: usize = 8;
const MAX_SNAPSHOTS: usize = 3_000;
const IN_FLIGHT: usize = 16;
const KILL_AFTER_ACKNOWLEDGED: usize = 300;
const LOAD_DEADLINE: Duration = Duration::from_secs(60);
const START_TIMEOUT: Duration = Duration::from_secs(20);

fn collector_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sitrep-collector")
}

/// A running `sitrep-collector serve`, killed by its PID when dropped (also when the test
/// panics), so no collector outlives the test.
struct Collector {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Collector {
    fn start(data_dir: &Path, log: PathBuf) -> TestResult<Collector> {
        if !collector_bin().is_file() {
            return Err(format!(
                "{} is not built: run `cargo build -p sitrep-collector` (or `cargo test --workspace`)",
                collector_bin().display()
            )
            .into());
        }
        let mut child = Command::new(collector_bin())
            .arg("--data-dir")
            .arg(data_dir)
            .args(["serve", "--listen", "127.0.0.1:0", "--insecure-http"])
            .env("SITREP_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("no stdout from the collector".into());
        };
        // The guard exists from here on, so a collector that never prints is still killed.
        let mut collector = Collector {
            child,
            url: String::new(),
            log,
        };
        let (sender, receiver) = std::sync::mpsc::channel();
        // Reads the listening line, then keeps draining so the collector never blocks on a full
        // pipe; the thread ends when the collector's stdout closes.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = sender.send(lines.next());
            lines.for_each(drop);
        });
        let first = match receiver.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            _ => {
                return Err(format!(
                    "the collector did not start listening:\n{}",
                    collector.log_text()
                )
                .into());
            }
        };
        collector.url = first
            .strip_prefix("sitrep-collector listening on ")
            .ok_or_else(|| format!("unexpected first line from the collector: {first}"))?
            .to_string();
        Ok(collector)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL to the PID this test started: no shutdown handler, no final checkpoint.
    fn kill(&mut self) -> TestResult {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An admin command of the collector binary on the data dir; its stdout.
fn admin(data_dir: &Path, args: &[&str]) -> TestResult<String> {
    let output = Command::new(collector_bin())
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()?;
    if !output.status.success() {
        return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

struct Agent {
    id: Uuid,
    key: String,
}

async fn enroll(client: &reqwest::Client, url: &str, token: &str, n: usize) -> TestResult<Agent> {
    let response = client
        .post(format!("{url}/api/v1/enroll"))
        .json(&serde_json::json!({
            "token": token,
            "hostname": format!("crash-{n}"),
            "agent_version": "crash-test",
        }))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if status != reqwest::StatusCode::CREATED {
        return Err(format!("enroll answered {status}: {body}").into());
    }
    Ok(Agent {
        id: body["agent_id"].as_str().ok_or("no agent_id")?.parse()?,
        key: body["agent_key"]
            .as_str()
            .ok_or("no agent_key")?
            .to_string(),
    })
}

/// A small valid snapshot of `agent` with a fresh id: every section skipped, no findings.
fn snapshot_of(agent: Uuid) -> Snapshot {
    let skipped = || "crash test".to_string();
    Snapshot {
        schema_version: SCHEMA_VERSION,
        id: Uuid::now_v7(),
        agent: AgentInfo {
            version: "crash-test".to_string(),
            agent_id: Some(agent),
        },
        taken_at: chrono::Utc::now(),
        duration_ms: 1,
        trigger: Trigger::Scheduled,
        os: Section::Skipped(skipped()),
        hardware: Section::Skipped(skipped()),
        disks: Section::Skipped(skipped()),
        network: Section::Skipped(skipped()),
        probes: Section::Skipped(skipped()),
        peripherals: Section::Skipped(skipped()),
        findings: Vec::new(),
    }
}

/// A snapshot the collector answered 2xx for: it must survive the crash.
struct Acknowledged {
    snapshot_id: Uuid,
    device_id: Uuid,
    body: Vec<u8>,
    agent: usize,
}

/// What the load saw: acknowledgements, the ids in flight when the collector was killed, and
/// answers that were neither 2xx nor the connection errors the kill causes.
#[derive(Default)]
struct Load {
    acknowledged: Mutex<Vec<Acknowledged>>,
    in_flight: Mutex<HashSet<Uuid>>,
    next: AtomicUsize,
    killed: AtomicBool,
    unexpected: Mutex<Vec<String>>,
    enough: Notify,
}

async fn post_snapshot(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(reqwest::StatusCode, Value), reqwest::Error> {
    let response = client
        .post(format!("{url}/api/v1/snapshots"))
        .bearer_auth(key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    Ok((status, response.json().await?))
}

/// One of the concurrent senders: posts fresh snapshots until the count, the deadline or the
/// kill stops it.
async fn sender(
    client: reqwest::Client,
    url: String,
    agents: Arc<Vec<Agent>>,
    load: Arc<Load>,
    deadline: Instant,
) {
    loop {
        let n = load.next.fetch_add(1, Ordering::Relaxed);
        if n >= MAX_SNAPSHOTS || Instant::now() >= deadline || load.killed.load(Ordering::SeqCst) {
            return;
        }
        let agent = n % agents.len();
        let snapshot = snapshot_of(agents[agent].id);
        let Ok(body) = serde_json::to_vec(&snapshot) else {
            return;
        };
        lock(&load.in_flight).insert(snapshot.id);
        let answer = post_snapshot(&client, &url, &agents[agent].key, body.clone()).await;
        lock(&load.in_flight).remove(&snapshot.id);
        match answer {
            Ok((status, reply)) if status.is_success() => {
                let device_id = reply["device_id"].as_str().and_then(|s| s.parse().ok());
                let Some(device_id) = device_id else {
                    lock(&load.unexpected).push(format!("{status} without a device_id: {reply}"));
                    continue;
                };
                let mut acknowledged = lock(&load.acknowledged);
                acknowledged.push(Acknowledged {
                    snapshot_id: snapshot.id,
                    device_id,
                    body,
                    agent,
                });
                if acknowledged.len() == KILL_AFTER_ACKNOWLEDGED {
                    load.enough.notify_one();
                }
            }
            // Connection errors are what the kill is expected to cause.
            Err(_) if load.killed.load(Ordering::SeqCst) => return,
            Ok((status, reply)) => {
                lock(&load.unexpected).push(format!("snapshot {}: {status} {reply}", snapshot.id))
            }
            Err(error) => lock(&load.unexpected).push(format!("snapshot {}: {error}", snapshot.id)),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn get_json(
    client: &reqwest::Client,
    token: &str,
    url: String,
) -> TestResult<(reqwest::StatusCode, Value)> {
    let response = client.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    Ok((status, response.json().await?))
}

async fn wait_ready(client: &reqwest::Client, collector: &Collector) -> TestResult {
    let started = Instant::now();
    loop {
        let ready = client
            .get(format!("{}/readyz", collector.url))
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
        if ready {
            return Ok(());
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!(
                "the restarted collector is not ready:\n{}",
                collector.log_text()
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn acknowledged_snapshots_survive_sigkill() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let enrollment = admin(&data_dir, &["enroll-token", "create"])?;
    let admin_token = admin(
        &data_dir,
        &["token", "create", "--role", "admin", "--name", "test"],
    )?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()?;

    let mut collector = Collector::start(&data_dir, dir.path().join("first.log"))?;
    let mut agents = Vec::with_capacity(AGENTS);
    for n in 0..AGENTS {
        agents.push(enroll(&client, &collector.url, &enrollment, n).await?);
    }
    let agents = Arc::new(agents);

    let load = Arc::new(Load::default());
    let deadline = Instant::now() + LOAD_DEADLINE;
    let senders: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            tokio::spawn(sender(
                client.clone(),
                collector.url.clone(),
                agents.clone(),
                load.clone(),
                deadline,
            ))
        })
        .collect();
    let reached = tokio::time::timeout(LOAD_DEADLINE, load.enough.notified()).await;
    if reached.is_err() {
        load.killed.store(true, Ordering::SeqCst);
        return Err(format!(
            "{} snapshots acknowledged in {LOAD_DEADLINE:?}, {:?} unexpected answers:\n{}",
            lock(&load.acknowledged).len(),
            lock(&load.unexpected),
            collector.log_text()
        )
        .into());
    }
    // The flag first, so every sender that sees its connection fail knows why. Nothing else runs
    // on this single-threaded runtime between reading the figures and the kill.
    load.killed.store(true, Ordering::SeqCst);
    let in_flight_at_kill: HashSet<Uuid> = lock(&load.in_flight).clone();
    let acknowledged_at_kill = lock(&load.acknowledged).len();
    let started_at_kill = load.next.load(Ordering::SeqCst);
    let killed_pid = collector.pid();
    collector.kill()?;
    for sender in senders {
        sender.await?;
    }
    let unexpected = lock(&load.unexpected).clone();
    assert!(
        unexpected.is_empty(),
        "answers before the kill: {unexpected:?}"
    );
    assert!(
        started_at_kill < MAX_SNAPSHOTS,
        "the kill came while the load ran ({started_at_kill} started)"
    );
    let acknowledged = std::mem::take(&mut *lock(&load.acknowledged));

    let collector = Collector::start(&data_dir, dir.path().join("second.log"))?;
    wait_ready(&client, &collector).await?;

    let mut missing = Vec::new();
    for ack in &acknowledged {
        let (status, stored) = get_json(
            &client,
            &admin_token,
            format!("{}/api/v1/snapshots/{}", collector.url, ack.snapshot_id),
        )
        .await?;
        if status != reqwest::StatusCode::OK || stored["id"] != ack.snapshot_id.to_string() {
            missing.push(format!("{}: {status}", ack.snapshot_id));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged snapshots are missing after the crash: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    let mut in_flight_stored = 0;
    for id in &in_flight_at_kill {
        let (status, _) = get_json(
            &client,
            &admin_token,
            format!("{}/api/v1/snapshots/{id}", collector.url),
        )
        .await?;
        in_flight_stored += usize::from(status == reqwest::StatusCode::OK);
    }

    // Re-sending an acknowledged snapshot is a duplicate, and the device's history keeps one
    // entry for it.
    let resent = acknowledged.first().ok_or("nothing was acknowledged")?;
    let device_url = format!("{}/api/v1/devices/{}", collector.url, resent.device_id);
    let history = |device: &Value| -> TestResult<Vec<String>> {
        Ok(device["snapshots"]
            .as_array()
            .ok_or_else(|| format!("no snapshot history: {device}"))?
            .iter()
            .filter_map(|entry| entry["id"].as_str().map(str::to_string))
            .collect())
    };
    let (status, device) = get_json(&client, &admin_token, device_url.clone()).await?;
    assert_eq!(status, reqwest::StatusCode::OK, "{device}");
    let before = history(&device)?;
    let (status, reply) = post_snapshot(
        &client,
        &collector.url,
        &agents[resent.agent].key,
        resent.body.clone(),
    )
    .await?;
    assert_eq!(status, reqwest::StatusCode::OK, "{reply}");
    assert_eq!(reply["duplicate"], true, "{reply}");
    assert_eq!(
        reply["snapshot_id"],
        resent.snapshot_id.to_string(),
        "{reply}"
    );
    let (_, device) = get_json(&client, &admin_token, device_url).await?;
    let after = history(&device)?;
    assert_eq!(before, after, "the duplicate changed the device's history");
    let distinct: HashSet<&String> = after.iter().collect();
    assert_eq!(distinct.len(), after.len(), "a snapshot is listed twice");
    let of_device = acknowledged
        .iter()
        .filter(|ack| ack.device_id == resent.device_id)
        .count();
    assert!(
        after.len() >= of_device,
        "the device lists {} snapshots, {of_device} were acknowledged for it",
        after.len()
    );

    eprintln!(
        "killed collector PID {killed_pid} after {acknowledged_at_kill} acknowledged \
         ({} in all, from {AGENTS} agents); {} in flight at the kill, {in_flight_stored} of \
         them stored; every acknowledged snapshot is present after the restart",
        acknowledged.len(),
        in_flight_at_kill.len()
    );
    Ok(())
}
