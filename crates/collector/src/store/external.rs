//! The outbox of attachments to external helpdesks: a specialist queues "attach snapshot S to
//! ticket rt:1234", a delivery worker on some replica claims it for a while (a lease), and
//! records the outcome: delivered, to be retried at a time, or failed with the helpdesk's
//! message. Queueing the same attachment again returns the one already queued (and puts a
//! failed one back in the queue).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::corrupt;
use super::tickets::actor;
use super::{Actor, Store, StoreError, audit, millis, now, time, uuid};

macro_rules! columns {
    () => {
        "id, snapshot_id, connector, ticket_key, note, created_at, created_by_kind, \
         created_by_id, status, attempts, next_attempt_at, last_error, delivered_at, outcome"
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its (next) try.
    Pending,
    Delivered,
    /// The helpdesk refused for good; `last_error` says why.
    Failed,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// A snapshot on its way to, or in, a ticket of an external helpdesk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ExternalAttachment {
    pub id: Uuid,
    pub snapshot_id: Uuid,
    /// `connector:key`, as the specialist wrote it: `rt:1234`, `jira:OPS-42`.
    pub reference: String,
    #[serde(skip)]
    pub connector: String,
    #[serde(skip)]
    pub ticket_key: String,
    pub note: String,
    pub status: DeliveryStatus,
    /// Tries so far.
    pub attempts: u32,
    /// When the next try is due (while pending).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The helpdesk's message for the last failure.
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// `new`, or `already_there` when an earlier try had got through.
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Actor,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// On the ticket; `already_there` when an earlier try had got through.
    Delivered {
        already_there: bool,
    },
    /// Try again at `at`; `error` is why this try failed.
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    Failed {
        error: String,
    },
}

impl Store {
    /// Queues `snapshot_id` for ticket `ticket_key` of `connector`; the attachment already
    /// queued for the same three when there is one (a failed one goes back in the queue, due
    /// now). With `help_request`, that open help request becomes `ticketed` in the same
    /// transaction (its ticket is the external one).
    pub async fn queue_external_attachment(
        &self,
        snapshot_id: Uuid,
        connector: String,
        ticket_key: String,
        note: String,
        help_request: Option<Uuid>,
        actor: &Actor,
    ) -> Result<ExternalAttachment, StoreError> {
        let actor = actor.clone();
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let at = millis(now());
                    let id = Uuid::now_v7();
                    sqlx::query(
                        "INSERT INTO external_attachments (id, snapshot_id, connector, ticket_key, \
                         note, created_at, created_by_kind, created_by_id, status, next_attempt_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $6) \
                         ON CONFLICT (snapshot_id, connector, ticket_key) DO UPDATE SET \
                         status = 'pending', next_attempt_at = excluded.next_attempt_at, \
                         last_error = NULL, attempts = 0 \
                         WHERE external_attachments.status = 'failed'",
                    )
                    .bind(id.to_string())
                    .bind(snapshot_id.to_string())
                    .bind(connector.as_str())
                    .bind(ticket_key.as_str())
                    .bind(note.as_str())
                    .bind(at)
                    .bind(actor.kind())
                    .bind(actor.id())
                    .execute(&mut *connection)
                    .await
                    .map_err(|error| match error {
                        sqlx::Error::Database(ref database) if database.is_foreign_key_violation() => {
                            StoreError::NotFound { what: "snapshot", id: snapshot_id.to_string() }
                        }
                        error => StoreError::Database(error),
                    })?;
                    let queued = by_target(connection, snapshot_id, &connector, &ticket_key).await?;
                    if let Some(help_request) = help_request {
                        sqlx::query(
                            "UPDATE help_requests SET status = 'ticketed' WHERE id = $1 AND status = 'open'",
                        )
                        .bind(help_request.to_string())
                        .execute(&mut *connection)
                        .await?;
                        let detail = json!({ "reference": queued.reference });
                        audit::record(connection, &actor, "help_request.ticket_external", "help_request", &help_request.to_string(), detail).await?;
                    }
                    let detail = json!({
                        "snapshot_id": snapshot_id,
                        "reference": queued.reference,
                        "status": queued.status,
                    });
                    audit::record(connection, &actor, "external_attachment.queue", "external_attachment", &queued.id.to_string(), detail).await?;
                    Ok(queued)
                })
            })
            .await
    }

    /// The external attachments of a snapshot, oldest first.
    pub async fn external_attachments(
        &self,
        snapshot_id: Uuid,
    ) -> Result<Vec<ExternalAttachment>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM external_attachments WHERE snapshot_id = $1 ORDER BY created_at, id"
        ))
        .bind(snapshot_id.to_string())
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(external_attachment)
        .collect()
    }

    pub async fn external_attachment(&self, id: Uuid) -> Result<ExternalAttachment, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM external_attachments WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .map(|row| external_attachment(&row))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "external attachment",
            id: id.to_string(),
        })
    }

    /// Takes up to `limit` deliveries that are due for `lease`: no other replica takes them
    /// until it runs out (or their outcome is recorded). Counts the try.
    pub async fn claim_due_external_attachments(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<ExternalAttachment>, StoreError> {
        let lease = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let at = millis(now());
                    // The conditions again outside the subquery: of two replicas claiming at
                    // once, PostgreSQL re-checks them on the row the first one changed, so the
                    // second skips it.
                    let claimed = sqlx::query(concat!(
                        "UPDATE external_attachments SET leased_until = $2, attempts = attempts + 1 \
                         WHERE id IN (SELECT id FROM external_attachments \
                             WHERE status = 'pending' AND next_attempt_at <= $1 \
                             AND (leased_until IS NULL OR leased_until <= $1) \
                             ORDER BY next_attempt_at, id LIMIT $3) \
                         AND status = 'pending' AND (leased_until IS NULL OR leased_until <= $1) \
                         RETURNING ",
                        columns!()
                    ))
                    .bind(at)
                    .bind(at.saturating_add(lease))
                    .bind(limit)
                    .fetch_all(&mut *connection)
                    .await?;
                    let mut claimed = claimed
                        .iter()
                        .map(external_attachment)
                        .collect::<Result<Vec<_>, _>>()?;
                    claimed.sort_by_key(|attachment| (attachment.next_attempt_at, attachment.id));
                    Ok(claimed)
                })
            })
            .await
    }

    /// When the next delivery is due, if one is pending (leased ones count from their lease's
    /// end).
    pub async fn next_external_attachment_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE WHEN leased_until IS NOT NULL AND leased_until > next_attempt_at \
             THEN leased_until ELSE next_attempt_at END) FROM external_attachments \
             WHERE status = 'pending'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(due.map(time))
    }

    /// Records how a claimed delivery's try ended, and audits it.
    pub async fn finish_external_attachment(
        &self,
        id: Uuid,
        result: DeliveryResult,
    ) -> Result<ExternalAttachment, StoreError> {
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let at = millis(now());
                    let (status, next_attempt_at, error, delivered_at, outcome) = match &result {
                        DeliveryResult::Delivered { already_there } => (
                            DeliveryStatus::Delivered,
                            at,
                            None,
                            Some(at),
                            Some(if *already_there {
                                "already_there"
                            } else {
                                "new"
                            }),
                        ),
                        DeliveryResult::Retry { at: next, error } => (
                            DeliveryStatus::Pending,
                            millis(*next),
                            Some(error.clone()),
                            None,
                            None,
                        ),
                        DeliveryResult::Failed { error } => {
                            (DeliveryStatus::Failed, at, Some(error.clone()), None, None)
                        }
                    };
                    sqlx::query(
                        "UPDATE external_attachments SET status = $2, next_attempt_at = $3, \
                         last_error = $4, delivered_at = $5, outcome = $6, leased_until = NULL \
                         WHERE id = $1",
                    )
                    .bind(id.to_string())
                    .bind(status.as_str())
                    .bind(next_attempt_at)
                    .bind(error.clone())
                    .bind(delivered_at)
                    .bind(outcome)
                    .execute(&mut *connection)
                    .await?;
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        columns!(),
                        " FROM external_attachments WHERE id = $1"
                    ))
                    .bind(id.to_string())
                    .fetch_optional(&mut *connection)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        what: "external attachment",
                        id: id.to_string(),
                    })?;
                    let finished = external_attachment(&row)?;
                    let action = match status {
                        DeliveryStatus::Delivered => "external_attachment.deliver",
                        DeliveryStatus::Pending => "external_attachment.retry",
                        DeliveryStatus::Failed => "external_attachment.fail",
                    };
                    let detail = json!({
                        "reference": finished.reference,
                        "attempts": finished.attempts,
                        "outcome": outcome,
                        "error": error,
                    });
                    audit::record(
                        connection,
                        &Actor::Collector,
                        action,
                        "external_attachment",
                        &id.to_string(),
                        detail,
                    )
                    .await?;
                    Ok(finished)
                })
            })
            .await
    }
}

