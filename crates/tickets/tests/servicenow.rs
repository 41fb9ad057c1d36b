//! The ServiceNow connector against a fake instance that checks every request as ServiceNow
//! documents its Table and Attachment APIs (basic auth or a bearer token, incidents looked up
//! by number, raw-body uploads with the file's Content-Type, a work note) and answers with
//! ServiceNow's bodies and errors.

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

use common::{Body, File, Forced, Secrets, When, assert_transient, attachment, query_pairs};

const USER: &str = "sitrep.integration";
const PASSWORD: &str = "n0w-Pa55word!";
const SYS_ID: &str = "d71f7935c0a8016700802b64c67c11c6";

struct Incident {
    number: String,
    short_description: String,
    description: String,
    work_notes: Vec<String>,
    files: Vec<File>,
}

#[derive(Default)]
struct Instance {
    authorization: String,
    /// sys_id → incident.
    incidents: BTreeMap<String, Incident>,
    requests: Vec<String>,
    problems: Vec<String>,
    forced: Option<Forced>,
}

type FakeServiceNow = common::Shared<Instance>;

fn servicenow_error(status: StatusCode, message: &str, detail: &str) -> Response {
    let body = json!({"error": {"message": message, "detail": detail}, "status": "failure"});
    (status, axum::Json(body)).into_response()
}

fn incident_json(sys_id: &str, incident: &Incident) -> Value {
    json!({
        "sys_id": sys_id,
        "number": incident.number,
        "short_description": incident.short_description,
        "description": incident.description,
        "state": "1",
    })
}

fn attachment_json(sys_id: &str, file: &File) -> Value {
    json!({
        "sys_id": "6ea10fe64f411200adf9f8e18110c739",
        "table_name": "incident",
        "table_sys_id": sys_id,
        "file_name": file.name,
        "content_type": file.content_type,
        "size_bytes": file.bytes.len().to_string(),
    })
}

