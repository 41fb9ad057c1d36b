//! The Zammad connector against a fake Zammad REST API v1 that checks every request as Zammad
//! documents it (`Authorization: Token token=...`, articles listed by ticket, an internal note
//! article with base64 attachments, a ticket with its first article) and answers with Zammad's
//! bodies and its `{"error", "error_human"}` errors.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use sitrep_tickets::{Attached, ConnectorConfig, NewExternalTicket, TicketError};

use common::{Body, File, Forced, Secrets, When, assert_transient, attachment};

const TOKEN: &str = "zm-Xo0e3Jq7cQ5b2sLr9hTfKq1WvYpZ4nDu";

#[derive(Debug, Clone, PartialEq)]
struct Article {
    body: String,
    content_type: String,
    kind: String,
    internal: bool,
    files: Vec<File>,
}

struct Ticket {
    title: String,
    articles: Vec<Article>,
}

#[derive(Default)]
struct Desk {
    tickets: BTreeMap<u64, Ticket>,
    /// JSON bodies of tickets created.
    created: Vec<Value>,
    /// `METHOD /path` of every request, in order.
    requests: Vec<String>,
    /// What a request did differently from Zammad's documentation.
    problems: Vec<String>,
    forced: Option<Forced>,
}

type FakeZammad = common::Shared<Desk>;

/// Zammad's error shape (app/controllers/application_controller/handles_errors.rb).
fn zammad_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": message, "error_human": message})),
    )
        .into_response()
}

fn admit(desk: &mut Desk, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    desk.requests.push(format!("{method} {uri}"));
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if authorization != Some(&format!("Token token={TOKEN}")) {
        return Some(zammad_error(
            StatusCode::UNAUTHORIZED,
            "Can't find User for Token",
        ));
    }
    Forced::take(&mut desk.forced, method, uri)
}

/// Zammad wants JSON bodies labelled as such.
fn json_body(desk: &mut Desk, headers: &HeaderMap, body: &Bytes) -> Option<Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    if content_type != Some("application/json") {
        desk.problems
            .push(format!("a body sent as {content_type:?}"));
    }
    match serde_json::from_slice(body) {
        Ok(value) => Some(value),
        Err(error) => {
            desk.problems
                .push(format!("a body that is not JSON: {error}"));
            None
        }
    }
}

fn ticket_json(id: u64, ticket: &Ticket) -> Value {
    json!({
        "id": id,
        "group_id": 1,
        "priority_id": 2,
        "state_id": 1,
        "number": format!("{}", 22000 + id),
        "title": ticket.title,
        "owner_id": 1,
        "customer_id": 10,
        "article_count": ticket.articles.len(),
        "created_at": "2026-11-25T10:00:00.000Z",
        "updated_at": "2026-11-25T10:00:00.000Z",
    })
}

fn article_json(id: usize, ticket_id: u64, article: &Article) -> Value {
    json!({
        "id": id,
        "ticket_id": ticket_id,
        "from": "sitrep",
        "subject": "",
        "body": article.body,
        "content_type": article.content_type,
        "type": article.kind,
        "internal": article.internal,
        "attachments": article.files.iter().enumerate().map(|(index, file)| json!({
            "id": 100 + index,
            "filename": file.name,
            "size": file.bytes.len().to_string(),
            "preferences": {"Mime-Type": file.content_type},
        })).collect::<Vec<_>>(),
        "created_at": "2026-11-25T10:00:00.000Z",
        "updated_at": "2026-11-25T10:00:00.000Z",
    })
}

fn not_found(id: u64) -> Response {
    zammad_error(
        StatusCode::NOT_FOUND,
        &format!("Couldn't find Ticket with 'id'={id}"),
    )
}

/// GET /api/v1/tickets/{id}
async fn show_ticket(
    State(fake): State<FakeZammad>,
    Path(id): Path<u64>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut desk = fake.lock();
    if let Some(refusal) = admit(&mut desk, &method, &uri, &headers) {
        return refusal;
    }
    match desk.tickets.get(&id) {
        Some(ticket) => axum::Json(ticket_json(id, ticket)).into_response(),
        None => not_found(id),
    }
}

