//! Tickets in the web UI: made from a help request, commented, given another snapshot, closed;
//! made from the list's form.

use axum::http::StatusCode;

use crate::client::Client;
use crate::common::{help, snapshot_of, with_finding};

#[tokio::test]
async fn a_help_request_becomes_a_ticket_that_is_commented_attached_and_closed() {
    let mut client = Client::logged_in().await;
    let agent = client.app.enroll().await;
    let asked = client
        .app
        .call(help(
            &agent.agent_key,
            "Printer offline since Monday",
            &snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T09:00:00Z"),
        ))
        .await;
    let asked = asked.json();
    let code = asked["support_code"].as_str().expect("code").to_string();
    let help_snapshot = asked["snapshot_id"].as_str().expect("snapshot").to_string();

    client.get(&format!("/devices/{}", agent.agent_id)).await;
    let made = client
        .post(
            &format!("/help-requests/{}/ticket", code.replace('-', "")),
            &[],
        )
        .await;
    made.assert_see_other("/tickets/1");
    // Again: the same ticket, not a second one.
    client
        .post(&format!("/help-requests/{code}/ticket"), &[])
        .await
        .assert_see_other("/tickets/1");
    assert_eq!(client.app.count("SELECT COUNT(*) FROM tickets").await, 1);

    let page = client.get("/tickets/1").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let page = page.text();
    for part in [
        "<h1>#1 Printer offline since Monday</h1>".to_string(),
        r#"<span class="status open" id="ticket-status">open</span>"#.to_string(),
        r#"<ul id="attachments">"#.to_string(),
        format!(r#"<a href="/snapshots/{help_snapshot}">"#),
        r#"<ul id="comments">"#.to_string(),
        r#"<form class="stacked" id="comment-form" method="post" action="/tickets/1/comments">"#
            .to_string(),
        r#"<textarea id="comment" name="body""#.to_string(),
        r#"<button id="add-comment" type="submit">"#.to_string(),
        r#"<form id="close-form" method="post" action="/tickets/1/close">"#.to_string(),
        r#"<button class="secondary" id="close-ticket" type="submit">"#.to_string(),
        "opened by Sam Specialist".to_string(),
    ] {
        assert!(page.contains(&part), "{part} in {page}");
    }

    client
        .post(
            "/tickets/1/comments",
            &[("body", "Called Anna <script>alert(1)</script>\nsecond line")],
        )
        .await
        .assert_see_other("/tickets/1");
    let page = client.get("/tickets/1").await.text();
    assert!(
        page.contains("Called Anna &lt;script&gt;alert(1)&lt;/script&gt;\nsecond line"),
        "{page}"
    );
    let blank = client.post("/tickets/1/comments", &[("body", "  ")]).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A later snapshot, attached from its report.
    let later = with_finding(
        snapshot_of(&agent, "ws-17", &["anna"], "2026-11-25T10:00:00Z"),
        "fail",
    );
    assert_eq!(
        client.app.send(&agent, &later).await.status,
        StatusCode::CREATED
    );
    let later_id = later["id"].as_str().expect("id");
    client.get(&format!("/snapshots/{later_id}")).await;
    client
        .post(
            &format!("/snapshots/{later_id}/attach"),
            &[("ticket", "1"), ("note", "after the restart")],
        )
        .await
        .assert_see_other("/tickets/1");
    let page = client.get("/tickets/1").await.text();
    assert!(
        page.contains(&format!(r#"<a href="/snapshots/{later_id}">"#)),
        "{page}"
    );
    assert!(page.contains("after the restart"));
    let unknown = client
        .post(
            &format!("/snapshots/{later_id}/attach"),
            &[("ticket", "99")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let garbage = client
        .post(
            &format!("/snapshots/{later_id}/attach"),
            &[("ticket", "one")],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);

    client
        .post("/tickets/1/close", &[])
        .await
        .assert_see_other("/tickets/1");
    let page = client.get("/tickets/1").await.text();
    assert!(page.contains(r#"<span class="status closed" id="ticket-status">closed</span>"#));
    assert!(!page.contains(r#"id="close-form""#));
    assert_eq!(
        client
            .app
            .count("SELECT COUNT(*) FROM help_requests WHERE status = 'closed'")
            .await,
        1
    );
    // Every change was audited as the logged-in person's API token.
    assert_eq!(
        client
            .app
            .count("SELECT COUNT(*) FROM audit_log WHERE actor_kind = 'api_token' AND action IN ('ticket.create', 'help_request.ticket', 'ticket.comment', 'ticket.attach', 'ticket.close')")
            .await,
        6
    );
}

#[tokio::test]
async fn tickets_are_listed_and_made_from_the_form() {
    let mut client = Client::logged_in().await;
    let page = client.get("/tickets").await;
    assert_eq!(page.status, StatusCode::OK);
    let page = page.text();
    for part in [
        r#"<form class="stacked" id="new-ticket-form" method="post" action="/tickets">"#,
        r#"<input id="title" type="text" name="title""#,
        r#"<textarea id="body" name="body""#,
        r#"<button id="create-ticket" type="submit">"#,
        "No tickets yet.",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    client
        .post(
            "/tickets",
            &[
                ("title", "  Laptop <b>slow</b>  "),
                ("body", "since the update"),
            ],
        )
        .await
        .assert_see_other("/tickets/1");
    let empty = client.post("/tickets", &[("title", "   ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.text().contains("title is empty"));

    let page = client.get("/tickets").await.text();
    assert!(
        page.contains(
            r#"<a class="ticket-link" href="/tickets/1">Laptop &lt;b&gt;slow&lt;/b&gt;</a>"#
        ),
        "{page}"
    );
    assert_eq!(page.matches(r#"<tr class="ticket">"#).count(), 1);
    assert!(page.contains(r#"<span class="status open">open</span>"#));
    assert_eq!(client.get("/tickets/2").await.status, StatusCode::NOT_FOUND);
}
