//! Devices: search by host name, user name or support code, and one device with its history.

use sitrep_snapshot::FindingSummary;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::model::{corrupt, parse_severity, parse_trigger};
use super::{Device, DeviceDetail, SnapshotEntry, Store, StoreError, SupportCode, time, uuid};

/// A device and the columns it is read from; the host name given at enrollment stands in until
/// a snapshot tells one.
macro_rules! device_query {
    () => {
        "d.id, d.agent_id, COALESCE(d.hostname, a.hostname) AS hostname, d.os, \
         COALESCE(d.users, '[]') AS users, d.first_seen_at, d.last_seen_at, d.latest_snapshot_id, \
         d.latest_taken_at, d.worst_severity, d.pass_count, d.warn_count, d.fail_count, \
         d.spool_dropped FROM devices d JOIN agents a ON a.id = d.agent_id"
    };
}

/// Most devices one search returns.
const SEARCH_LIMIT: i64 = 500;

/// Most snapshots a device's history lists.
const HISTORY_LIMIT: i64 = 500;

impl Store {
    /// Devices, most recently seen first. With a query: those whose host name or one of whose
    /// user names contains it (case-insensitive), or that sent a live help request with that
    /// support code (dash optional).
    pub async fn search_devices(&self, query: Option<&str>) -> Result<Vec<Device>, StoreError> {
        let query = query.map(str::trim).unwrap_or_default();
        let pattern = if query.is_empty() {
            String::new()
        } else {
            format!("%{}%", escape_like(&query.to_lowercase()))
        };
        let code = SupportCode::parse(query)
            .map(|code| code.compact().to_string())
            .unwrap_or_default();
        sqlx::query(concat!(
            "SELECT ",
            device_query!(),
            " WHERE $1 = '' \
                OR LOWER(COALESCE(d.hostname, a.hostname, '')) LIKE $1 ESCAPE '\\' \
                OR LOWER(COALESCE(d.users, '')) LIKE $1 ESCAPE '\\' \
                OR EXISTS (SELECT 1 FROM help_requests h \
                           WHERE h.device_id = d.id AND h.status <> 'closed' AND h.support_code = $2) \
             ORDER BY d.last_seen_at DESC, d.id DESC LIMIT $3"
        ))
        .bind(pattern)
        .bind(code)
        .bind(SEARCH_LIMIT)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(device)
        .collect()
    }

    /// A device with its newest snapshots and its live help requests.
    pub async fn device(&self, id: Uuid) -> Result<DeviceDetail, StoreError> {
        let device = sqlx::query(concat!("SELECT ", device_query!(), " WHERE d.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(device)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound {
                what: "device",
                id: id.to_string(),
            })?;
        let snapshots = sqlx::query(
            "SELECT id, taken_at, received_at, trigger_kind, worst_severity FROM snapshots \
             WHERE device_id = $1 ORDER BY taken_at DESC, id DESC LIMIT $2",
        )
        .bind(id.to_string())
        .bind(HISTORY_LIMIT)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(snapshot_entry)
        .collect::<Result<_, _>>()?;
        let help_requests = self.live_help_requests(id).await?;
        Ok(DeviceDetail {
            device,
            snapshots,
            help_requests,
        })
    }
}

/// Makes `%`, `_` and `\` in user input match themselves in a `LIKE ... ESCAPE '\'` pattern.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn device(row: &AnyRow) -> Result<Device, StoreError> {
    let id = uuid(row, "id")?;
    let users: String = row.try_get("users")?;
    let severity: String = row.try_get("worst_severity")?;
    let spool_dropped: i64 = row.try_get("spool_dropped")?;
    let count = |column: &'static str| -> Result<u32, StoreError> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value)
            .map_err(|_| corrupt("devices", &id.to_string(), column, &value.to_string()))
    };
    Ok(Device {
        id,
        agent_id: uuid(row, "agent_id")?,
        hostname: row.try_get("hostname")?,
        os: row.try_get("os")?,
        users: serde_json::from_str(&users)
            .map_err(|_| corrupt("devices", &id.to_string(), "users", &users))?,
        first_seen_at: time(row.try_get("first_seen_at")?),
        last_seen_at: time(row.try_get("last_seen_at")?),
        latest_snapshot_id: uuid(row, "latest_snapshot_id")?,
        latest_taken_at: time(row.try_get("latest_taken_at")?),
        worst_severity: parse_severity("devices", &id.to_string(), &severity)?,
        findings: FindingSummary {
            pass: count("pass_count")?,
            warn: count("warn_count")?,
            fail: count("fail_count")?,
        },
        spool_dropped: u64::try_from(spool_dropped).map_err(|_| {
            corrupt(
                "devices",
                &id.to_string(),
                "spool_dropped",
                &spool_dropped.to_string(),
            )
        })?,
    })
}

fn snapshot_entry(row: &AnyRow) -> Result<SnapshotEntry, StoreError> {
    let id = uuid(row, "id")?;
    let trigger: String = row.try_get("trigger_kind")?;
    let severity: String = row.try_get("worst_severity")?;
    Ok(SnapshotEntry {
        id,
        taken_at: time(row.try_get("taken_at")?),
        received_at: time(row.try_get("received_at")?),
        trigger: parse_trigger(&id.to_string(), &trigger)?,
        worst_severity: parse_severity("snapshots", &id.to_string(), &severity)?,
    })
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_wildcards_in_queries_match_literally() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(escape_like("alice"), "alice");
    }
}
