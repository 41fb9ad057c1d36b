//! The specialist web UI in headless Chromium, against the real collector (HTTPS, self-signed)
//! and a connected agent daemon in a lab namespace: log in with a token, find the device by its
//! support code, open a report, request a fresh snapshot and see it arrive, open the diff, make
//! a ticket from the help request and attach the snapshot, log out; and the login's guard and
//! the ticket pages on their own. Screenshots of the main steps are saved under
//! `target/test-output/web_browser/<test>/NN-step.png`; a failure adds the page's screenshot
//! and HTML there and the collector's and daemon's logs to the message.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;
use sitrep_tests::browser::{Browser, Screenshots};
use sitrep_tests::site::{Site, SiteError, Transport, described, wait_for};

type TestResult = Result<(), SiteError>;

const SUITE: &str = "web_browser";
const PORT: u16 = 18443;
const DRIVER_PORT: u16 = 9515;
/// Every wait for a page, an element or the daemon.
const WAIT: Duration = Duration::from_secs(20);
/// A requested snapshot: the long-poll's delivery, the check (probes end by the 3 s deadline)
/// and the upload.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(40);
/// A port nobody listens on in the namespace: requested as an extra target, its TCP probe is
/// refused at once and shows in the fresh snapshot.
const EXTRA_TARGET: &str = "127.0.0.1:18501";
/// One scheduled check soon after the daemon starts; the rest comes on request.
const DAEMON_CONFIG: &str = r#"
[schedule]
interval = "1h"
[probes]
timeout = "1s"
deadline = "3s"
"#;

fn site(test: &str) -> Result<Option<Site>, SiteError> {
    Site::start(
        test,
        PORT,
        Transport::Https,
        assert_cmd::cargo::cargo_bin("sitrep-collector"),
        assert_cmd::cargo::cargo_bin("sitrep"),
    )
}

/// A browser on the site and the test's screenshots. Fields drop in order, so the browser and
/// its Chromium end before the site's lab removes the namespace.
struct Ui {
    browser: Browser,
    shots: Screenshots,
    site: Site,
    /// Lab logs shown when the test fails.
    logs: Vec<&'static str>,
}

