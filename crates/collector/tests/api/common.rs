//! The in-process test harness: a collector app on a fresh database (a SQLite file, or a
//! PostgreSQL schema of its own when the suite runs on PostgreSQL: see `BACKEND` in the crate
//! root), requests sent with `oneshot`, and helpers to enroll agents, make tokens and build
//! snapshots.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sitrep_collector::store::{Actor, Backend, Enrollment, Role, Store};
use sitrep_collector::waiters::Waiters;
use sitrep_collector::{AppState, Limits, app as app_router, delivery};
use sitrep_tickets::{
    Attached, Attachment, Connectors, ExternalTicket, NewExternalTicket, TicketError, TicketFuture,
    TicketSystem,
};
use sqlx::{AnyConnection, Connection};
use tempfile::TempDir;
use tokio::sync::Notify;
use tower::ServiceExt;
use uuid::Uuid;

/// A snapshot printed by the real agent (`sitrep report --json --no-probes`) on the test VM.
const FIXTURE: &str = include_str!("../fixtures/snapshot.json");

/// PostgreSQL for the suite when `SITREP_TEST_POSTGRES` does not name another server.
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database of the test's own, removed when dropped.
pub struct TestDatabase {
    url: String,
    place: Place,
}

enum Place {
    /// Removed with the directory when dropped.
    File { _dir: TempDir },
    /// A PostgreSQL schema: the server to drop it on, and its name.
    Schema { server: String, name: String },
}

impl TestDatabase {
    pub async fn new() -> TestDatabase {
        TestDatabase::on(crate::BACKEND).await
    }

