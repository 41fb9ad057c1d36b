//! The store as the CLI uses it: opening by path or URL, reopening, migrating, refusing
//! databases it cannot serve.

use chrono::Utc;
use sitrep_collector::ingest;
use sitrep_collector::store::{Actor, Role, Store, StoreError};
use uuid::Uuid;

use crate::common::TestDatabase;

#[tokio::test]
async fn a_store_reopens_with_its_data_and_migrates_idempotently() {
    let database = TestDatabase::new().await;
    let store = Store::connect(database.url()).await.expect("open");
    let (created, _) = store
        .create_api_token(Role::Specialist, "Sam", &Actor::Cli)
        .await
        .expect("token");
    store.ping().await.expect("ping");
    drop(store);

    let reopened = Store::connect(database.url()).await.expect("reopen");
    reopened.migrate().await.expect("migrate again");
    assert_eq!(reopened.list_api_tokens().await.expect("list"), [created]);
}

#[tokio::test]
async fn databases_the_store_cannot_serve_are_refused() {
    for url in [
        "mysql://localhost/test",
        "sqlite::memory:",
        "sqlite://?mode=memory",
    ] {
        let refused = Store::connect(url).await;
        assert!(
            matches!(refused, Err(StoreError::UnsupportedUrl { .. })),
            "{url}: {refused:?}"
        );
    }
    let missing_dir =
        Store::open_sqlite(std::path::Path::new("/nonexistent/dir/collector.db")).await;
    assert!(
        matches!(missing_dir, Err(StoreError::Open { .. })),
        "{missing_dir:?}"
    );
}

#[tokio::test]
async fn one_bad_snapshot_in_a_batch_fails_alone() {
    let database = TestDatabase::new().await;
    let store = Store::connect(database.url()).await.expect("open");
    let (_, token) = store
        .create_enrollment_token(None, None, &Actor::Cli)
        .await
        .expect("token");
    let agent = store
        .enroll_agent(&token, None, "0.1.0".into())
        .await
        .expect("enroll");
    let prepare = |agent_id: Uuid| {
        let json = crate::common::snapshot(Some(agent_id)).to_string();
        ingest::prepare(json.as_bytes(), None, agent_id, Utc::now()).expect("a valid snapshot")
    };
    // An agent the database does not know: its device cannot be created. Queued together (the
    // writer only runs once all are queued), the batch's multi-row insert fails, and the
    // snapshots are stored one by one instead.
    let stranger = Uuid::now_v7();
    let mut snapshots: Vec<_> = (0..10).map(|_| prepare(agent.agent_id)).collect();
    snapshots.insert(5, prepare(stranger));
    let results = futures::future::join_all(
        snapshots
            .into_iter()
            .map(|snapshot| store.ingest(snapshot, None)),
    )
    .await;
    for (index, result) in results.iter().enumerate() {
        assert_eq!(result.is_ok(), index != 5, "{index}: {result:?}");
    }
    let device = store
        .device(agent.agent_id)
        .await
        .expect("the agent's device");
    assert_eq!(device.snapshots.len(), 10);
    assert!(matches!(
        store.device(stranger).await,
        Err(StoreError::NotFound { .. })
    ));
}
