//! The Jira connector against a fake Jira REST API v2 that checks every request as Atlassian
//! documents it (basic auth with an API token or a bearer PAT, multipart attachments in parts
//! named `file` with `X-Atlassian-Token: no-check`, an internal comment) and answers with
//! Jira's bodies and errors.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sitrep_tickets::{Attached, Attachment, ConnectorConfig, NewExternalTicket, TicketError};

use common::{Body, File, Forced, Secrets, When, assert_transient};

const EMAIL: &str = "sitrep@corp.example";
const TOKEN: &str = "ATATT3xFfGF0-jira-api-token";
const NOT_FOUND: &str = "Issue does not exist or you do not have permission to see it.";

struct Issue {
    summary: String,
    files: Vec<File>,
    /// Each comment's JSON body as it arrived.
    comments: Vec<Value>,
}

#[derive(Default)]
struct Site {
    /// The `Authorization` header every request must carry.
    authorization: String,
    issues: BTreeMap<String, Issue>,
    /// The fields of each created issue, as they arrived.
    created: Vec<Value>,
    requests: Vec<String>,
    problems: Vec<String>,
    forced: Option<Forced>,
}

type FakeJira = common::Shared<Site>;

fn jira_error(status: StatusCode, messages: &[&str], errors: Value) -> Response {
    let body = json!({"errorMessages": messages, "errors": errors});
    (status, axum::Json(body)).into_response()
}

fn issue_not_found() -> Response {
    jira_error(StatusCode::NOT_FOUND, &[NOT_FOUND], json!({}))
}

fn attachment_json(file: &File) -> Value {
    json!({
        "id": "10001",
        "filename": file.name,
        "mimeType": file.content_type,
        "size": file.bytes.len(),
        "content": format!("https://corp.atlassian.net/rest/api/2/attachment/content/10001"),
    })
}

