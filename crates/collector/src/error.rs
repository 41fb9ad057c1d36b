//! The API's errors: one enum, each variant with its status and stable `code`, answered as
//! `{"error": {"code", "message"}}`. Server faults are logged with a request id and answered
//! with only `internal` and that id, never SQL, paths or other internals.

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sitrep_snapshot::SCHEMA_VERSION;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::StoreError;

/// What a `storage_full` answer asks clients to wait: freeing disk space takes a person.
const STORAGE_FULL_RETRY_AFTER: &str = "60";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no credentials: send Authorization: Bearer <agent key or API token>")]
    MissingCredentials,
    #[error("the agent key is unknown or revoked")]
    UnknownAgentKey,
    #[error("the API token is unknown or revoked")]
    UnknownApiToken,
    #[error("the enrollment token is unknown, revoked, expired or used up")]
    InvalidEnrollmentToken,
    #[error("{0}")]
    Forbidden(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// A diff was asked for without `against`, and the device has no earlier good snapshot.
    #[error(
        "snapshot {0} has no earlier snapshot of its device without a failing finding; name one with ?against="
    )]
    NoBaseline(Uuid),
    #[error("no route {method} {path}")]
    UnknownRoute { method: String, path: String },
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("the body cannot be decoded: {0}")]
    MalformedBody(String),
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error("invalid path: {0}")]
    InvalidPath(String),
    #[error("the body {stage} is larger than the limit of {limit} bytes")]
    PayloadTooLarge { stage: &'static str, limit: u64 },
    /// The body did not arrive in full within the body read timeout.
    #[error("the body did not arrive within {} s", .0.as_secs())]
    RequestTimeout(std::time::Duration),
    #[error("expected Content-Type: application/json, got {0:?}")]
    UnsupportedMediaType(String),
    #[error("Content-Encoding {0:?} is not supported; send identity, zstd or gzip")]
    UnsupportedEncoding(String),
    #[error(
        "schema version {got} is not supported; this collector accepts schema version {SCHEMA_VERSION}"
    )]
    UnsupportedSchemaVersion { got: u64 },
    /// Well-formed JSON that is not what the route takes (missing field, wrong type, too long).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("the store does not answer")]
    NotReady,
    /// The store's disk is full: nothing was written, and the same request may succeed later.
    #[error("the collector's storage is full: nothing was stored; send it again later")]
    StorageFull,
    /// An external helpdesk failed the request; `unavailable` when trying later may help.
    #[error("{message}")]
    Helpdesk { unavailable: bool, message: String },
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: e.g. `unknown_agent_key`, `payload_too_large`, `not_found`.
    #[schema(example = "unknown_agent_key")]
    pub code: String,
    /// For people.
    pub message: String,
    /// On `internal` errors: quote it to the operator, who finds the cause in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Uuid>,
}

