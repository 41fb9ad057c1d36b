//! The Request Tracker connector against a real RT 5 (Debian's packages, run by `rt/`): tickets
//! are created and found, a snapshot's report and JSON arrive byte for byte as one internal
//! comment, a retry never attaches them twice, and an outage is transient and heals.

mod rt;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use sitrep_tickets::{
    Attached, Attachment, ConnectorConfig, NewExternalTicket, TicketError, TicketSystem,
};
use uuid::Uuid;

use rt::RequestTracker;

/// The connector as the collector builds it: from its config, with the token in a file.
fn connector(config: Value) -> Arc<dyn TicketSystem> {
    serde_json::from_value::<ConnectorConfig>(config)
        .expect("a request_tracker config")
        .build()
        .expect("the connector")
}

fn token_connector(rt: &RequestTracker) -> Arc<dyn TicketSystem> {
    connector(json!({
        "kind": "request_tracker",
        "url": rt.url(),
        "token": { "file": rt.token_file() },
    }))
}

/// What the collector attaches for one snapshot; not ASCII, as real reports are not.
fn snapshot_attachment() -> Attachment {
    let snapshot_id = Uuid::now_v7();
    let snapshot_json = serde_json::to_vec(&json!({
        "schema_version": 1,
        "id": snapshot_id,
        "agent": { "version": "0.1.0", "agent_id": Uuid::now_v7() },
        "taken_at": "2026-11-25T10:00:00Z",
        "trigger": "help_request",
        "os": { "ok": { "name": "Debian GNU/Linux", "host_name": "pc-müller-042" } },
        "findings": [{ "id": "net.dns.unreachable", "level": "fail",
                       "message": "DNS server 10.0.0.53 does not answer — 3 tries" }],
    }))
    .expect("a snapshot's JSON");
    Attachment {
        snapshot_id,
        summary: "pc-müller-042, 1 failure: net.dns.unreachable".to_string(),
        note: "Drucker druckt nicht; checked by Zoë ✓".to_string(),
        report_html: format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>sitrep {snapshot_id}</title></head>\n<body><h1>pc-müller-042</h1>\n\
             <p class=\"fail\">DNS server 10.0.0.53 does not answer — 3 tries ✗</p>\n\
             </body></html>\n"
        ),
        report_markdown: "# pc-müller-042\n\n- ✗ DNS server 10.0.0.53 does not answer\n"
            .to_string(),
        snapshot_json,
    }
}

/// A file on an RT ticket, read back through REST2.
#[derive(Debug)]
struct StoredFile {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
    /// The transaction it came with.
    transaction: String,
}

