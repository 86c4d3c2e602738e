//! Result objects: [`Hit`] (a search result), [`HybridHit`] and [`Record`] (what `get` returns).
//!
//! Small immutable classes rather than dicts: attribute access, a readable `repr`, equality, and
//! tuple unpacking (`id, distance, metadata = hit`).

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::json::from_json;

/// Metadata as a Python dict (None when absent).
fn py_metadata(py: Python<'_>, metadata: Option<&serde_json::Value>) -> PyResult<Py<PyAny>> {
    Ok(match metadata {
        Some(v) => from_json(py, v)?.unbind(),
        None => py.None(),
    })
}

/// One search result: the vector's `id`, its `distance` to the query (smaller is closer) and
/// its `metadata` (a dict, or None).
#[pyclass(frozen, module = "needle", name = "Hit")]
pub struct Hit {
    /// The vector's id.
    #[pyo3(get)]
    pub id: String,
    /// Distance to the query (smaller is closer).
    #[pyo3(get)]
    pub distance: f32,
    /// Metadata dict, or None.
    #[pyo3(get)]
    pub metadata: Py<PyAny>,
}

impl Hit {
    /// A hit from an engine result.
    pub fn from_result(py: Python<'_>, r: needle::SearchResult) -> PyResult<Hit> {
        let metadata = py_metadata(py, r.metadata.as_ref())?;
        Ok(Hit { id: r.id, distance: r.distance, metadata })
    }

    fn tuple<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(
            py,
            [
                self.id.clone().into_pyobject(py)?.into_any(),
                self.distance.into_pyobject(py)?.into_any(),
                self.metadata.bind(py).clone(),
            ],
        )
    }
}

#[pymethods]
impl Hit {
    #[new]
    #[pyo3(signature = (id, distance, metadata=None))]
    fn new(py: Python<'_>, id: String, distance: f32, metadata: Option<Py<PyAny>>) -> Hit {
        Hit { id, distance, metadata: metadata.unwrap_or_else(|| py.None()) }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = pyo3::types::PyString::new(py, &self.id).repr()?;
        Ok(format!("Hit(id={id}, distance={}, metadata={})", self.distance, self.metadata.bind(py).repr()?))
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<Hit>() else { return Ok(false) };
        let o = other.get();
        Ok(self.id == o.id && self.distance == o.distance && self.metadata.bind(py).eq(o.metadata.bind(py))?)
    }

    fn __len__(&self) -> usize {
        3
    }

    fn __getitem__<'py>(&self, py: Python<'py>, i: isize) -> PyResult<Bound<'py, PyAny>> {
        self.tuple(py)?.get_item(if i < 0 { (3 + i) as usize } else { i as usize })
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.tuple(py)?.try_iter().map(Bound::into_any)
    }
}

/// One hybrid-search result: fused `score` (higher is better), the ranks and scores of each side
/// (None when the document was not in that side's list) and `metadata`.
#[pyclass(frozen, module = "needle", name = "HybridHit")]
pub struct HybridHit {
    /// The vector's id.
    #[pyo3(get)]
    pub id: String,
    /// Fused reciprocal-rank score (higher is better); BM25 score for `text_search`.
    #[pyo3(get)]
    pub score: f32,
    /// Rank in the vector list (1 = nearest), or None.
    #[pyo3(get)]
    pub vector_rank: Option<usize>,
    /// Rank in the BM25 list (1 = best), or None.
    #[pyo3(get)]
    pub text_rank: Option<usize>,
    /// Vector distance, when in the vector list.
    #[pyo3(get)]
    pub distance: Option<f32>,
    /// BM25 score, when in the text list.
    #[pyo3(get)]
    pub bm25: Option<f32>,
    /// Metadata dict, or None.
    #[pyo3(get)]
    pub metadata: Py<PyAny>,
}

impl HybridHit {
    /// A hybrid hit from an engine result.
    pub fn from_result(py: Python<'_>, r: needle::HybridResult) -> PyResult<HybridHit> {
        let metadata = py_metadata(py, r.metadata.as_ref())?;
        Ok(HybridHit {
            id: r.id,
            score: r.score,
            vector_rank: r.vector_rank,
            text_rank: r.text_rank,
            distance: r.distance,
            bm25: r.bm25,
            metadata,
        })
    }
}

#[pymethods]
impl HybridHit {
    fn __repr__(&self) -> String {
        format!(
            "HybridHit(id={:?}, score={}, vector_rank={:?}, text_rank={:?})",
            self.id, self.score, self.vector_rank, self.text_rank
        )
    }
}

/// A stored vector: its `id`, the `vector` exactly as inserted (a float32 numpy array) and its
/// `metadata` (a dict, or None).
#[pyclass(frozen, module = "needle", name = "Record")]
pub struct Record {
    /// Its id.
    #[pyo3(get)]
    pub id: String,
    /// The vector (float32 numpy array).
    #[pyo3(get)]
    pub vector: Py<PyArray1<f32>>,
    /// Metadata dict, or None.
    #[pyo3(get)]
    pub metadata: Py<PyAny>,
}

impl Record {
    /// A record from the engine's.
    pub fn from_record(py: Python<'_>, r: needle::VectorRecord) -> PyResult<Record> {
        let metadata = py_metadata(py, r.metadata.as_ref())?;
        Ok(Record { id: r.id, vector: r.vector.into_pyarray(py).unbind(), metadata })
    }
}

#[pymethods]
impl Record {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = pyo3::types::PyString::new(py, &self.id).repr()?;
        Ok(format!(
            "Record(id={id}, vector=<{} floats>, metadata={})",
            self.vector.bind(py).len()?,
            self.metadata.bind(py).repr()?
        ))
    }
}
