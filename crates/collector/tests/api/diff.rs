//! `GET /api/v1/snapshots/{id}/diff`: against the device's last good snapshot by default or a
//! chosen one of the same device; no baseline, another device's snapshot, unknown ids and
//! credentials. The snapshots are recorded ones (tests/data/README.md).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sitrep_collector::store::{Enrollment, StoreError};
use uuid::Uuid;

use crate::common::{TestApp, request};

const OFFICE_OK: &str = include_str!("../data/office-ok.json");
const OFFICE_GATEWAY_DOWN: &str = include_str!("../data/office-gateway-down.json");
const OFFICE_MOVED: &str = include_str!("../data/office-moved.json");

/// A recorded snapshot as `agent`'s, with a fresh id, taken at `taken_at`.
fn recorded(json: &str, agent: &Enrollment, taken_at: &str) -> Value {
    let mut snapshot: Value = serde_json::from_str(json).expect("a recorded snapshot");
    snapshot["id"] = json!(Uuid::now_v7());
    snapshot["agent"]["agent_id"] = json!(agent.agent_id);
    snapshot["taken_at"] = json!(taken_at);
    snapshot
}

async fn send(app: &TestApp, agent: &Enrollment, snapshot: &Value) -> String {
    let sent = app.send(agent, snapshot).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text());
    snapshot["id"].as_str().expect("id").to_string()
}

/// One office machine's morning: fine at 09:00, its gateway dead at 10:00 (failing findings),
/// moved to another subnet by DHCP at 11:00.
struct Office {
    app: TestApp,
    token: String,
    agent: Enrollment,
    ok: String,
    down: String,
    moved: String,
}

async fn office() -> Office {
    let app = TestApp::new().await;
    let token = app.specialist().await;
    let agent = app.enroll().await;
    let ok = send(
        &app,
        &agent,
        &recorded(OFFICE_OK, &agent, "2026-11-25T09:00:00Z"),
    )
    .await;
    let down = send(
        &app,
        &agent,
        &recorded(OFFICE_GATEWAY_DOWN, &agent, "2026-11-25T10:00:00Z"),
    )
    .await;
    let moved = send(
        &app,
        &agent,
        &recorded(OFFICE_MOVED, &agent, "2026-11-25T11:00:00Z"),
    )
    .await;
    Office {
        app,
        token,
        agent,
        ok,
        down,
        moved,
    }
}

