//! `migrate --from sqlite:PATH --to postgres://...` as the store does it: everything an install
//! holds arrives in PostgreSQL unchanged, agents' keys keep working, numbering continues after
//! the copied rows, a second run completes or confirms the first, and a mistyped source is
//! named instead of copied as an empty database.

use axum::http::{Method, StatusCode};
use serde_json::json;
use sitrep_collector::store::{Actor, Backend, NewTicket, Store, StoreError};

use crate::common::{TestApp, TestDatabase, help, json_request, snapshot_of, with_device};

#[tokio::test]
async fn an_sqlite_install_moves_to_postgresql_with_everything() {
    let (app, agent, token) = with_device().await;
    assert_eq!(app.store.backend(), Backend::Sqlite);
    let later = snapshot_of(&agent, "ws-17", &["ana"], "2026-11-25T10:00:00Z");
    assert_eq!(
        app.call(help(&agent.agent_key, "printer offline", &later))
            .await
            .status,
        StatusCode::CREATED
    );
    let ticket = app
        .call(json_request(
            Method::POST,
            "/api/v1/tickets",
            Some(&token),
            json!({"title": "Printer offline", "body": "since Monday"}),
        ))
        .await
        .json();
    let ticket_id = ticket["id"].as_i64().expect("a ticket id");
    let commented = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/tickets/{ticket_id}/comments"),
            Some(&token),
            json!({"body": "asked for a fresh snapshot"}),
        ))
        .await;
    assert!(commented.status.is_success(), "{}", commented.text());
    let requested = app
        .call(json_request(
            Method::POST,
            &format!("/api/v1/devices/{}/requests", agent.agent_id),
            Some(&token),
            json!({"targets": ["printer.corp.example"]}),
        ))
        .await;
    assert_eq!(
        requested.status,
        StatusCode::CREATED,
        "{}",
        requested.text()
    );

    let target = TestDatabase::on(Backend::Postgres).await;
    let mut reported = Vec::new();
    let copied = Store::copy_sqlite_to_postgres(app.database.url(), target.url(), |table| {
        reported.push(table.table)
    })
    .await
    .expect("copy");
    assert_eq!(reported.len(), copied.len());
    for table in &copied {
        assert_eq!(table.inserted, table.source_rows, "{table:?}");
        assert_eq!(table.target_rows, table.source_rows, "{table:?}");
    }

    let moved = Store::connect(target.url()).await.expect("open the copy");
    assert_eq!(moved.backend(), Backend::Postgres);
    assert_eq!(
        moved.list_api_tokens().await.expect("tokens"),
        app.store.list_api_tokens().await.expect("tokens")
    );
    assert_eq!(
        moved.list_agents().await.expect("agents"),
        app.store.list_agents().await.expect("agents")
    );
    assert_eq!(
        moved.search_devices(None).await.expect("devices"),
        app.store.search_devices(None).await.expect("devices")
    );
    let device = app.store.device(agent.agent_id).await.expect("device");
    assert_eq!(moved.device(agent.agent_id).await.expect("device"), device);
    for entry in &device.snapshots {
        assert_eq!(
            moved.snapshot_json(entry.id).await.expect("body"),
            app.store.snapshot_json(entry.id).await.expect("body"),
            "the body of {}",
            entry.id
        );
    }
    assert_eq!(
        moved.ticket(ticket_id).await.expect("ticket"),
        app.store.ticket(ticket_id).await.expect("ticket")
    );
    assert_eq!(
        moved
            .snapshot_requests(agent.agent_id)
            .await
            .expect("requests"),
        app.store
            .snapshot_requests(agent.agent_id)
            .await
            .expect("requests")
    );
    assert_eq!(
        moved.agent_for_key(&agent.agent_key).await.expect("key"),
        Some(agent.agent_id)
    );
    // Numbering goes on after the copied rows.
    let next = moved
        .create_ticket(
            NewTicket {
                title: "Another".into(),
                body: String::new(),
                device_id: None,
            },
            &Actor::Cli,
        )
        .await
        .expect("a new ticket");
    assert_eq!(next.id, ticket_id + 1);

    // A second run finds everything there.
    let again = Store::copy_sqlite_to_postgres(app.database.url(), target.url(), |_| {})
        .await
        .expect("copy again");
    assert!(
        again
            .iter()
            .all(|table| table.inserted == 0 || table.table == "audit_log"),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_missing_source_or_a_wrong_target_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = format!("sqlite://{}", dir.path().join("typo.db").display());
    let target = TestDatabase::on(Backend::Postgres).await;
    let refused = Store::copy_sqlite_to_postgres(&missing, target.url(), |_| {}).await;
    assert!(
        matches!(refused, Err(StoreError::MissingDatabase(_))),
        "{refused:?}"
    );
    assert!(
        !dir.path().join("typo.db").exists(),
        "no empty database was made"
    );

    let app = TestApp::new().await;
    let to_sqlite =
        Store::copy_sqlite_to_postgres(app.database.url(), app.database.url(), |_| {}).await;
    assert!(
        matches!(to_sqlite, Err(StoreError::UnsupportedUrl { .. })),
        "{to_sqlite:?}"
    );
}
