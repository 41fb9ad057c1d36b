//! Agent routes: enroll, send a snapshot (perhaps answering a snapshot request), ask for help.
//! The agent's long-poll for snapshot requests is in `requests.rs`.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiQuery, blocking};
use crate::AppState;
use crate::auth::AuthenticatedAgent;
use crate::error::{ApiError, ErrorBody};
use crate::ingest::{self, body::RawBody};
use crate::store::{Enrollment, HelpOutcome, IngestOutcome};

/// Longest help text, in characters: a few paragraphs, not a log file.
pub const HELP_TEXT_MAX_CHARS: usize = 2000;

/// Longest host name and agent version accepted at enrollment.
const ENROLL_FIELD_MAX_CHARS: usize = 255;

/// Longest note on an attachment made while sending.
pub const NOTE_MAX_CHARS: usize = 2000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrollRequest {
    /// The enrollment token (`se_...`).
    pub token: String,
    pub hostname: Option<String>,
    pub agent_version: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/enroll",
    tag = "agent",
    request_body = EnrollRequest,
    responses(
        (status = 201, description = "Enrolled; the key is shown only now", body = Enrollment),
        (status = 401, description = "`invalid_enrollment_token`: unknown, revoked, expired or used up", body = ErrorBody),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    )
)]
pub async fn enroll(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EnrollRequest>,
) -> Result<(StatusCode, Json<Enrollment>), ApiError> {
    let too_long = |value: &str| value.chars().count() > ENROLL_FIELD_MAX_CHARS;
    if too_long(&request.agent_version) || request.hostname.as_deref().is_some_and(too_long) {
        return Err(ApiError::invalid_body(format!(
            "hostname and agent_version are limited to {ENROLL_FIELD_MAX_CHARS} characters"
        )));
    }
    let enrollment = state
        .store
        .enroll_agent(&request.token, request.hostname, request.agent_version)
        .await?;
    tracing::info!(agent_id = %enrollment.agent_id, "agent enrolled");
    Ok((StatusCode::CREATED, Json(enrollment)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SendParams {
    /// Attach the snapshot to this built-in ticket.
    pub ticket: Option<i64>,
    /// The attachment's note (with `ticket` only).
    pub note: Option<String>,
    /// The snapshot request this snapshot answers: it becomes done with this snapshot. A
    /// request that is unknown, expired or done already is ignored (the snapshot is stored).
    pub request: Option<Uuid>,
    /// How many snapshots the agent's spool dropped (full) since its last successful upload.
    pub spool_dropped: Option<u64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/snapshots",
    tag = "agent",
    params(SendParams),
    request_body(
        content = Object,
        content_type = "application/json",
        description = "A snapshot (schema at `/api/v1/schema/snapshot`); `Content-Encoding: zstd` or `gzip` allowed"
    ),
    security(("agent_key" = [])),
    responses(
        (status = 201, description = "Stored", body = IngestOutcome),
        (status = 200, description = "Stored before (`duplicate: true`); nothing changed", body = IngestOutcome),
        (status = 400, description = "`malformed_json` or `malformed_body`", body = ErrorBody),
        (status = 401, description = "`missing_credentials` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the snapshot names another agent, or `request` is another device's", body = ErrorBody),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorBody),
        (status = 409, description = "`conflict`: the snapshot id was stored for another agent", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body did not arrive within `limits.body_read_timeout`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`, as sent or decompressed", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type` or `unsupported_encoding`", body = ErrorBody),
        (status = 422, description = "`unsupported_schema_version` or `invalid_body`", body = ErrorBody),
        (status = 507, description = "`storage_full`: the collector's disk is full, nothing was stored; send again after `Retry-After`", body = ErrorBody),
    )
)]
pub async fn send_snapshot(
    State(state): State<AppState>,
    agent: AuthenticatedAgent,
    ApiQuery(params): ApiQuery<SendParams>,
    request: Request,
) -> Result<(StatusCode, Json<IngestOutcome>), ApiError> {
    let attach_to = match (params.ticket, params.note) {
        (Some(ticket), note) => {
            let note = note.unwrap_or_default();
            if note.chars().count() > NOTE_MAX_CHARS {
                return Err(ApiError::InvalidQuery(format!(
                    "note is limited to {NOTE_MAX_CHARS} characters"
                )));
            }
            Some((ticket, note))
        }
        (None, Some(_)) => return Err(ApiError::InvalidQuery("note needs ticket".into())),
        (None, None) => None,
    };
    // A request never changes device, so this holds for the transaction that links it.
    if let Some(request_id) = params.request
        && let Some(device_id) = state.store.snapshot_request_device(request_id).await?
        && device_id != agent.agent_id
    {
        return Err(ApiError::Forbidden(format!(
            "snapshot request {request_id} is for another device"
        )));
    }
    let raw = RawBody::read(request, state.limits).await?;
    let received_bytes = raw.received_bytes();
    let limits = state.limits;
    let mut snapshot = blocking(move || {
        let frames = raw.zstd_frames();
        let json = raw.decode(limits)?;
        ingest::prepare(&json, frames, agent.agent_id, Utc::now())
    })
    .await?;
    // Refusing an absurd count would keep the snapshot in the agent's spool for ever.
    snapshot.spool_dropped = params
        .spool_dropped
        .map_or(0, |dropped| u32::try_from(dropped).unwrap_or(u32::MAX));
    snapshot.request_id = params.request;
    let decompressed_bytes = snapshot.body_bytes;
    let outcome = state.store.ingest(snapshot, attach_to).await?;
    if let Some(request_id) = params.request {
        // After the commit. Waiters look again, so waking them for a link that was ignored
        // costs one read.
        state.waiters.request_done(request_id);
    }
    state
        .metrics
        .ingested(received_bytes, decompressed_bytes, !outcome.duplicate);
    let status = if outcome.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(outcome)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HelpBody {
    /// The user's words, at most 2,000 characters.
    pub text: String,
    /// A snapshot, as sent to `POST /api/v1/snapshots`.
    #[schema(value_type = Object)]
    pub snapshot: Box<RawValue>,
}

#[utoipa::path(
    post,
    path = "/api/v1/help",
    tag = "agent",
    request_body(content = HelpBody, description = "`Content-Encoding: zstd` or `gzip` allowed"),
    security(("agent_key" = [])),
    responses(
        (status = 201, description = "Help request opened; read the support code to the specialist", body = HelpOutcome),
        (status = 200, description = "This snapshot was sent for help before: the same code again", body = HelpOutcome),
        (status = 400, description = "`malformed_json` or `malformed_body`", body = ErrorBody),
        (status = 401, description = "`missing_credentials` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the snapshot names another agent", body = ErrorBody),
        (status = 408, description = "`request_timeout`: the body did not arrive within `limits.body_read_timeout`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type` or `unsupported_encoding`", body = ErrorBody),
        (status = 422, description = "`invalid_text`, `unsupported_schema_version` or `invalid_body`", body = ErrorBody),
        (status = 507, description = "`storage_full`: the collector's disk is full, nothing was stored; send again after `Retry-After`", body = ErrorBody),
    )
)]
pub async fn ask_for_help(
    State(state): State<AppState>,
    agent: AuthenticatedAgent,
    request: Request,
) -> Result<(StatusCode, Json<HelpOutcome>), ApiError> {
    let raw = RawBody::read(request, state.limits).await?;
    let received_bytes = raw.received_bytes();
    let limits = state.limits;
    let (text, snapshot) = blocking(move || {
        let json = raw.decode(limits)?;
        let body: HelpBody =
            serde_json::from_slice(&json).map_err(|error| ApiError::from_json(&error))?;
        let text = body.text.trim().to_string();
        if text.is_empty() {
            return Err(ApiError::Unprocessable {
                code: "invalid_text",
                message: "text is empty: describe the problem".into(),
            });
        }
        if text.chars().count() > HELP_TEXT_MAX_CHARS {
            return Err(ApiError::Unprocessable {
                code: "invalid_text",
                message: format!("text is limited to {HELP_TEXT_MAX_CHARS} characters"),
            });
        }
        let snapshot = ingest::prepare(
            body.snapshot.get().as_bytes(),
            None,
            agent.agent_id,
            Utc::now(),
        )?;
        Ok((text, snapshot))
    })
    .await?;
    let decompressed_bytes = snapshot.body_bytes;
    let outcome = state.store.create_help_request(snapshot, text).await?;
    state
        .metrics
        .ingested(received_bytes, decompressed_bytes, !outcome.duplicate);
    if !outcome.duplicate {
        tracing::info!(support_code = %outcome.support_code, "help requested");
    }
    let status = if outcome.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(outcome)))
}
