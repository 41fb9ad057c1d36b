//! The collector's store: SQLite (WAL) behind one writer task that commits in batches, and a
//! pool of read-only connections for queries.
//!
//! Every write goes through [`writer::Writer`]: one connection, one transaction per batch of
//! queued writes, so thousands of ingests per second cost one fsync per batch instead of one
//! each, and no two writers ever wait on SQLite's lock. Each request is answered only after its
//! batch has committed, so a 2xx means the data is on disk (`synchronous = FULL`).

mod audit;
mod credentials;
mod devices;
mod help;
mod history;
mod key_cache;
mod model;
mod requests;
mod snapshots;
mod support_code;
mod tickets;
mod web_sessions;
mod writer;

pub(crate) use model::severity_schema;
pub use model::{
    Actor, AgentInfo, ApiTokenInfo, AttachOutcome, Attachment, Comment, Device, DeviceDetail,
    Enrollment, EnrollmentTokenInfo, HelpOutcome, HelpRequest, HelpStatus, IngestOutcome,
    NewSnapshot, NewTicket, Role, SnapshotEntry, Ticket, TicketDetail, TicketFromHelp,
    TicketStatus,
};
pub use requests::{AgentRequest, REDELIVER_AFTER, RequestStatus, SnapshotRequest};
pub use support_code::SupportCode;
pub use web_sessions::{SESSION_IDLE_LIMIT, SESSION_LIFETIME, WebSession, random_token};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, Row, SqliteConnection};
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use key_cache::KeyCache;
use writer::Writer;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a connection waits for SQLite's lock before failing, e.g. while the CLI changes a
/// token in the same file as a running server.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections: enough for both cores plus requests waiting on IO.
const READ_CONNECTIONS: u32 = 4;

/// Prepared statements kept per connection: the writer's multi-row inserts take one per batch
/// size (up to 128) for each of three tables, besides every other statement.
const STATEMENT_CACHE: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("unsupported database URL {url:?}: {reason}")]
    UnsupportedUrl { url: String, reason: &'static str },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The transaction holding this write (and the rest of its batch) did not commit.
    #[error("cannot commit a batch of writes: {0}")]
    Commit(Arc<sqlx::Error>),
    #[error("the database writer has stopped")]
    WriterStopped,
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("the enrollment token is unknown, revoked, expired or used up")]
    InvalidEnrollmentToken,
    #[error("snapshot {0} was already stored for another agent")]
    SnapshotOfAnotherAgent(Uuid),
    #[error("device {0} does not exist")]
    UnknownDevice(Uuid),
    #[error("snapshot {0} does not exist")]
    UnknownSnapshot(Uuid),
    #[error("snapshot {against} belongs to another device than snapshot {id}")]
    SnapshotOfAnotherDevice { id: Uuid, against: Uuid },
    #[error("a background task failed: {0}")]
    Task(String),
    #[error("no free support code after {0} attempts")]
    SupportCodesExhausted(u32),
    #[error("{table} row {id} holds an invalid {column}: {value:?}")]
    Corrupt {
        table: &'static str,
        id: String,
        column: &'static str,
        value: String,
    },
    #[error("stored body of snapshot {id} cannot be decompressed: {source}")]
    Decompress { id: Uuid, source: std::io::Error },
}

/// A handle on the database; cheap to clone (a pool and a channel).
#[derive(Debug, Clone)]
pub struct Store {
    /// Shared: handlers clone the store with the app state on every request.
    options: Arc<SqliteConnectOptions>,
    read: SqlitePool,
    writer: Writer,
    agent_keys: Arc<KeyCache>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        Store::open(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens the database named by a `sqlite:` URL (e.g. `sqlite:///var/lib/sitrep/db.sqlite`)
    /// and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::UnsupportedUrl {
                url: url.to_string(),
                reason: "only sqlite: URLs are supported",
            });
        }
        // Readers and the writer are separate connections; an in-memory database would give
        // each its own empty database (or table locks instead of WAL with shared cache).
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::UnsupportedUrl {
                url: url.to_string(),
                reason: "in-memory databases are not supported; name a file",
            });
        }
        let options = SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Open {
            path: PathBuf::from(url),
            source,
        })?;
        Store::open(options).await
    }

    async fn open(options: SqliteConnectOptions) -> Result<Store, StoreError> {
        let path = options.get_filename().to_path_buf();
        let open_error = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Every acknowledged write must survive a power cut, so WAL is synced on each commit;
            // group commit keeps that to one fsync per batch.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Batched inserts have one statement per batch size; keep them all prepared.
            .statement_cache_capacity(STATEMENT_CACHE)
            // The writer's per-write savepoints keep their undo pages here (see writer.rs).
            .pragma("temp_store", "MEMORY");
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .map_err(open_error)?;
        MIGRATOR.run(&mut connection).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            // A local file does not drop connections; a ping per checkout would double the cost
            // of the key lookup every request makes.
            .test_before_acquire(false)
            .connect_with(options.clone().pragma("query_only", "ON"))
            .await
            .map_err(open_error)?;
        Ok(Store {
            options: Arc::new(options),
            read,
            writer: Writer::start(connection),
            agent_keys: Arc::default(),
        })
    }

    /// Applies any migration not yet applied. Opening the store already does this; the
    /// `migrate` command calls it to say so explicitly. It uses a connection of its own, and
    /// SQLite's lock keeps it apart from the writer.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut connection = SqliteConnection::connect_with(&self.options)
            .await
            .map_err(|source| StoreError::Open {
                path: self.options.get_filename().to_path_buf(),
                source,
            })?;
        MIGRATOR.run(&mut connection).await?;
        connection.close().await?;
        Ok(())
    }

    /// Whether the store answers: a query on a read connection and a live writer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        if self.writer.is_stopped() {
            return Err(StoreError::WriterStopped);
        }
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }
}

/// Now, at the store's precision (milliseconds), so what a write returns equals what a later
/// read gives.
fn now() -> DateTime<Utc> {
    time(Utc::now().timestamp_millis())
}

/// Unix milliseconds, the store's representation of a point in time.
fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The inverse of [`millis`]; only values [`millis`] wrote are ever read, which all fit.
fn time(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap_or(DateTime::UNIX_EPOCH)
}

/// A UUID column (stored as hyphenated text).
fn uuid(row: &SqliteRow, column: &str) -> Result<Uuid, sqlx::Error> {
    Ok(row.try_get::<Hyphenated, _>(column)?.into_uuid())
}

fn optional_uuid(row: &SqliteRow, column: &str) -> Result<Option<Uuid>, sqlx::Error> {
    Ok(row
        .try_get::<Option<Hyphenated>, _>(column)?
        .map(Hyphenated::into_uuid))
}
