//! A support site in a box for end-to-end tests: the real collector and the real agent inside
//! one lab namespace with only loopback, so the agent's probes (the default gateway, the DNS
//! servers) cannot reach anything outside it. The collector serves HTTPS with its self-signed
//! certificate, which the agent pins, as in production.

use std::error::Error;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::netns::{Lab, Netns, Signal};

pub type SiteError = Box<dyn Error>;

/// How the collector serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTPS with its self-signed certificate, pinned by the agent: production.
    Https,
    /// Plain HTTP on loopback (`--insecure-http`), for tests that must read the traffic.
    PlainHttp,
}

/// Agent config for a daemon under test: a check every 5 s (the shortest schedule), probes
/// kept short so a check ends well within a test's time.
pub const FAST_DAEMON_CONFIG: &str = r#"
[schedule]
interval = "5s"
[probes]
timeout = "1s"
deadline = "3s"
"#;

/// How long the collector may take to print its fingerprint (it makes a certificate first).
const START_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug)]
pub struct Site {
    pub lab: Lab,
    pub ns: Netns,
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    /// `https://127.0.0.1:PORT`
    pub url: String,
    pub fingerprint: String,
    listen: String,
    transport: Transport,
    collector_bin: PathBuf,
    agent_bin: PathBuf,
    /// `--database-url` of every collector command; `None` keeps SQLite in the data dir.
    database_url: Option<String>,
    /// PID of the running collector, if one runs.
    collector: Option<u32>,
    /// Collector starts so far, which name their logs.
    starts: u32,
}

impl Site {
    /// A namespace with the collector serving on `127.0.0.1:port`, or `None` (after saying
    /// why) where namespaces are not available.
    pub fn start(
        test: &str,
        port: u16,
        transport: Transport,
        collector_bin: PathBuf,
        agent_bin: PathBuf,
    ) -> Result<Option<Site>, SiteError> {
        Site::start_on_database(test, port, transport, collector_bin, agent_bin, None)
    }

    /// [`Site::start`] with the collector's store in the database at `database_url` (for
    /// PostgreSQL its unix socket: the namespace's 127.0.0.1 is its own).
    pub fn start_on_database(
        test: &str,
        port: u16,
        transport: Transport,
        collector_bin: PathBuf,
        agent_bin: PathBuf,
        database_url: Option<String>,
    ) -> Result<Option<Site>, SiteError> {
        let Some(mut lab) = Lab::or_skip(test)? else {
            return Ok(None);
        };
        let ns = lab.namespace("e")?;
        // Nothing listens there: the agent's DNS probe is refused at once, inside the namespace.
        lab.resolv_conf(&ns, "nameserver 127.0.0.1\n")?;
        let data_dir = lab.dir().join("collector");
        let state_dir = lab.dir().join("agent");
        let listen = format!("127.0.0.1:{port}");
        let mut site = Site {
            lab,
            ns,
            data_dir,
            state_dir,
            url: match transport {
                Transport::Https => format!("https://{listen}"),
                Transport::PlainHttp => format!("http://{listen}"),
            },
            fingerprint: String::new(),
            listen,
            transport,
            collector_bin,
            agent_bin,
            database_url,
            collector: None,
            starts: 0,
        };
        site.start_collector()?;
        Ok(Some(site))
    }

    /// Starts the collector (again) on the same data dir and address; returns once it serves.
    pub fn start_collector(&mut self) -> Result<(), SiteError> {
        self.starts += 1;
        let name = format!("collector-{}", self.starts);
        let (listen, url) = (self.listen.clone(), self.url.clone());
        self.collector = Some(self.serve(&name, &listen, &url)?);
        Ok(())
    }

    /// Starts another collector on the same store (a replica, when that is PostgreSQL) serving
    /// on `127.0.0.1:port`, its log under `name`; returns its PID and URL once it serves. The lab
    /// stops it at the end.
    pub fn start_replica(&mut self, name: &str, port: u16) -> Result<(u32, String), SiteError> {
        let listen = format!("127.0.0.1:{port}");
        let url = match self.transport {
            Transport::Https => format!("https://{listen}"),
            Transport::PlainHttp => format!("http://{listen}"),
        };
        let pid = self.serve(name, &listen, &url)?;
        Ok((pid, url))
    }

