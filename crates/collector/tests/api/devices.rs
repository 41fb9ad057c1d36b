//! Specialist routes for devices and snapshots: search, history, JSON and reports; unknown
//! ids and routes; server faults; the operations routes.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use expect_test::expect;
use serde_json::{Value, json};
use sitrep_collector::store::Backend;
use uuid::Uuid;

use crate::common::{TestApp, help, json_request, request, snapshot, snapshot_of, with_finding};

fn hostnames(devices: &Value) -> Vec<String> {
    devices
        .as_array()
        .expect("devices")
        .iter()
        .map(|device| device["hostname"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn devices_are_found_by_host_user_or_support_code() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let anna = app.enroll().await;
    let bert = app.enroll().await;
    app.send(
        &anna,
        &snapshot_of(
            &anna,
            "ACCT-LAPTOP-7",
            &["anna.schmidt"],
            "2026-11-25T09:00:00Z",
        ),
    )
    .await;
    app.send(
        &bert,
        &snapshot_of(&bert, "lab-pc-02", &["bert_x"], "2026-11-25T09:05:00Z"),
    )
    .await;

    assert_eq!(
        hostnames(&app.get("/api/v1/devices", &token).await.json()),
        ["lab-pc-02", "ACCT-LAPTOP-7"]
    );
    assert_eq!(
        hostnames(&app.get("/api/v1/devices?q=laptop", &token).await.json()),
        ["ACCT-LAPTOP-7"]
    );
    assert_eq!(
        hostnames(&app.get("/api/v1/devices?q=ANNA", &token).await.json()),
        ["ACCT-LAPTOP-7"]
    );
    // `_` is a wildcard in SQL LIKE; here it must match itself only.
    assert_eq!(
        hostnames(&app.get("/api/v1/devices?q=t_x", &token).await.json()),
        ["lab-pc-02"]
    );
    assert_eq!(
        hostnames(&app.get("/api/v1/devices?q=a_n", &token).await.json()),
        Vec::<String>::new()
    );

    let asked = app
        .call(help(
            &bert.agent_key,
            "printer won't print",
            &snapshot_of(&bert, "lab-pc-02", &["bert_x"], "2026-11-25T09:10:00Z"),
        ))
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
    let code = asked.json()["support_code"]
        .as_str()
        .expect("code")
        .to_string();
    let typed = code.replace('-', "").to_lowercase();
    assert_eq!(
        hostnames(
            &app.get(&format!("/api/v1/devices?q={typed}"), &token)
                .await
                .json()
        ),
        ["lab-pc-02"]
    );
    assert_eq!(
        hostnames(
            &app.get(&format!("/api/v1/devices?q={code}"), &token)
                .await
                .json()
        ),
        ["lab-pc-02"]
    );
}

#[tokio::test]
async fn a_device_shows_its_history_and_live_help_requests() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let agent = app.enroll().await;
    let first = app
        .send(
            &agent,
            &snapshot_of(&agent, "ws-17", &[], "2026-11-25T08:00:00Z"),
        )
        .await
        .json();
    let asked = app
        .call(help(
            &agent.agent_key,
            "slow",
            &with_finding(
                snapshot_of(&agent, "ws-17", &[], "2026-11-25T09:00:00Z"),
                "warn",
            ),
        ))
        .await
        .json();
    let device = app
        .get(
            &format!(
                "/api/v1/devices/{}",
                first["device_id"].as_str().expect("id")
            ),
            &token,
        )
        .await;
    assert_eq!(device.status, StatusCode::OK);
    let device = device.json();
    assert_eq!(device["id"], first["device_id"]);
    assert_eq!(device["agent_id"], json!(agent.agent_id));
    assert_eq!(device["worst_severity"], json!("warn"));
    let history: Vec<_> = device["snapshots"]
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| (entry["id"].clone(), entry["trigger"].clone()))
        .collect();
    assert_eq!(
        history,
        [
            (asked["snapshot_id"].clone(), json!("manual")),
            (first["snapshot_id"].clone(), json!("manual"))
        ]
    );
    assert_eq!(
        device["help_requests"][0]["support_code"],
        asked["support_code"]
    );
}

