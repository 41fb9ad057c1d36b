//! The `os` section on Linux: os-release, kernel, hostname, uptime, timezone, pending reboot
//! and logged-in users.

pub mod release;
pub mod sessions;

use std::fs;
use std::io;

use chrono::{DateTime, Utc};
use sitrep_snapshot::{Os, Section, SectionError};

use super::{parse_file, read_optional_file};
use crate::{Ctx, ParseError, ReadError};

use release::{OsRelease, parse_os_release};

const OS_RELEASE_PATHS: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];
const KERNEL_RELEASE_PATH: &str = "/proc/sys/kernel/osrelease";
const REBOOT_REQUIRED_PATH: &str = "/var/run/reboot-required";
const REBOOT_REQUIRED_PKGS_PATH: &str = "/var/run/reboot-required.pkgs";

/// Gathers the `os` section. Only os-release and the kernel release are essential: the section
/// is an error when neither can be read; every other missing file leaves its field empty.
pub fn gather(ctx: &Ctx) -> Section<Os> {
    read_os(ctx).into()
}

fn read_os(ctx: &Ctx) -> Result<Os, SectionError> {
    let (release, kernel) = match (
        read_os_release(ctx),
        read_first_line(ctx, KERNEL_RELEASE_PATH),
    ) {
        (Err(release_error), Err(kernel_error)) => {
            let mut error = SectionError::from(release_error);
            error.message = format!("{}; {kernel_error}", error.message);
            return Err(error);
        }
        (release, kernel) => (
            release
                .inspect_err(|error| tracing::warn!(%error, "os-release unusable"))
                .unwrap_or_default(),
            kernel
                .inspect_err(|error| tracing::warn!(%error, "kernel release unreadable"))
                .ok(),
        ),
    };
    let reboot_required = ctx.path(REBOOT_REQUIRED_PATH).try_exists().unwrap_or(false);
    let reboot_required_by = if reboot_required {
        optional(read_optional_file(ctx, REBOOT_REQUIRED_PKGS_PATH))
            .flatten()
            .map(|text| parse_reboot_required_pkgs(&text))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Os {
        family: "linux".to_owned(),
        // os-release(5): NAME defaults to "Linux" when the file does not say.
        name: release.name.unwrap_or_else(|| "Linux".to_owned()),
        id: release.id,
        version: release.version_id,
        pretty_name: release.pretty_name,
        // The kernel and package versions say how far Linux is patched.
        patch_level: None,
        kernel,
        hostname: read_hostname(ctx),
        arch: std::env::consts::ARCH.to_owned(),
        uptime_seconds: optional(parse_file(ctx, "/proc/uptime", parse_uptime)),
        boot_time: optional(parse_file(ctx, "/proc/stat", parse_boot_time)),
        timezone: read_timezone(ctx),
        reboot_required,
        reboot_required_by,
        users: sessions::logged_in_users(ctx),
    })
}

/// The value of an optional field: a failure is logged and leaves the field empty.
fn optional<T>(result: Result<T, ReadError>) -> Option<T> {
    result
        .inspect_err(|error| tracing::debug!(%error, "optional os field unavailable"))
        .ok()
}

/// /etc/os-release, or /usr/lib/os-release where /etc has none (os-release(5)). When neither
/// exists the error names the first, the file people look for.
fn read_os_release(ctx: &Ctx) -> Result<OsRelease, ReadError> {
    let [preferred, fallback] = OS_RELEASE_PATHS;
    match parse_file(ctx, preferred, parse_os_release) {
        Err(preferred_error) if is_not_found(&preferred_error) => {
            parse_file(ctx, fallback, parse_os_release).map_err(|fallback_error| {
                if is_not_found(&fallback_error) {
                    preferred_error
                } else {
                    fallback_error
                }
            })
        }
        result => result,
    }
}

fn is_not_found(error: &ReadError) -> bool {
    matches!(error, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
}

fn read_first_line(ctx: &Ctx, path: &str) -> Result<String, ReadError> {
    parse_file(ctx, path, |text| {
        first_value_line(text).ok_or_else(|| ParseError::new(1, "file is empty"))
    })
}

/// The kernel's hostname, or /etc/hostname where the kernel has none set yet.
fn read_hostname(ctx: &Ctx) -> Option<String> {
    read_first_line(ctx, "/proc/sys/kernel/hostname")
        .ok()
        .filter(|name| name != "(none)")
        .or_else(|| read_first_line(ctx, "/etc/hostname").ok())
}

/// The /etc/localtime symlink is what glibc and systemd use; Debian's /etc/timezone is a copy
/// that can go stale, so it only stands in where /etc/localtime is not a zoneinfo link.
fn read_timezone(ctx: &Ctx) -> Option<String> {
    fs::read_link(ctx.path("/etc/localtime"))
        .ok()
        .and_then(|target| timezone_from_link_target(&target.to_string_lossy()))
        .or_else(|| read_first_line(ctx, "/etc/timezone").ok())
}

/// The zone name of a /etc/localtime link target such as `../usr/share/zoneinfo/Europe/Berlin`.
pub fn timezone_from_link_target(target: &str) -> Option<String> {
    let (_, zone) = target.split_once("zoneinfo/")?;
    // The posix/ and right/ trees hold the same zones with different leap-second handling.
    let zone = zone
        .strip_prefix("posix/")
        .or_else(|| zone.strip_prefix("right/"))
        .unwrap_or(zone);
    (!zone.is_empty()).then(|| zone.to_owned())
}

/// The first line that is neither blank nor a `#` comment, trimmed.
fn first_value_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
}

