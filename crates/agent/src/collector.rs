//! The collector as the agent sees it: an HTTPS client that trusts exactly what enrollment chose
//! (a pinned certificate, one CA, or the platform's roots), and the three agent routes of
//! docs/api.md: enroll, snapshots and help.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
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
/// Answers are a few hundred bytes; anything much larger is not a collector talking.
const MAX_ANSWER_BYTES: usize = 64 << 10;
const ZSTD_LEVEL: i32 = 3;

#[derive(Debug, thiserror::Error)]
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

impl CollectorError {
    /// A mistake the user can fix in the command line or config, found before any traffic.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CollectorError::InvalidUrl { .. } | CollectorError::CaFile { .. }
        )
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
#[derive(Debug, Deserialize)]
pub struct Stored {
    pub snapshot_id: Uuid,
    /// The collector had this snapshot already (a repeat of the same id).
    pub duplicate: bool,
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

#[derive(Debug)]
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
        self.post(self.route("api/v1/enroll")?, body, false).await
    }

    /// Uploads `snapshot_json` (the exact bytes `send --preview` prints), zstd-compressed.
    pub async fn send_snapshot(
        &self,
        snapshot_json: &[u8],
        ticket: Option<&str>,
        note: Option<&str>,
    ) -> Result<Stored, CollectorError> {
        let mut url = self.route("api/v1/snapshots")?;
        for (name, value) in [("ticket", ticket), ("note", note)] {
            if let Some(value) = value {
                url.query_pairs_mut().append_pair(name, value);
            }
        }
        self.post(url, compress(snapshot_json)?, true).await
    }

    pub async fn help(
        &self,
        text: &str,
        snapshot: &Snapshot,
    ) -> Result<HelpAnswer, CollectorError> {
        let body = serde_json::to_vec(&HelpRequest { text, snapshot }).map_err(encode_error)?;
        self.post(self.route("api/v1/help")?, compress(&body)?, true)
            .await
    }

    fn route(&self, route: &str) -> Result<Url, CollectorError> {
        self.base
            .join(route)
            .map_err(|error| CollectorError::InvalidUrl {
                url: format!("{}{route}", self.base),
                reason: error.to_string(),
            })
    }

    async fn post<T: DeserializeOwned>(
        &self,
        endpoint: Url,
        body: Vec<u8>,
        compressed: bool,
    ) -> Result<T, CollectorError> {
        let url = endpoint.to_string();
        let mut request = self
            .http
            .post(endpoint)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body);
        if compressed {
            request = request.header(CONTENT_ENCODING, "zstd");
        }
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let mut response = request
            .send()
            .await
            .map_err(|error| transport_error(&url, &error))?;
        let status = response.status();
        let mut answer = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport_error(&url, &error))?
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
        Err(match serde_json::from_slice::<ErrorAnswer>(&answer) {
            Ok(ErrorAnswer { error }) => CollectorError::Rejected {
                url,
                status,
                message: format!("{} ({})", error.message, error.code),
                code: Some(error.code),
            },
            Err(_) if status.is_redirection() => CollectorError::Rejected {
                message: format!(
                    "it redirects to {}; enroll with the collector's own URL",
                    response_location(&response)
                ),
                url,
                status,
                code: None,
            },
            Err(_) => CollectorError::Rejected {
                message: String::from_utf8_lossy(&answer[..answer.len().min(200)])
                    .trim()
                    .to_string(),
                url,
                status,
                code: None,
            },
        })
    }
}

fn response_location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("an unnamed place")
        .to_string()
}

fn compress(json: &[u8]) -> Result<Vec<u8>, CollectorError> {
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

fn transport_error(url: &str, error: &reqwest::Error) -> CollectorError {
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
            cause: format!("no answer within {}s", REQUEST_TIMEOUT.as_secs()),
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
