//! Who is logged in: the `sitrep_session` cookie, found in the store by the SHA-256 of its
//! secret. A request without a live session is sent to the login page, which brings the person
//! back to where they were going.

use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use super::error::PageError;
use crate::AppState;
use crate::store::WebSession;

/// The session cookie: the secret whose hash names a row of `web_sessions`.
pub(super) const SESSION_COOKIE: &str = "sitrep_session";

impl FromRequestParts<AppState> for WebSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts, None));
        };
        let session = match state.store.web_session_for_secret(secret).await {
            Ok(Some(session)) => session,
            // Expired, logged out or revoked: the browser may forget the cookie.
            Ok(None) => return Err(to_login(parts, Some(state.tls))),
            Err(error) => return Err(PageError::from(error).into_response()),
        };
        if session.use_to_record(Utc::now()) {
            // Bookkeeping that no page should wait for.
            let (store, used) = (state.store.clone(), session.clone());
            tokio::spawn(async move {
                if let Err(error) = store.record_web_session_use(&used).await {
                    tracing::warn!(%error, session = %used.id, "cannot record the use of a web session");
                }
            });
        }
        Ok(session)
    }
}

/// To the login page, which comes back here after: a page asked for with GET comes back to
/// itself, a form posted without a session to the devices. `clear_cookie_tls` is set when the
/// request carried a cookie that names no live session.
fn to_login(parts: &Parts, clear_cookie_tls: Option<bool>) -> Response {
    let location = if parts.method == Method::GET || parts.method == Method::HEAD {
        let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        format!("/login?next={}", query_value(path))
    } else {
        "/login".to_string()
    };
    let mut response = Redirect::to(&location).into_response();
    if let Some(tls) = clear_cookie_tls {
        response
            .headers_mut()
            .append(SET_COOKIE, clear_cookie(SESSION_COOKIE, "/", tls));
    }
    response
}

/// The value of cookie `name` among the request's `Cookie` headers.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
        .filter(|value| !value.is_empty())
}

/// A cookie only this site's own pages send back (SameSite=Strict) and no script can read
/// (HttpOnly); Secure when the collector serves HTTPS. The value is hex, so it needs no quoting.
pub(super) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
    tls: bool,
) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    let cookie = format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={}{secure}",
        max_age.as_secs()
    );
    // Names, paths and values are ours and ASCII; an empty cookie only means "log in again".
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Tells the browser to forget a cookie set by [`set_cookie`].
pub(super) fn clear_cookie(name: &str, path: &str, tls: bool) -> HeaderValue {
    set_cookie(name, "", path, Duration::ZERO, tls)
}

/// `text` for a query string: everything but unreserved characters and `/` percent-encoded.
pub(super) fn query_value(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// `next` if it is a path on this site, which is all a login may lead to: `//host` and `/\host`
/// would leave it, and so would anything with a scheme.
pub(super) fn local_path(next: &str) -> Option<&str> {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    local.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; sitrep_session=abc"));
        headers.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "sitrep"), None);
        headers.insert(COOKIE, HeaderValue::from_static("sitrep_session="));
        assert_eq!(cookie(&headers, SESSION_COOKIE), None);
    }

    #[test]
    fn cookies_are_strict_http_only_and_secure_under_tls() {
        let day = Duration::from_secs(86_400);
        assert_eq!(
            set_cookie("s", "ab", "/", day, true),
            "s=ab; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400; Secure"
        );
        assert_eq!(
            clear_cookie("s", "/login", false),
            "s=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0"
        );
    }

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path("/devices?q=ws"), Some("/devices?q=ws"));
        assert_eq!(local_path("/"), Some("/"));
        for foreign in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(foreign), None, "{foreign:?}");
        }
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            query_value("/devices?q=a b&c=ü"),
            "/devices%3Fq%3Da%20b%26c%3D%C3%BC"
        );
    }
}