    /// `sitrep-collector serve` in the namespace; its PID once it answers at `url`.
    fn serve(&mut self, name: &str, listen: &str, url: &str) -> Result<u32, SiteError> {
        let namespaced = self.lab.command(&self.ns, &self.collector_bin);
        let mut serve = self.on_store(namespaced);
        serve.args(["serve", "--listen", listen]);
        if self.transport == Transport::PlainHttp {
            serve.arg("--insecure-http");
        }
        let pid = self.lab.spawn(name, serve)?;
        let started = Instant::now();
        while self.transport == Transport::Https && self.fingerprint.is_empty() {
            let text = self.lab.log(name);
            if let Some(fingerprint) = text
                .lines()
                .find_map(|line| line.split("SHA-256 fingerprint ").nth(1))
            {
                self.fingerprint = fingerprint.trim().to_string();
            } else if started.elapsed() > START_TIMEOUT {
                return Err(format!("the collector did not start:\n{text}").into());
            } else {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // The fingerprint is printed before the socket is bound; wait for an answer.
        while self.api_at(url, "", "GET", "/healthz", None)?.0 != 200 {
            if started.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "the collector does not answer /healthz:\n{}",
                    self.lab.log(name)
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(pid)
    }

    /// `command` (the collector binary) with the data dir and the database URL.
    fn on_store(&self, mut command: Command) -> Command {
        command.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            command.args(["--database-url", url]);
        }
        command
    }

    /// Stops the running collector with `signal` and waits for it to end.
    pub fn stop_collector(&mut self, signal: Signal) -> Result<ExitStatus, SiteError> {
        let pid = self
            .collector
            .take()
            .ok_or("the collector is not running")?;
        Ok(self.lab.stop(pid, signal, Duration::from_secs(20))?)
    }

    /// An admin command on the collector's store; its stdout.
    pub fn admin(&self, args: &[&str]) -> Result<String, SiteError> {
        let output = self
            .on_store(Command::new(&self.collector_bin))
            .args(args)
            .output()?;
        if !output.status.success() {
            return Err(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr)).into());
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_string())
    }

    /// `sitrep --config CONFIG --state-dir STATE ARGS`, to run inside the namespace.
    pub fn agent_command(&self, config: &Path, args: &[&str]) -> Command {
        let mut command = self.lab.command(&self.ns, &self.agent_bin);
        command
            .arg("--config")
            .arg(config)
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(args);
        command
    }

    /// `sitrep ARGS` inside the namespace, to its end.
    pub fn agent(&self, config: &Path, args: &[&str]) -> Result<Output, SiteError> {
        Ok(self.agent_command(config, args).output()?)
    }

    /// Enrolls the agent with a new single-use token, pinning the certificate under HTTPS.
    pub fn enroll(&self, config: &Path) -> Result<(), SiteError> {
        self.enroll_at(config, &self.url)
    }

    /// [`Site::enroll`] with the collector at `url` (e.g. a relay in front of it).
    pub fn enroll_at(&self, config: &Path, url: &str) -> Result<(), SiteError> {
        let token = self.admin(&["enroll-token", "create", "--uses", "1"])?;
        let mut args = vec!["enroll", "--collector", url, "--token", &token];
        if self.transport == Transport::Https {
            args.extend(["--fingerprint", &self.fingerprint]);
        }
        let enrolled = self.agent(config, &args)?;
        if !enrolled.status.success() {
            return Err(format!("enroll: {}", described(&enrolled)).into());
        }
        Ok(())
    }

    /// Starts a long-running agent command (e.g. the daemon) in the namespace; its PID.
    pub fn spawn_agent(
        &mut self,
        name: &str,
        config: &Path,
        args: &[&str],
    ) -> Result<u32, SiteError> {
        let mut command = self.agent_command(config, args);
        command.env("SITREP_LOG", "info");
        Ok(self.lab.spawn(name, command)?)
    }

    /// A specialist's (or admin's) API call with curl inside the namespace. The test trusts the
    /// collector's certificate without checking it here: pinning is what the agent's side proves.
    pub fn api(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), SiteError> {
        self.api_at(&self.url, token, method, path, body)
    }

