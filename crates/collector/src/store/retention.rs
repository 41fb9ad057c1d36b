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

use super::statement::Statement;
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
            let candidates = self.retention_candidates(retention, now).await?;
            if candidates.is_empty() {
                break;
            }
            let last = i64::try_from(candidates.len()).unwrap_or(i64::MAX) < BATCH;
            let batch = self
                .writer
                .write(move |connection| Box::pin(remove_batch(connection, candidates, retention)))
                .await?;
            removed += batch;
            // None removed: another replica holds the lock (or everything came to be kept).
            if last || batch == 0 {
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

/// Whether something points at snapshot `s`, so it stays however old: a device's latest, its
/// last good one, a ticket's attachment (built-in or external), a help request's or a
/// specialist request's snapshot.
/// Each test is one indexed lookup.
macro_rules! kept {
    () => {
        "(EXISTS (SELECT 1 FROM devices d WHERE d.latest_snapshot_id = s.id) \
          OR s.id = COALESCE((SELECT g.id FROM snapshots g \
              WHERE g.device_id = s.device_id AND g.worst_severity <> 'fail' \
              ORDER BY g.taken_at DESC, g.id DESC LIMIT 1), '') \
          OR EXISTS (SELECT 1 FROM ticket_attachments t WHERE t.snapshot_id = s.id) \
          OR EXISTS (SELECT 1 FROM help_requests h WHERE h.snapshot_id = s.id) \
          OR EXISTS (SELECT 1 FROM snapshot_requests r WHERE r.snapshot_id = s.id) \
          OR EXISTS (SELECT 1 FROM external_attachments x WHERE x.snapshot_id = s.id))"
    };
}

impl Store {
    /// The oldest snapshots beyond the limits and not kept, at most [`BATCH`]. Ranking every
    /// device's history reads the whole table, so it runs on a read connection, beside the
    /// writer instead of inside its transaction.
    async fn retention_candidates(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let keep_newest = retention
            .max_snapshots_per_device
            .map_or(i64::MAX, i64::from);
        let taken_before = retention.max_age.map_or(i64::MIN, |age| {
            millis(now) - i64::try_from(age.as_millis()).unwrap_or(i64::MAX)
        });
        Ok(sqlx::query_scalar(concat!(
            "SELECT s.id FROM ( \
               SELECT id, device_id, taken_at, ROW_NUMBER() OVER ( \
                 PARTITION BY device_id ORDER BY taken_at DESC, id DESC) AS newest \
               FROM snapshots) s \
             WHERE (s.newest > $1 OR s.taken_at < $2) AND NOT ",
            kept!(),
            " ORDER BY s.taken_at, s.id LIMIT $3"
        ))
        .bind(keep_newest)
        .bind(taken_before)
        .bind(BATCH)
        .fetch_all(&self.read)
        .await?)
    }
}

/// Removes `candidates` but those something came to point at since they were chosen (a newer
/// snapshot only makes an old one more removable, so the limits need no second look).
async fn remove_batch(
    connection: &mut AnyConnection,
    candidates: Vec<String>,
    retention: Retention,
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
    let mut delete = Statement::new("DELETE FROM snapshots AS s WHERE s.id IN (");
    delete.push_list(candidates);
    delete.push(concat!(") AND NOT ", kept!(), " RETURNING id"));
    let removed = delete.build()?.fetch_all(&mut *connection).await?;
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