#[tokio::test]
async fn without_against_the_diff_starts_at_the_last_good_snapshot() {
    let office = office().await;
    let answer = office
        .app
        .get(
            &format!("/api/v1/snapshots/{}/diff", office.moved),
            &office.token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let diff = answer.json();
    // The 10:00 snapshot fails, so the baseline is the one before it.
    assert_eq!(diff["from"]["id"], json!(office.ok));
    assert_eq!(diff["from"]["worst_severity"], json!("pass"));
    assert_eq!(diff["to"]["id"], json!(office.moved));
    assert_eq!(diff["to"]["taken_at"], json!("2026-11-25T11:00:00Z"));
    let dns = &diff["network"]["dns"]["compared"];
    assert_eq!(dns["servers_added"], json!(["10.77.5.53"]));
    assert_eq!(dns["servers_removed"], json!(["10.77.0.1"]));
    assert_eq!(
        diff["network"]["routing"]["compared"]["default_gateways"],
        json!([{"family": "ipv4",
                "from": {"address": "10.77.0.1", "interface": "veth-c"},
                "to": {"address": "10.77.5.1", "interface": "veth-c"}}])
    );

    let down = office
        .app
        .get(
            &format!("/api/v1/snapshots/{}/diff", office.down),
            &office.token,
        )
        .await
        .json();
    assert_eq!(down["from"]["id"], json!(office.ok));
    let appeared: Vec<&str> = down["findings"]["appeared"]
        .as_array()
        .expect("appeared")
        .iter()
        .map(|finding| finding["id"].as_str().expect("id"))
        .collect();
    assert_eq!(appeared, ["net.dns.unreachable", "net.gateway.loss"]);
}

#[tokio::test]
async fn against_names_any_snapshot_of_the_device() {
    let office = office().await;
    let answer = office
        .app
        .get(
            &format!(
                "/api/v1/snapshots/{}/diff?against={}",
                office.moved, office.down
            ),
            &office.token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let diff = answer.json();
    assert_eq!(diff["from"]["id"], json!(office.down));
    assert_eq!(diff["from"]["worst_severity"], json!("fail"));
    let cleared: Vec<(&str, bool)> = diff["findings"]["cleared"]
        .as_array()
        .expect("cleared")
        .iter()
        .map(|cleared| {
            (
                cleared["finding"]["id"].as_str().expect("id"),
                cleared["now_passing"].as_bool().expect("now_passing"),
            )
        })
        .collect();
    assert_eq!(
        cleared,
        [("net.dns.unreachable", true), ("net.gateway.loss", true)]
    );

    // Backwards, and against itself, are answers too.
    let backwards = office
        .app
        .get(
            &format!(
                "/api/v1/snapshots/{}/diff?against={}",
                office.ok, office.moved
            ),
            &office.token,
        )
        .await;
    assert_eq!(backwards.status, StatusCode::OK);
    assert_eq!(backwards.json()["from"]["id"], json!(office.moved));
    let itself = office
        .app
        .get(
            &format!("/api/v1/snapshots/{}/diff?against={}", office.ok, office.ok),
            &office.token,
        )
        .await
        .json();
    assert_eq!(
        itself["findings"],
        json!({"appeared": [], "cleared": [], "severity_changed": []})
    );
}

#[tokio::test]
async fn without_an_earlier_good_snapshot_there_is_no_baseline() {
    let office = office().await;
    let first = office
        .app
        .get(
            &format!("/api/v1/snapshots/{}/diff", office.ok),
            &office.token,
        )
        .await;
    assert_eq!(
        first.error(),
        (StatusCode::NOT_FOUND, "no_baseline".to_string())
    );
    assert!(first.text().contains("against"), "{}", first.text());

    // Only failing snapshots before it: no baseline either.
    let app = &office.app;
    let agent = app.enroll().await;
    send(
        app,
        &agent,
        &recorded(OFFICE_GATEWAY_DOWN, &agent, "2026-11-25T09:00:00Z"),
    )
    .await;
    let fixed = send(
        app,
        &agent,
        &recorded(OFFICE_OK, &agent, "2026-11-25T09:30:00Z"),
    )
    .await;
    let answer = app
        .get(&format!("/api/v1/snapshots/{fixed}/diff"), &office.token)
        .await;
    assert_eq!(
        answer.error(),
        (StatusCode::NOT_FOUND, "no_baseline".to_string())
    );
}

#[tokio::test]
async fn another_devices_snapshot_is_no_baseline() {
    let office = office().await;
    let other = office.app.enroll().await;
    let theirs = send(
        &office.app,
        &other,
        &recorded(OFFICE_OK, &other, "2026-11-25T08:00:00Z"),
    )
    .await;
    let answer = office
        .app
        .get(
            &format!("/api/v1/snapshots/{}/diff?against={theirs}", office.moved),
            &office.token,
        )
        .await;
    assert_eq!(
        answer.error(),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "snapshot_of_another_device".to_string()
        )
    );
    // Nor does another device's history count as "last good".
    let mine = office
        .app
        .get(
            &format!("/api/v1/snapshots/{}/diff", office.moved),
            &office.token,
        )
        .await
        .json();
    assert_eq!(mine["from"]["id"], json!(office.ok));
}

#[tokio::test]
async fn unknown_or_malformed_ids_are_named() {
    let office = office().await;
    let unknown = Uuid::now_v7();
    let path = |id: &str, against: &str| format!("/api/v1/snapshots/{id}/diff{against}");
    let cases = [
        (
            path(&unknown.to_string(), ""),
            (StatusCode::NOT_FOUND, "not_found"),
        ),
        (
            path(&unknown.to_string(), &format!("?against={}", office.ok)),
            (StatusCode::NOT_FOUND, "not_found"),
        ),
        (
            path(&office.moved, &format!("?against={unknown}")),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_snapshot"),
        ),
        (
            path(&office.moved, "?against=yesterday"),
            (StatusCode::BAD_REQUEST, "invalid_query"),
        ),
        (
            path("not-a-uuid", ""),
            (StatusCode::BAD_REQUEST, "invalid_path"),
        ),
    ];
    for (uri, (status, code)) in cases {
        let answer = office.app.get(&uri, &office.token).await;
        assert_eq!(answer.error(), (status, code.to_string()), "{uri}");
    }
}

#[tokio::test]
async fn the_diff_needs_a_specialist_or_admin_token() {
    let office = office().await;
    let uri = format!("/api/v1/snapshots/{}/diff", office.moved);
    let anonymous = office
        .app
        .call(request(Method::GET, &uri, None, Body::empty()))
        .await;
    assert_eq!(
        anonymous.error(),
        (StatusCode::UNAUTHORIZED, "missing_credentials".to_string())
    );
    let agent = office.app.get(&uri, &office.agent.agent_key).await;
    assert_eq!(
        agent.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
    let admin = office.app.admin().await;
    assert_eq!(office.app.get(&uri, &admin).await.status, StatusCode::OK);
}

#[tokio::test]
async fn last_good_follows_the_history_order_and_names_unknown_snapshots() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    // Same time to the millisecond: the history orders by id next, and so does "before".
    let first = send(
        &app,
        &agent,
        &recorded(OFFICE_OK, &agent, "2026-11-25T09:00:00Z"),
    )
    .await;
    let second = send(
        &app,
        &agent,
        &recorded(OFFICE_MOVED, &agent, "2026-11-25T09:00:00Z"),
    )
    .await;
    let (first, second): (Uuid, Uuid) =
        (first.parse().expect("uuid"), second.parse().expect("uuid"));
    let device = app.store.snapshot_device(second).await.expect("device");
    assert_eq!(device, agent.agent_id);
    assert_eq!(
        app.store
            .last_good_before(device, second)
            .await
            .expect("read"),
        Some(first)
    );
    assert_eq!(
        app.store
            .last_good_before(device, first)
            .await
            .expect("read"),
        None
    );
    let unknown = Uuid::now_v7();
    assert!(matches!(
        app.store.last_good_before(device, unknown).await,
        Err(StoreError::NotFound {
            what: "snapshot",
            ..
        })
    ));
    assert!(matches!(
        app.store.snapshot_device(unknown).await,
        Err(StoreError::NotFound {
            what: "snapshot",
            ..
        })
    ));
}
