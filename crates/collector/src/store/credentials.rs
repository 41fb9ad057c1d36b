//! API tokens, enrollment tokens and agents: creating, listing, revoking, enrolling, and looking
//! a presented secret up by its hash.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::changes::{self, Change};
use super::model::corrupt;
use super::{
    Actor, AgentInfo, ApiTokenInfo, Enrollment, EnrollmentTokenInfo, Role, Store, StoreError,
    audit, millis, now, time, uuid,
};
use crate::auth::{SecretKind, generate_secret, secret_hash};

// Macros rather than consts so `concat!` builds each query as one static string.
macro_rules! api_token_columns {
    () => {
        "id, name, role, created_at, revoked_at"
    };
}
macro_rules! enrollment_token_columns {
    () => {
        "id, created_at, expires_at, max_uses, uses, revoked_at"
    };
}
/// An agent with what its device tells (its host name, when it was last heard from).
macro_rules! agent_columns {
    () => {
        "a.id, COALESCE(d.hostname, a.hostname) AS hostname, a.agent_version, a.enrolled_at, \
         d.last_seen_at, a.revoked_at FROM agents a LEFT JOIN devices d ON d.agent_id = a.id"
    };
}

impl Store {
    /// Makes an API token; the secret (`st_...`) is returned once and only its hash is kept.
    pub async fn create_api_token(
        &self,
        role: Role,
        name: &str,
        actor: &Actor,
    ) -> Result<(ApiTokenInfo, String), StoreError> {
        let secret = generate_secret(SecretKind::ApiToken);
        let info = ApiTokenInfo {
            id: Uuid::now_v7(),
            name: name.to_string(),
            role,
            created_at: now(),
            revoked_at: None,
        };
        let (row, hash, actor) = (info.clone(), secret_hash(&secret), actor.clone());
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO api_tokens (id, secret_hash, name, role, created_at) VALUES ($1, $2, $3, $4, $5)")
                        .bind(row.id.to_string())
                        .bind(hash)
                        .bind(&row.name)
                        .bind(row.role.as_str())
                        .bind(millis(row.created_at))
                        .execute(&mut *connection)
                        .await?;
                    let detail = json!({ "name": row.name, "role": row.role });
                    audit::record(connection, &actor, "api_token.create", "api_token", &row.id.to_string(), detail).await
                })
            })
            .await?;
        Ok((info, secret))
    }

    /// Every API token, newest first, revoked ones included.
    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenInfo>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            api_token_columns!(),
            " FROM api_tokens ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(api_token)
        .collect()
    }

    /// Revokes an API token at once; revoking it again changes nothing.
    pub async fn revoke_api_token(
        &self,
        id: &str,
        actor: &Actor,
    ) -> Result<ApiTokenInfo, StoreError> {
        let id = parse_id(Revocable::ApiToken, id)?;
        let actor = actor.clone();
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    revoke(connection, Revocable::ApiToken, id, &actor).await?;
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        api_token_columns!(),
                        " FROM api_tokens WHERE id = $1"
                    ))
                    .bind(id.to_string())
                    .fetch_one(&mut *connection)
                    .await?;
                    api_token(&row)
                })
            })
            .await
    }

    /// The live (not revoked) API token with this secret.
    pub async fn api_token_for_secret(
        &self,
        secret: &str,
    ) -> Result<Option<ApiTokenInfo>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            api_token_columns!(),
            " FROM api_tokens WHERE secret_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(secret_hash(secret))
        .fetch_optional(&self.read)
        .await?
        .as_ref()
        .map(api_token)
        .transpose()
    }

    /// Makes an enrollment token; the secret (`se_...`) is returned once.
    pub async fn create_enrollment_token(
        &self,
        max_uses: Option<u32>,
        expires_at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> Result<(EnrollmentTokenInfo, String), StoreError> {
        let secret = generate_secret(SecretKind::EnrollmentToken);
        let info = EnrollmentTokenInfo {
            id: Uuid::now_v7(),
            created_at: now(),
            // Stored in milliseconds; return what a later listing will show.
            expires_at: expires_at.map(|at| time(millis(at))),
            max_uses,
            uses: 0,
            revoked_at: None,
        };
        let (row, hash, actor) = (info.clone(), secret_hash(&secret), actor.clone());
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO enrollment_tokens (id, secret_hash, created_at, expires_at, max_uses) VALUES ($1, $2, $3, $4, $5)")
                        .bind(row.id.to_string())
                        .bind(hash)
                        .bind(millis(row.created_at))
                        .bind(row.expires_at.map(millis))
                        .bind(row.max_uses.map(i64::from))
                        .execute(&mut *connection)
                        .await?;
                    let detail = json!({ "max_uses": row.max_uses, "expires_at": row.expires_at });
                    audit::record(connection, &actor, "enrollment_token.create", "enrollment_token", &row.id.to_string(), detail).await
                })
            })
            .await?;
        Ok((info, secret))
    }

    /// Every enrollment token, newest first, revoked and used-up ones included.
    pub async fn list_enrollment_tokens(&self) -> Result<Vec<EnrollmentTokenInfo>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            enrollment_token_columns!(),
            " FROM enrollment_tokens ORDER BY created_at DESC, id DESC"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(enrollment_token)
        .collect()
    }

    /// Revokes an enrollment token; agents that already enrolled with it keep their keys.
    pub async fn revoke_enrollment_token(
        &self,
        id: &str,
        actor: &Actor,
    ) -> Result<EnrollmentTokenInfo, StoreError> {
        let id = parse_id(Revocable::EnrollmentToken, id)?;
        let actor = actor.clone();
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    revoke(connection, Revocable::EnrollmentToken, id, &actor).await?;
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        enrollment_token_columns!(),
                        " FROM enrollment_tokens WHERE id = $1"
                    ))
                    .bind(id.to_string())
                    .fetch_one(&mut *connection)
                    .await?;
                    enrollment_token(&row)
                })
            })
            .await
    }

    /// Spends one use of the enrollment token `token` and registers a new agent, whose key is
    /// returned once.
    pub async fn enroll_agent(
        &self,
        token: &str,
        hostname: Option<String>,
        agent_version: String,
    ) -> Result<Enrollment, StoreError> {
        let token_hash = secret_hash(token);
        let agent_key = generate_secret(SecretKind::AgentKey);
        let key_hash = secret_hash(&agent_key);
        let agent_id = Uuid::now_v7();
        self.writer
            .write(move |connection| {
                Box::pin(async move {
                    let at = now();
                    let token = sqlx::query(concat!("SELECT ", enrollment_token_columns!(), " FROM enrollment_tokens WHERE secret_hash = $1"))
                        .bind(token_hash)
                        .fetch_optional(&mut *connection)
                        .await?
                        .as_ref()
                        .map(enrollment_token)
                        .transpose()?
                        .ok_or(StoreError::InvalidEnrollmentToken)?;
                    let expired = token.expires_at.is_some_and(|expires| expires <= at);
                    let used_up = token.max_uses.is_some_and(|max| token.uses >= max);
                    if token.revoked_at.is_some() || expired || used_up {
                        return Err(StoreError::InvalidEnrollmentToken);
                    }
                    sqlx::query("UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = $1")
                        .bind(token.id.to_string())
                        .execute(&mut *connection)
                        .await?;
                    sqlx::query(
                        "INSERT INTO agents (id, key_hash, hostname, agent_version, enrolled_at, enrollment_token_id) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(agent_id.to_string())
                    .bind(key_hash)
                    .bind(&hostname)
                    .bind(&agent_version)
                    .bind(millis(at))
                    .bind(token.id.to_string())
                    .execute(&mut *connection)
                    .await?;
                    let detail = json!({ "enrollment_token_id": token.id, "hostname": hostname, "agent_version": agent_version });
                    audit::record(connection, &Actor::Agent(agent_id), "agent.enroll", "agent", &agent_id.to_string(), detail).await
                })
            })
            .await?;
        Ok(Enrollment {
            agent_id,
            agent_key,
        })
    }

    /// The live (not revoked) agent with this key. Keys found valid are remembered for a
    /// while (see `key_cache.rs`); unknown ones are looked up every time.
    pub async fn agent_for_key(&self, key: &str) -> Result<Option<Uuid>, StoreError> {
        let hash = secret_hash(key);
        if let Some(agent) = self.agent_keys.get(&hash) {
            return Ok(Some(agent));
        }
        let row = sqlx::query("SELECT id FROM agents WHERE key_hash = $1 AND revoked_at IS NULL")
            .bind(&hash)
            .fetch_optional(&self.read)
            .await?;
        let agent = row.map(|row| uuid(&row, "id")).transpose()?;
        if let Some(agent) = agent {
            self.agent_keys.insert(hash, agent);
        }
        Ok(agent)
    }

    /// Every enrolled agent, newest first, revoked ones included.
    pub async fn list_agents(&self) -> Result<Vec<AgentInfo>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            agent_columns!(),
            " ORDER BY a.enrolled_at DESC, a.id DESC"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(agent)
        .collect()
    }

    /// Revokes an agent's key: its requests get `401 unknown_agent_key` until it enrolls again.
    /// Revoking it again changes nothing.
    pub async fn revoke_agent(&self, id: &str, actor: &Actor) -> Result<AgentInfo, StoreError> {
        let id = parse_id(Revocable::Agent, id)?;
        let actor = actor.clone();
        let info = self
            .writer
            .write(move |connection| {
                Box::pin(async move {
                    revoke(connection, Revocable::Agent, id, &actor).await?;
                    changes::announce(connection, Change::AgentRevoked { agent_id: id }).await?;
                    let row = sqlx::query(concat!("SELECT ", agent_columns!(), " WHERE a.id = $1"))
                        .bind(id.to_string())
                        .fetch_one(&mut *connection)
                        .await?;
                    agent(&row)
                })
            })
            .await?;
        // Only after the commit: a lookup racing the revocation can at worst keep the key for
        // one more TTL.
        self.agent_keys.forget(id);
        Ok(info)
    }
}

