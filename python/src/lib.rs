//! The compiled core of the Python package `needle` (module `needle._needle`).
//!
//! Binds the Rust API (`needle-api`) directly: `Database`, `Collection`, the result classes and
//! `auto_tune`. The pure-Python `needle/__init__.py` re-exports these with the exception classes
//! of `needle/_errors.py`. Nothing here holds the GIL while the engine works.

mod bench;
mod collection;
mod database;
mod errors;
mod json;
mod results;
mod tune;
mod vectors;

use pyo3::prelude::*;

/// Which distance kernel backend this process uses (``avx512``, ``avx2``, ``neon``, ``scalar``).
#[pyfunction]
fn simd_backend() -> String {
    needle::simd_backend()
}

/// How many threads the engine's batch builds and batch searches use in this process: the
/// ``RAYON_NUM_THREADS`` environment variable when the process started with it, else one per core.
#[pyfunction]
fn engine_threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _needle(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<database::PyDatabase>()?;
    m.add_class::<collection::PyCollection>()?;
    m.add_class::<results::Hit>()?;
    m.add_class::<results::HybridHit>()?;
    m.add_class::<results::Record>()?;
    m.add_function(wrap_pyfunction!(tune::auto_tune, m)?)?;
    m.add_function(wrap_pyfunction!(simd_backend, m)?)?;
    m.add_function(wrap_pyfunction!(engine_threads, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_rust_search_seconds, m)?)?;
    Ok(())
}
