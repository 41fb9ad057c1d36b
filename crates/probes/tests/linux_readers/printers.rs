//! The printers reader against recorded cupsd answers, served by a fake cupsd on a unix socket
//! below a temporary root; and the recorder that made them.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use expect_test::expect;
use sitrep_probes::cups::{http, jobs_request, printers_request};
use sitrep_probes::{Ctx, peripherals};

use crate::{check, fixture};

/// The recorded exchanges: (name, the IPP request body we sent).
fn exchanges() -> [(&'static str, Vec<u8>); 2] {
    [
        ("cups-get-printers", printers_request()),
        ("get-jobs", jobs_request()),
    ]
}

/// The recorded answers of one cupsd: `office` (three queues, jobs waiting) or `empty` (no
/// queue at all).
fn recordings(server: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cups")
        .join(server)
}

/// Re-records `tests/fixtures/cups/<SITREP_RECORD_AS>/` from a real cupsd (see the README
/// there): `SITREP_RECORD_CUPS=/path/to/cups.sock SITREP_RECORD_AS=office cargo test -p
/// sitrep-probes --test linux_readers record_cupsd_answers -- --ignored`.
#[test]
#[ignore = "needs a running cupsd named by SITREP_RECORD_CUPS"]
fn record_cupsd_answers() {
    let socket = std::env::var("SITREP_RECORD_CUPS").expect("SITREP_RECORD_CUPS names a socket");
    let server = std::env::var("SITREP_RECORD_AS").expect("SITREP_RECORD_AS names the recording");
    let recordings = recordings(&server);
    fs::create_dir_all(&recordings).expect("recordings directory");
    for (name, request) in exchanges() {
        let mut stream = UnixStream::connect(&socket).expect("cupsd listens");
        stream
            .write_all(&http::ipp_post(&request))
            .expect("request sent");
        let mut response = Vec::new();
        // The request asked cupsd to close the connection after its answer.
        (&mut stream)
            .take(1 << 20)
            .read_to_end(&mut response)
            .expect("response read");
        fs::write(recordings.join(format!("{name}.request")), &request).expect("written");
        fs::write(recordings.join(format!("{name}.response")), &response).expect("written");
    }
}

/// A root for the printers reader with a cupsd stand-in on `run/cups/cups.sock`, and the
/// desktop fixture's /sys and /proc beside it.
pub struct FakeCupsd {
    pub root: tempfile::TempDir,
    /// The IPP request bodies it received, in order.
    pub requests: mpsc::Receiver<Vec<u8>>,
}

/// What the stand-in does with each connection.
#[derive(Clone, Copy)]
pub enum Behaviour {
    /// Answers each recorded request with the response recorded from the named cupsd.
    Replay(&'static str),
    /// Answers with bytes that are not HTTP.
    Garbage,
    /// Reads the request and never answers.
    Silent,
}

impl FakeCupsd {
    /// Serves `connections` connections, then stops listening.
    pub fn start(behaviour: Behaviour, connections: usize) -> FakeCupsd {
        let root = tempfile::tempdir().expect("temporary root");
        let desktop = fixture("desktop-debian");
        for top in ["sys", "proc"] {
            std::os::unix::fs::symlink(desktop.join(top), root.path().join(top))
                .expect("symlink into the fixture");
        }
        let socket = root.path().join("run/cups/cups.sock");
        fs::create_dir_all(socket.parent().expect("has a parent")).expect("run/cups");
        let listener = UnixListener::bind(&socket).expect("bind the socket");
        let (sender, requests) = mpsc::channel();
        thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let Ok(mut stream) = stream else { return };
                let body = read_request(&mut stream);
                let answer = match behaviour {
                    Behaviour::Replay(server) => exchanges()
                        .into_iter()
                        .find(|(_, request)| *request == body)
                        .map(|(name, _)| {
                            fs::read(recordings(server).join(format!("{name}.response")))
                                .expect("recorded response")
                        })
                        .unwrap_or_else(|| b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
                    Behaviour::Garbage => b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n".to_vec(),
                    Behaviour::Silent => {
                        let _ = sender.send(body);
                        // Hold the connection open until the client gives up.
                        let mut rest = Vec::new();
                        let _ = (&mut stream).take(1024).read_to_end(&mut rest);
                        continue;
                    }
                };
                let _ = sender.send(body);
                let _ = stream.write_all(&answer);
            }
        });
        FakeCupsd { root, requests }
    }

    pub fn ctx(&self) -> Ctx {
        Ctx::at(self.root.path())
    }
}

/// The body of one HTTP request (headers up to the blank line, then `Content-Length` bytes).
fn read_request(stream: &mut UnixStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => received.push(byte[0]),
            _ => return Vec::new(),
        }
    }
    let head = String::from_utf8_lossy(&received).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream
        .read_exact(&mut body)
        .map(|()| body)
        .unwrap_or_default()
}

