//! The OpenAPI document, the router and docs/api.md describe the same routes.
//!
//! The router cannot list its routes, so agreement is checked three ways: every documented
//! operation is routed (it answers something other than the fallbacks); no source file adds
//! routes except through `OpenApiRouter::routes(routes!(...))`, which documents them; and every
//! `#[utoipa::path]` handler is in the document. Then the document is held to docs/api.md.

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::common::{TestApp, request};

const API_MD: &str = include_str!("../../../../docs/api.md");

async fn document(app: &TestApp) -> Value {
    let answer = app
        .call(request(
            Method::GET,
            "/api/v1/openapi.json",
            None,
            Body::empty(),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.json()
}

/// (method, path template) of every operation in the document.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new().await;
    let document = document(&app).await;
    let operations = operations(&document);
    assert!(operations.len() >= 20, "{operations:?}");
    for (method, path) in operations {
        let uri = path
            .replace(
                "{id}",
                if path.starts_with("/api/v1/tickets") {
                    "1"
                } else {
                    "0190c0de-0000-7000-8000-000000000000"
                },
            )
            .replace("{request_id}", "0190c0de-0000-7000-8000-000000000001")
            .replace("{code}", "BBB-BBB");
        let answer = app
            .call(request(
                Method::from_bytes(method.as_bytes()).expect("method"),
                &uri,
                None,
                Body::empty(),
            ))
            .await;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        if answer.status == StatusCode::NOT_FOUND {
            assert_ne!(answer.code(), "unknown_route", "{method} {uri}");
        }
    }
}

#[test]
fn routes_are_only_added_through_the_openapi_router() {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // The web UI (src/web/) serves HTML pages, not API routes; lib.rs merges it beside the API.
    let web = source.join("web");
    let mut files = Vec::new();
    collect_rust_files(&source, &mut files);
    let mut annotated = 0;
    for file in files.iter().filter(|file| !file.starts_with(&web)) {
        let text = std::fs::read_to_string(file)
            .expect("read source")
            .replace(".merge(web::router()", "");
        for bypass in [
            ".route(",
            ".route_service(",
            ".nest(",
            ".nest_service(",
            ".merge(",
        ] {
            assert!(
                !text.contains(bypass),
                "{} registers a route with `{bypass}`, outside the OpenAPI document",
                file.display()
            );
        }
        annotated += text.matches("#[utoipa::path(").count();
    }
    let document = utoipa_document();
    assert_eq!(
        operations(&document).len(),
        annotated,
        "every #[utoipa::path] handler is registered with routes!"
    );
}

fn utoipa_document() -> Value {
    serde_json::to_value(sitrep_collector::api::openapi()).expect("document as JSON")
}

fn collect_rust_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect_rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// `METHOD /path` of every route named in docs/api.md, without query strings.
fn routes_in_api_md() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for quoted in API_MD.split('`').skip(1).step_by(2) {
        let Some((method, rest)) = quoted.split_once(' ') else {
            continue;
        };
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) || !rest.starts_with('/') {
            continue;
        }
        let path = rest.split(['?', '[', ' ']).next().unwrap_or_default();
        routes.insert((method.to_string(), path.to_string()));
    }
    routes
}

#[test]
fn the_document_lists_exactly_the_routes_of_docs_api_md() {
    let documented = operations(&utoipa_document());
    let in_markdown = routes_in_api_md();
    let missing_in_markdown: Vec<_> = documented.difference(&in_markdown).collect();
    let missing_in_code: Vec<_> = in_markdown.difference(&documented).collect();
    assert!(
        missing_in_markdown.is_empty() && missing_in_code.is_empty(),
        "not in docs/api.md: {missing_in_markdown:?}; not routed: {missing_in_code:?}"
    );
}

#[tokio::test]
async fn the_served_document_is_the_generated_one_with_both_credentials() {
    let app = TestApp::new().await;
    let served = document(&app).await;
    assert_eq!(served, utoipa_document());
    let schemes = served["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert_eq!(
        schemes.keys().collect::<Vec<_>>(),
        ["agent_key", "api_token"]
    );
    assert_eq!(
        served["paths"]["/api/v1/devices"]["get"]["security"][0]["api_token"],
        serde_json::json!([])
    );
    assert_eq!(
        served["paths"]["/api/v1/snapshots"]["post"]["security"][0]["agent_key"],
        serde_json::json!([])
    );
}

#[test]
fn every_schema_reference_resolves() {
    let document = utoipa_document();
    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{reference} is not in the document"
        );
    }
}

fn collect_references(value: &Value, references: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                references.push(reference.clone());
            }
            map.values()
                .for_each(|value| collect_references(value, references));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|value| collect_references(value, references)),
        _ => {}
    }
}
