//! Specialist routes for devices and their snapshots: search, detail with history, the stored
//! JSON and the rendered report.

use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, blocking};
use crate::AppState;
use crate::auth::Specialist;
use crate::error::{ApiError, ErrorBody};
use crate::store::{Device, DeviceDetail};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceSearch {
    /// Part of a host name or user name (any case), or a support code (dash optional).
    pub q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "specialist",
    params(DeviceSearch),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "Matching devices, most recently seen first (at most 500)", body = Vec<Device>),
        (status = 401, description = "`missing_credentials`, `unknown_api_token` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent key", body = ErrorBody),
    )
)]
pub async fn search_devices(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiQuery(search): ApiQuery<DeviceSearch>,
) -> Result<Json<Vec<Device>>, ApiError> {
    Ok(Json(state.store.search_devices(search.q.as_deref()).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "Device id")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The device, its newest 500 snapshots and its live help requests", body = DeviceDetail),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn device(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DeviceDetail>, ApiError> {
    Ok(Json(state.store.device(id).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/snapshots/{id}",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "Snapshot id")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The snapshot exactly as the agent sent it", content_type = "application/json", body = Object),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn snapshot(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<impl IntoResponse, ApiError> {
    let json = state.store.snapshot_json(id).await?;
    Ok(([(CONTENT_TYPE, "application/json")], json))
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Html,
    Markdown,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// `html` (a full page, the default) or `markdown`.
    #[serde(default)]
    #[param(inline)]
    pub format: ReportFormat,
}

#[utoipa::path(
    get,
    path = "/api/v1/snapshots/{id}/report",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "Snapshot id"), ReportParams),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The rendered report, findings first", content(
            (String = "text/html"),
            (String = "text/markdown"),
        )),
        (status = 400, description = "`invalid_query`: an unknown format", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn snapshot_report(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> Result<impl IntoResponse, ApiError> {
    let snapshot = state.store.snapshot(id).await?;
    let (content_type, report) = blocking(move || {
        Ok(match params.format {
            ReportFormat::Html => ("text/html; charset=utf-8", sitrep_report::html(&snapshot)),
            ReportFormat::Markdown => (
                "text/markdown; charset=utf-8",
                sitrep_report::markdown(&snapshot),
            ),
        })
    })
    .await?;
    Ok(([(CONTENT_TYPE, content_type)], report))
}
