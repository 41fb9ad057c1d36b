//! Tests of the collector client against a stand-in collector on loopback: pinning, CA trust,
//! the URL rules, what each route sends and how refusals read.

use std::io::Write as _;

use super::*;
use crate::test_collector::{ServerIdentity, TestCa, TestCollector};

const ENROLLED: &str =
    r#"{"agent_id": "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e60", "agent_key": "sa_k3y"}"#;

fn client(url: &str, trust: &Trust) -> CollectorClient {
    CollectorClient::new(collector_url(url).expect("valid URL"), trust).expect("client")
}

/// A port that was just free: bind, note it, release it.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

fn enroll_request() -> EnrollRequest<'static> {
    EnrollRequest {
        token: "se_token",
        hostname: Some("host-3f9a2c1b"),
        agent_version: "0.1.0",
    }
}

#[test]
fn collector_urls_are_https_or_loopback_http() {
    for (text, base) in [
        (
            "https://support.example.org:8443",
            "https://support.example.org:8443/",
        ),
        (
            "https://support.example.org/sitrep",
            "https://support.example.org/sitrep/",
        ),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("http://127.9.9.9:8080/", "http://127.9.9.9:8080/"),
        ("http://[::1]:8080", "http://[::1]:8080/"),
        ("http://LOCALHOST:8080", "http://localhost:8080/"),
    ] {
        assert_eq!(collector_url(text).expect(text).as_str(), base);
    }
    assert_eq!(
        display_url(&collector_url("https://a.example:1/x/").expect("valid")),
        "https://a.example:1/x"
    );
    for (text, reason) in [
        (
            "http://192.0.2.10:8080",
            "plain http:// is allowed only for a loopback collector",
        ),
        (
            "http://support.example.org",
            "plain http:// is allowed only",
        ),
        (
            "http://localhost.example.org",
            "plain http:// is allowed only",
        ),
        ("ftp://support.example.org", "scheme \"ftp\" is not https"),
        ("https://user:pw@support.example.org", "credentials"),
        ("https://support.example.org/?x=1", "query or fragment"),
        ("support.example.org", "relative URL without a base"),
    ] {
        let error = collector_url(text).expect_err(text);
        assert!(error.is_usage());
        assert!(error.to_string().contains(reason), "{text}: {error}");
    }
}

#[test]
fn a_pin_or_ca_needs_https() {
    let base = collector_url("http://127.0.0.1:9").expect("valid");
    let pin = Fingerprint::of(b"certificate");
    let error = CollectorClient::new(base, &Trust::Pinned(pin)).expect_err("http + pin");
    assert!(
        error.to_string().contains("needs an https:// collector"),
        "{error}"
    );
}

