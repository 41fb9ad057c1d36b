//! TLS downgrades and wrong certificates, with the real binaries on 127.0.0.1.
//!
//! The collector: hand-built ClientHellos offering only SSLv3, TLS 1.0 or TLS 1.1 get a fatal
//! `protocol_version` alert, one offering only weak suites (export, NULL, RC4, 3DES, CBC with
//! SHA-1 or SHA-256) a fatal `handshake_failure`, and an SSLv2 hello or plain HTTP sent to the
//! HTTPS port gets no HTTP answer; the collector serves on afterwards.
//!
//! The agent (exit 4, the reason named, nothing sent): enrolling with `--ca` of an unrelated
//! CA, against a collector whose certificate has expired or names another host, and through a
//! man-in-the-middle on loopback that presents its own certificate (to an agent pinned by
//! fingerprint and to one trusting a CA); an enrolled agent whose collector address leads to
//! that impostor keeps its snapshot in the spool. The impostor records what it decrypts: never
//! a byte (no enrollment token, key or snapshot). (`collector_e2e.rs` tests a wrong pin against
//! the real collector.)

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sitrep_tests::ingest::{CollectorBinary, LoopbackCollector};

type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// How long a refusal may take to arrive; answers on loopback take milliseconds.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// TLS alert descriptions (RFC 8446 section 6).
const HANDSHAKE_FAILURE: u8 = 40;
const PROTOCOL_VERSION: u8 = 70;

/// A private CA and the certificates it signs, as PEM files in `dir`.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
}

impl TestCa {
    fn new(dir: &Path, name: &str) -> TestResult<TestCa> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        std::fs::write(dir.join(format!("{name}.pem")), issuer.pem())?;
        Ok(TestCa {
            issuer,
            dir: dir.to_path_buf(),
        })
    }

    fn ca_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }

    /// A serving certificate for `names`, valid from January 1st of the first year of
    /// `valid_years` to January 1st of the second: its certificate and key files.
    fn issue(
        &self,
        file_name: &str,
        names: &[&str],
        valid_years: (i32, i32),
    ) -> TestResult<(PathBuf, PathBuf)> {
        let mut params = CertificateParams::new(
            names
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>(),
        )?;
        params.not_before = date_time_ymd(valid_years.0, 1, 1);
        params.not_after = date_time_ymd(valid_years.1, 1, 1);
        let key = KeyPair::generate()?;
        let certificate = params.signed_by(&key, &self.issuer)?;
        let cert_path = self.dir.join(format!("{file_name}.crt"));
        let key_path = self.dir.join(format!("{file_name}.key"));
        std::fs::write(&cert_path, certificate.pem())?;
        std::fs::write(&key_path, key.serialize_pem())?;
        Ok((cert_path, key_path))
    }
}

/// Valid now and for decades.
const VALID: (i32, i32) = (2020, 2100);
const EXPIRED: (i32, i32) = (2020, 2021);

fn serve_with(
    binary: &CollectorBinary,
    (cert, key): &(PathBuf, PathBuf),
    log: PathBuf,
) -> TestResult<LoopbackCollector> {
    let cert = cert
        .to_str()
        .ok_or("a certificate path that is not UTF-8")?;
    let key = key.to_str().ok_or("a key path that is not UTF-8")?;
    binary.serve_https(&["--tls-cert", cert, "--tls-key", key], log)
}

fn collector_binary(dir: &Path, name: &str) -> CollectorBinary {
    CollectorBinary {
        path: assert_cmd::cargo::cargo_bin("sitrep-collector"),
        data_dir: dir.join(name),
        database_url: None,
    }
}

fn address(url: &str) -> TestResult<SocketAddr> {
    Ok(url.rsplit('/').next().ok_or("no address")?.parse()?)
}

