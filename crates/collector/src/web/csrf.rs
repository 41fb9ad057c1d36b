//! Cross-site request forgery: another site must not make a logged-in browser change anything.
//! Every POST form carries its session's CSRF token ([`Posted`] refuses it otherwise, 403), and
//! a POST whose `Origin` names another site is refused before anything else is looked at. The
//! SameSite=Strict cookie is a third wall.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::header::{HOST, ORIGIN};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::PageError;
use crate::AppState;
use crate::error::ApiError;
use crate::store::WebSession;

/// A POSTed form of a logged-in person: same origin, with the session's CSRF token. The form's
/// own fields are strings (a urlencoded body has no other type), parsed by the handler.
#[derive(Debug)]
pub(super) struct Posted<T> {
    pub session: WebSession,
    pub form: T,
}

/// A form with nothing but the CSRF token (logout, close, make a ticket).
#[derive(Debug, Deserialize)]
pub(super) struct NoFields {}

#[derive(Debug, Deserialize)]
struct WithToken<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T> FromRequest<AppState> for Posted<T>
where
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        same_origin(&parts).map_err(IntoResponse::into_response)?;
        let session = WebSession::from_request_parts(&mut parts, state).await?;
        let form = read_form::<WithToken<T>>(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !same_secret(&form.csrf, &session.csrf_token) {
            let reason = if form.csrf.is_empty() {
                "The form came without its security token"
            } else {
                "The form's security token is not this session's"
            };
            return Err(PageError::forged(reason).into_response());
        }
        Ok(Posted {
            session,
            form: form.form,
        })
    }
}

/// A urlencoded form body, refused with an HTML page; like an API body, it must arrive within
/// the body read timeout.
pub(super) async fn read_form<T: DeserializeOwned + Send + 'static>(
    request: Request,
    state: &AppState,
) -> Result<T, PageError> {
    let timeout = state.limits.body_read_timeout;
    tokio::time::timeout(timeout, Form::<T>::from_request(request, state))
        .await
        .map_err(|_| PageError::from(ApiError::RequestTimeout(timeout)))?
        .map(|Form(form)| form)
        .map_err(|rejection| {
            PageError::from(ApiError::Unprocessable {
                code: "invalid_form",
                message: rejection.body_text(),
            })
        })
}

/// Refuses a request whose `Origin` is present and is not this site (`null` included, which
/// sandboxed frames and some redirects send). Browsers send `Origin` on every POST they make,
/// so a forged form from another site stops here.
pub(super) fn same_origin(parts: &Parts) -> Result<(), PageError> {
    let Some(origin) = parts.headers.get(ORIGIN) else {
        return Ok(());
    };
    let host = parts
        .headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()));
    let matches = match (origin.to_str().ok().and_then(origin_authority), host) {
        (Some((scheme, origin)), Some(host)) => without_default_port(scheme, origin)
            .eq_ignore_ascii_case(without_default_port(scheme, host)),
        _ => false,
    };
    if matches {
        Ok(())
    } else {
        Err(PageError::forged("The form was sent from another site"))
    }
}

/// `("https", "collector.corp.example:8443")` from `https://collector.corp.example:8443`.
fn origin_authority(origin: &str) -> Option<(&str, &str)> {
    let (scheme, authority) = origin.split_once("://")?;
    let valid =
        matches!(scheme, "http" | "https") && !authority.is_empty() && !authority.contains('/');
    valid.then_some((scheme, authority))
}

/// Browsers leave the scheme's default port out of `Origin`, clients may put it into `Host`.
fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// Compares two secrets in time that depends only on their length, so timing tells an
/// attacker nothing about how much of a guess was right.
pub(super) fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(origin: Option<&str>, host: &str) -> Parts {
        let mut builder = Request::post("/logout").header(HOST, host);
        if let Some(origin) = origin {
            builder = builder.header(ORIGIN, origin);
        }
        builder.body(()).expect("request").into_parts().0
    }

    #[test]
    fn only_this_sites_origin_may_post() {
        let host = "collector.corp.example:8443";
        assert!(same_origin(&parts(None, host)).is_ok());
        assert!(same_origin(&parts(Some("https://collector.corp.example:8443"), host)).is_ok());
        assert!(same_origin(&parts(Some("https://COLLECTOR.corp.example:8443"), host)).is_ok());
        assert!(
            same_origin(&parts(
                Some("https://collector.corp.example"),
                "collector.corp.example:443"
            ))
            .is_ok()
        );
        for foreign in [
            "https://evil.example",
            "https://collector.corp.example:8444",
            "https://collector.corp.example",
            "null",
            "collector.corp.example:8443",
            "ftp://collector.corp.example:8443",
        ] {
            assert!(
                same_origin(&parts(Some(foreign), host)).is_err(),
                "{foreign}"
            );
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", "abc"));
    }
}