/// What can be revoked; each names its own statements, so no SQL is assembled from input.
#[derive(Debug, Clone, Copy)]
enum Revocable {
    ApiToken,
    EnrollmentToken,
    Agent,
}

impl Revocable {
    fn kind(self) -> &'static str {
        match self {
            Revocable::ApiToken => "api_token",
            Revocable::EnrollmentToken => "enrollment_token",
            Revocable::Agent => "agent",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Revocable::ApiToken => "api_token.revoke",
            Revocable::EnrollmentToken => "enrollment_token.revoke",
            Revocable::Agent => "agent.revoke",
        }
    }

    fn revoke_sql(self) -> &'static str {
        match self {
            Revocable::ApiToken => {
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
            }
            Revocable::EnrollmentToken => {
                "UPDATE enrollment_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
            }
            Revocable::Agent => {
                "UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
            }
        }
    }

    fn exists_sql(self) -> &'static str {
        match self {
            Revocable::ApiToken => "SELECT 1 FROM api_tokens WHERE id = $1",
            Revocable::EnrollmentToken => "SELECT 1 FROM enrollment_tokens WHERE id = $1",
            Revocable::Agent => "SELECT 1 FROM agents WHERE id = $1",
        }
    }
}

/// An id as an operator typed it; one that is not a UUID names nothing.
fn parse_id(target: Revocable, id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id.trim()).map_err(|_| StoreError::NotFound {
        what: target.kind(),
        id: id.to_string(),
    })
}

