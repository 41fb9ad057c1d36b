//! Snapshot retention: the newest snapshots per device and those younger than the age limit
//! stay, and so does whatever something points at; two replicas running it at once remove
//! each snapshot once and fail nothing.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use sitrep_collector::store::{Retention, Store};
use uuid::Uuid;

use crate::common::{TestApp, help, json_request, send_with, snapshot_of, with_finding};

/// Ten snapshots a day apart (2026-01-01 to -10); the newest three fail. The 2nd is attached
/// to a ticket, the 3rd was sent with a help request. Returns their ids, oldest first.
async fn history(app: &TestApp) -> Vec<Uuid> {
    let agent = app.enroll().await;
    let token = app.specialist().await;
    let ticket = app
        .call(json_request(
            Method::POST,
            "/api/v1/tickets",
            Some(&token),
            json!({"title": "Slow logins"}),
        ))
        .await
        .json();
    let mut ids = Vec::new();
    for day in 1..=10 {
        let mut snapshot = snapshot_of(
            &agent,
            "ws-17",
            &["ana"],
            &format!("2026-01-{day:02}T09:00:00Z"),
        );
        if day >= 8 {
            snapshot = with_finding(snapshot, "fail");
        }
        let sent = match day {
            2 => {
                let query = format!("ticket={}&note=before", ticket["id"]);
                send_with(app, &agent, &query, &snapshot).await
            }
            3 => {
                app.call(help(&agent.agent_key, "it is slow", &snapshot))
                    .await
            }
            _ => app.send(&agent, &snapshot).await,
        };
        assert!(sent.status.is_success(), "day {day}: {}", sent.text());
        ids.push(id_of(&snapshot));
    }
    ids
}

fn id_of(snapshot: &Value) -> Uuid {
    snapshot["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a snapshot id")
}

async fn kept(app: &TestApp, ids: &[Uuid]) -> Vec<usize> {
    let mut kept = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        if app.store.snapshot_json(*id).await.is_ok() {
            kept.push(n + 1);
        }
    }
    kept
}

fn at_noon(day: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, 12, 0, 0)
        .single()
        .expect("a valid date")
}

#[tokio::test]
async fn the_newest_stay_and_so_does_what_is_pointed_at() {
    let app = TestApp::new().await;
    let ids = history(&app).await;
    let newest_two = Retention {
        max_snapshots_per_device: Some(2),
        max_age: None,
    };
    let removed = app
        .store
        .apply_retention(newest_two, at_noon(10))
        .await
        .expect("retention");
    // Kept: the ticket's (2), the help request's (3), the last good one (7), the newest two
    // (9, 10). Day 10 is also the device's latest.
    assert_eq!(kept(&app, &ids).await, [2, 3, 7, 9, 10]);
    assert_eq!(removed, 5);
    assert_eq!(
        app.store
            .apply_retention(newest_two, at_noon(10))
            .await
            .expect("again"),
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'snapshot.retention' AND actor_kind = 'collector'")
            .await,
        1
    );
    // The history and the diff still work on what is left.
    let token = app.specialist().await;
    let diff = app
        .get(&format!("/api/v1/snapshots/{}/diff", ids[9]), &token)
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.text());
    assert_eq!(diff.json()["from"]["id"], json!(ids[6]));
}

#[tokio::test]
async fn snapshots_older_than_the_age_limit_go() {
    let app = TestApp::new().await;
    let ids = history(&app).await;
    let four_days = Retention {
        max_snapshots_per_device: None,
        max_age: Some(Duration::from_secs(4 * 86_400)),
    };
    // At noon on the 10th, four days back is noon on the 6th: days 1 to 6 are older.
    app.store
        .apply_retention(four_days, at_noon(10))
        .await
        .expect("retention");
    assert_eq!(kept(&app, &ids).await, [2, 3, 7, 8, 9, 10]);
}

#[tokio::test]
async fn replicas_applying_retention_at_once_remove_each_snapshot_once() {
    let app = TestApp::new().await;
    let ids = history(&app).await;
    let other = Store::connect(app.database.url())
        .await
        .expect("a second store");
    let keep_one = Retention {
        max_snapshots_per_device: Some(1),
        max_age: None,
    };
    let (first, second) = tokio::join!(
        app.store.apply_retention(keep_one, at_noon(10)),
        other.apply_retention(keep_one, at_noon(10)),
    );
    let removed = first.expect("first replica") + second.expect("second replica");
    let left = kept(&app, &ids).await;
    assert_eq!(left, [2, 3, 7, 10]);
    assert_eq!(removed, 6, "each removal counted once");
}
