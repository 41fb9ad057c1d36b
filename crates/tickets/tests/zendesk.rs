//! The Zendesk connector against a fake Zendesk Support API v2 that checks every request as
//! Zendesk documents it (API-token basic auth, raw-body uploads, a private comment naming the
//! upload token, cursor-paginated comments) and answers with Zendesk's bodies and errors.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sitrep_tickets::{Attached, ConnectorConfig, NewExternalTicket, TicketError};

use common::{File, Forced, Secrets, assert_transient, attachment, query_pairs};

const EMAIL: &str = "sitrep@corp.example";
const TOKEN: &str = "zd-api-token-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv";

#[derive(Debug, Clone, PartialEq)]
struct Comment {
    body: String,
    public: bool,
    files: Vec<File>,
}

struct Ticket {
    subject: String,
    comments: Vec<Comment>,
}

#[derive(Default)]
struct Desk {
    tickets: BTreeMap<u64, Ticket>,
    /// Upload token → files uploaded under it and not yet on a comment.
    uploads: BTreeMap<String, Vec<File>>,
    next_token: u32,
    /// Comments per page at most; Zendesk's is 100, smaller here to exercise the cursor.
    page_limit: usize,
    /// `METHOD /path?query` of every request, in order.
    requests: Vec<String>,
    /// What a request did differently from Zendesk's documentation.
    problems: Vec<String>,
    forced: Option<Forced>,
}

type FakeZendesk = common::Shared<Desk>;

