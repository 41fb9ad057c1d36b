//! Asking cupsd about its print queues: CUPS-Get-Printers and Get-Jobs over IPP, one HTTP
//! connection per request, turned into [`Printers`]. The transport (a unix socket, TCP) is the
//! caller's, so this works wherever CUPS runs (Linux, macOS) and in tests on recorded answers.

pub mod http;
pub mod ipp;

use std::io::{self, Read, Write};

use sitrep_snapshot::{
    CupsStatus, PrintQueue, PrinterState, Printers, SectionError, SectionErrorKind,
};

use crate::credentials::strip_credentials;
use http::HttpError;
use ipp::{IppError, Request, Response, tag};

const CUPS_GET_PRINTERS: u16 = 0x4002;
const GET_JOBS: u16 = 0x000a;
/// CUPS answers `client-error-not-found` when it has no queue (or no job) at all.
const STATUS_NOT_FOUND: u16 = 0x0406;
/// `CUPS_PRINTER_DEFAULT` in the `printer-type` bits: this queue is the server's default.
const PRINTER_TYPE_DEFAULT: i32 = 0x0002_0000;
/// Far above what thousands of queued jobs take; a larger answer is not cupsd.
const RESPONSE_LIMIT: usize = 8 << 20;

/// The printer attributes asked for; anything else cupsd knows stays there.
pub const PRINTER_ATTRIBUTES: &[&str] = &[
    "printer-name",
    "device-uri",
    "printer-info",
    "printer-location",
    "printer-make-and-model",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "printer-type",
];

/// The job attributes asked for: no job names or user names, which say what people print.
pub const JOB_ATTRIBUTES: &[&str] = &[
    "job-id",
    "job-printer-uri",
    "job-state",
    "time-at-creation",
    "job-printer-up-time",
];

#[derive(Debug, thiserror::Error)]
pub enum CupsError {
    #[error("cannot connect to CUPS at {server}: {source}")]
    Connect { server: String, source: io::Error },
    #[error("CUPS at {server}, {operation}: {source}")]
    Exchange {
        server: String,
        operation: &'static str,
        source: HttpError,
    },
    #[error("CUPS at {server}, {operation}: HTTP status {status}")]
    HttpStatus {
        server: String,
        operation: &'static str,
        status: u16,
    },
    #[error("CUPS at {server}, {operation}: {source}")]
    Ipp {
        server: String,
        operation: &'static str,
        source: IppError,
    },
    #[error("CUPS at {server}, {operation}: IPP status {status:#06x} ({message})")]
    IppStatus {
        server: String,
        operation: &'static str,
        status: u16,
        message: String,
    },
}

impl From<CupsError> for SectionError {
    fn from(error: CupsError) -> Self {
        let io_kind = match &error {
            CupsError::Connect { source, .. }
            | CupsError::Exchange {
                source: HttpError::Io(source),
                ..
            } => Some(source.kind()),
            _ => None,
        };
        let kind = match (&error, io_kind) {
            (_, Some(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)) => {
                SectionErrorKind::Timeout
            }
            (_, Some(io::ErrorKind::PermissionDenied)) => SectionErrorKind::PermissionDenied,
            (
                CupsError::Connect { .. }
                | CupsError::Exchange {
                    source: HttpError::Io(_) | HttpError::Incomplete { .. },
                    ..
                },
                _,
            ) => SectionErrorKind::Io,
            (
                CupsError::Exchange { .. }
                | CupsError::HttpStatus { .. }
                | CupsError::Ipp { .. }
                | CupsError::IppStatus { .. },
                _,
            ) => SectionErrorKind::Parse,
        };
        SectionError {
            kind,
            message: error.to_string(),
        }
    }
}

/// The CUPS-Get-Printers request: every local queue with [`PRINTER_ATTRIBUTES`].
pub fn printers_request() -> Vec<u8> {
    Request::new(CUPS_GET_PRINTERS, 1)
        .attribute(tag::KEYWORD, "requested-attributes", PRINTER_ATTRIBUTES)
        .finish()
}

/// The Get-Jobs request: the jobs not yet completed on every queue, with [`JOB_ATTRIBUTES`].
pub fn jobs_request() -> Vec<u8> {
    Request::new(GET_JOBS, 2)
        .attribute(tag::URI, "printer-uri", &["ipp://localhost/"])
        .attribute(tag::KEYWORD, "which-jobs", &["not-completed"])
        .attribute(tag::KEYWORD, "requested-attributes", JOB_ATTRIBUTES)
        .finish()
}

