//! The collector's TOML config (`/etc/sitrep/collector.toml` or `--config`); command-line flags
//! override it. Same rules as the agent's: unknown keys are errors, every problem at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sitrep_config::{ByteSize, ConfigError, ConfigFile, HumanDuration, TableChecker, check_table};
use sitrep_tickets::ConnectorConfig;

use crate::Limits;
use crate::store::Retention;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// Address and port to serve on.
    pub listen: SocketAddr,
    /// Where the SQLite database and the self-signed certificate live.
    pub data_dir: Option<PathBuf>,
    /// A database URL instead of SQLite in the data dir.
    pub database_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP: fine on loopback, warned about anywhere else.
    pub insecure_http: bool,
    pub limits: LimitsConfig,
    pub retention: RetentionConfig,
    /// External helpdesks by name: `[tickets.rt]`, `[tickets.jira]`, ...
    pub tickets: BTreeMap<String, ConnectorConfig>,
}

/// How long snapshots are kept (see `store::Retention`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Newest snapshots kept per device; 0 keeps them all.
    pub max_snapshots_per_device: u32,
    /// Snapshots taken longer ago are removed; "0s" keeps them however old.
    pub max_age: HumanDuration,
    /// How often the retention job runs.
    pub interval: HumanDuration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            max_snapshots_per_device: 1000,
            max_age: HumanDuration::from_secs(365 * 86_400),
            interval: HumanDuration::from_secs(3600),
        }
    }
}

impl RetentionConfig {
    pub fn retention(&self) -> Retention {
        Retention {
            max_snapshots_per_device: Some(self.max_snapshots_per_device).filter(|&n| n > 0),
            max_age: Some(self.max_age.0).filter(|age| !age.is_zero()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body as sent.
    pub max_body: ByteSize,
    /// Largest body after decompression.
    pub max_decompressed: ByteSize,
    /// How long a client may take to send a request's headers, counted from the connection's
    /// start (after TLS) or from the previous answer on it: slow clients (slowloris) are cut
    /// off, and an idle HTTP/1.1 keep-alive connection is closed after this long. Behind a
    /// load balancer, set it above the balancer's idle timeout.
    pub header_read_timeout: HumanDuration,
    /// How long a request body may take to arrive in full; a slower one is answered 408.
    pub body_read_timeout: HumanDuration,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            data_dir: None,
            database_url: None,
            tls_cert: None,
            tls_key: None,
            insecure_http: false,
            limits: LimitsConfig::default(),
            retention: RetentionConfig::default(),
            tickets: BTreeMap::new(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let limits = Limits::default();
        LimitsConfig {
            max_body: ByteSize(limits.max_body_bytes),
            max_decompressed: ByteSize(limits.max_decompressed_bytes),
            // hyper's own default; agents send their few headers at once, so only a stalled or
            // hostile client comes near it.
            header_read_timeout: HumanDuration::from_secs(30),
            body_read_timeout: HumanDuration(limits.body_read_timeout),
        }
    }
}

impl CollectorConfig {
    pub fn default_path() -> &'static Path {
        if cfg!(windows) {
            Path::new(r"C:\ProgramData\sitrep\collector.toml")
        } else if cfg!(target_os = "macos") {
            Path::new("/Library/Application Support/sitrep/collector.toml")
        } else {
            Path::new("/etc/sitrep/collector.toml")
        }
    }

    pub fn default_data_dir() -> &'static Path {
        if cfg!(windows) {
            Path::new(r"C:\ProgramData\sitrep\collector")
        } else if cfg!(target_os = "macos") {
            Path::new("/Library/Application Support/sitrep/collector")
        } else {
            Path::new("/var/lib/sitrep-collector")
        }
    }

    pub fn load(
        explicit: Option<&Path>,
    ) -> Result<(CollectorConfig, Option<PathBuf>), ConfigError> {
        sitrep_config::load(explicit, CollectorConfig::default_path())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.limits.max_body.0,
            max_decompressed_bytes: self.limits.max_decompressed.0,
            body_read_timeout: self.limits.body_read_timeout.0,
        }
    }
}

impl ConfigFile for CollectorConfig {
    fn section_checker(name: &str) -> Option<TableChecker> {
        match name {
            "limits" => Some(check_table::<LimitsConfig>),
            "retention" => Some(check_table::<RetentionConfig>),
            "tickets" => Some(check_table::<BTreeMap<String, ConnectorConfig>>),
            _ => None,
        }
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            problems.push((
                "tls_cert".to_string(),
                "set both `tls_cert` and `tls_key`, or neither".to_string(),
            ));
        }
        if self.limits.max_body.0 < 64 << 10 {
            problems.push((
                "limits.max_body".to_string(),
                "must be at least 64KiB".to_string(),
            ));
        }
        if self.limits.max_decompressed < self.limits.max_body {
            problems.push((
                "limits.max_decompressed".to_string(),
                "must not be smaller than limits.max_body".to_string(),
            ));
        }
        for (key, timeout) in [
            (
                "limits.header_read_timeout",
                &self.limits.header_read_timeout,
            ),
            ("limits.body_read_timeout", &self.limits.body_read_timeout),
        ] {
            if timeout.0 < std::time::Duration::from_secs(1) {
                problems.push((key.to_string(), "must be at least 1s".to_string()));
            }
        }
        if self.retention.interval.0 < std::time::Duration::from_secs(60) {
            problems.push((
                "retention.interval".to_string(),
                "must be at least 1m".to_string(),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpdesks_are_tables_by_name_and_their_problems_are_named() {
        let config: CollectorConfig = sitrep_config::parse(
            "[tickets.rt]\nkind = \"request_tracker\"\nurl = \"https://rt.corp.example\"\n\
             token = { file = \"/etc/sitrep/rt.token\" }\nqueue = \"Support\"\n",
        )
        .expect("a helpdesk");
        assert!(matches!(
            config.tickets.get("rt"),
            Some(ConnectorConfig::RequestTracker(_))
        ));
        let problems = sitrep_config::parse::<CollectorConfig>(
            "[tickets.rt]\nkind = \"otrs\"\nurl = \"https://x\"\n",
        )
        .expect_err("an unknown kind");
        let text = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains("tickets") && text.contains("otrs"), "{text}");
    }

    #[test]
    fn defaults_and_problems() {
        let config: CollectorConfig = sitrep_config::parse("").expect("empty is fine");
        assert_eq!(config, CollectorConfig::default());
        let problems = sitrep_config::parse::<CollectorConfig>(
            "listen = \"nowhere\"\ntls_cert = \"/c.pem\"\n[limits]\nmax_body = \"1KiB\"\nmax_decompresed = \"1GiB\"\nbody_read_timeout = \"0s\"\n",
        )
        .expect_err("problems");
        let text: String = problems
            .iter()
            .map(|problem| format!("{problem}\n"))
            .collect();
        expect_test::expect![[r#"
            line 1: listen: invalid socket address syntax
            line 2: tls_cert: set both `tls_cert` and `tls_key`, or neither
            line 4: limits.max_body: must be at least 64KiB
            line 5: limits.max_decompresed: unknown field `max_decompresed`, expected one of `max_body`, `max_decompressed`, `header_read_timeout`, `body_read_timeout`
            line 6: limits.body_read_timeout: must be at least 1s
        "#]]
        .assert_eq(&text);
    }
}
