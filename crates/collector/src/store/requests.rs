//! Snapshot requests: a specialist asks a device for a fresh snapshot, its agent takes the
//! request on its long-poll (marked delivered), and the snapshot that names the request marks
//! it done in the ingest's own transaction ([`complete`]).
//!
//! The status is derived from the stored times when a request is read, so nothing has to sweep
//! expired requests.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use utoipa::ToSchema;
use uuid::Uuid;

use super::changes::{self, Change};
use super::model::corrupt;
use super::tickets::actor;
use super::{Actor, NewSnapshot, Store, StoreError, audit, millis, now, optional_uuid, time, uuid};

/// How long a delivered request may stay not done before it is handed out again: the agent that
/// took it may have crashed or lost the answer.
pub const REDELIVER_AFTER: Duration = Duration::from_secs(120);

/// Most requests a device's listing returns.
const LIST_LIMIT: i64 = 50;

macro_rules! request_columns {
    () => {
        "id, device_id, targets, created_at, expires_at, delivered_at, done_at, snapshot_id, \
         requested_by_kind, requested_by_id"
    };
}

/// The requests an agent may be handed: open, not expired, and not handed out recently.
/// `$1` device, `$2` now, `$3` the latest delivery time that counts as lost.
macro_rules! pending {
    () => {
        "device_id = $1 AND done_at IS NULL AND expires_at > $2 \
         AND (delivered_at IS NULL OR delivered_at <= $3)"
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Waiting for the device's agent to ask.
    Queued,
    /// Handed to the agent; the snapshot has not arrived yet.
    Delivered,
    /// The snapshot arrived (`snapshot_id`).
    Done,
    /// Not done before `expires_at`; never handed out again.
    Expired,
}

/// A specialist's request for a fresh snapshot of a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SnapshotRequest {
    pub id: Uuid,
    pub device_id: Uuid,
    /// Extra probe targets (host, IP address, host:port or URL), as `sitrep report --target`.
    pub targets: Vec<String>,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When the agent last took it.
    pub delivered_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    /// The snapshot that answered it.
    pub snapshot_id: Option<Uuid>,
    /// `/api/v1/snapshots/{snapshot_id}` once done.
    pub snapshot_url: Option<String>,
    pub requested_by: Actor,
}

