//! Snapshots attached to tickets in external helpdesks: `POST` queues one by reference
//! (`rt:1234`, `jira:OPS-42`) and answers at once; the delivery worker (`delivery.rs`) puts it
//! there, and `GET` shows how each delivery stands, with the helpdesk's message when it failed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sitrep_tickets::{NewExternalTicket, TicketRef};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath};
use crate::AppState;
use crate::auth::Specialist;
use crate::error::{ApiError, ErrorBody};
use crate::store::{Actor, ExternalAttachment, SupportCode};

/// Longest note that goes with an attachment.
const NOTE_LIMIT: usize = 4000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExternalAttachment {
    /// `CONNECTOR:TICKET`: a connector configured under `[tickets.CONNECTOR]` and the ticket's
    /// id or key there, e.g. `rt:1234`, `zendesk:5678`, `jira:OPS-42`.
    pub reference: String,
    /// A note for the ticket, besides the report's summary.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/snapshots/{id}/external-tickets",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "The snapshot to attach")),
    request_body = NewExternalAttachment,
    security(("api_token" = [])),
    responses(
        (status = 202, description = "Queued (or already queued or delivered: the same delivery); the report and the JSON go onto the ticket as an internal note", body = ExternalAttachment),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 401, description = "`missing_credentials`, `unknown_api_token` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent key", body = ErrorBody),
        (status = 404, description = "`not_found`: no snapshot `{id}`", body = ErrorBody),
        (status = 422, description = "`invalid_reference`: not CONNECTOR:TICKET; `unknown_connector`: no such helpdesk configured; `invalid_note`: over 4000 characters", body = ErrorBody),
    )
)]
pub async fn attach_to_external_ticket(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewExternalAttachment>,
) -> Result<(StatusCode, Json<ExternalAttachment>), ApiError> {
    let queued = queue_external_attachment(
        &state,
        id,
        &body.reference,
        body.note,
        None,
        &specialist.actor(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

/// Checks a specialist's request to attach snapshot `id` to `reference` and queues it; the
/// API and the web UI both come here.
pub(crate) async fn queue_external_attachment(
    state: &AppState,
    id: Uuid,
    reference: &str,
    note: String,
    help_request: Option<Uuid>,
    actor: &Actor,
) -> Result<ExternalAttachment, ApiError> {
    let reference: TicketRef = reference
        .parse()
        .map_err(|message| ApiError::Unprocessable {
            code: "invalid_reference",
            message,
        })?;
    if state.connectors.get(&reference.connector).is_none() {
        return Err(unknown_connector(state, &reference.connector));
    }
    if note.chars().count() > NOTE_LIMIT {
        return Err(ApiError::Unprocessable {
            code: "invalid_note",
            message: format!("the note is over {NOTE_LIMIT} characters"),
        });
    }
    let queued = state
        .store
        .queue_external_attachment(
            id,
            reference.connector,
            reference.key,
            note,
            help_request,
            actor,
        )
        .await?;
    state.deliveries.notify_one();
    Ok(queued)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExternalTicketFromHelp {
    /// The helpdesk to create the ticket in: a connector configured as `[tickets.CONNECTOR]`.
    pub connector: String,
}

/// A ticket made in an external helpdesk, with the delivery of the help request's snapshot.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExternalTicketMade {
    /// `connector:key` of the ticket.
    pub reference: String,
    /// Where a person opens it, when the helpdesk said (only when made now).
    pub url: Option<String>,
    pub delivery: ExternalAttachment,
}

#[utoipa::path(
    post,
    path = "/api/v1/help-requests/{code}/external-ticket",
    tag = "specialist",
    params(("code" = String, Path, description = "Support code")),
    request_body = NewExternalTicketFromHelp,
    security(("api_token" = [])),
    responses(
        (status = 201, description = "A ticket made in the helpdesk from the user's words, support code and host; the request's snapshot is queued for it", body = ExternalTicketMade),
        (status = 200, description = "The request's snapshot is on a ticket of that helpdesk already: that ticket", body = ExternalTicketMade),
        (status = 401, description = "`missing_credentials`, `unknown_api_token` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent key", body = ErrorBody),
        (status = 404, description = "`not_found`: no help request with that code", body = ErrorBody),
        (status = 422, description = "`unknown_connector`", body = ErrorBody),
        (status = 502, description = "`helpdesk_refused`: the helpdesk refused, in its words", body = ErrorBody),
        (status = 503, description = "`helpdesk_unavailable`: the helpdesk could not be reached or is rate limiting; try later", body = ErrorBody),
    )
)]
pub async fn external_ticket_from_help_request(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<NewExternalTicketFromHelp>,
) -> Result<(StatusCode, Json<ExternalTicketMade>), ApiError> {
    let code = SupportCode::parse(&code).ok_or_else(|| ApiError::NotFound {
        what: "help request",
        id: code.clone(),
    })?;
    let help = state.store.help_request(&code).await?;
    let Some(connector) = state.connectors.get(&body.connector).cloned() else {
        return Err(unknown_connector(&state, &body.connector));
    };
    let earlier = state.store.external_attachments(help.snapshot_id).await?;
    if let Some(delivery) = earlier.into_iter().find(|d| d.connector == body.connector) {
        let made = ExternalTicketMade {
            reference: delivery.reference.clone(),
            url: None,
            delivery,
        };
        return Ok((StatusCode::OK, Json(made)));
    }
    let first_line = help.text.lines().next().unwrap_or_default();
    let host = help.hostname.as_deref().unwrap_or("unknown host");
    let ticket = connector
        .create_ticket(&NewExternalTicket {
            title: format!("{first_line} ({host})"),
            description: format!(
                "{}\n\nSupport code {} from {host}; sitrep snapshot {} follows as an internal note.",
                help.text, help.support_code, help.snapshot_id
            ),
        })
        .await
        .map_err(|error| ApiError::Helpdesk {
            unavailable: error.is_transient(),
            message: error.to_string(),
        })?;
    let reference = format!("{}:{}", body.connector, ticket.key);
    let delivery = queue_external_attachment(
        &state,
        help.snapshot_id,
        &reference,
        format!("Sent with help request {}.", help.support_code),
        Some(help.id),
        &specialist.actor(),
    )
    .await?;
    let made = ExternalTicketMade {
        reference,
        url: ticket.url,
        delivery,
    };
    Ok((StatusCode::CREATED, Json(made)))
}

fn unknown_connector(state: &AppState, name: &str) -> ApiError {
    ApiError::Unprocessable {
        code: "unknown_connector",
        message: format!(
            "no helpdesk is configured as {name:?} (configured: {})",
            state.connectors.listed()
        ),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/snapshots/{id}/external-tickets",
    tag = "specialist",
    params(("id" = Uuid, Path, description = "The snapshot")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The snapshot's helpdesk deliveries, oldest first", body = [ExternalAttachment]),
        (status = 401, description = "`missing_credentials`, `unknown_api_token` or `unknown_agent_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: an agent key", body = ErrorBody),
        (status = 404, description = "`not_found`: no snapshot `{id}`", body = ErrorBody),
    )
)]
pub async fn external_tickets(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<ExternalAttachment>>, ApiError> {
    state.store.snapshot_device(id).await?;
    Ok(Json(state.store.external_attachments(id).await?))
}
