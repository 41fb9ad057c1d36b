//! Collector replicas sharing one PostgreSQL schema: a specialist's request made on one replica
//! wakes the real agent daemon long-polling another (LISTEN/NOTIFY) and the snapshot is seen
//! through both; one snapshot sent to both at once is stored once; and SIGKILL to one replica
//! under load loses nothing either acknowledged while the other goes on serving.
//!
//! Each test has a schema of its own (`src/postgres.rs`) and needs PostgreSQL: it fails, naming
//! the URL, when there is none. The daemon's test runs in a lab namespace, which reaches
//! PostgreSQL through its unix socket; the others run on the host's loopback over TCP. Every
//! load is bounded in count and time.

use std::collections::HashSet;
use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sitrep_tests::ingest::{
    CollectorBinary, Load, Target, check_resend_is_duplicate, device_history, enroll, missing,
    post_snapshot, small_snapshot, stored_count,
};
use sitrep_tests::netns::Signal;
use sitrep_tests::postgres::TestSchema;
use sitrep_tests::site::{Site, SiteError, Transport, wait_for};

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

fn collector_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sitrep-collector")
}

/// A fresh schema, or a failure that names the server: CI has PostgreSQL, so no skipping.
fn fresh_schema() -> TestSchema {
    TestSchema::create().unwrap_or_else(|error| panic!("{error}"))
}

fn client() -> TestResult<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(16)
        .build()?)
}

// ---------------------------------------------------------------------------------------------
// The real daemon long-polls replica A; the specialist asks through replica B.

const PORT_A: u16 = 18443;
const PORT_B: u16 = 18444;

/// One scheduled check at start makes the device; the rest is on request. Probes kept short.
const DAEMON_CONFIG: &str = r#"
[schedule]
interval = "1h"
[probes]
timeout = "1s"
deadline = "3s"
"#;

/// The contract is "within a second"; the bound leaves room for a busy two-core machine
/// without coming near the 30 s the poll would otherwise be held.
const DELIVERY_BOUND: Duration = Duration::from_secs(5);
/// The requested check runs the probes (3 s at most here) and uploads.
const STORED_BOUND: Duration = Duration::from_secs(15);

/// The value of an unlabelled metric of the collector at `base`.
fn metric(site: &Site, base: &str, name: &str) -> Result<f64, SiteError> {
    let (status, text) = site.api_at(base, "", "GET", "/metrics", None)?;
    if status != 200 {
        return Err(format!("GET {base}/metrics: {status}").into());
    }
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .ok_or_else(|| format!("{base}/metrics has no {name}:\n{text}"))?;
    Ok(value.trim().parse()?)
}

fn timestamp(value: &Value) -> Result<DateTime<Utc>, SiteError> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("not a timestamp: {value}"))?;
    Ok(DateTime::parse_from_rfc3339(text)?.with_timezone(&Utc))
}

/// `error` with the logs of the daemon and both replicas.
fn with_logs(error: SiteError, site: &Site) -> SiteError {
    format!(
        "{error}\ndaemon:\n{}\nreplica A:\n{}\nreplica B:\n{}",
        site.lab.log("daemon"),
        site.lab.log("collector-1"),
        site.lab.log("replica-b")
    )
    .into()
}

