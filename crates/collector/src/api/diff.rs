//! `GET /api/v1/snapshots/{id}/diff`: what changed on a device since its last good snapshot,
//! or since a snapshot of the same device the specialist names.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, blocking};
use crate::AppState;
use crate::auth::Specialist;
use crate::diff::{SnapshotDiff, diff};
use crate::error::{ApiError, ErrorBody};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The snapshot to compare with, of the same device. Without it: the newest snapshot of the
    /// device taken before `{id}` that has no failing finding ("last good").
    pub against: Option<Uuid>,
}

#[utoipa::path(
    get,
    path = "/api/v1/snapshots/{id}/diff",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "The snapshot to explain (the newer one)"), DiffParams),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "What changed from `against` (or the last good snapshot) to `{id}`", body = SnapshotDiff),
        (status = 400, description = "`invalid_query`: `against` is not a UUID", body = ErrorBody),
        (status = 401, description = "`missing_credentials`, `unknown_api_token` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent key", body = ErrorBody),
        (status = 404, description = "`not_found`: no snapshot `{id}`; `no_baseline`: no `against` and no earlier snapshot of the device without a failing finding", body = ErrorBody),
        (status = 422, description = "`unknown_snapshot`: no snapshot `against`; `snapshot_of_another_device`: `against` belongs to another device", body = ErrorBody),
    )
)]
pub async fn snapshot_diff(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(params): ApiQuery<DiffParams>,
) -> Result<Json<SnapshotDiff>, ApiError> {
    let baseline = state
        .store
        .baseline(id, params.against)
        .await?
        .ok_or(ApiError::NoBaseline(id))?;
    let (old, new) = (
        state.store.snapshot(baseline).await?,
        state.store.snapshot(id).await?,
    );
    let changes = blocking(move || Ok(diff(&old, &new))).await?;
    Ok(Json(changes))
}