    pub async fn on(backend: Backend) -> TestDatabase {
        sqlx::any::install_default_drivers();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                TestDatabase {
                    url: format!("sqlite://{}", dir.path().join("collector.db").display()),
                    place: Place::File { _dir: dir },
                }
            }
            Backend::Postgres => {
                let server = std::env::var("SITREP_TEST_POSTGRES")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
                let name = format!("sitrep_test_{}", Uuid::new_v4().simple());
                let mut connection = AnyConnection::connect(&server).await.unwrap_or_else(|error| {
                    panic!("PostgreSQL at {server} (set SITREP_TEST_POSTGRES to use another): {error}")
                });
                // The name is ours, made of hex digits.
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                    .execute(&mut connection)
                    .await
                    .expect("create the test's schema");
                connection.close().await.expect("close");
                let separator = if server.contains('?') { '&' } else { '?' };
                TestDatabase {
                    // The application name lets a test find the store's connections.
                    url: format!(
                        "{server}{separator}options=-c%20search_path%3D{name}&application_name={name}"
                    ),
                    place: Place::Schema { server, name },
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Ends every connection the store has to its PostgreSQL schema, as a server restart or
    /// failover does; returns how many there were. Only the PostgreSQL suite uses it.
    #[allow(dead_code)]
    pub async fn drop_connections(&self) -> i64 {
        let Place::Schema { server, name } = &self.place else {
            panic!("only PostgreSQL connections can be dropped");
        };
        let mut connection = AnyConnection::connect(server).await.expect("connect");
        let dropped = sqlx::query_scalar(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(name.as_str())
        .fetch_one(&mut connection)
        .await
        .expect("terminate the store's connections");
        connection.close().await.expect("close");
        dropped
    }

    pub async fn connect(&self) -> AnyConnection {
        AnyConnection::connect(&self.url)
            .await
            .expect("open the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Place::Schema { server, name } = &self.place else {
            return;
        };
        let (server, name) = (server.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot block on a future: use a runtime of
        // its own on a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut connection = AnyConnection::connect(&server).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
                    .execute(&mut connection)
                    .await?;
                connection.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test schema: {dropped:?}");
        }
    }
}

pub struct TestApp {
    pub router: Router,
    pub store: Store,
    /// The app's long-poll waiters, to check that finished polls leave nothing behind.
    pub waiters: Arc<Waiters>,
    /// Wakes the delivery worker (when one runs).
    pub deliveries: Arc<Notify>,
    /// Last: the store's connections close before its database goes. Shared by replicas.
    pub database: Arc<TestDatabase>,
    /// For replicas.
    #[allow(dead_code)]
    limits: Limits,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_limits(Limits::default()).await
    }

    pub async fn with_limits(limits: Limits) -> TestApp {
        TestApp::on(Arc::new(TestDatabase::new().await), limits).await
    }

    /// An app with these helpdesks and its delivery worker running, as `serve` has.
    #[allow(dead_code)]
    pub async fn with_connectors(connectors: Connectors) -> TestApp {
        let mut app = TestApp::new().await;
        let state =
            AppState::new(app.store.clone(), app.limits).with_connectors(Arc::new(connectors));
        delivery::spawn(
            app.store.clone(),
            state.connectors.clone(),
            state.deliveries.clone(),
        );
        app.deliveries = state.deliveries.clone();
        app.waiters = state.waiters.clone();
        app.router = app_router(state);
        app
    }

    /// Another app on this app's database: a second collector replica. Only the PostgreSQL
    /// suite has replicas (SQLite serves one collector).
    #[allow(dead_code)]
    pub async fn replica(&self) -> TestApp {
        TestApp::on(self.database.clone(), self.limits).await
    }

    async fn on(database: Arc<TestDatabase>, limits: Limits) -> TestApp {
        let store = Store::connect(database.url())
            .await
            .expect("open the store");
        let state = AppState::new(store.clone(), limits);
        let waiters = state.waiters.clone();
        let deliveries = state.deliveries.clone();
        let router = app_router(state);
        TestApp {
            router,
            store,
            waiters,
            deliveries,
            database,
            limits,
        }
    }

    pub async fn call(&self, request: Request<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("read the response body")
            .to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Enrolls a new agent through the API with a fresh enrollment token.
    pub async fn enroll(&self) -> Enrollment {
        let (_, token) = self
            .store
            .create_enrollment_token(None, None, &Actor::Cli)
            .await
            .expect("enrollment token");
        let answer = self
            .call(json_request(
                Method::POST,
                "/api/v1/enroll",
                None,
                json!({"token": token, "hostname": "ws-17", "agent_version": "0.1.0"}),
            ))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
        serde_json::from_slice(&answer.body).expect("enrollment answer")
    }

    /// A specialist's API token.
    pub async fn specialist(&self) -> String {
        self.store
            .create_api_token(Role::Specialist, "Sam Specialist", &Actor::Cli)
            .await
            .expect("API token")
            .1
    }

    /// An admin's API token.
    pub async fn admin(&self) -> String {
        self.store
            .create_api_token(Role::Admin, "Ada Admin", &Actor::Cli)
            .await
            .expect("API token")
            .1
    }

    /// Sends `snapshot` as `agent` (plain JSON).
    pub async fn send(&self, agent: &Enrollment, snapshot: &Value) -> Answer {
        self.call(json_request(
            Method::POST,
            "/api/v1/snapshots",
            Some(&agent.agent_key),
            snapshot.clone(),
        ))
        .await
    }

    pub async fn get(&self, uri: &str, bearer: &str) -> Answer {
        self.call(request(Method::GET, uri, Some(bearer), Body::empty()))
            .await
    }

    /// One number from the database itself, e.g. a row count.
    pub async fn count(&self, sql: &'static str) -> i64 {
        let mut connection = self.database.connect().await;
        let value: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut connection)
            .await
            .expect("count");
        connection.close().await.expect("close");
        value
    }

    /// Runs a statement on the database behind the app's back (to damage it on purpose).
    pub async fn execute(&self, sql: &'static str) {
        let mut connection = self.database.connect().await;
        sqlx::query(sql)
            .execute(&mut connection)
            .await
            .expect("execute");
        connection.close().await.expect("close");
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `error.code` of an error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code: {}", self.text()))
            .to_string()
    }

    /// Status and error code, for one-line assertions.
    pub fn error(&self) -> (StatusCode, String) {
        (self.status, self.code())
    }

    /// The error body, pretty-printed, for expect-test.
    pub fn pretty(&self) -> String {
        serde_json::to_string_pretty(&self.json()).expect("print JSON")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |value| value.to_str().expect("ASCII header"))
    }
}

pub fn request(method: Method, uri: &str, bearer: Option<&str>, body: Body) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(bearer) = bearer {
        builder = builder.header(AUTHORIZATION, format!("Bearer {bearer}"));
    }
    builder.body(body).expect("request")
}

pub fn json_request(method: Method, uri: &str, bearer: Option<&str>, body: Value) -> Request<Body> {
    raw_request(
        method,
        uri,
        bearer,
        Some("application/json"),
        None,
        body.to_string().into_bytes(),
    )
}

pub fn raw_request(
    method: Method,
    uri: &str,
    bearer: Option<&str>,
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut request = request(method, uri, bearer, Body::from(body));
    if let Some(content_type) = content_type {
        request
            .headers_mut()
            .insert(CONTENT_TYPE, content_type.parse().expect("header"));
    }
    if let Some(encoding) = content_encoding {
        request
            .headers_mut()
            .insert(CONTENT_ENCODING, encoding.parse().expect("header"));
    }
    request
}