#[test]
fn a_request_made_on_one_replica_wakes_the_agent_polling_another() -> TestResult {
    let schema = fresh_schema();
    let Some(mut site) = Site::start_on_database(
        "a_request_made_on_one_replica_wakes_the_agent_polling_another",
        PORT_A,
        Transport::Https,
        collector_bin(),
        assert_cmd::cargo::cargo_bin("sitrep"),
        Some(schema.socket_url()),
    )?
    else {
        return Ok(());
    };
    let replica_a = site.url.clone();
    let (_, replica_b) = site.start_replica("replica-b", PORT_B)?;
    // The agent knows replica A only.
    let config = site.write("agent.toml", DAEMON_CONFIG)?;
    site.enroll(&config)?;
    let specialist = site.admin(&["token", "create", "--role", "specialist", "--name", "alice"])?;
    let device = site.agent_id()?;
    let daemon = site.spawn_agent("daemon", &config, &["daemon"])?;
    let device_path = format!("/api/v1/devices/{device}");
    wait_for(
        "the first scheduled snapshot, seen through replica B",
        Duration::from_secs(40),
        || {
            let (status, body) = site.api_at(&replica_b, &specialist, "GET", &device_path, None)?;
            let device: Value = match status {
                200 => serde_json::from_str(&body)?,
                404 => return Ok(None),
                other => return Err(format!("GET device on B: {other}: {body}").into()),
            };
            Ok(device["snapshots"]
                .as_array()
                .is_some_and(|snapshots| !snapshots.is_empty())
                .then_some(()))
        },
    )
    .map_err(|error| with_logs(error, &site))?;
    wait_for(
        "the agent's long-poll on replica A",
        Duration::from_secs(30),
        || Ok((metric(&site, &replica_a, "sitrep_long_polls_waiting")? >= 1.0).then_some(())),
    )
    .map_err(|error| with_logs(error, &site))?;
    assert_eq!(
        metric(&site, &replica_b, "sitrep_long_polls_waiting")?,
        0.0,
        "the agent polls replica A only"
    );

    let asked = Instant::now();
    let request = site.api_json_at(
        &replica_b,
        &specialist,
        "POST",
        &format!("{device_path}/requests"),
        Some(&json!({})),
        201,
    )?;
    let request_path = format!(
        "{device_path}/requests/{}",
        request["id"].as_str().ok_or("request id")?
    );
    let delivered = wait_for(
        "the request to be handed to the agent",
        Duration::from_secs(40),
        || {
            let now = site.api_json_at(&replica_b, &specialist, "GET", &request_path, None, 200)?;
            Ok((now["status"] != "queued").then(|| asked.elapsed()))
        },
    )
    .map_err(|error| with_logs(error, &site))?;
    let (stored, done) = wait_for(
        "the requested snapshot to be stored",
        Duration::from_secs(40),
        || {
            let now = site.api_json_at(&replica_b, &specialist, "GET", &request_path, None, 200)?;
            Ok((now["status"] == "done").then(|| (asked.elapsed(), now)))
        },
    )
    .map_err(|error| with_logs(error, &site))?;
    let handed_out = timestamp(&done["delivered_at"])? - timestamp(&done["created_at"])?;
    eprintln!(
        "request made on replica B: handed to the agent polling replica A after {} ms as seen \
         by the test ({} ms between the collector's created_at and delivered_at), snapshot \
         stored after {} ms",
        delivered.as_millis(),
        handed_out.num_milliseconds(),
        stored.as_millis()
    );
    assert!(
        delivered < DELIVERY_BOUND,
        "the long-poll on A was woken after {delivered:?}; it should be within a second"
    );
    assert!(stored < STORED_BOUND, "stored after {stored:?}");
    // The poll that took the request was A's.
    assert_eq!(
        metric(
            &site,
            &replica_a,
            "sitrep_snapshot_requests_delivered_total"
        )?,
        1.0
    );
    assert_eq!(
        metric(
            &site,
            &replica_b,
            "sitrep_snapshot_requests_delivered_total"
        )?,
        0.0
    );

    let snapshot_id = done["snapshot_id"].as_str().ok_or("snapshot_id")?;
    let snapshot_url = done["snapshot_url"].as_str().ok_or("snapshot_url")?;
    for (name, replica) in [("A", &replica_a), ("B", &replica_b)] {
        let request = site.api_json_at(replica, &specialist, "GET", &request_path, None, 200)?;
        assert_eq!(request["status"], "done", "on replica {name}: {request}");
        assert_eq!(request["snapshot_id"], snapshot_id, "on replica {name}");
        let snapshot = site.api_json_at(replica, &specialist, "GET", snapshot_url, None, 200)?;
        assert_eq!(snapshot["id"], snapshot_id, "on replica {name}");
        assert_eq!(
            snapshot["trigger"], "specialist_request",
            "on replica {name}: {snapshot}"
        );
        let device = site.api_json_at(replica, &specialist, "GET", &device_path, None, 200)?;
        let listed = device["snapshots"]
            .as_array()
            .ok_or("no snapshot history")?
            .iter()
            .filter(|entry| entry["id"] == snapshot_id)
            .count();
        assert_eq!(listed, 1, "history on replica {name}: {device}");
    }
    let log = site.lab.log("daemon");
    assert!(
        log.lines()
            .any(|line| line.contains(snapshot_id) && line.contains("check delivered")),
        "the daemon delivered the requested check:\n{log}"
    );
    let ended = site
        .lab
        .stop(daemon, Signal::TERM, Duration::from_secs(20))?;
    assert!(ended.success(), "the daemon ends cleanly: {ended:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Replicas on the host's loopback, sharing a schema over TCP.

/// What the loopback tests share: a schema, the collector binary on it, an enrollment token, an
/// admin token and a client. The schema is dropped with it.
struct Replicas {
    schema: TestSchema,
    dir: tempfile::TempDir,
    binary: CollectorBinary,
    enrollment: String,
    admin: String,
    client: reqwest::Client,
}

impl Replicas {
    fn new() -> TestResult<Replicas> {
        let schema = fresh_schema();
        let dir = tempfile::tempdir()?;
        let binary = CollectorBinary {
            path: collector_bin(),
            data_dir: dir.path().join("data"),
            database_url: Some(schema.tcp_url()),
        };
        let enrollment = binary.admin(&["enroll-token", "create"])?;
        let admin = binary.admin(&["token", "create", "--role", "admin", "--name", "test"])?;
        Ok(Replicas {
            schema,
            dir,
            binary,
            enrollment,
            admin,
            client: client()?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The same snapshot raced to both replicas.

/// Distinct snapshots, each sent to both replicas at once.
const RACED: usize = 20;

#[tokio::test]
async fn a_snapshot_sent_to_both_replicas_at_once_is_stored_once() -> TestResult {
    let Replicas {
        schema: _schema,
        dir,
        binary,
        enrollment,
        admin,
        client,
    } = Replicas::new()?;
    // One after the other: the first makes the tables.
    let a = binary.serve(dir.path().join("a.log"))?;
    a.ready(&client).await?;
    let b = binary.serve(dir.path().join("b.log"))?;
    b.ready(&client).await?;
    // Enrolled through A; B knows the key from the shared store.
    let agent = enroll(&client, &a.url, &enrollment, "raced").await?;

    let mut created_by = [0usize; 2];
    let mut sent = Vec::with_capacity(RACED);
    for _ in 0..RACED {
        let snapshot = small_snapshot(agent.id);
        let body = serde_json::to_vec(&snapshot)?;
        let (on_a, on_b) = tokio::join!(
            post_snapshot(&client, &a.url, &agent.key, body.clone()),
            post_snapshot(&client, &b.url, &agent.key, body),
        );
        let answers = [on_a?, on_b?];
        let id = snapshot.id.to_string();
        for (status, reply) in &answers {
            assert_eq!(reply["snapshot_id"], id.as_str(), "{status} {reply}");
            assert_eq!(reply["device_id"], agent.id.to_string(), "{status} {reply}");
        }
        let created: Vec<usize> = (0..2)
            .filter(|&n| answers[n].0 == StatusCode::CREATED)
            .collect();
        let [first] = created[..] else {
            panic!("snapshot {id}: one replica answers 201, the other 200: {answers:?}");
        };
        let (status, reply) = &answers[1 - first];
        assert_eq!(*status, StatusCode::OK, "the other answer: {reply}");
        assert_eq!(reply["duplicate"], true, "the other answer: {reply}");
        created_by[first] += 1;
        sent.push(id);
    }

    for (name, url) in [("A", &a.url), ("B", &b.url)] {
        let history = device_history(&client, url, &admin, agent.id).await?;
        let listed: HashSet<&String> = history.iter().collect();
        assert_eq!(
            history.len(),
            RACED,
            "history through {name} lists {RACED} snapshots once each: {history:?}"
        );
        assert!(
            sent.iter().all(|id| listed.contains(id)),
            "history through {name}: {history:?}, sent {sent:?}"
        );
    }
    eprintln!(
        "{RACED} snapshots each sent to both replicas at once: A stored {}, B stored {}, the \
         other answered 200 duplicate every time; the history lists each once",
        created_by[0], created_by[1]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SIGKILL to one replica under load.

/// Eight agents keep each device's history (the newest 500 entries) holding all of its
/// snapshots, so the duplicate check can see every one.
const AGENTS: usize = 8;
const MAX_SNAPSHOTS: usize = 3_000;
const IN_FLIGHT_PER_REPLICA: usize = 8;
const KILL_AFTER_ACKNOWLEDGED: usize = 300;
/// What replica B must acknowledge after the kill before the load stops.
const MORE_AFTER_KILL: usize = 300;
const LOAD_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn acknowledged_snapshots_survive_sigkill_of_one_replica() -> TestResult {
    let Replicas {
        schema: _schema,
        dir,
        binary,
        enrollment,
        admin,
        client,
    } = Replicas::new()?;
    let mut a = binary.serve(dir.path().join("a-1.log"))?;
    a.ready(&client).await?;
    let b = binary.serve(dir.path().join("b.log"))?;
    b.ready(&client).await?;
    let mut agents = Vec::with_capacity(AGENTS);
    for n in 0..AGENTS {
        let enrolled_at = if n % 2 == 0 { &a.url } else { &b.url };
        agents.push(enroll(&client, enrolled_at, &enrollment, &format!("replica-{n}")).await?);
    }
    let agents = Arc::new(agents);

    let load = Load::new(MAX_SNAPSHOTS, LOAD_DEADLINE);
    let (on_a, on_b) = (Target::new(&a.url), Target::new(&b.url));
    let mut senders = load.spawn_senders(IN_FLIGHT_PER_REPLICA, &client, &on_a, &agents);
    senders.extend(load.spawn_senders(IN_FLIGHT_PER_REPLICA, &client, &on_b, &agents));
    if !load.until_acknowledged(KILL_AFTER_ACKNOWLEDGED).await {
        load.stop();
        return Err(format!(
            "{} snapshots acknowledged in {LOAD_DEADLINE:?}, {:?} unexpected answers\nA:\n{}\nB:\n{}",
            load.acknowledged_count(),
            load.unexpected(),
            a.log_text(),
            b.log_text()
        )
        .into());
    }
    // The flag first, so every sender to A that sees its connection fail knows why. Nothing
    // else runs on this single-threaded runtime between reading the figures and the kill.
    on_a.mark_killed();
    let in_flight_at_kill = load.in_flight();
    let acknowledged_at_kill = load.acknowledged_count();
    let started_at_kill = load.started();
    let killed_pid = a.pid();
    a.kill()?;
    let killed_at = Instant::now();
    // B goes on taking its share of the load.
    let went_on = load
        .until_acknowledged(acknowledged_at_kill + MORE_AFTER_KILL)
        .await;
    let after_kill = killed_at.elapsed();
    load.stop();
    for sender in senders {
        sender.await?;
    }
    let unexpected = load.unexpected();
    assert!(
        unexpected.is_empty(),
        "answers other than 2xx (or A's connection errors after its kill): {unexpected:?}"
    );
    assert!(
        started_at_kill < MAX_SNAPSHOTS,
        "the kill came while the load ran ({started_at_kill} started)"
    );
    let acknowledged = load.take_acknowledged();
    assert!(
        went_on,
        "B acknowledged {} snapshots in {after_kill:?} after A's kill, expected {MORE_AFTER_KILL}\nB:\n{}",
        acknowledged.len() - acknowledged_at_kill,
        b.log_text()
    );
    assert!(b.is_ready(&client).await, "B is ready after A's kill");
    let by_a = acknowledged.iter().filter(|ack| ack.by == on_a.url).count();
    let by_b = acknowledged.len() - by_a;
    assert!(
        by_a > 0 && by_b > 0,
        "the load was spread: {by_a} by A, {by_b} by B"
    );

    let missing_on_b = missing(&client, &b.url, &admin, &acknowledged).await?;
    assert!(
        missing_on_b.is_empty(),
        "{} of {} acknowledged snapshots are missing through B: {missing_on_b:?}",
        missing_on_b.len(),
        acknowledged.len()
    );
    let in_flight_stored =
        stored_count(&client, &b.url, &admin, in_flight_at_kill.iter().copied()).await?;
    let a = binary.serve(dir.path().join("a-2.log"))?;
    a.ready(&client).await?;
    let missing_on_a = missing(&client, &a.url, &admin, &acknowledged).await?;
    assert!(
        missing_on_a.is_empty(),
        "{} of {} acknowledged snapshots are missing through A restarted: {missing_on_a:?}",
        missing_on_a.len(),
        acknowledged.len()
    );

    // Each acknowledged snapshot is listed once in its device's history, and nothing else is
    // there but what was in flight at the kill.
    let mut listed = 0;
    for (n, agent) in agents.iter().enumerate() {
        let history = device_history(&client, &b.url, &admin, agent.id).await?;
        let distinct: HashSet<&String> = history.iter().collect();
        assert_eq!(
            distinct.len(),
            history.len(),
            "device {n} lists a snapshot twice"
        );
        let absent: Vec<String> = acknowledged
            .iter()
            .filter(|ack| ack.agent == n)
            .map(|ack| ack.snapshot_id.to_string())
            .filter(|id| !distinct.contains(id))
            .collect();
        assert!(absent.is_empty(), "device {n}'s history lacks {absent:?}");
        listed += history.len();
    }
    assert!(
        listed <= acknowledged.len() + in_flight_at_kill.len(),
        "{listed} snapshots listed, {} acknowledged and {} in flight at the kill",
        acknowledged.len(),
        in_flight_at_kill.len()
    );

    // Sending again is a duplicate, whichever replica stored it first.
    let first_by = |url: &str| {
        acknowledged
            .iter()
            .find(|ack| ack.by == url)
            .ok_or_else(|| format!("nothing acknowledged by {url}"))
    };
    check_resend_is_duplicate(&client, &b.url, &agents, first_by(&on_a.url)?).await?;
    check_resend_is_duplicate(&client, &a.url, &agents, first_by(&on_b.url)?).await?;

    eprintln!(
        "killed replica A (PID {killed_pid}) after {acknowledged_at_kill} acknowledged; B \
         acknowledged {} more in {} ms after the kill and stayed ready; {} in all ({by_a} by A, \
         {by_b} by B, from {AGENTS} agents); {} in flight at the kill, {in_flight_stored} of \
         them stored; every acknowledged snapshot is present through B and through A restarted",
        acknowledged.len() - acknowledged_at_kill,
        after_kill.as_millis(),
        acknowledged.len(),
        in_flight_at_kill.len()
    );
    Ok(())
}