fn zendesk_error(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn not_found() -> Response {
    zendesk_error(
        StatusCode::NOT_FOUND,
        json!({"error": "RecordNotFound", "description": "Not found"}),
    )
}

fn ticket_json(id: u64, ticket: &Ticket) -> Value {
    json!({
        "id": id,
        "url": format!("https://example.zendesk.com/api/v2/tickets/{id}.json"),
        "subject": ticket.subject,
        "status": "open",
        "tags": [],
    })
}

/// The fake Zendesk: one handler, so every request is logged and checked the same way.
async fn zendesk(
    State(fake): State<FakeZendesk>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut desk = fake.lock();
    desk.requests.push(format!("{method} {uri}"));
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}/token:{TOKEN}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        != Some(&expected)
    {
        return zendesk_error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "Couldn't authenticate you"}),
        );
    }
    if let Some(answer) = Forced::take(&mut desk.forced, &method, &uri) {
        return answer;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let query = query_pairs(&uri);
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["api", "v2", "tickets", file]) => {
            let Some(id) = file.strip_suffix(".json").and_then(|id| id.parse().ok()) else {
                return not_found();
            };
            match desk.tickets.get(&id) {
                Some(ticket) => {
                    axum::Json(json!({"ticket": ticket_json(id, ticket)})).into_response()
                }
                None => not_found(),
            }
        }
        (Method::GET, ["api", "v2", "tickets", id, "comments.json"]) => {
            let Some(id) = id.parse::<u64>().ok() else {
                return not_found();
            };
            if query.get("page[size]").map(String::as_str) != Some("100") {
                desk.problems
                    .push(format!("comments listed without page[size]=100: {uri}"));
            }
            let start: usize = match query.get("page[after]") {
                Some(cursor) => cursor.parse().expect("a cursor the fake made"),
                None => 0,
            };
            let limit = desk.page_limit;
            let Some(ticket) = desk.tickets.get(&id) else {
                return not_found();
            };
            let end = (start + limit).min(ticket.comments.len());
            let comments: Vec<Value> = ticket.comments[start..end]
                .iter()
                .enumerate()
                .map(|(index, comment)| {
                    json!({
                        "id": start + index + 1,
                        "type": "Comment",
                        "body": comment.body,
                        "public": comment.public,
                        "attachments": comment.files.iter().map(|file| json!({
                            "id": 498483,
                            "file_name": file.name,
                            "content_type": file.content_type,
                            "size": file.bytes.len(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let has_more = end < ticket.comments.len();
            axum::Json(json!({
                "comments": comments,
                "meta": {
                    "has_more": has_more,
                    "after_cursor": if has_more { Some(end.to_string()) } else { None },
                    "before_cursor": start.to_string(),
                },
                "links": {"next": null, "prev": null},
            }))
            .into_response()
        }
        (Method::POST, ["api", "v2", "uploads.json"]) => {
            let Some(name) = query.get("filename").cloned() else {
                desk.problems
                    .push(format!("upload without filename: {uri}"));
                return zendesk_error(StatusCode::BAD_REQUEST, json!({"error": "InvalidFilename"}));
            };
            if content_type.is_empty() || content_type.starts_with("multipart/") {
                desk.problems
                    .push(format!("upload of {name} not a raw body: {content_type:?}"));
            }
            let file = File {
                name,
                content_type,
                bytes: body.to_vec(),
            };
            let token = match query.get("token") {
                Some(token) if desk.uploads.contains_key(token) => token.clone(),
                Some(token) => {
                    desk.problems
                        .push(format!("upload grouped under unknown token {token}"));
                    return not_found();
                }
                None => {
                    desk.next_token += 1;
                    format!("6bk3gql82em5nmf{}", desk.next_token)
                }
            };
            desk.uploads
                .entry(token.clone())
                .or_default()
                .push(file.clone());
            let answer = json!({
                "upload": {
                    "token": token,
                    "expires_at": "2026-11-28T10:00:00Z",
                    "attachment": {"file_name": file.name, "content_type": file.content_type},
                    "attachments": [],
                }
            });
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        (Method::PUT, ["api", "v2", "tickets", file]) => {
            let Some(id) = file
                .strip_suffix(".json")
                .and_then(|id| id.parse::<u64>().ok())
            else {
                return not_found();
            };
            if !content_type.starts_with("application/json") {
                desk.problems
                    .push(format!("ticket update as {content_type:?}"));
            }
            let update: Value = match serde_json::from_slice(&body) {
                Ok(update) => update,
                Err(error) => {
                    desk.problems
                        .push(format!("ticket update not JSON: {error}"));
                    return zendesk_error(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "Unprocessable"}),
                    );
                }
            };
            let comment = &update["ticket"]["comment"];
            let (Some(text), Some(public)) =
                (comment["body"].as_str(), comment["public"].as_bool())
            else {
                desk.problems
                    .push(format!("comment without body or public: {update}"));
                return zendesk_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": "RecordInvalid"}),
                );
            };
            let mut files = Vec::new();
            for token in comment["uploads"].as_array().into_iter().flatten() {
                let token = token.as_str().unwrap_or_default();
                match desk.uploads.remove(token) {
                    Some(uploaded) => files.extend(uploaded),
                    None => desk
                        .problems
                        .push(format!("comment names unknown upload {token}")),
                }
            }
            let comment = Comment {
                body: text.to_string(),
                public,
                files,
            };
            let Some(ticket) = desk.tickets.get_mut(&id) else {
                return not_found();
            };
            ticket.comments.push(comment);
            let answer = json!({"ticket": ticket_json(id, ticket), "audit": {"events": []}});
            axum::Json(answer).into_response()
        }
        (Method::POST, ["api", "v2", "tickets.json"]) => {
            let created: Value = serde_json::from_slice(&body).unwrap_or_default();
            let (Some(subject), Some(text)) = (
                created["ticket"]["subject"].as_str(),
                created["ticket"]["comment"]["body"].as_str(),
            ) else {
                desk.problems
                    .push(format!("ticket created without subject or body: {created}"));
                return zendesk_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": "RecordInvalid"}),
                );
            };
            let id = desk.tickets.keys().last().copied().unwrap_or(0) + 1;
            let ticket = Ticket {
                subject: subject.to_string(),
                comments: vec![Comment {
                    body: text.to_string(),
                    public: true,
                    files: Vec::new(),
                }],
            };
            let answer = json!({"ticket": ticket_json(id, &ticket)});
            desk.tickets.insert(id, ticket);
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        _ => {
            desk.problems
                .push(format!("undocumented request {method} {uri}"));
            zendesk_error(
                StatusCode::NOT_FOUND,
                json!({"error": "InvalidEndpoint", "description": "Not found"}),
            )
        }
    }
}

type Harness = common::Harness<FakeZendesk>;

/// The fake with ticket 35436 ("Laptop is slow"), and a connector built from config for it.
async fn harness() -> Harness {
    harness_with_token(TOKEN).await
}

async fn harness_with_token(token: &str) -> Harness {
    let fake = FakeZendesk::default();
    {
        let mut desk = fake.lock();
        desk.page_limit = 100;
        desk.tickets.insert(
            35436,
            Ticket {
                subject: "Laptop is slow".into(),
                comments: vec![Comment {
                    body: "It takes minutes to open Outlook.".into(),
                    public: true,
                    files: Vec::new(),
                }],
            },
        );
    }
    let router = Router::new().fallback(zendesk).with_state(fake.clone());
    Harness::start(fake, router, |url, secrets| {
        json!({
            "kind": "zendesk",
            "url": url,
            "email": EMAIL,
            "token": {"file": secrets.file(token)},
        })
    })
    .await
}

fn force(harness: &Harness, status: StatusCode, retry_after: Option<&'static str>, body: Value) {
    harness.fake.lock().forced = Some(Forced::next(status, retry_after, body));
}

#[tokio::test]
async fn finds_a_ticket_by_its_id() {
    let harness = harness().await;
    let ticket = harness.find_ticket("35436").await.expect("ticket 35436");
    assert_eq!(ticket.key, "35436");
    assert_eq!(ticket.title.as_deref(), Some("Laptop is slow"));
    assert_eq!(
        ticket.url,
        Some(format!("{}/agent/tickets/35436", harness.server.url))
    );
    let desk = harness.fake.lock();
    assert_eq!(desk.requests, ["GET /api/v2/tickets/35436.json"]);
    assert!(desk.problems.is_empty(), "{:?}", desk.problems);
}

#[tokio::test]
async fn an_unknown_ticket_is_permanent_with_zendesks_message() {
    let harness = harness().await;
    let error = harness
        .find_ticket("99999")
        .await
        .expect_err("no such ticket");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(404),
            message: "Zendesk answered 404 Not Found: RecordNotFound".into(),
        }
    );
}

#[tokio::test]
async fn a_key_that_is_no_ticket_id_is_refused_without_a_request() {
    let harness = harness().await;
    let error = harness.find_ticket("OPS-42").await.expect_err("not an id");
    assert!(!error.is_transient());
    assert!(
        error.to_string().contains("not a Zendesk ticket id"),
        "{error}"
    );
    assert!(harness.fake.lock().requests.is_empty());
}

#[tokio::test]
async fn attaches_both_files_in_one_private_comment() {
    let harness = harness().await;
    let attachment = attachment();
    let attached = harness.attach("35436", &attachment).await.expect("attach");
    assert_eq!(attached, Attached::New);

    let desk = harness.fake.lock();
    assert!(desk.problems.is_empty(), "{:?}", desk.problems);
    let report = attachment.report_file_name();
    let snapshot = attachment.json_file_name();
    assert_eq!(
        desk.requests,
        [
            "GET /api/v2/tickets/35436/comments.json?page%5Bsize%5D=100".to_string(),
            format!("POST /api/v2/uploads.json?filename={report}"),
            format!("POST /api/v2/uploads.json?filename={snapshot}&token=6bk3gql82em5nmf1"),
            "PUT /api/v2/tickets/35436.json".to_string(),
        ]
    );
    assert!(desk.uploads.is_empty(), "every upload is on the comment");
    let comment = desk.tickets[&35436]
        .comments
        .last()
        .expect("the new comment");
    assert_eq!(
        comment,
        &Comment {
            body: attachment.note_text(),
            public: false,
            files: vec![File::report(&attachment), File::snapshot(&attachment)],
        }
    );
}

#[tokio::test]
async fn attaching_again_uploads_nothing() {
    let harness = harness().await;
    let attachment = attachment();
    assert_eq!(
        harness.attach("35436", &attachment).await.expect("attach"),
        Attached::New
    );
    let requests_before = harness.fake.lock().requests.len();
    assert_eq!(
        harness
            .attach("35436", &attachment)
            .await
            .expect("attach again"),
        Attached::AlreadyThere
    );
    let desk = harness.fake.lock();
    assert_eq!(
        desk.requests[requests_before..],
        ["GET /api/v2/tickets/35436/comments.json?page%5Bsize%5D=100"]
    );
    assert_eq!(
        desk.tickets[&35436].comments.len(),
        2,
        "one comment added, once"
    );
    assert!(desk.problems.is_empty(), "{:?}", desk.problems);
}

#[tokio::test]
async fn the_report_is_found_on_a_later_page_of_comments() {
    let harness = harness().await;
    let attachment = attachment();
    {
        let mut desk = harness.fake.lock();
        desk.page_limit = 2;
        let ticket = desk.tickets.get_mut(&35436).expect("ticket 35436");
        for n in 0..3 {
            ticket.comments.push(Comment {
                body: format!("reply {n}"),
                public: true,
                files: Vec::new(),
            });
        }
        ticket.comments.push(Comment {
            body: attachment.note_text(),
            public: false,
            files: vec![File {
                bytes: Vec::new(),
                ..File::report(&attachment)
            }],
        });
    }
    assert_eq!(
        harness.attach("35436", &attachment).await.expect("attach"),
        Attached::AlreadyThere
    );
    let desk = harness.fake.lock();
    assert_eq!(
        desk.requests,
        [
            "GET /api/v2/tickets/35436/comments.json?page%5Bsize%5D=100",
            "GET /api/v2/tickets/35436/comments.json?page%5Bsize%5D=100&page%5Bafter%5D=2",
            "GET /api/v2/tickets/35436/comments.json?page%5Bsize%5D=100&page%5Bafter%5D=4",
        ]
    );
    assert!(desk.problems.is_empty(), "{:?}", desk.problems);
}

#[tokio::test]
async fn a_rate_limit_is_transient_with_retry_after() {
    let harness = harness().await;
    force(
        &harness,
        StatusCode::TOO_MANY_REQUESTS,
        Some("7"),
        json!({"error": "APIRateLimitExceeded", "description": "Number of allowed API requests per minute exceeded"}),
    );
    let error = harness
        .attach("35436", &attachment())
        .await
        .expect_err("rate limited");
    assert_transient(&error, Some(Duration::from_secs(7)));
    assert!(
        error.to_string().contains("APIRateLimitExceeded"),
        "{error}"
    );
    assert_eq!(harness.fake.lock().tickets[&35436].comments.len(), 1);
}

#[tokio::test]
async fn an_outage_is_transient() {
    let harness = harness().await;
    force(
        &harness,
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        json!({"error": "Service Unavailable", "description": "Maintenance"}),
    );
    let error = harness.find_ticket("35436").await.expect_err("down");
    assert_transient(&error, None);
}

#[tokio::test]
async fn refused_credentials_are_permanent_with_zendesks_message() {
    let harness = harness_with_token("a-revoked-token").await;
    let error = harness.find_ticket("35436").await.expect_err("refused");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(401),
            message: "Zendesk answered 401 Unauthorized: Couldn't authenticate you".into(),
        }
    );
}

