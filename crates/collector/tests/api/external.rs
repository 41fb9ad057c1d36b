//! Attaching snapshots to external helpdesk tickets through the outbox, with a helpdesk
//! stand-in that records what it receives and fails as scripted: delivery, the helpdesk's
//! refusal shown on the delivery, transient failures retried (never sooner than Retry-After),
//! a crashed delivery taken over when its lease runs out without attaching twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sitrep_collector::delivery;
use sitrep_collector::store::{Actor, DeliveryStatus};
use sitrep_tickets::{Attachment, TicketError, TicketSystem};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::common::{Helpdesk, TestApp, connectors, help, json_request, snapshot};

/// An app with the stand-in as `desk`, a device, a specialist and the device's snapshot id.
async fn setup(helpdesk: &Arc<Helpdesk>) -> (TestApp, String, Uuid) {
    let app = TestApp::with_connectors(connectors(helpdesk)).await;
    let agent = app.enroll().await;
    let sent = snapshot(Some(agent.agent_id));
    assert_eq!(app.send(&agent, &sent).await.status, StatusCode::CREATED);
    let token = app.specialist().await;
    let id = sent["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("an id");
    (app, token, id)
}

async fn attach(app: &TestApp, token: &str, snapshot: Uuid, body: Value) -> (StatusCode, Value) {
    let answer = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/snapshots/{snapshot}/external-tickets"),
            Some(token),
            body,
        ))
        .await;
    let status = answer.status;
    (status, answer.json())
}

