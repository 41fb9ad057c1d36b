//! The Freshdesk connector against a fake Freshdesk API v2 that checks every request as
//! Freshdesk documents it (API key as the Basic user with "X", conversations paged by `page`
//! with a `Link` header, a multipart private note with `attachments[]` parts, JSON ticket
//! creation) and answers with Freshdesk's bodies, errors and rate-limit headers.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sitrep_tickets::{Attached, Attachment, ConnectorConfig, NewExternalTicket, TicketError};

use common::{Body, File, Forced, Secrets, When, assert_transient};

const API_KEY: &str = "fd-key-0123";
/// `Basic ` + base64("fd-key-0123:X"), worked out by hand (`printf 'fd-key-0123:X' | base64`).
const AUTHORIZATION: &str = "Basic ZmQta2V5LTAxMjM6WA==";
/// Freshdesk's page size for conversations.
const PAGE_SIZE: usize = 30;

#[derive(Debug, Clone, PartialEq)]
struct Conversation {
    body: String,
    private: bool,
    files: Vec<File>,
}

struct Ticket {
    subject: String,
    conversations: Vec<Conversation>,
}

#[derive(Default)]
struct Desk {
    tickets: BTreeMap<u64, Ticket>,
    /// JSON bodies of tickets created.
    created: Vec<Value>,
    /// `METHOD /path?query` of every request, in order.
    requests: Vec<String>,
    /// What a request did differently from Freshdesk's documentation.
    problems: Vec<String>,
    forced: Option<Forced>,
}

type FakeFreshdesk = common::Shared<Desk>;

