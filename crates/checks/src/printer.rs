//! Printer rules: queues that are stopped or refuse jobs, and jobs that do not leave the queue.

use sitrep_snapshot::{Finding, PrintQueue, PrinterState, Severity, Snapshot};

use crate::format;
use crate::rule::{FindingParts, RuleInfo, problems_or_pass};
use crate::sections;

/// Past ten minutes a job is not slow but stuck; past an hour the user has long given up.
const STUCK_WARN_SECONDS: u64 = 10 * 60;
const STUCK_FAIL_SECONDS: u64 = 60 * 60;

pub(crate) const STOPPED: RuleInfo = RuleInfo {
    id: "printer.stopped",
    description: "Each print queue is running and accepting jobs.",
    thresholds: "per queue: fail when stopped or rejecting jobs while it is the default printer or has jobs waiting; warn otherwise",
    check: stopped,
};

pub(crate) const JOBS_STUCK: RuleInfo = RuleInfo {
    id: "printer.jobs_stuck",
    description: "Print jobs leave the queue; a job still waiting after minutes means the printer does not take it.",
    thresholds: "per queue: warn when the oldest waiting job is 10 minutes old, fail at 1 hour",
    check: jobs_stuck,
};

/// The queues of a print service that answered; nothing to judge without one.
fn queues(snapshot: &Snapshot) -> &[PrintQueue] {
    sections::printers(snapshot).map_or(&[], |printers| printers.queues.as_slice())
}

/// "Office-Laser (HP LaserJet, 2nd floor)".
fn queue_label(queue: &PrintQueue) -> String {
    match &queue.info {
        Some(info) if *info != queue.name => format!("{} ({info})", queue.name),
        _ => queue.name.clone(),
    }
}

fn state_word(state: PrinterState) -> &'static str {
    match state {
        PrinterState::Idle => "idle",
        PrinterState::Printing => "printing",
        PrinterState::Stopped => "stopped",
    }
}

/// "stopped, not accepting jobs, reasons paused; \"Out of toner\"; 2 jobs waiting, the oldest
/// for 14 minutes; sends to socket://10.1.2.41:9100".
fn queue_state(queue: &PrintQueue) -> String {
    let mut parts = vec![state_word(queue.state).to_owned()];
    if !queue.accepting {
        parts.push("not accepting jobs".to_owned());
    }
    if !queue.state_reasons.is_empty() {
        parts.push(format!("reasons {}", queue.state_reasons.join(", ")));
    }
    let mut text = parts.join(", ");
    if let Some(message) = &queue.state_message {
        text.push_str(&format!("; \"{message}\""));
    }
    text.push_str(&format!("; {}", jobs_waiting(queue)));
    if let Some(uri) = &queue.uri {
        text.push_str(&format!("; sends to {uri}"));
    }
    text
}

fn jobs_waiting(queue: &PrintQueue) -> String {
    let jobs = format::counted(queue.jobs_waiting as usize, "job", "jobs");
    match queue.oldest_job_age_s {
        Some(age) if queue.jobs_waiting > 0 => {
            format!("{jobs} waiting, the oldest for {}", format::duration(age))
        }
        _ => format!("{jobs} waiting"),
    }
}

fn stopped(snapshot: &Snapshot) -> Vec<Finding> {
    let queues = queues(snapshot);
    if queues.is_empty() {
        return Vec::new();
    }
    let problems = queues
        .iter()
        .filter(|queue| queue.state == PrinterState::Stopped || !queue.accepting)
        .map(|queue| {
            let severity = if queue.is_default || queue.jobs_waiting > 0 {
                Severity::Fail
            } else {
                Severity::Warn
            };
            let what = match (queue.state == PrinterState::Stopped, queue.accepting) {
                (true, false) => "is stopped and refuses new jobs",
                (true, true) => "is stopped",
                (false, _) => "refuses new jobs",
            };
            STOPPED
                .finding(
                    severity,
                    format!("Printer {} {what}", queue.name),
                    format!("{}: {}", queue_label(queue), queue_state(queue)),
                )
                .with_remediation(format!(
                    "Someone paused the queue, or CUPS stopped it after the printer failed. Check the printer itself (power, paper, toner, error messages), then resume the queue in the printer settings (as an administrator: `cupsenable {name}` and `cupsaccept {name}`) and ask the user to print again.",
                    name = queue.name
                ))
                .with_subject(&queue.name)
        })
        .collect();
    problems_or_pass(problems, || {
        let listed: Vec<String> = queues
            .iter()
            .map(|queue| format!("{}: {}", queue.name, state_word(queue.state)))
            .collect();
        STOPPED.pass(
            format!(
                "{} ready",
                format::counted(queues.len(), "print queue", "print queues")
            ),
            listed.join("; "),
        )
    })
}

