//! `sitrep-collector migrate --from sqlite:PATH --to postgres://...`: moves an install's data
//! from its SQLite file to PostgreSQL, so a site that outgrew one file keeps its history,
//! tokens, agents and tickets.
//!
//! Both databases are first brought to the current schema. The source is read in one read
//! transaction (a consistent picture even if something still writes to it), page by page in
//! `rowid` order; each page is inserted in one transaction with `ON CONFLICT DO NOTHING`, so a
//! copy that was interrupted is completed by running it again. Keys and ids are kept as they
//! are (agents keep their keys, links keep working); the id sequences of the tables with
//! numbered rows continue after the highest id copied.

use std::path::PathBuf;

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection, Row};

use super::statement::{Statement, Values};
use super::{Actor, Backend, Store, StoreError, audit};

/// Every table of the schema, in an order that inserts what a row refers to before the row.
/// A table of the source that is not listed stops the copy rather than being left behind.
const TABLES: [&str; 13] = [
    "enrollment_tokens",
    "api_tokens",
    "agents",
    "devices",
    "snapshots",
    "tickets",
    "ticket_comments",
    "ticket_attachments",
    "help_requests",
    "snapshot_requests",
    "web_sessions",
    "external_attachments",
    "audit_log",
];

/// The tables whose ids PostgreSQL generates (identity columns).
const NUMBERED: [&str; 3] = ["tickets", "ticket_comments", "audit_log"];

/// Rows per insert: snapshots carry their bodies, so a page stays a few megabytes.
const PAGE_ROWS: i64 = 200;

/// One table's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedTable {
    pub table: &'static str,
    /// Rows in the source.
    pub source_rows: i64,
    /// Rows inserted now; fewer than `source_rows` when an earlier run copied some already.
    pub inserted: i64,
    /// Rows in the target afterwards.
    pub target_rows: i64,
}

/// A column of the target, by the type its values are read and written as.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Text,
    Bytes,
}

impl Store {
    /// Copies everything from the SQLite database `from` to the PostgreSQL database `to`,
    /// calling `progress` after each table. Fails, naming the table, if any source row is
    /// missing from the target afterwards.
    pub async fn copy_sqlite_to_postgres(
        from: &str,
        to: &str,
        mut progress: impl FnMut(&CopiedTable),
    ) -> Result<Vec<CopiedTable>, StoreError> {
        let source = open_source(from).await?;
        if Backend::of_url(to) != Some(Backend::Postgres) {
            return Err(StoreError::UnsupportedUrl {
                url: super::redacted(to),
                reason: "the copy goes to PostgreSQL: expected postgres://USER@HOST/DATABASE",
            });
        }
        let target = Store::connect(to).await?;
        let mut reading = source.read.acquire().await?;
        sqlx::query("BEGIN").execute(&mut *reading).await?;
        check_tables(&mut reading).await?;
        let mut writing = target.database.connect().await?;
        let mut copied = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let table_copy = copy_table(&mut reading, &mut writing, table).await?;
            progress(&table_copy);
            copied.push(table_copy);
        }
        sqlx::query("COMMIT").execute(&mut *reading).await?;
        for table in NUMBERED {
            // `false`: the next id handed out is this value itself.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )))
            .execute(&mut writing)
            .await?;
        }
        writing.close().await?;
        if let Some(short) = copied.iter().find(|c| c.target_rows < c.source_rows) {
            return Err(StoreError::CopyIncomplete {
                table: short.table,
                source_rows: short.source_rows,
                target_rows: short.target_rows,
            });
        }
        let detail = json!({
            "from": super::redacted(from),
            "rows": copied.iter().map(|c| (c.table.to_string(), json!(c.inserted))).collect::<serde_json::Map<_, _>>(),
        });
        target
            .writer
            .write(move |connection| {
                Box::pin(async move {
                    audit::record(connection, &Actor::Cli, "store.copy", "store", "", detail).await
                })
            })
            .await?;
        Ok(copied)
    }
}

