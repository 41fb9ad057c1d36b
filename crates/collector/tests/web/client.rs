//! A stand-in for a browser: it keeps the cookies the app sets and sends them back, sends
//! `Host` and (on POST) `Origin` as a browser on the collector's own pages would, and fills in
//! the CSRF token of the last page it read.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::{Method, Request, StatusCode};
use sitrep_collector::{AppState, Limits, app};

use crate::common::{Answer, TestApp};

/// The collector as the browser addresses it.
pub const HOST_NAME: &str = "collector.test:8443";
pub const OWN_ORIGIN: &str = "https://collector.test:8443";

pub struct Client {
    pub app: TestApp,
    cookies: BTreeMap<String, String>,
    /// The CSRF token of the last page that had a form.
    csrf: Option<String>,
}

impl Client {
    pub async fn new() -> Client {
        Client::of(TestApp::new().await)
    }

    /// A client of an app that knows it is served over HTTPS.
    pub async fn over_tls() -> Client {
        let mut test_app = TestApp::new().await;
        let state = AppState::new(test_app.store.clone(), Limits::default()).serving_tls(true);
        test_app.router = app(state);
        Client::of(test_app)
    }

    pub fn of(app: TestApp) -> Client {
        Client {
            app,
            cookies: BTreeMap::new(),
            csrf: None,
        }
    }

    /// A fresh app with a specialist logged in.
    pub async fn logged_in() -> Client {
        let mut client = Client::new().await;
        let token = client.app.specialist().await;
        let answer = client.log_in(&token).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
        // As a browser follows the redirect: the first page brings the session's CSRF token.
        let first = client.get("/devices").await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text());
        client
    }

    /// The login page, then its form posted with `token`.
    pub async fn log_in(&mut self, token: &str) -> Answer {
        self.log_in_to(token, None).await
    }

    pub async fn log_in_to(&mut self, token: &str, next: Option<&str>) -> Answer {
        let form = self.get("/login").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text());
        let mut fields = vec![("token", token)];
        if let Some(next) = next {
            fields.push(("next", next));
        }
        self.post("/login", &fields).await
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.get_request(path);
        self.send(request).await
    }

    /// A GET with this client's cookies, to send with `app.call` beside other calls.
    pub fn get_request(&self, path: &str) -> Request<Body> {
        self.request(Method::GET, path)
            .body(Body::empty())
            .expect("request")
    }

    /// POSTs a form from this site's own page, with the last page's CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let token = self.csrf.clone().unwrap_or_default();
        let mut fields = fields.to_vec();
        fields.push(("csrf", &token));
        self.post_exactly(path, &fields, Some(OWN_ORIGIN)).await
    }

    /// POSTs exactly these fields, from `origin` (`None`: no `Origin` header).
    pub async fn post_exactly(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Answer {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = self
            .request(Method::POST, path)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        self.send(request.body(Body::from(body)).expect("request"))
            .await
    }

    /// The value of a cookie the app has set and not cleared.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_string(), value.to_string());
    }

    /// The CSRF token of the last page with a form.
    pub fn csrf(&self) -> &str {
        self.csrf.as_deref().expect("a page with a form was read")
    }

    fn request(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, HOST_NAME);
        if !self.cookies.is_empty() {
            let cookies = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header(COOKIE, cookies);
        }
        request
    }

    async fn send(&mut self, request: Request<Body>) -> Answer {
        let answer = self.app.call(request).await;
        for set in answer.headers.get_all(SET_COOKIE) {
            let set = set.to_str().expect("ASCII cookie");
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        if let Some(token) = csrf_of(&answer.text()) {
            self.csrf = Some(token);
        }
        answer
    }
}

/// The CSRF token in a page's forms.
fn csrf_of(page: &str) -> Option<String> {
    let start = page.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let length = page[start..].find('"')?;
    Some(page[start..start + length].to_string())
}

/// Form encoding: everything but unreserved characters percent-encoded.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

impl Answer {
    /// Where a redirect leads.
    pub fn location(&self) -> &str {
        self.header(LOCATION.as_str())
    }

    /// Asserts a 303 to `path`.
    pub fn assert_see_other(&self, path: &str) {
        assert_eq!(
            (self.status, self.location()),
            (StatusCode::SEE_OTHER, path),
            "{}",
            self.text()
        );
    }
}
