//! The real binary's spool: `send` while the collector is down keeps the snapshot, a full spool
//! drops the oldest and counts it (in `status` and in the next upload), a damaged entry is set
//! aside with its reason, and an unwritable spool still lets a snapshot go straight out. Only
//! loopback is used, and every snapshot is `--no-probes`.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn config_with_two_slots(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("agent.toml");
    std::fs::write(&path, "[spool]\nmax_items = 2\n").expect("write the config");
    path
}

fn status_json(config: &Path, state: &Path) -> Value {
    let output = sitrep(config, state)
        .args(["status", "--json"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("status JSON")
}

#[test]
fn a_down_collector_keeps_snapshots_and_a_full_spool_drops_the_oldest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let config = config_with_two_slots(dir.path());
    let down = format!("http://127.0.0.1:{}", closed_port());
    write_identity(&state, &down);

    for _ in 0..3 {
        let output = sitrep(&config, &state)
            .args(["send", "--no-probes"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(4));
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("could not be sent now") && stderr.contains("It is kept in the spool"),
            "{stderr}"
        );
        assert!(stderr.contains("Connection refused"), "{stderr}");
    }
    let listed = sitrep(&config, &state)
        .args(["spool", "list"])
        .output()
        .expect("runs");
    let listing = text(&listed.stdout);
    assert_eq!(listing.matches(".snap ").count(), 2, "{listing}");
    assert!(listing.contains("manual"), "{listing}");

    let status = status_json(&config, &state);
    assert_eq!(status["spool"]["waiting"], 2, "{status}");
    assert_eq!(status["spool"]["dropped_total"], 1, "{status}");
    assert_eq!(status["spool"]["dropped_unreported"], 1, "{status}");
    assert_eq!(status["collector"]["reachable"], false, "{status}");
    assert_eq!(status["daemon"]["running"], false, "{status}");
    let human = sitrep(&config, &state)
        .arg("status")
        .output()
        .expect("runs");
    let human = text(&human.stdout);
    assert!(human.contains("NOT reachable"), "{human}");
    assert!(human.contains("2 waiting"), "{human}");
    assert!(
        human.contains("1 (spool full), 1 not yet reported"),
        "{human}"
    );

    // The collector is back: the spool goes oldest first, the first upload reports the drop.
    let collector = FakeCollector::start(&[(
        "/api/v1/snapshots",
        201,
        r#"{"snapshot_id": "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e61", "duplicate": false}"#
            .to_string(),
    )]);
    write_identity(&state, &collector.url);
    let flushed = sitrep(&config, &state)
        .args(["spool", "flush"])
        .output()
        .expect("runs");
    assert_eq!(flushed.status.code(), Some(0), "{}", text(&flushed.stderr));
    assert!(text(&flushed.stdout).contains("2 sent, 0 waiting."));
    let requests = collector.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[0]
            .0
            .starts_with("POST /api/v1/snapshots?spool_dropped=1 "),
        "{}",
        requests[0].0
    );
    assert!(
        requests[1].0.starts_with("POST /api/v1/snapshots "),
        "{}",
        requests[1].0
    );
    let status = status_json(&config, &state);
    assert_eq!(status["spool"]["waiting"], 0, "{status}");
    assert_eq!(status["spool"]["dropped_unreported"], 0, "{status}");
    assert!(status["last_upload"]["snapshot_id"].is_string(), "{status}");
}

#[test]
fn a_damaged_entry_is_set_aside_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let config = config_with_two_slots(dir.path());
    write_identity(&state, &format!("http://127.0.0.1:{}", closed_port()));
    let sent = sitrep(&config, &state)
        .args(["send", "--no-probes"])
        .output()
        .expect("runs");
    assert_eq!(sent.status.code(), Some(4));
    let spool = state.join("spool");
    let entry = std::fs::read_dir(&spool)
        .expect("spool dir")
        .flatten()
        .map(|entry| entry.path())
        .find(|path| path.extension().is_some_and(|ext| ext == "snap"))
        .expect("an entry");
    let bytes = std::fs::read(&entry).expect("read");
    std::fs::write(&entry, &bytes[..bytes.len() / 2]).expect("cut it short");

    let listed = sitrep(&config, &state)
        .args(["spool", "list"])
        .output()
        .expect("runs");
    assert_eq!(listed.status.code(), Some(0), "a damaged entry is no crash");
    let listing = text(&listed.stdout);
    assert!(
        listing.contains(&format!(
            "warning: spool entry {} is damaged",
            entry.display()
        )),
        "{listing}"
    );
    assert!(listing.contains("The spool is empty"), "{listing}");
    assert!(listing.contains("1 set aside"), "{listing}");
    let name = entry
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let reason = std::fs::read_to_string(spool.join("aside").join(format!("{name}.reason")))
        .expect("reason");
    assert!(reason.starts_with("damaged: the body has"), "{reason}");
}

#[test]
fn an_unwritable_spool_still_sends_and_says_so() {
    let collector = FakeCollector::start(&[(
        "/api/v1/snapshots",
        201,
        r#"{"snapshot_id": "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e61", "duplicate": false}"#
            .to_string(),
    )]);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    write_identity(&state, &collector.url);
    // A file where the spool dir belongs: unwritable for root too.
    std::fs::write(state.join("spool"), b"").expect("write");
    let config = config_with_two_slots(dir.path());
    let sent = sitrep(&config, &state)
        .env("SITREP_LOG", "error")
        .args(["send", "--no-probes"])
        .output()
        .expect("runs");
    assert_eq!(sent.status.code(), Some(0), "{}", text(&sent.stderr));
    let stderr = text(&sent.stderr);
    assert!(
        stderr.contains("cannot spool the snapshot; sending it directly")
            && stderr.contains(&state.join("spool").display().to_string()),
        "{stderr}"
    );
    assert_eq!(collector.requests().len(), 1);
    let human = sitrep(&config, &state)
        .arg("status")
        .output()
        .expect("runs");
    let human = text(&human.stdout);
    assert!(
        human.contains("Problem:     the spool is not writable"),
        "{human}"
    );

    // With the collector gone too, the snapshot is lost, and the message says so.
    drop(collector);
    write_identity(&state, &format!("http://127.0.0.1:{}", closed_port()));
    let lost = sitrep(&config, &state)
        .args(["send", "--no-probes"])
        .output()
        .expect("runs");
    assert_eq!(lost.status.code(), Some(4));
    let stderr = text(&lost.stderr);
    assert!(
        stderr.contains("could not be sent, and the spool could not keep it"),
        "{stderr}"
    );
}
