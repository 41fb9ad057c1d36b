//! Enrollment and credentials: who may call which route, and the 401/403 codes agents act on.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use expect_test::expect;
use serde_json::json;
use sitrep_collector::store::{Actor, Role};

use crate::common::{TestApp, json_request, request, snapshot};

fn enroll_with(token: &str) -> axum::http::Request<Body> {
    json_request(
        Method::POST,
        "/api/v1/enroll",
        None,
        json!({"token": token, "agent_version": "0.1.0"}),
    )
}

#[tokio::test]
async fn enrollment_returns_a_key_once_and_keeps_only_its_hash() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    assert!(agent.agent_key.starts_with("sa_"), "{}", agent.agent_key);
    assert_eq!(
        app.send(&agent, &snapshot(Some(agent.agent_id)))
            .await
            .status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM agents WHERE key_hash LIKE 'sa_%'")
            .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'agent.enroll' AND actor_kind = 'agent'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn enrollment_tokens_stop_working_when_expired_used_up_or_revoked() {
    let app = TestApp::new().await;
    let invalid = (
        StatusCode::UNAUTHORIZED,
        "invalid_enrollment_token".to_string(),
    );

    let (_, expired) = app
        .store
        .create_enrollment_token(None, Some(Utc::now() - Duration::minutes(1)), &Actor::Cli)
        .await
        .expect("token");
    assert_eq!(app.call(enroll_with(&expired)).await.error(), invalid);

    let (_, once) = app
        .store
        .create_enrollment_token(Some(1), Some(Utc::now() + Duration::hours(1)), &Actor::Cli)
        .await
        .expect("token");
    assert_eq!(
        app.call(enroll_with(&once)).await.status,
        StatusCode::CREATED
    );
    let second = app.call(enroll_with(&once)).await;
    expect![[r#"
        {
          "error": {
            "code": "invalid_enrollment_token",
            "message": "the enrollment token is unknown, revoked, expired or used up"
          }
        }"#]]
    .assert_eq(&second.pretty());

    let (info, revoked) = app
        .store
        .create_enrollment_token(None, None, &Actor::Cli)
        .await
        .expect("token");
    app.store
        .revoke_enrollment_token(&info.id.to_string(), &Actor::Cli)
        .await
        .expect("revoke");
    assert_eq!(app.call(enroll_with(&revoked)).await.error(), invalid);

    assert_eq!(
        app.call(enroll_with("se_not-a-token")).await.error(),
        invalid
    );
    let listed = app.store.list_enrollment_tokens().await.expect("list");
    let used = listed
        .iter()
        .find(|token| token.max_uses == Some(1))
        .expect("the one-use token");
    assert_eq!(used.uses, 1);
    assert!(listed.iter().any(|token| token.revoked_at.is_some()));
}

#[tokio::test]
async fn agent_routes_want_a_live_agent_key() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let body = snapshot(Some(agent.agent_id));

    let missing = app
        .call(json_request(
            Method::POST,
            "/api/v1/snapshots",
            None,
            body.clone(),
        ))
        .await;
    assert_eq!(
        missing.error(),
        (StatusCode::UNAUTHORIZED, "missing_credentials".to_string())
    );
    assert_eq!(missing.header("www-authenticate"), "Bearer");

    let unknown = app
        .call(json_request(
            Method::POST,
            "/api/v1/snapshots",
            Some("sa_0000"),
            body.clone(),
        ))
        .await;
    expect![[r#"
        {
          "error": {
            "code": "unknown_agent_key",
            "message": "the agent key is unknown or revoked"
          }
        }"#]]
    .assert_eq(&unknown.pretty());

    // The key works (and is remembered as valid) until it is revoked.
    assert_eq!(app.send(&agent, &body).await.status, StatusCode::CREATED);
    app.store
        .revoke_agent(&agent.agent_id.to_string(), &Actor::Cli)
        .await
        .expect("revoke");
    let revoked = app.send(&agent, &body).await;
    assert_eq!(
        revoked.error(),
        (StatusCode::UNAUTHORIZED, "unknown_agent_key".to_string())
    );

    let token = app.specialist().await;
    let as_person = app
        .call(json_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&token),
            body,
        ))
        .await;
    assert_eq!(
        as_person.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
}

#[tokio::test]
async fn specialist_routes_want_a_live_api_token() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;

    let with_agent_key = app.get("/api/v1/devices", &agent.agent_key).await;
    assert_eq!(
        with_agent_key.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );

    let missing = app
        .call(request(Method::GET, "/api/v1/tickets", None, Body::empty()))
        .await;
    assert_eq!(
        missing.error(),
        (StatusCode::UNAUTHORIZED, "missing_credentials".to_string())
    );
    let mut basic = request(Method::GET, "/api/v1/tickets", None, Body::empty());
    basic.headers_mut().insert(
        "authorization",
        "Basic dXNlcjpwYXNz".parse().expect("header"),
    );
    assert_eq!(
        app.call(basic).await.error(),
        (StatusCode::UNAUTHORIZED, "missing_credentials".to_string())
    );

    assert_eq!(
        app.get("/api/v1/tickets", "st_0000").await.error(),
        (StatusCode::UNAUTHORIZED, "unknown_api_token".to_string())
    );

    let (info, admin) = app
        .store
        .create_api_token(Role::Admin, "Ada Admin", &Actor::Cli)
        .await
        .expect("token");
    assert!(admin.starts_with("st_"));
    assert_eq!(
        app.get("/api/v1/tickets", &admin).await.status,
        StatusCode::OK
    );
    let revoked = app
        .store
        .revoke_api_token(&info.id.to_string(), &Actor::Cli)
        .await
        .expect("revoke");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        app.get("/api/v1/tickets", &admin).await.error(),
        (StatusCode::UNAUTHORIZED, "unknown_api_token".to_string())
    );
    // Revoking twice changes nothing and audits once; an unknown id is not found.
    app.store
        .revoke_api_token(&info.id.to_string(), &Actor::Cli)
        .await
        .expect("revoke again");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'api_token.revoke'")
            .await,
        1
    );
    assert!(
        app.store
            .revoke_api_token("no-such-id", &Actor::Cli)
            .await
            .is_err()
    );

    let tokens = app.store.list_api_tokens().await.expect("list");
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        (tokens[0].role, tokens[0].name.as_str()),
        (Role::Admin, "Ada Admin")
    );
}

#[tokio::test]
async fn enroll_bodies_are_checked() {
    let app = TestApp::new().await;
    let missing_version = app
        .call(json_request(
            Method::POST,
            "/api/v1/enroll",
            None,
            json!({"token": "se_x"}),
        ))
        .await;
    assert_eq!(
        missing_version.error(),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".to_string())
    );
    let too_long = app
        .call(json_request(
            Method::POST,
            "/api/v1/enroll",
            None,
            json!({"token": "se_x", "agent_version": "1", "hostname": "h".repeat(300)}),
        ))
        .await;
    assert_eq!(
        too_long.error(),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".to_string())
    );
}