/// Words of the messages CUPS' network backends set when the printer does not answer; the
/// ipp backend says so only in its message, leaving the state reasons at `none`.
const UNREACHABLE_MESSAGES: [&str; 4] = [
    "unavailable",
    "not responding",
    "unable to connect",
    "connecting to",
];

/// What the state reasons and message say about why jobs do not leave, for the remediation.
fn stuck_remediation(queue: &PrintQueue) -> String {
    let message = queue
        .state_message
        .as_deref()
        .unwrap_or_default()
        .to_lowercase();
    let unreachable =
        queue.state_reasons.iter().any(|reason| {
            reason.starts_with("offline") || reason.starts_with("connecting-to-device")
        }) || UNREACHABLE_MESSAGES
            .iter()
            .any(|words| message.contains(words));
    let out_of_supplies = queue.state_reasons.iter().any(|reason| {
        [
            "media-empty",
            "media-jam",
            "toner-empty",
            "marker-supply-empty",
            "door-open",
        ]
        .iter()
        .any(|prefix| reason.starts_with(prefix))
    });
    if unreachable {
        let target = queue
            .uri
            .as_deref()
            .map(|uri| format!(" at {uri}"))
            .unwrap_or_default();
        format!(
            "The computer cannot reach the printer{target}. Check that the printer is switched on and connected to the network (its display or a configuration page shows its address); if the address changed, the queue needs updating by second-line support."
        )
    } else if out_of_supplies {
        "The printer needs attention (paper, a jam, toner or an open door): fix it at the printer and the waiting jobs will print.".to_owned()
    } else {
        "Check the printer for error messages; if it looks fine, cancel the oldest job (it may be damaged) and ask the user to print again.".to_owned()
    }
}

fn jobs_stuck(snapshot: &Snapshot) -> Vec<Finding> {
    let queues = queues(snapshot);
    if queues.is_empty() {
        return Vec::new();
    }
    let problems = queues
        .iter()
        .filter_map(|queue| {
            let age = queue.oldest_job_age_s.filter(|_| queue.jobs_waiting > 0)?;
            let severity = if age >= STUCK_FAIL_SECONDS {
                Severity::Fail
            } else if age >= STUCK_WARN_SECONDS {
                Severity::Warn
            } else {
                return None;
            };
            Some(
                JOBS_STUCK
                    .finding(
                        severity,
                        format!(
                            "Print jobs stuck on {} for {}",
                            queue.name,
                            format::duration(age)
                        ),
                        format!("{}: {}", queue_label(queue), queue_state(queue)),
                    )
                    .with_remediation(stuck_remediation(queue))
                    .with_subject(&queue.name),
            )
        })
        .collect();
    problems_or_pass(problems, || {
        let waiting: u32 = queues.iter().map(|queue| queue.jobs_waiting).sum();
        let listed: Vec<String> = queues
            .iter()
            .filter(|queue| queue.jobs_waiting > 0)
            .map(|queue| format!("{}: {}", queue.name, jobs_waiting(queue)))
            .collect();
        let evidence = if listed.is_empty() {
            "No jobs waiting".to_owned()
        } else {
            listed.join("; ")
        };
        JOBS_STUCK.pass(
            format!(
                "No print jobs stuck ({} waiting)",
                format::counted(waiting as usize, "job", "jobs")
            ),
            evidence,
        )
    })
}
