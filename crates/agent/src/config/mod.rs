//! The agent's TOML config: typed sections with `deny_unknown_fields`, loaded so that every
//! problem in a file is reported at once with its key path and line.
//!
//! Only this crate knows about config files; the libraries take plain values.

pub use sitrep_config::{ByteSize, ConfigError, HumanDuration};

use sitrep_config::{ConfigFile, TableChecker, check_table};

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The shortest schedule: a check takes up to `probes.deadline`, and shorter than this is a
/// typo ("15s" for "15m") rather than a plan.
const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Base URL of the collector, set by `sitrep enroll`.
    pub collector: Option<String>,
    /// SHA-256 fingerprint of the collector's certificate, when it is pinned.
    pub fingerprint: Option<String>,
    /// CA bundle that signs the collector's certificate, instead of a fingerprint.
    pub ca_file: Option<PathBuf>,
    /// A file holding an enrollment token: the daemon enrolls with it when it is not enrolled
    /// yet, and again when the collector no longer accepts its key (e.g. it was revoked).
    pub enrollment_token_file: Option<PathBuf>,
    pub schedule: ScheduleConfig,
    pub spool: SpoolConfig,
    pub probes: ProbesConfig,
    pub privacy: PrivacyConfig,
}

/// `enrollment_token_file` names a file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the enrollment token file {path} (enrollment_token_file): {reason}")]
pub struct EnrollmentTokenError {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Time between scheduled checks; up to 10 % jitter is added.
    pub interval: HumanDuration,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            interval: HumanDuration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolConfig {
    pub max_bytes: ByteSize,
    pub max_items: u32,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig {
            max_bytes: ByteSize(50 << 20),
            max_items: 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbesConfig {
    /// Hosts to ping, besides the gateways and DNS servers.
    pub ping: Vec<String>,
    /// Names to resolve through each DNS server.
    pub resolve: Vec<String>,
    /// `host:port` pairs to connect to.
    pub tcp: Vec<String>,
    /// URLs to fetch.
    pub http: Vec<String>,
    /// Per probe.
    pub timeout: HumanDuration,
    /// For the whole report.
    pub deadline: HumanDuration,
}

impl Default for ProbesConfig {
    fn default() -> Self {
        ProbesConfig {
            ping: Vec::new(),
            resolve: Vec::new(),
            tcp: Vec::new(),
            http: Vec::new(),
            timeout: HumanDuration::from_secs(2),
            deadline: HumanDuration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// What to replace with keyed pseudonyms before a snapshot leaves the machine.
    pub pseudonymize: Vec<Pseudonymized>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pseudonymized {
    Hostname,
    User,
    Mac,
    Ip,
}

impl Config {
    /// The platform's default config file.
    pub fn default_path() -> &'static Path {
        if cfg!(windows) {
            Path::new(r"C:\ProgramData\sitrep\agent.toml")
        } else if cfg!(target_os = "macos") {
            Path::new("/Library/Application Support/sitrep/agent.toml")
        } else {
            Path::new("/etc/sitrep/agent.toml")
        }
    }

    /// Loads `explicit` (which must exist), or the default file when it exists, or the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        sitrep_config::load(explicit, Config::default_path())
    }

    /// The enrollment token in `enrollment_token_file`, read now (an admin may replace it while
    /// the daemon runs); `None` when none is configured.
    pub fn enrollment_token(&self) -> Result<Option<String>, EnrollmentTokenError> {
        let Some(path) = &self.enrollment_token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| EnrollmentTokenError {
            path: path.clone(),
            reason: source.to_string(),
        })?;
        let token = text.trim();
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(EnrollmentTokenError {
                path: path.clone(),
                reason: "expected one token (se_...) and nothing else".to_string(),
            });
        }
        Ok(Some(token.to_string()))
    }

    /// The probe targets listed in the config.
    pub fn probe_targets(&self) -> sitrep_probes::active::TargetList {
        sitrep_probes::active::TargetList {
            ping: self.probes.ping.clone(),
            resolve: self.probes.resolve.clone(),
            tcp: self.probes.tcp.clone(),
            http: self.probes.http.clone(),
        }
    }
}

impl ConfigFile for Config {
    fn section_checker(name: &str) -> Option<TableChecker> {
        match name {
            "schedule" => Some(check_table::<ScheduleConfig>),
            "spool" => Some(check_table::<SpoolConfig>),
            "probes" => Some(check_table::<ProbesConfig>),
            "privacy" => Some(check_table::<PrivacyConfig>),
            _ => None,
        }
    }

    /// Checks that span several keys or need more than a type.
    fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.fingerprint.is_some() && self.ca_file.is_some() {
            problems.push((
                "fingerprint".to_string(),
                "set either `fingerprint` or `ca_file`, not both".to_string(),
            ));
        }
        if let Some(fingerprint) = &self.fingerprint {
            let hex: String = fingerprint
                .trim_start_matches("sha256:")
                .chars()
                .filter(|c| *c != ':')
                .collect();
            if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                problems.push((
                    "fingerprint".to_string(),
                    "expected a SHA-256 fingerprint: 64 hex digits, colons allowed".to_string(),
                ));
            }
        }
        if let Some(collector) = &self.collector {
            // The collector URL obeys the same syntax as an HTTP probe target.
            let as_target = sitrep_probes::active::TargetList {
                http: vec![collector.clone()],
                ..Default::default()
            };
            if let Some(invalid) = as_target.validate().into_iter().next() {
                problems.push(("collector".to_string(), invalid.error.to_string()));
            }
        }
        if self.schedule.interval.0 < MIN_INTERVAL {
            problems.push((
                "schedule.interval".to_string(),
                format!(
                    "{} is too short; the minimum is {}",
                    self.schedule.interval,
                    HumanDuration(MIN_INTERVAL)
                ),
            ));
        }
        if self.spool.max_items == 0 {
            problems.push((
                "spool.max_items".to_string(),
                "must be at least 1".to_string(),
            ));
        }
        if self.spool.max_bytes.0 < 64 << 10 {
            problems.push((
                "spool.max_bytes".to_string(),
                "must be at least 64KiB".to_string(),
            ));
        }
        let probes = &self.probes;
        if probes.timeout.0.is_zero() {
            problems.push((
                "probes.timeout".to_string(),
                "must be longer than 0s".to_string(),
            ));
        }
        if probes.deadline < probes.timeout {
            problems.push((
                "probes.deadline".to_string(),
                format!(
                    "{} is shorter than probes.timeout ({}); every probe would be cut off",
                    probes.deadline, probes.timeout
                ),
            ));
        }
        problems.extend(self.probe_targets().validate().into_iter().map(|invalid| {
            (
                format!("probes.{}", invalid.list),
                format!("entry {}: {}", invalid.index + 1, invalid.error),
            )
        }));
        problems
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn problems(text: &str) -> String {
        match sitrep_config::parse::<Config>(text) {
            Ok(config) => panic!("expected problems, got {config:?}"),
            Err(problems) => problems.iter().map(|p| format!("{p}\n")).collect(),
        }
    }

    #[test]
    fn the_documented_example_is_valid() {
        let config = sitrep_config::parse::<Config>(
            r#"
collector = "https://support.example.org:8443"
fingerprint = "5E:0F:7A:1C:22:93:AB:6D:7E:88:01:C4:2B:99:13:47:10:3F:AA:E0:0B:62:D7:85:4C:11:9A:F2:67:30:DE:05"
[schedule]
interval = "15m"
[spool]
max_bytes = "50MiB"
max_items = 500
[probes]
ping = ["printer.corp.example"]
resolve = ["intranet.corp.example"]
tcp = ["mail.corp.example:993"]
http = ["https://intranet.corp.example/health"]
timeout = "2s"
deadline = "10s"
[privacy]
pseudonymize = ["hostname", "user", "mac", "ip"]
"#,
        )
        .expect("valid");
        assert_eq!(config.schedule.interval, HumanDuration::from_secs(900));
        assert_eq!(config.spool.max_bytes, ByteSize(50 << 20));
        assert_eq!(config.probes.tcp, ["mail.corp.example:993"]);
        assert_eq!(config.privacy.pseudonymize.len(), 4);
    }

    #[test]
    fn an_empty_file_means_defaults() {
        assert_eq!(
            sitrep_config::parse::<Config>("").expect("valid"),
            Config::default()
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_with_key_and_line() {
        let text = r#"
colector = "https://x.example"
[schedule]
interval = "15 parsecs"
[spool]
max_items = "many"
max_bytes = "1KiB"
[probes]
servrs = ["10.0.0.1"]
timeout = "5s"
deadline = "1s"
tcp = ["mail.corp.example"]
[privacy]
pseudonymize = ["hostname", "shoe size"]
[extra]
"#;
        expect![[r#"
            line 2: colector: unknown field `colector`, expected one of `collector`, `fingerprint`, `ca_file`, `enrollment_token_file`, `schedule`, `spool`, `probes`, `privacy`
            line 4: schedule.interval: unknown unit "parsecs" in "15 parsecs"; use ms, s, m, h or d
            line 6: spool.max_items: invalid type: string "many", expected u32
            line 7: spool.max_bytes: must be at least 64KiB
            line 9: probes.servrs: unknown field `servrs`, expected one of `ping`, `resolve`, `tcp`, `http`, `timeout`, `deadline`
            line 11: probes.deadline: 1s is shorter than probes.timeout (5s); every probe would be cut off
            line 12: probes.tcp: entry 1: invalid target "mail.corp.example": expected host:port
            line 14: privacy.pseudonymize: unknown variant `shoe size`, expected one of `hostname`, `user`, `mac`, `ip`
            line 15: extra: unknown field `extra`, expected one of `collector`, `fingerprint`, `ca_file`, `enrollment_token_file`, `schedule`, `spool`, `probes`, `privacy`
        "#]]
        .assert_eq(&problems(text));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        expect![[r#"
            line 2: unclosed table, expected `]`
        "#]]
        .assert_eq(&problems(
            "collector = \"https://a.example\"\n[probes\ntimeout = 2s\n",
        ));
    }

    #[test]
    fn cross_key_rules() {
        expect![[r#"
            line 1: collector: invalid target "ftp://a.example": scheme "ftp" is not http or https
            line 2: fingerprint: set either `fingerprint` or `ca_file`, not both
            line 2: fingerprint: expected a SHA-256 fingerprint: 64 hex digits, colons allowed
            line 5: schedule.interval: 4s is too short; the minimum is 5s
        "#]]
        .assert_eq(&problems(
            "collector = \"ftp://a.example\"\nfingerprint = \"abc\"\nca_file = \"/etc/ca.pem\"\n[schedule]\ninterval = \"4s\"\n",
        ));
    }
}
