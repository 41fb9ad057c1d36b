//! The signed-webhook connector against a fake receiver that verifies every delivery the way
//! the Standard Webhooks specification tells a receiver to, with an implementation of its own
//! written here from the specification (SHA-256 per FIPS 180-4, HMAC per RFC 2104), sharing
//! no code with the connector's signing: decode the `whsec_` key, HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, compare the `v1,` value, timestamp within five
//! minutes.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sitrep_tickets::{
    Attached, Attachment, ConnectorConfig, ExternalTicket, NewExternalTicket, TicketError,
};

use common::{Forced, Secrets, assert_transient};

/// whsec_ + base64 of 32 bytes 0x00..0x1f.
const SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const TOLERANCE_SECONDS: i64 = 5 * 60;

// ---- The independent verifier -------------------------------------------------------------

const ROUND_CONSTANTS: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 (FIPS 180-4).
fn sha256(message: &[u8]) -> [u8; 32] {
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&(message.len() as u64 * 8).to_be_bytes());
    for block in padded.chunks_exact(64) {
        let mut schedule = [0u32; 64];
        for (word, bytes) in schedule.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes(bytes.try_into().expect("four bytes"));
        }
        for t in 16..64 {
            let s0 = schedule[t - 15].rotate_right(7)
                ^ schedule[t - 15].rotate_right(18)
                ^ (schedule[t - 15] >> 3);
            let s1 = schedule[t - 2].rotate_right(17)
                ^ schedule[t - 2].rotate_right(19)
                ^ (schedule[t - 2] >> 10);
            schedule[t] = schedule[t - 16]
                .wrapping_add(s0)
                .wrapping_add(schedule[t - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
        for (constant, word) in ROUND_CONSTANTS.iter().zip(schedule.iter()) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let choice = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(choice)
                .wrapping_add(*constant)
                .wrapping_add(*word);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let majority = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(majority);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (word, add) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *word = word.wrapping_add(add);
        }
    }
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// HMAC-SHA256 (RFC 2104, block size 64).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha256(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = block.iter().map(|byte| byte ^ 0x36).collect();
    inner.extend_from_slice(message);
    let mut outer: Vec<u8> = block.iter().map(|byte| byte ^ 0x5c).collect();
    outer.extend_from_slice(&sha256(&inner));
    sha256(&outer)
}

fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (l, r)| difference | (l ^ r))
            == 0
}

fn unix_now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds that fit")
}

/// A receiver's check of one delivery, as the specification describes it.
fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), String> {
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or("the secret has no whsec_ prefix")?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|error| format!("the secret is not base64: {error}"))?;
    let sent_at: i64 = timestamp
        .parse()
        .map_err(|_| format!("webhook-timestamp {timestamp:?} is not unix seconds"))?;
    if (now - sent_at).abs() > TOLERANCE_SECONDS {
        return Err(format!(
            "webhook-timestamp {sent_at} is more than five minutes from {now}"
        ));
    }
    let mut signed = Vec::with_capacity(id.len() + timestamp.len() + body.len() + 2);
    signed.extend_from_slice(id.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(timestamp.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    let expected = STANDARD.encode(hmac_sha256(&key, &signed));
    let matches = signatures.split(' ').any(|signature| {
        signature.split_once(',').is_some_and(|(version, value)| {
            version == "v1" && constant_time_equal(value.as_bytes(), expected.as_bytes())
        })
    });
    if matches {
        Ok(())
    } else {
        Err(format!("no v1 signature in {signatures:?} matches"))
    }
}

#[test]
fn the_verifier_agrees_with_published_vectors() {
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect::<String>()
    };
    // FIPS 180-4's "abc" and the empty message.
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // RFC 4231 test cases 2 and 6 (a key longer than a block).
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        hex(&hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        )),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
    // The example of the Standard Webhooks reference libraries, checked at its own time, then
    // six minutes later.
    let example = |now| {
        verify(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            br#"{"test": 2432232314}"#,
            now,
        )
    };
    assert_eq!(example(1_614_265_330), Ok(()));
    assert!(example(1_614_265_330 + 6 * 60).is_err());
}

// ---- The fake receiver --------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Delivery {
    method: Method,
    path: String,
    content_type: Option<String>,
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    /// The verifier's verdict when it arrived.
    verified: Result<(), String>,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn verify(&self, secret: &str, body: &[u8]) -> Result<(), String> {
        verify(
            secret,
            &self.id,
            &self.timestamp,
            &self.signature,
            body,
            unix_now(),
        )
    }
}

#[derive(Default)]
struct Receiver {
    deliveries: Vec<Delivery>,
    /// How to answer the next deliveries, in turn.
    answers: Vec<Forced>,
}

