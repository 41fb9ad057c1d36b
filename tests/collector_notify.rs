//! The real collector under a service manager's eye (`Type=notify`): it sends `READY=1` to
//! `$NOTIFY_SOCKET` once it listens, and `STOPPING=1` when SIGTERM stops it. Loopback only.

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::Duration;

use sitrep_tests::ingest::CollectorBinary;

/// The next notification, or `None` after 20 s.
fn receive(socket: &UnixDatagram) -> Option<String> {
    let mut buffer = [0; 256];
    let length = socket.recv(&mut buffer).ok()?;
    Some(String::from_utf8_lossy(&buffer[..length]).into_owned())
}

#[test]
fn the_collector_tells_systemd_when_it_serves_and_when_it_stops() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("a timeout");
    let binary = CollectorBinary {
        path: assert_cmd::cargo::cargo_bin("sitrep-collector"),
        data_dir: dir.path().join("data"),
        database_url: None,
    };
    let mut child = binary
        .command()
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-http"])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("SITREP_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the collector");
    let ready = receive(&socket);
    // Stopped in any case, so no collector outlives the test.
    let pid = rustix::process::Pid::from_child(&child);
    let terminated = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    let stopping = receive(&socket);
    if terminated.is_err() || stopping.is_none() {
        let _ = child.kill();
    }
    let status = child.wait().expect("the collector ends");
    assert_eq!(ready.as_deref(), Some("READY=1"));
    assert_eq!(stopping.as_deref(), Some("STOPPING=1"));
    assert!(status.success(), "{status}");
}
