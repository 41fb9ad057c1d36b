//! Snapshot requests: a specialist asks, the agent's long-poll takes the request (at once, or
//! woken while it waits), the snapshot that answers marks it done and wakes whoever waits for
//! that; expiry and re-delivery.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::Utc;
use expect_test::expect;
use serde_json::{Value, json};
use sitrep_collector::store::{Enrollment, REDELIVER_AFTER};
use uuid::Uuid;

use crate::common::{Answer, TestApp, json_request, request, send_with, snapshot, with_device};

fn requests_uri(device: Uuid) -> String {
    format!("/api/v1/devices/{device}/requests")
}

/// `POST /api/v1/devices/{device}/requests` with `body`, as `bearer`.
async fn ask(app: &TestApp, device: Uuid, bearer: &str, body: Value) -> Answer {
    app.call(json_request(
        Method::POST,
        &requests_uri(device),
        Some(bearer),
        body,
    ))
    .await
}

/// Creates a request and returns its JSON.
async fn create(app: &TestApp, device: Uuid, token: &str, body: Value) -> Value {
    let answer = ask(app, device, token, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    answer.json()
}

async fn poll(app: &TestApp, agent: &Enrollment, wait: u64) -> Vec<Value> {
    let answer = app
        .get(
            &format!("/api/v1/agent/requests?wait={wait}"),
            &agent.agent_key,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    answer.json()["requests"]
        .as_array()
        .expect("requests")
        .clone()
}

fn id_of(value: &Value) -> Uuid {
    value["id"].as_str().expect("id").parse().expect("a UUID")
}

/// The JSON with ids and times replaced, for expect-test.
fn redacted(mut value: Value) -> String {
    for key in ["id", "device_id", "created_at", "expires_at"] {
        if value[key].is_string() {
            value[key] = json!(format!("<{key}>"));
        }
    }
    value["requested_by"]["id"] = json!("<token id>");
    serde_json::to_string_pretty(&value).expect("print JSON")
}

#[tokio::test]
async fn a_specialist_creates_a_request_for_a_known_device() {
    let (app, agent, token) = with_device().await;
    let created = create(
        &app,
        agent.agent_id,
        &token,
        json!({"targets": ["printer.corp.example", "10.0.0.5", "mail.corp.example:993", "https://intranet.corp.example/health"], "expires_in_seconds": 600}),
    )
    .await;
    expect![[r#"
        {
          "created_at": "<created_at>",
          "delivered_at": null,
          "device_id": "<device_id>",
          "done_at": null,
          "expires_at": "<expires_at>",
          "id": "<id>",
          "requested_by": {
            "id": "<token id>",
            "kind": "api_token"
          },
          "snapshot_id": null,
          "snapshot_url": null,
          "status": "queued",
          "targets": [
            "printer.corp.example",
            "10.0.0.5",
            "mail.corp.example:993",
            "https://intranet.corp.example/health"
          ]
        }"#]]
    .assert_eq(&redacted(created.clone()));
    assert_eq!(created["device_id"], json!(agent.agent_id));
    let created_at: chrono::DateTime<Utc> =
        serde_json::from_value(created["created_at"].clone()).expect("time");
    let expires_at: chrono::DateTime<Utc> =
        serde_json::from_value(created["expires_at"].clone()).expect("time");
    assert_eq!((expires_at - created_at).num_seconds(), 600);

    // No body at all: no targets, an hour.
    let bare = app
        .call(request(
            Method::POST,
            &requests_uri(agent.agent_id),
            Some(&token),
            Body::empty(),
        ))
        .await;
    assert_eq!(bare.status, StatusCode::CREATED, "{}", bare.text());
    assert_eq!(bare.json()["targets"], json!([]));

    let listed = app.get(&requests_uri(agent.agent_id), &token).await.json();
    let ids: Vec<_> = listed
        .as_array()
        .expect("list")
        .iter()
        .map(|request| request["id"].clone())
        .collect();
    assert_eq!(ids, [bare.json()["id"].clone(), created["id"].clone()]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'snapshot_request.create' AND actor_kind = 'api_token'")
            .await,
        2
    );
}

#[tokio::test]
async fn bad_requests_are_refused_with_what_is_wrong() {
    let (app, agent, token) = with_device().await;
    let bad_target = ask(
        &app,
        agent.agent_id,
        &token,
        json!({"targets": ["printer.corp.example", "bad host"]}),
    )
    .await;
    expect![[r#"
        {
          "error": {
            "code": "invalid_body",
            "message": "targets[1] \"bad host\" contains whitespace or a control character"
          }
        }"#]]
    .assert_eq(&bad_target.pretty());
    let too_many = ask(
        &app,
        agent.agent_id,
        &token,
        json!({"targets": vec!["h"; 17]}),
    )
    .await;
    assert_eq!(
        too_many.error(),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".to_string())
    );
    let too_short = ask(
        &app,
        agent.agent_id,
        &token,
        json!({"expires_in_seconds": 5}),
    )
    .await;
    assert!(
        too_short.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("expires_in_seconds"),
        "{}",
        too_short.text()
    );
    let unknown_field = ask(&app, agent.agent_id, &token, json!({"target": ["x"]})).await;
    assert_eq!(unknown_field.code(), "invalid_body");

    let unknown_device = ask(&app, Uuid::now_v7(), &token, json!({})).await;
    assert_eq!(
        unknown_device.error(),
        (StatusCode::NOT_FOUND, "not_found".to_string())
    );
    assert_eq!(
        app.get(&requests_uri(Uuid::now_v7()), &token).await.error(),
        (StatusCode::NOT_FOUND, "not_found".to_string())
    );
    assert_eq!(
        app.get(
            &format!("{}/{}", requests_uri(agent.agent_id), Uuid::now_v7()),
            &token
        )
        .await
        .error(),
        (StatusCode::NOT_FOUND, "not_found".to_string())
    );

    let anonymous = app
        .call(json_request(
            Method::POST,
            &requests_uri(agent.agent_id),
            None,
            json!({}),
        ))
        .await;
    assert_eq!(
        anonymous.error(),
        (StatusCode::UNAUTHORIZED, "missing_credentials".to_string())
    );
    let as_agent = ask(&app, agent.agent_id, &agent.agent_key, json!({})).await;
    assert_eq!(
        as_agent.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
    let poll_as_person = app.get("/api/v1/agent/requests?wait=0", &token).await;
    assert_eq!(
        poll_as_person.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
    for uri in [
        "/api/v1/agent/requests?wait=61".to_string(),
        format!(
            "{}/{}?wait=31",
            requests_uri(agent.agent_id),
            Uuid::now_v7()
        ),
    ] {
        let bearer = if uri.contains("agent/") {
            &agent.agent_key
        } else {
            &token
        };
        assert_eq!(
            app.get(&uri, bearer).await.error(),
            (StatusCode::BAD_REQUEST, "invalid_query".to_string()),
            "{uri}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshot_requests").await, 0);
}

#[tokio::test]
async fn a_poll_takes_queued_requests_at_once_and_marks_them_delivered() {
    let (app, agent, token) = with_device().await;
    let first = create(
        &app,
        agent.agent_id,
        &token,
        json!({"targets": ["10.0.0.5"]}),
    )
    .await;
    let second = create(&app, agent.agent_id, &token, json!({})).await;

    let started = Instant::now();
    let taken = poll(&app, &agent, 30).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let ids: Vec<_> = taken.iter().map(|request| request["id"].clone()).collect();
    assert_eq!(
        ids,
        [first["id"].clone(), second["id"].clone()],
        "oldest first"
    );
    let mut keys: Vec<_> = taken[0]
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "expires_at", "id", "targets"]);
    assert_eq!(taken[0]["targets"], json!(["10.0.0.5"]));

    let shown = app
        .get(
            &format!("{}/{}", requests_uri(agent.agent_id), id_of(&first)),
            &token,
        )
        .await
        .json();
    assert_eq!(shown["status"], json!("delivered"));
    assert!(shown["delivered_at"].is_string(), "{shown}");
    // Delivered, so not handed out again (until REDELIVER_AFTER).
    assert!(poll(&app, &agent, 0).await.is_empty());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'snapshot_request.deliver'")
            .await,
        2
    );
    assert_eq!(app.waiters.waiting_keys(), (0, 0));
}

#[tokio::test]
async fn a_waiting_poll_is_woken_by_a_new_request() {
    let (app, agent, token) = with_device().await;
    let started = Instant::now();
    let (taken, created) = tokio::join!(poll(&app, &agent, 30), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        create(
            &app,
            agent.agent_id,
            &token,
            json!({"targets": ["printer.corp.example"]}),
        )
        .await
    });
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0]["id"], created["id"]);
    assert_eq!(app.waiters.waiting_keys(), (0, 0));
    let metrics = app
        .call(request(Method::GET, "/metrics", None, Body::empty()))
        .await
        .text();
    assert!(
        metrics.contains("sitrep_long_polls_waiting 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sitrep_snapshot_requests_delivered_total 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_idle_poll_answers_empty_when_its_wait_is_over() {
    let app = TestApp::new().await;
    // Never sent a snapshot: no device yet, nothing pending, it just waits.
    let agent = app.enroll().await;
    let started = Instant::now();
    assert!(poll(&app, &agent, 1).await.is_empty());
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(950) && elapsed < Duration::from_secs(5),
        "took {elapsed:?}"
    );
    assert!(poll(&app, &agent, 0).await.is_empty());
    assert_eq!(app.waiters.waiting_keys(), (0, 0));
    // An idle poll writes nothing.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'snapshot_request.%'")
            .await,
        0
    );
}

#[tokio::test]
async fn expired_requests_are_never_delivered() {
    let (app, agent, token) = with_device().await;
    create(
        &app,
        agent.agent_id,
        &token,
        json!({"expires_in_seconds": 60}),
    )
    .await;
    let later = Utc::now() + chrono::Duration::seconds(61);
    assert_eq!(
        app.store
            .deliver_pending_requests(agent.agent_id, later)
            .await
            .expect("deliver"),
        []
    );

    let created = create(&app, agent.agent_id, &token, json!({})).await;
    app.execute("UPDATE snapshot_requests SET expires_at = 0")
        .await;
    assert!(poll(&app, &agent, 0).await.is_empty());
    let shown = app
        .get(
            &format!(
                "{}/{}?wait=30",
                requests_uri(agent.agent_id),
                id_of(&created)
            ),
            &token,
        )
        .await
        .json();
    assert_eq!(shown["status"], json!("expired"));

    // A snapshot answering it is stored all the same, without the link.
    let answer = send_with(
        &app,
        &agent,
        &format!("request={}", id_of(&created)),
        &snapshot(Some(agent.agent_id)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM snapshot_requests WHERE done_at IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn a_request_delivered_but_not_done_is_delivered_again_after_a_while() {
    let (app, agent, token) = with_device().await;
    let created = create(&app, agent.agent_id, &token, json!({})).await;
    let now = Utc::now();
    let deliver = |at| app.store.deliver_pending_requests(agent.agent_id, at);
    let first = deliver(now).await.expect("deliver");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].id, id_of(&created));
    let redeliver = chrono::Duration::from_std(REDELIVER_AFTER).expect("duration");
    let just_before = now + redeliver - chrono::Duration::seconds(1);
    assert_eq!(deliver(just_before).await.expect("deliver"), []);
    let again = deliver(now + redeliver).await.expect("deliver");
    assert_eq!(again, first);
    // Delivered again just now: the next poll finds nothing.
    assert_eq!(
        deliver(now + redeliver + chrono::Duration::seconds(1))
            .await
            .expect("deliver"),
        []
    );
}

#[tokio::test]
async fn the_answering_snapshot_marks_the_request_done_and_wakes_its_waiters() {
    let (app, agent, token) = with_device().await;
    let created = create(
        &app,
        agent.agent_id,
        &token,
        json!({"targets": ["10.0.0.5"]}),
    )
    .await;
    let request_id = id_of(&created);
    assert_eq!(poll(&app, &agent, 0).await.len(), 1);
    let mut fresh = snapshot(Some(agent.agent_id));
    fresh["trigger"] = json!("specialist_request");

    let wait_uri = format!("{}/{request_id}?wait=30", requests_uri(agent.agent_id));
    let started = Instant::now();
    let (waited, sent) = tokio::join!(app.get(&wait_uri, &token), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        send_with(&app, &agent, &format!("request={request_id}"), &fresh).await
    });
    let elapsed = started.elapsed();
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text());
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let done = waited.json();
    assert_eq!(done["status"], json!("done"), "{done}");
    assert_eq!(done["snapshot_id"], fresh["id"]);
    assert_eq!(
        done["snapshot_url"],
        json!(format!(
            "/api/v1/snapshots/{}",
            fresh["id"].as_str().expect("id")
        ))
    );
    assert!(done["done_at"].is_string());
    let url = done["snapshot_url"].as_str().expect("url");
    assert_eq!(app.get(url, &token).await.json()["id"], fresh["id"]);
    assert_eq!(app.waiters.waiting_keys(), (0, 0));

    // A repeat of the same upload stays a duplicate; a done request is not delivered again.
    let repeat = send_with(&app, &agent, &format!("request={request_id}"), &fresh).await;
    assert_eq!(repeat.status, StatusCode::OK, "{}", repeat.text());
    assert_eq!(repeat.json()["duplicate"], json!(true));
    let later = Utc::now() + chrono::Duration::from_std(REDELIVER_AFTER).expect("duration");
    assert_eq!(
        app.store
            .deliver_pending_requests(agent.agent_id, later)
            .await
            .expect("deliver"),
        []
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'snapshot.ingest' AND detail LIKE '%\"request_id\":\"%'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_snapshot_may_not_answer_another_devices_request() {
    let (app, agent, token) = with_device().await;
    let other = app.enroll().await;
    let created = create(&app, agent.agent_id, &token, json!({})).await;
    let answer = send_with(
        &app,
        &other,
        &format!("request={}", id_of(&created)),
        &snapshot(Some(other.agent_id)),
    )
    .await;
    assert_eq!(
        answer.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshots").await, 1);
    let shown = app
        .get(
            &format!("{}/{}", requests_uri(agent.agent_id), id_of(&created)),
            &token,
        )
        .await
        .json();
    assert_eq!(shown["status"], json!("queued"));
    // Nor look at it through its own device's path.
    assert_eq!(
        app.get(
            &format!("{}/{}", requests_uri(other.agent_id), id_of(&created)),
            &token
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_snapshot_naming_an_unknown_request_is_stored_without_the_link() {
    let (app, agent, _) = with_device().await;
    let answer = send_with(
        &app,
        &agent,
        &format!("request={}", Uuid::now_v7()),
        &snapshot(Some(agent.agent_id)),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshots").await, 2);
    let not_a_uuid = send_with(&app, &agent, "request=42", &snapshot(Some(agent.agent_id))).await;
    assert_eq!(not_a_uuid.code(), "invalid_query");
}
