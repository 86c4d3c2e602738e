//! `needle.Database`: open, create and drop collections, checkpoint, back up, close.
//!
//! The Python object owns one engine [`Database`] handle until `close()` (or the end of a `with`
//! block) checkpoints it and lets it go; the collections it handed out keep the object alive and
//! refuse work once it is closed (`needle.Closed`), so no write can reach a closed log. Without
//! `close()`, the handle checkpoints when the last reference to the database and its collections
//! goes away. Opening,
//! saving, compacting and backing up run with the GIL released.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use needle::{
    CollectionConfig, Database, DatabaseConfig, DistanceFunction, Durability, EncryptionConfig, QuantizationType,
};
use pyo3::prelude::*;

use crate::collection::PyCollection;
use crate::errors::{from_code, invalid, MapPy};

/// An embedded vector database: named collections kept in one file (plus its write-ahead log).
///
/// ``Database(path)`` opens the file, creating it when missing. Keywords: ``durability``
/// (``"immediate"`` — fsync before each write returns, the default; ``"batched"`` or
/// ``"batched:MS"`` — group commit every MS milliseconds; ``"on-save"`` — sync only on save),
/// ``encryption_key`` (32 bytes, AES-256-GCM) or ``passphrase`` (Argon2id-derived key),
/// ``read_only`` and ``mmap_threshold`` (files at least this many bytes are memory-mapped).
/// Use it as a context manager: leaving the ``with`` block checkpoints and closes it.
#[pyclass(frozen, module = "needle", name = "Database")]
pub struct PyDatabase {
    db: Mutex<Option<Database>>,
    closed: AtomicBool,
    path: Option<PathBuf>,
    read_only: bool,
}

fn parse_durability(py: Python<'_>, s: &str) -> PyResult<Durability> {
    match s.to_ascii_lowercase().replace('_', "-").as_str() {
        "immediate" => Ok(Durability::Immediate),
        "on-save" | "onsave" => Ok(Durability::OnSave),
        "batched" => Ok(Durability::Batched(10)),
        other => match other.strip_prefix("batched:").map(str::parse::<u64>) {
            Some(Ok(ms)) if ms > 0 => Ok(Durability::Batched(ms)),
            _ => Err(invalid(
                py,
                format!("durability {s:?}: use \"immediate\", \"batched\", \"batched:MS\" or \"on-save\""),
            )),
        },
    }
}

impl PyDatabase {
    /// The open engine handle, or `needle.Closed`.
    fn db(&self, py: Python<'_>) -> PyResult<Database> {
        let guard = self.db.lock().unwrap_or_else(|e| e.into_inner());
        guard.clone().ok_or_else(|| from_code(py, "closed", "the database is closed"))
    }

    /// Whether `close()` has run.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// A collection handle that keeps its database object alive (as a cursor keeps its connection).
fn handle(slf: &Bound<'_, PyDatabase>, c: needle::Collection) -> PyCollection {
    PyCollection::new(c, slf.clone().unbind())
}

#[pymethods]
impl PyDatabase {
    #[new]
    #[pyo3(signature = (path, *, durability="immediate", encryption_key=None, passphrase=None, read_only=false, mmap_threshold=None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        durability: &str,
        encryption_key: Option<Vec<u8>>,
        passphrase: Option<String>,
        read_only: bool,
        mmap_threshold: Option<u64>,
    ) -> PyResult<PyDatabase> {
        let mut config =
            DatabaseConfig::new().with_read_only(read_only).with_durability(parse_durability(py, durability)?);
        if let Some(t) = mmap_threshold {
            config = config.with_mmap_threshold(t);
        }
        config = match (encryption_key, passphrase) {
            (Some(_), Some(_)) => return Err(invalid(py, "give encryption_key or passphrase, not both")),
            (Some(key), None) => config.with_encryption(EncryptionConfig::aes256(&key)),
            (None, Some(p)) => config.with_encryption(EncryptionConfig::aes256_passphrase(&p)),
            (None, None) => config,
        };
        let db = py.detach(|| Database::open_with_config(&path, config)).map_py(py)?;
        Ok(PyDatabase { db: Mutex::new(Some(db)), closed: AtomicBool::new(false), path: Some(path), read_only })
    }

    /// A database that lives only in memory (``save`` does nothing; nothing survives the process).
    #[staticmethod]
    fn in_memory() -> PyDatabase {
        PyDatabase {
            db: Mutex::new(Some(Database::in_memory())),
            closed: AtomicBool::new(false),
            path: None,
            read_only: false,
        }
    }