type FakeReceiver = common::Shared<Receiver>;

impl FakeReceiver {
    fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    fn answer_next(&self, status: StatusCode, retry_after: Option<&'static str>, body: Value) {
        self.lock()
            .answers
            .push(Forced::next(status, retry_after, body));
    }
}

/// Records the delivery, refuses one that does not verify (401, as a receiver would), and
/// otherwise answers with the next queued answer or 204.
async fn receive(
    State(fake): State<FakeReceiver>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let id = text("webhook-id").unwrap_or_default();
    let timestamp = text("webhook-timestamp").unwrap_or_default();
    let signature = text("webhook-signature").unwrap_or_default();
    let verified = verify(SECRET, &id, &timestamp, &signature, &body, unix_now());
    let mut receiver = fake.lock();
    receiver.deliveries.push(Delivery {
        method,
        path: uri.to_string(),
        content_type: text(header::CONTENT_TYPE.as_str()),
        id,
        timestamp,
        signature,
        body: body.to_vec(),
        verified: verified.clone(),
    });
    if let Err(problem) = verified {
        return (StatusCode::UNAUTHORIZED, problem).into_response();
    }
    if receiver.answers.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    receiver.answers.remove(0).into_response()
}

type Harness = common::Harness<FakeReceiver>;

/// A receiver at `/hooks/sitrep` and a connector built from config for it.
async fn harness() -> Harness {
    harness_with_secret(SECRET).await
}

/// A receiver at `/hooks/sitrep`, verifying with [`SECRET`], and a connector signing with
/// `secret`.
async fn harness_with_secret(secret: &str) -> Harness {
    let fake = FakeReceiver::default();
    let router = Router::new()
        .route("/hooks/sitrep", post(receive))
        .with_state(fake.clone());
    Harness::start(fake, router, |url, secrets| {
        json!({
            "kind": "webhook",
            "url": format!("{url}/hooks/sitrep"),
            "secret": {"file": secrets.file(secret)},
        })
    })
    .await
}

/// The sample snapshot with nested JSON (a list of disks), which the event is to carry as JSON.
fn attachment() -> Attachment {
    Attachment {
        snapshot_json: br#"{"schema":1,"host":"pc-0042","disks":[{"mount":"C:","used":0.97}]}"#
            .to_vec(),
        ..common::attachment()
    }
}

// ---- Tests --------------------------------------------------------------------------------

#[tokio::test]
async fn attach_posts_a_signed_snapshot_event() {
    let harness = harness().await;
    let attachment = attachment();
    let attached = harness
        .attach("HELP-7", &attachment)
        .await
        .expect("delivered");
    assert_eq!(attached, Attached::New);
    let deliveries = harness.fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(delivery.verified, Ok(()));
    assert_eq!(delivery.method, Method::POST);
    assert_eq!(delivery.path, "/hooks/sitrep");
    assert_eq!(delivery.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        delivery.id,
        "msg_0193a5c4-1f2e-7c3d-9a8b-123456789abc_HELP-7"
    );
    let sent_at: i64 = delivery.timestamp.parse().expect("unix seconds");
    assert!((unix_now() - sent_at).abs() <= 5, "{sent_at}");
    assert!(
        delivery.signature.starts_with("v1,"),
        "{}",
        delivery.signature
    );

    let event = delivery.json();
    assert_eq!(event["type"], "sitrep.snapshot.attached");
    let occurred = event["timestamp"].as_str().expect("a timestamp");
    let occurred = chrono::DateTime::parse_from_rfc3339(occurred).expect("an RFC 3339 time");
    assert!((occurred.timestamp() - sent_at).abs() <= 1, "{occurred}");
    assert_eq!(
        event["data"],
        json!({
            "ticket": "HELP-7",
            "snapshot_id": "0193a5c4-1f2e-7c3d-9a8b-123456789abc",
            "summary": attachment.summary,
            "note": attachment.note,
            "report_markdown": attachment.report_markdown,
            "report_html": attachment.report_html,
            "snapshot": {"schema": 1, "host": "pc-0042", "disks": [{"mount": "C:", "used": 0.97}]},
        })
    );
}

#[tokio::test]
async fn a_retry_carries_the_same_webhook_id() {
    let harness = harness().await;
    let attachment = attachment();
    for _ in 0..2 {
        let attached = harness
            .attach("HELP-7", &attachment)
            .await
            .expect("delivered");
        assert_eq!(attached, Attached::New);
    }
    let other_ticket = harness
        .attach("HELP-8", &attachment)
        .await
        .expect("delivered");
    assert_eq!(other_ticket, Attached::New);
    let deliveries = harness.fake.deliveries();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|delivery| delivery.verified.is_ok()));
    assert_eq!(deliveries[0].id, deliveries[1].id);
    assert_ne!(deliveries[0].id, deliveries[2].id);
}

