//! `sitrep status` and `sitrep spool list|flush`: what the agent is doing, for a person on the
//! phone or an administrator (`--json` for scripts): enrollment, whether the collector answers,
//! the last upload, the spool, dropped snapshots and the daemon's next check.

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::collector::{CollectorClient, collector_url};
use crate::config::Config;
use crate::identity::Identity;
use crate::outbox::Outbox;
use crate::send::spool;
use crate::spool::{LastUpload, Listing, Spool};
use crate::state::{StateDir, StateError};

pub const DAEMON_STATUS_FILE: &str = "daemon.json";
/// Held by a running daemon for its whole life.
pub const DAEMON_LOCK_FILE: &str = "daemon.lock";
/// `status` asks the collector's health route and waits this long for it.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// What the daemon tells about itself in `daemon.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    /// Set when it stopped cleanly.
    pub stopped_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    pub last_check_at: Option<DateTime<Utc>>,
    /// Whether its long-poll for specialist requests is connected.
    pub polling: bool,
    /// The latest problem, until a delivery succeeds.
    pub last_error: Option<LastError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastError {
    pub at: DateTime<Utc>,
    pub message: String,
}

impl DaemonStatus {
    pub fn new(pid: u32) -> Self {
        DaemonStatus {
            pid,
            started_at: Utc::now(),
            stopped_at: None,
            next_check_at: None,
            last_check_at: None,
            polling: false,
            last_error: None,
        }
    }
}

pub fn write_daemon_status(state: &StateDir, status: &DaemonStatus) -> Result<(), StateError> {
    let mut json = serde_json::to_vec_pretty(status).unwrap_or_default();
    json.push(b'\n');
    state.write(DAEMON_STATUS_FILE, &json)
}

/// Everything `sitrep status` reports.
#[derive(Debug, Serialize)]
struct Status {
    state_dir: PathBuf,
    enrollment: Enrollment,
    /// Absent when not enrolled.
    collector: Option<Reachability>,
    daemon: Daemon,
    last_upload: Option<LastUpload>,
    spool: SpoolSummary,
}

#[derive(Debug, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum Enrollment {
    Enrolled {
        collector: String,
        agent_id: Uuid,
        enrolled_at: DateTime<Utc>,
    },
    NotEnrolled {
        reason: String,
    },
}

#[derive(Debug, Serialize)]
struct Reachability {
    url: String,
    reachable: bool,
    answered_in_ms: Option<u64>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Daemon {
    /// `null` when this account cannot tell (the lock file is not readable to it).
    running: Option<bool>,
    /// The daemon's last word about itself (also after it stopped).
    #[serde(flatten)]
    reported: Option<DaemonStatus>,
}

#[derive(Debug, Serialize)]
struct SpoolSummary {
    dir: PathBuf,
    waiting: usize,
    bytes: u64,
    max_items: u32,
    max_bytes: u64,
    oldest_taken_at: Option<DateTime<Utc>>,
    /// Dropped because the spool was full, ever, and since the last upload reported it.
    dropped_total: u64,
    dropped_unreported: u64,
    /// Entries that can never be sent, kept in `aside/` for a person to look at.
    set_aside: usize,
    /// Problems met while reading it (damaged entries found now, or the spool unreadable).
    problems: Vec<String>,
}

pub fn status(config: &Config, state: &StateDir, json: bool) -> anyhow::Result<ExitCode> {
    let spool = spool(config, state);
    let identity = Identity::load(state);
    let status = Status {
        state_dir: state.path().to_path_buf(),
        collector: identity.as_ref().ok().map(reachability),
        enrollment: match identity {
            Ok(identity) => Enrollment::Enrolled {
                collector: identity.collector,
                agent_id: identity.agent_id,
                enrolled_at: identity.enrolled_at,
            },
            Err(error) => Enrollment::NotEnrolled {
                reason: error.to_string(),
            },
        },
        daemon: daemon(state),
        last_upload: spool
            .counters()
            .ok()
            .and_then(|counters| counters.last_upload),
        spool: spool_summary(&spool),
    };
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &status).context("cannot write the status")?;
        writeln!(out)?;
    } else {
        out.write_all(human(&status).as_bytes())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn reachability(identity: &Identity) -> Reachability {
    let started = Instant::now();
    let checked = (|| -> anyhow::Result<()> {
        let client = CollectorClient::new(collector_url(&identity.collector)?, &identity.trust())?;
        crate::block_on(client.check_health(HEALTH_TIMEOUT))??;
        Ok(())
    })();
    Reachability {
        url: identity.collector.clone(),
        reachable: checked.is_ok(),
        answered_in_ms: checked
            .is_ok()
            .then(|| started.elapsed().as_millis() as u64),
        error: checked.err().map(|error| format!("{error:#}")),
    }
}

fn daemon(state: &StateDir) -> Daemon {
    let reported = state
        .read(DAEMON_STATUS_FILE)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<DaemonStatus>(&bytes).ok());
    Daemon {
        running: daemon_running(&state.file(DAEMON_LOCK_FILE)),
        reported,
    }
}