/// GET /api/v1/ticket_articles/by_ticket/{id}
async fn articles_by_ticket(
    State(fake): State<FakeZammad>,
    Path(id): Path<u64>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut desk = fake.lock();
    if let Some(refusal) = admit(&mut desk, &method, &uri, &headers) {
        return refusal;
    }
    match desk.tickets.get(&id) {
        Some(ticket) => axum::Json(
            ticket
                .articles
                .iter()
                .enumerate()
                .map(|(index, article)| article_json(index + 1, id, article))
                .collect::<Vec<_>>(),
        )
        .into_response(),
        None => not_found(id),
    }
}

/// Reads `attachments: [{filename, data (base64), mime-type}]` as the article API documents.
fn files(problems: &mut Vec<String>, article: &Map<String, Value>) -> Vec<File> {
    let Some(attachments) = article.get("attachments") else {
        return Vec::new();
    };
    let Some(attachments) = attachments.as_array() else {
        problems.push(format!("attachments is not a list: {attachments}"));
        return Vec::new();
    };
    let mut files = Vec::new();
    for attachment in attachments {
        let Some(fields) = attachment.as_object() else {
            problems.push(format!("an attachment that is not an object: {attachment}"));
            continue;
        };
        let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        keys.sort_unstable();
        if keys != ["data", "filename", "mime-type"] {
            problems.push(format!("attachment fields {keys:?}"));
        }
        let text = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or_default();
        match STANDARD.decode(text("data")) {
            Ok(bytes) => files.push(File {
                name: text("filename").to_string(),
                content_type: text("mime-type").to_string(),
                bytes,
            }),
            Err(error) => problems.push(format!("attachment data is not base64: {error}")),
        }
    }
    files
}

/// POST /api/v1/ticket_articles
async fn create_article(
    State(fake): State<FakeZammad>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut desk = fake.lock();
    if let Some(refusal) = admit(&mut desk, &method, &uri, &headers) {
        return refusal;
    }
    let Some(Value::Object(article)) = json_body(&mut desk, &headers, &body) else {
        return zammad_error(StatusCode::UNPROCESSABLE_ENTITY, "Need ticket_id!");
    };
    let Some(ticket_id) = article.get("ticket_id").and_then(Value::as_u64) else {
        desk.problems
            .push(format!("ticket_id {:?}", article.get("ticket_id")));
        return zammad_error(StatusCode::UNPROCESSABLE_ENTITY, "Need ticket_id!");
    };
    let text = |key: &str| {
        article
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let content_type = text("content_type");
    if !matches!(content_type.as_str(), "text/plain" | "text/html") {
        desk.problems.push(format!("content_type {content_type:?}"));
    }
    let Some(internal) = article.get("internal").and_then(Value::as_bool) else {
        desk.problems
            .push(format!("internal {:?}", article.get("internal")));
        return zammad_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "internal is not a boolean",
        );
    };
    let mut problems = Vec::new();
    let files = files(&mut problems, &article);
    desk.problems.extend(problems);
    let stored = Article {
        body: text("body"),
        content_type,
        kind: text("type"),
        internal,
        files,
    };
    let Some(ticket) = desk.tickets.get_mut(&ticket_id) else {
        return not_found(ticket_id);
    };
    ticket.articles.push(stored.clone());
    let id = ticket.articles.len();
    (
        StatusCode::CREATED,
        axum::Json(article_json(id, ticket_id, &stored)),
    )
        .into_response()
}

