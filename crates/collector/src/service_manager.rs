//! Telling systemd (`Type=notify`) when the collector is ready to serve and when it stops: one
//! datagram to the socket `$NOTIFY_SOCKET` names, as `sd_notify(3)` does. Not under systemd
//! (no variable), nothing is sent.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

/// Sends `state` (e.g. `READY=1`) to the service manager, if one listens; a failure is logged,
/// never fatal: serving matters more than saying so.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(error) = send(&socket, state) {
        tracing::warn!(%error, state, "cannot tell the service manager");
    }
}

/// Sends `state` to the datagram socket at `socket`: a path, or `@name` for an abstract socket.
pub fn send(socket: &OsStr, state: &str) -> io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    match socket.as_bytes().strip_prefix(b"@") {
        Some(name) => send_abstract(&datagram, name, state),
        None => datagram
            .send_to(state.as_bytes(), Path::new(socket))
            .map(drop),
    }
}

#[cfg(target_os = "linux")]
fn send_abstract(datagram: &UnixDatagram, name: &[u8], state: &str) -> io::Result<()> {
    use std::os::linux::net::SocketAddrExt;
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    datagram.send_to_addr(state.as_bytes(), &address).map(drop)
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &[u8], _: &str) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_reaches_the_socket_by_path_and_by_abstract_name() {
        let dir = std::env::temp_dir().join(format!("sitrep-notify-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).expect("bind");
        send(path.as_os_str(), "READY=1").expect("send");
        let mut buffer = [0; 64];
        let length = listener.recv(&mut buffer).expect("receive");
        assert_eq!(&buffer[..length], b"READY=1");
        std::fs::remove_dir_all(&dir).expect("clean up");

        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let name = format!("sitrep-notify-{}", uuid::Uuid::now_v7());
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .expect("an abstract address");
            let listener = UnixDatagram::bind_addr(&address).expect("bind");
            send(OsStr::new(&format!("@{name}")), "STOPPING=1").expect("send");
            let length = listener.recv(&mut buffer).expect("receive");
            assert_eq!(&buffer[..length], b"STOPPING=1");
        }
    }
}
