//! Collections: list, create, inspect, drop.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{blocking, collection};
use crate::server::body::ApiJson;
use crate::server::errors::{ApiError, ApiResult, ErrorBody};
use crate::server::state::AppState;
use crate::{Collection, CollectionConfig, DistanceFunction, QuantizationType};

/// A new collection. Unset fields take the library defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollectionRequest {
    /// 1–128 characters of `[A-Za-z0-9_.-]`, not starting with `.`.
    pub name: String,
    /// Vector dimensions (1 to the server's `max_dimensions`).
    pub dimensions: usize,
    /// `cosine` (default), `euclidean`, `dot`, `manhattan`, or a registered id.
    pub distance: Option<String>,
    /// `hnsw` (default) or `flat`.
    pub index: Option<String>,
    /// HNSW M (default 16).
    #[serde(alias = "m")]
    pub hnsw_m: Option<usize>,
    /// HNSW ef_construction (default 200).
    pub ef_construction: Option<usize>,
    /// Default ef for searches (default 64).
    pub ef_search: Option<usize>,
    /// `none` (default) or `sq8` / `scalar`.
    pub quantization: Option<String>,
    /// Seed of the index build.
    pub seed: Option<u64>,
    /// Metadata field (dotted path) holding text for hybrid search (BM25).
    pub text_field: Option<String>,
}

/// A collection's configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionConfigView {
    /// Distance id.
    pub distance: String,
    /// Index id.
    pub index: String,
    /// HNSW M.
    pub hnsw_m: usize,
    /// HNSW ef_construction.
    pub ef_construction: usize,
    /// Default ef_search.
    pub ef_search: usize,
    /// Quantizer id.
    pub quantization: String,
    /// Build seed.
    pub seed: u64,
}

/// A collection: name, size and configuration.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionView {
    /// Name.
    pub name: String,
    /// Live vectors.
    pub count: usize,
    /// Dimensions.
    pub dimensions: usize,
    /// Approximate heap bytes.
    pub memory_bytes: usize,
    /// Whether searches currently run on quantized codes.
    pub quantized: bool,
    /// Configuration.
    pub config: CollectionConfigView,
}

fn view(c: &Collection) -> crate::Result<CollectionView> {
    let i = c.info()?;
    let cfg = &i.config;
    Ok(CollectionView {
        name: cfg.name.clone(),
        count: i.count,
        dimensions: cfg.dimensions,
        memory_bytes: i.memory_bytes,
        quantized: i.quantized,
        config: CollectionConfigView {
            distance: cfg.distance.id().to_string(),
            index: cfg.index.clone(),
            hnsw_m: cfg.hnsw_m,
            ef_construction: cfg.ef_construction,
            ef_search: cfg.ef_search,
            quantization: cfg.quantization.id().to_string(),
            seed: cfg.seed,
        },
    })
}

/// Collection names with sizes.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionList {
    /// Sorted by name.
    pub collections: Vec<CollectionSummary>,
}

/// A collection in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionSummary {
    /// Name.
    pub name: String,
    /// Live vectors.
    pub count: usize,
    /// Dimensions.
    pub dimensions: usize,
}

/// Lists the collections.
#[utoipa::path(get, path = "/collections", tag = "collections", responses((status = 200, body = CollectionList)))]
pub async fn list_collections(State(state): State<AppState>) -> ApiResult<Json<CollectionList>> {
    let db = state.db().clone();
    let collections = blocking(move || {
        let mut out = Vec::new();
        for name in db.list_collections()? {
            match db.collection(&name) {
                Ok(c) => match c.count() {
                    Ok(count) => out.push(CollectionSummary { name, count, dimensions: c.dimensions() }),
                    Err(e) if e.code() == crate::ErrorCode::CollectionNotFound => {}
                    Err(e) => return Err(e),
                },
                // Dropped meanwhile.
                Err(e) if e.code() == crate::ErrorCode::CollectionNotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    })
    .await?;
    Ok(Json(CollectionList { collections }))
}

/// Creates a collection.
#[utoipa::path(post, path = "/collections", tag = "collections", request_body = CreateCollectionRequest,
    responses((status = 201, body = CollectionView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_collection(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CreateCollectionRequest>,
) -> ApiResult<(StatusCode, Json<CollectionView>)> {
    crate::validate_collection_name(&req.name)?;
    let max = state.limits().max_dimensions;
    if req.dimensions == 0 || req.dimensions > max {
        return Err(ApiError::invalid(format!("dimensions must be 1..={max}, not {}", req.dimensions)));
    }
    let mut c = CollectionConfig::new(&req.name, req.dimensions);
    if let Some(d) = &req.distance {
        c = c.with_distance(DistanceFunction::from_id(d));
    }
    if let Some(i) = &req.index {
        c = c.with_index(i.to_ascii_lowercase());
    }
    if let Some(m) = req.hnsw_m {
        c = c.with_hnsw_m(m);
    }
    if let Some(ef) = req.ef_construction {
        if ef > 4096 {
            return Err(ApiError::invalid("ef_construction must be at most 4096"));
        }
        c = c.with_hnsw_ef_construction(ef);
    }
    if let Some(ef) = req.ef_search {
        state.limits().check_ef(Some(ef))?;
        c = c.with_hnsw_ef_search(ef);
    }
    if let Some(q) = &req.quantization {
        c = c.with_quantization(QuantizationType::from_id(q));
    }
    if let Some(s) = req.seed {
        c = c.with_seed(s);
    }
    if let Some(f) = &req.text_field {
        c = c.with_text_field(f.clone());
    }
    let db = state.db().clone();
    let v = blocking(move || {
        let c = db.create_collection_with_config(c)?;
        view(&c)
    })
    .await?;
    tracing::info!(collection = %v.name, dimensions = v.dimensions, "collection created");
    Ok((StatusCode::CREATED, Json(v)))
}

/// A collection's size and configuration.
#[utoipa::path(get, path = "/collections/{name}", tag = "collections",
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = CollectionView), (status = 404, body = ErrorBody)))]
pub async fn get_collection(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<CollectionView>> {
    let c = collection(state.db(), &name)?;
    Ok(Json(blocking(move || view(&c)).await?))
}

/// Outcome of a delete.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Always true (a missing item is a 404).
    pub deleted: bool,
}

/// Drops a collection and its vectors.
#[utoipa::path(delete, path = "/collections/{name}", tag = "collections",
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = Deleted), (status = 404, body = ErrorBody)))]
pub async fn drop_collection(State(state): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Deleted>> {
    crate::validate_collection_name(&name)?;
    let db = state.db().clone();
    let n = name.clone();
    blocking(move || db.drop_collection(&n)).await?;
    tracing::info!(collection = %name, "collection dropped");
    Ok(Json(Deleted { deleted: true }))
}
