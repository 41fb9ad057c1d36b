//! `POST /api/v1/snapshots`: storing, idempotency, devices, and every way a body can be refused.

use std::io::Write;

use axum::http::{Method, StatusCode};
use expect_test::expect;
use serde_json::json;
use sitrep_collector::Limits;
use uuid::Uuid;

use crate::common::{TestApp, json_request, raw_request, snapshot, snapshot_of, with_finding};

#[tokio::test]
async fn a_snapshot_is_stored_once_and_a_repeat_answers_200() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let sent = snapshot(Some(agent.agent_id));
    let first = app.send(&agent, &sent).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text());
    let body = first.json();
    assert_eq!(body["snapshot_id"], sent["id"]);
    assert_eq!(body["duplicate"], json!(false));
    let again = app.send(&agent, &sent).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["duplicate"], json!(true));
    assert_eq!(again.json()["device_id"], body["device_id"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshots").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'snapshot.ingest'")
            .await,
        1
    );
}

#[tokio::test]
async fn two_identical_requests_racing_store_one_row() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let sent = snapshot(Some(agent.agent_id));
    let (first, second) = tokio::join!(app.send(&agent, &sent), app.send(&agent, &sent));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshots").await, 1);
}

#[tokio::test]
async fn many_concurrent_ingests_all_commit() {
    let app = TestApp::new().await;
    let agents = [app.enroll().await, app.enroll().await, app.enroll().await];
    let sends = (0..60).map(|n| {
        let agent = &agents[n % agents.len()];
        let app = &app;
        async move {
            app.send(agent, &snapshot(Some(agent.agent_id)))
                .await
                .status
        }
    });
    let statuses = futures::future::join_all(sends).await;
    assert!(
        statuses.iter().all(|status| *status == StatusCode::CREATED),
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshots").await, 60);
    assert_eq!(app.count("SELECT COUNT(*) FROM devices").await, 3);
}

#[tokio::test]
async fn devices_follow_their_newest_snapshot() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let token = app.specialist().await;
    let newer = with_finding(
        snapshot_of(&agent, "ws-17", &["alice"], "2026-11-25T10:00:00Z"),
        "fail",
    );
    let older = snapshot_of(&agent, "old-name", &["bob"], "2026-11-25T09:00:00Z");
    assert_eq!(app.send(&agent, &newer).await.status, StatusCode::CREATED);
    assert_eq!(app.send(&agent, &older).await.status, StatusCode::CREATED);
    let devices = app.get("/api/v1/devices", &token).await.json();
    let device = &devices[0];
    assert_eq!(device["hostname"], json!("ws-17"));
    assert_eq!(device["users"], json!(["alice"]));
    assert_eq!(device["os"], json!("Debian GNU/Linux 12 (bookworm)"));
    assert_eq!(device["worst_severity"], json!("fail"));
    assert_eq!(device["findings"]["fail"], json!(1));
    assert_eq!(device["latest_snapshot_id"], newer["id"]);
    let history = app
        .get(
            &format!("/api/v1/devices/{}", device["id"].as_str().expect("id")),
            &token,
        )
        .await
        .json();
    let ids: Vec<_> = history["snapshots"]
        .as_array()
        .expect("history")
        .iter()
        .map(|entry| entry["id"].clone())
        .collect();
    assert_eq!(ids, [newer["id"].clone(), older["id"].clone()]);
}

#[tokio::test]
async fn zstd_and_gzip_bodies_are_accepted() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let zstd_snapshot = snapshot(Some(agent.agent_id));
    let compressed = zstd::encode_all(zstd_snapshot.to_string().as_bytes(), 3).expect("zstd");
    let answer = app
        .call(raw_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&agent.agent_key),
            Some("application/json"),
            Some("zstd"),
            compressed,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let gzip_snapshot = snapshot(Some(agent.agent_id));
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(gzip_snapshot.to_string().as_bytes())
        .expect("gzip");
    let answer = app
        .call(raw_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&agent.agent_key),
            Some("application/json; charset=utf-8"),
            Some("gzip"),
            gzip.finish().expect("gzip"),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    // What is stored and served back is the JSON as sent, not the transfer encoding.
    let token = app.specialist().await;
    let stored = app
        .get(
            &format!(
                "/api/v1/snapshots/{}",
                zstd_snapshot["id"].as_str().expect("id")
            ),
            &token,
        )
        .await;
    assert_eq!(stored.header("content-type"), "application/json");
    assert_eq!(stored.json(), zstd_snapshot);
}

#[tokio::test]
async fn a_snapshot_without_agent_id_is_the_senders() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let answer = app.send(&agent, &snapshot(None)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
}

