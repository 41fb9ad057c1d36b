//! The HTTP API (docs/api.md): every route is registered through utoipa-axum's
//! [`OpenApiRouter`] with `routes!`, so a route cannot exist without its OpenAPI entry.

mod admin;
mod agent;
mod devices;
mod diff;
mod external;
mod extract;
mod help_requests;
mod ops;
mod requests;
mod tickets;

pub use agent::{HELP_TEXT_MAX_CHARS, NOTE_MAX_CHARS};
pub(crate) use external::queue_external_attachment;
pub use extract::{ApiJson, ApiPath, ApiQuery};
pub use requests::{NewSnapshotRequest, PendingRequests};
pub(crate) use requests::{held, queue_snapshot_request, settled_request};
pub(crate) use tickets::{check_comment, check_note, checked_ticket};

use std::sync::Arc;

use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sitrep collector",
        description = "Agents enroll and send snapshots; specialists find devices, read reports and keep tickets. \
                       Errors are always `{\"error\": {\"code\", \"message\"}}`.",
    ),
    components(schemas(ErrorBody)),
    modifiers(&Credentials),
    tags(
        (name = "agent", description = "Routes for agents (agent key)"),
        (name = "specialist", description = "Devices, snapshots and help requests (API token)"),
        (name = "tickets", description = "Built-in tickets (API token)"),
        (name = "admin", description = "Managing agents (admin API token)"),
        (name = "operations", description = "Health, metrics and documents (no credentials)"),
    )
)]
struct ApiDoc;

/// The two bearer credentials the security requirements of the routes name.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "agent_key",
            bearer("An agent key (`sa_...`), returned by `POST /api/v1/enroll`."),
        );
        components.add_security_scheme(
            "api_token",
            bearer("An API token (`st_...`), made with `sitrep-collector token create --role specialist|admin`."),
        );
    }
}

/// Every route with its OpenAPI description. Only `routes!` may add routes here: the test
/// suite checks that the document and the routes agree.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi))
        .routes(routes!(ops::snapshot_schema))
        .routes(routes!(agent::enroll))
        .routes(routes!(agent::send_snapshot))
        .routes(routes!(agent::ask_for_help))
        .routes(routes!(requests::poll_requests))
        .routes(routes!(devices::search_devices))
        .routes(routes!(devices::device))
        .routes(routes!(requests::list_requests, requests::create_request))
        .routes(routes!(requests::request))
        .routes(routes!(devices::snapshot))
        .routes(routes!(devices::snapshot_report))
        .routes(routes!(diff::snapshot_diff))
        .routes(routes!(help_requests::list_help_requests))
        .routes(routes!(help_requests::help_request))
        .routes(routes!(help_requests::ticket_from_help_request))
        .routes(routes!(tickets::list_tickets, tickets::create_ticket))
        .routes(routes!(tickets::ticket))
        .routes(routes!(tickets::add_comment))
        .routes(routes!(tickets::close_ticket))
        .routes(routes!(tickets::attach_snapshot))
        .routes(routes!(
            external::external_tickets,
            external::attach_to_external_ticket
        ))
        .routes(routes!(external::external_ticket_from_help_request))
        .routes(routes!(admin::revoke_agent))
}

/// The OpenAPI document of [`routes`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The API as an axum router, with JSON answers for unknown routes and methods.
pub fn router(state: AppState) -> Router {
    let (router, document) = routes().split_for_parts();
    router
        .layer(Extension(Arc::new(document)))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// JSON for the API's clients; outside `/api/` a person followed a link, and gets a page.
async fn unknown_route(method: Method, uri: Uri) -> Response {
    let error = ApiError::UnknownRoute {
        method: method.to_string(),
        path: uri.path().to_string(),
    };
    if uri.path().starts_with("/api/") {
        error.into_response()
    } else {
        crate::web::error_page(error)
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}
