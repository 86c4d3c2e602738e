//! The REST handlers. Each one validates its input against the [`Limits`](super::Limits), runs
//! the database work on tokio's blocking pool (searches and inserts are CPU-bound and take
//! collection locks; the async workers never wait on either) and answers JSON.

use std::time::Instant;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::errors::{ApiError, ApiJson, ApiResult, ErrorBody};
use super::state::AppState;
use crate::{
    Collection, CollectionConfig, Database, DistanceFunction, Error, Filter, QuantizationType, SearchParams,
    SearchResult, Strategy,
};

/// Runs database work on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> crate::Result<T> + Send + 'static) -> ApiResult<T> {
    Ok(tokio::task::spawn_blocking(f).await??)
}

fn collection(db: &Database, name: &str) -> ApiResult<Collection> {
    crate::validate_collection_name(name)?;
    Ok(db.collection(name)?)
}

/// `?wait=true`: answer only once the write is durable.
#[derive(Debug, Default, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitParam {
    /// Return only once the write is durable (on disk). Under the server's default durability
    /// policy (`immediate`) every write is durable before it is answered anyway; under `batched`
    /// or `on-save` a write without `wait` is applied and searchable when answered and becomes
    /// durable with the next sync or checkpoint.
    #[serde(default)]
    pub wait: bool,
}

impl FromRequestParts<AppState> for WaitParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let mut wait = false;
        for pair in parts.uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, "true"));
            match k {
                "wait" => {
                    wait = match v {
                        "true" | "1" | "" => true,
                        "false" | "0" => false,
                        _ => return Err(ApiError::invalid(format!("wait must be true or false, not {v:?}"))),
                    }
                }
                _ => return Err(ApiError::invalid(format!("unknown query parameter {k:?} (only `wait`)"))),
            }
        }
        Ok(WaitParam { wait })
    }
}

/// After a write: with `?wait=true`, returns once it is durable. Under the `Immediate` policy
/// the library has synced the write-ahead log before the write returned, so there is nothing to
/// wait for; under the others a checkpoint (shared by concurrent waiters) makes it durable.
/// Returns whether the write is known to be durable.
async fn made_durable(state: &AppState, wait: WaitParam) -> ApiResult<bool> {
    let ticket = state.syncer().applied();
    if state.writes_sync() {
        return Ok(true);
    }
    if wait.wait {
        state.syncer().wait(ticket).await?;
    }
    Ok(wait.wait)
}

// ---------------------------------------------------------------------------------------------
// Health

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

// ---------------------------------------------------------------------------------------------
// Collections

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

// ---------------------------------------------------------------------------------------------
// Vectors

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

// ---------------------------------------------------------------------------------------------
// Search

/// A nearest-neighbour query.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The query: the collection's dimensions, finite numbers.
    pub vector: Vec<f32>,
    /// Results wanted (default 10, at most the server's `max_k`).
    #[serde(default = "default_k")]
    pub k: usize,
    /// Metadata filter, e.g. `{"lang": "en", "year": {"$gte": 2020}}` (operators `$eq $ne $gt
    /// $gte $lt $lte $in $nin $exists $and $or $not`, dotted paths). Results are
    /// `min(k, matches)`. A malformed filter is a 400 `invalid_filter`.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// HNSW ef for this query (default: the collection's ef_search).
    pub ef: Option<usize>,
    /// Return metadata with each hit (default true).
    #[serde(default = "yes")]
    pub include_metadata: bool,
    /// Force a strategy (`graph`, `filtered-graph`, `exact`) instead of the planner's choice.
    pub strategy: Option<String>,
    /// Add an `explain` object: the search's profile (strategy, ef, layers, nodes visited,
    /// distance computations, candidates rescored, time per phase).
    #[serde(default)]
    pub explain: bool,
}

fn default_k() -> usize {
    10
}
fn yes() -> bool {
    true
}

/// One hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct Hit {
    /// Vector id.
    pub id: String,
    /// Distance (smaller is closer).
    pub distance: f32,
    /// Metadata (absent when not requested or none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

impl From<SearchResult> for Hit {
    fn from(r: SearchResult) -> Hit {
        Hit { id: r.id, distance: r.distance, metadata: r.metadata }
    }
}

/// Search results, closest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Hits.
    pub results: Vec<Hit>,
    /// The search's profile, present when `explain` was asked for (see `needle::SearchProfile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub explain: Option<Value>,
}

/// Builds the search parameters shared by single and batch searches.
fn search_params(
    state: &AppState,
    k: usize,
    ef: Option<usize>,
    include_metadata: bool,
    filter: Option<&Value>,
    strategy: Option<&str>,
) -> ApiResult<SearchParams> {
    let limits = state.limits();
    limits.check_k(k)?;
    limits.check_ef(ef)?;
    let mut params = SearchParams::new(k).with_include_metadata(include_metadata);
    if let Some(ef) = ef {
        params = params.with_ef_search(ef);
    }
    match filter {
        None | Some(Value::Null) => {}
        Some(f) => params = params.with_filter(Filter::parse(f)?),
    }
    if let Some(s) = strategy {
        params = params.with_strategy(s.parse::<Strategy>()?);
    }
    Ok(params)
}

/// Searches a collection.
#[utoipa::path(post, path = "/collections/{name}/search", tag = "search", request_body = SearchRequest,
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<SearchRequest>,
) -> ApiResult<Json<SearchResponse>> {
    let params =
        search_params(&state, req.k, req.ef, req.include_metadata, req.filter.as_ref(), req.strategy.as_deref())?;
    let c = collection(state.db(), &name)?;
    let (explain, vector) = (req.explain, req.vector);
    let (hits, explain) = blocking(move || {
        if explain {
            let e = c.search_explain_with(&vector, &params)?;
            Ok((e.results, Some(serde_json::to_value(e.profile)?)))
        } else {
            Ok((c.search_with(&vector, &params)?, None))
        }
    })
    .await?;
    Ok(Json(SearchResponse { results: hits.into_iter().map(Hit::from).collect(), explain }))
}

