//! `sitrep-collector migrate --from sqlite:PATH --to postgres://...` with the real binary: an
//! install made through the command line moves to PostgreSQL, where the same commands find
//! everything; running it again copies nothing twice; a mistyped source is named, and no empty
//! database is made in its place.
//!
//! Needs PostgreSQL (a fresh schema, `src/postgres.rs`); no network traffic otherwise.

use std::path::PathBuf;
use std::process::Output;

use sitrep_tests::ingest::CollectorBinary;
use sitrep_tests::postgres::TestSchema;

fn collector(data_dir: PathBuf, database_url: Option<String>) -> CollectorBinary {
    CollectorBinary {
        path: assert_cmd::cargo::cargo_bin("sitrep-collector"),
        data_dir,
        database_url,
    }
}

fn migrate(sqlite: &CollectorBinary, from: &str, to: &str) -> Output {
    sqlite
        .command()
        .args(["migrate", "--from", from, "--to", to])
        .output()
        .expect("run sitrep-collector migrate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_install_moves_from_sqlite_to_postgresql() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let schema = TestSchema::create().unwrap_or_else(|error| panic!("{error}"));
    let sqlite = collector(dir.path().to_path_buf(), None);
    let token = sqlite
        .admin(&["token", "create", "--role", "specialist", "--name", "alice"])
        .expect("token");
    sqlite
        .admin(&["enroll-token", "create", "--uses", "3"])
        .expect("enrollment token");
    let tokens_before = sqlite.admin(&["token", "list"]).expect("token list");
    let enroll_tokens_before = sqlite.admin(&["enroll-token", "list"]).expect("list");

    let from = format!("sqlite:{}", dir.path().join("sitrep.db").display());
    let moved = migrate(&sqlite, &from, &schema.tcp_url());
    let stdout = text(&moved.stdout);
    assert!(moved.status.success(), "{stdout}{}", text(&moved.stderr));
    assert!(stdout.contains("api_tokens"), "{stdout}");
    assert!(stdout.contains("enrollment_tokens"), "{stdout}");
    assert!(stdout.contains("serve with --database-url"), "{stdout}");

    let postgres = collector(dir.path().join("unused"), Some(schema.tcp_url()));
    assert_eq!(
        postgres.admin(&["token", "list"]).expect("list"),
        tokens_before
    );
    assert_eq!(
        postgres.admin(&["enroll-token", "list"]).expect("list"),
        enroll_tokens_before
    );
    assert!(tokens_before.contains("alice"), "{tokens_before}");
    assert!(token.starts_with("st_"), "{token}");

    let again = migrate(&sqlite, &from, &schema.tcp_url());
    let stdout = text(&again.stdout);
    assert!(again.status.success(), "{stdout}{}", text(&again.stderr));
    assert!(stdout.contains("copied 0 rows"), "{stdout}");
}

#[test]
fn a_mistyped_source_is_named() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let schema = TestSchema::create().unwrap_or_else(|error| panic!("{error}"));
    let sqlite = collector(dir.path().to_path_buf(), None);
    let typo = dir.path().join("sitrep.bd");
    let refused = migrate(
        &sqlite,
        &format!("sqlite:{}", typo.display()),
        &schema.tcp_url(),
    );
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(&format!("there is no database at {}", typo.display())),
        "{stderr}"
    );
    assert!(!typo.exists());
}
