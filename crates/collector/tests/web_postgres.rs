//! The web UI suite of `tests/web/` again, on PostgreSQL: each test gets a fresh schema
//! on the server `SITREP_TEST_POSTGRES` names (default `postgres://postgres@127.0.0.1:5432/test`),
//! so the store behaves the same on both backends, test for test.

const BACKEND: sitrep_collector::store::Backend = sitrep_collector::store::Backend::Postgres;

#[path = "web/client.rs"]
mod client;
#[path = "api/common.rs"]
#[allow(dead_code)]
mod common;
#[path = "web/helpdesk.rs"]
mod helpdesk;
#[path = "web/pages.rs"]
mod pages;
#[path = "web/requests.rs"]
mod requests;
#[path = "web/session.rs"]
mod session;
#[path = "web/tickets.rs"]
mod tickets;