fn freshdesk_error(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// What every request goes through: logged, authenticated as Freshdesk does, or answered with
/// a forced error.
fn admit(desk: &mut Desk, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    desk.requests.push(format!("{method} {uri}"));
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if authorization != Some(AUTHORIZATION) {
        return Some(freshdesk_error(
            StatusCode::UNAUTHORIZED,
            json!({"code": "invalid_credentials", "message": "You have to be logged in to perform this action."}),
        ));
    }
    let mut answer = Forced::take(&mut desk.forced, method, uri)?;
    if answer.headers().contains_key(header::RETRY_AFTER) {
        let headers = answer.headers_mut();
        headers.insert("x-ratelimit-total", "200".parse().expect("a header value"));
        headers.insert(
            "x-ratelimit-remaining",
            "0".parse().expect("a header value"),
        );
    }
    Some(answer)
}

fn file_json(index: usize, file: &File) -> Value {
    json!({
        "id": 5000 + index,
        "name": file.name,
        "content_type": file.content_type,
        "size": file.bytes.len(),
        "attachment_url": format!("https://cdn.freshdesk.example/{}", file.name),
        "created_at": "2026-11-25T10:00:00Z",
        "updated_at": "2026-11-25T10:00:00Z",
    })
}

fn conversation_json(id: usize, ticket_id: u64, conversation: &Conversation) -> Value {
    json!({
        "id": id,
        "body": conversation.body,
        "body_text": conversation.body,
        "incoming": false,
        "private": conversation.private,
        "user_id": 1,
        "ticket_id": ticket_id,
        "attachments": conversation.files.iter().enumerate()
            .map(|(index, file)| file_json(index, file)).collect::<Vec<_>>(),
        "created_at": "2026-11-25T10:00:00Z",
        "updated_at": "2026-11-25T10:00:00Z",
    })
}

/// GET /api/v2/tickets/{id}: 404 with no body for a ticket that is not there.
async fn view_ticket(
    State(fake): State<FakeFreshdesk>,
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
        Some(ticket) => axum::Json(json!({
            "id": id,
            "subject": ticket.subject,
            "status": 2,
            "priority": 1,
            "requester_id": 129,
            "description": "<div>It is slow.</div>",
            "description_text": "It is slow.",
            "attachments": [],
        }))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// GET /api/v2/tickets/{id}/conversations?page=N: 30 a page, `Link` to the next one.
async fn list_conversations(
    State(fake): State<FakeFreshdesk>,
    Path(id): Path<u64>,
    RawQuery(query): RawQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut desk = fake.lock();
    if let Some(refusal) = admit(&mut desk, &method, &uri, &headers) {
        return refusal;
    }
    let page = match query.as_deref() {
        None => 1,
        Some(query) => match query
            .strip_prefix("page=")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(page) if page >= 1 => page,
            _ => {
                desk.problems.push(format!("unexpected query {query:?}"));
                return freshdesk_error(
                    StatusCode::BAD_REQUEST,
                    json!({"description": "Validation failed", "errors": [{"field": "page", "message": "Unexpected/invalid field in request", "code": "invalid_field"}]}),
                );
            }
        },
    };
    let Some(ticket) = desk.tickets.get(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let start = (page - 1) * PAGE_SIZE;
    let items: Vec<Value> = ticket
        .conversations
        .iter()
        .enumerate()
        .skip(start)
        .take(PAGE_SIZE)
        .map(|(index, conversation)| conversation_json(index + 1, id, conversation))
        .collect();
    let mut response = axum::Json(items).into_response();
    if ticket.conversations.len() > start + PAGE_SIZE {
        let next = format!(
            "<https://corp.freshdesk.example/api/v2/tickets/{id}/conversations?page={}>; rel=\"next\"",
            page + 1
        );
        response
            .headers_mut()
            .insert(header::LINK, next.parse().expect("a header value"));
    }
    response
}

/// POST /api/v2/tickets/{id}/notes, multipart: `body`, `private`, files as `attachments[]`.
async fn add_note(
    State(fake): State<FakeFreshdesk>,
    Path(id): Path<u64>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    {
        let mut desk = fake.lock();
        if let Some(refusal) = admit(&mut desk, &method, &uri, &headers) {
            return refusal;
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("multipart/form-data; boundary=") {
            desk.problems
                .push(format!("a note with files sent as {content_type:?}"));
        }
    }
    let mut body = None;
    let mut private = None;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                problems.push(format!("unreadable multipart: {error}"));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes.to_vec(),
            Err(error) => {
                problems.push(format!("unreadable part {name}: {error}"));
                continue;
            }
        };
        match (name.as_str(), file_name, content_type) {
            ("body", None, _) => body = Some(String::from_utf8_lossy(&bytes).into_owned()),
            ("private", None, _) => private = Some(String::from_utf8_lossy(&bytes).into_owned()),
            ("attachments[]", Some(name), Some(content_type)) => files.push(File {
                name,
                content_type,
                bytes,
            }),
            (name, file_name, content_type) => problems.push(format!(
                "unexpected part {name:?} (file name {file_name:?}, type {content_type:?})"
            )),
        }
    }
    let mut desk = fake.lock();
    desk.problems.extend(problems);
    let Some(body) = body else {
        desk.problems.push("a note without a body".into());
        return freshdesk_error(
            StatusCode::BAD_REQUEST,
            json!({"description": "Validation failed", "errors": [{"field": "body", "message": "It should be a/an String", "code": "missing_field"}]}),
        );
    };
    let private = match private.as_deref() {
        // Notes are private by default; "true" says so explicitly.
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            desk.problems.push(format!("private = {other:?}"));
            return freshdesk_error(
                StatusCode::BAD_REQUEST,
                json!({"description": "Validation failed", "errors": [{"field": "private", "message": "It should be a/an Boolean", "code": "datatype_mismatch"}]}),
            );
        }
    };
    let Some(ticket) = desk.tickets.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let conversation = Conversation {
        body,
        private,
        files,
    };
    ticket.conversations.push(conversation.clone());
    let number = ticket.conversations.len();
    (
        StatusCode::CREATED,
        axum::Json(conversation_json(number, id, &conversation)),
    )
        .into_response()
}

/// POST /api/v2/tickets as JSON.
async fn create_ticket(
    State(fake): State<FakeFreshdesk>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut desk = fake.lock();
    if let Some(refusal) = admit(&mut desk, &method, &uri, &headers) {
        return refusal;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    if content_type != Some("application/json") {
        desk.problems
            .push(format!("a ticket sent as {content_type:?}"));
    }
    let Ok(ticket) = serde_json::from_slice::<Value>(&body) else {
        desk.problems.push("a ticket that is not JSON".into());
        return freshdesk_error(
            StatusCode::BAD_REQUEST,
            json!({"description": "Validation failed", "errors": [{"field": "body", "message": "Request body has invalid json format", "code": "invalid_json"}]}),
        );
    };
    let id = 1000 + desk.created.len() as u64;
    let subject = ticket["subject"].as_str().unwrap_or_default().to_string();
    desk.created.push(ticket);
    desk.tickets.insert(
        id,
        Ticket {
            subject: subject.clone(),
            conversations: Vec::new(),
        },
    );
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "id": id,
            "subject": subject,
            "status": 2,
            "priority": 1,
            "requester_id": 129,
            "attachments": [],
        })),
    )
        .into_response()
}

