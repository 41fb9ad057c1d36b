//! A real Request Tracker 5 (Debian's packages, run by the tickets crate's `rt` harness) takes
//! snapshots through a real `sitrep-collector serve`: a specialist attaches a snapshot to a
//! ticket made in RT, and RT's REST2 gives back the collector's report and JSON byte for byte;
//! asking again attaches nothing twice; with RT stopped the delivery waits, and once RT is back
//! the snapshot arrives exactly once.
//!
//! Everything listens on 127.0.0.1: RT on a free port, the collector over plain HTTP with SQLite
//! in a temporary data dir. Both are stopped by PID when dropped, also when the test fails.

#[allow(dead_code)]
#[path = "../crates/tickets/tests/rt/mod.rs"]
mod rt;

use std::error::Error;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use sitrep_tests::ingest::{
    CollectorBinary, EnrolledAgent, LoopbackCollector, enroll, get_json, post_snapshot,
    small_snapshot,
};
use uuid::Uuid;

use rt::RequestTracker;

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// A delivery to a reachable RT takes well under a second; a loaded 2-core machine may need more.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The first retry comes 15 s after the failure (crates/collector/src/delivery.rs), then RT
/// must answer.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the failed first try may take to be recorded.
const FAILURE_TIMEOUT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);

#[tokio::test]
async fn snapshots_reach_a_real_request_tracker_once_also_across_an_outage() -> TestResult {
    let test_started = Instant::now();
    let mut tracker = RequestTracker::start().await;
    let rest2 = Rest2::new(&tracker)?;
    let ticket = rest2
        .create_ticket("Printer in room 3 prints nothing")
        .await?;
    let rt_ready = test_started.elapsed();

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("collector.toml");
    write_config(&config, &tracker)?;
    let binary = CollectorBinary {
        path: assert_cmd::cargo::cargo_bin("sitrep-collector"),
        data_dir: dir.path().join("data"),
        database_url: None,
    };
    let enrollment = binary.admin_configured(&config, &["enroll-token", "create"])?;
    let specialist = binary.admin_configured(
        &config,
        &[
            "token",
            "create",
            "--role",
            "specialist",
            "--name",
            "helpdesk-test",
        ],
    )?;
    let collector = Collector {
        server: binary.serve_configured(&config, dir.path().join("collector.log"))?,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        token: specialist,
    };
    collector.server.ready(&collector.client).await?;
    let agent = enroll(
        &collector.client,
        &collector.server.url,
        &enrollment,
        "pc-helpdesk-rt",
    )
    .await?;

    // A snapshot attached through the collector arrives as the collector serves it.
    let first = collector.post_snapshot(&agent).await?;
    let reference = format!("rt:{ticket}");
    let note = "Drucker druckt nicht — checked by Zoë";
    let queued = collector.attach(first, &reference, note).await?;
    let attach_started = Instant::now();
    let delivered = collector
        .wait_for_status(first, &queued, "delivered", DELIVERY_TIMEOUT, &tracker)
        .await?;
    let first_delivery = attach_started.elapsed();
    assert_eq!(delivered["outcome"], "new", "{delivered}");
    assert_eq!(delivered["reference"], reference.as_str(), "{delivered}");
    let files = rest2.files(&ticket).await?;
    collector.assert_on_ticket(first, &files).await?;
    let report = files.named(&report_name(first))[0];
    let comment = rest2.comment_text(&report.transaction).await?;
    assert!(
        comment.contains(note) && comment.contains(&first.to_string()),
        "the internal note carries the specialist's note and the snapshot id: {comment:?}"
    );

    // The same reference again is the same delivery: nothing is sent a second time.
    let again = collector.attach(first, &reference, note).await?;
    assert_eq!(again["id"], queued["id"], "the same delivery: {again}");
    assert_eq!(again["status"], "delivered", "{again}");
    assert_eq!(collector.deliveries(first).await?.len(), 1);
    // A second helpdesk name for the same RT is a new delivery to the same ticket: the connector
    // finds the files there and uploads nothing, as a retry after a lost answer would.
    let other_name = collector
        .attach(first, &format!("rt-again:{ticket}"), note)
        .await?;
    let found = collector
        .wait_for_status(first, &other_name, "delivered", DELIVERY_TIMEOUT, &tracker)
        .await?;
    assert_eq!(found["outcome"], "already_there", "{found}");
    let files = rest2.files(&ticket).await?;
    collector.assert_on_ticket(first, &files).await?;
    assert_eq!(
        files.0.len(),
        2,
        "only the first snapshot's two files: {files:?}"
    );

    // RT away when the delivery is due: it waits, and arrives once RT is back.
    tracker.stop().await;
    let second = collector.post_snapshot(&agent).await?;
    let outage_queued = collector.attach(second, &reference, "").await?;
    let outage_started = Instant::now();
    let failed = collector
        .wait_for(
            second,
            &outage_queued,
            FAILURE_TIMEOUT,
            &tracker,
            // `attempts` counts a try when it starts; `last_error` comes when it has failed.
            |delivery| {
                delivery["attempts"]
                    .as_u64()
                    .is_some_and(|tries| tries >= 1)
                    && delivery["last_error"].is_string()
            },
        )
        .await?;
    let first_failure = outage_started.elapsed();
    assert_eq!(failed["status"], "pending", "{failed}");
    let error = failed["last_error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("Request Tracker could not be reached"),
        "the delivery names Request Tracker unreachable: {failed}"
    );
    tracker.start_again().await;
    let rt_back = outage_started.elapsed();
    let recovered = collector
        .wait_for_status(
            second,
            &outage_queued,
            "delivered",
            RECOVERY_TIMEOUT,
            &tracker,
        )
        .await?;
    let recovered_after = outage_started.elapsed();
    assert_eq!(recovered["outcome"], "new", "{recovered}");
    assert!(
        recovered["attempts"]
            .as_u64()
            .is_some_and(|tries| tries >= 2),
        "delivered by a retry: {recovered}"
    );
    let files = rest2.files(&ticket).await?;
    collector.assert_on_ticket(first, &files).await?;
    collector.assert_on_ticket(second, &files).await?;
    assert_eq!(files.0.len(), 4, "two snapshots, two files each: {files:?}");

    eprintln!(
        "RT 5 ready with a ticket after {rt_ready:?}; first delivery in {first_delivery:?}; \
         outage: first try failed after {first_failure:?}, RT answered again after {rt_back:?}, \
         delivered after {recovered_after:?} ({} tries); whole test {:?}",
        recovered["attempts"],
        test_started.elapsed()
    );
    Ok(())
}