/// The fake Jira: one handler, so every request is logged and checked the same way.
async fn jira(State(fake): State<FakeJira>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    {
        let mut site = fake.lock();
        site.requests.push(format!("{method} {uri}"));
        if header_text("authorization") != site.authorization {
            // Jira Cloud answers bad credentials with a plain-text 401.
            return (
                StatusCode::UNAUTHORIZED,
                "Client must be authenticated to access this resource.",
            )
                .into_response();
        }
        if header_text("accept") != "application/json" {
            site.problems
                .push(format!("{method} {uri} without Accept: application/json"));
        }
        if let Some(answer) = Forced::take(&mut site.forced, &method, &uri) {
            return answer;
        }
    }
    let segments: Vec<String> = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["rest", "api", "2", "issue", key]) => {
            let mut site = fake.lock();
            if uri.query() != Some("fields=summary%2Cattachment") {
                site.problems.push(format!(
                    "issue read without fields=summary,attachment: {uri}"
                ));
            }
            match site.issues.get(*key) {
                Some(issue) => axum::Json(json!({
                    "id": "10042",
                    "key": key,
                    "self": format!("https://corp.atlassian.net/rest/api/2/issue/10042"),
                    "fields": {
                        "summary": issue.summary,
                        "attachment": issue.files.iter().map(attachment_json).collect::<Vec<_>>(),
                    },
                }))
                .into_response(),
                None => issue_not_found(),
            }
        }
        (Method::POST, ["rest", "api", "2", "issue", key, "attachments"]) => {
            let key = key.to_string();
            if header_text("x-atlassian-token") != "no-check" {
                fake.lock()
                    .problems
                    .push("attachments without X-Atlassian-Token".into());
                return (StatusCode::FORBIDDEN, "XSRF check failed").into_response();
            }
            if !header_text("content-type").starts_with("multipart/form-data; boundary=") {
                fake.lock()
                    .problems
                    .push("attachments not multipart/form-data".into());
            }
            let mut form = match Multipart::from_request(request, &()).await {
                Ok(form) => form,
                Err(rejection) => {
                    fake.lock()
                        .problems
                        .push(format!("attachments: {rejection}"));
                    return jira_error(StatusCode::BAD_REQUEST, &["Bad multipart"], json!({}));
                }
            };
            let mut files = Vec::new();
            loop {
                let field = match form.next_field().await {
                    Ok(Some(field)) => field,
                    Ok(None) => break,
                    Err(error) => {
                        fake.lock().problems.push(format!("attachments: {error}"));
                        break;
                    }
                };
                let (Some("file"), Some(name), Some(content_type)) = (
                    field.name(),
                    field.file_name().map(str::to_string),
                    field.content_type().map(str::to_string),
                ) else {
                    fake.lock().problems.push(format!(
                        "a part not named file with a filename and type: {:?}",
                        field.name()
                    ));
                    continue;
                };
                let bytes = field
                    .bytes()
                    .await
                    .map(|bytes| bytes.to_vec())
                    .unwrap_or_default();
                files.push(File {
                    name,
                    content_type,
                    bytes,
                });
            }
            let mut site = fake.lock();
            let Some(issue) = site.issues.get_mut(&key) else {
                return issue_not_found();
            };
            let answer: Vec<Value> = files.iter().map(attachment_json).collect();
            issue.files.extend(files);
            axum::Json(answer).into_response()
        }
        (Method::POST, ["rest", "api", "2", "issue", key, "comment"]) => {
            let key = key.to_string();
            let comment: Value = match read_json(request).await {
                Ok(comment) => comment,
                Err(problem) => {
                    fake.lock().problems.push(format!("comment: {problem}"));
                    return jira_error(StatusCode::BAD_REQUEST, &["Bad comment"], json!({}));
                }
            };
            let mut site = fake.lock();
            if !comment["body"].is_string() {
                site.problems
                    .push(format!("comment without a text body: {comment}"));
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    &[],
                    json!({"comment": "Comment body can not be empty!"}),
                );
            }
            let Some(issue) = site.issues.get_mut(&key) else {
                return issue_not_found();
            };
            issue.comments.push(comment.clone());
            let answer = json!({"id": "10000", "body": comment["body"], "created": "2026-11-25T10:00:00.000+0000"});
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        (Method::POST, ["rest", "api", "2", "issue"]) => {
            let created: Value = match read_json(request).await {
                Ok(created) => created,
                Err(problem) => {
                    fake.lock().problems.push(format!("create: {problem}"));
                    return jira_error(StatusCode::BAD_REQUEST, &["Bad issue"], json!({}));
                }
            };
            let mut site = fake.lock();
            let fields = &created["fields"];
            if fields["project"]["key"] != "OPS" {
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    &[],
                    json!({"project": "valid project is required"}),
                );
            }
            let Some(summary) = fields["summary"].as_str().filter(|text| !text.is_empty()) else {
                return jira_error(
                    StatusCode::BAD_REQUEST,
                    &[],
                    json!({"summary": "You must specify a summary of the issue."}),
                );
            };
            let key = format!("OPS-{}", 43 + site.created.len());
            site.issues.insert(
                key.clone(),
                Issue {
                    summary: summary.to_string(),
                    files: Vec::new(),
                    comments: Vec::new(),
                },
            );
            site.created.push(fields.clone());
            let answer = json!({
                "id": "10043",
                "key": key,
                "self": "https://corp.atlassian.net/rest/api/2/issue/10043",
            });
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        _ => {
            fake.lock()
                .problems
                .push(format!("undocumented request {method} {uri}"));
            jira_error(StatusCode::NOT_FOUND, &["Not found"], json!({}))
        }
    }
}

/// A JSON request body, checking it says it is JSON.
async fn read_json(request: Request) -> Result<Value, String> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !content_type.starts_with("application/json") {
        return Err(format!("sent as {content_type:?}"));
    }
    let body = Bytes::from_request(request, &())
        .await
        .map_err(|rejection| rejection.to_string())?;
    serde_json::from_slice(&body).map_err(|error| error.to_string())
}

