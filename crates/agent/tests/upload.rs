//! The real `sitrep` binary's enroll, send and help commands: errors before enrollment,
//! `send --preview`, and enroll + send against a stand-in collector on loopback (plain HTTP,
//! which the agent allows for loopback only). No probes run: every snapshot is `--no-probes`,
//! and `help` is only run where it stops before taking one.

use std::net::IpAddr;
use std::path::Path;

use serde_json::Value;

mod common;

use common::*;

#[test]
fn send_and_help_before_enrollment_say_to_enroll() {
    let state = tempfile::tempdir().expect("tempdir");
    for args in [
        &["send", "--no-probes"][..],
        &["send", "--ticket", "T-1"][..],
        &["help", "the printer does not print"][..],
    ] {
        let output = sitrep(&empty_config(), state.path())
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(3), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.contains("not enrolled with a collector")
                && stderr.contains("run `sitrep enroll --collector URL --token TOKEN` first"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_without_words_off_a_terminal_is_a_usage_error() {
    let state = tempfile::tempdir().expect("tempdir");
    let output = sitrep(&empty_config(), state.path())
        .arg("help")
        .write_stdin("")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        text(&output.stderr).contains("describe the problem"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_damaged_identity_is_a_usage_error() {
    let state = tempfile::tempdir().expect("tempdir");
    std::fs::write(state.path().join("identity.json"), "{\"collector\": 1}").expect("write");
    let output = sitrep(&empty_config(), state.path())
        .args(["send", "--no-probes"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        text(&output.stderr).contains("is damaged"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn enroll_with_an_unreachable_collector_names_it_and_saves_nothing() {
    let state = tempfile::tempdir().expect("tempdir");
    let url = format!("https://127.0.0.1:{}", closed_port());
    let output = sitrep(&empty_config(), state.path())
        .args(["enroll", "--collector", &url, "--token", "se_secret"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(4));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot reach the collector at {url}/api/v1/enroll"
        )) && stderr.contains("Connection refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("se_secret"));
    assert!(!state.path().join("identity.json").exists());
}

#[test]
fn enroll_takes_the_collector_from_the_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("https://127.0.0.1:{}", closed_port());
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, format!("collector = \"{url}\"\n")).expect("write");
    let output = sitrep(&config, &dir.path().join("state"))
        .args(["enroll", "--token", "se_secret"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(4));
    assert!(
        text(&output.stderr).contains(&url),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn enroll_refuses_plain_http_to_another_host() {
    let state = tempfile::tempdir().expect("tempdir");
    let output = sitrep(&empty_config(), state.path())
        .args([
            "enroll",
            "--collector",
            "http://192.0.2.10:8443",
            "--token",
            "t",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(3));
    assert!(
        text(&output.stderr).contains("plain http:// is allowed only for a loopback collector"),
        "{}",
        text(&output.stderr)
    );
}

/// Every string in a JSON document.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Object(fields) => fields.values().for_each(|field| strings(field, out)),
        _ => {}
    }
}

/// The addresses written anywhere in `value`'s strings.
fn addresses_in(value: &Value) -> Vec<IpAddr> {
    let mut texts = Vec::new();
    strings(value, &mut texts);
    texts
        .iter()
        .flat_map(|text| {
            text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
                .filter_map(|piece| piece.trim_matches(['.', ':']).parse::<IpAddr>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn preview_prints_the_pseudonymized_upload_without_enrollment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        "[privacy]\npseudonymize = [\"hostname\", \"user\", \"mac\", \"ip\"]\n",
    )
    .expect("write");
    let state = dir.path().join("state");

    let plain: Value = serde_json::from_slice(
        &sitrep(&empty_config(), &state)
            .args(["report", "--json", "--no-probes"])
            .output()
            .expect("runs")
            .stdout,
    )
    .expect("JSON");
    let preview = |state: &Path| {
        let output = sitrep(&config, state)
            .args(["send", "--preview", "--no-probes"])
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        output.stdout
    };
    let bytes = preview(&state);
    assert!(bytes.ends_with(b"}\n"), "one pretty JSON document");
    let snapshot: Value = serde_json::from_slice(&bytes).expect("JSON");

    let schema: Value = serde_json::from_slice(
        &sitrep(&empty_config(), &state)
            .arg("schema")
            .output()
            .expect("runs")
            .stdout,
    )
    .expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&snapshot)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(snapshot["trigger"], "manual");
    assert!(snapshot["agent"].get("agent_id").is_none(), "not enrolled");

    if let Some(hostname) = plain["os"]["ok"]["hostname"].as_str() {
        let pseudonym = snapshot["os"]["ok"]["hostname"].as_str().expect("hostname");
        assert!(pseudonym.starts_with("host-"), "{pseudonym}");
        assert_ne!(pseudonym, hostname);
    }
    let kept = |address: &IpAddr| address.is_loopback() || address.is_unspecified();
    let originals: Vec<IpAddr> = addresses_in(&plain)
        .into_iter()
        .filter(|a| !kept(a))
        .collect();
    for address in addresses_in(&snapshot) {
        assert!(!originals.contains(&address), "{address} left the machine");
    }
    assert_eq!(
        std::fs::metadata(state.join("pseudonym.key"))
            .expect("key")
            .len(),
        32
    );
    let again: Value = serde_json::from_slice(&preview(&state)).expect("JSON");
    assert_eq!(
        again["os"]["ok"]["hostname"], snapshot["os"]["ok"]["hostname"],
        "one installation, one pseudonym"
    );
}

#[test]
fn enroll_then_send_to_a_loopback_collector() {
    let collector = FakeCollector::start(&[
        (
            "/api/v1/enroll",
            201,
            format!(r#"{{"agent_id": "{AGENT_ID}", "agent_key": "{AGENT_KEY}"}}"#),
        ),
        (
            "/api/v1/snapshots",
            201,
            r#"{"snapshot_id": "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e61", "device_id": "d1", "duplicate": false}"#.to_string(),
        ),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");

    let output = sitrep(&empty_config(), &state)
        .args([
            "enroll",
            "--collector",
            &collector.url,
            "--token",
            "se_token",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with(&format!(
            "Enrolled with {} as agent {AGENT_ID}.\n",
            collector.url
        )),
        "{stdout}"
    );
    assert!(!stdout.contains(AGENT_KEY) && !text(&output.stderr).contains(AGENT_KEY));
    let identity: Value = serde_json::from_slice(
        &std::fs::read(state.join("identity.json")).expect("identity saved"),
    )
    .expect("JSON");
    assert_eq!(identity["collector"], collector.url.as_str());
    assert_eq!(identity["agent_id"], AGENT_ID);
    assert_eq!(identity["agent_key"], AGENT_KEY);
    assert!(identity["enrolled_at"].is_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| {
            std::fs::metadata(path)
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&state.join("identity.json")), 0o600);
        assert_eq!(mode(&state), 0o700);
    }

    let output = sitrep(&empty_config(), &state)
        .args([
            "send",
            "--no-probes",
            "--ticket",
            "T-7",
            "--note",
            "after the update",
        ])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        format!(
            "Sent snapshot 0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e61 to {}: stored.\nAttached to ticket T-7.\n",
            collector.url
        )
    );

    let requests = collector.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    let (head, body) = &requests[0];
    assert!(head.starts_with("POST /api/v1/enroll HTTP/1.1"), "{head}");
    let enroll: Value = serde_json::from_slice(body).expect("JSON");
    assert_eq!(enroll["token"], "se_token");
    assert_eq!(enroll["agent_version"], env!("CARGO_PKG_VERSION"));

    let (head, body) = &requests[1];
    assert!(
        head.starts_with("POST /api/v1/snapshots?ticket=T-7&note=after+the+update HTTP/1.1"),
        "{head}"
    );
    assert_eq!(
        header(head, "authorization"),
        Some(format!("Bearer {AGENT_KEY}").as_str())
    );
    assert_eq!(header(head, "content-encoding"), Some("zstd"));
    let snapshot: Value =
        serde_json::from_slice(&zstd::decode_all(&body[..]).expect("zstd")).expect("JSON");
    assert_eq!(snapshot["agent"]["agent_id"], AGENT_ID);
    assert_eq!(snapshot["trigger"], "manual");
    assert_eq!(
        snapshot["probes"]["skipped"],
        "probes turned off (--no-probes)"
    );

    // The preview of an enrolled agent names it, as the upload does.
    let preview: Value = serde_json::from_slice(
        &sitrep(&empty_config(), &state)
            .args(["send", "--preview", "--no-probes"])
            .output()
            .expect("runs")
            .stdout,
    )
    .expect("JSON");
    assert_eq!(preview["agent"]["agent_id"], AGENT_ID);
    assert_eq!(collector.requests().len(), 2, "the preview sent nothing");
}

#[test]
fn a_revoked_key_says_to_enroll_again() {
    let collector = FakeCollector::start(&[(
        "/api/v1/snapshots",
        401,
        r#"{"error": {"code": "unknown_agent_key", "message": "the agent key is unknown or revoked"}}"#
            .to_string(),
    )]);
    let state = tempfile::tempdir().expect("tempdir");
    write_identity(state.path(), &collector.url);
    let output = sitrep(&empty_config(), state.path())
        .args(["send", "--no-probes"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(4));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the collector at {}/api/v1/snapshots",
            collector.url
        )) && stderr.contains("unknown or revoked")
            && stderr.contains("enroll again"),
        "{stderr}"
    );
}
