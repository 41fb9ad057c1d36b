//! The Debian packages of the agent and the collector (cargo-deb metadata, installers/linux/):
//! built in release, checked with lintian, installed on this machine with `dpkg -i` (with
//! enrollment from the environment), their files, users, permissions and units checked, the
//! installed binaries run once, upgraded over themselves keeping changed configs, then removed
//! and purged leaving no state, token or user behind.
//!
//! Runs as root only (it installs packages); PID 1 need not be systemd, the units are checked
//! with `systemd-analyze verify`. Nothing here sends network traffic: the agent runs with
//! `--no-probes` and the services are never started. A guard purges both packages however the
//! test ends.

use std::error::Error;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// Both release builds from scratch take about three minutes on this 2-core machine.
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);
const TOOL_TIMEOUT: Duration = Duration::from_secs(120);

const ENROLLMENT_TOKEN: &str = "se_packagetest0123456789";
/// Loopback only: the collector is written into the config, never contacted.
const COLLECTOR_URL: &str = "https://127.0.0.1:8443";
const FINGERPRINT: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const TOKEN_FILE: &str = "/etc/sitrep/enrollment.token";

/// One package and what it installs.
struct Package {
    name: &'static str,
    binary: &'static str,
    user: &'static str,
    unit: &'static str,
    config: &'static str,
    state_dir: &'static str,
}

const AGENT: Package = Package {
    name: "sitrep-agent",
    binary: "/usr/bin/sitrep",
    user: "sitrep",
    unit: "/lib/systemd/system/sitrep-agent.service",
    config: "/etc/sitrep/agent.toml",
    state_dir: "/var/lib/sitrep",
};

const COLLECTOR: Package = Package {
    name: "sitrep-collector",
    binary: "/usr/bin/sitrep-collector",
    user: "sitrep-collector",
    unit: "/lib/systemd/system/sitrep-collector.service",
    config: "/etc/sitrep/collector.toml",
    state_dir: "/var/lib/sitrep-collector",
};

const PACKAGES: [&Package; 2] = [&AGENT, &COLLECTOR];

