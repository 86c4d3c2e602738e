//! Vectors: insert, batch insert, upsert, get, delete (writes take `?wait=true`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::collections::Deleted;
use super::wait::{made_durable, WaitParam};
use super::{blocking, collection};
use crate::server::body::ApiJson;
use crate::server::errors::{ApiResult, ErrorBody};
use crate::server::state::AppState;
use crate::Error;

/// One vector to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VectorInput {
    /// Id: 1–1024 bytes, no control characters.
    pub id: String,
    /// Exactly the collection's dimensions; finite numbers.
    pub vector: Vec<f32>,
    /// Any JSON.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Several vectors to insert at once (all or nothing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInsertRequest {
    /// At most the server's `max_batch` items, ids unique.
    pub vectors: Vec<VectorInput>,
}

/// Outcome of a write.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteResponse {
    /// Vectors written.
    pub written: usize,
    /// For upsert: whether an existing vector was replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<bool>,
    /// True when the write was made durable before answering (`?wait=true`).
    pub durable: bool,
}

/// Inserts one vector (an existing id is a 409; see upsert).
#[utoipa::path(post, path = "/collections/{name}/vectors", tag = "vectors", request_body = VectorInput,
    params(("name" = String, Path, description = "Collection name"), WaitParam),
    responses((status = 201, body = WriteResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn insert_vector(
    State(state): State<AppState>,
    Path(name): Path<String>,
    wait: WaitParam,
    ApiJson(v): ApiJson<VectorInput>,
) -> ApiResult<(StatusCode, Json<WriteResponse>)> {
    let c = collection(state.db(), &name)?;
    blocking(move || c.insert(&v.id, &v.vector, v.metadata)).await?;
    let durable = made_durable(&state, wait).await?;
    Ok((StatusCode::CREATED, Json(WriteResponse { written: 1, replaced: None, durable })))
}

/// Inserts many vectors in one call: validated first, then all inserted or none.
#[utoipa::path(post, path = "/collections/{name}/vectors/batch", tag = "vectors", request_body = BatchInsertRequest,
    params(("name" = String, Path, description = "Collection name"), WaitParam),
    responses((status = 201, body = WriteResponse), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn insert_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    wait: WaitParam,
    ApiJson(req): ApiJson<BatchInsertRequest>,
) -> ApiResult<(StatusCode, Json<WriteResponse>)> {
    state.limits().check_batch(req.vectors.len(), "vectors")?;
    let c = collection(state.db(), &name)?;
    let n = req.vectors.len();
    let items: Vec<_> = req.vectors.into_iter().map(|v| (v.id, v.vector, v.metadata)).collect();
    blocking(move || c.insert_batch(&items)).await?;
    let durable = made_durable(&state, wait).await?;
    Ok((StatusCode::CREATED, Json(WriteResponse { written: n, replaced: None, durable })))
}

/// Inserts a vector or replaces the one with the same id.
#[utoipa::path(post, path = "/collections/{name}/vectors/upsert", tag = "vectors", request_body = VectorInput,
    params(("name" = String, Path, description = "Collection name"), WaitParam),
    responses((status = 200, body = WriteResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upsert_vector(
    State(state): State<AppState>,
    Path(name): Path<String>,
    wait: WaitParam,
    ApiJson(v): ApiJson<VectorInput>,
) -> ApiResult<Json<WriteResponse>> {
    let c = collection(state.db(), &name)?;
    let replaced = blocking(move || c.upsert(&v.id, &v.vector, v.metadata)).await?;
    let durable = made_durable(&state, wait).await?;
    Ok(Json(WriteResponse { written: 1, replaced: Some(replaced), durable }))
}

/// A stored vector.
#[derive(Debug, Serialize, ToSchema)]
pub struct VectorView {
    /// Id.
    pub id: String,
    /// The vector as stored.
    pub vector: Vec<f32>,
    /// Metadata.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Gets a vector by id.
#[utoipa::path(get, path = "/collections/{name}/vectors/{id}", tag = "vectors",
    params(("name" = String, Path, description = "Collection name"), ("id" = String, Path, description = "Vector id")),
    responses((status = 200, body = VectorView), (status = 404, body = ErrorBody)))]
pub async fn get_vector(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Json<VectorView>> {
    let c = collection(state.db(), &name)?;
    let n = name.clone();
    let rec = blocking(move || c.get(&id)?.ok_or_else(|| Error::VectorNotFound(format!("{id} (in collection '{n}')"))))
        .await?;
    Ok(Json(VectorView { id: rec.id, vector: rec.vector, metadata: rec.metadata }))
}

/// Deletes a vector by id.
#[utoipa::path(delete, path = "/collections/{name}/vectors/{id}", tag = "vectors",
    params(("name" = String, Path, description = "Collection name"), ("id" = String, Path, description = "Vector id"),
        WaitParam),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody)))]
pub async fn delete_vector(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    wait: WaitParam,
) -> ApiResult<Json<Deleted>> {
    let c = collection(state.db(), &name)?;
    let n = name.clone();
    blocking(
        move || {
            if c.delete(&id)? {
                Ok(())
            } else {
                Err(Error::VectorNotFound(format!("{id} (in collection '{n}')")))
            }
        },
    )
    .await?;
    made_durable(&state, wait).await?;
    Ok(Json(Deleted { deleted: true }))
}
