//! The page shell every web page shares (head, the navigation with logout, `main`), the pieces
//! pages repeat (the CSRF field, times, names of people), and the headers every answer carries.

use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::assets::Asset;
use crate::store::{Actor, WebSession};

/// Scripts and styles only from this origin; inline `style` attributes stay allowed for the
/// report's usage bars (maud escapes their values). No framing, no foreign form targets.
const CONTENT_SECURITY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     style-src-attr 'unsafe-inline'; img-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// A complete page: `title` names it in the tab, `content` goes into `main`. With a session
/// the page has the navigation and the logout form.
pub(super) fn page(title: &str, session: Option<&WebSession>, content: Markup) -> Markup {
    shell(title, session, None, content)
}

/// [`page`] with something more in `head` (a refresh for browsers without script).
pub(super) fn shell(
    title: &str,
    session: Option<&WebSession>,
    head: Option<Markup>,
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · sitrep" }
                link rel="stylesheet" href=(Asset::ReportCss.url());
                link rel="stylesheet" href=(Asset::WebCss.url());
                script src=(Asset::WebJs.url()) defer {}
                @if let Some(head) = head { (head) }
            }
            body {
                a.skip href="#content" { "Skip to the content" }
                @if let Some(session) = session {
                    header.site {
                        nav aria-label="Main" {
                            a #nav-devices href="/devices" { "Devices" }
                            a #nav-tickets href="/tickets" { "Tickets" }
                        }
                        div.who {
                            span { "Logged in as " (session.name) }
                            form #logout-form method="post" action="/logout" {
                                (csrf_field(session))
                                button #logout type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main #content { (content) }
            }
        }
    }
}

/// The hidden field every POST form of a session carries.
pub(super) fn csrf_field(session: &WebSession) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf_token); }
}

/// A page as an answer.
pub(super) fn answer(page: Markup) -> Response {
    Html(page.into_string()).into_response()
}

/// Where a successful form goes next (303, so the browser asks with GET).
pub(super) fn see(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// A point in time: relative in the text ("5 min ago"), exact in `datetime` and the tooltip.
pub(super) fn when(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) title=(exact(at)) { (relative(at, Utc::now())) }
    }
}

/// UTC to the minute, as tables and option labels show times.
pub(super) fn exact(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds();
    match seconds {
        ..=-60 => exact(at),
        -59..60 => "just now".to_string(),
        60..3600 => format!("{} min ago", seconds / 60),
        3600..86_400 => format!("{} h ago", seconds / 3600),
        86_400..604_800 => match seconds / 86_400 {
            1 => "yesterday".to_string(),
            days => format!("{days} days ago"),
        },
        _ => exact(at),
    }
}

/// Who did something, for people: the API token's name where it is known.
pub(super) fn actor_name(actor: &Actor, token_names: &[(uuid::Uuid, String)]) -> String {
    match actor {
        Actor::Cli => "an operator (command line)".to_string(),
        Actor::Collector => "the collector".to_string(),
        Actor::Agent(id) => format!("the agent {id}"),
        Actor::ApiToken(id) => token_names
            .iter()
            .find(|(token, _)| token == id)
            .map_or_else(|| format!("API token {id}"), |(_, name)| name.clone()),
    }
}

/// Headers of every web answer: what the page may load, no framing, no MIME sniffing, and no
/// caching of pages that show what only a logged-in person may see (assets set their own).
pub(super) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_read_as_people_say_them() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 25, 9, 0, 0)
            .single()
            .expect("time");
        let ago = |seconds| relative(now - chrono::Duration::seconds(seconds), now);
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(-5), "just now");
        assert_eq!(ago(60 * 5), "5 min ago");
        assert_eq!(ago(3600 * 3), "3 h ago");
        assert_eq!(ago(86_400 + 5), "yesterday");
        assert_eq!(ago(86_400 * 3), "3 days ago");
        assert_eq!(ago(86_400 * 30), "2026-10-26 09:00 UTC");
        assert_eq!(ago(-3600), "2026-11-25 10:00 UTC");
    }
}