/// Sets `revoked_at` if not set yet, and audits the first revocation.
async fn revoke(
    connection: &mut sqlx::AnyConnection,
    target: Revocable,
    id: Uuid,
    actor: &Actor,
) -> Result<(), StoreError> {
    let changed = sqlx::query(target.revoke_sql())
        .bind(millis(now()))
        .bind(id.to_string())
        .execute(&mut *connection)
        .await?
        .rows_affected();
    if changed == 0 {
        let exists = sqlx::query(target.exists_sql())
            .bind(id.to_string())
            .fetch_optional(&mut *connection)
            .await?;
        return match exists {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound {
                what: target.kind(),
                id: id.to_string(),
            }),
        };
    }
    audit::record(
        connection,
        actor,
        target.action(),
        target.kind(),
        &id.to_string(),
        json!({}),
    )
    .await
}

fn api_token(row: &AnyRow) -> Result<ApiTokenInfo, StoreError> {
    let id = uuid(row, "id")?;
    let role: String = row.try_get("role")?;
    Ok(ApiTokenInfo {
        id,
        name: row.try_get("name")?,
        role: Role::parse(&id.to_string(), &role)?,
        created_at: time(row.try_get("created_at")?),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(time),
    })
}

fn agent(row: &AnyRow) -> Result<AgentInfo, StoreError> {
    Ok(AgentInfo {
        id: uuid(row, "id")?,
        hostname: row.try_get("hostname")?,
        agent_version: row.try_get("agent_version")?,
        enrolled_at: time(row.try_get("enrolled_at")?),
        last_seen_at: row.try_get::<Option<i64>, _>("last_seen_at")?.map(time),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(time),
    })
}

fn enrollment_token(row: &AnyRow) -> Result<EnrollmentTokenInfo, StoreError> {
    let id = uuid(row, "id")?;
    let count = |column: &'static str, value: i64| {
        u32::try_from(value).map_err(|_| {
            corrupt(
                "enrollment_tokens",
                &id.to_string(),
                column,
                &value.to_string(),
            )
        })
    };
    Ok(EnrollmentTokenInfo {
        id,
        created_at: time(row.try_get("created_at")?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(time),
        max_uses: row
            .try_get::<Option<i64>, _>("max_uses")?
            .map(|max| count("max_uses", max))
            .transpose()?,
        uses: count("uses", row.try_get("uses")?)?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(time),
    })
}