/// A running daemon holds the lock; if this process can take it, none runs.
fn daemon_running(lock: &Path) -> Option<bool> {
    let file = match File::open(lock) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Some(false),
        Err(_) => return None,
    };
    match file.try_lock_shared() {
        Ok(()) => Some(false),
        Err(TryLockError::WouldBlock) => Some(true),
        Err(TryLockError::Error(_)) => None,
    }
}

fn spool_summary(spool: &Spool) -> SpoolSummary {
    let limits = spool.limits();
    let counters = spool.counters().unwrap_or_default();
    let (listing, mut problems) = match spool.list() {
        Ok(listing) => {
            let problems = listing.damaged.clone();
            (listing, problems)
        }
        Err(error) => (Listing::default(), vec![error.to_string()]),
    };
    if let Err(error) = spool.check_writable() {
        problems.push(format!("the spool is not writable: {error}"));
    }
    SpoolSummary {
        dir: spool.dir().to_path_buf(),
        waiting: listing.entries.len(),
        bytes: listing.bytes(),
        max_items: limits.max_items,
        max_bytes: limits.max_bytes,
        oldest_taken_at: listing.entries.first().map(|entry| entry.meta.taken_at),
        dropped_total: counters.dropped_total,
        dropped_unreported: counters.dropped_unreported,
        set_aside: listing.aside,
        problems,
    }
}

fn human(status: &Status) -> String {
    let mut text = String::new();
    let mut line = |label: &str, value: String| {
        text.push_str(&format!("{label:<13}{value}\n"));
    };
    line("State dir:", status.state_dir.display().to_string());
    match &status.enrollment {
        Enrollment::Enrolled {
            collector,
            agent_id,
            enrolled_at,
        } => line(
            "Enrolled:",
            format!(
                "with {collector} as agent {agent_id} (since {})",
                when(enrolled_at)
            ),
        ),
        Enrollment::NotEnrolled { reason } => line("Enrolled:", format!("no: {reason}")),
    }
    if let Some(collector) = &status.collector {
        line(
            "Collector:",
            match (&collector.error, collector.answered_in_ms) {
                (None, Some(ms)) => format!("reachable (answered in {ms} ms)"),
                (Some(error), _) => format!("NOT reachable: {error}"),
                (None, None) => "unknown".to_string(),
            },
        );
    }
    let daemon = &status.daemon;
    match (&daemon.reported, daemon.running) {
        (_, None) => line(
            "Daemon:",
            "unknown (this account cannot read its lock file; try as the service's account)"
                .to_string(),
        ),
        (Some(reported), Some(true)) => {
            let polling = if reported.polling {
                "connected for specialist requests"
            } else {
                "NOT connected for specialist requests"
            };
            line(
                "Daemon:",
                format!("running (PID {}), {polling}", reported.pid),
            );
            if let Some(next) = &reported.next_check_at {
                line("Next check:", when(next));
            }
        }
        (None, Some(true)) => line("Daemon:", "running".to_string()),
        (Some(reported), Some(false)) => line(
            "Daemon:",
            format!(
                "NOT running (last {} {})",
                if reported.stopped_at.is_some() {
                    "stopped"
                } else {
                    "started"
                },
                when(reported.stopped_at.as_ref().unwrap_or(&reported.started_at))
            ),
        ),
        (None, Some(false)) => line(
            "Daemon:",
            "NOT running (never ran with this state dir)".to_string(),
        ),
    }
    if let Some(reported) = &daemon.reported {
        if let Some(last) = &reported.last_check_at {
            line("Last check:", when(last));
        }
        if let Some(error) = &reported.last_error {
            line(
                "Last error:",
                format!("{}: {}", when(&error.at), error.message),
            );
        }
    }
    line(
        "Last upload:",
        status.last_upload.as_ref().map_or_else(
            || "none yet".to_string(),
            |upload| {
                format!(
                    "{}, snapshot {} ({})",
                    when(&upload.at),
                    upload.snapshot_id,
                    trigger_name(upload.trigger)
                )
            },
        ),
    );
    let spool = &status.spool;
    let oldest = spool
        .oldest_taken_at
        .as_ref()
        .map_or_else(String::new, |at| format!(", oldest taken {}", when(at)));
    line(
        "Spool:",
        format!(
            "{} waiting ({} of {} entries, {} of {}){oldest}",
            spool.waiting,
            spool.waiting,
            spool.max_items,
            size(spool.bytes),
            size(spool.max_bytes)
        ),
    );
    line(
        "Dropped:",
        format!(
            "{} (spool full), {} not yet reported to the collector",
            spool.dropped_total, spool.dropped_unreported
        ),
    );
    if spool.set_aside > 0 {
        line(
            "Set aside:",
            format!(
                "{} that cannot be sent, in {}",
                spool.set_aside,
                spool.dir.join("aside").display()
            ),
        );
    }
    for problem in &spool.problems {
        line("Problem:", problem.clone());
    }
    text
}

