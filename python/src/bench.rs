//! The Rust side of `python/bench/overhead.py`: the same searches timed inside Rust, in this
//! process, on the same collection, so the benchmark measures only what the Python layer adds.

use std::time::Instant;

use needle::SearchParams;
use pyo3::prelude::*;

use crate::collection::PyCollection;
use crate::errors::MapPy;
use crate::vectors::rows;

/// Seconds taken by `repeats` rounds of searching every row of `queries` from Rust: as one
/// `batch_search` per round when `batch`, else one `search_with` call per query.
#[pyfunction]
#[pyo3(signature = (collection, queries, k, ef, batch, repeats=1))]
pub fn _rust_search_seconds(
    py: Python<'_>,
    collection: &PyCollection,
    queries: &Bound<'_, PyAny>,
    k: usize,
    ef: usize,
    batch: bool,
    repeats: usize,
) -> PyResult<f64> {
    let col = collection.engine(py)?;
    let qs = rows(queries, "queries")?;
    let qs = qs.rows();
    let p = SearchParams::new(k).with_ef_search(ef);
    py.detach(|| {
        let t = Instant::now();
        for _ in 0..repeats {
            if batch {
                std::hint::black_box(col.batch_search_rows(&qs, k, Some(&p.clone().with_include_metadata(false)))?);
            } else {
                for q in &qs {
                    std::hint::black_box(col.search_with(q, &p)?);
                }
            }
        }
        Ok(t.elapsed().as_secs_f64())
    })
    .map_py(py)
}
