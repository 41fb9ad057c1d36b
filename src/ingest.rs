//! Collectors serving plain HTTP (or HTTPS) on the host's loopback, and the agents' side of
//! ingest as a load bounded in count and time that records every snapshot a collector
//! acknowledged: for the suites that kill or stop collectors mid-load and then look for each
//! acknowledged snapshot.

use std::collections::HashSet;
use std::error::Error;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use sitrep_snapshot::{AgentInfo, SCHEMA_VERSION, Section, Snapshot, Trigger};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub type IngestError = Box<dyn Error>;

/// How long a collector may take to listen, or to be ready after a restart.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The collector binary and the store its commands work on: SQLite in `data_dir`, or the
/// database at `database_url` (shared by every collector started from it: replicas).
#[derive(Debug, Clone)]
pub struct CollectorBinary {
    pub path: PathBuf,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

impl CollectorBinary {
    /// `sitrep-collector --data-dir DIR [--database-url URL]`, to add a command to.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        command.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            command.args(["--database-url", url]);
        }
        command
    }

    /// An admin command on the store; its stdout.
    pub fn admin(&self, args: &[&str]) -> Result<String, IngestError> {
        admin_output(self.command(), args)
    }

    /// [`Self::admin`] with the collector config file `config` (`--config`).
    pub fn admin_configured(&self, config: &Path, args: &[&str]) -> Result<String, IngestError> {
        let mut command = self.command();
        command.arg("--config").arg(config);
        admin_output(command, args)
    }

    /// `serve` on a free port of 127.0.0.1 over plain HTTP, its stderr in `log`; returns once it
    /// listens.
    pub fn serve(&self, log: PathBuf) -> Result<LoopbackCollector, IngestError> {
        self.serve_command(self.command(), &["--insecure-http"], log)
    }

    /// `serve` over HTTPS on a free port of 127.0.0.1 with `serve_args` added (`--config FILE`,
    /// `--tls-cert FILE --tls-key FILE`; without them a self-signed certificate in the data dir).
    pub fn serve_https(
        &self,
        serve_args: &[&str],
        log: PathBuf,
    ) -> Result<LoopbackCollector, IngestError> {
        self.serve_command(self.command(), serve_args, log)
    }

    /// [`Self::serve`] with the collector config file `config` (`--config`): helpdesks, limits.
    pub fn serve_configured(
        &self,
        config: &Path,
        log: PathBuf,
    ) -> Result<LoopbackCollector, IngestError> {
        let mut command = self.command();
        command.arg("--config").arg(config);
        self.serve_command(command, &["--insecure-http"], log)
    }

    fn serve_command(
        &self,
        mut command: Command,
        serve_args: &[&str],
        log: PathBuf,
    ) -> Result<LoopbackCollector, IngestError> {
        if !self.path.is_file() {
            return Err(format!(
                "{} is not built: run `cargo build -p sitrep-collector` (or `cargo test --workspace`)",
                self.path.display()
            )
            .into());
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
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
        let mut collector = LoopbackCollector {
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
}

/// Runs an admin command with `args` to its end; its stdout.
fn admin_output(mut command: Command, args: &[&str]) -> Result<String, IngestError> {
    let output = command.args(args).output()?;
    if !output.status.success() {
        return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_string())
}

/// A running `sitrep-collector serve`, killed by its PID when dropped (also when the test
/// panics), so no collector outlives the test.
#[derive(Debug)]
pub struct LoopbackCollector {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    log: PathBuf,
}

impl LoopbackCollector {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL to the PID this test started: no shutdown handler, no final checkpoint.
    pub fn kill(&mut self) -> Result<(), IngestError> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM to the PID this test started, as systemd stops the service; its exit status, or
    /// an error (and a SIGKILL) if it is still running after `within`. Async, so the test's
    /// clients keep running while the collector finishes their requests.
    pub async fn terminate(&mut self, within: Duration) -> Result<ExitStatus, IngestError> {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id())?)
            .ok_or("the collector has no PID")?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)?;
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill()?;
        Err(format!("the collector did not stop within {within:?} of SIGTERM").into())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200 (the store is open and answers).
    pub async fn ready(&self, client: &reqwest::Client) -> Result<(), IngestError> {
        let started = Instant::now();
        loop {
            if self.is_ready(client).await {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "the collector at {} is not ready:\n{}",
                    self.url,
                    self.log_text()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether `/readyz` answers 200 now.
    pub async fn is_ready(&self, client: &reqwest::Client) -> bool {
        client
            .get(format!("{}/readyz", self.url))
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
    }
}

impl Drop for LoopbackCollector {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An agent enrolled through the API: its id (also its device's) and key.
#[derive(Debug)]
pub struct EnrolledAgent {
    pub id: Uuid,
    pub key: String,
}

/// `POST /api/v1/enroll` as an agent named `hostname` would.
pub async fn enroll(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    hostname: &str,
) -> Result<EnrolledAgent, IngestError> {
    let response = client
        .post(format!("{url}/api/v1/enroll"))
        .json(&serde_json::json!({
            "token": token,
            "hostname": hostname,
            "agent_version": "load-test",
        }))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if status != StatusCode::CREATED {
        return Err(format!("enroll at {url} answered {status}: {body}").into());
    }
    Ok(EnrolledAgent {
        id: body["agent_id"].as_str().ok_or("no agent_id")?.parse()?,
        key: body["agent_key"]
            .as_str()
            .ok_or("no agent_key")?
            .to_string(),
    })
}

/// A collector serving plain HTTP on loopback, with an enrollment token, an admin token and
/// enrolled agents: how every ingest load test of one collector starts.
#[derive(Debug)]
pub struct LoadedCollector {
    pub collector: LoopbackCollector,
    pub enrollment: String,
    pub admin_token: String,
    pub agents: Arc<Vec<EnrolledAgent>>,
}

impl LoadedCollector {
    /// Starts `binary` (its stderr in `log`) and enrolls `agents` agents named `{prefix}-{n}`.
    pub async fn start(
        binary: &CollectorBinary,
        client: &reqwest::Client,
        log: PathBuf,
        agents: usize,
        prefix: &str,
    ) -> Result<LoadedCollector, IngestError> {
        let enrollment = binary.admin(&["enroll-token", "create"])?;
        let admin_token =
            binary.admin(&["token", "create", "--role", "admin", "--name", "test"])?;
        let collector = binary.serve(log)?;
        let mut enrolled = Vec::with_capacity(agents);
        for n in 0..agents {
            enrolled.push(
                enroll(
                    client,
                    &collector.url,
                    &enrollment,
                    &format!("{prefix}-{n}"),
                )
                .await?,
            );
        }
        Ok(LoadedCollector {
            collector,
            enrollment,
            admin_token,
            agents: Arc::new(enrolled),
        })
    }
}

/// A small valid snapshot of `agent` with a fresh id: every section skipped, no findings.
pub fn small_snapshot(agent: Uuid) -> Snapshot {
    let skipped = || "load test".to_string();
    Snapshot {
        schema_version: SCHEMA_VERSION,
        id: Uuid::now_v7(),
        agent: AgentInfo {
            version: "load-test".to_string(),
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

/// `POST /api/v1/snapshots` with an agent's key; the status and the JSON answer.
pub async fn post_snapshot(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(StatusCode, Value), reqwest::Error> {
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

/// A GET with a specialist's or admin's token; the status and the JSON answer.
pub async fn get_json(
    client: &reqwest::Client,
    token: &str,
    url: String,
) -> Result<(StatusCode, Value), IngestError> {
    let response = client.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    Ok((status, response.json().await?))
}

/// The ids of a device's history (its newest 500 snapshots), newest first.
pub async fn device_history(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    device: Uuid,
) -> Result<Vec<String>, IngestError> {
    let (status, body) = get_json(client, token, format!("{url}/api/v1/devices/{device}")).await?;
    if status != StatusCode::OK {
        return Err(format!("GET device {device} at {url}: {status} {body}").into());
    }
    Ok(body["snapshots"]
        .as_array()
        .ok_or_else(|| format!("no snapshot history: {body}"))?
        .iter()
        .filter_map(|entry| entry["id"].as_str().map(str::to_string))
        .collect())
}

/// A snapshot a collector answered 2xx for: it must survive any crash.
#[derive(Debug)]
pub struct Acknowledged {
    pub snapshot_id: Uuid,
    pub device_id: Uuid,
    /// As sent, to send again.
    pub body: Vec<u8>,
    /// Index of the agent in the load's agents.
    pub agent: usize,
    /// The URL of the collector that acknowledged it.
    pub by: String,
}

/// The acknowledged snapshots the collector at `url` does not give back, as `id (status)`.
pub async fn missing(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    acknowledged: &[Acknowledged],
) -> Result<Vec<String>, IngestError> {
    let mut missing = Vec::new();
    for ack in acknowledged {
        let snapshot_url = format!("{url}/api/v1/snapshots/{}", ack.snapshot_id);
        let (status, stored) = get_json(client, token, snapshot_url).await?;
        if status != StatusCode::OK || stored["id"] != ack.snapshot_id.to_string() {
            missing.push(format!("{} ({status})", ack.snapshot_id));
        }
    }
    Ok(missing)
}

/// How many of `ids` the collector at `url` has stored.
pub async fn stored_count(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<usize, IngestError> {
    let mut stored = 0;
    for id in ids {
        let (status, _) = get_json(client, token, format!("{url}/api/v1/snapshots/{id}")).await?;
        stored += usize::from(status == StatusCode::OK);
    }
    Ok(stored)
}

/// Sends an acknowledged snapshot again to `url`: it must be answered 200, `duplicate: true`.
pub async fn check_resend_is_duplicate(
    client: &reqwest::Client,
    url: &str,
    agents: &[EnrolledAgent],
    ack: &Acknowledged,
) -> Result<(), IngestError> {
    let agent = agents.get(ack.agent).ok_or("no such agent")?;
    let (status, reply) = post_snapshot(client, url, &agent.key, ack.body.clone()).await?;
    let answered_id = reply["snapshot_id"].as_str().unwrap_or_default();
    if status != StatusCode::OK
        || reply["duplicate"] != true
        || answered_id != ack.snapshot_id.to_string()
    {
        return Err(format!(
            "snapshot {} sent again to {url}: expected 200 with duplicate: true, got {status} \
             {reply}",
            ack.snapshot_id
        )
        .into());
    }
    Ok(())
}

/// A snapshot whose request failed at the connection because its collector was stopped: it may
/// or may not be stored, and sending it again must store it exactly once.
#[derive(Debug)]
pub struct Unanswered {
    pub snapshot_id: Uuid,
    pub body: Vec<u8>,
    /// Index of the agent in the load's agents.
    pub agent: usize,
}

/// Where a load sends: one collector, and whether the test has killed it (SIGKILL or SIGTERM:
/// its connection errors are then expected, and its senders stop).
#[derive(Debug)]
pub struct Target {
    pub url: String,
    killed: AtomicBool,
}

impl Target {
    pub fn new(url: &str) -> Arc<Target> {
        Arc::new(Target {
            url: url.to_string(),
            killed: AtomicBool::new(false),
        })
    }

    /// To be called before the kill, so every sender that sees its connection fail knows why.
    pub fn mark_killed(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }

    fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// What a load saw: acknowledgements, the ids in flight, and answers that were neither 2xx nor
/// the connection errors a kill causes. Senders stop at `max_snapshots` started, at the
/// deadline, at [`Load::stop`] or when their target is killed.
#[derive(Debug)]
pub struct Load {
    acknowledged: Mutex<Vec<Acknowledged>>,
    acknowledged_count: watch::Sender<usize>,
    in_flight: Mutex<HashSet<Uuid>>,
    unanswered: Mutex<Vec<Unanswered>>,
    started: AtomicUsize,
    stopped: AtomicBool,
    unexpected: Mutex<Vec<String>>,
    max_snapshots: usize,
    deadline: Instant,
}

impl Load {
    /// A load of at most `max_snapshots` snapshots that ends `for_at_most` from now.
    pub fn new(max_snapshots: usize, for_at_most: Duration) -> Arc<Load> {
        Arc::new(Load {
            acknowledged: Mutex::default(),
            acknowledged_count: watch::Sender::new(0),
            in_flight: Mutex::default(),
            unanswered: Mutex::default(),
            started: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            unexpected: Mutex::default(),
            max_snapshots,
            deadline: Instant::now() + for_at_most,
        })
    }

    /// Starts `count` concurrent senders posting fresh snapshots of `agents` (in turn) to
    /// `target`.
    pub fn spawn_senders(
        self: &Arc<Self>,
        count: usize,
        client: &reqwest::Client,
        target: &Arc<Target>,
        agents: &Arc<Vec<EnrolledAgent>>,
    ) -> Vec<JoinHandle<()>> {
        (0..count)
            .map(|_| {
                tokio::spawn(Arc::clone(self).send(
                    client.clone(),
                    Arc::clone(target),
                    Arc::clone(agents),
                ))
            })
            .collect()
    }

    async fn send(
        self: Arc<Self>,
        client: reqwest::Client,
        target: Arc<Target>,
        agents: Arc<Vec<EnrolledAgent>>,
    ) {
        loop {
            if self.stopped.load(Ordering::SeqCst) || target.is_killed() {
                return;
            }
            let n = self.started.fetch_add(1, Ordering::SeqCst);
            if n >= self.max_snapshots || Instant::now() >= self.deadline {
                return;
            }
            let agent = n % agents.len();
            let snapshot = small_snapshot(agents[agent].id);
            let Ok(body) = serde_json::to_vec(&snapshot) else {
                return;
            };
            lock(&self.in_flight).insert(snapshot.id);
            let answer =
                post_snapshot(&client, &target.url, &agents[agent].key, body.clone()).await;
            lock(&self.in_flight).remove(&snapshot.id);
            match answer {
                Ok((status, reply)) if status.is_success() => {
                    let device_id = reply["device_id"].as_str().and_then(|s| s.parse().ok());
                    let Some(device_id) = device_id else {
                        lock(&self.unexpected)
                            .push(format!("{status} without a device_id: {reply}"));
                        continue;
                    };
                    let mut acknowledged = lock(&self.acknowledged);
                    acknowledged.push(Acknowledged {
                        snapshot_id: snapshot.id,
                        device_id,
                        body,
                        agent,
                        by: target.url.clone(),
                    });
                    self.acknowledged_count.send_replace(acknowledged.len());
                }
                // Connection errors are what the kill is expected to cause.
                Err(_) if target.is_killed() => {
                    lock(&self.unanswered).push(Unanswered {
                        snapshot_id: snapshot.id,
                        body,
                        agent,
                    });
                    return;
                }
                Ok((status, reply)) => lock(&self.unexpected).push(format!(
                    "snapshot {} to {}: {status} {reply}",
                    snapshot.id, target.url
                )),
                Err(error) => lock(&self.unexpected).push(format!(
                    "snapshot {} to {}: {error}",
                    snapshot.id, target.url
                )),
            }
        }
    }

    /// Waits until `count` snapshots are acknowledged in all; false if the load's deadline
    /// came first.
    pub async fn until_acknowledged(&self, count: usize) -> bool {
        let mut acknowledged = self.acknowledged_count.subscribe();
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let reached = tokio::time::timeout_at(deadline, acknowledged.wait_for(|n| *n >= count));
        matches!(reached.await, Ok(Ok(_)))
    }

    /// [`Self::until_acknowledged`], or else the load stopped and an error saying what came
    /// back instead, with `collector`'s log.
    pub async fn expect_acknowledged(
        &self,
        count: usize,
        collector: &LoopbackCollector,
    ) -> Result<(), IngestError> {
        if self.until_acknowledged(count).await {
            return Ok(());
        }
        self.stop();
        Err(format!(
            "{} of {count} snapshots acknowledged before the load's deadline, {:?} unexpected \
             answers:\n{}",
            self.acknowledged_count(),
            self.unexpected(),
            collector.log_text()
        )
        .into())
    }

    /// No sender starts another snapshot.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub fn acknowledged_count(&self) -> usize {
        lock(&self.acknowledged).len()
    }

    /// Snapshots the senders have started, answered or not.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    pub fn in_flight(&self) -> HashSet<Uuid> {
        lock(&self.in_flight).clone()
    }

    pub fn unexpected(&self) -> Vec<String> {
        lock(&self.unexpected).clone()
    }

    /// The snapshots whose requests failed at the connection after the kill.
    pub fn take_unanswered(&self) -> Vec<Unanswered> {
        std::mem::take(&mut *lock(&self.unanswered))
    }

    /// Everything acknowledged so far, oldest first; the load keeps nothing.
    pub fn take_acknowledged(&self) -> Vec<Acknowledged> {
        std::mem::take(&mut *lock(&self.acknowledged))
    }
}

/// A poisoned lock only means another sender panicked; its data is still what was seen.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
