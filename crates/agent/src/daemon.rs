//! `sitrep daemon`: the background service. It checks the machine on a jittered schedule,
//! long-polls the collector for specialist requests, and sends the spool with backoff, all on
//! one thread that sleeps between events. `daemon.json` in the state dir tells `sitrep status`
//! what it is doing.

use std::cell::RefCell;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sitrep_probes::Ctx;
use sitrep_probes::active::TargetList;
use sitrep_snapshot::Trigger;
use tokio::sync::{Mutex, Notify, watch};
use tokio::time::Instant;

use crate::backoff::{Backoff, random_up_to};
use crate::collector::{Retry, SpecialistRequest};
use crate::config::Config;
use crate::enroll::{configured_trust, enroll_with_token};
use crate::gather::take_snapshot;
use crate::identity::{Identity, IdentityError};
use crate::outbox::{Delivery, Extras, FlushReport, Outbox, Outgoing};
use crate::pseudonym::Pseudonyms;
use crate::send::spool;
use crate::state::StateDir;
use crate::status::{DAEMON_LOCK_FILE, DaemonStatus, LastError, write_daemon_status};
use crate::{SnapshotOptions, UsageError, snapshot_request};

/// How long the collector may hold a long-poll before answering "nothing".
const POLL_WAIT: Duration = Duration::from_secs(30);
/// Uploads back off up to this; a new snapshot or a collector that answers again cuts it short.
const UPLOAD_RETRY_CAP: Duration = Duration::from_secs(300);
/// The long-poll reconnects sooner: it is how a returning collector is noticed.
const POLL_RETRY_CAP: Duration = Duration::from_secs(60);
const RETRY_BASE: Duration = Duration::from_secs(1);
/// The first check comes this soon after start at most (a machine that just booted is worth a
/// look), spread so that a fleet booting together does not check in the same second.
const FIRST_CHECK_SPREAD: Duration = Duration::from_secs(10);
/// After SIGTERM, work in hand (a check, an upload) gets this long beyond the probe deadline.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Runs the daemon until a stop signal, or until `stop_request` is notified (the Windows
/// service's Stop and Shutdown).
pub fn run(
    config: Config,
    config_path: Option<PathBuf>,
    state: &StateDir,
    stop_request: Option<Arc<Notify>>,
) -> anyhow::Result<ExitCode> {
    let _lock = lock_state_dir(state)?;
    let spool = spool(&config, state);
    match spool.remove_leftovers() {
        Ok(0) => {}
        Ok(removed) => tracing::info!(
            removed,
            "removed temp files an interrupted write left in the spool"
        ),
        Err(error) => tracing::warn!(%error, "cannot clean the spool"),
    }
    if let Err(error) = spool.check_writable() {
        // Snapshots are then sent directly; status and every check say so.
        tracing::error!(%error, "the spool is not writable: snapshots cannot be kept while the collector is unreachable");
    }
    let pseudonyms = Pseudonyms::load(state, &config.privacy.pseudonymize)?;
    crate::block_on(async {
        let identity = identity_or_enroll(&config, state).await?;
        tracing::info!(agent_id = %identity.agent_id, collector = %identity.collector, interval = %config.schedule.interval, "daemon started");
        let outbox = Outbox::new(state, spool, config_path.as_deref(), identity)?;
        let daemon = Daemon {
            config: RefCell::new(config),
            config_path,
            state: state.clone(),
            pseudonyms: pseudonyms.as_ref(),
            outbox,
            checking: Mutex::new(()),
            upload_now: Notify::new(),
            status: RefCell::new(DaemonStatus::new(std::process::id())),
            stop_request,
        };
        daemon.publish();
        daemon.serve().await;
        tracing::info!("daemon stopped");
        anyhow::Ok(ExitCode::SUCCESS)
    })?
}

