//! The router, built from the route table ([`super::routes::ROUTES`]), and the middleware around
//! every request.
//!
//! The top of the server's files: it imports the layers below it, and nothing imports it but
//! `mod.rs`. Layers, outermost first: [`deadline::enforce`] (request timeout and cancellation), `observe`
//! (metrics by routed template and status, one log line per request), [`origin::check`] (Host
//! and cross-origin checks, CORS), `json_errors` (any error response that is not JSON yet — a
//! 405 from the router, a path it could not decode — becomes `{"error": ...}`); then, on routes
//! only: [`auth::require_key`] on every route whose row is not public, and [`admit::admit`]
//! (body read within its budget, then a concurrency slot).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};

use super::errors::ApiError;
use super::handlers::observability::OpenApiJson;
use super::routes::{Access, ROUTES};
use super::state::AppState;
use super::{admit, auth, deadline, openapi, origin};

/// The whole application over `state`.
pub fn router(state: AppState) -> Router {
    let (mut public, mut protected): (Router<AppState>, Router<AppState>) = (Router::new(), Router::new());
    let mut paths: Vec<(&str, bool)> = Vec::new();
    for r in ROUTES {
        let is_public = r.access == Access::Public;
        match r.access {
            Access::Public => public = public.route(r.path, r.endpoint()),
            Access::Key(_) => protected = protected.route(r.path, r.endpoint()),
        }
        if !paths.iter().any(|(p, _)| *p == r.path) {
            paths.push((r.path, is_public));
        }
    }
    // OPTIONS on every path: its methods (a CORS preflight is answered before routing).
    for (path, is_public) in paths {
        let allow = allowed_methods(path);
        let endpoint = axum::routing::options(move || async move {
            let mut r = StatusCode::NO_CONTENT.into_response();
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_str(&allow).expect("method names"));
            r
        });
        if is_public {
            public = public.route(path, endpoint);
        } else {
            protected = protected.route(path, endpoint);
        }
    }
    // Route layers run innermost-last: the key is checked first, then the body is read and a slot
    // taken (a request without a valid key never costs a body read or a slot).
    let public = public.route_layer(from_fn_with_state(state.clone(), admit::admit));
    let protected = protected
        .route_layer(from_fn_with_state(state.clone(), admit::admit))
        .route_layer(from_fn_with_state(state.clone(), auth::require_key));
    let site = origin::Site { rules: state.cross_site().clone(), bound: state.bound_ip() };
    let timeout = state.limits().request_timeout;
    public
        .merge(protected)
        .fallback(not_found)
        .layer(Extension(OpenApiJson(openapi::document_json().into())))
        .layer(from_fn(json_errors))
        .layer(from_fn_with_state(std::sync::Arc::new(site), origin::check))
        .layer(from_fn(observe))
        .layer(from_fn_with_state(timeout, deadline::enforce))
        .with_state(state)
}

/// `Allow` for a path: its methods in the table, with HEAD beside GET, and OPTIONS.
fn allowed_methods(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for r in ROUTES.iter().filter(|r| r.path == path) {
        out.push(r.method.as_str());
        if r.method == Method::GET {
            out.push("HEAD");
        }
    }
    out.push("OPTIONS");
    out.join(", ")
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    let path: String = uri.path().chars().take(200).collect();
    ApiError::not_found(format!("no route for {method} {path}"))
}

/// Records `needle_http_*` metrics by routed template (`unmatched` otherwise) and logs the
/// request: 5xx at error, 4xx at info, the rest at debug.
async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
    let response = next.run(req).await;
    let status = response.status();
    let elapsed = start.elapsed();
    // Label values stay bounded: the route is a template or "unmatched", the method a known one.
    let method_label = match method.as_str() {
        m @ ("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") => m,
        _ => "OTHER",
    };
    crate::metrics::record_http(method_label, &route, status.as_u16(), elapsed);
    let micros = elapsed.as_micros() as u64;
    if status.is_server_error() {
        tracing::error!(%method, route, status = status.as_u16(), micros, "request");
    } else if status.is_client_error() {
        tracing::info!(%method, route, status = status.as_u16(), micros, "request");
    } else {
        tracing::debug!(%method, route, status = status.as_u16(), micros, "request");
    }
    response
}

/// Turns any error response whose body is not JSON into the JSON error shape.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let mut message: String = String::from_utf8_lossy(&text).chars().take(500).collect();
    let code = match status {
        StatusCode::BAD_REQUEST => "invalid_argument",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_json",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    if message.trim().is_empty() {
        message = status.canonical_reason().unwrap_or("error").to_string();
    }
    let mut r = ApiError::new(status, code, message).into_response();
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            r.headers_mut().insert(k.clone(), v.clone());
        }
    }
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
