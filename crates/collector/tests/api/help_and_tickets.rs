//! Help requests (support codes, help to ticket) and built-in tickets.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sitrep_collector::api::HELP_TEXT_MAX_CHARS;
use uuid::Uuid;

use crate::common::{TestApp, help, json_request, raw_request, request, snapshot, snapshot_of};

#[tokio::test]
async fn a_help_request_gets_a_code_that_becomes_a_ticket() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let agent = app.enroll().await;
    let sent = snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:00:00Z");
    let asked = app
        .call(help(
            &agent.agent_key,
            "  Printer won't print\nsince the update  ",
            &sent,
        ))
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
    let asked = asked.json();
    let code = asked["support_code"].as_str().expect("code").to_string();
    assert_eq!(code.len(), 7);
    assert_eq!(asked["snapshot_id"], sent["id"]);

    // The agent retries: the same code, no second request.
    let retried = app
        .call(help(&agent.agent_key, "Printer won't print", &sent))
        .await;
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(retried.json()["support_code"], json!(code));
    assert_eq!(app.count("SELECT COUNT(*) FROM help_requests").await, 1);

    let typed = code.to_lowercase().replace('-', "");
    let found = app
        .get(&format!("/api/v1/help-requests/{typed}"), &token)
        .await
        .json();
    assert_eq!(
        found["text"],
        json!("Printer won't print\nsince the update")
    );
    assert_eq!(found["hostname"], json!("ws-17"));
    assert_eq!(found["status"], json!("open"));
    let listed = app
        .get(&format!("/api/v1/help-requests?code={code}"), &token)
        .await
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(
        app.get("/api/v1/help-requests", &token)
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        app.get("/api/v1/help-requests?code=0OI", &token)
            .await
            .error(),
        (StatusCode::BAD_REQUEST, "invalid_query".to_string())
    );

    let made = app
        .call(request(
            Method::POST,
            &format!("/api/v1/help-requests/{code}/ticket"),
            Some(&token),
            Body::empty(),
        ))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text());
    let ticket = made.json();
    assert_eq!(ticket["title"], json!("Printer won't print"));
    assert_eq!(ticket["device_id"], found["device_id"]);
    let again = app
        .call(request(
            Method::POST,
            &format!("/api/v1/help-requests/{code}/ticket"),
            Some(&token),
            Body::empty(),
        ))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], ticket["id"]);

    let detail = app
        .get(&format!("/api/v1/tickets/{}", ticket["id"]), &token)
        .await
        .json();
    assert_eq!(detail["attachments"][0]["snapshot_id"], sent["id"]);
    assert_eq!(
        detail["attachments"][0]["note"],
        json!(format!("Help request {code}"))
    );
    let found = app
        .get(&format!("/api/v1/help-requests/{code}"), &token)
        .await
        .json();
    assert_eq!(
        (found["status"].clone(), found["ticket_id"].clone()),
        (json!("ticketed"), ticket["id"].clone())
    );

    app.call(request(
        Method::POST,
        &format!("/api/v1/tickets/{}/close", ticket["id"]),
        Some(&token),
        Body::empty(),
    ))
    .await;
    let found = app
        .get(&format!("/api/v1/help-requests/{code}"), &token)
        .await
        .json();
    assert_eq!(found["status"], json!("closed"));
    // A closed request's code no longer finds the device.
    assert_eq!(
        app.get(&format!("/api/v1/devices?q={code}"), &token)
            .await
            .json(),
        json!([])
    );
}

#[tokio::test]
async fn help_text_is_required_and_bounded() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let long = "x".repeat(HELP_TEXT_MAX_CHARS + 1);
    for text in ["   ", long.as_str()] {
        let answer = app
            .call(help(
                &agent.agent_key,
                text,
                &snapshot(Some(agent.agent_id)),
            ))
            .await;
        assert_eq!(
            answer.error(),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text".to_string())
        );
    }
    let exactly = "é".repeat(HELP_TEXT_MAX_CHARS);
    assert_eq!(
        app.call(help(
            &agent.agent_key,
            &exactly,
            &snapshot(Some(agent.agent_id))
        ))
        .await
        .status,
        StatusCode::CREATED
    );
    let malformed = app
        .call(json_request(
            Method::POST,
            "/api/v1/help",
            Some(&agent.agent_key),
            json!({"text": "hi"}),
        ))
        .await;
    assert_eq!(
        malformed.error(),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".to_string())
    );
    let token = app.specialist().await;
    let as_person = app
        .call(help(&token, "hi", &snapshot(Some(agent.agent_id))))
        .await;
    assert_eq!(
        as_person.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
}

