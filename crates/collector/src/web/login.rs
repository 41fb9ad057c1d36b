//! Logging in with an API token (role specialist or admin) and out again.
//!
//! The login form has no session yet to take a CSRF token from, so it carries a fresh token
//! that is also set as a cookie only the login page receives; a POST must bring both, equal.
//! Another site can neither read that cookie nor make the browser send it (SameSite=Strict).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::PageQuery;
use super::csrf::{NoFields, Posted, read_form, same_origin, same_secret};
use super::error::PageError;
use super::layout::{answer, page, see};
use super::session::{SESSION_COOKIE, clear_cookie, cookie, local_path, set_cookie};
use crate::AppState;
use crate::store::{SESSION_LIFETIME, random_token};

/// The login form's CSRF cookie, sent back only to `/login`.
const LOGIN_COOKIE: &str = "sitrep_login";

/// How long a login form may stay open before it must be reloaded.
const LOGIN_FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// Where a login leads when nothing (or nothing local) was asked for.
const HOME: &str = "/devices";

#[derive(Debug, Deserialize)]
pub(super) struct LoginQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `GET /login`: the form, or straight on for someone logged in already.
pub(super) async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<LoginQuery>,
) -> Result<Response, PageError> {
    let next = query.next.as_deref().and_then(local_path).unwrap_or(HOME);
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && state.store.web_session_for_secret(secret).await?.is_some()
    {
        return Ok(see(next));
    }
    Ok(form(&state, StatusCode::OK, next, None))
}

/// `POST /login`: a session for a live API token, then on to `next`.
pub(super) async fn log_in(State(state): State<AppState>, request: Request) -> Response {
    match try_log_in(&state, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn try_log_in(state: &AppState, request: Request) -> Result<Response, Response> {
    let (parts, body) = request.into_parts();
    same_origin(&parts).map_err(IntoResponse::into_response)?;
    let expected = cookie(&parts.headers, LOGIN_COOKIE).map(str::to_string);
    let login: LoginForm = read_form(Request::from_parts(parts, body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    let next = local_path(&login.next).unwrap_or(HOME);
    let fresh_form = expected.is_some_and(|expected| same_secret(&login.csrf, &expected));
    if !fresh_form {
        return Err(form(
            state,
            StatusCode::FORBIDDEN,
            next,
            Some("The login form had expired. Enter your token again."),
        ));
    }
    let token = state
        .store
        .api_token_for_secret(login.token.trim())
        .await
        .map_err(|error| PageError::from(error).into_response())?;
    let Some(token) = token else {
        tracing::info!("web login with an unknown or revoked API token");
        return Err(form(
            state,
            StatusCode::UNAUTHORIZED,
            next,
            Some("That token is unknown or revoked. Check it and try again."),
        ));
    };
    let (session, secret) = state
        .store
        .create_web_session(&token)
        .await
        .map_err(|error| PageError::from(error).into_response())?;
    tracing::info!(session = %session.id, api_token = %token.id, "web login");
    let mut response = see(next);
    let headers = response.headers_mut();
    headers.append(
        SET_COOKIE,
        set_cookie(SESSION_COOKIE, &secret, "/", SESSION_LIFETIME, state.tls),
    );
    headers.append(SET_COOKIE, clear_cookie(LOGIN_COOKIE, "/login", state.tls));
    Ok(response)
}

/// `POST /logout`: the session ends here and in the browser.
pub(super) async fn log_out(
    State(state): State<AppState>,
    posted: Posted<NoFields>,
) -> Result<Response, PageError> {
    state.store.delete_web_session(&posted.session).await?;
    tracing::info!(session = %posted.session.id, "web logout");
    let mut response = see("/login");
    response
        .headers_mut()
        .append(SET_COOKIE, clear_cookie(SESSION_COOKIE, "/", state.tls));
    Ok(response)
}

/// The login form with a fresh CSRF token (in a field and in a cookie), and `error` above it.
fn form(state: &AppState, status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let token = random_token();
    let content = html! {
        h1 { "Log in to sitrep" }
        @if let Some(error) = error {
            p #error role="alert" { (error) }
        }
        form #login-form.stacked method="post" action="/login" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="next" value=(next);
            label for="token" { "API token" }
            input #token type="password" name="token" required autocomplete="current-password"
                aria-describedby="token-hint";
            p #token-hint.hint {
                "Your personal token (st_…), made by an admin with "
                code { "sitrep-collector token create" } "."
            }
            div { button #login type="submit" { "Log in" } }
        }
    };
    let mut response = (status, answer(page("Log in", None, content))).into_response();
    response.headers_mut().append(
        SET_COOKIE,
        set_cookie(
            LOGIN_COOKIE,
            &token,
            "/login",
            LOGIN_FORM_LIFETIME,
            state.tls,
        ),
    );
    response
}