/// The fixture snapshot with a fresh id, sent by `agent_id`.
pub fn snapshot(agent_id: Option<Uuid>) -> Value {
    let mut snapshot: Value = serde_json::from_str(FIXTURE).expect("fixture");
    snapshot["id"] = json!(Uuid::now_v7());
    snapshot["agent"]["agent_id"] = json!(agent_id);
    snapshot
}

/// The fixture snapshot of `agent` with a host name, users, a time and some findings.
pub fn snapshot_of(agent: &Enrollment, hostname: &str, users: &[&str], taken_at: &str) -> Value {
    let mut snapshot = snapshot(Some(agent.agent_id));
    snapshot["os"]["ok"]["hostname"] = json!(hostname);
    snapshot["os"]["ok"]["users"] = json!(users);
    snapshot["taken_at"] = json!(taken_at);
    snapshot
}

/// Adds a finding of `severity` to a snapshot.
pub fn with_finding(mut snapshot: Value, severity: &str) -> Value {
    let finding = json!({"id": "net.dns.unreachable", "severity": severity, "title": "DNS server 10.0.0.53 does not answer", "evidence": "3 queries timed out"});
    snapshot["findings"]
        .as_array_mut()
        .expect("findings")
        .insert(0, finding);
    snapshot
}

/// `POST /api/v1/help` as the agent with `key`.
pub fn help(key: &str, text: &str, snapshot: &Value) -> Request<Body> {
    json_request(
        Method::POST,
        "/api/v1/help",
        Some(key),
        json!({"text": text, "snapshot": snapshot}),
    )
}

/// An app with one agent that has sent a snapshot (so its device exists), and a specialist.
pub async fn with_device() -> (TestApp, Enrollment, String) {
    let app = TestApp::new().await;
    let agent = app.enroll().await;
    let sent = app.send(&agent, &snapshot(Some(agent.agent_id))).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text());
    let token = app.specialist().await;
    (app, agent, token)
}

/// `POST /api/v1/snapshots` with a query string.
pub async fn send_with(app: &TestApp, agent: &Enrollment, query: &str, body: &Value) -> Answer {
    app.call(json_request(
        Method::POST,
        &format!("/api/v1/snapshots?{query}"),
        Some(&agent.agent_key),
        body.clone(),
    ))
    .await
}

/// A helpdesk stand-in, `desk` in [`connectors`]: it keeps what it is given, in memory, in memory, and answers failures from a script.
#[derive(Debug, Default)]
pub struct Helpdesk {
    /// (ticket key, attachment) in arrival order.
    received: Mutex<Vec<(String, Attachment)>>,
    /// The answers of the next `attach` calls; empty means success.
    script: Mutex<VecDeque<TicketError>>,
    calls: Mutex<usize>,
    /// Tickets created, in order; the n-th is `NEW-n`.
    created: Mutex<Vec<NewExternalTicket>>,
}

impl Helpdesk {
    pub fn fail_next(&self, error: TicketError) {
        self.script
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(error);
    }

    pub fn received(&self) -> Vec<(String, Attachment)> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn created(&self) -> Vec<NewExternalTicket> {
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn calls(&self) -> usize {
        *self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl TicketSystem for Helpdesk {
    fn product(&self) -> &'static str {
        "Stand-in"
    }

    fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            Ok(ExternalTicket {
                key: key.to_string(),
                title: None,
                url: None,
            })
        })
    }

    fn attach<'a>(
        &'a self,
        key: &'a str,
        attachment: &'a Attachment,
    ) -> TicketFuture<'a, Attached> {
        Box::pin(async move {
            *self.calls.lock().unwrap_or_else(PoisonError::into_inner) += 1;
            if let Some(error) = self
                .script
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front()
            {
                return Err(error);
            }
            let mut received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
            if received.iter().any(|(ticket, earlier)| {
                ticket == key && earlier.report_file_name() == attachment.report_file_name()
            }) {
                return Ok(Attached::AlreadyThere);
            }
            received.push((key.to_string(), attachment.clone()));
            Ok(Attached::New)
        })
    }

    fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket> {
        Box::pin(async move {
            if let Some(error) = self
                .script
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front()
            {
                return Err(error);
            }
            let mut created = self.created.lock().unwrap_or_else(PoisonError::into_inner);
            created.push(ticket.clone());
            let key = format!("NEW-{}", created.len());
            Ok(ExternalTicket {
                url: Some(format!("https://desk.example/{key}")),
                key,
                title: Some(ticket.title.clone()),
            })
        })
    }
}

pub fn connectors(helpdesk: &Arc<Helpdesk>) -> Connectors {
    Connectors::from_connectors([(
        "desk".to_string(),
        helpdesk.clone() as Arc<dyn TicketSystem>,
    )])
}