/// What a finished command printed.
struct Output {
    status_ok: bool,
    /// The exit code, when the command exited (not killed by a signal).
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `command` with stdin closed, killing it after `timeout`; output goes through files so
/// a chatty command cannot block on a full pipe while we wait.
fn run_bounded(command: &mut Command, timeout: Duration) -> TestResult<Output> {
    let described = format!("{command:?}");
    let capture = tempfile::tempdir()?;
    let stdout_path = capture.path().join("stdout");
    let stderr_path = capture.path().join("stderr");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(&stdout_path)?)
        .stderr(fs::File::create(&stderr_path)?)
        .spawn()
        .map_err(|error| format!("cannot start {described}: {error}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            return Err(format!(
                "{described} did not finish in {timeout:?}:\n{}",
                fs::read_to_string(&stderr_path)?
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Ok(Output {
        status_ok: status.success(),
        code: status.code(),
        stdout: fs::read_to_string(&stdout_path)?,
        stderr: fs::read_to_string(&stderr_path)?,
    })
}

/// Runs `command` and fails with its output unless it succeeds; returns its stdout.
fn run_ok(command: &mut Command, timeout: Duration) -> TestResult<String> {
    let described = format!("{command:?}");
    let output = run_bounded(command, timeout)?;
    if !output.status_ok {
        return Err(format!("{described} failed:\n{}\n{}", output.stdout, output.stderr).into());
    }
    Ok(output.stdout)
}

fn is_installed(package: &str) -> TestResult<bool> {
    let output = run_bounded(
        Command::new("dpkg-query").args(["-W", "-f=${db:Status-Status}", package]),
        TOOL_TIMEOUT,
    )?;
    Ok(output.status_ok
        && !output.stdout.trim().is_empty()
        && output.stdout.trim() != "not-installed")
}

fn dpkg_status(package: &str) -> TestResult<String> {
    let output = run_bounded(
        Command::new("dpkg-query").args(["-W", "-f=${Status}", package]),
        TOOL_TIMEOUT,
    )?;
    Ok(if output.status_ok {
        output.stdout.trim().to_owned()
    } else {
        "unknown".to_owned()
    })
}

/// The uid and gid of a system user, or None when it does not exist.
fn user_ids(user: &str) -> TestResult<Option<(u32, u32, String, String)>> {
    let output = run_bounded(Command::new("getent").args(["passwd", user]), TOOL_TIMEOUT)?;
    if !output.status_ok {
        return Ok(None);
    }
    let fields: Vec<&str> = output.stdout.trim().split(':').collect();
    let [_, _, uid, gid, _, home, shell] = fields[..] else {
        return Err(format!("getent passwd {user} printed {:?}", output.stdout).into());
    };
    Ok(Some((
        uid.parse()?,
        gid.parse()?,
        home.to_owned(),
        shell.to_owned(),
    )))
}

fn group_exists(group: &str) -> TestResult<bool> {
    Ok(run_bounded(Command::new("getent").args(["group", group]), TOOL_TIMEOUT)?.status_ok)
}

/// Purges both packages when the test ends, also when it fails half-way.
struct PurgeGuard;

impl Drop for PurgeGuard {
    fn drop(&mut self) {
        let purged = run_bounded(
            Command::new("dpkg").args(["--purge", AGENT.name, COLLECTOR.name]),
            TOOL_TIMEOUT,
        );
        match purged {
            Ok(output) if output.status_ok => {}
            Ok(output) => eprintln!("cleanup: dpkg --purge failed:\n{}", output.stderr),
            Err(error) => eprintln!("cleanup: dpkg --purge: {error}"),
        }
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the package with cargo-deb (release; cargo reuses target/release when fresh).
fn build_deb(package: &Package, out_dir: &Path) -> TestResult<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let stdout = run_ok(
        Command::new(cargo)
            .current_dir(workspace_root())
            .args(["deb", "--locked", "-p", package.name, "-o"])
            .arg(out_dir),
        BUILD_TIMEOUT,
    )?;
    let deb = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.ends_with(".deb"))
        .map(PathBuf::from)
        .ok_or_else(|| format!("cargo deb -p {} named no .deb:\n{stdout}", package.name))?;
    eprintln!("built {} in {:.1?}", deb.display(), started.elapsed());
    Ok(deb)
}

/// Lintian must report no error; warnings are printed for the reader.
fn lintian_has_no_errors(deb: &Path) -> TestResult {
    let started = Instant::now();
    let output = run_bounded(
        Command::new("lintian")
            .args(["--info", "--display-info"])
            .arg(deb),
        TOOL_TIMEOUT,
    )?;
    let findings: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| !line.starts_with("N:") && !line.trim().is_empty())
        .collect();
    eprintln!(
        "lintian {} ({:.1?}):\n{}",
        deb.display(),
        started.elapsed(),
        findings.join("\n")
    );
    let errors: Vec<&&str> = findings
        .iter()
        .filter(|line| line.starts_with("E:"))
        .collect();
    if !errors.is_empty() || !output.status_ok {
        return Err(format!(
            "lintian found errors in {}:\n{}\n{}",
            deb.display(),
            findings.join("\n"),
            output.stderr
        )
        .into());
    }
    Ok(())
}

/// `dpkg -i`, with the enrollment variables only when given.
fn dpkg_install(debs: &[&Path], enrollment: bool) -> TestResult {
    let mut command = Command::new("dpkg");
    command
        .env("DEBIAN_FRONTEND", "noninteractive")
        .arg("-i")
        .args(debs);
    if enrollment {
        command
            .env("SITREP_ENROLLMENT_TOKEN", ENROLLMENT_TOKEN)
            .env("SITREP_COLLECTOR", COLLECTOR_URL)
            .env("SITREP_FINGERPRINT", FINGERPRINT);
    }
    run_ok(&mut command, TOOL_TIMEOUT)?;
    Ok(())
}

fn mode_and_owner(path: &str) -> TestResult<(u32, u32, u32)> {
    let metadata = fs::metadata(path).map_err(|error| format!("{path}: {error}"))?;
    Ok((metadata.mode() & 0o7777, metadata.uid(), metadata.gid()))
}

/// Files, conffiles, the user, permissions and the unit of one installed package.
fn check_installed(package: &Package) -> TestResult {
    for path in [
        package.binary,
        package.unit,
        package.config,
        &format!("/usr/share/doc/{}/copyright", package.name),
        &format!("/usr/share/doc/{}/changelog.Debian.gz", package.name),
    ] {
        assert!(
            Path::new(path).is_file(),
            "{} installs {path}",
            package.name
        );
    }
    let conffiles = run_ok(
        Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", package.name]),
        TOOL_TIMEOUT,
    )?;
    assert!(
        conffiles.contains(package.config),
        "{} marks {} as a conffile: {conffiles}",
        package.name,
        package.config
    );

    let (uid, gid, home, shell) = user_ids(package.user)?
        .ok_or_else(|| format!("{} made no user {}", package.name, package.user))?;
    assert!(uid < 1000, "{} is a system user (uid {uid})", package.user);
    assert_eq!(home, package.state_dir, "{}'s home", package.user);
    assert!(
        shell.ends_with("nologin") || shell.ends_with("false"),
        "{} has no login shell: {shell}",
        package.user
    );
    assert!(
        group_exists(package.user)?,
        "{} has its own group",
        package.user
    );

    assert_eq!(
        mode_and_owner(package.config)?,
        (0o640, 0, gid),
        "{} is 0640 root:{}",
        package.config,
        package.user
    );
    assert_eq!(
        mode_and_owner(package.state_dir)?,
        (0o750, uid, gid),
        "{} is 0750 {}:{}",
        package.state_dir,
        package.user,
        package.user
    );
    assert_eq!(
        mode_and_owner(package.binary)?.0,
        0o755,
        "{} is 0755",
        package.binary
    );

    let started = Instant::now();
    let verify = run_bounded(
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(package.unit),
        TOOL_TIMEOUT,
    )?;
    assert!(
        verify.status_ok
            && !verify
                .stderr
                .contains(package.unit.rsplit('/').next().unwrap_or(package.unit)),
        "systemd-analyze verify {}:\n{}{}",
        package.unit,
        verify.stdout,
        verify.stderr
    );
    eprintln!(
        "systemd-analyze verify {} ({:.1?}): clean",
        package.unit,
        started.elapsed()
    );

    let version = run_ok(Command::new(package.binary).arg("--version"), TOOL_TIMEOUT)?;
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "{} --version prints the workspace version: {version}",
        package.binary
    );
    Ok(())
}

