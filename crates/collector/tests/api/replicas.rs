//! Two collector apps on one PostgreSQL schema, as two replicas behind a load balancer: what
//! one commits, the other's long-polls hear at once (LISTEN/NOTIFY), a request is handed out
//! once however many polls race for it, and a revoked agent is refused by every replica.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sitrep_collector::store::Enrollment;

use crate::common::{TestApp, json_request, request, with_device};

async fn poll(app: &TestApp, agent: &Enrollment, wait: u64) -> Vec<Value> {
    let answer = app
        .call(request(
            Method::GET,
            &format!("/api/v1/agent/requests?wait={wait}"),
            Some(&agent.agent_key),
            Body::empty(),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    answer.json()["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn create_request(app: &TestApp, agent: &Enrollment, token: &str) -> Value {
    let answer = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/devices/{}/requests", agent.agent_id),
            Some(token),
            json!({}),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    answer.json()
}

#[tokio::test]
async fn a_request_made_on_one_replica_wakes_a_poll_on_the_other() {
    let (a, agent, token) = with_device().await;
    let b = a.replica().await;
    let started = Instant::now();
    let (taken, (created, made_at)) = tokio::join!(poll(&a, &agent, 30), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        (create_request(&b, &agent, &token).await, started.elapsed())
    });
    let woken_after = started.elapsed() - made_at;
    eprintln!("request made on B reached the poll on A in {woken_after:?}");
    assert!(woken_after < Duration::from_secs(5), "{woken_after:?}");
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0]["id"], created["id"]);
    // Both replicas see it delivered.
    for replica in [&a, &b] {
        let status = replica
            .get(
                &format!(
                    "/api/v1/devices/{}/requests/{}",
                    agent.agent_id,
                    created["id"].as_str().expect("an id")
                ),
                &token,
            )
            .await
            .json();
        assert_eq!(status["status"], "delivered");
    }
}

#[tokio::test]
async fn polls_racing_on_two_replicas_take_a_request_once() {
    let (a, agent, token) = with_device().await;
    let b = a.replica().await;
    let (on_a, on_b, created) = tokio::join!(poll(&a, &agent, 3), poll(&b, &agent, 3), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        create_request(&b, &agent, &token).await
    });
    let taken: Vec<&Value> = on_a.iter().chain(&on_b).collect();
    assert_eq!(taken.len(), 1, "A took {on_a:?}, B took {on_b:?}");
    assert_eq!(taken[0]["id"], created["id"]);
}

#[tokio::test]
async fn an_agent_revoked_on_one_replica_is_refused_by_the_other_at_once() {
    let (a, agent, _) = with_device().await;
    let b = a.replica().await;
    // A has found the key valid and keeps it in its cache.
    assert!(poll(&a, &agent, 0).await.is_empty());
    let admin = b.admin().await;
    let revoked = b
        .call(request(
            Method::POST,
            &format!("/api/v1/agents/{}/revoke", agent.agent_id),
            Some(&admin),
            Body::empty(),
        ))
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let started = Instant::now();
    loop {
        let answer = a
            .call(request(
                Method::GET,
                "/api/v1/agent/requests?wait=0",
                Some(&agent.agent_key),
                Body::empty(),
            ))
            .await;
        if answer.status == StatusCode::UNAUTHORIZED {
            break;
        }
        // The cache alone would keep the key for 30 s.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "replica A still accepts the revoked key"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
