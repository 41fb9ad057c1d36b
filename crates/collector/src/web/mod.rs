//! The specialists' web UI: server-rendered pages (maud, no script framework) for devices,
//! snapshot reports and diffs, fresh snapshot requests and tickets, served beside the API on
//! the collector's own origin.
//!
//! A person logs in with their API token and gets a session cookie (`session.rs`); every page
//! but the login page needs it. Every form that changes something is a POST that carries the
//! session's CSRF token (`csrf.rs`). Pages call the same store methods as the API, so their
//! writes go through the single writer and are audited alike; maud escapes every value that
//! came from a machine or a person.

mod assets;
mod csrf;
mod devices;
mod diff;
mod error;
mod layout;
mod login;
mod requests;
mod session;
mod snapshots;
mod tickets;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::response::Redirect;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;
use error::PageError;

/// An error as a page of the web UI, for answers made outside it (an unknown path).
pub(crate) fn error_page(error: ApiError) -> axum::response::Response {
    axum::response::IntoResponse::into_response(PageError(error))
}

/// Every page, form target and asset of the web UI. The API's routes are merged beside it.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/devices") }))
        .route("/login", get(login::show).post(login::log_in))
        .route("/logout", post(login::log_out))
        .route("/assets/{name}", get(assets::serve))
        .route("/devices", get(devices::list))
        .route("/devices/{id}", get(devices::show))
        .route("/devices/{id}/requests", post(requests::create))
        .route("/devices/{id}/requests/{request_id}", get(requests::show))
        .route(
            "/devices/{id}/requests/{request_id}/wait",
            get(requests::wait),
        )
        // `{id}` or `{id}.json`: a path parameter cannot carry a suffix.
        .route("/snapshots/{file}", get(snapshots::report_or_json))
        .route("/snapshots/{id}/diff", get(diff::show))
        .route("/snapshots/{id}/attach", post(snapshots::attach))
        .route(
            "/snapshots/{id}/helpdesk",
            post(snapshots::attach_to_helpdesk),
        )
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/{id}", get(tickets::show))
        .route("/tickets/{id}/comments", post(tickets::comment))
        .route("/tickets/{id}/close", post(tickets::close))
        .route(
            "/help-requests/{code}/ticket",
            post(tickets::from_help_request),
        )
        .layer(axum::middleware::map_response(layout::security_headers))
}

/// A path parameter; one that does not parse (`/devices/abc`) names no page.
#[derive(Debug)]
struct PagePath<T>(T);

impl<T, S> FromRequestParts<S> for PagePath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        Path::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PagePath(value))
            .map_err(|rejection: PathRejection| {
                PageError::from(ApiError::NotFound {
                    what: "page",
                    id: format!("{} ({})", parts.uri.path(), rejection.body_text()),
                })
            })
    }
}

/// A query string, refused with an HTML page rather than plain text.
#[derive(Debug)]
struct PageQuery<T>(T);

impl<T, S> FromRequestParts<S> for PageQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(value)| PageQuery(value))
            .map_err(|rejection: QueryRejection| {
                PageError::from(ApiError::InvalidQuery(rejection.body_text()))
            })
    }
}