type Harness = common::Harness<FakeJira>;

fn cloud_authorization() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{EMAIL}:{TOKEN}"))
    )
}

/// The fake with issue OPS-42, expecting `authorization`, and a connector built from `config`
/// (its `url` and `token` filled in).
async fn harness_with(authorization: String, token: &str, mut config: Value) -> Harness {
    let fake = FakeJira::default();
    {
        let mut site = fake.lock();
        site.authorization = authorization;
        site.issues.insert(
            "OPS-42".into(),
            Issue {
                summary: "VPN drops every few minutes".into(),
                files: Vec::new(),
                comments: Vec::new(),
            },
        );
    }
    let router = Router::new().fallback(jira).with_state(fake.clone());
    Harness::start(fake, router, |url, secrets| {
        config["url"] = json!(url);
        config["token"] = json!({"file": secrets.file(token)});
        config
    })
    .await
}

async fn harness() -> Harness {
    harness_with(
        cloud_authorization(),
        TOKEN,
        json!({"kind": "jira", "email": EMAIL, "project": "OPS"}),
    )
    .await
}

/// The sample snapshot without a specialist's note: the comment is still to be made, of the
/// summary and the file names alone.
fn attachment() -> Attachment {
    Attachment {
        note: String::new(),
        ..common::attachment()
    }
}

fn force(harness: &Harness, status: StatusCode, retry_after: Option<&'static str>, body: &str) {
    harness.fake.lock().forced = Some(Forced::next(status, retry_after, body));
}

#[tokio::test]
async fn finds_an_issue_by_its_key() {
    let harness = harness().await;
    let issue = harness.find_ticket("OPS-42").await.expect("OPS-42");
    assert_eq!(issue.key, "OPS-42");
    assert_eq!(issue.title.as_deref(), Some("VPN drops every few minutes"));
    assert_eq!(
        issue.url,
        Some(format!("{}/browse/OPS-42", harness.server.url))
    );
    let site = harness.fake.lock();
    assert_eq!(
        site.requests,
        ["GET /rest/api/2/issue/OPS-42?fields=summary%2Cattachment"]
    );
    assert!(site.problems.is_empty(), "{:?}", site.problems);
}

#[tokio::test]
async fn an_unknown_issue_is_permanent_with_jiras_message() {
    let harness = harness().await;
    let error = harness
        .find_ticket("OPS-9999")
        .await
        .expect_err("no such issue");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(404),
            message: format!("Jira answered 404 Not Found: {NOT_FOUND}"),
        }
    );
}

#[tokio::test]
async fn attaches_both_files_and_an_internal_comment() {
    let harness = harness().await;
    let attachment = attachment();
    let attached = harness.attach("OPS-42", &attachment).await.expect("attach");
    assert_eq!(attached, Attached::New);

    let site = harness.fake.lock();
    assert!(site.problems.is_empty(), "{:?}", site.problems);
    assert_eq!(
        site.requests,
        [
            "GET /rest/api/2/issue/OPS-42?fields=summary%2Cattachment",
            "POST /rest/api/2/issue/OPS-42/attachments",
            "POST /rest/api/2/issue/OPS-42/comment",
            "POST /rest/api/2/issue/OPS-42/attachments",
        ]
    );
    let issue = &site.issues["OPS-42"];
    assert_eq!(
        issue.files,
        [File::snapshot(&attachment), File::report(&attachment)]
    );
    assert_eq!(
        issue.comments,
        [json!({
            "body": attachment.note_text(),
            "properties": [{"key": "sd.public.comment", "value": {"internal": true}}],
        })]
    );
}

#[tokio::test]
async fn a_configured_visibility_restricts_the_comment() {
    let harness = harness_with(
        cloud_authorization(),
        TOKEN,
        json!({
            "kind": "jira",
            "email": EMAIL,
            "comment_visibility": {"type": "role", "value": "Developers"},
        }),
    )
    .await;
    harness
        .attach("OPS-42", &attachment())
        .await
        .expect("attach");
    let site = harness.fake.lock();
    assert_eq!(
        site.issues["OPS-42"].comments[0]["visibility"],
        json!({"type": "role", "value": "Developers"})
    );
}