#[tokio::test]
async fn an_agent_cannot_write_another_agents_snapshot() {
    let app = TestApp::new().await;
    let alice = app.enroll().await;
    let mallory = app.enroll().await;
    let alices = snapshot(Some(alice.agent_id));
    let forged = app.send(&mallory, &alices).await;
    assert_eq!(
        forged.error(),
        (StatusCode::FORBIDDEN, "forbidden".to_string())
    );
    // Re-sending a stored snapshot id as one's own does not reveal or touch it either.
    assert_eq!(app.send(&alice, &alices).await.status, StatusCode::CREATED);
    let mut replay = alices.clone();
    replay["agent"]["agent_id"] = json!(mallory.agent_id);
    assert_eq!(
        app.send(&mallory, &replay).await.error(),
        (StatusCode::CONFLICT, "conflict".to_string())
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM devices").await, 1);
}

#[tokio::test]
async fn malformed_json_names_line_and_column() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let answer = app
        .call(raw_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&agent.agent_key),
            Some("application/json"),
            None,
            b"{\n  \"schema_version\": 1,\n  \"id\": oops\n}".to_vec(),
        ))
        .await;
    expect![[r#"
        {
          "error": {
            "code": "malformed_json",
            "message": "malformed JSON: expected value at line 3 column 9"
          }
        }"#]]
    .assert_eq(&answer.pretty());
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn json_that_is_not_a_snapshot_is_422() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let mut broken = snapshot(Some(agent.agent_id));
    broken.as_object_mut().expect("object").remove("taken_at");
    let answer = app.send(&agent, &broken).await;
    assert_eq!(
        answer.error(),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body".to_string())
    );
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .expect("message")
            .contains("taken_at"),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn unsupported_schema_versions_are_named() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let mut future = snapshot(Some(agent.agent_id));
    future["schema_version"] = json!(2);
    let answer = app.send(&agent, &future).await;
    expect![[r#"
        {
          "error": {
            "code": "unsupported_schema_version",
            "message": "schema version 2 is not supported; this collector accepts schema version 1"
          }
        }"#]]
    .assert_eq(&answer.pretty());
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A future version whose shape no longer parses as this one still gets the version answer.
    let reshaped = json!({"schema_version": 3, "id": Uuid::now_v7(), "machine": {}});
    assert_eq!(
        app.send(&agent, &reshaped).await.error(),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unsupported_schema_version".to_string()
        )
    );
}

#[tokio::test]
async fn content_type_and_encoding_are_checked() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let body = snapshot(Some(agent.agent_id)).to_string().into_bytes();
    let send = |content_type: Option<&'static str>, encoding: Option<&'static str>| {
        raw_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&agent.agent_key),
            content_type,
            encoding,
            body.clone(),
        )
    };
    let unsupported_media = (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type".to_string(),
    );
    assert_eq!(
        app.call(send(Some("text/plain"), None)).await.error(),
        unsupported_media
    );
    assert_eq!(app.call(send(None, None)).await.error(), unsupported_media);
    let brotli = app.call(send(Some("application/json"), Some("br"))).await;
    expect![[r#"
        {
          "error": {
            "code": "unsupported_encoding",
            "message": "Content-Encoding \"br\" is not supported; send identity, zstd or gzip"
          }
        }"#]]
    .assert_eq(&brotli.pretty());
    let garbage = app.call(send(Some("application/json"), Some("zstd"))).await;
    assert_eq!(
        garbage.error(),
        (StatusCode::BAD_REQUEST, "malformed_body".to_string())
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_as_sent_and_decompressed() {
    let limits = Limits {
        max_body_bytes: 4096,
        max_decompressed_bytes: 16384,
        ..Limits::default()
    };
    let app = TestApp::with_limits(limits).await;
    let agent = app.enroll().await;
    let big = vec![b' '; 5000];
    // No Content-Length header: the limit holds while streaming the body.
    let answer = app
        .call(raw_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&agent.agent_key),
            Some("application/json"),
            None,
            big,
        ))
        .await;
    expect![[r#"
        {
          "error": {
            "code": "payload_too_large",
            "message": "the body as sent is larger than the limit of 4096 bytes"
          }
        }"#]]
    .assert_eq(&answer.pretty());
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A declared length over the limit is refused before reading.
    let mut declared = raw_request(
        Method::POST,
        "/api/v1/snapshots",
        Some(&agent.agent_key),
        Some("application/json"),
        None,
        vec![],
    );
    declared
        .headers_mut()
        .insert("content-length", "999999".parse().expect("header"));
    assert_eq!(
        app.call(declared).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Small on the wire, too big unpacked.
    let padded = vec![b' '; 20_000];
    let compressed = zstd::encode_all(&padded[..], 3).expect("zstd");
    assert!(compressed.len() < 4096);
    let answer = app
        .call(raw_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&agent.agent_key),
            Some("application/json"),
            Some("zstd"),
            compressed,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.text().contains("decompressed"), "{}", answer.text());
}

/// Streams `total` zero bytes through `encoder` a chunk at a time, so neither the test nor the
/// collector ever holds the whole output.
fn bomb(mut encoder: impl Write, total: usize) {
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..total / chunk.len() {
        encoder.write_all(&chunk).expect("compress");
    }
}

const GIB: usize = 1 << 30;

/// Peak resident memory of this test process, from the kernel.
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .expect("VmHWM value");
    kib * 1024
}

#[tokio::test]
async fn decompression_bombs_are_refused_without_inflating_them() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;

    // One zstd frame that inflates to 1 GiB (its header says so, too).
    let mut zstd_bomb = Vec::new();
    let mut encoder = zstd::stream::write::Encoder::new(&mut zstd_bomb, 1).expect("zstd encoder");
    encoder.include_contentsize(true).expect("content size");
    encoder
        .set_pledged_src_size(Some(GIB as u64))
        .expect("pledged size");
    bomb(&mut encoder, GIB);
    encoder.finish().expect("zstd finish");
    // Deflate tops out near 1000:1 and is slow unoptimized, so the gzip bomb is one member of
    // 1 MiB of zeros repeated 1024 times: RFC 1952 makes a series of members one body, and the
    // collector reads them all, so to it this is 1 GiB as well.
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    bomb(&mut member, 1 << 20);
    let gzip_bomb = member.finish().expect("gzip finish").repeat(GIB >> 20);
    assert!(
        zstd_bomb.len() < 64 * 1024 && gzip_bomb.len() < 2 << 20,
        "{} {}",
        zstd_bomb.len(),
        gzip_bomb.len()
    );

    for (encoding, body) in [("zstd", zstd_bomb), ("gzip", gzip_bomb)] {
        let answer = app
            .call(raw_request(
                Method::POST,
                "/api/v1/snapshots",
                Some(&agent.agent_key),
                Some("application/json"),
                Some(encoding),
                body,
            ))
            .await;
        assert_eq!(
            answer.error(),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large".to_string()
            ),
            "{encoding}"
        );
        assert!(answer.text().contains("decompressed"), "{}", answer.text());
    }
    // Inflating either bomb would have taken a gibibyte; the cap is 16 MiB.
    let peak = peak_rss_bytes();
    assert!(peak < 512 << 20, "peak RSS {} MiB", peak >> 20);
}

