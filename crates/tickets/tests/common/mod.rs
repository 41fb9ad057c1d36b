//! What the connector tests share: a fake helpdesk (an axum router of the test's own, its state
//! shared with the test) served on a free port of 127.0.0.1 with the connector under test
//! configured for it, the connector's secret files, the sample snapshot it attaches, the files a
//! fake records, the error answers a test makes a fake give and the check of a transient error.
//! Each fake checks requests as the vendor documents them and answers as the vendor does.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use sitrep_tickets::{
    Attached, Attachment, ConnectorConfig, ExternalTicket, NewExternalTicket, TicketError,
    TicketFuture, TicketSystem,
};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// A fake helpdesk serving on loopback; stops when dropped.
pub struct Fake {
    /// `http://127.0.0.1:PORT`, the connector's `url`.
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on 127.0.0.1 on a free port.
async fn serve(router: Router) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("the address"));
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve the fake");
    });
    Fake { url, task }
}

/// A fake's state, shared by its handlers and the test that arranges and checks it.
#[derive(Default)]
pub struct Shared<S>(Arc<Mutex<S>>);

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<S> Shared<S> {
    pub fn lock(&self) -> MutexGuard<'_, S> {
        self.0.lock().expect("the fake's lock")
    }
}

/// A fake helpdesk on loopback and a connector built from config for it; the test calls the
/// connector through the harness.
pub struct Harness<F> {
    /// The fake's state: what it holds, what it was sent, what it is to answer.
    pub fake: F,
    #[allow(
        dead_code,
        reason = "the webhook tests never ask for the receiver's URL"
    )]
    pub server: Fake,
    connector: Arc<dyn TicketSystem>,
    _secrets: Secrets,
}

impl<F> Harness<F> {
    /// Serves `router` (which shares `fake`'s state) and builds a connector from the config
    /// that `config` makes for the served URL, writing the secrets it names into files.
    pub async fn start(
        fake: F,
        router: Router,
        config: impl FnOnce(&str, &Secrets) -> Value,
    ) -> Harness<F> {
        let server = serve(router).await;
        let secrets = Secrets::new();
        let config = config(&server.url, &secrets);
        let config: ConnectorConfig = serde_json::from_value(config).expect("a connector config");
        let connector = config.build().expect("a connector");
        Harness {
            fake,
            server,
            connector,
            _secrets: secrets,
        }
    }

    pub fn find_ticket<'a>(&'a self, key: &'a str) -> TicketFuture<'a, ExternalTicket> {
        self.connector.find_ticket(key)
    }

    pub fn attach<'a>(
        &'a self,
        key: &'a str,
        attachment: &'a Attachment,
    ) -> TicketFuture<'a, Attached> {
        self.connector.attach(key, attachment)
    }

    pub fn create_ticket<'a>(
        &'a self,
        ticket: &'a NewExternalTicket,
    ) -> TicketFuture<'a, ExternalTicket> {
        self.connector.create_ticket(ticket)
    }
}

/// Secret files (tokens, passwords, keys) in a temporary directory, removed when dropped.
pub struct Secrets {
    dir: tempfile::TempDir,
    written: Cell<usize>,
}

impl Secrets {
    pub fn new() -> Secrets {
        let dir = tempfile::Builder::new()
            .prefix("sitrep-tickets-test-")
            .tempdir()
            .expect("create a temporary directory");
        Secrets {
            dir,
            written: Cell::new(0),
        }
    }

    /// A new file holding `value` and a line break, as an editor saves it.
    pub fn file(&self, value: &str) -> PathBuf {
        self.written.set(self.written.get() + 1);
        let path = self
            .dir
            .path()
            .join(format!("secret-{}", self.written.get()));
        std::fs::write(&path, format!("{value}\n")).expect("write a secret file");
        path
    }

