//! Engine errors as Python exceptions.
//!
//! The classes live in `needle/_errors.py` (plain Python, so they can derive from `ValueError`,
//! `KeyError` or `OSError` as well as `NeedleError`); this file only asks that module for the
//! exception matching an engine error's stable code.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static FROM_CODE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for a stable error `code` with `message`.
pub fn from_code(py: Python<'_>, code: &str, message: &str) -> PyErr {
    let make = || -> PyResult<PyErr> {
        let f = FROM_CODE.import(py, "needle._errors", "_from_code")?;
        Ok(PyErr::from_value(f.call1((code, message))?))
    };
    make().unwrap_or_else(|e| e)
}

/// The Python exception for an engine error.
pub fn to_py(py: Python<'_>, e: needle::Error) -> PyErr {
    from_code(py, e.code().name(), &e.to_string())
}

/// `invalid_argument` with `message`.
pub fn invalid(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    from_code(py, "invalid_argument", &format!("invalid argument: {}", message.as_ref()))
}

/// Adds `.map_py(py)` to engine results.
pub trait MapPy<T> {
    /// The result with an engine error turned into its Python exception.
    fn map_py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> MapPy<T> for needle::Result<T> {
    fn map_py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