#[tokio::test]
async fn attaching_on_send_needs_a_known_ticket() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let token = app.specialist().await;
    let unknown = app
        .call(json_request(
            Method::POST,
            "/api/v1/snapshots?ticket=999&note=x",
            Some(&agent.agent_key),
            snapshot(Some(agent.agent_id)),
        ))
        .await;
    assert_eq!(
        unknown.error(),
        (StatusCode::NOT_FOUND, "not_found".to_string())
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM snapshots").await,
        0,
        "the whole write rolls back"
    );

    let ticket = app
        .call(json_request(
            Method::POST,
            "/api/v1/tickets",
            Some(&token),
            json!({"title": "VPN drops"}),
        ))
        .await
        .json();
    let uri = format!(
        "/api/v1/snapshots?ticket={}&note=after%20reboot",
        ticket["id"]
    );
    let sent = snapshot(Some(agent.agent_id));
    assert_eq!(
        app.call(json_request(
            Method::POST,
            &uri,
            Some(&agent.agent_key),
            sent.clone()
        ))
        .await
        .status,
        StatusCode::CREATED
    );
    // The agent retries (it never saw the answer): still one snapshot, one attachment.
    assert_eq!(
        app.call(json_request(
            Method::POST,
            &uri,
            Some(&agent.agent_key),
            sent.clone()
        ))
        .await
        .status,
        StatusCode::OK
    );
    let detail = app
        .get(&format!("/api/v1/tickets/{}", ticket["id"]), &token)
        .await
        .json();
    let attachments = detail["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0]["snapshot_id"], sent["id"]);
    assert_eq!(attachments[0]["note"], json!("after reboot"));
    assert_eq!(
        attachments[0]["attached_by"],
        json!({"kind": "agent", "id": agent.agent_id})
    );

    let orphan_note = app
        .call(json_request(
            Method::POST,
            "/api/v1/snapshots?note=x",
            Some(&agent.agent_key),
            snapshot(Some(agent.agent_id)),
        ))
        .await;
    assert_eq!(
        orphan_note.error(),
        (StatusCode::BAD_REQUEST, "invalid_query".to_string())
    );
}

#[tokio::test]
async fn ingest_shows_in_the_metrics() {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    app.send(&agent, &snapshot(Some(agent.agent_id))).await;
    let metrics = app
        .call(crate::common::request(
            Method::GET,
            "/metrics",
            None,
            axum::body::Body::empty(),
        ))
        .await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert_eq!(
        metrics.header("content-type"),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = metrics.text();
    assert!(text.contains("sitrep_snapshots_stored_total 1\n"), "{text}");
    assert!(
        text.contains("route=\"/api/v1/snapshots\",status=\"201\""),
        "{text}"
    );
}