/// Seconds since boot from /proc/uptime (`"350735.47 234388.90"`).
pub fn parse_uptime(text: &str) -> Result<u64, ParseError> {
    let field = text
        .split_whitespace()
        .next()
        .ok_or_else(|| ParseError::new(1, "file is empty"))?;
    let seconds: f64 = field
        .parse()
        .map_err(|_| ParseError::new(1, format!("uptime {field:?} is not a number")))?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(ParseError::new(
            1,
            format!("uptime {field:?} is out of range"),
        ));
    }
    // Whole seconds are enough to judge uptime; the range was checked above.
    Ok(seconds as u64)
}

/// The boot time from the `btime` line of /proc/stat.
pub fn parse_boot_time(text: &str) -> Result<DateTime<Utc>, ParseError> {
    let (index, value) = text
        .lines()
        .enumerate()
        .find_map(|(index, line)| Some((index, line.strip_prefix("btime ")?.trim())))
        .ok_or_else(|| ParseError::new(0, "no btime line"))?;
    value
        .parse::<i64>()
        .ok()
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or_else(|| ParseError::new(index + 1, format!("btime {value:?} is not a timestamp")))
}

/// The packages listed in reboot-required.pkgs, each once, in the order they asked.
pub fn parse_reboot_required_pkgs(text: &str) -> Vec<String> {
    let mut packages: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if !packages.iter().any(|known| known == line) {
            packages.push(line.to_owned());
        }
    }
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime() {
        assert_eq!(parse_uptime("350735.47 234388.90\n"), Ok(350735));
        assert_eq!(parse_uptime(""), Err(ParseError::new(1, "file is empty")));
        assert_eq!(
            parse_uptime("up 3 days\n"),
            Err(ParseError::new(1, "uptime \"up\" is not a number"))
        );
        assert_eq!(
            parse_uptime("-1 0"),
            Err(ParseError::new(1, "uptime \"-1\" is out of range"))
        );
    }

    #[test]
    fn boot_time_from_proc_stat() {
        let stat = "cpu  2255 34 2290 22625563 6290 127 456 0 0 0
cpu0 1132 34 1441 11311718 3675 127 438 0 0 0
intr 114930548 113199788 3 0 5 263 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 1990473
btime 1732519212
processes 2915
procs_running 1
procs_blocked 0
softirq 19136458 0 5405036 191 2105384 0 0 218 5264399 0 6361230
";
        assert_eq!(
            parse_boot_time(stat).map(|time| time.to_rfc3339()),
            Ok("2024-11-25T07:20:12+00:00".to_owned())
        );
        assert_eq!(
            parse_boot_time("cpu 1 2 3\n"),
            Err(ParseError::new(0, "no btime line"))
        );
        assert_eq!(
            parse_boot_time("ctxt 1\nbtime soon\n"),
            Err(ParseError::new(2, "btime \"soon\" is not a timestamp"))
        );
    }

    #[test]
    fn timezone_link_targets() {
        let zone = |target| timezone_from_link_target(target);
        assert_eq!(
            zone("/usr/share/zoneinfo/Europe/Berlin").as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(
            zone("../usr/share/zoneinfo/America/New_York").as_deref(),
            Some("America/New_York")
        );
        assert_eq!(
            zone("/usr/share/zoneinfo/posix/Asia/Tokyo").as_deref(),
            Some("Asia/Tokyo")
        );
        assert_eq!(zone("/usr/share/zoneinfo/UTC").as_deref(), Some("UTC"));
        assert_eq!(zone("/etc/static/localtime"), None);
        assert_eq!(zone("/usr/share/zoneinfo/"), None);
    }

    #[test]
    fn reboot_required_packages_are_listed_once() {
        let text = "linux-image-6.8.0-49-generic\nlinux-base\nlinux-image-6.8.0-49-generic\n\n";
        assert_eq!(
            parse_reboot_required_pkgs(text),
            vec![
                "linux-image-6.8.0-49-generic".to_owned(),
                "linux-base".to_owned()
            ]
        );
    }
}
