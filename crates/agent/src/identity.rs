//! The agent's identity with its collector, made by `sitrep enroll` and kept in the state dir:
//! which collector, how to trust it, and the per-agent key that authenticates uploads.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::pin::Fingerprint;
use crate::state::{StateDir, StateError};

/// File name of the identity inside the state dir.
pub const IDENTITY_FILE: &str = "identity.json";

/// The secret the collector issued at enrollment; never printed or logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentKey(String);

impl AgentKey {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentKey(..)")
    }
}

/// How the agent decides that it talks to its collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Exactly the certificate with this SHA-256 fingerprint.
    Pinned(Fingerprint),
    /// Certificates that chain to this CA (and only it), for the collector's host name.
    CaFile(PathBuf),
    /// The operating system's trust store.
    Platform,
}

/// The identity as stored: `identity.json`, a JSON object with the fields below.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Base URL of the collector, e.g. `https://support.example.org:8443`.
    pub collector: String,
    pub agent_id: Uuid,
    pub agent_key: AgentKey,
    /// The pinned certificate fingerprint, upper-case colon-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// The CA file that signs the collector's certificate (an absolute path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    pub enrolled_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(
        "this computer is not enrolled with a collector (no {path}); run \
         `sitrep enroll --collector URL --token TOKEN` first"
    )]
    NotEnrolled { path: PathBuf },
    #[error("{path} is damaged: {reason}; run `sitrep enroll` again to replace it")]
    Damaged { path: PathBuf, reason: String },
    #[error("cannot encode the identity: {0}")]
    Encode(serde_json::Error),
    #[error(transparent)]
    State(#[from] StateError),
}

impl Identity {
    pub fn new(collector: String, agent_id: Uuid, agent_key: AgentKey, trust: Trust) -> Self {
        let (fingerprint, ca_file) = match trust {
            Trust::Pinned(fingerprint) => (Some(fingerprint), None),
            Trust::CaFile(path) => (None, Some(path)),
            Trust::Platform => (None, None),
        };
        Identity {
            collector,
            agent_id,
            agent_key,
            fingerprint,
            ca_file,
            enrolled_at: Utc::now(),
        }
    }

    /// How to trust the collector. [`Identity::load`] refuses a file with both a fingerprint and
    /// a CA file, so the pin's precedence here never decides anything.
    pub fn trust(&self) -> Trust {
        match (&self.fingerprint, &self.ca_file) {
            (Some(fingerprint), _) => Trust::Pinned(*fingerprint),
            (None, Some(ca_file)) => Trust::CaFile(ca_file.clone()),
            (None, None) => Trust::Platform,
        }
    }

    pub fn load(state: &StateDir) -> Result<Identity, IdentityError> {
        let path = state.file(IDENTITY_FILE);
        let bytes = state
            .read(IDENTITY_FILE)?
            .ok_or_else(|| IdentityError::NotEnrolled { path: path.clone() })?;
        let identity: Identity =
            serde_json::from_slice(&bytes).map_err(|error| IdentityError::Damaged {
                path: path.clone(),
                reason: error.to_string(),
            })?;
        if identity.fingerprint.is_some() && identity.ca_file.is_some() {
            return Err(IdentityError::Damaged {
                path,
                reason: "it has both a fingerprint and a CA file".to_string(),
            });
        }
        Ok(identity)
    }

    pub fn save(&self, state: &StateDir) -> Result<(), IdentityError> {
        let mut json = serde_json::to_vec_pretty(self).map_err(IdentityError::Encode)?;
        json.push(b'\n');
        Ok(state.write(IDENTITY_FILE, &json)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            collector: "https://support.example.org:8443".to_string(),
            agent_id: Uuid::nil(),
            agent_key: AgentKey("sa_secret".to_string()),
            fingerprint: Some(
                "5e0f7a1c2293ab6d7e8801c42b991347103faae00b62d7854c119af26730de05"
                    .parse()
                    .expect("valid"),
            ),
            ca_file: None,
            enrolled_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn saved_identity_loads_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(Some(dir.path()));
        identity().save(&state).expect("save");
        let loaded = Identity::load(&state).expect("load");
        assert_eq!(loaded, identity());
        assert!(matches!(loaded.trust(), Trust::Pinned(_)));
    }

    #[test]
    fn the_file_format() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(Some(dir.path()));
        identity().save(&state).expect("save");
        let text = std::fs::read_to_string(state.file(IDENTITY_FILE)).expect("read");
        expect_test::expect![[r#"
            {
              "collector": "https://support.example.org:8443",
              "agent_id": "00000000-0000-0000-0000-000000000000",
              "agent_key": "sa_secret",
              "fingerprint": "5E:0F:7A:1C:22:93:AB:6D:7E:88:01:C4:2B:99:13:47:10:3F:AA:E0:0B:62:D7:85:4C:11:9A:F2:67:30:DE:05",
              "enrolled_at": "1970-01-01T00:00:00Z"
            }
        "#]]
        .assert_eq(&text);
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        assert!(!format!("{:?}", identity()).contains("sa_secret"));
    }

    #[test]
    fn missing_identity_says_to_enroll() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = Identity::load(&StateDir::new(Some(dir.path()))).expect_err("empty dir");
        assert!(matches!(error, IdentityError::NotEnrolled { .. }));
        assert!(error.to_string().contains("run `sitrep enroll"), "{error}");
    }

    #[test]
    fn damaged_identity_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = StateDir::new(Some(dir.path()));
        state
            .write(IDENTITY_FILE, b"{\"collector\": 5}")
            .expect("write");
        let error = Identity::load(&state).expect_err("damaged");
        assert!(matches!(error, IdentityError::Damaged { .. }), "{error}");

        let mut both = identity();
        both.ca_file = Some(PathBuf::from("/etc/sitrep/ca.pem"));
        both.save(&state).expect("save");
        let error = Identity::load(&state).expect_err("damaged");
        assert!(
            error
                .to_string()
                .contains("both a fingerprint and a CA file"),
            "{error}"
        );
    }
}
