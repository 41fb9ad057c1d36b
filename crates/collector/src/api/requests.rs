//! Snapshot requests: a specialist asks a device for a fresh snapshot, the device's agent takes
//! it on its long-poll, and a caller can wait for the answer. Both waits are woken from memory
//! by the change they wait for (see `waiters.rs`), not by asking the database over and over.

use std::ops::RangeInclusive;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::auth::{AuthenticatedAgent, Specialist};
use crate::error::{ApiError, ErrorBody};
use crate::metrics::HeldAnswer;
use crate::store::{Actor, AgentRequest, RequestStatus, SnapshotRequest, StoreError};

/// Most extra probe targets one request may name.
const MAX_TARGETS: usize = 16;

/// Longest probe target, in characters (a long URL fits; a pasted log does not).
const TARGET_MAX_CHARS: usize = 255;

/// How long a request waits for its device by default: an hour covers a phone call.
const DEFAULT_EXPIRY_SECONDS: i64 = 3600;

/// From a minute to a week.
const EXPIRY_SECONDS: RangeInclusive<i64> = 60..=604_800;

/// The agent's long-poll: held 30 s by default, at most a minute (agents time out at ~40 s).
const AGENT_WAIT_DEFAULT: u64 = 30;
const AGENT_WAIT_MAX: u64 = 60;

/// Waiting for a request to be done: at most 30 s, then ask again.
const REQUEST_WAIT_MAX: u64 = 30;

/// The body of `POST /api/v1/devices/{id}/requests`; the whole body may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSnapshotRequest {
    /// Extra probe targets for this snapshot, as `sitrep report --target` takes them: a host,
    /// an IP address, `host:port` or a URL. At most 16, each 1 to 255 characters without
    /// whitespace or control characters.
    #[serde(default)]
    #[schema(example = json!(["printer.corp.example", "mail.corp.example:993"]))]
    pub targets: Vec<String>,
    /// How long the request stays valid, 60 to 604800 seconds; default 3600.
    pub expires_in_seconds: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/devices/{id}/requests",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "Device id")),
    request_body(content = Option<NewSnapshotRequest>, description = "Optional: no targets and an hour by default"),
    security(("api_token" = [])),
    responses(
        (status = 201, description = "Queued; the device's agent, if it is polling, takes it at once", body = SnapshotRequest),
        (status = 401, description = "`missing_credentials`, `unknown_api_token` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent key", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown device", body = ErrorBody),
        (status = 422, description = "`invalid_body`: names the bad target or field", body = ErrorBody),
    )
)]
pub async fn create_request(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiPath(device_id): ApiPath<Uuid>,
    body: Option<ApiJson<NewSnapshotRequest>>,
) -> Result<(StatusCode, Json<SnapshotRequest>), ApiError> {
    let body = body.map(|ApiJson(body)| body).unwrap_or_default();
    let request = queue_snapshot_request(&state, device_id, body, &specialist.actor()).await?;
    Ok((StatusCode::CREATED, Json(request)))
}

/// Checks and queues a request for a fresh snapshot of `device_id`, then wakes the device's
/// agent if it is polling. The API route and the web UI's form both come here.
pub(crate) async fn queue_snapshot_request(
    state: &AppState,
    device_id: Uuid,
    body: NewSnapshotRequest,
    actor: &Actor,
) -> Result<SnapshotRequest, ApiError> {
    check_targets(&body.targets)?;
    let expires_in = expiry(body.expires_in_seconds)?;
    let request = state
        .store
        .create_snapshot_request(device_id, body.targets, expires_in, actor)
        .await?;
    // After the commit, so the woken agent finds it.
    state.waiters.request_created(device_id);
    state.metrics.snapshot_request_created();
    tracing::info!(request_id = %request.id, %device_id, "snapshot requested");
    Ok(request)
}