#[tokio::test]
async fn the_pinned_certificate_is_accepted() {
    let identity = ServerIdentity::self_signed();
    let collector = TestCollector::start(Some(&identity), 201, ENROLLED).await;
    let pin = Fingerprint::of(&identity.certificate);
    let enrolled = client(&collector.url, &Trust::Pinned(pin))
        .enroll(&enroll_request())
        .await
        .expect("enrolled");
    assert_eq!(enrolled.agent_key.expose(), "sa_k3y");
    assert_eq!(
        enrolled.agent_id.to_string(),
        "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e60"
    );

    let requests = collector.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.request_line(), "POST /api/v1/enroll HTTP/1.1");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some(concat!("sitrep/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        request.header("authorization"),
        None,
        "enroll has no key yet"
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON");
    assert_eq!(
        body,
        serde_json::json!({"token": "se_token", "hostname": "host-3f9a2c1b", "agent_version": "0.1.0"})
    );
}

#[tokio::test]
async fn another_certificate_is_refused_naming_both_fingerprints() {
    let identity = ServerIdentity::self_signed();
    let collector = TestCollector::start(Some(&identity), 201, ENROLLED).await;
    let pinned = Fingerprint::of(b"the certificate enrollment saw");
    let error = client(&collector.url, &Trust::Pinned(pinned))
        .enroll(&enroll_request())
        .await
        .expect_err("wrong pin");
    let presented = Fingerprint::of(&identity.certificate);
    assert!(
        matches!(&error, CollectorError::PinMismatch { expected, presented: p, .. }
            if *expected == pinned && *p == presented),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("expected:  SHA256 {pinned}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("presented: SHA256 {presented}")),
        "{message}"
    );
    assert!(message.contains(&collector.url), "{message}");
    assert!(collector.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_ca_file_is_the_only_trust_and_names_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new("sitrep test CA");
    let ca_path = dir.path().join("ca.pem");
    std::fs::File::create(&ca_path)
        .and_then(|mut file| file.write_all(ca.pem().as_bytes()))
        .expect("write CA");
    let trust = Trust::CaFile(ca_path);

    let collector = TestCollector::start(Some(&ca.issue(&["127.0.0.1"])), 201, ENROLLED).await;
    client(&collector.url, &trust)
        .enroll(&enroll_request())
        .await
        .expect("a certificate from the CA is trusted");

    for (server, why, reason) in [
        (
            ServerIdentity::self_signed(),
            "a certificate from elsewhere",
            "it is not signed by a trusted CA",
        ),
        (
            TestCa::new("another CA").issue(&["127.0.0.1"]),
            "another CA's certificate",
            "it is not signed by a trusted CA",
        ),
        (
            ca.issue(&["collector.example"]),
            "a certificate for another name",
            "it is not issued for this host name",
        ),
    ] {
        let collector = TestCollector::start(Some(&server), 201, ENROLLED).await;
        let error = client(&collector.url, &trust)
            .enroll(&enroll_request())
            .await
            .expect_err(why);
        assert!(
            matches!(error, CollectorError::Untrusted { .. })
                && error.to_string().starts_with(&format!(
                    "the collector at {}/api/v1/enroll presented a certificate this agent \
                     does not trust: {reason}",
                    collector.url
                )),
            "{why}: {error}"
        );
    }
}

#[tokio::test]
async fn the_platform_roots_do_not_trust_a_self_signed_collector() {
    let collector = TestCollector::start(Some(&ServerIdentity::self_signed()), 201, ENROLLED).await;
    let error = client(&collector.url, &Trust::Platform)
        .enroll(&enroll_request())
        .await
        .expect_err("self-signed");
    assert!(
        error.to_string().contains(
            "it is not signed by a trusted CA (a self-signed collector needs --fingerprint"
        ),
        "{error}"
    );
}

#[test]
fn an_unusable_ca_file_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    let base = collector_url("https://127.0.0.1:9").expect("valid");
    for (path, reason) in [
        (empty, "holds no PEM certificate"),
        (dir.path().join("missing.pem"), "No such file"),
    ] {
        let error = CollectorClient::new(base.clone(), &Trust::CaFile(path)).expect_err("bad CA");
        assert!(error.is_usage());
        assert!(error.to_string().contains(reason), "{error}");
    }
}

#[tokio::test]
async fn snapshots_go_compressed_with_the_key_and_the_query() {
    let collector = TestCollector::start(
        None,
        201,
        r#"{"snapshot_id": "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e61", "device_id": 7, "duplicate": false}"#,
    )
    .await;
    let json = br#"{"schema_version": 1}"#;
    let request_id: Uuid = "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e62"
        .parse()
        .expect("uuid");
    let stored = client(&collector.url, &Trust::Platform)
        .with_key(serde_json::from_str("\"sa_k3y\"").expect("key"))
        .send_snapshot(
            compress(json).expect("compress"),
            &UploadParams {
                ticket: Some("T-12"),
                note: Some("after the update & reboot"),
                request: Some(request_id),
                spool_dropped: 3,
            },
        )
        .await
        .expect("stored");
    assert!(!stored.duplicate);

    let request = &collector.requests()[0];
    assert_eq!(
        request.request_line(),
        "POST /api/v1/snapshots?ticket=T-12&note=after+the+update+%26+reboot\
         &request=0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e62&spool_dropped=3 HTTP/1.1"
    );
    assert_eq!(request.header("authorization"), Some("Bearer sa_k3y"));
    assert_eq!(request.header("content-encoding"), Some("zstd"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        zstd::decode_all(&request.body[..]).expect("zstd"),
        json,
        "the body is the given JSON, compressed"
    );
}

#[tokio::test]
async fn refusals_are_explained() {
    let key: AgentKey = serde_json::from_str("\"sa_old\"").expect("key");
    let unknown = TestCollector::start(
        None,
        401,
        r#"{"error": {"code": "unknown_agent_key", "message": "the agent key is unknown or revoked"}}"#,
    )
    .await;
    let error = client(&unknown.url, &Trust::Platform)
        .with_key(key.clone())
        .send_snapshot(compress(b"{}").expect("compress"), &UploadParams::default())
        .await
        .expect_err("401");
    assert!(matches!(error, CollectorError::UnknownAgentKey { .. }));
    assert!(error.to_string().contains("unknown or revoked"), "{error}");
    assert!(error.to_string().contains("sitrep enroll"), "{error}");

    let old = TestCollector::start(
        None,
        422,
        r#"{"error": {"code": "unsupported_schema_version", "message": "supported: 1"}}"#,
    )
    .await;
    let error = client(&old.url, &Trust::Platform)
        .with_key(key.clone())
        .send_snapshot(compress(b"{}").expect("compress"), &UploadParams::default())
        .await
        .expect_err("422");
    assert_eq!(
        error.to_string(),
        format!(
            "the collector at {}/api/v1/snapshots refused the request: 422 Unprocessable \
             Entity: supported: 1 (unsupported_schema_version)",
            old.url
        )
    );

    let token = TestCollector::start(
        None,
        401,
        r#"{"error": {"code": "invalid_enrollment_token", "message": "the enrollment token is unknown, revoked, expired or used up"}}"#,
    )
    .await;
    let error = client(&token.url, &Trust::Platform)
        .enroll(&enroll_request())
        .await
        .expect_err("401 on enroll");
    assert!(
        matches!(&error, CollectorError::Rejected { code: Some(code), .. } if code == "invalid_enrollment_token"),
        "{error}"
    );

    let garbled = TestCollector::start(None, 200, "<html>hello</html>").await;
    let error = client(&garbled.url, &Trust::Platform)
        .with_key(key)
        .help("printer", &crate::test_snapshot::realistic_snapshot())
        .await
        .expect_err("not JSON");
    assert!(matches!(error, CollectorError::BadAnswer { .. }), "{error}");
}

#[tokio::test]
async fn an_unreachable_collector_names_the_url_and_the_cause() {
    let url = format!("https://127.0.0.1:{}", closed_port());
    let error = client(&url, &Trust::Platform)
        .enroll(&enroll_request())
        .await
        .expect_err("nobody listens");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot reach the collector at {url}/api/v1/enroll: "
        )),
        "{message}"
    );
    assert!(message.contains("Connection refused"), "{message}");
}