/// The collector's config: the RT harness as helpdesk `rt`, and again as `rt-again`.
fn write_config(path: &Path, tracker: &RequestTracker) -> TestResult {
    let token_file = tracker.token_file();
    let token_file = token_file.to_str().ok_or("a UTF-8 token file path")?;
    let mut config = String::new();
    for name in ["rt", "rt-again"] {
        config.push_str(&format!(
            "[tickets.{name}]\nkind = \"request_tracker\"\nurl = {url}\ntoken = {{ file = {file} }}\n\n",
            url = toml_string(&tracker.url()),
            file = toml_string(token_file),
        ));
    }
    std::fs::write(path, config)?;
    Ok(())
}

/// `text` as a TOML basic string (JSON's escapes are TOML's for these characters).
fn toml_string(text: &str) -> String {
    Value::from(text).to_string()
}

fn report_name(snapshot: Uuid) -> String {
    format!("sitrep-{snapshot}.html")
}

fn json_name(snapshot: Uuid) -> String {
    format!("sitrep-{snapshot}.json")
}

/// The collector under test and a specialist's token for it.
struct Collector {
    server: LoopbackCollector,
    client: reqwest::Client,
    token: String,
}

impl Collector {
    /// A fresh snapshot of `agent`, stored; its id.
    async fn post_snapshot(&self, agent: &EnrolledAgent) -> TestResult<Uuid> {
        let snapshot = small_snapshot(agent.id);
        let body = serde_json::to_vec(&snapshot)?;
        let (status, answer) =
            post_snapshot(&self.client, &self.server.url, &agent.key, body).await?;
        assert_eq!(status, StatusCode::CREATED, "POST snapshot: {answer}");
        Ok(snapshot.id)
    }

