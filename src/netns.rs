//! A network lab for tests: namespaces joined by veth pairs, servers (dnsmasq, HTTP, HTTPS)
//! running inside them, and code of the test process run inside them. Dropping the [`Lab`] kills
//! its servers by PID and deletes its namespaces and their `/etc/netns` files, also when the test
//! panicked.
//!
//! Nothing here touches the host's own network: every interface is made inside the lab's
//! namespaces, whose only links lead to each other.
//!
//! ```no_run
//! # fn main() -> Result<(), sitrep_tests::netns::LabError> {
//! use sitrep_tests::netns::Lab;
//! let Some(mut lab) = Lab::or_skip("my_test")? else { return Ok(()) };
//! let client = lab.namespace("c")?;
//! let server = lab.namespace("s")?;
//! lab.link(&client, "10.77.0.2/24", &server, "10.77.0.1/24")?;
//! lab.ip(&client, &["route", "add", "default", "via", "10.77.0.1"])?;
//! lab.resolv_conf(&client, "nameserver 10.77.0.1\n")?;
//! let records = ["--address=/agent.test/10.1.2.3", "--local=/agent.test/"];
//! lab.dnsmasq(&server, [10, 77, 0, 1].into(), &records)?;
//! // A real binary, which sees the namespace's resolv.conf:
//! let report = lab.command(&client, "sitrep").args(["report", "--json"]).output();
//! // Code of the test itself, whose sockets live in the namespace:
//! let open = lab.run_in(&client, || std::net::TcpStream::connect("10.77.0.1:53").is_ok())?;
//! # Ok(()) }
//! ```

use std::ffi::OsStr;
use std::fs::{self, File};
use std::future::Future;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub use rustix::process::Signal;
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

/// How long a server may take to start listening.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the lab could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Namespaces cannot be made here (not root, or the kernel or a sandbox forbids them): tests
    /// skip instead of failing.
    #[error("network namespaces are not available: {0}")]
    Unavailable(String),
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("cannot {action}: {source}")]
    Io { action: String, source: io::Error },
    #[error("{server} did not listen on {address} within {waited:?}; its log:\n{log}")]
    NotListening {
        server: String,
        address: SocketAddr,
        waited: Duration,
        log: String,
    },
}

impl LabError {
    fn io(action: impl Into<String>) -> impl FnOnce(io::Error) -> LabError {
        let action = action.into();
        move |source| LabError::Io { action, source }
    }
}

/// A named network namespace of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// The name `ip netns` knows it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn handle_path(&self) -> PathBuf {
        Path::new("/var/run/netns").join(&self.name)
    }

    fn etc_dir(&self) -> PathBuf {
        etc_dir(&self.name)
    }
}

/// The interface names of the two ends of a veth pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veth {
    /// The end in the first namespace given to [`Lab::link`].
    pub a: String,
    /// The end in the second one.
    pub b: String,
}

/// Namespaces, links and servers of one test, removed on drop.
#[derive(Debug)]
pub struct Lab {
    /// Prefix of every namespace name: unique per process and lab.
    id: String,
    namespaces: Vec<Netns>,
    servers: Vec<Server>,
    links: u32,
    dir: tempfile::TempDir,
}

#[derive(Debug)]
struct Server {
    name: String,
    child: Child,
    log: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Tcp,
    Udp,
}

