//! Reads along a device's snapshot history for comparisons: which device a snapshot belongs
//! to, the last good snapshot before it, and so the baseline of a diff.

use sitrep_snapshot::Snapshot;
use uuid::Uuid;

use super::{Store, StoreError, optional_uuid, uuid};

impl Store {
    /// A stored snapshot, parsed off the async workers (a large one takes a while). Snapshots
    /// were validated on the way in; failing now means the store is damaged.
    pub async fn snapshot(&self, id: Uuid) -> Result<Snapshot, StoreError> {
        let json = self.snapshot_json(id).await?;
        tokio::task::spawn_blocking(move || {
            serde_json::from_slice::<Snapshot>(&json).map_err(|error| StoreError::Corrupt {
                table: "snapshots",
                id: id.to_string(),
                column: "body_zstd",
                value: error.to_string(),
            })
        })
        .await
        .map_err(|error| StoreError::Task(error.to_string()))?
    }

    /// What to compare snapshot `id` with: `against` when given (it must be a snapshot of the
    /// same device), else the last good snapshot before `id`; `None` when there is none.
    pub async fn baseline(
        &self,
        id: Uuid,
        against: Option<Uuid>,
    ) -> Result<Option<Uuid>, StoreError> {
        let device = self.snapshot_device(id).await?;
        let Some(against) = against else {
            return self.last_good_before(device, id).await;
        };
        let owner = self
            .snapshot_device(against)
            .await
            .map_err(|error| match error {
                StoreError::NotFound { .. } => StoreError::UnknownSnapshot(against),
                error => error,
            })?;
        if owner != device {
            return Err(StoreError::SnapshotOfAnotherDevice { id, against });
        }
        Ok(Some(against))
    }

    /// The device `snapshot_id` belongs to.
    pub async fn snapshot_device(&self, snapshot_id: Uuid) -> Result<Uuid, StoreError> {
        let row = sqlx::query("SELECT device_id FROM snapshots WHERE id = $1")
            .bind(snapshot_id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "snapshot",
                id: snapshot_id.to_string(),
            })?;
        Ok(uuid(&row, "device_id")?)
    }

    /// The "last good" snapshot before `snapshot_id`: the newest snapshot of `device_id` taken
    /// before it (by `taken_at`, then id, the order of the device's history) whose worst
    /// finding is not a failure. `None` when there is no such snapshot; an unknown
    /// `snapshot_id` is `NotFound`.
    pub async fn last_good_before(
        &self,
        device_id: Uuid,
        snapshot_id: Uuid,
    ) -> Result<Option<Uuid>, StoreError> {
        // The subquery walks the (device_id, taken_at) index backwards from the snapshot's time.
        let row = sqlx::query(
            "SELECT (SELECT s.id FROM snapshots s \
                     WHERE s.device_id = $1 AND s.worst_severity <> 'fail' \
                       AND (s.taken_at < t.taken_at OR (s.taken_at = t.taken_at AND s.id < t.id)) \
                     ORDER BY s.taken_at DESC, s.id DESC LIMIT 1) AS good \
             FROM snapshots t WHERE t.id = $2",
        )
        .bind(device_id.to_string())
        .bind(snapshot_id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "snapshot",
            id: snapshot_id.to_string(),
        })?;
        Ok(optional_uuid(&row, "good")?)
    }
}
