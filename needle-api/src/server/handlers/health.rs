//! Liveness (`/health`, public) and readiness (`/health/ready`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::blocking;
use crate::server::errors::{ApiError, ApiResult, ErrorBody};
use crate::server::state::AppState;

/// Liveness and readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`, `ready`, or `shutting_down`.
    pub status: String,
    /// Collections (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collections: Option<usize>,
    /// The server's version.
    pub version: String,
}

/// Liveness: the process answers. Needs no key.
#[utoipa::path(get, path = "/health", tag = "health", security(()), responses((status = 200, body = HealthResponse)))]
pub async fn health() -> Json<HealthResponse> {
    Json(HealthResponse { status: "ok".into(), collections: None, version: env!("CARGO_PKG_VERSION").into() })
}

/// Readiness: the database is open and usable, and the server is not draining.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses(
    (status = 200, body = HealthResponse), (status = 503, body = ErrorBody)))]
pub async fn ready(State(state): State<AppState>) -> ApiResult<Json<HealthResponse>> {
    if state.is_shutting_down() {
        return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the server is shutting down"));
    }
    let db = state.db().clone();
    let n = blocking(move || db.list_collections().map(|c| c.len())).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("the database is not usable: {}", e.message),
        )
    })?;
    Ok(Json(HealthResponse { status: "ready".into(), collections: Some(n), version: env!("CARGO_PKG_VERSION").into() }))
}
