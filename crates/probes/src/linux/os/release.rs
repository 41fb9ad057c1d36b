//! Parser for os-release(5): the distribution's name, id and version.

use crate::ParseError;

/// The os-release fields the snapshot reports; `None` where the file leaves a field out or empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OsRelease {
    pub name: Option<String>,
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub pretty_name: Option<String>,
}

/// Parses an os-release file: `KEY=value` lines, `#` comments, values quoted and escaped like
/// shell strings (the spec allows single quotes, double quotes and backslash escapes).
pub fn parse_os_release(text: &str) -> Result<OsRelease, ParseError> {
    let mut release = OsRelease::default();
    for (index, line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw_value)) = line.split_once('=') else {
            return Err(ParseError::new(
                line_number,
                format!("expected KEY=value, found {line:?}"),
            ));
        };
        if !is_variable_name(key) {
            return Err(ParseError::new(
                line_number,
                format!("invalid variable name {key:?}"),
            ));
        }
        let value = unquote(raw_value, line_number)?;
        let value = (!value.is_empty()).then_some(value);
        match key {
            "NAME" => release.name = value,
            "ID" => release.id = value,
            "VERSION_ID" => release.version_id = value,
            "PRETTY_NAME" => release.pretty_name = value,
            _ => {}
        }
    }
    Ok(release)
}

fn is_variable_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Undoes shell quoting the way os-release(5) describes it: inside double quotes only `$`, `"`,
/// `\` and `` ` `` are escaped; single quotes are literal; outside quotes a backslash escapes
/// the next character. Quoted and unquoted parts may follow each other, as in a shell.
fn unquote(raw: &str, line_number: usize) -> Result<String, ParseError> {
    let unterminated = || ParseError::new(line_number, format!("unterminated quote in {raw:?}"));
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next().ok_or_else(unterminated)? {
                    '\'' => break,
                    other => value.push(other),
                }
            },
            '"' => loop {
                match chars.next().ok_or_else(unterminated)? {
                    '"' => break,
                    '\\' => match chars.next().ok_or_else(unterminated)? {
                        escaped @ ('$' | '"' | '\\' | '`') => value.push(escaped),
                        other => {
                            value.push('\\');
                            value.push(other);
                        }
                    },
                    other => value.push(other),
                }
            },
            '\\' => value.extend(chars.next()),
            other => value.push(other),
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn debian_12() {
        let text = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"#;
        expect![[r#"
            Ok(
                OsRelease {
                    name: Some(
                        "Debian GNU/Linux",
                    ),
                    id: Some(
                        "debian",
                    ),
                    version_id: Some(
                        "12",
                    ),
                    pretty_name: Some(
                        "Debian GNU/Linux 12 (bookworm)",
                    ),
                },
            )
        "#]]
        .assert_debug_eq(&parse_os_release(text));
    }

    #[test]
    fn ubuntu_24_04() {
        let text = r#"PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=noble
LOGO=ubuntu-logo
"#;
        expect![[r#"
            Ok(
                OsRelease {
                    name: Some(
                        "Ubuntu",
                    ),
                    id: Some(
                        "ubuntu",
                    ),
                    version_id: Some(
                        "24.04",
                    ),
                    pretty_name: Some(
                        "Ubuntu 24.04.1 LTS",
                    ),
                },
            )
        "#]]
        .assert_debug_eq(&parse_os_release(text));
    }

    #[test]
    fn fedora_40() {
        let text = r#"NAME="Fedora Linux"
VERSION="40 (Workstation Edition)"
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PLATFORM_ID="platform:f40"
PRETTY_NAME="Fedora Linux 40 (Workstation Edition)"
ANSI_COLOR="0;38;2;60;110;180"
LOGO=fedora-logo-icon
CPE_NAME="cpe:/o:fedoraproject:fedora:40"
DEFAULT_HOSTNAME="fedora"
HOME_URL="https://fedoraproject.org/"
DOCUMENTATION_URL="https://docs.fedoraproject.org/en-US/fedora/f40/system-administrators-guide/"
SUPPORT_URL="https://ask.fedoraproject.org/"
BUG_REPORT_URL="https://bugzilla.redhat.com/"
REDHAT_BUGZILLA_PRODUCT="Fedora"
REDHAT_BUGZILLA_PRODUCT_VERSION=40
REDHAT_SUPPORT_PRODUCT="Fedora"
REDHAT_SUPPORT_PRODUCT_VERSION=40
SUPPORT_END=2025-05-13
VARIANT="Workstation Edition"
VARIANT_ID=workstation
"#;
        expect![[r#"
            Ok(
                OsRelease {
                    name: Some(
                        "Fedora Linux",
                    ),
                    id: Some(
                        "fedora",
                    ),
                    version_id: Some(
                        "40",
                    ),
                    pretty_name: Some(
                        "Fedora Linux 40 (Workstation Edition)",
                    ),
                },
            )
        "#]]
        .assert_debug_eq(&parse_os_release(text));
    }

    #[test]
    fn quoting_and_escapes_follow_the_spec() {
        let text = concat!(
            "# comment line\n",
            "\n",
            r#"NAME='Single $quoted "name"'"#,
            "\n",
            r#"PRETTY_NAME="Say \"hi\" for \$5 \\ \`x\` \q""#,
            "\n",
            r#"ID=plain\ word"#,
            "\n",
            r#"VERSION_ID="1"'.'2"#,
            "\n",
        );
        let release = parse_os_release(text).expect("valid os-release");
        assert_eq!(release.name.as_deref(), Some(r#"Single $quoted "name""#));
        assert_eq!(
            release.pretty_name.as_deref(),
            Some(r#"Say "hi" for $5 \ `x` \q"#)
        );
        assert_eq!(release.id.as_deref(), Some("plain word"));
        assert_eq!(release.version_id.as_deref(), Some("1.2"));
    }

    #[test]
    fn garbage_names_its_line() {
        expect![[r#"
            Err(
                ParseError {
                    line: 2,
                    message: "expected KEY=value, found \"this is not os-release\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_os_release("ID=debian\nthis is not os-release\n"));
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "unterminated quote in \"\\\"Debian\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_os_release("NAME=\"Debian\n"));
        expect![[r#"
            Err(
                ParseError {
                    line: 1,
                    message: "invalid variable name \"1NAME\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_os_release("1NAME=x\n"));
    }
}