/// The fake instance: one handler, so every request is logged and checked the same way.
async fn servicenow(
    State(fake): State<FakeServiceNow>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut instance = fake.lock();
    instance.requests.push(format!("{method} {uri}"));
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    if header_text(header::AUTHORIZATION) != instance.authorization {
        return servicenow_error(
            StatusCode::UNAUTHORIZED,
            "User Not Authenticated",
            "Required to provide Auth information",
        );
    }
    if header_text(header::ACCEPT) != "application/json" {
        instance
            .problems
            .push(format!("{method} {uri} without Accept: application/json"));
    }
    if let Some(answer) = Forced::take(&mut instance.forced, &method, &uri) {
        return answer;
    }
    let content_type = header_text(header::CONTENT_TYPE);
    let query = query_pairs(&uri);
    let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
    match (method.clone(), segments.as_slice()) {
        (Method::GET, ["api", "now", "table", "incident"]) => {
            let limit = query.get("sysparm_limit").map(String::as_str);
            let number = query
                .get("sysparm_query")
                .and_then(|condition| condition.strip_prefix("number="));
            let (Some(number), Some("1")) = (number, limit) else {
                instance
                    .problems
                    .push(format!("incident not looked up by number, limit 1: {uri}"));
                return servicenow_error(StatusCode::BAD_REQUEST, "Invalid query", "");
            };
            let result: Vec<Value> = instance
                .incidents
                .iter()
                .filter(|(_, incident)| incident.number == number)
                .map(|(sys_id, incident)| incident_json(sys_id, incident))
                .collect();
            axum::Json(json!({ "result": result })).into_response()
        }
        (Method::GET, ["api", "now", "attachment"]) => {
            let condition = query.get("sysparm_query").cloned().unwrap_or_default();
            let mut table = None;
            let mut record = None;
            let mut names: Vec<String> = Vec::new();
            for term in condition.split('^') {
                if let Some(value) = term.strip_prefix("table_name=") {
                    table = Some(value.to_string());
                } else if let Some(value) = term.strip_prefix("table_sys_id=") {
                    record = Some(value.to_string());
                } else if let Some(value) = term.strip_prefix("file_nameIN") {
                    names = value.split(',').map(str::to_string).collect();
                } else {
                    instance
                        .problems
                        .push(format!("attachment query term {term:?} not understood"));
                }
            }
            let (Some("incident"), Some(record)) = (table.as_deref(), record) else {
                instance.problems.push(format!(
                    "attachments listed without table and record: {uri}"
                ));
                return servicenow_error(StatusCode::BAD_REQUEST, "Invalid query", "");
            };
            let result: Vec<Value> = instance
                .incidents
                .get(&record)
                .map(|incident| {
                    incident
                        .files
                        .iter()
                        .filter(|file| names.contains(&file.name))
                        .map(|file| attachment_json(&record, file))
                        .collect()
                })
                .unwrap_or_default();
            axum::Json(json!({ "result": result })).into_response()
        }
        (Method::POST, ["api", "now", "attachment", "file"]) => {
            let (Some("incident"), Some(record), Some(name)) = (
                query.get("table_name").map(String::as_str),
                query.get("table_sys_id"),
                query.get("file_name"),
            ) else {
                instance.problems.push(format!(
                    "upload without table_name, table_sys_id, file_name: {uri}"
                ));
                return servicenow_error(
                    StatusCode::BAD_REQUEST,
                    "Missing parameters",
                    "table_name, table_sys_id and file_name are required",
                );
            };
            if content_type.is_empty() || content_type.starts_with("multipart/") {
                instance
                    .problems
                    .push(format!("upload of {name} not a raw body: {content_type:?}"));
            }
            let file = File {
                name: name.clone(),
                content_type,
                bytes: body.to_vec(),
            };
            let record = record.clone();
            let Some(incident) = instance.incidents.get_mut(&record) else {
                return servicenow_error(
                    StatusCode::NOT_FOUND,
                    "Invalid table or record",
                    "Record doesn't exist or ACL restricts the record retrieval",
                );
            };
            let answer = json!({ "result": attachment_json(&record, &file) });
            incident.files.push(file);
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        (Method::PATCH, ["api", "now", "table", "incident", sys_id]) => {
            let sys_id = sys_id.to_string();
            if !content_type.starts_with("application/json") {
                instance
                    .problems
                    .push(format!("update sent as {content_type:?}"));
            }
            let update: Value = serde_json::from_slice(&body).unwrap_or_default();
            let fields: Vec<&String> = update
                .as_object()
                .map(|map| map.keys().collect())
                .unwrap_or_default();
            let Some(note) = update["work_notes"].as_str().filter(|_| fields.len() == 1) else {
                instance
                    .problems
                    .push(format!("update is not a work note alone: {update}"));
                return servicenow_error(StatusCode::BAD_REQUEST, "Invalid update", "");
            };
            let note = note.to_string();
            let Some(incident) = instance.incidents.get_mut(&sys_id) else {
                return servicenow_error(
                    StatusCode::NOT_FOUND,
                    "No Record found",
                    "Record doesn't exist or ACL restricts the record retrieval",
                );
            };
            incident.work_notes.push(note);
            let answer = json!({ "result": incident_json(&sys_id, incident) });
            axum::Json(answer).into_response()
        }
        (Method::POST, ["api", "now", "table", "incident"]) => {
            if !content_type.starts_with("application/json") {
                instance
                    .problems
                    .push(format!("incident sent as {content_type:?}"));
            }
            let created: Value = serde_json::from_slice(&body).unwrap_or_default();
            let (Some(short_description), Some(description)) = (
                created["short_description"].as_str(),
                created["description"].as_str(),
            ) else {
                instance.problems.push(format!(
                    "incident without short_description and description: {created}"
                ));
                return servicenow_error(StatusCode::BAD_REQUEST, "Invalid incident", "");
            };
            let sys_id = format!(
                "a83820b58f723300e7e16c7827bdeed{}",
                instance.incidents.len()
            );
            let incident = Incident {
                number: format!("INC001000{}", instance.incidents.len() + 1),
                short_description: short_description.to_string(),
                description: description.to_string(),
                work_notes: Vec::new(),
                files: Vec::new(),
            };
            let answer = json!({ "result": incident_json(&sys_id, &incident) });
            instance.incidents.insert(sys_id, incident);
            (StatusCode::CREATED, axum::Json(answer)).into_response()
        }
        _ => {
            instance
                .problems
                .push(format!("undocumented request {method} {uri}"));
            servicenow_error(
                StatusCode::BAD_REQUEST,
                "Requested URI does not represent any resource",
                "",
            )
        }
    }
}

type Harness = common::Harness<FakeServiceNow>;

fn basic_authorization() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    )
}

