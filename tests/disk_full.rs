//! A full disk under the agent's spool and under the collector's store, on a small tmpfs the
//! test mounts (and unmounts, by a guard) over the state or data dir.
//!
//! - Spool: with the collector down, `sitrep send` until the disk refuses. The refusal is an
//!   error that names the spool and "No space left on device" (exit 4), leaves no temp file,
//!   and costs no entry spooled before; the spool's own bounds still drop (and count) the
//!   oldest on the full disk; `sitrep enroll` finds the full disk before it spends a token;
//!   once space is back, `sitrep spool flush` delivers every entry, oldest first, once.
//! - Daemon: running while the disk fills, it logs each check it cannot keep, keeps running,
//!   keeps what was spooled, and delivers it once space and the collector are back.
//! - Store: ingests until SQLite finds the disk full are answered `507 storage_full` with
//!   `Retry-After` (never a 2xx for what was not committed); the collector keeps serving and
//!   reading, the real agent keeps such a snapshot in its spool, writes succeed again without a
//!   restart once space is freed, and after a restart the database is intact and holds every
//!   acknowledged snapshot once, each with its audit row. A collector killed while its disk is
//!   full serves again from it; one started on a full disk with no database yet says why and
//!   exits.
//!
//! Tests that need a mount print `skipped: ...` and pass where this process may not mount.
//! Traffic goes to loopback only: the agent's suites run inside a lab namespace, the store's on
//! the host's 127.0.0.1 with the agent's probes off.

use std::collections::HashSet;
use std::error::Error;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use sitrep_tests::ingest::{
    Acknowledged, CollectorBinary, Load, LoadedCollector, Target, device_history, missing,
    small_snapshot, stored_count,
};
use sitrep_tests::netns::Signal;
use sitrep_tests::site::{FAST_DAEMON_CONFIG, Site, Transport, described, wait_for};
use sitrep_tests::small_disk::SmallDisk;
use sqlx::{ConnectOptions, Connection};

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Each test has a namespace of its own, so they share the port.
const PORT: u16 = 18443;
/// Room for the agent's identity and a few dozen spool entries.
const SPOOL_DISK_BYTES: u64 = 1 << 20;
/// Room for the collector's database and its write-ahead log.
const STORE_DISK_BYTES: u64 = 2 << 20;
/// tmpfs allocates whole pages.
const PAGE: u64 = 4096;
/// Sends that may fill the spool's disk before the test gives up.
const MAX_SENDS: usize = 12;
/// What the store's disk keeps free when the ingest load starts: tens of snapshots.
const STORE_ROOM: u64 = 256 << 10;
const MAX_SNAPSHOTS: usize = 2_000;
const IN_FLIGHT: usize = 4;
const LOAD_DEADLINE: Duration = Duration::from_secs(30);

fn site(test: &str) -> TestResult<Option<Site>> {
    Site::start(
        test,
        PORT,
        Transport::Https,
        assert_cmd::cargo::cargo_bin("sitrep-collector"),
        assert_cmd::cargo::cargo_bin("sitrep"),
    )
}

fn spool_config(max_items: u32) -> String {
    format!("[spool]\nmax_items = {max_items}\n")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The snapshot id an agent's message names first (`snapshot <id> ...`).
fn snapshot_id(message: &str) -> TestResult<String> {
    Ok(message
        .split("snapshot ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .find(|word| word.parse::<uuid::Uuid>().is_ok())
        .ok_or_else(|| format!("no snapshot id in: {message}"))?
        .to_string())
}

/// File names in the spool dir, with sizes.
fn spool_files(state_dir: &Path) -> TestResult<Vec<(String, u64)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(state_dir.join("spool"))? {
        let entry = entry?;
        files.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.metadata()?.len(),
        ));
    }
    Ok(files)
}

/// Fails if a write left a temp file in the spool.
fn assert_no_temp_files(state_dir: &Path) -> TestResult {
    let temps: Vec<String> = spool_files(state_dir)?
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "temp files left in the spool: {temps:?}");
    Ok(())
}