async fn unknown_endpoint(State(fake): State<FakeFreshdesk>, method: Method, uri: Uri) -> Response {
    let mut desk = fake.lock();
    desk.requests.push(format!("{method} {uri}"));
    desk.problems
        .push(format!("no such endpoint: {method} {uri}"));
    StatusCode::NOT_FOUND.into_response()
}

fn router(fake: FakeFreshdesk) -> Router {
    Router::new()
        .route("/api/v2/tickets", post(create_ticket))
        .route("/api/v2/tickets/{id}", get(view_ticket))
        .route(
            "/api/v2/tickets/{id}/conversations",
            get(list_conversations),
        )
        .route("/api/v2/tickets/{id}/notes", post(add_note))
        .fallback(unknown_endpoint)
        .with_state(fake)
}

type Harness = common::Harness<FakeFreshdesk>;

/// The fake with ticket 20 ("Laptop is slow", one reply), and a connector built from config.
async fn harness() -> Harness {
    harness_with(API_KEY, Some("sitrep@corp.example")).await
}

async fn harness_with(api_key: &str, requester_email: Option<&str>) -> Harness {
    let fake = FakeFreshdesk::default();
    fake.lock().tickets.insert(
        20,
        Ticket {
            subject: "Laptop is slow".into(),
            conversations: vec![Conversation {
                body: "<div>We are looking into it.</div>".into(),
                private: false,
                files: Vec::new(),
            }],
        },
    );
    let router = router(fake.clone());
    Harness::start(fake, router, |url, secrets| {
        let mut config = json!({
            "kind": "freshdesk",
            "url": url,
            "api_key": {"file": secrets.file(api_key)},
        });
        if let Some(email) = requester_email {
            config["requester_email"] = json!(email);
        }
        config
    })
    .await
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

/// The sample snapshot with markup in its note, which the HTML note is to show as text.
fn attachment() -> Attachment {
    Attachment {
        note: "Collected while the user waited; <b>not</b> markup.".into(),
        ..common::attachment()
    }
}

#[tokio::test]
async fn finds_a_ticket_with_its_subject_and_agent_url() {
    let harness = harness().await;
    let ticket = harness.find_ticket("20").await.expect("ticket 20");
    assert_eq!(ticket.key, "20");
    assert_eq!(ticket.title.as_deref(), Some("Laptop is slow"));
    assert_eq!(
        ticket.url,
        Some(format!("{}/a/tickets/20", harness.server.url))
    );
    assert_eq!(harness.requests(), ["GET /api/v2/tickets/20"]);
    harness.assert_no_problems();
}

#[tokio::test]
async fn an_unknown_ticket_is_permanent() {
    let harness = harness().await;
    let error = harness
        .find_ticket("404404")
        .await
        .expect_err("no ticket 404404");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(404),
            message: "Freshdesk answered 404 Not Found".into(),
        }
    );
    harness.assert_no_problems();
}

#[tokio::test]
async fn a_key_that_is_no_ticket_id_is_refused_without_a_request() {
    let harness = harness().await;
    for key in ["OPS-42", "..", "20.1"] {
        let error = harness
            .find_ticket(key)
            .await
            .expect_err("not a Freshdesk id");
        assert!(!error.is_transient(), "{error}");
        assert!(
            error.to_string().contains("not a Freshdesk ticket id"),
            "{error}"
        );
        let attach_error = harness
            .attach(key, &attachment())
            .await
            .expect_err("not a Freshdesk id");
        assert!(!attach_error.is_transient(), "{attach_error}");
    }
    assert_eq!(harness.requests(), Vec::<String>::new());
}

