//! What changed on a device: a snapshot against its device's last good snapshot (the newest
//! earlier one without a failing finding), or against one the specialist picks.

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use sitrep_report::trigger_label;
use uuid::Uuid;

use super::error::PageError;
use super::layout::{answer, exact, page};
use super::snapshots::host;
use super::{PagePath, PageQuery};
use crate::AppState;
use crate::diff::{diff, diff_html};
use crate::error::ApiError;
use crate::store::WebSession;

#[derive(Debug, Deserialize)]
pub(super) struct DiffQuery {
    /// A snapshot id; empty or absent for the last good one.
    #[serde(default)]
    against: String,
}

/// `GET /snapshots/{id}/diff[?against=SID]`.
pub(super) async fn show(
    State(state): State<AppState>,
    session: WebSession,
    PagePath(id): PagePath<Uuid>,
    PageQuery(query): PageQuery<DiffQuery>,
) -> Result<Response, PageError> {
    let chosen = match query.against.trim() {
        "" => None,
        against => Some(Uuid::parse_str(against).map_err(|_| {
            ApiError::InvalidQuery(format!("against={against:?} is not a snapshot id"))
        })?),
    };
    let baseline = state.store.baseline(id, chosen).await?;
    let device_id = state.store.snapshot_device(id).await?;
    let history = state.store.device(device_id).await?.snapshots;
    let new = state.store.snapshot(id).await?;
    let changes = match baseline {
        Some(baseline) => {
            let old = state.store.snapshot(baseline).await?;
            Some(diff(&old, &new))
        }
        None => None,
    };
    let host = host(&new).unwrap_or("this machine").to_string();
    let content = html! {
        h1 { "What changed on " span.host { (host) } }
        p.meta {
            "Snapshot " a href={ "/snapshots/" (id) } { (exact(new.taken_at)) }
            " compared with "
            @match (baseline, chosen) {
                (Some(baseline), Some(_)) => { "the chosen snapshot " a href={ "/snapshots/" (baseline) } { (baseline) } "." }
                (Some(baseline), None) => { "the last good snapshot " a href={ "/snapshots/" (baseline) } { (baseline) } "." }
                (None, _) => { "nothing yet." }
            }
        }
        form #against-form.inline method="get" action={ "/snapshots/" (id) "/diff" } {
            div.field {
                label for="against" { "Compare with" }
                select #against name="against" {
                    option value="" selected[chosen.is_none()] { "the last good snapshot" }
                    @for entry in history.iter().filter(|entry| entry.id != id) {
                        option value=(entry.id) selected[chosen == Some(entry.id)] {
                            (exact(entry.taken_at)) " · " (entry.worst_severity.as_str().to_uppercase())
                            " · " (trigger_label(entry.trigger))
                        }
                    }
                }
            }
            button #compare type="submit" { "Compare" }
        }
        @match &changes {
            Some(changes) => (diff_html(changes)),
            None => p #no-baseline {
                "This device has no earlier snapshot without a failing finding, so there is no last "
                "good snapshot to compare with. Choose a snapshot above."
            },
        }
    };
    Ok(answer(page(
        &format!("Changes on {host}"),
        Some(&session),
        content,
    )))
}
