//! Headless Chromium for browser tests: a small W3C WebDriver client talking to a chromedriver
//! that runs inside a lab namespace, so the browser reaches that namespace's loopback and
//! nothing else. Dropping the [`Browser`] ends the session, chromedriver and every Chromium
//! process of its profile, by PID.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sitrep_tests::browser::Browser;
//! use sitrep_tests::netns::Lab;
//! let Some(mut lab) = Lab::or_skip("my_test")? else { return Ok(()) };
//! let ns = lab.namespace("web")?;
//! let Some(browser) = Browser::or_skip("my_test", &lab, &ns, 9515)? else { return Ok(()) };
//! browser.goto("https://127.0.0.1:8443/login")?;
//! browser.wait_for("#token", Duration::from_secs(20))?.send_keys("secret")?;
//! browser.find("#login")?.click()?;
//! # Ok(()) }
//! ```

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::netns::{Lab, LabError, Netns};

/// Debian's `chromium` and `chromium-driver`.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to accept sessions.
const DRIVER_READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Page loads and scripts: a page that takes longer is a failure, not something to wait out.
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// One WebDriver command, a page load included.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(40);
/// How often waits look again.
const POLL: Duration = Duration::from_millis(100);

/// The key under which WebDriver names an element (W3C WebDriver, "web element identifier").
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Why the browser could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// Chromium or chromedriver is not installed: tests skip instead of failing.
    #[error("headless Chromium is not available: {0}")]
    Unavailable(String),
    #[error("chromedriver did not get ready within {waited:?}: {detail}; its log:\n{log}")]
    DriverNotReady {
        waited: Duration,
        detail: String,
        log: String,
    },
    #[error("WebDriver {command}: {source}")]
    Http {
        command: String,
        source: reqwest::Error,
    },
    #[error("WebDriver {command}: {error}: {message}")]
    Driver {
        command: String,
        error: String,
        message: String,
    },
    #[error("WebDriver {command}: unexpected answer {answer}")]
    Answer { command: String, answer: String },
    #[error("gave up after {waited:?} waiting for {what} (page {url})")]
    Timeout {
        what: String,
        waited: Duration,
        url: String,
    },
    #[error("no element matches `{selector}` on {url}")]
    NotFound { selector: String, url: String },
    #[error("cannot {action}: {source}")]
    Io { action: String, source: io::Error },
    #[error(transparent)]
    Lab(#[from] LabError),
}

impl BrowserError {
    fn io(action: impl Into<String>) -> impl FnOnce(io::Error) -> BrowserError {
        let action = action.into();
        move |source| BrowserError::Io { action, source }
    }
}

/// A headless Chromium session driven through chromedriver inside a lab namespace.
#[derive(Debug)]
pub struct Browser {
    /// Made on a thread inside the namespace: its connections are made there too.
    client: Client,
    /// `http://127.0.0.1:PORT`, chromedriver in the namespace.
    driver_url: String,
    session: String,
    driver: Child,
    driver_log: PathBuf,
    /// Chromium's fresh `--user-data-dir`, which also names every process of this browser.
    profile: PathBuf,
}

