//! Print queues on Windows: Win32_Printer with its status codes, the waiting jobs
//! (Win32_PrintJob) and the Print Spooler service that runs them all.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sitrep_snapshot::{CupsStatus, PrintQueue, PrinterState, Printers};

use crate::ParseError;
use crate::credentials::strip_credentials;
use crate::parse::distinct;
use crate::parse::windows::{cim_datetime, cim_instances, non_empty};

pub const PRINTER_QUERY: &str = "Get-CimInstance -ClassName Win32_Printer | Select-Object \
     Name, Default, PrinterStatus, PrinterState, DetectedErrorState, WorkOffline, PortName, \
     DriverName, Location, Comment";
pub const PRINT_JOB_QUERY: &str = "Get-CimInstance -ClassName Win32_PrintJob | Select-Object \
     Name, JobId, Document, JobStatus, \
     @{ n = 'TimeSubmitted'; e = { $_.TimeSubmitted.ToUniversalTime().ToString('o') } }";
pub const SPOOLER_QUERY: &str = "Get-CimInstance -ClassName Win32_Service \
     -Filter \"Name = 'Spooler'\" | Select-Object Name, State, StartMode";

/// The queries of the printers, in the order [`printers_of`] takes their documents.
pub const QUERIES: [&str; 3] = [SPOOLER_QUERY, PRINTER_QUERY, PRINT_JOB_QUERY];

