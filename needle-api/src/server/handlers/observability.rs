//! Observability: Prometheus metrics and this API's OpenAPI document.

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
pub async fn openapi_json() -> Response {
    let mut r = crate::server::openapi::document_json().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
