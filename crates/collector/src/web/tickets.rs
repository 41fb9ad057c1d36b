//! Built-in tickets: the list with a form for a new one, a ticket with its attachments and
//! comments (add a comment, close it), and a ticket made from a help request. The checks and
//! store methods are the API's.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use sitrep_report::severity_badge;

use super::PagePath;
use super::csrf::{NoFields, Posted};
use super::error::PageError;
use super::layout::{actor_name, answer, csrf_field, exact, page, see, when};
use crate::AppState;
use crate::api::{check_comment, checked_ticket};
use crate::error::ApiError;
use crate::store::{NewTicket, SupportCode, TicketStatus, WebSession};

#[derive(Debug, Deserialize)]
pub(super) struct TicketForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct CommentForm {
    #[serde(default)]
    body: String,
}

/// `GET /tickets`.
pub(super) async fn list(
    State(state): State<AppState>,
    session: WebSession,
) -> Result<Response, PageError> {
    let tickets = state.store.list_tickets(None).await?;
    let content = html! {
        h1 { "Tickets" }
        section aria-labelledby="new-heading" {
            h2 #new-heading { "New ticket" }
            form #new-ticket-form.stacked method="post" action="/tickets" {
                (csrf_field(&session))
                label for="title" { "Title" }
                input #title type="text" name="title" required maxlength="200";
                label for="body" { "Description (optional)" }
                textarea #body name="body" rows="4" {}
                div { button #create-ticket type="submit" { "Create ticket" } }
            }
        }
        section aria-labelledby="tickets-heading" {
            h2 #tickets-heading { "All tickets" }
            @if tickets.is_empty() {
                p { "No tickets yet." }
            } @else {
                div.table-wrap {
                    table #tickets.grid {
                        thead { tr {
                            th scope="col" { "Number" } th scope="col" { "Title" }
                            th scope="col" { "Status" } th scope="col" { "Changed" }
                        } }
                        tbody {
                            @for ticket in &tickets {
                                tr.ticket {
                                    td data-label="Number" { "#" (ticket.id) }
                                    td data-label="Title" {
                                        a.ticket-link href={ "/tickets/" (ticket.id) } { (ticket.title) }
                                    }
                                    td data-label="Status" {
                                        span.status.(status_name(ticket.status)) { (status_name(ticket.status)) }
                                    }
                                    td data-label="Changed" { (when(ticket.updated_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(answer(page("Tickets", Some(&session), content)))
}

/// `POST /tickets` → 303 to the new ticket.
pub(super) async fn create(
    State(state): State<AppState>,
    posted: Posted<TicketForm>,
) -> Result<Response, PageError> {
    let ticket = checked_ticket(NewTicket {
        title: posted.form.title,
        body: posted.form.body,
        device_id: None,
    })?;
    let ticket = state
        .store
        .create_ticket(ticket, &posted.session.actor())
        .await?;
    Ok(see(&format!("/tickets/{}", ticket.id)))
}

/// `GET /tickets/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    session: WebSession,
    PagePath(id): PagePath<i64>,
) -> Result<Response, PageError> {
    let detail = state.store.ticket(id).await?;
    let names: Vec<_> = state
        .store
        .list_api_tokens()
        .await?
        .into_iter()
        .map(|token| (token.id, token.name))
        .collect();
    let ticket = &detail.ticket;
    let content = html! {
        h1 { "#" (ticket.id) " " (ticket.title) }
        p.meta {
            "Status: " span #ticket-status.status.(status_name(ticket.status)) { (status_name(ticket.status)) }
            " · opened by " (actor_name(&ticket.created_by, &names)) " " (when(ticket.created_at))
            @if let Some(device) = ticket.device_id {
                " · " a href={ "/devices/" (device) } { "device" }
            }
        }
        @if !ticket.body.is_empty() {
            div.ticket-body { (ticket.body) }
        }
        section aria-labelledby="attachments-heading" {
            h2 #attachments-heading { "Attached snapshots" }
            ul #attachments {
                @for attachment in &detail.attachments {
                    li {
                        a href={ "/snapshots/" (attachment.snapshot_id) } { "Snapshot of " (exact(attachment.taken_at)) }
                        " " (severity_badge(attachment.worst_severity))
                        @if !attachment.note.is_empty() { " — " (attachment.note) }
                        span.hint { " (attached by " (actor_name(&attachment.attached_by, &names)) " " (when(attachment.attached_at)) ")" }
                    }
                }
            }
            @if detail.attachments.is_empty() {
                p.hint { "None yet: open a report and attach it from there." }
            }
        }
        section aria-labelledby="comments-heading" {
            h2 #comments-heading { "Comments" }
            ul #comments {
                @for comment in &detail.comments {
                    li.comment {
                        p.meta { (actor_name(&comment.author, &names)) " · " (when(comment.created_at)) }
                        div.comment-body { (comment.body) }
                    }
                }
            }
            form #comment-form.stacked method="post" action={ "/tickets/" (id) "/comments" } {
                (csrf_field(&session))
                label for="comment" { "Add a comment" }
                textarea #comment name="body" rows="4" required {}
                div { button #add-comment type="submit" { "Add comment" } }
            }
        }
        @if ticket.status == TicketStatus::Open {
            form #close-form method="post" action={ "/tickets/" (id) "/close" } {
                (csrf_field(&session))
                button #close-ticket.secondary type="submit" { "Close ticket" }
            }
        }
    };
    Ok(answer(page(
        &format!("#{} {}", ticket.id, ticket.title),
        Some(&session),
        content,
    )))
}

/// `POST /tickets/{id}/comments` → 303 back to the ticket.
pub(super) async fn comment(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    posted: Posted<CommentForm>,
) -> Result<Response, PageError> {
    check_comment(&posted.form.body)?;
    state
        .store
        .add_comment(id, posted.form.body, &posted.session.actor())
        .await?;
    Ok(see(&format!("/tickets/{id}")))
}

/// `POST /tickets/{id}/close` → 303 back to the ticket.
pub(super) async fn close(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    posted: Posted<NoFields>,
) -> Result<Response, PageError> {
    state
        .store
        .close_ticket(id, &posted.session.actor())
        .await?;
    Ok(see(&format!("/tickets/{id}")))
}

/// `POST /help-requests/{code}/ticket` → 303 to the ticket (the one it had, if it had one).
pub(super) async fn from_help_request(
    State(state): State<AppState>,
    PagePath(code): PagePath<String>,
    posted: Posted<NoFields>,
) -> Result<Response, PageError> {
    let code = SupportCode::parse(&code).ok_or(ApiError::NotFound {
        what: "help request",
        id: code,
    })?;
    let made = state
        .store
        .ticket_from_help_request(&code, &posted.session.actor())
        .await?;
    Ok(see(&format!("/tickets/{}", made.ticket.id)))
}

fn status_name(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Open => "open",
        TicketStatus::Closed => "closed",
    }
}