/// POST /api/v1/tickets
async fn create_ticket(
    State(fake): State<FakeZammad>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut desk = fake.lock();
    if let Some(refusal) = admit(&mut desk, &method, &uri, &headers) {
        return refusal;
    }
    let Some(ticket) = json_body(&mut desk, &headers, &body) else {
        return zammad_error(StatusCode::UNPROCESSABLE_ENTITY, "Need title!");
    };
    let group = ticket["group"].as_str().unwrap_or_default().to_string();
    if !matches!(group.as_str(), "Users" | "2nd Level") {
        return zammad_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("No lookup value found for 'group': {group:?}"),
        );
    }
    let id = 19 + desk.created.len() as u64;
    let stored = Ticket {
        title: ticket["title"].as_str().unwrap_or_default().to_string(),
        articles: vec![Article {
            body: ticket["article"]["body"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            content_type: ticket["article"]["content_type"]
                .as_str()
                .unwrap_or("text/plain")
                .to_string(),
            kind: ticket["article"]["type"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            internal: ticket["article"]["internal"].as_bool().unwrap_or(false),
            files: Vec::new(),
        }],
    };
    let answer = ticket_json(id, &stored);
    desk.created.push(ticket);
    desk.tickets.insert(id, stored);
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}

async fn unknown_endpoint(State(fake): State<FakeZammad>, method: Method, uri: Uri) -> Response {
    let mut desk = fake.lock();
    desk.requests.push(format!("{method} {uri}"));
    desk.problems
        .push(format!("no such endpoint: {method} {uri}"));
    zammad_error(
        StatusCode::NOT_FOUND,
        &format!("No route matches [{method}] {uri}"),
    )
}

fn router(fake: FakeZammad) -> Router {
    Router::new()
        .route("/api/v1/tickets", post(create_ticket))
        .route("/api/v1/tickets/{id}", get(show_ticket))
        .route("/api/v1/ticket_articles", post(create_article))
        .route(
            "/api/v1/ticket_articles/by_ticket/{id}",
            get(articles_by_ticket),
        )
        .fallback(unknown_endpoint)
        .with_state(fake)
}

type Harness = common::Harness<FakeZammad>;

/// The fake with ticket 3 ("Order 787556", one customer article), and a connector built from
/// config with `extra` fields added.
async fn harness_with(token: &str, extra: Value) -> Harness {
    let fake = FakeZammad::default();
    fake.lock().tickets.insert(
        3,
        Ticket {
            title: "Order 787556".into(),
            articles: vec![Article {
                body: "My laptop is slow.".into(),
                content_type: "text/plain".into(),
                kind: "email".into(),
                internal: false,
                files: Vec::new(),
            }],
        },
    );
    let router = router(fake.clone());
    Harness::start(fake, router, |url, secrets| {
        let mut config = json!({
            "kind": "zammad",
            "url": url,
            "token": {"file": secrets.file(token)},
        });
        if let (Some(config), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
            config.extend(extra.clone());
        }
        config
    })
    .await
}

async fn harness() -> Harness {
    harness_with(TOKEN, json!({"customer": "david@example.com"})).await
}

impl Harness {
    fn requests(&self) -> Vec<String> {
        self.fake.lock().requests.clone()
    }

    fn assert_no_problems(&self) {
        assert_eq!(self.fake.lock().problems, Vec::<String>::new());
    }

    fn force(
        &self,
        on: Method,
        status: StatusCode,
        retry_after: Option<&'static str>,
        body: Value,
    ) {
        self.fake.lock().forced = Some(Forced {
            when: When::Method(on),
            status,
            retry_after,
            body: Body::Json(body),
        });
    }
}

#[tokio::test]
async fn finds_a_ticket_with_its_title_and_url() {
    let harness = harness().await;
    let ticket = harness.find_ticket("3").await.expect("ticket 3");
    assert_eq!(ticket.key, "3");
    assert_eq!(ticket.title.as_deref(), Some("Order 787556"));
    assert_eq!(
        ticket.url,
        Some(format!("{}/#ticket/zoom/3", harness.server.url))
    );
    assert_eq!(harness.requests(), ["GET /api/v1/tickets/3"]);
    harness.assert_no_problems();
}

#[tokio::test]
async fn an_unknown_ticket_is_permanent_with_zammads_message() {
    let harness = harness().await;
    let error = harness.find_ticket("99").await.expect_err("no ticket 99");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(404),
            message: "Zammad answered 404 Not Found: Couldn't find Ticket with 'id'=99".into(),
        }
    );
    harness.assert_no_problems();
}