/// `sitrep spool list`.
pub fn spool_list(config: &Config, state: &StateDir) -> anyhow::Result<ExitCode> {
    let spool = spool(config, state);
    let listing = spool.list()?;
    let mut out = std::io::stdout().lock();
    for problem in &listing.damaged {
        writeln!(out, "warning: {problem}")?;
    }
    if listing.entries.is_empty() {
        writeln!(out, "The spool is empty ({}).", spool.dir().display())?;
    } else {
        writeln!(
            out,
            "{:<26} {:<20} {:<19} {:>9}  SNAPSHOT / FOR",
            "ENTRY", "TAKEN (UTC)", "TRIGGER", "SIZE"
        )?;
        for entry in &listing.entries {
            let meta = &entry.meta;
            let mut purpose = meta.snapshot_id.to_string();
            if let Some(request) = meta.request_id {
                purpose.push_str(&format!(", request {request}"));
            }
            if let Some(ticket) = &meta.ticket {
                purpose.push_str(&format!(", ticket {ticket}"));
            }
            writeln!(
                out,
                "{:<26} {:<20} {:<19} {:>9}  {purpose}",
                entry.name,
                meta.taken_at.format("%Y-%m-%d %H:%M:%S"),
                trigger_name(meta.trigger),
                size(entry.bytes)
            )?;
        }
        writeln!(
            out,
            "{} waiting, {} in {}",
            listing.entries.len(),
            size(listing.bytes()),
            spool.dir().display()
        )?;
    }
    if listing.aside > 0 {
        writeln!(
            out,
            "{} set aside (cannot be sent) in {}",
            listing.aside,
            spool.dir().join("aside").display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `sitrep spool flush`: sends what waits now, oldest first; exit 4 if anything is left.
pub fn spool_flush(
    config: &Config,
    config_path: Option<&Path>,
    state: &StateDir,
) -> anyhow::Result<ExitCode> {
    let identity = Identity::load(state)?;
    let outbox = Outbox::new(state, spool(config, state), config_path, identity)?;
    let report = crate::block_on(outbox.flush())??;
    let mut out = std::io::stdout().lock();
    for (entry, stored) in &report.sent {
        let answer = if stored.duplicate {
            "already stored"
        } else {
            "stored"
        };
        writeln!(out, "sent {} ({answer})", entry.meta.snapshot_id)?;
    }
    for (entry, error, aside) in &report.refused {
        writeln!(
            out,
            "refused {}: {error}; moved to {}",
            entry.meta.snapshot_id,
            aside.display()
        )?;
    }
    let left = outbox.spool().list()?.entries.len();
    writeln!(out, "{} sent, {left} waiting.", report.sent.len())?;
    match report.stopped {
        Some(stopped) if left > 0 => {
            let reason = match stopped.reenroll_error {
                Some(reason) => format!("{}; {reason}", stopped.error),
                None => stopped.error.to_string(),
            };
            Err(anyhow::anyhow!("the spool could not be sent: {reason}"))
        }
        _ if !report.refused.is_empty() => Err(anyhow::anyhow!(
            "{} snapshot(s) were refused by the collector",
            report.refused.len()
        )),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn when(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn trigger_name(trigger: sitrep_snapshot::Trigger) -> String {
    serde_json::to_value(trigger)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / f64::from(1 << 10))
    } else {
        format!("{bytes} B")
    }
}
