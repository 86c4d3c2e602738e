//! HNSW construction and search parameters, named after the paper, and their JSON form.
//!
//! The collection hands the factory a JSON object (`{"m": 16, "ef_construction": 200,
//! "ef_search": 40, "seed": 42, "keep_pruned_connections": true}`); every key is optional, and
//! unknown keys and out-of-range values are rejected with [`Error::InvalidConfig`] so a typo never
//! silently builds a different index.
//! `M_max0` and `mL` are derived from `M` as the paper recommends and are not settable.

use serde_json::{Map, Value};

use crate::{Error, Result};

/// Default `M` (links per node on upper layers): the paper's and every peer's usual choice.
pub const DEFAULT_M: usize = 16;
/// Default `efConstruction`.
pub const DEFAULT_EF_CONSTRUCTION: usize = 200;
/// Default `ef` at search time when the caller passes `ef = 0`.
///
/// Chosen by measurement on real sentence embeddings (wordnet-minilm, 384-d, cosine, k = 10,
/// `M = 16`, `efConstruction = 200`): recall@10 ≈ 0.99 on a 20,000-vector slice
/// (`tests/hnsw_recall.rs`) and ≈ 0.975 on the full 116k set, where `ef = 24` is ≈ 0.955 and
/// `ef = 32` ≈ 0.968. The margin keeps recall above 0.95 as collections grow past that size.
pub const DEFAULT_EF_SEARCH: usize = 40;
/// Default seed of the level generator.
pub const DEFAULT_SEED: u64 = 42;
/// Default `keepPrunedConnections`.
///
/// Measured on wordnet-minilm (20k slice): refilling lists with pruned candidates costs about 1.25×
/// the distance computations while building, but the fuller lists give about one point more
/// recall@10 at the same search time (e.g. 0.966 vs 0.955 at equal QPS around `ef = 24`), and
/// search speed is what the index is tuned for.
pub const DEFAULT_KEEP_PRUNED: bool = true;

/// Smallest accepted `M` (`mL = 1/ln M` needs `M ≥ 2`).
pub const MIN_M: usize = 2;
/// Largest accepted `M`; beyond this a graph is a poor trade of memory for recall.
pub const MAX_M: usize = 256;
/// Largest accepted `ef` (construction or search).
pub const MAX_EF: usize = 65_536;

/// Parameters of one HNSW index (symbols of Malkov & Yashunin, 2018).
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `M`: links chosen for a new node on every layer, and the cap (`M_max`) on layers ≥ 1.
    pub m: usize,
    /// `M_max0 = 2·M`: the cap on links per node on layer 0, which carries most of the search.
    pub m_max0: usize,
    /// `efConstruction`: size of the dynamic candidate list while inserting (raised to at least `M`).
    pub ef_construction: usize,
    /// `ef`: size of the dynamic candidate list at search time when the query does not set one.
    pub ef_search: usize,
    /// `mL = 1/ln(M)`: the level-generation normalisation factor.
    pub ml: f64,
    /// Seed of the level generator.
    pub seed: u64,
    /// `keepPrunedConnections` of Algorithm 4: refill each list up to its cap with the candidates
    /// the heuristic discarded.
    pub keep_pruned: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params::new(DEFAULT_M, DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH, DEFAULT_SEED).expect("defaults are in range")
    }
}

impl Params {
    /// Parameters from `M`, `efConstruction`, `ef` and a seed; `M_max0` and `mL` are derived.
    pub fn new(m: usize, ef_construction: usize, ef_search: usize, seed: u64) -> Result<Self> {
        check_range("m", m, MIN_M, MAX_M)?;
        check_range("ef_construction", ef_construction, 1, MAX_EF)?;
        check_range("ef_search", ef_search, 1, MAX_EF)?;
        Ok(Params {
            m,
            m_max0: 2 * m,
            ef_construction,
            ef_search,
            ml: 1.0 / (m as f64).ln(),
            seed,
            keep_pruned: DEFAULT_KEEP_PRUNED,
        })
    }

