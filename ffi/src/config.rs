//! The JSON strings the C ABI accepts: database config, collection config, search parameters.
//! Unknown keys are errors (a typo must not be silently ignored).

use needle_api::{
    CollectionConfig, DatabaseConfig, DistanceFunction, Durability, EncryptionConfig, Filter, HybridParams,
    PerformanceProfile, QuantizationType, SearchParams, Strategy, TuningConstraints,
};
use serde::Deserialize;

use crate::error::{FfiError, FfiResult};
use crate::status::needle_status;

fn parse<'a, T: Deserialize<'a>>(json: &'a str, what: &str) -> FfiResult<T> {
    serde_json::from_str(json).map_err(|e| {
        let status =
            if e.is_data() { needle_status::NEEDLE_INVALID_CONFIG } else { needle_status::NEEDLE_INVALID_JSON };
        FfiError::new(status, format!("{what}: {e}"))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DbJson {
    read_only: Option<bool>,
    storage: Option<String>,
    mmap_threshold: Option<u64>,
    cache_size: Option<u64>,
    plugins: Option<Vec<String>>,
    encryption_key: Option<String>,
    encryption_passphrase: Option<String>,
    encryption_cipher: Option<String>,
    durability: Option<String>,
    batch_ms: Option<u64>,
    wal_autocheckpoint: Option<u64>,
}

fn hex_key(s: &str) -> FfiResult<Vec<u8>> {
    let bad =
        || FfiError::new(needle_status::NEEDLE_INVALID_CONFIG, "database config: encryption_key must be hex digits");
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()).ok_or_else(bad))
        .collect()
}

/// `{"read_only":bool, "storage":"mmap", "mmap_threshold":N, "cache_size":N, "plugins":[paths],
/// "encryption_key":"hex" | "encryption_passphrase":"…", "encryption_cipher":"aes-256-gcm",
/// "durability":"immediate"|"batched"|"on_save", "batch_ms":N, "wal_autocheckpoint":N}`; every key
/// optional.
pub(crate) fn database(json: Option<&str>) -> FfiResult<DatabaseConfig> {
    let mut config = DatabaseConfig::new();
    let Some(json) = json else { return Ok(config) };
    let j: DbJson = parse(json, "database config")?;
    let cipher = j.encryption_cipher.as_deref().unwrap_or("aes-256-gcm");
    match (j.encryption_key, j.encryption_passphrase) {
        (Some(_), Some(_)) => {
            return Err(FfiError::new(
                needle_status::NEEDLE_INVALID_CONFIG,
                "database config: give encryption_key or encryption_passphrase, not both",
            ))
        }
        (Some(k), None) => config = config.with_encryption(EncryptionConfig::with_cipher(cipher, &hex_key(&k)?)),
        (None, Some(p)) if cipher == "aes-256-gcm" => {
            config = config.with_encryption(EncryptionConfig::aes256_passphrase(&p))
        }
        (None, Some(_)) => {
            return Err(FfiError::new(
                needle_status::NEEDLE_INVALID_CONFIG,
                "database config: passphrases work with aes-256-gcm only; give an encryption_key",
            ))
        }
        (None, None) => {}
    }
    config = match (j.durability.as_deref(), j.batch_ms) {
        (None | Some("immediate"), None) => config,
        (Some("on_save"), None) => config.with_durability(Durability::OnSave),
        (Some("batched"), ms) => config.with_durability(Durability::Batched(ms.unwrap_or(10))),
        (d, ms) => {
            return Err(FfiError::new(
                needle_status::NEEDLE_INVALID_CONFIG,
                format!("database config: bad durability {d:?} (batch_ms {ms:?}); use immediate, batched or on_save"),
            ))
        }
    };
    if let Some(v) = j.wal_autocheckpoint {
        config = config.with_wal_autocheckpoint(v);
    }
    if let Some(v) = j.read_only {
        config = config.with_read_only(v);
    }
    if let Some(v) = j.storage {
        config = config.with_storage(v);
    }
    if let Some(v) = j.mmap_threshold {
        config = config.with_mmap_threshold(v);
    }
    if let Some(v) = j.cache_size {
        config = config.with_cache_size(v);
    }
    for p in j.plugins.unwrap_or_default() {
        config = config.with_plugin(p);
    }
    Ok(config)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectionJson {
    distance: Option<String>,
    index: Option<String>,
    hnsw_m: Option<usize>,
    ef_construction: Option<usize>,
    ef_search: Option<usize>,
    quantization: Option<String>,
    seed: Option<u64>,
    rescore_factor: Option<usize>,
    text_field: Option<String>,
}

/// `{"distance":"cosine", "index":"hnsw", "hnsw_m":16, "ef_construction":200, "ef_search":64,
/// "quantization":"none", "seed":N, "rescore_factor":4, "text_field":"…"}`; every key optional.
pub(crate) fn collection(name: &str, dim: usize, json: Option<&str>) -> FfiResult<CollectionConfig> {
    let mut c = CollectionConfig::new(name, dim);
    let Some(json) = json else { return Ok(c) };
    let j: CollectionJson = parse(json, "collection config")?;
    if let Some(v) = j.distance {
        c = c.with_distance(DistanceFunction::from_id(&v));
    }
    if let Some(v) = j.index {
        c = c.with_index(v);
    }
    if let Some(v) = j.hnsw_m {
        c = c.with_hnsw_m(v);
    }
    if let Some(v) = j.ef_construction {
        c = c.with_hnsw_ef_construction(v);
    }
    if let Some(v) = j.ef_search {
        c = c.with_hnsw_ef_search(v);
    }
    if let Some(v) = j.quantization {
        c = c.with_quantization(QuantizationType::from_id(&v));
    }
    if let Some(v) = j.seed {
        c = c.with_seed(v);
    }
    if let Some(v) = j.rescore_factor {
        c = c.with_rescore_factor(v);
    }
    if let Some(v) = j.text_field {
        c = c.with_text_field(v);
    }
    Ok(c)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchJson {
    ef_search: Option<usize>,
    include_metadata: Option<bool>,
    rescore_factor: Option<usize>,
    filter: Option<serde_json::Value>,
    strategy: Option<String>,
}

/// A metadata filter in the Rust/HTTP syntax; JSON `null` means none.
fn filter(v: Option<serde_json::Value>) -> FfiResult<Option<Filter>> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(f) => Ok(Some(Filter::parse(&f)?)),
    }
}

/// A metadata filter given as JSON text (NULL or `null` = none).
pub(crate) fn filter_str(json: Option<&str>) -> FfiResult<Option<Filter>> {
    json.map(|s| parse::<serde_json::Value>(s, "filter")).transpose().and_then(filter)
}

/// `{"ef_search":N, "include_metadata":bool, "rescore_factor":N, "filter":{…},
/// "strategy":"graph"|"filtered-graph"|"exact"}`; every key optional.
pub(crate) fn search(k: usize, json: Option<&str>) -> FfiResult<SearchParams> {
    let mut p = SearchParams::new(k);
    let Some(json) = json else { return Ok(p) };
    let j: SearchJson = parse(json, "search parameters")?;
    if let Some(f) = filter(j.filter)? {
        p = p.with_filter(f);
    }
    if let Some(s) = j.strategy {
        p = p.with_strategy(s.parse::<Strategy>()?);
    }
    if let Some(v) = j.ef_search {
        p = p.with_ef_search(v);
    }
    if let Some(v) = j.include_metadata {
        p = p.with_include_metadata(v);
    }
    if let Some(v) = j.rescore_factor {
        p = p.with_rescore_factor(v);
    }
    Ok(p)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HybridJson {
    vector_weight: Option<f32>,
    text_weight: Option<f32>,
    rrf_k: Option<f32>,
    candidates: Option<usize>,
    ef_search: Option<usize>,
    include_metadata: Option<bool>,
    filter: Option<serde_json::Value>,
}

/// `{"vector_weight":1, "text_weight":1, "rrf_k":60, "candidates":N, "ef_search":N,
/// "include_metadata":bool, "filter":{…}}`; every key optional.
pub(crate) fn hybrid(k: usize, json: Option<&str>) -> FfiResult<HybridParams> {
    let mut p = HybridParams::new(k);
    let Some(json) = json else { return Ok(p) };
    let j: HybridJson = parse(json, "hybrid parameters")?;
    p = p.with_weights(j.vector_weight.unwrap_or(1.0), j.text_weight.unwrap_or(1.0));
    if let Some(f) = filter(j.filter)? {
        p = p.with_filter(f);
    }
    if let Some(v) = j.rrf_k {
        p = p.with_rrf_k(v);
    }
    if let Some(v) = j.candidates {
        p = p.with_candidates(v);
    }
    if let Some(v) = j.ef_search {
        p = p.with_ef_search(v);
    }
    if let Some(v) = j.include_metadata {
        p = p.with_include_metadata(v);
    }
    Ok(p)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TuneJson {
    num_vectors: usize,
    dimensions: usize,
    profile: Option<PerformanceProfile>,
    memory_budget: Option<u64>,
    latency_target_ms: Option<f64>,
    min_recall: Option<f64>,
}

/// `{"num_vectors":N, "dimensions":N, "profile":"high_recall"|"balanced"|"low_latency"|
/// "low_memory", "memory_budget":bytes, "latency_target_ms":x, "min_recall":x}`; the first two
/// are required.
pub(crate) fn tuning(json: &str) -> FfiResult<TuningConstraints> {
    let j: TuneJson = parse(json, "tuning constraints")?;
    let mut t = TuningConstraints::new(j.num_vectors, j.dimensions);
    if let Some(v) = j.profile {
        t = t.with_profile(v);
    }
    if let Some(v) = j.memory_budget {
        t = t.with_memory_budget(v);
    }
    if let Some(v) = j.latency_target_ms {
        t = t.with_latency_target_ms(v);
    }
    if let Some(v) = j.min_recall {
        t = t.with_min_recall(v);
    }
    Ok(t)
}

/// Metadata given as a JSON string (NULL = none).
pub(crate) fn metadata(json: Option<&str>) -> FfiResult<Option<serde_json::Value>> {
    json.map(|s| {
        serde_json::from_str(s)
            .map_err(|e| FfiError::new(needle_status::NEEDLE_INVALID_JSON, format!("metadata is not valid JSON: {e}")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_parse_and_reject_unknown_keys() {
        let c = collection("c", 4, Some(r#"{"distance":"l2","index":"flat","quantization":"sq8"}"#)).unwrap();
        assert_eq!(c.distance, DistanceFunction::Euclidean);
        assert_eq!(c.index, "flat");
        assert_eq!(
            collection("c", 4, Some(r#"{"distnce":"l2"}"#)).unwrap_err().status,
            needle_status::NEEDLE_INVALID_CONFIG
        );
        assert_eq!(collection("c", 4, Some("{")).unwrap_err().status, needle_status::NEEDLE_INVALID_JSON);
        assert!(database(Some(r#"{"read_only":true}"#)).unwrap().read_only);
        assert!(search(3, Some(r#"{"filter":{"year":{"$gte":2020}}}"#)).unwrap().filter.is_some());
        assert_eq!(
            search(3, Some(r#"{"filter":{"year":{"$bogus":1}}}"#)).unwrap_err().status,
            needle_status::NEEDLE_INVALID_FILTER
        );
        assert_eq!(
            search(3, Some(r#"{"strategy":"sideways"}"#)).unwrap_err().status,
            needle_status::NEEDLE_INVALID_ARGUMENT
        );
        assert_eq!(hybrid(3, Some(r#"{"text_weight":0.5}"#)).unwrap().text_weight, 0.5);
        assert_eq!(tuning(r#"{"num_vectors":10}"#).unwrap_err().status, needle_status::NEEDLE_INVALID_CONFIG);
        assert_eq!(search(3, Some(r#"{"ef_search":9}"#)).unwrap().ef_search, Some(9));
        assert_eq!(metadata(Some("[1")).unwrap_err().status, needle_status::NEEDLE_INVALID_JSON);
    }
}
