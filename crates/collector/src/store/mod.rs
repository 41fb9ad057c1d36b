//! The collector's store, on SQLite (the embedded default) or PostgreSQL (shared by several
//! collector replicas): one code path over sqlx's `Any` driver, the same queries for both, and
//! one migration set per backend that builds the same schema.
//!
//! Every write goes through [`writer::Writer`]: one connection, one transaction per batch of
//! queued writes, so thousands of ingests per second cost one commit per batch instead of one
//! each, and on SQLite no two writers ever wait on its lock. Each request is answered only
//! after its batch has committed, so a 2xx means the data is durable (`synchronous = FULL` on
//! SQLite, PostgreSQL's own commit). Reads use a pool of their own.
//!
//! Replicas on one PostgreSQL database learn of each other's changes through LISTEN/NOTIFY
//! ([`changes`]); everything else they share through the database itself.

mod audit;
pub mod changes;
mod copy;
mod credentials;
mod devices;
mod external;
mod help;
mod history;
mod key_cache;
mod model;
mod requests;
mod retention;
mod snapshots;
mod statement;
mod support_code;
mod tickets;
mod web_sessions;
mod writer;

pub use changes::Change;
pub use copy::CopiedTable;
pub use external::{DeliveryResult, DeliveryStatus, ExternalAttachment};
pub(crate) use model::severity_schema;
pub use model::{
    Actor, AgentInfo, ApiTokenInfo, AttachOutcome, Attachment, Comment, Device, DeviceDetail,
    Enrollment, EnrollmentTokenInfo, HelpOutcome, HelpRequest, HelpStatus, IngestOutcome,
    NewSnapshot, NewTicket, Role, SnapshotEntry, Ticket, TicketDetail, TicketFromHelp,
    TicketStatus,
};
pub use requests::{AgentRequest, REDELIVER_AFTER, RequestStatus, SnapshotRequest};
pub use retention::Retention;
pub use support_code::SupportCode;
pub use web_sessions::{SESSION_IDLE_LIMIT, SESSION_LIFETIME, WebSession, random_token};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Row};
use uuid::Uuid;

use changes::Listener;
use key_cache::KeyCache;
use writer::Writer;

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Every SQLite connection: WAL so readers never wait for the writer; every acknowledged write
/// survives a power cut (WAL synced on each commit, which group commit keeps to one fsync per
/// batch); 5 s of waiting for the file's lock before failing, e.g. while the CLI changes a
/// token in the same file as a running server; the writer's per-write savepoints keep their
/// undo pages in memory (see writer.rs).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;";

/// SQLite read connections: enough for both cores plus requests waiting on IO.
const SQLITE_READ_CONNECTIONS: u32 = 4;

/// PostgreSQL read connections per replica: requests wait on the network, not on a file lock.
const POSTGRES_READ_CONNECTIONS: u32 = 8;

/// How long a request waits for a free read connection before failing (503), rather than
/// piling up behind a database that stopped answering.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database the store keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if it is one the store supports.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// How the writer starts a batch. SQLite's IMMEDIATE takes the write lock up front, so
    /// another process writing the same file (the CLI) makes the batch wait (busy timeout)
    /// instead of failing halfway through; PostgreSQL locks rows as it goes.
    fn begin(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }
}

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
    /// The database could not be reached for this write; the writer tries again with the next.
    #[error("the database is unavailable: {0}")]
    Unavailable(Arc<StoreError>),
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
    #[error("there is no database at {0}")]
    MissingDatabase(PathBuf),
    #[error("the source database holds a table {0:?} this version cannot copy")]
    UnknownTable(String),
    #[error("{table}: the source holds {source_rows} rows but the target only {target_rows}")]
    CopyIncomplete {
        table: &'static str,
        source_rows: i64,
        target_rows: i64,
    },
    #[error("stored body of snapshot {id} cannot be decompressed: {source}")]
    Decompress { id: Uuid, source: std::io::Error },
}