/// Reads RT through REST2 as root, independently of the connector.
struct Rest2 {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Rest2 {
    fn new(rt: &RequestTracker) -> Rest2 {
        Rest2 {
            // Not a browser's User-Agent: RT would answer a login redirect instead of JSON.
            client: reqwest::Client::builder()
                .user_agent("sitrep-tests")
                .build()
                .expect("an HTTP client"),
            base: format!("{}/REST/2.0", rt.url()),
            token: rt.token().to_string(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .client
            .get(format!("{}/{path}", self.base))
            .header(AUTHORIZATION, format!("token {}", self.token))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("a JSON answer")
    }

    /// Every part of ticket `key` that has a file name, with its decoded content.
    async fn files(&self, key: &str) -> Vec<StoredFile> {
        let list = self
            .get(&format!(
                "ticket/{key}/attachments?fields=Filename,ContentType&per_page=100"
            ))
            .await;
        assert_eq!(list["pages"].as_f64(), Some(1.0), "one page: {list}");
        let mut files = Vec::new();
        for item in list["items"].as_array().expect("items") {
            let name = item["Filename"].as_str().unwrap_or_default();
            if name.is_empty() {
                continue;
            }
            let id = item["id"].as_str().expect("an attachment id");
            files.push(self.attachment(id).await);
        }
        files
    }

    /// `/attachment/{id}`: `Content` is base64 with line breaks.
    async fn attachment(&self, id: &str) -> StoredFile {
        let record = self.get(&format!("attachment/{id}")).await;
        let encoded: String = record["Content"]
            .as_str()
            .expect("Content")
            .split_whitespace()
            .collect();
        StoredFile {
            // The comment's text part has no file name.
            name: record["Filename"].as_str().unwrap_or_default().to_string(),
            content_type: record["ContentType"]
                .as_str()
                .expect("ContentType")
                .to_string(),
            bytes: STANDARD.decode(encoded).expect("base64 content"),
            transaction: record["TransactionId"]["id"]
                .as_str()
                .expect("TransactionId")
                .to_string(),
        }
    }

    /// Checks that ticket `key` holds the snapshot's report and JSON exactly once, byte for
    /// byte, from one comment whose text is the note.
    async fn assert_attached_once(&self, key: &str, attachment: &Attachment) {
        let files = self.files(key).await;
        let named = |name: String| -> Vec<&StoredFile> {
            files.iter().filter(|file| file.name == name).collect()
        };
        let reports = named(attachment.report_file_name());
        let snapshots = named(attachment.json_file_name());
        assert_eq!(reports.len(), 1, "one report on ticket {key}: {files:?}");
        assert_eq!(
            snapshots.len(),
            1,
            "one snapshot on ticket {key}: {files:?}"
        );
        let (report, snapshot) = (reports[0], snapshots[0]);
        assert_eq!(report.content_type, "text/html");
        assert_eq!(report.bytes, attachment.report_html.as_bytes());
        assert_eq!(snapshot.content_type, "application/json");
        assert_eq!(snapshot.bytes, attachment.snapshot_json);
        assert_eq!(report.transaction, snapshot.transaction, "one comment");
        // A comment is RT's internal note: it is not mailed to the requestor.
        let transaction = self
            .get(&format!("transaction/{}", report.transaction))
            .await;
        assert_eq!(transaction["Type"], "Comment", "{transaction}");
        let parts = self
            .get(&format!(
                "transaction/{}/attachments?fields=ContentType,Filename",
                report.transaction
            ))
            .await;
        let mut note = None;
        for part in parts["items"].as_array().expect("items") {
            if part["ContentType"] == "text/plain" && part["Filename"] == "" {
                let id = part["id"].as_str().expect("an attachment id");
                note = Some(self.attachment(id).await);
            }
        }
        let note = note.expect("the comment's text part");
        assert_eq!(
            String::from_utf8(note.bytes).expect("UTF-8").trim_end(),
            attachment.note_text()
        );
    }
}

#[tokio::test]
async fn tickets_are_created_found_and_take_a_snapshot_once() {
    let rt = RequestTracker::start().await;
    let rest2 = Rest2::new(&rt);
    let version = rest2.get("rt").await;
    assert!(
        version["Version"]
            .as_str()
            .is_some_and(|v| v.starts_with("5.")),
        "a Request Tracker 5: {version}"
    );
    let tracker = token_connector(&rt);
    assert!(
        !format!("{tracker:?}").contains(rt.token()),
        "Debug shows no token"
    );

    let created = tracker
        .create_ticket(&NewExternalTicket {
            title: "Printer won't print (support code K7P-4QX)".to_string(),
            description: "The user says: the printer in room 3 prints nothing.".to_string(),
        })
        .await
        .expect("create a ticket");
    assert!(created.key.parse::<u64>().is_ok(), "{created:?}");
    assert_eq!(
        created.url.as_deref(),
        Some(format!("{}/Ticket/Display.html?id={}", rt.url(), created.key).as_str())
    );

    let found = tracker.find_ticket(&created.key).await.expect("find it");
    assert_eq!(found, created);
    let stored = rest2.get(&format!("ticket/{}", created.key)).await;
    assert_eq!(stored["Queue"]["id"], "1", "the General queue: {stored}");

    match tracker.find_ticket("999999").await {
        Err(TicketError::Permanent {
            status: Some(404),
            message,
        }) => assert_eq!(message, "Request Tracker answered 404 Not Found: Not Found"),
        other => panic!("an unknown ticket is a permanent 404: {other:?}"),
    }
    assert!(matches!(
        tracker.find_ticket("OPS-42").await,
        Err(TicketError::Permanent { status: None, .. })
    ));

    let attachment = snapshot_attachment();
    assert_eq!(
        tracker.attach(&created.key, &attachment).await,
        Ok(Attached::New)
    );
    rest2.assert_attached_once(&created.key, &attachment).await;

    assert_eq!(
        tracker.attach(&created.key, &attachment).await,
        Ok(Attached::AlreadyThere)
    );
    rest2.assert_attached_once(&created.key, &attachment).await;

    // A second snapshot on the same ticket is a new comment.
    let second = snapshot_attachment();
    assert_eq!(
        tracker.attach(&created.key, &second).await,
        Ok(Attached::New)
    );
    rest2.assert_attached_once(&created.key, &second).await;
    rest2.assert_attached_once(&created.key, &attachment).await;

    // Basic authentication as root works the same; a wrong password is RT's 401.
    let with_password = connector(json!({
        "kind": "request_tracker",
        "url": rt.url(),
        "user": "root",
        "password": { "file": rt.password_file() },
    }));
    assert_eq!(
        with_password.find_ticket(&created.key).await,
        Ok(created.clone())
    );
    let wrong_password_file = rt.password_file().with_file_name("wrong-password");
    std::fs::write(&wrong_password_file, "not-the-password").expect("write a wrong password");
    let refused = connector(json!({
        "kind": "request_tracker",
        "url": rt.url(),
        "user": "root",
        "password": { "file": wrong_password_file },
    }));
    match refused.attach(&created.key, &attachment).await {
        Err(TicketError::Permanent {
            status: Some(401),
            message,
        }) => assert_eq!(
            message,
            "Request Tracker answered 401 Unauthorized: Unauthorized"
        ),
        other => panic!("a wrong password is a permanent 401: {other:?}"),
    }

    // A queue root may not create in is RT's 403 with its reason.
    let elsewhere = connector(json!({
        "kind": "request_tracker",
        "url": rt.url(),
        "token": { "file": rt.token_file() },
        "queue": "No Such Queue",
    }));
    match elsewhere
        .create_ticket(&NewExternalTicket {
            title: "x".to_string(),
            description: "y".to_string(),
        })
        .await
    {
        Err(TicketError::Permanent {
            status: Some(403),
            message,
        }) => assert!(message.contains("'No Such Queue'"), "{message}"),
        other => panic!("an unknown queue is a permanent 403: {other:?}"),
    }
    assert!(
        !rt.log().contains("[critical]"),
        "RT logged critical errors:\n{}",
        rt.log()
    );
}

#[tokio::test]
async fn an_outage_is_transient_and_the_snapshot_arrives_once_after_it() {
    let mut rt = RequestTracker::start().await;
    let rest2 = Rest2::new(&rt);
    let tracker = token_connector(&rt);
    let ticket = tracker
        .create_ticket(&NewExternalTicket {
            title: "VPN drops every hour".to_string(),
            description: "Since Monday.".to_string(),
        })
        .await
        .expect("create a ticket");
    let attachment = snapshot_attachment();

    rt.stop().await;
    let port = rt
        .url()
        .rsplit(':')
        .next()
        .expect("a port")
        .parse::<u16>()
        .expect("a port");
    let refused = std::net::TcpStream::connect(("127.0.0.1", port)).map(|_| ());
    assert_eq!(
        refused.map_err(|error| error.kind()),
        Err(std::io::ErrorKind::ConnectionRefused),
        "a stopped RT refuses connections"
    );
    match tracker.attach(&ticket.key, &attachment).await {
        Err(TicketError::Transient {
            message,
            retry_after: None,
        }) => assert!(
            message.starts_with("Request Tracker could not be reached"),
            "{message}"
        ),
        other => panic!("a stopped RT is a transient failure: {other:?}"),
    }
    assert!(
        tracker
            .find_ticket(&ticket.key)
            .await
            .is_err_and(|error| error.is_transient())
    );

    rt.start_again().await;
    assert_eq!(
        tracker.attach(&ticket.key, &attachment).await,
        Ok(Attached::New)
    );
    assert_eq!(
        tracker.attach(&ticket.key, &attachment).await,
        Ok(Attached::AlreadyThere)
    );
    rest2.assert_attached_once(&ticket.key, &attachment).await;
}

#[test]
fn configs_name_what_is_missing_or_wrong() {
    let build = |config: Value| {
        serde_json::from_value::<ConnectorConfig>(config)
            .map_err(|error| error.to_string())
            .and_then(|config| config.build().map(|_| ()))
    };
    let url = "https://rt.corp.example/rt";
    assert_eq!(
        build(json!({ "kind": "request_tracker", "url": url })),
        Err("token: set `token`, or `user` and `password`, for RT to know who sitrep is".into())
    );
    assert_eq!(
        build(json!({
            "kind": "request_tracker", "url": url,
            "token": { "env": "SITREP_TEST_NO_SUCH_RT_TOKEN" },
        })),
        Err("token: the environment variable SITREP_TEST_NO_SUCH_RT_TOKEN is not set".into())
    );
    assert_eq!(
        build(json!({ "kind": "request_tracker", "url": url, "user": "sitrep" })),
        Err("password: `user` is set but its `password` is missing".into())
    );
    assert_eq!(
        build(json!({
            "kind": "request_tracker", "url": url, "user": "sitrep",
            "password": { "file": "/nonexistent/sitrep-rt-password" },
        })),
        Err(
            "password: cannot read /nonexistent/sitrep-rt-password: No such file or directory \
             (os error 2)"
                .into()
        )
    );
    assert_eq!(
        build(json!({
            "kind": "request_tracker", "url": url, "token": { "env": "X" },
            "user": "sitrep", "password": { "env": "Y" },
        })),
        Err("token: set either `token` or `user` and `password`, not both".into())
    );
    assert!(
        build(json!({ "kind": "request_tracker", "url": url, "tocken": { "env": "X" } }))
            .is_err_and(|error| error.contains("unknown field `tocken`"))
    );
}