#[tokio::test]
async fn a_tampered_delivery_fails_verification() {
    let harness = harness().await;
    harness
        .attach("HELP-7", &attachment())
        .await
        .expect("delivered");
    let delivery = harness.fake.deliveries().remove(0);
    assert_eq!(delivery.verify(SECRET, &delivery.body), Ok(()));

    let mut tampered = delivery.body.clone();
    let position = tampered
        .windows(7)
        .position(|window| window == b"pc-0042")
        .expect("the host in the body");
    tampered[position + 6] = b'3';
    assert!(delivery.verify(SECRET, &tampered).is_err());

    let other_secret = format!("whsec_{}", STANDARD.encode([9u8; 32]));
    assert!(delivery.verify(&other_secret, &delivery.body).is_err());

    let mut replayed_id = delivery.clone();
    replayed_id.id = "msg_0193a5c4-1f2e-7c3d-9a8b-123456789abc_HELP-8".into();
    assert!(replayed_id.verify(SECRET, &delivery.body).is_err());

    // The same signature six minutes later is refused as too old.
    let sent_at: i64 = delivery.timestamp.parse().expect("unix seconds");
    assert!(
        verify(
            SECRET,
            &delivery.id,
            &delivery.timestamp,
            &delivery.signature,
            &delivery.body,
            sent_at + 6 * 60,
        )
        .is_err()
    );
}

#[tokio::test]
async fn a_rate_limit_is_transient_with_retry_after() {
    let harness = harness().await;
    harness.fake.answer_next(
        StatusCode::TOO_MANY_REQUESTS,
        Some("30"),
        json!({"error": "slow down"}),
    );
    let error = harness
        .attach("HELP-7", &attachment())
        .await
        .expect_err("rate limited");
    assert_transient(&error, Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn server_errors_are_transient() {
    let harness = harness().await;
    for status in [
        StatusCode::INTERNAL_SERVER_ERROR,
        StatusCode::BAD_GATEWAY,
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::GATEWAY_TIMEOUT,
    ] {
        harness
            .fake
            .answer_next(status, None, json!({"error": "down"}));
        let error = harness
            .attach("HELP-7", &attachment())
            .await
            .expect_err("a failure");
        assert!(error.is_transient(), "{status}: {error}");
    }
}

#[tokio::test]
async fn a_refusal_is_permanent_with_the_receivers_message() {
    let harness = harness().await;
    harness.fake.answer_next(
        StatusCode::BAD_REQUEST,
        None,
        json!({"error": "unknown ticket HELP-7"}),
    );
    let error = harness
        .attach("HELP-7", &attachment())
        .await
        .expect_err("refused");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(400),
            message: "The webhook receiver answered 400 Bad Request: unknown ticket HELP-7".into(),
        }
    );
    harness
        .fake
        .answer_next(StatusCode::GONE, None, json!({"error": "endpoint retired"}));
    let gone = harness
        .attach("HELP-7", &attachment())
        .await
        .expect_err("gone");
    assert!(!gone.is_transient(), "{gone}");
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_receiver() {
    let harness = harness_with_secret(&format!("whsec_{}", STANDARD.encode([9u8; 32]))).await;
    let error = harness
        .attach("HELP-7", &attachment())
        .await
        .expect_err("refused");
    assert!(
        matches!(&error, TicketError::Permanent { status: Some(401), message }
            if message.starts_with("The webhook receiver answered 401 Unauthorized: no v1 signature")),
        "{error:?}"
    );
    assert!(harness.fake.deliveries()[0].verified.is_err());
}

#[tokio::test]
async fn create_ticket_posts_a_signed_request_and_takes_the_receivers_key() {
    let harness = harness().await;
    harness.fake.answer_next(
        StatusCode::CREATED,
        None,
        json!({"key": "HELP-9", "url": "https://help.corp.example/HELP-9"}),
    );
    let request = NewExternalTicket {
        title: "Printer offline".into(),
        description: "It says offline.\nSupport code: K7-ABCD".into(),
    };
    let ticket = harness.create_ticket(&request).await.expect("created");
    assert_eq!(
        ticket,
        ExternalTicket {
            key: "HELP-9".into(),
            title: None,
            url: Some("https://help.corp.example/HELP-9".into()),
        }
    );
    let deliveries = harness.fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].verified, Ok(()));
    assert!(
        deliveries[0].id.starts_with("msg_ticket_"),
        "{}",
        deliveries[0].id
    );
    let event = deliveries[0].json();
    assert_eq!(event["type"], "sitrep.ticket.requested");
    assert_eq!(
        event["data"],
        json!({"title": "Printer offline", "description": "It says offline.\nSupport code: K7-ABCD"})
    );

    // The same request again (a retry) carries the same id; a number is taken as a key.
    harness
        .fake
        .answer_next(StatusCode::OK, None, json!({"key": 4711}));
    let again = harness.create_ticket(&request).await.expect("created");
    assert_eq!(again.key, "4711");
    let deliveries = harness.fake.deliveries();
    assert_eq!(deliveries[1].id, deliveries[0].id);
}