/// The extensions of an ordinary TLS 1.2 client, so that what a refusal is about is the
/// version or the suites, not a missing extension: signature_algorithms (RSA PKCS#1 and PSS
/// with SHA-256, ECDSA P-256), supported_groups (x25519, P-256) and ec_point_formats
/// (uncompressed). No `supported_versions`: the version offered is `hello_version`.
const TLS12_EXTENSIONS: [u8; 33] = [
    0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x01, 0x08, 0x04, 0x04, 0x03, // signatures
    0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // groups
    0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // point formats
    0xff, 0x01, 0x00, 0x01, 0x00, // renegotiation_info, empty
];

/// A TLS record holding a ClientHello with `hello_version`, these cipher suites, no session id
/// and [`TLS12_EXTENSIONS`].
fn client_hello(record_version: u16, hello_version: u16, suites: &[u16]) -> Vec<u8> {
    let mut hello = Vec::new();
    hello.extend_from_slice(&hello_version.to_be_bytes());
    hello.extend_from_slice(&[0x5a; 32]); // random
    hello.push(0); // session id
    let suite_bytes = u16::try_from(suites.len() * 2).unwrap_or(u16::MAX);
    hello.extend_from_slice(&suite_bytes.to_be_bytes());
    for suite in suites {
        hello.extend_from_slice(&suite.to_be_bytes());
    }
    hello.extend_from_slice(&[1, 0]); // compression: null only
    let extensions = u16::try_from(TLS12_EXTENSIONS.len()).unwrap_or(0);
    hello.extend_from_slice(&extensions.to_be_bytes());
    hello.extend_from_slice(&TLS12_EXTENSIONS);
    let mut handshake = vec![1]; // client_hello
    handshake.extend_from_slice(&u32::try_from(hello.len()).unwrap_or(0).to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16]; // handshake
    record.extend_from_slice(&record_version.to_be_bytes());
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends `bytes` on a fresh connection and reads until the server closes it.
fn answer_to(addr: SocketAddr, bytes: &[u8]) -> TestResult<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    stream.write_all(bytes)?;
    let mut answer = Vec::new();
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(answer),
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
            // A reset after the alert is a close too.
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => return Ok(answer),
            Err(error) => {
                return Err(format!(
                    "no close within {:?} ({error}), having received {answer:02x?}",
                    started.elapsed()
                )
                .into());
            }
        }
    }
}

/// The description of the fatal alert that `answer` is, or an error naming what it is instead.
fn fatal_alert(answer: &[u8]) -> TestResult<u8> {
    match answer {
        [0x15, 0x03, _, 0x00, 0x02, 0x02, description, ..] => Ok(*description),
        _ => Err(format!("not a fatal alert: {answer:02x?}").into()),
    }
}

