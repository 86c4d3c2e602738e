//! Hybrid search (BM25 over the collection's `text_field`, fused with the vector ranking by
//! reciprocal rank fusion) and keyword-only search, with their Needle-owned result block.

use std::ffi::c_char;

use needle_api::HybridResult;

use crate::collection::{coll, needle_collection, rows};
use crate::config;
use crate::error::needle_error;
use crate::handle::{free_owned, into_owned, opt_str_arg, out_arg, str_arg};
use crate::panic::ffi_guard;
use crate::results::{ptr_or_null, Strings};
use crate::status::needle_status;

/// One fused hit of a hybrid or keyword search.
#[repr(C)]
pub struct needle_hybrid_hit {
    /// The vector's id (NUL-terminated UTF-8). Owned by the enclosing `needle_hybrid_hits`.
    pub id: *const c_char,
    /// The fused score (higher is better); for `needle_collection_text_search`, the BM25 score.
    pub score: f32,
    /// Distance to the query vector, or NAN when the hit was not in the vector ranking.
    pub distance: f32,
    /// BM25 score, or NAN when the hit was not in the text ranking.
    pub bm25: f32,
    /// Rank in the vector ranking (1 = nearest), or 0 when not in it.
    pub vector_rank: usize,
    /// Rank in the text ranking (1 = best), or 0 when not in it.
    pub text_rank: usize,
    /// Metadata as JSON, or NULL when it has none or it was not requested. Owned by the
    /// enclosing `needle_hybrid_hits`.
    pub metadata_json: *const c_char,
}

/// Hits of a hybrid or keyword search, best first. Owned by Needle: free with
/// `needle_hybrid_hits_free`.
#[repr(C)]
pub struct needle_hybrid_hits {
    /// `len` hits (NULL when `len` is 0).
    pub hits: *const needle_hybrid_hit,
    /// Number of hits.
    pub len: usize,
}

type Storage = (Vec<needle_hybrid_hit>, Strings);

fn new_hybrid_hits(results: &[HybridResult]) -> *mut needle_hybrid_hits {
    let mut strings = Strings::default();
    let hits: Vec<needle_hybrid_hit> = results
        .iter()
        .map(|r| needle_hybrid_hit {
            id: strings.add(&r.id),
            score: r.score,
            distance: r.distance.unwrap_or(f32::NAN),
            bm25: r.bm25.unwrap_or(f32::NAN),
            vector_rank: r.vector_rank.unwrap_or(0),
            text_rank: r.text_rank.unwrap_or(0),
            metadata_json: strings.add_json(&r.metadata),
        })
        .collect();
    into_owned::<_, Storage>(needle_hybrid_hits { hits: ptr_or_null(&hits), len: hits.len() }, (hits, strings))
}

/// Hybrid search: the `k` best documents for the keywords `text` and the vector `query` (`dim`
/// floats), fused by reciprocal rank fusion. The collection needs a `"text_field"` (collection
/// config); without one this is NEEDLE_INVALID_CONFIG. `params_json` may be NULL or a JSON object
/// with any of `"vector_weight"`, `"text_weight"` (default 1 each), `"rrf_k"` (default 60),
/// `"candidates"` (depth of each ranking, default max(k, 100)), `"ef_search"`,
/// `"include_metadata"` (default true), `"filter"` (the metadata filter syntax of
/// `needle_collection_search`, applied to both rankings).
///
/// Ownership: on NEEDLE_OK `*out` receives hits owned by the caller; free them with
/// `needle_hybrid_hits_free`. Thread safety: safe from any thread.
///
/// # Safety
/// `collection` is NULL or a live handle; `text` and `params_json` NULL or NUL-terminated;
/// `query` NULL or `dim` floats; `out` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_hybrid_search(
    collection: *const needle_collection,
    text: *const c_char,
    query: *const f32,
    dim: usize,
    k: usize,
    params_json: *const c_char,
    out: *mut *mut needle_hybrid_hits,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, text, q, json, out) = unsafe {
            (
                coll(collection)?,
                str_arg(text, "text")?,
                rows(query, 1, dim, "query")?,
                opt_str_arg(params_json, "params_json")?,
                out_arg(out, "out")?,
            )
        };
        let params = config::hybrid(k, json)?;
        out.write(new_hybrid_hits(&c.hybrid_search_with(text, q, &params)?));
        Ok(())
    })
}

/// Keyword search alone: the `k` documents with the best BM25 score for `text` over the
/// collection's `"text_field"` (NEEDLE_INVALID_CONFIG without one). `filter_json` may be NULL or
/// a metadata filter (the syntax of `needle_collection_search`). Each hit's `score` and `bm25`
/// are its BM25 score; `distance` is NAN.
///
/// Ownership: on NEEDLE_OK `*out` receives hits owned by the caller; free them with
/// `needle_hybrid_hits_free`.
///
/// # Safety
/// `collection` is NULL or a live handle; `text` and `filter_json` NULL or NUL-terminated; `out`
/// NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_text_search(
    collection: *const needle_collection,
    text: *const c_char,
    k: usize,
    filter_json: *const c_char,
    out: *mut *mut needle_hybrid_hits,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, text, json, out) = unsafe {
            (coll(collection)?, str_arg(text, "text")?, opt_str_arg(filter_json, "filter_json")?, out_arg(out, "out")?)
        };
        let filter = config::filter_str(json)?;
        out.write(new_hybrid_hits(&c.text_search(text, k, filter.as_ref())?));
        Ok(())
    })
}

/// Frees hits returned by `needle_collection_hybrid_search` or `needle_collection_text_search`.
/// NULL is a no-op.
///
/// # Safety
/// `hits` is NULL or came from one of those functions and was not freed before.
#[no_mangle]
pub unsafe extern "C" fn needle_hybrid_hits_free(hits: *mut needle_hybrid_hits) {
    // SAFETY: caller's contract; blocks of this type are made only by new_hybrid_hits.
    ffi_guard!(or(), { unsafe { free_owned::<needle_hybrid_hits, Storage>(hits) } })
}
