//! Hybrid search (`/search/hybrid`): BM25 over a collection's text field fused with vector search
//! by reciprocal rank fusion.

use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::blocking;
use super::collection;
use super::search::{default_k, yes};
use crate::server::body::ApiJson;
use crate::server::errors::{ApiResult, ErrorBody};
use crate::server::state::AppState;
use crate::Filter;

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
