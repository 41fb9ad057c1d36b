//! What the store takes and returns; the response types double as the API's JSON bodies, so the
//! OpenAPI document describes exactly what is stored.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sitrep_snapshot::{FindingSummary, Severity, Trigger};
use utoipa::ToSchema;
use uuid::Uuid;

use super::StoreError;
use super::support_code::SupportCode;

/// Times in token listings: UTC to the second.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%SZ";

/// What a person's API token may do. Both roles use the specialist routes; the distinction is
/// recorded now so admin-only routes can come without re-issuing tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Specialist,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Specialist => "specialist",
        }
    }

    pub(super) fn parse(id: &str, value: &str) -> Result<Role, StoreError> {
        match value {
            "admin" => Ok(Role::Admin),
            "specialist" => Ok(Role::Specialist),
            _ => Err(corrupt("api_tokens", id, "role", value)),
        }
    }
}

/// Who made a change, as recorded in the audit log and on tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// An operator at the collector's command line.
    Cli,
    /// The collector itself (snapshot retention).
    Collector,
    Agent(Uuid),
    ApiToken(Uuid),
}

impl Actor {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Actor::Cli => "cli",
            Actor::Collector => "collector",
            Actor::Agent(_) => "agent",
            Actor::ApiToken(_) => "api_token",
        }
    }

    pub(super) fn id(&self) -> Option<String> {
        match self {
            Actor::Cli | Actor::Collector => None,
            Actor::Agent(id) | Actor::ApiToken(id) => Some(id.to_string()),
        }
    }

    pub(super) fn parse(
        table: &'static str,
        kind: &str,
        id: Option<&str>,
    ) -> Result<Actor, StoreError> {
        let uuid = || {
            id.and_then(|id| Uuid::parse_str(id).ok()).ok_or_else(|| {
                corrupt(
                    table,
                    id.unwrap_or_default(),
                    "actor id",
                    id.unwrap_or_default(),
                )
            })
        };
        match kind {
            "cli" => Ok(Actor::Cli),
            "collector" => Ok(Actor::Collector),
            "agent" => Ok(Actor::Agent(uuid()?)),
            "api_token" => Ok(Actor::ApiToken(uuid()?)),
            _ => Err(corrupt(table, id.unwrap_or_default(), "actor kind", kind)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ApiTokenInfo {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One line of `sitrep-collector token list`.
impl fmt::Display for ApiTokenInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {:<10}  {}  created {}",
            self.id,
            self.role.as_str(),
            self.name,
            self.created_at.format(TIME_FORMAT)
        )?;
        if let Some(revoked_at) = self.revoked_at {
            write!(f, "  revoked {}", revoked_at.format(TIME_FORMAT))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EnrollmentTokenInfo {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// `None`: any number of agents may enroll with it until it expires or is revoked.
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One line of `sitrep-collector enroll-token list`.
impl fmt::Display for EnrollmentTokenInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  used {}", self.id, self.uses)?;
        match self.max_uses {
            Some(max) => write!(f, " of {max}")?,
            None => write!(f, " (no limit)")?,
        }
        match self.expires_at {
            Some(expires_at) => write!(f, "  expires {}", expires_at.format(TIME_FORMAT))?,
            None => write!(f, "  never expires")?,
        }
        write!(f, "  created {}", self.created_at.format(TIME_FORMAT))?;
        if let Some(revoked_at) = self.revoked_at {
            write!(f, "  revoked {}", revoked_at.format(TIME_FORMAT))?;
        }
        Ok(())
    }
}

/// An enrolled agent, as `sitrep-collector agent list` and the revoke route show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgentInfo {
    pub id: Uuid,
    /// From its newest snapshot, else as given at enrollment.
    pub hostname: Option<String>,
    pub agent_version: String,
    pub enrolled_at: DateTime<Utc>,
    /// When its last snapshot arrived; `None` before the first.
    pub last_seen_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One line of `sitrep-collector agent list`.
impl fmt::Display for AgentInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {}  agent {}  enrolled {}",
            self.id,
            self.hostname.as_deref().unwrap_or("-"),
            self.agent_version,
            self.enrolled_at.format(TIME_FORMAT)
        )?;
        match self.last_seen_at {
            Some(seen) => write!(f, "  last seen {}", seen.format(TIME_FORMAT))?,
            None => write!(f, "  never sent a snapshot")?,
        }
        if let Some(revoked_at) = self.revoked_at {
            write!(f, "  revoked {}", revoked_at.format(TIME_FORMAT))?;
        }
        Ok(())
    }
}

