//! Maintenance: compact a collection, checkpoint the database.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::{blocking, collection};
use crate::server::errors::{ApiResult, ErrorBody};
use crate::server::state::AppState;

/// Outcome of a maintenance call.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    /// What was done.
    pub status: String,
    /// Milliseconds it took.
    pub took_ms: u64,
}

/// Compacts a collection: rebuilds it without its deleted vectors, then checkpoints so the file
/// shrinks too. Searches keep running meanwhile on the old data; writes to the collection wait.
#[utoipa::path(post, path = "/collections/{name}/compact", tag = "maintenance",
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = Done), (status = 404, body = ErrorBody)))]
pub async fn compact(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Done>> {
    let c = collection(state.db(), &name)?;
    let db = state.db().clone();
    let t = Instant::now();
    blocking(move || {
        c.compact()?;
        db.save()
    })
    .await?;
    tracing::info!(collection = %name, ms = t.elapsed().as_millis() as u64, "collection compacted");
    Ok(Json(Done { status: "compacted".into(), took_ms: t.elapsed().as_millis() as u64 }))
}

/// Writes a checkpoint of the whole database to its file.
#[utoipa::path(post, path = "/save", tag = "maintenance", responses((status = 200, body = Done)))]
pub async fn save(State(state): State<AppState>) -> ApiResult<Json<Done>> {
    let t = Instant::now();
    let db = state.db().clone();
    blocking(move || db.save()).await?;
    Ok(Json(Done { status: "saved".into(), took_ms: t.elapsed().as_millis() as u64 }))
}