/// The fake with incident INC0010001, expecting `authorization`, and a connector built from
/// `credentials` (secret values become files).
async fn harness_with(authorization: String, credentials: &[(&str, &str)]) -> Harness {
    let fake = FakeServiceNow::default();
    {
        let mut instance = fake.lock();
        instance.authorization = authorization;
        instance.incidents.insert(
            SYS_ID.into(),
            Incident {
                number: "INC0010001".into(),
                short_description: "Outlook hangs on start".into(),
                description: String::new(),
                work_notes: Vec::new(),
                files: Vec::new(),
            },
        );
    }
    let router = Router::new().fallback(servicenow).with_state(fake.clone());
    Harness::start(fake, router, |url, secrets| {
        let mut config = json!({"kind": "servicenow", "url": url});
        for (field, value) in credentials {
            config[*field] = match *field {
                "user" => json!(value),
                _ => json!({"file": secrets.file(value)}),
            };
        }
        config
    })
    .await
}

async fn harness() -> Harness {
    harness_with(
        basic_authorization(),
        &[("user", USER), ("password", PASSWORD)],
    )
    .await
}

fn force(harness: &Harness, status: StatusCode, retry_after: Option<&'static str>, body: Value) {
    harness.fake.lock().forced = Some(Forced::next(status, retry_after, body));
}

const LOOKUP: &str = "GET /api/now/table/incident?sysparm_query=number%3DINC0010001&sysparm_limit=1&sysparm_fields=sys_id%2Cnumber%2Cshort_description";

#[tokio::test]
async fn finds_an_incident_by_its_number() {
    let harness = harness().await;
    let incident = harness.find_ticket("INC0010001").await.expect("INC0010001");
    assert_eq!(incident.key, "INC0010001");
    assert_eq!(incident.title.as_deref(), Some("Outlook hangs on start"));
    assert_eq!(
        incident.url,
        Some(format!(
            "{}/incident.do?sys_id={SYS_ID}",
            harness.server.url
        ))
    );
    let instance = harness.fake.lock();
    assert_eq!(instance.requests, [LOOKUP]);
    assert!(instance.problems.is_empty(), "{:?}", instance.problems);
}

#[tokio::test]
async fn an_unknown_incident_is_permanent() {
    let harness = harness().await;
    let error = harness
        .find_ticket("INC0099999")
        .await
        .expect_err("no such incident");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(404),
            message: "ServiceNow has no incident INC0099999 (or the user may not read it)".into(),
        }
    );
}

#[tokio::test]
async fn a_number_that_could_change_the_query_is_refused_without_a_request() {
    let harness = harness().await;
    let error = harness
        .find_ticket("INC1^ORnumber=INC2")
        .await
        .expect_err("not a number");
    assert!(!error.is_transient());
    assert!(harness.fake.lock().requests.is_empty());
}