#[tokio::test]
async fn a_forbidden_update_is_permanent_with_zendesks_message() {
    let harness = harness().await;
    force(
        &harness,
        StatusCode::FORBIDDEN,
        None,
        json!({"error": "Forbidden", "description": "You do not have access to this page."}),
    );
    let error = harness
        .attach("35436", &attachment())
        .await
        .expect_err("forbidden");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(403),
            message: "Zendesk answered 403 Forbidden: Forbidden".into(),
        }
    );
}

#[tokio::test]
async fn creates_a_ticket() {
    let harness = harness().await;
    let created = harness
        .create_ticket(&NewExternalTicket {
            title: "Printer offline on floor 3".into(),
            description: "Support code 7Q4-KD2: the printer shows offline since this morning."
                .into(),
        })
        .await
        .expect("create");
    assert_eq!(created.key, "35437");
    assert_eq!(created.title.as_deref(), Some("Printer offline on floor 3"));
    assert_eq!(
        created.url,
        Some(format!("{}/agent/tickets/35437", harness.server.url))
    );
    let desk = harness.fake.lock();
    assert_eq!(desk.requests, ["POST /api/v2/tickets.json"]);
    assert_eq!(
        desk.tickets[&35437].comments[0].body,
        "Support code 7Q4-KD2: the printer shows offline since this morning."
    );
    assert!(desk.problems.is_empty(), "{:?}", desk.problems);
}