#[tokio::test]
async fn help_sends_the_words_and_the_snapshot() {
    let collector = TestCollector::start(
        None,
        201,
        r#"{"support_code": "K7P-4QX", "help_request_id": 3, "snapshot_id": "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e61"}"#,
    )
    .await;
    let snapshot = crate::test_snapshot::realistic_snapshot();
    let answer = client(&collector.url, &Trust::Platform)
        .with_key(serde_json::from_str("\"sa_k3y\"").expect("key"))
        .help("the printer does not print", &snapshot)
        .await
        .expect("answered");
    assert_eq!(answer.support_code, "K7P-4QX");
    let request = &collector.requests()[0];
    assert_eq!(request.request_line(), "POST /api/v1/help HTTP/1.1");
    let body: serde_json::Value =
        serde_json::from_slice(&zstd::decode_all(&request.body[..]).expect("zstd")).expect("JSON");
    assert_eq!(body["text"], "the printer does not print");
    let sent: Snapshot = serde_json::from_value(body["snapshot"].clone()).expect("snapshot");
    assert_eq!(sent, snapshot);
}

#[tokio::test]
async fn what_to_do_after_a_refusal() {
    let key: AgentKey = serde_json::from_str("\"sa_k3y\"").expect("key");
    let upload = |url: String| {
        let key = key.clone();
        async move {
            client(&url, &Trust::Platform)
                .with_key(key)
                .send_snapshot(compress(b"{}").expect("compress"), &UploadParams::default())
                .await
                .expect_err("refused")
        }
    };
    let busy = TestCollector::start_with_headers(
        None,
        503,
        &[("Retry-After", "7")],
        r#"{"error": {"code": "unavailable", "message": "busy"}}"#,
    )
    .await;
    assert_eq!(
        upload(busy.url.clone()).await.retry(),
        Retry::Later(Some(Duration::from_secs(7)))
    );
    let greedy = TestCollector::start_with_headers(
        None,
        429,
        &[("Retry-After", "999999")],
        r#"{"error": {"code": "rate_limited", "message": "slow down"}}"#,
    )
    .await;
    assert_eq!(
        upload(greedy.url.clone()).await.retry(),
        Retry::Later(Some(MAX_RETRY_AFTER)),
        "a huge Retry-After is capped"
    );
    let invalid = TestCollector::start(
        None,
        422,
        r#"{"error": {"code": "invalid_body", "message": "no"}}"#,
    )
    .await;
    assert_eq!(upload(invalid.url.clone()).await.retry(), Retry::Never);
    let revoked = TestCollector::start(
        None,
        401,
        r#"{"error": {"code": "unknown_agent_key", "message": "unknown"}}"#,
    )
    .await;
    assert_eq!(upload(revoked.url.clone()).await.retry(), Retry::Reenroll);
    let gone = format!("http://127.0.0.1:{}", closed_port());
    assert_eq!(upload(gone).await.retry(), Retry::Later(None));
}

#[tokio::test]
async fn the_long_poll_asks_to_wait_and_reads_the_requests() {
    let collector = TestCollector::start(
        None,
        200,
        r#"{"requests": [{"id": "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e63", "targets": ["printer.corp.example", "10.0.0.5:631"], "created_at": "2026-11-25T10:00:00Z", "expires_at": "2026-11-25T11:00:00Z"}]}"#,
    )
    .await;
    let requests = client(&collector.url, &Trust::Platform)
        .with_key(serde_json::from_str("\"sa_k3y\"").expect("key"))
        .poll_requests(Duration::from_secs(30))
        .await
        .expect("requests");
    assert_eq!(
        requests,
        [SpecialistRequest {
            id: "0192f0c4-7d3e-7a51-9c1e-3b5f2a8d4e63"
                .parse()
                .expect("uuid"),
            targets: vec!["printer.corp.example".into(), "10.0.0.5:631".into()],
        }]
    );
    let request = &collector.requests()[0];
    assert_eq!(
        request.request_line(),
        "GET /api/v1/agent/requests?wait=30 HTTP/1.1"
    );
    assert_eq!(request.header("authorization"), Some("Bearer sa_k3y"));
}