/// What an agent receives once when it enrolls; only the key's hash is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Enrollment {
    pub agent_id: Uuid,
    /// `sa_...`; send it as `Authorization: Bearer` on every agent route.
    pub agent_key: String,
}

/// A validated snapshot ready to store: the columns the store indexes, and the body as sent.
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub id: Uuid,
    /// The authenticated agent that sent it.
    pub agent_id: Uuid,
    pub taken_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub trigger: Trigger,
    pub worst_severity: Severity,
    pub findings: FindingSummary,
    pub schema_version: u32,
    pub hostname: Option<String>,
    /// Human-readable OS name, e.g. "Debian GNU/Linux 12 (bookworm)".
    pub os: Option<String>,
    pub users: Option<Vec<String>>,
    /// The JSON as received (after transfer decoding), zstd-compressed.
    pub body_zstd: Vec<u8>,
    /// Length of the JSON before compression.
    pub body_bytes: u64,
    /// Snapshots the agent's spool dropped (full) since its previous successful upload.
    pub spool_dropped: u32,
    /// The snapshot request this snapshot answers (`?request=`); marked done when it is stored.
    pub request_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IngestOutcome {
    pub snapshot_id: Uuid,
    pub device_id: Uuid,
    /// The snapshot had been stored before; nothing changed.
    pub duplicate: bool,
}

/// A machine, known from the snapshots of its agent.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Device {
    pub id: Uuid,
    pub agent_id: Uuid,
    pub hostname: Option<String>,
    pub os: Option<String>,
    pub users: Vec<String>,
    pub first_seen_at: DateTime<Utc>,
    /// When the collector last received a snapshot from it.
    pub last_seen_at: DateTime<Utc>,
    /// The newest snapshot by `taken_at`, which the fields above and below describe.
    pub latest_snapshot_id: Uuid,
    /// When that snapshot was taken, or when it arrived if the device's clock said later.
    pub latest_taken_at: DateTime<Utc>,
    #[schema(schema_with = severity_schema)]
    pub worst_severity: Severity,
    #[schema(schema_with = finding_summary_schema)]
    pub findings: FindingSummary,
    /// Snapshots the agent's spool dropped (full) before they could be sent, in total.
    pub spool_dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeviceDetail {
    #[serde(flatten)]
    pub device: Device,
    /// Newest first.
    pub snapshots: Vec<SnapshotEntry>,
    /// Help requests from this device that are not closed, newest first.
    pub help_requests: Vec<HelpRequest>,
}

/// One line of a device's history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SnapshotEntry {
    pub id: Uuid,
    pub taken_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    #[schema(schema_with = trigger_schema)]
    pub trigger: Trigger,
    #[schema(schema_with = severity_schema)]
    pub worst_severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HelpStatus {
    Open,
    /// A ticket was made from it (`ticket_id`).
    Ticketed,
    Closed,
}

impl HelpStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            HelpStatus::Open => "open",
            HelpStatus::Ticketed => "ticketed",
            HelpStatus::Closed => "closed",
        }
    }

    pub(super) fn parse(id: &str, value: &str) -> Result<HelpStatus, StoreError> {
        match value {
            "open" => Ok(HelpStatus::Open),
            "ticketed" => Ok(HelpStatus::Ticketed),
            "closed" => Ok(HelpStatus::Closed),
            _ => Err(corrupt("help_requests", id, "status", value)),
        }
    }
}

