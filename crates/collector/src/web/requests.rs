//! "Request fresh snapshot": the form queues a snapshot request (as the API does, waking the
//! device's agent), and a page waits for the answer, then opens the report. With script the
//! page long-polls `.../wait`; without, it refreshes itself and redirects once the request is
//! done.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::PagePath;
use super::csrf::Posted;
use super::error::PageError;
use super::layout::{answer, exact, see, shell};
use crate::AppState;
use crate::api::{NewSnapshotRequest, held, queue_snapshot_request, settled_request};
use crate::error::ApiError;
use crate::store::{RequestStatus, WebSession};

/// How long `.../wait` holds its answer: under the 30 s at which browsers and proxies start
/// giving up on a quiet connection.
const WAIT: Duration = Duration::from_secs(25);

/// How often the page refreshes itself in a browser without script, in seconds.
const REFRESH_SECONDS: u32 = 3;

#[derive(Debug, Deserialize)]
pub(super) struct RequestForm {
    #[serde(default)]
    targets: String,
}

/// `POST /devices/{id}/requests` → 303 to the waiting page.
pub(super) async fn create(
    State(state): State<AppState>,
    PagePath(device_id): PagePath<Uuid>,
    posted: Posted<RequestForm>,
) -> Result<Response, PageError> {
    let targets = posted
        .form
        .targets
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|target| !target.is_empty())
        .map(str::to_string)
        .collect();
    let body = NewSnapshotRequest {
        targets,
        expires_in_seconds: None,
    };
    let request = queue_snapshot_request(&state, device_id, body, &posted.session.actor()).await?;
    Ok(see(&format!(
        "/devices/{device_id}/requests/{}",
        request.id
    )))
}

/// `GET /devices/{id}/requests/{request_id}`: "waiting…", or the report once it is done.
pub(super) async fn show(
    State(state): State<AppState>,
    session: WebSession,
    PagePath((device_id, request_id)): PagePath<(Uuid, Uuid)>,
) -> Result<Response, PageError> {
    let request = settled_request(&state, device_id, request_id, Duration::ZERO).await?;
    if let Some(snapshot) = request.snapshot_id {
        return Ok(see(&format!("/snapshots/{snapshot}")));
    }
    let device = state.store.device(device_id).await?.device;
    let host = device.hostname.as_deref().unwrap_or("the device");
    let expired = request.status == RequestStatus::Expired;
    let refresh = (!expired).then(|| {
        html! {
            noscript { meta http-equiv="refresh" content=(REFRESH_SECONDS); }
        }
    });
    let content = html! {
        h1 { "Fresh snapshot of " span.host { (host) } }
        @if expired {
            p #request-status role="status" { "expired" }
            p #request-detail {
                "The device did not answer before " (exact(request.expires_at))
                ". It may be switched off or offline; request again when it is back."
            }
        } @else {
            p #request-status role="status" aria-live="polite"
                data-wait={ "/devices/" (device_id) "/requests/" (request_id) "/wait" } {
                "waiting…"
            }
            p #request-detail {
                @if request.status == RequestStatus::Delivered {
                    "The device's agent has the request and is taking the snapshot."
                } @else {
                    "The request is queued: the device's agent takes it as soon as it asks, at once when it is online."
                }
                " The report opens here when it arrives."
            }
        }
        @if !request.targets.is_empty() {
            p { "Extra probe targets: " (request.targets.join(", ")) }
        }
        p.hint { "Requested " (exact(request.created_at)) "." }
        p { a href={ "/devices/" (device_id) } { "Back to " (host) } }
    };
    Ok(answer(shell(
        "Waiting for a snapshot",
        Some(&session),
        refresh,
        content,
    )))
}

/// `GET /devices/{id}/requests/{request_id}/wait`: the request as the API shows it, once it is
/// done or expired or after [`WAIT`]. JSON, for the waiting page's script.
pub(super) async fn wait(
    State(state): State<AppState>,
    _session: WebSession,
    PagePath((device_id, request_id)): PagePath<(Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    let request = settled_request(&state, device_id, request_id, WAIT).await?;
    Ok(held(Json(request), true))
}
