//! The real daemon against the real collector, in a namespace of their own: an outage (every
//! snapshot taken meanwhile arrives once, in order), SIGKILL mid-upload and mid-spool (nothing
//! acknowledged is lost, nothing stored twice), SIGTERM mid-check (the check is finished and
//! delivered), specialist requests (a connected agent answers within seconds, an offline one
//! when it comes back) and re-enrollment after the key is revoked.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sitrep_tests::netns::Signal;
use sitrep_tests::site::{FAST_DAEMON_CONFIG, Site, SiteError, Transport, described, wait_for};

type TestResult = Result<(), SiteError>;

const PORT: u16 = 18443;

fn site(test: &str, transport: Transport) -> Result<Option<Site>, SiteError> {
    Site::start(
        test,
        PORT,
        transport,
        assert_cmd::cargo::cargo_bin("sitrep-collector"),
        assert_cmd::cargo::cargo_bin("sitrep"),
    )
}

/// An enrolled agent with the daemon config, and an admin API token.
fn enrolled(site: &Site, config: &str) -> Result<(PathBuf, String), SiteError> {
    let config = site.write("agent.toml", config)?;
    site.enroll(&config)?;
    let admin = site.admin(&["token", "create", "--role", "admin", "--name", "test"])?;
    Ok((config, admin))
}

