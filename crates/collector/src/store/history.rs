//! Reads along a device's snapshot history for comparisons: which device a snapshot belongs
//! to, and the last good snapshot before it (the baseline of a diff).

use uuid::Uuid;

use super::{Store, StoreError, optional_uuid, uuid};

impl Store {
    /// The device `snapshot_id` belongs to.
    pub async fn snapshot_device(&self, snapshot_id: Uuid) -> Result<Uuid, StoreError> {
        let row = sqlx::query("SELECT device_id FROM snapshots WHERE id = $1")
            .bind(snapshot_id.hyphenated())
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
        .bind(device_id.hyphenated())
        .bind(snapshot_id.hyphenated())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "snapshot",
            id: snapshot_id.to_string(),
        })?;
        Ok(optional_uuid(&row, "good")?)
    }
}
