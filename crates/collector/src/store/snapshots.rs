//! Storing snapshots (idempotent on the snapshot id) and keeping each device's summary in step
//! with its newest snapshot; reading a stored snapshot back.
//!
//! Ingest is the hot path: the writer hands over every snapshot queued for its batch at once,
//! and they are stored with one statement per table, whatever their number.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;
use sqlx::{AnyConnection, Row};
use uuid::Uuid;

use super::audit::{self, AuditEntry};
use super::requests;
use super::statement::Statement;
use super::tickets::attach;
use super::{
    Actor, IngestOutcome, NewSnapshot, Store, StoreError, millis, model::trigger_name, uuid,
};

impl Store {
    /// Stores `snapshot` unless a snapshot with its id is stored already (then nothing changes
    /// and the outcome says `duplicate`). With `attach_to = Some((ticket, note))` the snapshot is
    /// also attached to that built-in ticket; an unknown ticket fails the whole write. A new
    /// snapshot that names a snapshot request (`request_id`) marks it done in the same
    /// transaction (see `requests::complete`).
    pub async fn ingest(
        &self,
        snapshot: NewSnapshot,
        attach_to: Option<(i64, String)>,
    ) -> Result<IngestOutcome, StoreError> {
        let Some((ticket_id, note)) = attach_to else {
            return self.writer.ingest(snapshot).await;
        };
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let outcome = store_snapshot(connection, &snapshot).await?;
                    let actor = Actor::Agent(snapshot.agent_id);
                    attach(connection, ticket_id, snapshot.id, &note, &actor).await?;
                    Ok(outcome)
                })
            })
            .await
    }

    /// The snapshot's JSON exactly as the agent sent it.
    pub async fn snapshot_json(&self, id: Uuid) -> Result<Vec<u8>, StoreError> {
        let row = sqlx::query("SELECT body_zstd, body_bytes FROM snapshots WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "snapshot",
                id: id.to_string(),
            })?;
        let compressed: Vec<u8> = row.try_get("body_zstd")?;
        let length: i64 = row.try_get("body_bytes")?;
        let capacity = usize::try_from(length).unwrap_or(0);
        zstd::bulk::decompress(&compressed, capacity)
            .map_err(|source| StoreError::Decompress { id, source })
    }
}

/// [`store_snapshots`] for one snapshot.
pub(super) async fn store_snapshot(
    connection: &mut AnyConnection,
    snapshot: &NewSnapshot,
) -> Result<IngestOutcome, StoreError> {
    let outcomes = store_snapshots(connection, std::slice::from_ref(snapshot)).await?;
    outcomes
        .into_iter()
        .next()
        .unwrap_or(Err(StoreError::Database(sqlx::Error::RowNotFound)))
}

