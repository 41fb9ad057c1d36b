//! Print queues from cupsd, asked over its local socket below the root (and, on the live
//! system only, on localhost:631 where it listens on TCP alone), every exchange under a short
//! deadline so a hung cupsd costs seconds, not the report.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use sitrep_snapshot::{CupsStatus, Printers, Section};

use crate::Ctx;
use crate::cups;

const CUPS_SOCKET: &str = "/run/cups/cups.sock";
const CUPS_PORT: u16 = 631;
/// For both requests together: cupsd answers these in milliseconds when it is well.
const DEADLINE: Duration = Duration::from_secs(4);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Gathers the print queues, or says that there is no CUPS to ask.
pub fn gather(ctx: &Ctx) -> Section<Printers> {
    let deadline = Instant::now() + DEADLINE;
    let socket = ctx.path(CUPS_SOCKET);
    if fs::symlink_metadata(&socket).is_ok() {
        return cups::query(&socket.display().to_string(), || {
            let stream = UnixStream::connect(&socket)?;
            Ok(Timed { stream, deadline })
        })
        .into();
    }
    let no_socket = format!("no CUPS socket at {}", socket.display());
    if ctx.root != Path::new("/") {
        return absent(no_socket);
    }
    let local = SocketAddr::from(([127, 0, 0, 1], CUPS_PORT));
    match TcpStream::connect_timeout(&local, CONNECT_TIMEOUT) {
        Ok(_) => cups::query(&format!("localhost:{CUPS_PORT}"), || {
            let stream = TcpStream::connect_timeout(&local, CONNECT_TIMEOUT)?;
            Ok(Timed { stream, deadline })
        })
        .into(),
        Err(error) => absent(format!(
            "{no_socket}, and nothing answers on localhost:{CUPS_PORT} ({error})"
        )),
    }
}

fn absent(reason: String) -> Section<Printers> {
    Section::Ok(Printers {
        cups: CupsStatus::Absent { reason },
        queues: Vec::new(),
        default_printer: None,
    })
}

/// The socket timeouts both stream kinds offer.
trait Timeouts {
    fn set_timeouts(&self, timeout: Duration) -> io::Result<()>;
}

impl Timeouts for UnixStream {
    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

impl Timeouts for TcpStream {
    fn set_timeouts(&self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

/// A stream whose every read and write must finish by one deadline, so a server that trickles
/// bytes cannot stretch the exchange either.
struct Timed<S> {
    stream: S,
    deadline: Instant,
}

impl<S: Timeouts> Timed<S> {
    fn arm(&self) -> io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        self.stream.set_timeouts(left)
    }
}

/// A socket timeout reads as "Resource temporarily unavailable"; say what it means instead.
fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no complete answer within {} s", DEADLINE.as_secs()),
    )
}

fn name_timeout(error: io::Error) -> io::Error {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out(),
        _ => error,
    }
}

impl<S: Timeouts + Read> Read for Timed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.arm()?;
        self.stream.read(buf).map_err(name_timeout)
    }
}

impl<S: Timeouts + Write> Write for Timed<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        self.stream.write(buf).map_err(name_timeout)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}
