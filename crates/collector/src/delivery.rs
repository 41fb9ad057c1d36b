//! The delivery worker: takes due attachments from the store's outbox (leased, so replicas
//! share the work without doing it twice), puts each snapshot on its ticket through the
//! helpdesk's connector, and records the outcome. A helpdesk that is away or rate limiting is
//! tried again with backoff, never sooner than its `Retry-After`; one that refuses for good
//! marks the delivery failed with its message. A collector that stops mid-delivery leaves a
//! lease that runs out, and the next try finds the files there already (the connectors look
//! before they upload), so nothing is lost or attached twice.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use sitrep_tickets::{Attached, Attachment, Connectors, TicketError};
use tokio::sync::Notify;

use crate::store::{DeliveryResult, ExternalAttachment, Store};

/// Deliveries one replica works on at once.
const BATCH: i64 = 8;

/// How long a claimed delivery stays this replica's: several helpdesk requests of up to 30 s.
const LEASE: Duration = Duration::from_secs(180);

/// How often the worker looks even when not woken: other replicas queue deliveries too.
const POLL: Duration = Duration::from_secs(5);

/// The first retry's wait; it doubles with every try, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Tries before a delivery that keeps failing transiently is given up (about two days).
const MAX_ATTEMPTS: u32 = 60;

/// Starts the worker on the current runtime. `wake` makes it look at once (a delivery was
/// queued here).
pub fn spawn(store: Store, connectors: Arc<Connectors>, wake: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            let claimed = match store.claim_due_external_attachments(BATCH, LEASE).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "taking due helpdesk deliveries");
                    Vec::new()
                }
            };
            let full = i64::try_from(claimed.len()).unwrap_or(i64::MAX) >= BATCH;
            join_all(
                claimed
                    .iter()
                    .map(|item| deliver(&store, &connectors, item)),
            )
            .await;
            if full {
                continue;
            }
            let wait = match store.next_external_attachment_due().await {
                Ok(Some(due)) => (due - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(POLL),
                _ => POLL,
            };
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
}

/// One try, its outcome recorded.
async fn deliver(store: &Store, connectors: &Connectors, item: &ExternalAttachment) {
    let result = attempt(store, connectors, item).await;
    match &result {
        DeliveryResult::Delivered { already_there } => {
            tracing::info!(reference = %item.reference, snapshot = %item.snapshot_id, already_there, "attached a snapshot to a helpdesk ticket");
        }
        DeliveryResult::Retry { at, error } => {
            tracing::warn!(reference = %item.reference, snapshot = %item.snapshot_id, %at, %error, "attaching a snapshot failed; trying again later");
        }
        DeliveryResult::Failed { error } => {
            tracing::warn!(reference = %item.reference, snapshot = %item.snapshot_id, %error, "attaching a snapshot failed for good");
        }
    }
    if let Err(error) = store.finish_external_attachment(item.id, result).await {
        // The lease runs out and the delivery is tried again; the connector finds the files
        // if they got there.
        tracing::error!(%error, reference = %item.reference, "recording a helpdesk delivery");
    }
}

async fn attempt(
    store: &Store,
    connectors: &Connectors,
    item: &ExternalAttachment,
) -> DeliveryResult {
    let Some(connector) = connectors.get(&item.connector) else {
        return DeliveryResult::Failed {
            error: format!(
                "no helpdesk connector named {:?} is configured (configured: {})",
                item.connector,
                connectors.listed()
            ),
        };
    };
    let attachment = match attachment(store, item).await {
        Ok(attachment) => attachment,
        Err(error) => return retry(item, &error, None),
    };
    match connector.attach(&item.ticket_key, &attachment).await {
        Ok(attached) => DeliveryResult::Delivered {
            already_there: attached == Attached::AlreadyThere,
        },
        Err(TicketError::Transient {
            message,
            retry_after,
        }) => retry(item, &message, retry_after),
        Err(TicketError::Permanent { message, .. }) => DeliveryResult::Failed { error: message },
    }
}

/// The next try after a transient failure: exponential backoff from [`FIRST_BACKOFF`], never
/// sooner than the helpdesk asked; given up after [`MAX_ATTEMPTS`].
fn retry(
    item: &ExternalAttachment,
    error: &dyn std::fmt::Display,
    retry_after: Option<Duration>,
) -> DeliveryResult {
    if item.attempts >= MAX_ATTEMPTS {
        return DeliveryResult::Failed {
            error: format!("gave up after {} tries; the last: {error}", item.attempts),
        };
    }
    let doublings = item.attempts.saturating_sub(1).min(16);
    let backoff = FIRST_BACKOFF
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF)
        .max(retry_after.unwrap_or(Duration::ZERO));
    DeliveryResult::Retry {
        at: Utc::now() + chrono::Duration::from_std(backoff).unwrap_or(chrono::Duration::MAX),
        error: error.to_string(),
    }
}

/// What goes onto the ticket: the report rendered both ways and the JSON as the agent sent it.
async fn attachment(
    store: &Store,
    item: &ExternalAttachment,
) -> Result<Attachment, crate::store::StoreError> {
    let snapshot_json = store.snapshot_json(item.snapshot_id).await?;
    let snapshot = store.snapshot(item.snapshot_id).await?;
    let host = snapshot
        .os
        .ok()
        .and_then(|os| os.hostname.clone())
        .unwrap_or_else(|| "unknown host".to_string());
    Ok(Attachment {
        snapshot_id: item.snapshot_id,
        summary: format!(
            "{host}, taken {}, worst finding: {}",
            snapshot.taken_at.format("%Y-%m-%d %H:%M UTC"),
            snapshot.worst_severity().as_str()
        ),
        note: item.note.clone(),
        report_html: sitrep_report::html(&snapshot),
        report_markdown: sitrep_report::markdown(&snapshot),
        snapshot_json,
    })
}