#[tokio::test]
async fn attaching_again_uploads_nothing() {
    let harness = harness().await;
    let attachment = attachment();
    assert_eq!(
        harness.attach("OPS-42", &attachment).await.expect("attach"),
        Attached::New
    );
    let before = harness.fake.lock().requests.len();
    assert_eq!(
        harness
            .attach("OPS-42", &attachment)
            .await
            .expect("attach again"),
        Attached::AlreadyThere
    );
    let site = harness.fake.lock();
    assert_eq!(
        site.requests[before..],
        ["GET /rest/api/2/issue/OPS-42?fields=summary%2Cattachment"]
    );
    assert_eq!(site.issues["OPS-42"].files.len(), 2);
    assert_eq!(site.issues["OPS-42"].comments.len(), 1);
}

#[tokio::test]
async fn an_attempt_cut_short_keeps_its_json_and_adds_the_rest() {
    let harness = harness().await;
    let attachment = attachment();
    harness
        .fake
        .lock()
        .issues
        .get_mut("OPS-42")
        .expect("OPS-42")
        .files
        .push(File::snapshot(&attachment));
    assert_eq!(
        harness.attach("OPS-42", &attachment).await.expect("attach"),
        Attached::New
    );
    let site = harness.fake.lock();
    let names: Vec<&str> = site.issues["OPS-42"]
        .files
        .iter()
        .map(|file| file.name.as_str())
        .collect();
    assert_eq!(
        names,
        [attachment.json_file_name(), attachment.report_file_name()]
    );
    assert!(site.problems.is_empty(), "{:?}", site.problems);
}

#[tokio::test]
async fn a_rate_limit_is_transient_with_retry_after() {
    let harness = harness().await;
    force(
        &harness,
        StatusCode::TOO_MANY_REQUESTS,
        Some("30"),
        "Rate limit exceeded.",
    );
    let error = harness
        .attach("OPS-42", &attachment())
        .await
        .expect_err("rate limited");
    assert_transient(&error, Some(Duration::from_secs(30)));
    assert!(
        error.to_string().contains("Rate limit exceeded."),
        "{error}"
    );
    assert!(harness.fake.lock().issues["OPS-42"].files.is_empty());
}

#[tokio::test]
async fn an_outage_is_transient() {
    let harness = harness().await;
    force(
        &harness,
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        "<html><body>Jira is under maintenance</body></html>",
    );
    let error = harness.find_ticket("OPS-42").await.expect_err("down");
    assert!(error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn refused_credentials_are_permanent_with_jiras_message() {
    let harness = harness_with(
        cloud_authorization(),
        "a-revoked-token",
        json!({"kind": "jira", "email": EMAIL}),
    )
    .await;
    let error = harness.find_ticket("OPS-42").await.expect_err("refused");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(401),
            message: "Jira answered 401 Unauthorized: Client must be authenticated to access this resource."
                .into(),
        }
    );
}

#[tokio::test]
async fn a_forbidden_upload_is_permanent_with_jiras_message() {
    let harness = harness().await;
    let attachment = attachment();
    harness.fake.lock().forced = Some(Forced {
        when: When::Request("POST /rest/api/2/issue/OPS-42/attachments".into()),
        status: StatusCode::FORBIDDEN,
        retry_after: None,
        body: Body::Text(
            json!({
                "errorMessages": ["You do not have permission to create attachments for this issue."],
                "errors": {},
            })
            .to_string(),
        ),
    });
    let error = harness
        .attach("OPS-42", &attachment)
        .await
        .expect_err("forbidden");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(403),
            message: "Jira answered 403 Forbidden: You do not have permission to create attachments for this issue."
                .into(),
        }
    );
}

