//! Who is logged in: systemd-logind session files, or the binary utmp where logind is absent.

use std::collections::BTreeSet;
use std::fs;

use crate::{Ctx, ParseError};

const LOGIND_SESSIONS_DIR: &str = "/run/systemd/sessions";
const UTMP_PATH: &str = "/var/run/utmp";

/// glibc's `struct utmp` on x86_64 (and aarch64): 384 bytes, `ut_type` an i32 at offset 0,
/// `ut_user` 32 bytes at offset 44.
const UTMP_RECORD_SIZE: usize = 384;
const UTMP_USER_OFFSET: usize = 44;
const UTMP_USER_SIZE: usize = 32;
/// `ut_type` of a record for a logged-in user.
const USER_PROCESS: i32 = 7;

/// The distinct users with an interactive session, sorted; `None` where neither logind nor
/// utmp can tell.
pub fn logged_in_users(ctx: &Ctx) -> Option<Vec<String>> {
    let users = if ctx.path(LOGIND_SESSIONS_DIR).is_dir() {
        logind_users(ctx)?
    } else {
        utmp_users(ctx)?
    };
    Some(users.into_iter().collect())
}

fn logind_users(ctx: &Ctx) -> Option<BTreeSet<String>> {
    let dir = ctx.path(LOGIND_SESSIONS_DIR);
    let entries = fs::read_dir(&dir)
        .inspect_err(|error| tracing::debug!(dir = %dir.display(), %error, "cannot list sessions"))
        .ok()?;
    let mut users = BTreeSet::new();
    for entry in entries.flatten() {
        // Each session also has a `<id>.ref` FIFO beside its file; opening one would block.
        if !entry.file_type().is_ok_and(|kind| kind.is_file()) {
            continue;
        }
        let path = entry.path();
        // A session that ends between listing and reading is simply gone.
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        match parse_logind_session(&text) {
            Ok(user) => users.extend(user),
            Err(error) => tracing::debug!(path = %path.display(), %error, "skipping session file"),
        }
    }
    Some(users)
}

fn utmp_users(ctx: &Ctx) -> Option<BTreeSet<String>> {
    let path = ctx.path(UTMP_PATH);
    let bytes = fs::read(&path).ok()?;
    parse_utmp(&bytes)
        .inspect_err(|error| tracing::debug!(path = %path.display(), %error, "cannot parse utmp"))
        .ok()
        .map(|users| users.into_iter().collect())
}

/// The user of a logind session file when it is an interactive session that is not closing.
///
/// Greeter, lock-screen, background and manager sessions (`CLASS=`) are not people at the
/// machine, so they do not count.
pub fn parse_logind_session(text: &str) -> Result<Option<String>, ParseError> {
    let mut user = None;
    let mut class = None;
    let mut state = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ParseError::new(
                index + 1,
                format!("expected KEY=value, found {line:?}"),
            ));
        };
        match key {
            "USER" => user = Some(value),
            "CLASS" => class = Some(value),
            "STATE" => state = Some(value),
            _ => {}
        }
    }
    let user = user.ok_or_else(|| ParseError::new(0, "session without USER="))?;
    let interactive = matches!(class, Some("user" | "user-early"));
    let alive = state != Some("closing");
    Ok((interactive && alive).then(|| user.to_owned()))
}