#[test]
fn desktop_queues_from_recorded_cupsd_answers() {
    let cupsd = FakeCupsd::start(Behaviour::Replay("office"), 2);
    let root = cupsd.root.path().to_owned();
    check(
        expect![[r#"
        Ok(
            Printers {
                cups: Present {
                    server: "<root>/run/cups/cups.sock",
                    version: Some(
                        "CUPS/2.4 IPP/2.1",
                    ),
                },
                queues: [
                    PrintQueue {
                        name: "Finance",
                        uri: Some(
                            "ipps://10.1.2.42/ipp/print",
                        ),
                        info: Some(
                            "Finance laser",
                        ),
                        location: Some(
                            "3rd floor",
                        ),
                        make_and_model: Some(
                            "HP LaserJet Series PCL 6 CUPS",
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
                        name: "Office-Laser",
                        uri: Some(
                            "ipp://10.1.2.40/ipp/print",
                        ),
                        info: Some(
                            "HP LaserJet, 2nd floor",
                        ),
                        location: Some(
                            "2nd floor, room 2.14",
                        ),
                        make_and_model: Some(
                            "HP LaserJet Series PCL 6 CUPS",
                        ),
                        state: Printing,
                        state_reasons: [],
                        state_message: Some(
                            "The printer may not exist or is unavailable at this time.",
                        ),
                        accepting: true,
                        jobs_waiting: 1,
                        oldest_job_age_s: Some(
                            772,
                        ),
                        is_default: true,
                    },
                    PrintQueue {
                        name: "Reception-Color",
                        uri: Some(
                            "socket://10.1.2.41:9100",
                        ),
                        info: Some(
                            "Colour printer at reception",
                        ),
                        location: Some(
                            "Reception",
                        ),
                        make_and_model: Some(
                            "HP Color LaserJet Series PCL 6 CUPS",
                        ),
                        state: Stopped,
                        state_reasons: [
                            "paused",
                        ],
                        state_message: Some(
                            "Out of toner",
                        ),
                        accepting: false,
                        jobs_waiting: 2,
                        oldest_job_age_s: Some(
                            772,
                        ),
                        is_default: false,
                    },
                ],
                default_printer: Some(
                    "Office-Laser",
                ),
            },
        )
    "#]],
        &root,
        &peripherals::printers(&cupsd.ctx()),
    );
    let asked: Vec<Vec<u8>> = cupsd.requests.try_iter().collect();
    assert_eq!(
        asked,
        [printers_request(), jobs_request()],
        "the recorded requests"
    );
}

#[test]
fn a_cupsd_without_queues() {
    let cupsd = FakeCupsd::start(Behaviour::Replay("empty"), 2);
    let root = cupsd.root.path().to_owned();
    check(
        expect![[r#"
        Ok(
            Printers {
                cups: Present {
                    server: "<root>/run/cups/cups.sock",
                    version: Some(
                        "CUPS/2.4 IPP/2.1",
                    ),
                },
                queues: [],
                default_printer: None,
            },
        )
    "#]],
        &root,
        &peripherals::printers(&cupsd.ctx()),
    );
}

#[test]
fn a_server_that_is_not_cupsd_is_an_error() {
    let cupsd = FakeCupsd::start(Behaviour::Garbage, 1);
    let root = cupsd.root.path().to_owned();
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Parse,
                message: "CUPS at <root>/run/cups/cups.sock, CUPS-Get-Printers: malformed response: status line \"SSH-2.0-OpenSSH_9.2p1 Debian-2\"",
            },
        )
    "#]],
        &root,
        &peripherals::printers(&cupsd.ctx()),
    );
}

#[test]
fn a_stale_socket_is_an_error_and_no_socket_is_no_cups() {
    // cupsd died and left its socket behind: nothing listens on it any more.
    let root = tempfile::tempdir().expect("temporary root");
    let socket = root.path().join("run/cups/cups.sock");
    fs::create_dir_all(socket.parent().expect("has a parent")).expect("run/cups");
    drop(UnixListener::bind(&socket).expect("bind the socket"));
    let ctx = Ctx::at(root.path());
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Io,
                message: "cannot connect to CUPS at <root>/run/cups/cups.sock: Connection refused (os error 111)",
            },
        )
    "#]],
        root.path(),
        &peripherals::printers(&ctx),
    );
    fs::remove_file(&socket).expect("removed");
    check(
        expect![[r#"
        Ok(
            Printers {
                cups: Absent {
                    reason: "no CUPS socket at <root>/run/cups/cups.sock",
                },
                queues: [],
                default_printer: None,
            },
        )
    "#]],
        root.path(),
        &peripherals::printers(&ctx),
    );
}

#[test]
fn a_silent_cupsd_costs_the_deadline_not_the_report() {
    let cupsd = FakeCupsd::start(Behaviour::Silent, 1);
    let root = cupsd.root.path().to_owned();
    let started = Instant::now();
    check(
        expect![[r#"
        Error(
            SectionError {
                kind: Timeout,
                message: "CUPS at <root>/run/cups/cups.sock, CUPS-Get-Printers: no complete answer within 4 s",
            },
        )
    "#]],
        &root,
        &peripherals::printers(&cupsd.ctx()),
    );
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(6)).contains(&waited),
        "gave up after {waited:?}"
    );
}
