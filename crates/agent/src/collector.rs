//! The collector as the agent sees it: an HTTPS client that trusts exactly what enrollment chose
//! (a pinned certificate, one CA, or the platform's roots), and the agent routes of
//! docs/api.md: enroll, snapshots, help and the long-poll for specialist requests.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{CertificateError, RootCertStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sitrep_snapshot::Snapshot;
use uuid::Uuid;

use crate::identity::{AgentKey, Trust};
use crate::pin::{Fingerprint, PinMismatch, PinnedCertVerifier};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// An idle connection is let go before the collector closes it (its `limits.header_read_timeout`,
/// 30 s by default): reusing one the collector is closing at that moment would fail the request.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Answers are a few hundred bytes; anything much larger is not a collector talking.
const MAX_ANSWER_BYTES: usize = 64 << 10;
const ZSTD_LEVEL: i32 = 3;
/// The longest `Retry-After` honoured: a collector (or a proxy) asking for more is not obeyed
/// beyond this, so a typo there cannot silence an agent for days.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// How long past the long-poll's own wait the agent waits for the answer.
const POLL_GRACE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, thiserror::Error)]
pub enum CollectorError {
    #[error("invalid collector URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot use the CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("cannot set up TLS: {0}")]
    TlsSetup(String),
    #[error("cannot encode the request: {0}")]
    Encode(String),
    #[error("cannot reach the collector at {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error(
        "the collector at {url} presented a certificate that is not the pinned one\n  \
         expected:  SHA256 {expected}\n  presented: SHA256 {presented}\n\
         Either someone is intercepting the connection, or the collector's certificate was \
         replaced; if it was replaced on purpose, enroll again with the new fingerprint \
         (`sitrep-collector fingerprint` prints it)."
    )]
    PinMismatch {
        url: String,
        expected: Fingerprint,
        presented: Fingerprint,
    },
    #[error("the collector at {url} presented a certificate this agent does not trust: {reason}")]
    Untrusted { url: String, reason: String },
    #[error(
        "the collector at {url} does not accept this agent's key (unknown or revoked); enroll \
         again with `sitrep enroll --collector URL --token TOKEN`"
    )]
    UnknownAgentKey { url: String },
    #[error("the collector at {url} refused the request: {status}: {message}")]
    Rejected {
        url: String,
        status: StatusCode,
        /// The `error.code` of the answer, when it had one.
        code: Option<String>,
        message: String,
        /// How long the answer asked the agent to wait before trying again.
        retry_after: Option<Duration>,
    },
    #[error(
        "the collector at {url} gave an answer sitrep does not understand ({status}): {reason}"
    )]
    BadAnswer {
        url: String,
        status: StatusCode,
        reason: String,
    },
}

/// What an upload that failed with this error should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Try again later (outage, overload, a certificate problem a person may fix), after at
    /// least the given time when the collector asked for it.
    Later(Option<Duration>),
    /// The collector does not know this agent's key: enroll again, then retry.
    Reenroll,
    /// The collector refused this very upload and will refuse it again.
    Never,
}

impl CollectorError {
    /// A mistake the user can fix in the command line or config, found before any traffic.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CollectorError::InvalidUrl { .. } | CollectorError::CaFile { .. }
        )
    }

    pub fn retry(&self) -> Retry {
        match self {
            CollectorError::UnknownAgentKey { .. } => Retry::Reenroll,
            CollectorError::Rejected {
                status,
                retry_after,
                ..
            } => {
                if status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || status.is_redirection()
                {
                    Retry::Later(*retry_after)
                } else {
                    Retry::Never
                }
            }
            CollectorError::Encode(_) => Retry::Never,
            CollectorError::InvalidUrl { .. }
            | CollectorError::CaFile { .. }
            | CollectorError::TlsSetup(_)
            | CollectorError::Unreachable { .. }
            | CollectorError::PinMismatch { .. }
            | CollectorError::Untrusted { .. }
            // A 2xx that could not be read may have stored the upload; a retry is idempotent.
            | CollectorError::BadAnswer { .. } => Retry::Later(None),
        }
    }
}