#[tokio::test]
async fn attaches_both_files_in_one_private_note() {
    let harness = harness().await;
    let attachment = attachment();
    let attached = harness.attach("20", &attachment).await.expect("attached");
    assert_eq!(attached, Attached::New);
    assert_eq!(
        harness.requests(),
        [
            "GET /api/v2/tickets/20/conversations?page=1",
            "POST /api/v2/tickets/20/notes",
        ]
    );
    harness.assert_no_problems();
    let desk = harness.fake.lock();
    let conversations = &desk.tickets[&20].conversations;
    assert_eq!(conversations.len(), 2);
    let note = &conversations[1];
    assert!(note.private, "the note must be private");
    assert_eq!(
        note.files,
        [File::report(&attachment), File::snapshot(&attachment)]
    );
    // The body is HTML: the note text escaped, its line breaks kept.
    assert!(
        note.body.starts_with(&format!(
            "<div>sitrep snapshot {}: pc-0042, 2026-11-25 10:00 UTC: disk C: 97% full<br><br>",
            attachment.snapshot_id
        )),
        "{}",
        note.body
    );
    assert!(
        note.body
            .contains("Collected while the user waited; &lt;b&gt;not&lt;/b&gt; markup."),
        "{}",
        note.body
    );
    assert!(
        note.body.contains(&attachment.json_file_name()),
        "{}",
        note.body
    );
}

#[tokio::test]
async fn attaching_again_uploads_nothing() {
    let harness = harness().await;
    let attachment = attachment();
    let first = harness.attach("20", &attachment).await.expect("attached");
    let again = harness.attach("20", &attachment).await.expect("checked");
    assert_eq!((first, again), (Attached::New, Attached::AlreadyThere));
    let posts = harness
        .requests()
        .into_iter()
        .filter(|request| request.starts_with("POST"))
        .count();
    assert_eq!(posts, 1, "{:?}", harness.requests());
    assert_eq!(harness.fake.lock().tickets[&20].conversations.len(), 2);
    harness.assert_no_problems();
}

#[tokio::test]
async fn the_report_is_found_on_a_later_page_of_conversations() {
    let harness = harness().await;
    let attachment = attachment();
    {
        let mut desk = harness.fake.lock();
        let conversations = &mut desk.tickets.get_mut(&20).expect("ticket 20").conversations;
        for number in 0..(PAGE_SIZE + 10) {
            conversations.push(Conversation {
                body: format!("<div>reply {number}</div>"),
                private: false,
                files: if number == PAGE_SIZE + 5 {
                    vec![File::report(&attachment), File::snapshot(&attachment)]
                } else {
                    Vec::new()
                },
            });
        }
    }
    let attached = harness.attach("20", &attachment).await.expect("checked");
    assert_eq!(attached, Attached::AlreadyThere);
    assert_eq!(
        harness.requests(),
        [
            "GET /api/v2/tickets/20/conversations?page=1",
            "GET /api/v2/tickets/20/conversations?page=2",
        ]
    );
    harness.assert_no_problems();
}

#[tokio::test]
async fn a_rate_limit_is_transient_with_retry_after() {
    let harness = harness().await;
    harness.force(
        Method::GET,
        StatusCode::TOO_MANY_REQUESTS,
        Some("37"),
        json!({"message": "You have exceeded the limit of requests per minute"}),
    );
    let error = harness
        .attach("20", &attachment())
        .await
        .expect_err("rate limited");
    assert_transient(&error, Some(Duration::from_secs(37)));
    assert_eq!(harness.fake.lock().tickets[&20].conversations.len(), 1);
}

#[tokio::test]
async fn an_outage_is_transient() {
    let harness = harness().await;
    harness.force(
        Method::POST,
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        json!({"message": "Service temporarily unavailable"}),
    );
    let error = harness
        .attach("20", &attachment())
        .await
        .expect_err("an outage");
    assert_transient(&error, None);
}

#[tokio::test]
async fn refused_credentials_are_permanent_with_freshdesks_message() {
    let harness = harness_with("a-revoked-key", Some("sitrep@corp.example")).await;
    let error = harness.find_ticket("20").await.expect_err("refused");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(401),
            message: "Freshdesk answered 401 Unauthorized: You have to be logged in to perform this action.".into(),
        }
    );
}

