//! A PostgreSQL schema of its own for each test, so tests share one server without seeing each
//! other's tables: made on the server `SITREP_TEST_POSTGRES` names (by default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped with everything in it when the guard
//! goes, also when the test panicked.
//!
//! ```no_run
//! # fn main() -> Result<(), sitrep_tests::postgres::PostgresError> {
//! use sitrep_tests::postgres::TestSchema;
//! let schema = TestSchema::create()?;
//! // From the host:
//! let url = schema.tcp_url();
//! // From inside a network namespace, whose 127.0.0.1 is its own:
//! let url = schema.socket_url();
//! # Ok(()) }
//! ```

use std::io::Write;
use std::time::Duration;

use reqwest::Url;
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};
use uuid::Uuid;

/// The environment variable that names the server, as a `postgres://` URL.
pub const SERVER_VARIABLE: &str = "SITREP_TEST_POSTGRES";

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Where the server's unix socket lives: the way to it from inside a network namespace.
const SOCKET_DIR: &str = "/var/run/postgresql";

/// A refused connection fails at once; this bounds a server that accepts and never answers.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the schema could not be made (or dropped).
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    #[error("{SERVER_VARIABLE}={url:?} is not a URL: {reason}")]
    BadServerUrl { url: String, reason: String },
    #[error(
        "cannot reach PostgreSQL at {url} (the end-to-end tests need it; set {SERVER_VARIABLE} \
         to use another server): {reason}"
    )]
    Unreachable { url: String, reason: String },
    #[error("`{sql}` failed on {url}: {source}")]
    Statement {
        sql: String,
        url: String,
        source: sqlx::Error,
    },
    #[error("cannot start a runtime to talk to PostgreSQL: {0}")]
    Runtime(std::io::Error),
}

/// The schema `sitrep_test_<uuid>`, dropped (`CASCADE`) on drop.
#[derive(Debug)]
pub struct TestSchema {
    name: String,
    server: Url,
}

impl TestSchema {
    /// Makes a new, empty schema on the test server.
    pub fn create() -> Result<TestSchema, PostgresError> {
        let text = std::env::var(SERVER_VARIABLE).unwrap_or_else(|_| DEFAULT_SERVER.to_string());
        let server = Url::parse(&text).map_err(|error| PostgresError::BadServerUrl {
            url: text.clone(),
            reason: error.to_string(),
        })?;
        let name = format!("sitrep_test_{}", Uuid::now_v7().simple());
        execute(&server, format!("CREATE SCHEMA {name}"))?;
        Ok(TestSchema { name, server })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's URL over TCP, with the schema as the search path: for programs on the host.
    pub fn tcp_url(&self) -> String {
        tcp_url(&self.server, &self.name)
    }

    /// The same server through its unix socket in `/var/run/postgresql`, with the schema as the
    /// search path: the one way to it from inside a lab namespace. The server must run on this
    /// machine.
    pub fn socket_url(&self) -> String {
        socket_url(&self.server, &self.name)
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if let Err(error) = execute(&self.server, sql) {
            // Nothing else to tell; a schema left behind only takes room.
            let _ = writeln!(std::io::stderr(), "warning: {error}");
        }
    }
}

fn tcp_url(server: &Url, schema: &str) -> String {
    with_query(server.clone(), &[search_path(schema)])
}

fn socket_url(server: &Url, schema: &str) -> String {
    let mut url = server.clone();
    // The socket is chosen by the `host` parameter; the host part only has to be valid.
    if url.set_host(Some("localhost")).is_err() {
        return tcp_url(server, schema);
    }
    with_query(url, &[format!("host={SOCKET_DIR}"), search_path(schema)])
}

/// libpq's `options` parameter, encoded: `-c search_path=SCHEMA`.
fn search_path(schema: &str) -> String {
    format!("options=-c%20search_path%3D{schema}")
}

/// `url` with `pairs` (already encoded, `key=value`) added to its query.
fn with_query(mut url: Url, pairs: &[String]) -> String {
    let mut query = url.query().unwrap_or_default().to_string();
    for pair in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(pair);
    }
    url.set_query(Some(&query));
    url.to_string()
}

/// Runs one statement on its own connection, on a thread of its own: callers may be inside an
/// async runtime (a `#[tokio::test]`), where blocking on another one is not allowed.
fn execute(server: &Url, sql: String) -> Result<(), PostgresError> {
    let shown = server.to_string();
    let run = || -> Result<(), PostgresError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PostgresError::Runtime)?;
        runtime.block_on(async {
            let unreachable = |reason: String| PostgresError::Unreachable {
                url: shown.clone(),
                reason,
            };
            let mut connection =
                tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(server.as_str()))
                    .await
                    .map_err(|_| unreachable(format!("no answer within {CONNECT_TIMEOUT:?}")))?
                    .map_err(|error| unreachable(error.to_string()))?;
            sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                .execute(&mut connection)
                .await
                .map_err(|source| PostgresError::Statement {
                    sql: sql.clone(),
                    url: shown.clone(),
                    source,
                })?;
            // The statement is done; a failed goodbye changes nothing.
            let _ = connection.close().await;
            Ok(())
        })
    };
    std::thread::scope(|scope| {
        scope
            .spawn(run)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_schema_as_search_path() {
        let server = Url::parse(DEFAULT_SERVER).expect("a URL");
        assert_eq!(
            tcp_url(&server, "sitrep_test_x"),
            "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dsitrep_test_x"
        );
        assert_eq!(
            socket_url(&server, "sitrep_test_x"),
            "postgres://postgres@localhost:5432/test?host=/var/run/postgresql\
             &options=-c%20search_path%3Dsitrep_test_x"
        );
        let server = Url::parse("postgres://u:p@db.example/other?sslmode=disable").expect("a URL");
        assert_eq!(
            tcp_url(&server, "s"),
            "postgres://u:p@db.example/other?sslmode=disable&options=-c%20search_path%3Ds"
        );
    }
}