/// The snapshot's one delivery once `done` says so, within 10 s.
async fn delivery_when(
    app: &TestApp,
    token: &str,
    snapshot: Uuid,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let list = app
            .get(
                &format!("/api/v1/snapshots/{snapshot}/external-tickets"),
                token,
            )
            .await
            .json();
        let delivery = list[0].clone();
        if done(&delivery) {
            return delivery;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {delivery}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn time_of(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .expect("a time")
}

#[tokio::test]
async fn a_snapshot_reaches_the_ticket_with_its_report_and_json() {
    let helpdesk = Arc::new(Helpdesk::default());
    let (app, token, snapshot) = setup(&helpdesk).await;
    let (status, queued) = attach(
        &app,
        &token,
        snapshot,
        json!({"reference": "desk:OPS-42", "note": "after the reboot"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["reference"], "desk:OPS-42");
    let delivered = delivery_when(&app, &token, snapshot, |d| d["status"] == "delivered").await;
    assert_eq!(delivered["outcome"], "new");
    assert_eq!(delivered["attempts"], 1);
    let received = helpdesk.received();
    assert_eq!(received.len(), 1);
    let (ticket, attachment) = &received[0];
    assert_eq!(ticket, "OPS-42");
    let stored = app
        .get(&format!("/api/v1/snapshots/{snapshot}"), &token)
        .await;
    assert_eq!(
        attachment.snapshot_json,
        stored.body.to_vec(),
        "the JSON exactly as the agent sent it"
    );
    assert!(attachment.report_html.contains("<html"), "a whole page");
    assert!(attachment.note_text().contains("after the reboot"));
    assert_eq!(
        attachment.report_file_name(),
        format!("sitrep-{snapshot}.html")
    );
    // The same reference again: the same delivery, nothing sent twice.
    let (again, same) = attach(&app, &token, snapshot, json!({"reference": "desk:OPS-42"})).await;
    assert_eq!(again, StatusCode::ACCEPTED);
    assert_eq!(same["id"], delivered["id"]);
    assert_eq!(same["status"], "delivered");
    assert_eq!(helpdesk.calls(), 1);
}

#[tokio::test]
async fn a_refusal_is_shown_with_the_helpdesks_words_and_can_be_queued_again() {
    let helpdesk = Arc::new(Helpdesk::default());
    helpdesk.fail_next(TicketError::Permanent {
        status: Some(404),
        message: "Stand-in answered 404 Not Found: Issue does not exist".into(),
    });
    let (app, token, snapshot) = setup(&helpdesk).await;
    attach(&app, &token, snapshot, json!({"reference": "desk:OPS-404"})).await;
    let failed = delivery_when(&app, &token, snapshot, |d| d["status"] == "failed").await;
    assert_eq!(
        failed["last_error"],
        "Stand-in answered 404 Not Found: Issue does not exist"
    );
    assert!(helpdesk.received().is_empty());
    // Fixed on the helpdesk's side; the specialist tries again.
    let (status, queued) =
        attach(&app, &token, snapshot, json!({"reference": "desk:OPS-404"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(queued["id"], failed["id"]);
    delivery_when(&app, &token, snapshot, |d| d["status"] == "delivered").await;
    assert_eq!(helpdesk.received().len(), 1);
}

#[tokio::test]
async fn a_transient_failure_is_retried_not_before_retry_after() {
    let helpdesk = Arc::new(Helpdesk::default());
    helpdesk.fail_next(TicketError::Transient {
        message: "Stand-in answered 429 Too Many Requests".into(),
        retry_after: Some(Duration::from_secs(120)),
    });
    let (app, token, snapshot) = setup(&helpdesk).await;
    let asked = Utc::now();
    attach(&app, &token, snapshot, json!({"reference": "desk:7"})).await;
    let waiting = delivery_when(&app, &token, snapshot, |d| {
        d["attempts"] == 1 && d["last_error"].is_string()
    })
    .await;
    assert_eq!(waiting["status"], "pending");
    assert_eq!(
        waiting["last_error"],
        "Stand-in answered 429 Too Many Requests"
    );
    let next = time_of(&waiting["next_attempt_at"]);
    assert!(
        next >= asked + chrono::Duration::seconds(119),
        "{next} vs {asked}"
    );
    // Time passes (the test moves the due time instead of waiting two minutes).
    app.execute("UPDATE external_attachments SET next_attempt_at = 0")
        .await;
    app.deliveries.notify_one();
    let delivered = delivery_when(&app, &token, snapshot, |d| d["status"] == "delivered").await;
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(helpdesk.received().len(), 1);
}

#[tokio::test]
async fn a_delivery_whose_replica_died_is_taken_over_and_not_attached_twice() {
    let helpdesk = Arc::new(Helpdesk::default());
    // No worker yet: this app plays the replica that dies mid-delivery.
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let sent = snapshot(Some(agent.agent_id));
    app.send(&agent, &sent).await;
    let snapshot_id: Uuid = sent["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("an id");
    let queued = app
        .store
        .queue_external_attachment(
            snapshot_id,
            "desk".into(),
            "9".into(),
            String::new(),
            None,
            &Actor::Cli,
        )
        .await
        .expect("queued");
    let claimed = app
        .store
        .claim_due_external_attachments(8, Duration::from_millis(200))
        .await
        .expect("claimed");
    assert_eq!(claimed.len(), 1);
    // The dead replica's try got the files onto the ticket before it died.
    let attachment = Attachment {
        snapshot_id,
        summary: String::new(),
        note: String::new(),
        report_html: String::new(),
        report_markdown: String::new(),
        snapshot_json: Vec::new(),
    };
    helpdesk
        .attach("9", &attachment)
        .await
        .expect("the earlier try");
    // While the lease holds nobody else takes it.
    assert!(
        app.store
            .claim_due_external_attachments(8, Duration::from_secs(1))
            .await
            .expect("claim")
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    delivery::spawn(
        app.store.clone(),
        Arc::new(connectors(&helpdesk)),
        Arc::new(Notify::new()),
    );
    let started = Instant::now();
    let delivered = loop {
        let delivery = app
            .store
            .external_attachment(queued.id)
            .await
            .expect("the delivery");
        if delivery.status == DeliveryStatus::Delivered {
            break delivery;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{delivery:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(delivered.outcome.as_deref(), Some("already_there"));
    assert_eq!(delivered.attempts, 2);
    assert_eq!(helpdesk.received().len(), 1, "attached once");
}

#[tokio::test]
async fn references_must_name_a_configured_helpdesk_and_a_ticket() {
    let helpdesk = Arc::new(Helpdesk::default());
    let (app, token, snapshot) = setup(&helpdesk).await;
    for (body, code) in [
        (json!({"reference": "1234"}), "invalid_reference"),
        (json!({"reference": "desk:12 34"}), "invalid_reference"),
        (json!({"reference": "zendesk:5678"}), "unknown_connector"),
        (
            json!({"reference": "desk:1", "note": "x".repeat(4001)}),
            "invalid_note",
        ),
    ] {
        let (status, answer) = attach(&app, &token, snapshot, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }
    let (_, unknown) = attach(&app, &token, snapshot, json!({"reference": "zendesk:5678"})).await;
    assert_eq!(
        unknown["error"]["message"],
        "no helpdesk is configured as \"zendesk\" (configured: desk)"
    );
    let (status, _) = attach(&app, &token, Uuid::now_v7(), json!({"reference": "desk:1"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let agent = app.enroll().await;
    let (status, _) = attach(
        &app,
        &agent.agent_key,
        snapshot,
        json!({"reference": "desk:1"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(helpdesk.received().is_empty());
}

#[tokio::test]
async fn a_help_request_becomes_a_helpdesk_ticket_with_its_snapshot() {
    let helpdesk = Arc::new(Helpdesk::default());
    let app = TestApp::with_connectors(connectors(&helpdesk)).await;
    let agent = app.enroll().await;
    let sent = snapshot(Some(agent.agent_id));
    let asked = app
        .call(help(
            &agent.agent_key,
            "printer offline\nsince Monday",
            &sent,
        ))
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
    let code = asked.json()["support_code"]
        .as_str()
        .expect("a code")
        .to_string();
    let token = app.specialist().await;
    let uri = format!("/api/v1/help-requests/{code}/external-ticket");
    let ask = |body: Value| json_request(Method::POST, &uri, Some(&token), body);

    let made = app.call(ask(json!({"connector": "desk"}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let made = made.json();
    assert_eq!(made["reference"], "desk:NEW-1");
    assert_eq!(made["url"], "https://desk.example/NEW-1");
    let created = helpdesk.created();
    assert_eq!(created.len(), 1);
    assert!(
        created[0].title.starts_with("printer offline ("),
        "{:?}",
        created[0]
    );
    assert!(created[0].description.contains(&code), "{:?}", created[0]);
    let snapshot_id: Uuid = sent["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("an id");
    delivery_when(&app, &token, snapshot_id, |d| d["status"] == "delivered").await;
    assert_eq!(helpdesk.received()[0].0, "NEW-1");

    // Asked again: the same ticket, none made.
    let again = app.call(ask(json!({"connector": "desk"}))).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["reference"], "desk:NEW-1");
    assert_eq!(helpdesk.created().len(), 1);

    let request = app
        .get(&format!("/api/v1/help-requests/{code}"), &token)
        .await
        .json();
    assert_eq!(request["status"], "ticketed", "{request}");

    let unknown = app.call(ask(json!({"connector": "jira"}))).await;
    assert_eq!(
        unknown.error(),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_connector".to_string()
        )
    );
}

#[tokio::test]
async fn a_helpdesk_that_cannot_make_the_ticket_says_why() {
    let helpdesk = Arc::new(Helpdesk::default());
    let app = TestApp::with_connectors(connectors(&helpdesk)).await;
    let agent = app.enroll().await;
    let token = app.specialist().await;
    for (error, status, code) in [
        (
            TicketError::Permanent {
                status: Some(403),
                message: "Stand-in answered 403 Forbidden: no access to queue".into(),
            },
            StatusCode::BAD_GATEWAY,
            "helpdesk_refused",
        ),
        (
            TicketError::Transient {
                message: "Stand-in could not be reached".into(),
                retry_after: None,
            },
            StatusCode::SERVICE_UNAVAILABLE,
            "helpdesk_unavailable",
        ),
    ] {
        let sent = snapshot(Some(agent.agent_id));
        let asked = app
            .call(help(&agent.agent_key, "no network", &sent))
            .await
            .json();
        let message = error.to_string();
        helpdesk.fail_next(error);
        let answer = app
            .call(json_request(
                Method::POST,
                &format!(
                    "/api/v1/help-requests/{}/external-ticket",
                    asked["support_code"].as_str().expect("a code")
                ),
                Some(&token),
                json!({"connector": "desk"}),
            ))
            .await;
        assert_eq!(answer.error(), (status, code.to_string()));
        assert_eq!(answer.json()["error"]["message"], message);
    }
    assert!(helpdesk.created().is_empty());
}
