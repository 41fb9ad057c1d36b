//! HTTP(S) GET probe: status, time to the response headers, and for HTTPS the server
//! certificate and whether it is trusted.
//!
//! A status of 400 or more is a failure (`HttpStatus`): the server is reachable, and the detail
//! says so with its status and timing, but the URL an administrator chose to watch does not work.
//! The body is never read. Proxies from the environment are not used: the probe measures whether
//! this machine reaches the server itself (proxy settings are reported in the network section).

use std::error::Error;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::redirect::Policy;
use reqwest::tls::TlsInfo;
use sitrep_snapshot::{HttpDetail, ProbeDetail, ProbeFailureKind, ProbeOutcome, TlsCertificate};
use tokio::time::Instant;

use super::targets::{Host, parse_http_url};
use super::{Finished, ProbeSettings, io_failure_kind, millis, resolve};

/// Redirects followed before giving up, as a browser would after a few.
const MAX_REDIRECTS: usize = 5;

pub(super) async fn get(url: &str, settings: &ProbeSettings) -> Finished {
    let mut detail = empty_detail(url);
    let parsed = match parse_http_url(url) {
        Ok(parsed) => parsed,
        Err(error) => {
            return Finished::failed(
                ProbeDetail::Http(detail),
                ProbeFailureKind::Other,
                error.to_string(),
            );
        }
    };
    let give_up = Instant::now() + settings.timeout;
    // Resolving here tells a name that does not resolve apart from a server that does not answer.
    let resolved = match parsed.domain() {
        Some(domain) => {
            let port = parsed.port_or_known_default().unwrap_or(80);
            match resolve::addresses(&Host::Name(domain.to_owned()), port, settings.timeout).await {
                Ok(addresses) => Some((domain.to_owned(), addresses)),
                Err(failure) => {
                    return Finished::new(
                        ProbeDetail::Http(detail),
                        ProbeOutcome::Failure,
                        Some(failure),
                    );
                }
            }
        }
        None => None,
    };
    let client = match client(resolved.clone(), give_up, Verify::Certificates).await {
        Ok(client) => client,
        Err(message) => {
            return Finished::failed(ProbeDetail::Http(detail), ProbeFailureKind::Other, message);
        }
    };
    let started = Instant::now();
    let error = match client.get(parsed.clone()).send().await {
        Ok(response) => {
            detail.response_ms = Some(millis(started.elapsed()));
            let status = response.status();
            detail.status = Some(status.as_u16());
            detail.certificate =
                peer_certificate(&response).map(|der| describe_certificate(der, None, Utc::now()));
            return if status.as_u16() >= 400 {
                let message = format!("the server answered {status}");
                Finished::failed(
                    ProbeDetail::Http(detail),
                    ProbeFailureKind::HttpStatus,
                    message,
                )
            } else {
                Finished::succeeded(ProbeDetail::Http(detail))
            };
        }
        Err(error) => error,
    };
    if let Some(untrusted @ rustls::Error::InvalidCertificate(_)) =
        find_cause::<rustls::Error>(&error)
    {
        let problem = untrusted.to_string();
        // A second look without verification still shows whose certificate it is and until when.
        detail.certificate = Some(
            match certificate_unverified(&parsed, resolved.as_ref(), give_up).await {
                Some(der) => describe_certificate(&der, Some(problem.clone()), Utc::now()),
                None => untrusted_without_details(problem.clone()),
            },
        );
        return Finished::failed(ProbeDetail::Http(detail), ProbeFailureKind::Tls, problem);
    }
    let (kind, message) = classify(&error, settings.timeout);
    Finished::failed(ProbeDetail::Http(detail), kind, message)
}

pub(super) fn empty_detail(url: &str) -> HttpDetail {
    HttpDetail {
        url: url.to_owned(),
        status: None,
        response_ms: None,
        certificate: None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    Certificates,
    Nothing,
}

/// Builds the client on the blocking pool: loading the system's trusted roots takes tens of
/// milliseconds of CPU, which would otherwise stall, and skew the timing of, every probe running
/// beside this one.
async fn client(
    resolved: Option<(String, Vec<SocketAddr>)>,
    give_up: Instant,
    verify: Verify,
) -> Result<reqwest::Client, String> {
    // reqwest takes the process's default rustls provider, else aws-lc-rs: it never needs one
    // installed, so this cannot panic for want of a provider.
    let mut builder = reqwest::Client::builder()
        .redirect(Policy::limited(MAX_REDIRECTS))
        .no_proxy()
        .tls_info(true)
        .tls_danger_accept_invalid_certs(verify == Verify::Nothing)
        .timeout(give_up.saturating_duration_since(Instant::now()))
        .user_agent(concat!("sitrep/", env!("CARGO_PKG_VERSION")));
    if let Some((domain, addresses)) = &resolved {
        builder = builder.resolve_to_addrs(domain, addresses);
    }
    match tokio::task::spawn_blocking(move || builder.build()).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err(format!(
            "cannot set up an HTTP client: {}",
            error_chain(&error)
        )),
        Err(error) => Err(format!("setting up an HTTP client failed: {error}")),
    }
}

