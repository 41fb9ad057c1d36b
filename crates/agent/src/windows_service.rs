//! `sitrep daemon --service`: the daemon under the Windows service control manager. The SCM
//! starts the process, which hands its main thread to the dispatcher; the dispatcher calls
//! [`service_main`] on a thread of its own, where the daemon runs until Stop or Shutdown.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;
use windows_service::service::{
    ServiceControl, ServiceControlAccept, ServiceExitCode, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{
    self, ServiceControlHandlerResult, ServiceStatusHandle,
};
use windows_service::{define_windows_service, service_dispatcher};

use crate::config::Config;
use crate::daemon;
use crate::state::StateDir;

/// The name the installer registers the service under (`sc create sitrep ...`).
pub const SERVICE_NAME: &str = "sitrep";
/// Told to the SCM while stopping: the daemon finishes the check in hand (the probe deadline
/// and a grace period) before it exits.
const STOP_WAIT_HINT: Duration = Duration::from_secs(30);

/// What `main` parsed, for the service thread: the dispatcher passes only the SCM's own
/// arguments.
struct Launch {
    config: Config,
    config_path: Option<PathBuf>,
    state: StateDir,
}

static LAUNCH: OnceLock<Launch> = OnceLock::new();
/// For the control handler, which is registered before its handle exists.
static STATUS: OnceLock<ServiceStatusHandle> = OnceLock::new();

// The entry point the SCM calls, an `extern "system"` function.
define_windows_service!(ffi_service_main, service_main);

/// Runs the daemon as the service `sitrep`; returns when the SCM has stopped it. Fails at once
/// when the process was not started by the SCM (the dispatcher cannot connect).
pub fn run(
    config: Config,
    config_path: Option<PathBuf>,
    state: &StateDir,
) -> anyhow::Result<ExitCode> {
    let launch = Launch {
        config,
        config_path,
        state: state.clone(),
    };
    if LAUNCH.set(launch).is_err() {
        anyhow::bail!("the service was started twice in one process");
    }
    service_dispatcher::start(SERVICE_NAME, ffi_service_main).context(
        "cannot connect to the service control manager (is this process started as a service?)",
    )?;
    Ok(ExitCode::SUCCESS)
}

fn service_main(_arguments: Vec<OsString>) {
    if let Err(error) = run_service() {
        tracing::error!(error = format!("{error:#}"), "the service failed");
    }
}

fn run_service() -> anyhow::Result<()> {
    let launch = LAUNCH
        .get()
        .context("the service started without its settings")?;
    let stop = Arc::new(Notify::new());
    let stop_request = Arc::clone(&stop);
    let status = service_control_handler::register(SERVICE_NAME, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            if let Some(status) = STATUS.get() {
                report(*status, ServiceState::StopPending, 0);
            }
            // A permit is kept if the daemon is not waiting yet, so an early stop is not lost.
            stop_request.notify_one();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })
    .context("cannot register the service control handler")?;
    let _ = STATUS.set(status);
    report(status, ServiceState::Running, 0);
    let outcome = daemon::run(
        launch.config.clone(),
        launch.config_path.clone(),
        &launch.state,
        Some(stop),
    );
    // 1 (a generic failure) is what the SCM shows as "the service terminated with an error";
    // the log says which.
    report(status, ServiceState::Stopped, u32::from(outcome.is_err()));
    outcome.map(|_| ())
}

/// Tells the SCM the service's state; a failure is only logged (the SCM then shows the last
/// state it was told).
fn report(status: ServiceStatusHandle, state: ServiceState, exit: u32) {
    let result = status.set_service_status(ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::Win32(exit),
        checkpoint: 0,
        wait_hint: if state == ServiceState::StopPending {
            STOP_WAIT_HINT
        } else {
            Duration::ZERO
        },
        process_id: None,
    });
    if let Err(error) = result {
        tracing::warn!(%error, ?state, "cannot report the service status");
    }
}