#[tokio::test]
async fn attaches_both_files_and_a_work_note() {
    let harness = harness().await;
    let attachment = attachment();
    let attached = harness
        .attach("INC0010001", &attachment)
        .await
        .expect("attach");
    assert_eq!(attached, Attached::New);

    let instance = harness.fake.lock();
    assert!(instance.problems.is_empty(), "{:?}", instance.problems);
    let report = attachment.report_file_name();
    let snapshot = attachment.json_file_name();
    assert_eq!(
        instance.requests,
        [
            LOOKUP.to_string(),
            format!(
                "GET /api/now/attachment?sysparm_query=table_name%3Dincident%5Etable_sys_id%3D{SYS_ID}%5Efile_nameIN{report}%2C{snapshot}&sysparm_fields=file_name"
            ),
            format!(
                "POST /api/now/attachment/file?table_name=incident&table_sys_id={SYS_ID}&file_name={snapshot}"
            ),
            format!("PATCH /api/now/table/incident/{SYS_ID}"),
            format!(
                "POST /api/now/attachment/file?table_name=incident&table_sys_id={SYS_ID}&file_name={report}"
            ),
        ]
    );
    let incident = &instance.incidents[SYS_ID];
    assert_eq!(
        incident.files,
        [File::snapshot(&attachment), File::report(&attachment)]
    );
    assert_eq!(incident.work_notes, [attachment.note_text()]);
}

#[tokio::test]
async fn attaching_again_uploads_nothing() {
    let harness = harness().await;
    let attachment = attachment();
    assert_eq!(
        harness
            .attach("INC0010001", &attachment)
            .await
            .expect("attach"),
        Attached::New
    );
    let before = harness.fake.lock().requests.len();
    assert_eq!(
        harness
            .attach("INC0010001", &attachment)
            .await
            .expect("attach again"),
        Attached::AlreadyThere
    );
    let instance = harness.fake.lock();
    assert_eq!(
        instance.requests.len() - before,
        2,
        "{:?}",
        &instance.requests[before..]
    );
    assert!(instance.requests[before + 1].starts_with("GET /api/now/attachment?"));
    assert_eq!(instance.incidents[SYS_ID].files.len(), 2);
    assert_eq!(instance.incidents[SYS_ID].work_notes.len(), 1);
}

#[tokio::test]
async fn an_attempt_cut_short_keeps_its_json_and_adds_the_rest() {
    let harness = harness().await;
    let attachment = attachment();
    harness
        .fake
        .lock()
        .incidents
        .get_mut(SYS_ID)
        .expect("the incident")
        .files
        .push(File::snapshot(&attachment));
    assert_eq!(
        harness
            .attach("INC0010001", &attachment)
            .await
            .expect("attach"),
        Attached::New
    );
    let instance = harness.fake.lock();
    let names: Vec<&str> = instance.incidents[SYS_ID]
        .files
        .iter()
        .map(|file| file.name.as_str())
        .collect();
    assert_eq!(
        names,
        [attachment.json_file_name(), attachment.report_file_name()]
    );
    assert_eq!(instance.incidents[SYS_ID].work_notes.len(), 1);
}

#[tokio::test]
async fn a_rate_limit_is_transient_with_retry_after() {
    let harness = harness().await;
    force(
        &harness,
        StatusCode::TOO_MANY_REQUESTS,
        Some("12"),
        json!({"error": {"message": "Rate limit exceeded", "detail": "Rate limit of 1000 requests per hour exceeded"}, "status": "failure"}),
    );
    let error = harness
        .attach("INC0010001", &attachment())
        .await
        .expect_err("rate limited");
    assert_transient(&error, Some(Duration::from_secs(12)));
    assert!(error.to_string().contains("Rate limit exceeded"), "{error}");
    assert!(harness.fake.lock().incidents[SYS_ID].files.is_empty());
}

#[tokio::test]
async fn an_outage_is_transient() {
    let harness = harness().await;
    force(
        &harness,
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        json!({"error": {"message": "Unexpected error", "detail": ""}, "status": "failure"}),
    );
    let error = harness.find_ticket("INC0010001").await.expect_err("down");
    assert!(error.is_transient(), "{error:?}");
}

