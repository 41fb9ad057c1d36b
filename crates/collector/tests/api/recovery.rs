//! A PostgreSQL server that drops the collector's connections (a restart, a failover): the
//! writer and the read pool connect again by themselves; a write caught in the break is
//! refused, never acknowledged and lost; what was stored before is all there.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::{snapshot, with_device};

#[tokio::test]
async fn the_store_connects_again_after_the_server_drops_its_connections() {
    let (app, agent, token) = with_device().await;
    let dropped = app.database.drop_connections().await;
    assert!(dropped >= 2, "the writer and a reader at least: {dropped}");

    let mut refused = 0;
    let mut stored: Option<Value> = None;
    for _ in 0..10 {
        let sent = snapshot(Some(agent.agent_id));
        let answer = app.send(&agent, &sent).await;
        match answer.status {
            StatusCode::CREATED => {
                stored = Some(sent);
                break;
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::INTERNAL_SERVER_ERROR => {
                refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            status => panic!("{status}: {}", answer.text()),
        }
    }
    let stored = stored.expect("an ingest succeeds again after the connections were dropped");
    assert!(refused <= 1, "{refused} ingests refused after the break");
    let device = app
        .get(&format!("/api/v1/devices/{}", agent.agent_id), &token)
        .await;
    assert_eq!(device.status, StatusCode::OK, "{}", device.text());
    let history = device.json()["snapshots"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        history.len(),
        2,
        "the first snapshot and the one after the break"
    );
    assert_eq!(history[0]["id"], stored["id"]);
}