#[tokio::test]
async fn a_forbidden_note_is_permanent_with_freshdesks_message() {
    let harness = harness().await;
    harness.force(
        Method::POST,
        StatusCode::FORBIDDEN,
        None,
        json!({"code": "access_denied", "message": "You are not authorized to perform this action."}),
    );
    let error = harness
        .attach("20", &attachment())
        .await
        .expect_err("forbidden");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(403),
            message:
                "Freshdesk answered 403 Forbidden: You are not authorized to perform this action."
                    .into(),
        }
    );
}

#[tokio::test]
async fn a_rejected_note_is_permanent_with_the_validation_message() {
    let harness = harness().await;
    harness.force(
        Method::POST,
        StatusCode::BAD_REQUEST,
        None,
        json!({"description": "Validation failed", "errors": [{"field": "attachments", "message": "The cumulative size of all attachments cannot exceed 20MB", "code": "invalid_size"}]}),
    );
    let error = harness
        .attach("20", &attachment())
        .await
        .expect_err("rejected");
    assert!(!error.is_transient(), "{error}");
    assert!(
        error
            .to_string()
            .contains("The cumulative size of all attachments cannot exceed 20MB"),
        "{error}"
    );
}

#[tokio::test]
async fn creates_a_ticket() {
    let harness = harness().await;
    let ticket = harness
        .create_ticket(&NewExternalTicket {
            title: "Printer <offline>".into(),
            description: "It says \"offline\".\nSupport code: K7-ABCD".into(),
        })
        .await
        .expect("created");
    assert_eq!(ticket.key, "1000");
    assert_eq!(ticket.title.as_deref(), Some("Printer <offline>"));
    assert_eq!(
        ticket.url,
        Some(format!("{}/a/tickets/1000", harness.server.url))
    );
    assert_eq!(harness.requests(), ["POST /api/v2/tickets"]);
    harness.assert_no_problems();
    assert_eq!(
        harness.fake.lock().created,
        [json!({
            "subject": "Printer <offline>",
            "description": "<div>It says &quot;offline&quot;.<br>Support code: K7-ABCD</div>",
            "email": "sitrep@corp.example",
            "status": 2,
            "priority": 1,
        })]
    );
}

#[tokio::test]
async fn creating_without_a_requester_is_refused_without_a_request() {
    let harness = harness_with(API_KEY, None).await;
    let error = harness
        .create_ticket(&NewExternalTicket {
            title: "Printer".into(),
            description: "Offline".into(),
        })
        .await
        .expect_err("no requester");
    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("requester_email"), "{error}");
    assert_eq!(harness.requests(), Vec::<String>::new());
}

#[test]
fn config_names_what_is_missing_and_never_shows_the_key() {
    let secrets = Secrets::new();
    let config: ConnectorConfig = serde_json::from_value(json!({
        "kind": "freshdesk",
        "url": "https://corp.freshdesk.com",
        "api_key": {"file": secrets.file(API_KEY)},
    }))
    .expect("a freshdesk config");
    let connector = config.build().expect("a Freshdesk connector");
    assert_eq!(connector.product(), "Freshdesk");
    let shown = format!("{connector:?}");
    assert!(!shown.contains(API_KEY), "{shown}");
    assert!(!shown.contains("ZmQta2V5LTAxMjM6WA"), "{shown}");

    let missing = secrets.dir().join("no-such-key");
    let unreadable: ConnectorConfig = serde_json::from_value(json!({
        "kind": "freshdesk",
        "url": "https://corp.freshdesk.com",
        "api_key": {"file": missing},
    }))
    .expect("a freshdesk config");
    let problem = unreadable.build().expect_err("no key file");
    assert!(problem.starts_with("api_key: "), "{problem}");
    assert!(
        problem.contains(&missing.display().to_string()),
        "{problem}"
    );

    let unknown_field = serde_json::from_value::<ConnectorConfig>(json!({
        "kind": "freshdesk",
        "url": "https://corp.freshdesk.com",
        "api_key": {"file": "/etc/sitrep/freshdesk.key"},
        "apikey": "inline",
    }));
    assert!(unknown_field.is_err());

    let no_key = serde_json::from_value::<ConnectorConfig>(json!({
        "kind": "freshdesk",
        "url": "https://corp.freshdesk.com",
    }));
    let problem = no_key.expect_err("api_key is required").to_string();
    assert!(problem.contains("api_key"), "{problem}");
}
