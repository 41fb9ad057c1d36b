//! Logging in and out, the session cookie, pages without a session, and CSRF defences.

use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use sitrep_collector::store::Actor;

use crate::client::{Client, OWN_ORIGIN};

/// The `Set-Cookie` header that sets `name`.
fn set_cookie<'a>(answer: &'a crate::common::Answer, name: &str) -> &'a str {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("ASCII"))
        .find(|value| value.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no cookie {name} set: {:?}", answer.headers))
}

#[tokio::test]
async fn a_specialist_logs_in_with_a_token_and_gets_a_strict_http_only_cookie() {
    let mut client = Client::new().await;
    let token = client.app.specialist().await;
    let form = client.get("/login").await;
    assert_eq!(form.status, StatusCode::OK);
    let page = form.text();
    for part in [
        r#"<form class="stacked" id="login-form""#,
        r#"<input id="token" type="password" name="token""#,
        r#"<button id="login" type="submit">"#,
        r#"<label for="token">"#,
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }

    let answer = client.log_in(&token).await;
    answer.assert_see_other("/devices");
    let cookie = set_cookie(&answer, "sitrep_session");
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    // The login form's own token is spent.
    assert!(client.cookie("sitrep_login").is_none());

    // Only a hash of the secret is stored.
    let secret = client
        .cookie("sitrep_session")
        .expect("session cookie")
        .to_string();
    assert_eq!(secret.len(), 64);
    let hash = hex::encode(Sha256::digest(secret.as_bytes()));
    assert_eq!(
        sqlx_strings(&client, "SELECT secret_hash FROM web_sessions").await,
        [hash]
    );
    assert_eq!(
        client
            .app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'web_session.create' AND actor_kind = 'api_token'")
            .await,
        1
    );

    let devices = client.get("/devices").await;
    assert_eq!(devices.status, StatusCode::OK, "{}", devices.text());
    let page = devices.text();
    for part in [
        r#"<a id="nav-devices" href="/devices">"#,
        r#"<a id="nav-tickets" href="/tickets">"#,
        r#"<form id="logout-form" method="post" action="/logout">"#,
        r#"<button id="logout" type="submit">"#,
        "Logged in as Sam Specialist",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
}

/// The texts of one column, read from the database itself.
async fn sqlx_strings(client: &Client, sql: &'static str) -> Vec<String> {
    use sqlx::Connection;
    let mut connection = client.app.database.connect().await;
    let values = sqlx::query_scalar(sql)
        .fetch_all(&mut connection)
        .await
        .expect("query");
    connection.close().await.expect("close");
    values
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_collector_serves_https() {
    let mut client = Client::over_tls().await;
    let token = client.app.admin().await;
    let form = client.get("/login").await;
    assert!(set_cookie(&form, "sitrep_login").ends_with("; Secure"));
    let answer = client.log_in(&token).await;
    answer.assert_see_other("/devices");
    let cookie = set_cookie(&answer, "sitrep_session");
    assert!(
        cookie.ends_with("; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200; Secure"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_wrong_token_shows_the_form_again_with_an_error() {
    let mut client = Client::new().await;
    client.app.specialist().await;
    let agent = client.app.enroll().await;
    for wrong in [
        "st_0000000000000000000000000000000000000000000000000000000000000000",
        "",
        agent.agent_key.as_str(),
    ] {
        let answer = client.log_in(wrong).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{wrong}");
        let page = answer.text();
        assert!(page.contains(r#"<p id="error" role="alert">"#), "{page}");
        assert!(
            page.contains(r#"<form class="stacked" id="login-form""#),
            "{page}"
        );
        assert!(client.cookie("sitrep_session").is_none());
    }
    assert_eq!(
        client.app.count("SELECT COUNT(*) FROM web_sessions").await,
        0
    );
}

#[tokio::test]
async fn a_login_leads_only_to_local_paths() {
    for (next, expected) in [
        ("/tickets", "/tickets"),
        ("/devices?q=ws-17", "/devices?q=ws-17"),
        ("//evil.example/", "/devices"),
        ("https://evil.example/", "/devices"),
        ("/\\evil.example", "/devices"),
    ] {
        let mut client = Client::new().await;
        let token = client.app.specialist().await;
        let answer = client.log_in_to(&token, Some(next)).await;
        answer.assert_see_other(expected);
    }
}

#[tokio::test]
async fn a_login_form_without_its_token_or_from_another_site_is_refused() {
    let mut client = Client::new().await;
    let token = client.app.specialist().await;
    client.get("/login").await;
    let login_token = client.csrf().to_string();
    let answer = client
        .post_exactly(
            "/login",
            &[("token", &token), ("csrf", "forged")],
            Some(OWN_ORIGIN),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = client
        .post_exactly(
            "/login",
            &[("token", &token), ("csrf", &login_token)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(
        client.app.count("SELECT COUNT(*) FROM web_sessions").await,
        0
    );
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_the_login() {
    let mut client = Client::new().await;
    client.get("/").await.assert_see_other("/devices");
    client
        .get("/devices")
        .await
        .assert_see_other("/login?next=/devices");
    client
        .get("/devices?q=ws%2017&x=1")
        .await
        .assert_see_other("/login?next=/devices%3Fq%3Dws%252017%26x%3D1");
    client
        .get("/snapshots/0190c0de-0000-7000-8000-000000000000")
        .await
        .assert_see_other("/login?next=/snapshots/0190c0de-0000-7000-8000-000000000000");
    client
        .get("/tickets/1")
        .await
        .assert_see_other("/login?next=/tickets/1");
    // A form posted without a session has no page to come back to.
    client
        .post_exactly("/tickets", &[("title", "x")], Some(OWN_ORIGIN))
        .await
        .assert_see_other("/login");
    assert_eq!(client.app.count("SELECT COUNT(*) FROM tickets").await, 0);

    // A cookie that names no session is sent to the login page and cleared.
    client.set_cookie("sitrep_session", &"ab".repeat(32));
    let answer = client.get("/tickets").await;
    answer.assert_see_other("/login?next=/tickets");
    assert!(set_cookie(&answer, "sitrep_session").contains("Max-Age=0"));
    assert!(client.cookie("sitrep_session").is_none());

    // Assets need no session: the login page uses them.
    let css = client.get("/assets/web.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
    assert!(css.header("cache-control").contains("max-age=31536000"));
    assert_eq!(
        client.get("/assets/nope.css").await.status,
        StatusCode::NOT_FOUND
    );

    // An unknown path is a page for people and JSON under the API.
    let page = client.get("/no-such-page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{:?}",
        page.header("content-type")
    );
    let api = client.get("/api/v1/no-such-route").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.header("content-type").starts_with("application/json"));
}

#[tokio::test]
async fn a_form_without_the_sessions_token_or_from_another_site_is_refused() {
    let mut client = Client::logged_in().await;
    client.get("/tickets").await;
    let token = client.csrf().to_string();
    let title = ("title", "Printer down");
    for (fields, origin) in [
        (vec![title], Some(OWN_ORIGIN)),
        (
            vec![title, ("csrf", "0".repeat(64).as_str())],
            Some(OWN_ORIGIN),
        ),
        (vec![title, ("csrf", "")], Some(OWN_ORIGIN)),
        (
            vec![title, ("csrf", token.as_str())],
            Some("https://evil.example"),
        ),
        (vec![title, ("csrf", token.as_str())], Some("null")),
        (
            vec![title, ("csrf", token.as_str())],
            Some("http://collector.test:8443.evil.example"),
        ),
    ] {
        let answer = client.post_exactly("/tickets", &fields, origin).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{fields:?} from {origin:?}"
        );
        assert!(answer.text().contains("Forbidden"), "{}", answer.text());
    }
    assert_eq!(client.app.count("SELECT COUNT(*) FROM tickets").await, 0);

    // Without an Origin header (some clients send none) the token alone decides.
    let answer = client
        .post_exactly("/tickets", &[title, ("csrf", &token)], None)
        .await;
    answer.assert_see_other("/tickets/1");
    client
        .post("/tickets", &[("title", "Second")])
        .await
        .assert_see_other("/tickets/2");
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let mut client = Client::logged_in().await;
    let secret = client.cookie("sitrep_session").expect("cookie").to_string();
    client.get("/devices").await;
    let answer = client.post("/logout", &[]).await;
    answer.assert_see_other("/login");
    assert!(set_cookie(&answer, "sitrep_session").contains("Max-Age=0"));
    assert_eq!(
        client.app.count("SELECT COUNT(*) FROM web_sessions").await,
        0
    );
    assert_eq!(
        client
            .app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'web_session.delete'")
            .await,
        1
    );
    // The old cookie, replayed, opens nothing.
    client.set_cookie("sitrep_session", &secret);
    client
        .get("/devices")
        .await
        .assert_see_other("/login?next=/devices");
}

#[tokio::test]
async fn revoking_the_api_token_ends_its_sessions() {
    let mut client = Client::new().await;
    let (token, secret) = client
        .app
        .store
        .create_api_token(
            sitrep_collector::store::Role::Specialist,
            "Sam",
            &Actor::Cli,
        )
        .await
        .expect("token");
    client.log_in(&secret).await.assert_see_other("/devices");
    assert_eq!(client.get("/devices").await.status, StatusCode::OK);
    client
        .app
        .store
        .revoke_api_token(&token.id.to_string(), &Actor::Cli)
        .await
        .expect("revoke");
    client
        .get("/devices")
        .await
        .assert_see_other("/login?next=/devices");
}

#[tokio::test]
async fn pages_carry_security_headers_and_are_not_cached() {
    let mut client = Client::logged_in().await;
    let answer = client.get("/devices").await;
    let policy = answer.header("content-security-policy");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(answer.header("x-frame-options"), "DENY");
    assert_eq!(answer.header("x-content-type-options"), "nosniff");
    assert_eq!(answer.header("cache-control"), "no-store");
    // The API keeps its own answers.
    let api = client.get("/api/v1/devices").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.header("content-security-policy"), "");
}
