//! `needle.Collection`: insert, upsert, delete, get, search (one, a batch, hybrid), explain.
//!
//! Every call that reads vectors or searches runs with the GIL released, so Python threads search
//! in parallel, and `search_batch`/`insert_batch` use the engine's own threads (rayon) on top.
//! Vectors are read in place from float32 C-contiguous numpy arrays (see `vectors.rs`).

use needle::{BatchRow, Collection, HybridParams, SearchParams, Strategy};
use numpy::{PyArray2, PyArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::database::PyDatabase;
use crate::errors::{from_code, invalid, MapPy};
use crate::json::{self, from_json};
use crate::results::{Hit, HybridHit, Record};
use crate::vectors::rows;

/// A named set of vectors with metadata, searched by its index. Get one from
/// ``Database.create_collection`` or ``Database.collection``.
#[pyclass(frozen, module = "needle", name = "Collection")]
pub struct PyCollection {
    col: Collection,
    db: Py<PyDatabase>,
}

impl PyCollection {
    /// A Python handle over an engine collection of `db`.
    pub fn new(col: Collection, db: Py<PyDatabase>) -> Self {
        PyCollection { col, db }
    }

    /// The engine collection, or `needle.Closed` once its database is closed.
    pub fn engine(&self, py: Python<'_>) -> PyResult<&Collection> {
        self.live(py)
    }

    /// One write of one vector with metadata (`insert`, `upsert`), the GIL released.
    fn write<T: Send>(
        &self,
        py: Python<'_>,
        vector: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
        op: impl FnOnce(&Collection, &[f32], Option<serde_json::Value>) -> needle::Result<T> + Send,
    ) -> PyResult<T> {
        let col = self.live(py)?;
        let v = crate::vectors::vector(vector, "vector")?;
        let m = json::metadata(metadata)?;
        let q = v.as_slice();
        py.detach(|| op(col, q, m)).map_py(py)
    }

    fn live(&self, py: Python<'_>) -> PyResult<&Collection> {
        if self.db.get().is_closed() {
            return Err(from_code(py, "closed", "the database of this collection is closed"));
        }
        Ok(&self.col)
    }
}

/// `search_batch`'s answer: ids per query and the distances matrix.
type BatchResult<'py> = (Vec<Vec<String>>, Bound<'py, PyArray2<f32>>);

fn params(py: Python<'_>, k: usize, ef: Option<usize>, filter: Option<&Bound<'_, PyAny>>) -> PyResult<SearchParams> {
    let mut p = SearchParams::new(k);
    if let Some(ef) = ef {
        p = p.with_ef_search(ef);
    }
    if let Some(f) = json::filter(py, filter)? {
        p = p.with_filter(f);
    }
    Ok(p)
}

fn hits(py: Python<'_>, results: Vec<needle::SearchResult>) -> PyResult<Vec<Hit>> {
    results.into_iter().map(|r| Hit::from_result(py, r)).collect()
}

#[pymethods]
impl PyCollection {
    /// The collection's name.
    #[getter]
    fn name(&self) -> &str {
        self.col.name()
    }

    /// Vector dimensions.
    #[getter]
    fn dims(&self) -> usize {
        self.col.dimensions()
    }

