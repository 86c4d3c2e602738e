//! Nearest-neighbour search: one query (`/search`) or many at once (`/search/batch`), with the
//! search parameters both share.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{cancellable, collection};
use crate::server::admit::short as admit_short;
use crate::server::binary::{self, parse_bool, parse_param, query_pairs};
use crate::server::body::{media_type, parse_json_within, read_body, require_json, ApiJson};
use crate::server::errors::{ApiError, ApiResult, ErrorBody};
use crate::server::state::AppState;
use crate::{Filter, SearchParams, SearchResult, Strategy};
use std::sync::atomic::AtomicBool;

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

/// A search the server refuses before the library sees it (the library counts its own refusals:
/// wrong dimensions, non-finite values), counted in `needle_search_rejected_total` by code too.
fn refused(e: ApiError) -> ApiError {
    crate::metrics::search_rejected(e.code);
    e
}

/// Whether a request's body is binary (`application/octet-stream`).
fn is_binary(req: &Request) -> bool {
    media_type(req.headers()).as_deref() == Some(binary::MEDIA_TYPE)
}

/// A search body: JSON ([`SearchRequest`]) or one binary vector with the other parameters in the
/// query string (`k`, `ef`, `include_metadata`, `strategy`, `explain`; no filter).
pub struct SearchBody(pub SearchRequest);

impl FromRequest<AppState> for SearchBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_binary(&req) {
            return Ok(SearchBody(ApiJson::<SearchRequest>::from_request(req, state).await?.0));
        }
        let mut out = SearchRequest {
            vector: Vec::new(),
            k: default_k(),
            filter: None,
            ef: None,
            include_metadata: true,
            strategy: None,
            explain: false,
        };
        for (key, value) in query_pairs(req.uri().query()) {
            match key {
                "k" => out.k = parse_param(key, value)?,
                "ef" => out.ef = Some(parse_param(key, value)?),
                "include_metadata" => out.include_metadata = parse_bool(key, value)?,
                "strategy" => out.strategy = Some(value.to_string()),
                "explain" => out.explain = parse_bool(key, value)?,
                _ => return Err(ApiError::invalid(format!("unknown query parameter {key:?} for a binary search"))),
            }
        }
        let bytes = read_body(req, state.limits().max_body_bytes).await?;
        out.vector = binary::f32s(&bytes)?;
        Ok(SearchBody(out))
    }
}

/// Searches a collection. The body is JSON, or the query vector as little-endian f32
/// (`Content-Type: application/octet-stream`) with `k`, `ef`, `include_metadata`, `strategy`,
/// `explain` in the query string.
#[utoipa::path(post, path = "/collections/{name}/search", tag = "search", request_body = SearchRequest,
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = SearchResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    Path(name): Path<String>,
    SearchBody(req): SearchBody,
) -> ApiResult<Response> {
    let params =
        search_params(&state, req.k, req.ef, req.include_metadata, req.filter.as_ref(), req.strategy.as_deref())
            .map_err(refused)?;
    let c = collection(state.db(), &name)?;
    // Alone, a short search runs in place; with others in flight the blocking pool spreads them
    // over threads and keeps the async workers free for I/O.
    let short = state.requests_in_flight() <= 1 && is_short(&c, &params, req.explain);
    let (explain, vector) = (req.explain, req.vector);
    let work = move |cancel: &AtomicBool| {
        if explain {
            let e = c.search_explain_with(&vector, &params)?;
            Ok((e.results, Some(serde_json::to_value(e.profile)?)))
        } else {
            Ok((c.search_cancellable(&vector, &params, cancel)?, None))
        }
    };
    let (hits, explain) = if short { admit_short(work)? } else { cancellable(work).await? };
    json_response(&Results { results: &hits, explain: explain.as_ref() }, hits.len())
}

/// Largest beam (`max(ef, k)`) of a search run in place rather than on the blocking pool.
const SHORT_BEAM: usize = 256;

/// Whether a search is short by construction, so it may run on the worker thread
/// ([`admit_short`]): a search of an index whose cost follows its beam
/// ([`Collection::is_beam_bounded`](crate::Collection::is_beam_bounded)), with a bounded beam, no
/// filter, no forced strategy, no profile. Anything whose cost grows with the collection (flat or
/// plugin indexes, exact scans, filters) goes to the blocking pool, where a timeout can cancel it.
fn is_short(c: &crate::Collection, params: &SearchParams, explain: bool) -> bool {
    if !c.is_beam_bounded() || params.filter.is_some() || params.strategy.is_some() || explain {
        return false;
    }
    params.ef_search.unwrap_or(c.config().ef_search).max(params.k) <= SHORT_BEAM
}

/// Serializes a response body straight from the search results (no per-hit copies).
fn json_response<T: Serialize>(body: &T, hits: usize) -> ApiResult<Response> {
    let mut bytes = Vec::with_capacity(64 + hits * 64);
    serde_json::to_writer(&mut bytes, body).map_err(|e| ApiError::internal(format!("response: {e}")))?;
    let mut r = bytes.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}

