//! The web UI's login sessions: opened with an API token, found again by the secret in the
//! session cookie (only its SHA-256 is stored), marked as used while they are, ended at logout.
//! A session of a revoked API token is never found, so revoking the token ends its sessions.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::{Actor, ApiTokenInfo, Role, Store, StoreError, audit, millis, now, time, uuid};
use crate::auth::secret_hash;

/// How long a session lasts at most: a working day with some overtime.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A session unused this long has ended: a browser left open on a shared desk.
pub const SESSION_IDLE_LIMIT: Duration = Duration::from_secs(2 * 3600);

/// `last_used_at` is written at most this often, so reading pages costs no writes.
const USE_RECORDED_EVERY: Duration = Duration::from_secs(5 * 60);

/// A live session as the web UI sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub id: Uuid,
    /// The API token the person logged in with: their writes are recorded as its.
    pub api_token_id: Uuid,
    pub role: Role,
    /// The token's name, which names the person in the page header.
    pub name: String,
    /// Every form of the session carries it; a POST without it is refused.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
}

impl WebSession {
    pub fn actor(&self) -> Actor {
        Actor::ApiToken(self.api_token_id)
    }

    /// Whether using the session at `at` should be recorded (see [`Store::record_web_session_use`]).
    pub fn use_to_record(&self, at: DateTime<Utc>) -> bool {
        at - self.last_used_at >= chrono_duration(USE_RECORDED_EVERY)
    }
}

impl Store {
    /// Opens a session for `token`; returns it with its secret, the cookie's value, which is
    /// not kept. Sessions that have ended (expired, idle, or of a revoked token) are removed in
    /// the same write.
    pub async fn create_web_session(
        &self,
        token: &ApiTokenInfo,
    ) -> Result<(WebSession, String), StoreError> {
        let secret = random_token();
        let created_at = now();
        let session = WebSession {
            id: Uuid::now_v7(),
            api_token_id: token.id,
            role: token.role,
            name: token.name.clone(),
            csrf_token: random_token(),
            created_at,
            expires_at: created_at + chrono_duration(SESSION_LIFETIME),
            last_used_at: created_at,
        };
        let (row, hash) = (session.clone(), secret_hash(&secret));
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let ended = sqlx::query(
                        "DELETE FROM web_sessions WHERE expires_at <= $1 OR last_used_at <= $2 \
                         OR api_token_id IN (SELECT id FROM api_tokens WHERE revoked_at IS NOT NULL)",
                    )
                    .bind(millis(row.created_at))
                    .bind(millis(row.created_at - chrono_duration(SESSION_IDLE_LIMIT)))
                    .execute(&mut *connection)
                    .await?
                    .rows_affected();
                    if ended > 0 {
                        audit::record(connection, &row.actor(), "web_session.remove_ended", "web_session", "", json!({ "count": ended }))
                            .await?;
                    }
                    sqlx::query(
                        "INSERT INTO web_sessions (id, secret_hash, api_token_id, csrf_token, created_at, expires_at, last_used_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $5)",
                    )
                    .bind(row.id.to_string())
                    .bind(hash)
                    .bind(row.api_token_id.to_string())
                    .bind(&row.csrf_token)
                    .bind(millis(row.created_at))
                    .bind(millis(row.expires_at))
                    .execute(&mut *connection)
                    .await?;
                    let detail = json!({ "expires_at": row.expires_at });
                    audit::record(connection, &row.actor(), "web_session.create", "web_session", &row.id.to_string(), detail).await
                })
            })
            .await?;
        Ok((session, secret))
    }

    /// The live session whose cookie carries `secret`: not expired, not idle for too long, and
    /// of an API token that is not revoked.
    pub async fn web_session_for_secret(
        &self,
        secret: &str,
    ) -> Result<Option<WebSession>, StoreError> {
        let at = now();
        sqlx::query(
            "SELECT s.id, s.api_token_id, t.role, t.name, s.csrf_token, s.created_at, s.expires_at, s.last_used_at \
             FROM web_sessions s JOIN api_tokens t ON t.id = s.api_token_id \
             WHERE s.secret_hash = $1 AND s.expires_at > $2 AND s.last_used_at > $3 AND t.revoked_at IS NULL",
        )
        .bind(secret_hash(secret))
        .bind(millis(at))
        .bind(millis(at - chrono_duration(SESSION_IDLE_LIMIT)))
        .fetch_optional(&self.read)
        .await?
        .as_ref()
        .map(web_session)
        .transpose()
    }

    /// Records that the session is in use now, which keeps it from ending as idle.
    pub async fn record_web_session_use(&self, session: &WebSession) -> Result<(), StoreError> {
        let (id, actor) = (session.id, session.actor());
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let at = now();
                    sqlx::query("UPDATE web_sessions SET last_used_at = $1 WHERE id = $2")
                        .bind(millis(at))
                        .bind(id.to_string())
                        .execute(&mut *connection)
                        .await?;
                    audit::record(
                        connection,
                        &actor,
                        "web_session.use",
                        "web_session",
                        &id.to_string(),
                        json!({ "at": at }),
                    )
                    .await
                })
            })
            .await
    }

    /// Ends a session (logout); ending it again changes nothing.
    pub async fn delete_web_session(&self, session: &WebSession) -> Result<(), StoreError> {
        let (id, actor) = (session.id, session.actor());
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let deleted = sqlx::query("DELETE FROM web_sessions WHERE id = $1")
                        .bind(id.to_string())
                        .execute(&mut *connection)
                        .await?
                        .rows_affected();
                    if deleted == 0 {
                        return Ok(());
                    }
                    audit::record(
                        connection,
                        &actor,
                        "web_session.delete",
                        "web_session",
                        &id.to_string(),
                        json!({}),
                    )
                    .await
                })
            })
            .await
    }
}

/// 256 random bits in hex, for the web UI's secrets: session secrets and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The thread RNG is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The constants above are hours and minutes; they always fit.
fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn web_session(row: &AnyRow) -> Result<WebSession, StoreError> {
    let id = uuid(row, "id")?;
    let role: String = row.try_get("role")?;
    Ok(WebSession {
        id,
        api_token_id: uuid(row, "api_token_id")?,
        role: Role::parse(&id.to_string(), &role)?,
        name: row.try_get("name")?,
        csrf_token: row.try_get("csrf_token")?,
        created_at: time(row.try_get("created_at")?),
        expires_at: time(row.try_get("expires_at")?),
        last_used_at: time(row.try_get("last_used_at")?),
    })
}