/// Runs an installed command as the agent's service user, as the unit would.
fn as_agent_user(args: &[&str]) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid",
            AGENT.user,
            "--regid",
            AGENT.user,
            "--init-groups",
            "--",
        ])
        .arg(AGENT.binary)
        .args(args)
        .current_dir("/");
    command
}

/// Enrollment from the environment: the token file and the three config keys, and a config
/// the agent accepts.
fn check_enrollment() -> TestResult {
    let (uid, gid, _, _) = user_ids(AGENT.user)?.ok_or("no sitrep user")?;
    assert_eq!(
        mode_and_owner(TOKEN_FILE)?,
        (0o600, uid, gid),
        "{TOKEN_FILE} is 0600 sitrep:sitrep"
    );
    assert_eq!(fs::read_to_string(TOKEN_FILE)?.trim(), ENROLLMENT_TOKEN);
    let config = fs::read_to_string(AGENT.config)?;
    for line in [
        format!("collector = \"{COLLECTOR_URL}\""),
        format!("fingerprint = \"{FINGERPRINT}\""),
        format!("enrollment_token_file = \"{TOKEN_FILE}\""),
    ] {
        assert!(
            config.lines().any(|l| l == line),
            "{} has `{line}`:\n{config}",
            AGENT.config
        );
    }
    run_ok(
        &mut as_agent_user(&["--config", AGENT.config, "config", "check"]),
        TOOL_TIMEOUT,
    )?;
    Ok(())
}

/// `sitrep report --no-probes --json` once, as the service user: no traffic at all.
fn check_report_runs() -> TestResult {
    let started = Instant::now();
    let output = run_bounded(
        &mut as_agent_user(&["report", "--no-probes", "--json"]),
        TOOL_TIMEOUT,
    )?;
    // 0, 1 or 2 is the verdict on this machine (pass, warn, fail: a nearly full disk here
    // warns); anything else is the report failing.
    if !matches!(output.code, Some(0..=2)) {
        return Err(format!(
            "sitrep report exited with {:?}:\n{}",
            output.code, output.stderr
        )
        .into());
    }
    let report = output.stdout;
    let snapshot: serde_json::Value = serde_json::from_str(&report)
        .map_err(|error| format!("report is not JSON ({error}):\n{report}"))?;
    assert!(
        snapshot["schema_version"].is_u64(),
        "the report is a snapshot: {report}"
    );
    eprintln!(
        "installed sitrep report --no-probes --json: {:.1?}",
        started.elapsed()
    );
    Ok(())
}

