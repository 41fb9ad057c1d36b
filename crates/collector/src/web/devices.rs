//! The devices list (open help requests first, then every device, searchable by host name,
//! user or support code) and a device's page (its help requests, a fresh snapshot request,
//! recent requests and the history of its snapshots).

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use sitrep_report::{severity_badge, trigger_label};
use uuid::Uuid;

use super::error::PageError;
use super::layout::{answer, csrf_field, exact, page, when};
use super::{PagePath, PageQuery};
use crate::AppState;
use crate::store::{HelpRequest, HelpStatus, RequestStatus, SnapshotRequest, WebSession};

/// What a device without a host name is called.
const UNNAMED: &str = "unnamed device";

#[derive(Debug, Deserialize)]
pub(super) struct Search {
    #[serde(default)]
    q: String,
}

/// `GET /devices?q=`: the same search as `GET /api/v1/devices?q=`.
pub(super) async fn list(
    State(state): State<AppState>,
    session: WebSession,
    PageQuery(search): PageQuery<Search>,
) -> Result<Response, PageError> {
    let query = search.q.trim();
    let devices = state.store.search_devices(Some(query)).await?;
    // Open requests first, on whatever page: while searching, those of the devices found.
    let help: Vec<HelpRequest> = state
        .store
        .list_help_requests(None)
        .await?
        .into_iter()
        .filter(|help| help.status == HelpStatus::Open)
        .filter(|help| query.is_empty() || devices.iter().any(|d| d.id == help.device_id))
        .collect();
    let content = html! {
        h1 { "Devices" }
        form #search-form.inline method="get" action="/devices" role="search" {
            div.field {
                label for="search" { "Host name, user or support code" }
                input #search type="search" name="q" value=(query) autocomplete="off";
            }
            button #search-button type="submit" { "Search" }
            @if !query.is_empty() { a href="/devices" { "Show all" } }
        }
        section #help-requests aria-labelledby="help-heading" {
            h2 #help-heading { "Open help requests" }
            @if help.is_empty() {
                p.hint { "No open help requests" @if !query.is_empty() { " for these devices" } "." }
            } @else {
                ul.help-requests {
                    @for request in &help { (help_request(request, None)) }
                }
            }
        }
        section aria-labelledby="devices-heading" {
            h2 #devices-heading {
                @if query.is_empty() { "All devices" } @else { "Devices matching “" (query) "”" }
            }
            @if devices.is_empty() {
                p { "No device matches. Search by part of a host name or user name, or by a support code like K7P-4QX." }
            } @else {
                div.table-wrap {
                    table #devices.grid {
                        thead { tr {
                            th scope="col" { "Device" } th scope="col" { "Status" }
                            th scope="col" { "System" } th scope="col" { "Users" }
                            th scope="col" { "Last seen" }
                        } }
                        tbody {
                            @for device in &devices {
                                tr.device {
                                    td data-label="Device" {
                                        a.device-link href={ "/devices/" (device.id) } {
                                            (device.hostname.as_deref().unwrap_or(UNNAMED))
                                        }
                                    }
                                    td data-label="Status" { (severity_badge(device.worst_severity)) }
                                    td data-label="System" { (device.os.as_deref().unwrap_or("-")) }
                                    td data-label="Users" { (device.users.join(", ")) }
                                    td data-label="Last seen" { (when(device.last_seen_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(answer(page("Devices", Some(&session), content)))
}

/// `GET /devices/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    session: WebSession,
    PagePath(id): PagePath<Uuid>,
) -> Result<Response, PageError> {
    let detail = state.store.device(id).await?;
    let requests = state.store.snapshot_requests(id).await?;
    let device = &detail.device;
    let host = device.hostname.as_deref().unwrap_or(UNNAMED);
    let content = html! {
        h1 { span.host { (host) } " " (severity_badge(device.worst_severity)) }
        p.meta {
            (device.os.as_deref().unwrap_or("Unknown system"))
            @if !device.users.is_empty() { " · users " (device.users.join(", ")) }
            " · last seen " (when(device.last_seen_at))
            " · first seen " (when(device.first_seen_at))
        }
        @if device.spool_dropped > 0 {
            p.error {
                "The agent had to drop " (device.spool_dropped)
                " snapshots it could not send (its spool was full)."
            }
        }
        ul.actions {
            li { a href={ "/snapshots/" (device.latest_snapshot_id) } { "Latest report" } }
            li { a href={ "/snapshots/" (device.latest_snapshot_id) "/diff" } { "What changed since it last worked" } }
        }
        section #request aria-labelledby="request-heading" {
            h2 #request-heading { "Request a fresh snapshot" }
            form #request-form.inline method="post" action={ "/devices/" (id) "/requests" } {
                (csrf_field(&session))
                div.field {
                    label for="targets" { "Extra probe targets (optional)" }
                    input #targets type="text" name="targets" autocomplete="off"
                        placeholder="printer.corp.example, mail.corp.example:993"
                        aria-describedby="targets-hint";
                }
                button #request-snapshot type="submit" { "Request fresh snapshot" }
            }
            p #targets-hint.hint {
                "Hosts, IP addresses, host:port or URLs, separated by spaces or commas. The agent "
                "takes the snapshot as soon as it hears of the request (at once when it is online)."
            }
        }
        @if !detail.help_requests.is_empty() {
            section #help-requests aria-labelledby="help-heading" {
                h2 #help-heading { "Help requests" }
                ul.help-requests {
                    @for request in &detail.help_requests { (help_request(request, Some(&session))) }
                }
            }
        }
        @if !requests.is_empty() {
            section #requests aria-labelledby="requests-heading" {
                h2 #requests-heading { "Snapshot requests" }
                div.table-wrap {
                    table.grid {
                        thead { tr {
                            th scope="col" { "Requested" } th scope="col" { "Status" }
                            th scope="col" { "Extra targets" }
                        } }
                        tbody {
                            @for request in &requests { (request_row(request)) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="history-heading" {
            h2 #history-heading { "History" }
            div.table-wrap {
                table #history.grid {
                    thead { tr {
                        th scope="col" { "Taken" } th scope="col" { "Trigger" }
                        th scope="col" { "Worst finding" }
                    } }
                    tbody {
                        @for snapshot in &detail.snapshots {
                            tr.snapshot {
                                td data-label="Taken" {
                                    a.snapshot-link href={ "/snapshots/" (snapshot.id) } { (exact(snapshot.taken_at)) }
                                }
                                td data-label="Trigger" { (trigger_label(snapshot.trigger)) }
                                td data-label="Worst finding" { (severity_badge(snapshot.worst_severity)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(answer(page(host, Some(&session), content)))
}

/// One help request: the code the user reads out, their words, and (on a device's page, where
/// `session` is given) the way to a ticket.
fn help_request(request: &HelpRequest, session: Option<&WebSession>) -> Markup {
    html! {
        li.help-request {
            span.support-code { (request.support_code) }
            " from "
            a.device-link href={ "/devices/" (request.device_id) } {
                (request.hostname.as_deref().unwrap_or(UNNAMED))
            }
            " · " (when(request.created_at))
            " · " a href={ "/snapshots/" (request.snapshot_id) } { "report" }
            @if let Some(ticket) = request.ticket_id {
                " · " a href={ "/tickets/" (ticket) } { "ticket #" (ticket) }
            } @else if let Some(session) = session {
                form.make-ticket-form method="post" action={ "/help-requests/" (request.support_code.compact()) "/ticket" } {
                    (csrf_field(session))
                    button.make-ticket type="submit" { "Make ticket" }
                }
            }
            q.help-text { (request.text) }
        }
    }
}

fn request_row(request: &SnapshotRequest) -> Markup {
    let status = match request.status {
        RequestStatus::Queued => "queued",
        RequestStatus::Delivered => "delivered, snapshot on its way",
        RequestStatus::Done => "done",
        RequestStatus::Expired => "expired",
    };
    html! {
        tr {
            td data-label="Requested" {
                a href={ "/devices/" (request.device_id) "/requests/" (request.id) } { (exact(request.created_at)) }
            }
            td data-label="Status" {
                @if let Some(snapshot) = request.snapshot_id {
                    a href={ "/snapshots/" (snapshot) } { (status) }
                } @else { (status) }
            }
            td data-label="Extra targets" { (request.targets.join(", ")) }
        }
    }
}