/// `sitrep send --no-probes` with the collector down: exit 4 either way, and the stderr.
fn send_while_down(site: &Site, config: &Path) -> TestResult<String> {
    let output = site.agent(config, &["send", "--no-probes"])?;
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{}", described(&output));
    assert!(!text.contains("panicked"), "{text}");
    Ok(text)
}

#[test]
fn a_full_disk_under_the_spool_keeps_every_spooled_snapshot() -> TestResult {
    const TEST: &str = "a_full_disk_under_the_spool_keeps_every_spooled_snapshot";
    let Some(mut site) = site(TEST)? else {
        return Ok(());
    };
    // Declared after the site, so it is unmounted before the lab's directory goes.
    let Some(disk) = SmallDisk::mount_or_skip(TEST, &site.state_dir, SPOOL_DISK_BYTES)? else {
        return Ok(());
    };
    let config = site.write("agent.toml", &spool_config(50))?;
    site.enroll(&config)?;
    let admin = site.admin(&["token", "create", "--role", "admin", "--name", "test"])?;
    let device = site.agent_id()?;
    let identity = std::fs::read(site.state_dir.join("identity.json"))?;
    let spool_dir = site.state_dir.join("spool");
    site.stop_collector(Signal::TERM)?;

    // One entry first, to leave room for about three more.
    let mut kept = vec![snapshot_id(&send_while_down(&site, &config)?)?];
    let entry_bytes = spool_files(&site.state_dir)?
        .iter()
        .filter(|(name, _)| name.ends_with(".snap"))
        .map(|(_, bytes)| *bytes)
        .max()
        .ok_or("the first send spooled nothing")?;
    disk.fill(3 * entry_bytes.div_ceil(PAGE) * PAGE)?;
    let mut refusal = None;
    for _ in 0..MAX_SENDS {
        let text = send_while_down(&site, &config)?;
        if text.contains("No space left on device") {
            refusal = Some(text);
            break;
        }
        assert!(text.contains("It is kept in the spool"), "{text}");
        kept.push(snapshot_id(&text)?);
    }
    let refusal = refusal.ok_or("the disk never filled")?;
    assert!(
        refusal.contains("the spool could not keep it")
            && refusal.contains(&spool_dir.display().to_string()),
        "the refusal names the spool: {refusal}"
    );
    assert_no_temp_files(&site.state_dir)?;
    // `spool list` reads every entry against its checksum.
    assert_eq!(site.spooled(&config)?, kept, "the spool after the refusal");
    assert!(kept.len() >= 3, "room for {} entries only", kept.len());

    // On the full disk the bounds still rotate the spool: two entries over the new bound go
    // (counted), and the new one takes their room.
    std::fs::write(&config, spool_config(kept.len() as u32 - 1))?;
    let text = send_while_down(&site, &config)?;
    assert!(text.contains("It is kept in the spool"), "{text}");
    kept.drain(..2);
    kept.push(snapshot_id(&text)?);
    assert_eq!(site.spooled(&config)?, kept, "the spool after the bounds");
    let counters: Value = serde_json::from_slice(&std::fs::read(spool_dir.join("counters.json"))?)?;
    assert_eq!(counters["dropped_total"], 2, "{counters}");
    std::fs::write(&config, spool_config(50))?;

    // Enrolling on a full disk stops before the token is spent, and the identity stays.
    disk.fill(0)?;
    let token = site.admin(&["enroll-token", "create", "--uses", "1"])?;
    let enroll = site.agent(
        &config,
        &[
            "enroll",
            "--collector",
            &site.url,
            "--token",
            &token,
            "--fingerprint",
            &site.fingerprint,
        ],
    )?;
    let enroll_error = stderr(&enroll);
    assert_eq!(enroll.status.code(), Some(4), "{}", described(&enroll));
    assert!(
        enroll_error.contains("No space left on device")
            && enroll_error.contains(&site.state_dir.display().to_string()),
        "{enroll_error}"
    );
    assert_eq!(
        std::fs::read(site.state_dir.join("identity.json"))?,
        identity
    );
    assert_no_temp_files(&site.state_dir)?;

    disk.free()?;
    site.start_collector()?;
    let flush = site.agent(&config, &["spool", "flush"])?;
    assert!(flush.status.success(), "{}", described(&flush));
    let sent: Vec<String> = String::from_utf8_lossy(&flush.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("sent "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect();
    assert_eq!(sent, kept, "flushed oldest first");
    assert!(site.spooled(&config)?.is_empty());
    let stored: Vec<String> = site
        .device_snapshots(&admin, &device)?
        .iter()
        .filter_map(|snapshot| snapshot["id"].as_str().map(str::to_string))
        .collect();
    let mut expected = kept.clone();
    expected.sort();
    let mut stored_sorted = stored.clone();
    stored_sorted.sort();
    assert_eq!(stored_sorted, expected, "each kept snapshot stored once");
    let device_json = site.api_json(
        &admin,
        "GET",
        &format!("/api/v1/devices/{device}"),
        None,
        200,
    )?;
    assert_eq!(device_json["spool_dropped"], 2, "{device_json}");

    eprintln!(
        "spool disk full after {} entries of about {entry_bytes} bytes; refusal:\n{refusal}\n\
         enroll on the full disk:\n{enroll_error}",
        kept.len() + 1,
    );
    Ok(())
}

#[test]
fn the_daemon_rides_out_a_full_disk() -> TestResult {
    const TEST: &str = "the_daemon_rides_out_a_full_disk";
    let Some(mut site) = site(TEST)? else {
        return Ok(());
    };
    let Some(disk) = SmallDisk::mount_or_skip(TEST, &site.state_dir, SPOOL_DISK_BYTES)? else {
        return Ok(());
    };
    let config = site.write("agent.toml", FAST_DAEMON_CONFIG)?;
    site.enroll(&config)?;
    let admin = site.admin(&["token", "create", "--role", "admin", "--name", "test"])?;
    let device = site.agent_id()?;
    site.stop_collector(Signal::TERM)?;
    let daemon = site.spawn_agent("daemon", &config, &["daemon"])?;
    let with_logs = |error: Box<dyn Error>, site: &Site| -> Box<dyn Error> {
        format!("{error}\n{}", site.lab.log("daemon")).into()
    };

    wait_for("a snapshot in the spool", Duration::from_secs(30), || {
        Ok((!site.spooled(&config)?.is_empty()).then_some(()))
    })
    .map_err(|error| with_logs(error, &site))?;
    disk.fill(0)?;
    let filled = site.spooled(&config)?;
    let lost_checks = |site: &Site| site.lab.log("daemon").matches(" is lost: ").count();
    wait_for(
        "two checks the full disk could not keep",
        Duration::from_secs(30),
        || Ok((lost_checks(&site) >= 2).then_some(())),
    )
    .map_err(|error| with_logs(error, &site))?;
    let log = site.lab.log("daemon");
    assert!(
        log.contains("No space left on device")
            && log.contains(&site.state_dir.join("spool").display().to_string()),
        "{log}"
    );
    assert_no_temp_files(&site.state_dir)?;
    let kept = site.spooled(&config)?;
    assert!(
        filled.iter().all(|id| kept.contains(id)),
        "spooled before the disk filled: {filled:?}, now: {kept:?}"
    );
    // `daemon.json` could not be replaced; the last one written is still whole.
    let status: Value =
        serde_json::from_slice(&std::fs::read(site.state_dir.join("daemon.json"))?)?;
    assert_eq!(status["pid"], daemon, "{status}");

    disk.free()?;
    site.start_collector()?;
    let stored = wait_for(
        "the kept snapshots and a new one on the collector",
        Duration::from_secs(40),
        || {
            let ids: Vec<String> = site
                .device_snapshots(&admin, &device)?
                .iter()
                .filter_map(|snapshot| snapshot["id"].as_str().map(str::to_string))
                .collect();
            Ok((kept.iter().all(|id| ids.contains(id)) && ids.len() > kept.len()).then_some(ids))
        },
    )
    .map_err(|error| with_logs(error, &site))?;
    let distinct: HashSet<&String> = stored.iter().collect();
    assert_eq!(
        distinct.len(),
        stored.len(),
        "a snapshot stored twice: {stored:?}"
    );

    let exit = site
        .lab
        .stop(daemon, Signal::TERM, Duration::from_secs(20))?;
    let log = site.lab.log("daemon");
    assert!(exit.success(), "the daemon ended {exit:?}:\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    eprintln!(
        "daemon: {} checks lost to the full disk, {} spooled entries kept and delivered, {} \
         snapshots stored; it logged:\n{}",
        lost_checks(&site),
        kept.len(),
        stored.len(),
        log.lines()
            .find(|line| line.contains(" is lost: "))
            .unwrap_or_default()
    );
    Ok(())
}

/// `sitrep --config CONFIG --state-dir STATE ARGS` on the host, for a collector on 127.0.0.1.
fn agent(config: &Path, state_dir: &Path, args: &[&str]) -> TestResult<Output> {
    Ok(Command::new(assert_cmd::cargo::cargo_bin("sitrep"))
        .arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(state_dir)
        .args(args)
        .output()?)
}

#[tokio::test]
async fn a_full_store_answers_507_and_loses_nothing_acknowledged() -> TestResult {
    const TEST: &str = "a_full_store_answers_507_and_loses_nothing_acknowledged";
    let dir = tempfile::tempdir()?;
    let Some(disk) = SmallDisk::mount_or_skip(TEST, &dir.path().join("disk"), STORE_DISK_BYTES)?
    else {
        return Ok(());
    };
    let binary = CollectorBinary {
        path: assert_cmd::cargo::cargo_bin("sitrep-collector"),
        data_dir: disk.path().join("collector"),
        database_url: None,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let LoadedCollector {
        mut collector,
        enrollment,
        admin_token: admin,
        agents,
    } = LoadedCollector::start(&binary, &client, dir.path().join("first.log"), 2, "full").await?;
    let agent_config = dir.path().join("agent.toml");
    std::fs::write(&agent_config, "")?;
    let agent_state = dir.path().join("agent");
    let enrolled = agent(
        &agent_config,
        &agent_state,
        &[
            "enroll",
            "--collector",
            &collector.url,
            "--token",
            &enrollment,
        ],
    )?;
    assert!(enrolled.status.success(), "{}", described(&enrolled));

    disk.fill(STORE_ROOM)?;
    let started = Instant::now();
    let load = Load::new(MAX_SNAPSHOTS, LOAD_DEADLINE);
    let target = Target::new(&collector.url);
    let senders = load.spawn_senders(IN_FLIGHT, &client, &target, &agents);
    while load.unexpected().is_empty() && started.elapsed() < LOAD_DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    load.stop();
    for sender in senders {
        sender.await?;
    }
    let refusals = load.unexpected();
    let acknowledged: Vec<Acknowledged> = load.take_acknowledged();
    assert!(
        !refusals.is_empty(),
        "the store never filled: {} acknowledged in {:?}",
        acknowledged.len(),
        started.elapsed()
    );
    for refusal in &refusals {
        assert!(
            refusal.contains("507") && refusal.contains("\"storage_full\""),
            "{refusal}\n{}",
            collector.log_text()
        );
    }
    let filled_after = started.elapsed();

    // Full: a write is refused with what to do, the collector answers and reads.
    let refused = small_snapshot(agents[0].id);
    let refused_body = serde_json::to_vec(&refused)?;
    let post = |body: Vec<u8>| {
        client
            .post(format!("{}/api/v1/snapshots", collector.url))
            .bearer_auth(&agents[0].key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let answer = post(refused_body.clone()).await?;
    assert_eq!(answer.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(
        answer
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok()),
        Some("60")
    );
    let error: Value = answer.json().await?;
    assert_eq!(error["error"]["code"], "storage_full", "{error}");
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("storage is full")),
        "{error}"
    );
    let health = client
        .get(format!("{}/healthz", collector.url))
        .send()
        .await?;
    assert_eq!(health.status(), StatusCode::OK);
    collector.ready(&client).await?;
    let missing_while_full = missing(&client, &collector.url, &admin, &acknowledged).await?;
    assert!(missing_while_full.is_empty(), "{missing_while_full:?}");
    assert_eq!(
        stored_count(&client, &collector.url, &admin, [refused.id]).await?,
        0,
        "a refused snapshot is not stored"
    );
    // The agent keeps what the full store refused.
    let sent = agent(&agent_config, &agent_state, &["send", "--no-probes"])?;
    let sent_error = stderr(&sent);
    assert_eq!(sent.status.code(), Some(4), "{}", described(&sent));
    assert!(
        sent_error.contains("storage_full") && sent_error.contains("It is kept in the spool"),
        "{sent_error}"
    );
    let agent_snapshot = snapshot_id(&sent_error)?.parse()?;

    // Space freed: writes go through again, without a restart.
    disk.free()?;
    let answer = post(refused_body).await?;
    assert_eq!(
        answer.status(),
        StatusCode::CREATED,
        "{}",
        collector.log_text()
    );
    let flush = agent(&agent_config, &agent_state, &["spool", "flush"])?;
    assert!(flush.status.success(), "{}", described(&flush));

    // After a restart the database is whole and holds everything acknowledged, once.
    collector.kill()?;
    let collector = binary.serve(dir.path().join("second.log"))?;
    collector.ready(&client).await?;
    let missing_after = missing(&client, &collector.url, &admin, &acknowledged).await?;
    assert!(missing_after.is_empty(), "{missing_after:?}");
    assert_eq!(
        stored_count(
            &client,
            &collector.url,
            &admin,
            [refused.id, agent_snapshot]
        )
        .await?,
        2
    );
    let mut expected: HashSet<String> = acknowledged
        .iter()
        .map(|ack| ack.snapshot_id.to_string())
        .collect();
    expected.insert(refused.id.to_string());
    let mut listed = Vec::new();
    for agent in agents.iter() {
        listed.extend(device_history(&client, &collector.url, &admin, agent.id).await?);
    }
    let distinct: HashSet<String> = listed.iter().cloned().collect();
    assert_eq!(distinct.len(), listed.len(), "a snapshot is listed twice");
    assert_eq!(distinct, expected, "the devices' histories");
    drop(collector);

    let database = binary.data_dir.join("sitrep.db");
    let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&database)
        .connect()
        .await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await?;
    assert_eq!(integrity, "ok");
    let snapshots: i64 = sqlx::query_scalar("SELECT count(*) FROM snapshots")
        .fetch_one(&mut connection)
        .await?;
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'snapshot.ingest'")
            .fetch_one(&mut connection)
            .await?;
    let total = acknowledged.len() + 2;
    assert_eq!((snapshots, audited), (total as i64, total as i64));
    // The last connection to close checkpoints the WAL and removes the -wal and -shm files.
    connection.close().await?;

    // Killed while its disk is full, the collector starts again on it and serves what it has;
    // writes either fit or are refused as full, never a server error. The kill leaves the -wal
    // and -shm files at their size: SQLite could not make them anew on a full disk.
    let collector = binary.serve(dir.path().join("third.log"))?;
    collector.ready(&client).await?;
    disk.fill(0)?;
    drop(collector);
    let collector = binary.serve(dir.path().join("fourth.log"))?;
    collector.ready(&client).await?;
    assert!(
        missing(&client, &collector.url, &admin, &acknowledged[..1])
            .await?
            .is_empty()
    );
    let answer = client
        .post(format!("{}/api/v1/snapshots", collector.url))
        .bearer_auth(&agents[1].key)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&small_snapshot(agents[1].id))?)
        .send()
        .await?;
    assert!(
        [StatusCode::CREATED, StatusCode::INSUFFICIENT_STORAGE].contains(&answer.status()),
        "{}: {}",
        answer.status(),
        collector.log_text()
    );
    drop(collector);

    // With no database yet, a full disk stops the start with the reason.
    let fresh = CollectorBinary {
        data_dir: disk.path().join("fresh"),
        ..binary
    };
    let start = fresh
        .serve(dir.path().join("fresh.log"))
        .err()
        .ok_or("a collector started on a full disk without a database")?
        .to_string();
    assert!(
        start.contains("database or disk is full") && !start.contains("panicked"),
        "{start}"
    );

    eprintln!(
        "store full after {} acknowledged snapshots ({filled_after:?}), {} refused, e.g.\n{}\n\
         a start on a full disk without a database: {start}",
        acknowledged.len(),
        refusals.len(),
        refusals[0]
    );
    Ok(())
}
