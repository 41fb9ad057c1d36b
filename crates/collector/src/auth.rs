//! Credentials: the secrets the collector hands out (API tokens, enrollment tokens, agent keys),
//! how they are kept (SHA-256 only), and the extractors that authenticate agents and people.
//!
//! Secrets are 256 random bits, so a fast hash is enough (nobody can brute-force the preimage)
//! and looking a hash up in an index leaks nothing useful through timing: an attacker who
//! learns how many leading hash bytes matched still knows nothing about a valid secret.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use rand::Rng;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::store::{Actor, Role};

/// The kinds of secret, told apart by a readable prefix so a pasted secret explains itself and
/// secret scanners can recognise them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// `st_`: a person's API token.
    ApiToken,
    /// `se_`: lets one or more agents enroll.
    EnrollmentToken,
    /// `sa_`: one agent's key.
    AgentKey,
}

impl SecretKind {
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::ApiToken => "st_",
            SecretKind::EnrollmentToken => "se_",
            SecretKind::AgentKey => "sa_",
        }
    }

    /// The kind a secret claims by its prefix.
    pub fn of(secret: &str) -> Option<SecretKind> {
        [
            SecretKind::ApiToken,
            SecretKind::EnrollmentToken,
            SecretKind::AgentKey,
        ]
        .into_iter()
        .find(|kind| secret.starts_with(kind.prefix()))
    }
}

/// A new secret: the prefix and 32 random bytes in hex.
pub fn generate_secret(kind: SecretKind) -> String {
    let mut bytes = [0u8; 32];
    // The thread RNG is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    format!("{}{}", kind.prefix(), hex::encode(bytes))
}

/// What the store keeps of a secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// An agent authenticated by its key (`Authorization: Bearer sa_...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticatedAgent {
    pub agent_id: Uuid,
}

impl AuthenticatedAgent {
    pub fn actor(self) -> Actor {
        Actor::Agent(self.agent_id)
    }
}

/// A person authenticated by an API token (`Authorization: Bearer st_...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specialist {
    pub token_id: Uuid,
    pub role: Role,
}

impl Specialist {
    pub fn actor(self) -> Actor {
        Actor::ApiToken(self.token_id)
    }
}

impl FromRequestParts<AppState> for AuthenticatedAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = bearer(parts)?;
        if SecretKind::of(secret) == Some(SecretKind::ApiToken) {
            return match state.store.api_token_for_secret(secret).await? {
                Some(_) => Err(ApiError::Forbidden(
                    "this route is for agents; an API token cannot use it".into(),
                )),
                None => Err(ApiError::UnknownApiToken),
            };
        }
        match state.store.agent_for_key(secret).await? {
            Some(agent_id) => Ok(AuthenticatedAgent { agent_id }),
            None => Err(ApiError::UnknownAgentKey),
        }
    }
}

impl FromRequestParts<AppState> for Specialist {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = bearer(parts)?;
        if SecretKind::of(secret) == Some(SecretKind::AgentKey) {
            return match state.store.agent_for_key(secret).await? {
                Some(_) => Err(ApiError::Forbidden(
                    "this route is for specialists; an agent key cannot use it".into(),
                )),
                None => Err(ApiError::UnknownAgentKey),
            };
        }
        match state.store.api_token_for_secret(secret).await? {
            Some(token) => Ok(Specialist {
                token_id: token.id,
                role: token.role,
            }),
            None => Err(ApiError::UnknownApiToken),
        }
    }
}

/// The secret of `Authorization: Bearer <secret>`.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::MissingCredentials)?;
    let value = header.to_str().map_err(|_| ApiError::MissingCredentials)?;
    let (scheme, secret) = value.split_once(' ').ok_or(ApiError::MissingCredentials)?;
    let secret = secret.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() {
        return Err(ApiError::MissingCredentials);
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_carry_their_kind_and_hash_to_64_hex_digits() {
        for kind in [
            SecretKind::ApiToken,
            SecretKind::EnrollmentToken,
            SecretKind::AgentKey,
        ] {
            let secret = generate_secret(kind);
            assert_eq!(SecretKind::of(&secret), Some(kind));
            assert_eq!(secret.len(), 3 + 64);
            assert_ne!(secret, generate_secret(kind));
            let hash = secret_hash(&secret);
            assert_eq!(hash.len(), 64);
            assert_eq!(hash, secret_hash(&secret));
        }
        assert_eq!(SecretKind::of("Basic abc"), None);
    }
}