/// Checks a collector base URL: https, or http to a loopback address only (plain HTTP anywhere
/// else would carry the agent key in the clear), no credentials, query or fragment.
pub fn collector_url(text: &str) -> Result<Url, CollectorError> {
    let invalid = |reason: &str| CollectorError::InvalidUrl {
        url: text.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(text.trim()).map_err(|error| invalid(&error.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(invalid(
                "plain http:// is allowed only for a loopback collector (127.0.0.1, ::1, \
                 localhost); use https://",
            ));
        }
        other => return Err(invalid(&format!("scheme {other:?} is not https"))),
    }
    if url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment does not belong in the URL"));
    }
    // Routes are joined below the base path, which therefore must end in a slash.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The base URL as people write it, without the trailing slash.
pub fn display_url(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|host| {
        host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// The body of `POST /api/v1/enroll`.
#[derive(Serialize)]
pub struct EnrollRequest<'a> {
    pub token: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<&'a str>,
    pub agent_version: &'a str,
}

/// Leaves the token out: it is a secret until used.
impl fmt::Debug for EnrollRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollRequest")
            .field("hostname", &self.hostname)
            .field("agent_version", &self.agent_version)
            .finish_non_exhaustive()
    }
}

/// The collector's answer to an enrollment.
#[derive(Debug, Deserialize)]
pub struct Enrolled {
    pub agent_id: Uuid,
    pub agent_key: AgentKey,
}

/// The collector's answer to an upload.
#[derive(Debug, Clone, Deserialize)]
pub struct Stored {
    pub snapshot_id: Uuid,
    /// The collector had this snapshot already (a repeat of the same id).
    pub duplicate: bool,
}

/// Where an upload goes besides the snapshot itself: `POST /api/v1/snapshots`'s query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadParams<'a> {
    /// Attach to this ticket.
    pub ticket: Option<&'a str>,
    pub note: Option<&'a str>,
    /// The specialist request this snapshot answers.
    pub request: Option<Uuid>,
    /// Snapshots the spool dropped since the last acknowledged upload.
    pub spool_dropped: u64,
}

/// A specialist's request for a fresh snapshot, as the long-poll delivers it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SpecialistRequest {
    pub id: Uuid,
    /// Extra probe targets, written like `sitrep report --target`.
    #[serde(default)]
    pub targets: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PendingRequests {
    requests: Vec<SpecialistRequest>,
}

/// The collector's answer to a help request.
#[derive(Debug, Deserialize)]
pub struct HelpAnswer {
    pub support_code: String,
}

#[derive(Debug, Serialize)]
struct HelpRequest<'a> {
    text: &'a str,
    snapshot: &'a Snapshot,
}

#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// Cheap to clone: the connection pool is shared.
#[derive(Debug, Clone)]
pub struct CollectorClient {
    base: Url,
    http: reqwest::Client,
    key: Option<AgentKey>,
}

