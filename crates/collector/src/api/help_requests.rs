//! Specialist routes for help requests: look one up by the code the user reads out, and turn it
//! into a built-in ticket.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::extract::{ApiPath, ApiQuery};
use crate::AppState;
use crate::auth::Specialist;
use crate::error::{ApiError, ErrorBody};
use crate::store::{HelpRequest, SupportCode, Ticket};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HelpRequestFilter {
    /// Only requests with this support code (any case, dash optional).
    pub code: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/help-requests",
    tag = "specialist",
    params(HelpRequestFilter),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "Help requests, open first, then newest (at most 500)", body = Vec<HelpRequest>),
        (status = 400, description = "`invalid_query`: not a support code", body = ErrorBody),
    )
)]
pub async fn list_help_requests(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiQuery(filter): ApiQuery<HelpRequestFilter>,
) -> Result<Json<Vec<HelpRequest>>, ApiError> {
    let code = match filter.code.as_deref() {
        Some(code) => Some(SupportCode::parse(code).ok_or_else(|| {
            ApiError::InvalidQuery(format!("{code:?} is not a support code (like K7P-4QX)"))
        })?),
        None => None,
    };
    Ok(Json(state.store.list_help_requests(code.as_ref()).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/help-requests/{code}",
    tag = "specialist",
    params(("code" = String, Path, description = "Support code, e.g. K7P-4QX (any case, dash optional)")),
    security(("api_token" = [])),
    responses(
        (status = 200, description = "The live request with this code, else the newest closed one", body = HelpRequest),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn help_request(
    State(state): State<AppState>,
    _specialist: Specialist,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<HelpRequest>, ApiError> {
    let code = parse_code(&code)?;
    Ok(Json(state.store.help_request(&code).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/help-requests/{code}/ticket",
    tag = "specialist",
    params(("code" = String, Path, description = "Support code")),
    security(("api_token" = [])),
    responses(
        (status = 201, description = "A ticket made from the request, its snapshot attached; the request is now `ticketed`", body = Ticket),
        (status = 200, description = "The request had a ticket already: that ticket", body = Ticket),
        (status = 404, description = "`not_found`", body = ErrorBody),
    )
)]
pub async fn ticket_from_help_request(
    State(state): State<AppState>,
    specialist: Specialist,
    ApiPath(code): ApiPath<String>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let code = parse_code(&code)?;
    let made = state
        .store
        .ticket_from_help_request(&code, &specialist.actor())
        .await?;
    let status = if made.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(made.ticket)))
}

/// A code that cannot exist names no request.
fn parse_code(code: &str) -> Result<SupportCode, ApiError> {
    SupportCode::parse(code).ok_or_else(|| ApiError::NotFound {
        what: "help request",
        id: code.to_string(),
    })
}
