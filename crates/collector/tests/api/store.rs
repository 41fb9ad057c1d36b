//! The store as the CLI uses it: opening by path or URL, reopening, migrating, refusing
//! databases it cannot serve.

use sitrep_collector::store::{Actor, Role, Store, StoreError};

#[tokio::test]
async fn a_store_reopens_with_its_data_and_migrates_idempotently() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("collector.db");
    let store = Store::open_sqlite(&path).await.expect("open");
    let (created, _) = store
        .create_api_token(Role::Specialist, "Sam", &Actor::Cli)
        .await
        .expect("token");
    store.ping().await.expect("ping");
    drop(store);

    let url = format!("sqlite://{}", path.display());
    let reopened = Store::connect(&url).await.expect("connect by URL");
    reopened.migrate().await.expect("migrate again");
    assert_eq!(reopened.list_api_tokens().await.expect("list"), [created]);
}

#[tokio::test]
async fn databases_the_store_cannot_serve_are_refused() {
    for url in [
        "postgres://localhost/test",
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