/// One daemon per state dir: two would race for the same spool and identity. The lock lives as
/// long as the returned file; `sitrep status` tests it to tell whether a daemon runs.
fn lock_state_dir(state: &StateDir) -> anyhow::Result<File> {
    state.ensure_exists()?;
    let path = state.file(DAEMON_LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(UsageError(format!(
            "another sitrep daemon is running with the state dir {}",
            state.path().display()
        ))
        .into()),
        Err(TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// The saved identity; without one, enrollment with the configured collector and token.
async fn identity_or_enroll(config: &Config, state: &StateDir) -> anyhow::Result<Identity> {
    match Identity::load(state) {
        Err(IdentityError::NotEnrolled { path }) => {
            let (Some(collector), Some(token)) = (&config.collector, config.enrollment_token()?)
            else {
                return Err(UsageError(format!(
                    "this computer is not enrolled (no {}): run `sitrep enroll`, or set \
                     `collector` and `enrollment_token_file` in the config for the daemon to \
                     enroll itself",
                    path.display()
                ))
                .into());
            };
            let identity =
                enroll_with_token(config, state, collector, configured_trust(config)?, &token)
                    .await
                    .context("cannot enroll with the configured token")?;
            tracing::info!(agent_id = %identity.agent_id, "enrolled with the configured token");
            Ok(identity)
        }
        other => Ok(other?),
    }
}

struct Daemon<'p> {
    config: RefCell<Config>,
    config_path: Option<PathBuf>,
    state: StateDir,
    pseudonyms: Option<&'p Pseudonyms>,
    outbox: Outbox,
    /// One check at a time: a specialist's request waits for a scheduled check in progress.
    checking: Mutex<()>,
    /// Wakes the uploader before its backoff ends: a new snapshot, a collector that answers.
    upload_now: Notify,
    status: RefCell<DaemonStatus>,
    stop_request: Option<Arc<Notify>>,
}

impl Daemon<'_> {
    async fn serve(&self) {
        let (stop, stopping) = watch::channel(false);
        let work = async {
            tokio::join!(
                self.schedule(stopping.clone()),
                self.poll(stopping.clone()),
                self.upload(stopping.clone()),
            );
        };
        let signals = async {
            tokio::select! {
                () = self.wait_for_stop_signal() => {}
                () = wait_for_request(self.stop_request.as_deref()) => {}
            }
            tracing::info!("stopping: finishing the work in hand");
            let _ = stop.send(true);
            // Beyond this, what is still uploading stays in the spool for the next start.
            let grace = self.config.borrow().probes.deadline.0 + SHUTDOWN_GRACE;
            tokio::time::sleep(grace).await;
            tracing::warn!("work in hand did not finish in time; it stays in the spool");
        };
        tokio::select! {
            () = work => {}
            () = signals => {}
        }
        let mut status = self.status.borrow_mut();
        status.stopped_at = Some(Utc::now());
        status.next_check_at = None;
        status.polling = false;
        drop(status);
        self.publish();
    }

    /// Scheduled checks: the first soon after start, then every interval plus up to 10 %.
    async fn schedule(&self, mut stopping: watch::Receiver<bool>) {
        let mut next =
            Instant::now() + random_up_to((self.interval() / 10).min(FIRST_CHECK_SPREAD));
        loop {
            self.set_next_check(next);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                _ = stopping.changed() => return,
            }
            self.check(Trigger::Scheduled, None).await;
            let interval = self.interval();
            next = Instant::now() + interval + random_up_to(interval / 10);
            if *stopping.borrow() {
                return;
            }
        }
    }

    /// The long-poll for specialist requests, reconnecting with backoff.
    async fn poll(&self, mut stopping: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(RETRY_BASE, POLL_RETRY_CAP);
        loop {
            let client = self.outbox.client().await;
            let answer = tokio::select! {
                answer = client.poll_requests(POLL_WAIT) => answer,
                _ = stopping.changed() => return,
            };
            let wait = match answer {
                Ok(requests) => {
                    if backoff.failures() > 0 {
                        // The collector is back: what waits in the spool can go now.
                        self.upload_now.notify_one();
                    }
                    backoff.reset();
                    self.set_polling(true);
                    for request in requests {
                        self.check(Trigger::SpecialistRequest, Some(&request)).await;
                    }
                    continue;
                }
                Err(error) => {
                    self.set_polling(false);
                    if error.retry() == Retry::Reenroll {
                        // The uploader enrolls again; the next poll uses the new key.
                        self.upload_now.notify_one();
                    }
                    let wait = backoff.next(match error.retry() {
                        Retry::Later(after) => after,
                        Retry::Reenroll | Retry::Never => None,
                    });
                    tracing::debug!(%error, ?wait, "long-poll failed");
                    wait
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stopping.changed() => return,
            }
        }
    }

    /// Sends the spool whenever something was added or the collector came back, and retries
    /// with backoff while it cannot.
    async fn upload(&self, mut stopping: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(RETRY_BASE, UPLOAD_RETRY_CAP);
        // Whatever the last run left in the spool goes first.
        let mut retry_at = Some(Instant::now());
        loop {
            tokio::select! {
                () = self.upload_now.notified() => {}
                () = sleep_until_some(retry_at) => {}
                _ = stopping.changed() => return,
            }
            retry_at = match self.outbox.flush().await {
                Ok(report) => match self.after_flush(&report) {
                    None => {
                        backoff.reset();
                        None
                    }
                    Some(at_least) => Some(Instant::now() + backoff.next(at_least)),
                },
                Err(error) => {
                    tracing::error!(%error, "cannot read the spool");
                    self.set_error(format!("cannot read the spool: {error}"));
                    Some(Instant::now() + backoff.next(None))
                }
            };
            if let Some(at) = retry_at {
                tracing::info!(retry_in = ?at - Instant::now(), "will retry the upload");
            }
        }
    }

    /// Records what a flush did; `Some` (with the collector's `Retry-After`) when it must be
    /// retried.
    fn after_flush(&self, report: &FlushReport) -> Option<Option<Duration>> {
        if !report.sent.is_empty() && report.stopped.is_none() {
            self.clear_error();
        }
        let stopped = report.stopped.as_ref()?;
        let message = match &stopped.reenroll_error {
            Some(reason) => format!("{}; {reason}. Snapshots stay in the spool.", stopped.error),
            None => format!("{}. Snapshots stay in the spool.", stopped.error),
        };
        tracing::warn!("{message}");
        self.set_error(message);
        match stopped.retry {
            Retry::Later(after) => Some(after),
            Retry::Reenroll | Retry::Never => Some(None),
        }
    }

    /// Takes a snapshot and hands it to the outbox. Never cancelled half-way: a stop request
    /// waits for it, so a check in progress is always spooled.
    async fn check(&self, trigger: Trigger, request: Option<&SpecialistRequest>) {
        let _one_at_a_time = self.checking.lock().await;
        let identity = self.outbox.identity().await;
        let targets = request.map(usable_targets).unwrap_or_default();
        let snapshot_request = {
            let config = self.config.borrow();
            snapshot_request(
                &config,
                Some(identity.collector.clone()),
                &SnapshotOptions {
                    trigger,
                    no_probes: false,
                    sections: &[],
                    targets: &targets,
                },
            )
        };
        let snapshot_request = match snapshot_request {
            Ok(snapshot_request) => snapshot_request,
            Err(error) => {
                // Targets were checked one by one above; the config was checked at load.
                tracing::error!(%error, "cannot plan the check");
                return;
            }
        };
        let snapshot = take_snapshot(Ctx::host(), &snapshot_request).await;
        self.status.borrow_mut().last_check_at = Some(Utc::now());
        let outgoing = Outgoing::new(snapshot, Some(&identity), self.pseudonyms);
        let extras = Extras {
            request: request.map(|request| request.id),
            ..Extras::default()
        };
        let id = outgoing.snapshot.id;
        match self.outbox.submit(&outgoing, extras).await {
            Ok((delivery, report)) => {
                self.after_flush(&report);
                match delivery {
                    Delivery::Stored(_) => {
                        tracing::info!(snapshot = %id, ?trigger, "check delivered");
                        self.clear_error();
                    }
                    Delivery::Spooled { .. } => {
                        tracing::info!(snapshot = %id, ?trigger, "check spooled");
                    }
                    Delivery::Refused { error, .. } => {
                        self.set_error(format!("snapshot {id} was refused: {error}"));
                    }
                    Delivery::Lost { spool_error, error } => {
                        let message = format!(
                            "snapshot {id} is lost: the spool cannot keep it ({spool_error}) and it could not be sent ({error})"
                        );
                        tracing::error!("{message}");
                        self.set_error(message);
                    }
                }
            }
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot hand the snapshot on");
                self.set_error(format!("{error:#}"));
            }
        }
        self.publish();
    }

    #[cfg(unix)]
    async fn wait_for_stop_signal(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut terminate), Ok(mut interrupt), Ok(mut hangup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::error!("cannot listen for signals; stop the daemon with SIGKILL");
            return std::future::pending().await;
        };
        loop {
            tokio::select! {
                _ = terminate.recv() => return,
                _ = interrupt.recv() => return,
                _ = hangup.recv() => self.reload(),
            }
        }
    }

    #[cfg(not(unix))]
    async fn wait_for_stop_signal(&self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// SIGHUP: read the config again (schedule and probes; the spool's bounds apply from the
    /// next start) and retry uploads, and enrollment, at once.
    #[cfg_attr(not(unix), allow(dead_code))]
    fn reload(&self) {
        match Config::load(self.config_path.as_deref()) {
            Ok((config, _)) => {
                tracing::info!(interval = %config.schedule.interval, "config reloaded");
                *self.config.borrow_mut() = config;
            }
            Err(error) => {
                tracing::error!("config not reloaded, the running one stays:\n{error}");
            }
        }
        self.upload_now.notify_one();
    }

    fn interval(&self) -> Duration {
        self.config.borrow().schedule.interval.0
    }

    fn set_next_check(&self, at: Instant) {
        let from_now = at.saturating_duration_since(Instant::now());
        self.status.borrow_mut().next_check_at = Some(utc_after(from_now));
        self.publish();
    }

    fn set_polling(&self, polling: bool) {
        let changed = {
            let mut status = self.status.borrow_mut();
            let changed = status.polling != polling;
            status.polling = polling;
            changed
        };
        if changed {
            self.publish();
        }
    }

    fn set_error(&self, message: String) {
        self.status.borrow_mut().last_error = Some(LastError {
            at: Utc::now(),
            message,
        });
        self.publish();
    }

    fn clear_error(&self) {
        self.status.borrow_mut().last_error = None;
    }

    /// Writes `daemon.json`; a failure is logged, never fatal (it only feeds `sitrep status`).
    fn publish(&self) {
        let status = self.status.borrow().clone();
        if let Err(error) = write_daemon_status(&self.state, &status) {
            tracing::warn!(%error, "cannot write the daemon status");
        }
    }
}

/// A request's extra targets that parse; the others are logged and skipped, so one typo from a
/// specialist does not cost the whole snapshot.
fn usable_targets(request: &SpecialistRequest) -> Vec<String> {
    request
        .targets
        .iter()
        .filter(|target| match TargetList::default().push_any(target) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(request = %request.id, %target, %error, "skipping a requested target");
                false
            }
        })
        .cloned()
        .collect()
}

async fn wait_for_request(request: Option<&Notify>) {
    match request {
        Some(request) => request.notified().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn utc_after(duration: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(duration).unwrap_or_default()
}
