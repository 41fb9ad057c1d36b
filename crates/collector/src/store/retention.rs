//! Snapshot retention: each device keeps at most its newest `max_snapshots_per_device`
//! snapshots, and none taken more than `max_age` ago. A background job applies it in bounded
//! steps; it is safe with several replicas running it at once.
//!
//! Whatever something still points at is kept however old: a device's latest snapshot, its
//! last good one (the baseline a specialist's diff starts from), snapshots attached to tickets
//! or sent with help requests, and snapshots that answered a specialist's request.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::AnyConnection;

use super::{Actor, Store, StoreError, audit, changes, millis};

/// Snapshots removed per transaction: small enough that the ingests sharing the writer's batch
/// barely wait.
const BATCH: i64 = 500;

/// Batches per run; what is left waits for the next run, so one run never holds the writer
/// for long whatever the backlog.
const MAX_BATCHES_PER_RUN: usize = 20;

/// Takes the PostgreSQL advisory lock of retention for this transaction, so of several
/// replicas one works and the others skip (any number would be correct, but would only fight
/// over the same rows). The key is arbitrary but fixed: "sitrep" in ASCII.
const ADVISORY_LOCK: i64 = 0x7369_7472_6570;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// `None`: no limit.
    pub max_snapshots_per_device: Option<u32>,
    /// `None`: no limit.
    pub max_age: Option<Duration>,
}

impl Retention {
    fn limits_anything(&self) -> bool {
        self.max_snapshots_per_device.is_some() || self.max_age.is_some()
    }
}

impl Store {
    /// Removes snapshots beyond `retention` as of `now`, at most [`BATCH`] ×
    /// [`MAX_BATCHES_PER_RUN`] of them, oldest first; returns how many it removed.
    pub async fn apply_retention(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if !retention.limits_anything() {
            return Ok(0);
        }
        let mut removed = 0;
        for _ in 0..MAX_BATCHES_PER_RUN {
            let batch = self
                .writer
                .write(move |connection| Box::pin(remove_batch(connection, retention, now)))
                .await?;
            removed += batch;
            if batch < BATCH.unsigned_abs() {
                break;
            }
        }
        Ok(removed)
    }

    /// Applies `retention` every `interval` until the store is dropped; failures are logged and
    /// tried again at the next run.
    pub fn spawn_retention(&self, retention: Retention, interval: Duration) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.apply_retention(retention, super::now()).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "snapshot retention"),
                    Err(error) => {
                        tracing::warn!(%error, "snapshot retention failed; trying again at the next run")
                    }
                }
            }
        });
    }
}

/// One transaction's worth: the oldest snapshots beyond the limits, minus those kept.
async fn remove_batch(
    connection: &mut AnyConnection,
    retention: Retention,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    if changes::is_postgres(connection) {
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(ADVISORY_LOCK)
            .fetch_one(&mut *connection)
            .await?;
        if !ours {
            return Ok(0);
        }
    }
    let keep_newest = retention
        .max_snapshots_per_device
        .map_or(i64::MAX, i64::from);
    let taken_before = retention.max_age.map_or(i64::MIN, |age| {
        millis(now) - i64::try_from(age.as_millis()).unwrap_or(i64::MAX)
    });
    let removed: Vec<String> = sqlx::query_scalar(
        "DELETE FROM snapshots WHERE id IN ( \
           SELECT ranked.id FROM ( \
             SELECT s.id, s.device_id, s.taken_at, ROW_NUMBER() OVER ( \
               PARTITION BY s.device_id ORDER BY s.taken_at DESC, s.id DESC) AS newest \
             FROM snapshots s) ranked \
           WHERE (ranked.newest > $1 OR ranked.taken_at < $2) \
             AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.latest_snapshot_id = ranked.id) \
             AND ranked.id <> COALESCE((SELECT g.id FROM snapshots g \
                 WHERE g.device_id = ranked.device_id AND g.worst_severity <> 'fail' \
                 ORDER BY g.taken_at DESC, g.id DESC LIMIT 1), '') \
             AND NOT EXISTS (SELECT 1 FROM ticket_attachments t WHERE t.snapshot_id = ranked.id) \
             AND NOT EXISTS (SELECT 1 FROM help_requests h WHERE h.snapshot_id = ranked.id) \
             AND NOT EXISTS (SELECT 1 FROM snapshot_requests r WHERE r.snapshot_id = ranked.id) \
           ORDER BY ranked.taken_at, ranked.id \
           LIMIT $3) \
         RETURNING id",
    )
    .bind(keep_newest)
    .bind(taken_before)
    .bind(BATCH)
    .fetch_all(&mut *connection)
    .await?;
    let count = u64::try_from(removed.len()).unwrap_or(u64::MAX);
    if count > 0 {
        let detail = json!({
            "removed": count,
            "max_snapshots_per_device": retention.max_snapshots_per_device,
            "max_age_seconds": retention.max_age.map(|age| age.as_secs()),
        });
        audit::record(
            connection,
            &Actor::Collector,
            "snapshot.retention",
            "snapshot",
            "",
            detail,
        )
        .await?;
    }
    Ok(count)
}