    /// [`Site::api`] on the collector at `base` (e.g. a replica).
    pub fn api_at(
        &self,
        base: &str,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, String), SiteError> {
        let mut command = self.lab.command(&self.ns, "curl");
        command
            .args(["-sS", "-k", "--max-time", "60", "-X", method])
            .args(["-w", "\n%{http_code}"]);
        if !token.is_empty() {
            command
                .arg("-H")
                .arg(format!("Authorization: Bearer {token}"));
        }
        if let Some(body) = body {
            command
                .args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(body.to_string());
        }
        let output = command.arg(format!("{base}{path}")).output()?;
        let text = String::from_utf8(output.stdout)?;
        let (body, status) = text.rsplit_once('\n').ok_or("no status from curl")?;
        Ok((status.trim().parse().unwrap_or(0), body.to_string()))
    }

    /// [`Site::api`] that expects `expect` and a JSON answer.
    pub fn api_json(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expect: u16,
    ) -> Result<Value, SiteError> {
        self.api_json_at(&self.url, token, method, path, body, expect)
    }

    /// [`Site::api_json`] on the collector at `base` (e.g. a replica).
    pub fn api_json_at(
        &self,
        base: &str,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expect: u16,
    ) -> Result<Value, SiteError> {
        let (status, text) = self.api_at(base, token, method, path, body)?;
        if status != expect {
            return Err(
                format!("{method} {base}{path}: expected {expect}, got {status}: {text}").into(),
            );
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// The agent's id, from the identity `enroll` saved.
    pub fn agent_id(&self) -> Result<String, SiteError> {
        let identity: Value =
            serde_json::from_slice(&std::fs::read(self.state_dir.join("identity.json"))?)?;
        Ok(identity["agent_id"]
            .as_str()
            .ok_or("identity without agent_id")?
            .to_string())
    }

    /// The device's snapshots (newest first), or none while the device does not exist yet.
    pub fn device_snapshots(&self, token: &str, device: &str) -> Result<Vec<Value>, SiteError> {
        let (status, body) = self.api(token, "GET", &format!("/api/v1/devices/{device}"), None)?;
        match status {
            200 => {
                let device: Value = serde_json::from_str(&body)?;
                Ok(device["snapshots"].as_array().cloned().unwrap_or_default())
            }
            404 => Ok(Vec::new()),
            other => Err(format!("GET device: {other}: {body}").into()),
        }
    }

    /// Snapshot ids waiting in the agent's spool, oldest first, from `sitrep spool list`; an
    /// error if the spool has damaged entries.
    pub fn spooled(&self, config: &Path) -> Result<Vec<String>, SiteError> {
        let listed = self.agent(config, &["spool", "list"])?;
        if !listed.status.success() {
            return Err(format!("spool list: {}", described(&listed)).into());
        }
        let text = String::from_utf8_lossy(&listed.stdout);
        if text.contains("warning:") {
            return Err(format!("the spool has damaged entries:\n{text}").into());
        }
        Ok(text
            .lines()
            .filter(|line| {
                line.split_whitespace()
                    .next()
                    .is_some_and(|name| name.ends_with(".snap"))
            })
            .filter_map(|line| line.split_whitespace().nth(6))
            .map(|id| id.trim_end_matches(',').to_string())
            .collect())
    }

    /// Writes a file in the lab's directory; its path.
    pub fn write(&self, name: impl AsRef<OsStr>, contents: &str) -> Result<PathBuf, SiteError> {
        let path = self.lab.dir().join(name.as_ref());
        std::fs::write(&path, contents)?;
        Ok(path)
    }
}

/// Exit code and both outputs, for assertion messages.
pub fn described(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Polls `check` every 100 ms until it gives `Some`, or fails after `timeout` naming `what`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>, SiteError>,
) -> Result<T, SiteError> {
    let started = Instant::now();
    loop {
        if let Some(value) = check()? {
            return Ok(value);
        }
        if started.elapsed() > timeout {
            return Err(format!("gave up after {timeout:?} waiting for {what}").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