/// A user asked for help from their machine (`sitrep help "..."`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HelpRequest {
    pub id: Uuid,
    #[schema(value_type = String, example = "K7P-4QX")]
    pub support_code: SupportCode,
    /// The user's own words.
    pub text: String,
    pub device_id: Uuid,
    pub hostname: Option<String>,
    pub snapshot_id: Uuid,
    pub status: HelpStatus,
    pub ticket_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct HelpOutcome {
    #[schema(value_type = String, example = "K7P-4QX")]
    pub support_code: SupportCode,
    pub help_request_id: Uuid,
    pub snapshot_id: Uuid,
    /// This snapshot had already been sent with a help request: its code is returned again.
    pub duplicate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Open,
    Closed,
}

impl TicketStatus {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Closed => "closed",
        }
    }

    pub(super) fn parse(id: i64, value: &str) -> Result<TicketStatus, StoreError> {
        match value {
            "open" => Ok(TicketStatus::Open),
            "closed" => Ok(TicketStatus::Closed),
            _ => Err(corrupt("tickets", &id.to_string(), "status", value)),
        }
    }
}

/// The body of `POST /api/v1/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub title: String,
    #[serde(default)]
    pub body: String,
    pub device_id: Option<Uuid>,
}

/// A built-in ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub status: TicketStatus,
    pub device_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TicketDetail {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Oldest first.
    pub comments: Vec<Comment>,
    /// Oldest first.
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Comment {
    pub id: i64,
    pub ticket_id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub author: Actor,
}

/// A snapshot attached to a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Attachment {
    pub ticket_id: i64,
    pub snapshot_id: Uuid,
    pub note: String,
    pub attached_at: DateTime<Utc>,
    pub attached_by: Actor,
    pub taken_at: DateTime<Utc>,
    #[schema(schema_with = severity_schema)]
    pub worst_severity: Severity,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttachOutcome {
    pub attachment: Attachment,
    /// False when the snapshot was already attached (nothing changed).
    pub created: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFromHelp {
    pub ticket: Ticket,
    /// False when the help request already had a ticket, which is returned instead.
    pub created: bool,
}

pub(super) fn corrupt(
    table: &'static str,
    id: &str,
    column: &'static str,
    value: &str,
) -> StoreError {
    StoreError::Corrupt {
        table,
        id: id.to_string(),
        column,
        value: value.to_string(),
    }
}

pub(super) fn parse_severity(
    table: &'static str,
    id: &str,
    value: &str,
) -> Result<Severity, StoreError> {
    match value {
        "pass" => Ok(Severity::Pass),
        "warn" => Ok(Severity::Warn),
        "fail" => Ok(Severity::Fail),
        _ => Err(corrupt(table, id, "worst_severity", value)),
    }
}

pub(super) fn trigger_name(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::Manual => "manual",
        Trigger::Scheduled => "scheduled",
        Trigger::HelpRequest => "help_request",
        Trigger::SpecialistRequest => "specialist_request",
    }
}

pub(super) fn parse_trigger(id: &str, value: &str) -> Result<Trigger, StoreError> {
    [
        Trigger::Manual,
        Trigger::Scheduled,
        Trigger::HelpRequest,
        Trigger::SpecialistRequest,
    ]
    .into_iter()
    .find(|trigger| trigger_name(*trigger) == value)
    .ok_or_else(|| corrupt("snapshots", id, "trigger_kind", value))
}

// The wire types live in sitrep-snapshot, which has no OpenAPI derive; these describe them.

pub(crate) fn severity_schema() -> utoipa::openapi::schema::Object {
    string_enum(&["pass", "warn", "fail"], "Worst finding severity.")
}

fn trigger_schema() -> utoipa::openapi::schema::Object {
    string_enum(
        &["manual", "scheduled", "help_request", "specialist_request"],
        "Why the snapshot was taken.",
    )
}

fn string_enum(values: &[&str], description: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

fn finding_summary_schema() -> utoipa::openapi::schema::Object {
    let count = || {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(0))
    };
    utoipa::openapi::schema::ObjectBuilder::new()
        .description(Some("Number of findings per severity."))
        .property("pass", count())
        .property("warn", count())
        .property("fail", count())
        .required("pass")
        .required("warn")
        .required("fail")
        .build()
}