/// The source store, which must exist: copying from a mistyped path must not make an empty
/// database and "succeed".
async fn open_source(from: &str) -> Result<Store, StoreError> {
    let unsupported = |reason| StoreError::UnsupportedUrl {
        url: super::redacted(from),
        reason,
    };
    let Some(path) = from.strip_prefix("sqlite:") else {
        return Err(unsupported(
            "the copy comes from SQLite: expected sqlite:PATH",
        ));
    };
    let path = PathBuf::from(
        path.trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or(""),
    );
    if !path.is_file() {
        return Err(StoreError::MissingDatabase(path));
    }
    Store::connect(from).await
}

/// Fails if the source holds a table this copy does not know (a newer schema than this
/// program's, or someone's own table).
async fn check_tables(reading: &mut PoolConnection<Any>) -> Result<(), StoreError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut **reading)
    .await?;
    match tables
        .iter()
        .find(|table| !TABLES.contains(&table.as_str()))
    {
        Some(unknown) => Err(StoreError::UnknownTable(unknown.clone())),
        None => Ok(()),
    }
}

async fn copy_table(
    reading: &mut PoolConnection<Any>,
    writing: &mut AnyConnection,
    table: &'static str,
) -> Result<CopiedTable, StoreError> {
    let columns = target_columns(writing, table).await?;
    let names = columns
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let source_rows = count_rows(reading, table).await?;
    let select = format!(
        "SELECT rowid AS copy_rowid, {names} FROM {table} WHERE rowid > $1 ORDER BY rowid LIMIT $2"
    );
    let mut after = 0_i64;
    let mut inserted = 0;
    loop {
        let page = sqlx::query(sqlx::AssertSqlSafe(select.clone()))
            .bind(after)
            .bind(PAGE_ROWS)
            .fetch_all(&mut **reading)
            .await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.try_get("copy_rowid")?;
        let mut insert = Statement::new(&format!("INSERT INTO {table} ({names}) "));
        let mut decoded = Ok(());
        insert.push_values(&page, |mut values, row| {
            if decoded.is_ok() {
                decoded = bind_row(&mut values, row, &columns);
            }
        });
        decoded?;
        insert.push(" ON CONFLICT DO NOTHING");
        let mut transaction = writing.begin().await?;
        inserted += insert
            .build()?
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        transaction.commit().await?;
    }
    Ok(CopiedTable {
        table,
        source_rows,
        inserted: i64::try_from(inserted).unwrap_or(i64::MAX),
        target_rows: count_rows(writing, table).await?,
    })
}

async fn count_rows(connection: &mut AnyConnection, table: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(connection)
        .await
}

/// The target table's columns, in order, by how their values travel.
async fn target_columns(
    writing: &mut AnyConnection,
    table: &str,
) -> Result<Vec<(String, Kind)>, StoreError> {
    let rows = sqlx::query(
        "SELECT CAST(column_name AS TEXT) AS column_name, CAST(data_type AS TEXT) AS data_type \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *writing)
    .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("column_name")?;
            let data_type: String = row.try_get("data_type")?;
            let kind = match data_type.as_str() {
                "bigint" | "integer" => Kind::Integer,
                "text" => Kind::Text,
                "bytea" => Kind::Bytes,
                _ => {
                    return Err(StoreError::Corrupt {
                        table: "information_schema.columns",
                        id: format!("{table}.{name}"),
                        column: "data_type",
                        value: data_type,
                    });
                }
            };
            Ok((name, kind))
        })
        .collect()
}

fn bind_row(
    values: &mut Values<'_>,
    row: &AnyRow,
    columns: &[(String, Kind)],
) -> Result<(), sqlx::Error> {
    for (name, kind) in columns {
        let name = name.as_str();
        match kind {
            Kind::Integer => values.push_bind(row.try_get::<Option<i64>, _>(name)?),
            Kind::Text => values.push_bind(row.try_get::<Option<String>, _>(name)?),
            Kind::Bytes => values.push_bind(row.try_get::<Option<Vec<u8>>, _>(name)?),
        };
    }
    Ok(())
}