#[tokio::test]
async fn a_ticket_request_answered_without_a_usable_key_is_permanent() {
    let harness = harness().await;
    let request = NewExternalTicket {
        title: "Printer offline".into(),
        description: "It says offline.".into(),
    };
    for answer in [json!({}), json!({"key": null}), json!({"key": "HELP.9"})] {
        harness
            .fake
            .answer_next(StatusCode::OK, None, answer.clone());
        let error = harness
            .create_ticket(&request)
            .await
            .expect_err("no usable key");
        assert!(!error.is_transient(), "{answer}: {error}");
    }
    // 204 with no body at all.
    let error = harness.create_ticket(&request).await.expect_err("no body");
    assert!(!error.is_transient(), "{error}");
}

#[tokio::test]
async fn any_key_is_a_ticket_without_asking_the_receiver() {
    let harness = harness().await;
    let ticket = harness.find_ticket("HELP-7").await.expect("any key");
    assert_eq!(
        ticket,
        ExternalTicket {
            key: "HELP-7".into(),
            title: None,
            url: None,
        }
    );
    // A '.' would make the signed content `{id}.{timestamp}.{body}` ambiguous.
    for key in ["HELP.7", "", "a/b"] {
        let error = harness
            .find_ticket(key)
            .await
            .expect_err("not a webhook key");
        assert!(!error.is_transient(), "{error}");
        assert!(harness.attach(key, &attachment()).await.is_err(), "{key}");
    }
    assert_eq!(harness.fake.deliveries().len(), 0);
}

#[tokio::test]
async fn a_snapshot_that_is_not_json_is_permanent_and_not_sent() {
    let harness = harness().await;
    let mut broken = attachment();
    broken.snapshot_json = b"{\"schema\":1,".to_vec();
    let error = harness
        .attach("HELP-7", &broken)
        .await
        .expect_err("not JSON");
    assert!(!error.is_transient(), "{error}");
    assert_eq!(harness.fake.deliveries().len(), 0);
}

#[test]
fn config_checks_the_secret_and_never_shows_it() {
    let secrets = Secrets::new();
    let build = |secret: &str| {
        serde_json::from_value::<ConnectorConfig>(json!({
            "kind": "webhook",
            "url": "https://hooks.corp.example/sitrep",
            "secret": {"file": secrets.file(secret)},
        }))
        .expect("a webhook config")
        .build()
    };
    let connector = build(SECRET).expect("a webhook connector");
    assert_eq!(connector.product(), "Webhook");
    let shown = format!("{connector:?}");
    assert!(
        shown.contains("https://hooks.corp.example/sitrep"),
        "{shown}"
    );
    assert!(
        !shown.contains("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
        "{shown}"
    );

    let problem = build("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").expect_err("no prefix");
    assert!(problem.starts_with("secret: "), "{problem}");
    assert!(problem.contains("whsec_"), "{problem}");
    let short = build(&format!("whsec_{}", STANDARD.encode([1u8; 8]))).expect_err("too short");
    assert!(short.contains("8 bytes"), "{short}");
    assert!(build("whsec_***").is_err());

    let missing = secrets.dir().join("no-such-secret");
    let unreadable = serde_json::from_value::<ConnectorConfig>(json!({
        "kind": "webhook",
        "url": "https://hooks.corp.example/sitrep",
        "secret": {"file": missing},
    }))
    .expect("a webhook config")
    .build()
    .expect_err("no secret file");
    assert!(unreadable.starts_with("secret: "), "{unreadable}");
    assert!(
        unreadable.contains(&missing.display().to_string()),
        "{unreadable}"
    );

    let unknown_field = serde_json::from_value::<ConnectorConfig>(json!({
        "kind": "webhook",
        "url": "https://hooks.corp.example/sitrep",
        "secret": {"file": "/etc/sitrep/hook.secret"},
        "signing_secret": "whsec_x",
    }));
    assert!(unknown_field.is_err());
}
