//! Extractors whose rejections are [`ApiError`]s, so a bad body, query or path gets the same
//! `{"error": {"code", "message"}}` answer as every other failure.

use axum::body::HttpBody as _;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::ApiError;
use crate::ingest::body::RawBody;

/// A JSON body, read and decoded within the request limits (compressed bodies allowed).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T> FromRequest<AppState> for ApiJson<T>
where
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let raw = RawBody::read(request, state.limits).await?;
        let limits = state.limits;
        let value = blocking(move || {
            let json = raw.decode(limits)?;
            serde_json::from_slice(&json).map_err(|error| ApiError::from_json(&error))
        })
        .await?;
        Ok(ApiJson(value))
    }
}

/// `Option<ApiJson<T>>`: a body is optional. A request with neither a body nor a content type
/// has none; anything else is read as [`ApiJson`] would (so a body without a JSON content type
/// is still refused).
impl<T> OptionalFromRequest<AppState> for ApiJson<T>
where
    T: DeserializeOwned + Send + 'static,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Option<Self>, ApiError> {
        let empty = request.body().size_hint().upper() == Some(0);
        if empty && !request.headers().contains_key(CONTENT_TYPE) {
            return Ok(None);
        }
        <Self as FromRequest<AppState>>::from_request(request, state)
            .await
            .map(Some)
    }
}

#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))
    }
}

#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            // A 5xx path rejection means the route and the handler disagree: our bug.
            Err(rejection) if rejection.status().is_server_error() => {
                Err(ApiError::Internal(rejection.body_text().into()))
            }
            Err(rejection) => Err(ApiError::InvalidPath(rejection.body_text())),
        }
    }
}

/// Runs CPU-bound work (decompression, parsing, compression) off the async workers.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}