/// Asks the cupsd behind `connect` (called once per request; `server` names it in errors) for
/// its queues and their waiting jobs.
pub fn query<S: Read + Write>(
    server: &str,
    mut connect: impl FnMut() -> io::Result<S>,
) -> Result<Printers, CupsError> {
    let (printers, version) = exchange(
        server,
        "CUPS-Get-Printers",
        &printers_request(),
        &mut connect,
    )?;
    let (jobs, _) = exchange(server, "Get-Jobs", &jobs_request(), &mut connect)?;
    let queues = print_queues(&printers, &jobs);
    Ok(Printers {
        cups: CupsStatus::Present {
            server: server.to_owned(),
            version,
        },
        default_printer: queues
            .iter()
            .find(|queue| queue.is_default)
            .map(|queue| queue.name.clone()),
        queues,
    })
}

/// One request on a fresh connection: its decoded answer and the server's `Server` header.
/// "Not found" is an empty answer, as CUPS says it when it has no queue or no job.
fn exchange<S: Read + Write>(
    server: &str,
    operation: &'static str,
    request: &[u8],
    connect: &mut impl FnMut() -> io::Result<S>,
) -> Result<(Response, Option<String>), CupsError> {
    let mut stream = connect().map_err(|source| CupsError::Connect {
        server: server.to_owned(),
        source,
    })?;
    let exchange_error = |source: HttpError| CupsError::Exchange {
        server: server.to_owned(),
        operation,
        source,
    };
    stream
        .write_all(&http::ipp_post(request))
        .and_then(|()| stream.flush())
        .map_err(|source| exchange_error(HttpError::Io(source)))?;
    let reply = http::read_response(&mut stream, RESPONSE_LIMIT).map_err(exchange_error)?;
    if reply.status != 200 {
        return Err(CupsError::HttpStatus {
            server: server.to_owned(),
            operation,
            status: reply.status,
        });
    }
    let response = ipp::decode(&reply.body).map_err(|source| CupsError::Ipp {
        server: server.to_owned(),
        operation,
        source,
    })?;
    if !response.is_success() && response.status != STATUS_NOT_FOUND {
        return Err(CupsError::IppStatus {
            server: server.to_owned(),
            operation,
            status: response.status,
            message: response
                .status_message()
                .unwrap_or("no status message")
                .to_owned(),
        });
    }
    Ok((response, reply.server))
}

/// The queues of a CUPS-Get-Printers answer, each with the jobs of a Get-Jobs answer that
/// name it, sorted by name.
pub fn print_queues(printers: &Response, jobs: &Response) -> Vec<PrintQueue> {
    let jobs: Vec<WaitingJob> = jobs.groups(tag::JOB).filter_map(WaitingJob::of).collect();
    let mut queues: Vec<PrintQueue> = printers
        .groups(tag::PRINTER)
        .filter_map(|printer| {
            let name = printer.string("printer-name")?.to_owned();
            let waiting: Vec<&WaitingJob> = jobs.iter().filter(|job| job.queue == name).collect();
            Some(PrintQueue {
                uri: printer.string("device-uri").map(strip_credentials),
                info: non_empty(printer.string("printer-info")),
                location: non_empty(printer.string("printer-location")),
                make_and_model: non_empty(printer.string("printer-make-and-model")),
                state: match printer.integer("printer-state") {
                    Some(4) => PrinterState::Printing,
                    Some(5) => PrinterState::Stopped,
                    _ => PrinterState::Idle,
                },
                state_reasons: printer
                    .get("printer-state-reasons")
                    .map(|reasons| {
                        reasons
                            .strings()
                            .filter(|reason| *reason != "none")
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                state_message: non_empty(printer.string("printer-state-message")),
                accepting: printer.boolean("printer-is-accepting-jobs").unwrap_or(true),
                jobs_waiting: u32::try_from(waiting.len()).unwrap_or(u32::MAX),
                oldest_job_age_s: waiting.iter().filter_map(|job| job.age_s).max(),
                is_default: printer
                    .integer("printer-type")
                    .is_some_and(|bits| bits & PRINTER_TYPE_DEFAULT != 0),
                name,
            })
        })
        .collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    queues
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// A job not yet completed, as Get-Jobs describes it.
struct WaitingJob {
    /// The queue it waits in.
    queue: String,
    /// By the server's own clock (`job-printer-up-time` is its time now, in the same unit as
    /// `time-at-creation`), so the agent's clock cannot skew it.
    age_s: Option<u64>,
}

impl WaitingJob {
    fn of(job: &ipp::Group) -> Option<WaitingJob> {
        // `ipp://localhost/printers/Office-Laser` or `.../classes/Floor-2`.
        let queue = job
            .string("job-printer-uri")?
            .rsplit('/')
            .next()
            .filter(|name| !name.is_empty())?
            .to_owned();
        let age_s = match (
            job.integer("job-printer-up-time"),
            job.integer("time-at-creation"),
        ) {
            (Some(now), Some(created)) => u64::try_from(i64::from(now) - i64::from(created)).ok(),
            _ => None,
        };
        Some(WaitingJob { queue, age_s })
    }
}
