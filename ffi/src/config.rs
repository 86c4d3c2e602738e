//! The JSON strings the C ABI accepts: database config, collection config, search parameters.
//! Unknown keys are errors (a typo must not be silently ignored).

use needle_api::{
    CollectionConfig, DatabaseConfig, DistanceFunction, Durability, EncryptionConfig, QuantizationType, SearchParams,
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
}

/// `{"ef_search":N, "include_metadata":bool, "rescore_factor":N, "filter":{…}}`; every key optional.
pub(crate) fn search(k: usize, json: Option<&str>) -> FfiResult<SearchParams> {
    let mut p = SearchParams::new(k);
    let Some(json) = json else { return Ok(p) };
    let j: SearchJson = parse(json, "search parameters")?;
    if j.filter.is_some() {
        return Err(FfiError::new(
            needle_status::NEEDLE_INVALID_FILTER,
            "search parameters: metadata filters are not available in this build yet",
        ));
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
        assert_eq!(search(3, Some(r#"{"filter":{}}"#)).unwrap_err().status, needle_status::NEEDLE_INVALID_FILTER);
        assert_eq!(search(3, Some(r#"{"ef_search":9}"#)).unwrap().ef_search, Some(9));
        assert_eq!(metadata(Some("[1")).unwrap_err().status, needle_status::NEEDLE_INVALID_JSON);
    }
}