#[tokio::test]
async fn a_key_that_is_no_ticket_id_is_refused_without_a_request() {
    let harness = harness().await;
    for key in ["#22003", "OPS-42", ".."] {
        let error = harness.find_ticket(key).await.expect_err("not a Zammad id");
        assert!(!error.is_transient(), "{error}");
        assert!(
            error.to_string().contains("not a Zammad ticket id"),
            "{error}"
        );
    }
    assert_eq!(harness.requests(), Vec::<String>::new());
}

#[tokio::test]
async fn attaches_both_files_in_one_internal_note() {
    let harness = harness().await;
    let attachment = attachment();
    let attached = harness.attach("3", &attachment).await.expect("attached");
    assert_eq!(attached, Attached::New);
    assert_eq!(
        harness.requests(),
        [
            "GET /api/v1/ticket_articles/by_ticket/3",
            "POST /api/v1/ticket_articles",
        ]
    );
    harness.assert_no_problems();
    let desk = harness.fake.lock();
    let articles = &desk.tickets[&3].articles;
    assert_eq!(articles.len(), 2);
    assert_eq!(
        articles[1],
        Article {
            body: attachment.note_text(),
            content_type: "text/plain".into(),
            kind: "note".into(),
            internal: true,
            files: vec![File::report(&attachment), File::snapshot(&attachment)],
        }
    );
}

#[tokio::test]
async fn attaching_again_uploads_nothing() {
    let harness = harness().await;
    let attachment = attachment();
    let first = harness.attach("3", &attachment).await.expect("attached");
    let again = harness.attach("3", &attachment).await.expect("checked");
    assert_eq!((first, again), (Attached::New, Attached::AlreadyThere));
    assert_eq!(
        harness.requests(),
        [
            "GET /api/v1/ticket_articles/by_ticket/3",
            "POST /api/v1/ticket_articles",
            "GET /api/v1/ticket_articles/by_ticket/3",
        ]
    );
    assert_eq!(harness.fake.lock().tickets[&3].articles.len(), 2);
    harness.assert_no_problems();
}

#[tokio::test]
async fn attaching_to_an_unknown_ticket_is_permanent() {
    let harness = harness().await;
    let error = harness
        .attach("99", &attachment())
        .await
        .expect_err("no ticket 99");
    assert_eq!(
        error.to_string(),
        "Zammad answered 404 Not Found: Couldn't find Ticket with 'id'=99"
    );
    assert_eq!(
        harness.requests(),
        ["GET /api/v1/ticket_articles/by_ticket/99"]
    );
}

#[tokio::test]
async fn a_rate_limit_is_transient_with_retry_after() {
    let harness = harness().await;
    harness.force(
        Method::POST,
        StatusCode::TOO_MANY_REQUESTS,
        Some("12"),
        json!({"error": "Too many requests"}),
    );
    let error = harness
        .attach("3", &attachment())
        .await
        .expect_err("rate limited");
    assert_transient(&error, Some(Duration::from_secs(12)));
    assert_eq!(harness.fake.lock().tickets[&3].articles.len(), 1);
}

#[tokio::test]
async fn an_outage_is_transient() {
    let harness = harness().await;
    harness.force(
        Method::GET,
        StatusCode::BAD_GATEWAY,
        None,
        json!({"error": "upstream unavailable"}),
    );
    let error = harness.find_ticket("3").await.expect_err("an outage");
    assert!(error.is_transient(), "{error}");
}

#[tokio::test]
async fn refused_credentials_are_permanent_with_zammads_message() {
    let harness = harness_with("zm-revoked", json!({})).await;
    let error = harness.find_ticket("3").await.expect_err("refused");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(401),
            message: "Zammad answered 401 Unauthorized: Can't find User for Token".into(),
        }
    );
}