impl CollectorClient {
    /// A client for the collector at `base` (checked with [`collector_url`]) trusting `trust`.
    pub fn new(base: Url, trust: &Trust) -> Result<Self, CollectorError> {
        if base.scheme() == "http" && *trust != Trust::Platform {
            return Err(CollectorError::InvalidUrl {
                url: display_url(&base).to_string(),
                reason: "a fingerprint or CA file needs an https:// collector".to_string(),
            });
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("sitrep/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            // A redirect would carry the upload somewhere enrollment never agreed to.
            .redirect(reqwest::redirect::Policy::none());
        if is_loopback(&base) {
            builder = builder.no_proxy();
        }
        if let Some(tls) = tls_config(trust)? {
            builder = builder.tls_backend_preconfigured(tls);
        }
        let http = builder
            .build()
            .map_err(|error| CollectorError::TlsSetup(error_chain(&error)))?;
        Ok(CollectorClient {
            base,
            http,
            key: None,
        })
    }

    /// Authenticates every request with the agent key.
    pub fn with_key(mut self, key: AgentKey) -> Self {
        self.key = Some(key);
        self
    }

    pub async fn enroll(&self, request: &EnrollRequest<'_>) -> Result<Enrolled, CollectorError> {
        let body = serde_json::to_vec(request).map_err(encode_error)?;
        self.call(
            Method::POST,
            self.route("api/v1/enroll")?,
            Body::Json(body),
            None,
        )
        .await
    }

    /// Uploads a snapshot already compressed with [`compress`] (from the exact bytes
    /// `send --preview` prints).
    pub async fn send_snapshot(
        &self,
        compressed_json: Vec<u8>,
        params: &UploadParams<'_>,
    ) -> Result<Stored, CollectorError> {
        let mut url = self.route("api/v1/snapshots")?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in [("ticket", params.ticket), ("note", params.note)] {
                if let Some(value) = value {
                    query.append_pair(name, value);
                }
            }
            if let Some(request) = params.request {
                query.append_pair("request", &request.to_string());
            }
            if params.spool_dropped > 0 {
                query.append_pair("spool_dropped", &params.spool_dropped.to_string());
            }
        }
        // An empty query would leave a bare "?" on the URL.
        if url.query() == Some("") {
            url.set_query(None);
        }
        self.call(Method::POST, url, Body::Zstd(compressed_json), None)
            .await
    }

    pub async fn help(
        &self,
        text: &str,
        snapshot: &Snapshot,
    ) -> Result<HelpAnswer, CollectorError> {
        let body = serde_json::to_vec(&HelpRequest { text, snapshot }).map_err(encode_error)?;
        self.call(
            Method::POST,
            self.route("api/v1/help")?,
            Body::Zstd(compress(&body)?),
            None,
        )
        .await
    }

    /// Waits up to `wait` for specialist requests for this agent; an empty list when none
    /// came.
    pub async fn poll_requests(
        &self,
        wait: Duration,
    ) -> Result<Vec<SpecialistRequest>, CollectorError> {
        let mut url = self.route("api/v1/agent/requests")?;
        url.query_pairs_mut()
            .append_pair("wait", &wait.as_secs().to_string());
        let pending: PendingRequests = self
            .call(Method::GET, url, Body::None, Some(wait + POLL_GRACE))
            .await?;
        Ok(pending.requests)
    }

    /// Whether the collector answers at all (`GET /healthz`), within `timeout`.
    pub async fn check_health(&self, timeout: Duration) -> Result<(), CollectorError> {
        let url = self.route("healthz")?;
        let shown = url.to_string();
        let response = self
            .http
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(|error| transport_error(&shown, &error, timeout))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(CollectorError::Rejected {
                url: shown,
                status,
                code: None,
                message: "the health check failed".to_string(),
                retry_after: retry_after(&response),
            })
        }
    }

    fn route(&self, route: &str) -> Result<Url, CollectorError> {
        self.base
            .join(route)
            .map_err(|error| CollectorError::InvalidUrl {
                url: format!("{}{route}", self.base),
                reason: error.to_string(),
            })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: Url,
        body: Body,
        timeout: Option<Duration>,
    ) -> Result<T, CollectorError> {
        let url = endpoint.to_string();
        let mut request = self
            .http
            .request(method, endpoint)
            .header(ACCEPT, "application/json");
        match body {
            Body::None => {}
            Body::Json(json) => {
                request = request.header(CONTENT_TYPE, "application/json").body(json);
            }
            Body::Zstd(compressed) => {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .header(CONTENT_ENCODING, "zstd")
                    .body(compressed);
            }
        }
        let timeout = timeout.unwrap_or(REQUEST_TIMEOUT);
        request = request.timeout(timeout);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let mut response = request
            .send()
            .await
            .map_err(|error| transport_error(&url, &error, timeout))?;
        let status = response.status();
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport_error(&url, &error, timeout))?
        {
            if answer.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(CollectorError::BadAnswer {
                    url,
                    status,
                    reason: format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                });
            }
            answer.extend_from_slice(&chunk);
        }

        if status.is_success() {
            return serde_json::from_slice(&answer).map_err(|error| CollectorError::BadAnswer {
                url,
                status,
                reason: error.to_string(),
            });
        }
        if status == StatusCode::UNAUTHORIZED && self.key.is_some() {
            return Err(CollectorError::UnknownAgentKey { url });
        }
        let retry_after = retry_after(&response);
        let (code, message) = match serde_json::from_slice::<ErrorAnswer>(&answer) {
            Ok(ErrorAnswer { error }) => (
                Some(error.code.clone()),
                format!("{} ({})", error.message, error.code),
            ),
            Err(_) if status.is_redirection() => (
                None,
                format!(
                    "it redirects to {}; enroll with the collector's own URL",
                    response_location(&response)
                ),
            ),
            Err(_) => (
                None,
                String::from_utf8_lossy(&answer[..answer.len().min(200)])
                    .trim()
                    .to_string(),
            ),
        };
        Err(CollectorError::Rejected {
            url,
            status,
            code,
            message,
            retry_after,
        })
    }
}