/// A snapshot request as the agent receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgentRequest {
    /// Send the snapshot with `POST /api/v1/snapshots?request={id}`.
    pub id: Uuid,
    pub targets: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Queues a request for a fresh snapshot of `device_id`, valid for `expires_in`.
    pub async fn create_snapshot_request(
        &self,
        device_id: Uuid,
        targets: Vec<String>,
        expires_in: Duration,
        actor: &Actor,
    ) -> Result<SnapshotRequest, StoreError> {
        let created_at = now();
        let expires_in = chrono::Duration::from_std(expires_in).unwrap_or(chrono::Duration::MAX);
        let request = SnapshotRequest {
            id: Uuid::now_v7(),
            device_id,
            targets,
            status: RequestStatus::Queued,
            created_at,
            expires_at: created_at
                .checked_add_signed(expires_in)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            delivered_at: None,
            done_at: None,
            snapshot_id: None,
            snapshot_url: None,
            requested_by: actor.clone(),
        };
        let row = request.clone();
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    ensure_device(connection, row.device_id).await?;
                    let targets = serde_json::to_string(&row.targets)
                        .map_err(|error| corrupt("snapshot_requests", &row.id.to_string(), "targets", &error.to_string()))?;
                    sqlx::query(
                        "INSERT INTO snapshot_requests (id, device_id, targets, created_at, expires_at, \
                         requested_by_kind, requested_by_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(row.id.to_string())
                    .bind(row.device_id.to_string())
                    .bind(targets)
                    .bind(millis(row.created_at))
                    .bind(millis(row.expires_at))
                    .bind(row.requested_by.kind())
                    .bind(row.requested_by.id())
                    .execute(&mut *connection)
                    .await?;
                    changes::announce(connection, Change::RequestCreated { device_id: row.device_id }).await?;
                    let detail = json!({ "device_id": row.device_id, "targets": row.targets, "expires_at": row.expires_at });
                    audit::record(connection, &row.requested_by, "snapshot_request.create", "snapshot_request", &row.id.to_string(), detail).await
                })
            })
            .await?;
        Ok(request)
    }

    /// A device's requests, newest first (at most 50).
    pub async fn snapshot_requests(
        &self,
        device_id: Uuid,
    ) -> Result<Vec<SnapshotRequest>, StoreError> {
        let mut connection = self.read.acquire().await?;
        ensure_device(&mut connection, device_id).await?;
        let at = now();
        sqlx::query(concat!(
            "SELECT ",
            request_columns!(),
            " FROM snapshot_requests WHERE device_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(device_id.to_string())
        .bind(LIST_LIMIT)
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| snapshot_request(row, at))
        .collect()
    }

    /// One request of a device.
    pub async fn snapshot_request(
        &self,
        device_id: Uuid,
        id: Uuid,
    ) -> Result<SnapshotRequest, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            request_columns!(),
            " FROM snapshot_requests WHERE id = $1 AND device_id = $2"
        ))
        .bind(id.to_string())
        .bind(device_id.to_string())
        .fetch_optional(&self.read)
        .await?
        .map(|row| snapshot_request(&row, now()))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
            what: "snapshot request",
            id: id.to_string(),
        })
    }

    /// The device a request was made for, if the request exists. A request never changes
    /// device, so this may be asked outside the transaction that relies on it.
    pub async fn snapshot_request_device(&self, id: Uuid) -> Result<Option<Uuid>, StoreError> {
        sqlx::query("SELECT device_id FROM snapshot_requests WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .map(|row| uuid(&row, "device_id"))
            .transpose()
            .map_err(StoreError::from)
    }

    /// Hands the device's pending requests to its agent, oldest first, and marks them delivered
    /// at `now`: those queued, and those delivered more than [`REDELIVER_AFTER`] before `now`
    /// without being done. Expired requests are never handed out.
    ///
    /// An agent's device has the agent's id, so an agent that has not sent a snapshot yet (and
    /// has no device) simply has nothing pending.
    ///
    /// An idle agent asks often and mostly finds nothing: that costs one indexed read, and only
    /// a find goes through the writer (which looks again, so two polls never both take one).
    pub async fn deliver_pending_requests(
        &self,
        agent_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<AgentRequest>, StoreError> {
        let device_id = agent_id;
        let lost_before =
            millis(now) - i64::try_from(REDELIVER_AFTER.as_millis()).unwrap_or(i64::MAX);
        let any = sqlx::query(concat!(
            "SELECT 1 FROM snapshot_requests WHERE ",
            pending!(),
            " LIMIT 1"
        ))
        .bind(device_id.to_string())
        .bind(millis(now))
        .bind(lost_before)
        .fetch_optional(&self.read)
        .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let mut delivered = sqlx::query(concat!(
                        "UPDATE snapshot_requests SET delivered_at = $2 WHERE ",
                        pending!(),
                        " RETURNING id, targets, created_at, expires_at"
                    ))
                    .bind(device_id.to_string())
                    .bind(millis(now))
                    .bind(lost_before)
                    .fetch_all(&mut *connection)
                    .await?
                    .iter()
                    .map(agent_request)
                    .collect::<Result<Vec<_>, _>>()?;
                    // RETURNING gives no order.
                    delivered.sort_by_key(|request| (request.created_at, request.id));
                    let entries: Vec<audit::AuditEntry> = delivered
                        .iter()
                        .map(|request| audit::AuditEntry {
                            actor: Actor::Agent(agent_id),
                            action: "snapshot_request.deliver",
                            target_kind: "snapshot_request",
                            target_id: request.id.to_string(),
                            detail: json!({ "device_id": device_id }),
                        })
                        .collect();
                    audit::record_all(connection, &entries).await?;
                    Ok(delivered)
                })
            })
            .await
    }
}

