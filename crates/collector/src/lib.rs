//! The sitrep collector as a library: the axum app, its store, auth and API, so tests build
//! the app in-process (`app(state)` + `oneshot`) and the binary only adds sockets and TLS.

pub mod api;
pub mod auth;
pub mod config;
pub mod delivery;
pub mod diff;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod send_timeout;
#[cfg(unix)]
pub mod service_manager;
pub mod store;
pub mod tls;
pub mod waiters;

mod state;
mod web;

pub use state::{AppState, Limits};

use axum::Router;

/// The whole HTTP app: every route of [`api::router`] and the web UI's pages, with request
/// metrics around them.
pub fn app(state: AppState) -> Router {
    api::router(state.clone())
        .merge(web::router().with_state(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state, metrics::track))
}