    /// `POST /api/v1/snapshots/{id}/external-tickets`: must be 202; the delivery.
    async fn attach(&self, snapshot: Uuid, reference: &str, note: &str) -> TestResult<Value> {
        let response = self
            .client
            .post(format!(
                "{}/api/v1/snapshots/{snapshot}/external-tickets",
                self.server.url
            ))
            .bearer_auth(&self.token)
            .json(&json!({ "reference": reference, "note": note }))
            .send()
            .await?;
        let status = response.status();
        let delivery: Value = response.json().await?;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "attach {snapshot} to {reference}: {delivery}"
        );
        assert_eq!(delivery["snapshot_id"], snapshot.to_string(), "{delivery}");
        Ok(delivery)
    }

    async fn deliveries(&self, snapshot: Uuid) -> TestResult<Vec<Value>> {
        let url = format!(
            "{}/api/v1/snapshots/{snapshot}/external-tickets",
            self.server.url
        );
        let (status, body) = get_json(&self.client, &self.token, url).await?;
        assert_eq!(status, StatusCode::OK, "GET external-tickets: {body}");
        Ok(body.as_array().ok_or("a list of deliveries")?.clone())
    }

    async fn wait_for_status(
        &self,
        snapshot: Uuid,
        queued: &Value,
        status: &str,
        timeout: Duration,
        tracker: &RequestTracker,
    ) -> TestResult<Value> {
        self.wait_for(snapshot, queued, timeout, tracker, |delivery| {
            delivery["status"] == status
        })
        .await
    }

    /// Polls delivery `queued` of `snapshot` until `done` holds for it, for at most `timeout`;
    /// a delivery that failed for good ends the wait at once.
    async fn wait_for(
        &self,
        snapshot: Uuid,
        queued: &Value,
        timeout: Duration,
        tracker: &RequestTracker,
        done: impl Fn(&Value) -> bool,
    ) -> TestResult<Value> {
        let started = Instant::now();
        loop {
            let deliveries = self.deliveries(snapshot).await?;
            let delivery = deliveries
                .into_iter()
                .find(|delivery| delivery["id"] == queued["id"])
                .ok_or_else(|| format!("delivery {} is gone", queued["id"]))?;
            if done(&delivery) {
                return Ok(delivery);
            }
            if delivery["status"] == "failed" || started.elapsed() > timeout {
                return Err(format!(
                    "delivery after {:?}: {delivery}\ncollector log:\n{}\nRT log:\n{}",
                    started.elapsed(),
                    self.server.log_text(),
                    tracker.log()
                )
                .into());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Checks that `files` hold snapshot `id`'s report and JSON exactly once each, from one
    /// comment, with the bytes the collector serves.
    async fn assert_on_ticket(&self, id: Uuid, files: &TicketFiles) -> TestResult {
        let (reports, snapshots) = (files.named(&report_name(id)), files.named(&json_name(id)));
        assert_eq!(
            reports.len(),
            1,
            "one report of {id} on the ticket: {files:?}"
        );
        assert_eq!(
            snapshots.len(),
            1,
            "one JSON of {id} on the ticket: {files:?}"
        );
        let (report, snapshot) = (reports[0], snapshots[0]);
        assert_eq!(report.transaction, snapshot.transaction, "one comment");
        assert_eq!(snapshot.content_type, "application/json");
        assert_eq!(report.content_type, "text/html");
        // The collector renders its report API and the attached report with the same
        // `sitrep_report::html`, so they match byte for byte.
        let served_json = self.get_bytes(&format!("snapshots/{id}")).await?;
        let served_html = self
            .get_bytes(&format!("snapshots/{id}/report?format=html"))
            .await?;
        assert!(
            snapshot.bytes == served_json,
            "the attached JSON of {id} is the stored snapshot byte for byte"
        );
        assert!(
            report.bytes == served_html,
            "the attached report of {id} is the collector's HTML report byte for byte"
        );
        Ok(())
    }

    /// `GET /api/v1/{path}` as the specialist: must be 200; the body as served.
    async fn get_bytes(&self, path: &str) -> TestResult<Vec<u8>> {
        let response = self
            .client
            .get(format!("{}/api/v1/{path}", self.server.url))
            .bearer_auth(&self.token)
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        Ok(response.bytes().await?.to_vec())
    }
}

/// A file on an RT ticket, read back through REST2.
#[derive(Debug)]
struct StoredFile {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
    /// The transaction (comment) it came with.
    transaction: String,
}

/// Every part of a ticket that has a file name.
#[derive(Debug)]
struct TicketFiles(Vec<StoredFile>);

impl TicketFiles {
    fn named(&self, name: &str) -> Vec<&StoredFile> {
        self.0.iter().filter(|file| file.name == name).collect()
    }
}

/// RT's REST2 as root, independent of the collector's connector.
struct Rest2 {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Rest2 {
    fn new(tracker: &RequestTracker) -> TestResult<Rest2> {
        Ok(Rest2 {
            // Not a browser's User-Agent: RT would answer a login redirect instead of JSON.
            client: reqwest::Client::builder()
                .user_agent("sitrep-tests")
                .timeout(Duration::from_secs(30))
                .build()?,
            base: format!("{}/REST/2.0", tracker.url()),
            token: tracker.token().to_string(),
        })
    }

    /// `POST /REST/2.0/ticket` in the General queue; the new ticket's id.
    async fn create_ticket(&self, subject: &str) -> TestResult<String> {
        let response = self
            .client
            .post(format!("{}/ticket", self.base))
            .header(AUTHORIZATION, format!("token {}", self.token))
            .json(&json!({ "Queue": "General", "Subject": subject }))
            .send()
            .await?;
        let status = response.status();
        let created: Value = response.json().await?;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create an RT ticket: {created}"
        );
        // REST2 gives the id as a string; accept a number too.
        let id = match &created["id"] {
            Value::String(id) => id.clone(),
            Value::Number(id) => id.to_string(),
            _ => return Err(format!("no ticket id in {created}").into()),
        };
        Ok(id)
    }

    async fn get(&self, path: &str) -> TestResult<Value> {
        let response = self
            .client
            .get(format!("{}/{path}", self.base))
            .header(AUTHORIZATION, format!("token {}", self.token))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        Ok(body)
    }

    /// `/ticket/{id}/attachments`, then each named part's `/attachment/{n}`.
    async fn files(&self, ticket: &str) -> TestResult<TicketFiles> {
        let list = self
            .get(&format!(
                "ticket/{ticket}/attachments?fields=Filename,ContentType&per_page=100"
            ))
            .await?;
        assert_eq!(list["pages"].as_f64(), Some(1.0), "one page: {list}");
        let mut files = Vec::new();
        for item in list["items"].as_array().ok_or("no attachment items")? {
            if item["Filename"].as_str().unwrap_or_default().is_empty() {
                continue;
            }
            let id = item["id"].as_str().ok_or("an attachment without id")?;
            files.push(self.attachment(id).await?);
        }
        Ok(TicketFiles(files))
    }

    /// `/attachment/{id}`: `Content` is base64 with line breaks.
    async fn attachment(&self, id: &str) -> TestResult<StoredFile> {
        let record = self.get(&format!("attachment/{id}")).await?;
        let encoded: String = record["Content"]
            .as_str()
            .ok_or_else(|| format!("attachment {id} has no Content"))?
            .split_whitespace()
            .collect();
        Ok(StoredFile {
            name: record["Filename"].as_str().unwrap_or_default().to_string(),
            content_type: record["ContentType"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            bytes: STANDARD.decode(encoded)?,
            transaction: record["TransactionId"]["id"]
                .as_str()
                .ok_or_else(|| format!("attachment {id} has no TransactionId"))?
                .to_string(),
        })
    }

    /// The text of comment `transaction`: its `text/plain` part without a file name. Also
    /// checks it is a comment (RT's internal note), not a reply mailed to the requestor.
    async fn comment_text(&self, transaction: &str) -> TestResult<String> {
        let record = self.get(&format!("transaction/{transaction}")).await?;
        assert_eq!(record["Type"], "Comment", "an internal comment: {record}");
        let parts = self
            .get(&format!(
                "transaction/{transaction}/attachments?fields=ContentType,Filename"
            ))
            .await?;
        for part in parts["items"].as_array().ok_or("no transaction parts")? {
            if part["ContentType"] == "text/plain" && part["Filename"] == "" {
                let id = part["id"].as_str().ok_or("a part without id")?;
                let text = self.attachment(id).await?;
                return Ok(String::from_utf8(text.bytes)?);
            }
        }
        Err(format!("comment {transaction} has no text part: {parts}").into())
    }
}