/// An element of the current page. It goes stale when the page changes: find it again then.
#[derive(Debug)]
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    /// Starts chromedriver on `port` inside `ns` and opens a Chromium session with a fresh
    /// profile in the lab directory.
    pub fn start(lab: &Lab, ns: &Netns, port: u16) -> Result<Browser, BrowserError> {
        for program in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(program).exists() {
                return Err(BrowserError::Unavailable(format!(
                    "{program} is missing (Debian packages chromium and chromium-driver)"
                )));
            }
        }
        let driver_log = lab.dir().join(format!("chromedriver-{port}.log"));
        // A fresh profile, and a HOME below which Chromium keeps crash reports and caches, so
        // it writes nothing outside the lab.
        let chromium_dir = lab.dir().join(format!("chromium-{port}"));
        let (profile, home) = (chromium_dir.join("profile"), chromium_dir.join("home"));
        for dir in [&profile, &home] {
            fs::create_dir_all(dir)
                .map_err(BrowserError::io(format!("create {}", dir.display())))?;
        }
        let output = File::create(&driver_log)
            .map_err(BrowserError::io(format!("create {}", driver_log.display())))?;
        let errors = output
            .try_clone()
            .map_err(BrowserError::io("share the chromedriver log"))?;
        let mut command = lab.command(ns, CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .env("HOME", &home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_CACHE_HOME")
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors);
        let driver = command
            .spawn()
            .map_err(BrowserError::io(format!("start {command:?}")))?;
        let client = lab.run_in(ns, || {
            Client::builder()
                .timeout(COMMAND_TIMEOUT)
                .no_proxy()
                .build()
        })?;
        let mut browser = Browser {
            client: client.map_err(|source| BrowserError::Http {
                command: "client".into(),
                source,
            })?,
            driver_url: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            driver,
            driver_log,
            profile,
        };
        browser.wait_until_driver_ready()?;
        browser.session = browser.new_session()?;
        browser.session_command(
            Method::POST,
            "/timeouts",
            json!({
                "pageLoad": PAGE_LOAD_TIMEOUT.as_millis() as u64,
                "script": PAGE_LOAD_TIMEOUT.as_millis() as u64,
                "implicit": 0,
            }),
        )?;
        Ok(browser)
    }

    /// [`Browser::start`], or `None` after printing `skipped: TEST: reason` where Chromium is
    /// not installed. Written straight to stderr, past the test harness's capture.
    pub fn or_skip(
        test: &str,
        lab: &Lab,
        ns: &Netns,
        port: u16,
    ) -> Result<Option<Browser>, BrowserError> {
        match Browser::start(lab, ns, port) {
            Ok(browser) => Ok(Some(browser)),
            Err(BrowserError::Unavailable(reason)) => {
                // Nothing sensible to do if stderr itself is gone.
                let _ = writeln!(
                    io::stderr(),
                    "skipped: {test}: headless Chromium is not available: {reason}"
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Opens `url` and returns once it has loaded.
    pub fn goto(&self, url: &str) -> Result<(), BrowserError> {
        self.session_command(Method::POST, "/url", json!({ "url": url }))
            .map(drop)
    }

    /// The address of the current page.
    pub fn url(&self) -> Result<String, BrowserError> {
        string(
            self.session_command(Method::GET, "/url", Value::Null)?,
            "url",
        )
    }

    /// The current page's HTML as the browser has it now.
    pub fn page_source(&self) -> Result<String, BrowserError> {
        string(
            self.session_command(Method::GET, "/source", Value::Null)?,
            "source",
        )
    }

    /// The first element matching a CSS selector, now.
    pub fn find(&self, selector: &str) -> Result<Element<'_>, BrowserError> {
        self.find_all(selector)?
            .into_iter()
            .next()
            .ok_or_else(|| BrowserError::NotFound {
                selector: selector.to_string(),
                url: self.url().unwrap_or_default(),
            })
    }

    /// Every element matching a CSS selector, now, in document order.
    pub fn find_all(&self, selector: &str) -> Result<Vec<Element<'_>>, BrowserError> {
        let found = self.session_command(
            Method::POST,
            "/elements",
            json!({ "using": "css selector", "value": selector }),
        )?;
        let elements = found.as_array().ok_or_else(|| BrowserError::Answer {
            command: format!("find `{selector}`"),
            answer: found.to_string(),
        })?;
        elements
            .iter()
            .map(|element| {
                let id = element[ELEMENT_KEY]
                    .as_str()
                    .ok_or_else(|| BrowserError::Answer {
                        command: format!("find `{selector}`"),
                        answer: element.to_string(),
                    })?;
                Ok(Element {
                    browser: self,
                    id: id.to_string(),
                })
            })
            .collect()
    }

    /// The first element matching a CSS selector, once there is one, for at most `timeout`.
    pub fn wait_for(&self, selector: &str, timeout: Duration) -> Result<Element<'_>, BrowserError> {
        self.wait(
            &format!("an element matching `{selector}`"),
            timeout,
            || Ok(self.find_all(selector)?.into_iter().next()),
        )
    }

    /// The current address once `wanted` accepts it, for at most `timeout`.
    pub fn wait_for_url(
        &self,
        what: &str,
        timeout: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String, BrowserError> {
        self.wait(what, timeout, || {
            let url = self.url()?;
            Ok(wanted(&url).then_some(url))
        })
    }

    /// Polls `check` until it gives `Some`, or fails after `timeout` naming `what` and the page.
    pub fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut() -> Result<Option<T>, BrowserError>,
    ) -> Result<T, BrowserError> {
        let started = Instant::now();
        loop {
            if let Some(value) = check()? {
                return Ok(value);
            }
            if started.elapsed() > timeout {
                return Err(BrowserError::Timeout {
                    what: what.to_string(),
                    waited: started.elapsed(),
                    url: self.url().unwrap_or_default(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// A cookie of the current page's site as WebDriver describes it (`name`, `value`,
    /// `httpOnly`, `secure`, `sameSite`, ...), or `None` when the browser has no such cookie.
    pub fn cookie(&self, name: &str) -> Result<Option<Value>, BrowserError> {
        let cookies = self.session_command(Method::GET, "/cookie", Value::Null)?;
        Ok(cookies
            .as_array()
            .and_then(|cookies| cookies.iter().find(|cookie| cookie["name"] == name))
            .cloned())
    }

    /// Saves what the window shows now as a PNG file, making its directory.
    pub fn screenshot(&self, path: &Path) -> Result<(), BrowserError> {
        let encoded = string(
            self.session_command(Method::GET, "/screenshot", Value::Null)?,
            "screenshot",
        )?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|error| BrowserError::Answer {
                command: "screenshot".into(),
                answer: format!("not base64: {error}"),
            })?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)
                .map_err(BrowserError::io(format!("create {}", dir.display())))?;
        }
        fs::write(path, png).map_err(BrowserError::io(format!("write {}", path.display())))
    }

    /// chromedriver's output so far.
    pub fn driver_log(&self) -> String {
        fs::read_to_string(&self.driver_log).unwrap_or_default()
    }

    fn wait_until_driver_ready(&mut self) -> Result<(), BrowserError> {
        let started = Instant::now();
        loop {
            let status = self.command(Method::GET, "/status", Value::Null);
            if let Ok(status) = &status
                && status["ready"] == true
            {
                return Ok(());
            }
            let exited = self.driver.try_wait().ok().flatten();
            if exited.is_some() || started.elapsed() > DRIVER_READY_TIMEOUT {
                return Err(BrowserError::DriverNotReady {
                    waited: started.elapsed(),
                    detail: match (exited, status) {
                        (Some(exit), _) => format!("it ended: {exit}"),
                        (None, Err(error)) => error.to_string(),
                        (None, Ok(status)) => format!("status {status}"),
                    },
                    log: self.driver_log(),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    fn new_session(&self) -> Result<String, BrowserError> {
        let profile = format!("--user-data-dir={}", self.profile.display());
        let session = self.command(
            Method::POST,
            "/session",
            json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--no-first-run",
                        // The collector's certificate is self-signed; pinning is the agent's
                        // business, tested elsewhere.
                        "--ignore-certificate-errors",
                        "--window-size=1280,1000",
                        profile,
                    ],
                },
            }}}),
        )?;
        string(session["sessionId"].clone(), "new session")
    }

    fn session_command(
        &self,
        method: Method,
        path: &str,
        body: Value,
    ) -> Result<Value, BrowserError> {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    /// One WebDriver command: its `value`, or the driver's error.
    fn command(&self, method: Method, path: &str, body: Value) -> Result<Value, BrowserError> {
        let command = format!("{method} {path}");
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.driver_url));
        if method == Method::POST {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .and_then(|response| response.json::<Value>())
            .map_err(|source| BrowserError::Http {
                command: command.clone(),
                source,
            })?;
        let value = answer["value"].clone();
        match value["error"].as_str() {
            Some(error) => Err(BrowserError::Driver {
                command,
                error: error.to_string(),
                message: value["message"].as_str().unwrap_or_default().to_string(),
            }),
            None => Ok(value),
        }
    }

    fn element_command(
        &self,
        method: Method,
        element: &str,
        path: &str,
        body: Value,
    ) -> Result<Value, BrowserError> {
        self.session_command(method, &format!("/element/{element}{path}"), body)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes chromedriver close Chromium. Killing chromedriver alone
        // would not: Chromium outlives it. Errors are ignored, Drop has no one to tell.
        if !self.session.is_empty() {
            let _ = self.session_command(Method::DELETE, "", Value::Null);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        kill_profile_processes(&self.profile);
    }
}

impl Element<'_> {
    pub fn click(&self) -> Result<(), BrowserError> {
        self.command(Method::POST, "/click", json!({})).map(drop)
    }

    /// Types `text` into the element (after what it holds already).
    pub fn send_keys(&self, text: &str) -> Result<(), BrowserError> {
        self.command(Method::POST, "/value", json!({ "text": text }))
            .map(drop)
    }

    pub fn clear(&self) -> Result<(), BrowserError> {
        self.command(Method::POST, "/clear", json!({})).map(drop)
    }

    /// The text the element shows.
    pub fn text(&self) -> Result<String, BrowserError> {
        string(self.command(Method::GET, "/text", Value::Null)?, "text")
    }

    /// An attribute or property (`href` is absolute, as the browser resolved it), or `None`.
    pub fn attribute(&self, name: &str) -> Result<Option<String>, BrowserError> {
        let value = self.command(Method::GET, &format!("/attribute/{name}"), Value::Null)?;
        Ok(value.as_str().map(str::to_string))
    }

    fn command(&self, method: Method, path: &str, body: Value) -> Result<Value, BrowserError> {
        self.browser.element_command(method, &self.id, path, body)
    }
}

/// Where a test keeps its screenshots: `TARGET/test-output/SUITE/TEST/NN-step.png`, emptied
/// when the test starts, numbered in the order taken.
#[derive(Debug)]
pub struct Screenshots {
    dir: PathBuf,
    taken: u32,
}

impl Screenshots {
    pub fn new(suite: &str, test: &str) -> Result<Screenshots, BrowserError> {
        let dir = target_dir().join("test-output").join(suite).join(test);
        match fs::remove_dir_all(&dir) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                return Err(BrowserError::Io {
                    action: format!("empty {}", dir.display()),
                    source: error,
                });
            }
            _ => {}
        }
        fs::create_dir_all(&dir).map_err(BrowserError::io(format!("create {}", dir.display())))?;
        Ok(Screenshots { dir, taken: 0 })
    }

    /// Saves the window as the next `NN-step.png`; its path.
    pub fn take(&mut self, browser: &Browser, step: &str) -> Result<PathBuf, BrowserError> {
        self.taken += 1;
        let path = self.dir.join(format!("{:02}-{step}.png", self.taken));
        browser.screenshot(&path)?;
        Ok(path)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (relative to the workspace), else
/// `target` in the workspace.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// Kills, by PID, every process started with this browser's profile: Chromium's helpers carry
/// `--user-data-dir` too, and the unique profile path makes sure no other process is hit.
fn kill_profile_processes(profile: &Path) {
    let marker = format!("--user-data-dir={}", profile.display());
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let pids = processes_with_argument(&marker);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Running processes (not zombies) with `argument` among their arguments.
fn processes_with_argument(argument: &str) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            // A zombie's command line reads empty, so it never matches.
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|byte| *byte == 0)
                    .any(|arg| arg == argument.as_bytes())
            })
        })
        .collect()
}

fn string(value: Value, command: &str) -> Result<String, BrowserError> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(BrowserError::Answer {
            command: command.to_string(),
            answer: other.to_string(),
        }),
    }
}