#[tokio::test]
async fn a_forbidden_article_is_permanent_with_zammads_message() {
    let harness = harness().await;
    harness.force(
        Method::POST,
        StatusCode::FORBIDDEN,
        None,
        json!({"error": "Not authorized", "error_human": "Not authorized"}),
    );
    let error = harness
        .attach("3", &attachment())
        .await
        .expect_err("forbidden");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(403),
            message: "Zammad answered 403 Forbidden: Not authorized".into(),
        }
    );
}

#[tokio::test]
async fn creates_a_ticket_in_the_default_group_for_the_customer() {
    let harness = harness().await;
    let ticket = harness
        .create_ticket(&NewExternalTicket {
            title: "Printer offline".into(),
            description: "It says <offline>.\nSupport code: K7-ABCD".into(),
        })
        .await
        .expect("created");
    assert_eq!(ticket.key, "19");
    assert_eq!(ticket.title.as_deref(), Some("Printer offline"));
    assert_eq!(
        ticket.url,
        Some(format!("{}/#ticket/zoom/19", harness.server.url))
    );
    assert_eq!(harness.requests(), ["POST /api/v1/tickets"]);
    harness.assert_no_problems();
    assert_eq!(
        harness.fake.lock().created,
        [json!({
            "title": "Printer offline",
            "group": "Users",
            "customer": "david@example.com",
            "article": {
                "subject": "Printer offline",
                "body": "It says <offline>.\nSupport code: K7-ABCD",
                "content_type": "text/plain",
                "type": "note",
                "internal": false,
            },
        })]
    );
}

#[tokio::test]
async fn creates_a_ticket_in_the_configured_group_and_leaves_the_customer_to_zammad() {
    let harness = harness_with(TOKEN, json!({"group": "2nd Level"})).await;
    harness
        .create_ticket(&NewExternalTicket {
            title: "VPN".into(),
            description: "Drops every hour".into(),
        })
        .await
        .expect("created");
    let created = harness.fake.lock().created.clone();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["group"], "2nd Level");
    assert_eq!(created[0].get("customer"), None);
}

#[tokio::test]
async fn an_unknown_group_is_permanent_with_zammads_message() {
    let harness = harness_with(TOKEN, json!({"group": "Nope"})).await;
    let error = harness
        .create_ticket(&NewExternalTicket {
            title: "VPN".into(),
            description: "Drops every hour".into(),
        })
        .await
        .expect_err("no such group");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(422),
            message: "Zammad answered 422 Unprocessable Entity: No lookup value found for 'group': \"Nope\"".into(),
        }
    );
}

#[test]
fn config_names_what_is_missing_and_never_shows_the_token() {
    let secrets = Secrets::new();
    let config: ConnectorConfig = serde_json::from_value(json!({
        "kind": "zammad",
        "url": "https://support.corp.example",
        "token": {"file": secrets.file(TOKEN)},
    }))
    .expect("a zammad config");
    let ConnectorConfig::Zammad(zammad) = &config else {
        panic!("not a zammad config: {config:?}");
    };
    assert_eq!(zammad.group, "Users");
    assert_eq!(zammad.customer, None);
    let connector = config.build().expect("a Zammad connector");
    assert_eq!(connector.product(), "Zammad");
    let shown = format!("{connector:?}");
    assert!(!shown.contains(TOKEN), "{shown}");

    let unset: ConnectorConfig = serde_json::from_value(json!({
        "kind": "zammad",
        "url": "https://support.corp.example",
        "token": {"env": "SITREP_TEST_ZAMMAD_TOKEN_THAT_IS_NOT_SET"},
    }))
    .expect("a zammad config");
    assert_eq!(
        unset.build().expect_err("no token").as_str(),
        "token: the environment variable SITREP_TEST_ZAMMAD_TOKEN_THAT_IS_NOT_SET is not set"
    );

    let unknown_field = serde_json::from_value::<ConnectorConfig>(json!({
        "kind": "zammad",
        "url": "https://support.corp.example",
        "token": {"file": "/etc/sitrep/zammad.token"},
        "groups": "Users",
    }));
    assert!(unknown_field.is_err());
}
