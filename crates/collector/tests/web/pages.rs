//! The pages: devices (search, help requests first), a device, a report (findings first,
//! hostile strings escaped), the JSON download and the diff.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sitrep_collector::store::Enrollment;

use crate::client::Client;
use crate::common::{help, snapshot_of, with_finding};

/// What a machine could send to smuggle markup into a page.
const HOSTILE_HOST: &str = "<script>alert(1)</script>";

/// A laptop's peripherals as the agent reads them (tests/data/README.md): a dock, a headset,
/// two monitors, three print queues.
const LAPTOP: &str = include_str!("../data/laptop-ubuntu.json");

/// `snapshot` with the recorded laptop's peripherals.
fn with_peripherals(mut snapshot: Value) -> Value {
    let laptop: Value = serde_json::from_str(LAPTOP).expect("a recorded snapshot");
    snapshot["peripherals"] = laptop["peripherals"].clone();
    snapshot
}

fn hostile_snapshot(agent: &Enrollment) -> Value {
    let mut snapshot = with_peripherals(snapshot_of(
        agent,
        HOSTILE_HOST,
        &["<u>mallory</u>"],
        "2026-11-25T09:00:00Z",
    ));
    // Anyone can program a USB stick's product string.
    snapshot["peripherals"]["ok"]["usb"]["ok"][3]["product"] = json!("<script>alert(5)</script>");
    snapshot["os"]["ok"]["pretty_name"] = json!("Debian <i>12</i>");
    snapshot["network"]["ok"]["interfaces"]["ok"][0]["name"] =
        json!("eth0\"><img src=x onerror=alert(2)>");
    snapshot["findings"]
        .as_array_mut()
        .expect("findings")
        .insert(
            0,
            json!({
                "id": "net.dns.unreachable",
                "severity": "fail",
                "title": "<script>alert(3)</script>",
                "evidence": "<b>bold</b> evidence",
                "remediation": "\"><img src=x onerror=alert(4)> try this",
            }),
        );
    snapshot
}

/// The page holds none of the hostile markup as markup, and shows it as text.
fn assert_escaped(page: &str, shows: &[&str]) {
    for markup in [
        "<script>alert",
        "<img",
        "<b>",
        "<u>",
        "<i>",
        "onerror=alert(2)>",
    ] {
        assert!(!page.contains(markup), "{markup} unescaped in {page}");
    }
    for text in shows {
        assert!(page.contains(text), "{text} not shown in {page}");
    }
}

