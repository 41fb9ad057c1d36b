//! In-process tests of the collector's web UI: the real app on a temporary SQLite file, driven
//! with `oneshot` by a small stand-in for a browser that keeps cookies and posts forms.

// The API suite's harness (app, agents, tokens, snapshots); not every helper is used here.
#[path = "../api/common.rs"]
#[allow(dead_code)]
mod common;

mod client;
mod pages;
mod requests;
mod session;
mod tickets;