impl Ui {
    fn start(test: &str, site: Site, logs: &[&'static str]) -> Result<Option<Ui>, SiteError> {
        let Some(browser) = Browser::or_skip(test, &site.lab, &site.ns, DRIVER_PORT)? else {
            return Ok(None);
        };
        Ok(Some(Ui {
            browser,
            shots: Screenshots::new(SUITE, test)?,
            site,
            logs: logs.to_vec(),
        }))
    }

    /// Opens a page of the collector by its path.
    fn open(&self, path: &str) -> TestResult {
        Ok(self.browser.goto(&format!("{}{path}", self.site.url))?)
    }

    /// The current page's path and query.
    fn path(&self) -> Result<String, SiteError> {
        Ok(path_of(&self.browser.url()?).to_string())
    }

    /// The path and query once `wanted` accepts them.
    fn wait_for_path(
        &self,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<String, SiteError> {
        let url = self
            .browser
            .wait_for_url(what, WAIT, |url| wanted(path_of(url)))?;
        Ok(path_of(&url).to_string())
    }

    fn click(&self, selector: &str) -> TestResult {
        Ok(self.browser.wait_for(selector, WAIT)?.click()?)
    }

    /// Replaces what a text field holds.
    fn fill(&self, selector: &str, text: &str) -> TestResult {
        let field = self.browser.wait_for(selector, WAIT)?;
        field.clear()?;
        Ok(field.send_keys(text)?)
    }

    /// Picks the option with `value` in a select.
    fn choose(&self, select: &str, value: &str) -> TestResult {
        let options = self.browser.find_all(&format!("{select} option"))?;
        let mut values = Vec::new();
        for option in options {
            let this = option.attribute("value")?.unwrap_or_default();
            if this == value {
                return Ok(option.click()?);
            }
            values.push(this);
        }
        Err(format!("no option {value} in {select}, only {values:?}").into())
    }

    fn text(&self, selector: &str) -> Result<String, SiteError> {
        Ok(self.browser.wait_for(selector, WAIT)?.text()?)
    }

    fn shot(&mut self, step: &str) -> TestResult {
        self.shots.take(&self.browser, step)?;
        Ok(())
    }

    /// Logs in on the login page that is open now and waits to leave it.
    fn log_in(&mut self, token: &str) -> TestResult {
        self.fill("input#token[name=token][type=password]", token)?;
        self.shot("login")?;
        self.click("button#login")?;
        self.wait_for_path("to leave the login page", |path| {
            !path.starts_with("/login")
        })?;
        Ok(())
    }

    /// The error with what the browser showed (screenshot and HTML saved next to the others)
    /// and the tails of the servers' logs.
    fn failed(&mut self, error: SiteError) -> SiteError {
        let url = self
            .browser
            .url()
            .unwrap_or_else(|error| format!("(unknown: {error})"));
        let screenshot = match self.shots.take(&self.browser, "failure") {
            Ok(path) => {
                let html = path.with_extension("html");
                let saved = self
                    .browser
                    .page_source()
                    .map_err(SiteError::from)
                    .and_then(|source| Ok(fs::write(&html, source)?));
                match saved {
                    Ok(()) => format!("{} (HTML: {})", path.display(), html.display()),
                    Err(error) => format!("{} (no HTML: {error})", path.display()),
                }
            }
            Err(error) => format!("(none: {error})"),
        };
        let mut message = format!("{error}\npage: {url}\nscreenshot: {screenshot}");
        for name in &self.logs {
            message += &format!("\n--- {name} log:\n{}", tail(&self.site.lab.log(name)));
        }
        message += &format!(
            "\n--- chromedriver log:\n{}",
            tail(&self.browser.driver_log())
        );
        message.into()
    }

    /// Runs the test's browser steps. A failure is explained by [`Ui::failed`] and panics with
    /// that text, which the harness prints as written (an `Err` it would print escaped).
    fn run(mut self, steps: impl FnOnce(&mut Ui) -> TestResult) {
        let started = Instant::now();
        match steps(&mut self) {
            Ok(()) => {
                eprintln!(
                    "browser steps took {} ms; screenshots in {}",
                    started.elapsed().as_millis(),
                    self.shots.dir().display()
                );
            }
            Err(error) => panic!("{}", self.failed(error)),
        }
    }
}

/// The path and query of a URL (`https://127.0.0.1:18443/devices?q=x` gives `/devices?q=x`).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/", |slash| &after_scheme[slash..])
}

/// The last lines of a log, enough to see why it stopped.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn ensure(condition: bool, what: impl FnOnce() -> String) -> TestResult {
    if condition {
        Ok(())
    } else {
        Err(what().into())
    }
}

/// What the agent side made before the browser opens: the device (the agent's id), its help
/// request's support code, and a specialist's API token.
struct HelpedDevice {
    device: String,
    code: String,
    specialist: String,
}

/// Enrolls the agent, asks for help (`sitrep help`), starts the daemon (log `daemon`) and waits
/// for its first scheduled snapshot.
fn helped_device(site: &mut Site) -> Result<HelpedDevice, SiteError> {
    let config = site.write("agent.toml", DAEMON_CONFIG)?;
    site.enroll(&config)?;
    let identity: Value = serde_json::from_slice(&fs::read(site.state_dir.join("identity.json"))?)?;
    let device = identity["agent_id"]
        .as_str()
        .ok_or("identity without agent_id")?
        .to_string();
    let help = site.agent(&config, &["help", "printer won't print"])?;
    ensure(help.status.success(), || {
        format!("help: {}", described(&help))
    })?;
    let stdout = String::from_utf8_lossy(&help.stdout);
    let code = stdout
        .lines()
        .last()
        .and_then(|line| line.rsplit(' ').next())
        .filter(|code| code.len() == 7 && code.as_bytes()[3] == b'-')
        .ok_or_else(|| format!("no support code on help's last line: {stdout}"))?
        .to_string();
    let specialist = site.admin(&["token", "create", "--role", "specialist", "--name", "alice"])?;

    site.spawn_agent("daemon", &config, &["daemon"])?;
    // Its long-poll starts with it; a request made before the poll is taken by the next one.
    wait_for("the daemon's first scheduled snapshot", WAIT * 2, || {
        Ok((snapshots(site, &specialist, &device)?.len() >= 2).then_some(()))
    })
    .map_err(|error| format!("{error}\n--- daemon log:\n{}", site.lab.log("daemon")))?;
    Ok(HelpedDevice {
        device,
        code,
        specialist,
    })
}

