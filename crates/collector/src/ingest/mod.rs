//! From request to storable snapshot: read and decode the body within limits ([`body`]), parse
//! and validate the snapshot, summarize it for the device list, and compress its JSON.
//!
//! All of this runs before the store's single writer sees the snapshot, so the writer only
//! inserts rows.

pub mod body;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sitrep_snapshot::{FindingSummary, SCHEMA_VERSION, Snapshot};
use uuid::Uuid;

use crate::error::ApiError;
use crate::store::NewSnapshot;

/// zstd level for stored bodies: snapshots shrink several-fold at a few tens of microseconds
/// each; higher levels cost far more CPU for a few percent.
const STORE_LEVEL: i32 = 3;

/// Parses and validates the JSON of a snapshot sent by `agent_id`, and prepares its row.
/// `zstd` is the body as received when the agent sent it zstd-compressed (and it decoded to
/// `json`): it is stored as it is, which saves compressing the JSON again.
///
/// A snapshot without `agent.agent_id` (taken before the agent enrolled, then spooled) is
/// accepted as the sending agent's; one naming another agent is refused.
pub fn prepare(
    json: &[u8],
    zstd: Option<Bytes>,
    agent_id: Uuid,
    received_at: DateTime<Utc>,
) -> Result<NewSnapshot, ApiError> {
    let snapshot = parse(json)?;
    if let Some(claimed) = snapshot.agent.agent_id
        && claimed != agent_id
    {
        return Err(ApiError::Forbidden(format!(
            "the snapshot names agent {claimed}, but the key belongs to agent {agent_id}"
        )));
    }
    let os = snapshot.os.ok();
    let body_zstd = match zstd {
        Some(frames) => frames.to_vec(),
        None => zstd::bulk::compress(json, STORE_LEVEL).map_err(ApiError::internal)?,
    };
    Ok(NewSnapshot {
        id: snapshot.id,
        agent_id,
        taken_at: snapshot.taken_at,
        received_at,
        trigger: snapshot.trigger,
        worst_severity: snapshot.worst_severity(),
        findings: FindingSummary::of(&snapshot.findings),
        schema_version: snapshot.schema_version,
        hostname: os.and_then(|os| os.hostname.clone()),
        os: os.map(|os| {
            os.pretty_name.clone().unwrap_or_else(|| match &os.version {
                Some(version) => format!("{} {version}", os.name),
                None => os.name.clone(),
            })
        }),
        users: os.and_then(|os| os.users.clone()),
        body_zstd,
        body_bytes: json.len() as u64,
        spool_dropped: 0,
        request_id: None,
    })
}

/// The one field every schema version keeps, read when a body does not parse as this version.
#[derive(Deserialize)]
struct VersionOnly {
    schema_version: u64,
}

fn parse(json: &[u8]) -> Result<Snapshot, ApiError> {
    let snapshot: Snapshot = serde_json::from_slice(json).map_err(|error| {
        // Another version's snapshot may not fit this version's types: name the version, which
        // tells the agent's operator what to do, rather than the first field that differs.
        match serde_json::from_slice::<VersionOnly>(json) {
            Ok(VersionOnly { schema_version }) if schema_version != u64::from(SCHEMA_VERSION) => {
                ApiError::UnsupportedSchemaVersion {
                    got: schema_version,
                }
            }
            _ => ApiError::from_json(&error),
        }
    })?;
    if snapshot.schema_version != SCHEMA_VERSION {
        return Err(ApiError::UnsupportedSchemaVersion {
            got: u64::from(snapshot.schema_version),
        });
    }
    Ok(snapshot)
}