async fn certificate_unverified(
    url: &reqwest::Url,
    resolved: Option<&(String, Vec<SocketAddr>)>,
    give_up: Instant,
) -> Option<Vec<u8>> {
    let client = client(resolved.cloned(), give_up, Verify::Nothing)
        .await
        .ok()?;
    let response = client.get(url.clone()).send().await.ok()?;
    peer_certificate(&response).map(<[u8]>::to_vec)
}

fn peer_certificate(response: &reqwest::Response) -> Option<&[u8]> {
    response.extensions().get::<TlsInfo>()?.peer_certificate()
}

/// Subject, issuer and expiry of a DER certificate; `problem` says why it is not trusted.
fn describe_certificate(der: &[u8], problem: Option<String>, now: DateTime<Utc>) -> TlsCertificate {
    let Ok((_, certificate)) = x509_parser::parse_x509_certificate(der) else {
        return TlsCertificate {
            valid: problem.is_none(),
            ..untrusted_without_details(problem.unwrap_or_default())
        };
    };
    let not_after = DateTime::from_timestamp(certificate.validity().not_after.timestamp(), 0);
    TlsCertificate {
        valid: problem.is_none(),
        error: problem,
        subject: Some(certificate.subject().to_string()),
        issuer: Some(certificate.issuer().to_string()),
        not_after,
        // Whole days left, rounded down, so an expired certificate is negative at once.
        days_left: not_after.map(|not_after| (not_after - now).num_seconds().div_euclid(86_400)),
    }
}

fn untrusted_without_details(problem: String) -> TlsCertificate {
    TlsCertificate {
        valid: false,
        error: Some(problem),
        subject: None,
        issuer: None,
        not_after: None,
        days_left: None,
    }
}

fn classify(error: &reqwest::Error, timeout: Duration) -> (ProbeFailureKind, String) {
    if let Some(tls) = find_cause::<rustls::Error>(error) {
        (
            ProbeFailureKind::Tls,
            format!("TLS handshake failed: {tls}"),
        )
    } else if error.is_timeout() {
        (
            ProbeFailureKind::Timeout,
            format!("no response within {:.0} ms", millis(timeout)),
        )
    } else if error.is_redirect() {
        (
            ProbeFailureKind::Other,
            format!("more than {MAX_REDIRECTS} redirects"),
        )
    } else if let Some(io) = find_cause::<io::Error>(error) {
        (io_failure_kind(io), error_chain(error))
    } else {
        (ProbeFailureKind::Other, error_chain(error))
    }
}

/// The first error of type `T` in `error`'s chain, also looking inside `io::Error`s (whose
/// `source` skips the error they wrap, which is where TLS errors hide).
fn find_cause<'a, T: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            && let Some(found) = find_cause::<T>(inner)
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

/// `outer: inner: innermost`, without repeating a message a wrapper copies from its source.
fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let text = error.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

    use super::*;

    /// A self-signed certificate for `intranet.test`, valid until 2030-01-01T00:00:00Z.
    fn self_signed() -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["intranet.test".to_owned()]).expect("params");
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "intranet.test");
        params.distinguished_name = name;
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let key = KeyPair::generate().expect("key");
        params
            .self_signed(&key)
            .expect("certificate")
            .der()
            .to_vec()
    }

    #[test]
    fn certificate_details_and_days_left() {
        let not_after = DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
            .expect("time")
            .to_utc();
        let der = self_signed();
        let now = DateTime::parse_from_rfc3339("2029-12-21T12:00:00Z")
            .expect("time")
            .to_utc();
        let certificate = describe_certificate(&der, None, now);
        assert_eq!(
            certificate,
            TlsCertificate {
                valid: true,
                error: None,
                subject: Some("CN=intranet.test".into()),
                issuer: Some("CN=intranet.test".into()),
                not_after: Some(not_after),
                days_left: Some(10),
            }
        );
        let expired = describe_certificate(
            &der,
            Some("expired".into()),
            not_after + chrono::Duration::hours(1),
        );
        assert_eq!((expired.valid, expired.days_left), (false, Some(-1)));
    }

    #[test]
    fn unparsable_certificate_keeps_the_problem() {
        let certificate =
            describe_certificate(b"not der", Some("UnknownIssuer".into()), Utc::now());
        assert_eq!(
            certificate,
            untrusted_without_details("UnknownIssuer".into())
        );
    }

    #[test]
    fn causes_are_found_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, tls);
        let found = find_cause::<rustls::Error>(&wrapped).expect("found");
        assert!(matches!(
            found,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ));
    }
}