    /// The file path (None when in memory).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// Whether the database was opened read-only.
    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }

    /// Whether ``close()`` has run.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether the data is encrypted at rest.
    #[getter]
    fn encrypted(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.db(py)?.is_encrypted())
    }

    /// Creates a collection of ``dims``-dimensional vectors and returns it.
    ///
    /// ``distance``: ``"cosine"`` (default), ``"euclidean"``/``"l2"``, ``"dot"``/``"ip"``,
    /// ``"manhattan"``/``"l1"``. ``index``: ``"hnsw"`` (default) or ``"flat"`` (exact).
    /// ``m``, ``ef_construction``, ``ef_search``: HNSW knobs (``ef_search`` is the default per
    /// query; each search may override it). ``quantization``: None or ``"sq8"`` (8-bit codes,
    /// rescored exactly). ``text_field``: a metadata field indexed for ``hybrid_search``.
    /// ``seed``: the HNSW level generator's seed (builds are reproducible).
    #[pyo3(signature = (name, dims, *, distance="cosine", index="hnsw", m=16, ef_construction=200, ef_search=None, quantization=None, text_field=None, seed=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_collection(
        slf: &Bound<'_, Self>,
        py: Python<'_>,
        name: &str,
        dims: usize,
        distance: &str,
        index: &str,
        m: usize,
        ef_construction: usize,
        ef_search: Option<usize>,
        quantization: Option<&str>,
        text_field: Option<String>,
        seed: Option<u64>,
    ) -> PyResult<PyCollection> {
        let db = slf.get().db(py)?;
        let mut config = CollectionConfig::new(name, dims)
            .with_distance(DistanceFunction::from_id(distance))
            .with_index(index)
            .with_hnsw_m(m)
            .with_hnsw_ef_construction(ef_construction)
            .with_quantization(QuantizationType::from_id(quantization.unwrap_or("none")));
        if let Some(ef) = ef_search {
            config = config.with_hnsw_ef_search(ef);
        }
        if let Some(field) = text_field {
            config = config.with_text_field(field);
        }
        if let Some(seed) = seed {
            config = config.with_seed(seed);
        }
        let c = py.detach(|| db.create_collection_with_config(config)).map_py(py)?;
        Ok(handle(slf, c))
    }

    /// The collection ``name`` (``needle.NotFound``, a ``KeyError``, when there is none).
    fn collection(slf: &Bound<'_, Self>, py: Python<'_>, name: &str) -> PyResult<PyCollection> {
        let c = slf.get().db(py)?.collection(name).map_py(py)?;
        Ok(handle(slf, c))
    }

    /// Same as ``collection(name)``.
    fn __getitem__(slf: &Bound<'_, Self>, py: Python<'_>, name: &str) -> PyResult<PyCollection> {
        Self::collection(slf, py, name)
    }

    /// Whether a collection of that name exists.
    fn __contains__(&self, py: Python<'_>, name: &str) -> PyResult<bool> {
        Ok(self.db(py)?.collection(name).is_ok())
    }

    /// Names of all collections, sorted.
    fn collections(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.db(py)?.list_collections().map_py(py)
    }

    /// Drops a collection and its data; handles to it then raise ``needle.NotFound``.
    fn drop_collection(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        let db = self.db(py)?;
        py.detach(|| db.drop_collection(name)).map_py(py)
    }

    /// Checkpoints: writes every collection to the file and empties the write-ahead log.
    fn save(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db(py)?;
        py.detach(|| db.save()).map_py(py)
    }

    /// Rewrites every collection without its deleted vectors, then checkpoints.
    fn compact(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db(py)?;
        py.detach(|| db.compact()).map_py(py)
    }

    /// Writes a consistent copy of the database (with unsaved writes) to ``path``.
    fn backup(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let db = self.db(py)?;
        py.detach(|| db.backup_to(&path)).map_py(py)
    }

    /// Checkpoints changes and closes. Idempotent; collections of this database then raise
    /// ``needle.Closed``. A failed checkpoint raises, and the write-ahead log keeps the writes.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self.db.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.closed.store(true, Ordering::Release);
        let Some(db) = taken else { return Ok(()) };
        py.detach(move || {
            let saved = if !self.read_only && db.is_dirty() { db.save() } else { Ok(()) };
            drop(db);
            saved
        })
        .map_py(py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        match &self.path {
            Some(p) => format!(
                "needle.Database({:?}{})",
                p.display().to_string(),
                if self.closed.load(Ordering::Acquire) { ", closed" } else { "" }
            ),
            None => "needle.Database.in_memory()".into(),
        }
    }
}
