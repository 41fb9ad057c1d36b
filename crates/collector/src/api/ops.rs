//! Routes for operators and tools: liveness, readiness, metrics, the OpenAPI document and the
//! snapshot JSON Schema. None needs credentials.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::{Extension, Json};

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process runs", content_type = "text/plain", body = String, example = "ok"))
)]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "The store answers", content_type = "text/plain", body = String, example = "ready"),
        (status = 503, description = "`not_ready`: the store does not answer", body = ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok("ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::NotReady)
        }
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain; version=0.0.4", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
pub async fn openapi(
    Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(document)
}

#[utoipa::path(
    get,
    path = "/api/v1/schema/snapshot",
    tag = "operations",
    responses((status = 200, description = "The JSON Schema of a snapshot, as `sitrep schema` prints it", content_type = "application/json", body = Object))
)]
pub async fn snapshot_schema() -> Json<serde_json::Value> {
    Json(sitrep_snapshot::json_schema())
}