/// Inserts the snapshots, creates or updates their devices and audits them, with one statement
/// per table. A snapshot whose id is stored already changes nothing: it is a repeat of its
/// agent's (`duplicate`), or another agent's id (refused). The outer error means a statement
/// failed and the caller must roll back; the inner results are per snapshot, in order.
pub(super) async fn store_snapshots(
    connection: &mut AnyConnection,
    snapshots: &[NewSnapshot],
) -> Result<Vec<Result<IngestOutcome, StoreError>>, StoreError> {
    // A device is known by the agent that reports on it and carries its id, so a snapshot names
    // its device before the device row exists (that foreign key is checked at commit).
    let mut insert = Statement::new(
        "INSERT INTO snapshots (id, device_id, taken_at, received_at, trigger_kind, \
         worst_severity, schema_version, body_zstd, body_bytes, spool_dropped) ",
    );
    // In key order, as every replica's batches take their row locks: two batches inserting
    // the same ids (an agent's retry reaching another replica) wait for each other instead of
    // deadlocking. The sort is stable, so of two rows with one id the first stays first.
    let mut in_key_order: Vec<&NewSnapshot> = snapshots.iter().collect();
    in_key_order.sort_by_key(|snapshot| snapshot.id);
    insert.push_values(in_key_order, |mut row, snapshot| {
        row.push_bind(snapshot.id.to_string())
            .push_bind(snapshot.agent_id.to_string())
            .push_bind(millis(snapshot.taken_at))
            .push_bind(millis(snapshot.received_at))
            .push_bind(trigger_name(snapshot.trigger))
            .push_bind(snapshot.worst_severity.as_str())
            .push_bind(i64::from(snapshot.schema_version))
            .push_bind(snapshot.body_zstd.clone())
            .push_bind(i64::try_from(snapshot.body_bytes).unwrap_or(i64::MAX))
            .push_bind(i64::from(snapshot.spool_dropped));
    });
    insert.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
    let inserted = insert
        .build()?
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| uuid(row, "id"))
        .collect::<Result<HashSet<_>, _>>()?;
    // Rows are inserted in order, so of two with one id (an agent's retry racing its first
    // try) the first is the new one.
    let mut claimed = HashSet::new();
    let new: Vec<bool> = snapshots
        .iter()
        .map(|snapshot| inserted.contains(&snapshot.id) && claimed.insert(snapshot.id))
        .collect();

    let repeats: Vec<Uuid> = snapshots
        .iter()
        .zip(&new)
        .filter(|(_, new)| !**new)
        .map(|(snapshot, _)| snapshot.id)
        .collect();
    let stored_devices = devices_of(connection, &repeats).await?;
    let outcomes = snapshots
        .iter()
        .zip(&new)
        .map(|(snapshot, new)| {
            let device_id = snapshot.agent_id;
            let duplicate = !*new;
            if duplicate && stored_devices.get(&snapshot.id) != Some(&device_id) {
                return Err(StoreError::SnapshotOfAnotherAgent(snapshot.id));
            }
            Ok(IngestOutcome {
                snapshot_id: snapshot.id,
                device_id,
                duplicate,
            })
        })
        .collect();

    let stored: Vec<&NewSnapshot> = snapshots
        .iter()
        .zip(&new)
        .filter(|(_, new)| **new)
        .map(|(snapshot, _)| snapshot)
        .collect();
    if stored.is_empty() {
        return Ok(outcomes);
    }
    upsert_devices(connection, &stored).await?;
    let answered = requests::complete(connection, &stored).await?;
    let entries: Vec<AuditEntry> = stored
        .iter()
        .map(|snapshot| AuditEntry {
            actor: Actor::Agent(snapshot.agent_id),
            action: "snapshot.ingest",
            target_kind: "snapshot",
            target_id: snapshot.id.to_string(),
            detail: json!({
                "device_id": snapshot.agent_id,
                "trigger": snapshot.trigger,
                "worst_severity": snapshot.worst_severity,
                "spool_dropped": snapshot.spool_dropped,
                // Only a request this snapshot marked done.
                "request_id": snapshot.request_id.filter(|id| answered.contains(id)),
            }),
        })
        .collect();
    audit::record_all(connection, &entries).await?;
    Ok(outcomes)
}

/// The device each of these stored snapshots belongs to.
async fn devices_of(
    connection: &mut AnyConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Uuid>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = Statement::new("SELECT id, device_id FROM snapshots WHERE id IN (");
    query.push_list(ids.iter().map(Uuid::to_string));
    query.push(")");
    query
        .build()?
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| Ok((uuid(row, "id")?, uuid(row, "device_id")?)))
        .collect()
}

/// What one device takes from a batch: its newest snapshot, and when it was last heard from.
struct DeviceUpdate<'a> {
    newest: &'a NewSnapshot,
    /// The newest snapshot's time, but never after it arrived: a clock running ahead must not
    /// pin a device to one snapshot.
    taken_at: i64,
    first_received: i64,
    last_received: i64,
    /// Snapshots the agent's spool dropped, as these snapshots report them.
    spool_dropped: i64,
}