#[test]
fn agent_and_collector_debs_install_upgrade_and_purge() -> TestResult {
    if !rustix::process::geteuid().is_root() {
        eprintln!(
            "skipped: agent_and_collector_debs_install_upgrade_and_purge: installing packages needs root"
        );
        return Ok(());
    }
    for package in PACKAGES {
        if is_installed(package.name)? {
            return Err(format!(
                "{} is already installed; this test installs and purges it, so remove it first (dpkg -P {})",
                package.name, package.name
            )
            .into());
        }
        if user_ids(package.user)?.is_some() {
            return Err(format!(
                "user {} exists already; the purge would delete it",
                package.user
            )
            .into());
        }
    }
    let total = Instant::now();
    let out_dir = tempfile::tempdir()?;
    let agent_deb = build_deb(&AGENT, out_dir.path())?;
    let collector_deb = build_deb(&COLLECTOR, out_dir.path())?;
    lintian_has_no_errors(&agent_deb)?;
    lintian_has_no_errors(&collector_deb)?;

    let _purge = PurgeGuard;
    let started = Instant::now();
    dpkg_install(&[&agent_deb, &collector_deb], true)?;
    eprintln!("dpkg -i both: {:.1?}", started.elapsed());
    for package in PACKAGES {
        check_installed(package)?;
    }
    check_enrollment()?;
    check_report_runs()?;

    // Upgrade over itself: dpkg keeps conffiles changed here (and by postinst) without asking.
    let agent_change = "\n[schedule]\ninterval = \"7m\"\n";
    let collector_change = "\n# changed by the administrator\n[retention]\ninterval = \"2h\"\n";
    let changed_agent = fs::read_to_string(AGENT.config)? + agent_change;
    let changed_collector = fs::read_to_string(COLLECTOR.config)? + collector_change;
    fs::write(AGENT.config, &changed_agent)?;
    fs::write(COLLECTOR.config, &changed_collector)?;
    let started = Instant::now();
    dpkg_install(&[&agent_deb, &collector_deb], false)?;
    eprintln!("dpkg -i over itself: {:.1?}", started.elapsed());
    assert_eq!(
        fs::read_to_string(AGENT.config)?,
        changed_agent,
        "the upgrade keeps the changed agent config"
    );
    assert_eq!(
        fs::read_to_string(COLLECTOR.config)?,
        changed_collector,
        "the upgrade keeps the changed collector config"
    );
    for leftover in [
        "/etc/sitrep/agent.toml.dpkg-dist",
        "/etc/sitrep/collector.toml.dpkg-dist",
    ] {
        assert!(
            !Path::new(leftover).exists(),
            "no {leftover} after an upgrade to the same conffile"
        );
    }
    for package in PACKAGES {
        check_installed(package)?;
    }
    check_enrollment()?;

    let started = Instant::now();
    run_ok(
        Command::new("dpkg").args(["-r", AGENT.name, COLLECTOR.name]),
        TOOL_TIMEOUT,
    )?;
    eprintln!("dpkg -r both: {:.1?}", started.elapsed());
    for package in PACKAGES {
        assert_eq!(
            dpkg_status(package.name)?,
            "deinstall ok config-files",
            "{} after dpkg -r",
            package.name
        );
        assert!(
            !Path::new(package.binary).exists(),
            "dpkg -r removes {}",
            package.binary
        );
        assert!(
            !Path::new(package.unit).exists(),
            "dpkg -r removes {}",
            package.unit
        );
        assert!(
            Path::new(package.config).is_file(),
            "dpkg -r keeps the conffile {}",
            package.config
        );
    }

    let started = Instant::now();
    run_ok(
        Command::new("dpkg").args(["-P", AGENT.name, COLLECTOR.name]),
        TOOL_TIMEOUT,
    )?;
    eprintln!("dpkg -P both: {:.1?}", started.elapsed());
    for package in PACKAGES {
        assert!(
            !is_installed(package.name)?,
            "{} is gone after dpkg -P",
            package.name
        );
        for path in [package.config, package.state_dir] {
            assert!(!Path::new(path).exists(), "dpkg -P removes {path}");
        }
        assert!(
            user_ids(package.user)?.is_none(),
            "dpkg -P removes the user {}",
            package.user
        );
        assert!(
            !group_exists(package.user)?,
            "dpkg -P removes the group {}",
            package.user
        );
    }
    assert!(
        !Path::new(TOKEN_FILE).exists(),
        "dpkg -P removes {TOKEN_FILE}"
    );
    assert!(
        !Path::new("/etc/sitrep").exists(),
        "dpkg -P leaves no empty /etc/sitrep"
    );
    eprintln!("packages_deb: {:.1?} in all", total.elapsed());
    Ok(())
}
