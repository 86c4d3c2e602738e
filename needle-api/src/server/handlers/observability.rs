//! Observability: Prometheus metrics and this API's OpenAPI document (built from the route
//! table by [`crate::server::openapi`]; the router hands it in as an [`OpenApiJson`] extension,
//! so this file, which the route table names, does not import what imports the route table).

use axum::extract::Extension;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "observability",
    responses((status = 200, description = "Prometheus / OpenMetrics text", content_type = "application/openmetrics-text")))]
pub async fn metrics() -> Response {
    let text = tokio::task::spawn_blocking(crate::metrics::encode).await.unwrap_or_default();
    let mut r = text.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(crate::metrics::CONTENT_TYPE));
    r
}

/// This API's OpenAPI 3 document.
#[utoipa::path(get, path = "/openapi.json", tag = "observability",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<OpenApiJson>) -> Response {
    let mut r = doc.0.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The OpenAPI document as JSON, an extension every request carries.
#[derive(Debug, Clone)]
pub struct OpenApiJson(pub axum::body::Bytes);
