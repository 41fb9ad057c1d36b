//! The helpdesks in the collector's config, by name:
//!
//! ```toml
//! [tickets.rt]
//! kind = "request_tracker"
//! url = "https://rt.corp.example"
//! token = { file = "/etc/sitrep/rt.token" }
//!
//! [tickets.jira]
//! kind = "jira"
//! url = "https://corp.atlassian.net"
//! email = "sitrep@corp.example"
//! token = { env = "SITREP_JIRA_TOKEN" }
//! ```
//!
//! A reference `rt:1234` then means ticket 1234 in the connector named `rt`. Credentials are
//! [`Secret`]s: read from a file or an environment variable when the connector is built, and
//! never printed (their `Debug` names only where they come from).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::header::HeaderValue;
use serde::Deserialize;

use crate::{
    TicketSystem, freshdesk, is_name, jira, request_tracker, servicenow, webhook, zammad, zendesk,
};

/// One connector's settings; `kind` says which helpdesk.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConnectorConfig {
    RequestTracker(request_tracker::Config),
    Zendesk(zendesk::Config),
    Jira(jira::Config),
    #[serde(rename = "servicenow")]
    ServiceNow(servicenow::Config),
    Freshdesk(freshdesk::Config),
    Zammad(zammad::Config),
    Webhook(webhook::Config),
}

impl ConnectorConfig {
    /// The connector, with its credentials read; the error says what is missing or wrong.
    pub fn build(&self) -> Result<Arc<dyn TicketSystem>, String> {
        match self {
            ConnectorConfig::RequestTracker(config) => config.build(),
            ConnectorConfig::Zendesk(config) => config.build(),
            ConnectorConfig::Jira(config) => config.build(),
            ConnectorConfig::ServiceNow(config) => config.build(),
            ConnectorConfig::Freshdesk(config) => config.build(),
            ConnectorConfig::Zammad(config) => config.build(),
            ConnectorConfig::Webhook(config) => config.build(),
        }
    }
}

/// The configured connectors, by name.
#[derive(Debug, Clone, Default)]
pub struct Connectors {
    by_name: BTreeMap<String, Arc<dyn TicketSystem>>,
}

impl Connectors {
    /// Builds every connector; the problems, each with its `tickets.NAME` key, all at once.
    pub fn build(
        configs: &BTreeMap<String, ConnectorConfig>,
    ) -> Result<Connectors, Vec<(String, String)>> {
        let mut by_name = BTreeMap::new();
        let mut problems = Vec::new();
        for (name, config) in configs {
            let key = format!("tickets.{name}");
            if !is_name(name) {
                problems.push((
                    key,
                    "a connector name has only letters, digits, '-' and '_'".to_string(),
                ));
                continue;
            }
            match config.build() {
                Ok(connector) => {
                    by_name.insert(name.clone(), connector);
                }
                Err(problem) => problems.push((key, problem)),
            }
        }
        if problems.is_empty() {
            Ok(Connectors { by_name })
        } else {
            Err(problems)
        }
    }

    /// Connectors built by hand (tests, or a program of its own).
    pub fn from_connectors(
        connectors: impl IntoIterator<Item = (String, Arc<dyn TicketSystem>)>,
    ) -> Connectors {
        Connectors {
            by_name: connectors.into_iter().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn TicketSystem>> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// The names for a message: "desk, rt" or "none".
    pub fn listed(&self) -> String {
        if self.by_name.is_empty() {
            return "none".to_string();
        }
        self.names().collect::<Vec<_>>().join(", ")
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// A credential: `{ file = "/etc/sitrep/rt.token" }` or `{ env = "SITREP_RT_TOKEN" }`. The file
/// or variable holds the value alone; surrounding whitespace is ignored.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    file: Option<PathBuf>,
    env: Option<String>,
}

impl Secret {
    pub fn from_file(path: impl Into<PathBuf>) -> Secret {
        Secret {
            file: Some(path.into()),
            env: None,
        }
    }

    pub fn from_env(variable: impl Into<String>) -> Secret {
        Secret {
            file: None,
            env: Some(variable.into()),
        }
    }

    /// The value; the error names the file or variable, never a value.
    pub fn read(&self) -> Result<String, String> {
        let value = match (&self.file, &self.env) {
            (Some(path), None) => std::fs::read_to_string(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
            (None, Some(variable)) => std::env::var(variable)
                .map_err(|_| format!("the environment variable {variable} is not set"))?,
            _ => {
                return Err("a secret is `{ file = \"PATH\" }` or `{ env = \"VARIABLE\" }`".into());
            }
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("{self:?} is empty"));
        }
        Ok(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, &self.env) {
            (Some(path), _) => write!(f, "the secret in {}", path.display()),
            (None, Some(variable)) => write!(f, "the secret in ${variable}"),
            (None, None) => f.write_str("an unset secret"),
        }
    }
}

/// A header value holding a credential: marked sensitive, so `Debug` of a request, a client
/// or a connector never shows it.
pub(crate) fn credential_header(value: &str) -> Result<HeaderValue, String> {
    let mut header = HeaderValue::from_str(value)
        .map_err(|_| "the credential holds characters a header cannot carry".to_string())?;
    header.set_sensitive(true);
    Ok(header)
}

/// `https://` (or `http://`, for a helpdesk on this machine or in a test) base URL without a
/// trailing slash.
pub(crate) fn base_url(url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|error| format!("url {url:?}: {error}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("url {url:?}: expected https://"));
    }
    if parsed.query().is_some() || !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "url {url:?}: no credentials or query in the URL; use the connector's secret"
        ));
    }
    let mut parsed = parsed;
    let path = parsed.path().trim_end_matches('/').to_string();
    parsed.set_path(&path);
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_come_from_files_or_variables_and_are_never_shown() {
        let dir = std::env::temp_dir().join(format!("sitrep-secret-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let path = dir.join("token");
        std::fs::write(&path, "s3cr3t\n").expect("write");
        let secret = Secret::from_file(&path);
        assert_eq!(secret.read(), Ok("s3cr3t".to_string()));
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        let missing = Secret::from_env("SITREP_TEST_NO_SUCH_VARIABLE");
        assert_eq!(
            missing.read(),
            Err("the environment variable SITREP_TEST_NO_SUCH_VARIABLE is not set".into())
        );
        let header = credential_header("Bearer s3cr3t").expect("a header");
        assert!(!format!("{header:?}").contains("s3cr3t"));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn base_urls_are_plain() {
        assert_eq!(
            base_url("https://rt.corp.example/rt/").map(|url| url.to_string()),
            Ok("https://rt.corp.example/rt".to_string())
        );
        assert!(base_url("ftp://x").is_err());
        assert!(base_url("https://user:pw@x").is_err());
        assert!(base_url("https://x/?token=1").is_err());
    }
}