/// SQLite's `SQLITE_FULL` ("database or disk is full") and PostgreSQL's `disk_full` SQLSTATE.
const STORAGE_FULL_CODES: [&str; 2] = ["13", "53100"];

impl StoreError {
    /// Whether the database failed for want of disk space: nothing was written, and the same
    /// write may succeed once space is freed.
    pub fn is_storage_full(&self) -> bool {
        let database_error = match self {
            StoreError::Database(error) | StoreError::Open { source: error, .. } => error,
            StoreError::Commit(error) => error.as_ref(),
            StoreError::Unavailable(cause) => return cause.is_storage_full(),
            _ => return false,
        };
        match database_error {
            sqlx::Error::Database(error) => error
                .code()
                .is_some_and(|code| STORAGE_FULL_CODES.contains(&code.as_ref())),
            sqlx::Error::Io(error) => error.kind() == std::io::ErrorKind::StorageFull,
            _ => false,
        }
    }
}

/// A handle on the database; cheap to clone (pools, a channel and a few `Arc`s).
#[derive(Debug, Clone)]
pub struct Store {
    database: Arc<Database>,
    read: AnyPool,
    writer: Writer,
    agent_keys: Arc<KeyCache>,
    /// Other replicas' changes (PostgreSQL), listened for from the first call of
    /// [`Store::changes`] on: a command-line tool never opens that connection.
    listener: Arc<OnceLock<Listener>>,
}

/// Where the database is and how to open a connection to it.
#[derive(Debug)]
pub(super) struct Database {
    backend: Backend,
    /// Never logged: a PostgreSQL URL may carry a password.
    options: AnyConnectOptions,
    /// What error messages call the database: the SQLite file, or the PostgreSQL URL without
    /// its password.
    name: PathBuf,
}

impl Database {
    /// A connection set up for the store's use.
    pub(super) async fn connect(&self) -> Result<AnyConnection, StoreError> {
        let open_error = |source| StoreError::Open {
            path: self.name.clone(),
            source,
        };
        let mut connection = AnyConnection::connect_with(&self.options)
            .await
            .map_err(open_error)?;
        if self.backend == Backend::Sqlite {
            sqlx::raw_sql(SQLITE_PRAGMAS)
                .execute(&mut connection)
                .await
                .map_err(open_error)?;
        }
        Ok(connection)
    }