    /// Where the files are, for naming one that is not there.
    #[allow(dead_code, reason = "only some tests name a missing secret file")]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The sample snapshot the tests attach: pc-0042 with a full disk and the specialist's note.
pub fn attachment() -> Attachment {
    Attachment {
        snapshot_id: Uuid::parse_str("0193a5c4-1f2e-7c3d-9a8b-123456789abc").expect("a uuid"),
        summary: "pc-0042, 2026-11-25 10:00 UTC: disk C: 97% full".into(),
        note: "Collected while the user waited.".into(),
        report_html: "<!doctype html><title>pc-0042</title><h1>Findings</h1>".into(),
        report_markdown: "# Findings\n".into(),
        snapshot_json: br#"{"schema":1,"host":"pc-0042"}"#.to_vec(),
    }
}

/// Asserts `error` is worth trying again, after `retry_after` as the helpdesk said (`None`: it
/// named no time).
#[track_caller]
pub fn assert_transient(error: &TicketError, retry_after: Option<Duration>) {
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(error.retry_after(), retry_after, "{error:?}");
}

/// A file as a fake recorded it, uploaded or on a note.
#[allow(dead_code, reason = "the webhook receiver records no files")]
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[allow(dead_code, reason = "the webhook receiver records no files")]
impl File {
    /// The attachment's report, as a connector is to send it.
    pub fn report(attachment: &Attachment) -> File {
        File {
            name: attachment.report_file_name(),
            content_type: "text/html".into(),
            bytes: attachment.report_html.as_bytes().to_vec(),
        }
    }

    /// The attachment's snapshot JSON, as a connector is to send it.
    pub fn snapshot(attachment: &Attachment) -> File {
        File {
            name: attachment.json_file_name(),
            content_type: "application/json".into(),
            bytes: attachment.snapshot_json.clone(),
        }
    }
}

/// A request URI's query as name → value, percent-decoded.
#[allow(dead_code, reason = "only some fakes read queries by name")]
pub fn query_pairs(uri: &Uri) -> BTreeMap<String, String> {
    let url = reqwest::Url::parse(&format!("http://fake{uri}")).expect("a request URI");
    url.query_pairs().into_owned().collect()
}

/// An answer a test makes a fake give instead of its own: an error, a rate limit, an outage.
pub struct Forced {
    pub when: When,
    pub status: StatusCode,
    /// The `Retry-After` header's value, if any.
    pub retry_after: Option<&'static str>,
    pub body: Body,
}

/// Which request a [`Forced`] answer is for: the first to come that matches.
#[allow(
    dead_code,
    reason = "each fake picks the requests it forces answers on its own way"
)]
pub enum When {
    /// Whatever request comes next.
    Next,
    /// The next request with this method.
    Method(Method),
    /// `METHOD /path`, whatever the query.
    Request(String),
}

#[allow(dead_code, reason = "only some fakes answer in plain text")]
pub enum Body {
    Json(Value),
    Text(String),
}

impl From<Value> for Body {
    fn from(value: Value) -> Body {
        Body::Json(value)
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Body {
        Body::Text(text.to_string())
    }
}

#[allow(dead_code, reason = "each fake uses its own part of this")]
impl Forced {
    /// An answer for the next request, whatever it is.
    pub fn next(
        status: StatusCode,
        retry_after: Option<&'static str>,
        body: impl Into<Body>,
    ) -> Forced {
        Forced {
            when: When::Next,
            status,
            retry_after,
            body: body.into(),
        }
    }

    /// Takes the answer out of `slot` when it is for this request.
    pub fn take(slot: &mut Option<Forced>, method: &Method, uri: &Uri) -> Option<Response> {
        let forced = slot.take_if(|forced| match &forced.when {
            When::Next => true,
            When::Method(on) => on == method,
            When::Request(request) => *request == format!("{method} {}", uri.path()),
        })?;
        Some(forced.into_response())
    }
}

impl IntoResponse for Forced {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Body::Json(body) => (self.status, axum::Json(body)).into_response(),
            Body::Text(body) => (self.status, body).into_response(),
        };
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }
}