enum Body {
    None,
    Json(Vec<u8>),
    /// JSON compressed with [`compress`].
    Zstd(Vec<u8>),
}

/// `Retry-After` in seconds (what the collector sends) or as an HTTP date (what proxies may
/// send), capped at [`MAX_RETRY_AFTER`].
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

fn response_location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("an unnamed place")
        .to_string()
}

/// Compresses an upload body as the collector expects it (`Content-Encoding: zstd`).
pub fn compress(json: &[u8]) -> Result<Vec<u8>, CollectorError> {
    zstd::bulk::compress(json, ZSTD_LEVEL)
        .map_err(|error| CollectorError::Encode(error.to_string()))
}

fn encode_error(error: serde_json::Error) -> CollectorError {
    CollectorError::Encode(error.to_string())
}

fn tls_config(trust: &Trust) -> Result<Option<rustls::ClientConfig>, CollectorError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = || {
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| CollectorError::TlsSetup(error.to_string()))
    };
    match trust {
        Trust::Platform => Ok(None),
        Trust::Pinned(pin) => Ok(Some(
            builder()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedCertVerifier::new(
                    *pin,
                    Arc::clone(&provider),
                )))
                .with_no_client_auth(),
        )),
        Trust::CaFile(path) => Ok(Some(
            builder()?
                .with_root_certificates(ca_roots(path)?)
                .with_no_client_auth(),
        )),
    }
}

fn ca_roots(path: &Path) -> Result<RootCertStore, CollectorError> {
    let ca_error = |reason: String| CollectorError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for certificate in
        CertificateDer::pem_file_iter(path).map_err(|error| ca_error(error.to_string()))?
    {
        let certificate = certificate.map_err(|error| ca_error(error.to_string()))?;
        roots
            .add(certificate)
            .map_err(|error| ca_error(error.to_string()))?;
    }
    if roots.is_empty() {
        return Err(ca_error("it holds no PEM certificate".to_string()));
    }
    Ok(roots)
}

fn transport_error(url: &str, error: &reqwest::Error, timeout: Duration) -> CollectorError {
    let url = url.to_string();
    match tls_error(error) {
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(other)))
            if let Some(mismatch) = other.0.downcast_ref::<PinMismatch>() =>
        {
            CollectorError::PinMismatch {
                url,
                expected: mismatch.expected,
                presented: mismatch.presented,
            }
        }
        Some(rustls::Error::InvalidCertificate(reason)) => CollectorError::Untrusted {
            url,
            reason: certificate_problem(reason),
        },
        _ if error.is_timeout() => CollectorError::Unreachable {
            url,
            cause: format!("no answer within {}s", timeout.as_secs()),
        },
        _ => CollectorError::Unreachable {
            url,
            cause: error_chain(error),
        },
    }
}

/// The rustls error behind a failed request. The HTTP stack wraps it in IO errors, and an IO
/// error's `source()` skips the error it wraps, so the walk steps into each with `get_ref()`.
fn tls_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

fn certificate_problem(error: &CertificateError) -> String {
    match error {
        CertificateError::UnknownIssuer => {
            "it is not signed by a trusted CA (a self-signed collector needs --fingerprint, a \
             private CA needs --ca)"
                .to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!("it is not issued for this host name ({error})")
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("it has expired ({error})")
        }
        other => other.to_string(),
    }
}

/// The causes below reqwest's own message (which only repeats the URL), outermost first, each
/// said once.
fn error_chain(error: &reqwest::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        let text = current.to_string();
        if !causes.iter().any(|seen| seen.contains(&text)) {
            causes.push(text);
        }
        cause = current.source();
    }
    if causes.is_empty() {
        causes.push(error.to_string());
    }
    causes.join(": ")
}

#[cfg(test)]
mod tests;
