//! Proxy settings from the environment and /etc/environment, credentials removed.
//!
//! This is the only reader that looks at environment variables, and it copies nothing but the
//! proxy variables below (DESIGN.md, privacy).

use sitrep_snapshot::{Proxy, ProxySetting, Section};

use crate::credentials::strip_credentials;
use crate::linux::read_optional_file;
use crate::{Ctx, ReadError};

const ETC_ENVIRONMENT_PATH: &str = "/etc/environment";
/// Spelled in lower case; the upper-case spelling counts too, as curl and most tools read both.
const PROXY_VARIABLES: [&str; 5] = [
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "all_proxy",
    "no_proxy",
];

/// Gathers the proxy settings of this process's environment and of /etc/environment.
pub fn gather(ctx: &Ctx) -> Section<Proxy> {
    read_proxy(ctx).into()
}

fn read_proxy(ctx: &Ctx) -> Result<Proxy, ReadError> {
    let environment = ctx
        .env
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let mut settings = proxy_settings(environment, "environment");
    if let Some(text) = read_optional_file(ctx, ETC_ENVIRONMENT_PATH)? {
        settings.extend(proxy_settings(
            environment_file_assignments(&text),
            ETC_ENVIRONMENT_PATH,
        ));
    }
    Ok(Proxy { settings })
}

fn is_proxy_variable(name: &str) -> bool {
    PROXY_VARIABLES
        .iter()
        .any(|variable| name == *variable || name == variable.to_ascii_uppercase())
}

/// The non-empty proxy variables among `variables`, credentials removed; every other variable
/// is dropped unseen.
pub fn proxy_settings<'a>(
    variables: impl IntoIterator<Item = (&'a str, &'a str)>,
    source: &str,
) -> Vec<ProxySetting> {
    variables
        .into_iter()
        .filter(|(name, value)| is_proxy_variable(name) && !value.trim().is_empty())
        .map(|(name, value)| ProxySetting {
            name: name.to_owned(),
            value: strip_credentials(value.trim()),
            source: source.to_owned(),
        })
        .collect()
}

/// The `NAME=value` lines of /etc/environment as pam_env reads them: `#` comments, an optional
/// `export ` prefix, and values optionally wrapped in single or double quotes.
pub fn environment_file_assignments(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if line.starts_with('#') {
            return None;
        }
        let (name, value) = line.split_once('=')?;
        let value = value.trim();
        let unquoted = ['"', '\'']
            .into_iter()
            .find_map(|quote| value.strip_prefix(quote)?.strip_suffix(quote))
            .unwrap_or(value);
        Some((name.trim(), unquoted))
    })
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn only_proxy_variables_are_copied() {
        let environment = [
            ("HOME", "/home/alice"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG"),
            (
                "https_proxy",
                "http://alice:hunter2@proxy.corp.example:3128",
            ),
            ("HTTPS_PROXY", "http://proxy.corp.example:3128"),
            ("Http_Proxy", "http://mixed.case.is.not.read:1"),
            ("no_proxy", "localhost,.corp.example"),
            ("ftp_proxy", "  "),
            ("ALL_PROXY", "socks5://proxy.corp.example:1080"),
        ];
        expect![[r#"
            [
                ProxySetting {
                    name: "https_proxy",
                    value: "http://proxy.corp.example:3128",
                    source: "environment",
                },
                ProxySetting {
                    name: "HTTPS_PROXY",
                    value: "http://proxy.corp.example:3128",
                    source: "environment",
                },
                ProxySetting {
                    name: "no_proxy",
                    value: "localhost,.corp.example",
                    source: "environment",
                },
                ProxySetting {
                    name: "ALL_PROXY",
                    value: "socks5://proxy.corp.example:1080",
                    source: "environment",
                },
            ]
        "#]]
        .assert_debug_eq(&proxy_settings(environment, "environment"));
    }

    #[test]
    fn etc_environment() {
        let text = r#"PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games"
# proxy for the office network
http_proxy="http://proxyuser:s3cr3t@proxy.corp.example:3128/"
export https_proxy='http://proxyuser:s3cr3t@proxy.corp.example:3128/'
NO_PROXY=localhost,127.0.0.1,.corp.example
JAVA_HOME=/usr/lib/jvm/default-java
not an assignment
"#;
        expect![[r#"
            [
                ProxySetting {
                    name: "http_proxy",
                    value: "http://proxy.corp.example:3128/",
                    source: "/etc/environment",
                },
                ProxySetting {
                    name: "https_proxy",
                    value: "http://proxy.corp.example:3128/",
                    source: "/etc/environment",
                },
                ProxySetting {
                    name: "NO_PROXY",
                    value: "localhost,127.0.0.1,.corp.example",
                    source: "/etc/environment",
                },
            ]
        "#]]
        .assert_debug_eq(&proxy_settings(
            environment_file_assignments(text),
            ETC_ENVIRONMENT_PATH,
        ));
    }
}