#[tokio::test]
async fn snapshots_are_served_as_json_and_as_reports() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let agent = app.enroll().await;
    let sent = with_finding(snapshot(Some(agent.agent_id)), "fail");
    app.send(&agent, &sent).await;
    let id = sent["id"].as_str().expect("id");

    let json = app.get(&format!("/api/v1/snapshots/{id}"), &token).await;
    assert_eq!(json.json(), sent);

    let html = app
        .get(&format!("/api/v1/snapshots/{id}/report"), &token)
        .await;
    assert_eq!(html.status, StatusCode::OK);
    assert_eq!(html.header("content-type"), "text/html; charset=utf-8");
    assert!(
        html.text().contains("DNS server 10.0.0.53 does not answer"),
        "{}",
        html.text()
    );

    let markdown = app
        .get(
            &format!("/api/v1/snapshots/{id}/report?format=markdown"),
            &token,
        )
        .await;
    assert_eq!(
        markdown.header("content-type"),
        "text/markdown; charset=utf-8"
    );
    assert!(
        markdown
            .text()
            .contains("DNS server 10.0.0.53 does not answer"),
        "{}",
        markdown.text()
    );

    let pdf = app
        .get(&format!("/api/v1/snapshots/{id}/report?format=pdf"), &token)
        .await;
    assert_eq!(
        pdf.error(),
        (StatusCode::BAD_REQUEST, "invalid_query".to_string())
    );
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_400() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let nobody = Uuid::now_v7();
    let not_found = (StatusCode::NOT_FOUND, "not_found".to_string());
    for uri in [
        format!("/api/v1/devices/{nobody}"),
        format!("/api/v1/snapshots/{nobody}"),
        format!("/api/v1/snapshots/{nobody}/report"),
        "/api/v1/tickets/999".to_string(),
        "/api/v1/help-requests/BBB-BBB".to_string(),
        "/api/v1/help-requests/not-a-code".to_string(),
    ] {
        assert_eq!(app.get(&uri, &token).await.error(), not_found, "{uri}");
    }
    for (uri, body) in [
        ("/api/v1/tickets/999/comments", json!({"body": "hello"})),
        (
            "/api/v1/tickets/999/attachments",
            json!({"snapshot_id": nobody}),
        ),
        ("/api/v1/tickets/999/close", json!({})),
        ("/api/v1/help-requests/BBB-BBB/ticket", json!({})),
    ] {
        assert_eq!(
            app.call(json_request(Method::POST, uri, Some(&token), body))
                .await
                .error(),
            not_found,
            "{uri}"
        );
    }
    let device = app.get(&format!("/api/v1/devices/{nobody}"), &token).await;
    expect![[r#"
        {
          "error": {
            "code": "not_found",
            "message": "device NOBODY not found"
          }
        }"#]]
    .assert_eq(&device.pretty().replace(&nobody.to_string(), "NOBODY"));

    let malformed = app.get("/api/v1/devices/not-a-uuid", &token).await;
    assert_eq!(
        malformed.error(),
        (StatusCode::BAD_REQUEST, "invalid_path".to_string())
    );
    assert_eq!(
        app.get("/api/v1/tickets/abc", &token).await.error(),
        (StatusCode::BAD_REQUEST, "invalid_path".to_string())
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_error_shape() {
    let app = TestApp::new().await;
    let route = app
        .call(request(
            Method::GET,
            "/api/v1/nothing-here",
            None,
            Body::empty(),
        ))
        .await;
    expect![[r#"
        {
          "error": {
            "code": "unknown_route",
            "message": "no route GET /api/v1/nothing-here"
          }
        }"#]]
    .assert_eq(&route.pretty());
    assert_eq!(route.status, StatusCode::NOT_FOUND);
    let method = app
        .call(request(
            Method::DELETE,
            "/api/v1/tickets",
            None,
            Body::empty(),
        ))
        .await;
    assert_eq!(
        method.error(),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed".to_string()
        )
    );
}

#[tokio::test]
async fn server_faults_say_internal_with_a_request_id_and_nothing_else() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let agent = app.enroll().await;
    let sent = snapshot(Some(agent.agent_id));
    app.send(&agent, &sent).await;
    app.execute(match crate::BACKEND {
        Backend::Sqlite => "UPDATE snapshots SET body_zstd = x'00010203'",
        Backend::Postgres => "UPDATE snapshots SET body_zstd = '\\x00010203'",
    })
    .await;
    let answer = app
        .get(
            &format!("/api/v1/snapshots/{}", sent["id"].as_str().expect("id")),
            &token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    let error = &answer.json()["error"];
    assert_eq!(error["code"], json!("internal"));
    let request_id = error["request_id"].as_str().expect("request id");
    let message = error["message"].as_str().expect("message");
    assert_eq!(
        message,
        format!(
            "internal error; the operator can find request id {request_id} in the collector's log"
        )
    );
}

#[tokio::test]
async fn operations_routes_answer() {
    let app = TestApp::new().await;
    let get = |uri: &str| request(Method::GET, uri, None, Body::empty());
    let health = app.call(get("/healthz")).await;
    assert_eq!(
        (health.status, health.text().as_str()),
        (StatusCode::OK, "ok")
    );
    let ready = app.call(get("/readyz")).await;
    assert_eq!(
        (ready.status, ready.text().as_str()),
        (StatusCode::OK, "ready")
    );
    let schema = app.call(get("/api/v1/schema/snapshot")).await;
    assert_eq!(schema.json(), sitrep_snapshot::json_schema());
}
