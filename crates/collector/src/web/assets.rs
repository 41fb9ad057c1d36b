//! The web UI's only static files, compiled in: the report's stylesheet (shared with the
//! standalone HTML report), the UI's own stylesheet and its small script. Their URLs carry a
//! hash of the contents, so browsers may keep them for a year and still never run old ones.

use std::sync::LazyLock;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::PagePath;
use super::error::PageError;
use crate::error::ApiError;

const WEB_CSS: &str = include_str!("web.css");
const WEB_JS: &str = include_str!("web.js");

/// A hash of every asset: a new build with changed assets gets new URLs.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for asset in Asset::ALL {
        hash.update(asset.body().as_bytes());
    }
    hex::encode(&hash.finalize()[..8])
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asset {
    ReportCss,
    WebCss,
    WebJs,
}

impl Asset {
    const ALL: [Asset; 3] = [Asset::ReportCss, Asset::WebCss, Asset::WebJs];

    fn name(self) -> &'static str {
        match self {
            Asset::ReportCss => "report.css",
            Asset::WebCss => "web.css",
            Asset::WebJs => "web.js",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Asset::ReportCss => sitrep_report::STYLESHEET,
            Asset::WebCss => WEB_CSS,
            Asset::WebJs => WEB_JS,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Asset::ReportCss | Asset::WebCss => "text/css; charset=utf-8",
            Asset::WebJs => "text/javascript; charset=utf-8",
        }
    }

    /// The URL pages link to.
    pub(super) fn url(self) -> String {
        format!("/assets/{}?v={}", self.name(), *VERSION)
    }
}

/// `GET /assets/{name}`: needs no session (the login page uses them too), and holds nothing
/// secret.
pub(super) async fn serve(PagePath(name): PagePath<String>) -> Result<Response, PageError> {
    let asset = Asset::ALL
        .into_iter()
        .find(|asset| asset.name() == name)
        .ok_or(ApiError::NotFound {
            what: "asset",
            id: name,
        })?;
    Ok((
        [
            (CONTENT_TYPE, asset.content_type()),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        asset.body(),
    )
        .into_response())
}
