//! In-process tests of the collector's HTTP API: the real app on a temporary SQLite file,
//! driven with `oneshot`, no sockets.

mod agents;
mod auth;
mod common;
mod devices;
mod diff;
mod help_and_tickets;
mod ingest;
mod openapi;
mod requests;
mod store;
