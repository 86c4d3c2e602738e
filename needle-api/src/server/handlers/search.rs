//! Nearest-neighbour search: one query (`/search`) or many at once (`/search/batch`), with the
//! search parameters both share.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{blocking, collection};
use crate::server::errors::{ApiJson, ApiResult, ErrorBody};
use crate::server::state::AppState;
use crate::{Filter, SearchParams, SearchResult, Strategy};

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

pub(super) fn default_k() -> usize {
    10
}
pub(super) fn yes() -> bool {
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
