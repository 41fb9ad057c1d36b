//! Specialist routes for built-in tickets: list, create, read, comment, close, attach.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use crate::auth::Specialist;
use crate::error::{ApiError, ErrorBody};
use crate::store::{Attachment, Comment, NewTicket, Ticket, TicketDetail, TicketStatus};

const TITLE_MAX_CHARS: usize = 200;
const TEXT_MAX_CHARS: usize = 20_000;
const NOTE_MAX_CHARS: usize = super::agent::NOTE_MAX_CHARS;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketFilter {
    /// Only tickets with this status.
    #[param(inline)]
    pub status: Option<TicketStatus>,
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets",
    tag = "tickets",
    params(TicketFilter),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "Tickets, most recently changed first (at most 500)", body = Vec<Ticket>),
        (status = 400, description = "`invalid_query`", body = ErrorBody),
    )
)]
pub async fn list_tickets(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiQuery(filter): ApiQuery<TicketFilter>,
) -> Result<Json<Vec<Ticket>>, ApiError> {
    Ok(Json(state.store.list_tickets(filter.status).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets",
    tag = "tickets",
    request_body = NewTicket,
    security(("api_token" = [])),
    responses(
        (status = 201, description = "Created", body = Ticket),
        (status = 422, description = "`invalid_body` or `unknown_device`", body = ErrorBody),
    )
)]
pub async fn create_ticket(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiJson(ticket): ApiJson<NewTicket>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let ticket = checked_ticket(ticket)?;
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .store
                .create_ticket(ticket, &specialist.actor())
                .await?,
        ),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}",
    tag = "tickets",
    params(("id" = i64, Path, description = "Ticket number")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The ticket with its comments and attachments", body = TicketDetail),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn ticket(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TicketDetail>, ApiError> {
    Ok(Json(state.store.ticket(id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub body: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/comments",
    tag = "tickets",
    params(("id" = i64, Path, description = "Ticket number")),
    request_body = NewComment,
    security(("api_token" = [])),
    responses(
        (status = 201, description = "Added", body = Comment),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 422, description = "`invalid_body`", body = ErrorBody),
    )
)]
pub async fn add_comment(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiPath(id): ApiPath<i64>,
    ApiJson(comment): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    check_comment(&comment.body)?;
    let comment = state
        .store
        .add_comment(id, comment.body, &specialist.actor())
        .await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/close",
    tag = "tickets",
    params(("id" = i64, Path, description = "Ticket number")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "Closed (closing a closed ticket changes nothing)", body = Ticket),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn close_ticket(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(
        state.store.close_ticket(id, &specialist.actor()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    pub snapshot_id: Uuid,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/attachments",
    tag = "tickets",
    params(("id" = i64, Path, description = "Ticket number")),
    request_body = NewAttachment,
    security(("api_token" = [])),
    responses(
        (status = 201, description = "Attached", body = Attachment),
        (status = 200, description = "Attached before; nothing changed", body = Attachment),
        (status = 404, description = "`not_found`: unknown ticket", body = ErrorBody),
        (status = 422, description = "`unknown_snapshot` or `invalid_body`", body = ErrorBody),
    )
)]
pub async fn attach_snapshot(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiPath(id): ApiPath<i64>,
    ApiJson(attachment): ApiJson<NewAttachment>,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    check_note(&attachment.note)?;
    let outcome = state
        .store
        .attach_snapshot(
            id,
            attachment.snapshot_id,
            attachment.note,
            &specialist.actor(),
        )
        .await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(outcome.attachment)))
}

/// The ticket with its title trimmed, if title and body are within their limits. The API route
/// and the web UI's form both come here, as for [`check_comment`] and [`check_note`].
pub(crate) fn checked_ticket(ticket: NewTicket) -> Result<NewTicket, ApiError> {
    let title = ticket.title.trim();
    check_text("title", title, TITLE_MAX_CHARS)?;
    limit("body", &ticket.body, TEXT_MAX_CHARS)?;
    Ok(NewTicket {
        title: title.to_string(),
        ..ticket
    })
}

pub(crate) fn check_comment(body: &str) -> Result<(), ApiError> {
    check_text("body", body.trim(), TEXT_MAX_CHARS)
}

pub(crate) fn check_note(note: &str) -> Result<(), ApiError> {
    limit("note", note, NOTE_MAX_CHARS)
}

/// Required text: not blank, at most `max` characters.
fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid_body(format!("{field} is empty")));
    }
    limit(field, value, max)
}

fn limit(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid_body(format!(
            "{field} is limited to {max} characters"
        )));
    }
    Ok(())
}