/// Marks done the requests these newly stored snapshots answer, in the ingest's transaction,
/// and returns them. A link to a request that is unknown, another device's, expired or done
/// already is dropped with a warning: the snapshot stays stored, since the agent's spool must
/// never lose data because a request went away.
pub(super) async fn complete(
    connection: &mut AnyConnection,
    stored: &[&NewSnapshot],
) -> Result<HashSet<Uuid>, StoreError> {
    let mut done = HashSet::new();
    for snapshot in stored {
        let Some(request_id) = snapshot.request_id else {
            continue;
        };
        let received = millis(snapshot.received_at);
        let changed = sqlx::query(
            "UPDATE snapshot_requests SET done_at = $1, snapshot_id = $2 \
             WHERE id = $3 AND device_id = $4 AND done_at IS NULL AND expires_at > $1",
        )
        .bind(received)
        .bind(snapshot.id.to_string())
        .bind(request_id.to_string())
        .bind(snapshot.agent_id.to_string())
        .execute(&mut *connection)
        .await?
        .rows_affected();
        if changed == 0 {
            tracing::warn!(
                snapshot_id = %snapshot.id,
                request_id = %request_id,
                "the snapshot names a request that is unknown, expired or done already; stored without the link"
            );
        } else {
            changes::announce(connection, Change::RequestDone { request_id }).await?;
            done.insert(request_id);
        }
    }
    Ok(done)
}

/// Fails with `NotFound` unless the device exists.
async fn ensure_device(connection: &mut AnyConnection, device_id: Uuid) -> Result<(), StoreError> {
    sqlx::query("SELECT 1 FROM devices WHERE id = $1")
        .bind(device_id.to_string())
        .fetch_optional(&mut *connection)
        .await?
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound {
            what: "device",
            id: device_id.to_string(),
        })
}

fn targets(row: &AnyRow, id: Uuid) -> Result<Vec<String>, StoreError> {
    let text: String = row.try_get("targets")?;
    serde_json::from_str(&text)
        .map_err(|_| corrupt("snapshot_requests", &id.to_string(), "targets", &text))
}

/// A request as read at `at`, which decides whether it has expired.
fn snapshot_request(row: &AnyRow, at: DateTime<Utc>) -> Result<SnapshotRequest, StoreError> {
    let id = uuid(row, "id")?;
    let expires_at = time(row.try_get("expires_at")?);
    let delivered_at = row.try_get::<Option<i64>, _>("delivered_at")?.map(time);
    let done_at = row.try_get::<Option<i64>, _>("done_at")?.map(time);
    let snapshot_id = optional_uuid(row, "snapshot_id")?;
    let status = match (done_at, delivered_at) {
        (Some(_), _) => RequestStatus::Done,
        _ if expires_at <= at => RequestStatus::Expired,
        (None, Some(_)) => RequestStatus::Delivered,
        (None, None) => RequestStatus::Queued,
    };
    Ok(SnapshotRequest {
        id,
        device_id: uuid(row, "device_id")?,
        targets: targets(row, id)?,
        status,
        created_at: time(row.try_get("created_at")?),
        expires_at,
        delivered_at,
        done_at,
        snapshot_id,
        snapshot_url: snapshot_id.map(|snapshot| format!("/api/v1/snapshots/{snapshot}")),
        requested_by: actor(
            row,
            "snapshot_requests",
            "requested_by_kind",
            "requested_by_id",
        )?,
    })
}

fn agent_request(row: &AnyRow) -> Result<AgentRequest, StoreError> {
    let id = uuid(row, "id")?;
    Ok(AgentRequest {
        id,
        targets: targets(row, id)?,
        created_at: time(row.try_get("created_at")?),
        expires_at: time(row.try_get("expires_at")?),
    })
}