/// Creates each agent's device on its first snapshot. Afterwards every snapshot proves the
/// device lives (`last_seen_at`), and the newest one taken also sets its host name, OS, users
/// and findings (keeping what it does not tell); an older one arriving late from the agent's
/// spool changes nothing else.
async fn upsert_devices(
    connection: &mut AnyConnection,
    stored: &[&NewSnapshot],
) -> Result<(), StoreError> {
    // One row per device: an upsert may not touch a row twice (PostgreSQL refuses). In key
    // order, so replicas' batches lock device rows in one order and never deadlock.
    let mut updates: BTreeMap<Uuid, DeviceUpdate> = BTreeMap::new();
    for snapshot in stored {
        let taken_at = millis(snapshot.taken_at.min(snapshot.received_at));
        let received = millis(snapshot.received_at);
        let update = updates.entry(snapshot.agent_id).or_insert(DeviceUpdate {
            newest: snapshot,
            taken_at,
            first_received: received,
            last_received: received,
            spool_dropped: 0,
        });
        if taken_at >= update.taken_at {
            update.newest = snapshot;
            update.taken_at = taken_at;
        }
        update.first_received = update.first_received.min(received);
        update.last_received = update.last_received.max(received);
        update.spool_dropped += i64::from(snapshot.spool_dropped);
    }
    let mut upsert = Statement::new(
        "INSERT INTO devices (id, agent_id, hostname, os, users, first_seen_at, last_seen_at, \
         latest_snapshot_id, latest_taken_at, worst_severity, pass_count, warn_count, fail_count, \
         spool_dropped) ",
    );
    upsert.push_values(updates.values(), |mut row, update| {
        let snapshot = update.newest;
        let users = snapshot
            .users
            .as_ref()
            .and_then(|users| serde_json::to_string(users).ok());
        row.push_bind(snapshot.agent_id.to_string())
            .push_bind(snapshot.agent_id.to_string())
            .push_bind(snapshot.hostname.clone())
            .push_bind(snapshot.os.clone())
            .push_bind(users)
            .push_bind(update.first_received)
            .push_bind(update.last_received)
            .push_bind(snapshot.id.to_string())
            .push_bind(update.taken_at)
            .push_bind(snapshot.worst_severity.as_str())
            .push_bind(i64::from(snapshot.findings.pass))
            .push_bind(i64::from(snapshot.findings.warn))
            .push_bind(i64::from(snapshot.findings.fail))
            .push_bind(update.spool_dropped);
    });
    // In the update `devices.*` is the row as it was and `excluded.*` the row above; the
    // snapshot is newer when `excluded.latest_taken_at >= devices.latest_taken_at`.
    upsert.push(
        " ON CONFLICT (id) DO UPDATE SET \
         spool_dropped = devices.spool_dropped + excluded.spool_dropped, \
         last_seen_at = CASE WHEN excluded.last_seen_at > devices.last_seen_at \
                        THEN excluded.last_seen_at ELSE devices.last_seen_at END, \
         hostname = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                    THEN COALESCE(excluded.hostname, devices.hostname) ELSE devices.hostname END, \
         os = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
              THEN COALESCE(excluded.os, devices.os) ELSE devices.os END, \
         users = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                 THEN COALESCE(excluded.users, devices.users) ELSE devices.users END, \
         latest_snapshot_id = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                              THEN excluded.latest_snapshot_id ELSE devices.latest_snapshot_id END, \
         worst_severity = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                          THEN excluded.worst_severity ELSE devices.worst_severity END, \
         pass_count = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                      THEN excluded.pass_count ELSE devices.pass_count END, \
         warn_count = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                      THEN excluded.warn_count ELSE devices.warn_count END, \
         fail_count = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                      THEN excluded.fail_count ELSE devices.fail_count END, \
         latest_taken_at = CASE WHEN excluded.latest_taken_at >= devices.latest_taken_at \
                           THEN excluded.latest_taken_at ELSE devices.latest_taken_at END",
    );
    upsert.build()?.execute(connection).await?;
    Ok(())
}