    pub(super) fn backend(&self) -> Backend {
        self.backend
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` and brings its schema up to date.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        Store::open_sqlite_with(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens the database a URL names and brings its schema up to date: `sqlite:PATH` (e.g.
    /// `sqlite:///var/lib/sitrep/db.sqlite`) or `postgres://user@host/database` (PostgreSQL's
    /// own URL parameters apply, e.g. `options=-c search_path=sitrep` or `sslmode=verify-full`).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let unsupported = |reason| StoreError::UnsupportedUrl {
            url: redacted(url),
            reason,
        };
        match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                // Readers and the writer are separate connections; an in-memory database would
                // give each its own empty database.
                if url.contains(":memory:") || url.contains("mode=memory") {
                    return Err(unsupported(
                        "in-memory databases are not supported; name a file",
                    ));
                }
                let options =
                    SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Open {
                        path: PathBuf::from(url),
                        source,
                    })?;
                Store::open_sqlite_with(options).await
            }
            Some(Backend::Postgres) => Store::open_postgres(url).await,
            None => Err(unsupported(
                "expected sqlite:PATH or postgres://USER@HOST/DATABASE",
            )),
        }
    }

    async fn open_sqlite_with(options: SqliteConnectOptions) -> Result<Store, StoreError> {
        let path = options.get_filename().to_path_buf();
        let url = options.create_if_missing(true).to_url_lossy();
        Store::open(Backend::Sqlite, AnyConnectOptions::from_url(&url)?, path).await
    }

    async fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let name = PathBuf::from(redacted(url));
        let options = AnyConnectOptions::from_str(url).map_err(|source| StoreError::Open {
            path: name.clone(),
            source,
        })?;
        Store::open(Backend::Postgres, options, name).await
    }

    async fn open(
        backend: Backend,
        options: AnyConnectOptions,
        name: PathBuf,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let database = Arc::new(Database {
            backend,
            options,
            name,
        });
        let mut connection = database.connect().await?;
        backend.migrator().run(&mut connection).await?;
        let (read_connections, read_pragmas) = match backend {
            Backend::Sqlite => (
                SQLITE_READ_CONNECTIONS,
                Some("PRAGMA query_only = ON; PRAGMA busy_timeout = 5000;"),
            ),
            Backend::Postgres => (POSTGRES_READ_CONNECTIONS, None),
        };
        let read = AnyPoolOptions::new()
            .max_connections(read_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A local file does not drop connections; a ping per checkout would double the cost
            // of the key lookup every request makes. A PostgreSQL server may restart or fail
            // over: a connection found broken is replaced before a request gets it.
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if let Some(pragmas) = read_pragmas {
                        sqlx::raw_sql(pragmas).execute(connection).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(database.options.clone())
            .await
            .map_err(|source| StoreError::Open {
                path: database.name.clone(),
                source,
            })?;
        Ok(Store {
            writer: Writer::start(connection, database.clone()),
            database,
            read,
            agent_keys: Arc::default(),
            listener: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.database.backend
    }

    /// Applies any migration not yet applied. Opening the store already does this; the
    /// `migrate` command calls it to say so explicitly. It uses a connection of its own;
    /// SQLite's lock, or PostgreSQL's advisory lock, keeps it apart from other writers.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut connection = self.database.connect().await?;
        self.database
            .backend
            .migrator()
            .run(&mut connection)
            .await?;
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

    /// Changes made by other replicas (request created or done, agent revoked), as they
    /// commit. On SQLite nothing ever arrives: there is no other replica.
    pub fn changes(&self) -> changes::Receiver {
        if self.database.backend == Backend::Sqlite {
            return changes::Receiver::new(None);
        }
        let listener = self.listener.get_or_init(|| {
            Listener::start(self.database.options.clone(), self.agent_keys.clone())
        });
        changes::Receiver::new(Some(listener))
    }
}

/// `url` without the password it may carry, for messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        _ => url.to_string(),
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
fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, sqlx::Error> {
    parse_uuid(column, &row.try_get::<String, _>(column)?)
}

fn optional_uuid(row: &AnyRow, column: &str) -> Result<Option<Uuid>, sqlx::Error> {
    row.try_get::<Option<String>, _>(column)?
        .map(|text| parse_uuid(column, &text))
        .transpose()
}

fn parse_uuid(column: &str, text: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(text).map_err(|error| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(error),
    })
}

#[cfg(test)]
mod tests {
    /// The two migration sets build the same schema: the PostgreSQL files are the SQLite files
    /// with only the binary column type and generated ids spelled the PostgreSQL way.
    #[test]
    fn the_migration_sets_differ_only_in_dialect() {
        let sqlite = super::SQLITE_MIGRATOR.iter().collect::<Vec<_>>();
        let postgres = super::POSTGRES_MIGRATOR.iter().collect::<Vec<_>>();
        assert_eq!(sqlite.len(), postgres.len());
        for (sqlite, postgres) in sqlite.iter().zip(&postgres) {
            assert_eq!(
                (sqlite.version, &sqlite.description),
                (postgres.version, &postgres.description)
            );
            let translated = sqlite.sql.as_str().replace("BLOB", "BYTEA").replace(
                "id INTEGER PRIMARY KEY,",
                "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,",
            );
            assert_eq!(
                translated,
                postgres.sql.as_str(),
                "migration {}",
                sqlite.version
            );
        }
    }
}
