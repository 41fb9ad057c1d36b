//! The audit log: one row per change, written in the same transaction as the change itself.

use sqlx::AnyConnection;

use super::statement::Statement;
use super::{Actor, StoreError, millis, now};

/// That `actor` did `action` (e.g. `ticket.close`) to the `target_kind` row `target_id`.
#[derive(Debug)]
pub(super) struct AuditEntry {
    pub actor: Actor,
    pub action: &'static str,
    pub target_kind: &'static str,
    pub target_id: String,
    /// A JSON object with what else matters (names, ids, counts).
    pub detail: serde_json::Value,
}

pub(super) async fn record(
    connection: &mut AnyConnection,
    actor: &Actor,
    action: &'static str,
    target_kind: &'static str,
    target_id: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    let entry = AuditEntry {
        actor: actor.clone(),
        action,
        target_kind,
        target_id: target_id.to_string(),
        detail,
    };
    record_all(connection, std::slice::from_ref(&entry)).await
}

/// Records several entries with one statement.
pub(super) async fn record_all(
    connection: &mut AnyConnection,
    entries: &[AuditEntry],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let at = millis(now());
    let mut insert = Statement::new(
        "INSERT INTO audit_log (at, actor_kind, actor_id, action, target_kind, target_id, detail) ",
    );
    insert.push_values(entries, |mut row, entry| {
        row.push_bind(at)
            .push_bind(entry.actor.kind())
            .push_bind(entry.actor.id())
            .push_bind(entry.action)
            .push_bind(entry.target_kind)
            .push_bind(entry.target_id.clone())
            .push_bind(entry.detail.to_string());
    });
    insert.build()?.execute(connection).await?;
    Ok(())
}