#[test]
fn the_collector_refuses_old_protocols_weak_suites_and_plain_http() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ca = TestCa::new(dir.path(), "ca")?;
    let serving = ca.issue("collector", &["localhost", "127.0.0.1"], VALID)?;
    let binary = collector_binary(dir.path(), "data");
    let collector = serve_with(&binary, &serving, dir.path().join("collector.log"))?;
    let addr = address(&collector.url)?;

    // Suites the old versions would have used, modern AEAD ones included: the version alone
    // is refused.
    let all_suites = [0xc02f, 0xc030, 0x009c, 0x002f, 0x0035, 0x000a, 0x0005];
    for (name, record_version, hello_version) in [
        ("SSLv3", 0x0300, 0x0300),
        ("TLS 1.0", 0x0301, 0x0301),
        ("TLS 1.1", 0x0301, 0x0302),
    ] {
        let answer = answer_to(
            addr,
            &client_hello(record_version, hello_version, &all_suites),
        )?;
        let alert = fatal_alert(&answer).map_err(|error| format!("{name}: {error}"))?;
        assert_eq!(alert, PROTOCOL_VERSION, "{name} is refused as a version");
        eprintln!("{name} ClientHello: fatal alert protocol_version ({alert})");
    }
    // TLS 1.2 with only what rustls never implemented: export, NULL, RC4, 3DES, AES-CBC with
    // SHA-1 and SHA-256 MACs.
    let weak_suites = [
        0x0003, 0x0008, 0x0001, 0x0002, 0x0004, 0x0005, 0x000a, 0xc012, 0x002f, 0x0035, 0xc013,
        0xc014, 0x003c, 0x003d, 0xc027,
    ];
    let answer = answer_to(addr, &client_hello(0x0301, 0x0303, &weak_suites))?;
    let alert = fatal_alert(&answer)?;
    assert_eq!(alert, HANDSHAKE_FAILURE, "weak suites only");
    eprintln!("TLS 1.2 ClientHello with only weak suites: fatal alert handshake_failure ({alert})");
    // The control: the same hello with one strong suite (ECDHE-ECDSA-AES128-GCM-SHA256, the
    // test certificate's key being ECDSA) gets a ServerHello, so the refusal was the suites.
    let mut with_strong = weak_suites.to_vec();
    with_strong.push(0xc02b);
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    stream.write_all(&client_hello(0x0301, 0x0303, &with_strong))?;
    let mut record_type = [0u8; 1];
    stream.read_exact(&mut record_type)?;
    assert_eq!(record_type, [0x16], "a handshake record (ServerHello)");

    // An SSLv2-format hello (SSL_CK_RC4_128_WITH_MD5) and plain HTTP: no HTTP answer.
    let sslv2_hello = [
        0x80, 0x1c, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x80,
    ]
    .into_iter()
    .chain([0x42; 16])
    .collect::<Vec<u8>>();
    let plain_http = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (name, bytes) in [
        ("SSLv2 hello", &sslv2_hello[..]),
        ("plain HTTP", plain_http),
    ] {
        let answer = answer_to(addr, bytes)?;
        assert!(
            !answer.starts_with(b"HTTP/"),
            "{name} got an HTTP answer: {}",
            String::from_utf8_lossy(&answer)
        );
        eprintln!("{name} to the HTTPS port: closed after {answer:02x?}");
    }

    // Still serving, to a client that trusts the CA.
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(
            ca.ca_file("ca"),
        )?)?])
        .timeout(ANSWER_TIMEOUT)
        .build()?;
    let health = client.get(format!("{}/healthz", collector.url)).send()?;
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    Ok(())
}

/// What the impostor saw on one connection.
#[derive(Debug)]
struct Intercepted {
    /// How the handshake ended: `None` when it completed.
    handshake_error: Option<String>,
    /// Every byte the impostor could decrypt.
    plaintext: Vec<u8>,
}