/// The device's snapshots, newest first (none while the device does not exist yet).
fn snapshots(site: &Site, token: &str, device: &str) -> Result<Vec<Value>, SiteError> {
    let (status, body) = site.api(token, "GET", &format!("/api/v1/devices/{device}"), None)?;
    match status {
        200 => Ok(serde_json::from_str::<Value>(&body)?["snapshots"]
            .as_array()
            .cloned()
            .unwrap_or_default()),
        404 => Ok(Vec::new()),
        other => Err(format!("GET device: {other}: {body}").into()),
    }
}

#[test]
fn a_specialist_works_a_help_request_in_the_browser() -> TestResult {
    const TEST: &str = "a_specialist_works_a_help_request_in_the_browser";
    let Some(mut site) = site(TEST)? else {
        return Ok(());
    };
    let helped = helped_device(&mut site)?;
    let Some(ui) = Ui::start(TEST, site, &["collector-1", "daemon"])? else {
        return Ok(());
    };
    ui.run(|ui| work_a_help_request(ui, &helped));
    Ok(())
}

fn work_a_help_request(ui: &mut Ui, helped: &HelpedDevice) -> TestResult {
    let HelpedDevice {
        device,
        code,
        specialist,
    } = helped;
    let device_path = format!("/devices/{device}");

    // A protected page sends the browser to the login, and back after it.
    ui.open("/devices")?;
    ui.wait_for_path("the login page", |path| path.starts_with("/login"))?;
    ui.log_in(specialist)?;
    let path = ui.path()?;
    ensure(path == "/devices", || format!("after the login: {path}"))?;
    let cookie = ui
        .browser
        .cookie("sitrep_session")?
        .ok_or("no sitrep_session cookie after the login")?;
    ensure(
        cookie["httpOnly"] == true && cookie["secure"] == true && cookie["sameSite"] == "Strict",
        || format!("the session cookie is HttpOnly, Secure, SameSite=Strict: {cookie}"),
    )?;
    let shown = ui.text("section#help-requests .help-request .support-code")?;
    ensure(shown.contains(code.as_str()), || {
        format!("the open help request shows {code}: {shown}")
    })?;
    ui.shot("devices")?;

    // Search: something else finds nothing, the support code (without its dash) the device.
    ui.fill("input#search[name=q]", "no-such-device")?;
    ui.click("button#search-button")?;
    ui.wait_for_path("the search for no-such-device", |path| {
        path.contains("q=no-such-device")
    })?;
    let rows = ui.browser.find_all("table#devices tr.device")?.len();
    ensure(rows == 0, || {
        format!("no-such-device matches nothing: {rows} rows")
    })?;
    let undashed = code.replace('-', "");
    ui.fill("input#search[name=q]", &undashed)?;
    ui.click("button#search-button")?;
    ui.wait_for_path("the search for the support code", |path| {
        path.contains(&format!("q={undashed}"))
    })?;
    let link = ui
        .browser
        .wait_for("table#devices tr.device a.device-link", WAIT)?;
    let href = link.attribute("href")?.unwrap_or_default();
    ensure(href.ends_with(&device_path), || {
        format!("the support code {undashed} finds {device_path}: {href}")
    })?;
    ui.browser.find("table#devices tr.device span.badge")?;
    ui.shot("search-by-support-code")?;

    // The device and one of its reports.
    ui.click("table#devices tr.device a.device-link")?;
    ui.wait_for_path("the device page", |path| path == device_path)?;
    let host = ui.text("h1")?;
    ensure(!host.trim().is_empty(), || {
        "the device page names the host".into()
    })?;
    let history = ui.browser.find_all("table#history tr.snapshot")?.len();
    ensure(history >= 2, || {
        format!("the help and the scheduled snapshot in the history: {history} rows")
    })?;
    ui.shot("device")?;
    ui.click("table#history tr.snapshot a.snapshot-link")?;
    let report = ui.wait_for_path("a report", |path| path.starts_with("/snapshots/"))?;
    ui.browser.wait_for("section#findings", WAIT)?;
    let download = ui
        .browser
        .find("a#download-json")?
        .attribute("href")?
        .unwrap_or_default();
    ensure(download.ends_with(&format!("{report}.json")), || {
        format!("the JSON download of {report}: {download}")
    })?;
    ui.shot("report")?;

    // A fresh snapshot from the connected daemon, with an extra target.
    ui.open(&device_path)?;
    ui.fill("input#targets[name=targets]", EXTRA_TARGET)?;
    let asked = Instant::now();
    ui.click("button#request-snapshot")?;
    let requested = format!("{device_path}/requests/");
    ui.wait_for_path("the request's page or the new report", |path| {
        path.starts_with(&requested) || path.starts_with("/snapshots/")
    })?;
    // The request's page, or already the report when the daemon was that quick.
    ui.shot("request-sent")?;
    let fresh =
        ui.browser
            .wait_for_url("the requested snapshot's report", SNAPSHOT_WAIT, |url| {
                path_of(url).starts_with("/snapshots/")
            })?;
    let fresh = path_of(&fresh)
        .trim_start_matches("/snapshots/")
        .to_string();
    ui.browser.wait_for("section#findings", WAIT)?;
    eprintln!(
        "request button to the new report: {} ms",
        asked.elapsed().as_millis()
    );
    ui.shot("fresh-report")?;
    let snapshot = ui.site.api_json(
        specialist,
        "GET",
        &format!("/api/v1/snapshots/{fresh}"),
        None,
        200,
    )?;
    ensure(snapshot["trigger"] == "specialist_request", || {
        format!(
            "the new report is the requested snapshot: {}",
            snapshot["trigger"]
        )
    })?;
    ensure(ui.browser.page_source()?.contains(EXTRA_TARGET), || {
        format!("the report shows the probe of the requested {EXTRA_TARGET}")
    })?;

    // Its diff. Every snapshot in the namespace fails (no DNS server answers), so there is no
    // last good one; compared with the help request's snapshot, the new probe shows.
    ui.click("a#diff-link")?;
    let diff_path = format!("/snapshots/{fresh}/diff");
    ui.wait_for_path("the diff page", |path| path.starts_with(&diff_path))?;
    ui.browser.wait_for("#no-baseline", WAIT)?;
    ui.shot("diff-without-baseline")?;
    let history = snapshots(&ui.site, specialist, device)?;
    let oldest = history
        .last()
        .and_then(|snapshot| snapshot["id"].as_str())
        .ok_or("the device has no snapshots")?
        .to_string();
    ui.choose("select#against[name=against]", &oldest)?;
    ui.click("form:has(select#against) button")?;
    ui.wait_for_path("the diff against the help snapshot", |path| {
        path == format!("{diff_path}?against={oldest}")
    })?;
    let diff = ui.text("section#diff")?;
    ensure(diff.contains(EXTRA_TARGET), || {
        format!("the diff shows the probe of the requested {EXTRA_TARGET}: {diff}")
    })?;
    ui.shot("diff-against-help-snapshot")?;

    // A ticket from the help request, and the fresh snapshot attached to it.
    ui.open(&device_path)?;
    ui.click("button.make-ticket")?;
    let ticket_path = ui.wait_for_path("the new ticket", |path| {
        path.strip_prefix("/tickets/")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })?;
    let ticket = ticket_path.trim_start_matches("/tickets/").to_string();
    ui.shot("ticket-from-help-request")?;
    ui.open(&format!("/snapshots/{fresh}"))?;
    ui.choose("select#ticket[name=ticket]", &ticket)?;
    ui.fill("input#note[name=note]", "fresh snapshot while on the phone")?;
    ui.shot("attach")?;
    ui.click("button#attach")?;
    wait_for("the attachment on the ticket", WAIT, || {
        let ticket = ui.site.api_json(
            specialist,
            "GET",
            &format!("/api/v1/tickets/{ticket}"),
            None,
            200,
        )?;
        Ok(ticket["attachments"]
            .as_array()
            .is_some_and(|all| all.iter().any(|a| a["snapshot_id"] == fresh.as_str()))
            .then_some(()))
    })?;
    ui.open(&ticket_path)?;
    ui.browser.wait_for(
        &format!("ul#attachments a[href$=\"/snapshots/{fresh}\"]"),
        WAIT,
    )?;
    ui.shot("ticket-with-attachment")?;

    // Logging out ends the session: a protected page sends the browser to the login again.
    ui.click("#logout-form button#logout")?;
    ui.wait_for_path("the login page after logging out", |path| {
        path.starts_with("/login")
    })?;
    ui.shot("logged-out")?;
    ui.open(&device_path)?;
    let path = ui.wait_for_path("the login page for the device page", |path| {
        path.starts_with("/login?next=")
    })?;
    ensure(path.contains(device.as_str()), || {
        format!("the login page leads back to the device: {path}")
    })?;
    ui.browser.wait_for("form#login-form", WAIT)?;
    ui.shot("device-page-needs-login")?;
    Ok(())
}