fn daemon_status(site: &Site) -> Value {
    std::fs::read(site.state_dir.join("daemon.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null)
}

fn start_daemon(site: &mut Site, name: &str, config: &Path) -> Result<u32, SiteError> {
    site.spawn_agent(name, config, &["daemon"])
}

/// A site whose agent is enrolled and whose daemon (log `daemon-1`) has delivered its first
/// scheduled snapshot, which makes the device.
struct Running {
    site: Site,
    config: PathBuf,
    /// An admin's API token.
    admin: String,
    device: String,
    daemon: u32,
}

fn running_daemon(test: &str, config: &str) -> Result<Option<Running>, SiteError> {
    let Some(mut site) = site(test, Transport::Https)? else {
        return Ok(None);
    };
    let (config, admin) = enrolled(&site, config)?;
    let device = site.agent_id()?;
    let daemon = start_daemon(&mut site, "daemon-1", &config)?;
    wait_for(
        "the first scheduled snapshot",
        Duration::from_secs(40),
        || Ok((!site.device_snapshots(&admin, &device)?.is_empty()).then_some(())),
    )
    .map_err(|error| format!("{error}\n{}", site.lab.log("daemon-1")))?;
    Ok(Some(Running {
        site,
        config,
        admin,
        device,
        daemon,
    }))
}

#[test]
fn an_outage_loses_nothing_and_keeps_the_order() -> TestResult {
    let Some(Running {
        mut site,
        config,
        admin,
        device,
        daemon,
    }) = running_daemon(
        "an_outage_loses_nothing_and_keeps_the_order",
        FAST_DAEMON_CONFIG,
    )?
    else {
        return Ok(());
    };

    site.stop_collector(Signal::TERM)?;
    let during_outage = wait_for("3 snapshots in the spool", Duration::from_secs(40), || {
        let ids = site.spooled(&config)?;
        Ok((ids.len() >= 3).then_some(ids))
    })?;
    let status = site.agent(&config, &["status"])?;
    let status_text = String::from_utf8_lossy(&status.stdout);
    assert!(status_text.contains("NOT reachable"), "{status_text}");
    assert!(status_text.contains("waiting"), "{status_text}");

    site.start_collector()?;
    let stored = wait_for(
        "every spooled snapshot on the collector",
        Duration::from_secs(90),
        || {
            let snapshots = site.device_snapshots(&admin, &device)?;
            let ids: HashSet<&str> = snapshots.iter().filter_map(|s| s["id"].as_str()).collect();
            Ok(during_outage
                .iter()
                .all(|id| ids.contains(id.as_str()))
                .then_some(snapshots))
        },
    )?;
    // Exactly once each, and received in the order they were taken.
    let mut received = BTreeMap::new();
    for snapshot in &stored {
        let id = snapshot["id"].as_str().ok_or("snapshot id")?;
        let copies = stored.iter().filter(|s| s["id"] == id).count();
        assert_eq!(copies, 1, "{id} stored {copies} times");
        received.insert(
            snapshot["taken_at"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            snapshot["received_at"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let in_taken_order: Vec<&String> = received.values().collect();
    let mut sorted = in_taken_order.clone();
    sorted.sort();
    assert_eq!(
        in_taken_order, sorted,
        "received out of order: {received:?}"
    );
    let log = site.lab.log("daemon-1");
    let delivered: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("snapshot delivered"))
        .filter_map(|line| line.split("snapshot=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|id| during_outage.iter().any(|spooled| spooled == id))
        .collect();
    assert_eq!(
        delivered,
        during_outage.iter().map(String::as_str).collect::<Vec<_>>(),
        "the daemon sent the spool oldest first:\n{log}"
    );

    let status = site.agent(&config, &["status", "--json"])?;
    let status: Value = serde_json::from_slice(&status.stdout)?;
    assert_eq!(status["collector"]["reachable"], true, "{status}");
    assert_eq!(status["daemon"]["running"], true, "{status}");
    assert!(status["last_upload"]["snapshot_id"].is_string(), "{status}");
    let ended = site
        .lab
        .stop(daemon, Signal::TERM, Duration::from_secs(20))?;
    assert!(
        ended.success(),
        "the daemon ends cleanly on SIGTERM: {ended:?}"
    );
    Ok(())
}

/// A TCP relay in the namespace in front of a plain-HTTP collector that can hold back the
/// answers to uploads: the upload arrives and is stored, the agent never hears so. Other
/// answers (the long-poll's) pass.
struct Relay {
    hold: Arc<AtomicBool>,
    port: u16,
}

impl Relay {
    fn start(site: &Site, port: u16) -> Result<Relay, SiteError> {
        let hold = Arc::new(AtomicBool::new(false));
        let held = Arc::clone(&hold);
        site.lab.run_in(&site.ns, move || -> std::io::Result<()> {
            let listener = TcpListener::bind(("127.0.0.1", port))?;
            // Threads started here stay in the namespace, so the relay's connections do too.
            std::thread::spawn(move || {
                for client in listener.incoming().flatten() {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", PORT)) else {
                        continue;
                    };
                    relay(client, server, Arc::clone(&held));
                }
            });
            Ok(())
        })??;
        Ok(Relay { hold, port })
    }
}

fn relay(client: TcpStream, server: TcpStream, hold: Arc<AtomicBool>) {
    let (Ok(mut client_read), Ok(mut server_write)) = (client.try_clone(), server.try_clone())
    else {
        return;
    };
    let uploading = Arc::new(AtomicBool::new(false));
    let upload_seen = Arc::clone(&uploading);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 16 << 10];
        while let Ok(read) = client_read.read(&mut buffer) {
            if read == 0 {
                break;
            }
            if buffer[..read]
                .windows(22)
                .any(|w| w == b"POST /api/v1/snapshots")
            {
                upload_seen.store(true, Ordering::SeqCst);
            }
            if server_write.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = server_write.shutdown(Shutdown::Write);
    });
    std::thread::spawn(move || {
        let (mut server, mut client) = (server, client);
        let mut buffer = [0u8; 16 << 10];
        while let Ok(read) = server.read(&mut buffer) {
            if read == 0 {
                break;
            }
            while hold.load(Ordering::SeqCst) && uploading.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            if client.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
        let _ = client.shutdown(Shutdown::Write);
    });
}

#[test]
fn sigkill_mid_upload_loses_nothing_and_stores_nothing_twice() -> TestResult {
    let Some(mut site) = site(
        "sigkill_mid_upload_loses_nothing_and_stores_nothing_twice",
        Transport::PlainHttp,
    )?
    else {
        return Ok(());
    };
    let relay = Relay::start(&site, PORT + 1)?;
    // The agent knows the collector only through the relay.
    let config = site.write("agent.toml", FAST_DAEMON_CONFIG)?;
    site.enroll_at(&config, &format!("http://127.0.0.1:{}", relay.port))?;
    let admin = site.admin(&["token", "create", "--role", "admin", "--name", "test"])?;
    let device = site.agent_id()?;

    relay.hold.store(true, Ordering::SeqCst);
    let daemon = start_daemon(&mut site, "daemon-1", &config)?;
    let stored = wait_for("the upload to be stored", Duration::from_secs(30), || {
        Ok(site
            .device_snapshots(&admin, &device)?
            .first()
            .and_then(|s| s["id"].as_str().map(str::to_string)))
    })
    .map_err(|error| format!("{error}\n{}", site.lab.log("daemon-1")))?;
    site.lab
        .stop(daemon, Signal::KILL, Duration::from_secs(10))?;
    let waiting = site.spooled(&config)?;
    assert!(
        waiting.contains(&stored),
        "never acknowledged, so still spooled: {waiting:?} vs {stored}"
    );

    relay.hold.store(false, Ordering::SeqCst);
    let daemon = start_daemon(&mut site, "daemon-2", &config)?;
    wait_for("the spool to empty", Duration::from_secs(60), || {
        let waiting = site.spooled(&config)?;
        Ok((!waiting.contains(&stored)).then_some(()))
    })?;
    let log = site.lab.log("daemon-2");
    assert!(
        log.lines()
            .any(|line| line.contains(&format!("snapshot={stored}"))
                && line.contains("duplicate=true")),
        "the resent snapshot was recognised as a repeat:\n{log}"
    );
    let snapshots = site.device_snapshots(&admin, &device)?;
    assert_eq!(
        snapshots
            .iter()
            .filter(|s| s["id"] == stored.as_str())
            .count(),
        1,
        "{snapshots:?}"
    );
    site.lab
        .stop(daemon, Signal::TERM, Duration::from_secs(20))?;

    // Now `sitrep send`, killed at every point of its run: before, during and after spooling,
    // during and after the upload. The spool must never hold a damaged entry, and whatever
    // reached it or the collector must end up stored exactly once.
    let mut seen: HashSet<String> = HashSet::new();
    let mut acknowledged: HashSet<String> = HashSet::new();
    let started = Instant::now();
    for attempt in 0..24u64 {
        if started.elapsed() > Duration::from_secs(60) {
            break;
        }
        let mut send = site.agent_command(&config, &["send", "--no-probes"]);
        let mut child = send.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        std::thread::sleep(Duration::from_millis(attempt * 4));
        let _ = child.kill();
        let output = child.wait_with_output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        if let Some(id) = text.split_whitespace().nth(2) {
            acknowledged.insert(id.to_string());
        }
        seen.extend(site.spooled(&config)?);
    }
    let flushed = site.agent(&config, &["spool", "flush"])?;
    assert!(flushed.status.success(), "{}", described(&flushed));
    assert!(site.spooled(&config)?.is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(site.state_dir.join("spool"))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let snapshots = site.device_snapshots(&admin, &device)?;
    for id in seen.iter().chain(&acknowledged) {
        assert_eq!(
            snapshots.iter().filter(|s| s["id"] == id.as_str()).count(),
            1,
            "{id}: spooled or acknowledged, so stored exactly once"
        );
    }
    eprintln!(
        "killed send 24 times: {} snapshots seen in the spool, {} acknowledged before the kill",
        seen.len(),
        acknowledged.len()
    );
    Ok(())
}

#[test]
fn sigterm_finishes_the_check_in_hand() -> TestResult {
    let Some(mut site) = site("sigterm_finishes_the_check_in_hand", Transport::Https)? else {
        return Ok(());
    };
    // A server that accepts and never answers: the check's HTTP probe runs its full 3 s, and
    // the accept tells the test that the check is under way.
    let (connected, probe_connected) = std::sync::mpsc::channel();
    site.lab.run_in(&site.ns, move || -> std::io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:18500")?;
        std::thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let _ = connected.send(());
                std::thread::sleep(Duration::from_secs(30));
                drop(stream);
            }
        });
        Ok(())
    })??;
    let config = r#"
[schedule]
interval = "1h"
[probes]
http = ["http://127.0.0.1:18500/"]
timeout = "3s"
deadline = "4s"
"#;
    let (config, admin) = enrolled(&site, config)?;
    let device = site.agent_id()?;
    let daemon = start_daemon(&mut site, "daemon", &config)?;
    probe_connected
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| format!("the first check did not start:\n{}", site.lab.log("daemon")))?;
    let stopping = Instant::now();
    let ended = site
        .lab
        .stop(daemon, Signal::TERM, Duration::from_secs(30))?;
    assert!(ended.success(), "{ended:?}\n{}", site.lab.log("daemon"));
    assert!(
        stopping.elapsed() >= Duration::from_secs(1),
        "the daemon waited for the check: {:?}",
        stopping.elapsed()
    );
    let snapshots = site.device_snapshots(&admin, &device)?;
    assert_eq!(
        snapshots.len(),
        1,
        "the check in hand was delivered: {snapshots:?}"
    );
    assert_eq!(snapshots[0]["trigger"], "scheduled");
    assert!(daemon_status(&site)["stopped_at"].is_string());
    Ok(())
}

#[test]
fn specialist_requests_reach_connected_and_returning_agents() -> TestResult {
    // One scheduled check (within 10 s of start) makes the device; the rest is on request.
    let Some(Running {
        mut site,
        config,
        device,
        daemon,
        ..
    }) = running_daemon(
        "specialist_requests_reach_connected_and_returning_agents",
        &FAST_DAEMON_CONFIG.replace("\"5s\"", "\"1h\""),
    )?
    else {
        return Ok(());
    };
    let specialist = site.admin(&["token", "create", "--role", "specialist", "--name", "alice"])?;
    wait_for("a connected long-poll", Duration::from_secs(30), || {
        Ok((daemon_status(&site)["polling"] == true).then_some(()))
    })?;

    // Connected: the request reaches the agent at once. The extra target is a port nobody
    // listens on, so its TCP probe is refused at once (and shows in the snapshot).
    let asked = Instant::now();
    let request = site.api_json(
        &specialist,
        "POST",
        &format!("/api/v1/devices/{device}/requests"),
        Some(&json!({"targets": ["127.0.0.1:18501"]})),
        201,
    )?;
    let request_id = request["id"].as_str().ok_or("request id")?;
    let done = site.api_json(
        &specialist,
        "GET",
        &format!("/api/v1/devices/{device}/requests/{request_id}?wait=20"),
        None,
        200,
    )?;
    let took = asked.elapsed();
    assert_eq!(
        done["status"],
        "done",
        "{done}\n{}",
        site.lab.log("daemon-1")
    );
    eprintln!(
        "specialist request to stored snapshot: {} ms",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
    let snapshot = site.api_json(
        &specialist,
        "GET",
        done["snapshot_url"].as_str().ok_or("snapshot_url")?,
        None,
        200,
    )?;
    assert_eq!(snapshot["trigger"], "specialist_request", "{snapshot}");
    assert!(
        snapshot["probes"].to_string().contains("127.0.0.1:18501"),
        "the requested target was probed: {}",
        snapshot["probes"]
    );

    // Offline: the request waits, and is served when the agent is back.
    site.lab
        .stop(daemon, Signal::TERM, Duration::from_secs(20))?;
    let request = site.api_json(
        &specialist,
        "POST",
        &format!("/api/v1/devices/{device}/requests"),
        Some(&json!({})),
        201,
    )?;
    assert_eq!(request["status"], "queued", "{request}");
    let request_id = request["id"].as_str().ok_or("request id")?;
    let daemon = start_daemon(&mut site, "daemon-2", &config)?;
    let done = wait_for(
        "the queued request to be served",
        Duration::from_secs(60),
        || {
            let answer = site.api_json(
                &specialist,
                "GET",
                &format!("/api/v1/devices/{device}/requests/{request_id}?wait=20"),
                None,
                200,
            )?;
            Ok((answer["status"] == "done").then_some(answer))
        },
    )
    .map_err(|error| format!("{error}\n{}", site.lab.log("daemon-2")))?;
    assert!(done["snapshot_id"].is_string(), "{done}");
    site.lab
        .stop(daemon, Signal::TERM, Duration::from_secs(20))?;
    Ok(())
}

#[test]
fn a_revoked_agent_enrolls_again_with_a_newly_configured_token() -> TestResult {
    let Some(Running {
        mut site,
        config,
        admin,
        device: old_device,
        daemon,
    }) = running_daemon(
        "a_revoked_agent_enrolls_again_with_a_newly_configured_token",
        FAST_DAEMON_CONFIG,
    )?
    else {
        return Ok(());
    };
    site.api_json(
        &admin,
        "POST",
        &format!("/api/v1/agents/{old_device}/revoke"),
        None,
        200,
    )?;

    // Without a token it says so, and keeps what it takes.
    let error = wait_for(
        "the daemon to report the refused key",
        Duration::from_secs(30),
        || {
            let status = daemon_status(&site);
            let message = status["last_error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok(message.contains("no enrollment token").then_some(message))
        },
    )
    .map_err(|error| format!("{error}\n{}", site.lab.log("daemon-1")))?;
    assert!(
        error.contains("does not accept this agent's key"),
        "{error}"
    );
    let kept = wait_for(
        "snapshots kept in the spool",
        Duration::from_secs(30),
        || {
            let ids = site.spooled(&config)?;
            Ok((ids.len() >= 2).then_some(ids))
        },
    )?;

    // An administrator configures a new token and tells the daemon (SIGHUP).
    let token = site.admin(&["enroll-token", "create", "--uses", "1"])?;
    let token_file = site.write("enrollment-token", &format!("{token}\n"))?;
    std::fs::write(
        &config,
        format!(
            "enrollment_token_file = {:?}\n{FAST_DAEMON_CONFIG}",
            token_file.display().to_string()
        ),
    )?;
    site.lab.signal(daemon, Signal::HUP)?;
    let new_device = wait_for("a new enrollment", Duration::from_secs(60), || {
        let id = site.agent_id()?;
        Ok((id != old_device).then_some(id))
    })
    .map_err(|error| format!("{error}\n{}", site.lab.log("daemon-1")))?;
    let stored = wait_for(
        "the kept snapshots on the new device",
        Duration::from_secs(60),
        || {
            let snapshots = site.device_snapshots(&admin, &new_device)?;
            let ids: HashSet<String> = snapshots
                .iter()
                .filter_map(|s| s["id"].as_str().map(str::to_string))
                .collect();
            Ok(kept.iter().all(|id| ids.contains(id)).then_some(ids))
        },
    )
    .map_err(|error| format!("{error}\n{}", site.lab.log("daemon-1")))?;
    assert!(stored.len() >= kept.len());
    let ended = site
        .lab
        .stop(daemon, Signal::TERM, Duration::from_secs(20))?;
    assert!(ended.success());
    Ok(())
}