#[tokio::test]
async fn tickets_are_created_commented_attached_and_closed() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let agent = app.enroll().await;
    let sent = app
        .send(&agent, &snapshot(Some(agent.agent_id)))
        .await
        .json();

    let created = app
        .call(json_request(Method::POST, "/api/v1/tickets", Some(&token), json!({"title": " VPN drops hourly ", "body": "Since Monday.", "device_id": sent["device_id"]})))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let ticket = created.json();
    assert_eq!(
        (ticket["title"].clone(), ticket["status"].clone()),
        (json!("VPN drops hourly"), json!("open"))
    );
    assert_eq!(ticket["created_by"]["kind"], json!("api_token"));
    let id = ticket["id"].clone();

    let comment = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/tickets/{id}/comments"),
            Some(&token),
            json!({"body": "Asked for a reboot."}),
        ))
        .await;
    assert_eq!(comment.status, StatusCode::CREATED, "{}", comment.text());

    let attach = json!({"snapshot_id": sent["snapshot_id"], "note": "before reboot"});
    let first = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/tickets/{id}/attachments"),
            Some(&token),
            attach.clone(),
        ))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let second = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/tickets/{id}/attachments"),
            Some(&token),
            attach,
        ))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.json(), first.json());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ticket_attachments").await,
        1
    );
    let unknown_snapshot = json!({"snapshot_id": Uuid::now_v7()});
    let answer = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/tickets/{id}/attachments"),
            Some(&token),
            unknown_snapshot,
        ))
        .await;
    assert_eq!(
        answer.error(),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_snapshot".to_string()
        )
    );

    let detail = app
        .get(&format!("/api/v1/tickets/{id}"), &token)
        .await
        .json();
    assert_eq!(detail["comments"][0]["body"], json!("Asked for a reboot."));
    assert_eq!(detail["attachments"][0]["note"], json!("before reboot"));
    assert_eq!(detail["attachments"][0]["worst_severity"], json!("pass"));

    let closed = app
        .call(request(
            Method::POST,
            &format!("/api/v1/tickets/{id}/close"),
            Some(&token),
            Body::empty(),
        ))
        .await;
    assert_eq!(closed.status, StatusCode::OK);
    assert_eq!(closed.json()["status"], json!("closed"));
    let closed_again = app
        .call(request(
            Method::POST,
            &format!("/api/v1/tickets/{id}/close"),
            Some(&token),
            Body::empty(),
        ))
        .await;
    assert_eq!(closed_again.status, StatusCode::OK);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'ticket.close'")
            .await,
        1
    );

    assert_eq!(
        app.get("/api/v1/tickets", &token)
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        app.get("/api/v1/tickets?status=open", &token).await.json(),
        json!([])
    );
    assert_eq!(
        app.get("/api/v1/tickets?status=closed", &token)
            .await
            .json()[0]["id"],
        id
    );
    assert_eq!(
        app.get("/api/v1/tickets?status=maybe", &token)
            .await
            .error(),
        (StatusCode::BAD_REQUEST, "invalid_query".to_string())
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE actor_kind = 'api_token' AND action LIKE 'ticket.%'").await, 4);
}

#[tokio::test]
async fn ticket_bodies_are_checked() {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let invalid = (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".to_string());
    let post = |body: Value| json_request(Method::POST, "/api/v1/tickets", Some(&token), body);
    assert_eq!(
        app.call(post(json!({"title": "  "}))).await.error(),
        invalid
    );
    assert_eq!(
        app.call(post(json!({"title": "x".repeat(201)})))
            .await
            .error(),
        invalid
    );
    assert_eq!(
        app.call(post(json!({"title": "ok", "priority": "high"})))
            .await
            .error(),
        invalid
    );
    let unknown_device = app
        .call(post(json!({"title": "ok", "device_id": Uuid::now_v7()})))
        .await;
    assert_eq!(
        unknown_device.error(),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_device".to_string()
        )
    );
    let not_json = app
        .call(raw_request(
            Method::POST,
            "/api/v1/tickets",
            Some(&token),
            Some("text/plain"),
            None,
            b"title".to_vec(),
        ))
        .await;
    assert_eq!(
        not_json.error(),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type".to_string()
        )
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM tickets").await, 0);
}