#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}/requests",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "Device id")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The device's requests, newest first (at most 50)", body = Vec<SnapshotRequest>),
        (status = 404, description = "`not_found`: unknown device", body = ErrorBody),
    )
)]
pub async fn list_requests(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(device_id): ApiPath<Uuid>,
) -> Result<Json<Vec<SnapshotRequest>>, ApiError> {
    Ok(Json(state.store.snapshot_requests(device_id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestWait {
    /// Seconds (0 to 30, default 0) to hold the answer until the request is done or expired.
    pub wait: Option<u64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/devices/{id}/requests/{request_id}",
    tag = "specialist",
    params(
        ("id" = Uuid, Path, description = "Device id"),
        ("request_id" = Uuid, Path, description = "Snapshot request id"),
        RequestWait,
    ),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The request; with `wait`, once it is done or expired or the wait is over", body = SnapshotRequest),
        (status = 400, description = "`invalid_query`: `wait` out of range", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request for this device", body = ErrorBody),
    )
)]
pub async fn request(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath((device_id, request_id)): ApiPath<(Uuid, Uuid)>,
    ApiQuery(params): ApiQuery<RequestWait>,
) -> Result<Response, ApiError> {
    let wait = wait_seconds(params.wait, 0, REQUEST_WAIT_MAX)?;
    let request = settled_request(&state, device_id, request_id, wait).await?;
    Ok(held(Json(request), !wait.is_zero()))
}

/// The request once it is done or expired, or as it is when `wait` has passed (at once for
/// a zero `wait`). The API route and the web UI's waiting page both come here.
pub(crate) async fn settled_request(
    state: &AppState,
    device_id: Uuid,
    request_id: Uuid,
    wait: Duration,
) -> Result<SnapshotRequest, ApiError> {
    let store = &state.store;
    let settled = if wait.is_zero() {
        None
    } else {
        let deadline = Instant::now() + wait;
        state
            .waiters
            .for_request(request_id, deadline, move || async move {
                let request = store.snapshot_request(device_id, request_id).await?;
                let settled =
                    matches!(request.status, RequestStatus::Done | RequestStatus::Expired);
                Ok::<_, StoreError>(settled.then_some(request))
            })
            .await?
    };
    Ok(match settled {
        Some(request) => request,
        None => store.snapshot_request(device_id, request_id).await?,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollWait {
    /// Seconds (0 to 60, default 30) to hold the answer while nothing is pending.
    pub wait: Option<u64>,
}

/// What the agent's long-poll answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingRequests {
    /// Oldest first; empty when the wait ended with nothing pending.
    pub requests: Vec<AgentRequest>,
}

#[utoipa::path(
    get,
    path = "/api/v1/agent/requests",
    tag = "agent",
    params(PollWait),
    security(("agent_key" = [])),
    responses(
        (status = 200, description = "The pending snapshot requests of the agent's device, now marked delivered; \
                                      held up to `wait` seconds while there are none", body = PendingRequests),
        (status = 400, description = "`invalid_query`: `wait` out of range", body = ErrorBody),
        (status = 401, description = "`missing_credentials` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an API token", body = ErrorBody),
    )
)]
pub async fn poll_requests(
    State(state): State<AppState>,
    agent: AuthenticatedAgent,
    ApiQuery(params): ApiQuery<PollWait>,
) -> Result<Response, ApiError> {
    let wait = wait_seconds(params.wait, AGENT_WAIT_DEFAULT, AGENT_WAIT_MAX)?;
    let _open = state.metrics.long_poll();
    let store = &state.store;
    // An agent's device has the agent's id.
    let device_id = agent.agent_id;
    let deadline = Instant::now() + wait;
    let requests = state
        .waiters
        .for_device(device_id, deadline, move || async move {
            let requests = store
                .deliver_pending_requests(device_id, Utc::now())
                .await?;
            Ok::<_, StoreError>((!requests.is_empty()).then_some(requests))
        })
        .await?
        .unwrap_or_default();
    if !requests.is_empty() {
        state.metrics.snapshot_requests_delivered(requests.len());
        tracing::info!(%device_id, count = requests.len(), "snapshot requests delivered");
    }
    Ok(held(Json(PendingRequests { requests }), !wait.is_zero()))
}

/// The answer, marked as held on purpose when the caller asked to wait (metrics then leave its
/// time out of the latency histogram).
pub(crate) fn held(answer: impl IntoResponse, waited: bool) -> Response {
    let mut response = answer.into_response();
    if waited {
        response.extensions_mut().insert(HeldAnswer);
    }
    response
}

/// `?wait=` in seconds, within `0..=max`.
fn wait_seconds(wait: Option<u64>, default: u64, max: u64) -> Result<Duration, ApiError> {
    let seconds = wait.unwrap_or(default);
    if seconds > max {
        return Err(ApiError::InvalidQuery(format!(
            "wait is {seconds} seconds; at most {max}"
        )));
    }
    Ok(Duration::from_secs(seconds))
}

/// The shape the agent can parse; what a target means is the agent's business.
fn check_targets(targets: &[String]) -> Result<(), ApiError> {
    if targets.len() > MAX_TARGETS {
        return Err(ApiError::invalid_body(format!(
            "targets has {} entries; at most {MAX_TARGETS}",
            targets.len()
        )));
    }
    for (index, target) in targets.iter().enumerate() {
        let length = target.chars().count();
        if length == 0 || length > TARGET_MAX_CHARS {
            return Err(ApiError::invalid_body(format!(
                "targets[{index}] is {length} characters long; a target has 1 to {TARGET_MAX_CHARS}"
            )));
        }
        if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ApiError::invalid_body(format!(
                "targets[{index}] {target:?} contains whitespace or a control character"
            )));
        }
    }
    Ok(())
}

fn expiry(seconds: Option<i64>) -> Result<Duration, ApiError> {
    let seconds = seconds.unwrap_or(DEFAULT_EXPIRY_SECONDS);
    if !EXPIRY_SECONDS.contains(&seconds) {
        return Err(ApiError::invalid_body(format!(
            "expires_in_seconds is {seconds}; it must be {} to {}",
            EXPIRY_SECONDS.start(),
            EXPIRY_SECONDS.end()
        )));
    }
    Ok(Duration::from_secs(seconds.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_checked_for_shape_only() {
        let ok = [
            "printer.corp.example",
            "10.0.0.5",
            "mail.corp.example:993",
            "https://intranet.corp.example/health",
        ];
        assert!(check_targets(&ok.map(String::from)).is_ok());
        let message = |targets: Vec<String>| match check_targets(&targets) {
            Err(ApiError::Unprocessable { message, .. }) => message,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            message(vec!["ok".into(), "bad host".into()]),
            "targets[1] \"bad host\" contains whitespace or a control character"
        );
        assert_eq!(
            message(vec!["a\u{7}b".into()]),
            "targets[0] \"a\\u{7}b\" contains whitespace or a control character"
        );
        assert_eq!(
            message(vec![String::new()]),
            "targets[0] is 0 characters long; a target has 1 to 255"
        );
        assert_eq!(
            message(vec!["é".repeat(256)]),
            "targets[0] is 256 characters long; a target has 1 to 255"
        );
        assert!(check_targets(&["é".repeat(255)]).is_ok());
        assert_eq!(
            message(vec!["h".into(); 17]),
            "targets has 17 entries; at most 16"
        );
    }

    #[test]
    fn expiry_and_wait_are_bounded() {
        assert_eq!(expiry(None).ok(), Some(Duration::from_secs(3600)));
        assert_eq!(expiry(Some(60)).ok(), Some(Duration::from_secs(60)));
        assert!(expiry(Some(59)).is_err());
        assert!(expiry(Some(604_801)).is_err());
        assert_eq!(
            wait_seconds(None, 30, 60).ok(),
            Some(Duration::from_secs(30))
        );
        assert!(wait_seconds(Some(61), 30, 60).is_err());
    }
}