impl ApiError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Box::new(error))
    }

    pub fn invalid_body(message: impl Into<String>) -> ApiError {
        ApiError::Unprocessable {
            code: "invalid_body",
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingCredentials
            | ApiError::UnknownAgentKey
            | ApiError::UnknownApiToken
            | ApiError::InvalidEnrollmentToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } | ApiError::NoBaseline(_) | ApiError::UnknownRoute { .. } => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MalformedJson(_)
            | ApiError::MalformedBody(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidPath(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType(_) | ApiError::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::UnsupportedSchemaVersion { .. } | ApiError::Unprocessable { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Helpdesk {
                unavailable: true, ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Helpdesk {
                unavailable: false, ..
            } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MissingCredentials => "missing_credentials",
            ApiError::UnknownAgentKey => "unknown_agent_key",
            ApiError::UnknownApiToken => "unknown_api_token",
            ApiError::InvalidEnrollmentToken => "invalid_enrollment_token",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::NoBaseline(_) => "no_baseline",
            ApiError::UnknownRoute { .. } => "unknown_route",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::MalformedBody(_) => "malformed_body",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::InvalidPath(_) => "invalid_path",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RequestTimeout(_) => "request_timeout",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::UnsupportedEncoding(_) => "unsupported_encoding",
            ApiError::UnsupportedSchemaVersion { .. } => "unsupported_schema_version",
            ApiError::Unprocessable { code, .. } => code,
            ApiError::Conflict(_) => "conflict",
            ApiError::NotReady => "not_ready",
            ApiError::StorageFull => "storage_full",
            ApiError::Helpdesk {
                unavailable: true, ..
            } => "helpdesk_unavailable",
            ApiError::Helpdesk {
                unavailable: false, ..
            } => "helpdesk_refused",
            ApiError::Internal(_) => "internal",
        }
    }

    /// A JSON (de)serialization error: bad syntax is the client's `malformed_json` (400, with the
    /// line and column), well-formed JSON of the wrong shape is `invalid_body` (422).
    pub fn from_json(error: &serde_json::Error) -> ApiError {
        match error.classify() {
            serde_json::error::Category::Data => ApiError::invalid_body(error.to_string()),
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => ApiError::MalformedJson(error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Internal(source) => {
                let request_id = Uuid::now_v7();
                tracing::error!(%request_id, error = %source, details = ?source, "internal error");
                ErrorDetail {
                    code: self.code().to_string(),
                    message: format!(
                        "internal error; the operator can find request id {request_id} in the collector's log"
                    ),
                    request_id: Some(request_id),
                }
            }
            _ => ErrorDetail {
                code: self.code().to_string(),
                message: self.to_string(),
                request_id: None,
            },
        };
        let mut response = (status, axum::Json(ErrorBody { error: detail })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::INSUFFICIENT_STORAGE {
            response.headers_mut().insert(
                RETRY_AFTER,
                HeaderValue::from_static(STORAGE_FULL_RETRY_AFTER),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            // The writer logged why; agents keep the snapshot and send it again later.
            error if error.is_storage_full() => ApiError::StorageFull,
            StoreError::NotFound { what, id } => ApiError::NotFound { what, id },
            StoreError::InvalidEnrollmentToken => ApiError::InvalidEnrollmentToken,
            StoreError::SnapshotOfAnotherAgent(_) => ApiError::Conflict(error.to_string()),
            StoreError::UnknownDevice(_) => ApiError::Unprocessable {
                code: "unknown_device",
                message: error.to_string(),
            },
            StoreError::UnknownSnapshot(_) => ApiError::Unprocessable {
                code: "unknown_snapshot",
                message: error.to_string(),
            },
            StoreError::SnapshotOfAnotherDevice { .. } => ApiError::Unprocessable {
                code: "snapshot_of_another_device",
                message: error.to_string(),
            },
            // The writer logged why; clients retry a 503 later.
            StoreError::Unavailable(_) => ApiError::NotReady,
            StoreError::Open { .. }
            | StoreError::Task(_)
            | StoreError::UnsupportedUrl { .. }
            | StoreError::Migrate(_)
            | StoreError::Database(_)
            | StoreError::Commit(_)
            | StoreError::WriterStopped
            | StoreError::SupportCodesExhausted(_)
            | StoreError::Corrupt { .. }
            | StoreError::MissingDatabase(_)
            | StoreError::UnknownTable(_)
            | StoreError::CopyIncomplete { .. }
            | StoreError::Decompress { .. } => ApiError::internal(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A write refused for want of disk space is for the client to send again, not a fault.
    #[test]
    fn a_full_disk_is_507_storage_full_with_retry_after() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        let error = ApiError::from(StoreError::Commit(Arc::new(sqlx::Error::Io(full))));
        assert_eq!(error.code(), "storage_full");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(response.headers()[RETRY_AFTER], STORAGE_FULL_RETRY_AFTER);

        let closed = ApiError::from(StoreError::Commit(Arc::new(sqlx::Error::PoolClosed)));
        assert_eq!(closed.code(), "internal");
    }
}
