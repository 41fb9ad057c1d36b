//! A collector stopped with SIGTERM in the middle of an ingest load shuts down gracefully: it
//! exits 0, no request gets a 5xx (or any other refusal) because of the shutdown, and every
//! request in flight is either answered 2xx or fails at the connection. Started again on the
//! same data dir, it has every acknowledged snapshot; each one that failed at the connection,
//! sent again, is stored once; and each device's history holds exactly the acknowledged and
//! resent snapshots, none twice. (`collector_crash.rs` is the SIGKILL case.)
//!
//! The collector serves plain HTTP on 127.0.0.1 only; the load is bounded in count and time.

use std::collections::{BTreeSet, HashMap};
use std::error::Error;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sitrep_tests::ingest::{
    CollectorBinary, Load, LoadedCollector, Target, device_history, missing, post_snapshot,
};
use uuid::Uuid;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Few enough agents that each device's history (its newest 500 entries) holds all of its
/// snapshots, so the histories can be compared with what was sent.
const AGENTS: usize = 8;
const MAX_SNAPSHOTS: usize = 3_000;
const IN_FLIGHT: usize = 16;
const STOP_AFTER_ACKNOWLEDGED: usize = 300;
const LOAD_DEADLINE: Duration = Duration::from_secs(60);
/// The collector's grace period is 10 s; its in-flight ingests take milliseconds.
const STOP_WITHIN: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_nothing_and_refuses_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let binary = CollectorBinary {
        path: assert_cmd::cargo::cargo_bin("sitrep-collector"),
        data_dir: dir.path().join("data"),
        database_url: None,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()?;
    let LoadedCollector {
        mut collector,
        admin_token,
        agents,
        ..
    } = LoadedCollector::start(
        &binary,
        &client,
        dir.path().join("first.log"),
        AGENTS,
        "restart",
    )
    .await?;

    let load = Load::new(MAX_SNAPSHOTS, LOAD_DEADLINE);
    let target = Target::new(&collector.url);
    let senders = load.spawn_senders(IN_FLIGHT, &client, &target, &agents);
    load.expect_acknowledged(STOP_AFTER_ACKNOWLEDGED, &collector)
        .await?;
    // The flag first, so every sender whose connection fails from now on knows why.
    target.mark_killed();
    let in_flight_at_stop = load.in_flight().len();
    let stopping = Instant::now();
    let status = collector.terminate(STOP_WITHIN).await?;
    let stopped_in = stopping.elapsed();
    assert!(
        status.success(),
        "the collector exits 0 on SIGTERM: {status}\n{}",
        collector.log_text()
    );
    for sender in senders {
        sender.await?;
    }
    let unexpected = load.unexpected();
    assert!(
        unexpected.is_empty(),
        "answers other than 2xx or a connection failure: {unexpected:?}"
    );
    assert!(
        load.started() < MAX_SNAPSHOTS,
        "the stop came while the load ran"
    );
    let acknowledged = load.take_acknowledged();
    let unanswered = load.take_unanswered();

    let collector = binary.serve(dir.path().join("second.log"))?;
    collector.ready(&client).await?;
    let missing = missing(&client, &collector.url, &admin_token, &acknowledged).await?;
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged snapshots are missing after the restart: {missing:?}",
        missing.len(),
        acknowledged.len()
    );

    // What each device must hold: its acknowledged snapshots and the unanswered ones, resent.
    let mut expected: HashMap<Uuid, BTreeSet<String>> = HashMap::new();
    for ack in &acknowledged {
        expected
            .entry(ack.device_id)
            .or_default()
            .insert(ack.snapshot_id.to_string());
    }
    let mut stored_before_resend = 0;
    for lost in &unanswered {
        let agent = &agents[lost.agent];
        let (status, reply) =
            post_snapshot(&client, &collector.url, &agent.key, lost.body.clone()).await?;
        match status {
            StatusCode::CREATED => {}
            StatusCode::OK if reply["duplicate"] == true => stored_before_resend += 1,
            _ => return Err(format!("resending {}: {status} {reply}", lost.snapshot_id).into()),
        }
        expected
            .entry(agent.id)
            .or_default()
            .insert(lost.snapshot_id.to_string());
    }
    for agent in agents.iter() {
        let history = device_history(&client, &collector.url, &admin_token, agent.id).await?;
        let distinct: BTreeSet<String> = history.iter().cloned().collect();
        assert_eq!(
            distinct.len(),
            history.len(),
            "device {} lists a snapshot twice",
            agent.id
        );
        assert_eq!(
            Some(&distinct),
            expected.get(&agent.id).or(Some(&BTreeSet::new())),
            "device {} holds other snapshots than those acknowledged and resent",
            agent.id
        );
    }

    eprintln!(
        "SIGTERM after {STOP_AFTER_ACKNOWLEDGED}+ acknowledged ({in_flight_at_stop} in flight); \
         the collector exited 0 in {stopped_in:?}; {} acknowledged in all, {} failed at the \
         connection ({stored_before_resend} of them already stored, the rest stored on resend), \
         no other answer; after the restart every device holds exactly its acknowledged and \
         resent snapshots",
        acknowledged.len(),
        unanswered.len()
    );
    Ok(())
}
