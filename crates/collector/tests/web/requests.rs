//! "Request fresh snapshot": the form queues a request the agent's long-poll receives, the
//! waiting page (and its JSON wait) follows it until the snapshot arrives.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use crate::client::Client;
use crate::common::{send_with, snapshot_of};

#[tokio::test]
async fn a_requested_snapshot_is_awaited_and_then_shown() {
    let mut client = Client::logged_in().await;
    let agent = client.app.enroll().await;
    let device = agent.agent_id;
    let first = snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:00:00Z");
    assert_eq!(
        client.app.send(&agent, &first).await.status,
        StatusCode::CREATED
    );
    client.get(&format!("/devices/{device}")).await;

    let answer = client
        .post(
            &format!("/devices/{device}/requests"),
            &[(
                "targets",
                "printer.corp.example, 10.0.0.5  mail.corp.example:993,",
            )],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
    let waiting = answer.location().to_string();
    let request_id = waiting
        .strip_prefix(&format!("/devices/{device}/requests/"))
        .unwrap_or_else(|| panic!("{waiting}"))
        .to_string();
    assert_eq!(
        client
            .app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'snapshot_request.create' AND actor_kind = 'api_token'")
            .await,
        1
    );

    let page = client.get(&waiting).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.text();
    let wait = format!("/devices/{device}/requests/{request_id}/wait");
    for part in [
        format!(
            r#"<p id="request-status" role="status" aria-live="polite" data-wait="{wait}">waiting…</p>"#
        ),
        r#"<noscript><meta http-equiv="refresh" content="3"></noscript>"#.to_string(),
        r#"<script src="/assets/web.js?v="#.to_string(),
        "printer.corp.example, 10.0.0.5, mail.corp.example:993".to_string(),
    ] {
        assert!(page.contains(&part), "{part} in {page}");
    }
    // The script the page loads is served.
    let script = client.get("/assets/web.js").await;
    assert_eq!(
        script.header("content-type"),
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().contains("request-status"));

    // The agent's long-poll gets the request with its targets.
    let polled = client
        .app
        .get("/api/v1/agent/requests?wait=0", &agent.agent_key)
        .await
        .json();
    assert_eq!(polled["requests"][0]["id"], json!(request_id));
    assert_eq!(
        polled["requests"][0]["targets"],
        json!(["printer.corp.example", "10.0.0.5", "mail.corp.example:993"])
    );

    // The page's script waits; the agent answers meanwhile.
    let fresh = snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:10:00Z");
    let snapshot_id = fresh["id"].as_str().expect("id").to_string();
    let started = std::time::Instant::now();
    let (waited, answered) = tokio::join!(client.app.call(client.get_request(&wait)), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        send_with(
            &client.app,
            &agent,
            &format!("request={request_id}"),
            &fresh,
        )
        .await
    });
    assert_eq!(answered.status, StatusCode::CREATED, "{}", answered.text());
    assert_eq!(waited.status, StatusCode::OK, "{}", waited.text());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken, not timed out"
    );
    let waited = waited.json();
    assert_eq!(waited["status"], json!("done"));
    assert_eq!(waited["snapshot_id"], json!(snapshot_id));

    // Without script, the page itself now leads to the report.
    client
        .get(&waiting)
        .await
        .assert_see_other(&format!("/snapshots/{snapshot_id}"));
    assert_eq!(client.app.waiters.waiting_keys(), (0, 0));
}

#[tokio::test]
async fn bad_targets_and_unknown_devices_are_refused() {
    let mut client = Client::logged_in().await;
    let agent = client.app.enroll().await;
    let first = snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:00:00Z");
    client.app.send(&agent, &first).await;
    client.get("/devices").await;
    let many = vec!["h"; 17].join(" ");
    let answer = client
        .post(
            &format!("/devices/{}/requests", agent.agent_id),
            &[("targets", &many)],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.text().contains("targets has 17 entries; at most 16"),
        "{}",
        answer.text()
    );
    let answer = client
        .post(
            &format!("/devices/{}/requests", agent.agent_id),
            &[("targets", "a\u{7}b")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let answer = client
        .post(
            "/devices/0190c0de-0000-7000-8000-000000000000/requests",
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(
        client
            .app
            .count("SELECT COUNT(*) FROM snapshot_requests")
            .await,
        0
    );

    // No targets at all is the common case.
    let answer = client
        .post(
            &format!("/devices/{}/requests", agent.agent_id),
            &[("targets", "")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        client
            .app
            .count("SELECT COUNT(*) FROM snapshot_requests WHERE targets = '[]'")
            .await,
        1
    );
}