/// The user names of the `USER_PROCESS` records of a utmp file, in file order.
pub fn parse_utmp(bytes: &[u8]) -> Result<Vec<String>, ParseError> {
    if !bytes.len().is_multiple_of(UTMP_RECORD_SIZE) {
        return Err(ParseError::new(
            0,
            format!(
                "{} bytes is not a whole number of {UTMP_RECORD_SIZE}-byte utmp records",
                bytes.len()
            ),
        ));
    }
    let users = bytes
        .chunks_exact(UTMP_RECORD_SIZE)
        .filter(|record| record_type(record) == Some(USER_PROCESS))
        .filter_map(|record| {
            let field = record.get(UTMP_USER_OFFSET..UTMP_USER_OFFSET + UTMP_USER_SIZE)?;
            let name = field.split(|&byte| byte == 0).next().unwrap_or_default();
            (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
        })
        .collect();
    Ok(users)
}

fn record_type(record: &[u8]) -> Option<i32> {
    let bytes: [u8; 4] = record.get(..4)?.try_into().ok()?;
    Some(i32::from_ne_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    const DEAD_PROCESS: i32 = 8;
    const LOGIN_PROCESS: i32 = 6;

    fn utmp_record(kind: i32, user: &str) -> Vec<u8> {
        let mut record = vec![0u8; UTMP_RECORD_SIZE];
        record[..4].copy_from_slice(&kind.to_ne_bytes());
        record[UTMP_USER_OFFSET..UTMP_USER_OFFSET + user.len()].copy_from_slice(user.as_bytes());
        record
    }

    #[test]
    fn utmp_lists_user_process_records_only() {
        let bytes = [
            utmp_record(2, "reboot"),
            utmp_record(LOGIN_PROCESS, "LOGIN"),
            utmp_record(USER_PROCESS, "alice"),
            utmp_record(USER_PROCESS, "bob"),
            utmp_record(DEAD_PROCESS, "carol"),
            utmp_record(USER_PROCESS, "alice"),
            utmp_record(USER_PROCESS, "a-name-that-fills-all-32-bytes!!"),
        ]
        .concat();
        expect![[r#"
            Ok(
                [
                    "alice",
                    "bob",
                    "alice",
                    "a-name-that-fills-all-32-bytes!!",
                ],
            )
        "#]]
        .assert_debug_eq(&parse_utmp(&bytes));
    }

    #[test]
    fn utmp_of_another_layout_is_refused() {
        let mut bytes = utmp_record(USER_PROCESS, "alice");
        bytes.truncate(292);
        expect![[r#"
            Err(
                ParseError {
                    line: 0,
                    message: "292 bytes is not a whole number of 384-byte utmp records",
                },
            )
        "#]]
        .assert_debug_eq(&parse_utmp(&bytes));
        assert_eq!(parse_utmp(&[]), Ok(vec![]));
    }

    const GNOME_SESSION: &str = "# This is private data. Do not parse.
UID=1000
USER=alice
ACTIVE=1
IS_DISPLAY=1
STATE=active
REMOTE=0
TYPE=wayland
ORIGINAL_TYPE=wayland
CLASS=user
SCOPE=session-2.scope
FIFO=/run/systemd/sessions/2.ref
SEAT=seat0
TTY=tty2
TTY_VALIDITY=from-pam
VTNR=2
SERVICE=gdm-password
LEADER=1735
AUDIT=2
DESKTOP=ubuntu
REALTIME=1732519241573310
MONOTONIC=17318245
CONTROLLERS=
";

    const GREETER_SESSION: &str = "# This is private data. Do not parse.
UID=120
USER=gdm
ACTIVE=0
IS_DISPLAY=0
STATE=closing
REMOTE=0
TYPE=wayland
ORIGINAL_TYPE=wayland
CLASS=greeter
SCOPE=session-c1.scope
FIFO=/run/systemd/sessions/c1.ref
SEAT=seat0
TTY=tty1
VTNR=1
SERVICE=gdm-launch-environment
LEADER=1180
AUDIT=1
DESKTOP=ubuntu
REALTIME=1732519230211781
MONOTONIC=5956711
";

    const SSH_SESSION: &str = "# This is private data. Do not parse.
UID=1001
USER=bob
ACTIVE=1
IS_DISPLAY=0
STATE=active
REMOTE=1
TYPE=tty
ORIGINAL_TYPE=tty
CLASS=user
SCOPE=session-7.scope
FIFO=/run/systemd/sessions/7.ref
REMOTE_HOST=192.0.2.15
SERVICE=sshd
LEADER=4211
AUDIT=7
REALTIME=1732522907391871
MONOTONIC=3683973512
";

    #[test]
    fn logind_sessions() {
        assert_eq!(
            parse_logind_session(GNOME_SESSION),
            Ok(Some("alice".to_owned()))
        );
        assert_eq!(
            parse_logind_session(SSH_SESSION),
            Ok(Some("bob".to_owned()))
        );
        assert_eq!(parse_logind_session(GREETER_SESSION), Ok(None));
        let closing = GNOME_SESSION.replace("STATE=active", "STATE=closing");
        assert_eq!(parse_logind_session(&closing), Ok(None));
        let background = SSH_SESSION.replace("CLASS=user", "CLASS=background");
        assert_eq!(parse_logind_session(&background), Ok(None));
    }

    #[test]
    fn logind_session_without_user_is_an_error() {
        expect![[r#"
            Err(
                ParseError {
                    line: 0,
                    message: "session without USER=",
                },
            )
        "#]]
        .assert_debug_eq(&parse_logind_session("CLASS=user\nSTATE=active\n"));
        expect![[r#"
            Err(
                ParseError {
                    line: 2,
                    message: "expected KEY=value, found \"garbage\"",
                },
            )
        "#]]
        .assert_debug_eq(&parse_logind_session("USER=x\ngarbage\n"));
    }
}
