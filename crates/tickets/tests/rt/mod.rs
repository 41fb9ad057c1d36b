//! A real Request Tracker 5 for tests: Debian's `request-tracker5` served by `rt-server` on a
//! free port of 127.0.0.1, with a config of its own (`RT_SITE_CONFIG` and `RT_SITE_CONFIG_DIR`:
//! Debian's site config in /etc is neither read nor touched) and its own copy of a seeded
//! SQLite database. Stopped by PID with SIGTERM and its directory removed when dropped; it can
//! be stopped and started again on the same port to play an outage.
//!
//! Usable from any test crate with tokio: `#[path = ".../tests/rt/mod.rs"] mod rt;`.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The Debian packages the harness runs; scripts/test.sh installs them when missing.
pub const PACKAGES: [&str; 3] = ["request-tracker5", "rt5-db-sqlite", "rt5-standalone"];

const RT_SERVER: &str = "/usr/share/request-tracker5/libexec/rt-server";
const SETUP_DATABASE: &str = "/usr/sbin/rt-setup-database-5";
const RT_LIB: &str = "/usr/share/request-tracker5/lib";

/// root's password in every instance (basic authentication works too).
pub const ROOT_PASSWORD: &str = "sitrep-test-root";

/// rt-server answers in about a second; a loaded 2-core machine may need more.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Starlet stops its workers within a few seconds of SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Makes an auth token for root through RT's own Perl API and prints it (the only time RT
/// shows it: it stores a hash).
const MAKE_TOKEN: &str = r#"
use strict;
use warnings;
use RT;
RT::LoadConfig();
RT::Init();
my $root = RT::User->new(RT->SystemUser);
$root->Load('root') or die "RT has no root user\n";
my $token = RT::AuthToken->new(RT->SystemUser);
my ($id, $message, $secret) = $token->Create(Owner => $root->Id, Description => 'sitrep tests');
die "RT made no auth token: $message\n" unless $id;
print $secret;
"#;

/// One `rt-server` with its directory.
#[derive(Debug)]
pub struct RequestTracker {
    instance: Instance,
    seed: Arc<Seed>,
    server: Option<Child>,
}

/// The database every instance starts from, made once per test process (while any instance
/// uses it) and removed with the last of them.
#[derive(Debug)]
struct Seed {
    dir: PathBuf,
    database: PathBuf,
    token: String,
}

static SEED: Mutex<Weak<Seed>> = Mutex::new(Weak::new());

impl RequestTracker {
    /// A fresh RT 5 on loopback, ready to answer REST2 requests. Panics (with what to install)
    /// when Debian's packages are missing.
    pub async fn start() -> RequestTracker {
        blocking(RequestTracker::start_blocking).await
    }

    fn start_blocking() -> RequestTracker {
        require_packages();
        let seed = Seed::shared();
        // The guard first: a failure below still removes the directory.
        let mut rt = RequestTracker {
            instance: Instance {
                dir: unique_dir("instance"),
                port: free_port(),
                token: seed.token.clone(),
            },
            seed,
            server: None,
        };
        let dir = &rt.instance.dir;
        let database = dir.join("rt.db");
        fs::copy(&rt.seed.database, &database).expect("copy the seeded RT database");
        fs::write(dir.join("token"), &rt.seed.token).expect("write the RT token file");
        fs::write(dir.join("password"), ROOT_PASSWORD).expect("write the RT password file");
        write_config(dir, rt.instance.port, &database);
        rt.server = Some(rt.instance.launch());
        rt
    }

    /// `http://127.0.0.1:PORT`: RT's web address, the connector's `url`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.instance.port)
    }

    /// root's auth token (`Authorization: token …`).
    pub fn token(&self) -> &str {
        &self.instance.token
    }

    /// A file holding [`Self::token`], for `token = { file = … }`.
    pub fn token_file(&self) -> PathBuf {
        self.instance.dir.join("token")
    }

    /// A file holding [`ROOT_PASSWORD`], for `password = { file = … }`.
    pub fn password_file(&self) -> PathBuf {
        self.instance.dir.join("password")
    }

    /// What rt-server and RT logged (warnings and worse) since the last start.
    pub fn log(&self) -> String {
        self.instance.log()
    }

    /// Stops rt-server (SIGTERM, then waits for it): its port refuses connections until
    /// [`Self::start_again`].
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            blocking(move || terminate(server)).await;
        }
    }

    /// Starts rt-server again on the same port and database, and waits until it answers.
    pub async fn start_again(&mut self) {
        self.stop().await;
        let instance = self.instance.clone();
        self.server = Some(blocking(move || instance.launch()).await);
    }
}

