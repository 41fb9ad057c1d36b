//! What the agent's integration tests share: running the real binary, a collector stand-in on
//! loopback, and an identity written as `sitrep enroll` writes it.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::Command;

pub const AGENT_ID: &str = "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e60";
pub const AGENT_KEY: &str = "sa_0123456789abcdef0123456789abcdef";

pub fn sitrep(config: &Path, state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sitrep"));
    command
        .env_remove("SITREP_LOG")
        .arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(state);
    command
}

pub fn empty_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/empty.toml")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A port nobody listens on: bound, noted, released.
pub fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// Writes the identity `sitrep enroll` would have saved for `collector`.
pub fn write_identity(state: &Path, collector: &str) {
    std::fs::create_dir_all(state).expect("state dir");
    std::fs::write(
        state.join("identity.json"),
        serde_json::json!({
            "collector": collector,
            "agent_id": AGENT_ID,
            "agent_key": AGENT_KEY,
            "enrolled_at": "2026-03-01T08:00:00Z",
        })
        .to_string(),
    )
    .expect("write the identity");
}

/// A request as received: its head (request line and headers) and its body.
pub type Recorded = (String, Vec<u8>);

/// A collector stand-in: answers each route with a canned status and body and records what it
/// was sent. Serves on its own thread until dropped, at most for a minute.
pub struct FakeCollector {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeCollector {
    pub fn start(answers: &[(&'static str, u16, String)]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("address").port()
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let answers = answers.to_vec();
        let thread = {
            let (requests, stop) = (Arc::clone(&requests), Arc::clone(&stop));
            std::thread::spawn(move || {
                let give_up = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::Relaxed) && Instant::now() < give_up {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Some(request) = serve(stream, &answers) {
                                requests.lock().expect("lock").push(request);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        FakeCollector {
            url,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("lock").clone()
    }
}

impl Drop for FakeCollector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request (head and `Content-Length` body) and answers by route prefix.
fn serve(mut stream: TcpStream, answers: &[(&'static str, u16, String)]) -> Option<Recorded> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut chunk = [0; 8192];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 || data.len() > 1 << 20 {
            return None;
        }
        data.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length.min(1 << 20) {
        let read = stream.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    let target = head.split(' ').nth(1).unwrap_or_default();
    let (status, answer) = answers
        .iter()
        .find(|(route, _, _)| target.starts_with(route))
        .map_or((404, String::new()), |(_, status, answer)| {
            (*status, answer.clone())
        });
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{answer}",
        answer.len()
    );
    stream.write_all(response.as_bytes()).ok()?;
    Some((head, body))
}

pub fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}