#[test]
fn the_login_guards_the_pages_and_tickets_are_worked() -> TestResult {
    const TEST: &str = "the_login_guards_the_pages_and_tickets_are_worked";
    let Some(site) = site(TEST)? else {
        return Ok(());
    };
    let specialist = site.admin(&["token", "create", "--role", "specialist", "--name", "bob"])?;
    let Some(ui) = Ui::start(TEST, site, &["collector-1"])? else {
        return Ok(());
    };
    ui.run(|ui| work_tickets(ui, &specialist));
    Ok(())
}

fn work_tickets(ui: &mut Ui, specialist: &str) -> TestResult {
    ui.open("/tickets")?;
    let path = ui.wait_for_path("the login page", |path| path.starts_with("/login?next="))?;
    ensure(path.contains("tickets"), || {
        format!("the login page leads back to the tickets: {path}")
    })?;
    ui.fill("input#token", "sitrep-not-a-token")?;
    ui.click("button#login")?;
    ui.browser.wait_for("#error", WAIT)?;
    let path = ui.path()?;
    ensure(path.starts_with("/login"), || {
        format!("a wrong token stays on the login page: {path}")
    })?;
    ensure(ui.browser.cookie("sitrep_session")?.is_none(), || {
        "a wrong token gets no session".into()
    })?;
    ui.shot("wrong-token")?;

    ui.log_in(specialist)?;
    let path = ui.path()?;
    ensure(path == "/tickets", || {
        format!("the login leads back to the tickets: {path}")
    })?;
    ui.shot("tickets")?;

    ui.fill("input#title", "Printer on floor 3 jams")?;
    ui.fill("textarea#body", "Every second page, since Monday.")?;
    ui.click("button#create-ticket")?;
    let ticket_path = ui.wait_for_path("the new ticket", |path| {
        path.strip_prefix("/tickets/")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })?;
    let status = ui.text("#ticket-status")?;
    ensure(status.to_lowercase().contains("open"), || {
        format!("a new ticket is open: {status}")
    })?;
    ui.shot("new-ticket")?;

    let comment = "Replaced the drum; <b>watch</b> it";
    ui.fill("textarea#comment[name=body]", comment)?;
    ui.click("button#add-comment")?;
    let shown = ui.browser.wait("the comment on the ticket", WAIT, || {
        let texts = ui
            .browser
            .find_all("ul#comments li")?
            .iter()
            .map(|item| item.text())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(texts.into_iter().find(|text| text.contains(comment)))
    })?;
    ensure(ui.browser.find_all("ul#comments b")?.is_empty(), || {
        format!("the comment's markup stays text: {shown}")
    })?;
    ui.shot("commented")?;

    ui.click("button#close-ticket")?;
    ui.browser.wait("the ticket to show closed", WAIT, || {
        let status = ui.browser.find("#ticket-status").and_then(|s| s.text());
        Ok(status
            .ok()
            .filter(|status| status.to_lowercase().contains("closed")))
    })?;
    ui.shot("closed")?;

    ui.click("nav a#nav-tickets")?;
    ui.wait_for_path("the ticket list", |path| path == "/tickets")?;
    ui.browser.wait_for(
        &format!("table#tickets tr.ticket a.ticket-link[href$=\"{ticket_path}\"]"),
        WAIT,
    )?;
    ui.shot("ticket-list")?;
    Ok(())
}