async fn sent(client: &Client, agent: &Enrollment, snapshot: &Value) -> String {
    let answer = client.app.send(agent, snapshot).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    snapshot["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn hostile_strings_from_a_machine_stay_text_on_every_page() {
    let mut client = Client::logged_in().await;
    let agent = client.app.enroll().await;
    let snapshot = hostile_snapshot(&agent);
    let id = sent(&client, &agent, &snapshot).await;
    let device = agent.agent_id;
    let host = "&lt;script&gt;alert(1)&lt;/script&gt;";

    let list = client.get("/devices").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_escaped(
        &list.text(),
        &[
            host,
            "&lt;u&gt;mallory&lt;/u&gt;",
            "Debian &lt;i&gt;12&lt;/i&gt;",
        ],
    );
    let found = client.get("/devices?q=%3Cscript").await;
    assert_escaped(&found.text(), &[host, "value=\"&lt;script\""]);

    let page = client.get(&format!("/devices/{device}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_escaped(
        &page.text(),
        &[&format!("<h1><span class=\"host\">{host}</span>")],
    );

    let report = client.get(&format!("/snapshots/{id}")).await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.text());
    assert_escaped(
        &report.text(),
        &[
            host,
            "&lt;script&gt;alert(3)&lt;/script&gt;",
            "&lt;b&gt;bold&lt;/b&gt; evidence",
            "&quot;&gt;&lt;img src=x onerror=alert(4)&gt; try this",
            "eth0&quot;&gt;&lt;img src=x onerror=alert(2)&gt;",
            "GN Netcom A/S &lt;script&gt;alert(5)&lt;/script&gt;",
        ],
    );
}

#[tokio::test]
async fn devices_list_help_requests_first_and_are_found_by_support_code() {
    let mut client = Client::logged_in().await;
    let office = client.app.enroll().await;
    let laptop = client.app.enroll().await;
    sent(
        &client,
        &office,
        &snapshot_of(&office, "ws-17", &["anna"], "2026-11-25T09:00:00Z"),
    )
    .await;
    let asked = client
        .app
        .call(help(
            &laptop.agent_key,
            "VPN drops every ten minutes",
            &snapshot_of(&laptop, "laptop-9", &["bob"], "2026-11-25T09:05:00Z"),
        ))
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text());
    let code = asked.json()["support_code"]
        .as_str()
        .expect("code")
        .to_string();

    let page = client.get("/devices").await.text();
    let help_at = page
        .find(r#"<section id="help-requests""#)
        .expect("help requests");
    let devices_at = page
        .find(r#"<table class="grid" id="devices""#)
        .expect("devices table");
    assert!(help_at < devices_at, "help requests come first");
    assert!(
        page.contains(&format!(r#"<span class="support-code">{code}</span>"#)),
        "{page}"
    );
    assert!(page.contains("VPN drops every ten minutes"));
    assert_eq!(page.matches(r#"<tr class="device">"#).count(), 2);
    for part in [
        r#"<form class="inline" id="search-form""#,
        r#"<input id="search" type="search" name="q""#,
        r#"<button id="search-button" type="submit">"#,
    ] {
        assert!(page.contains(part), "{part}");
    }

    let laptop_link = format!(
        r#"<a class="device-link" href="/devices/{}">laptop-9</a>"#,
        laptop.agent_id
    );
    for typed in [code.clone(), code.replace('-', "").to_lowercase()] {
        let page = client.get(&format!("/devices?q={typed}")).await.text();
        assert_eq!(
            page.matches(r#"<tr class="device">"#).count(),
            1,
            "{typed}: {page}"
        );
        assert!(page.contains(&laptop_link), "{typed}");
        assert!(!page.contains("ws-17"), "{typed}");
        assert!(page.contains(&format!(r#"<span class="support-code">{code}</span>"#)));
    }
    let page = client.get("/devices?q=ANNA").await.text();
    assert_eq!(page.matches(r#"<tr class="device">"#).count(), 1);
    assert!(page.contains("ws-17"));
    assert!(page.contains("No open help requests for these devices"));
    let page = client.get("/devices?q=nobody-here").await.text();
    assert_eq!(page.matches(r#"<tr class="device">"#).count(), 0);
}

#[tokio::test]
async fn a_device_page_shows_its_history_help_requests_and_the_request_form() {
    let mut client = Client::logged_in().await;
    let agent = client.app.enroll().await;
    let first = sent(
        &client,
        &agent,
        &snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:00:00Z"),
    )
    .await;
    let asked = client
        .app
        .call(help(
            &agent.agent_key,
            "Printer offline",
            &with_finding(
                snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T10:00:00Z"),
                "fail",
            ),
        ))
        .await;
    let code = asked.json()["support_code"]
        .as_str()
        .expect("code")
        .to_string();
    let page = client.get(&format!("/devices/{}", agent.agent_id)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.text();
    for part in [
        "<h1><span class=\"host\">ws-17</span> <span class=\"badge fail\">FAIL</span></h1>"
            .to_string(),
        format!(
            r#"<form class="inline" id="request-form" method="post" action="/devices/{}/requests">"#,
            agent.agent_id
        ),
        r#"<input id="targets" type="text" name="targets""#.to_string(),
        r#"<button id="request-snapshot" type="submit">"#.to_string(),
        r#"<table class="grid" id="history">"#.to_string(),
        format!(r#"<a class="snapshot-link" href="/snapshots/{first}">2026-11-25 09:00 UTC</a>"#),
        format!(
            r#"action="/help-requests/{}/ticket""#,
            code.replace('-', "")
        ),
        r#"<button class="make-ticket" type="submit">"#.to_string(),
        r#"<label for="targets">"#.to_string(),
    ] {
        assert!(page.contains(&part), "{part} in {page}");
    }
    assert_eq!(page.matches(r#"<tr class="snapshot">"#).count(), 2);
    assert!(
        page.contains("<td data-label=\"Trigger\">manual</td>"),
        "the trigger is shown"
    );

    let missing = client
        .get("/devices/0190c0de-0000-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing
            .text()
            .contains("device 0190c0de-0000-7000-8000-000000000000 not found")
    );
    assert_eq!(
        client.get("/devices/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_report_puts_findings_first_and_offers_json_diff_and_attach() {
    let mut client = Client::logged_in().await;
    let agent = client.app.enroll().await;
    let snapshot = with_peripherals(with_finding(
        snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:00:00Z"),
        "warn",
    ));
    let id = sent(&client, &agent, &snapshot).await;
    client.post("/tickets", &[("title", "Slow DNS")]).await;

    let page = client.get(&format!("/snapshots/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.text();
    for part in [
        r#"<section id="findings">"#.to_string(),
        r#"<li class="finding warn">"#.to_string(),
        r#"<details id="passed">"#.to_string(),
        format!(r#"<a id="download-json" href="/snapshots/{id}.json" download>"#),
        format!(r#"<a id="diff-link" href="/snapshots/{id}/diff">"#),
        format!(
            r#"<form class="inline" id="attach-form" method="post" action="/snapshots/{id}/attach">"#
        ),
        r#"<select id="ticket" name="ticket" required>"#.to_string(),
        r#"<option value="1">#1 Slow DNS</option>"#.to_string(),
        r#"<input id="note" type="text" name="note""#.to_string(),
        r#"<button id="attach" type="submit">"#.to_string(),
        r#"<span class="bar" aria-hidden="true">"#.to_string(),
        r#"<section id="peripherals"><h2>Peripherals</h2>"#.to_string(),
        "<td data-label=\"Name\">GN Netcom A/S Jabra EVOLVE 65</td>".to_string(),
        "<td data-label=\"Queue\">Office-Laser (default)</td>".to_string(),
        "<td data-label=\"Monitor\">DELL U2518D</td>".to_string(),
    ] {
        assert!(page.contains(&part), "{part} in {page}");
    }
    assert!(!page.contains("does not report peripherals"), "{page}");
    let warning = page
        .find("DNS server 10.0.0.53 does not answer")
        .expect("warning");
    let passed = page.find(r#"<details id="passed">"#).expect("passes");
    let disks = page.find("<h2>Disks</h2>").expect("disks");
    let peripherals = page.find("<h2>Peripherals</h2>").expect("peripherals");
    assert!(warning < passed && passed < disks && disks < peripherals);
    assert_eq!(page.matches("<h1>").count(), 1);

    let download = client.get(&format!("/snapshots/{id}.json")).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.header("content-type"), "application/json");
    assert_eq!(
        download.header("content-disposition"),
        format!("attachment; filename=\"sitrep-snapshot-{id}.json\"")
    );
    assert_eq!(download.json(), snapshot);

    let missing = client
        .get("/snapshots/0190c0de-0000-7000-8000-000000000000.json")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_diff_compares_with_the_last_good_snapshot_or_a_chosen_one() {
    let mut client = Client::logged_in().await;
    let agent = client.app.enroll().await;
    let good = sent(
        &client,
        &agent,
        &snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:00:00Z"),
    )
    .await;
    let mut broken = with_finding(
        snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T10:00:00Z"),
        "fail",
    );
    broken["network"]["ok"]["dns"]["ok"]["servers"] = json!(["10.0.0.53"]);
    let broken = sent(&client, &agent, &broken).await;

    let page = client.get(&format!("/snapshots/{broken}/diff")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.text();
    assert!(page.contains(r#"<section id="diff">"#), "{page}");
    assert!(page.contains(&format!(
        r#"the last good snapshot <a href="/snapshots/{good}">"#
    )));
    assert!(page.contains(r#"<select id="against" name="against">"#));
    assert!(page.contains(&format!(r#"<option value="{good}">"#)));
    assert!(!page.contains(r#"id="no-baseline""#));

    let chosen = client
        .get(&format!("/snapshots/{broken}/diff?against={good}"))
        .await
        .text();
    assert!(
        chosen.contains(&format!(r#"<option value="{good}" selected>"#)),
        "{chosen}"
    );
    assert!(chosen.contains(r#"<section id="diff">"#));

    let first = client.get(&format!("/snapshots/{good}/diff")).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(
        first.text().contains(r#"<p id="no-baseline">"#),
        "{}",
        first.text()
    );

    let other = client.app.enroll().await;
    let others = sent(
        &client,
        &other,
        &snapshot_of(&other, "laptop-9", &["bob"], "2026-11-25T09:00:00Z"),
    )
    .await;
    let answer = client
        .get(&format!("/snapshots/{broken}/diff?against={others}"))
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let answer = client
        .get(&format!("/snapshots/{broken}/diff?against=yesterday"))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}