#[tokio::test]
async fn refused_credentials_are_permanent_with_servicenows_message() {
    let harness = harness_with(
        basic_authorization(),
        &[("user", USER), ("password", "an-old-password")],
    )
    .await;
    let error = harness
        .find_ticket("INC0010001")
        .await
        .expect_err("refused");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(401),
            message: "ServiceNow answered 401 Unauthorized: User Not Authenticated".into(),
        }
    );
}

#[tokio::test]
async fn a_forbidden_update_is_permanent_with_servicenows_message() {
    let harness = harness().await;
    harness.fake.lock().forced = Some(Forced {
        when: When::Request(format!("PATCH /api/now/table/incident/{SYS_ID}")),
        status: StatusCode::FORBIDDEN,
        retry_after: None,
        body: Body::Json(
            json!({"error": {"message": "Operation Failed", "detail": "ACL Exception Update Failed due to security constraints"}, "status": "failure"}),
        ),
    });
    let error = harness
        .attach("INC0010001", &attachment())
        .await
        .expect_err("forbidden");
    assert_eq!(
        error,
        TicketError::Permanent {
            status: Some(403),
            message: "ServiceNow answered 403 Forbidden: Operation Failed".into(),
        }
    );
}

#[tokio::test]
async fn a_token_is_sent_as_a_bearer_token() {
    let harness = harness_with(
        "Bearer oauth-access-token-ABC".into(),
        &[("token", "oauth-access-token-ABC")],
    )
    .await;
    let incident = harness.find_ticket("INC0010001").await.expect("INC0010001");
    assert_eq!(incident.key, "INC0010001");
}

#[tokio::test]
async fn creates_an_incident() {
    let harness = harness().await;
    let created = harness
        .create_ticket(&NewExternalTicket {
            title: "Printer offline on floor 3".into(),
            description: "Support code 7Q4-KD2: the printer shows offline.".into(),
        })
        .await
        .expect("create");
    assert_eq!(created.key, "INC0010002");
    assert_eq!(created.title.as_deref(), Some("Printer offline on floor 3"));
    let instance = harness.fake.lock();
    assert_eq!(instance.requests, ["POST /api/now/table/incident"]);
    let (sys_id, incident) = instance
        .incidents
        .iter()
        .find(|(_, incident)| incident.number == "INC0010002")
        .expect("the new incident");
    assert_eq!(
        created.url,
        Some(format!(
            "{}/incident.do?sys_id={sys_id}",
            harness.server.url
        ))
    );
    assert_eq!(
        incident.description,
        "Support code 7Q4-KD2: the printer shows offline."
    );
    assert!(instance.problems.is_empty(), "{:?}", instance.problems);
}

#[test]
fn config_names_what_is_missing_and_never_shows_the_password() {
    let secrets = Secrets::new();
    let config: ConnectorConfig = serde_json::from_value(json!({
        "kind": "servicenow",
        "url": "https://corp.service-now.com",
        "user": USER,
        "password": {"file": secrets.file(PASSWORD)},
    }))
    .expect("a servicenow config");
    let connector = config.build().expect("a connector");
    assert_eq!(connector.product(), "ServiceNow");
    let shown = format!("{connector:?}");
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains(&basic_authorization()[6..]), "{shown}");

    let build = |config: Value| {
        serde_json::from_value::<ConnectorConfig>(config)
            .expect("a servicenow config")
            .build()
            .expect_err("a problem")
    };
    assert_eq!(
        build(json!({
            "kind": "servicenow",
            "url": "https://corp.service-now.com",
            "user": USER,
            "password": {"env": "SITREP_TEST_SERVICENOW_PASSWORD_NOT_SET"},
        })),
        "password: the environment variable SITREP_TEST_SERVICENOW_PASSWORD_NOT_SET is not set"
    );
    assert_eq!(
        build(json!({"kind": "servicenow", "url": "https://corp.service-now.com", "user": USER})),
        "password: missing for `user`"
    );
    assert_eq!(
        build(json!({"kind": "servicenow", "url": "https://corp.service-now.com"})),
        "credentials: give either `user` and `password`, or `token`"
    );
}
