//! A snapshot's report page (the report crate's renderer, peripherals included, under a header
//! of actions: the JSON, the diff, attaching it to a ticket), its JSON as a download, and the
//! attach form's target.

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use sitrep_report::{report_main, severity_badge, trigger_label};
use sitrep_snapshot::Snapshot;
use uuid::Uuid;

use super::PagePath;
use super::csrf::Posted;
use super::error::PageError;
use super::layout::{answer, csrf_field, exact, page, see};
use crate::AppState;
use crate::api::{check_note, queue_external_attachment};
use crate::error::ApiError;
use crate::store::{DeliveryStatus, ExternalAttachment, TicketStatus, WebSession};

#[derive(Debug, Deserialize)]
pub(super) struct HelpdeskForm {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    note: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct AttachForm {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    note: String,
}

/// `GET /snapshots/{id}` (the report) and `GET /snapshots/{id}.json` (the download).
pub(super) async fn report_or_json(
    State(state): State<AppState>,
    session: WebSession,
    PagePath(file): PagePath<String>,
) -> Result<Response, PageError> {
    match file.strip_suffix(".json") {
        Some(id) => download(&state, snapshot_id(id)?).await,
        None => report(&state, &session, snapshot_id(&file)?).await,
    }
}

/// The JSON exactly as the agent sent it, saved under a name that says what it is.
async fn download(state: &AppState, id: Uuid) -> Result<Response, PageError> {
    let json = state.store.snapshot_json(id).await?;
    let disposition = format!("attachment; filename=\"sitrep-snapshot-{id}.json\"");
    Ok((
        [
            (CONTENT_TYPE, "application/json".to_string()),
            (CONTENT_DISPOSITION, disposition),
        ],
        json,
    )
        .into_response())
}

async fn report(state: &AppState, session: &WebSession, id: Uuid) -> Result<Response, PageError> {
    let snapshot = state.store.snapshot(id).await?;
    let device_id = state.store.snapshot_device(id).await?;
    let open_tickets = state.store.list_tickets(Some(TicketStatus::Open)).await?;
    let deliveries = state.store.external_attachments(id).await?;
    let helpdesks = state.connectors.listed();
    let host = host(&snapshot).unwrap_or("this machine").to_string();
    let content = html! {
        h1 {
            span.host { (host) } " " (severity_badge(snapshot.worst_severity()))
        }
        p.meta {
            "Snapshot taken " time datetime=(snapshot.taken_at.to_rfc3339()) { (exact(snapshot.taken_at)) }
            " (" (trigger_label(snapshot.trigger)) ") by sitrep agent " (snapshot.agent.version) "."
        }
        ul.actions {
            li { a href={ "/devices/" (device_id) } { "Device page" } }
            li { a #download-json href={ "/snapshots/" (id) ".json" } download { "Download JSON" } }
            li { a #diff-link href={ "/snapshots/" (id) "/diff" } { "What changed since it last worked" } }
        }
        form #attach-form.inline method="post" action={ "/snapshots/" (id) "/attach" } {
            (csrf_field(session))
            div.field {
                label for="ticket" { "Attach to ticket" }
                select #ticket name="ticket" required disabled[open_tickets.is_empty()] {
                    @for ticket in &open_tickets {
                        option value=(ticket.id) { "#" (ticket.id) " " (ticket.title) }
                    }
                    @if open_tickets.is_empty() { option value="" { "no open ticket" } }
                }
            }
            div.field {
                label for="note" { "Note (optional)" }
                input #note type="text" name="note" maxlength="2000" autocomplete="off";
            }
            button #attach type="submit" disabled[open_tickets.is_empty()] { "Attach" }
            @if open_tickets.is_empty() {
                p.hint { "No open ticket to attach to: " a href="/tickets" { "create one" } " first." }
            }
        }
        @if !state.connectors.is_empty() || !deliveries.is_empty() {
            section #helpdesk {
                h2 { "Helpdesk tickets" }
                @if !deliveries.is_empty() {
                    table.deliveries {
                        thead { tr { th { "Ticket" } th { "Status" } th { "Tries" } th { "Detail" } } }
                        tbody {
                            @for delivery in &deliveries {
                                tr {
                                    td data-label="Ticket" { code { (delivery.reference) } }
                                    td data-label="Status" { (delivery_status(delivery)) }
                                    td data-label="Tries" { (delivery.attempts) }
                                    td data-label="Detail" {
                                        @if let Some(error) = &delivery.last_error { (error) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !state.connectors.is_empty() {
                    form #helpdesk-form.inline method="post" action={ "/snapshots/" (id) "/helpdesk" } {
                        (csrf_field(session))
                        div.field {
                            label for="reference" { "Attach to helpdesk ticket" }
                            input #reference type="text" name="reference" required
                                placeholder="rt:1234" autocomplete="off" maxlength="100";
                        }
                        div.field {
                            label for="helpdesk-note" { "Note (optional)" }
                            input #helpdesk-note type="text" name="note" maxlength="4000" autocomplete="off";
                        }
                        button #attach-helpdesk type="submit" { "Attach" }
                        p.hint { "Helpdesks: " (helpdesks) ". The report and the JSON go onto the ticket as an internal note." }
                    }
                }
            }
        }
        // Findings, the facts, and last `section#peripherals` (USB tree, printers, displays,
        // audio, power, input, Bluetooth, cameras), as in the report crate's HTML page.
        (report_main(&snapshot))
        p.hint { "Snapshot " code { (id) } }
    };
    Ok(answer(page(&host, Some(session), content)))
}

/// `POST /snapshots/{id}/attach` → 303 to the ticket.
pub(super) async fn attach(
    State(state): State<AppState>,
    PagePath(id): PagePath<Uuid>,
    posted: Posted<AttachForm>,
) -> Result<Response, PageError> {
    let ticket = posted.form.ticket.trim().parse::<i64>().map_err(|_| {
        ApiError::invalid_body(format!(
            "ticket {:?} is not a ticket number; choose an open ticket",
            posted.form.ticket
        ))
    })?;
    let note = posted.form.note.trim().to_string();
    check_note(&note)?;
    state
        .store
        .attach_snapshot(ticket, id, note, &posted.session.actor())
        .await?;
    Ok(see(&format!("/tickets/{ticket}")))
}

/// `POST /snapshots/{id}/helpdesk` → 303 back to the report's helpdesk section.
pub(super) async fn attach_to_helpdesk(
    State(state): State<AppState>,
    PagePath(id): PagePath<Uuid>,
    posted: Posted<HelpdeskForm>,
) -> Result<Response, PageError> {
    queue_external_attachment(
        &state,
        id,
        &posted.form.reference,
        posted.form.note.trim().to_string(),
        None,
        &posted.session.actor(),
    )
    .await?;
    Ok(see(&format!("/snapshots/{id}#helpdesk")))
}

/// "delivered", "waiting (next try at ...)" or "failed".
fn delivery_status(delivery: &ExternalAttachment) -> String {
    match delivery.status {
        DeliveryStatus::Delivered => match delivery.outcome.as_deref() {
            Some("already_there") => "delivered (found there)".to_string(),
            _ => "delivered".to_string(),
        },
        DeliveryStatus::Pending => match (&delivery.last_error, delivery.next_attempt_at) {
            (Some(_), Some(next)) => format!("waiting to try again at {}", exact(next)),
            _ => "on its way".to_string(),
        },
        DeliveryStatus::Failed => "failed".to_string(),
    }
}

/// The host name the snapshot reports.
pub(super) fn host(snapshot: &Snapshot) -> Option<&str> {
    snapshot.os.ok().and_then(|os| os.hostname.as_deref())
}

/// A snapshot id from the path; anything else names no snapshot.
fn snapshot_id(text: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(text).map_err(|_| {
        PageError::from(ApiError::NotFound {
            what: "snapshot",
            id: text.to_string(),
        })
    })
}
