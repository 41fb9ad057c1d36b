//! What the collector keeps about agents beyond their snapshots: how many snapshots their spool
//! dropped, and revoking them (admins only).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;
use sitrep_collector::store::Actor;
use uuid::Uuid;

use crate::common::{request, send_with, snapshot, with_device};

#[tokio::test]
async fn dropped_spool_counts_add_up_on_the_device() {
    let (app, agent, token) = with_device().await;
    let first = snapshot(Some(agent.agent_id));
    for (body, dropped) in [(&first, 3), (&snapshot(Some(agent.agent_id)), 4)] {
        let answer = send_with(&app, &agent, &format!("spool_dropped={dropped}"), body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    }
    // A repeat changes nothing, its count included.
    let repeat = send_with(&app, &agent, "spool_dropped=3", &first).await;
    assert_eq!(repeat.status, StatusCode::OK);
    // Snapshots queued together are counted together.
    let together = futures::future::join_all((0..5).map(|_| {
        let body = snapshot(Some(agent.agent_id));
        let (app, agent) = (&app, &agent);
        async move { send_with(app, agent, "spool_dropped=1", &body).await.status }
    }))
    .await;
    assert!(together.iter().all(|status| *status == StatusCode::CREATED));

    let device = app
        .get(&format!("/api/v1/devices/{}", agent.agent_id), &token)
        .await
        .json();
    assert_eq!(device["spool_dropped"], json!(12));
    let listed = app.get("/api/v1/devices", &token).await.json();
    assert_eq!(listed[0]["spool_dropped"], json!(12));
    assert_eq!(
        app.count("SELECT CAST(SUM(spool_dropped) AS BIGINT) FROM snapshots")
            .await,
        12
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'snapshot.ingest' AND detail LIKE '%\"spool_dropped\":4%'")
            .await,
        1
    );
}

#[tokio::test]
async fn admins_revoke_agents_and_specialists_cannot() {
    let (app, agent, specialist) = with_device().await;
    let admin = app.admin().await;
    let revoke = |bearer: &str, id: Uuid| {
        app.call(request(
            Method::POST,
            &format!("/api/v1/agents/{id}/revoke"),
            Some(bearer),
            Body::empty(),
        ))
    };
    assert_eq!(
        revoke(&specialist, agent.agent_id).await.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
    assert_eq!(
        revoke(&agent.agent_key, agent.agent_id).await.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
    assert_eq!(
        revoke(&admin, Uuid::now_v7()).await.error(),
        (StatusCode::NOT_FOUND, "not_found".to_string())
    );
    assert_eq!(
        app.get("/api/v1/agent/requests?wait=0", &agent.agent_key)
            .await
            .status,
        StatusCode::OK
    );

    let revoked = revoke(&admin, agent.agent_id).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let info = revoked.json();
    assert_eq!(info["id"], json!(agent.agent_id));
    assert!(info["revoked_at"].is_string(), "{info}");
    assert!(info["last_seen_at"].is_string(), "{info}");
    // At once, though the key was cached as valid by the calls above.
    let next = app
        .get("/api/v1/agent/requests?wait=0", &agent.agent_key)
        .await;
    assert_eq!(
        next.error(),
        (StatusCode::UNAUTHORIZED, "unknown_agent_key".to_string())
    );
    assert_eq!(
        app.send(&agent, &snapshot(Some(agent.agent_id)))
            .await
            .error(),
        (StatusCode::UNAUTHORIZED, "unknown_agent_key".to_string())
    );
    // Again: nothing changes, one audit row.
    assert_eq!(revoke(&admin, agent.agent_id).await.status, StatusCode::OK);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'agent.revoke' AND actor_kind = 'api_token'")
            .await,
        1
    );

    let listed = app.store.list_agents().await.expect("list agents");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].hostname.as_deref(), Some("vm"));
    let line = listed[0].to_string();
    assert!(line.contains("revoked "), "{line}");
    let store_revoke = app.store.revoke_agent("not-an-id", &Actor::Cli).await;
    assert!(store_revoke.is_err());
}