    /// Config, components, counts and memory, as a dict.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let info = self.live(py)?.info().map_py(py)?;
        let v = serde_json::to_value(&info).map_err(|e| invalid(py, e.to_string()))?;
        from_json(py, &v)
    }

    /// Number of live vectors.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.live(py)?.count().map_py(py)
    }

    /// Whether a vector with this id exists.
    fn __contains__(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        self.live(py)?.contains(id).map_py(py)
    }

    /// Inserts a vector under a new ``id`` (``needle.AlreadyExists`` if the id exists; see
    /// ``upsert``). ``metadata``: a JSON-like dict, or None.
    #[pyo3(signature = (id, vector, metadata=None))]
    fn insert(
        &self,
        py: Python<'_>,
        id: &str,
        vector: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.write(py, vector, metadata, |col, q, m| col.insert(id, q, m))
    }

    /// Inserts, or replaces the vector and metadata of an existing ``id``. Returns True when it
    /// replaced one.
    #[pyo3(signature = (id, vector, metadata=None))]
    fn upsert(
        &self,
        py: Python<'_>,
        id: &str,
        vector: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.write(py, vector, metadata, |col, q, m| col.upsert(id, q, m))
    }

    /// Deletes ``id``; returns whether it existed.
    fn delete(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        let col = self.live(py)?;
        py.detach(|| col.delete(id)).map_py(py)
    }

    /// The stored ``Record(id, vector, metadata)`` for ``id``, or None.
    fn get(&self, py: Python<'_>, id: &str) -> PyResult<Option<Record>> {
        let col = self.live(py)?;
        let r = py.detach(|| col.get(id)).map_py(py)?;
        r.map(|r| Record::from_record(py, r)).transpose()
    }

    /// The stored record for ``id``; ``needle.NotFound`` (a ``KeyError``) when there is none.
    fn __getitem__(&self, py: Python<'_>, id: &str) -> PyResult<Record> {
        self.get(py, id)?.ok_or_else(|| from_code(py, "vector_not_found", &format!("vector not found: {id}")))
    }

    /// All live ids.
    fn ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let col = self.live(py)?;
        py.detach(|| col.ids()).map_py(py)
    }

    /// Inserts many vectors at once (the index builds them as one batch, on every core).
    ///
    /// ``ids``: a sequence of str. ``vectors``: an ``n × dims`` array-like; a float32
    /// C-contiguous numpy array is read in place, anything else converted once. ``metadata``:
    /// None or a sequence of ``n`` dicts/None. All or nothing: a bad item raises before anything
    /// is inserted, naming the item.
    #[pyo3(signature = (ids, vectors, metadata=None))]
    fn insert_batch(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: &Bound<'_, PyAny>,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let col = self.live(py)?;
        if ids.is_instance_of::<pyo3::types::PyString>() {
            return Err(PyTypeError::new_err("ids must be a sequence of str, not a str"));
        }
        let ids: Vec<String> = ids.extract()?;
        let batch = rows(vectors, "vectors")?;
        if batch.len() != ids.len() {
            return Err(invalid(py, format!("{} ids but {} vectors", ids.len(), batch.len())));
        }
        let metas: Vec<Option<serde_json::Value>> = match metadata.filter(|m| !m.is_none()) {
            None => vec![None; ids.len()],
            Some(m) => {
                let mut out = Vec::with_capacity(ids.len());
                for (i, item) in m.try_iter()?.enumerate() {
                    let item = item?;
                    out.push(if item.is_none() {
                        None
                    } else {
                        Some(json::to_json(&item, &format!("metadata[{i}]"), 0)?)
                    });
                }
                if out.len() != ids.len() {
                    return Err(invalid(py, format!("{} ids but {} metadata entries", ids.len(), out.len())));
                }
                out
            }
        };
        let vs = batch.rows();
        let items: Vec<BatchRow<'_>> =
            ids.iter().zip(&vs).zip(&metas).map(|((id, v), m)| (id.as_str(), *v, m.as_ref())).collect();
        py.detach(|| col.insert_batch_rows(&items)).map_py(py)
    }

    /// The ``k`` nearest vectors to ``vector``, closest first, as a list of ``Hit``.
    ///
    /// ``ef``: HNSW ``ef_search`` for this query (higher: better recall, slower). ``filter``: a
    /// Mongo-style dict over metadata (``{"year": {"$gte": 2000}, "tags": "sf"}``); results are
    /// then ``min(k, matches)``. ``include_metadata=False`` skips the metadata.
    #[pyo3(signature = (vector, k=10, *, ef=None, filter=None, include_metadata=true))]
    fn search(
        &self,
        py: Python<'_>,
        vector: &Bound<'_, PyAny>,
        k: usize,
        ef: Option<usize>,
        filter: Option<&Bound<'_, PyAny>>,
        include_metadata: bool,
    ) -> PyResult<Vec<Hit>> {
        let col = self.live(py)?;
        let v = crate::vectors::vector(vector, "vector")?;
        let p = params(py, k, ef, filter)?.with_include_metadata(include_metadata);
        let q = v.as_slice();
        let results = py.detach(|| col.search_with(q, &p)).map_py(py)?;
        hits(py, results)
    }

    /// Searches many queries in parallel. ``queries``: an ``nq × dims`` array-like.
    ///
    /// Returns ``(ids, distances)``: ``ids`` a list of ``nq`` lists of ids, closest first;
    /// ``distances`` a float32 array of shape ``(nq, k')`` where ``k'`` is the longest result
    /// (``min(k, len)`` without a filter), padded with ``inf`` where a list is shorter.
    #[pyo3(signature = (queries, k=10, *, ef=None, filter=None))]
    fn search_batch<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: usize,
        ef: Option<usize>,
        filter: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<BatchResult<'py>> {
        let col = self.live(py)?;
        let batch = rows(queries, "queries")?;
        let p = params(py, k, ef, filter)?.with_include_metadata(false);
        let qs = batch.rows();
        let results = py.detach(|| col.batch_search_rows(&qs, k, Some(&p))).map_py(py)?;
        let width = results.iter().map(Vec::len).max().unwrap_or(0);
        let mut distances = vec![f32::INFINITY; results.len() * width];
        let mut ids = Vec::with_capacity(results.len());
        for (row, hits) in results.into_iter().enumerate() {
            let mut row_ids = Vec::with_capacity(hits.len());
            for (j, h) in hits.into_iter().enumerate() {
                distances[row * width + j] = h.distance;
                row_ids.push(h.id);
            }
            ids.push(row_ids);
        }
        let n = ids.len();
        let arr = numpy::PyArray1::from_vec(py, distances).reshape([n, width])?;
        Ok((ids, arr))
    }

    /// Like ``search``, with a profile of how the query ran. Returns a dict: ``hits`` (list of
    /// ``Hit``) and ``profile`` (strategy, index, ef, nodes visited, distance computations,
    /// candidates rescored, time per phase in µs, …). ``strategy`` forces ``"graph"``,
    /// ``"filtered-graph"`` or ``"exact"``.
    #[pyo3(signature = (vector, k=10, *, ef=None, filter=None, strategy=None))]
    fn explain<'py>(
        &self,
        py: Python<'py>,
        vector: &Bound<'py, PyAny>,
        k: usize,
        ef: Option<usize>,
        filter: Option<&Bound<'py, PyAny>>,
        strategy: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let col = self.live(py)?;
        let v = crate::vectors::vector(vector, "vector")?;
        let mut p = params(py, k, ef, filter)?;
        if let Some(s) = strategy {
            p = p.with_strategy(s.parse::<Strategy>().map_py(py)?);
        }
        let q = v.as_slice();
        let e = py.detach(|| col.search_explain_with(q, &p)).map_py(py)?;
        let profile = serde_json::to_value(&e.profile).map_err(|err| invalid(py, err.to_string()))?;
        let out = PyDict::new(py);
        out.set_item("hits", hits(py, e.results)?)?;
        out.set_item("profile", from_json(py, &profile)?)?;
        Ok(out)
    }

    /// Hybrid search: BM25 over the collection's ``text_field`` and vector search, fused by
    /// weighted reciprocal rank fusion. Returns a list of ``HybridHit``, best first.
    #[pyo3(signature = (text, vector, k=10, *, ef=None, filter=None, vector_weight=1.0, text_weight=1.0, rrf_k=60.0, candidates=None))]
    #[allow(clippy::too_many_arguments)]
    fn hybrid_search(
        &self,
        py: Python<'_>,
        text: &str,
        vector: &Bound<'_, PyAny>,
        k: usize,
        ef: Option<usize>,
        filter: Option<&Bound<'_, PyAny>>,
        vector_weight: f32,
        text_weight: f32,
        rrf_k: f32,
        candidates: Option<usize>,
    ) -> PyResult<Vec<HybridHit>> {
        let col = self.live(py)?;
        let v = crate::vectors::vector(vector, "vector")?;
        let mut p = HybridParams::new(k).with_weights(vector_weight, text_weight).with_rrf_k(rrf_k);
        if let Some(ef) = ef {
            p = p.with_ef_search(ef);
        }
        if let Some(c) = candidates {
            p = p.with_candidates(c);
        }
        if let Some(f) = json::filter(py, filter)? {
            p = p.with_filter(f);
        }
        let q = v.as_slice();
        let results = py.detach(|| col.hybrid_search_with(text, q, &p)).map_py(py)?;
        results.into_iter().map(|r| HybridHit::from_result(py, r)).collect()
    }

    /// The ``k`` best documents for ``text`` by BM25 alone over the ``text_field``.
    #[pyo3(signature = (text, k=10, *, filter=None))]
    fn text_search(
        &self,
        py: Python<'_>,
        text: &str,
        k: usize,
        filter: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<HybridHit>> {
        let col = self.live(py)?;
        let f = json::filter(py, filter)?;
        let results = py.detach(|| col.text_search(text, k, f.as_ref())).map_py(py)?;
        results.into_iter().map(|r| HybridHit::from_result(py, r)).collect()
    }

    /// Rewrites the collection without deleted vectors (the file shrinks at the next save).
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        let col = self.live(py)?;
        py.detach(|| col.compact()).map_py(py)
    }

    /// The database this collection belongs to.
    #[getter]
    fn database(&self, py: Python<'_>) -> Py<PyDatabase> {
        self.db.clone_ref(py)
    }

    fn __repr__(&self) -> String {
        format!("needle.Collection({:?}, dims={})", self.col.name(), self.col.dimensions())
    }
}
