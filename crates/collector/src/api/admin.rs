//! Admin routes (an API token with role `admin`): revoking an agent.

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use super::extract::ApiPath;
use crate::AppState;
use crate::auth::Specialist;
use crate::error::{ApiError, ErrorBody};
use crate::store::{AgentInfo, Role};

#[utoipa::path(
    post,
    path = "/api/v1/agents/{id}/revoke",
    tag = "admin",
    params(("id" = Uuid, Path, description = "Agent id (its device has the same id)")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "Revoked (or revoked before): the agent's key gets `401 unknown_agent_key` from now on", body = AgentInfo),
        (status = 401, description = "`missing_credentials`, `unknown_api_token` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: a specialist's token or an agent key", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown agent", body = ErrorBody),
    )
)]
pub async fn revoke_agent(
    State(state): State<AppState>,
    person: Specialist,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AgentInfo>, ApiError> {
    if person.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "revoking an agent needs an admin's API token".into(),
        ));
    }
    let agent = state
        .store
        .revoke_agent(&id.to_string(), &person.actor())
        .await?;
    tracing::info!(agent_id = %id, "agent revoked");
    Ok(Json(agent))
}
