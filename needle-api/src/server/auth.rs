//! The key check on requests, on the *routed* path ([`super::keys`] holds the keys and roles). A
//! request presents its key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
//!
//! The check runs as a route layer: it sees the route template the router matched (e.g.
//! `/collections/{name}/vectors`), never the raw path, so percent-encoded slashes, dot segments or
//! doubled slashes cannot reach a handler without a key — they either match a protected route or
//! none. Only the route table's public rows (`GET /health`) skip the check.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::keys::Role;
use super::routes::{self, Access};
use super::state::AppState;

/// The role a key needs for a route, by method and routed template, from the route table
/// ([`super::routes::ROUTES`]): `HEAD` needs what `GET` needs, and `OPTIONS` (which only lists
/// methods) what reading needs; a public route needs none (the weakest role is returned); a
/// method or template not in the table needs `Admin`.
pub fn required_role(method: &Method, route: &str) -> Role {
    if method == Method::OPTIONS && routes::ROUTES.iter().any(|r| r.path == route) {
        return Role::ReadOnly;
    }
    match routes::find(method, route).map(|r| r.access) {
        Some(Access::Key(role)) => role,
        Some(Access::Public) => Role::ReadOnly,
        None => Role::Admin,
    }
}

fn presented_key(req: &Request) -> Option<&str> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    req.headers().get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The route layer: 401 without a valid key, 403 when its role is not enough.
pub async fn require_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let keys = state.keys();
    if keys.is_empty() {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    // A route layer always runs after routing; without a template, fail closed.
    let need = route.as_deref().map_or(Role::Admin, |r| required_role(req.method(), r));
    let Some(key) = presented_key(&req) else {
        let mut r = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        )
        .into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        return r;
    };
    match keys.role_of(key) {
        None => {
            let mut r =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the API key is not valid").into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            r
        }
        Some(role) if role < need => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this key's role ({}) cannot do this; it needs {}", role.name(), need.name()),
        )
        .into_response(),
        Some(_) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_route_table() {
        assert_eq!(required_role(&Method::GET, "/collections"), Role::ReadOnly);
        assert_eq!(required_role(&Method::HEAD, "/collections"), Role::ReadOnly);
        assert_eq!(required_role(&Method::OPTIONS, "/save"), Role::ReadOnly);
        assert_eq!(required_role(&Method::POST, "/collections/{name}/search"), Role::ReadOnly);
        assert_eq!(required_role(&Method::POST, "/collections/{name}/vectors"), Role::ReadWrite);
        assert_eq!(required_role(&Method::DELETE, "/collections/{name}"), Role::Admin);
        assert_eq!(required_role(&Method::POST, "/save"), Role::Admin);
        assert_eq!(required_role(&Method::POST, "/something/new"), Role::Admin);
    }
}