async fn by_target(
    connection: &mut AnyConnection,
    snapshot_id: Uuid,
    connector: &str,
    ticket_key: &str,
) -> Result<ExternalAttachment, StoreError> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM external_attachments WHERE snapshot_id = $1 AND connector = $2 AND ticket_key = $3"
    ))
    .bind(snapshot_id.to_string())
    .bind(connector)
    .bind(ticket_key)
    .fetch_one(&mut *connection)
    .await?;
    external_attachment(&row)
}

fn external_attachment(row: &AnyRow) -> Result<ExternalAttachment, StoreError> {
    let id = uuid(row, "id")?;
    let status: String = row.try_get("status")?;
    let status = match status.as_str() {
        "pending" => DeliveryStatus::Pending,
        "delivered" => DeliveryStatus::Delivered,
        "failed" => DeliveryStatus::Failed,
        other => {
            return Err(corrupt(
                "external_attachments",
                &id.to_string(),
                "status",
                other,
            ));
        }
    };
    let connector: String = row.try_get("connector")?;
    let ticket_key: String = row.try_get("ticket_key")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(ExternalAttachment {
        id,
        snapshot_id: uuid(row, "snapshot_id")?,
        reference: format!("{connector}:{ticket_key}"),
        connector,
        ticket_key,
        note: row.try_get("note")?,
        status,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: (status == DeliveryStatus::Pending)
            .then(|| row.try_get::<i64, _>("next_attempt_at"))
            .transpose()?
            .map(time),
        last_error: row.try_get("last_error")?,
        delivered_at: row.try_get::<Option<i64>, _>("delivered_at")?.map(time),
        outcome: row.try_get("outcome")?,
        created_at: time(row.try_get("created_at")?),
        created_by: actor(
            row,
            "external_attachments",
            "created_by_kind",
            "created_by_id",
        )?,
    })
}