/// What [`CupsStatus::Present`] names as the print server on Windows.
pub const SPOOLER: &str = "Windows Print Spooler";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Printer {
    pub name: String,
    #[serde(default)]
    pub default: bool,
    /// 3 idle, 4 printing, 5 warming up, 6 stopped printing, 7 offline.
    pub printer_status: Option<u32>,
    /// The spooler's `PRINTER_STATUS_*` bits; bit 0 is "paused".
    pub printer_state: Option<u32>,
    /// 3 low paper, 4 no paper, 5 low toner, 6 no toner, 7 door open, 8 jammed, 9 offline,
    /// 10 service requested, 11 output bin full.
    pub detected_error_state: Option<u32>,
    /// "Use Printer Offline" is ticked: jobs wait until it is cleared.
    #[serde(default)]
    pub work_offline: bool,
    /// e.g. `IP_10.1.2.40`, `WSD-5f0c...`, `USB001`, `PORTPROMPT:`.
    pub port_name: Option<String>,
    pub driver_name: Option<String>,
    pub location: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrintJob {
    /// `<printer name>, <job id>`.
    pub name: String,
    pub job_status: Option<String>,
    #[serde(default, deserialize_with = "cim_datetime")]
    pub time_submitted: Option<DateTime<Utc>>,
}

impl PrintJob {
    fn printer(&self) -> &str {
        self.name
            .rsplit_once(", ")
            .map_or(self.name.as_str(), |(printer, _)| printer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Service {
    pub state: Option<String>,
}

/// The print queues at `now`. With the spooler stopped no application can print: that is
/// [`CupsStatus::Absent`] with the reason, as when Linux has no cupsd.
pub fn printers_of(
    spooler: &str,
    printers: &str,
    jobs: &str,
    now: DateTime<Utc>,
) -> Result<Printers, ParseError> {
    let spooler: Option<Service> = cim_instances(spooler)?.into_iter().next();
    let state = spooler.and_then(|service| service.state);
    if state.as_deref() != Some("Running") {
        return Ok(Printers {
            cups: CupsStatus::Absent {
                reason: match state {
                    Some(state) => format!("the Print Spooler service is {}", state.to_lowercase()),
                    None => "there is no Print Spooler service".to_owned(),
                },
            },
            queues: Vec::new(),
            default_printer: None,
        });
    }
    let printers: Vec<Printer> = cim_instances(printers)?;
    let jobs: Vec<PrintJob> = cim_instances(jobs)?;
    let queues: Vec<PrintQueue> = printers
        .into_iter()
        .map(|printer| queue_of(printer, &jobs, now))
        .collect();
    Ok(Printers {
        cups: CupsStatus::Present {
            server: SPOOLER.to_owned(),
            version: None,
        },
        default_printer: queues
            .iter()
            .find(|queue| queue.is_default)
            .map(|queue| queue.name.clone()),
        queues,
    })
}

fn queue_of(printer: Printer, jobs: &[PrintJob], now: DateTime<Utc>) -> PrintQueue {
    let paused = printer.printer_state.is_some_and(|bits| bits & 1 == 1);
    let offline = printer.work_offline
        || printer.printer_status == Some(7)
        || printer.detected_error_state == Some(9);
    let state = if paused || offline || printer.printer_status == Some(6) {
        PrinterState::Stopped
    } else if matches!(printer.printer_status, Some(4 | 5)) {
        PrinterState::Printing
    } else {
        PrinterState::Idle
    };
    let mut reasons = Vec::new();
    if paused {
        reasons.push("paused");
    }
    if offline {
        reasons.push("offline-report");
    }
    // The IPP keywords for the same conditions, so the findings read the same everywhere.
    reasons.extend(match printer.detected_error_state {
        Some(3) => Some("media-low-warning"),
        Some(4) => Some("media-empty-error"),
        Some(5) => Some("toner-low-warning"),
        Some(6) => Some("toner-empty-error"),
        Some(7) => Some("door-open-error"),
        Some(8) => Some("media-jam-error"),
        Some(10) => Some("other-error"),
        Some(11) => Some("output-area-full-error"),
        _ => None,
    });
    let own_jobs: Vec<&PrintJob> = jobs
        .iter()
        .filter(|job| job.printer() == printer.name)
        .collect();
    let oldest = own_jobs.iter().filter_map(|job| job.time_submitted).min();
    PrintQueue {
        uri: non_empty(printer.port_name.as_deref()).map(|port| strip_credentials(&port)),
        info: non_empty(printer.comment.as_deref()),
        location: non_empty(printer.location.as_deref()),
        make_and_model: non_empty(printer.driver_name.as_deref()),
        state,
        state_reasons: distinct(reasons.into_iter().map(str::to_owned)),
        state_message: own_jobs
            .iter()
            .filter_map(|job| non_empty(job.job_status.as_deref()))
            .next()
            .map(|status| format!("first job: {status}")),
        accepting: true,
        jobs_waiting: u32::try_from(own_jobs.len()).unwrap_or(u32::MAX),
        oldest_job_age_s: oldest
            .and_then(|oldest| u64::try_from((now - oldest).num_seconds()).ok()),
        is_default: printer.default,
        name: printer.name,
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::parse::windows::tests_support::{fixture, now};

    #[test]
    fn office_laptop_queues() {
        let printers = printers_of(
            &fixture("laptop/Win32_Service-Spooler.json"),
            &fixture("laptop/Win32_Printer.json"),
            &fixture("laptop/Win32_PrintJob.json"),
            now(),
        );
        expect![[r#"
            Ok(
                Printers {
                    cups: Present {
                        server: "Windows Print Spooler",
                        version: None,
                    },
                    queues: [
                        PrintQueue {
                            name: "OneNote (Desktop)",
                            uri: Some(
                                "nul:",
                            ),
                            info: None,
                            location: None,
                            make_and_model: Some(
                                "Send to Microsoft OneNote 16 Driver",
                            ),
                            state: Idle,
                            state_reasons: [],
                            state_message: None,
                            accepting: true,
                            jobs_waiting: 0,
                            oldest_job_age_s: None,
                            is_default: false,
                        },
                        PrintQueue {
                            name: "Microsoft Print to PDF",
                            uri: Some(
                                "PORTPROMPT:",
                            ),
                            info: None,
                            location: None,
                            make_and_model: Some(
                                "Microsoft Print To PDF",
                            ),
                            state: Idle,
                            state_reasons: [],
                            state_message: None,
                            accepting: true,
                            jobs_waiting: 0,
                            oldest_job_age_s: None,
                            is_default: false,
                        },
                        PrintQueue {
                            name: "HP LaserJet M507 - 2nd floor",
                            uri: Some(
                                "IP_10.1.2.40",
                            ),
                            info: Some(
                                "HP LaserJet Enterprise M507dn",
                            ),
                            location: Some(
                                "Building A, 2nd floor, copy room",
                            ),
                            make_and_model: Some(
                                "HP Universal Printing PCL 6",
                            ),
                            state: Idle,
                            state_reasons: [
                                "toner-low-warning",
                            ],
                            state_message: None,
                            accepting: true,
                            jobs_waiting: 0,
                            oldest_job_age_s: None,
                            is_default: true,
                        },
                        PrintQueue {
                            name: "Canon iR-ADV C5535 (Marketing)",
                            uri: Some(
                                "WSD-8d3f1a2b-6c4e-4f0a-9b7d-2e5c8a1f3d60.0035",
                            ),
                            info: None,
                            location: Some(
                                "Building B, marketing",
                            ),
                            make_and_model: Some(
                                "Canon Generic Plus UFR II",
                            ),
                            state: Stopped,
                            state_reasons: [
                                "offline-report",
                            ],
                            state_message: Some(
                                "first job: Error | Offline",
                            ),
                            accepting: true,
                            jobs_waiting: 2,
                            oldest_job_age_s: Some(
                                9448,
                            ),
                            is_default: false,
                        },
                    ],
                    default_printer: Some(
                        "HP LaserJet M507 - 2nd floor",
                    ),
                },
            )
        "#]]
        .assert_debug_eq(&printers);
    }

    #[test]
    fn a_stopped_spooler_prints_nothing() {
        let stopped = r#"{"Name": "Spooler", "State": "Stopped", "StartMode": "Disabled"}"#;
        let printers = printers_of(stopped, "", "", now()).map(|printers| printers.cups);
        assert_eq!(
            printers,
            Ok(CupsStatus::Absent {
                reason: "the Print Spooler service is stopped".to_owned()
            })
        );
    }
}