#[test]
fn config_names_what_is_missing_and_never_shows_the_token() {
    let secrets = Secrets::new();
    let config: ConnectorConfig = serde_json::from_value(json!({
        "kind": "zendesk",
        "url": "https://corp.zendesk.com",
        "email": EMAIL,
        "token": {"file": secrets.file(TOKEN)},
    }))
    .expect("a zendesk config");
    let connector = config.build().expect("a connector");
    assert_eq!(connector.product(), "Zendesk");
    let shown = format!("{connector:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}/token:{TOKEN}"));
    assert!(!shown.contains(&encoded), "{shown}");

    let unset: ConnectorConfig = serde_json::from_value(json!({
        "kind": "zendesk",
        "url": "https://corp.zendesk.com",
        "email": EMAIL,
        "token": {"env": "SITREP_TEST_ZENDESK_TOKEN_NOT_SET"},
    }))
    .expect("a zendesk config");
    assert_eq!(
        unset.build().expect_err("no token").as_str(),
        "token: the environment variable SITREP_TEST_ZENDESK_TOKEN_NOT_SET is not set"
    );

    let unknown_field = serde_json::from_value::<ConnectorConfig>(json!({
        "kind": "zendesk",
        "url": "https://corp.zendesk.com",
        "email": EMAIL,
        "token": {"env": "X"},
        "password": "hunter2",
    }));
    assert!(unknown_field.is_err());
}