impl Lab {
    /// An empty lab, or [`LabError::Unavailable`] where namespaces cannot be made.
    pub fn new() -> Result<Lab, LabError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        namespaces_available()?;
        let dir = tempfile::Builder::new()
            .prefix("sitrep-lab-")
            .tempdir()
            .map_err(LabError::io("create the lab's directory"))?;
        let id = format!(
            "{PREFIX}{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Ok(Lab {
            id,
            namespaces: Vec::new(),
            servers: Vec::new(),
            links: 0,
            dir,
        })
    }

    /// [`Lab::new`], or `None` after printing `skipped: TEST: reason` where namespaces cannot be
    /// made. Written straight to stderr, past the test harness's capture, so the skip is seen.
    pub fn or_skip(test: &str) -> Result<Option<Lab>, LabError> {
        match Lab::new() {
            Ok(lab) => Ok(Some(lab)),
            Err(LabError::Unavailable(reason)) => {
                // Nothing sensible to do if stderr itself is gone.
                let _ = writeln!(
                    io::stderr(),
                    "skipped: {test}: network namespaces are not available: {reason}"
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// A scratch directory removed with the lab (server logs, pid files, certificates).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A new namespace with its loopback up.
    pub fn namespace(&mut self, label: &str) -> Result<Netns, LabError> {
        let netns = Netns {
            name: format!("{}{label}", self.id),
        };
        run(Command::new("ip").args(["netns", "add", &netns.name]))?;
        self.namespaces.push(netns.clone());
        self.ip(&netns, &["link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// A veth pair from `a` to `b`, both ends up with the given addresses (`10.77.0.2/24`).
    pub fn link(
        &mut self,
        a: &Netns,
        a_address: &str,
        b: &Netns,
        b_address: &str,
    ) -> Result<Veth, LabError> {
        let veth = Veth {
            a: format!("veth{}a", self.links),
            b: format!("veth{}b", self.links),
        };
        self.links += 1;
        self.ip(
            a,
            &[
                "link", "add", &veth.a, "type", "veth", "peer", "name", &veth.b, "netns", &b.name,
            ],
        )?;
        self.add_address(a, &veth.a, a_address)?;
        self.add_address(b, &veth.b, b_address)?;
        self.ip(a, &["link", "set", &veth.a, "up"])?;
        self.ip(b, &["link", "set", &veth.b, "up"])?;
        Ok(veth)
    }

    /// Adds an address (`10.77.0.3/24`, `fe80::1/64`) to an interface. IPv6 addresses skip
    /// duplicate address detection so they are usable at once.
    pub fn add_address(
        &self,
        netns: &Netns,
        interface: &str,
        address: &str,
    ) -> Result<(), LabError> {
        let mut args = vec!["address", "add", address, "dev", interface];
        if address.contains(':') {
            args.push("nodad");
        }
        self.ip(netns, &args)
    }

    /// Runs `ip ARGS...` inside the namespace, e.g.
    /// `["route", "add", "default", "via", "10.77.0.1"]`.
    pub fn ip(&self, netns: &Netns, args: &[&str]) -> Result<(), LabError> {
        run(Command::new("ip").arg("-n").arg(&netns.name).args(args)).map(drop)
    }

    /// Sets a sysctl inside the namespace, e.g. `net.ipv4.ping_group_range` to `0 2147483647`.
    pub fn sysctl(&self, netns: &Netns, key: &str, value: &str) -> Result<(), LabError> {
        run(self
            .command(netns, "sysctl")
            .arg("-qw")
            .arg(format!("{key}={value}")))
        .map(drop)
    }

    /// Writes the namespace's resolv.conf, which programs started with [`Lab::command`] see as
    /// `/etc/resolv.conf`.
    pub fn resolv_conf(&self, netns: &Netns, content: &str) -> Result<(), LabError> {
        let dir = netns.etc_dir();
        fs::create_dir_all(&dir).map_err(LabError::io(format!("create {}", dir.display())))?;
        let path = dir.join("resolv.conf");
        fs::write(&path, content).map_err(LabError::io(format!("write {}", path.display())))
    }

    /// A command running `program` inside the namespace (through `ip netns exec`, which also
    /// shows it the namespace's `/etc/netns/NAME` files).
    pub fn command(&self, netns: &Netns, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &netns.name]).arg(program);
        command
    }

    /// Starts a long-running program (usually made by [`Lab::command`]) with its output in
    /// `NAME.log` in the lab directory; it is killed when the lab is dropped. Returns its PID.
    pub fn spawn(&mut self, name: &str, mut command: Command) -> Result<u32, LabError> {
        let log = self.dir.path().join(format!("{name}.log"));
        let output =
            File::create(&log).map_err(LabError::io(format!("create {}", log.display())))?;
        let errors = output
            .try_clone()
            .map_err(LabError::io("share the log file"))?;
        command.stdin(Stdio::null()).stdout(output).stderr(errors);
        let child = command
            .spawn()
            .map_err(LabError::io(format!("start {name}: {command:?}")))?;
        let pid = child.id();
        self.servers.push(Server {
            name: name.to_owned(),
            child,
            log,
        });
        Ok(pid)
    }

    /// Sends `signal` to a process this lab started, by its PID.
    pub fn signal(&self, pid: u32, signal: Signal) -> Result<(), LabError> {
        let server = self
            .servers
            .iter()
            .find(|server| server.child.id() == pid)
            .ok_or_else(|| LabError::Io {
                action: format!("signal PID {pid}"),
                source: io::Error::new(io::ErrorKind::NotFound, "not started by this lab"),
            })?;
        let target = rustix::process::Pid::from_raw(pid as i32).ok_or_else(|| LabError::Io {
            action: format!("signal PID {pid}"),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a PID"),
        })?;
        rustix::process::kill_process(target, signal).map_err(|errno| LabError::Io {
            action: format!("signal {}", server.name),
            source: errno.into(),
        })
    }

    /// Sends `signal` to a process this lab started and waits up to `timeout` for it to end;
    /// returns how it ended. It is then forgotten (a later start may reuse its name).
    pub fn stop(
        &mut self,
        pid: u32,
        signal: Signal,
        timeout: Duration,
    ) -> Result<ExitStatus, LabError> {
        self.signal(pid, signal)?;
        let index = self
            .servers
            .iter()
            .position(|server| server.child.id() == pid)
            .ok_or_else(|| LabError::Io {
                action: format!("wait for PID {pid}"),
                source: io::Error::new(io::ErrorKind::NotFound, "not started by this lab"),
            })?;
        let started = Instant::now();
        loop {
            let server = &mut self.servers[index];
            if let Some(status) = server
                .child
                .try_wait()
                .map_err(LabError::io(format!("wait for {}", server.name)))?
            {
                self.servers.remove(index);
                return Ok(status);
            }
            if started.elapsed() > timeout {
                return Err(LabError::Io {
                    action: format!("wait for {} to end", server.name),
                    source: io::Error::new(io::ErrorKind::TimedOut, format!("{timeout:?}")),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The output so far of a process started with [`Lab::spawn`] under `name`.
    pub fn log(&self, name: &str) -> String {
        fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Starts dnsmasq answering on `listen` port 53 from `records` alone (dnsmasq options such
    /// as `--address=/agent.test/10.1.2.3` and `--local=/agent.test/`): no upstream servers, no
    /// hosts file. Returns once it listens.
    pub fn dnsmasq(
        &mut self,
        netns: &Netns,
        listen: IpAddr,
        records: &[&str],
    ) -> Result<(), LabError> {
        let name = format!("dnsmasq-{}-{listen}", netns.name);
        let pid_file = self.dir.path().join(format!("{name}.pid"));
        let mut command = self.command(netns, "dnsmasq");
        command
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--conf-file=/dev/null",
                "--log-facility=-",
                "--log-queries",
            ])
            .arg(format!("--listen-address={listen}"))
            .arg(format!("--pid-file={}", pid_file.display()))
            .args(records);
        let pid = self.spawn(&name, command)?;
        self.wait_listening(pid, Protocol::Udp, SocketAddr::new(listen, 53))
    }

    /// Starts a plain HTTP server on `address` serving a small page at `/` (and 404 elsewhere).
    /// Returns once it listens.
    pub fn http_server(&mut self, netns: &Netns, address: SocketAddr) -> Result<(), LabError> {
        self.python_http_server(netns, address, &[])
    }

    /// Starts an HTTPS server on `address` with the given certificate and key (PEM). Returns
    /// once it listens.
    pub fn https_server(
        &mut self,
        netns: &Netns,
        address: SocketAddr,
        certificate_pem: &str,
        key_pem: &str,
    ) -> Result<(), LabError> {
        let stem = format!("https-{}-{}", netns.name, address.port());
        let certificate = self.write(&format!("{stem}.crt"), certificate_pem)?;
        let key = self.write(&format!("{stem}.key"), key_pem)?;
        self.python_http_server(netns, address, &[certificate.as_os_str(), key.as_os_str()])
    }

    fn python_http_server(
        &mut self,
        netns: &Netns,
        address: SocketAddr,
        tls: &[&OsStr],
    ) -> Result<(), LabError> {
        let root = self.dir.path().join("www");
        fs::create_dir_all(&root).map_err(LabError::io(format!("create {}", root.display())))?;
        fs::write(root.join("index.html"), "<p>sitrep lab</p>\n")
            .map_err(LabError::io(format!("write {}/index.html", root.display())))?;
        let mut command = self.command(netns, "python3");
        command
            .args(["-c", HTTP_SERVER_PY])
            .arg(address.ip().to_string())
            .arg(address.port().to_string())
            .args(tls)
            .current_dir(&root);
        let scheme = if tls.is_empty() { "http" } else { "https" };
        let pid = self.spawn(
            &format!("{scheme}-{}-{}", netns.name, address.port()),
            command,
        )?;
        self.wait_listening(pid, Protocol::Tcp, address)
    }

    /// Writes `file` where every user can read it, for programs a test runs as an unprivileged
    /// user: the checkout may sit below a directory only root can enter (a `mktemp -d`).
    pub fn shared_file(&self, file: &str, content: &str) -> Result<PathBuf, LabError> {
        use std::os::unix::fs::PermissionsExt;
        let shared = self.dir.path().join("shared");
        fs::create_dir_all(&shared)
            .map_err(LabError::io(format!("create {}", shared.display())))?;
        // The lab dir is entered, never listed, by others; its other files stay private.
        for (dir, mode) in [(self.dir.path(), 0o711), (shared.as_path(), 0o755)] {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode))
                .map_err(LabError::io(format!("open up {}", dir.display())))?;
        }
        let path = shared.join(file);
        fs::write(&path, content).map_err(LabError::io(format!("write {}", path.display())))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
            .map_err(LabError::io(format!("open up {}", path.display())))?;
        Ok(path)
    }

    fn write(&self, file: &str, content: &str) -> Result<PathBuf, LabError> {
        let path = self.dir.path().join(file);
        fs::write(&path, content).map_err(LabError::io(format!("write {}", path.display())))?;
        Ok(path)
    }

    /// Runs `task` on a thread that has entered the namespace, so every socket it opens (and
    /// every thread it starts) lives there. A panic in `task` is passed on to the caller.
    pub fn run_in<T: Send>(
        &self,
        netns: &Netns,
        task: impl FnOnce() -> T + Send,
    ) -> Result<T, LabError> {
        let path = netns.handle_path();
        let handle = File::open(&path).map_err(LabError::io(format!("open {}", path.display())))?;
        let joined = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    move_into_link_name_space(handle.as_fd(), Some(LinkNameSpaceType::Network))
                        .map_err(|errno| LabError::Io {
                            action: format!("enter {}", path.display()),
                            source: errno.into(),
                        })?;
                    Ok(task())
                })
                .join()
        });
        joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Runs the future `make` returns on a single-threaded tokio runtime inside the namespace.
    pub fn block_on_in<F>(
        &self,
        netns: &Netns,
        make: impl FnOnce() -> F + Send,
    ) -> Result<F::Output, LabError>
    where
        F: Future,
        F::Output: Send,
    {
        self.run_in(netns, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(LabError::io("build a tokio runtime"))?;
            Ok(runtime.block_on(make()))
        })?
    }

    fn wait_listening(
        &mut self,
        pid: u32,
        protocol: Protocol,
        address: SocketAddr,
    ) -> Result<(), LabError> {
        let started = Instant::now();
        loop {
            if listening(pid, protocol, address) {
                return Ok(());
            }
            let server = self
                .servers
                .iter_mut()
                .find(|server| server.child.id() == pid);
            let exited = server.is_some_and(|server| !matches!(server.child.try_wait(), Ok(None)));
            if exited || started.elapsed() > READY_TIMEOUT {
                let server = self.servers.iter().find(|server| server.child.id() == pid);
                return Err(LabError::NotListening {
                    server: server
                        .map_or_else(|| format!("PID {pid}"), |server| server.name.clone()),
                    address,
                    waited: started.elapsed(),
                    log: server
                        .and_then(|server| fs::read_to_string(&server.log).ok())
                        .unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Servers first: a namespace with a process still inside it outlives `ip netns del`.
        // Errors are ignored: a server may have died already, and Drop has no one to tell.
        for server in &mut self.servers {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
        for netns in self.namespaces.iter().rev() {
            delete_namespace(&netns.name);
        }
    }
}

/// Name prefix of every lab namespace, followed by the PID of the process that made it.
const PREFIX: &str = "srlab";

/// A small HTTP(S) server: `python3 -c SCRIPT ADDRESS PORT [CERT KEY]`, serving its current
/// directory without logging each request.
const HTTP_SERVER_PY: &str = r#"
import http.server, ssl, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler)
if len(sys.argv) > 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;

fn etc_dir(name: &str) -> PathBuf {
    Path::new("/etc/netns").join(name)
}

fn delete_namespace(name: &str) {
    // Best effort: a namespace that is already gone needs nothing more.
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
    let _ = fs::remove_dir_all(etc_dir(name));
}

/// Whether namespaces can be made here, checked once per process by making one. Also removes
/// lab namespaces left behind by test processes that were killed before they could clean up.
fn namespaces_available() -> Result<(), LabError> {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        remove_orphans();
        let name = format!("{PREFIX}{}check", std::process::id());
        let added = Command::new("ip").args(["netns", "add", &name]).output();
        match added {
            Err(error) => Err(format!("cannot run `ip` (iproute2): {error}")),
            Ok(output) if !output.status.success() => Err(format!(
                "`ip netns add` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Ok(_) => {
                delete_namespace(&name);
                Ok(())
            }
        }
    });
    checked.clone().map_err(LabError::Unavailable)
}

/// Deletes lab namespaces whose making process no longer runs.
fn remove_orphans() {
    let Ok(entries) = fs::read_dir("/var/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !pid.is_empty() && !Path::new("/proc").join(&pid).exists() {
            delete_namespace(&name);
        }
    }
}

fn run(command: &mut Command) -> Result<Output, LabError> {
    let described = format!("{command:?}");
    let output = command
        .output()
        .map_err(LabError::io(format!("run {described}")))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(LabError::Command {
            command: described,
            detail: format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

/// Whether the process `pid` has a socket of `protocol` bound (UDP) or listening (TCP) on
/// `address`, read from `/proc/PID/net/*`, which shows the tables of that process's namespace.
fn listening(pid: u32, protocol: Protocol, address: SocketAddr) -> bool {
    let table = match (protocol, address) {
        (Protocol::Tcp, SocketAddr::V4(_)) => "tcp",
        (Protocol::Tcp, SocketAddr::V6(_)) => "tcp6",
        (Protocol::Udp, SocketAddr::V4(_)) => "udp",
        (Protocol::Udp, SocketAddr::V6(_)) => "udp6",
    };
    let Ok(text) = fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
        return false;
    };
    // TCP_LISTEN for a listening socket; TCP_CLOSE is how the kernel shows a bound UDP socket.
    let state = match protocol {
        Protocol::Tcp => "0A",
        Protocol::Udp => "07",
    };
    let wanted = format!("{}:{:04X}", kernel_hex(address.ip()), address.port());
    text.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.get(1) == Some(&wanted.as_str()) && fields.get(3) == Some(&state)
    })
}

/// An address as `/proc/net/tcp` prints it: each 32-bit word in the host's byte order, in hex.
fn kernel_hex(address: IpAddr) -> String {
    let octets = match address {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    octets
        .chunks(4)
        .map(|word| {
            format!(
                "{:08X}",
                u32::from_ne_bytes([word[0], word[1], word[2], word[3]])
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_endian = "little")]
    #[test]
    fn addresses_are_written_as_the_kernel_does() {
        assert_eq!(
            kernel_hex("10.77.0.1".parse().expect("address")),
            "01004D0A"
        );
        assert_eq!(
            kernel_hex("::1".parse().expect("address")),
            "00000000000000000000000001000000"
        );
    }
}