impl Drop for RequestTracker {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            terminate(server);
        }
        if let Err(error) = fs::remove_dir_all(&self.instance.dir) {
            eprintln!(
                "cannot remove RT's directory {}: {error}",
                self.instance.dir.display()
            );
        }
    }
}

/// An instance's directory, port and root's token: what starting its rt-server needs.
#[derive(Debug, Clone)]
struct Instance {
    dir: PathBuf,
    port: u16,
    token: String,
}

impl Instance {
    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Starts rt-server and waits until it answers REST2; panics with its log if it does not.
    fn launch(&self) -> Child {
        let log = File::create(self.dir.join("server.log")).expect("create RT's log file");
        let mut server = Command::new(RT_SERVER)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--max-workers", "2"])
            .envs(config_env(&self.dir))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("share RT's log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {RT_SERVER}: {error}"));
        let started = Instant::now();
        loop {
            if let Some(status) = server.try_wait().expect("ask whether rt-server runs") {
                panic!(
                    "rt-server on port {} exited ({status}) before it answered; its log:\n{}",
                    self.port,
                    self.log()
                );
            }
            if answers_rest2(self.port, &self.token) {
                return server;
            }
            if started.elapsed() > READY_TIMEOUT {
                terminate(server);
                panic!(
                    "rt-server on port {} did not answer REST2 within {READY_TIMEOUT:?}; its log:\n{}",
                    self.port,
                    self.log()
                );
            }
            sleep(Duration::from_millis(100));
        }
    }
}

impl Seed {
    /// The seed the running instances share, or a new one.
    fn shared() -> Arc<Seed> {
        let mut shared = SEED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(seed) = shared.upgrade() {
            return seed;
        }
        let seed = Arc::new(Seed::create());
        *shared = Arc::downgrade(&seed);
        seed
    }

    /// `rt-setup-database --action init` into a fresh SQLite file, then an auth token for root.
    fn create() -> Seed {
        let dir = unique_dir("seed");
        // The guard first: a failure below still removes the directory.
        let mut seed = Seed {
            database: dir.join("rt.db"),
            dir,
            token: String::new(),
        };
        let (dir, database) = (&seed.dir, &seed.database);
        write_config(dir, 1, database);
        let password_file = dir.join("root-password");
        fs::write(&password_file, ROOT_PASSWORD).expect("write root's password file");
        let init = Command::new(SETUP_DATABASE)
            .args(["--action", "init", "--root-password-file"])
            .arg(&password_file)
            .envs(config_env(dir))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| panic!("cannot run {SETUP_DATABASE}: {error}"));
        assert!(
            init.status.success() && database.exists(),
            "{SETUP_DATABASE} --action init failed ({}):\n{}{}",
            init.status,
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        let made = Command::new("perl")
            .arg(format!("-I{RT_LIB}"))
            .args(["-e", MAKE_TOKEN])
            .envs(config_env(dir))
            .stdin(Stdio::null())
            .output()
            .expect("run perl to make RT's auth token");
        let token = String::from_utf8_lossy(&made.stdout).trim().to_string();
        assert!(
            made.status.success() && !token.is_empty(),
            "making root's RT auth token failed ({}):\n{}",
            made.status,
            String::from_utf8_lossy(&made.stderr)
        );
        seed.token = token;
        seed
    }
}

impl Drop for Seed {
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove RT's seed {}: {error}", self.dir.display());
        }
    }
}

