//! Failures of the web UI as HTML pages: the API's [`ApiError`] decides the status and the
//! words, so a page and the API refuse the same thing the same way; server faults show only a
//! request id, as in the API.

use axum::response::{Html, IntoResponse, Response};
use maud::html;
use uuid::Uuid;

use super::layout;
use crate::error::ApiError;
use crate::store::StoreError;

#[derive(Debug)]
pub(super) struct PageError(pub ApiError);

impl PageError {
    /// A form without its session's CSRF token, or posted from another site.
    pub(super) fn forged(reason: &str) -> PageError {
        PageError(ApiError::Forbidden(format!(
            "{reason}. Reload the page and try again."
        )))
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> PageError {
        PageError(error)
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> PageError {
        PageError(ApiError::from(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = match &self.0 {
            ApiError::Internal(source) => {
                let request_id = Uuid::now_v7();
                tracing::error!(%request_id, error = %source, details = ?source, "internal error on a web page");
                format!(
                    "Something went wrong on the collector. The operator can find request id {request_id} in its log."
                )
            }
            error => error.to_string(),
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let content = html! {
            h1 { (title) }
            p #error-message { (message) }
            p { a href="/devices" { "Back to the devices" } }
        };
        (
            status,
            Html(layout::page(title, None, content).into_string()),
        )
            .into_response()
    }
}
