//! The API suite of `tests/api/` again, on PostgreSQL: each test gets a fresh schema
//! on the server `SITREP_TEST_POSTGRES` names (default `postgres://postgres@127.0.0.1:5432/test`),
//! so the store behaves the same on both backends, test for test. Only here: two replicas on
//! one schema (`api/replicas.rs`); only in the SQLite suite: the copy from SQLite to PostgreSQL
//! (`api/copy.rs`), which uses both.

const BACKEND: sitrep_collector::store::Backend = sitrep_collector::store::Backend::Postgres;

#[path = "api/agents.rs"]
mod agents;
#[path = "api/auth.rs"]
mod auth;
#[path = "api/common.rs"]
mod common;
#[path = "api/devices.rs"]
mod devices;
#[path = "api/diff.rs"]
mod diff;
#[path = "api/external.rs"]
mod external;
#[path = "api/help_and_tickets.rs"]
mod help_and_tickets;
#[path = "api/ingest.rs"]
mod ingest;
#[path = "api/openapi.rs"]
mod openapi;
#[path = "api/recovery.rs"]
mod recovery;
#[path = "api/replicas.rs"]
mod replicas;
#[path = "api/requests.rs"]
mod requests;
#[path = "api/retention.rs"]
mod retention;
#[path = "api/store.rs"]
mod store;
