//! In-process tests of the collector's web UI: the real app on a temporary SQLite file (or PostgreSQL schema), driven
//! with `oneshot` by a small stand-in for a browser that keeps cookies and posts forms.

/// The backend these tests run on; `tests/web_postgres.rs` runs them again on PostgreSQL.
const BACKEND: sitrep_collector::store::Backend = sitrep_collector::store::Backend::Sqlite;

// The API suite's harness (app, agents, tokens, snapshots); not every helper is used here.
#[path = "../api/common.rs"]
#[allow(dead_code)]
mod common;

mod client;
mod helpdesk;
mod pages;
mod requests;
mod session;
mod tickets;
