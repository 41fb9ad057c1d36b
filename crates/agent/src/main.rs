//! `sitrep`: the agent's command line. Parses arguments, loads config, and maps outcomes to the
//! documented exit codes.

mod backoff;
mod cli;
mod collector;
mod config;
mod daemon;
mod enroll;
mod gather;
mod identity;
mod outbox;
mod pin;
mod pseudonym;
mod redact;
mod send;
mod spool;
mod state;
mod status;
#[cfg(test)]
mod test_collector;
#[cfg(test)]
mod test_snapshot;
#[cfg(windows)]
mod windows_service;

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sitrep_probes::Ctx;
use sitrep_probes::active::{ProbeSettings, TargetList};
use sitrep_snapshot::{Severity, Trigger};

use crate::cli::{Cli, Command, ConfigAction, ReportArgs, SectionName, SpoolAction};
use crate::collector::CollectorError;
use crate::config::{Config, ConfigError};
use crate::gather::{ProbeRequest, SnapshotRequest, take_snapshot};
use crate::identity::{Identity, IdentityError};
use crate::state::StateDir;

/// Bad arguments or config: the user can fix it.
const EXIT_USAGE: u8 = 3;
/// Anything else that stopped the command.
const EXIT_RUNTIME: u8 = 4;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging();
    // Both ring and aws-lc-rs can end up in the graph; rustls then needs to be told which to use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sitrep: {error:#}");
            let usage = error.chain().any(is_usage_error);
            ExitCode::from(if usage { EXIT_USAGE } else { EXIT_RUNTIME })
        }
    }
}

/// Mistakes the user fixes by changing the command, the config or by enrolling, as opposed to
/// failures of the machine or the network.
fn is_usage_error(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause.is::<ConfigError>()
        || cause.is::<UsageError>()
        || cause.is::<config::EnrollmentTokenError>()
        || matches!(
            cause.downcast_ref::<IdentityError>(),
            Some(IdentityError::NotEnrolled { .. } | IdentityError::Damaged { .. })
        )
        || cause
            .downcast_ref::<CollectorError>()
            .is_some_and(CollectorError::is_usage)
}

/// A mistake in the command line that clap cannot see (e.g. a malformed `--target`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&sitrep_snapshot::json_schema())?;
            writeln!(std::io::stdout().lock(), "{schema}").context("cannot write the schema")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config {
            action: ConfigAction::Check,
        } => {
            let (config, path) = Config::load(cli.config.as_deref())?;
            let source = path.map_or_else(
                || "built-in defaults (no config file)".to_string(),
                |p| p.display().to_string(),
            );
            let mut out = std::io::stdout().lock();
            writeln!(out, "config OK: {source}")?;
            writeln!(
                out,
                "collector: {}",
                config.collector.as_deref().unwrap_or("(not enrolled)")
            )?;
            let state = StateDir::new(cli.state_dir.as_deref());
            writeln!(out, "state dir: {}", state.path().display())?;
            writeln!(
                out,
                "schedule: every {}; probes: timeout {}, deadline {}",
                config.schedule.interval, config.probes.timeout, config.probes.deadline
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            let (config, _) = Config::load(cli.config.as_deref())?;
            report(&config, &StateDir::new(cli.state_dir.as_deref()), &args)
        }
        Command::Enroll(args) => {
            let (config, _) = Config::load(cli.config.as_deref())?;
            enroll::enroll(&config, &StateDir::new(cli.state_dir.as_deref()), &args)
        }
        Command::Send(args) => {
            let (config, path) = Config::load(cli.config.as_deref())?;
            let state = StateDir::new(cli.state_dir.as_deref());
            send::send(&config, path.as_deref(), &state, &args)
        }
        Command::Help(args) => {
            let (config, _) = Config::load(cli.config.as_deref())?;
            send::help(&config, &StateDir::new(cli.state_dir.as_deref()), &args)
        }
        Command::Daemon(args) => {
            let (config, path) = Config::load(cli.config.as_deref())?;
            let state = StateDir::new(cli.state_dir.as_deref());
            if args.service {
                run_service(config, path, &state)
            } else {
                daemon::run(config, path, &state, None)
            }
        }
        Command::Status(args) => {
            let (config, _) = Config::load(cli.config.as_deref())?;
            status::status(&config, &StateDir::new(cli.state_dir.as_deref()), args.json)
        }
        Command::Spool { action } => {
            let (config, path) = Config::load(cli.config.as_deref())?;
            let state = StateDir::new(cli.state_dir.as_deref());
            match action {
                SpoolAction::List => status::spool_list(&config, &state),
                SpoolAction::Flush => status::spool_flush(&config, path.as_deref(), &state),
            }
        }
    }
}