    /// Parses the JSON object the factory receives (`null` means all defaults).
    pub fn from_json(v: &Value) -> Result<Self> {
        let empty = Map::new();
        let obj = match v {
            Value::Null => &empty,
            Value::Object(o) => o,
            other => return Err(Error::InvalidConfig(format!("hnsw parameters must be a JSON object, got {other}"))),
        };
        let mut m = DEFAULT_M;
        let mut efc = DEFAULT_EF_CONSTRUCTION;
        let mut ef = DEFAULT_EF_SEARCH;
        let mut seed = DEFAULT_SEED;
        let mut keep_pruned = DEFAULT_KEEP_PRUNED;
        for (key, val) in obj {
            match key.as_str() {
                "m" => m = as_usize(key, val)?,
                "ef_construction" => efc = as_usize(key, val)?,
                "ef_search" => ef = as_usize(key, val)?,
                "seed" => seed = val.as_u64().ok_or_else(|| bad_value(key, val))?,
                "keep_pruned_connections" => {
                    keep_pruned = val.as_bool().ok_or_else(|| {
                        Error::InvalidConfig(format!("hnsw parameter '{key}' must be true or false, got {val}"))
                    })?
                }
                _ => {
                    return Err(Error::InvalidConfig(format!(
                        "unknown hnsw parameter '{key}' (known: m, ef_construction, ef_search, seed, keep_pruned_connections)"
                    )))
                }
            }
        }
        Ok(Params { keep_pruned, ..Params::new(m, efc, ef, seed)? })
    }

    /// The JSON form (every settable key, so the file records what was actually used).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "m": self.m,
            "ef_construction": self.ef_construction,
            "ef_search": self.ef_search,
            "seed": self.seed,
            "keep_pruned_connections": self.keep_pruned,
        })
    }

    /// `M_max` of layer `level`: `M_max0` on layer 0, `M` above.
    #[inline]
    pub fn max_links(&self, level: usize) -> usize {
        if level == 0 {
            self.m_max0
        } else {
            self.m
        }
    }

    /// The candidate-list size used while inserting: `max(efConstruction, M)`, so the selection
    /// heuristic always has at least `M` candidates to choose from when they exist.
    pub fn build_ef(&self) -> usize {
        self.ef_construction.max(self.m)
    }
}

fn check_range(key: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(Error::InvalidConfig(format!("hnsw parameter '{key}' must be between {lo} and {hi}, got {v}")))
    }
}

fn as_usize(key: &str, v: &Value) -> Result<usize> {
    v.as_u64().and_then(|x| usize::try_from(x).ok()).ok_or_else(|| bad_value(key, v))
}

fn bad_value(key: &str, v: &Value) -> Error {
    Error::InvalidConfig(format!("hnsw parameter '{key}' must be a non-negative integer, got {v}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_derived_values() {
        let p = Params::from_json(&json!({})).unwrap();
        assert_eq!(p, Params::default());
        assert_eq!(p.m, 16);
        assert_eq!(p.m_max0, 32);
        assert_eq!(p.ef_construction, 200);
        assert_eq!(p.ef_search, DEFAULT_EF_SEARCH);
        assert!((p.ml - 1.0 / 16f64.ln()).abs() < 1e-12);
        assert_eq!(p.max_links(0), 32);
        assert_eq!(p.max_links(3), 16);
        assert_eq!(Params::from_json(&Value::Null).unwrap(), p);
    }

    #[test]
    fn explicit_values_roundtrip() {
        let v = json!({"m": 8, "ef_construction": 100, "ef_search": 20, "seed": 7, "keep_pruned_connections": false});
        let p = Params::from_json(&v).unwrap();
        assert_eq!((p.m, p.m_max0, p.ef_construction, p.ef_search, p.seed), (8, 16, 100, 20, 7));
        assert!(!p.keep_pruned);
        assert_eq!(Params::from_json(&p.to_json()).unwrap(), p);
        // efConstruction below M is raised to M while building.
        assert_eq!(Params::new(32, 4, 10, 0).unwrap().build_ef(), 32);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            json!({"m": 1}),
            json!({"m": 0}),
            json!({"m": 1000}),
            json!({"m": -3}),
            json!({"m": 16.5}),
            json!({"m": "16"}),
            json!({"ef_construction": 0}),
            json!({"ef_search": 0}),
            json!({"ef_search": 1_000_000}),
            json!({"seed": -1}),
            json!({"keep_pruned_connections": 1}),
            json!({"M": 16}),
            json!({"efSearch": 10}),
            json!([16]),
            json!("m=16"),
        ] {
            let e = Params::from_json(&bad).unwrap_err();
            assert!(matches!(e, Error::InvalidConfig(_)), "{bad} gave {e:?}");
        }
    }
}
