//! A collector killed with SIGKILL in the middle of an ingest load loses nothing it acknowledged:
//! after a restart on the same data dir, every snapshot answered 2xx is there, the database
//! opens cleanly (`/readyz`), and re-sending an acknowledged snapshot stores nothing twice.
//!
//! The collector serves plain HTTP on 127.0.0.1 only; the load is bounded in count and time.

use std::collections::HashSet;
use std::error::Error;
use std::time::Duration;

use sitrep_tests::ingest::{
    CollectorBinary, Load, LoadedCollector, Target, check_resend_is_duplicate, device_history,
    missing, stored_count,
};

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Eight agents keep each device's history (the newest 500 entries) holding all of its
/// snapshots, so the duplicate check can count them.
const AGENTS: usize = 8;
const MAX_SNAPSHOTS: usize = 3_000;
const IN_FLIGHT: usize = 16;
const KILL_AFTER_ACKNOWLEDGED: usize = 300;
const LOAD_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn acknowledged_snapshots_survive_sigkill() -> TestResult {
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
        "crash",
    )
    .await?;

    let load = Load::new(MAX_SNAPSHOTS, LOAD_DEADLINE);
    let target = Target::new(&collector.url);
    let senders = load.spawn_senders(IN_FLIGHT, &client, &target, &agents);
    load.expect_acknowledged(KILL_AFTER_ACKNOWLEDGED, &collector)
        .await?;
    // The flag first, so every sender that sees its connection fail knows why. Nothing else runs
    // on this single-threaded runtime between reading the figures and the kill.
    target.mark_killed();
    let in_flight_at_kill: HashSet<_> = load.in_flight();
    let acknowledged_at_kill = load.acknowledged_count();
    let started_at_kill = load.started();
    let killed_pid = collector.pid();
    collector.kill()?;
    for sender in senders {
        sender.await?;
    }
    let unexpected = load.unexpected();
    assert!(
        unexpected.is_empty(),
        "answers before the kill: {unexpected:?}"
    );
    assert!(
        started_at_kill < MAX_SNAPSHOTS,
        "the kill came while the load ran ({started_at_kill} started)"
    );
    let acknowledged = load.take_acknowledged();

    let collector = binary.serve(dir.path().join("second.log"))?;
    collector.ready(&client).await?;

    let missing = missing(&client, &collector.url, &admin_token, &acknowledged).await?;
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged snapshots are missing after the crash: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    let in_flight_stored = stored_count(
        &client,
        &collector.url,
        &admin_token,
        in_flight_at_kill.iter().copied(),
    )
    .await?;

    // Re-sending an acknowledged snapshot is a duplicate, and the device's history keeps one
    // entry for it.
    let resent = acknowledged.first().ok_or("nothing was acknowledged")?;
    let before = device_history(&client, &collector.url, &admin_token, resent.device_id).await?;
    check_resend_is_duplicate(&client, &collector.url, &agents, resent).await?;
    let after = device_history(&client, &collector.url, &admin_token, resent.device_id).await?;
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
