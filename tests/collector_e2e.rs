//! The real collector and the real agent over HTTPS with a self-signed, fingerprint-pinned
//! certificate: enroll, send, ask for help (support code round trip), turn the help request into
//! a built-in ticket, attach another snapshot to it, and fetch the rendered report.
//!
//! Both run inside a network namespace of their own with only loopback, so the agent's probes
//! (the default gateway, the DNS servers) cannot reach anything outside it.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use sitrep_tests::netns::{Lab, Netns};

type TestResult = Result<(), Box<dyn Error>>;

const LISTEN: &str = "127.0.0.1:18443";

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

struct Site {
    lab: Lab,
    ns: Netns,
    data_dir: PathBuf,
    state_dir: PathBuf,
    url: String,
    fingerprint: String,
}

impl Site {
    fn start(test: &str) -> Result<Option<Site>, Box<dyn Error>> {
        let Some(mut lab) = Lab::or_skip(test)? else {
            return Ok(None);
        };
        let ns = lab.namespace("e")?;
        // Nothing listens there: the agent's DNS probe is refused at once, inside the namespace.
        lab.resolv_conf(&ns, "nameserver 127.0.0.1\n")?;
        let data_dir = lab.dir().join("collector");
        let state_dir = lab.dir().join("agent");
        let mut serve = lab.command(&ns, collector_bin());
        serve
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["serve", "--listen", LISTEN]);
        lab.spawn("collector", serve)?;
        let log = lab.dir().join("collector.log");
        let started = Instant::now();
        let fingerprint = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(fingerprint) = text
                .lines()
                .find_map(|line| line.split("SHA-256 fingerprint ").nth(1))
            {
                break fingerprint.trim().to_string();
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!("the collector did not start:\n{text}").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(Some(Site {
            lab,
            ns,
            data_dir,
            state_dir,
            url: format!("https://{LISTEN}"),
            fingerprint,
        }))
    }

    /// An admin command on the collector's store; its stdout.
    fn admin(&self, args: &[&str]) -> Result<String, Box<dyn Error>> {
        let output = Command::new(collector_bin())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .output()?;
        if !output.status.success() {
            return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_string())
    }

    /// `sitrep ARGS` inside the namespace.
    fn agent(&self, args: &[&str]) -> Result<Output, Box<dyn Error>> {
        let mut command = self.lab.command(&self.ns, agent_bin());
        command
            .arg("--config")
            .arg(agent_config())
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(args);
        Ok(command.output()?)
    }

    /// A specialist's API call with curl inside the namespace. The test trusts the collector's
    /// certificate without checking it here: pinning is what the agent's side proves.
    fn api(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), Box<dyn Error>> {
        let mut command = self.lab.command(&self.ns, "curl");
        command
            .args(["-sS", "-k", "-X", method, "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .args(["-w", "\n%{http_code}"]);
        if let Some(body) = body {
            command
                .args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(body.to_string());
        }
        let output = command.arg(format!("{}{path}", self.url)).output()?;
        let text = String::from_utf8(output.stdout)?;
        let (body, status) = text.rsplit_once('\n').ok_or("no status from curl")?;
        Ok((status.trim().parse()?, body.to_string()))
    }

    fn api_json(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expect: u16,
    ) -> Result<Value, Box<dyn Error>> {
        let (status, text) = self.api(token, method, path, body)?;
        if status != expect {
            return Err(format!("{method} {path}: expected {expect}, got {status}: {text}").into());
        }
        Ok(serde_json::from_str(&text)?)
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn described(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn enroll_send_help_ticket_and_report() -> TestResult {
    let Some(site) = Site::start("enroll_send_help_ticket_and_report")? else {
        return Ok(());
    };
    let enrollment = site.admin(&["enroll-token", "create", "--uses", "1"])?;
    let specialist = site.admin(&["token", "create", "--role", "specialist", "--name", "alice"])?;

    // A wrong pin is refused before anything is sent, and says which certificate it saw.
    let wrong = "AA:".repeat(31) + "AA";
    let refused = site.agent(&[
        "enroll",
        "--collector",
        &site.url,
        "--token",
        &enrollment,
        "--fingerprint",
        &wrong,
    ])?;
    assert_eq!(refused.status.code(), Some(4), "{}", described(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&site.fingerprint),
        "the presented fingerprint is named: {stderr}"
    );

    let enrolled = site.agent(&[
        "enroll",
        "--collector",
        &site.url,
        "--token",
        &enrollment,
        "--fingerprint",
        &site.fingerprint,
    ])?;
    assert_eq!(enrolled.status.code(), Some(0), "{}", described(&enrolled));

    let sent = site.agent(&["send"])?;
    assert_eq!(sent.status.code(), Some(0), "{}", described(&sent));
    let first_snapshot = stdout(&sent)
        .split_whitespace()
        .nth(2)
        .ok_or("send names the snapshot")?
        .to_string();

    let help = site.agent(&["help", "printer won't print"])?;
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

    let attached = site.agent(&["send", "--ticket", &ticket_id, "--note", "after a restart"])?;
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