/// [`Hit`]s, serialized from the library's results in place.
struct Hits<'a>(&'a [SearchResult]);

impl Serialize for Hits<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};
        struct One<'a>(&'a SearchResult);
        impl Serialize for One<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let r = self.0;
                let mut st = s.serialize_struct("Hit", if r.metadata.is_some() { 3 } else { 2 })?;
                st.serialize_field("id", &r.id)?;
                st.serialize_field("distance", &r.distance)?;
                if let Some(m) = &r.metadata {
                    st.serialize_field("metadata", m)?;
                }
                st.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&One(r))?;
        }
        seq.end()
    }
}

/// The body of a search response ([`SearchResponse`]'s shape).
#[derive(Serialize)]
struct Results<'a> {
    #[serde(serialize_with = "hits")]
    results: &'a [SearchResult],
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<&'a Value>,
}

fn hits<S: serde::Serializer>(r: &&[SearchResult], s: S) -> Result<S::Ok, S::Error> {
    Hits(r).serialize(s)
}

/// The body of a batch search response ([`BatchSearchResponse`]'s shape).
struct BatchResults<'a>(&'a [Vec<SearchResult>]);

impl Serialize for BatchResults<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};
        struct Lists<'a>(&'a [Vec<SearchResult>]);
        impl Serialize for Lists<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for hits in self.0 {
                    seq.serialize_element(&Hits(hits))?;
                }
                seq.end()
            }
        }
        let mut st = s.serialize_struct("BatchSearchResponse", 1)?;
        st.serialize_field("results", &Lists(self.0))?;
        st.end()
    }
}

/// Several queries against one collection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchSearchRequest {
    /// Queries (at most the server's `max_batch`; queries x k at most its `max_batch_results`).
    #[serde(deserialize_with = "crate::server::bounded::list")]
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

/// A batch search body: JSON ([`BatchSearchRequest`]) or the queries as little-endian f32,
/// back to back (`n × dimensions × 4` bytes), with `k`, `ef`, `include_metadata`, `strategy` in
/// the query string.
pub struct BatchBody {
    req: BatchSearchRequest,
    /// The binary body's values, split into queries once the collection's dimensions are known.
    flat: Option<Vec<f32>>,
}

impl FromRequest<AppState> for BatchBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limits = state.limits();
        if !is_binary(&req) {
            if !http_body::Body::is_end_stream(req.body()) {
                require_json(&req)?;
            }
            let bytes = read_body(req, limits.max_body_bytes).await?;
            return Ok(BatchBody { req: parse_json_within(&bytes, limits.max_batch)?, flat: None });
        }
        let mut out = BatchSearchRequest {
            vectors: Vec::new(),
            k: default_k(),
            ef: None,
            filter: None,
            strategy: None,
            include_metadata: true,
        };
        for (key, value) in query_pairs(req.uri().query()) {
            match key {
                "k" => out.k = parse_param(key, value)?,
                "ef" => out.ef = Some(parse_param(key, value)?),
                "include_metadata" => out.include_metadata = parse_bool(key, value)?,
                "strategy" => out.strategy = Some(value.to_string()),
                _ => return Err(ApiError::invalid(format!("unknown query parameter {key:?} for a binary batch"))),
            }
        }
        let bytes = read_body(req, limits.max_body_bytes).await?;
        Ok(BatchBody { req: out, flat: Some(binary::f32s(&bytes)?) })
    }
}

/// Searches many queries at once (in parallel). A batch asking for more than the server's
/// `max_batch_results` hits (queries × k) is refused with 413 before it runs. A request that
/// times out stops its remaining queries.
#[utoipa::path(post, path = "/collections/{name}/search/batch", tag = "search", request_body = BatchSearchRequest,
    params(("name" = String, Path, description = "Collection name")),
    responses((status = 200, body = BatchSearchResponse), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn search_batch(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: BatchBody,
) -> ApiResult<Response> {
    let BatchBody { mut req, flat } = body;
    let c = collection(state.db(), &name)?;
    if let Some(flat) = flat {
        let dim = c.dimensions();
        if dim == 0 || flat.len() % dim != 0 {
            return Err(refused(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                crate::ErrorCode::DimensionMismatch.name(),
                format!("a binary batch holds n x {dim} f32 values; {} is not a multiple of {dim}", flat.len()),
            )));
        }
        state.limits().check_batch(flat.len() / dim, "queries").map_err(refused)?;
        req.vectors = flat.chunks_exact(dim).map(<[f32]>::to_vec).collect();
    }
    let limits = state.limits();
    limits.check_batch(req.vectors.len(), "queries").map_err(refused)?;
    let params =
        search_params(&state, req.k, req.ef, req.include_metadata, req.filter.as_ref(), req.strategy.as_deref())
            .map_err(refused)?;
    limits.check_batch_results(req.vectors.len(), params.k).map_err(refused)?;
    let results = cancellable(move |cancel| c.batch_search_cancellable(&req.vectors, &params, cancel)).await?;
    let hits = results.iter().map(Vec::len).sum();
    json_response(&BatchResults(&results), hits)
}