#[tokio::test]
async fn a_personal_access_token_is_sent_as_a_bearer_token() {
    let harness = harness_with(format!("Bearer {TOKEN}"), TOKEN, json!({"kind": "jira"})).await;
    let issue = harness.find_ticket("OPS-42").await.expect("OPS-42");
    assert_eq!(issue.key, "OPS-42");
}

#[tokio::test]
async fn creates_an_issue_in_the_configured_project() {
    let harness = harness().await;
    let created = harness
        .create_ticket(&NewExternalTicket {
            title: "Printer offline\non floor 3".into(),
            description: "Support code 7Q4-KD2: the printer shows offline.".into(),
        })
        .await
        .expect("create");
    assert_eq!(created.key, "OPS-43");
    assert_eq!(created.title.as_deref(), Some("Printer offline on floor 3"));
    assert_eq!(
        created.url,
        Some(format!("{}/browse/OPS-43", harness.server.url))
    );
    let site = harness.fake.lock();
    assert_eq!(site.requests, ["POST /rest/api/2/issue"]);
    assert_eq!(
        site.created,
        [json!({
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Printer offline on floor 3",
            "description": "Support code 7Q4-KD2: the printer shows offline.",
        })]
    );
    assert!(site.problems.is_empty(), "{:?}", site.problems);
}

#[tokio::test]
async fn a_rejected_issue_names_the_field() {
    let harness = harness().await;
    let error = harness
        .create_ticket(&NewExternalTicket {
            title: " ".into(),
            description: "no title".into(),
        })
        .await
        .expect_err("no summary");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(400),
            message:
                "Jira answered 400 Bad Request: summary: You must specify a summary of the issue."
                    .into(),
        }
    );
}

#[tokio::test]
async fn creating_without_a_project_is_refused_without_a_request() {
    let harness = harness_with(
        cloud_authorization(),
        TOKEN,
        json!({"kind": "jira", "email": EMAIL}),
    )
    .await;
    let error = harness
        .create_ticket(&NewExternalTicket {
            title: "Printer offline".into(),
            description: String::new(),
        })
        .await
        .expect_err("no project");
    assert!(error.to_string().contains("project"), "{error}");
    assert!(harness.fake.lock().requests.is_empty());
}

#[test]
fn config_names_what_is_missing_and_never_shows_the_token() {
    let secrets = Secrets::new();
    let config: ConnectorConfig = serde_json::from_value(json!({
        "kind": "jira",
        "url": "https://corp.atlassian.net",
        "email": EMAIL,
        "token": {"file": secrets.file(TOKEN)},
        "project": "OPS",
        "issue_type": "Incident",
    }))
    .expect("a jira config");
    let connector = config.build().expect("a connector");
    assert_eq!(connector.product(), "Jira");
    let shown = format!("{connector:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains(&cloud_authorization()[6..]), "{shown}");

    let unset: ConnectorConfig = serde_json::from_value(json!({
        "kind": "jira",
        "url": "https://corp.atlassian.net",
        "token": {"env": "SITREP_TEST_JIRA_TOKEN_NOT_SET"},
    }))
    .expect("a jira config");
    assert_eq!(
        unset.build().expect_err("no token").as_str(),
        "token: the environment variable SITREP_TEST_JIRA_TOKEN_NOT_SET is not set"
    );

    let bad_project: ConnectorConfig = serde_json::from_value(json!({
        "kind": "jira",
        "url": "https://corp.atlassian.net",
        "token": {"file": secrets.file(TOKEN)},
        "project": "OPS 1",
    }))
    .expect("a jira config");
    assert!(
        bad_project
            .build()
            .expect_err("bad project")
            .starts_with("project:")
    );

    let bad_visibility = serde_json::from_value::<ConnectorConfig>(json!({
        "kind": "jira",
        "url": "https://corp.atlassian.net",
        "token": {"env": "X"},
        "comment_visibility": {"type": "everyone", "value": "x"},
    }));
    assert!(bad_visibility.is_err());
}
