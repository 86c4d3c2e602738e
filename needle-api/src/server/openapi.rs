//! The OpenAPI 3 document: one operation per row of the route table, each generated from its
//! handler's `#[utoipa::path]` annotation, plus the security schemes and tags below.

use std::sync::LazyLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::routes::ROUTES;

/// The API description without its paths (they come from the route table).
#[derive(OpenApi)]
#[openapi(
    info(title = "Needle", description = "Needle vector database REST API (`needle serve`)."),
    modifiers(&Security),
    security(("bearer" = []), ("api_key" = [])),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "collections", description = "Create, list, inspect and drop collections"),
        (name = "vectors", description = "Insert, upsert, get and delete vectors"),
        (name = "search", description = "Nearest-neighbour search"),
        (name = "maintenance", description = "Checkpoints and compaction"),
        (name = "observability", description = "Metrics and this document"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for route in ROUTES {
        route.document(&mut doc);
    }
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

static JSON: LazyLock<String> =
    LazyLock::new(|| document().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")));

/// The document as JSON (built once).
pub fn document_json() -> String {
    JSON.clone()
}

/// `(METHOD, path template)` of every operation in the document, sorted.
pub fn operations() -> Vec<(String, String)> {
    let doc = document();
    let mut ops = Vec::new();
    for (path, item) in doc.paths.paths.iter() {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
            ("HEAD", &item.head),
        ] {
            if op.is_some() {
                ops.push((method.to_string(), path.clone()));
            }
        }
    }
    ops.sort();
    ops
}