/// Several queries against one collection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSearchRequest {
    /// Queries (at most the server's `max_batch`).
    pub vectors: Vec<Vec<f32>>,
    /// Results per query (default 10).
    #[serde(default = "default_k")]
    pub k: usize,
    /// HNSW ef.
    pub ef: Option<usize>,
    /// Metadata filter (as for a single search), applied to every query.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// Force a strategy (`graph`, `filtered-graph`, `exact`).
    pub strategy: Option<String>,
    /// Return metadata (default true).
    #[serde(default = "yes")]
    pub include_metadata: bool,
}

/// Results per query, in query order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchSearchResponse {
    /// One list of hits per query.
    pub results: Vec<Vec<Hit>>,
}

/// Searches many queries at once (in parallel).
#[utoipa::path(post, path = "/collections/{name}/search/batch", tag = "search", request_body = BatchSearchRequest,
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = BatchSearchResponse), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<BatchSearchRequest>,
) -> ApiResult<Json<BatchSearchResponse>> {
    state.limits().check_batch(req.vectors.len(), "queries")?;
    let params =
        search_params(&state, req.k, req.ef, req.include_metadata, req.filter.as_ref(), req.strategy.as_deref())?;
    let c = collection(state.db(), &name)?;
    let results = blocking(move || c.batch_search(&req.vectors, params.k, Some(&params))).await?;
    Ok(Json(BatchSearchResponse {
        results: results.into_iter().map(|hits| hits.into_iter().map(Hit::from).collect()).collect(),
    }))
}

/// A hybrid query: BM25 over the collection's text field fused with vector search by reciprocal
/// rank fusion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HybridSearchRequest {
    /// Keywords, matched by BM25 against the collection's text field.
    pub text: String,
    /// The query vector.
    pub vector: Vec<f32>,
    /// Results wanted (default 10).
    #[serde(default = "default_k")]
    pub k: usize,
    /// Metadata filter applied to both rankings.
    #[schema(value_type = Option<Object>)]
    pub filter: Option<Value>,
    /// RRF constant (default 60).
    pub rrf_k: Option<f32>,
    /// Weight of the vector ranking (default 1).
    pub vector_weight: Option<f32>,
    /// Weight of the BM25 ranking (default 1).
    pub text_weight: Option<f32>,
    /// Depth of each ranking before fusion (default max(k, 100)).
    pub candidates: Option<usize>,
    /// HNSW ef of the vector side.
    pub ef: Option<usize>,
    /// Return metadata (default true).
    #[serde(default = "yes")]
    pub include_metadata: bool,
}

/// One fused hit.
#[derive(Debug, Serialize, ToSchema)]
pub struct HybridHit {
    /// Vector id.
    pub id: String,
    /// Fused RRF score (higher is better).
    pub score: f32,
    /// Rank in the vector ranking (1 = nearest), when in it.
    pub vector_rank: Option<usize>,
    /// Rank in the BM25 ranking, when in it.
    pub text_rank: Option<usize>,
    /// Vector distance, when in the vector ranking.
    pub distance: Option<f32>,
    /// BM25 score, when in the text ranking.
    pub bm25: Option<f32>,
    /// Metadata (absent when not requested or none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// Fused results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HybridSearchResponse {
    /// Hits.
    pub results: Vec<HybridHit>,
}

/// Hybrid search: keywords (BM25 over the collection's `text_field`) and a vector, fused by
/// reciprocal rank fusion. A collection without a text field is a 400 `invalid_config`.
#[utoipa::path(post, path = "/collections/{name}/search/hybrid", tag = "search", request_body = HybridSearchRequest,
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = HybridSearchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn search_hybrid(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<HybridSearchRequest>,
) -> ApiResult<Json<HybridSearchResponse>> {
    let limits = state.limits();
    limits.check_k(req.k)?;
    limits.check_ef(req.ef)?;
    if let Some(n) = req.candidates {
        limits.check_k(n)?;
    }
    let mut p = crate::HybridParams::new(req.k).with_include_metadata(req.include_metadata);
    p = p.with_weights(req.vector_weight.unwrap_or(1.0), req.text_weight.unwrap_or(1.0));
    if let Some(r) = req.rrf_k {
        p = p.with_rrf_k(r);
    }
    if let Some(n) = req.candidates {
        p = p.with_candidates(n);
    }
    if let Some(ef) = req.ef {
        p = p.with_ef_search(ef);
    }
    match &req.filter {
        None | Some(Value::Null) => {}
        Some(f) => p = p.with_filter(Filter::parse(f)?),
    }
    let c = collection(state.db(), &name)?;
    let hits = blocking(move || c.hybrid_search_with(&req.text, &req.vector, &p)).await?;
    let results = hits
        .into_iter()
        .map(|h| HybridHit {
            id: h.id,
            score: h.score,
            vector_rank: h.vector_rank,
            text_rank: h.text_rank,
            distance: h.distance,
            bm25: h.bm25,
            metadata: h.metadata,
        })
        .collect();
    Ok(Json(HybridSearchResponse { results }))
}

// ---------------------------------------------------------------------------------------------
// Maintenance

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

// ---------------------------------------------------------------------------------------------
// Metrics and OpenAPI

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
    let mut r = super::openapi::document_json().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}