/// `sitrep daemon --service`: the daemon under the Windows service control manager.
#[cfg(windows)]
fn run_service(
    config: Config,
    path: Option<std::path::PathBuf>,
    state: &StateDir,
) -> anyhow::Result<ExitCode> {
    windows_service::run(config, path, state)
}

#[cfg(not(windows))]
fn run_service(
    _config: Config,
    _path: Option<std::path::PathBuf>,
    _state: &StateDir,
) -> anyhow::Result<ExitCode> {
    Err(UsageError(
        "--service is for the Windows service control manager; elsewhere run `sitrep daemon` \
         under systemd or launchd"
            .to_owned(),
    )
    .into())
}

/// What a command asks of a snapshot besides the config: `report`, `send` and `help` differ
/// only in these.
struct SnapshotOptions<'a> {
    trigger: Trigger,
    no_probes: bool,
    sections: &'a [SectionName],
    targets: &'a [String],
}

/// The config's probe targets and settings plus the command line's; `collector` is probed too.
fn snapshot_request(
    config: &Config,
    collector: Option<String>,
    options: &SnapshotOptions<'_>,
) -> Result<SnapshotRequest, UsageError> {
    let mut requested = TargetList::default();
    for target in options.targets {
        requested
            .push_any(target)
            .map_err(|error| UsageError(format!("--target {target}: {error}")))?;
    }
    let probes = (!options.no_probes).then(|| ProbeRequest {
        collector,
        configured: config.probe_targets(),
        requested,
        settings: ProbeSettings {
            timeout: config.probes.timeout.0,
            ..ProbeSettings::default()
        },
    });
    Ok(SnapshotRequest {
        trigger: options.trigger,
        sections: options.sections.to_vec(),
        probes,
        deadline: config.probes.deadline.0,
    })
}

/// The collector this agent reports to: the enrolled one, else the config's. An identity this
/// account cannot read (the state dir belongs to the service) only means it is not probed.
fn probed_collector(config: &Config, state: &StateDir) -> Option<String> {
    Identity::load(state)
        .ok()
        .map(|identity| identity.collector)
        .or_else(|| config.collector.clone())
}

/// Runs `future` to completion on a single-threaded runtime.
fn block_on<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let output = runtime.block_on(future);
    // A reader stuck in the kernel (a hung network mount) must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(output)
}

fn report(config: &Config, state: &StateDir, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let request = snapshot_request(
        config,
        probed_collector(config, state),
        &SnapshotOptions {
            trigger: Trigger::Manual,
            no_probes: args.no_probes,
            sections: &args.sections,
            targets: &args.targets,
        },
    )?;
    let snapshot = block_on(take_snapshot(Ctx::host(), &request))?;

    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &snapshot).context("cannot write the report")?;
        writeln!(out).context("cannot write the report")?;
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        out.write_all(sitrep_report::text(&snapshot, sitrep_report::Style { color }).as_bytes())
            .context("cannot write the report")?;
    }
    out.flush().context("cannot write the report")?;
    Ok(ExitCode::from(match snapshot.worst_severity() {
        Severity::Pass => 0,
        Severity::Warn => 1,
        Severity::Fail => 2,
    }))
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SITREP_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
