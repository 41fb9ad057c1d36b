//! In-process tests of the collector's HTTP API: the real app on a temporary SQLite file (or PostgreSQL schema),
//! driven with `oneshot`, no sockets.

/// The backend these tests run on; `tests/api_postgres.rs` runs them again on PostgreSQL.
const BACKEND: sitrep_collector::store::Backend = sitrep_collector::store::Backend::Sqlite;

mod agents;
mod auth;
mod common;
mod copy;
mod devices;
mod diff;
mod external;
mod help_and_tickets;
mod ingest;
mod openapi;
mod requests;
mod retention;
mod store;
