//! The HTTP client every connector shares, and sending a request so that every failure comes
//! back as a [`TicketError`].

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response};

use crate::TicketError;

/// A helpdesk that takes longer than this to answer is treated as unreachable this time.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The client connectors use. Its User-Agent names sitrep (Request Tracker answers a browser's
/// with a login redirect instead of 401). Redirects are not followed: an API that redirects is
/// misconfigured (or a login page), and the answer says so instead of carrying credentials on.
pub(crate) fn client() -> Result<Client, reqwest::Error> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("sitrep-collector/", env!("CARGO_PKG_VERSION")))
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .build()
}

/// Sends `request`; a 2xx answer comes back, anything else as the error it means.
pub(crate) async fn send(product: &str, request: RequestBuilder) -> Result<Response, TicketError> {
    let response = request
        .send()
        .await
        .map_err(|error| TicketError::unreachable(product, &error))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Err(TicketError::from_answer(product, status, &headers, &body))
}

/// Sends `request` and reads a 2xx answer's JSON body.
pub(crate) async fn send_json<T: serde::de::DeserializeOwned>(
    product: &str,
    request: RequestBuilder,
) -> Result<T, TicketError> {
    let response = send(product, request).await?;
    let body = response
        .bytes()
        .await
        .map_err(|error| TicketError::unreachable(product, &error))?;
    serde_json::from_slice(&body).map_err(|error| TicketError::unexpected(product, error))
}
