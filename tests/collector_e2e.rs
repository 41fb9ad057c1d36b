//! The real collector and the real agent over HTTPS with a self-signed, fingerprint-pinned
//! certificate: enroll, send, ask for help (support code round trip), turn the help request into
//! a built-in ticket, attach another snapshot to it, and fetch the rendered report.
//!
//! Both run inside a network namespace of their own with only loopback, so the agent's probes
//! (the default gateway, the DNS servers) cannot reach anything outside it.

use std::path::{Path, PathBuf};
use std::process::Output;

use sitrep_tests::site::{Site, SiteError, Transport, described};

type TestResult = Result<(), SiteError>;

const PORT: u16 = 18443;

fn collector_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sitrep-collector")
}

fn agent_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sitrep")
}

/// Short probe timeouts, readable by anyone.
fn agent_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/netns.toml")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn enroll_send_help_ticket_and_report() -> TestResult {
    let Some(site) = Site::start(
        "enroll_send_help_ticket_and_report",
        PORT,
        Transport::Https,
        collector_bin(),
        agent_bin(),
    )?
    else {
        return Ok(());
    };
    let enrollment = site.admin(&["enroll-token", "create", "--uses", "1"])?;
    let specialist = site.admin(&["token", "create", "--role", "specialist", "--name", "alice"])?;

    // A wrong pin is refused before anything is sent, and says which certificate it saw.
    let wrong = "AA:".repeat(31) + "AA";
    let refused = site.agent(
        &agent_config(),
        &[
            "enroll",
            "--collector",
            &site.url,
            "--token",
            &enrollment,
            "--fingerprint",
            &wrong,
        ],
    )?;
    assert_eq!(refused.status.code(), Some(4), "{}", described(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&site.fingerprint),
        "the presented fingerprint is named: {stderr}"
    );

    let enrolled = site.agent(
        &agent_config(),
        &[
            "enroll",
            "--collector",
            &site.url,
            "--token",
            &enrollment,
            "--fingerprint",
            &site.fingerprint,
        ],
    )?;
    assert_eq!(enrolled.status.code(), Some(0), "{}", described(&enrolled));

    let sent = site.agent(&agent_config(), &["send"])?;
    assert_eq!(sent.status.code(), Some(0), "{}", described(&sent));
    let first_snapshot = stdout(&sent)
        .split_whitespace()
        .nth(2)
        .ok_or("send names the snapshot")?
        .to_string();

    let help = site.agent(&agent_config(), &["help", "printer won't print"])?;
    assert_eq!(help.status.code(), Some(0), "{}", described(&help));
    let last_line = stdout(&help).lines().last().unwrap_or_default().to_string();
    let code = last_line
        .rsplit(' ')
        .next()
        .ok_or("a support code")?
        .to_string();
    assert!(
        code.len() == 7 && code.as_bytes()[3] == b'-',
        "support code on the last line: {last_line}"
    );

    let request = site.api_json(
        &specialist,
        "GET",
        &format!("/api/v1/help-requests/{code}"),
        None,
        200,
    )?;
    assert_eq!(request["text"], "printer won't print", "{request}");

    let ticket = site.api_json(
        &specialist,
        "POST",
        &format!("/api/v1/help-requests/{code}/ticket"),
        None,
        201,
    )?;
    let ticket_id = ticket["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| ticket["id"].as_i64().map(|i| i.to_string()))
        .ok_or("ticket id")?;

    let attached = site.agent(
        &agent_config(),
        &["send", "--ticket", &ticket_id, "--note", "after a restart"],
    )?;
    assert_eq!(attached.status.code(), Some(0), "{}", described(&attached));

    let ticket = site.api_json(
        &specialist,
        "GET",
        &format!("/api/v1/tickets/{ticket_id}"),
        None,
        200,
    )?;
    let attachments = ticket["attachments"].as_array().ok_or("attachments")?;
    assert_eq!(
        attachments.len(),
        2,
        "the help snapshot and the one sent for the ticket: {ticket}"
    );
    assert!(
        attachments.iter().any(|a| a["note"] == "after a restart"),
        "{ticket}"
    );

    let (status, page) = site.api(
        &specialist,
        "GET",
        &format!("/api/v1/snapshots/{first_snapshot}/report?format=html"),
        None,
    )?;
    assert_eq!(status, 200, "{page}");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    let (status, markdown) = site.api(
        &specialist,
        "GET",
        &format!("/api/v1/snapshots/{first_snapshot}/report?format=markdown"),
        None,
    )?;
    assert_eq!(status, 200, "{markdown}");
    assert!(markdown.starts_with('#'), "{markdown}");

    let devices = site.api_json(
        &specialist,
        "GET",
        &format!("/api/v1/devices?q={code}"),
        None,
        200,
    )?;
    assert_eq!(
        devices.as_array().map(Vec::len),
        Some(1),
        "the support code finds the device: {devices}"
    );

    let (status, body) = site.api("st_not_a_token", "GET", "/api/v1/devices", None)?;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    Ok(())
}