/// A man in the middle on 127.0.0.1: it terminates TLS with a certificate of its own for the
/// collector's names and records whatever it decrypts. Its thread ends when it is dropped.
struct Impostor {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Intercepted>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Impostor {
    fn start() -> TestResult<Impostor> {
        let key = KeyPair::generate()?;
        let certificate =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?
                .self_signed(&key)?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(certificate.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let seen = Arc::clone(&seen);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let intercepted = intercept(&config, stream);
                            seen.lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(intercepted);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        Ok(Impostor {
            addr,
            seen,
            stop,
            thread: Some(thread),
        })
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn take_seen(&self) -> Vec<Intercepted> {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Impostor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Completes the handshake if the client lets it, then reads what the client sends, until the
/// client closes or `ANSWER_TIMEOUT` passes.
fn intercept(config: &Arc<rustls::ServerConfig>, mut stream: TcpStream) -> Intercepted {
    let mut intercepted = Intercepted {
        handshake_error: None,
        plaintext: Vec::new(),
    };
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(ANSWER_TIMEOUT)));
    let mut connection = match (setup, rustls::ServerConnection::new(Arc::clone(config))) {
        (Ok(()), Ok(connection)) => connection,
        (Err(error), _) => {
            intercepted.handshake_error = Some(error.to_string());
            return intercepted;
        }
        (_, Err(error)) => {
            intercepted.handshake_error = Some(error.to_string());
            return intercepted;
        }
    };
    while connection.is_handshaking() {
        if let Err(error) = connection.complete_io(&mut stream) {
            intercepted.handshake_error = Some(error.to_string());
            return intercepted;
        }
    }
    let mut tls = rustls::Stream::new(&mut connection, &mut stream);
    let mut buffer = [0u8; 4096];
    while let Ok(read @ 1..) = tls.read(&mut buffer) {
        intercepted.plaintext.extend_from_slice(&buffer[..read]);
    }
    intercepted
}

/// An agent's state dir and an empty config (so no file under /etc is read).
struct AgentHome {
    config: PathBuf,
    state_dir: PathBuf,
}

impl AgentHome {
    fn new(dir: &Path, name: &str) -> TestResult<AgentHome> {
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, "")?;
        Ok(AgentHome {
            config,
            state_dir: dir.join(name),
        })
    }

    fn run(&self, args: &[&str]) -> TestResult<Output> {
        Ok(
            std::process::Command::new(assert_cmd::cargo::cargo_bin("sitrep"))
                .arg("--config")
                .arg(&self.config)
                .arg("--state-dir")
                .arg(&self.state_dir)
                .args(args)
                .env("SITREP_LOG", "warn")
                .output()?,
        )
    }
}

fn described(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Checks that `output` is a refusal: exit 4, and `reason` in what it printed.
fn check_refused(what: &str, output: &Output, reason: &str) -> TestResult {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() != Some(4) || !stderr.contains(reason) {
        return Err(format!(
            "{what}: expected exit 4 naming {reason:?}; {}",
            described(output)
        )
        .into());
    }
    let first_line = stderr
        .lines()
        .find(|line| line.contains(reason))
        .unwrap_or_default();
    eprintln!("{what}: exit 4: {}", first_line.trim());
    Ok(())
}

/// Checks that the impostor decrypted nothing from any of its connections, and that it saw
/// at least one; the handshake errors it saw.
fn check_nothing_decrypted(what: &str, impostor: &Impostor) -> TestResult<Vec<String>> {
    let seen = impostor.take_seen();
    if seen.is_empty() {
        return Err(format!("{what}: the agent never reached the impostor").into());
    }
    for intercepted in &seen {
        if !intercepted.plaintext.is_empty() {
            return Err(format!(
                "{what}: the impostor decrypted {:?}",
                String::from_utf8_lossy(&intercepted.plaintext)
            )
            .into());
        }
    }
    Ok(seen
        .into_iter()
        .map(|intercepted| {
            intercepted
                .handshake_error
                .unwrap_or_else(|| "completed".into())
        })
        .collect())
}

#[test]
fn agents_refuse_wrong_certificates_and_impostors_and_send_them_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let ca = TestCa::new(dir.path(), "ca")?;
    let unrelated = TestCa::new(dir.path(), "unrelated-ca")?;
    let names = ["localhost", "127.0.0.1"];
    let good = collector_binary(dir.path(), "good");
    let good_collector = serve_with(
        &good,
        &ca.issue("good", &names, VALID)?,
        dir.path().join("good.log"),
    )?;
    let expired = collector_binary(dir.path(), "expired");
    let expired_collector = serve_with(
        &expired,
        &ca.issue("expired", &names, EXPIRED)?,
        dir.path().join("expired.log"),
    )?;
    let misnamed = collector_binary(dir.path(), "misnamed");
    let misnamed_collector = serve_with(
        &misnamed,
        &ca.issue("misnamed", &["collector.other.example"], VALID)?,
        dir.path().join("misnamed.log"),
    )?;
    let good_ca = ca.ca_file("ca");
    let good_ca = good_ca.to_str().ok_or("a path that is not UTF-8")?;
    let unrelated_ca = unrelated.ca_file("unrelated-ca");
    let unrelated_ca = unrelated_ca.to_str().ok_or("a path that is not UTF-8")?;
    let token = good.admin(&["enroll-token", "create"])?;
    // What the operator would read to the agent's installer.
    let good_config = dir.path().join("good-collector.toml");
    std::fs::write(
        &good_config,
        format!(
            "tls_cert = {:?}\ntls_key = {:?}\n",
            dir.path().join("good.crt"),
            dir.path().join("good.key")
        ),
    )?;
    let good_fingerprint = good.admin_configured(&good_config, &["fingerprint"])?;

    let enroll = |home: &AgentHome, url: &str, trust: [&str; 2]| {
        home.run(&[
            "enroll",
            "--collector",
            url,
            "--token",
            &token,
            trust[0],
            trust[1],
        ])
    };
    let home = AgentHome::new(dir.path(), "refused")?;
    check_refused(
        "--ca of an unrelated CA",
        &enroll(&home, &good_collector.url, ["--ca", unrelated_ca])?,
        "not signed by a trusted CA",
    )?;
    check_refused(
        "an expired certificate",
        &enroll(&home, &expired_collector.url, ["--ca", good_ca])?,
        "it has expired",
    )?;
    check_refused(
        "a certificate for another name",
        &enroll(&home, &misnamed_collector.url, ["--ca", good_ca])?,
        "not issued for this host name",
    )?;

    let impostor = Impostor::start()?;
    check_refused(
        "an impostor, to an agent pinning the collector",
        &enroll(&home, &impostor.url(), ["--fingerprint", &good_fingerprint])?,
        "not the pinned one",
    )?;
    let errors = check_nothing_decrypted("pinned enrollment", &impostor)?;
    eprintln!("  the impostor decrypted nothing: {errors:?}");
    check_refused(
        "an impostor, to an agent trusting the CA",
        &enroll(&home, &impostor.url(), ["--ca", good_ca])?,
        "not signed by a trusted CA",
    )?;
    let errors = check_nothing_decrypted("CA enrollment", &impostor)?;
    eprintln!("  the impostor decrypted nothing: {errors:?}");
    // No refused attempt reached the collector's handlers: its enrollment token is unused.
    let tokens = good.admin(&["enroll-token", "list"])?;
    assert!(tokens.contains("used 0 "), "{tokens}");
    assert!(
        !home.state_dir.join("identity.json").exists(),
        "no identity"
    );

    // Enrolled agents whose collector address now leads to the impostor (a hijacked name):
    // `send` keeps the snapshot and gives the impostor nothing, key included.
    for (name, trust) in [
        ("pinned", ["--fingerprint", good_fingerprint.as_str()]),
        ("ca", ["--ca", good_ca]),
    ] {
        let home = AgentHome::new(dir.path(), name)?;
        let enrolled = enroll(&home, &good_collector.url, trust)?;
        assert_eq!(enrolled.status.code(), Some(0), "{}", described(&enrolled));
        let identity_path = home.state_dir.join("identity.json");
        let mut identity: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&identity_path)?)?;
        identity["collector"] = serde_json::Value::String(impostor.url());
        std::fs::write(&identity_path, serde_json::to_vec(&identity)?)?;
        let sent = home.run(&["send", "--no-probes"])?;
        let reason = if name == "pinned" {
            "not the pinned one"
        } else {
            "not signed by a trusted CA"
        };
        check_refused(
            &format!("send by a {name} agent to the impostor"),
            &sent,
            reason,
        )?;
        assert!(
            String::from_utf8_lossy(&sent.stderr).contains("kept in the spool"),
            "{}",
            described(&sent)
        );
        let errors = check_nothing_decrypted(&format!("{name} send"), &impostor)?;
        eprintln!("  the impostor decrypted nothing: {errors:?}");
    }
    Ok(())
}
