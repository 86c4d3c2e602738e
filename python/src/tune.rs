//! `needle.auto_tune`: index settings for a size, a profile and optional limits.

use needle::{PerformanceProfile, TuningConstraints};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::errors::{invalid, MapPy};
use crate::json::from_json;

/// Index settings for ``num_vectors`` vectors of ``dims`` dimensions, from a table fitted to
/// measured runs. ``profile``: ``"balanced"`` (recall ≥ 0.95, the default), ``"high_recall"``,
/// ``"low_latency"`` or ``"low_memory"``; ``memory_budget`` in bytes, ``latency_target_ms``,
/// ``min_recall``. Returns a dict: ``config`` (``hnsw_m``, ``ef_construction``, ``ef_search``,
/// ``quantization``) and the estimates; its ``config`` keys map onto ``create_collection``'s
/// keywords (``m``, ``ef_construction``, ``ef_search``, ``quantization``).
#[pyfunction]
#[pyo3(signature = (num_vectors, dims, *, profile="balanced", memory_budget=None, latency_target_ms=None, min_recall=None))]
pub fn auto_tune<'py>(
    py: Python<'py>,
    num_vectors: usize,
    dims: usize,
    profile: &str,
    memory_budget: Option<u64>,
    latency_target_ms: Option<f64>,
    min_recall: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let profile: PerformanceProfile =
        serde_json::from_value(serde_json::Value::String(profile.to_string())).map_err(|_| {
            invalid(py, format!("profile {profile:?}: use balanced, high_recall, low_latency or low_memory"))
        })?;
    let mut c = TuningConstraints::new(num_vectors, dims).with_profile(profile);
    if let Some(b) = memory_budget {
        c = c.with_memory_budget(b);
    }
    if let Some(ms) = latency_target_ms {
        c = c.with_latency_target_ms(ms);
    }
    if let Some(r) = min_recall {
        c = c.with_min_recall(r);
    }
    let tuned = needle::auto_tune(&c).map_py(py)?;
    let v = serde_json::to_value(&tuned).map_err(|e| invalid(py, e.to_string()))?;
    from_json(py, &v)
}