/// Panics, naming what to install, unless Debian's RT packages are installed.
fn require_packages() {
    let missing: Vec<&str> = PACKAGES
        .into_iter()
        .filter(|package| {
            let status = Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", package])
                .stderr(Stdio::null())
                .output();
            !matches!(status, Ok(out) if String::from_utf8_lossy(&out.stdout).ends_with("ok installed"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "the Request Tracker tests run a real RT 5, and {} not installed: run scripts/test.sh as \
         root, or `apt-get install --no-install-recommends {}`",
        missing.join(", "),
        PACKAGES.join(" ")
    );
}

/// RT reads `RT_SITE_CONFIG` (an empty file here, instead of /etc's) and then every `*.pm` of
/// `RT_SITE_CONFIG_DIR`.
fn config_env(dir: &Path) -> [(&'static str, PathBuf); 2] {
    [
        ("RT_SITE_CONFIG", dir.join("etc/RT_SiteConfig.pm")),
        ("RT_SITE_CONFIG_DIR", dir.join("etc/RT_SiteConfig.d")),
    ]
}

/// The instance's RT config: its address, its database, its Mason cache, mail into a file.
fn write_config(dir: &Path, port: u16, database: &Path) {
    let etc = dir.join("etc/RT_SiteConfig.d");
    for needed in [
        etc.clone(),
        dir.join("mason_data"),
        dir.join("session_data"),
    ] {
        fs::create_dir_all(&needed).expect("create RT's directories");
    }
    fs::write(
        dir.join("etc/RT_SiteConfig.pm"),
        "# sitrep tests: the settings are in RT_SiteConfig.d\n1;\n",
    )
    .expect("write RT_SiteConfig.pm");
    let mail = perl_string(&dir.join("mail.log"));
    let config = format!(
        r#"# sitrep tests: one RT instance on loopback.
Set($rtname, 'sitrep-test');
Set($Organization, 'sitrep.test');
Set($Timezone, 'UTC');
# Debian's defaults (http://vm/rt) would make RT redirect and build wrong links.
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebPath, '');
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($WebURL, 'http://127.0.0.1:{port}/');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, {database});
# At RT's default cost every authenticated request spends 0.2 s hashing.
Set($BcryptCost, 4);
Set($LogToSTDERR, 'warning');
Set($LogToSyslog, undef);
Set($LogToFile, undef);
Set($MailCommand, sub {{
    my $message = shift;
    open my $mail, '>>', {mail} or die "cannot append to the mail file: $!";
    print $mail $message->as_string, "\n";
    close $mail;
    return 1;
}});
$RT::MasonDataDir = {mason};
$RT::MasonSessionDir = {sessions};
1;
"#,
        database = perl_string(database),
        mason = perl_string(&dir.join("mason_data")),
        sessions = perl_string(&dir.join("session_data")),
    );
    fs::write(etc.join("50-sitrep.pm"), config).expect("write RT's site config");
}

/// `path` as a single-quoted Perl string.
fn perl_string(path: &Path) -> String {
    let text = path.to_str().expect("a UTF-8 temporary path");
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Whether RT answers `GET /REST/2.0/rt` with 200 for root's token (not the installer, not
/// a login page).
fn answers_rest2(port: u16, token: &str) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    let request = format!(
        "GET /REST/2.0/rt HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: sitrep-tests\r\n\
         Authorization: token {token}\r\n\r\n"
    );
    if stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|()| stream.write_all(request.as_bytes()))
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    if stream.take(64 * 1024).read_to_end(&mut answer).is_err() {
        return false;
    }
    let answer = String::from_utf8_lossy(&answer);
    answer.starts_with("HTTP/1.")
        && answer
            .lines()
            .next()
            .is_some_and(|status| status.contains(" 200 "))
        && answer.contains("\"Version\"")
}

/// SIGTERM to rt-server's PID (Starlet then stops its workers), and waits for it to exit.
fn terminate(mut server: Child) {
    let pid = server.id().to_string();
    match Command::new("kill").args(["-TERM", &pid]).status() {
        Ok(status) if status.success() => {}
        outcome => eprintln!("kill -TERM {pid}: {outcome:?}"),
    }
    let asked = Instant::now();
    while asked.elapsed() < STOP_TIMEOUT {
        match server.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) => sleep(Duration::from_millis(50)),
            Err(error) => {
                eprintln!("cannot wait for rt-server {pid}: {error}");
                return;
            }
        }
    }
    eprintln!("rt-server {pid} ignored SIGTERM for {STOP_TIMEOUT:?}; killing it");
    let _ = server.kill();
    let _ = server.wait();
}

/// A port of 127.0.0.1 nothing listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("the bound address").port()
}

/// A new directory under the temporary directory, for this process only.
fn unique_dir(what: &str) -> PathBuf {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "sitrep-rt-{what}-{}-{}-{nanos}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    match fs::create_dir(&dir) {
        Ok(()) => dir,
        Err(error) if error.kind() == ErrorKind::AlreadyExists => unique_dir(what),
        Err(error) => panic!("cannot create {}: {error}", dir.display()),
    }
}

/// Runs `work` on tokio's blocking threads (processes, files, sleeps), keeping its panic.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}
